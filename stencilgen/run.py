"""The main job end to end: read -> rows -> plan -> check -> write stencil files and report.

The one place that strings the stages together, for the CLI and for batch runs.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
from dataclasses import dataclass
from typing import Any

from . import __version__, forked
from .checks import Checked, check_plan
from .errors import StencilgenError, UsageError
from .model import Layout, Plan
from .planner import plan_stencil
from .readers import read_layout, read_outline
from .report import plan_report, write_report
from .rows import find_layout_rows, layout_rows
from .rules import Rules
from .writers import atomic_write, check_targets, ensure_dir, safe_name

FORMATS = ("gerber", "dxf", "gds", "html")
EXTENSIONS = {"gerber": ".gbr", "dxf": ".dxf", "gds": ".gds", "html": ".html", "json": ".json"}


@dataclass(frozen=True)
class Options:
    layer: str | None = None
    cell: str | None = None
    units: str | None = None
    formats: tuple[str, ...] = FORMATS
    strict: bool = False
    with_pads: bool = False
    dxf_units: str = "mm"
    gds_layer: tuple[int, int] = (1, 0)
    creation_date: str | None = None
    max_contacts: int = 20_000_000
    keep_in: str | None = None  # layer whose outline the apertures must stay inside
    keep_in_bbox: bool = False  # use the bounding box of that layer


@dataclass(frozen=True)
class Result:
    layout: Layout
    plan: Plan
    checked: Checked
    report: dict[str, Any]
    exit_code: int
    outputs: dict[str, str]


def parse_formats(text: str) -> tuple[str, ...]:
    items = tuple(dict.fromkeys(x.strip().lower() for x in text.split(",") if x.strip()))
    if not items:
        raise UsageError(f"--formats: name at least one of {', '.join(FORMATS)} (or json: the report alone)")
    unknown = [x for x in items if x not in FORMATS and x != "json"]
    if unknown:
        raise UsageError(f"--formats: unknown format {unknown[0]!r}; choose from {', '.join(FORMATS)}")
    return tuple(x for x in items if x != "json")


def _read(path: str, rules: Rules, options: Options) -> Layout:
    return read_layout(
        path, options.layer, options.cell, options.units, options.max_contacts, repair=rules.degenerate == "repair"
    )


def _stamp(report: dict[str, Any], options: Options) -> int:
    """The generator and the exit code in the summary: 1 for rule errors (and warnings under --strict)."""
    s = report["summary"]
    s["generator"] = f"stencilgen {__version__}"
    s["exit_code"] = 1 if s["errors"] > 0 or (options.strict and s["warnings"] > 0) else 0
    return int(s["exit_code"])


def _write_json(path: str, report: dict[str, Any]) -> None:
    from .errors import OutputError
    from .writers import atomic_open

    try:
        with atomic_open(path, "wb") as fh:
            write_report(fh, report)
    except OSError as exc:
        raise OutputError(f"{path}: cannot be written ({exc.strerror or exc})") from None


def creation_time(path: str, option: str | None) -> dt.datetime:
    """The date written into the outputs: --creation-date, else SOURCE_DATE_EPOCH, else the input's
    modification time (so the same input gives the same bytes)."""
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


def _keep_in(path: str, options: Options) -> Any:
    """The keep-in outline, if one is named; its errors say they are about --keep-in, not the pad layer."""
    if options.keep_in is None:
        return None
    try:
        return read_outline(path, options.keep_in, options.cell, options.units, options.keep_in_bbox)
    except StencilgenError as exc:
        raise type(exc)(f"--keep-in {options.keep_in}: {exc}") from None


def _plan_once_per_element(layout: Layout, rows: Any, element_rows: Any, rules: Rules) -> tuple[Plan, Checked] | None:
    """A wafer: plan and check the die once and repeat it in every placement, when no aperture of one
    placement can come near another placement (else None, and the whole layout is planned at once)."""
    import numpy as np

    from .checks import place_checked
    from .geometry import placements_disjoint
    from .planner import aperture_polygons, place_plan

    inst = layout.instances
    assert inst is not None
    lin = inst.transforms[:, :, :2]
    det = lin[:, 0, 0] * lin[:, 1, 1] - lin[:, 0, 1] * lin[:, 1, 0]
    if not np.allclose(np.abs(det), 1.0):  # magnified placements: plan them as they are
        return None
    element = plan_stencil(inst.element, element_rows, rules)
    polys = aperture_polygons(element.apertures, 24)
    pts = np.vstack([polys.coords, inst.element.polygons.coords])
    box = (*pts.min(axis=0), *pts.max(axis=0))
    margin = max(rules.web_min_um, rules.clearance_um) / 2 + 1.0
    if not placements_disjoint(inst.element, inst.transforms, margin, box):
        return None
    checked = check_plan(element, rules)
    return place_plan(element, inst, layout.contacts, rows), place_checked(checked, inst.index)


def _stem(path: str) -> str:
    """The input file's name without its extension, safe for output names."""
    return safe_name(os.path.splitext(os.path.basename(path))[0])


def _iso(when: dt.datetime) -> str:
    """The creation date as the files write it."""
    return when.strftime("%Y-%m-%dT%H:%M:%S+00:00")


def _part_name(layout: Layout) -> str:
    """The name the stencil files give the part: the top cell, or for a DXF (no cells) the file's stem."""
    return _stem(layout.path) if layout.format == "dxf" else safe_name(layout.cell)


