"""The stencil readers of `check` (KLayout in C++, numpy polygons) against independent readings of the same
files: gerbonara for the Gerber, ezdxf for the DXF, gdstk for the GDS; apertures matched by place and
compared by area and shape. Then what KLayout reads beyond them (%SR%, clear polarity) and the errors."""

from __future__ import annotations

import os
import warnings

import ezdxf
import gdstk
import numpy as np
import pytest
import shapely
import synth
from conftest import SAMPLES
from test_cli import run

from stencilgen.errors import InputError, UsageError
from stencilgen.model import Polygons
from stencilgen.readers.stencil import read_stencil
from stencilgen.rules import Rules
from stencilgen.run import Options, check_file, plan_file

RING = os.path.join(SAMPLES, "ring_100um.gds")


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    out = tmp_path_factory.mktemp("fast")
    plan_file(RING, str(out), Rules(), Options(layer="9/0", formats=("gerber", "dxf", "gds")))
    return out


def _arc_points(p1, p2, clockwise, centre, step=0.0005):
    """Points of an arc from p1 to p2 about centre (mm), chords of at most `step` rad."""
    c = np.asarray(centre, dtype=float)
    a1 = np.arctan2(p1[1] - c[1], p1[0] - c[0])
    a2 = np.arctan2(p2[1] - c[1], p2[0] - c[0])
    r = np.hypot(p1[0] - c[0], p1[1] - c[1])
    sweep = (a2 - a1) % (2 * np.pi)
    if clockwise:
        sweep -= 2 * np.pi
    k = max(2, int(np.ceil(abs(sweep) / step)))
    t = a1 + sweep * np.arange(k) / k
    return np.column_stack([c[0] + r * np.cos(t), c[1] + r * np.sin(t)])


def gerbonara_apertures(path) -> list[shapely.Polygon]:
    import gerbonara
    from gerbonara.utils import MM

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        g = gerbonara.GerberFile.open(str(path))
    out = []
    for obj in g.objects:
        for prim in obj.to_primitives(MM):
            pts = []
            for a, b, (clockwise, centre) in prim.to_arc_poly().segments:
                pts.append(np.array([a]) if clockwise is None else _arc_points(a, b, clockwise, centre))
            out.append(shapely.Polygon(np.concatenate(pts) * 1000.0))
    return out


def ezdxf_apertures(path) -> list[shapely.Polygon]:
    from ezdxf import path as dxfpath

    doc = ezdxf.readfile(str(path))
    scale = 1000.0 if doc.header["$INSUNITS"] == 4 else 1.0
    out = []
    for e in doc.modelspace().query("LWPOLYLINE[layer=='STENCIL']"):
        pts = np.array([(v.x, v.y) for v in dxfpath.make_path(e).flattening(1e-6)])
        out.append(shapely.Polygon(pts * scale))
    return out


def gdstk_apertures(path) -> list[shapely.Polygon]:
    lib = gdstk.read_gds(str(path), unit=1e-6)
    top = lib.top_level()[0]
    return [shapely.Polygon(p.points) for p in top.get_polygons(layer=1, datatype=0)]


def _same_apertures(ours, theirs, area_rel, xor_um2, shift_um=0.05) -> None:
    """Every aperture of ours matched to the one of theirs at its place: same count, areas within
    area_rel, the symmetric difference below xor_um2 (arcs cut into chords differently)."""
    assert len(ours) == len(theirs) > 0
    mine = [shapely.Polygon(ours.polygon(i)) for i in range(len(ours))]
    tree = shapely.STRtree(theirs)
    for p in mine:
        j = int(tree.nearest(p.centroid))
        q = theirs[j]
        assert p.area == pytest.approx(q.area, rel=area_rel)
        assert p.centroid.distance(q.centroid) < shift_um
        assert p.symmetric_difference(q).area < xor_um2


def test_gerber_read_as_gerbonara_reads_it(written):
    ours = read_stencil(written / "ring_100um.gbr")
    # (KLayout cuts a region's arcs into chords of 11.25 deg; the reader finds the arcs again, to within
    # 0.1 % of the area on a corner strip's tip of 300 deg)
    _same_apertures(ours, gerbonara_apertures(written / "ring_100um.gbr"), 1e-3, 3.0, 0.03)


def test_dxf_read_as_ezdxf_reads_it(written):
    ours = read_stencil(written / "ring_100um.dxf")
    _same_apertures(ours, ezdxf_apertures(written / "ring_100um.dxf"), 1e-3, 3.0)


