"""DXF reading: entity kinds, bulges, blocks with transforms, units, and the error paths."""

from __future__ import annotations

import ezdxf
import numpy as np
import pytest
import synth

from stencilgen.errors import InputError, UsageError
from stencilgen.readers import read_layout


def _doc(insunits: int = 13) -> ezdxf.document.Drawing:
    doc = ezdxf.new("R2010")
    doc.header["$INSUNITS"] = insunits
    return doc


def test_entity_kinds_in_micrometres(tmp_path):
    doc = _doc(13)
    msp = doc.modelspace()
    msp.add_lwpolyline([(0, 0), (40, 0), (40, 70), (0, 70)], close=True, dxfattribs={"layer": "PADS"})
    msp.add_polyline2d([(100, 0), (140, 0), (140, 70), (100, 70)], close=True, dxfattribs={"layer": "PADS"})
    msp.add_circle((250, 35), 20, dxfattribs={"layer": "PADS"})
    msp.add_lwpolyline([(300, 0), (340, 0), (340, 70)], close=False, dxfattribs={"layer": "PADS"})  # open: skipped
    msp.add_lwpolyline([(0, 0), (1000, 0), (1000, 1000)], close=True, dxfattribs={"layer": "METAL"})
    path = str(tmp_path / "kinds.dxf")
    doc.saveas(path)
    layout = read_layout(path, layer="PADS")
    c = layout.contacts
    assert len(c) == 3
    np.testing.assert_allclose(c.center, [[20, 35], [120, 35], [250, 35]], atol=1e-3)
    np.testing.assert_allclose(c.area[:2], 2800, rtol=1e-9)
    assert c.area[2] == pytest.approx(np.pi * 400, rel=1e-3)
    assert c.d[2] == pytest.approx(40, abs=0.02)
    assert layout.layers == {"METAL": 1, "PADS": 3}
    assert any("open outline" in e.reason for e in layout.excluded)


def test_filled_entity_kinds(tmp_path):
    """SOLID and TRACE (vertex order 0 1 3 2), 3DFACE (0 1 2 3) and HATCH pads are read as outlines."""
    doc = _doc(13)
    msp = doc.modelspace()
    attribs = {"layer": "PADS"}
    msp.add_solid([(0, 0), (40, 0), (0, 70), (40, 70)], dxfattribs=attribs)
    msp.add_trace([(100, 0), (140, 0), (100, 70), (140, 70)], dxfattribs=attribs)
    msp.add_3dface([(200, 0), (240, 0), (240, 70), (200, 70)], dxfattribs=attribs)
    msp.add_3dface([(300, 0), (340, 0), (320, 70), (320, 70)], dxfattribs=attribs)  # a triangle: two corners alike
    hatch = msp.add_hatch(dxfattribs=attribs)
    hatch.paths.add_polyline_path([(400, 0), (440, 0), (440, 70), (400, 70)], is_closed=True)
    path = str(tmp_path / "filled.dxf")
    doc.saveas(path)
    layout = read_layout(path, layer="PADS")
    c = layout.contacts
    assert len(c) == 5 and not layout.excluded
    by_x = np.argsort(c.center[:, 0])
    np.testing.assert_allclose(c.center[by_x, 0], [20, 120, 220, 320, 420], atol=1e-6)
    np.testing.assert_allclose(c.area[by_x], [2800, 2800, 2800, 1400, 2800], rtol=1e-9)


def test_bulges_make_true_arcs(tmp_path):
    # a 60 x 90 pad with 10-unit rounded corners: area = 60*90 - (4 - pi) * 10^2
    w, h, r = 60.0, 90.0, 10.0
    b = np.tan(np.pi / 8)
    pts = [
        (-w / 2 + r, -h / 2, 0),
        (w / 2 - r, -h / 2, b),
        (w / 2, -h / 2 + r, 0),
        (w / 2, h / 2 - r, b),
        (w / 2 - r, h / 2, 0),
        (-w / 2 + r, h / 2, b),
        (-w / 2, h / 2 - r, 0),
        (-w / 2, -h / 2 + r, b),
    ]
    doc = _doc(13)
    doc.modelspace().add_lwpolyline(pts, format="xyb", close=True, dxfattribs={"layer": "P"})
    path = str(tmp_path / "bulge.dxf")
    doc.saveas(path)
    c = read_layout(path, layer="P").contacts
    assert c.area[0] == pytest.approx(w * h - (4 - np.pi) * r * r, rel=2e-4)
    assert c.d[0] == pytest.approx(60, abs=1e-3)
    assert c.length[0] == pytest.approx(90, abs=1e-3)


