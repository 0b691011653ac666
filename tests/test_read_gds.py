"""GDSII and OASIS reading: units, hierarchy with transforms, merging, and every error path."""

from __future__ import annotations

import os
from pathlib import Path

import gdstk
import numpy as np
import pytest
import synth

from stencilgen.errors import InputError, UsageError
from stencilgen.readers import read_layout


def _lib(unit: float = 1e-6, precision: float = 1e-9) -> gdstk.Library:
    return gdstk.Library(unit=unit, precision=precision)


def test_flat_rectangles_exact(tmp_path):
    polys = [synth.rect((x, 0.0), (40.0, 70.0), 0.0) for x in (0.0, 100.0, 200.0)]
    path = str(tmp_path / "flat.gds")
    synth.write_gds(path, polys)
    layout = read_layout(path, layer="9/0")
    c = layout.contacts
    assert len(c) == 3
    np.testing.assert_allclose(c.center, [[0, 0], [100, 0], [200, 0]], atol=1e-9)
    np.testing.assert_allclose(c.area, 40 * 70)
    np.testing.assert_allclose(c.d, 40)
    np.testing.assert_allclose(c.length, 70)
    np.testing.assert_allclose(c.angle_deg, 90)  # the long side runs along y
    assert layout.grid_um == pytest.approx(0.001)
    # the noise on 10/0 and the big plane on 1/0 are not read as contacts
    assert layout.layer == "9/0"


def test_layer_with_datatype_default_zero(tmp_path):
    path = str(tmp_path / "a.gds")
    synth.write_gds(path, [synth.rect((0, 0), (10, 10), 0)], layer=(7, 0))
    assert len(read_layout(path, layer="7").contacts) == 1


def test_hierarchy_rotation_magnification_mirror_and_arrays(tmp_path):
    lib = _lib()
    pad = lib.new_cell("PAD")
    pad.add(gdstk.rectangle((10, 0), (30, 10), layer=9))  # centre (20, 5), 20 x 10
    mid = lib.new_cell("MID")
    # rotated 90 deg, magnified 2, mirrored about x before rotating, at (1000, 0)
    mid.add(gdstk.Reference(pad, (1000, 0), rotation=np.pi / 2, magnification=2, x_reflection=True))
    top = lib.new_cell("TOP")
    top.add(gdstk.Reference(mid, (0, 0)))
    # an array reference: 3 columns x 2 rows, 100 x 50 spacing, rotated 30 deg (the lattice turns too)
    top.add(gdstk.Reference(pad, (-500, -500), rotation=np.radians(30), columns=3, rows=2, spacing=(100, 50)))
    path = str(tmp_path / "h.gds")
    lib.write_gds(path)
    c = read_layout(path, layer="9/0").contacts
    assert len(c) == 7
    # mirrored: (20, 5) -> (20, -5); x2 -> (40, -10); rotated 90 -> (10, 40); + (1000, 0)
    expected = [[1010.0, 40.0]]
    t = np.radians(30)
    rot = np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]])
    for i in range(3):
        for j in range(2):
            expected.append(list(rot @ np.array([20.0 + 100 * i, 5.0 + 50 * j]) + np.array([-500.0, -500.0])))
    got = sorted(map(tuple, np.round(c.center, 3)))
    want = sorted(map(tuple, np.round(np.array(expected), 3)))
    np.testing.assert_allclose(got, want, atol=2e-3)
    # and the same as gdstk's own flattening
    flat = gdstk.read_gds(path).cells
    tops = next(cc for cc in flat if cc.name == "TOP").get_polygons(layer=9, datatype=0)
    ref = sorted(tuple(np.round(p.points.mean(axis=0), 3)) for p in tops)
    np.testing.assert_allclose(got, ref, atol=2e-3)
    big = np.argmax(c.area)
    assert c.area[big] == pytest.approx(4 * 200)  # magnification 2 scales area by 4
    assert c.d[big] == pytest.approx(20)
    assert c.length[big] == pytest.approx(40)
    np.testing.assert_allclose(np.sort(c.d)[:6], 10.0, atol=1e-3)  # within the 1 nm grid snap