def test_gds_read_as_gdstk_reads_it(written):
    ours = read_stencil(written / "ring_100um.gds")
    _same_apertures(ours, gdstk_apertures(written / "ring_100um.gds"), 1e-9, 1e-6)


def test_arcs_of_a_gerber_region_are_read_as_arcs(tmp_path):
    """A half disc of 50 um radius drawn with G03, and a round flash: areas within 1e-3 of the true ones."""
    gbr = tmp_path / "arcs.gbr"
    gbr.write_text(
        "%FSLAX46Y46*%\n%MOMM*%\n%ADD10C,0.050000*%\nD10*\nX0Y0D03*\n"
        "G36*\nX100000Y0D02*\nG75*\nG03X200000Y0I50000J0D01*\nG01X100000Y0D01*\nG37*\nM02*\n"
    )
    polys = read_stencil(gbr)
    areas = sorted(abs(shapely.Polygon(polys.polygon(i)).area) for i in range(len(polys)))
    assert areas == pytest.approx([np.pi * 25**2, np.pi * 50**2 / 2], rel=1e-3)
    (half,) = [p for p in (polys.polygon(i) for i in range(len(polys))) if p[:, 0].mean() > 50]
    assert np.hypot(half[:, 0] - 150.0, half[:, 1]).max() == pytest.approx(50.0, abs=0.002)


def _strip_read(width: float, length: float, radius: float, inward: bool = False) -> np.ndarray:
    """A strip as KLayout reads it from a Gerber region: a body `width` x `length` from the origin up,
    its far end an arc of `radius` from (width, length) to (0, length), its centre on the far side of
    that chord (a bulb; a round end where radius = width / 2), cut into equal chords of at most 360/32
    deg, on a 1 nm grid. inward: the arc the other way round, biting into the body."""
    centre = np.array([width / 2, length + np.sqrt(radius * radius - width * width / 4)])
    a0 = np.arctan2(length - centre[1], width - centre[0])
    a1 = np.arctan2(length - centre[1], -centre[0])
    sweep = (a1 - a0) % (2 * np.pi) if not inward else -((a0 - a1) % (2 * np.pi))
    k = int(np.ceil(abs(sweep) / np.radians(360 / 32) - 1e-9))
    angles = a0 + sweep * np.arange(k + 1) / k
    arc = centre + radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    return np.round(np.vstack([[0.0, 0.0], [width, 0.0], arc[:-1], [0.0, length]]), 3)


@pytest.mark.parametrize("radius", [10.5, 14.0, 30.0])
def test_a_strips_tip_is_found_again_as_its_disc(radius):
    """A strip 21 um wide whose tip is a round end (radius 10.5) or a bulb, read as KLayout's chords:
    found again as its disc, with the area and perimeter of the arc drawn (to the grid's noise)."""
    from stencilgen.readers.stencil import found_tips

    width, length = 21.0, 70.0
    tips = found_tips(Polygons.from_list([_strip_read(width, length, radius)]))
    assert tips.radius[0] == pytest.approx(radius, abs=2e-3)
    depth = np.sqrt(radius**2 - (width / 2) ** 2)
    np.testing.assert_allclose(tips.centre[0], [width / 2, length + depth], atol=2e-3)
    theta = 2 * np.pi - 2 * np.arcsin(width / 2 / radius)  # the arc's sweep (half a turn or more)
    assert tips.area[0] == pytest.approx(width * length + radius**2 / 2 * (theta - np.sin(theta)), rel=1e-5)
    assert tips.perimeter[0] == pytest.approx(width + 2 * length + radius * theta, rel=1e-5)


def test_no_tip_where_its_disc_would_leave_the_strip():
    """A disc is united with a strip only where the strip holds its other side: not for a body shorter
    than the circle reaches below the chord, not for an arc that bites into the body, not for a shape
    of two arcs (an obround)."""
    from stencilgen.readers.stencil import found_tips

    short = _strip_read(21.0, 8.0, 10.5)  # the round end's circle reaches 10.5 um below its chord
    notch = _strip_read(21.0, 70.0, 10.5, inward=True)
    strip = _strip_read(21.0, 70.0, 10.5)
    angles = np.pi + np.pi * np.arange(1, 16) / 16  # the near end made round as well
    near_end = np.round(np.stack([10.5 + 10.5 * np.cos(angles), 10.5 + 10.5 * np.sin(angles)], axis=1), 3)
    obround = np.vstack([[0.0, 10.5], near_end, [21.0, 10.5], strip[2:]])
    tips = found_tips(Polygons.from_list([short, notch, obround, strip]))
    assert tips.radius[:3].tolist() == [0.0, 0.0, 0.0]
    assert tips.radius[3] == pytest.approx(10.5, abs=2e-3)


