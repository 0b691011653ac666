"""DEF + LEF through KLayout's LEF/DEF reader: the DEF places macros (in its own units and
orientations), the LEF files draw them. The pads are the pin shapes (and, when asked, the
obstructions) on one LEF layer of every placed macro; each macro's shapes are handed over once, in
its own coordinates, with the transforms of all its placements."""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

from .. import scratch
from ..errors import InputError, UsageError, input_error
from ..model import Polygons
from .base import Placed, RawLayout

PIN, OBS, OUTLINE = ".PIN", ".OBS", "OUTLINE"
_UNITS = re.compile(rb"\bUNITS\s+DISTANCE\s+MICRONS\s+(\d+)\s*;")
#: how much of a DEF's head is searched for its UNITS statement (it comes before the COMPONENTS)
HEAD_BYTES = 1 << 20
LISTED = 8


def def_units(path: str) -> float | None:
    """The DEF's database unit in um (UNITS DISTANCE MICRONS n: 1/n um), None where it states none."""
    with open(path, "rb") as fh:
        found = _UNITS.search(fh.read(HEAD_BYTES))
    if found is None or int(found.group(1)) <= 0:
        return None
    return 1.0 / int(found.group(1))


def _config(path: str, lefs: Sequence[str], shapes: bool) -> Any:
    """KLayout's reader options: the LEF files named (not those beside the DEF), the DEF's own unit,
    the macros' outlines, and with `shapes` their pins and obstructions; nothing else of the DEF
    (routing, its own pins, vias, fills, labels)."""
    import klayout.db as db

    c = db.LEFDEFReaderConfiguration()
    c.lef_files = [os.path.abspath(f) for f in lefs]
    c.read_lef_with_def = False
    c.macro_resolution_mode = 1  # (a macro with FOREIGN: its LEF geometry too, no layout file of its own)
    unit = def_units(path)
    if unit is not None:
        c.dbu = unit
    for flag in (
        "produce_routing",
        "produce_special_routing",
        "produce_via_geometry",
        "produce_pins",
        "produce_labels",
        "produce_lef_labels",
        "produce_fills",
        "produce_blockages",
        "produce_regions",
        "produce_placement_blockages",
    ):
        setattr(c, flag, False)
    c.produce_lef_pins = shapes
    c.produce_obstructions = shapes
    c.produce_cell_outlines = True
    c.lef_pins_suffix, c.obstructions_suffix, c.cell_outline_layer = PIN, OBS, OUTLINE
    options = db.LoadLayoutOptions()
    options.lefdef_config = c
    options.warn_level = 0  # (KLayout prints its warnings on stderr; what matters is said in our errors)
    return options


@contextmanager
def _def_named(path: str) -> Iterator[str]:
    """The file under a name ending in .def, as KLayout tells a DEF by its name (a link to it, in a
    temporary folder, for die.defok or an expanded copy)."""
    if path.lower().endswith(".def"):
        yield path
        return
    with scratch.folder() as folder:
        link = os.path.join(folder, "layout.def")
        os.symlink(os.path.abspath(path), link)
        yield link


def _macro_holders(lefs: Sequence[str], macro: str) -> list[str]:
    """The LEF files that define MACRO `macro`."""
    pattern = re.compile(rb"^\s*MACRO\s+" + re.escape(macro.encode()) + rb"\s*$", re.MULTILINE)
    found = []
    for lef in lefs:
        try:
            with open(lef, "rb") as fh:
                if pattern.search(fh.read()):
                    found.append(lef)
        except OSError:
            continue
    return found