def _write_stencil(layout: Layout, plan: Plan, outputs: dict[str, str], options: Options, when: dt.datetime) -> None:
    """The stencil files of a plan: Gerber, DXF, GDS (those asked for)."""
    if "gerber" in options.formats:
        from .writers.gerber import write_gerber

        write_gerber(outputs["gerber"], plan.apertures, _part_name(layout), _iso(when), __version__)
    if "dxf" in options.formats:
        from .writers.dxf import write_dxf

        write_dxf(
            outputs["dxf"], plan.apertures, layout.contacts.polygons if options.with_pads else None, options.dxf_units
        )
    if "gds" in options.formats:
        from .writers.gds import write_gds

        write_gds(
            outputs["gds"],
            plan.apertures,
            _part_name(layout),
            options.gds_layer,
            when.replace(tzinfo=None),
            plan.element,
            plan.transforms,
        )


def _write_html(path: str, report: dict[str, Any], plan: Plan) -> None:
    from .html import html_report

    atomic_write(path, html_report(report, plan))


def plan_file(path: str, outdir: str, rules: Rules, options: Options) -> Result:
    """Plan a stencil for one layout and write OUTDIR/<stem>.gbr/.dxf/.gds/.json."""
    layout = _read(path, rules, options)
    rows, element_rows = layout_rows(layout.contacts, layout.instances, rules)
    keep_in = _keep_in(path, options)
    placed = None
    if element_rows is not None and layout.instances is not None and keep_in is None:
        placed = _plan_once_per_element(layout, rows, element_rows, rules)
    checked: Checked | None = None
    if placed is not None:
        plan, checked = placed
    else:
        plan = plan_stencil(layout.contacts, rows, rules, keep_in)
    when = creation_time(path, options.creation_date).replace(microsecond=0)
    ensure_dir(outdir)
    stem = _stem(path)
    outputs = {f: os.path.join(outdir, stem + EXTENSIONS[f]) for f in options.formats}
    outputs["json"] = os.path.join(outdir, stem + ".json")
    check_targets(list(outputs.values()))
    before = {key: _identity(target) for key, target in outputs.items()}
    # the stencil files are written by a second process while this one checks the plan and reports
    stencil = forked.start(lambda: _write_stencil(layout, plan, outputs, options, when))
    try:
        if checked is None:
            checked = check_plan(plan, rules, keep_in)
        # the report names its sibling files, so that it reads the same wherever the folder goes
        names = {k: os.path.basename(v) for k, v in outputs.items()}
        report = plan_report(layout, plan, checked, rules, names, _iso(when))
        exit_code = _stamp(report, options)
        page = forked.start(lambda: _write_html(outputs["html"], report, plan)) if "html" in outputs else None
        try:
            _write_json(outputs["json"], report)  # while the page is written beside it
        finally:
            if page is not None:
                page()
    except BaseException:
        with contextlib.suppress(BaseException):  # let the writer finish; the first error is the one to report
            stencil()
        _remove_written(outputs, before)
        raise
    try:
        stencil()
    except BaseException:
        _remove_written(outputs, before)
        raise
    return Result(layout, plan, checked, report, exit_code, outputs)


def _identity(path: str) -> tuple[int, int] | None:
    """What is at `path` now (device and inode), to tell a file this run wrote from one it found."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino)


def _remove_written(outputs: dict[str, str], before: dict[str, tuple[int, int] | None]) -> None:
    """A run that fails or is interrupted leaves no part of its set of files: each file it wrote (each
    was renamed into place whole) is removed; files it did not write are left as they were."""
    for key, target in outputs.items():
        now = _identity(target)
        if now is not None and now != before.get(key):
            with contextlib.suppress(OSError):
                os.unlink(target)


def check_file(
    path: str, stencil: str, outdir: str | None, rules: Rules, options: Options, stencil_layer: str | None = None
) -> Result:
    """Run every check of RULES.md on an existing stencil (Gerber, DXF or GDS) against a layout."""
    from .checks import check_apertures, row_directions, same_side
    from .match import match_apertures
    from .readers.stencil import read_stencil

    layout = _read(path, rules, options)
    rows = find_layout_rows(layout.contacts, layout.instances, rules)
    shapes = read_stencil(stencil, stencil_layer, options.units)
    matched = match_apertures(layout.contacts, rows, shapes, rules)
    keep_in = _keep_in(path, options)
    checked = check_apertures(
        layout.contacts,
        matched.apertures,
        rules,
        keep_in,
        matched.polygons,
        row_directions(rows, len(layout.contacts)),
        {"extra_aperture": matched.extra, "same_side": same_side(layout.contacts, rows, matched.apertures)},
    )
    plan = Plan(layout.contacts, rows, matched.apertures, [])
    stem = _stem(path) + ".check"
    outputs = {k: os.path.join(outdir, stem + EXTENSIONS[k]) for k in ("html", "json")} if outdir else {}
    when = creation_time(path, options.creation_date).replace(microsecond=0)
    report = plan_report(
        layout,
        plan,
        checked,
        rules,
        {k: os.path.basename(v) for k, v in outputs.items()},
        _iso(when),
    )
    s = report["summary"]
    s["stencil"] = stencil
    s["stray_apertures"] = matched.stray
    s["errors"] += len(matched.stray)
    exit_code = _stamp(report, options)
    if outdir:
        ensure_dir(outdir)
        check_targets(list(outputs.values()))
        _write_html(outputs["html"], report, plan)
        _write_json(outputs["json"], report)
    return Result(layout, plan, checked, report, exit_code, outputs)
