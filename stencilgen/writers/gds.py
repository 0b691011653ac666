"""GDSII through gdstk: the apertures (arcs as chords) on one layer of one cell, 1 nm database grid.

Apertures of the same shape (a row's strips repeat) are written as one polygon with explicit offsets,
which gdstk expands in C while writing: the same file, much faster than one Python object per aperture.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from typing import Any

import numpy as np

from ..errors import OutputError, UsageError
from ..geometry import outlines_to_polygons
from ..model import NONE, Apertures, Outlines
from ..numeric import unique
from . import atomic_path

GRID_UM = 0.001
GDS_MAX_POINTS = 8190  # vertices a GDSII polygon may have (an XY record holds 8,191 points)
ENDLIB = b"\x00\x04\x04\x00"  # the record that ends a GDSII file


def _same_outline_groups(apertures: Apertures) -> list[np.ndarray]:
    """The apertures grouped by outline (vertices relative to the first on the 1 nm grid, and bulges):
    each group's ids in order, groups in order of their first member."""
    ol = apertures.outlines
    grid = np.rint(ol.coords / GRID_UM).astype(np.int64)
    counts = np.diff(ol.offsets)
    keep = np.flatnonzero((apertures.kind != NONE) & (counts > 0))
    groups: list[np.ndarray] = []
    rng = np.random.default_rng(0)
    for v in unique(counts[keep]).tolist():
        ids = keep[counts[keep] == v]
        at = ol.offsets[ids][:, None] + np.arange(v)
        rel = grid[at] - grid[at[:, :1]]
        key = np.hstack([rel.reshape(len(ids), -1), np.rint(ol.bulge[at] * 1e9).astype(np.int64)])
        weights = rng.integers(1, 2**62, key.shape[1], dtype=np.int64)
        with np.errstate(over="ignore"):
            h = (key * weights).sum(axis=1)
        _, first, inverse = np.unique(h, return_index=True, return_inverse=True)
        inverse = inverse.ravel()
        alike = (key == key[first][inverse]).all(axis=1)
        order = np.argsort(inverse, kind="stable")
        ordered = order[alike[order]]
        bounds = np.flatnonzero(np.diff(inverse[ordered])) + 1
        groups += [ids[g] for g in np.split(ordered, bounds) if len(g)]
        groups += [ids[[k]] for k in np.flatnonzero(~alike)]  # a hash collision: on its own
    groups.sort(key=lambda g: int(g[0]))
    return groups


def _shapes(apertures: Apertures, layer: tuple[int, int]) -> list[Any]:
    """gdstk polygons of the apertures (arcs as chords); apertures of the same outline as one polygon
    with explicit offsets."""
    import gdstk

    groups = _same_outline_groups(apertures)
    if not groups:
        return []
    ol = apertures.outlines
    firsts = np.array([int(g[0]) for g in groups])
    gather = np.concatenate([np.arange(ol.offsets[i], ol.offsets[i + 1]) for i in firsts.tolist()])
    offsets = np.zeros(len(firsts) + 1, dtype=np.int64)
    np.cumsum(np.diff(ol.offsets)[firsts], out=offsets[1:])
    polys = outlines_to_polygons(Outlines(ol.coords[gather], ol.bulge[gather], offsets))
    anchor = np.rint(ol.coords[ol.offsets[:-1][np.diff(ol.offsets) > 0]] / GRID_UM).astype(np.int64)
    anchor_of = np.zeros((len(ol), 2), dtype=np.int64)
    anchor_of[np.diff(ol.offsets) > 0] = anchor
    shapes = []
    for k, members in enumerate(groups):
        ring = np.rint(polys.polygon(k) / GRID_UM) * GRID_UM
        poly = gdstk.Polygon(ring, layer=layer[0], datatype=layer[1])  # type: ignore[arg-type]
        if len(members) > 1:
            poly.repetition = gdstk.Repetition(offsets=(anchor_of[members[1:]] - anchor_of[members[0]]) * GRID_UM)
        shapes.append(poly)
    return shapes


def gds_writer(
    apertures: Apertures,
    cell: str,
    layer: tuple[int, int] = (1, 0),
    timestamp: dt.datetime | None = None,
    element: Apertures | None = None,
    transforms: np.ndarray | None = None,
) -> Callable[[str], None]:
    """The library of the apertures, and a function writing it to a file name (OSError if it came out
    cut short); a wafer (`element` apertures placed by `transforms`) as one die cell and a reference
    per placement, as its layout was drawn."""
    import gdstk

    if not all(0 <= v <= 65535 for v in layer):
        raise UsageError(f"GDS layer {layer[0]}/{layer[1]}: a GDSII layer and datatype are each 0 to 65535")
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

    def write(path: str) -> None:
        # GDSII takes up to 8,190 vertices a polygon: a round tip stays one polygon (gdstk would
        # fracture anything above 199)
        lib.write_gds(path, max_points=GDS_MAX_POINTS, timestamp=timestamp or dt.datetime(2000, 1, 1))
        _ends_with_endlib(path)

    return write


def write_gds(
    path: str,
    apertures: Apertures,
    cell: str,
    layer: tuple[int, int] = (1, 0),
    timestamp: dt.datetime | None = None,
    element: Apertures | None = None,
    transforms: np.ndarray | None = None,
) -> None:
    """Write the apertures to `path` (atomically); see `gds_writer`."""
    write = gds_writer(apertures, cell, layer, timestamp, element, transforms)
    with atomic_path(path) as tmp:
        try:
            write(tmp)
        except OSError as exc:
            raise OutputError(f"{path}: cannot be written ({exc})") from None


def _ends_with_endlib(tmp: str) -> None:
    """gdstk does not report a failed write (a full disk): a whole file ends with its ENDLIB record."""
    with open(tmp, "rb") as f:
        f.seek(0, os.SEEK_END)
        if f.tell() < len(ENDLIB):
            raise OSError("the file came out empty (is the disk full?)")
        f.seek(-len(ENDLIB), os.SEEK_END)
        if f.read() != ENDLIB:
            raise OSError("the file came out cut short (is the disk full?)")
