"""The library a Python flow calls: a layout -> a planned (or checked) stencil, its figures and its files.

    import stencilgen
    layout = stencilgen.read_layout("die.gds", layer="9/0")
    planned = stencilgen.plan(layout, stencilgen.Rules.load("my-rules.toml"))
    planned.errors, planned.summary["volume_ratio"], planned.records[0]["volume_ratio"]
    planned.write("out/", formats=("gerber", "gds"))      # + out/die.json, always
    checked = stencilgen.check(layout, "out/die.gbr")

The one place that strings the stages together (rows -> plan -> check -> report -> files); the CLI
and batch runs are thin layers over it (run.py).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np

from . import __version__, forked
from .errors import EmptyStencil, StencilgenError, UsageError
from .model import HELD_SOURCE, Layout, Outlines, Plan, Polygons
from .readers import layout_stem, read_outline
from .readers.layers import gds_pair
from .report import Die, _n, column, plan_report, write_report
from .rows import find_layout_rows, layout_rows
from .rules import Rules, validate
from .writers import safe_name

if TYPE_CHECKING:  # the planner and the checks are imported when a plan is made (not for inspect)
    from .checks import Checked
    from .writers.fileset import FileSet

__all__ = ["FORMATS", "CheckedStencil", "KeepIn", "PlannedStencil", "check", "inspect", "plan"]

#: the files `PlannedStencil.write` can write besides the JSON report, which it always writes
FORMATS = ("gerber", "dxf", "gds", "html", "lyrdb")
EXTENSIONS = {"gerber": ".gbr", "dxf": ".dxf", "gds": ".gds", "html": ".html", "lyrdb": ".lyrdb", "json": ".json"}
#: the files a check can write besides its JSON report
CHECK_FORMATS = ("html", "lyrdb")
#: findings of one code listed in the report database at most (a marker browser of millions is no help)
MAX_MARKERS_PER_CODE = 10_000
#: chords per arc of a marker's outline (to find the aperture, not to measure it)
MARKER_ARC_CHORDS = 12
#: a marker's outline of more vertices (a drawn stencil's arcs) is simplified to within this, um
MARKER_MAX_VERTICES = 48
MARKER_TOLERANCE_UM = 0.1


@dataclass(frozen=True)
class KeepIn:
    """A keep-in outline (rule 8) to read from a layer of the layout's own file, when it is needed.

    layer: "L/D" (GDS/OASIS) or a DXF layer name; bbox: use the layer's bounding box instead of its
    outline; units: a DXF's drawing unit when $INSUNITS is missing; label: how errors name it."""

    layer: str
    bbox: bool = False
    units: str | None = None
    label: str = "keep_in"

    def read(self, layout: Layout) -> Any:
        """The outline as a shapely geometry (um); read errors name the keep-in, then the file."""
        from .readers.gds import parse_gds_layer

        if layout.format in ("gds", "oasis"):  # (its words, not the pad layer's: --keep-in names it)
            try:
                parse_gds_layer(self.layer)
            except UsageError:
                from .rules import _nearest

                near = _nearest(self.layer.lower(), (AUTO, CONTACTS, OFF))
                hint = f"; did you mean {near}?" if near else f", or one of {AUTO}, {CONTACTS}, {OFF}"
                raise UsageError(
                    f"{self.label} {self.layer}: {layout.path}: a GDS/OASIS layer is LAYER/DATATYPE, e.g. 39/0{hint}"
                ) from None
        cell = None if layout.format == "dxf" else layout.cell
        try:
            return read_outline(layout.path, self.layer, cell, self.units, self.bbox)
        except StencilgenError as exc:
            raise type(exc)(f"{self.label} {self.layer}: {exc}") from None


#: keep_in="auto" (the default): the extent drawn in the cell on all layers, where it reaches beyond
#: the contacts (rule 8); "none" (or None): no keep-in
AUTO, OFF = "auto", "none"
#: keep_in="contacts": no keep-in, but the apertures held within the contacts' extent where there is room
#: (a bare pad layout whose die edge lies close to its outermost contacts)
CONTACTS = "contacts"


@dataclass(frozen=True)
class Outline:
    """The keep-in used (rule 8): the geometry (um) for the layout and, for an element cell placed
    many times, the element's own (its coordinates); `source` says where it came from."""

    geometry: Any
    source: str
    element: Any = None
    # what `element` is, as the report names it ("cell's extent", "drawn extent", "outline on it")
    element_is: str = "cell's extent"
    # no keep-in, nothing drawn beyond the contacts: the contacts' extent (and an element's), which the
    # apertures are held within where there is room; not a rule-8 outline, nothing breaks it
    held: Any = None
    held_element: Any = None
    # no keep-in and nothing drawn beyond the contacts: the pad-shaped apertures stay within the
    # contacts' extent (an element's, for a wafer) where there is room
    hold_pads: bool = False
    # the frames left out of the pad layer (a seal ring's opening; shapely, um): every aperture keeps
    # clearance_um from them
    frames: Any = None

    def summary(self) -> dict[str, Any]:
        """What the report says of it: its source and bounding box (um), and the extent held within."""
        out = {"source": self.source, "bbox_um": _box_um(self.geometry)}
        if self.held is not None:
            out["held_within_um"] = _box_um(self.held)
        return out


def _box_um(geometry: Any) -> list[float] | None:
    return None if geometry is None else [round(float(x), 4) for x in geometry.bounds]


def _outline(layout: Layout, keep_in: Any, margin: float = 0.0) -> Outline:
    """A keep-in as given ("auto", "contacts", "none" or None, a layer name, a KeepIn, a shapely geometry
    in um), with the frames left out of the pad layer."""
    import shapely

    frames = [e.shape for e in layout.excluded if e.shape is not None]
    outline = _keep_in_outline(layout, keep_in, margin)
    return outline if not frames else replace(outline, frames=shapely.union_all(frames))


def _keep_in_outline(layout: Layout, keep_in: Any, margin: float) -> Outline:
    import shapely

    if keep_in is None or (isinstance(keep_in, str) and keep_in.lower() == OFF):
        return Outline(None, "none")
    if isinstance(keep_in, str) and keep_in.lower() == AUTO:
        return _drawn_extent(layout, margin)
    if isinstance(keep_in, str) and keep_in.lower() == CONTACTS:
        return _held(layout)
    if not isinstance(keep_in, (str, KeepIn)) and gds_pair(keep_in) is not None:  # ((39, 0), a LayerInfo)
        keep_in = gds_pair(keep_in)
    if isinstance(keep_in, str):
        keep_in = KeepIn(keep_in)
    if isinstance(keep_in, KeepIn):
        if keep_in.layer.strip().lower() == str(layout.layer).strip().lower():
            raise UsageError(
                f"--keep-in {keep_in.layer}: that is the pad layer (each pad would be an outline); name the layer "
                "of the die's outline or seal ring, or leave --keep-in out (the extent drawn on all layers)"
            )
        kind = "bounding box of layer" if keep_in.bbox else "outline on layer"
        geometry = keep_in.read(layout)
        element = None if geometry is None or keep_in.bbox else _element_outline(geometry, layout)
        if element is not None:  # a wafer: every die within its own outline on the layer
            placed = _placed_outline(element, layout.instances.transforms)  # type: ignore[union-attr]
            return Outline(placed, f"{kind} {keep_in.layer}", element, "outline on it")
        parts = 0 if geometry is None or keep_in.bbox else len(shapely.get_parts(geometry))
        # (a die's outline is one shape: many are another layer's, metal or pads, named by mistake)
        many = ""
        if parts > 1:
            many = f" ({parts} separate shapes: is it the die's outline? --keep-in-bbox takes their box)"
        return Outline(geometry, f"{kind} {keep_in.layer}{many}")
    if not isinstance(keep_in, shapely.Geometry):
        raise TypeError(f"keep_in: a layer name, a KeepIn or a shapely geometry (um), not {type(keep_in).__name__}")
    # (an outline holds an area: an empty geometry, a point or a line holds none; one that crosses
    # itself holds what its repair holds, as a self-intersecting pad does)
    given = keep_in if shapely.is_valid(keep_in) else shapely.make_valid(keep_in)
    if given.is_empty or shapely.area(given) <= 0:
        kind = "an empty geometry" if keep_in.is_empty else f"a {keep_in.geom_type} with no area"
        raise UsageError(f"keep_in: {kind} holds no aperture; give the die's outline (a polygon in um), or None")
    return Outline(given, "given")


