"""The command line: parse options, call the library, print, exit. The only module importing click."""

from __future__ import annotations

import contextlib
import functools
import json
import sys
from collections.abc import Callable
from typing import Any, NoReturn, TypeVar

import click

from . import __version__
from .errors import OutputError, StencilgenError, UsageError
from .limits import DEFAULT_MAX_CONTACTS

F = TypeVar("F", bound=Callable[..., Any])

#: exit codes every command shares
EXIT_OK, EXIT_RULE_ERRORS, EXIT_USAGE, EXIT_INPUT, EXIT_OUTPUT, EXIT_INTERNAL = 0, 1, 2, 3, 4, 70


def one_line(text: str) -> str:
    """A message as one line: a control character (a newline in a file's name) written as its escape."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)


def _fail(message: str, code: int) -> NoReturn:
    click.echo(f"Error: {one_line(message)}", err=True)
    sys.exit(code)


#: the input the running command reads (named in the line an interruption ends with)
_INPUT: list[str] = []


def _interrupted() -> NoReturn:
    """Ctrl-C or SIGTERM: a forked writer still at work finishes (or removes) its file first. The run
    has unwound (its files removed, its children reaped): it ends here with exit 130, as Python 3.11
    would otherwise end a process in which a KeyboardInterrupt once crossed its C code by SIGINT."""
    import os

    from .forked import reap

    reap()
    click.echo(f"Error: {one_line(_INPUT[0]) + ': ' if _INPUT else ''}interrupted", err=True)
    with contextlib.suppress(OSError, ValueError):
        sys.stdout.flush()
        sys.stderr.flush()
    os._exit(130)


def _caused_by_interrupt(exc: BaseException) -> bool:
    """Whether an error stands for a Ctrl-C or SIGTERM: one raised while a module was still being
    imported reaches here wrapped (Python 3.11 wraps an exception from __set_name__ in RuntimeError)."""
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        if isinstance(cause, KeyboardInterrupt):
            return True
        seen.add(id(cause))
        cause = cause.__cause__ or cause.__context__
    return False


def handle_errors(func: F) -> F:
    """Library errors become one `Error: ...` line and their exit code; nothing else escapes."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        named = kwargs.get("file") or kwargs.get("first")
        if isinstance(named, str):
            _INPUT[:] = [named]
        try:
            return func(*args, **kwargs)
        except StencilgenError as exc:
            _fail(str(exc), exc.exit_code)
        except KeyboardInterrupt:
            _interrupted()
        except MemoryError:
            _fail("out of memory; lower --max-contacts or split the layout", EXIT_INPUT)
        except (click.exceptions.Exit, click.ClickException, SystemExit):
            raise
        except Exception as exc:  # a bug: still one line, never a traceback
            # Ctrl-C inside a class being built (Python wraps it in RuntimeError), or one a library turned
            # into another error
            if _caused_by_interrupt(exc) or _SIGNALLED:
                _interrupted()
            _fail(f"internal error ({type(exc).__name__}: {exc}); please report it with the input file", EXIT_INTERNAL)

    return wrapper  # type: ignore[return-value]


def _stdout(write: Callable[[], Any]) -> None:
    """Write to stdout and flush it: a closed pipe or a full disk there is an output error (exit 4),
    and stdout is then pointed at /dev/null, so that nothing fails again when the process ends."""
    import os

    try:
        write()
        sys.stdout.flush()
    except OSError as exc:
        with contextlib.suppress(OSError, ValueError):
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, sys.stdout.fileno())
            os.close(null)
        raise OutputError(f"stdout: cannot be written ({exc.strerror or exc})") from None


def _emit_json(doc: Any) -> None:
    _stdout(lambda: click.echo(json.dumps(doc, indent=1, sort_keys=False, allow_nan=False)))


layer_option = click.option(
    "--layer",
    "layers",
    multiple=True,
    metavar="[PATTERN=]LAYER",
    help="Pad layer: LAYER/DATATYPE for GDS/OASIS (e.g. 9/0; 9 is 9/0), a layer name for DXF, a LEF layer for DEF. "
    "Repeatable: PATTERN=LAYER for the files whose name matches the glob (the first match wins), an "
    "unprefixed value for the other files of its kind.",
)
lef_option = click.option(
    "--lef", "lefs", multiple=True, metavar="FILE", help="DEF input: a LEF file drawing its macros (repeatable)."
)
lef_obs_option = click.option(
    "--lef-obs", is_flag=True, help="DEF input: the LEF obstructions on the pad layer are pads too (not only pins)."
)