def test_file_units_are_honoured(tmp_path):
    # a file drawn in millimetres: 0.04 x 0.07 mm pads 0.1 mm apart
    lib = _lib(unit=1e-3, precision=1e-9)
    cell = lib.new_cell("MM")
    for x in (0.0, 0.1, 0.2):
        cell.add(gdstk.rectangle((x - 0.02, -0.035), (x + 0.02, 0.035), layer=9))
    path = str(tmp_path / "mm.gds")
    lib.write_gds(path)
    layout = read_layout(path, layer="9/0")
    np.testing.assert_allclose(layout.contacts.center[:, 0], [0, 100, 200], atol=1e-9)
    np.testing.assert_allclose(layout.contacts.d, 40, atol=1e-9)


def test_coordinates_snap_to_database_grid(tmp_path):
    lib = _lib(unit=1e-6, precision=1e-8)  # 10 nm grid
    pad = lib.new_cell("PAD")
    pad.add(gdstk.rectangle((0, 0), (10, 10), layer=9))
    top = lib.new_cell("TOP")
    top.add(gdstk.Reference(pad, (0.123, 0), rotation=np.radians(33.3)))
    path = str(tmp_path / "grid.gds")
    lib.write_gds(path)
    layout = read_layout(path, layer="9/0")
    assert layout.grid_um == pytest.approx(0.01)
    coords = layout.contacts.polygons.coords
    np.testing.assert_allclose(coords / 0.01, np.round(coords / 0.01), atol=1e-6)


def test_overlapping_and_abutting_shapes_merge(tmp_path):
    polys = [
        synth.rect((0, 0), (40, 40), 0),
        synth.rect((20, 0), (40, 40), 0),  # overlaps the first: one 60 x 40 contact
        synth.rect((200, 0), (40, 40), 0),
        synth.rect((240, 0), (40, 40), 0),  # abuts the third: one 80 x 40 contact
        synth.rect((500, 0), (40, 40), 0),
    ]
    path = str(tmp_path / "m.gds")
    synth.write_gds(path, polys, noise=False)
    layout = read_layout(path, layer="9/0")
    c = layout.contacts
    assert len(c) == 3
    assert layout.shapes == 5
    np.testing.assert_allclose(sorted(c.area), [1600, 2400, 3200])
    np.testing.assert_allclose(sorted(c.d), [40, 40, 40])
    merged = [e for e in layout.excluded if e.kept]
    assert len(merged) == 2 and all("merged" in e.reason for e in merged)


def test_duplicated_nested_and_self_intersecting_shapes(tmp_path):
    bowtie = np.array([[400.0, 0.0], [440.0, 40.0], [440.0, 0.0], [400.0, 40.0]])  # crosses itself
    polys = [
        synth.rect((0, 0), (40, 40), 0),
        synth.rect((0, 0), (40, 40), 0),  # duplicated
        synth.rect((200, 0), (60, 60), 0),
        synth.rect((200, 0), (20, 20), 0),  # nested inside the previous one
        bowtie,
        synth.rect((600, 0), (40, 40), 0),
    ]
    path = str(tmp_path / "d.gds")
    synth.write_gds(path, polys, noise=False)
    layout = read_layout(path, layer="9/0")
    c = layout.contacts
    assert len(c) == 4  # the duplicate and the nested one merge; the bow-tie is repaired
    np.testing.assert_allclose(sorted(c.area), [400, 1600, 1600, 3600])
    reasons = sorted(e.reason for e in layout.excluded)
    assert sum("merged" in r for r in reasons) == 2
    bow = [e for e in layout.excluded if "self-intersecting" in e.reason]
    assert len(bow) == 1 and bow[0].kept and bow[0].center == pytest.approx((420.0, 20.0))
    dropped = read_layout(path, layer="9/0", repair=False)
    assert len(dropped.contacts) == 3
    assert any("self-intersecting shape, left out" in e.reason and not e.kept for e in dropped.excluded)


def test_frame_with_hole_is_not_a_contact(tmp_path):
    frame = [
        synth.rect((0, -500), (1010, 10), 0),
        synth.rect((0, 500), (1010, 10), 0),
        synth.rect((-500, 0), (10, 1010), 0),
        synth.rect((500, 0), (10, 1010), 0),
    ]
    pads = [synth.rect((x, 0), (40, 40), 0) for x in (-100, 0, 100)]
    path = str(tmp_path / "f.gds")
    synth.write_gds(path, frame + pads, noise=False)
    layout = read_layout(path, layer="9/0")
    assert len(layout.contacts) == 3
    left_out = [e for e in layout.excluded if not e.kept]
    assert len(left_out) == 1 and "hole" in left_out[0].reason


