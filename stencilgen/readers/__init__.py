"""Readers: the only place that opens an input layout. `read_layout` picks the reader by the file's
extension (a gzip-compressed file is expanded first) and turns its shapes into contacts
(micrometres, snapped to the file's database grid)."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from ..errors import StencilgenError, UsageError, input_error
from ..geometry import (
    MIN_AREA_UM2,
    PlainShapes,
    bboxes,
    build_contacts,
    merge_contacts,
    place_contacts,
    placements_disjoint,
    plain_shapes,
    to_shapely,
    transform_polygons,
    yx_order,
)
from ..limits import DEFAULT_MAX_CONTACTS
from ..model import Contacts, Excluded, Instances, Layout, Polygons, reasons_said
from ..repeats import find_repeats
from ..rules import Rules
from .base import RawLayout
from .compressed import expanded, plain_name
from .gds import read_gds  # numpy only (gdstk is imported when a file needs it)
from .layers import choose_layer, layer_text

#: refuse coordinates farther than this from the origin (a 300 mm wafer reaches 150 mm)
MAX_COORDINATE_UM = 1e6

FORMATS = {
    ".gds": "gds",
    ".gds2": "gds",
    ".gdsii": "gds",
    ".gdsii2": "gds",
    ".oas": "oasis",
    ".oasis": "oasis",
    ".dxf": "dxf",
    ".def": "def",
    ".defok": "def",  # (OpenROAD's name for the DEF its regression tests expect)
}
#: the ceiling on a compressed layout's expanded size, MB (the rules' max_expanded_mb)
DEFAULT_MAX_EXPANDED_MB = Rules.max_expanded_mb


def layout_format(path: str) -> str:
    """The format a layout's name says: gds, oasis, dxf or def (die.gds.gz: gds)."""
    ext = os.path.splitext(plain_name(path))[1].lower()
    if ext not in FORMATS:
        known = ", ".join(sorted(FORMATS))
        said = f"unknown extension {ext or '(none)'!r}"
        raise input_error(path, f"{said}; stencilgen reads {known}, each also gzipped (.gz)")
    return FORMATS[ext]


def is_layout_name(name: str) -> bool:
    """Whether a file's name is one of a layout stencilgen reads (batch's folder search)."""
    return os.path.splitext(plain_name(name))[1].lower() in FORMATS


def layout_stem(path: str) -> str:
    """The file's name without its extensions: die.gds -> die, die.gds.gz -> die."""
    return os.path.splitext(os.path.basename(plain_name(path)))[0]