def _layer(values: tuple[str, ...]) -> str | tuple[str, ...] | None:
    """The --layer values as read_layout takes them: none, the one given, or all (chosen per file)."""
    from .readers.layers import check_layers

    check_layers(values)
    if not values:
        return None
    return values[0] if len(values) == 1 else values


cell_option = click.option("--cell", metavar="NAME", help="GDS/OASIS top cell (default: the only top cell).")
units_option = click.option(
    "--units",
    metavar="UNIT",
    help="DXF drawing unit (um, mm, in, ...) when $INSUNITS is missing or wrong (GDS/OASIS carry their own).",
)
max_option = click.option(
    "--max-contacts",
    type=click.IntRange(min=1),
    default=DEFAULT_MAX_CONTACTS,
    show_default=True,
    help="Refuse layouts that expand to more shapes than this on the pad layer.",
)


def _output_layer(layer: tuple[int, int], text: str) -> tuple[int, int]:
    """--gds-layer: a GDSII layer and datatype are each 0 to 65535 (2-byte records)."""
    if max(layer) > 65535:
        raise UsageError(f"--gds-layer {text!r}: a GDSII layer and datatype are each 0 to 65535")
    return layer


#: a Ctrl-C or SIGTERM has arrived: whatever error the run then ends with stands for it (numpy, for
#: one, reports a KeyboardInterrupt that crosses a comparison of structured arrays as a TypeError)
_SIGNALLED = False


#: the signal that arrived (0: none)
_SIGNUM = 0


def _terminate(signum: int, frame: Any) -> None:
    """SIGTERM unwinds like Ctrl-C (so that half-written temporary files are removed), and Ctrl-C as
    Python's own handler would; either remembered."""
    global _SIGNALLED, _SIGNUM
    _SIGNALLED, _SIGNUM = True, signum
    raise KeyboardInterrupt


def _unraisable(hook: Any) -> None:
    """A signal that arrived while the interpreter ran a callback of its own (a weak reference's, as a
    module is imported) cannot unwind from there, and the interpreter would print its traceback: it is
    sent again a moment later, to unwind from where the run stands once the callback has returned."""
    if _SIGNUM and isinstance(hook.exc_value, KeyboardInterrupt):
        import os
        import threading

        while True:  # (the signal sent again may land while this still runs: it is sent once more)
            try:
                threading.Timer(RESEND_S, os.kill, (os.getpid(), _SIGNUM)).start()
                return
            except KeyboardInterrupt:
                continue
    sys.__unraisablehook__(hook)


#: how long after a signal swallowed by an interpreter's callback it is sent again (s)
RESEND_S = 0.001


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, "--version", prog_name="stencilgen")
def main() -> None:
    """Design solder-paste stencils for fine-pitch dies and wafers.

    Lengths are in micrometres unless a unit is given; every file is written whole or not at all.

    \b
    Examples:
      stencilgen inspect die.gds --layer 9/0
      stencilgen plan die.gds --layer 9/0 -o out/
    """
    import signal

    signal.signal(signal.SIGTERM, _terminate)
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:  # (one the caller ignores stays so)
        signal.signal(signal.SIGINT, _terminate)
    sys.unraisablehook = _unraisable


