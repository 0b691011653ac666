"""Existing stencils: the apertures of a Gerber (regions, flashes of standard and macro apertures,
strokes, clear polarity, step and repeat), a DXF (closed outlines) or a GDS/OASIS (polygons), read by
KLayout in C++ and handed over as ragged numpy polygons in um, without a Python object per aperture.

KLayout flattens the file's shapes on the stencil layer (a Gerber's clear shapes cut out of the dark
ones, %SR% expanded; DXF blocks and GDS references placed) and writes them to a temporary GDSII
stream, which `gdsii.read_stream` reads with numpy. Apertures that overlap or abut are united: every
connected piece is one aperture."""

from __future__ import annotations

import contextlib
import os
import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import scratch
from ..errors import EmptyStencil, UsageError, input_error
from ..model import Polygons, Tips

GERBER_EXTENSIONS = (".gbr", ".ger", ".gtp", ".gbp", ".pho", ".art", ".gbx")

#: points per full circle for a Gerber's flashes and a DXF's arcs (KLayout puts the points of a DXF
#: arc a little outside it: at 64 a strip's web to its neighbour already reads 0.05 um short)
CIRCLE_POINTS = 128
#: KLayout cuts the arcs of a Gerber region into chords of 360/32 deg whatever the radius; chords
#: turning by no more than this (deg), alike in length and turn, are read back as their arc
KLAYOUT_ARC_STEP_DEG = 360.0 / 32
#: the arcs found again are cut into chords this close to the arc, um (a 40 um tip: chords of 5 deg,
#: finer than the 48 chords per arc of a GDS written by plan)
ARC_ERROR_UM = 0.02
#: how far the sum of an arc's chord angles read from a Gerber may fall short of its sweep, deg
ARC_SWEEP_NOISE_DEG = 0.1
#: at most this many chords for one of KLayout's (an arc of a huge radius is cut no finer: within
#: 0.02 um up to a radius of 17 mm)
MAX_CHORD_PIECES = 64
#: vertices worked at a time when finding arcs again
ARC_CHUNK_VERTICES = 262_144
#: how far a strip's corners read from a Gerber may lie from a rectangle's, and its tip from half a turn,
#: um: the grid's noise (1 nm) on both ends
TIP_GRID_UM = 0.004
#: shapes of a smaller area (um2) are no apertures (a line drawn on the stencil layer)
MIN_AREA_UM2 = 1e-6
#: pairs of apertures whose boxes meet tested for overlap at a time (bounds GEOS's copies)
UNITE_CHUNK = 16384
#: KLayout's database unit for the stencil, um (Gerber and DXF; a GDS keeps its own)
DBU_UM = 0.001
#: the flat stream KLayout's child writes for numpy to read
FLAT_STREAM = "flat.gds"
#: the DXF header is read this far for $INSUNITS
DXF_HEADER_BYTES = 1 << 20
#: the layout formats a stencil may be drawn in besides Gerber (a DEF places cells: no stencil)
STENCIL_FORMATS = ("dxf", "gds", "oasis")
#: and its last bytes for its EOF group
DXF_TAIL_BYTES = 64

_PROJECT = """<?xml version="1.0" encoding="utf-8"?>
<pcb-project>
 <free-layer-mapping>true</free-layer-mapping>
 <layout-layers><layout-layer>1/0</layout-layer></layout-layers>
 <free-files><free-file><filename>{name}</filename><layout-layers><index>0</index></layout-layers></free-file></free-files>
 <num-circle-points>{points}</num-circle-points>
 <dbu>{dbu}</dbu>
 <merge-flag>false</merge-flag>
</pcb-project>
"""


#: ceilings of a Gerber aperture macro: vertices of a regular polygon it may draw
MAX_MACRO_VERTICES = 10_000
_SR = re.compile(rb"%SRX(\d+)Y(\d+)")
_MACRO = re.compile(rb"%AM([^*%]+)\*([^%]*)%")
_ADD = re.compile(rb"%ADD\d+([^,*%]+)(?:,([^*%]*))?\*%")
_WORD = re.compile(rb"%[^%]*%|[^%*]+\*")
_DCODE = re.compile(rb"D0*(\d+)$")
_COORD = re.compile(rb"[XYIJ][+-]?[\d.]")
_ADD_CMD = re.compile(rb"ADD0*(\d+)([^,]*)")
_AB_CMD = re.compile(rb"ABD0*(\d+)")
_SR_CMD = re.compile(rb"SRX(\d+)Y(\d+)")