def _load(path: str, lefs: Sequence[str], shapes: bool, name: str) -> Any:
    import klayout.db as db

    layout = db.Layout()
    try:
        with _def_named(path) as named:
            layout.read(named, _config(path, lefs, shapes))
    except RuntimeError as exc:
        twice = re.search(r"Duplicate MACRO name: (\S+)", str(exc))
        holders = _macro_holders(lefs, twice.group(1)) if twice else []
        if twice and len(holders) > 1:
            raise input_error(
                name,
                f"MACRO {twice.group(1)} is defined in more than one --lef: "
                + ", ".join(holders)
                + "; pass the one the design uses",
            ) from None
        reason = str(exc).splitlines()[0].replace(path, name).rstrip(".") if str(exc) else "unreadable"
        raise input_error(name, f"not a readable DEF/LEF ({reason})") from None
    except UnicodeDecodeError:  # (KLayout's message quoting bytes that are not text)
        raise input_error(name, "not a readable DEF/LEF (it holds bytes that are not text)") from None
    tops = layout.top_cells()
    if len(tops) != 1:
        raise input_error(name, "not a readable DEF (no design)")
    return layout


def _placed(top: Any) -> tuple[dict[int, list[np.ndarray]], Counter[str]]:
    """The (2, 3) transform of every placement of every macro cell (by cell index), and the count of
    placements of each macro by name."""
    import klayout.db as db

    out: dict[int, list[np.ndarray]] = {}
    counts: Counter[str] = Counter()
    for inst in top.each_inst():
        t = inst.dcplx_trans
        o = t * db.DPoint(0, 0)
        ex, ey = t * db.DPoint(1, 0), t * db.DPoint(0, 1)
        m = np.array([[ex.x - o.x, ey.x - o.x, o.x], [ex.y - o.y, ey.y - o.y, o.y]])
        steps = [(0.0, 0.0)]
        if inst.is_regular_array():
            a, b = inst.da, inst.db
            steps = [(i * a.x + j * b.x, i * a.y + j * b.y) for i in range(inst.na) for j in range(inst.nb)]
        for dx, dy in steps:
            placed = m.copy()
            placed[:, 2] += (dx, dy)
            out.setdefault(inst.cell_index, []).append(placed)
        counts[inst.cell.name] += len(steps)
    return out, counts


def _shapes(cell: Any, li: int) -> list[Any]:
    """The cell's shapes on layer `li` with those of its children, as polygons in its coordinates."""
    out = []
    it = cell.begin_shapes_rec(li)
    while not it.at_end():
        shape = it.shape()
        if shape.is_box() or shape.is_polygon() or shape.is_path() or shape.is_simple_polygon():
            out.append(shape.polygon.transformed(it.trans()))
        it.next()
    return out


def _listed(counts: Counter[str]) -> str:
    """`PAD (238), PAD_FILL5_V (475), ...`: the most frequent first, the rest counted."""
    items = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    text = ", ".join(f"{k} ({v})" for k, v in items[:LISTED])
    return text + (f" and {len(items) - LISTED} more" if len(items) > LISTED else "")


def _layers(layout: Any) -> dict[str, dict[str, list[int]]]:
    """LEF layer name -> {".PIN" / ".OBS": the layout's layer indexes holding them}."""
    out: dict[str, dict[str, list[int]]] = {}
    for li in layout.layer_indexes():
        name = layout.get_info(li).name or ""
        for purpose in (PIN, OBS):
            if name.endswith(purpose):
                out.setdefault(name[: -len(purpose)], {}).setdefault(purpose, []).append(li)
    return out