@main.command()
@click.argument("file", type=click.Path(dir_okay=True, path_type=str))
@layer_option
@lef_option
@lef_obs_option
@cell_option
@units_option
@click.option("--rules", "rules_file", metavar="FILE", help="Rules file (TOML) for row finding and reading.")
@max_option
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document on stdout and nothing else.")
@click.option(
    "--quiet", "-q", is_flag=True, help="Print nothing but errors; the exit code says whether the layout reads."
)
@handle_errors
def inspect(
    file: str,
    layers: tuple[str, ...],
    lefs: tuple[str, ...],
    lef_obs: bool,
    cell: str | None,
    units: str | None,
    rules_file: str | None,
    max_contacts: int,
    as_json: bool,
    quiet: bool,
) -> None:
    """Read a layout's pad layer and summarise its contacts, rows, corners and arrays.

    \b
    Examples:
      stencilgen inspect die.gds.gz --layer 9/0
      stencilgen inspect pads.dxf --layer PADS --units mm --json
      stencilgen inspect top.def --lef tech.lef --lef pads.lef --layer metal10
    """
    from .api import inspect as inspect_layout
    from .readers import read_layout
    from .report import inspect_text

    rules = _rules(rules_file)
    layout = read_layout(
        file,
        layer=_layer(layers),
        cell=cell,
        units=units,
        max_contacts=max_contacts,
        list_layers=True,
        repair=rules.degenerate == "repair",
        lef=lefs,
        lef_obs=lef_obs,
        max_expanded_mb=rules.max_expanded_mb,
    )
    doc = inspect_layout(layout, rules)
    if not quiet:
        for note in doc["notes"]:
            click.echo(one_line(f"warning: {file}: {note}"), err=True)
    if as_json:
        _emit_json(doc)
    elif not quiet:
        _stdout(lambda: click.echo(inspect_text(doc)))


def _rules(path: str | None, **overrides: Any) -> Any:
    """The rules file (or the defaults) with the command's options over it."""
    from .errors import UsageError
    from .rules import load_rules, rules_from_mapping

    rules = load_rules(path)
    changes = {k: v for k, v in overrides.items() if v is not None}
    try:
        return rules_from_mapping(changes, "", base=rules) if changes else rules
    except UsageError as exc:  # named as the option the user gave ("--thickness", not "thickness_um")
        text = str(exc)
        for key in changes:
            if text.startswith(key + ":"):
                option = "--" + key.removesuffix("_um").removesuffix("_deg").replace("_", "-")
                raise UsageError(f"{option}:{text[len(key) + 1 :]}") from None
        raise