@pytest.mark.parametrize("fmt", ["gds", "oas"])
@pytest.mark.parametrize("drawn", ["boolean", "slit"])
def test_a_frame_drawn_as_one_outline_cut_open_to_its_hole_is_not_a_contact(tmp_path, fmt, drawn):
    """GDSII and OASIS have no holes: a seal ring on the pad layer is one outline running in along a
    cut of no width, round the hole and out again. It is a frame, not a contact holding every pad."""
    lib = _lib()
    cell = lib.new_cell("TOP")
    if drawn == "boolean":  # as gdstk (and KLayout) write a polygon with a hole
        (ring,) = gdstk.boolean(
            gdstk.rectangle((-600, -600), (600, 600)), gdstk.rectangle((-580, -580), (580, 580)), "not"
        )
        ring.layer = 9
        cell.add(ring)
    else:  # by hand: out along y = 0 on the right, round the outside, back in along the same cut
        outer = [(600, 0), (600, 600), (-600, 600), (-600, -600), (600, -600)]
        inner = [(580, 0), (580, -580), (-580, -580), (-580, 580), (580, 580), (580, 0)]
        cell.add(gdstk.Polygon([*outer, (600, 0), *inner], layer=9))
    for x in (-200, -100, 0, 100, 200):
        for y in (-400, 400):
            cell.add(gdstk.rectangle((x - 30, y - 40), (x + 30, y + 40), layer=9))
    path = str(tmp_path / f"ring.{fmt}")
    lib.write_gds(path) if fmt == "gds" else lib.write_oas(path)
    for repair in (True, False):
        layout = read_layout(path, layer="9/0", repair=repair)
        assert len(layout.contacts) == 10
        np.testing.assert_allclose(layout.contacts.area, 60.0 * 80.0)
        (frame,) = [e for e in layout.excluded if not e.kept]
        assert "hole" in frame.reason and frame.size == pytest.approx((1200.0, 1200.0))
        assert frame.area == pytest.approx(1200.0**2 - 1160.0**2)


def test_oasis_round_trip(tmp_path):
    lib = _lib()
    cell = lib.new_cell("OAS")
    for x in (0.0, 80.0, 160.0, 240.0):
        cell.add(gdstk.regular_polygon((x, 10.0), 20.0, 8, layer=134, datatype=5))
    path = str(tmp_path / "p.oas")
    lib.write_oas(path)
    layout = read_layout(path, layer="134/5")
    assert layout.format == "oasis"
    assert len(layout.contacts) == 4
    np.testing.assert_allclose(layout.contacts.center, [[0, 10], [80, 10], [160, 10], [240, 10]], atol=1e-3)
    # a regular octagon of side 20: flat-to-flat 20 * (1 + sqrt 2)
    np.testing.assert_allclose(layout.contacts.d, 20 * (1 + np.sqrt(2)), atol=2e-3)


def test_context_cell_is_ignored(tmp_path):
    lib = _lib()
    lib.new_cell("$$$CONTEXT_INFO$$$").add(gdstk.rectangle((0, 0), (1, 1), layer=9))
    lib.new_cell("DESIGN").add(gdstk.rectangle((0, 0), (10, 10), layer=9))
    path = str(tmp_path / "ctx.gds")
    lib.write_gds(path)
    layout = read_layout(path, layer="9/0")
    assert layout.cell == "DESIGN"


def test_several_top_cells_is_an_error_listing_them(tmp_path):
    lib = _lib()
    lib.new_cell("A").add(gdstk.rectangle((0, 0), (10, 10), layer=9))
    lib.new_cell("B").add(gdstk.rectangle((0, 0), (10, 10), layer=9))
    path = str(tmp_path / "two.gds")
    lib.write_gds(path)
    # (which cell to plan is the user's choice, as the pad layer is: a usage error, exit 2)
    with pytest.raises(UsageError, match=r"two.gds: 2 top cells \(A, B\); choose one with --cell"):
        read_layout(path, layer="9/0")
    assert read_layout(path, layer="9/0", cell="B").cell == "B"
    with pytest.raises(InputError, match="no cell named 'C'"):
        read_layout(path, layer="9/0", cell="C")