def test_nested_scaled_rotated_inserts_and_layer_zero(tmp_path):
    doc = _doc(4)  # millimetres
    pad = doc.blocks.new("PAD")
    pad.add_lwpolyline([(0, 0), (0.02, 0), (0.02, 0.01), (0, 0.01)], close=True)  # layer 0: takes the INSERT's
    pair = doc.blocks.new("PAIR", base_point=(0.1, 0))
    pair.add_blockref("PAD", (0.1, 0))
    pair.add_blockref("PAD", (0.2, 0), dxfattribs={"xscale": 2, "yscale": 2})
    msp = doc.modelspace()
    msp.add_blockref("PAIR", (1, 1), dxfattribs={"rotation": 90, "layer": "PADS"})
    msp.add_blockref("PAD", (0, 0), dxfattribs={"layer": "OTHER"})
    path = str(tmp_path / "blocks.dxf")
    doc.saveas(path)
    layout = read_layout(path, layer="PADS")
    c = layout.contacts
    assert len(c) == 2

    # PAD centre (0.01, 0.005) mm; in PAIR at (0.1, 0) and scaled x2 at (0.2, 0); PAIR base (0.1, 0)
    # then turned 90 deg about the insert point (1, 1) mm
    def place(p):
        x, y = p[0] - 0.1, p[1]
        return np.array([1 - y, 1 + x]) * 1000

    want = sorted([tuple(place((0.11, 0.005))), tuple(place((0.22, 0.01)))], key=lambda t: (t[1], t[0]))
    np.testing.assert_allclose(c.center, want, atol=1e-3)
    np.testing.assert_allclose(sorted(c.area), [200, 800], rtol=1e-9)
    assert layout.layers["OTHER"] == 1


def test_minsert_array(tmp_path):
    doc = _doc(13)
    pad = doc.blocks.new("PAD")
    pad.add_circle((0, 0), 10)
    ins = doc.modelspace().add_blockref("PAD", (0, 0), dxfattribs={"layer": "PADS"})
    ins.grid(size=(2, 3), spacing=(50, 100))  # 2 rows x 3 columns
    path = str(tmp_path / "minsert.dxf")
    doc.saveas(path)
    c = read_layout(path, layer="PADS").contacts
    assert len(c) == 6
    assert sorted(set(np.round(c.center[:, 0], 3))) == [0, 100, 200]
    assert sorted(set(np.round(c.center[:, 1], 3))) == [0, 50]


@pytest.mark.parametrize("code, unit_um", [(1, 25400.0), (4, 1000.0), (13, 1.0), (5, 10000.0)])
def test_insunits(tmp_path, code, unit_um):
    path = str(tmp_path / "u.dxf")
    synth.write_dxf(path, [synth.rect((0, 0), (4, 7), 0)], layer="P", unit="um", insunits=code)
    c = read_layout(path, layer="P").contacts
    assert c.d[0] == pytest.approx(4 * unit_um)


def test_unitless_dxf_needs_units(tmp_path):
    path = str(tmp_path / "nounits.dxf")
    synth.write_dxf(path, [synth.rect((0, 0), (0.04, 0.07), 0)], layer="P", unit="um", insunits=0)
    with pytest.raises(InputError, match=r"nounits.dxf: \$INSUNITS is 0 \(unitless\); pass --units um\|mm"):
        read_layout(path, layer="P")
    assert read_layout(path, layer="P", units="mm").contacts.d[0] == pytest.approx(40)


def test_missing_layer_lists_layers(tmp_path):
    path = str(tmp_path / "l.dxf")
    synth.write_dxf(path, [synth.rect((0, 0), (40, 70), 0)] * 2, layer="PADS")
    with pytest.raises(InputError, match=r"no closed shapes on layer 'PASSIV'; layers present: PADS \(2\)"):
        read_layout(path, layer="PASSIV")


def test_cyclic_blocks_are_refused(tmp_path):
    doc = _doc(13)
    a = doc.blocks.new("A")
    b = doc.blocks.new("B")
    a.add_blockref("B", (0, 0))
    b.add_blockref("A", (1, 0))
    b.add_circle((0, 0), 5)
    doc.modelspace().add_blockref("A", (0, 0), dxfattribs={"layer": "P"})
    path = str(tmp_path / "cycle.dxf")
    doc.saveas(path)
    with pytest.raises(InputError, match="inserts itself"):
        read_layout(path, layer="P")


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"\x00\x01\x02binary junk\xff\xfe" * 100,
        b"  0\nSECTION\n  2\nENTITIES\n  0\nLWPOLYLINE\n 10\nnot-a-number\n",
    ],
)
def test_corrupt_dxf(tmp_path, content):
    path = tmp_path / "bad.dxf"
    path.write_bytes(content)
    with pytest.raises(InputError) as err:
        read_layout(str(path), layer="P", units="um")
    assert str(err.value).startswith(str(path))


def test_cell_option_is_for_gds(tmp_path):
    path = str(tmp_path / "c.dxf")
    synth.write_dxf(path, [synth.rect((0, 0), (40, 70), 0)], layer="P")
    with pytest.raises(UsageError, match="--cell applies to GDS/OASIS"):
        read_layout(path, layer="P", cell="X")


def test_insertion_explosion_is_refused_not_hung(tmp_path):
    doc = _doc(13)
    level = doc.blocks.new("L0")
    level.add_line((0, 0), (1, 0))  # nothing on the pad layer: no shape count would stop it
    for k in range(1, 9):
        blk = doc.blocks.new(f"L{k}")
        for j in range(10):
            blk.add_blockref(f"L{k - 1}", (j * 10.0**k, 0))
    doc.modelspace().add_blockref("L8", (0, 0), dxfattribs={"layer": "P"})
    doc.modelspace().add_circle((0, 0), 5, dxfattribs={"layer": "P"})
    path = str(tmp_path / "bomb.dxf")
    doc.saveas(path)
    with pytest.raises(InputError, match="block insertions"):
        read_layout(path, layer="P", max_contacts=1000)