def read_def(
    path: str,
    layer: str | None,
    lefs: Sequence[str],
    obstructions: bool,
    max_shapes: int,
    name: str | None = None,
) -> RawLayout:
    """The pin shapes (with `obstructions`, also the obstructions) on LEF layer `layer` of every
    macro the DEF places. name: the file as errors name it (`path` may be its expanded copy)."""
    import klayout.db as db

    name = name or path
    if not lefs:
        layout = _load(path, [], False, name)
        _where, counts = _placed(layout.top_cell())
        placed = f"it places {_listed(counts)}" if counts else "it places no macros"
        raise UsageError(f"{name}: a DEF's pads are drawn in its macros' LEF files; name them with --lef ({placed})")
    for lef in lefs:
        if not os.path.isfile(lef):
            raise input_error(lef, "no such LEF file")
    layout = _load(path, lefs, True, name)
    top = layout.top_cell()
    where, counts = _placed(top)
    if not counts:
        raise input_error(name, "the DEF places no macros (no COMPONENTS)")
    # (a macro no LEF defines is an empty cell; one with FOREIGN has no outline, but its pins)
    undefined = sorted(layout.cell(ci).name for ci in where if layout.cell(ci).bbox().empty())
    by_layer = _layers(layout)
    purposes = (PIN, OBS) if obstructions else (PIN,)

    def placed_shapes(lef_layer: str) -> int:
        total = 0
        for ci, ts in where.items():
            for purpose in purposes:
                for li in by_layer.get(lef_layer, {}).get(purpose, []):
                    total += len(_shapes(layout.cell(ci), li)) * len(ts)
        return total

    present = {k: n for k in sorted(by_layer) if (n := placed_shapes(k))}

    def listing() -> str:
        text = "LEF layers present: " + (", ".join(f"{k} ({v})" for k, v in present.items()) or "none")
        if undefined:
            text += f"; macros the LEF files do not define: {', '.join(undefined[:LISTED])}"
            text += f" and {len(undefined) - LISTED} more" if len(undefined) > LISTED else ""
        return text

    if not present:
        kind = "pin or obstruction shapes" if obstructions else "pin shapes"
        raise input_error(name, f"no placed macro has {kind} on any layer; {listing()}")
    if layer is None:
        if len(present) != 1:
            raise UsageError(f"{name}: choose the pad layer with --layer (layer= in Python; a LEF layer); {listing()}")
        layer = next(iter(present))
    if layer not in present:
        alike = [k for k in present if k.lower() == layer.lower()]
        if len(alike) != 1:
            kind = "pin or obstruction shapes" if obstructions else "pin shapes"
            raise input_error(name, f"no placed macro has {kind} on LEF layer {layer!r}; {listing()}")
        layer = alike[0]
    total = present[layer]
    if total > max_shapes:
        raise InputError(
            f"{name}: layer {layer} expands to {total:,} shapes, above the limit of {max_shapes:,} "
            "(raise it with --max-contacts)"
        )
    dbu = float(layout.dbu)
    parts = []
    for ci in sorted(where, key=lambda c: layout.cell(c).name):
        region = db.Region()
        for purpose in purposes:
            for li in by_layer[layer].get(purpose, []):
                for poly in _shapes(layout.cell(ci), li):
                    region.insert(poly)
        if region.is_empty():
            continue
        rings = []
        for poly in region.merged().each():  # one macro's touching pins are one pad
            hull = poly.resolved_holes() if poly.holes() else poly  # (a ring: a frame, set aside later)
            rings.append(np.array([(p.x, p.y) for p in hull.each_point_hull()], dtype=float) * dbu)
        parts.append(Placed(Polygons.from_list(rings), np.stack(where[ci])))
    return RawLayout(
        path=name,
        format="def",
        cell=top.name,
        layer=layer,
        grid_um=float(f"{dbu:.12g}"),
        parts=parts,
        layers=present,
        cells=sorted(layout.cell(ci).name for ci in where),
        separate=True,
    )


def die_area(path: str) -> tuple[float, float, float, float] | None:
    """The DEF's DIEAREA (its bounding box, um), None when it gives none."""
    import klayout.db as db

    layout = _load(path, [], False, path)
    top = layout.top_cell()
    li = layout.find_layer(db.LayerInfo(OUTLINE))
    if li is None or top.shapes(li).is_empty():
        return None
    b = db.Region(top.shapes(li)).bbox().to_dtype(layout.dbu)
    return (float(b.left), float(b.bottom), float(b.right), float(b.top))
