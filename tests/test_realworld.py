"""Real third-party layouts (../shared/realworld): what their README says they contain."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from stencilgen.readers import read_layout
from stencilgen.rows import find_layout_rows


def read(realworld: str, rel: str, layer: str):
    layout = read_layout(os.path.join(realworld, rel), layer=layer, list_layers=True)
    return layout, find_layout_rows(layout.contacts, layout.instances)


def test_ac3e_pad_ring(realworld):
    layout, rs = read(realworld, "ihp_ac3e_padring_28pads/AC3E_pad_ring_esd.gds", "9/0")
    c = layout.contacts
    assert layout.cell == "pad_ring_esd"  # the $$$CONTEXT_INFO$$$ top cell is hidden
    assert len(c) == 28
    np.testing.assert_allclose(c.d, 78.0, atol=1e-6)
    np.testing.assert_allclose(c.area, 78.0 * 78.0, rtol=1e-9)
    # the seal-ring frame on 9/0 is set aside, not a contact
    left_out = [e for e in layout.excluded if not e.kept]
    assert len(left_out) == 1 and "hole" in left_out[0].reason
    assert len(rs.rows) == 4 and all(len(r.members) == 7 for r in rs.rows)
    assert all(r.pitch == pytest.approx(100.0, rel=0.01) for r in rs.rows)
    assert len(rs.corners) == 4 and not rs.arrays and len(rs.isolated) == 0
    # row centres: bottom y=100.31 (x 212.8..812.8), top y=945.29 (x 232.8..832.8), left x=100.31, right x=945.29
    by_side = {}
    for r in rs.rows:
        pts = c.center[r.members]
        if r.direction_deg == pytest.approx(0.0) or r.direction_deg == pytest.approx(180.0):
            key = "bottom" if pts[:, 1].mean() < 500 else "top"
            by_side[key] = (pts[:, 1].mean(), pts[:, 0].min(), pts[:, 0].max())
        else:
            key = "left" if pts[:, 0].mean() < 500 else "right"
            by_side[key] = (pts[:, 0].mean(),)
    assert by_side["bottom"] == pytest.approx((100.31, 212.8, 812.8), abs=0.01)
    assert by_side["top"] == pytest.approx((945.29, 232.8, 832.8), abs=0.01)
    assert by_side["left"][0] == pytest.approx(100.31, abs=0.01)
    assert by_side["right"][0] == pytest.approx(945.29, abs=0.01)
    # outward normals point off the die
    for r in rs.rows:
        mid = c.center[r.members].mean(axis=0)
        assert (mid - np.array([522.8, 522.8])) @ r.normal > 0
    assert layout.layers["39/0"] == 8  # EdgeSeal outline present


def test_ihp_8x8_area_array(realworld):
    layout, rs = read(realworld, "ihp_open_test_8x8_array/OPEN_TEST_nofill.gds", "9/0")
    c = layout.contacts
    assert len(c) == 64
    assert not rs.rows, "the outer ring of an area array is not four edge rows"
    assert len(rs.arrays) == 1
    a = rs.arrays[0]
    assert len(a.members) == 64 and a.lines == (8, 8)
    assert a.pitches == pytest.approx((118.0, 118.0), abs=1e-6)
    assert c.center.min() == pytest.approx(109.11, abs=0.01) and c.center.max() == pytest.approx(935.11, abs=0.01)


def test_ihp_ota_seven_isolated_pads(realworld):
    layout, rs = read(realworld, "ihp_ota_tia_7pads/FMD_QNC_OTA_TIA.gds", "9/0")
    assert len(layout.contacts) == 7
    np.testing.assert_allclose(layout.contacts.d, 80.0, atol=1e-6)
    assert not rs.rows and not rs.arrays and len(rs.isolated) == 7


def test_ihp_ota_pads_share_the_room_by_need(realworld):
    """Its seven 80 um pads are grown onto the passivation (rule 9). Contact 6 sits between contact 5
    (150 um to its left) and contact 4 (150 um away on the diagonal, with room all round): where two
    grown pads come too close, the one with more of its target steps back, so contact 6 keeps the room
    it needs for volume_min and no contact is under_volume; every web and clearance holds."""
    import shapely

    import stencilgen
    from stencilgen.geometry import to_shapely
    from stencilgen.planner import aperture_polygons

    path = os.path.join(realworld, "ihp_ota_tia_7pads/FMD_QNC_OTA_TIA.gds")
    planned = stencilgen.plan(stencilgen.read_layout(path, layer="9/0"))
    assert planned.summary["errors"] == planned.summary["warnings"] == 0
    rules = planned.rules
    low = planned.column("volume_ratio") * rules.transfer_efficiency_min / rules.transfer_efficiency
    assert low.min() >= rules.volume_min
    ap = to_shapely(aperture_polygons(planned.plan.apertures))
    pads = to_shapely(planned.plan.contacts.polygons)
    for i in range(7):
        for j in range(7):
            if i != j:
                assert shapely.distance(ap[i], ap[j]) >= rules.web_min_um - 1e-6
                assert shapely.distance(ap[i], pads[j]) >= rules.clearance_um - 1e-6


def test_oasis_bondpad_row_among_many_vias(realworld):
    layout, rs = read(realworld, "ihp_gdsfactory_oasis/bondpad_array.oas", "134/5")
    c = layout.contacts
    assert layout.format == "oasis" and len(c) == 4
    assert len(rs.rows) == 1 and len(rs.rows[0].members) == 4
    assert rs.rows[0].pitch == pytest.approx(100.0)
    np.testing.assert_allclose(c.d, 68.0, atol=1e-6)  # octagonal 68 um pads
    np.testing.assert_allclose(c.center[:, 0] - c.center[0, 0], [0, 100, 200, 300], atol=1e-6)
    assert abs(c.center[:, 1]).max() < 2.0  # y = 0 (the drawn octagon is slightly irregular)
    assert layout.layers["125/5"] > 200_000  # the via boxes are counted, not expanded into contacts


def test_oasis_round_pillar_opening(realworld):
    layout, rs = read(realworld, "ihp_gdsfactory_oasis/CuPillarPad.oas", "9/35")
    c = layout.contacts
    assert len(c) == 1 and len(c.polygons.polygon(0)) == 64
    assert c.d[0] == pytest.approx(25.0, abs=0.05)  # a 64-gon of 25 um
    assert len(rs.isolated) == 1


def test_oasis_two_pillars_through_mirrored_hierarchy(realworld):
    layout, _ = read(realworld, "ihp_gdsfactory_oasis/add_pads_top.oas", "9/35")
    np.testing.assert_allclose(layout.contacts.center, [[-45.0, 122.5], [55.0, 122.5]], atol=1e-3)


def test_sky130_chamfered_pad_opening(realworld):
    layout, _rs = read(realworld, "sky130_gpiov2_pad/sky130_fd_io__overlay_gpiov2.gds", "76/20")
    c = layout.contacts
    assert len(c) == 1
    assert c.center[0] == pytest.approx([42.5, 135.785], abs=0.01)
    assert (c.d[0], c.length[0]) == pytest.approx((60.0, 70.0), abs=0.01)
    assert "72/20" in layout.layers  # met5 is there but is not the pad layer


@pytest.fixture(scope="module")
def stagger_def():
    """OpenROAD's staggered bond pads (DEF + LEF, layer metal10), read once for the tests that plan it."""
    from conftest import REALWORLD

    import stencilgen

    folder = os.path.join(REALWORLD, "def_openroad_stagger_and_bumps")
    if not os.path.isdir(folder):
        pytest.skip("../shared/realworld is not beside this checkout")
    return stencilgen.read_layout(
        os.path.join(folder, "place_bondpad_stagger.defok"),
        layer="metal10",
        lef=[os.path.join(folder, "dummy_pads_stagger.lef")],
    )


