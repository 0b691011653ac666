"""DXF (R2010) with the apertures as closed LWPOLYLINEs on layer STENCIL (tip arcs as bulges) and,
when asked, the contacts on layer PADS. The header, tables and objects come from ezdxf; the entities
are streamed as text (ezdxf builds about 5,000 polylines a second, far too slow for a wafer)."""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from ..model import Apertures, Outlines, Polygons
from ..units import um_per_unit
from . import Grid, formatted, outline_groups, plain_shifts, shift_grid, text_chunks

INSUNITS = {"mm": 4, "um": 13, "in": 1, "cm": 5, "m": 6, "nm": 12, "mil": 9}


TEMPLATE = os.path.join(os.path.dirname(__file__), "template.dxf")
#: the same with an empty block DIE, for a wafer's die (its first line: the modelspace's and DIE's handles)
DIE_TEMPLATE = os.path.join(os.path.dirname(__file__), "template_die.dxf")
#: the block holding a wafer's die
DIE_BLOCK = "DIE"


@dataclass(frozen=True)
class DiePlacements:
    """A wafer's die: its apertures in its own coordinates, and the shifts placing it (um); `grid`:
    ((x, y) of the first, (columns, rows), (step x, step y)) when they fill a regular grid."""

    element: Apertures
    shifts: np.ndarray  # (P, 2)
    grid: Grid | None = None


def die_placements(element: Apertures, transforms: np.ndarray) -> DiePlacements | None:
    """The placements of a die drawn by plain shifts (no turn, mirror or magnification); else None."""
    shift = plain_shifts(transforms)
    if shift is None:
        return None
    return DiePlacements(element, shift, shift_grid(shift))


def _template(unit: str) -> tuple[str, str]:
    """The header, tables and objects of an empty R2010 drawing with layers STENCIL and PADS, and the
    modelspace's handle: read from template.dxf (made by `make_template`, importing ezdxf costs a
    quarter of a second), its $INSUNITS set to `unit`."""
    text, handles = _read_template(TEMPLATE, unit)
    return text, handles[0]


def _read_template(path: str, unit: str) -> tuple[str, list[str]]:
    """A shipped template's text, its $INSUNITS set to `unit`, and the handles on its first line."""
    with open(path, encoding="utf-8") as fh:
        first, text = fh.read().split("\n", 1)
    marker = "$INSUNITS\n 70\n"
    at = text.index(marker) + len(marker)
    end = text.index("\n", at)
    return text[:at] + str(INSUNITS[unit]) + text[end:], first.split()


def make_template(unit: str = "mm") -> tuple[str, str]:
    """The template from ezdxf itself (stable: fixed metadata, sorted classes)."""
    text, owner, _die = _ezdxf_drawing(unit, with_die=False)
    return text, owner


def _ezdxf_drawing(unit: str, with_die: bool) -> tuple[str, str, str]:
    """An empty R2010 drawing with layers STENCIL and PADS (and, with_die, an empty block DIE) as ezdxf
    writes it, classes sorted: the text, the modelspace's handle and the block's ("" without it)."""
    import ezdxf

    old = ezdxf.options.write_fixed_meta_data_for_testing
    ezdxf.options.write_fixed_meta_data_for_testing = True
    try:
        doc = ezdxf.new("R2010")
        doc.header["$INSUNITS"] = INSUNITS[unit]
        doc.header["$MEASUREMENT"] = 1
        doc.layers.add("STENCIL", color=5)
        doc.layers.add("PADS", color=2)
        die = str(doc.blocks.new(DIE_BLOCK).block_record_handle) if with_die else ""
        owner = doc.modelspace().block_record_handle
        buf = io.StringIO()
        doc.write(buf)
    finally:
        ezdxf.options.write_fixed_meta_data_for_testing = old
    return _sorted_classes(buf.getvalue()), str(owner), die


def _sorted_classes(text: str) -> str:
    """ezdxf writes the CLASSES section in set order, which changes between processes: sort it."""
    start = text.find("  0\nSECTION\n  2\nCLASSES\n")
    if start < 0:
        return text
    body_at = start + len("  0\nSECTION\n  2\nCLASSES\n")
    end = text.index("  0\nENDSEC\n", body_at)
    blocks = ["  0\nCLASS\n" + b for b in text[body_at:end].split("  0\nCLASS\n") if b]
    return text[:body_at] + "".join(sorted(blocks)) + text[end:]


def _polylines(outlines: Outlines, scale: float, layer: str, owner: str, handle: int) -> tuple[str, int]:
    """Closed LWPOLYLINEs (arcs as bulges), handles in outline order; 7 decimals (0.1 nm in mm)."""
    parts, handle = _polyline_parts(outlines, scale, layer, owner, handle)
    return "".join(parts), handle


def _polyline_parts(
    outlines: Outlines,
    scale: float,
    layer: str,
    owner: str,
    handle: int,
) -> tuple[Iterator[str], int]:
    """The text of `_polylines` a part at a time, and the next free handle."""
    keep = np.flatnonzero(np.diff(outlines.offsets) >= 3)
    handles = np.zeros(len(outlines), dtype=np.int64)
    handles[keep] = handle + np.arange(len(keep))
    groups = []
    for ids, arcs in outline_groups(outlines, keep):
        v = len(arcs)
        at = outlines.offsets[ids][:, None] + np.arange(v)
        XY = formatted(outlines.coords[at] * scale, "%.7f", strip=True)
        pieces: list[str | np.ndarray] = [
            "  0\nLWPOLYLINE\n  5\n",
            formatted(handles[ids], "%X"),
            f"\n330\n{owner}\n100\nAcDbEntity\n  8\n{layer}\n100\nAcDbPolyline\n 90\n{v}\n 70\n1\n",
        ]
        for k in range(v):
            pieces += [" 10\n", XY[:, k, 0], "\n 20\n", XY[:, k, 1], "\n"]
            if arcs[k]:
                pieces += [" 42\n", formatted(outlines.bulge[at[:, k]], "%.7f", strip=True), "\n"]
        groups.append((ids, pieces))
    return text_chunks(groups), handle + len(keep)