def test_missing_layer_lists_layers_with_counts(tmp_path):
    path = str(tmp_path / "l.gds")
    synth.write_gds(path, [synth.rect((x, 0), (10, 10), 0) for x in range(0, 300, 100)])
    with pytest.raises(InputError) as err:
        read_layout(path, layer="76/20")
    msg = str(err.value)
    assert msg.startswith(f"{path}: no shapes on layer 76/20")
    assert "1/0 (1)" in msg and "9/0 (3)" in msg and "10/0 (3)" in msg
    assert "\n" not in msg


def test_no_layer_given_and_several_present(tmp_path):
    path = str(tmp_path / "l.gds")
    synth.write_gds(path, [synth.rect((0, 0), (10, 10), 0)])
    with pytest.raises(UsageError, match=r"choose the pad layer with --layer \(layer= in Python\); layers present: 1/"):
        read_layout(path)


def test_only_layer_is_used_when_none_given(tmp_path):
    path = str(tmp_path / "one.gds")
    synth.write_gds(path, [synth.rect((0, 0), (10, 10), 0)], noise=False)
    assert read_layout(path).layer == "9/0"


@pytest.mark.parametrize(
    "content, name",
    [
        (b"", "empty.gds"),
        (b"hello, this is text and not a stream file\n" * 20, "text.gds"),
        (bytes(np.random.default_rng(1).integers(0, 256, 4096, dtype=np.uint8)), "random.gds"),
        (b"", "empty.oas"),
        (b"%SEMI-OASIS\r\n" + b"\x00" * 10, "trunc.oas"),
    ],
)
def test_unreadable_files(tmp_path, content, name):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(InputError) as err:
        read_layout(str(path), layer="9/0")
    assert str(err.value).startswith(str(path))


def test_truncated_gds(tmp_path):
    good = str(tmp_path / "good.gds")
    synth.write_gds(good, [synth.rect((x, 0), (10, 10), 0) for x in range(0, 500, 100)])
    data = Path(good).read_bytes()
    bad = tmp_path / "trunc.gds"
    bad.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError):
        read_layout(str(bad), layer="9/0")