@main.command()
@click.argument("file", type=click.Path(dir_okay=True, path_type=str))
@click.option("-o", "--output", "outdir", required=True, metavar="OUTDIR", help="Folder for the stencil files.")
@layer_option
@lef_option
@lef_obs_option
@cell_option
@units_option
@click.option("--rules", "rules_file", metavar="FILE", help="Rules file (TOML); `stencilgen rules` prints one.")
@click.option(
    "--formats",
    default="gerber,dxf,gds,html,lyrdb",
    show_default=True,
    help="Files to write (gerber, dxf, gds, html, lyrdb); the JSON report is always written.",
)
@click.option("--strict", is_flag=True, help="Warnings fail the run too (exit 1).")
@click.option("--json", "as_json", is_flag=True, help="Print the JSON report on stdout (the summary goes to stderr).")
@click.option(
    "--thickness",
    metavar="LENGTH|auto",
    help="Foil thickness, e.g. 20um or 0.02mm; auto plans at each stocked foil (foil_thicknesses_um), keeps the "
    "best and proposes a step stencil where two groups of contacts want different foils.",
)
@click.option("--strategy", type=click.Choice(["tip", "offset"]), help="Bulbous tips or offset strips.")
@click.option("--paste-type", type=click.IntRange(3, 8), help="Paste particle type (3-8).")
@click.option("--volume-target", type=float, help="Planned volume as a fraction of pi*d^3/6.")
@click.option("--oblique-scope", type=click.Choice(["corners", "all"]), help="Where strips run obliquely.")
@click.option("--oblique-angle", type=float, metavar="DEG", help="Force the oblique strip direction.")
@click.option(
    "--keep-in",
    metavar="L/D|NAME|auto|contacts|none",
    help="Keep-in (rule 8): the layer holding the element's outline; auto (default): the extent drawn in the "
    "cell on all layers (nothing drawn beyond the pads: as contacts); contacts: no keep-in, the apertures held "
    "within the contacts' extent where there is room; none: no keep-in.",
)
@click.option("--keep-in-bbox", is_flag=True, help="Use the bounding box of the --keep-in layer as the outline.")
@click.option("--with-pads", is_flag=True, help="Also draw the contacts on layer PADS of the DXF.")
@click.option(
    "--dxf-units", type=click.Choice(["mm", "um", "in"]), default="mm", show_default=True, help="Unit of the DXF."
)
@click.option("--gds-layer", default="1/0", show_default=True, metavar="L/D", help="GDS layer of the apertures.")
@click.option(
    "--gerber-flat",
    is_flag=True,
    help="Draw every aperture of a wafer in the Gerber (default: one die stepped and repeated, %SR%, when "
    "the dies sit on a regular grid).",
)
@click.option(
    "--creation-date",
    metavar="ISO",
    help="Date written into the files (default: SOURCE_DATE_EPOCH, else the input's modification time).",
)
@click.option("--quiet", "-q", is_flag=True, help="No summary on stderr.")
@max_option
@handle_errors
def plan(
    file: str,
    outdir: str,
    layers: tuple[str, ...],
    lefs: tuple[str, ...],
    lef_obs: bool,
    cell: str | None,
    units: str | None,
    rules_file: str | None,
    formats: str,
    strict: bool,
    as_json: bool,
    thickness: str | None,
    strategy: str | None,
    paste_type: int | None,
    volume_target: float | None,
    oblique_scope: str | None,
    oblique_angle: float | None,
    keep_in: str | None,
    keep_in_bbox: bool,
    with_pads: bool,
    dxf_units: str,
    gds_layer: str,
    gerber_flat: bool,
    creation_date: str | None,
    quiet: bool,
    max_contacts: int,
) -> None:
    """Plan a solder-paste stencil: strips across rows, volume checks, Gerber/DXF/GDS and a JSON report.

    Exit codes: 0 no errors; 1 rule errors (and warnings with --strict); 2 usage; 3 unreadable input
    or rules; 4 output cannot be written.

    \b
    Examples:
      stencilgen plan die.gds --layer 9/0 -o out/
      stencilgen plan die.gds --layer 9/0 -o out/ --thickness 15um --strategy offset --strict
      stencilgen plan die.gds.gz --layer 9/0 -o out/              # out/die.gbr ...
      stencilgen plan top.def --lef pads.lef --layer metal10 -o out/
    """
    from .readers.gds import parse_gds_layer
    from .report import plan_text
    from .run import Options, parse_formats, plan_file

    rules = _rules(
        rules_file,
        thickness_um=thickness,
        strategy=strategy,
        paste_type=paste_type,
        volume_target=volume_target,
        oblique_scope=oblique_scope,
        oblique_angle_deg=oblique_angle,
    )
    options = Options(
        layer=_layer(layers),
        cell=cell,
        units=units,
        lef=lefs,
        lef_obs=lef_obs,
        formats=parse_formats(formats),
        strict=strict,
        with_pads=with_pads,
        dxf_units=dxf_units,
        gds_layer=_output_layer(parse_gds_layer(gds_layer), gds_layer),
        creation_date=creation_date,
        max_contacts=max_contacts,
        keep_in=keep_in,
        keep_in_bbox=keep_in_bbox,
        rules_file=rules_file,
        gerber_flat=gerber_flat,
        progress=None if quiet else (lambda line: click.echo(f"  {line}", err=True)),
    )
    if keep_in_bbox and keep_in is None:
        raise UsageError("--keep-in-bbox needs --keep-in LAYER")
    result = plan_file(file, outdir, rules, options)
    if not quiet:
        click.echo(plan_text(result.report, result.outputs), err=True)
    if as_json:
        from .report import write_report

        _stdout(lambda: write_report(sys.stdout, result.report))
    sys.exit(result.exit_code)


