"""Make the bundled sample layouts and their expected readings (expected.json).

    .venv/bin/python sample_layouts/make_samples.py

Each layout exercises one reading path; expected.json says what inspect must find in it.
"""

from __future__ import annotations

import json
import os
import sys

import ezdxf
import gdstk
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests"))

import synth  # noqa: E402

PAD_LAYER = (9, 0)


def _lib() -> gdstk.Library:
    return gdstk.Library(unit=1e-6, precision=1e-9)


def _write(lib: gdstk.Library, name: str) -> str:
    path = os.path.join(HERE, name)
    lib.write_gds(path, timestamp=__import__("datetime").datetime(2026, 1, 1))
    return path


def ring_gds() -> dict:
    """Fine-pitch ring, 4 rows of 17 at 100 um with corners; pads are one PAD cell placed by
    rotated references and by an array reference; metal and outline on other layers."""
    lib = _lib()
    pad = lib.new_cell("PAD")
    pad.add(gdstk.rectangle((-35, -50), (35, 50), layer=9, datatype=0))  # opening: 70 along, 100 across
    pad.add(gdstk.rectangle((-40, -55), (40, 55), layer=134, datatype=0))  # top metal, bigger
    top = lib.new_cell("RING_DIE")
    half, edge, n, p = 1000.0, 80.0, 17, 100.0
    start = -(n - 1) / 2 * p
    # bottom row: one array reference of 17 columns
    top.add(gdstk.Reference(pad, (start, -half + edge), columns=n, rows=1, spacing=(p, 0)))
    for i in range(n):
        off = start + i * p
        top.add(gdstk.Reference(pad, (half - edge, off), rotation=np.pi / 2))
        top.add(gdstk.Reference(pad, (-off, half - edge), rotation=np.pi))
        top.add(gdstk.Reference(pad, (-half + edge, -off), rotation=3 * np.pi / 2))
    top.add(gdstk.rectangle((-half, -half), (half, half), layer=39, datatype=0))
    _write(lib, "ring_100um.gds")
    return {"layer": "9/0", "contacts": 68, "rows": 4, "pitches": [100.0] * 4, "corners": 4, "arrays": 0, "isolated": 0}


def rotated_mixed_gds() -> dict:
    """The die turned 17.5 deg by its parent's reference, mirrored; 80 um pitch on two sides and
    125 um on the other two (mixed pitch), one contact missing in a row."""
    die = synth.ring(
        side=2000.0, pitch=(80.0, 125.0, 80.0, 125.0), count=(21, 13, 21, 13), pad=(50.0, 80.0), missing={0: [7]}
    )
    lib = _lib()
    cell = lib.new_cell("DIE")
    for poly in die.polygons():
        cell.add(gdstk.Polygon(poly, *PAD_LAYER))
    top = lib.new_cell("TOP")
    top.add(gdstk.Reference(cell, (5000.0, -3000.0), rotation=np.radians(17.5), x_reflection=True))
    _write(lib, "rotated_mixed_pitch.gds")
    return {
        "layer": "9/0",
        "contacts": 67,
        "rows": 4,
        "pitches": [80.0, 80.0, 125.0, 125.0],
        "corners": 4,
        "arrays": 0,
        "isolated": 0,
    }


def staggered_gds() -> dict:
    """Inner and outer rows on every side, shifted half a pitch (a staggered double row)."""
    die = synth.staggered_ring(side=3000.0, pitch=120.0, count=15, sep=80.0)
    synth.write_gds(os.path.join(HERE, "staggered_rows.gds"), die.polygons())
    return {
        "layer": "9/0",
        "contacts": 4 * 29,
        "rows": 8,
        "pitches": [120.0] * 8,
        "staggered": 4,
        "arrays": 0,
        "isolated": 0,
    }


def array_gds() -> dict:
    """A 10 x 10 area array of round 60 um bumps at 150 um pitch, drawn as 64-gons."""
    lib = _lib()
    top = lib.new_cell("BUMPS")
    for j in range(10):
        for i in range(10):
            top.add(gdstk.ellipse((i * 150.0, j * 150.0), 30.0, tolerance=0.01, layer=9, datatype=0))
    _write(lib, "area_array.gds")
    return {"layer": "9/0", "contacts": 100, "rows": 0, "arrays": 1, "array_lines": [10, 10], "isolated": 0}


