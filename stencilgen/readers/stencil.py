"""Existing stencils: the apertures of a Gerber (regions, flashes of standard and macro apertures,
strokes; through gerbonara), a DXF (closed outlines) or a GDS (polygons), as shapely polygons in um.

Dark shapes are united and clear ones (LPC) cut out; every connected piece is one aperture."""

from __future__ import annotations

import copy
import itertools
import os
import warnings
from typing import Any

import numpy as np

from ..errors import InputError, UsageError, input_error
from ..limits import DEFAULT_MAX_CONTACTS
from ..model import Polygons
from ..numeric import ranges

GERBER_EXTENSIONS = (".gbr", ".ger", ".gtp", ".gbp", ".pho", ".art", ".gbx")

#: chord error for arcs of a stencil being checked, um
ARC_ERROR_UM = 0.005
#: at most this many chords per arc (a huge arc is cut coarser, never into millions of pieces)
MAX_ARC_CHORDS = 4096
#: ceilings of a Gerber aperture macro: primitives one flash draws, vertices of a regular polygon
MAX_MACRO_PRIMITIVES = 10_000
MAX_MACRO_VERTICES = 10_000


def _outlines(polys: list[Any]) -> tuple[np.ndarray, np.ndarray]:
    """The outlines of gerbonara ArcPolys with their arcs as chords (ARC_ERROR_UM at most), in mm:
    the points of all of them and the outline each point belongs to. Every arc is cut at once."""
    p1: list[tuple[float, float]] = []
    p2: list[tuple[float, float]] = []
    centre: list[tuple[float, float]] = []
    turn: list[float] = []  # 1 clockwise, 0 counter-clockwise, nan a straight segment
    owner: list[int] = []
    for i, poly in enumerate(polys):
        for a, b, (clockwise, c) in poly.segments:
            p1.append(a)
            p2.append(b)
            centre.append(c if clockwise is not None else (0.0, 0.0))
            turn.append(float(clockwise) if clockwise is not None else np.nan)
            owner.append(i)
    if not p1:
        return np.zeros((0, 2)), np.zeros(0, dtype=np.int64)
    P1, P2, C = np.array(p1, dtype=float), np.array(p2, dtype=float), np.array(centre, dtype=float)
    cw = np.array(turn)
    arc = ~np.isnan(cw)
    r = np.hypot(P1[:, 0] - C[:, 0], P1[:, 1] - C[:, 1])
    a1 = np.arctan2(P1[:, 1] - C[:, 1], P1[:, 0] - C[:, 0])
    a2 = np.arctan2(P2[:, 1] - C[:, 1], P2[:, 0] - C[:, 0])
    sweep = (a2 - a1) % (2 * np.pi)
    sweep = np.where(cw == 1.0, sweep - 2 * np.pi, sweep)
    full = np.abs(sweep) < 1e-12  # a full circle (start == end)
    sweep = np.where(full, np.where(cw == 1.0, -2 * np.pi, 2 * np.pi), sweep)
    tol = ARC_ERROR_UM / 1000.0
    with np.errstate(invalid="ignore"):
        step = np.where(r > tol, 2 * np.arccos(np.maximum(-1.0, 1 - tol / np.where(r > 0, r, 1.0))), np.pi / 2)
    # each segment: its first point, then (an arc) the inner points of its m pieces
    pieces = np.minimum(np.ceil(np.abs(sweep) / np.maximum(step, 1e-3)), MAX_ARC_CHORDS)
    m = np.where(arc, np.maximum(2, pieces), 1).astype(np.int64)
    start = np.cumsum(m) - m
    out = np.empty((int(m.sum()), 2))
    out[start] = P1
    inner = np.flatnonzero(m > 1)
    cnt = m[inner] - 1
    which = np.repeat(inner, cnt)
    k = ranges(np.ones(len(cnt)), cnt)
    phi = a1[which] + sweep[which] * k / m[which]
    at = start[which] + k
    out[at, 0] = C[which, 0] + r[which] * np.cos(phi)
    out[at, 1] = C[which, 1] + r[which] * np.sin(phi)
    return out, np.repeat(np.array(owner), m)


class _Refused(Exception):
    """A Gerber beyond a ceiling (step-and-repeat, macro, count of objects)."""