@main.command()
@click.argument("first", metavar="FIRST", type=click.Path(dir_okay=True, path_type=str))
@layer_option
@cell_option
@units_option
@click.option("--second", required=True, metavar="SECOND", help="The element carrying the layer (substrate).")
@click.option("--second-layer", metavar="L/D|NAME", help="SECOND's pad layer (as --layer).")
@click.option("--second-cell", metavar="NAME", help="SECOND's top cell (as --cell).")
@click.option("--second-units", metavar="UNIT", help="SECOND's DXF drawing unit (as --units).")
@click.option("--first-alloy", required=True, metavar="NAME", help="Alloy of the bumps on FIRST (higher-melting).")
@click.option("--second-alloy", required=True, metavar="NAME", help="Alloy of the layer on SECOND (lower-melting).")
@click.option(
    "-o", "--output", "outdir", required=True, metavar="OUTDIR", help="Folder for both stencils and the report."
)
@click.option(
    "--place",
    default="auto",
    show_default=True,
    metavar="auto|none|DX,DY,ANGLE[,mirror]",
    help="How FIRST lands on SECOND: found (auto), as drawn (none), or mirrored about x (if `mirror`), "
    "turned ANGLE deg and moved DX, DY.",
)
@click.option("--rules", "rules_file", metavar="FILE", help="Rules file (TOML), may add [alloys.NAME].")
@click.option(
    "--formats",
    default="gerber,dxf,gds,html",
    show_default=True,
    help="Files to write (gerber, dxf, gds, html); the JSON report is always written.",
)
@click.option(
    "--creation-date",
    metavar="ISO",
    help="Date written into the files (default: SOURCE_DATE_EPOCH, else FIRST's mtime).",
)
@click.option("--strict", is_flag=True, help="Warnings fail the run too (exit 1).")
@click.option("--json", "as_json", is_flag=True, help="Print the JSON report on stdout (the summary goes to stderr).")
@click.option("--quiet", "-q", is_flag=True, help="No summary on stderr.")
@max_option
@handle_errors
def pair(
    first: str,
    layers: tuple[str, ...],
    cell: str | None,
    units: str | None,
    second: str,
    second_layer: str | None,
    second_cell: str | None,
    second_units: str | None,
    first_alloy: str,
    second_alloy: str,
    outdir: str,
    place: str,
    rules_file: str | None,
    formats: str,
    creation_date: str | None,
    strict: bool,
    as_json: bool,
    quiet: bool,
    max_contacts: int,
) -> None:
    """Two-region masses: bumps printed on FIRST's contacts, a lower-melting layer on SECOND's pads.

    Finds how FIRST lands on SECOND (flipped or not, turned by 90 deg steps, moved), plans both
    stencils, sizes the layer so that each mass stays within pi*d^3/6 of the smaller of contact and
    pad, and checks the melting order and the joining reflow window. Writes OUTDIR/<FIRST stem>.first.*,
    <SECOND stem>.second.* (gbr, dxf, gds) and <FIRST stem>.pair.json + .html.

    Exit codes: 0 no errors; 1 rule errors (and warnings with --strict); 2 usage (e.g. an unknown
    alloy); 3 unreadable input or rules, or fewer than half the contacts meet a pad; 4 output cannot
    be written.

    \b
    Alloys (RULES.md; a rules file adds [alloys.NAME]): Pb95Sn5, Pb90Sn10, Au80Sn20, SAC305,
    Sn96.5Ag3.5, Sn63Pb37, Sn42Bi58, In52Sn48.

    \b
    Examples:
      stencilgen pair die.gds --layer 9/0 --second sub.gds --second-layer 5/0 \\
          --first-alloy Pb95Sn5 --second-alloy Sn63Pb37 -o out/
      stencilgen pair die.gds --layer 9/0 --second sub.dxf --second-layer PADS --first-alloy SAC305 \\
          --second-alloy Sn42Bi58 -o out/ --place 1200um,-300um,90,mirror --strict
    """
    from .run import Options, pair_files, parse_formats

    rules = _rules(rules_file)
    fmts = parse_formats(formats)
    options = Options(
        layer=_layer(layers),
        cell=cell,
        units=units,
        formats=fmts,
        strict=strict,
        creation_date=creation_date,
        max_contacts=max_contacts,
    )
    second_options = Options(layer=second_layer, cell=second_cell, units=second_units, max_contacts=max_contacts)
    report, outputs = pair_files(
        first, second, outdir, rules, options, second_options, first_alloy, second_alloy, place
    )
    from .pairing import pair_json, pair_text

    if not quiet:
        click.echo(pair_text(report, outputs), err=True)
    if as_json:
        sys.stdout.buffer.write(pair_json(report))
        sys.stdout.flush()
    sys.exit(report["summary"]["exit_code"])


@main.command()
@click.option("--rules", "rules_file", metavar="FILE", help="Show this rules file merged over the defaults.")
@handle_errors
def rules(rules_file: str | None) -> None:
    """Print the planning rules as commented TOML (the defaults, or a rules file merged over them).

    \b
    Examples:
      stencilgen rules > my-rules.toml
      stencilgen plan die.gds --layer 9/0 -o out/ --rules my-rules.toml
    """
    from .rules import load_rules, rules_toml

    text = rules_toml(load_rules(rules_file))
    _stdout(lambda: click.echo(text, nl=False))