def test_arcs_found_again_alike_in_chunks(written):
    """The arcs are found a few polygons at a time: the same outlines however the polygons are cut up."""
    from stencilgen.readers.stencil import round_arcs

    coarse = read_stencil(written / "ring_100um.gbr", arcs=False)  # KLayout's chords of the tips' arcs
    whole, parts = round_arcs(coarse), round_arcs(coarse, chunk=100)
    assert len(whole.coords) > len(coarse.coords)
    np.testing.assert_array_equal(whole.offsets, parts.offsets)
    np.testing.assert_array_equal(whole.coords, parts.coords)
    # once for each kind of aperture alike up to a shift, the copies moved: the same outlines
    from stencilgen.geometry import alike
    from stencilgen.readers.stencil import arcs_found_once, found_tips

    assert len(alike(coarse).first) < len(coarse) / 3  # (68 apertures of 18 kinds: sides, ends, corners)
    once, tips = arcs_found_once(coarse)
    np.testing.assert_array_equal(once.offsets, whole.offsets)
    np.testing.assert_allclose(once.coords, whole.coords, rtol=0, atol=1e-9)
    each = found_tips(coarse)
    assert (each.radius > 0).all()
    for got, want in zip(
        (tips.centre, tips.radius, tips.area, tips.perimeter),
        (each.centre, each.radius, each.area, each.perimeter),
        strict=True,
    ):
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-9)


def test_step_and_repeat_and_clear_polarity(tmp_path):
    gbr = tmp_path / "sr.gbr"
    gbr.write_text(
        "%FSLAX46Y46*%\n%MOMM*%\n%ADD10R,0.100000X0.100000*%\n%ADD11R,0.020000X0.020000*%\n"
        "D10*\nX0Y0D03*\n%LPC*%\nD11*\nX0Y0D03*\n%LPD*%\n"  # a 100 um square with a 20 um hole
        "%SRX3Y2I0.5J0.3*%\nD11*\nX1000000Y0D03*\n%SR*%\nM02*\n"  # a 20 um square stepped 3 x 2
    )
    polys = read_stencil(gbr)
    shapes = [shapely.Polygon(polys.polygon(i)) for i in range(len(polys))]
    assert len(shapes) == 7
    areas = sorted(round(abs(s.area), 3) for s in shapes)
    assert areas == [400.0] * 6 + [10000.0 - 400.0]
    centres = sorted((round(s.centroid.x, 3), round(s.centroid.y, 3)) for s in shapes if abs(s.area) < 500)
    assert centres == [(x, y) for x in (1000.0, 1500.0, 2000.0) for y in (0.0, 300.0)]


def test_overlapping_apertures_are_one(tmp_path):
    lib = gdstk.Library(unit=1e-6, precision=1e-9)
    cell = lib.new_cell("S")
    cell.add(gdstk.rectangle((0, 0), (40, 20), layer=1), gdstk.rectangle((30, 0), (70, 20), layer=1))  # overlap
    cell.add(gdstk.rectangle((70, 0), (80, 20), layer=1))  # abuts the second: the same aperture
    cell.add(gdstk.rectangle((200, 0), (220, 20), layer=1))
    # x = 264.448 um is 0x00040900 nm, the words of a PATH record's header: the stream is read by gdstk
    cell.add(gdstk.rectangle((264.448, 100), (284.448, 130), layer=1))
    path = tmp_path / "s.gds"
    lib.write_gds(str(path))
    polys = read_stencil(path)
    areas = sorted(abs(shapely.Polygon(polys.polygon(i)).area) for i in range(len(polys)))
    assert areas == pytest.approx([400.0, 600.0, 1600.0])