def _element_outline(geometry: Any, layout: Layout) -> Any:
    """For a wafer (an element placed many times), the element's own outline on a keep-in layer, in its
    coordinates: where the layer draws one outline around each placement's contacts, each the same
    outline placed (to the database grid); else None (the layer is taken whole)."""
    import shapely

    from .geometry import points_box

    inst = layout.instances
    if inst is None or not len(inst.element) or geometry.is_empty:
        return None
    parts = shapely.get_parts(geometry)
    P = len(inst.transforms)
    if len(parts) != P:
        return None
    t = inst.transforms
    first = inst.element.center[0]
    at = np.einsum("pij,j->pi", t[:, :, :2], first) + t[:, :, 2]  # (each placement's first contact)
    holder = shapely.STRtree(parts).query(shapely.points(at), predicate="within")
    if len(holder[0]) != P or len(np.unique(holder[1])) != P:
        return None
    which = np.empty(P, dtype=np.int64)
    which[holder[0]] = holder[1]

    def back(k: int) -> Any:  # the outline of placement k in the element's coordinates
        return _placed(parts[which[k]], np.linalg.inv(np.vstack([t[k], [0.0, 0.0, 1.0]])))

    element = back(0)
    tol = max(layout.grid_um, 1e-3)
    if not all(shapely.equals_exact(shapely.normalize(element), shapely.normalize(back(k)), tol) for k in range(1, P)):
        return None
    lo, hi = points_box(inst.element.polygons.coords)
    return element if shapely.covers(element, shapely.box(*lo, *hi)) else None


def _held(layout: Layout) -> Outline:
    """No keep-in, the apertures held within the contacts' extent (an element's, for a wafer) where there
    is room."""
    from .planner import held_extent

    inst = layout.instances
    return Outline(
        None,
        "none (the apertures held within the contacts' extent where there is room)",
        held=held_extent(layout.contacts),
        held_element=None if inst is None else held_extent(inst.element),
        hold_pads=True,
    )


def _drawn_extent(layout: Layout, margin: float) -> Outline:
    """Rule 8's default: the bounding box of everything drawn in the cell on all layers, where it reaches
    beyond the contacts (a die outline, a seal ring); none for a bare pad layout, its apertures held
    within the contacts' extent where there is room."""
    import shapely

    from .geometry import points_box
    from .readers import read_extent

    extent = read_extent(layout)
    c = layout.contacts.polygons.coords
    if not len(c):
        return Outline(None, HELD_SOURCE)
    lo, hi = points_box(c)
    if extent.box is None:
        return Outline(None, "none (the file does not say what is drawn beyond the contacts)")
    tol = max(layout.grid_um, 1e-3) * 2
    x0, y0, x1, y1 = extent.box
    if not (x0 < lo[0] - tol or y0 < lo[1] - tol or x1 > hi[0] + tol or y1 > hi[1] + tol):
        # a bare pad layout: no rule-8 outline, but its die edge is not far beyond its outermost contacts
        # (a tip never hangs off the die silently): every aperture is held within the contacts' extent
        # where there is room, as with keep_in="contacts"
        return replace(_held(layout), source=HELD_SOURCE)
    where = "the cell" if layout.format != "dxf" else "the drawing"
    source = "DIEAREA of the DEF" if layout.format == "def" else f"extent of {where} on all layers"
    if min(lo[0] - x0, lo[1] - y0, x1 - hi[0], y1 - hi[1]) < margin:
        # contacts within edge_margin_um of the edge: their apertures are cut back at the margin
        source += " (contacts lie within edge_margin_um of it: their apertures end at the margin)"
    element = None if extent.element_box is None else shapely.box(*extent.element_box)
    geometry = shapely.box(*extent.box)
    element_is = "cell's extent"
    if element is not None and layout.instances is not None:
        # a wafer: every aperture within its own die's extent, not only the wafer's (the saw streets)
        geometry = _placed_outline(element, layout.instances.transforms)
        if layout.instances.gap_um is not None:  # (a flat layout: no die cell, what is drawn by it)
            element_is = "drawn extent"
    return Outline(geometry, source, element, element_is)


def _rules(rules: Rules | None) -> Rules:
    """The rules given, checked as a rules file's are (a Rules built in code has not been)."""
    if rules is None:
        return Rules()
    if not isinstance(rules, Rules):
        raise TypeError(f"rules: a stencilgen.Rules (Rules.load(path) reads a TOML file) or None, not {rules!r}")
    return validate(rules)


def _layout(layout: Any) -> Layout:
    """The layout given, or a TypeError saying what is wanted."""
    if not isinstance(layout, Layout):
        raise TypeError(
            "layout: a stencilgen layout (stencilgen.read_layout(path, layer=...) reads one from a file), "
            f"not {type(layout).__name__}"
        )
    return layout


def _same_reading(layout: Layout, rules: Rules) -> None:
    """The rules' `degenerate` acts when a layout is read: refuse a layout read the other way, as the
    plan would not be the one the command line makes with these rules."""
    repair = rules.degenerate == "repair"
    for note in layout.excluded:
        if note.reason.startswith("self-intersecting shape") and note.kept != repair:
            done = "repaired" if note.kept else "left out"
            raise UsageError(
                f"{layout.path}: self-intersecting shapes were {done} when the layout was read, but the rules "
                f'say degenerate = "{rules.degenerate}"; read it with read_layout(..., repair={repair})'
            )


def creation_time(path: str, option: str | dt.datetime | None) -> dt.datetime:
    """The date written into the outputs: `option` (--creation-date), else SOURCE_DATE_EPOCH, else the
    input's modification time (so the same input gives the same bytes)."""
    if isinstance(option, dt.datetime):
        return option if option.tzinfo else option.replace(tzinfo=dt.UTC)
    if option:
        try:
            stamp = dt.datetime.fromisoformat(option.replace("Z", "+00:00"))
        except ValueError:
            raise UsageError(f"--creation-date {option!r}: write an ISO date, e.g. 2026-01-31T12:00:00Z") from None
        return stamp if stamp.tzinfo else stamp.replace(tzinfo=dt.UTC)
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch:
        try:
            return dt.datetime.fromtimestamp(int(epoch), dt.UTC)
        except (ValueError, OverflowError, OSError):
            raise UsageError(f"SOURCE_DATE_EPOCH={epoch!r} is not a number of seconds") from None
    return dt.datetime.fromtimestamp(int(os.stat(path).st_mtime), dt.UTC)


def _iso(when: dt.datetime) -> str:
    """The creation date as the files write it."""
    return when.strftime("%Y-%m-%dT%H:%M:%S+00:00")


def _stem(path: str) -> str:
    """The input file's name without its extension (and a .gz), safe for output names."""
    return safe_name(layout_stem(path))