@pytest.fixture(scope="module")
def ac3e() -> tuple:
    """AC3E's pad ring read and planned with default rules, once for the tests that look at that plan."""
    from conftest import REALWORLD

    import stencilgen

    path = os.path.join(REALWORLD, "ihp_ac3e_padring_28pads/AC3E_pad_ring_esd.gds")
    if not os.path.isfile(path):
        pytest.skip("../shared/realworld is not beside this checkout")
    layout = stencilgen.read_layout(path, layer="9/0")
    return layout, stencilgen.plan(layout)


def test_ac3e_tips_the_die_edge_blocks_turn_inward(ac3e):
    """The pads sit 38.5 um from the die edge: an outward tip leaves the keep-in (rule 8), so a middle
    pad whose turn it is to point outward takes its tip inward beside its neighbours' (same_side),
    which gives it more than twice the solder of the stub that fits outside."""
    import stencilgen

    layout, planned = ac3e
    stub = stencilgen.plan(layout, stencilgen.Rules().replace(volume_min=0.0))  # no contact asks to turn
    ap = planned.plan.apertures
    centre = layout.contacts.center.mean(axis=0)
    inward = np.einsum("ij,ij->i", ap.axis, centre - layout.contacts.center) > 0
    turned = np.flatnonzero((ap.side_by == "volume_min") & ~ap.corner)
    assert len(turned) >= 4  # the middle pads, and those a finer search turns too
    assert inward[turned].all()
    was = np.einsum("ij,ij->i", stub.plan.apertures.axis[turned], centre - layout.contacts.center[turned])
    assert (was < 0).all()  # without the turn: a stub pointing outward
    assert (planned.volume_ratio[turned] > 2 * stub.volume_ratio[turned]).all()
    pairs = [f for f in planned.findings if f["code"] == "same_side" and f["limited_by"] == "volume_min"]
    assert {f["contact"] for f in pairs} | {f["other"] for f in pairs} >= set(turned.tolist())