@main.command()
@click.argument("file", type=click.Path(dir_okay=True, path_type=str))
@click.option("--stencil", required=True, metavar="STENCIL", help="The stencil to check: .gbr, .dxf or .gds.")
@click.option("--stencil-layer", metavar="L/D|NAME", help="Stencil layer (default: 1/0 for GDS, STENCIL for DXF).")
@layer_option
@lef_option
@lef_obs_option
@cell_option
@units_option
@click.option("--rules", "rules_file", metavar="FILE", help="Rules file (TOML).")
@click.option(
    "--thickness",
    metavar="LENGTH",
    help="Foil thickness, e.g. 20um (default, or auto: the foil the stencil was planned at, from plan's report "
    "<stem>.json beside it; else, by default, the rules').",
)
@click.option("--paste-type", type=click.IntRange(3, 8), help="Paste particle type (3-8).")
@click.option(
    "--keep-in",
    metavar="L/D|NAME|auto|contacts|none",
    help="Keep-in (rule 8): the layer holding the element's outline; auto (default): the extent drawn in the "
    "cell on all layers (nothing drawn beyond the pads: as contacts); contacts: no keep-in, the apertures held "
    "within the contacts' extent where there is room; none: no keep-in.",
)
@click.option("--keep-in-bbox", is_flag=True, help="Use the bounding box of the --keep-in layer as the outline.")
@click.option(
    "-o",
    "--output",
    "outdir",
    metavar="OUTDIR",
    help="Also write OUTDIR/<stencil>.check.json, .html and .lyrdb (for S.gbr: S.gbr.check.json).",
)
@click.option("--strict", is_flag=True, help="Warnings fail the run too (exit 1).")
@click.option("--json", "as_json", is_flag=True, help="Print the JSON report on stdout (the summary goes to stderr).")
@click.option("--quiet", "-q", is_flag=True, help="No summary on stderr.")
@max_option
@handle_errors
def check(
    file: str,
    stencil: str,
    stencil_layer: str | None,
    layers: tuple[str, ...],
    lefs: tuple[str, ...],
    lef_obs: bool,
    cell: str | None,
    units: str | None,
    rules_file: str | None,
    thickness: str | None,
    paste_type: int | None,
    keep_in: str | None,
    keep_in_bbox: bool,
    outdir: str | None,
    strict: bool,
    as_json: bool,
    quiet: bool,
    max_contacts: int,
) -> None:
    """Check an existing stencil against a layout: every rule of RULES.md, per contact.

    Apertures are matched to the contacts they touch; one touching no contact or two contacts is an
    error. Same report and exit codes as `plan`.

    \b
    Examples:
      stencilgen check die.gds --layer 9/0 --stencil die.gbr
      stencilgen check die.gds --layer 9/0 --stencil stencil.dxf --stencil-layer PASTE --json
    """
    from .report import plan_text, planned_foil, write_report
    from .run import Options, check_file

    # the foil: --thickness, else the one the stencil was planned at (plan's report beside it), else the rules
    asked = thickness is not None and thickness.strip().lower() == "auto"  # (the foil it was planned at)
    auto = thickness is None or asked
    planned = planned_foil(stencil) if auto else None
    if asked and planned is None:
        raise UsageError(
            f"{stencil}: --thickness auto checks a stencil at the foil it was planned at, and no report of plan "
            "beside it (<stem>.json) gives one; give --thickness, e.g. 20um"
        )
    rules = _rules(rules_file, thickness_um=None if planned else thickness, paste_type=paste_type)
    if planned is not None:
        rules = rules.replace(thickness_um=planned[0], thickness_auto=False)
    options = Options(
        layer=_layer(layers),
        cell=cell,
        units=units,
        lef=lefs,
        lef_obs=lef_obs,
        strict=strict,
        max_contacts=max_contacts,
        keep_in=keep_in,
        keep_in_bbox=keep_in_bbox,
        rules_file=rules_file,
    )
    result = check_file(file, stencil, outdir, rules, options, stencil_layer)
    if not quiet:
        text = plan_text(result.report, result.outputs, command="check")
        if planned is not None:
            told = "" if asked else "; --thickness sets one"
            text += f"\n  foil: {planned[0]:g} um, as planned ({planned[1]} beside the stencil{told})"
        stray = result.report["summary"]["stray_apertures"]
        if stray:
            x, y = stray[0]["center_um"]
            if len(stray) > 1:
                text += f"\n  {len(stray)} apertures touch no contact (errors), e.g. one at ({x:.2f}, {y:.2f}) um"
            else:
                text += f"\n  1 aperture at ({x:.2f}, {y:.2f}) um touches no contact (an error)"
            if not result.report["summary"]["apertures"]:  # (none on a contact: drawn elsewhere, or at another scale)
                text += "\n  hint: " + _apart_from_contacts(result.judged.stray_shapes, result.layout.contacts)
        click.echo(text, err=True)
    if as_json:
        _stdout(lambda: write_report(sys.stdout, result.report))
    sys.exit(result.exit_code)