def read_layout(
    path: str | os.PathLike[str] | Any,
    layer: str | Sequence[str] | tuple[int, int] | int | None = None,
    cell: str | None = None,
    units: str | None = None,
    max_contacts: int = DEFAULT_MAX_CONTACTS,
    list_layers: bool = False,
    repair: bool = True,
    *,
    lef: Sequence[str | os.PathLike[str]] = (),
    lef_obs: bool = False,
    max_expanded_mb: float = DEFAULT_MAX_EXPANDED_MB,
) -> Layout:
    """Read the contacts on one layer of a GDSII, OASIS, DXF or DEF layout, each maybe gzipped (.gz);
    or of a layout built in memory (`memory.KINDS`: a gdstk Library or Cell, a KLayout Layout or Cell, a
    gdsfactory Component), written to a GDS of its own first, which lasts as long as the Layout read.

    layer: "L/D" for GDS/OASIS (or (L, D), or L for L/0), a layer name for DXF, a LEF layer for DEF
    (default: the only layer with shapes); or several values, "PATTERN=LAYER" for the files whose
    name matches the glob and unprefixed ones for the files of their kind (`readers.layers.choose_layer`).
    cell: GDS/OASIS top cell (default: the only top cell, KLayout's context cell aside).
    units: DXF only, the drawing unit when $INSUNITS is missing or must be overridden.
    repair: self-intersecting shapes are repaired (True) or left out (False); either way they are noted.
    lef: DEF only, the LEF files drawing its macros; lef_obs: their obstructions are pads too.
    max_expanded_mb: refuse a compressed file that expands to more than this (MB).
    """
    layer = layer_text(layer)
    if not isinstance(path, (str, os.PathLike)):
        from .memory import read_object

        def read(file: str, top: str | None) -> Layout:
            return read_layout(
                file, layer, top, units, max_contacts, list_layers, repair, max_expanded_mb=max_expanded_mb
            )

        if lef:
            raise UsageError("read_layout: lef applies to a DEF file, not to a layout built in memory")
        return read_object(path, cell, read)
    path = os.fspath(path)
    if os.path.isdir(path):
        raise input_error(path, "is a folder, not a layout file")
    fmt = layout_format(path)
    if not os.path.exists(path):
        raise input_error(path, "no such file")
    if not os.path.isfile(path):
        raise input_error(path, "not a regular file (a FIFO or a device is not a layout)")
    if not os.access(path, os.R_OK):
        raise input_error(path, "cannot be read (permission denied)")
    if not isinstance(layer, str) and layer is not None:
        layer = choose_layer(path, list(layer), fmt)
    elif layer is not None and "=" in layer:
        layer = choose_layer(path, [layer], fmt)
    if cell is not None and fmt not in ("gds", "oasis"):
        kind = "a DXF is read from its modelspace" if fmt == "dxf" else "a DEF is its design"
        raise UsageError(f"{path}: --cell applies to GDS/OASIS files; {kind}")
    lefs = [os.fspath(f) for f in lef]
    with _plain(path, max_expanded_mb) as plain:
        if fmt == "dxf":
            from .dxf import read_dxf

            raw = read_dxf(plain, layer, units, max_contacts)
        elif fmt == "def":
            from .lefdef import read_def

            with ExitStack() as stack:
                plain_lefs = [stack.enter_context(expanded(f, max_expanded_mb)) for f in lefs]
                raw = read_def(plain, layer, plain_lefs, lef_obs, max_contacts, path)
        else:
            raw = read_gds(plain, fmt, layer, cell, max_contacts, list_layers)
    raw = replace(raw, path=path)
    shapes = sum(len(p.polygons) * len(p.transforms) for p in raw.parts)
    _refuse_far(path, raw.parts)

    instances = None
    if raw.separate:
        contacts, excluded = _separate_contacts(raw, repair)
    elif len(raw.parts) == 1 and len(raw.parts[0].transforms) > 1:
        part = raw.parts[0]
        element, excluded = build_contacts(part.polygons, raw.grid_um, repair)
        if len(element) >= 3 and not excluded and placements_disjoint(element, part.transforms):
            contacts, index = place_contacts(element, part.transforms, raw.grid_um)
            instances = Instances(element, part.transforms, index)
    if instances is None and not raw.separate:
        flat = Polygons.concat(
            [transform_polygons(p.polygons, p.transforms, raw.grid_um, p.on_grid) for p in raw.parts]
        )
        contacts, excluded, instances = _flat_contacts(flat, raw.grid_um, repair)
    elif not raw.separate:
        excluded = []
    if len(contacts) == 0:
        # (what the shapes were: a die whose pad layer holds only its seal ring reads as frames)
        out = [e.reason for e in list(raw.skipped) + excluded if not e.kept]
        said = f": {reasons_said(out)}" if out else ""
        raise input_error(path, f"no contacts on layer {raw.layer} (only {shapes} unusable shapes{said})")
    if not np.isfinite(contacts.center).all():
        raise input_error(path, "non-finite coordinates on the pad layer")
    coords = contacts.polygons.coords
    reach = max(-float(coords.min()), float(coords.max())) if len(coords) else 0.0  # (no |coords| array)
    if reach > MAX_COORDINATE_UM:
        raise _too_far(path, reach)
    return Layout(
        path=path,
        format=raw.format,
        cell=raw.cell,
        layer=raw.layer,
        grid_um=raw.grid_um,
        contacts=contacts,
        layers=raw.layers,
        cells=raw.cells,
        shapes=shapes,
        excluded=list(raw.skipped) + excluded,
        instances=instances,
    )


@contextmanager
def _plain(path: str, max_expanded_mb: float | None) -> Iterator[str]:
    """The file to open for `path` (a compressed one expanded, `compressed.expanded`); the readers'
    errors name `path`, not the expanded copy."""
    with expanded(path, max_expanded_mb) as plain:
        if plain == path:
            yield plain
            return
        try:
            yield plain
        except StencilgenError as exc:
            raise type(exc)(str(exc).replace(plain, path)) from None