def test_ac3e_starved_corner_lets_its_farther_members_run_straight(ac3e, monkeypatch):
    """Pad 19 lies 1.1 um off its row's grid, and AC3E's top-right corner counts four members where the
    others count two. As four oblique strips its worst contact gets 0.08 of pi*d^3/6; with the farther
    two (17 and 26) straight across their rows, as at the other corners, it gets twice that, and 17
    reaches volume_min. At trial time that left a thinner web, and the first plan declined it; the die
    planned again with such choices allowed ends with fewer contacts below volume_min, and no web
    warning at all."""
    import stencilgen
    import stencilgen.planner as planner

    layout, planned = ac3e
    corner = [17, 19, 26, 27]
    ap = planned.plan.apertures
    assert not ap.corner[[17, 26]].any() and ap.corner[[19, 27]].all()
    assert planned.volume_ratio[corner].min() > 0.15
    assert "web" not in planned.summary["findings_by_code"]
    monkeypatch.setattr(planner, "_pattern_retry", lambda *args: args[5])  # (the first plan)
    first = stencilgen.plan(layout)
    assert first.plan.apertures.corner[corner].all()
    assert first.volume_ratio[corner].min() < 0.1
    below = planned.summary["findings_by_code"]["under_volume"]
    assert below < first.summary["findings_by_code"]["under_volume"]
    assert planned.exit_code == first.exit_code == 0


def test_pads_grown_on_their_free_sides_have_no_finger_narrower_than_min_aperture(stagger_def, tmp_path):
    """OpenROAD's staggered bond pads (DEF + LEF, overlapping pads): the pads their neighbours hold back
    grow on their free sides between other contacts and apertures. What grows is at least
    min_aperture_um wide (rule 11): no aperture, as planned or as its Gerber is read back by KLayout,
    loses area when opened by just under half of that (no 5 um finger between two blocks)."""
    import shapely

    import stencilgen
    from stencilgen.geometry import to_shapely
    from stencilgen.planner import aperture_polygons
    from stencilgen.readers.stencil import read_stencil

    planned = stencilgen.plan(stagger_def)
    r = planned.rules.min_aperture_um / 2 - 0.1
    planned.write(tmp_path, formats=("gerber",))
    read_back = to_shapely(read_stencil(str(tmp_path / "place_bondpad_stagger.gbr")))
    for shapes in (to_shapely(aperture_polygons(planned.plan.apertures)), read_back):
        shapes = shapes[~shapely.is_empty(shapes)]
        opened = shapely.buffer(shapely.buffer(shapes, -r, join_style="mitre"), r, join_style="mitre")
        lost = shapely.area(shapely.difference(shapes, opened))
        assert lost.max() < 1.0, (np.argmax(lost), lost.max())
    from stencilgen.model import SHRUNK

    assert (planned.plan.apertures.kind == SHRUNK).sum() >= 40  # the pads grown on their free sides are there


def test_every_same_side_tip_on_the_ac3e_ring_says_why(ac3e, monkeypatch):
    """AC3E's pad ring: every same_side finding names its reason. As first planned (the top-right
    corner with four oblique strips), a tip beside an oblique corner strip lies on the corner strip's
    side because the corner's common direction puts that tip there (rule 5), not because either
    turned: its same_side finding says `corner`."""
    import stencilgen
    import stencilgen.planner as planner

    layout, planned = ac3e
    same = [f for f in planned.findings if f["code"] == "same_side"]
    assert same and all(f["limited_by"] for f in same)
    monkeypatch.setattr(planner, "_pattern_retry", lambda *args: args[5])
    planned = stencilgen.plan(layout)
    same = [f for f in planned.findings if f["code"] == "same_side"]
    assert same and all(f["limited_by"] for f in same)
    by_corner = [f for f in same if f["limited_by"] == "corner"]
    assert by_corner
    assert all(planned.records[f["other"]]["oblique"] or planned.records[f["contact"]]["oblique"] for f in by_corner)
    assert all("rule 5" in f["message"] for f in by_corner)