def test_missing_file_folder_and_unknown_extension(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        read_layout(str(tmp_path / "nope.gds"))
    os.mkdir(tmp_path / "dir.gds")
    with pytest.raises(InputError, match="is a folder"):
        read_layout(str(tmp_path / "dir.gds"))
    (tmp_path / "x.txt").write_text("x")
    with pytest.raises(InputError, match=r"unknown extension '\.txt'"):
        read_layout(str(tmp_path / "x.txt"))


def test_too_many_shapes_is_refused(tmp_path):
    lib = _lib()
    pad = lib.new_cell("PAD")
    pad.add(gdstk.rectangle((0, 0), (10, 10), layer=9))
    lib.new_cell("TOP").add(gdstk.Reference(pad, (0, 0), columns=100, rows=100, spacing=(20, 20)))
    path = str(tmp_path / "big.gds")
    lib.write_gds(path)
    with pytest.raises(InputError, match="expands to 10,000 shapes, above the limit of 5,000"):
        read_layout(path, layer="9/0", max_contacts=5000)


def test_arrayed_die_is_read_once_and_placed(tmp_path):
    die = synth.ring(side=2000, pitch=100.0, count=17)
    lib = _lib()
    cell = lib.new_cell("DIE")
    for p in die.polygons():
        cell.add(gdstk.Polygon(p, 9, 0))
    lib.new_cell("WAFER").add(gdstk.Reference(cell, (0, 0), columns=3, rows=2, spacing=(2500, 2500)))
    path = str(tmp_path / "w.gds")
    lib.write_gds(path)
    layout = read_layout(path, layer="9/0")
    assert layout.instances is not None
    assert len(layout.contacts) == 6 * 68
    # the same contacts as a flat reading of the same shapes
    flat = str(tmp_path / "flat.gds")
    polys = [p + np.array([2500.0 * i, 2500.0 * j]) for i in range(3) for j in range(2) for p in die.polygons()]
    synth.write_gds(flat, polys, noise=False)
    ref = read_layout(flat, layer="9/0").contacts
    np.testing.assert_allclose(layout.contacts.center, ref.center, atol=1e-6)
    np.testing.assert_allclose(layout.contacts.area, ref.area, rtol=1e-9)
    np.testing.assert_allclose(layout.contacts.d, ref.d, rtol=1e-9)
    np.testing.assert_allclose(layout.contacts.polygons.coords.sum(), ref.polygons.coords.sum(), rtol=1e-9)


def test_an_oasis_file_cut_short_or_not_oasis_is_refused(tmp_path):
    lib = _lib()
    cell = lib.new_cell("TOP")
    for x in range(0, 2000, 100):
        cell.add(gdstk.rectangle((x, 0), (x + 60, 80), layer=9))
    good = tmp_path / "good.oas"
    lib.write_oas(str(good))
    assert len(read_layout(str(good), layer="9/0").contacts) == 20
    data = good.read_bytes()
    for keep in (0.95, 0.99):  # all the shapes are there, the END record is not
        cut = tmp_path / f"cut{keep}.oas"
        cut.write_bytes(data[: int(len(data) * keep)])
        with pytest.raises(InputError, match="cut short") as err:
            read_layout(str(cut), layer="9/0")
        assert str(err.value).startswith(str(cut))
    other = tmp_path / "other.oas"
    other.write_bytes(b"%SEMI-OASIS 1.0" + data[15:])
    with pytest.raises(InputError, match="does not start with %SEMI-OASIS"):
        read_layout(str(other), layer="9/0")


def test_cells_that_place_each_other_are_named(tmp_path):
    lib = _lib()
    a, b = lib.new_cell("A"), lib.new_cell("B")
    a.add(gdstk.rectangle((0, 0), (10, 10), layer=9))
    b.add(gdstk.rectangle((0, 0), (10, 10), layer=9))
    a.add(gdstk.Reference(b, (100, 0)))
    b.add(gdstk.Reference(a, (0, 100)))
    path = str(tmp_path / "cycle.gds")
    lib.write_gds(path)
    with pytest.raises(InputError, match=r"no top cell: the cells place each other in a cycle \(A, B\)"):
        read_layout(path, layer="9/0")
    with pytest.raises(InputError, match="cyclic hierarchy"):
        read_layout(path, layer="9/0", cell="A")


def test_a_layer_name_for_a_gds_names_the_file(tmp_path):
    path = str(tmp_path / "p.gds")
    synth.write_gds(path, [synth.rect((0, 0), (10, 10), 0)])
    with pytest.raises(UsageError, match=r"p\.gds: --layer 'PADS': a GDS/OASIS layer is LAYER/DATATYPE"):
        read_layout(path, layer="PADS")


@pytest.mark.parametrize("turn", [7.3, 45.0, 61.7])
def test_turned_pads_apart_touching_and_nearly_touching_merge_as_exactly_tested(turn, monkeypatch):
    """Turned pads (snapped to the grid, so not quite rectangles): pairs clearly apart along an edge's
    normal skip the exact test, and the contacts and notes are those of testing every pair exactly —
    pads apart, abutting halves (merged), overlapping ones (merged), and ones a nanometre apart."""
    from stencilgen import geometry
    from stencilgen.model import Polygons

    shapes = []
    for i in range(12):  # a row of pads at 110 um, 70 x 100
        shapes.append(synth.rect((i * 110.0, 0.0), (70.0, 100.0), 0.0))
    shapes.append(synth.rect((2000.0, 0.0), (35.0, 100.0), 0.0))  # two abutting halves of one pad
    shapes.append(synth.rect((2035.0, 0.0), (35.0, 100.0), 0.0))
    shapes.append(synth.rect((2300.0, 0.0), (70.0, 100.0), 0.0))  # two overlapping pads
    shapes.append(synth.rect((2330.0, 10.0), (70.0, 100.0), 0.0))
    shapes.append(synth.rect((2600.0, 0.0), (70.0, 100.0), 0.0))  # a pad a nanometre clear of the next
    shapes.append(synth.rect((2670.001, 0.0), (70.0, 100.0), 0.0))
    a = np.radians(turn)
    rot = np.array([[np.cos(a), np.sin(a)], [-np.sin(a), np.cos(a)]])
    polys = Polygons.from_list([np.round(p @ rot * 1000) / 1000 for p in shapes])
    got, got_notes = geometry.merge_contacts(polys, 0.001)
    monkeypatch.setattr(geometry, "_quads_apart", lambda polys, pairs: np.zeros(len(pairs), dtype=bool))
    want, want_notes = geometry.merge_contacts(polys, 0.001)
    assert len(got) == len(want) == 12 + 1 + 1 + 2
    np.testing.assert_array_equal(got.center, want.center)
    np.testing.assert_array_equal(got.polygons.coords, want.polygons.coords)
    assert [n.reason for n in got_notes] == [n.reason for n in want_notes] and len(got_notes) == 2


@pytest.mark.parametrize("touching", [False, True])
def test_a_turned_die_is_read_through_the_plain_shortcut_or_merged_where_pads_touch(tmp_path, touching, monkeypatch):
    """A die turned by 23.5 deg: its pads, convex
    quadrilaterals once snapped to the file's grid, are each a contact, measured as the general
    merge measures them; where two pads abut (one pad drawn as two halves), the general merge of
    those two alone makes them one contact and notes it."""
    from stencilgen import geometry

    die = synth.ring(side=40_000.0, pitch=110.0, count=300, pad=(70.0, 100.0))
    polys = die.polygons()
    if touching:  # the first pad drawn as two halves that share an edge
        p = polys[0]
        mid = (p[0] + p[1]) / 2, (p[2] + p[3]) / 2
        polys[0:1] = [np.array([p[0], mid[0], mid[1], p[3]]), np.array([mid[0], p[1], p[2], mid[1]])]
    a = np.radians(23.5)
    rot = np.array([[np.cos(a), np.sin(a)], [-np.sin(a), np.cos(a)]])
    path = str(tmp_path / "turned.gds")
    synth.write_gds(path, [p @ rot for p in polys])
    merged = []
    real_merge = geometry.merge_contacts
    monkeypatch.setattr(geometry, "merge_contacts", lambda p, *a, **k: merged.append(len(p)) or real_merge(p, *a, **k))
    layout = read_layout(path, layer="9/0")
    assert len(layout.contacts) == 1200
    assert merged == ([2] if touching else [])  # the general merge only of the pads that touch
    notes = [e.reason for e in layout.excluded]
    assert notes == (["2 overlapping, abutting, repeated or nested shapes merged"] if touching else [])
    np.testing.assert_allclose(np.sort(layout.contacts.d), 70.0, atol=0.01)
    np.testing.assert_allclose(np.sort(layout.contacts.length), 100.0, atol=0.01)
    want, _ = real_merge(geometry.Polygons.concat([layout.contacts.polygons]), 0.001)
    np.testing.assert_array_equal(layout.contacts.center, want.center)
    np.testing.assert_array_equal(layout.contacts.area, want.area)


@pytest.mark.parametrize("precision", [1e-9, 1e-10, 5e-9, 2.5e-10])
def test_coordinates_in_whole_database_units_are_not_snapped_again(tmp_path, precision, monkeypatch):
    """A flat GDSII read in this process gives coordinates k * grid, which snapping to the grid
    keeps bit for bit: the reader skips the snap, and the contacts are those of snapping."""
    from stencilgen.readers import gds

    rng = np.random.default_rng(int(precision * 1e12))
    lib = gdstk.Library(unit=1e-6, precision=precision)
    cell = lib.new_cell("TOP")
    for _ in range(300):  # turned pads at odd places
        c = rng.uniform(-5e4, 5e4, 2)
        cell.add(gdstk.Polygon(synth.rect(tuple(c), (70.0, 100.0), float(rng.uniform(0, 180))), 9, 0))
    path = str(tmp_path / "pads.gds")
    lib.write_gds(path)
    seen = []
    real = gds._StreamTree.on_grid
    monkeypatch.setattr(gds._StreamTree, "on_grid", lambda self, g: seen.append(real(self, g)) or seen[-1])
    skipped = read_layout(path, layer="9/0")
    assert seen == [True]
    monkeypatch.setattr(gds._StreamTree, "on_grid", lambda self, g: False)
    snapped = read_layout(path, layer="9/0")
    assert len(skipped.contacts) == 300
    assert np.array_equal(skipped.contacts.polygons.coords, snapped.contacts.polygons.coords)
    assert np.array_equal(skipped.contacts.center, snapped.contacts.center)