def test_unreadable_stencils_say_why(tmp_path):
    bad = tmp_path / "bad.gbr"
    bad.write_text("%FSLAX46Y46*%\n%MOMM*%\n%ADD10Q,oops*%\nD10*\nX0Y0D03*\nM02*\n")
    with pytest.raises(InputError, match=r"bad\.gbr: not a readable Gerber file \("):
        read_stencil(bad)
    empty = tmp_path / "empty.gbr"
    empty.write_text("%FSLAX46Y46*%\n%MOMM*%\nM02*\n")
    with pytest.raises(InputError, match=r"empty\.gbr: no apertures"):
        read_stencil(empty)
    lib = gdstk.Library(unit=1e-6, precision=1e-9)
    cell = lib.new_cell("S")
    cell.add(gdstk.rectangle((0, 0), (10, 10), layer=5, datatype=2))
    gds = tmp_path / "other.gds"
    lib.write_gds(str(gds))
    assert len(read_stencil(gds)) == 1  # (nothing on 1/0, one layer drawn on: that one, as a DXF's)
    assert len(read_stencil(gds, "5/2")) == 1
    with pytest.raises(InputError, match=r"other\.gds: no shapes on layer 7/0; layers present: 5/2 \(1\)"):
        read_stencil(gds, "7/0")
    cell.add(gdstk.rectangle((20, 0), (30, 10), layer=6, datatype=0))
    lib.write_gds(str(gds))
    with pytest.raises(InputError, match=r"other\.gds: no shapes on layer 1/0; layers present: 5/2 \(1\), 6/0 \(1\)"):
        read_stencil(gds)
    # (a cell placed three times: its shapes counted in every placement, as the layout's reader counts)
    top = lib.new_cell("TOP")
    top.add(gdstk.Reference(cell, (0, 0), columns=3, rows=1, spacing=(100, 0)))
    lib.write_gds(str(gds))
    with pytest.raises(InputError, match=r"other\.gds: no shapes on layer 1/0; layers present: 5/2 \(3\), 6/0 \(3\)"):
        read_stencil(gds)
    (tmp_path / "junk.gds").write_bytes(b"\x00\x06\x00\x02\x00\x07garbage")
    with pytest.raises(InputError, match=r"junk\.gds: not a readable GDSII file"):
        read_stencil(tmp_path / "junk.gds")
    doc = ezdxf.new("R2010")
    doc.header["$INSUNITS"] = 0
    for name in ("A", "B"):
        doc.modelspace().add_lwpolyline([(0, 0), (1, 0), (1, 1)], close=True, dxfattribs={"layer": name})
    dxf = tmp_path / "two.dxf"
    doc.saveas(dxf)
    with pytest.raises(InputError, match=r"two\.dxf: \$INSUNITS is 0 \(unitless\); pass --units um\|mm"):
        read_stencil(dxf)
    with pytest.raises(UsageError, match=r"choose the stencil layer with --stencil-layer; layers present: A \(1\)"):
        read_stencil(dxf, None, "mm")
    assert shapely.Polygon(read_stencil(dxf, "B", "mm").polygon(0)).area == pytest.approx(0.5e6)
    r = run("check", RING, "--layer", "9/0", "--stencil", str(bad))
    assert r.returncode == 3 and "bad.gbr: not a readable Gerber file" in r.stderr and "Traceback" not in r.stderr


def test_a_wafer_checked_gives_the_plans_figures(tmp_path):
    """Many dies alike: check of plan's own stencil in every format gives plan's findings and figures."""
    die = synth.ring(side=1000.0, pitch=100.0, count=8, pad=(60.0, 80.0))
    layout = str(tmp_path / "w.gds")
    polys = [p + np.array([x, y]) for x in (0.0, 2000.0, 4000.0) for y in (0.0, 2500.0) for p in die.polygons()]
    synth.write_gds(layout, polys, noise=False)
    out = tmp_path / "o"
    planned = plan_file(layout, str(out), Rules(), Options(layer="9/0", formats=("gerber", "dxf", "gds")))
    for ext in ("gbr", "dxf", "gds"):
        got = check_file(layout, str(out / f"w.{ext}"), None, Rules(), Options(layer="9/0"))
        assert got.report["summary"]["stray_apertures"] == []
        codes = [sorted(f["code"] for f in c["findings"]) for c in got.report["contacts"]]
        assert codes == [sorted(f["code"] for f in c["findings"]) for c in planned.report["contacts"]], ext
        for a, b in zip(got.report["contacts"], planned.report["contacts"], strict=True):
            assert a["aperture_area_um2"] == pytest.approx(b["aperture_area_um2"], rel=2e-3), ext
            assert a["aperture_width_um"] == pytest.approx(b["aperture_width_um"], abs=0.02), ext
            assert a["tip_side"] == b["tip_side"] and a["oblique"] == b["oblique"], ext


def _outlines(polys) -> list[str]:
    """Each polygon as the text of its normalised outline (um, 3 decimals), the list sorted."""
    return sorted(
        shapely.normalize(shapely.Polygon(np.round(polys.polygon(i), 3) + 0.0)).wkt for i in range(len(polys))
    )