def _stencil_name(path: str) -> str:
    """A checked stencil's file name (without a .gz), safe for output names: its reports' stem."""
    name = os.path.basename(os.fspath(path))
    return safe_name(name[:-3] if name.lower().endswith(".gz") else name)


def output_formats(items: Iterable[str], where: str = "formats") -> tuple[str, ...]:
    """The output formats asked for, each once, json (always written) left out; `where` names them in errors."""
    names = tuple(dict.fromkeys(x.strip().lower() for x in items if x.strip()))
    unknown = [x for x in names if x not in FORMATS and x != "json"]
    if unknown:
        raise UsageError(f"{where}: unknown format {unknown[0]!r}; choose from {', '.join(FORMATS)}")
    return tuple(x for x in names if x != "json")


def _numbers(values: list[Any]) -> np.ndarray:
    """A report column as an array: numbers (and pairs of them) as floats with nan for null, else objects."""

    def num(v: Any) -> bool:
        return v is None or (isinstance(v, (int, float)) and not isinstance(v, bool))

    if all(map(num, values)):
        return np.array([np.nan if v is None else v for v in values], dtype=float)
    if all(isinstance(v, list) and all(map(num, v)) for v in values):
        return np.array([[np.nan if x is None else x for x in v] for v in values], dtype=float)
    return np.array(values, dtype=object)


class _Judged:
    """What a planned and a checked stencil share: the per-contact figures, the findings and the report."""

    layout: Layout
    rules: Rules
    strict: bool
    plan: Plan

    @cached_property
    def checked(self) -> Checked:
        """Per-contact numbers (d, area, volume and its band, limit, cap height, area and aspect ratio,
        thickest passing foil, web, clearance) and the findings, as arrays."""
        return self._check()

    def _check(self) -> Checked:
        raise NotImplementedError

    def _summary_extra(self, summary: dict[str, Any]) -> None:
        """What a subclass adds to the report's summary before it is stamped."""

    #: a wafer's die (PlannedStencil): its records are kept once per element cell
    die: Die | None = None

    def _report(self, outputs: dict[str, str], created: str, flat: bool = False) -> dict[str, Any]:
        """The report: the summary (with generator and exit code) and one record per contact; a
        wafer's kept per element cell and placement unless `flat`."""
        die = None if flat else self.die
        checked = (lambda: self.checked) if die is not None else self.checked
        report = plan_report(self.layout, self.plan, checked, self.rules, outputs, created, die)
        s = report["summary"]
        self._summary_extra(s)
        s["generator"] = f"stencilgen {__version__}"
        s["exit_code"] = 1 if s["errors"] > 0 or (self.strict and s["warnings"] > 0) else 0
        return report

    def _when(self, creation_date: str | dt.datetime | None) -> dt.datetime:
        return creation_time(self.layout.path, creation_date).replace(microsecond=0)

    def _report_at(self, outputs: dict[str, str], creation_date: str | dt.datetime | None) -> dict[str, Any]:
        return self._report(outputs, _iso(self._when(creation_date)))

    @cached_property
    def report(self) -> dict[str, Any]:
        """The JSON report as a dict (`summary`, `contacts`), naming no output files."""
        return self._report_at({}, None)

    @property
    def summary(self) -> dict[str, Any]:
        """Counts, errors, warnings, findings by code, volume ratios, the rules used, exit_code."""
        return self.report["summary"]

    @property
    def records(self) -> Any:
        """One dict per contact (a sequence, built when read), as the JSON report's `contacts`."""
        return self.report["contacts"]

    def column(self, key: str) -> np.ndarray:
        """One field of every contact's record, e.g. "volume_ratio": numbers as floats (nan for null)."""
        return _numbers(column(self.records, key))

    @property
    def exit_code(self) -> int:
        """What the command line would exit with: 1 for rule errors (or warnings when strict), else 0."""
        return int(self.summary["exit_code"])

    @property
    def volume_ratio(self) -> np.ndarray:
        """Each contact's nominal solder volume over its limit pi*d^3/6 (unrounded)."""
        c = self.checked
        with np.errstate(divide="ignore", invalid="ignore"):
            return c.volume / c.volume_limit

    @property
    def status(self) -> np.ndarray:
        """Each contact's status: "ok", "warning" or "error"."""
        return np.asarray(self.checked.status)

    @cached_property
    def findings(self) -> list[dict[str, Any]]:
        """Every finding as a record: code, severity, contact, value, limit, unit, message (the report's order)."""
        f = self.checked.findings
        return [f.record(k) for k in range(len(f))]

    @property
    def errors(self) -> list[dict[str, Any]]:
        """The findings that are errors (a stencil that must not be used)."""
        return [f for f in self.findings if f["severity"] == "error"]

    @property
    def warnings(self) -> list[dict[str, Any]]:
        return [f for f in self.findings if f["severity"] == "warning"]

    def _lyrdb_findings(self, report: dict[str, Any] | None) -> tuple[Any, str]:
        """The findings the report database marks, and what the categories add about them: every
        finding; for a wafer whose records are kept per die, the findings of one die (the report's
        reference placement) and those of the contacts that differ in other placements."""
        from .checks import Findings
        from .report import WaferRecords

        wafer = None if report is None else report.get("contacts")
        if not isinstance(wafer, WaferRecords):
            return self.checked.findings, ""
        e, d = wafer.element_findings, wafer.differing._findings
        ids = wafer.ids[wafer.reference]
        other = np.where(e.other >= 0, ids[np.maximum(e.other, 0)], -1)
        reason = [
            np.asarray([""] * len(x), dtype=object) if x.reason is None else np.asarray(x.reason, dtype=object)
            for x in (e, d)
        ]
        found = Findings(
            np.concatenate([ids[e.contact], d.contact]).astype(np.int64),
            np.concatenate([np.asarray(e.code, dtype=object), np.asarray(d.code, dtype=object)]),
            np.concatenate([e.value, d.value]),
            np.concatenate([e.limit, d.limit]),
            np.concatenate([other, d.other]).astype(np.int64),
            np.concatenate(reason),
        ).in_order()
        P = len(wafer.shifts)
        note = (
            f" (marked for die {wafer.reference} of {P} and in the dies that differ from it; "
            "every other die has the same findings)"
        )
        return found, note

    def _listed(self, f: Any) -> tuple[np.ndarray, dict[str, int]]:
        """The findings the report database lists (the first MAX_MARKERS_PER_CODE of each code, in the
        report's order) and how many each code has."""
        inverse, codes = f.code_ranks
        counts = np.bincount(inverse, minlength=len(codes))
        order = np.argsort(inverse, kind="stable")
        rank = np.empty(len(f), dtype=np.int64)
        rank[order] = np.arange(len(f)) - np.repeat(np.cumsum(counts) - counts, counts)
        return np.flatnonzero(rank < MAX_MARKERS_PER_CODE), dict(zip(codes, counts.tolist(), strict=True))

    def _markers(self, listed: np.ndarray, f: Any) -> list[Any]:
        """Each finding listed as a marker: its code, the aperture's shape (the contact's where it has
        none) and its message; then the stray apertures of a check."""
        import shapely

        from .geometry import outlines_to_polygons
        from .model import NONE
        from .writers.lyrdb import Marker

        plan = self.plan
        ids = np.unique(f.contact[listed])
        slot = np.searchsorted(ids, f.contact)
        if isinstance(plan, _PlacedPlan):  # a wafer's: the die's apertures moved, the whole not placed
            out, kind = plan.outlines_of(ids), plan._die.apertures.kind[plan.element_ids[ids]]
        else:
            out, kind = plan.apertures.outlines.take(ids), plan.apertures.kind[ids]
        apertures = outlines_to_polygons(out, MARKER_ARC_CHORDS)
        pads = plan.contacts.polygons.take(ids)
        has = kind != NONE
        shapes = {}
        for j in np.unique(slot[listed]).tolist():
            shapes[j] = apertures.polygon(j) if has[j] else pads.polygon(j)
        fine = [j for j, shape in shapes.items() if len(shape) > MARKER_MAX_VERTICES]
        if fine:  # a drawn stencil's arcs in fine chords: as close, fewer
            geoms = np.array([shapely.Polygon(shapes[j]) for j in fine], dtype=object)
            simple = shapely.simplify(geoms, MARKER_TOLERANCE_UM, preserve_topology=False)
            for j, g in zip(fine, simple, strict=True):
                pts = shapely.get_coordinates(g)[:-1]
                shapes[j] = pts if len(pts) >= 3 else shapes[j]
        markers = []
        for k in listed.tolist():
            j = int(slot[k])
            shape = shapes[j]
            markers.append(Marker(str(f.code[k]), shape, f"contact {int(f.contact[k])}: {f.record(k)['message']}"))
        return markers + self._extra_markers()

    def _extra_markers(self) -> list[Any]:
        return []

    def _lyrdb_bytes(self, shown_with: str, report: dict[str, Any] | None = None) -> bytes:
        """The report database's text, saved by KLayout in a scratch folder: the set's temporary file
        is only ever written into, never created by name (a writer the run outlives cannot leave one)."""
        from . import scratch

        with scratch.folder() as folder:
            path = os.path.join(folder, "findings.lyrdb")
            self._write_lyrdb(path, shown_with, report)
            with open(path, "rb") as fh:
                return fh.read()

    def _write_lyrdb(self, path: str, shown_with: str, report: dict[str, Any] | None = None) -> None:
        """The findings as a KLayout report database, its markers in the stencil's top cell."""
        from .checks import CODES
        from .writers.lyrdb import write_lyrdb

        found, note = self._lyrdb_findings(report)
        listed, counts = self._listed(found)
        categories = {code: f"{sev}: {text}" for code, (sev, text, _unit) in CODES.items()}
        for code in counts:
            categories[code] += note
        for code, count in counts.items():
            if count > MAX_MARKERS_PER_CODE:
                categories[code] += f" (the first {MAX_MARKERS_PER_CODE} of {count} are listed; the JSON has all)"
        write_lyrdb(
            path,
            _part_name(self.layout),
            categories,
            self._markers(listed, found),
            description=f"stencilgen findings for {os.path.basename(self.layout.path)} layer {self.layout.layer}",
            original_file=os.path.basename(shown_with),
            generator=f"stencilgen {__version__}",
        )

    def __repr__(self) -> str:
        s = self.summary
        return (
            f"<{type(self).__name__} {self.layout.path} {self.layout.layer}: {s['contacts']} contacts, "
            f"{s['errors']} errors, {s['warnings']} warnings>"
        )


