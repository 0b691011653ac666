"""GDSII through gdstk: the apertures (arcs as chords) on one layer of one cell, 1 nm database grid."""

from __future__ import annotations

import datetime as dt

from ..errors import OutputError
from ..geometry import outlines_to_polygons
from ..model import NONE, Apertures
from . import atomic_path


def write_gds(
    path: str,
    apertures: Apertures,
    cell: str,
    layer: tuple[int, int] = (1, 0),
    timestamp: dt.datetime | None = None,
) -> None:
    import gdstk

    polys = outlines_to_polygons(apertures.outlines)
    lib = gdstk.Library(name="STENCIL", unit=1e-6, precision=1e-9)
    top = lib.new_cell(cell)
    top.add(
        *[
            gdstk.Polygon(polys.polygon(i), layer=layer[0], datatype=layer[1])  # type: ignore[arg-type]
            for i in range(len(polys))
            if apertures.kind[i] != NONE
        ]
    )
    with atomic_path(path) as tmp:
        try:
            lib.write_gds(tmp, timestamp=timestamp or dt.datetime(2000, 1, 1))
        except OSError as exc:
            raise OutputError(f"{path}: cannot be written ({exc})") from None