def _separate_contacts(raw: RawLayout, repair: bool) -> tuple[Contacts, list[Excluded]]:
    """Contacts of placements kept apart (a DEF's placed macros): each macro's shapes made contacts
    once and placed, never merged with another placement's. Where the shapes of two placements
    overlap (a pad cell's pin under the bond pad placed over it), the larger is the pad and the
    smaller is left out and noted (equal ones: the first is kept)."""
    import shapely

    placed: list[Contacts] = []
    excluded: list[Excluded] = []
    for part in raw.parts:
        element, notes = build_contacts(part.polygons, raw.grid_um, repair)
        excluded.extend(notes)
        if len(element):
            placed.append(place_contacts(element, part.transforms, raw.grid_um)[0])
    if not placed:
        return Contacts(Polygons.from_list([]), np.zeros((0, 2)), *(np.zeros(0) for _ in range(4))), excluded
    every = Contacts(
        Polygons.concat([c.polygons for c in placed]),
        np.concatenate([c.center for c in placed]),
        np.concatenate([c.area for c in placed]),
        np.concatenate([c.d for c in placed]),
        np.concatenate([c.length for c in placed]),
        np.concatenate([c.angle_deg for c in placed]),
    )
    geoms = to_shapely(every.polygons)
    a, b = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    a, b = a[a < b], b[a < b]
    overlap = shapely.area(shapely.intersection(geoms[a], geoms[b])) >= MIN_AREA_UM2
    a, b = a[overlap], b[overlap]
    under = np.unique(np.where(every.area[a] < every.area[b], a, b))  # (equal areas: the later one)
    for box, area in zip(bboxes(every.polygons.take(under)), every.area[under], strict=True):
        centre = (float(box[0] + box[2]) / 2, float(box[1] + box[3]) / 2)
        size = (float(box[2] - box[0]), float(box[3] - box[1]))
        reason = "under a larger pad of another placed macro (a connection to it), left out"
        excluded.append(Excluded(reason, centre, size, float(area)))
    keep = np.setdiff1d(np.arange(len(every)), under)
    every = every.take(keep)
    return every.take(yx_order(every.center, raw.grid_um)), excluded


def _too_far(path: str, reach: float) -> Exception:
    far = f"{reach / 1e3:,.0f}" if reach < 1e12 else f"{reach / 1e3:.3g}"
    return input_error(path, f"coordinates reach {far} mm from the origin, beyond any die or wafer (limit 1 m)")


def _refuse_far(path: str, parts: list[Any]) -> None:
    """Shapes placed beyond any die or wafer (or not finite) are refused before any geometry is worked:
    far out, a pad's own size is lost in the rounding and it would be left out as degenerate."""
    for p in parts:
        c = p.polygons.coords
        if not len(c) or not len(p.transforms):
            continue
        with np.errstate(all="ignore"):
            lo, hi = c.min(axis=0), c.max(axis=0)
            corners = np.array([[lo[0], lo[1]], [hi[0], lo[1]], [lo[0], hi[1]], [hi[0], hi[1]]])
            t = p.transforms
            placed = np.einsum("pij,kj->pki", t[:, :, :2], corners) + t[:, None, :, 2]
            reach = float(np.abs(placed).max())
        if not np.isfinite(reach):
            raise input_error(path, "non-finite coordinates on the pad layer")
        if reach > MAX_COORDINATE_UM:
            raise _too_far(path, reach)


def _flat_contacts(flat: Polygons, grid_um: float, repair: bool) -> tuple[Contacts, list[Excluded], Instances | None]:
    """The contacts of a flat layout, and whether it is one element repeated (a flattened wafer).
    Rectangles (most pad layers) and convex quadrilaterals (turned pads) are each a contact unless
    some touch (`_plain_contacts`); then those are merged (`PlainShapes.merged`). Other shapes are
    each checked and merged with those they touch."""
    shapes = plain_shapes(flat)
    if shapes is not None:
        plain = _plain_contacts(shapes, grid_um)
        if plain is not None:
            return plain[0], [], plain[1]
        contacts, excluded = shapes.merged(grid_um, repair)  # (only the shapes that may touch are merged)
    else:
        contacts, excluded = merge_contacts(flat, grid_um, repair)
    return contacts, excluded, find_repeats(contacts, grid_um)