class _PlacedPlan(Plan):
    """A wafer planned once per die: the whole layout's plan, whose per-contact apertures are placed
    from the die's only when read (`apertures`); the files, the report and its pictures use the die's
    apertures and the placements, so a million apertures are never laid out for them."""

    _die: Plan
    _instances: Any

    def __init__(self, die: Plan, instances: Any, contacts: Any, rows: Any) -> None:
        values = {
            "contacts": contacts,
            "rows": rows,
            "notes": list(die.notes),
            "element": die.apertures,
            "transforms": instances.transforms,
            "near": None,
        }
        for key, value in values.items():
            object.__setattr__(self, key, value)
        object.__setattr__(self, "_die", die)
        object.__setattr__(self, "_instances", instances)

    @property
    def apertures(self) -> Any:
        """Every contact's aperture, in global contact order (placed when first read)."""
        placed = self.__dict__.get("_placed")
        if placed is None:
            from .planner import place_plan

            placed = place_plan(self._die, self._instances, self.contacts, self.rows).apertures
            object.__setattr__(self, "_placed", placed)
        return placed

    @cached_property
    def _where(self) -> tuple[np.ndarray, np.ndarray]:
        index = self._instances.index
        P, n = index.shape
        place, elem = np.empty(P * n, dtype=np.int64), np.empty(P * n, dtype=np.int64)
        place[index.ravel()] = np.repeat(np.arange(P), n)
        elem[index.ravel()] = np.tile(np.arange(n), P)
        return place, elem

    @property
    def element_ids(self) -> np.ndarray:
        """The element contact of every global contact."""
        return self._where[1]

    def outlines_of(self, ids: np.ndarray) -> Outlines:
        """The outlines of the apertures of global contacts `ids`: the die's, placed."""
        place, elem = self._where
        out = self._die.apertures.outlines.take(elem[ids])
        T = self._instances.transforms[np.repeat(place[ids], np.diff(out.offsets))]
        coords = np.einsum("kij,kj->ki", T[:, :, :2], out.coords) + T[:, :, 2]
        det = T[:, 0, 0] * T[:, 1, 1] - T[:, 0, 1] * T[:, 1, 0]
        return Outlines(coords, out.bulge * np.sign(det), out.offsets)


