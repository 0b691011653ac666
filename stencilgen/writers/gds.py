"""GDSII through gdstk: the apertures (arcs as chords) on one layer of one cell, 1 nm database grid.

Apertures of the same shape (a row's strips repeat) are written as one polygon with explicit offsets,
which gdstk expands in C while writing: the same file, much faster than one Python object per aperture.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np

from ..errors import OutputError
from ..geometry import outlines_to_polygons
from ..model import NONE, Apertures
from . import atomic_path

GRID_UM = 0.001


def _shapes(apertures: Apertures, layer: tuple[int, int]) -> list[Any]:
    """gdstk polygons of the apertures; repeated shapes as one polygon with explicit offsets."""
    import gdstk

    polys = outlines_to_polygons(apertures.outlines)
    keep = np.flatnonzero(apertures.kind != NONE)
    grid = np.rint(polys.coords / GRID_UM).astype(np.int64)
    if not len(grid):
        return []
    anchor = grid[np.minimum(polys.offsets[:-1], len(grid) - 1)]
    rel = grid - np.repeat(anchor, polys.counts, axis=0)
    groups: dict[bytes, list[int]] = {}
    for i in keep.tolist():
        s, e = polys.offsets[i], polys.offsets[i + 1]
        groups.setdefault(rel[s:e].tobytes(), []).append(i)
    shapes = []
    for members in groups.values():  # insertion order: by contact id, deterministic
        first = members[0]
        s, e = polys.offsets[first], polys.offsets[first + 1]
        poly = gdstk.Polygon(grid[s:e] * GRID_UM, layer=layer[0], datatype=layer[1])  # type: ignore[arg-type]
        if len(members) > 1:
            offsets = (anchor[members[1:]] - anchor[first]) * GRID_UM
            poly.repetition = gdstk.Repetition(offsets=offsets)
        shapes.append(poly)
    return shapes


def write_gds(
    path: str,
    apertures: Apertures,
    cell: str,
    layer: tuple[int, int] = (1, 0),
    timestamp: dt.datetime | None = None,
    element: Apertures | None = None,
    transforms: np.ndarray | None = None,
) -> None:
    """Write the apertures; a wafer (`element` apertures placed by `transforms`) as one die cell and a
    reference per placement, as its layout was drawn."""
    import gdstk

    lib = gdstk.Library(name="STENCIL", unit=1e-6, precision=1e-9)
    top = lib.new_cell(cell)
    if element is not None and transforms is not None:
        die = lib.new_cell(f"{cell}_DIE"[:120])
        die.add(*_shapes(element, layer))
        for t in transforms:
            mirror = t[0, 0] * t[1, 1] - t[0, 1] * t[1, 0] < 0
            rotation = float(np.arctan2(t[1, 0], t[0, 0]))
            top.add(gdstk.Reference(die, (float(t[0, 2]), float(t[1, 2])), rotation, 1.0, bool(mirror)))
    else:
        top.add(*_shapes(apertures, layer))
    with atomic_path(path) as tmp:
        try:
            lib.write_gds(tmp, timestamp=timestamp or dt.datetime(2000, 1, 1))
        except OSError as exc:
            raise OutputError(f"{path}: cannot be written ({exc})") from None
