"""The command line's jobs, file to file: read a layout with the command's options, plan or check it
through the library (api.py), write the files. Shared by the CLI and batch runs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .api import CHECK_FORMATS, FORMATS, KeepIn, check, output_formats, plan
from .checks import Checked
from .errors import UsageError
from .model import Layout, Plan
from .readers import read_layout
from .rules import Rules

__all__ = ["FORMATS", "Options", "Result", "check_file", "parse_formats", "plan_file"]


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
    gerber_flat: bool = False  # no step and repeat in the Gerber of a wafer


@dataclass(frozen=True)
class Result:
    layout: Layout
    plan: Plan
    checked: Checked
    report: dict[str, Any]
    exit_code: int
    outputs: dict[str, str]


def parse_formats(text: str) -> tuple[str, ...]:
    """--formats gerber,dxf,...: the files to write besides the JSON report."""
    if not [x for x in text.split(",") if x.strip()]:
        raise UsageError(f"--formats: name at least one of {', '.join(FORMATS)} (or json: the report alone)")
    return output_formats(text.split(","), "--formats")


def _read(path: str, rules: Rules, options: Options) -> Layout:
    return read_layout(
        path, options.layer, options.cell, options.units, options.max_contacts, repair=rules.degenerate == "repair"
    )


def _keep_in(options: Options) -> KeepIn | str | None:
    """The keep-in: a named layer (its errors say they are about --keep-in), "auto" or None (none)."""
    if options.keep_in is None:
        return "auto"  # rule 8's default: the extent drawn in the cell, where it reaches beyond the contacts
    if options.keep_in.lower() == "none":
        return None
    return KeepIn(options.keep_in, options.keep_in_bbox, options.units, "--keep-in")


def plan_file(path: str, outdir: str, rules: Rules, options: Options) -> Result:
    """Plan a stencil for one layout and write OUTDIR/<stem>.gbr/.dxf/.gds/.html/.json."""
    layout = _read(path, rules, options)
    planned = plan(layout, rules, keep_in=_keep_in(options), strict=options.strict)
    outputs, report = planned._write(
        outdir,
        options.formats,
        None,
        options.dxf_units,
        options.with_pads,
        options.gds_layer,
        options.creation_date,
        options.gerber_flat,
    )
    return Result(layout, planned.plan, planned.checked, report, report["summary"]["exit_code"], outputs)


def check_file(
    path: str, stencil: str, outdir: str | None, rules: Rules, options: Options, stencil_layer: str | None = None
) -> Result:
    """Run every check of RULES.md on an existing stencil (Gerber, DXF or GDS) against a layout; with
    OUTDIR, also write OUTDIR/<stem>.check.html, .lyrdb and .json."""
    layout = _read(path, rules, options)
    checked = check(
        layout,
        stencil,
        rules,
        stencil_layer=stencil_layer,
        stencil_units=options.units,
        keep_in=_keep_in(options),
        strict=options.strict,
    )
    if outdir:
        outputs, report = checked._write(outdir, CHECK_FORMATS, None, options.creation_date)
    else:
        outputs, report = {}, checked._report_at({}, options.creation_date)
    return Result(layout, checked.plan, checked.checked, report, report["summary"]["exit_code"], outputs)