class PlannedStencil(_Judged):
    """A stencil planned for a layout (`stencilgen.plan`): `plan` is the planner's data (contacts, rows,
    apertures), `checked` the per-contact figures and findings, `write()` the files."""

    def __init__(
        self,
        layout: Layout,
        rules: Rules,
        plan: Plan,
        keep_in: Any,
        strict: bool,
        checked: Checked | None = None,
        die: Die | None = None,
    ):
        self.layout = layout
        self.rules = rules
        self.plan = plan
        self.outline = keep_in if isinstance(keep_in, Outline) else Outline(keep_in, "given" if keep_in else "none")
        self.keep_in = self.outline.geometry  # the keep-in outline (shapely, um), or None
        self.strict = strict
        self._checked = checked  # else checked when asked (a wafer's: its die's checks placed)
        self.die = die  # a wafer: its die's rows (and plan and checks, where planned once per die)
        #: thickness_um = "auto": the foils tried (table), the one kept and a step-stencil proposal
        self.foil: dict[str, Any] | None = None

    def _check(self) -> Checked:
        from .checks import check_plan, place_checked

        if self._checked is not None:
            return self._checked
        if self.die is not None and self.die.checked is not None and self.layout.instances is not None:
            return place_checked(self.die.checked, self.layout.instances.index)
        return check_plan(self.plan, self.rules, self.outline.geometry, frames=self.outline.frames)

    def _summary_extra(self, summary: dict[str, Any]) -> None:
        summary["keep_in"] = keep = _keep_in_summary(self.outline, self.layout)
        if self.die is not None and self.die.plan is not None and self.outline.held_element is not None:
            # a wafer planned once per die, nothing drawn beyond its contacts (no die extent: `_held`)
            keep["source"] += "; each die held within its contacts' extent where there is room"
            keep["die_held_within_um"] = _box_um(self.outline.held_element)
        if self.foil is not None:
            summary["foil"] = self.foil
            summary["rules"]["thickness_auto"] = True  # thickness_um is the foil it chose

    def write(
        self,
        outdir: str | os.PathLike[str],
        formats: Iterable[str] = FORMATS,
        *,
        name: str | None = None,
        dxf_units: str = "mm",
        with_pads: bool = False,
        gds_layer: tuple[int, int] | str = (1, 0),
        creation_date: str | dt.datetime | None = None,
        gerber_flat: bool = False,
    ) -> dict[str, str]:
        """Write OUTDIR/<name>.gbr .dxf .gds .html .lyrdb (those in `formats`) and <name>.json, always;
        return the paths by format. name: default the layout file's stem. The files are swapped in as one
        set; a write that fails leaves the files found there as they were. The dates are `creation_date`,
        else SOURCE_DATE_EPOCH, else the layout file's modification time. A wafer planned once per die,
        its dies on a regular grid, has a Gerber of one die stepped and repeated (%SR%); gerber_flat:
        every aperture drawn."""
        if isinstance(formats, str):
            formats = formats.split(",")
        if isinstance(gds_layer, str):
            from .readers.gds import parse_gds_layer

            gds_layer = parse_gds_layer(gds_layer)
        if dxf_units not in ("mm", "um", "in"):
            raise UsageError(f"dxf_units: one of mm, um, in, not {dxf_units!r}")
        outputs, _report = self._write(
            os.fspath(outdir),
            output_formats(formats),
            name,
            dxf_units,
            with_pads,
            gds_layer,
            creation_date,
            gerber_flat=gerber_flat,
        )
        return outputs

    def _write(
        self,
        outdir: str,
        formats: tuple[str, ...],
        name: str | None,
        dxf_units: str,
        with_pads: bool,
        gds_layer: tuple[int, int],
        creation_date: str | dt.datetime | None,
        inputs: tuple[str | None, ...] = (),
        gerber_flat: bool = False,
    ) -> tuple[dict[str, str], dict[str, Any]]:
        """The files and the report written, naming them: all under temporary names, then swapped in
        together (`writers.fileset.FileSet`), so that a run that fails or is interrupted leaves the
        previous set of files as it was."""
        from .writers.fileset import FileSet

        when = self._when(creation_date)
        stem = safe_name(name) if name is not None else _stem(self.layout.path)
        outputs = {f: os.path.join(outdir, stem + EXTENSIONS[f]) for f in formats}
        outputs["json"] = os.path.join(outdir, stem + ".json")
        members = [stem + ext for ext in EXTENSIONS.values()]
        layout, plan = self.layout, self.plan
        with FileSet(outdir, stem, outputs, [layout.path, *inputs], members) as files:
            # the stencil files are written by a second process while this one checks the plan and reports
            stencil = forked.start(
                functools.partial(
                    _write_stencil,
                    layout,
                    plan,
                    files,
                    formats,
                    dxf_units,
                    with_pads,
                    gds_layer,
                    when,
                    gerber_flat=gerber_flat,
                )
            )
            page = rdb = None
            try:
                shown = outputs.get("gds", outputs.get("gerber", ""))

                def findings_db(report: dict[str, Any] | None) -> Callable[[], Any]:
                    return forked.start(lambda: files.write("lyrdb", self._lyrdb_bytes(shown, report)))

                if "lyrdb" in outputs and self.die is None:
                    # (the longest of the writers, and a flat layout's needs only the findings: first,
                    # the plan checked here once for it and the report)
                    _ = self.checked
                    rdb = findings_db(None)
                # the report names its sibling files, so that it reads the same wherever the folder goes
                names = {k: os.path.basename(v) for k, v in outputs.items()}
                report = self._report(names, _iso(when))
                page = forked.start(lambda: _write_html(files, report, plan)) if "html" in outputs else None
                if "lyrdb" in outputs and rdb is None:
                    rdb = findings_db(report)
                _write_json(files, report)  # while the page and the findings are written beside it
            except BaseException as exc:
                if isinstance(exc, KeyboardInterrupt):
                    forked.kill_all()  # interrupted: the writers' files are dropped, no need to wait
                else:
                    with contextlib.suppress(BaseException):  # the first error is the one to report
                        _wait_all(stencil, page, rdb)
                raise
            _wait_all(page, rdb, stencil)
        return outputs, report


class CheckedStencil(_Judged):
    """An existing stencil checked against a layout (`stencilgen.check`): its apertures matched to the
    contacts (`plan`), the per-contact figures and findings (`checked`), and the apertures that touch
    no contact (`stray`, errors too)."""

    def __init__(
        self,
        layout: Layout,
        rules: Rules,
        plan: Plan,
        checked: Checked,
        stencil: str,
        stray: list,
        strict: bool,
        stray_shapes: list[np.ndarray] | None = None,
        outline: Outline | None = None,
    ):
        self.layout = layout
        self.rules = rules
        self.plan = plan
        self._checked = checked
        self.stencil = stencil
        self.outline = outline  # the keep-in checked against (rule 8)
        self.stray = stray  # the apertures that touch no contact (errors), as records
        self.stray_shapes = stray_shapes or []  # their outlines (um), in the same order
        self.strict = strict

    def _check(self) -> Checked:
        return self._checked

    def _summary_extra(self, summary: dict[str, Any]) -> None:
        if self.outline is not None:
            summary["keep_in"] = _keep_in_summary(self.outline, self.layout)
        summary["stencil"] = self.stencil
        summary["stray_apertures"] = self.stray
        summary["errors"] += len(self.stray)
        if self.stray:  # (the errors, counted by code, add up)
            codes = dict(summary["findings_by_code"], stray_aperture=len(self.stray))
            summary["findings_by_code"] = dict(sorted(codes.items()))

    @cached_property
    def findings(self) -> list[dict[str, Any]]:
        """Every finding of the contacts, then the stray apertures (code stray_aperture, no contact)."""
        return super().findings + list(self.stray)

    def _extra_markers(self) -> list[Any]:
        from .writers.lyrdb import Marker

        return [Marker(s["code"], shape, s["message"]) for s, shape in zip(self.stray, self.stray_shapes, strict=True)]

    def write(
        self,
        outdir: str | os.PathLike[str],
        formats: Iterable[str] = CHECK_FORMATS,
        *,
        name: str | None = None,
        creation_date: str | dt.datetime | None = None,
    ) -> dict[str, str]:
        """Write OUTDIR/<name>.check.html and .check.lyrdb (those in `formats`) and <name>.check.json,
        always; return the paths by format. name: default the stencil file's name (S.gbr: S.gbr.check.json),
        so that the checks of a die's Gerber, DXF and GDS, or of two stencils, written to one folder
        each keep their own."""
        if isinstance(formats, str):
            formats = formats.split(",")
        wanted = output_formats(formats)
        if set(wanted) - set(CHECK_FORMATS):
            other = sorted(set(wanted) - set(CHECK_FORMATS))[0]
            raise UsageError(f"formats: a check writes {', '.join(CHECK_FORMATS)} and json only, not {other!r}")
        outputs, _report = self._write(os.fspath(outdir), wanted, name, creation_date)
        return outputs

    def _write(
        self,
        outdir: str,
        formats: tuple[str, ...],
        name: str | None,
        creation_date: str | dt.datetime | None,
        inputs: tuple[str | None, ...] = (),
    ) -> tuple[dict[str, str], dict[str, Any]]:
        from .writers.fileset import FileSet

        stem = (safe_name(name) if name is not None else _stencil_name(self.stencil)) + ".check"
        outputs = {k: os.path.join(outdir, stem + EXTENSIONS[k]) for k in (*formats, "json")}
        report = self._report_at({k: os.path.basename(v) for k, v in outputs.items()}, creation_date)
        members = [stem + EXTENSIONS[k] for k in ("html", "lyrdb", "json")]
        with FileSet(outdir, stem, outputs, [self.layout.path, self.stencil, *inputs], members) as files:
            if "html" in outputs:
                _write_html(files, report, self.plan, self.stray_shapes)
            if "lyrdb" in outputs:
                files.write("lyrdb", self._lyrdb_bytes(self.stencil))
            _write_json(files, report)
        return outputs, report