def test_a_stencil_of_one_cell_placed_by_shifts_reads_as_its_flat_copy(tmp_path):
    """A stencil whose top cell places one cell by shifts (references, regular arrays) is read as that
    cell's apertures once and spread with numpy; anything else (a turned placement, shapes beside the
    references) is flattened by KLayout: every way, the apertures of the flat file."""
    from stencilgen.readers import stencil as S

    die = [synth.rect((0.0, 0.0), (30.0, 80.0), 0.0), synth.rect((60.0, 10.0), (30.0, 60.0), 30.0)]
    shifts_um = [(x, y) for x in (0.0, 500.0, 1000.0) for y in (0.0, 700.0)]

    def write(name: str, build) -> str:
        lib = gdstk.Library(unit=1e-6, precision=1e-9)
        cell = lib.new_cell("DIE")
        for p in die:
            cell.add(gdstk.Polygon(p, 1, 0))
        top = lib.new_cell("TOP")
        build(top, cell)
        path = str(tmp_path / name)
        lib.write_gds(path)
        return path

    def refs(top, cell):
        for at in shifts_um:
            top.add(gdstk.Reference(cell, at))

    def array(top, cell):
        top.add(gdstk.Reference(cell, (0.0, 0.0), columns=3, rows=2, spacing=(500.0, 700.0)))

    def turned(top, cell):
        refs(top, cell)
        top.add(gdstk.Reference(cell, (3000.0, 0.0), rotation=np.pi / 2))

    def beside(top, cell):
        refs(top, cell)
        top.add(gdstk.Polygon(synth.rect((-400.0, 0.0), (30.0, 80.0), 0.0), 1, 0))

    flat = [p + np.array(at) for at in shifts_um for p in die]
    turned_die = [np.column_stack([-p[:, 1], p[:, 0]]) + np.array([3000.0, 0.0]) for p in die]
    cases = {
        "refs.gds": (refs, flat, True),
        "array.gds": (array, flat, True),
        "turned.gds": (turned, flat + turned_die, False),
        "beside.gds": (beside, [*flat, synth.rect((-400.0, 0.0), (30.0, 80.0), 0.0)], False),
    }
    for name, (build, want, placed) in cases.items():
        path = write(name, build)
        got = read_stencil(path)
        assert _outlines(got) == _outlines(Polygons.from_list(want)), name
        once, shifts = S._read_placed(path, "gds", None, None, None)  # what the child hands over
        assert len(shifts) == (len(shifts_um) if placed else 0), name
        assert len(once) == (len(die) if placed else len(want)), name
    # the DXF and GDS plan writes for a wafer (a block placed by MINSERT, a cell by references): the die
    # once and its shifts, spread, are the stencil KLayout flattens
    from stencilgen import scratch

    layout = str(tmp_path / "w.gds")
    ring = synth.ring(side=1000.0, pitch=100.0, count=6, pad=(60.0, 80.0))
    placed = [p + np.array([x, y]) for x in (0.0, 2000.0) for y in (0.0, 2500.0) for p in ring.polygons()]
    synth.write_gds(layout, placed, noise=False)
    plan_file(layout, str(tmp_path / "o"), Rules(), Options(layer="9/0", formats=("dxf", "gds")))
    for fmt, ext in (("dxf", "dxf"), ("gds", "gds")):
        path = str(tmp_path / "o" / f"w.{ext}")
        with scratch.folder() as folder:
            ly = S._load(path, fmt, None, folder)
            top = S._top(path, ly)
            stream = os.path.join(folder, "flat.gds")
            S._write_flat(ly, top, S._pick_layer(path, fmt, ly, top, None), stream)
            flat = S._read_flat(stream)
        once, shifts = S._read_placed(path, fmt, None, None, None)
        assert len(shifts) == 4 and len(once) == len(ring.polygons()), fmt
        assert _outlines(S._spread(once, shifts)) == _outlines(flat), fmt
        assert _outlines(read_stencil(path)) == _outlines(flat), fmt