def _parser(limit: int) -> Any:
    """gerbonara's parser with step-and-repeat blocks (%SR%) kept and expanded (gerbonara 1.5 lets the
    objects of a block slip past it), within `limit` objects."""
    from gerbonara.rs274x import GerberParser

    class Block(list):
        def __bool__(self) -> bool:  # an open block, even before its first object
            return True

    class Parser(GerberParser):
        step_repeat_coords: Any
        step_repeat_objects: Any
        current_region: Any
        target: Any

        def _parse_step_repeat(self, match: Any) -> None:
            if match["coords"]:
                nx, ny = int(match["X"]), int(match["Y"])
                if nx * ny > limit:
                    raise _Refused(f"a step-and-repeat of {nx:,} x {ny:,} copies, above the limit of {limit:,}")
                super()._parse_step_repeat(match)
                self.step_repeat_objects = Block()
                return
            if self.step_repeat_objects is None:
                raise _Refused("%SR*% closes a step-and-repeat that was never opened")
            copies = len(self.step_repeat_objects) * len(self.step_repeat_coords)
            if copies + len(self.target.objects) > limit:
                raise _Refused(f"a step-and-repeat gives {copies:,} objects, above the limit of {limit:,}")
            for obj in self.step_repeat_objects:  # (in the file's unit, arc centres moved too)
                for dx, dy in self.step_repeat_coords:
                    new = copy.copy(obj)
                    new._offset(dx, dy)
                    if getattr(new, "arc_centers", None):
                        new.arc_centers = [
                            (a[0], (a[1][0] + dx, a[1][1] + dy)) if a and a[1][0] is not None else a
                            for a in new.arc_centers
                        ]
                    self.target.objects.append(new)
            self.step_repeat_coords = None
            self.step_repeat_objects = None

        def _parse_region_end(self, match: Any) -> None:
            if self.step_repeat_objects is None or not self.current_region:
                super()._parse_region_end(match)
                return
            self.step_repeat_objects.append(self.current_region)  # a region is an object of the block too
            self.current_region = None

    return Parser


def _check_macro(aperture: Any) -> None:
    """Refuse a macro aperture that would draw more than the ceilings allow, before it is drawn."""
    from gerbonara.utils import MM

    binding = dict(enumerate(getattr(aperture, "parameters", ()) or (), start=1))
    for prim in aperture.macro.primitives:
        if type(prim).__name__ == "Polygon":
            with prim.Calculator(prim, binding, MM) as calc:
                n = calc.n_vertices
            if not 3 <= n <= MAX_MACRO_VERTICES:
                raise _Refused(f"aperture macro {aperture.macro.name!r}: a polygon of {n:g} vertices")
    drawn = aperture.macro.to_graphic_primitives((0, 0), 0, tuple(getattr(aperture, "parameters", ()) or ()), MM)
    for k, _prim in enumerate(drawn):
        if k >= MAX_MACRO_PRIMITIVES:
            raise _Refused(
                f"aperture macro {aperture.macro.name!r} draws more than {MAX_MACRO_PRIMITIVES:,} primitives"
            )


def _primitives(objects: list[Any], limit: int) -> Any:
    """Every object's graphic primitives (mm), macros checked first, at most `limit` in all; a stroke of
    zero length is the dot its aperture draws there."""
    from gerbonara import graphic_objects as go
    from gerbonara import graphic_primitives as gp
    from gerbonara.apertures import ApertureMacroInstance
    from gerbonara.utils import MM

    checked: set[int] = set()
    n = 0
    for obj in objects:
        aperture = getattr(obj, "aperture", None)
        if isinstance(aperture, ApertureMacroInstance) and id(aperture) not in checked:
            _check_macro(aperture)
            checked.add(id(aperture))
        for prim in obj.to_primitives(MM):
            n += 1
            if n > limit:
                raise _Refused(f"more than {limit:,} apertures and strokes, above the limit (raise --max-contacts)")
            if isinstance(prim, gp.Line) and prim.x1 == prim.x2 and prim.y1 == prim.y2 and isinstance(obj, go.Line):
                prim = gp.Circle(prim.x1, prim.y1, prim.width / 2, polarity_dark=prim.polarity_dark)
            yield prim


