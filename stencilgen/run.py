"""The command line's jobs, file to file: read a layout with the command's options, plan or check it
through the library (api.py), write the files. Shared by the CLI and batch runs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .api import CHECK_FORMATS, FORMATS, KeepIn, check, output_formats, plan
from .checks import Checked
from .errors import InputError, UsageError
from .limits import DEFAULT_MAX_CONTACTS
from .model import Layout, Plan
from .readers import read_layout
from .rules import Rules

__all__ = ["FORMATS", "Options", "Result", "check_file", "pair_files", "parse_formats", "plan_file"]


@dataclass(frozen=True)
class Options:
    layer: str | tuple[str, ...] | None = None  # several: PATTERN=LAYER and defaults (readers.layers)
    cell: str | None = None
    units: str | None = None
    formats: tuple[str, ...] = FORMATS
    strict: bool = False
    with_pads: bool = False
    dxf_units: str = "mm"
    gds_layer: tuple[int, int] = (1, 0)
    creation_date: str | None = None
    max_contacts: int = DEFAULT_MAX_CONTACTS
    keep_in: str | None = None  # layer whose outline the apertures must stay inside
    keep_in_bbox: bool = False  # use the bounding box of that layer
    lef: tuple[str, ...] = ()  # a DEF's LEF files
    lef_obs: bool = False  # the LEF obstructions on the pad layer are pads too
    rules_file: str | None = None  # the rules file read (an input: no output may overwrite it)
    gerber_flat: bool = False  # no step and repeat in the Gerber of a wafer
    progress: Callable[[str], None] | None = None  # told a line per foil planned (thickness auto)


@dataclass(frozen=True)
class Result:
    layout: Layout
    plan: Plan
    judged: Any  # the PlannedStencil or CheckedStencil
    report: dict[str, Any]
    exit_code: int
    outputs: dict[str, str]

    @property
    def checked(self) -> Checked:
        """The per-contact figures and findings (a wafer's placed from its die's when first asked for)."""
        return self.judged.checked


def parse_formats(text: str) -> tuple[str, ...]:
    """--formats gerber,dxf,...: the files to write besides the JSON report."""
    if not [x for x in text.split(",") if x.strip()]:
        raise UsageError(f"--formats: name at least one of {', '.join(FORMATS)} (or json: the report alone)")
    return output_formats(text.split(","), "--formats")


def _read(path: str, rules: Rules, options: Options) -> Layout:
    return read_layout(
        path,
        options.layer,
        options.cell,
        options.units,
        options.max_contacts,
        repair=rules.degenerate == "repair",
        lef=options.lef,
        lef_obs=options.lef_obs,
        max_expanded_mb=rules.max_expanded_mb,
    )


def _keep_in(options: Options) -> KeepIn | str | None:
    """The keep-in: a named layer (its errors say they are about --keep-in), "auto", "contacts" or None
    (none)."""
    if options.keep_in is None:
        return "auto"  # rule 8's default: the extent drawn in the cell, where it reaches beyond the contacts
    word = options.keep_in.lower()
    if word == "none":
        return None
    if word in ("auto", "contacts"):
        return word
    return KeepIn(options.keep_in, options.keep_in_bbox, options.units, "--keep-in")


def _out_of_memory(path: str) -> InputError:
    return InputError(f"{path}: out of memory; lower --max-contacts or split the layout")


def plan_file(path: str, outdir: str, rules: Rules, options: Options) -> Result:
    """Plan a stencil for one layout and write OUTDIR/<stem>.gbr/.dxf/.gds/.html/.json."""
    try:
        return _plan_file(path, outdir, rules, options)
    except MemoryError:
        raise _out_of_memory(path) from None


def _plan_file(path: str, outdir: str, rules: Rules, options: Options) -> Result:
    from .writers import usable_dir

    usable_dir(outdir)  # a file in the way is said before the plan is made, not after
    layout = _read(path, rules, options)
    planned = plan(layout, rules, keep_in=_keep_in(options), strict=options.strict, progress=options.progress)
    outputs, report = planned._write(
        outdir,
        options.formats,
        None,
        options.dxf_units,
        options.with_pads,
        options.gds_layer,
        options.creation_date,
        (options.rules_file,),
        gerber_flat=options.gerber_flat,
    )
    return Result(layout, planned.plan, planned, report, report["summary"]["exit_code"], outputs)


def check_file(
    path: str, stencil: str, outdir: str | None, rules: Rules, options: Options, stencil_layer: str | None = None
) -> Result:
    """Run every check of RULES.md on an existing stencil (Gerber, DXF or GDS) against a layout; with
    OUTDIR, also write OUTDIR/<stencil>.check.html, .lyrdb and .json (named after the stencil's file)."""
    try:
        return _check_file(path, stencil, outdir, rules, options, stencil_layer)
    except MemoryError:
        raise _out_of_memory(path) from None


def _check_file(
    path: str, stencil: str, outdir: str | None, rules: Rules, options: Options, stencil_layer: str | None
) -> Result:
    layout = _read(path, rules, options)
    checked = check(
        layout,
        stencil,
        rules,
        stencil_layer=stencil_layer,
        stencil_units=options.units,
        keep_in=_keep_in(options),
        strict=options.strict,
        max_shapes=options.max_contacts,
    )
    if outdir:
        outputs, report = checked._write(outdir, CHECK_FORMATS, None, options.creation_date, (options.rules_file,))
    else:
        outputs, report = {}, checked._report_at({}, options.creation_date)
    return Result(layout, checked.plan, checked, report, report["summary"]["exit_code"], outputs)


def pair_files(
    first: str,
    second: str,
    outdir: str,
    rules: Rules,
    options: Options,
    second_options: Options,
    first_alloy: str,
    second_alloy: str,
    place: str,
) -> tuple[dict[str, Any], dict[str, str]]:
    """Plan both prints of two-region masses (FIRST's bumps, SECOND's layer) and write OUTDIR/<first
    stem>.first.*, <second stem>.second.*, <first stem>.pair.json and .html; return the report and paths."""
    from .alloys import find_alloy
    from .pairing import pair
    from .placement import parse_placement

    where = parse_placement(place)  # usage errors (--place, an unknown alloy) before anything is read
    find_alloy(first_alloy, rules, "--first-alloy")
    find_alloy(second_alloy, rules, "--second-alloy")
    a = _read(first, rules, options)
    b = _read(second, rules, second_options)
    paired = pair(
        a,
        b,
        first_alloy,
        second_alloy,
        where,
        rules,
        keep_in=_keep_in(options),
        second_keep_in=_keep_in(second_options),
        strict=options.strict,
    )
    outputs, report = paired._write(outdir, options.formats, options.creation_date)
    return report, outputs