def test_placements_are_found_in_the_readers_child_process(tmp_path):
    """`_placed` on a KLayout layout: one cell placed by references and an array -> the shifts, sorted;
    a mirrored placement, or a cell placing another -> None."""
    import klayout.db as kdb

    from stencilgen.readers.stencil import _placed

    ly = kdb.Layout()
    ly.dbu = 0.001
    li = ly.layer(1, 0)
    die = ly.create_cell("DIE")
    die.shapes(li).insert(kdb.Box(0, 0, 30000, 80000))
    top = ly.create_cell("TOP")
    top.insert(kdb.CellInstArray(die.cell_index(), kdb.Trans(kdb.Vector(5000, 0))))
    top.insert(
        kdb.CellInstArray(
            die.cell_index(), kdb.Trans(kdb.Vector(0, 100000)), kdb.Vector(200000, 0), kdb.Vector(0, 300000), 2, 2
        )
    )
    cell, shifts = _placed(ly, top, li)
    assert cell.name == "DIE"
    assert shifts.tolist() == [[0.0, 100.0], [0.0, 400.0], [5.0, 0.0], [200.0, 100.0], [200.0, 400.0]]
    top.insert(kdb.CellInstArray(die.cell_index(), kdb.Trans(kdb.Trans.M0, kdb.Vector(0, -500000))))
    assert _placed(ly, top, li) is None
    ly2 = kdb.Layout()
    li2 = ly2.layer(1, 0)
    leaf, mid, top2 = ly2.create_cell("LEAF"), ly2.create_cell("MID"), ly2.create_cell("TOP")
    leaf.shapes(li2).insert(kdb.Box(0, 0, 10, 10))
    mid.insert(kdb.CellInstArray(leaf.cell_index(), kdb.Trans()))
    top2.insert(kdb.CellInstArray(mid.cell_index(), kdb.Trans()))
    assert _placed(ly2, top2, li2) is None


def test_a_turned_corner_direction_reports_the_side_its_tips_lie_on(tmp_path, monkeypatch):
    """A corner whose common direction is turned past a row's normal (rule 5): each strip's tip_side is
    the side of its row's centerline the tip lies on, so that same_side (rule 4) is found as check
    finds it on the drawn stencil, in every format."""
    import stencilgen.planner as stencilgen_planner

    # (the first plan: planned again with its corners' choices relaxed (planner._pattern_retry), this
    # die takes another plan, which no longer shows what is tested here)
    monkeypatch.setattr(stencilgen_planner, "_pattern_retry", lambda *args: args[5])
    import stencilgen

    layout = str(tmp_path / "r.gds")
    synth.write_gds(layout, synth.ring(side=900.0, pitch=110.0, count=8, pad=(70.0, 100.0)).polygons(), noise=False)
    # (no keep-in: held within the ring's extent, its corners keep the bisector)
    planned = stencilgen.plan(stencilgen.read_layout(layout, layer="9/0"), keep_in="none")
    planned.write(tmp_path / "o", formats=("gerber", "dxf", "gds"))
    contacts = planned.records
    for r in planned.plan.rows.rows:
        for i in r.members.tolist():
            c = contacts[i]
            t = np.radians(c["strip_direction_deg"])
            assert c["tip_side"] == (1 if np.cos(t) * r.normal[0] + np.sin(t) * r.normal[1] >= 0 else -1), i
    turned = [c for c in contacts if c["oblique"] and c["strip_direction_deg"] % 90 != 45]
    assert turned, "the corner keeps the bisector: this die no longer tests a turned direction"
    codes = [sorted(f["code"] for f in c["findings"]) for c in contacts]
    assert sum(code.count("same_side") for code in codes) == 6
    for ext in ("gbr", "dxf", "gds"):
        got = stencilgen.check(stencilgen.read_layout(layout, layer="9/0"), str(tmp_path / "o" / f"r.{ext}"))
        assert [sorted(f["code"] for f in c["findings"]) for c in got.records] == codes, ext
        assert [c["tip_side"] for c in got.records] == [c["tip_side"] for c in contacts], ext