def _apart_from_contacts(shapes: list[Any], contacts: Any) -> str:
    """Where a stencil none of whose apertures touches a contact lies, beside the contacts: its extent
    and theirs, and their ratio where it is a unit's (an inch drawn as a millimetre, um as mm)."""
    import numpy as np

    pts = np.concatenate([np.asarray(s, dtype=float).reshape(-1, 2) for s in shapes])
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    clo, chi = contacts.polygons.coords.min(axis=0), contacts.polygons.coords.max(axis=0)
    ratio = float(np.max(hi - lo) / max(float(np.max(chi - clo)), 1e-12))
    said = (
        f"no aperture touches a contact: the apertures span ({lo[0]:g}, {lo[1]:g}) to ({hi[0]:g}, {hi[1]:g}) um, "
        f"the contacts ({clo[0]:g}, {clo[1]:g}) to ({chi[0]:g}, {chi[1]:g}) um"
    )
    for factor, what in ((25.4, "inches read as mm, or mm as inches"), (1000.0, "um read as mm, or mm as um")):
        for r in (factor, 1 / factor):
            if abs(ratio / r - 1) < 0.05:
                return said + f"; {ratio:.4g} times as large: a unit mix-up ({what})?"
    return said


@main.command()
@click.argument("inputs", nargs=-1, required=True, metavar="INPUT...")
@click.option("-o", "--output", "outdir", required=True, metavar="OUTDIR", help="One subfolder per layout goes here.")
@layer_option
@lef_option
@lef_obs_option
@cell_option
@units_option
@click.option("--rules", "rules_file", metavar="FILE", help="Rules file (TOML) for every layout.")
@click.option("--thickness", metavar="LENGTH", help="Foil thickness for every layout, e.g. 20um, or auto.")
@click.option(
    "--keep-in",
    metavar="L/D|NAME|auto|contacts|none",
    help="Keep-in (rule 8) for every layout, as plan takes it (default auto: the extent drawn in the cell).",
)
@click.option("--keep-in-bbox", is_flag=True, help="Use the bounding box of the --keep-in layer as the outline.")
@click.option(
    "--creation-date",
    metavar="ISO",
    help="Date written into the files (default: SOURCE_DATE_EPOCH, else each input's modification time).",
)
@click.option("--formats", default="gerber,dxf,gds,html,lyrdb", show_default=True, help="Files to write per layout.")
@click.option("--jobs", "-j", type=click.IntRange(min=1), help="Parallel processes (default: the number of cores).")
@click.option("--continue-on-error", is_flag=True, help="A layout that cannot be planned does not stop the others.")
@click.option(
    "--scheduler", metavar="ADDRESS", help="Run on a Dask cluster (e.g. tcp://host:8786); needs a shared filesystem."
)
@click.option("--strict", is_flag=True, help="Warnings count as errors.")
@click.option("--json", "as_json", is_flag=True, help="Print summary.json on stdout.")
@click.option("--quiet", "-q", is_flag=True, help="No progress or table on stderr.")
@max_option
@handle_errors
def batch(
    inputs: tuple[str, ...],
    outdir: str,
    layers: tuple[str, ...],
    lefs: tuple[str, ...],
    lef_obs: bool,
    cell: str | None,
    units: str | None,
    rules_file: str | None,
    thickness: str | None,
    keep_in: str | None,
    keep_in_bbox: bool,
    creation_date: str | None,
    formats: str,
    jobs: int | None,
    continue_on_error: bool,
    scheduler: str | None,
    strict: bool,
    as_json: bool,
    quiet: bool,
    max_contacts: int,
) -> None:
    """Plan stencils for many layouts: files, folders (searched for .gds/.oas/.dxf/.def, gzipped too) or globs.

    Each layout goes to OUTDIR/<name>/; OUTDIR/summary.json and summary.csv hold one row per input.
    Exit codes: 0 all planned without rule errors; 1 rule errors in some; 3 some could not be planned;
    4 the files of some could not be written, or another batch holds OUTDIR past STENCILGEN_LOCK_WAIT.

    \b
    Examples:
      stencilgen batch pads/ -o out/ --layer 9/0 --layer PADS --continue-on-error
      stencilgen batch lib/ -o out/ --layer 'sg13*=9/0' --layer 'gf180*=46/0'
      stencilgen batch 'lib/**/*.gds' -o out/ --layer 9/0 --scheduler tcp://10.0.0.5:8786
    """
    import os

    from .batch import batch_exit_code, batch_lock, find_inputs, plan_tasks, run_batch, summary_table, write_summary
    from .run import Options, parse_formats

    rules = _rules(rules_file, thickness_um=thickness)
    if creation_date is not None:  # (refused once, before any layout is planned)
        from .api import creation_time

        creation_time("", creation_date)
    options = Options(
        cell=cell,
        units=units,
        lef=lefs,
        lef_obs=lef_obs,
        formats=parse_formats(formats),
        strict=strict,
        creation_date=creation_date,
        max_contacts=max_contacts,
        keep_in=keep_in,
        keep_in_bbox=keep_in_bbox,
        rules_file=rules_file,
    )
    _layer(layers)
    paths = find_inputs(inputs, outdir)
    if not paths:
        raise UsageError("no layouts (.gds, .oas, .dxf, .def, each maybe .gz) among the inputs")
    tasks = plan_tasks(paths, outdir, rules, options, layers)
    tty = sys.stderr.isatty()

    def progress(row: dict[str, Any], done: int, total: int) -> None:
        if quiet:
            return
        name = os.path.basename(row["input"])
        if tty:
            width = 30
            filled = int(width * done / total)
            click.echo(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} {name[:40]:<40}", err=True, nl=False)
            if done == total:
                click.echo("", err=True)
        else:
            click.echo(f"[{done}/{total}] {name}: {row['status']}", err=True)

    with batch_lock(outdir):  # one batch at a time into a folder
        rows = run_batch(tasks, jobs or os.cpu_count() or 1, continue_on_error, scheduler, progress)
        write_summary(outdir, rows, rules)
    if not quiet:
        click.echo(summary_table(rows), err=True)
    if as_json:
        with open(os.path.join(outdir, "summary.json")) as fh:
            text = fh.read()
        _stdout(lambda: click.echo(text, nl=False))
    sys.exit(batch_exit_code(rows))