def _gerber(path: str, limit: int) -> list[Any]:
    import shapely

    from ..geometry import union_parts

    try:
        with open(path, "rb") as fh:
            head = fh.read(1 << 16)
            fh.seek(max(os.fstat(fh.fileno()).st_size - 64, 0))
            tail = fh.read()
    except OSError as exc:
        raise input_error(path, f"cannot be read ({exc.strerror})") from None
    if b"%FS" not in head:
        raise input_error(path, "not a Gerber file (no %FS format statement at its start)")
    if not tail.rstrip(b" \t\r\n\x00").endswith(b"M02*"):  # the end of file command (Gerber spec 4.13)
        raise input_error(path, "the Gerber file is cut short: it does not end with M02*")

    try:
        import gerbonara
    except ImportError:  # pragma: no cover - a dependency
        raise input_error(path, "reading Gerber needs gerbonara (pip install gerbonara)") from None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            g = gerbonara.GerberFile()
            with open(path, encoding="utf-8", errors="replace") as fh:
                parser = _parser(limit)(g)
                parser.parse(fh.read(), filename=path)
            if parser.step_repeat_objects is not None:  # a block still open at the end: closed by M02
                parser._parse_step_repeat({"coords": None})
            dark: list[Any] = []
            clear: list[Any] = []
            prims = _primitives(g.objects, limit)
            while batch := list(itertools.islice(prims, 8192)):  # a few thousand outlines at a time
                pts, owner = _outlines([prim.to_arc_poly() for prim in batch])
                pts *= 1000.0  # mm -> um
                counts = np.bincount(owner, minlength=len(batch))
                good = np.flatnonzero(counts >= 3)
                keep = counts[owner] >= 3
                rings = shapely.linearrings(pts[keep], indices=np.searchsorted(good, owner[keep]))
                shapes = shapely.make_valid(shapely.polygons(rings))
                is_dark = np.array([batch[i].polarity_dark for i in good.tolist()], dtype=bool)
                dark += list(shapes[is_dark])
                clear += list(shapes[~is_dark])
    except _Refused as exc:
        raise input_error(path, f"refused: {exc}") from None
    except SyntaxError as exc:  # gerbonara wraps what its statements raise
        if isinstance(exc.__cause__, _Refused):
            raise input_error(path, f"refused: {exc.__cause__}") from None
        raise input_error(path, f"not a readable Gerber file ({str(exc).splitlines()[0]})") from None
    except (MemoryError, RecursionError):
        raise input_error(path, "refused: the Gerber expands beyond the memory at hand") from None
    except Exception as exc:  # gerbonara's many ways of saying "this is not a Gerber I can read"
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise input_error(path, f"not a readable Gerber file ({reason})") from None
    if not dark:
        raise input_error(path, "no apertures (no dark regions or flashes) in the Gerber file")
    if clear:  # clear (negative) shapes cut the dark ones: one union of each, then the difference
        union = shapely.difference(shapely.union_all(dark), shapely.union_all(clear))
        return [p for p in shapely.get_parts(union) if p.geom_type == "Polygon" and p.area > 0]
    return union_parts(np.array(dark, dtype=object))


def read_stencil(
    path: str | os.PathLike[str],
    layer: str | None = None,
    units: str | None = None,
    max_shapes: int = DEFAULT_MAX_CONTACTS,
) -> list[Any]:
    """The apertures of an existing stencil file as shapely polygons (um), one per connected piece;
    refused (before expansion where it can be counted) beyond `max_shapes` shapes."""
    import shapely

    from ..geometry import to_shapely, transform_polygons, union_parts

    path = os.fspath(path)
    if not os.path.isfile(path):
        raise input_error(path, "no such file")
    ext = os.path.splitext(path)[1].lower()
    if ext in GERBER_EXTENSIONS:
        return _gerber(path, max_shapes)
    from . import FORMATS

    drawn = {e for e, f in FORMATS.items() if f != "def"}  # (a DEF places pads; it draws no stencil)
    if ext not in drawn:
        known = ", ".join(sorted({*GERBER_EXTENSIONS, *drawn}))
        raise input_error(path, f"unknown stencil extension {ext or '(none)'!r}; stencilgen reads {known}")
    fmt = FORMATS[ext]
    if fmt == "dxf":
        from .dxf import read_dxf

        if layer is not None:
            raw = read_dxf(path, layer, units, max_shapes)
        else:  # STENCIL (as plan writes it), else the drawing's only layer
            try:
                raw = read_dxf(path, "STENCIL", units, max_shapes)
            except InputError:
                try:
                    raw = read_dxf(path, None, units, max_shapes)
                except UsageError as exc:
                    raise UsageError(str(exc).replace("--layer", "--stencil-layer")) from None
    else:
        from .gds import read_gds

        raw = read_gds(path, fmt, layer or "1/0", None, max_shapes, False)
    flat = Polygons.concat([transform_polygons(p.polygons, p.transforms, raw.grid_um, p.on_grid) for p in raw.parts])
    return union_parts(shapely.make_valid(to_shapely(flat)))
