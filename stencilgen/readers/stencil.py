"""Existing stencils: the apertures of a Gerber (regions, flashes of standard and macro apertures,
strokes; through gerbonara), a DXF (closed outlines) or a GDS (polygons), as shapely polygons in um.

Dark shapes are united and clear ones (LPC) cut out; every connected piece is one aperture."""

from __future__ import annotations

import os
import warnings
from typing import Any

import numpy as np

from ..errors import InputError, UsageError, input_error
from ..model import Polygons

GERBER_EXTENSIONS = (".gbr", ".ger", ".gtp", ".gbp", ".pho", ".art", ".gbx")

#: chord error for arcs of a stencil being checked, um
ARC_ERROR_UM = 0.005


def _outline(poly: Any) -> np.ndarray:
    """The outline of a gerbonara ArcPoly with its arcs as chords (ARC_ERROR_UM at most), in mm."""
    out: list[tuple[float, float]] = []
    for p1, p2, (clockwise, center) in poly.segments:
        out.append(p1)
        if clockwise is None:
            continue
        cx, cy = center
        r = float(np.hypot(p1[0] - cx, p1[1] - cy))
        a1 = np.arctan2(p1[1] - cy, p1[0] - cx)
        a2 = np.arctan2(p2[1] - cy, p2[0] - cx)
        sweep = (a2 - a1) % (2 * np.pi)
        if clockwise:
            sweep -= 2 * np.pi
        if abs(sweep) < 1e-12:  # a full circle (start == end)
            sweep = -2 * np.pi if clockwise else 2 * np.pi
        tol = ARC_ERROR_UM / 1000.0
        step = 2 * np.arccos(max(-1.0, 1 - tol / r)) if r > tol else np.pi / 2
        m = max(2, int(np.ceil(abs(sweep) / max(step, 1e-3))))
        phi = a1 + sweep * np.arange(1, m) / m
        out.extend(zip((cx + r * np.cos(phi)).tolist(), (cy + r * np.sin(phi)).tolist(), strict=True))
    return np.asarray(out, dtype=float).reshape(-1, 2)


def _gerber(path: str) -> list[Any]:
    import shapely

    from ..geometry import union_parts

    try:
        with open(path, "rb") as fh:
            head = fh.read(1 << 16)
    except OSError as exc:
        raise input_error(path, f"cannot be read ({exc.strerror})") from None
    if b"%FS" not in head and b"%MO" not in head:
        raise input_error(path, "not a Gerber file (no %FS or %MO format statement at its start)")

    try:
        import gerbonara
        from gerbonara.utils import MM
    except ImportError:  # pragma: no cover - a dependency
        raise input_error(path, "reading Gerber needs gerbonara (pip install gerbonara)") from None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            g = gerbonara.GerberFile.open(path)
            dark: list[Any] = []
            clear: list[Any] = []
            for obj in g.objects:
                for prim in obj.to_primitives(MM):
                    pts = _outline(prim.to_arc_poly()) * 1000.0  # mm -> um
                    if len(pts) < 3:
                        continue
                    shape = shapely.make_valid(shapely.Polygon(pts))
                    (dark if prim.polarity_dark else clear).append(shape)
    except Exception as exc:  # gerbonara's many ways of saying "this is not a Gerber I can read"
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise input_error(path, f"not a readable Gerber file ({reason})") from None
    if not dark:
        raise input_error(path, "no apertures (no dark regions or flashes) in the Gerber file")
    if clear:  # clear (negative) shapes cut the dark ones: one union of each, then the difference
        union = shapely.difference(shapely.union_all(dark), shapely.union_all(clear))
        return [p for p in shapely.get_parts(union) if p.geom_type == "Polygon" and p.area > 0]
    return union_parts(np.array(dark, dtype=object))


def read_stencil(path: str | os.PathLike[str], layer: str | None = None, units: str | None = None) -> list[Any]:
    """The apertures of an existing stencil file as shapely polygons (um), one per connected piece."""
    import shapely

    from ..geometry import to_shapely, transform_polygons, union_parts

    path = os.fspath(path)
    if not os.path.isfile(path):
        raise input_error(path, "no such file")
    ext = os.path.splitext(path)[1].lower()
    if ext in GERBER_EXTENSIONS:
        return _gerber(path)
    from . import DEFAULT_MAX_CONTACTS, FORMATS

    if ext not in FORMATS:
        known = ", ".join(sorted({*GERBER_EXTENSIONS, *FORMATS}))
        raise input_error(path, f"unknown stencil extension {ext or '(none)'!r}; stencilgen reads {known}")
    fmt = FORMATS[ext]
    if fmt == "dxf":
        from .dxf import read_dxf

        if layer is not None:
            raw = read_dxf(path, layer, units, DEFAULT_MAX_CONTACTS)
        else:  # STENCIL (as plan writes it), else the drawing's only layer
            try:
                raw = read_dxf(path, "STENCIL", units, DEFAULT_MAX_CONTACTS)
            except InputError:
                try:
                    raw = read_dxf(path, None, units, DEFAULT_MAX_CONTACTS)
                except UsageError as exc:
                    raise UsageError(str(exc).replace("--layer", "--stencil-layer")) from None
    else:
        from .gds import read_gds

        raw = read_gds(path, fmt, layer or "1/0", None, DEFAULT_MAX_CONTACTS, False)
    flat = Polygons.concat([transform_polygons(p.polygons, p.transforms, raw.grid_um) for p in raw.parts])
    return union_parts(shapely.make_valid(to_shapely(flat)))