def test_an_empty_stencil_is_checked_as_one_without_apertures(realworld, tmp_path):
    """CuPillarPad's one pad gets no printable aperture inside its keep-in, so plan writes stencils
    that draw nothing. Checked, each format gives the same report: no_aperture on the contact, exit 1
    (not an unreadable file, exit 3, nor a question of which layer, exit 2)."""
    import json
    import subprocess
    import sys

    layout = os.path.join(realworld, "ihp_gdsfactory_oasis", "CuPillarPad.oas")
    out = tmp_path / "out"
    run = [sys.executable, "-m", "stencilgen"]
    r = subprocess.run([*run, "plan", layout, "--layer", "9/35", "-o", str(out), "-q"], capture_output=True, text=True)
    assert r.returncode == 1, r.stderr
    planned = json.loads((out / "CuPillarPad.json").read_text())
    assert planned["summary"]["apertures"] == 0
    for ext in ("gbr", "gds", "dxf"):
        report = tmp_path / f"check-{ext}"
        r = subprocess.run(
            [*run, "check", layout, "--layer", "9/35", "--stencil", str(out / f"CuPillarPad.{ext}"), "-o", str(report)],
            capture_output=True,
            text=True,
        )
        assert r.returncode == 1, (ext, r.stderr)
        assert "Error" not in r.stderr and "1 error, 0 warnings (no_aperture 1)" in r.stderr, (ext, r.stderr)
        found = json.loads((report / f"CuPillarPad.{ext}.check.json").read_text())
        rows = found["findings"]["rows"] if isinstance(found["findings"], dict) else found["findings"]
        assert found["summary"]["errors"] == 1, ext
        assert "no_aperture" in json.dumps(rows), ext


def test_openroad_stagger_def_plans_without_a_hard_break(realworld, tmp_path):
    """OpenROAD's staggered bond pads (DEF + LEF, layer metal10): two 35 um pads abut at 35 um spacing
    in the top row, 30 um below the die edge and 10 um above the next row. Contact 225's strip, 21 um
    wide, came within 7 um of its abutting neighbour and its round end reached the keep-in's margin
    upward and the next row's contact downward: a bridge, two merged apertures and five clearance
    errors were written. Last, a strip still breaking a hard rule takes any shape that keeps them (here
    narrower and slid away from its neighbour, its tip turned up: thin webs stay warnings), and plan
    and check of its Gerber and DXF find no error."""
    import stencilgen
    from stencilgen.rules import Rules
    from stencilgen.run import Options, check_file

    folder = os.path.join(realworld, "def_openroad_stagger_and_bumps")
    layout = os.path.join(folder, "place_bondpad_stagger.defok")
    lef = os.path.join(folder, "dummy_pads_stagger.lef")
    planned = stencilgen.plan(stencilgen.read_layout(layout, layer="metal10", lef=[lef]))
    assert planned.summary["errors"] == 0, planned.summary["findings_by_code"]
    rec = planned.records[225]
    assert rec["x_um"] == pytest.approx(1752.5) and rec["y_um"] == pytest.approx(2935.0)
    assert rec["clearance_um"] is None or rec["clearance_um"] >= 10.0 - 1e-3
    out = tmp_path / "o"
    planned.write(out, formats=("gerber", "dxf"))
    for ext in ("gbr", "dxf"):
        got = check_file(
            layout, str(out / f"place_bondpad_stagger.{ext}"), None, Rules(), Options(layer="metal10", lef=(lef,))
        )
        assert got.report["summary"]["errors"] == 0, (ext, got.report["summary"]["findings_by_code"])
    # its pads are placed at spacings from 35 to 190 um: 22 of its 26 isolated pads lie on the lines of
    # rows; the summary counts them, and a rules file with a larger spacing tolerance reads every pad
    # into 8 rows of strips (4 sides, 2 staggered rows each)
    assert planned.summary["isolated"] == 26 and planned.summary["isolated_in_line"] == 22
    from stencilgen.report import plan_text

    hint = [ln for ln in plan_text(planned.report).splitlines() if ln.startswith("  hint: 22 isolated contacts")]
    assert len(hint) == 1 and "spacing_tolerance" in hint[0]
    loose = stencilgen.inspect(
        stencilgen.read_layout(layout, layer="metal10", lef=[lef]), Rules().replace(spacing_tolerance=0.5)
    )
    assert len(loose["rows"]) == 8 and loose["isolated"] == 0 and loose["isolated_in_line"] == 0