def test_a_wafer_is_checked_once_per_die_with_the_whole_checks_figures(tmp_path, monkeypatch):
    """Dies alike: the stencil is checked once per die and repeated; the report is the one the whole
    check gives. A die whose apertures differ is checked whole."""
    import stencilgen
    from stencilgen import api

    die = synth.ring(side=1000.0, pitch=100.0, count=8, pad=(60.0, 80.0))
    layout = str(tmp_path / "w.gds")
    polys = [p + np.array([x, y]) for x in (0.0, 2000.0, 4000.0) for y in (0.0, 2500.0) for p in die.polygons()]
    synth.write_gds(layout, polys, noise=False)
    out = tmp_path / "o"
    plan_file(layout, str(out), Rules(), Options(layer="9/0", formats=("gerber", "gds")))
    ring = stencilgen.read_layout(layout, layer="9/0")
    assert ring.instances is not None and len(ring.instances.transforms) == 6
    seen = []
    once = api._check_once_per_element

    def spy(*args):
        seen.append(once(*args))
        return seen[-1]

    monkeypatch.setattr(api, "_check_once_per_element", spy)
    for ext in ("gbr", "gds"):
        fast = stencilgen.check(ring, out / f"w.{ext}")
        assert seen[-1] is not None, ext  # checked once per die
        monkeypatch.setattr(api, "_check_once_per_element", lambda *args: None)
        whole = stencilgen.check(ring, out / f"w.{ext}")
        monkeypatch.setattr(api, "_check_once_per_element", spy)
        assert fast.summary["findings_by_code"] == whole.summary["findings_by_code"]
        assert [f["code"] for f in fast.findings] == [f["code"] for f in whole.findings]
        for key in ("aperture_area_um2", "aperture_width_um", "web_um", "clearance_um", "volume_ratio", "tip_side"):
            np.testing.assert_allclose(fast.column(key), whole.column(key), atol=1e-3, err_msg=key)
    # one die's aperture moved by 1 um: the dies differ, the stencil is checked whole
    lib = gdstk.read_gds(str(out / "w.gds"))
    flat = lib.top_level()[0].copy("FLAT").flatten()
    shapes = flat.polygons
    shapes[0].translate(1.0, 0.0)
    edited = gdstk.Library(unit=1e-6, precision=1e-9)
    edited.new_cell("E").add(*shapes)
    edited.write_gds(str(tmp_path / "e.gds"))
    moved = stencilgen.check(ring, tmp_path / "e.gds")
    assert seen[-1] is None and moved.summary["contacts"] == len(ring.contacts)


def test_an_oasis_stencil(tmp_path):
    lib = gdstk.Library(unit=1e-6, precision=1e-9)
    lib.new_cell("S").add(gdstk.rectangle((0, 0), (40, 20), layer=1), gdstk.rectangle((100, 0), (130, 30), layer=1))
    lib.write_oas(str(tmp_path / "s.oas"))
    polys = read_stencil(tmp_path / "s.oas")
    areas = sorted(abs(shapely.Polygon(polys.polygon(i)).area) for i in range(len(polys)))
    assert areas == pytest.approx([800.0, 900.0])


def test_a_wafer_leaving_the_keep_in_is_checked_whole(tmp_path, monkeypatch):
    """Apertures outside a keep-in given by the caller: the keep-in findings of the whole check."""
    import stencilgen
    from stencilgen import api

    wafer = stencilgen.read_layout(os.path.join(SAMPLES, "wafer_5x4.gds"), layer="9/0")
    paths = stencilgen.plan(wafer).write(str(tmp_path), formats=("gerber",))
    x0, y0, x1, y1 = shapely.MultiPoint(wafer.contacts.center).bounds
    cut = shapely.box(x0 - 500, y0 - 500, x1 - 200, y1 + 500)  # the right-hand dies' last column left out
    seen = []
    once = api._check_once_per_element
    monkeypatch.setattr(api, "_check_once_per_element", lambda *a: seen.append(once(*a)) or seen[-1])
    got = stencilgen.check(wafer, paths["gerber"], keep_in=cut)
    assert seen == [None] and got.summary["findings_by_code"].get("keep_in", 0) > 0
    inside = stencilgen.check(wafer, paths["gerber"], keep_in=shapely.box(x0 - 500, y0 - 500, x1 + 500, y1 + 500))
    assert seen[-1] is not None and "keep_in" not in inside.summary["findings_by_code"]