def _die_template(unit: str) -> tuple[str, str, str]:
    """As `_template`, with an empty block DIE: the text, the modelspace's and the block's handles,
    read from template_die.dxf (`_ezdxf_drawing(unit, with_die=True)`, shipped: no ezdxf import)."""
    text, (owner, die) = _read_template(DIE_TEMPLATE, unit)
    return text, owner, die


def _inserts(placements: DiePlacements, scale: float, owner: str, handle: int) -> tuple[str, int]:
    """The die's placements: one MINSERT for a regular grid, else an INSERT each."""
    out = []
    if placements.grid is not None:
        (x, y), (nx, ny), (sx, sy) = placements.grid
        rows = [(x, y, nx, ny, sx, sy)]
    else:
        rows = [(x, y, 1, 1, 0.0, 0.0) for x, y in placements.shifts.tolist()]
    for x, y, nx, ny, sx, sy in rows:
        out.append(
            f"  0\nINSERT\n  5\n{handle:X}\n330\n{owner}\n100\nAcDbEntity\n  8\nSTENCIL\n100\nAcDbBlockReference\n"
            f"  2\n{DIE_BLOCK}\n 10\n{_num(x * scale)}\n 20\n{_num(y * scale)}\n 30\n0.0\n"
        )
        if nx > 1 or ny > 1:
            out.append(f" 70\n{nx}\n 71\n{ny}\n 44\n{_num(sx * scale)}\n 45\n{_num(sy * scale)}\n")
        handle += 1
    return "".join(out), handle


def _num(v: float) -> str:
    text = f"{v:.7f}".rstrip("0")
    return text + "0" if text.endswith(".") else text


def dxf_parts(
    apertures: Apertures, pads: Polygons | None = None, unit: str = "mm", placements: DiePlacements | None = None
) -> Iterator[str]:
    """The drawing, a part at a time: every aperture a closed LWPOLYLINE on layer STENCIL; with
    `placements` (a wafer), the die's apertures (`placements.element`) once in block DIE, placed by
    INSERTs (a MINSERT for a regular grid) instead."""
    if placements is not None:
        yield _die_text(placements, pads, unit)
        return
    template, owner = _template(unit)
    scale = 1.0 / um_per_unit(unit)
    head, sep, tail = template.partition("  0\nSECTION\n  2\nENTITIES\n")
    seed_at = head.index("$HANDSEED\n  5\n") + len("$HANDSEED\n  5\n")
    seed_end = head.index("\n", seed_at)
    handle = int(head[seed_at:seed_end], 16) + 0x100
    # a contact without an aperture has an empty outline and is skipped
    body, handle = _polyline_parts(apertures.outlines, scale, "STENCIL", owner, handle)
    pad_body: Iterator[str] = iter(())
    if pads is not None:
        pad_ol = Outlines(pads.coords, np.zeros(len(pads.coords)), pads.offsets)
        pad_body, handle = _polyline_parts(pad_ol, scale, "PADS", owner, handle)
    yield head[:seed_at] + f"{handle + 1:X}" + head[seed_end:] + sep
    yield from body
    yield from pad_body
    yield tail


def _die_text(placements: DiePlacements, pads: Polygons | None, unit: str) -> str:
    template, owner, die = _die_template(unit)
    scale = 1.0 / um_per_unit(unit)
    seed_at = template.index("$HANDSEED\n  5\n") + len("$HANDSEED\n  5\n")
    seed_end = template.index("\n", seed_at)
    handle = int(template[seed_at:seed_end], 16) + 0x100
    block_text, handle = _polylines(placements.element.outlines, scale, "STENCIL", die, handle)
    head, sep, tail = template.partition("  0\nSECTION\n  2\nENTITIES\n")
    # the die's entities go before its ENDBLK
    begin = head.index(f"  2\n{DIE_BLOCK}\n", head.index("  0\nSECTION\n  2\nBLOCKS\n"))
    end_at = head.index("  0\nENDBLK\n", begin)
    head = head[:end_at] + block_text + head[end_at:]
    body, handle = _inserts(placements, scale, owner, handle)
    if pads is not None:
        pad_ol = Outlines(pads.coords, np.zeros(len(pads.coords)), pads.offsets)
        text, handle = _polylines(pad_ol, scale, "PADS", owner, handle)
        body += text
    head = head[:seed_at] + f"{handle + 1:X}" + head[seed_end:]
    return head + sep + body + tail


if __name__ == "__main__":  # python -m stencilgen.writers.dxf: write template.dxf anew
    text, owner = make_template()
    with open(TEMPLATE, "w", encoding="utf-8", newline="\n") as fh:
        fh.write(owner + "\n" + text)
    text, owner, die = _ezdxf_drawing("mm", with_die=True)
    with open(DIE_TEMPLATE, "w", encoding="utf-8", newline="\n") as fh:
        fh.write(f"{owner} {die}\n" + text)
    sys.stdout.write(f"wrote {TEMPLATE} and {DIE_TEMPLATE}\n")