def test_a_gerber_reads_its_strips_as_planned_to_the_nanometre(stagger_def, tmp_path):
    """The strips' round tips in plan's Gerber, read back as KLayout's coarse chords, are found again
    as the planner's own discs: every web and clearance within 1 nm of the plan's, every strip's area
    within 1e-4 of it, and the same findings (a forced web of 39.987 um, 13 nm short of web_min_um,
    read 40.000 when a tip was measured by chords). The strips' discs match the plan's to 1 nm. On this
    12 um foil, pads that share their room with a neighbour are 39.998 um wide (1 nm of each share kept
    for the grid): within the checks' 2 nm, in the plan as in the Gerber, DXF and GDS read back."""
    import stencilgen
    from stencilgen.distance import outline_shapes
    from stencilgen.readers.stencil import found_tips, read_stencil
    from stencilgen.rules import Rules

    layout = stagger_def
    thin = Rules().replace(thickness_um=12.0)
    planned = stencilgen.plan(layout, thin)
    assert planned.summary["findings_by_code"]["web"] == 494
    assert ((planned.plan.apertures.width > 39.997) & (planned.plan.apertures.width < 39.999)).sum() >= 3
    paths = planned.write(tmp_path, formats=("gerber", "dxf", "gds"))
    for fmt in ("gerber", "dxf", "gds"):
        checked = stencilgen.check(layout, paths[fmt], thin)
        assert checked.summary["findings_by_code"] == planned.summary["findings_by_code"], fmt
    p, c = planned.checked, stencilgen.check(layout, paths["gerber"], thin).checked
    assert np.array_equal(np.isfinite(p.min_web), np.isfinite(c.min_web))
    both = np.isfinite(p.min_web)
    assert np.abs(p.min_web[both] - c.min_web[both]).max() < 1e-3
    both = np.isfinite(p.min_clearance) & np.isfinite(c.min_clearance)
    assert np.abs(p.min_clearance[both] - c.min_clearance[both]).max() < 1e-3
    strips = planned.plan.apertures.kind == 0
    assert np.abs(p.area[strips] - c.area[strips]).max() / p.area[strips].max() < 1e-4
    # the tips found on KLayout's chords (read without finding arcs) are the planned discs
    tips = found_tips(read_stencil(paths["gerber"], arcs=False))
    planned_discs = outline_shapes(planned.plan.apertures.outlines, 48)
    want = planned_discs.disc_r > 0
    assert (tips.radius > 0).sum() == want.sum() == strips.sum()
    found = tips.centre[tips.radius > 0]
    near = np.hypot(*(found[:, None, :] - planned_discs.disc_center[want][None]).transpose(2, 0, 1))
    assert near.min(axis=1).max() < 1e-3
    assert np.abs(np.sort(tips.radius[tips.radius > 0]) - np.sort(planned_discs.disc_r[want])).max() < 1e-3


def test_a_pad_cell_whose_extent_is_its_pad_says_how_to_plan_it(realworld, tmp_path):
    """The pillar cell: its extent, the default keep-in, lies 10 um beyond its 25 um opening, inside
    edge_margin_um: unprintable (an error), and plan's summary names the way out; with --keep-in none
    the pad gets its aperture."""
    from click.testing import CliRunner

    from stencilgen.cli import main

    pillar = os.path.join(realworld, "ihp_gdsfactory_oasis", "CuPillarPad.oas")
    runner = CliRunner()
    r = runner.invoke(main, ["plan", pillar, "--layer", "9/35", "--formats", "json", "-o", str(tmp_path / "a")])
    assert r.exit_code == 1
    hint = [line for line in r.output.splitlines() if line.startswith("  hint: contacts lie within edge_margin_um")]
    assert hint and "--keep-in none" in hint[0], r.output
    r = runner.invoke(
        main, ["plan", pillar, "--layer", "9/35", "--keep-in", "none", "--formats", "json", "-o", str(tmp_path / "b")]
    )
    assert r.exit_code == 0 and "hint: contacts lie within" not in r.output