def run() -> None:
    """The console entry point: click's own usage errors become one line too (exit 2); libraries'
    warnings are not the user's business (the reports say what matters)."""
    import warnings

    for category in (RuntimeWarning, DeprecationWarning, FutureWarning, UserWarning):
        warnings.filterwarnings("ignore", category=category)
    try:
        rv = main(standalone_mode=False)
    except click.exceptions.NoArgsIsHelpError as exc:
        click.echo(exc.ctx.get_help() if exc.ctx else str(exc))
        rv = EXIT_OK
    except click.UsageError as exc:
        where = f" (see: {exc.ctx.command_path} --help)" if exc.ctx else ""
        click.echo(f"Error: {one_line(exc.format_message())}{where}", err=True)
        rv = EXIT_USAGE
    except (click.exceptions.Abort, KeyboardInterrupt):  # (the latter: a signal outside the command's handling)
        _interrupted()
    except click.ClickException as exc:
        click.echo(f"Error: {one_line(exc.format_message())}", err=True)
        rv = exc.exit_code
    except SystemExit:  # a command's exit code
        _done()
        raise
    _done()
    sys.exit(rv if isinstance(rv, int) else EXIT_OK)


def _done() -> None:
    """The work is done: a late SIGTERM or Ctrl-C (while the interpreter shuts down) ends the process
    as it would any other, without a traceback."""
    import signal

    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if signal.getsignal(signal.SIGINT) in (signal.default_int_handler, _terminate):
        signal.signal(signal.SIGINT, signal.SIG_DFL)
