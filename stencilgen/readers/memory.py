"""Layouts built in memory (gdstk, KLayout, gdsfactory) read as a file is: each is written to a GDS in a
folder of its own, read from there, and the folder is removed when the layout read from it is (the
keep-in, the plan's file names and the reports read the file's other layers and name it)."""

from __future__ import annotations

import os
import shutil
import tempfile
import warnings
import weakref
from typing import Any

from ..errors import StencilgenError, UsageError
from ..model import Layout
from .gds import CONTEXT_CELL, _captured_stderr

#: what read_layout takes besides a path
KINDS = "a gdstk Library or Cell, a KLayout Layout or Cell, or an object with write_gds(path) (gdsfactory)"


def _writer(obj: Any) -> tuple[str, Any, bool]:
    """The object's name (its top cell's, where it has one), how to write it to a GDS file, and whether
    it is a cell (its name is the cell to read)."""
    kind = f"{type(obj).__module__}.{type(obj).__name__}"
    if kind == "gdstk.Library":
        tops = [c.name for c in obj.top_level() if c.name != CONTEXT_CELL]  # (KLayout's, in a file it wrote)
        return (tops[0] if len(tops) == 1 else obj.name), obj.write_gds, False
    if kind == "gdstk.Cell":

        def cell_gds(path: str) -> None:
            import gdstk

            lib = gdstk.Library()
            lib.add(obj, *obj.dependencies(True))
            lib.write_gds(path)

        return obj.name, cell_gds, True
    if kind in ("klayout.dbcore.Layout", "pya.Layout", "klayout.db.Layout"):
        tops = [c.name for c in obj.top_cells() if c.name != CONTEXT_CELL]
        return (tops[0] if len(tops) == 1 else "layout"), obj.write, False
    if kind in ("klayout.dbcore.Cell", "pya.Cell", "klayout.db.Cell"):
        return obj.name, obj.write, True
    if callable(getattr(obj, "write_gds", None)):  # (gdsfactory's Component, kfactory's KCell)
        return str(getattr(obj, "name", None) or "layout"), lambda path: obj.write_gds(path), False
    raise TypeError(f"read_layout: the path of a layout file, or {KINDS}; not {type(obj).__name__}")


def read_object(obj: Any, cell: str | None, read: Any) -> Layout:
    """`read(path, cell)` of the object written to a GDS named after the cell read (the outputs are
    named after the file): the Layout read, its file kept until the Layout is gone. A Cell's own name
    is the cell read unless `cell` names another."""
    from ..writers import safe_name

    name, write, is_cell = _writer(obj)
    if cell is None and is_cell:
        cell = name
    folder = tempfile.mkdtemp(prefix="stencilgen-layout-")
    try:
        path = os.path.join(folder, safe_name(cell if cell is not None else name) + ".gds")
        try:
            # (what the library says of its own file, on the C stderr or as a warning, is not the user's)
            with _captured_stderr(), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                write(path)
        except Exception as exc:  # (the library's own words: an empty library, a cell without a name)
            raise UsageError(f"{name}: the layout given could not be written to a GDS file: {exc}") from exc
        try:
            layout = read(path, cell)
        except StencilgenError as exc:  # (named as the caller knows it, not by the file written for it)
            said = str(exc).replace(path, f"the {type(obj).__name__} {name!r} given")
            raise type(exc)(said) from exc
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    weakref.finalize(layout, shutil.rmtree, folder, True)
    return layout