def _gerber_sniff(path: str, limit: int | None = None) -> None:
    """What KLayout would read without a word, or expand without a ceiling, refused first: a file must
    hold a format statement (%FS) and end with M02; it may give at most `limit` shapes with its
    step-and-repeat blocks, block apertures and aperture macros multiplied out (`_gerber_shapes`); an
    aperture macro may not draw a polygon of more than MAX_MACRO_VERTICES vertices, nor a moire
    (deprecated by the Gerber format; no paste aperture is one)."""
    try:
        with open(path, "rb") as fh:
            text = fh.read()
    except OSError as exc:
        raise input_error(path, f"cannot be read ({exc.strerror})") from None
    if b"%FS" not in text:
        raise input_error(path, "not a Gerber file we can read: no %FS format statement (the coordinate format)")
    if not text.rstrip(b" \t\r\n\x00").endswith(b"M02*"):  # the end of file command (Gerber spec 4.13)
        raise input_error(path, "the Gerber file is cut short: it does not end with M02*")
    variable: dict[bytes, list[int]] = {}
    primitives: dict[bytes, int] = {}
    for m in _MACRO.finditer(text):
        name, body = m.group(1).strip(), m.group(2)
        count = 0
        for prim in body.split(b"*"):
            fields = [f.strip() for f in prim.split(b",")]
            if fields[0] == b"6":
                raise input_error(path, f"refused: aperture macro {name.decode(errors='replace')!r} draws a moire")
            if fields[0] == b"5" and len(fields) > 2:
                n = fields[2]
                if n.startswith(b"$") and n[1:].isdigit():
                    variable.setdefault(name, []).append(int(n[1:]))
                elif _number(n) > MAX_MACRO_VERTICES:
                    raise input_error(
                        path,
                        f"refused: aperture macro {name.decode(errors='replace')!r} draws a "
                        f"polygon of {_number(n):g} vertices",
                    )
            count += fields[0] not in (b"", b"0") and not fields[0].startswith(b"$")  # (comments, variables)
        primitives[name] = max(count, 1)
    for m in _ADD.finditer(text):
        params = (m.group(2) or b"").split(b"X")
        for k in variable.get(m.group(1).strip(), []):
            if k <= len(params) and _number(params[k - 1]) > MAX_MACRO_VERTICES:
                raise input_error(path, f"refused: an aperture draws a polygon of {_number(params[k - 1]):g} vertices")
    if limit is None:
        return
    # a quick bound first: every word (each ends in *) a flash of the largest macro, in the largest
    # step-and-repeat (blocks of them do not nest); block apertures do nest: those are counted
    if b"%AB" not in text:
        copies = max((int(m[1]) * int(m[2]) for m in _SR.finditer(text)), default=1)
        if text.count(b"*") * max(primitives.values(), default=1) * max(copies, 1) <= limit:
            return
    shapes = _gerber_shapes(text, primitives)
    if shapes > limit:
        raise input_error(
            path,
            f"refused: expands to {shapes:,} shapes (step and repeat, block apertures and macros multiplied "
            f"out), above --max-contacts ({limit:,})",
        )


def _gerber_shapes(text: bytes, primitives: dict[bytes, int]) -> int:
    """How many shapes a Gerber gives at most, counted word by word without drawing any: a flash gives
    its aperture's shapes (a macro's primitives, a block aperture's contents), a draw or a region's
    vertex one, a step-and-repeat block its contents times its copies."""
    aperture: dict[int, int] = {}
    frames: list[list[Any]] = [[0, 1, None]]  # [shapes, copies, block aperture's D code or None]
    current, op = 1, 0
    for m in _WORD.finditer(text):
        word = m.group()
        if word[:1] == b"%":
            for cmd in word[1:-1].split(b"*"):
                cmd = cmd.strip()
                if cmd.startswith(b"AD"):
                    ad = _ADD_CMD.match(cmd)
                    if ad:
                        aperture[int(ad[1])] = primitives.get(ad[2].strip(), 1)
                elif cmd.startswith(b"AB"):
                    ab = _AB_CMD.match(cmd)
                    if ab:
                        frames.append([0, 1, int(ab[1])])
                    elif len(frames) > 1 and frames[-1][2] is not None:
                        shapes, _, code = frames.pop()
                        aperture[code] = max(shapes, 1)
                elif cmd.startswith(b"SR"):
                    if len(frames) > 1 and frames[-1][2] is None:  # the open block ends
                        shapes, copies, _ = frames.pop()
                        frames[-1][0] += shapes * copies
                    sr = _SR_CMD.match(cmd)
                    if sr:
                        frames.append([0, int(sr[1]) * int(sr[2]), None])
            continue
        body = word[:-1].strip()
        d = _DCODE.search(body)
        if d:
            code = int(d[1])
            if code >= 10:
                current = aperture.get(code, 1)
                continue
            if code not in (1, 2, 3):
                continue
            op = code
        elif not _COORD.search(body) or body.startswith((b"G04", b"G4")):
            continue
        frames[-1][0] += current if op == 3 else 1 if op == 1 else 0
    while len(frames) > 1:  # (blocks left open: the file is damaged, counted as closed)
        shapes, copies, _ = frames.pop()
        frames[-1][0] += shapes * copies
    return int(frames[0][0])


def _number(text: bytes) -> float:
    try:
        return float(text)
    except ValueError:
        return 0.0