def test_a_pad_cell_whose_margin_starves_its_pad_says_how_to_plan_it(realworld, tmp_path):
    """The SKY130 pad cell: its extent lies within edge_margin_um of its opening, whose aperture ends at
    the margin below volume_min (a warning, limited by keep_in): the summary names the way out as for an
    unprintable pad; with --keep-in none the pad reaches its target and there is no hint."""
    from click.testing import CliRunner

    from stencilgen.cli import main

    cell = os.path.join(realworld, "sky130_gpiov2_pad", "sky130_fd_io__overlay_gpiov2.gds")
    runner = CliRunner()
    r = runner.invoke(main, ["plan", cell, "--layer", "76/20", "--formats", "json", "-o", str(tmp_path / "a")])
    assert r.exit_code == 0 and "under_volume (limited by keep_in)" in r.output, r.output
    hint = [line for line in r.output.splitlines() if line.startswith("  hint: contacts lie within edge_margin_um")]
    assert hint and "--keep-in none" in hint[0], r.output
    r = runner.invoke(
        main, ["plan", cell, "--layer", "76/20", "--keep-in", "none", "--formats", "json", "-o", str(tmp_path / "b")]
    )
    assert r.exit_code == 0 and "under_volume" not in r.output and "hint: contacts lie within" not in r.output


def test_the_gerber_draws_no_edge_of_no_length(realworld, tmp_path):
    """The IHP 8x8 array's bumps, grown and cut as pad-shaped apertures, once left vertices a nanometre
    apart: 111 of the Gerber's 551 draws went nowhere (some CAM tools flag them). No region repeats a
    point twice in a row."""
    import itertools
    import re

    import stencilgen

    layout = stencilgen.read_layout(
        os.path.join(realworld, "ihp_open_test_8x8_array", "OPEN_TEST_nofill.gds"), layer="9/0"
    )
    planned = stencilgen.plan(layout)
    planned.write(tmp_path, formats=("gerber",))
    text = (tmp_path / "OPEN_TEST_nofill.gbr").read_text()
    regions = re.findall(r"G36\*\n(.*?)G37\*", text, re.S)
    assert len(regions) == 64
    for region in regions:
        points = re.findall(r"X(-?\d+)Y(-?\d+)D0[12]", region)
        assert len(points) > 3
        assert all(a != b for a, b in itertools.pairwise(points)), region[:200]
        assert points[-1] == points[0]  # (a region's contour closes where it started)


def test_plan_says_which_shapes_it_left_out_and_merged(realworld, tmp_path):
    """The OTA die's seal ring on the pad layer is a frame, left out: `plan`'s summary says so in one
    line, as `inspect` lists it; a ring of pads drawn twice says how many were merged."""
    import synth
    from click.testing import CliRunner

    from stencilgen.cli import main

    ota = os.path.join(realworld, "ihp_ota_tia_7pads", "FMD_QNC_OTA_TIA.gds")
    runner = CliRunner()
    r = runner.invoke(main, ["plan", ota, "--layer", "9/0", "--formats", "json", "-o", str(tmp_path / "a")])
    assert r.exit_code == 0, r.output
    line = [ln for ln in r.output.splitlines() if ln.startswith("  shapes:")]
    assert line == ["  shapes: 1 left out (shape with a hole (a frame, not a contact)); stencilgen inspect lists each"]
    twice = str(tmp_path / "twice.gds")
    polys = synth.ring(side=1000.0, pitch=100.0, count=8, pad=(60.0, 80.0)).polygons()
    synth.write_gds(twice, polys + polys[:5], noise=False)
    r = runner.invoke(main, ["plan", twice, "--layer", "9/0", "--formats", "json", "-o", str(tmp_path / "b")])
    notes = json.loads((tmp_path / "b" / "twice.json").read_text())["summary"]["shape_notes"]
    merged = [n for n in notes if n["kept"]]  # (the ring's corner pads are drawn twice already)
    assert len(merged) >= 5 and len(merged) == len(notes)
    line = [ln for ln in r.output.splitlines() if ln.startswith("  shapes:")]
    said = f"  shapes: {len(merged)} groups of shapes merged into one contact each; stencilgen inspect lists each"
    assert line == [said], r.output
    r = runner.invoke(main, ["inspect", twice, "--layer", "9/0"])  # (ten notes, then how to see them all)
    assert f"  ... and {len(notes) - 10} more notes on shapes (--json lists every one)" in r.output.splitlines()
