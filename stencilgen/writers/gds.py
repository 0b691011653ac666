"""GDSII through gdstk: the apertures (arcs as chords) on one layer of one cell, 1 nm database grid.

Apertures of the same shape (a row's strips repeat) are written as one polygon with explicit offsets,
which gdstk expands in C while writing: the same file, much faster than one Python object per aperture.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from ..errors import OutputError
from ..geometry import outlines_to_polygons
from ..model import NONE, Apertures
from . import atomic_path

GRID_UM = 0.001


def write_gds(
    path: str,
    apertures: Apertures,
    cell: str,
    layer: tuple[int, int] = (1, 0),
    timestamp: dt.datetime | None = None,
) -> None:
    import gdstk

    polys = outlines_to_polygons(apertures.outlines)
    keep = np.flatnonzero(apertures.kind != NONE)
    counts = polys.counts
    grid = np.rint(polys.coords / GRID_UM).astype(np.int64)
    anchor = grid[np.minimum(polys.offsets[:-1], max(len(grid) - 1, 0))] if len(grid) else np.zeros((len(polys), 2))
    rel = grid - np.repeat(anchor, counts, axis=0)
    groups: dict[bytes, list[int]] = {}
    for i in keep.tolist():
        s, e = polys.offsets[i], polys.offsets[i + 1]
        groups.setdefault(rel[s:e].tobytes(), []).append(i)
    lib = gdstk.Library(name="STENCIL", unit=1e-6, precision=1e-9)
    top = lib.new_cell(cell)
    shapes = []
    for members in groups.values():  # insertion order: by contact id, deterministic
        first = members[0]
        s, e = polys.offsets[first], polys.offsets[first + 1]
        poly = gdstk.Polygon(grid[s:e] * GRID_UM, layer=layer[0], datatype=layer[1])  # type: ignore[arg-type]
        if len(members) > 1:
            offsets = (anchor[members[1:]] - anchor[first]) * GRID_UM
            poly.repetition = gdstk.Repetition(offsets=offsets)
        shapes.append(poly)
    top.add(*shapes)
    with atomic_path(path) as tmp:
        try:
            lib.write_gds(tmp, timestamp=timestamp or dt.datetime(2000, 1, 1))
        except OSError as exc:
            raise OutputError(f"{path}: cannot be written ({exc})") from None
