"""stencilgen: solder-paste stencils for fine-pitch dies and wafers.

The public API is imported lazily so that `stencilgen --version` stays instant:

    from stencilgen import read_layout, find_rows
    layout = read_layout("die.gds", layer="9/0")
    rows = find_rows(layout.contacts)
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

_API = {
    "read_layout": "stencilgen.readers",
    "find_rows": "stencilgen.rows",
    "find_layout_rows": "stencilgen.rows",
    "Rules": "stencilgen.rules",
    "StencilgenError": "stencilgen.errors",
    "inspect_report": "stencilgen.report",
}

__all__ = ["__version__", *sorted(_API)]


def __getattr__(name: str) -> Any:
    if name in _API:
        return getattr(import_module(_API[name]), name)
    raise AttributeError(f"module 'stencilgen' has no attribute {name!r}")
