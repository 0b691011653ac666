"""DXF (R2010) with the apertures as closed LWPOLYLINEs on layer STENCIL (tip arcs as bulges) and,
when asked, the contacts on layer PADS. The header, tables and objects come from ezdxf; the entities
are streamed as text (ezdxf builds about 5,000 polylines a second, far too slow for a wafer)."""

from __future__ import annotations

import io
import os
import sys

import numpy as np

from ..model import Apertures, Outlines, Polygons
from ..units import um_per_unit
from . import atomic_write, formatted, outline_groups, text_table

INSUNITS = {"mm": 4, "um": 13, "in": 1, "cm": 5, "m": 6, "nm": 12, "mil": 9}


TEMPLATE = os.path.join(os.path.dirname(__file__), "template.dxf")


def _template(unit: str) -> tuple[str, str]:
    """The header, tables and objects of an empty R2010 drawing with layers STENCIL and PADS, and the
    modelspace's handle: read from template.dxf (made by `make_template`, importing ezdxf costs a
    quarter of a second), its $INSUNITS set to `unit`."""
    with open(TEMPLATE, encoding="utf-8") as fh:
        owner, text = fh.read().split("\n", 1)
    marker = "$INSUNITS\n 70\n"
    at = text.index(marker) + len(marker)
    end = text.index("\n", at)
    return text[:at] + str(INSUNITS[unit]) + text[end:], owner


def make_template(unit: str = "mm") -> tuple[str, str]:
    """The template from ezdxf itself (stable: fixed metadata, sorted classes)."""
    import ezdxf

    old = ezdxf.options.write_fixed_meta_data_for_testing
    ezdxf.options.write_fixed_meta_data_for_testing = True
    try:
        doc = ezdxf.new("R2010")
        doc.header["$INSUNITS"] = INSUNITS[unit]
        doc.header["$MEASUREMENT"] = 1
        doc.layers.add("STENCIL", color=5)
        doc.layers.add("PADS", color=2)
        owner = doc.modelspace().block_record_handle
        buf = io.StringIO()
        doc.write(buf)
    finally:
        ezdxf.options.write_fixed_meta_data_for_testing = old
    return _sorted_classes(buf.getvalue()), str(owner)


def _sorted_classes(text: str) -> str:
    """ezdxf writes the CLASSES section in set order, which changes between processes: sort it."""
    start = text.find("  0\nSECTION\n  2\nCLASSES\n")
    if start < 0:
        return text
    body_at = start + len("  0\nSECTION\n  2\nCLASSES\n")
    end = text.index("  0\nENDSEC\n", body_at)
    blocks = ["  0\nCLASS\n" + b for b in text[body_at:end].split("  0\nCLASS\n") if b]
    return text[:body_at] + "".join(sorted(blocks)) + text[end:]


def _polylines(
    outlines: Outlines,
    scale: float,
    layer: str,
    owner: str,
    handle: int,
) -> tuple[str, int]:
    """Closed LWPOLYLINEs (arcs as bulges), handles in outline order; 7 decimals (0.1 nm in mm)."""
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
    return text_table(groups), handle + len(keep)


def dxf_text(apertures: Apertures, pads: Polygons | None = None, unit: str = "mm") -> str:
    template, owner = _template(unit)
    scale = 1.0 / um_per_unit(unit)
    head, sep, tail = template.partition("  0\nSECTION\n  2\nENTITIES\n")
    seed_at = head.index("$HANDSEED\n  5\n") + len("$HANDSEED\n  5\n")
    seed_end = head.index("\n", seed_at)
    handle = int(head[seed_at:seed_end], 16) + 0x100
    body: list[str] = []
    # a contact without an aperture has an empty outline and is skipped
    text, handle = _polylines(apertures.outlines, scale, "STENCIL", owner, handle)
    body.append(text)
    if pads is not None:
        pad_ol = Outlines(pads.coords, np.zeros(len(pads.coords)), pads.offsets)
        text, handle = _polylines(pad_ol, scale, "PADS", owner, handle)
        body.append(text)
    head = head[:seed_at] + f"{handle + 1:X}" + head[seed_end:]
    return head + sep + "".join(body) + tail


def write_dxf(path: str, apertures: Apertures, pads: Polygons | None = None, unit: str = "mm") -> None:
    text = dxf_text(apertures, pads, unit)
    atomic_write(path, text)


if __name__ == "__main__":  # python -m stencilgen.writers.dxf: write template.dxf anew
    text, owner = make_template()
    with open(TEMPLATE, "w", encoding="utf-8", newline="\n") as fh:
        fh.write(owner + "\n" + text)
    sys.stdout.write(f"wrote {TEMPLATE}\n")
