"""The command line: parse options, call the library, print, exit. The only module importing click."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from . import __version__
from .errors import StencilgenError

F = TypeVar("F", bound=Callable[..., Any])

#: exit codes every command shares
EXIT_OK, EXIT_RULE_ERRORS, EXIT_USAGE, EXIT_INPUT, EXIT_OUTPUT, EXIT_INTERNAL = 0, 1, 2, 3, 4, 70


def _fail(message: str, code: int) -> None:
    click.echo(f"Error: {message}", err=True)
    sys.exit(code)


def handle_errors(func: F) -> F:
    """Library errors become one `Error: ...` line and their exit code; nothing else escapes."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except StencilgenError as exc:
            _fail(str(exc), exc.exit_code)
        except KeyboardInterrupt:
            _fail("interrupted", 130)
        except MemoryError:
            _fail("out of memory; lower --max-contacts or split the layout", EXIT_INPUT)
        except (click.exceptions.Exit, click.ClickException, SystemExit):
            raise
        except Exception as exc:  # a bug: still one line, never a traceback
            _fail(f"internal error ({type(exc).__name__}: {exc}); please report it with the input file", EXIT_INTERNAL)

    return wrapper  # type: ignore[return-value]


def _emit_json(doc: Any) -> None:
    click.echo(json.dumps(doc, indent=1, sort_keys=False, allow_nan=False))


layer_option = click.option(
    "--layer", metavar="L/D|NAME", help="Pad layer: LAYER/DATATYPE for GDS/OASIS (e.g. 9/0), a layer name for DXF."
)
cell_option = click.option("--cell", metavar="NAME", help="GDS/OASIS top cell (default: the only top cell).")
units_option = click.option(
    "--units", metavar="UNIT", help="DXF drawing unit (um, mm, in, ...) when $INSUNITS is missing or wrong."
)
max_option = click.option(
    "--max-contacts",
    type=click.IntRange(min=1),
    default=20_000_000,
    show_default=True,
    help="Refuse layouts that expand to more shapes than this on the pad layer.",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, "--version", prog_name="stencilgen")
def main() -> None:
    """Design solder-paste stencils for fine-pitch dies and wafers.

    \b
    Example:
      stencilgen inspect die.gds --layer 9/0
    """


@main.command()
@click.argument("file", type=click.Path(dir_okay=True, path_type=str))
@layer_option
@cell_option
@units_option
@max_option
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document on stdout and nothing else.")
@handle_errors
def inspect(
    file: str, layer: str | None, cell: str | None, units: str | None, max_contacts: int, as_json: bool
) -> None:
    """Read a layout's pad layer and summarise its contacts, rows, corners and arrays.

    \b
    Examples:
      stencilgen inspect die.gds --layer 9/0
      stencilgen inspect pads.dxf --layer PADS --units mm --json
    """
    from .readers import read_layout
    from .report import inspect_report, inspect_text
    from .rows import find_layout_rows

    layout = read_layout(file, layer=layer, cell=cell, units=units, max_contacts=max_contacts, list_layers=True)
    rows = find_layout_rows(layout.contacts, layout.instances)
    doc = inspect_report(layout, rows)
    if as_json:
        _emit_json(doc)
    else:
        click.echo(inspect_text(doc))
