"""DXF (R2010) with the apertures as closed LWPOLYLINEs on layer STENCIL (tip arcs as bulges) and,
when asked, the contacts on layer PADS. The header, tables and objects come from ezdxf; the entities
are streamed as text (ezdxf builds about 5,000 polylines a second, far too slow for a wafer)."""

from __future__ import annotations

import io

import numpy as np

from ..model import Apertures, Polygons
from ..units import um_per_unit
from . import atomic_write

INSUNITS = {"mm": 4, "um": 13, "in": 1, "cm": 5, "m": 6, "nm": 12, "mil": 9}


def _template(unit: str) -> tuple[str, str]:
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


def _fmt(values: np.ndarray) -> list[str]:
    """Numbers for DXF text: 7 decimals (0.1 nm in mm), trailing zeros dropped."""
    return [f"{v:.7f}".rstrip("0").rstrip(".") or "0" for v in values.tolist()]


def _polylines(
    out: list[str],
    coords: np.ndarray,
    bulge: np.ndarray | None,
    offsets: np.ndarray,
    layer: str,
    owner: str,
    handle: int,
) -> int:
    xs, ys = _fmt(coords[:, 0]), _fmt(coords[:, 1])
    vertex = [f" 10\n{x}\n 20\n{y}\n" for x, y in zip(xs, ys, strict=True)]
    if bulge is not None:
        arcs = np.flatnonzero(bulge != 0)
        for k, b in zip(arcs.tolist(), _fmt(bulge[arcs]), strict=True):
            vertex[k] += f" 42\n{b}\n"
    off = offsets.tolist()
    for i in range(len(off) - 1):
        s, e = off[i], off[i + 1]
        if e - s < 3:
            continue
        out.append(
            f"  0\nLWPOLYLINE\n  5\n{handle:X}\n330\n{owner}\n100\nAcDbEntity\n  8\n{layer}\n"
            f"100\nAcDbPolyline\n 90\n{e - s}\n 70\n1\n"
        )
        out.append("".join(vertex[s:e]))
        handle += 1
    return handle


def dxf_text(apertures: Apertures, pads: Polygons | None = None, unit: str = "mm") -> str:
    template, owner = _template(unit)
    scale = 1.0 / um_per_unit(unit)
    head, sep, tail = template.partition("  0\nSECTION\n  2\nENTITIES\n")
    seed_at = head.index("$HANDSEED\n  5\n") + len("$HANDSEED\n  5\n")
    seed_end = head.index("\n", seed_at)
    handle = int(head[seed_at:seed_end], 16) + 0x100
    body: list[str] = []
    ol = apertures.outlines  # a contact without an aperture has an empty outline and is skipped
    handle = _polylines(body, ol.coords * scale, ol.bulge, ol.offsets, "STENCIL", owner, handle)
    if pads is not None:
        handle = _polylines(body, pads.coords * scale, None, pads.offsets, "PADS", owner, handle)
    head = head[:seed_at] + f"{handle + 1:X}" + head[seed_end:]
    return head + sep + "".join(body) + tail


def write_dxf(path: str, apertures: Apertures, pads: Polygons | None = None, unit: str = "mm") -> None:
    text = dxf_text(apertures, pads, unit)
    atomic_write(path, text)