def plan(
    layout: Layout,
    rules: Rules | None = None,
    *,
    keep_in: Any = AUTO,
    strict: bool = False,
    progress: Callable[[str], None] | None = None,
) -> PlannedStencil:
    """Plan a stencil for a layout (stencilgen.read_layout): one aperture per contact by RULES.md.

    rules: a Rules (Rules.load(path) reads a TOML file), None for the defaults.
    keep_in: the element's outline the apertures must stay inside (rule 8): "auto" (the default: the
    bounding box of everything drawn in the cell on all layers, where it reaches beyond the contacts;
    with nothing drawn beyond them, as "contacts"),
    a layer of the layout's file ("39/0"), a KeepIn (a layer with bbox or units), a shapely geometry in
    um, "contacts" (no keep-in, the apertures held within the contacts' extent where there is room), or
    "none" / None.
    strict: warnings count as errors in `exit_code`.
    progress: with thickness_um = "auto", told one line as each foil is planned (the command line
    prints it on stderr).
    The plan is checked when its figures are first asked for (or while `write` writes the files)."""
    layout, rules = _layout(layout), _rules(rules)
    if progress is not None and not callable(progress):
        raise TypeError(f"progress: a function told one line per foil planned (e.g. print), not {progress!r}")
    _same_reading(layout, rules)
    rows, element_rows = layout_rows(layout.contacts, layout.instances, rules)
    outline = _outline(layout, keep_in, rules.edge_margin_um)
    auto = isinstance(keep_in, str) and keep_in.lower() == AUTO
    if rules.thickness_auto:
        return _plan_foils(layout, rules, rows, element_rows, outline, auto, strict, progress)
    planned, die = _plan_at(layout, rules, rows, element_rows, outline, auto)
    return PlannedStencil(layout, rules, planned, outline, strict, die=die)


def _plan_at(
    layout: Layout, rules: Rules, rows: Any, element_rows: Any, outline: Outline, auto: bool
) -> tuple[Plan, Die | None]:
    """The plan at one foil; for a wafer, its die (the element's rows, and its plan and checks where
    the die was planned once and repeated)."""
    from .planner import plan_stencil

    inst = layout.instances
    die = None if element_rows is None or inst is None else Die(element_rows)
    per_die = outline.geometry is None or auto or outline.element is not None
    if die is not None and inst is not None and per_die and outline.frames is None:
        # a wafer: the die planned once, inside its own cell's extent where the file has one
        placed = _plan_once_per_element(
            layout, rows, element_rows, rules, outline.element, outline.held_element, outline.hold_pads
        )
        # (inside its own die's extent, the die is inside it in every placement: the keep-in is their union)
        within, at = outline.geometry, inst.transforms
        if outline.element is not None:
            within, at = outline.element, np.eye(2, 3)[None]
        if placed is not None and _all_inside(placed[1].plan, at, within, rules):
            return placed
    return (
        plan_stencil(layout.contacts, rows, rules, outline.geometry, outline.held, outline.frames, outline.hold_pads),
        die,
    )


def _plan_foils(
    layout: Layout,
    rules: Rules,
    rows: Any,
    element_rows: Any,
    outline: Outline,
    auto: bool,
    strict: bool,
    progress: Callable[[str], None] | None = None,
) -> PlannedStencil:
    """Foil choice: the plan at each stocked foil (one reading, one row search, one keep-in), judged;
    the one with the fewest errors, then warnings, then the thinner is kept, with the table and any
    step-stencil proposal in its report. progress: told a line per foil planned."""
    from .checks import check_plan, place_checked
    from .foil import boxes, choose, foil_summary, score
    from .planner import aperture_polygons

    foils = list(rules.foil_thicknesses_um)
    done: dict[int, tuple[Any, tuple[Any, ...]]] = {}

    def one(j: int) -> tuple[Any, tuple[Any, ...]]:
        at = rules.replace(thickness_um=foils[j], thickness_auto=False)
        planned, die = _plan_at(layout, at, rows, element_rows, outline, auto)
        if die is not None and die.checked is not None:
            checked = place_checked(die.checked, layout.instances.index)  # type: ignore[union-attr]
        else:
            checked = check_plan(planned, at, outline.geometry, frames=outline.frames)
        found = score(foils[j], checked, boxes(planned.contacts.polygons, aperture_polygons(planned.apertures, 8)))
        return found, (at, planned, checked, die)

    def told(j: int) -> None:
        if progress is not None:
            checked = done[j][1][2]
            progress(
                f"foil {foils[j]:g} um ({len(done)} of {len(foils)}): {_n(checked.errors, 'error')}, "
                f"{_n(checked.warnings, 'warning')}"
            )

    # the foils are planned apart from each other: every other one in a forked process (two cores, two
    # plans at once), the rest here; the same plans, judged in the same order
    theirs = list(range(1, len(foils), 2)) if forked.usable() and len(foils) > 1 else []
    job = forked.start(lambda: [one(j) for j in theirs]) if theirs else None
    for j in range(len(foils)):
        if j not in theirs:
            done[j] = one(j)
            told(j)
    if job is not None:
        try:
            got = job()
        except forked.Crashed:  # (its plans too large to send back, or its process killed: planned here)
            got = [one(j) for j in theirs]
        for j, result in zip(theirs, got, strict=True):
            done[j] = result
            told(j)
    scores = [done[j][0] for j in range(len(foils))]
    plans = [done[j][1] for j in range(len(foils))]
    k = choose(scores)
    at, planned, checked, die = plans[k]
    result = PlannedStencil(layout, at, planned, outline, strict, checked, die)
    result.foil = foil_summary(scores, k, rules.step_keep_out)
    return result


def _all_inside(die: Plan, transforms: np.ndarray, outline: Any, rules: Rules) -> bool:
    """Every aperture of a die, in every placement, lies inside the outline less edge_margin_um."""
    if outline is None:
        return True
    from .geometry import affine_apply
    from .planner import aperture_polygons

    coords = aperture_polygons(die.apertures, 24).coords
    if np.array_equal(transforms[:, :, :2], np.broadcast_to(np.eye(2), transforms[:, :, :2].shape)):
        return _placed_inside(coords, transforms[:, :, 2], outline, rules)
    return _placed_inside(affine_apply(coords, transforms), np.zeros((1, 2)), outline, rules)


