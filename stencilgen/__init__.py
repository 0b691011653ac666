"""stencilgen: solder-paste stencils for fine-pitch dies and wafers.

The public API is imported lazily so that `stencilgen --version` stays instant:

    import stencilgen
    layout = stencilgen.read_layout("die.gds", layer="9/0")
    planned = stencilgen.plan(layout, rules=None)          # None: the rules' defaults
    planned.write("out/", formats=("gerber", "dxf", "gds", "html"))
    checked = stencilgen.check(layout, "out/die.gbr")
    paired = stencilgen.pair(die, substrate, first_alloy="Pb95Sn5", second_alloy="Sn63Pb37")
    rules = stencilgen.Rules.load("my-rules.toml")
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

_API = {
    "read_layout": "stencilgen.readers",
    "read_outline": "stencilgen.readers",
    "find_rows": "stencilgen.rows",
    "find_layout_rows": "stencilgen.rows",
    "plan": "stencilgen.api",
    "check": "stencilgen.api",
    "inspect": "stencilgen.api",
    "KeepIn": "stencilgen.api",
    "PlannedStencil": "stencilgen.api",
    "CheckedStencil": "stencilgen.api",
    "pair": "stencilgen.pairing",
    "PairedStencils": "stencilgen.pairing",
    "Placement": "stencilgen.placement",
    "Rules": "stencilgen.rules",
    "StencilgenError": "stencilgen.errors",
    "UsageError": "stencilgen.errors",
    "InputError": "stencilgen.errors",
    "EmptyStencil": "stencilgen.errors",
    "OutputError": "stencilgen.errors",
    "inspect_report": "stencilgen.report",
    "load_report": "stencilgen.report",
}

__all__ = ["__version__", *sorted(_API)]


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


def __getattr__(name: str) -> Any:
    if name in _API:
        value = getattr(import_module(_API[name]), name)
        globals()[name] = value  # found once
        return value
    raise AttributeError(f"module 'stencilgen' has no attribute {name!r}")