def _plain_contacts(plain: PlainShapes, grid_um: float) -> tuple[Contacts, Instances | None] | None:
    """When none of the plain shapes touch: each one a contact, and whether the layout is one
    element repeated. In a repeated layout only one element's shapes need be looked at for touching,
    as the empty bands between the elements keep theirs apart. None otherwise (and nothing of the
    numbering is kept while the shapes are merged)."""
    quick, box = plain.numbered(grid_um)
    instances = find_repeats(quick, grid_um, box)
    if instances is not None:
        touch = plain.touches(instances.element.polygons, None)
    else:
        touch = plain.touches(plain.polygons, plain.box)
    return None if touch else (quick, instances)


def read_outline(
    path: str | os.PathLike[str],
    layer: str,
    cell: str | None = None,
    units: str | None = None,
    bbox: bool = False,
) -> Any:
    """The element's outline from the shapes on one layer: their union with holes filled (a seal
    ring's frame gives the die), or with `bbox` the bounding box of the layer. A shapely geometry, um."""
    import shapely

    from ..geometry import to_shapely

    path = os.fspath(path)
    fmt = layout_format(path)
    if fmt == "def":
        raise UsageError(f"{path}: a DEF's keep-in is its DIEAREA (the default) or none, not a layer")
    with _plain(path, None) as plain:  # (read once already, under the ceiling)
        if fmt == "dxf":
            from .dxf import read_dxf

            raw = read_dxf(plain, layer, units, DEFAULT_MAX_CONTACTS)
        else:
            raw = read_gds(plain, fmt, layer, cell, DEFAULT_MAX_CONTACTS, False)
    flat = Polygons.concat([transform_polygons(p.polygons, p.transforms, raw.grid_um, p.on_grid) for p in raw.parts])
    if bbox:
        lo, hi = flat.coords.min(axis=0), flat.coords.max(axis=0)
        return shapely.box(lo[0], lo[1], hi[0], hi[1])
    union = shapely.union_all(shapely.make_valid(to_shapely(flat)))
    parts = [shapely.Polygon(p.exterior) for p in shapely.get_parts(union) if p.geom_type == "Polygon"]
    if not parts:
        raise input_error(path, f"no closed outline on layer {layer}")
    return shapely.union_all(parts)


@dataclass(frozen=True)
class Extent:
    """What is drawn in a layout, on all layers (um): the chosen cell's bounding box and, for an element
    cell placed many times (a wafer of dies), the element cell's own (in its coordinates), if known."""

    box: tuple[float, float, float, float] | None
    element_box: tuple[float, float, float, float] | None = None


def read_extent(layout: Layout, units: str | None = None) -> Extent:
    """The bounding box of everything drawn in the layout's cell on all layers (RULES.md rule 8: the
    default keep-in). KLayout reads GDSII and OASIS (gzipped too) and a DEF's DIEAREA; ezdxf the DXF
    modelspace. None where the file cannot tell (a reader that fails here has already read the pads:
    the keep-in is then left out)."""
    path = layout.path
    if layout.format == "dxf":
        return Extent(_dxf_extent(path, units))
    if layout.format == "def":
        from .lefdef import die_area

        try:
            with _plain(path, None) as plain:
                return Extent(die_area(plain))
        except (StencilgenError, RuntimeError, OSError):
            return Extent(None)
    if layout.format == "gds" and not _is_gzip(path):
        found = _stream_extent(layout)
        if found is not None:
            return found
    try:
        import klayout.db as db

        ly = db.Layout()
        ly.read(path)
        top = ly.cell(layout.cell)
        if top is None:
            return Extent(None)
        box = _exact_box(ly, top)
        element = None
        if layout.instances is not None and layout.instances.gap_um is None:
            # the element cell: the one cell under the top that holds the pad layer's shapes itself
            layer, datatype = (int(x) for x in layout.layer.split("/"))
            li = ly.find_layer(layer, datatype)
            holders = [
                ly.cell(ci) for ci in top.called_cells() if li is not None and not ly.cell(ci).shapes(li).is_empty()
            ]
            if len(holders) == 1:
                element = _exact_box(ly, holders[0])
        elif layout.instances is not None:  # a flat layout found to be repeated: shapes near its first die
            c = layout.instances.element.polygons.coords
            half = 0.5 * (layout.instances.gap_um or 0.0)
            near = db.DBox(*(c.min(axis=0) - half), *(c.max(axis=0) + half))
            drawn = []
            for li in ly.layer_indexes():
                it = top.begin_shapes_rec_overlapping(li, near)
                while not it.at_end():
                    b = it.shape().bbox().transformed(it.trans())
                    drawn.append((b.left * ly.dbu, b.bottom * ly.dbu, b.right * ly.dbu, b.top * ly.dbu))
                    it.next()
            element = found_element_box(np.array(drawn).reshape(-1, 4), layout)
        return Extent(box, element)
    except (RuntimeError, ValueError, OSError):
        return Extent(None)