def check(
    layout: Layout,
    stencil: str | os.PathLike[str],
    rules: Rules | None = None,
    *,
    stencil_layer: str | None = None,
    stencil_units: str | None = None,
    keep_in: Any = AUTO,
    strict: bool = False,
    max_shapes: int | None = None,
) -> CheckedStencil:
    """Check an existing stencil (Gerber, DXF or GDS) against a layout: every rule of RULES.md, per contact.

    stencil_layer: the stencil's layer (default 1/0 for GDS, STENCIL for DXF); stencil_units: a DXF
    stencil's drawing unit when $INSUNITS is missing; rules, keep_in, strict: as for `plan`; max_shapes:
    refuse a stencil of more apertures than this (default: the readers' limit).
    The foil, as the command line takes it: with no rules given, the foil the stencil was planned at
    where plan's report lies beside it (<stem>.json), else the default; with thickness_um = "auto", the
    planned foil, refused where no report gives one; else the rules' thickness_um."""
    from .checks import check_apertures, row_directions, same_side
    from .limits import DEFAULT_MAX_CONTACTS
    from .match import match_apertures
    from .readers.stencil import arc_read_error, arcs_found_once, is_gerber, read_stencil
    from .report import planned_foil

    given = rules
    layout, rules = _layout(layout), _rules(rules)
    if not isinstance(stencil, (str, os.PathLike)):
        raise TypeError(f"stencil: the path of a stencil file (.gbr, .dxf, .gds, .oas), not {type(stencil).__name__}")
    stencil = os.fspath(stencil)
    planned = planned_foil(stencil) if given is None or rules.thickness_auto else None
    if rules.thickness_auto and planned is None:
        raise UsageError(
            f'{stencil}: thickness_um = "auto" checks a stencil at the foil it was planned at, and no report of '
            "plan beside it (<stem>.json) gives one: give the foil (--thickness 20um, thickness_um = 20.0)"
        )
    if planned is not None:
        rules = rules.replace(thickness_um=planned[0], thickness_auto=False)
    _same_reading(layout, rules)
    rows, element_rows = layout_rows(layout.contacts, layout.instances, rules)
    # a Gerber's arcs are found again on the apertures measured: once per die for a wafer
    limit = max_shapes or DEFAULT_MAX_CONTACTS
    try:
        shapes = read_stencil(stencil, stencil_layer, stencil_units, arcs=False, max_shapes=limit)
    except EmptyStencil:  # a stencil without apertures: every contact's finding says it has none
        shapes = Polygons.from_list([])
    arcs = arcs_found_once if is_gerber(stencil) else None
    outlined = _outline(layout, keep_in, rules.edge_margin_um)
    outline = outlined.geometry  # (a wafer's: its dies' own extents, as plan keeps them)
    if element_rows is not None and outlined.frames is None:
        once = _check_once_per_element(
            layout, rows, element_rows, shapes, rules, outline, arcs, arc_read_error(stencil), outlined.element
        )
        if once is not None:
            plan, checked = once
            return CheckedStencil(layout, rules, plan, checked, stencil, [], strict, outline=outlined)
    tips = None
    if arcs is not None:
        shapes, tips = arcs(shapes)
    matched = match_apertures(layout.contacts, rows, shapes, rules, tips)
    checked = check_apertures(
        layout.contacts,
        matched.apertures,
        rules,
        outline,
        matched.polygons,
        row_directions(rows, len(layout.contacts), rules),
        {"extra_aperture": matched.extra, "same_side": same_side(layout.contacts, rows, matched.apertures)},
        geoms=(matched.geoms, matched.contact_geoms),
        kin=(matched.alike, matched.contact_alike),
        frames=outlined.frames,
        arc_error=arc_read_error(stencil),
        tips=matched.tips,
    )
    matched_plan = Plan(layout.contacts, rows, matched.apertures, [])
    return CheckedStencil(
        layout, rules, matched_plan, checked, stencil, matched.stray, strict, matched.stray_shapes, outlined
    )


def _check_once_per_element(
    layout: Layout,
    rows: Any,
    element_rows: Any,
    shapes: Polygons,
    rules: Rules,
    outline: Any,
    arcs: Any = None,
    arc_error: float = 0.0,
    die_outline: Any = None,
) -> tuple[Plan, Checked] | None:
    """A wafer's stencil checked once per die and repeated, when every die has the same apertures
    (up to its placement's shift, on the database grid), every aperture lies over the contacts of one
    die, no aperture of one placement comes within reach of another's and none leaves the keep-in;
    else None (the whole stencil is checked at once). The figures are those of the whole check.
    arcs: what finds the arcs of the apertures read again (a Gerber's) and their strips' tips, applied to the
    die's alone;
    arc_error: as for check_apertures;
    die_outline: a wafer's die's own keep-in (its coordinates), which `outline` places in every placement."""
    from .checks import check_apertures, place_checked, row_directions, same_side
    from .geometry import bboxes, placements_disjoint
    from .match import match_apertures
    from .model import REPORT_REACH, Apertures
    from .pairs import box_pairs

    inst = layout.instances
    assert inst is not None
    T = inst.transforms
    if not np.allclose(T[:, :, :2], np.eye(2)[None]) or not len(shapes):
        return None
    P, n = inst.index.shape
    shift = T[:, :, 2]
    # each aperture's placement: that of the contacts its box meets (one placement, at least one contact)
    box = bboxes(shapes)
    ia, jc = box_pairs(box, bboxes(layout.contacts.polygons), 0.0)
    placement = np.empty(len(layout.contacts), dtype=np.int64)
    placement[inst.index.ravel()] = np.repeat(np.arange(P), n)
    lo = np.full(len(shapes), P, dtype=np.int64)
    hi = np.full(len(shapes), -1, dtype=np.int64)
    np.minimum.at(lo, ia, placement[jc])
    np.maximum.at(hi, ia, placement[jc])
    if (lo != hi).any():
        return None  # an aperture over no contact, or over two placements
    per = np.bincount(lo, minlength=P)
    if not (per == per[0]).all():
        return None
    # the apertures of each placement in the order of their boxes' corners, relative to the placement
    grid = max(layout.grid_um, 1e-3)
    corner = np.rint((box[:, :2] - shift[lo]) / grid)
    order = np.lexsort((corner[:, 1], corner[:, 0], lo))
    if not (corner[order].reshape(P, per[0], 2) == corner[order[: per[0]]][None]).all():
        return None
    counts = shapes.counts[order].reshape(P, per[0])
    if not (counts == counts[:1]).all():
        return None
    mine = order.reshape(P, per[0])
    first = shapes.take(mine[0])
    element_shapes = Polygons(first.coords - shift[0], first.offsets)
    for p in range(1, P):  # one placement at a time: no copy of the whole stencil
        if np.abs(shapes.take(mine[p]).coords - shift[p] - element_shapes.coords).max(initial=0.0) > 2 * grid:
            return None
    tips = None
    if arcs is not None:
        element_shapes, tips = arcs(element_shapes)
    element = inst.element
    reach = REPORT_REACH * max(rules.web_min_um, rules.clearance_um) / 2 + 1.0
    pts = np.vstack([element_shapes.coords, element.polygons.coords])
    if not placements_disjoint(element, T, reach, (*pts.min(axis=0), *pts.max(axis=0))):
        return None
    # (a wafer's keep-in is its dies' own: inside the die's, the die is inside it in every placement)
    within, at = (die_outline, np.zeros((1, 2))) if die_outline is not None else (outline, shift)
    if within is not None and not _placed_inside(element_shapes.coords, at, within, rules):
        return None  # keep-in findings: checked on the whole stencil
    matched = match_apertures(element, element_rows, element_shapes, rules, tips)
    if matched.stray or len(matched.extra):
        return None  # reported for the whole stencil
    checked = check_apertures(
        element,
        matched.apertures,
        rules,
        None,
        matched.polygons,
        row_directions(element_rows, n, rules),
        {"same_side": same_side(element, element_rows, matched.apertures)},
        geoms=(matched.geoms, matched.contact_geoms),
        kin=(matched.alike, matched.contact_alike),
        arc_error=arc_error,
        tips=matched.tips,
    )
    # the element's apertures in every placement, in global contact order
    a = matched.apertures
    src = np.empty(P * n, dtype=np.int64)
    src[inst.index.ravel()] = np.tile(np.arange(n), P)
    shift_of = np.empty((P * n, 2))
    shift_of[inst.index.ravel()] = np.repeat(shift, n, axis=0)
    polys = a.outlines
    placed = Polygons(polys.coords, polys.offsets).take(src)
    placed = Polygons(placed.coords + np.repeat(shift_of, placed.counts, axis=0), placed.offsets)
    outlines = Outlines(placed.coords, np.zeros(len(placed.coords)), placed.offsets)
    apertures = Apertures(
        outlines,
        a.kind[src],
        a.area[src],
        a.perimeter[src],
        a.width[src],
        a.axis[src],
        a.side[src],
        a.extension[src],
        a.tip_d[src],
        a.corner[src],
    )
    return Plan(layout.contacts, rows, apertures, []), place_checked(checked, inst.index)