def dxf_mm_blocks() -> dict:
    """A DXF in millimetres: a PAD block (rounded rectangle, bulges), a ROW block of 12 PAD inserts,
    the ROW inserted four times turned 0/90/180/270 deg, scaled pads in one row; plus a round pad."""
    doc = ezdxf.new("R2010")
    doc.header["$INSUNITS"] = 4
    doc.layers.add("PADS")
    pad = doc.blocks.new("PAD")
    w, h, r = 0.060, 0.090, 0.010  # mm; rounded corners by bulges (tan(90/4) = 0.41421356)
    b = float(np.tan(np.pi / 8))
    pad.add_lwpolyline(
        [
            (-w / 2 + r, -h / 2, 0),
            (w / 2 - r, -h / 2, b),
            (w / 2, -h / 2 + r, 0),
            (w / 2, h / 2 - r, b),
            (w / 2 - r, h / 2, 0),
            (-w / 2 + r, h / 2, b),
            (-w / 2, h / 2 - r, 0),
            (-w / 2, -h / 2 + r, b),
        ],
        format="xyb",
        close=True,
        dxfattribs={"layer": "0"},  # layer 0 in a block takes the INSERT's layer
    )
    row = doc.blocks.new("ROW")
    n, p = 12, 0.100
    for i in range(n):
        row.add_blockref("PAD", ((i - (n - 1) / 2) * p, 0), dxfattribs={"layer": "PADS"})
    msp = doc.modelspace()
    half = 0.700
    for k, ang in enumerate((0, 90, 180, 270)):
        t = np.radians(ang)
        pos = (half * np.sin(t), -half * np.cos(t))
        msp.add_blockref("ROW", pos, dxfattribs={"rotation": ang, "layer": "PADS"})
        del k
    msp.add_circle((0.0, 0.0), 0.040, dxfattribs={"layer": "PADS"})
    msp.add_lwpolyline([(-1, -1), (1, -1), (1, 1), (-1, 1)], close=True, dxfattribs={"layer": "OUTLINE"})
    doc.saveas(os.path.join(HERE, "die_mm_blocks.dxf"))
    return {
        "layer": "PADS",
        "units": None,
        "contacts": 49,
        "rows": 4,
        "pitches": [100.0] * 4,
        "corners": 4,
        "arrays": 0,
        "isolated": 1,
    }


def wafer_gds() -> dict:
    """A wafer: the ring die of ring_100um.gds as one cell, arrayed 5 x 4 at 2100 um."""
    die = synth.ring(side=2000.0, pitch=100.0, count=17, pad=(60.0, 90.0))
    lib = _lib()
    cell = lib.new_cell("DIE")
    for poly in die.polygons():
        cell.add(gdstk.Polygon(poly, *PAD_LAYER))
    cell.add(gdstk.rectangle((-1000, -1000), (1000, 1000), layer=39, datatype=0))
    top = lib.new_cell("WAFER")
    top.add(gdstk.Reference(cell, (0, 0), columns=5, rows=4, spacing=(2100.0, 2100.0)))
    _write(lib, "wafer_5x4.gds")
    return {
        "layer": "9/0",
        "contacts": 20 * 68,
        "rows": 80,
        "pitches": [100.0] * 80,
        "corners": 80,
        "arrays": 0,
        "isolated": 0,
    }


def main() -> None:
    ezdxf.options.write_fixed_meta_data_for_testing = True  # the same bytes every time
    expected = {
        "ring_100um.gds": ring_gds(),
        "rotated_mixed_pitch.gds": rotated_mixed_gds(),
        "staggered_rows.gds": staggered_gds(),
        "area_array.gds": array_gds(),
        "die_mm_blocks.dxf": dxf_mm_blocks(),
        "wafer_5x4.gds": wafer_gds(),
    }
    with open(os.path.join(HERE, "expected.json"), "w") as fh:
        json.dump(expected, fh, indent=1, sort_keys=True)
        fh.write("\n")


if __name__ == "__main__":
    main()