def _reason(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return re.sub(r"\s+in Layout\.read$", "", text)


def _dxf_whole(path: str) -> None:
    """A DXF file ends with its EOF group (text and binary DXF alike): one cut short is said to be so,
    before KLayout reads it (its warnings about the cut would reach the console) or its header is
    searched for a unit it may have lost."""
    try:
        with open(path, "rb") as fh:
            fh.seek(max(0, os.path.getsize(path) - DXF_TAIL_BYTES))
            tail = fh.read()
    except OSError as exc:
        raise input_error(path, f"cannot be read ({exc.strerror})") from None
    if not tail.rstrip(b" \t\r\n\x00\x1a").endswith(b"EOF"):
        raise input_error(path, "the DXF file is cut short: it does not end with EOF")


def _dxf_unit_um(path: str, units: str | None) -> float:
    """Micrometres per DXF drawing unit: --units, else the header's $INSUNITS."""
    from ..units import insunits_um, um_per_unit

    if units is not None:
        return um_per_unit(units)
    try:
        with open(path, "rb") as fh:
            head = fh.read(DXF_HEADER_BYTES).decode("latin-1")
    except OSError as exc:
        raise input_error(path, f"cannot be read ({exc.strerror})") from None
    lines = [x.strip() for x in head.split("ENDSEC", 1)[0].splitlines()]
    code: int | None = None
    for k in range(len(lines) - 2):
        if lines[k] == "$INSUNITS" and lines[k + 1] == "70":
            code = 0
            with contextlib.suppress(ValueError):
                code = int(lines[k + 2])
            break
    return insunits_um(path, code)


def _load(path: str, fmt: str, units: str | None, folder: str) -> Any:
    """The file read by KLayout (a Gerber through a small project file in `folder`)."""
    import klayout.db as kdb

    layout = kdb.Layout()
    options = kdb.LoadLayoutOptions()
    what = {"gerber": "Gerber", "dxf": "DXF", "gds": "GDSII", "oasis": "OASIS"}[fmt]
    try:
        if fmt == "gerber":
            project = os.path.join(folder, "stencil.gbrx")
            name = os.path.relpath(os.path.abspath(path), folder)
            with open(project, "w", encoding="utf-8") as fh:
                fh.write(_PROJECT.format(name=_xml(name), points=CIRCLE_POINTS, dbu=DBU_UM))
            layout.read(project, options)
        elif fmt == "dxf":
            _dxf_whole(path)
            options.dxf_unit = _dxf_unit_um(path, units)
            options.dxf_dbu = DBU_UM
            options.dxf_polyline_mode = 2  # closed polylines are polygons, open ones are left out
            options.dxf_circle_points = CIRCLE_POINTS
            options.dxf_keep_other_cells = False
            layout.read(path, options)
        else:
            layout.read(path, options)
    except RuntimeError as exc:
        if "bad_alloc" in str(exc):
            raise _out_of_memory(path) from None
        raise input_error(path, f"not a readable {what} file ({_reason(exc)})") from None
    except UnicodeDecodeError:  # (KLayout's message quoting bytes that are not text)
        raise input_error(path, f"not a readable {what} file (it holds bytes that are not text)") from None
    return layout


def _out_of_memory(path: str) -> Exception:
    return input_error(path, "out of memory reading the stencil; lower --max-contacts or split it")


def _xml(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _layers(layout: Any, top: Any, count: Any = None) -> dict[str, int]:
    """Every layer with shapes under the top cell, with their count (`_count`, or `count(top, li)`),
    by name (DXF) or L/D."""
    out = {}
    for li in layout.layer_indexes():
        info = layout.get_info(li)
        n = (count or _count)(top, li)
        if n:
            out[info.name or f"{info.layer}/{info.datatype}"] = n
    return out


def _listed(layout: Any, top: Any) -> str:
    """The layers drawn on, for a message: each with its shapes as placed (every placement of a cell
    counted, as the layout's reader counts them)."""
    import klayout.db as kdb

    def placed(top: Any, li: int) -> int:
        return int(kdb.Region(top.begin_shapes_rec(li)).count())

    return ", ".join(f"{k} ({v})" for k, v in sorted(_layers(layout, top, placed).items())) or "none"


def _count(top: Any, li: int) -> int:
    """Shapes drawn on a layer in the top cell and the cells it places (each cell once)."""
    layout = top.layout()
    return sum(int(layout.cell(c).shapes(li).size()) for c in [top.cell_index(), *top.called_cells()])


def _pick_layer(path: str, fmt: str, layout: Any, top: Any, layer: str | None) -> int:
    """The stencil's layer: the one named, else STENCIL (DXF) or 1/0 (GDS, OASIS), else, where the file
    draws on one layer only, that one."""
    given = layer
    present = _layers(layout, top)

    def listed() -> str:  # (only for a message: the shapes of every placement counted)
        return _listed(layout, top)

    if fmt == "dxf":
        if layer is None:
            if "STENCIL" in present:
                layer = "STENCIL"
            elif len(present) == 1:
                layer = next(iter(present))
            elif not present:
                raise EmptyStencil(f"{path}: the DXF file draws nothing")
            else:
                raise UsageError(f"{path}: choose the stencil layer with --stencil-layer; layers present: {listed()}")
        for li in layout.layer_indexes():
            if layout.get_info(li).name == layer and layer in present:
                return int(li)
        raise input_error(path, f"no closed outlines on layer {layer!r}; layers present: {listed()}")
    if fmt == "gerber":
        li = layout.find_layer(1, 0)
    else:
        from .gds import parse_gds_layer

        want = parse_gds_layer(layer or "1/0", path)
        li = layout.find_layer(*want)
        layer = f"{want[0]}/{want[1]}"
    if li is None or _count(top, li) == 0:
        if fmt == "gerber":
            raise EmptyStencil(f"{path}: no apertures (no dark regions or flashes) in the Gerber file")
        if not present:
            raise EmptyStencil(f"{path}: the file draws nothing")
        if given is None and len(present) == 1:  # (as a DXF without STENCIL: the one layer drawn on)
            from .gds import parse_gds_layer

            li = layout.find_layer(*parse_gds_layer(next(iter(present)), path))
            if li is not None:
                return int(li)
        raise input_error(path, f"no shapes on layer {layer}; layers present: {listed()}")
    return int(li)


def _top(path: str, layout: Any) -> Any:
    tops = layout.top_cells()
    if len(tops) == 1:
        return tops[0]
    if not tops:
        raise input_error(path, "the file holds no cells")
    names = ", ".join(sorted(c.name for c in tops))
    raise input_error(path, f"{len(tops)} top cells ({names}); a stencil has one")


def _write_flat(layout: Any, top: Any, li: int, stream: str) -> None:
    """The shapes under the top cell on one layer, flattened into polygons (boxes and paths too, texts
    left out), written by KLayout as one GDSII cell on layer 1/0."""
    import klayout.db as kdb

    flat = kdb.Layout()
    flat.dbu = layout.dbu
    flat.create_cell("APERTURES").shapes(flat.layer(1, 0)).insert(kdb.Region(top.begin_shapes_rec(li)))
    flat.write(stream)


def _read_flat(stream: str) -> Polygons:
    """The polygons of a flat stream written by `_write_flat`, in um, read with numpy (gdstk where the
    stream reader declines)."""
    from .gdsii import Unsupported, read_stream

    try:
        s = read_stream(stream, 1e-6, polygons_only=True)
        return s.polygons(s.cells[0], (1, 0))
    except Unsupported:  # a coordinate that looks like a record header: gdstk reads it
        import gdstk

        cell: Any = gdstk.read_gds(stream, unit=1e-6).cells[0]
        return Polygons.from_list([np.asarray(p.points) for p in cell.polygons])


def round_arcs(
    polys: Polygons,
    max_step_deg: float = KLAYOUT_ARC_STEP_DEG,
    error_um: float = ARC_ERROR_UM,
    chunk: int = ARC_CHUNK_VERTICES,
) -> Polygons:
    """Arcs cut into coarse chords found again and cut finer: an edge that turns from a neighbour of the
    same length by the same small angle (0 < turn <= max_step_deg) as that neighbour turns from its
    own, is a chord of the circle through them; it is cut into chords within `error_um` of that
    circle. Its end points stay, so the outline still passes through every vertex read. A few
    hundred thousand vertices (`chunk`) at a time: the temporary arrays stay small."""
    n = len(polys)
    if not n:
        return polys
    bounds = np.searchsorted(polys.offsets, np.arange(0, int(polys.offsets[-1]), chunk), side="right") - 1
    bounds = np.unique(np.append(bounds, n))
    parts = []
    for a, b in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True):
        off = polys.offsets[a : b + 1]
        part = Polygons(polys.coords[off[0] : off[-1]], off - off[0])
        parts.append(_round_arcs(part, max_step_deg, error_um))
    return Polygons.concat(parts)


def arcs_found_once(polys: Polygons) -> tuple[Polygons, Tips]:
    """`round_arcs` and `found_tips` (the polygons with their arcs cut finer, and the strips' tips),
    once for each kind of aperture alike up to a shift: a copy is its first's, moved (the vertices read
    stay, so the copies stay alike)."""
    from ..geometry import alike

    kin = alike(polys)
    reps = kin.first
    if len(reps) == len(polys):
        return round_arcs(polys), found_tips(polys)
    at = np.empty(len(polys), dtype=np.int64)
    at[reps] = np.arange(len(reps))
    first = polys.take(reps)
    out = round_arcs(first).take(at[kin.rep])
    tips = found_tips(first).take(at[kin.rep])
    shift = kin.anchor - kin.anchor[kin.rep]
    rounded = Polygons(out.coords + np.repeat(shift, out.counts, axis=0), out.offsets)
    return rounded, Tips(tips.centre + shift, tips.radius, tips.area, tips.perimeter)


def _run_labels(
    arc: np.ndarray, with_prev: np.ndarray, first: np.ndarray, counts: np.ndarray
) -> tuple[np.ndarray, int]:
    """Each arc edge's run (`arc`, each continuing the run of the edge before where `with_prev`; a
    polygon's vertices from `first`): a label per edge (meaningful where `arc`) and how many labels."""
    m = len(arc)
    start = arc & ~with_prev
    label = np.cumsum(start) - 1
    poly = np.repeat(np.arange(len(counts)), counts)
    # a run that wraps past its polygon's first vertex: the edges before the polygon's first start
    # belong to its last run; a polygon all one closed run has no start: a run of its own
    pos = np.arange(m) - first
    big = np.iinfo(np.int64).max
    first_start = np.full(len(counts), big)
    np.minimum.at(first_start, poly[start], pos[start])
    last_label = np.full(len(counts), -1, dtype=np.int64)
    np.maximum.at(last_label, poly[start], label[start])
    head = arc & (pos < first_start[poly])
    closed = first_start[poly] == big
    n_runs = int(start.sum())
    label = np.where(head & ~closed, last_label[poly], label)
    label = np.where(head & closed, n_runs + poly, label)
    return label, n_runs + len(counts)


def _kept_runs(label: np.ndarray, n_labels: int, arc: np.ndarray, phi: np.ndarray, step: float) -> np.ndarray:
    """Which arc edges (`arc`, in runs `label`) lie in runs of k chords turning by more than
    (k - 1) x `step`."""
    k = np.bincount(label[arc], minlength=n_labels)
    total = np.bincount(label[arc], weights=phi[arc], minlength=n_labels)
    # (less the grid's noise on the run's two end chords: an arc of just over (k - 1) steps is one)
    kept = total > (k - 1) * step - np.radians(ARC_SWEEP_NOISE_DEG)
    return kept[np.where(arc, label, 0)] & arc


@dataclass(frozen=True)
class _Found:
    """The arcs found on polygons' edges (edge i: from vertex i to vertex nxt[i])."""

    arc: np.ndarray  # (M,) bool: edge i is a chord of an arc
    phi: np.ndarray  # (M,) its central angle (radians, + counter-clockwise)
    r: np.ndarray  # (M,) its circle's radius
    label: np.ndarray  # (M,) its arc's run (where arc)
    length: np.ndarray  # (M,)
    e: np.ndarray  # (M, 2) the edge
    nxt: np.ndarray  # (M,) the vertex after
    prv: np.ndarray  # (M,) the vertex before


def _found_arcs(polys: Polygons, max_step_deg: float) -> _Found | None:
    """The edges that are chords of an arc cut as KLayout cuts a Gerber region's arcs (see
    `round_arcs`); None where there are none."""
    c = polys.coords
    m = len(c)
    if m < 4:
        return None
    counts = polys.counts
    first = np.repeat(polys.offsets[:-1], counts)
    k = np.arange(m) - first
    n_of = np.repeat(counts, counts)
    nxt = first + (k + 1) % n_of
    prv = first + (k - 1) % n_of
    e = c[nxt] - c  # edge i: from vertex i to the next
    length = np.hypot(e[:, 0], e[:, 1])
    # turn at vertex i: from edge prv(i) to edge i
    ep = e[prv]
    turn = np.arctan2(ep[:, 0] * e[:, 1] - ep[:, 1] * e[:, 0], np.einsum("ij,ij->i", ep, e))
    tol = 1e-3 * length + 0.004  # vertices on a 1 nm grid
    # (a turn between short chords carries the grid's noise: 1 nm over a 2 um chord is 0.03 deg)
    noise = 0.004 / np.maximum(np.minimum(length, length[prv]), 1e-9)
    small = (np.abs(turn) > 1e-6) & (np.abs(turn) <= np.radians(max_step_deg) + 1e-3 + noise)

    def alike(a: np.ndarray, b: np.ndarray, ta: np.ndarray, tb: np.ndarray) -> np.ndarray:
        """edges a and b (b follows a, turning by tb at its start; a turning by ta at its start)."""
        return (
            small[b]
            & small[a]
            & (np.abs(length[a] - length[b]) <= tol[a])
            & (np.sign(ta) == np.sign(tb))
            & (np.abs(ta - tb) <= 2e-3 + 0.004 / np.maximum(length[a], 1e-9))
        )

    idx = np.arange(m)
    # the edge before (its own turn at its start) and the edge after are chords of the same arc
    with_prev = alike(prv, idx, turn[prv], turn)
    with_next = alike(idx, nxt, turn, turn[nxt])
    # an arc's first chord turns from the edge before it by a corner: it is a chord of the arc where
    # the two edges after it are (alike in length, and turning alike after it)
    nxt2 = nxt[nxt]
    first_chord = ~with_prev & alike(nxt, nxt2, turn[nxt], turn[nxt2]) & (np.abs(length - length[nxt]) <= tol)
    with_prev = with_prev | first_chord[prv]
    arc = with_prev | with_next | first_chord
    if not arc.any():
        return None
    # the central angle of a chord equals the turn between neighbouring chords of its arc
    phi = np.where(with_prev, turn, turn[nxt])
    # KLayout cuts an arc of sweep S into ceil(S / max_step) equal chords: k chords alike turn by more
    # than (k - 1) x max_step in all. A drawn polygon's finer run (a 64-gon's 5.6 deg) is no arc
    label, n_labels = _run_labels(arc, with_prev, first, counts)
    arc &= _kept_runs(label, n_labels, arc, np.abs(phi), np.radians(max_step_deg))
    if not arc.any():
        return None
    r = length / np.maximum(2 * np.abs(np.sin(phi / 2)), 1e-12)
    return _Found(arc, phi, r, label, length, e, nxt, prv)


def _round_arcs(polys: Polygons, max_step_deg: float, error_um: float) -> Polygons:
    from ..numeric import ranges

    found = _found_arcs(polys, max_step_deg)
    if found is None:
        return polys
    c, counts = polys.coords, polys.counts
    arc, phi, r, length, e, nxt = found.arc, found.phi, found.r, found.length, found.e, found.nxt
    step = 2 * np.arccos(np.clip(1 - error_um / np.maximum(r, error_um), -1.0, 1.0))
    pieces = np.where(arc, np.ceil(np.abs(phi) / np.maximum(step, 1e-6)), 1).astype(np.int64)
    pieces = np.clip(pieces, 1, MAX_CHORD_PIECES)
    start = np.cumsum(pieces) - pieces
    out = np.empty((int(pieces.sum()), 2))
    out[start] = c
    inner = np.flatnonzero(pieces > 1)
    if len(inner):
        # per chord: the circle's centre (left of the edge for a left turn, right for a right turn)
        # and the angle of its first vertex
        L = length[inner]
        u = e[inner] / L[:, None]
        rr = r[inner]
        depth = np.sqrt(np.maximum(rr * rr - L * L / 4, 0.0)) * np.sign(phi[inner])
        cx = (c[inner, 0] + c[nxt[inner], 0]) / 2 - u[:, 1] * depth
        cy = (c[inner, 1] + c[nxt[inner], 1]) / 2 + u[:, 0] * depth
        a0 = np.arctan2(c[inner, 1] - cy, c[inner, 0] - cx)
        dphi = phi[inner] / pieces[inner]
        # per point inserted: its chord and its rank along it
        cnt = pieces[inner] - 1
        which = np.repeat(np.arange(len(inner)), cnt)
        j = ranges(np.ones(len(cnt)), cnt).astype(np.float64)
        ang = a0[which] + dphi[which] * j
        at = start[inner][which] + j.astype(np.int64)
        out[at, 0] = cx[which] + rr[which] * np.cos(ang)
        out[at, 1] = cy[which] + rr[which] * np.sin(ang)
    offsets = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(np.add.reduceat(pieces, polys.offsets[:-1]) if len(counts) else counts, out=offsets[1:])
    return Polygons(out, offsets)


def found_tips(polys: Polygons, max_step_deg: float = KLAYOUT_ARC_STEP_DEG) -> Tips:
    """The round tips of strips read from a Gerber, exactly (radius 0 for a polygon that is no strip),
    with each strip's area and perimeter, its arc exact. A strip is a rectangle whose far side is an
    arc of half a turn or more (cut into chords as KLayout cuts a Gerber region's arcs, `round_arcs`)
    whose circle's other side lies within the rectangle, as `distance.outline_shapes` takes a planned
    strip: the strip is then its polygon united with the arc's disc, so that check measures a strip
    read from a Gerber as it measures one planned. The circle is fitted to the arc's vertices (the
    grid's noise averaged)."""
    n = len(polys)
    tips = Tips.none(n)
    found = _found_arcs(polys, max_step_deg)
    if found is None:
        return tips
    poly = np.repeat(np.arange(n), polys.counts)
    arc, prv = found.arc, found.prv
    opens = arc & ~(arc[prv] & (found.label[prv] == found.label))  # a run's first chord
    runs = np.bincount(poly[opens], minlength=n)
    straight = np.bincount(poly[~arc], minlength=n)
    cand = np.flatnonzero((runs == 1) & (straight == 3))
    if not len(cand):
        return tips
    of = np.full(n, -1, dtype=np.int64)
    of[cand] = np.arange(len(cand))
    # the circle through the arc's vertices (those that start or end one of its chords)
    v = np.flatnonzero((arc | arc[prv]) & (of[poly] >= 0))
    c, r = _fit_circles(polys.coords[v], of[poly[v]], len(cand))
    # the four corners in order from the arc's start: p2 (its start), p3 (its end), p0, p1
    start_v = np.full(n, -1, dtype=np.int64)
    start_v[poly[opens]] = np.flatnonzero(opens)
    corner = np.flatnonzero(((~arc) | opens) & (of[poly] >= 0)).reshape(len(cand), 4)
    pos = np.argmax(corner == start_v[cand][:, None], axis=1)
    corner = np.take_along_axis(corner, (pos[:, None] + np.arange(-2, 2)) % 4, axis=1)
    p0, p1, p2, p3 = (polys.coords[corner[:, j]] for j in range(4))
    sweep_sign = np.sign(np.bincount(poly[arc], weights=found.phi[arc], minlength=n)[cand])
    # the arc's sweep about the fitted centre, from p2 to p3 the way its chords turn
    a2, a3 = p2 - c, p3 - c
    sweep = np.arctan2(a2[:, 0] * a3[:, 1] - a2[:, 1] * a3[:, 0], np.einsum("ij,ij->i", a2, a3))
    sweep = np.where(np.sign(sweep) == sweep_sign, sweep, sweep + 2 * np.pi * sweep_sign)
    chord = np.hypot(*(p3 - p2).T)
    body = np.hypot(*(p2 - p1).T)
    side = p1 - p0
    tol = TIP_GRID_UM
    mid = (p2 + p3) / 2
    # how deep the circle reaches below the chord, into the body
    below = r - np.hypot(*(c - mid).T) * np.sign(np.einsum("ij,ij->i", c - mid, p2 - p1))
    ok = (np.abs(sweep) >= np.pi - tol / np.maximum(r, tol)) & (below <= body + tol)
    ok &= np.abs(np.hypot(*(p3 - p0).T) - body) <= tol  # a rectangle: its sides alike,
    ok &= np.abs(np.hypot(*side.T) - chord) <= tol
    ok &= np.abs(np.einsum("ij,ij->i", side, p2 - p1)) <= tol * (np.hypot(*side.T) + body)  # at right angles
    # the rectangle's own area, turning the way its arc does: the arc bulges out of it
    xs, ys = np.stack([p0[:, 0], p1[:, 0], p2[:, 0], p3[:, 0]]), np.stack([p0[:, 1], p1[:, 1], p2[:, 1], p3[:, 1]])
    quad = (xs * np.roll(ys, -1, axis=0) - np.roll(xs, -1, axis=0) * ys).sum(axis=0) / 2  # (+: counter-clockwise)
    ok &= np.sign(quad) == sweep_sign
    theta = np.abs(sweep)
    k = cand[ok]
    tips.centre[k], tips.radius[k] = c[ok], r[ok]
    tips.area[k] = (np.abs(quad) + r * r / 2 * (theta - np.sin(theta)))[ok]
    tips.perimeter[k] = (np.hypot(*side.T) + body + np.hypot(*(p3 - p0).T) + r * theta)[ok]
    return tips


def _fit_circles(p: np.ndarray, group: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The circle (centre, radius) fitted to each group of points by least squares (Kasa's algebraic
    fit, about each group's mean point)."""
    w = np.bincount(group, minlength=n).astype(np.float64)
    mean = np.stack([np.bincount(group, weights=p[:, k], minlength=n) for k in range(2)], axis=1) / w[:, None]
    x, y = (p - mean[group]).T
    z = x * x + y * y

    def total(values: np.ndarray) -> np.ndarray:
        return np.bincount(group, weights=values, minlength=n)

    sxx, sxy, syy = total(x * x), total(x * y), total(y * y)
    sxz, syz = total(x * z), total(y * z)
    # about the mean, sum x = sum y = 0: the centre (a, b) solves [sxx sxy; sxy syy] (a, b) = (sxz, syz) / 2
    det = sxx * syy - sxy * sxy
    a = (sxz * syy - syz * sxy) / (2 * det)
    b = (syz * sxx - sxz * sxy) / (2 * det)
    r = np.sqrt(a * a + b * b + total(z) / w)
    return mean + np.stack([a, b], axis=1), r


def united(polys: Polygons, chunk: int = UNITE_CHUNK) -> Polygons:
    """Apertures that overlap or abut united into one (a stencil's apertures rarely do: the others are
    kept as they are, without GEOS). Apertures whose boxes meet are tested by GEOS, once for each kind
    of pair (apertures alike up to a shift at the same offset), `chunk` pairs at a time."""
    import shapely

    from ..geometry import alike, bboxes, pair_kinds, to_shapely
    from ..pairs import box_pairs, components

    n = len(polys)
    if n < 2:
        return polys
    box = np.asarray(bboxes(polys), dtype=float)
    ia, jb = box_pairs(box, box, 0.0, same=True)
    if not len(ia):
        return polys
    kin = alike(polys)
    once, kind = pair_kinds(kin, ia, kin, jb)
    meet_once = np.zeros(len(once), dtype=bool)
    for s in range(0, len(once), chunk):
        a, b = ia[once[s : s + chunk]], jb[once[s : s + chunk]]
        some = np.unique(np.concatenate([a, b]))
        shapes = shapely.make_valid(to_shapely(polys, some))
        meet_once[s : s + chunk] = shapely.intersects(
            shapes[np.searchsorted(some, a)], shapes[np.searchsorted(some, b)]
        )
    meet = meet_once[kind]
    if not meet.any():
        return polys
    label = components(n, np.column_stack([ia[meet], jb[meet]]))
    joined = np.flatnonzero(np.bincount(label, minlength=n)[label] > 1)
    keep = np.setdiff1d(np.arange(n), joined)
    pieces = [polys.take(keep)]
    shapes = shapely.make_valid(to_shapely(polys, joined))
    for root in np.unique(label[joined]).tolist():
        group = np.flatnonzero(label[joined] == root)
        merged = shapely.union_all(shapes[group])
        for part in shapely.get_parts(merged):
            if part.geom_type == "Polygon" and part.area > 0:
                pieces.append(Polygons.from_list([shapely.get_coordinates(part.exterior)[:-1]]))
    return Polygons.concat(pieces)


def arc_read_error(path: str | os.PathLike[str]) -> float:
    """How far outside a drawn arc this reader may put its points, as a fraction of the radius: KLayout
    places a DXF arc's CIRCLE_POINTS-gon a little outside it (1/cos(pi/n) - 1); other formats' points lie
    on their arcs (a Gerber's arcs found again by `round_arcs`)."""
    ext = os.path.splitext(os.fspath(path))[1].lower()
    return 1.0 / np.cos(np.pi / CIRCLE_POINTS) - 1.0 if ext == ".dxf" else 0.0


def is_gerber(path: str | os.PathLike[str]) -> bool:
    """A Gerber file by its extension: its regions' arcs are read as coarse chords (`round_arcs`)."""
    return os.path.splitext(os.fspath(path))[1].lower() in GERBER_EXTENSIONS


def _expanded_count(layout: Any, top: Any, li: int) -> int:
    """Shapes on a layer with every reference and array multiplied out, counted before anything is
    expanded: each cell's shapes times the placements that reach it (cells top-down)."""
    reach = {top.cell_index(): 1}
    for ci in layout.each_cell_top_down():
        times = reach.get(ci, 0)
        if not times:
            continue
        for inst in layout.cell(ci).each_inst():
            child = inst.cell_index
            reach[child] = reach.get(child, 0) + times * int(inst.size())
    return sum(int(layout.cell(ci).shapes(li).size()) * times for ci, times in reach.items())


def read_stencil(
    path: str | os.PathLike[str],
    layer: str | None = None,
    units: str | None = None,
    *,
    arcs: bool = True,
    max_shapes: int | None = None,
) -> Polygons:
    """The apertures of an existing stencil file as ragged polygons (um), one per connected piece.
    arcs=False: a Gerber region's arcs as KLayout's coarse chords (the caller finds them again with
    `round_arcs`, on the apertures it measures). max_shapes: refuse a stencil that expands to more
    shapes (references and step-and-repeat multiplied out), counted before it is expanded."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise input_error(path, "no such file")
    if not os.path.isfile(path):
        raise input_error(path, "not a regular file (a folder, a FIFO or a device is not a stencil)")
    ext = os.path.splitext(path)[1].lower()
    from . import FORMATS

    if ext in GERBER_EXTENSIONS:
        fmt = "gerber"
        _gerber_sniff(path, max_shapes)
    elif FORMATS.get(ext) in STENCIL_FORMATS:
        fmt = FORMATS[ext]
    else:
        known = ", ".join(sorted({*GERBER_EXTENSIONS, *(e for e, f in FORMATS.items() if f in STENCIL_FORMATS)}))
        raise input_error(path, f"unknown stencil extension {ext or '(none)'!r}; stencilgen reads stencils as {known}")
    from .. import forked

    if fmt == "oasis" and max_shapes is not None:
        # KLayout spells out an OASIS file's shape repetitions as it reads: counted first, by gdstk
        from .gds import count_layer, parse_gds_layer

        want = parse_gds_layer(layer or "1/0", path)
        count = count_layer(path, fmt, want)
        if count > max_shapes:
            raise input_error(path, f"expands to {count:,} shapes, above --max-contacts ({max_shapes:,})")
    # KLayout reads in a child process: a crash on a damaged file, or KLayout's state after running out
    # of memory, stays the child's; it writes the flat stream (and the shifts) into a scratch folder,
    # which numpy reads here (a pipe would carry a hundred megabytes of pickle)
    try:
        with scratch.folder() as back:
            forked.start(lambda: _save_shifts(_write_placed(path, fmt, units, layer, max_shapes, back), back))()
            polys = _read_flat(os.path.join(back, FLAT_STREAM))
            shifts = np.load(os.path.join(back, "shifts.npy"))
    except forked.Crashed:
        what = {"gerber": "Gerber", "dxf": "DXF", "gds": "GDSII", "oasis": "OASIS"}[fmt]
        raise input_error(
            path, f"not a readable {what} file (the reader crashed on it, or ran out of memory)"
        ) from None
    except MemoryError:
        raise _out_of_memory(path) from None
    from ..geometry import signed_areas

    area = signed_areas(polys)  # (a placed cell's once)
    if not (np.abs(area) > MIN_AREA_UM2).all():  # a line, or a shape of no area: nothing prints through it
        polys = polys.take(np.flatnonzero(np.abs(area) > MIN_AREA_UM2))
    polys = united(_spread(polys, shifts))
    if not len(polys):
        raise input_error(path, "no apertures: nothing closed with an area on the stencil layer")
    return round_arcs(polys) if fmt == "gerber" and arcs else polys


def _save_shifts(shifts: np.ndarray, folder: str) -> None:
    """A child's shifts for its parent, written into the parent's scratch folder."""
    np.save(os.path.join(folder, "shifts.npy"), shifts)


def _spread(element: Polygons, shifts: np.ndarray) -> Polygons:
    """The polygons of one cell placed at each shift (um), placement by placement; as they are when
    there are no shifts (a stencil read flat)."""
    if not len(shifts):
        return element
    P, m = len(shifts), len(element.coords)
    coords = (element.coords[None, :, :] + shifts[:, None, :]).reshape(-1, 2)
    starts = (element.offsets[:-1][None, :] + m * np.arange(P)[:, None]).ravel()
    return Polygons(coords, np.append(starts, P * m).astype(np.int64))


def _placed(layout: Any, top: Any, li: int) -> tuple[Any, np.ndarray] | None:
    """The one cell the top cell places and the shift (um) of each placement, sorted, when the top cell
    draws nothing on the layer itself and places that cell alone, which places nothing, by shifts only
    (references and regular arrays: a wafer's die, as plan writes it in GDS and DXF); else None."""
    if not top.shapes(li).is_empty():
        return None
    cell, shifts = None, []
    for inst in top.each_inst():
        t = inst.cplx_trans
        if (cell is not None and inst.cell_index != cell) or t.is_mirror() or t.angle != 0 or t.mag != 1:
            return None
        cell = inst.cell_index
        at = np.array([[t.disp.x, t.disp.y]], dtype=float)
        if inst.is_regular_array():  # na x nb placements, steps a and b
            i, j = np.meshgrid(np.arange(inst.na), np.arange(inst.nb), indexing="ij")
            steps = np.array([[inst.a.x, inst.a.y], [inst.b.x, inst.b.y]], dtype=float)
            at = at + np.stack([i.ravel(), j.ravel()], axis=1) @ steps
        shifts.append(at)
    if cell is None:
        return None
    element = layout.cell(cell)
    if element.child_instances() or element.shapes(li).is_empty():
        return None
    placed = np.concatenate(shifts) * layout.dbu
    return element, placed[np.lexsort((placed[:, 1], placed[:, 0]))]


def _read_placed(
    path: str, fmt: str, units: str | None, layer: str | None, max_shapes: int | None
) -> tuple[Polygons, np.ndarray]:
    """The stencil layer's shapes read by KLayout: one cell's and the shifts placing it (`_placed`), or
    all of them flattened (no shifts)."""
    with scratch.folder() as folder:
        shifts = _write_placed(path, fmt, units, layer, max_shapes, folder)
        return _read_flat(os.path.join(folder, FLAT_STREAM)), shifts


def _write_placed(
    path: str, fmt: str, units: str | None, layer: str | None, max_shapes: int | None, folder: str
) -> np.ndarray:
    """The stencil layer's shapes read by KLayout and written to `folder`/FLAT_STREAM (`_write_flat`):
    one cell's, the shifts placing it (`_placed`) returned, or all of them flattened (no shifts)."""
    try:
        with scratch.folder() as own:
            layout = _load(path, fmt, units, own)
            top = _top(path, layout)
            li = _pick_layer(path, fmt, layout, top, layer)
            if max_shapes is not None:
                count = _expanded_count(layout, top, li)
                if count > max_shapes:
                    raise input_error(path, f"expands to {count:,} shapes, above --max-contacts ({max_shapes:,})")
            placed = _placed(layout, top, li)
            shifts = np.zeros((0, 2))
            if placed is not None:
                top, shifts = placed
            _write_flat(layout, top, li, os.path.join(folder, FLAT_STREAM))
            return shifts
    except MemoryError:
        raise _out_of_memory(path) from None
    except RuntimeError as exc:  # KLayout's, flattening or writing the stream
        if "bad_alloc" in str(exc):
            raise _out_of_memory(path) from None
        raise