def test_apertures_alike_are_measured_once_with_the_same_report(tmp_path, monkeypatch):
    """Apertures alike up to a shift are measured once (widths, areas, distances per offset): the report
    is the one each aperture measured alone gives, web and clearance findings included."""
    from stencilgen import match
    from stencilgen.geometry import Alike

    layout = os.path.join(SAMPLES, "staggered_rows.gds")
    out = tmp_path / "o"
    plan_file(layout, str(out), Rules(), Options(layer="9/0", formats=("dxf", "gds")))
    strict = Rules().replace(web_min_um=75.0, clearance_um=60.0)
    kinds = []
    real = match.alike

    def spy(polys):
        kinds.append(real(polys))
        return kinds[-1]

    def apart(polys):  # every aperture a kind of its own
        return Alike(np.arange(len(polys)), polys.coords[polys.offsets[:-1]])

    import stencilgen

    ring = stencilgen.read_layout(layout, layer="9/0")
    for ext in ("dxf", "gds"):
        monkeypatch.setattr(match, "alike", spy)
        once = stencilgen.check(ring, out / f"staggered_rows.{ext}", strict)
        assert len(kinds[-1].first) < len(ring.contacts) / 4, ext  # most apertures are copies
        monkeypatch.setattr(match, "alike", apart)
        alone = stencilgen.check(ring, out / f"staggered_rows.{ext}", strict)
        codes = once.summary["findings_by_code"]
        assert codes == alone.summary["findings_by_code"] and codes["web"] and codes["clearance"], ext

        def key(f):
            return (f["contact"], f["code"], f.get("other", -1))

        a, b = sorted(once.findings, key=key), sorted(alone.findings, key=key)
        assert [key(f) for f in a] == [key(f) for f in b]
        np.testing.assert_allclose([f["value"] for f in a], [f["value"] for f in b], atol=1e-6)
        for col in ("aperture_area_um2", "aperture_width_um", "web_um", "clearance_um", "strip_direction_deg"):
            np.testing.assert_allclose(once.column(col), alone.column(col), atol=1e-6, err_msg=col)


def test_overlapping_copies_are_united_each_and_boxes_that_meet_alone_are_not():
    """Apertures alike up to a shift, overlapping alike: each pair united (GEOS asked once per kind of
    pair, a pair or many at a time); triangles whose boxes meet but which do not touch stay apart."""
    from stencilgen.readers.stencil import united

    rects, tris = [], []
    for k in range(20):
        x = 100.0 * k + 0.001 * k  # (shifts not exact in binary)
        rects += [
            np.array([[x, 0], [x + 40, 0], [x + 40, 20], [x, 20]]),
            np.array([[x + 30, 0], [x + 70, 0], [x + 70, 20], [x + 30, 20]]),
        ]
        tris += [np.array([[x, 50], [x + 10, 50], [x, 60]]), np.array([[x + 10, 60], [x + 10, 52], [x + 2, 60]])]
    polys = Polygons.from_list(rects + tris)
    for chunk in (1, 7, 16384):
        out = united(polys, chunk=chunk)
        areas = sorted(round(abs(shapely.Polygon(out.polygon(i)).area), 6) for i in range(len(out)))
        assert areas == [32.0] * 20 + [50.0] * 20 + [1400.0] * 20, chunk


def test_a_drawn_polygon_finer_than_klayouts_arc_chords_is_not_read_as_an_arc(tmp_path):
    """KLayout cuts a Gerber arc of sweep S into ceil(S / 11.25 deg) equal chords, and check finds such
    runs again as arcs. A region drawn as a 64-gon (chords of 5.6 deg) is no arc: it is measured as
    drawn, not as the circle through its vertices (0.1 um wider at 80 um radius). A true arc drawn
    beside it is still found again."""
    from stencilgen.readers.stencil import round_arcs

    t = np.radians(np.arange(64) * 360 / 64)
    gon = np.column_stack([80.0 * np.cos(t), 80.0 * np.sin(t)])
    lines = ["%FSLAX46Y46*%", "%MOMM*%", "%LPD*%", "G75*", "G36*"]
    f = lambda v: str(round(float(v) * 1e3))  # noqa: E731 (um to 1e-6 mm)
    lines.append(f"X{f(gon[0, 0])}Y{f(gon[0, 1])}D02*")
    lines += [f"G01X{f(x)}Y{f(y)}D01*" for x, y in np.vstack([gon[1:], gon[:1]])]
    lines += ["G37*", "G36*", f"X{f(300)}Y{f(0)}D02*", f"G03X{f(300)}Y{f(0)}I{f(-50)}J{f(0)}D01*", "G37*", "M02*"]
    gbr = tmp_path / "gon.gbr"
    gbr.write_text("\n".join(lines) + "\n")
    coarse = read_stencil(gbr, arcs=False)
    out = round_arcs(coarse)
    areas = sorted(abs(shapely.Polygon(out.polygon(i)).area) for i in range(len(out)))
    drawn = shapely.Polygon(gon).area
    assert areas[1] == pytest.approx(drawn, rel=1e-5)  # the 64-gon as drawn (on a 1 nm grid)
    assert areas[0] == pytest.approx(np.pi * 50**2, rel=1e-3)  # the circle found again (chords within 0.02 um)
    by_x = sorted(range(len(out)), key=lambda i: out.polygon(i)[:, 0].mean())
    assert len(out.polygon(by_x[0])) == len(coarse.polygon(by_x[0]))  # (the 64-gon's vertices kept)