def _exact_box(ly: Any, cell: Any) -> tuple[float, float, float, float] | None:
    """A cell's bounding box in um: KLayout's, or where a cell under it is placed turned by an angle
    not a multiple of 90 degrees (its turned box is larger than its turned shapes), the box of its
    shapes placed, on all layers."""
    import klayout.db as db

    cells = [cell, *(ly.cell(ci) for ci in cell.called_cells())]
    if all(inst.cplx_trans.is_ortho() for c in cells for inst in c.each_inst()):
        return _box(cell.dbbox())
    box = db.Box()
    for li in ly.layer_indexes():
        box += db.Region(cell.begin_shapes_rec(li)).bbox()
    return _box(box.to_dtype(ly.dbu))


#: a reference array with more placements than this has its extent measured by KLayout
STREAM_EXTENT_PLACEMENTS = 1_000_000


def _orthogonal(T: np.ndarray) -> bool:
    """Whether the transforms (k, 2, 3) turn by multiples of 90 degrees (a placed box stays exact)."""
    zero = np.abs(T[:, :, :2]) <= 1e-9 * np.abs(T[:, :, :2]).max()
    return bool((zero[:, 0, 1] & zero[:, 1, 0]).all() or (zero[:, 0, 0] & zero[:, 1, 1]).all())


def _is_gzip(path: str) -> bool:
    with open(path, "rb") as fh:
        return fh.read(2) == b"\x1f\x8b"


def _stream_extent(layout: Layout) -> Extent | None:
    """`read_extent` of a plain GDSII file read with numpy (`gdsii`), as KLayout measures it: the
    boxes of every cell's polygons on all layers and of its references' cells, placed. None where the
    stream holds what `gdsii` leaves to others, or an array too large to place (KLayout then measures)."""
    from . import gdsii

    try:
        stream = gdsii.read_stream(layout.path)
    except (gdsii.Unsupported, ValueError, IndexError, UnicodeDecodeError, OverflowError, OSError):
        return None
    cells = {c.name: c for c in stream.cells}
    boxes: dict[str, np.ndarray | None] = {}
    grid = stream.db_m / 1e-6  # the database unit in um

    def box(name: str) -> np.ndarray | None:
        if name in boxes:
            return boxes[name]
        boxes[name] = None  # (a cycle adds nothing)
        cell = cells.get(name)
        if cell is None:
            return None
        at, npts, _layer, _dtype = stream.shapes(cell)
        pts = [stream._gathered(at, npts).coords] if len(at) else []
        for child, ref in cell.refs:
            b = box(child)
            if b is None:
                continue
            if ref.count > STREAM_EXTENT_PLACEMENTS:
                raise OverflowError(name)
            T = ref.transforms()
            corners = np.array([[b[0], b[1]], [b[2], b[1]], [b[2], b[3]], [b[0], b[3]]])
            if not _orthogonal(T):  # a turned box is larger than the turned shapes: their hull, placed
                corners = hull(child)
            pts.append((np.einsum("kij,cj->kci", T[:, :, :2], corners) + T[:, None, :, 2]).reshape(-1, 2))
        if not pts:
            return None
        allp = np.concatenate(pts)
        # on the database grid, as KLayout keeps a placed cell's box
        boxes[name] = np.rint(np.concatenate([allp.min(axis=0), allp.max(axis=0)]) / grid) * grid
        return boxes[name]

    import shapely

    hulls: dict[str, np.ndarray] = {}

    def hull(name: str) -> np.ndarray:
        """The vertices of the convex hull of everything a cell draws (its coordinates, um)."""
        if name not in hulls:
            hulls[name] = np.zeros((0, 2))  # (a cycle adds nothing)
            cell = cells[name]
            at, npts, _layer, _dtype = stream.shapes(cell)
            pts = [stream._gathered(at, npts).coords] if len(at) else []
            for child, ref in cell.refs:
                if child in cells:
                    T = ref.transforms()
                    h = hull(child)
                    pts.append((np.einsum("kij,cj->kci", T[:, :, :2], h) + T[:, None, :, 2]).reshape(-1, 2))
            allp = np.concatenate(pts) if pts else np.zeros((0, 2))
            if len(allp) > 2:
                allp = shapely.get_coordinates(shapely.convex_hull(shapely.multipoints(allp)))
            hulls[name] = allp
        return hulls[name]

    try:
        top = box(layout.cell)
    except (OverflowError, RecursionError):
        return None
    if top is None:
        return Extent(None)
    element = None
    if layout.instances is not None and layout.instances.gap_um is None:
        # the element cell: the one cell under the top that holds the pad layer's shapes itself
        want = tuple(int(x) for x in layout.layer.split("/"))
        called: set[str] = set()
        todo = [layout.cell]
        while todo:
            for child, _ref in cells[todo.pop()].refs:
                if child in cells and child not in called:
                    called.add(child)
                    todo.append(child)
        holders = []
        for name in sorted(called):
            _at, _n, layer, dtype = stream.shapes(cells[name])
            if ((layer == want[0]) & (dtype == want[1])).any():
                holders.append(name)
        held = boxes.get(holders[0]) if len(holders) == 1 else None
        if held is not None:
            element = _tuple(held)
    elif layout.instances is not None and not cells[layout.cell].refs:  # a flat layout found to be repeated
        at, npts, _layer, _dtype = stream.shapes(cells[layout.cell])
        if len(at):
            polys = stream._gathered(at, npts)
            starts = polys.offsets[:-1]
            drawn = np.column_stack(
                [np.minimum.reduceat(polys.coords, starts, axis=0), np.maximum.reduceat(polys.coords, starts, axis=0)]
            )
            element = found_element_box(drawn, layout)
    return Extent(_tuple(top), element)