def _keep_in_summary(outline: Outline, layout: Layout) -> dict[str, Any]:
    """What a report says of the keep-in used; a wafer's names its dies' own extent, as plan and check
    both keep them."""
    keep = outline.summary()
    if outline.element is not None and layout.instances is not None:
        keep["source"] += "; each die within its own " + outline.element_is
        keep["die_bbox_um"] = _box_um(outline.element)
    return keep


def _placed(geometry: Any, t: np.ndarray) -> Any:
    """A shapely geometry moved by an affine transform (its first two rows: (2, 3))."""
    from shapely import affinity

    return affinity.affine_transform(geometry, [t[0, 0], t[0, 1], t[1, 0], t[1, 1], t[0, 2], t[1, 2]])


def _placed_outline(element: Any, transforms: np.ndarray) -> Any:
    """An element's outline (shapely, its coordinates) in every placement (transforms (P, 2, 3)), united;
    where two placements touch or overlap (dies drawn side by side: the union has fewer parts than they
    have), each apart (a geometry collection: every die keeps its own margin, `geometry.keep_in_inner`)."""
    import shapely

    placed = [_placed(element, t) for t in transforms]
    united = shapely.union_all(placed)
    if len(shapely.get_parts(united)) < sum(len(shapely.get_parts(p)) for p in placed):
        return shapely.GeometryCollection(placed)
    return united


def _placed_inside(coords: np.ndarray, shift: np.ndarray, outline: Any, rules: Rules) -> bool:
    """Every point, placed by every shift, lies inside the keep-in less edge_margin_um."""
    import shapely

    if not len(coords):
        return True
    from .geometry import box_bounds, keep_in_inner

    inner = keep_in_inner(outline, rules.edge_margin_um)
    bounds = box_bounds(inner)
    if bounds is not None:  # a box: the points' box in each placement
        x0, y0, x1, y1 = bounds
        lo, hi = coords.min(axis=0) + shift, coords.max(axis=0) + shift
        return bool(((lo[:, 0] >= x0) & (lo[:, 1] >= y0) & (hi[:, 0] <= x1) & (hi[:, 1] <= y1)).all())
    return bool(shapely.contains(inner, shapely.multipoints((coords[None] + shift[:, None]).reshape(-1, 2))))


def inspect(layout: Layout, rules: Rules | None = None) -> dict[str, Any]:
    """What `stencilgen inspect --json` prints: the layout's contacts, rows, corners, arrays, staggers."""
    from .report import inspect_report

    return inspect_report(layout, find_layout_rows(layout.contacts, layout.instances, rules), rules)


def _plan_once_per_element(
    layout: Layout,
    rows: Any,
    element_rows: Any,
    rules: Rules,
    keep_in: Any = None,
    held: Any = None,
    hold_pads: bool = False,
) -> tuple[Plan, Die] | None:
    """A wafer: plan and check the die once and repeat it in every placement, when no aperture of one
    placement can come near another placement (else None, and the whole layout is planned at once)."""
    from .checks import check_plan
    from .geometry import placements_disjoint
    from .planner import aperture_polygons, plan_stencil

    inst = layout.instances
    assert inst is not None
    lin = inst.transforms[:, :, :2]
    det = lin[:, 0, 0] * lin[:, 1, 1] - lin[:, 0, 1] * lin[:, 1, 0]
    if not np.allclose(np.abs(det), 1.0):  # magnified placements: plan them as they are
        return None
    element = plan_stencil(inst.element, element_rows, rules, keep_in, held, hold_pads=hold_pads)
    polys = aperture_polygons(element.apertures, 24)
    pts = np.vstack([polys.coords, inst.element.polygons.coords])
    box = (*pts.min(axis=0), *pts.max(axis=0))
    margin = max(rules.web_min_um, rules.clearance_um) / 2 + 1.0
    if not placements_disjoint(inst.element, inst.transforms, margin, box):
        return None
    checked = check_plan(element, rules, keep_in)
    # the whole wafer's checks are placed when asked for (the report keeps the die's once)
    return _PlacedPlan(element, inst, layout.contacts, rows), Die(element_rows, element, checked)


def _part_name(layout: Layout) -> str:
    """The name the stencil files give the part: the top cell, or for a DXF (no cells) the file's stem."""
    return _stem(layout.path) if layout.format == "dxf" else safe_name(layout.cell)


def _write_stencil(
    layout: Layout,
    plan: Plan,
    files: FileSet | Prefixed,
    formats: tuple[str, ...],
    dxf_units: str,
    with_pads: bool,
    gds_layer: tuple[int, int],
    when: dt.datetime,
    pins: np.ndarray | None = None,
    gerber_flat: bool = False,
) -> None:
    """The stencil files of a plan: Gerber, DXF, GDS (those asked for), into their temporary files;
    `pins`: each aperture's object attribute fields in the Gerber (default: its contact id); a wafer's
    dies on a regular grid are one die stepped and repeated in the Gerber unless `gerber_flat`."""
    if "gerber" in formats:
        from .writers.gerber import gerber_parts, regular_grid

        repeat = None
        if not gerber_flat and pins is None and plan.element is not None and plan.transforms is not None:
            repeat = regular_grid(plan.element, plan.transforms)
        # (a wafer's every aperture, `plan.apertures`, is read only where the file draws it)
        drawn = plan.apertures if repeat is None else repeat.element
        files.write_parts(
            "gerber", gerber_parts(drawn, _part_name(layout), _iso(when), __version__, pins=pins, repeat=repeat)
        )
    if "dxf" in formats:
        from .writers.dxf import die_placements, dxf_parts

        die = None
        if plan.element is not None and plan.transforms is not None:
            die = die_placements(plan.element, plan.transforms)
        pads = layout.contacts.polygons if with_pads else None
        files.write_parts("dxf", dxf_parts(plan.apertures if die is None else die.element, pads, dxf_units, die))
    if "gds" in formats:
        from .writers.gds import gds_writer

        hierarchy = plan.element is not None and plan.transforms is not None
        writer = gds_writer(
            plan.element if hierarchy and plan.element is not None else plan.apertures,
            _part_name(layout),
            gds_layer,
            when.replace(tzinfo=None),
            plan.element,
            plan.transforms,
        )
        files.write_with("gds", writer)


class Prefixed:
    """A view of a FileSet whose keys carry a prefix: the stencil files of one of several plans in
    one set ("first_gerber", "second_gerber", ...), written by `_write_stencil` as "gerber"."""

    def __init__(self, files: FileSet, prefix: str) -> None:
        self.files = files
        self.prefix = prefix

    def write(self, key: str, data: str | bytes) -> None:
        self.files.write(self.prefix + key, data)

    def write_parts(self, key: str, parts: Iterable[str | bytes]) -> None:
        self.files.write_parts(self.prefix + key, parts)

    def write_with(self, key: str, writer: Any) -> None:
        self.files.write_with(self.prefix + key, writer)


def _wait_all(*jobs: Any) -> None:
    """Wait for every forked job (None: none), then raise the first one's error, if any: no job is
    left writing when the caller cleans up."""
    first: BaseException | None = None
    for job in jobs:
        if job is None:
            continue
        try:
            job()
        except BaseException as exc:
            first = first or exc
    if first is not None:
        raise first


def _write_html(files: FileSet, report: dict[str, Any], plan: Plan, stray: Sequence[np.ndarray] = ()) -> None:
    from .html import html_report

    files.write("html", html_report(report, plan, stray))


def _write_json(files: FileSet, report: dict[str, Any]) -> None:
    with files.open("json", binary=True) as fh:
        write_report(fh, report)