def found_element_box(drawn: np.ndarray, layout: Layout) -> tuple[float, float, float, float] | None:
    """For a flat layout found to be one element repeated (`repeats`): the element's drawn extent, in its
    (the first placement's) coordinates: the box of its contacts and of every shape drawn, on any
    layer, wholly within half the narrowest band between placements of them (a die's outline or seal
    ring); None where nothing is drawn beyond its contacts. drawn: (K, 4) boxes of the shapes (um)."""
    inst = layout.instances
    if inst is None or inst.gap_um is None or not len(drawn):
        return None
    c = inst.element.polygons.coords
    lo, hi = c.min(axis=0), c.max(axis=0)
    half = 0.5 * inst.gap_um
    mine = drawn[
        (drawn[:, 0] >= lo[0] - half)
        & (drawn[:, 1] >= lo[1] - half)
        & (drawn[:, 2] <= hi[0] + half)
        & (drawn[:, 3] <= hi[1] + half)
    ]
    if not len(mine):
        return None
    x0, y0 = min(float(mine[:, 0].min()), lo[0]), min(float(mine[:, 1].min()), lo[1])
    x1, y1 = max(float(mine[:, 2].max()), hi[0]), max(float(mine[:, 3].max()), hi[1])
    tol = max(layout.grid_um, 1e-3) * 2
    if not (x0 < lo[0] - tol or y0 < lo[1] - tol or x1 > hi[0] + tol or y1 > hi[1] + tol):
        return None
    return (float(x0), float(y0), float(x1), float(y1))


def _tuple(b: np.ndarray) -> tuple[float, float, float, float]:
    return (float(b[0]), float(b[1]), float(b[2]), float(b[3]))


def _box(b: Any) -> tuple[float, float, float, float] | None:
    """A KLayout DBox as (x0, y0, x1, y1) um, None if empty."""
    if b.empty():
        return None
    return (float(b.left), float(b.bottom), float(b.right), float(b.top))


def _dxf_extent(path: str, units: str | None) -> tuple[float, float, float, float] | None:
    try:
        import ezdxf
        from ezdxf import bbox

        from .dxf import _units

        with _plain(path, None) as plain:
            doc = ezdxf.readfile(plain)
        scale = _units(path, doc, units)
        ext = bbox.extents(doc.modelspace(), fast=True)
    except Exception:  # the pads were read: an extent that cannot be worked out is left out
        return None
    if not ext.has_data:
        return None
    return (ext.extmin.x * scale, ext.extmin.y * scale, ext.extmax.x * scale, ext.extmax.y * scale)
