"""Strip geometry against RULES.md, checked numerically with shapely (independent of the planner's sums)."""

from __future__ import annotations

import os

import numpy as np
import pytest
import shapely
import synth
from hypothesis import example, given, settings
from hypothesis import strategies as st

from stencilgen.checks import check_plan
from stencilgen.geometry import build_contacts, extent_along, to_shapely
from stencilgen.model import SHRUNK, STRIP, Polygons
from stencilgen.physics import least_area, solder_volume, volume_limit
from stencilgen.planner import aperture_polygons, plan_stencil
from stencilgen.rows import find_rows
from stencilgen.rules import Rules


def plan_of(die: synth.Die, rules: Rules | None = None, keep_in=None):
    contacts, _ = build_contacts(Polygons.from_list(die.polygons()), 0.001)
    rows = find_rows(contacts)
    rules = rules or Rules()
    return plan_stencil(contacts, rows, rules, keep_in), rules


#: a die outline far from the test dies' contacts (the keep-in, rule 8)
FAR = shapely.box(-2000.0, -2000.0, 2000.0, 2000.0)


def shapes(plan):
    """The apertures and the contacts as shapely polygons (None where a contact has no aperture)."""
    polys = aperture_polygons(plan.apertures)
    ap = np.full(len(polys), None, dtype=object)
    have = polys.counts > 0
    ap[have] = to_shapely(polys, np.flatnonzero(have))
    return ap, to_shapely(plan.contacts.polygons)


# 54 x 110 um pads at 100 um: a strip reaches the volume target with its length and a bulbous tip
SAMPLES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "sample_layouts")
RING = synth.ring(side=2400, pitch=100.0, count=19, pad=(54.0, 110.0))
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def ring_plan():
    return plan_of(RING)


def test_one_strip_per_contact_touching_only_its_own(ring_plan):
    plan, rules = ring_plan
    ap, pads = shapes(plan)
    assert len(ap) == len(pads) == len(plan.contacts)
    assert (plan.apertures.kind == STRIP).all()
    for i in range(len(ap)):
        assert ap[i].intersects(pads[i])
        d = shapely.distance(ap[i], np.delete(pads, i))
        assert d.min() >= rules.clearance_um - 1e-6  # clearance to every other contact


def test_strips_narrower_than_contact_and_crossing_it(ring_plan):
    plan, _ = ring_plan
    polys = aperture_polygons(plan.apertures)
    for r in plan.rows.rows:
        m = r.members
        plain = m[~plan.apertures.corner[m]]
        w_ap = extent_along(polys.take(plain), r.direction)
        w_c = extent_along(plan.contacts.polygons.take(plain), r.direction)
        assert (w_ap < w_c).all()
        assert (w_ap < 100.0).all()  # at 125 um pitch and below, under 100 um wide
        # across the row the strip covers the contact's full depth and reaches beyond it
        ap_n = extent_along(polys.take(plain), r.normal)
        c_n = extent_along(plan.contacts.polygons.take(plain), r.normal)
        assert (ap_n > c_n).all()
    ap, pads = shapes(plan)
    beyond = shapely.area(shapely.difference(ap, pads))
    assert (beyond > 1.0).all()


def test_tips_alternate_sides(ring_plan):
    plan, _ = ring_plan
    c = plan.contacts.center
    ap = aperture_polygons(plan.apertures)
    for r in plan.rows.rows:
        # which side of the centerline holds most of each aperture's area beyond the contact
        sides = []
        for i in r.members:
            g = shapely.difference(
                shapely.polygons(ap.polygon(int(i))), shapely.polygons(plan.contacts.polygons.polygon(int(i)))
            )
            cen = np.array(g.centroid.coords[0])
            sides.append(np.sign((cen - c[i]) @ r.normal))
        sides = np.array(sides)
        assert (sides[1:] != sides[:-1]).all(), sides


def test_corner_strips_oblique_and_parallel(ring_plan):
    plan, _ = ring_plan
    a = plan.apertures
    for k in plan.rows.corners:
        m = k.members
        assert a.corner[m].all()
        axes = a.axis[m] * a.side[m][:, None]  # undo the tip side: the common strip direction
        np.testing.assert_allclose(axes, np.repeat(axes[:1], len(m), axis=0), atol=1e-9)
        for rid in k.rows:
            u = plan.rows.rows[rid].direction
            cos = abs(axes[0] @ u)
            assert 0.05 < cos < 0.95  # oblique to both rows
        # the default is the bisector of the two outward normals
        assert abs(axes[0] @ k.bisector) == pytest.approx(1.0)


def test_volume_target_reached_and_limit_never_exceeded(ring_plan):
    plan, rules = ring_plan
    a = plan.apertures
    v_lim = volume_limit(plan.contacts.d)
    v_hi = solder_volume(a.area, rules, rules.transfer_efficiency_max)
    assert (v_hi <= v_lim * (1 + 1e-9)).all()
    plain = ~a.corner
    ratio = solder_volume(a.area, rules) / v_lim
    # the plain strips have room: they reach the target
    np.testing.assert_allclose(ratio[plain], rules.volume_target, rtol=1e-3)
    assert (ratio <= rules.volume_target * (1 + 1e-6)).all()
    assert (a.tip_d[plain] > a.width[plain] + 1).all()  # bulbous tips
    # and the exact area the planner reports matches the drawn outline (arcs as 48 chords)
    ap, _ = shapes(plan)
    np.testing.assert_allclose(shapely.area(ap), a.area, rtol=2e-3)


def test_web_between_apertures(ring_plan):
    plan, rules = ring_plan
    ap, _ = shapes(plan)
    plain = np.flatnonzero(~plan.apertures.corner)
    tree = shapely.STRtree(ap)
    a, b = tree.query(ap[plain], predicate="dwithin", distance=rules.web_min_um - 1e-6)
    a = plain[a]
    other = a != b
    # plain strips keep the web to each other; only corner strips may come closer (a warning)
    both_plain = ~plan.apertures.corner[b[other]]
    assert not both_plain.any()


def test_offset_strategy_alternates_centroids():
    plan, _ = plan_of(RING, Rules(strategy="offset"))
    ap = aperture_polygons(plan.apertures)
    c = plan.contacts.center
    for r in plan.rows.rows:
        plain = [i for i in r.members if not plan.apertures.corner[i]]
        offs = [(np.array(shapely.polygons(ap.polygon(int(i))).centroid.coords[0]) - c[i]) @ r.normal for i in plain]
        signs = np.sign(offs)
        assert (np.abs(offs) > 1).all()
        assert (signs[1:] != signs[:-1]).all()
    assert (plan.apertures.tip_d == 0).all()


def test_coarse_pitch_isolated_and_arrays_get_pads_sized_for_volume():
    die = synth.area_array(4, 4, (150.0, 150.0), pad=60.0)
    die.add((2000.0, 0.0), (80.0, 50.0), 0.0)  # isolated
    plan, _rules = plan_of(die)
    a = plan.apertures
    assert (a.kind == SHRUNK).all()
    ap, pads = shapes(plan)
    lone = int(np.argmax(plan.contacts.center[:, 0]))
    areas = shapely.area(ap)
    # by hand: d = 60, V_limit = pi 60^3 / 6, the target 0.8 V_limit at 20 um x 0.85 x 0.5 is an area of
    # 10,643.5 um^2, a square of 103.17 um: grown by 21.58 um per side, within the room (90 - 40) / 2 = 25
    target = 0.8 * np.pi * 60.0**3 / 6 / (20 * 0.85 * 0.5)
    np.testing.assert_allclose(np.delete(areas, lone), target, rtol=1e-6)
    # the isolated 80 x 50 pad: (80 + 2b)(50 + 2b) = 0.8 pi 50^3 / 6 / 8.5, b = 7.45 um
    b = (-260 + np.sqrt(260**2 - 16 * (4000 - 0.8 * np.pi * 50.0**3 / 6 / 8.5))) / 8
    assert areas[lone] == pytest.approx((80 + 2 * b) * (50 + 2 * b), rel=1e-6)
    assert (a.limited_by == "").all()
    assert shapely.contains(ap, pads).all()  # overprinted onto the passivation all round
    coarse = synth.ring(side=3000, pitch=200.0, count=10, pad=(80.0, 80.0))
    plan, _ = plan_of(coarse)
    assert (plan.apertures.kind == SHRUNK).all()


def _two_pads(second: float, gap: float = 60.0):
    die = synth.Die()
    die.add((0.0, 0.0), (60.0, 60.0), 0.0)
    die.add((30.0 + gap + second / 2, 0.0), (second, second), 0.0)
    return plan_of(die)


def test_two_pads_share_the_gap_between_them():
    # both want 21.58 um per side; the gap of 60 um less the 40 um web leaves 10 um each
    plan, _ = _two_pads(60.0)
    ap, _pads = shapes(plan)
    np.testing.assert_allclose(shapely.area(ap), 80.0 * 80.0, rtol=1e-9)
    assert list(plan.apertures.limited_by) == ["web", "web"]
    assert sorted(plan.apertures.limited_other) == [0, 1]
    # a 30 um pad wants only 3.24 um per side: the 60 um pad takes the rest of the 20 um
    plan, _ = _two_pads(30.0)
    ap, _pads = shapes(plan)
    small = 0.8 * np.pi * 30.0**3 / 6 / 8.5
    b_small = (np.sqrt(small) - 30) / 2
    big = int(np.argmax(plan.contacts.d))
    assert shapely.area(ap[1 - big]) == pytest.approx(small, rel=1e-6)
    assert shapely.area(ap[big]) == pytest.approx((60 + 2 * (20 - b_small)) ** 2, rel=1e-6)
    web = shapely.distance(ap[0], ap[1])
    assert web == pytest.approx(40.0, abs=1e-6)


def test_a_pad_its_neighbours_hold_back_grows_on_its_free_sides():
    """Three 100 x 130 um pads at 160 um (coarse pitch): the 60 um gaps less the 40 um web leave 10 um a
    side along the row, 120 x 150 um, below volume_min. Each then grows on its free sides (rule 9:
    overprint_max x d = 50 um a side) toward its target (0.8 pi 100^3 / 6 / 8.5 = 49,280 um^2, out of
    reach): the middle pad across the row only, to 120 x 230 um; the end pads also outward along the row,
    to 160 x 230 um; the web between them stays 40 um."""
    die = synth.Die()
    for k in range(3):
        die.add((160.0 * k, 0.0), (100.0, 130.0), 0.0)
    plan, rules = plan_of(die, keep_in=FAR)
    ap, pads = shapes(plan)
    order = np.argsort(plan.contacts.center[:, 0])
    want = [(-100.0, -115.0, 60.0, 115.0), (100.0, -115.0, 220.0, 115.0), (260.0, -115.0, 420.0, 115.0)]
    for k, box in zip(order, want, strict=True):
        np.testing.assert_allclose(ap[k].bounds, box, atol=2e-3)  # (a share keeps 1 nm more than the web)
        assert ap[k].area == pytest.approx((box[2] - box[0]) * (box[3] - box[1]), rel=1e-5)
    assert shapely.distance(ap[order[0]], ap[order[1]]) == pytest.approx(rules.web_min_um, abs=3e-3)
    assert shapely.contains(ap, pads).all()
    assert list(plan.apertures.limited_by) == ["web"] * 3  # still short of the target: the web says why


def test_a_close_pair_that_the_web_starves_grows_only_what_joins_its_own_shape():
    """Two 25 um pads 15 um apart, alone: each keeps min_aperture_um (a thin web is a warning) and is
    below volume_min. Each grows on its free sides, away from the other, joined to its own shape (never
    a detached piece of room) and never in a part narrower than min_aperture_um, and the web between
    them stays what it was."""
    die = synth.Die()
    die.add((0.0, 0.0), (25.0, 25.0), 0.0)
    die.add((40.0, 0.0), (25.0, 25.0), 0.0)
    plan, rules = plan_of(die, keep_in=FAR)
    ap, pads = shapes(plan)
    assert shapely.intersects(ap, pads).all()
    assert (plan.apertures.kind == SHRUNK).all()
    circle = 2 * shapely.length(shapely.maximum_inscribed_circle(ap, 0.001))
    assert (circle >= rules.min_aperture_um - 1e-3).all()
    # each holds its even shape (15 um square on its contact's centre) and grew away from the other
    even = shapely.buffer(shapely.centroid(pads), 7.5, cap_style="square", join_style="mitre")
    assert (shapely.area(shapely.difference(even, ap)) < 1e-6).all()
    assert (shapely.area(ap) > 15.0**2 + 150.0).all()
    r = rules.min_aperture_um / 2 - 0.01
    opened = shapely.buffer(shapely.buffer(ap, -r, join_style="mitre"), r, join_style="mitre")
    assert (shapely.area(shapely.difference(ap, opened)) < 1e-3).all()
    assert shapely.distance(ap[0], ap[1]) == pytest.approx(25.0, abs=1e-3)  # the web they had


def test_a_waisted_pad_shrunk_for_web_stays_printable(tmp_path):
    """An L-shaped pad (arms 30 um, d 100 um: the short side of its bounding rectangle) 20 um from a
    square pad: the web shares the gap at -10 um per side, which leaves the L's corner a circle of
    11.7 um. It shrinks only to min_aperture_um measured as its largest inscribed circle (rule 11),
    measured on the stencil re-read by gdstk; the square takes the rest."""
    import gdstk

    import stencilgen

    lib = gdstk.Library(unit=1e-6, precision=1e-9)
    cell = lib.new_cell("DIE")
    cell.add(gdstk.Polygon([(0, 0), (100, 0), (100, 30), (30, 30), (30, 100), (0, 100)], 9, 0))
    cell.add(gdstk.rectangle((120, 0), (220, 100), layer=9, datatype=0))
    path = str(tmp_path / "l.gds")
    lib.write_gds(path)
    planned = stencilgen.plan(stencilgen.read_layout(path, layer="9/0"), keep_in="none")
    rules = planned.rules
    assert planned.plan.contacts.d[0] == pytest.approx(100.0)
    planned.write(tmp_path / "o", formats=("gds",))
    shapes_ = gdstk.read_gds(str(tmp_path / "o" / "l.gds")).top_level()[0].get_polygons()
    got = sorted((shapely.Polygon(p.points) for p in shapes_), key=lambda g: g.centroid.x)
    circle = [2 * shapely.length(shapely.maximum_inscribed_circle(g, 0.001)) for g in got]
    assert circle[0] >= rules.min_aperture_um
    assert "unprintable" not in planned.summary["findings_by_code"]
    # the square steps back (0.5 um at a time) until it keeps web_min_um from the L
    assert rules.web_min_um - 0.01 <= shapely.distance(got[0], got[1]) < rules.web_min_um + 0.6
    # where the L faces the square it is no wider than its shrunk shape, whose narrowest circle is
    # min_aperture_um (below volume_min, it then grows on its free sides, away from the square)
    facing = shapely.intersection(got[0], shapely.box(70.0, -100.0, 200.0, 200.0))
    assert 85.0 < facing.bounds[2] < 100.0 - 5.0


@settings(max_examples=15, deadline=None)
@given(
    st.integers(2, 4),
    st.integers(2, 4),
    st.floats(95.0, 160.0),
    st.floats(40.0, 70.0),
    st.integers(0, 2**31 - 1),
)
def test_plan_does_not_depend_on_the_order_of_the_contacts(nx, ny, pitch, pad, seed):
    """Neighbours share room fairly: planning the same contacts numbered in another order gives every
    contact the same aperture."""
    die = synth.area_array(nx, ny, (pitch, pitch * 0.9), pad=pad)
    die.add((nx * pitch + 40.0, 0.0), (pad * 1.3, pad * 0.8), 0.0)  # a lone pad close to the array
    contacts, _ = build_contacts(Polygons.from_list(die.polygons()), 0.001)
    perm = np.random.default_rng(seed).permutation(len(contacts))
    shuffled = contacts.take(perm)
    plan = plan_stencil(contacts, find_rows(contacts), Rules())
    other = plan_stencil(shuffled, find_rows(shuffled), Rules())
    np.testing.assert_allclose(other.apertures.area, plan.apertures.area[perm], rtol=1e-9, atol=1e-6)
    np.testing.assert_allclose(other.apertures.width, plan.apertures.width[perm], rtol=1e-9, atol=1e-6)
    assert list(other.apertures.limited_by) == list(plan.apertures.limited_by[perm])


@settings(max_examples=10, deadline=None)
@given(st.integers(2, 4), st.integers(2, 3), st.floats(90.0, 110.0), st.floats(40.0, 55.0), st.integers(0, 2**31 - 1))
@example(2, 2, 90.67044103987531, 40.0, 0)  # a gap of exactly the web: no offset, nothing lost (GEOS)
def test_pads_growing_on_their_free_sides_do_not_depend_on_the_order_of_the_contacts(nx, ny, pad, gap, seed):
    """A coarse array whose pads the web holds below volume_min (gaps of 40-55 um): each grows on its free
    sides within its own share; numbered in another order, every contact gets the same aperture, and
    every two apertures keep web_min_um."""
    die = synth.area_array(nx, ny, (pad + gap, pad + gap + 15.0), pad=pad)
    contacts, _ = build_contacts(Polygons.from_list(die.polygons()), 0.001)
    perm = np.random.default_rng(seed).permutation(len(contacts))
    shuffled = contacts.take(perm)
    rules = Rules()
    plan = plan_stencil(contacts, find_rows(contacts), rules)
    other = plan_stencil(shuffled, find_rows(shuffled), rules)
    np.testing.assert_allclose(other.apertures.area, plan.apertures.area[perm], rtol=1e-9, atol=1e-6)
    assert list(other.apertures.limited_by) == list(plan.apertures.limited_by[perm])
    assert (plan.apertures.kind == SHRUNK).all()
    ap, pads = shapes(plan)
    assert (shapely.area(shapely.difference(pads, ap)) < 1e-6).all()  # each holds its contact
    assert (shapely.area(ap) > (pad + gap - rules.web_min_um) ** 2 + 1.0).all()  # more than even growth
    a, b = np.triu_indices(len(ap), 1)
    assert (shapely.distance(ap[a], ap[b]) >= rules.web_min_um - 1e-6).all()


@pytest.mark.parametrize("angle", [45.0, 60.0])
def test_oblique_scope_all_and_forced_angle(angle):
    plan, _rules = plan_of(RING, Rules(oblique_scope="all", oblique_angle_deg=angle))
    a = plan.apertures
    axes = a.axis * a.side[:, None]
    ang = np.degrees(np.arctan2(axes[:, 1], axes[:, 0])) % 180
    assert np.allclose(ang, angle, atol=1e-6)
    ap, pads = shapes(plan)
    a_idx, b_idx = shapely.STRtree(pads).query(ap, predicate="intersects")
    assert (a_idx == b_idx).all()
    # every strip runs oblique to its row: it is reported (and shaped) as an oblique strip; a strip
    # that would be narrower than min_aperture_um there is left out and reported unprintable (rule 11)
    printed = a.kind == STRIP
    assert a.corner[printed].all() and printed.sum() >= len(a.kind) // 2
    assert (a.limited_by[~printed] == "unprintable").all()
    assert (a.width[printed] >= 15.0 - 1e-9).all()


def test_staggered_rows_get_strips_that_never_touch_two_contacts():
    die = synth.staggered_ring(side=3000, pitch=120.0, count=15, sep=80.0)
    plan, rules = plan_of(die)
    assert (plan.apertures.kind == STRIP).all()
    ap, pads = shapes(plan)
    tree = shapely.STRtree(pads)
    a, b = tree.query(ap, predicate="intersects")
    assert (a == b).all() and len(a) == len(pads)
    a, b = tree.query(ap, predicate="dwithin", distance=rules.clearance_um - 1e-3)
    assert (a == b).all()  # clearance to the partner row's contacts too
    beyond = shapely.area(shapely.difference(ap, pads))
    assert (beyond > 0).all()


def test_keep_in_is_kept_by_turning_tips_inward():
    die = synth.ring(side=2400, pitch=100.0, count=19, pad=(54.0, 110.0))
    contacts, _ = build_contacts(Polygons.from_list(die.polygons()), 0.001)
    rows = find_rows(contacts)
    rules = Rules()
    outline = shapely.box(-1200, -1200, 1200, 1200)  # pad edges 65 um inside: no room for outward tips
    plan = plan_stencil(contacts, rows, rules, keep_in=outline)
    ap, _ = shapes(plan)
    inner = shapely.buffer(outline, -rules.edge_margin_um + 1e-3)
    assert shapely.contains(inner, ap).all()
    from stencilgen.checks import check_plan

    checked = check_plan(plan, rules, keep_in=outline)
    assert "keep_in" not in set(checked.findings.code)
    assert checked.errors == 0


def test_keep_in_from_a_layer(tmp_path):
    import gdstk

    from stencilgen.readers import read_outline

    path = str(tmp_path / "k.gds")
    lib = gdstk.Library(unit=1e-6, precision=1e-9)
    cell = lib.new_cell("TOP")
    for p in RING.polygons():
        cell.add(gdstk.Polygon(p, 9, 0))
    # a seal-ring frame drawn in four pieces: its outline is the filled outer boundary
    for x0, y0, x1, y1 in (
        (-1200, -1200, 1200, -1180),
        (-1200, 1180, 1200, 1200),
        (-1200, -1200, -1180, 1200),
        (1180, -1200, 1200, 1200),
    ):
        cell.add(gdstk.rectangle((x0, y0), (x1, y1), layer=39, datatype=0))
    lib.write_gds(path)
    outline = read_outline(path, "39/0")
    assert outline.area == pytest.approx(2400 * 2400)
    box = read_outline(path, "9/0", bbox=True)
    pts = np.concatenate(RING.polygons())
    assert box.bounds == pytest.approx((*pts.min(axis=0), *pts.max(axis=0)))


@pytest.mark.parametrize("gap", [10.0, 15.0])
def test_rows_facing_each_other_close_by_get_no_bridge(gap):
    """Two rows of 60 x 90 um pads at 100 um, `gap` apart: a tip toward the other row cannot keep its
    clearance even at its shortest, so it goes to the row's other side."""
    die = synth.Die()
    for i in range(8):
        die.add((i * 100.0, 0.0), (60.0, 90.0), 0.0)
        die.add((i * 100.0, 90.0 + gap), (60.0, 90.0), 0.0)
    plan, rules = plan_of(die)
    ap, pads = shapes(plan)
    tree = shapely.STRtree(pads)
    a, b = tree.query(ap, predicate="dwithin", distance=rules.clearance_um - 1e-3)
    assert (a == b).all() and len(a) == len(pads)  # each on its own contact, clear of the others
    assert "error" not in check_plan(plan, rules).status


def test_no_clearance_still_means_no_touching():
    """clearance_um = 0: an aperture may come as near another contact as it likes, but not touch it."""
    import os

    from conftest import SAMPLES

    from stencilgen.readers import read_layout

    rules = Rules(clearance_um=0.0)
    layout = read_layout(os.path.join(SAMPLES, "ring_100um.gds"), layer="9/0")
    plan = plan_stencil(layout.contacts, find_rows(layout.contacts), rules)
    ap, pads = shapes(plan)
    a, b = shapely.STRtree(pads).query(ap, predicate="intersects")
    assert (a == b).all()
    assert "error" not in check_plan(plan, rules).status


def test_candidate_pairs_hold_every_pair_within_reach_after_strips_moved():
    """The pairs the planner hands the checks (found again around the strips that slid or turned)
    hold every aperture within REPORT_REACH x clearance of another contact and x web of another aperture."""
    from stencilgen.model import REPORT_REACH
    from stencilgen.readers import read_layout

    layout = read_layout(os.path.join(SAMPLES, "ring_100um.gds"), "9/0")
    rules = Rules()
    plan = plan_stencil(layout.contacts, find_rows(layout.contacts), rules)
    from stencilgen.checks import same_side

    assert plan.near is not None and len(same_side(plan.contacts, plan.rows, plan.apertures)) > 0  # tips turned
    ap, pads = shapes(plan)
    pa, pc, qa, qb = plan.near
    have = np.flatnonzero([x is not None for x in ap])
    tree = shapely.STRtree(pads)
    a, c = tree.query(ap[have], predicate="dwithin", distance=REPORT_REACH * rules.clearance_um - 0.01)
    want = {(int(have[i]), int(j)) for i, j in zip(a, c, strict=True) if have[i] != j}
    assert want <= set(zip(pa.tolist(), pc.tolist(), strict=True))
    tree = shapely.STRtree(ap[have])
    a, b = tree.query(ap[have], predicate="dwithin", distance=REPORT_REACH * rules.web_min_um - 0.01)
    want = {(int(have[i]), int(have[j])) for i, j in zip(a, b, strict=True) if i < j}
    assert want <= set(zip(qa.tolist(), qb.tolist(), strict=True))


@pytest.mark.parametrize("sample", ["ring_100um.gds", "rotated_mixed_pitch.gds"])
def test_pairs_found_among_the_neighbourhood_are_those_of_the_whole(monkeypatch, sample):
    """Strips written back from a neighbourhood find their pairs again among its contacts only where
    no contact or aperture outside it can come within reach: the same pairs, and the same plan, as a
    search of the whole layout."""
    from stencilgen import planner
    from stencilgen.readers import read_layout

    layout = read_layout(os.path.join(SAMPLES, sample), "9/0")
    rows = find_rows(layout.contacts)
    holds = planner._Neighbourhood._holds
    searched = []

    def spy(self, *args):
        searched.append(holds(self, *args))
        return searched[-1]

    monkeypatch.setattr(planner._Neighbourhood, "_holds", spy)
    among = plan_stencil(layout.contacts, rows, Rules())
    assert any(s[0] is not None for s in searched) and any(s[1] is not None for s in searched)
    monkeypatch.setattr(planner._Neighbourhood, "_holds", lambda *args: (None, None))
    whole = plan_stencil(layout.contacts, rows, Rules())
    for i in (0, 2):  # (aperture, contact), (aperture, aperture)
        got = set(zip(among.near[i].tolist(), among.near[i + 1].tolist(), strict=True))
        assert got and got == set(zip(whole.near[i].tolist(), whole.near[i + 1].tolist(), strict=True))
    assert np.array_equal(among.apertures.outlines.coords, whole.apertures.outlines.coords)
    assert np.array_equal(among.apertures.area, whole.apertures.area)


#: the longer cases run in `make fuzz` (HYPOTHESIS_PROFILE=fuzz), keeping `make test` short
LONG = pytest.mark.skipif(os.environ.get("HYPOTHESIS_PROFILE") != "fuzz", reason="a long case: make fuzz runs it")


@pytest.mark.parametrize(
    "sample",
    [
        "ring_100um.gds",
        pytest.param("rotated_mixed_pitch.gds", marks=LONG),
        pytest.param("pinwheel", marks=LONG),
        "pinwheel_edge50",
    ],
)
def test_variants_tried_at_once_are_each_as_if_tried_alone(monkeypatch, sample):
    """The variants a neighbourhood tries at once (one copy of its strips per variant: slides, turned
    tips, corner directions, fewer corner members) give each strip what it gets when they are tried
    one after another: the same plan, to the bit, on layouts where strips slide and turn in the first
    rounds and in the needy round, corners try other directions and members, and corners share
    members (a pinwheel)."""
    from stencilgen import planner
    from stencilgen.readers import read_layout

    keep_in = None
    if sample.startswith("pinwheel"):  # (with a die edge 50 um beyond the pads)
        contacts, _ = build_contacts(Polygons.from_list(synth.pinwheel(8, 100.0).polygons()), 0.001)
        if sample.endswith("edge50"):
            lo, hi = contacts.polygons.coords.min(axis=0) - 50, contacts.polygons.coords.max(axis=0) + 50
            keep_in = shapely.box(*lo, *hi)
    else:
        contacts = read_layout(os.path.join(SAMPLES, sample), "9/0").contacts
    rows = find_rows(contacts)
    trial = planner._Neighbourhood.trial
    batches = []
    # (the polish's slides at a quarter of their range: the same property, at a fraction of the trials)
    monkeypatch.setattr(planner, "POLISH_SLIDES", (-1.0, -0.75, -0.5, -0.25, 0.25, 0.5, 0.75, 1.0))
    monkeypatch.setattr(planner, "POLISH_TURNED", (-1.0, -0.5, 0.5, 1.0))

    def spy(self, side, *args, **kwargs):
        batches.append((np.ndim(side) == 2 and len(side) > 1, kwargs.get("corner") is not None))
        return trial(self, side, *args, **kwargs)

    monkeypatch.setattr(planner._Neighbourhood, "trial", spy)
    together = plan_stencil(contacts, rows, Rules(), keep_in)
    assert sum(at_once for at_once, _ in batches) >= 2
    members = any(at_once and corner for at_once, corner in batches)
    monkeypatch.setattr(planner, "MAX_WORLDS", 1)  # one variant at a time, and no copies
    monkeypatch.setattr(planner, "MAX_COPIES", 0)
    batches.clear()
    one_by_one = plan_stencil(contacts, rows, Rules(), keep_in)
    assert not any(at_once for at_once, _ in batches)
    assert (together.apertures.kind == STRIP).sum() > 20 and (members or sample == "ring_100um.gds")
    assert np.array_equal(together.apertures.outlines.coords, one_by_one.apertures.outlines.coords)
    assert np.array_equal(together.apertures.area, one_by_one.apertures.area)
    assert np.array_equal(together.apertures.side, one_by_one.apertures.side)


def test_strips_held_short_slide_across_their_contact(monkeypatch):
    """Corner strips of the ring sample start far short (web to their neighbours): sliding across the
    contact, and turning a tip where that is not enough, lifts the worst above volume_min with every
    hard rule kept; with no slide and no turn allowed they stay below it."""
    from stencilgen import planner
    from stencilgen.readers import read_layout

    layout = read_layout(os.path.join(SAMPLES, "ring_100um.gds"), "9/0")
    rules = Rules()
    rows = find_rows(layout.contacts)

    def worst(plan):
        checked = check_plan(plan, rules)
        assert checked.errors == 0
        low = solder_volume(plan.apertures.area, rules, rules.transfer_efficiency_min)
        return float((low / (rules.volume_min * volume_limit(layout.contacts.d))).min())

    plan = plan_stencil(layout.contacts, rows, rules)
    a = plan.apertures
    # a slid strip: its axis no longer passes through its contact's centre
    centre = layout.contacts.center
    strip = np.flatnonzero(a.kind == STRIP)
    mid = np.array([aperture_polygons(a).polygon(i)[:2].mean(axis=0) for i in strip])
    off = np.abs(np.cross(a.axis[strip], mid - centre[strip]))
    assert (off > 1.0).any()
    with monkeypatch.context() as m:
        m.setattr(planner, "SLIDES", ())
        m.setattr(planner, "_improve", lambda *args, **kwargs: False)
        before = worst(plan_stencil(layout.contacts, rows, rules))
    assert before < 1.0 <= worst(plan)


def _wedge(angle_deg: float, pitch: float = 100.0, pad: tuple[float, float] = (60.0, 90.0)) -> synth.Die:
    """Two rows of ten pads meeting at `angle_deg`: one along x, one turned by the angle."""
    die = synth.Die()
    u = np.array([np.cos(np.radians(angle_deg)), np.sin(np.radians(angle_deg))])
    for i in range(10):
        die.add((100.0 + i * pitch, 0.0), pad, 0.0)
        c = u * (100.0 + i * pitch)
        die.add((c[0], c[1]), pad, angle_deg)
    return die


def test_a_60_degree_corner_chooses_another_direction():
    """At a 60 deg corner the bisector runs only 30 deg from each row: its strips, held at the narrowest
    printable width (rule 11), leave thin webs. Rule 5 lets the corner take another common direction at
    least oblique_min_deg from each row; the one chosen prints every contact, keeps every hard rule
    and leaves no more of the corner's contacts below volume_min than the bisector does (forced with
    oblique_angle_deg)."""
    die = _wedge(60.0)
    contacts, _ = build_contacts(Polygons.from_list(die.polygons()), 0.001)
    rows = find_rows(contacts)
    (corner,) = rows.corners
    rules = Rules()
    plan = plan_stencil(contacts, rows, rules)
    checked = check_plan(plan, rules)
    assert checked.errors == 0
    m = np.asarray(corner.members)
    a = plan.apertures
    assert (a.kind[m] == STRIP).all()
    lines = np.degrees(np.arctan2(a.axis[m, 1], a.axis[m, 0])) % 180
    assert np.ptp(lines) < 1e-6  # one common direction
    line = lines[0]
    bisector = np.degrees(np.arctan2(corner.bisector[1], corner.bisector[0]))
    assert abs((line - bisector + 90) % 180 - 90) > 30  # not the bisector
    for r in corner.rows:
        u = rows.rows[r].direction
        sep = np.degrees(np.arccos(abs(np.cos(np.radians(line)) * u[0] + np.sin(np.radians(line)) * u[1])))
        assert sep >= rules.oblique_min_deg - 1e-6
    low = solder_volume(a.area, rules, rules.transfer_efficiency_min) / volume_limit(contacts.d)
    forced = plan_stencil(contacts, rows, rules.replace(oblique_angle_deg=float(bisector)))
    low_forced = solder_volume(forced.apertures.area, rules, rules.transfer_efficiency_min) / volume_limit(contacts.d)
    assert (low[m] < rules.volume_min).sum() <= (low_forced[m] < rules.volume_min).sum()
    assert check_plan(forced, rules).errors == 0


def _far_edge_by_shapely(pads, c, axis, w, h1):
    """The far edge as the lines' cuts through the contacts, measured with shapely."""
    b = np.stack([axis[:, 1], -axis[:, 0]], axis=1)
    reach = h1.copy()
    for x in (-0.5, 0.0, 0.5):
        p0 = c + (x * w)[:, None] * b
        ends = np.stack([p0 + (h1 + 1)[:, None] * axis, p0 - (h1 + 1)[:, None] * axis], axis=1)
        cut = shapely.intersection(shapely.linestrings(ends), pads)
        pts, k = shapely.get_coordinates(cut, return_index=True)
        far = np.full(len(c), -np.inf)
        np.maximum.at(far, k, -np.einsum("ij,ij->i", pts - c[k], axis[k]))
        reach = np.where(np.isfinite(far), np.minimum(reach, far), 0.0)
    return np.maximum(reach, 0.0)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.floats(20, 120),
            st.floats(20, 120),
            st.floats(0, 180),
            st.floats(-0.45, 0.45),
            st.floats(0, 360),
            st.floats(0.1, 0.9),
        ),
        min_size=1,
        max_size=8,
    )
)
def test_far_edge_matches_shapely_cuts(cases):
    """The far edge of a strip across a turned rectangle or an octagon, cut edge by edge with numpy,
    equals the cut of each line through the contact by shapely."""
    from stencilgen.geometry import to_shapely
    from stencilgen.model import Polygons
    from stencilgen.planner import _far_edge

    rings, centres, axes, widths = [], [], [], []
    for k, (a, b, turn, off, ang, frac) in enumerate(cases):
        ring = synth.rect((0.0, 0.0), (a, b), turn)
        if k % 2:  # an octagon: the rectangle's corners cut
            ring = np.asarray(shapely.Polygon(ring).buffer(-min(a, b) / 5, join_style="bevel").exterior.coords)[:-1]
        t = np.radians(ang)
        axis = np.array([np.cos(t), np.sin(t)])
        rings.append(ring + 1000.0 * k)
        centres.append(np.array([off * a, off * b]) * 0.5 + 1000.0 * k)
        axes.append(axis)
        widths.append(frac * min(a, b))
    pads = Polygons.from_list(rings)
    c, axis, w = np.array(centres), np.array(axes), np.array(widths)
    h1 = np.array([np.max(-(r - cc) @ ax) for r, cc, ax in zip(rings, c, axis, strict=True)])
    got = _far_edge(pads, c, axis, w, h1)
    want = _far_edge_by_shapely(to_shapely(pads), c, axis, w, h1)
    np.testing.assert_allclose(got, want, atol=1e-6)


@pytest.mark.parametrize("seed", [1, 2])
def test_a_ring_with_corners_and_a_tight_die_edge_does_not_depend_on_the_order(seed):
    """The strips' own choices (slides, turned tips, corner directions and members) come out the same
    whatever the contacts' order: the ring sample's pads 35 um from its die edge, shuffled."""
    import stencilgen

    layout = stencilgen.read_layout(os.path.join(ROOT, "sample_layouts", "ring_100um.gds"), layer="9/0")
    keep_in = shapely.box(-1000.0, -1000.0, 1000.0, 1000.0)
    contacts = layout.contacts
    perm = np.random.default_rng(seed).permutation(len(contacts))
    shuffled = contacts.take(perm)
    plan = plan_stencil(contacts, find_rows(contacts), Rules(), keep_in)
    other = plan_stencil(shuffled, find_rows(shuffled), Rules(), keep_in)
    np.testing.assert_allclose(other.apertures.area, plan.apertures.area[perm], rtol=1e-9, atol=1e-6)
    np.testing.assert_allclose(other.apertures.axis, plan.apertures.axis[perm], atol=1e-9)
    assert list(other.apertures.corner) == list(plan.apertures.corner[perm])
    assert list(other.apertures.side_by) == list(plan.apertures.side_by[perm])


def test_an_oblique_strip_that_would_bridge_ends_its_body_inside_its_contact(tmp_path):
    """A 60 deg corner at 80 um pitch: an oblique strip's body runs on to its contact's far corner, and
    at its shortest it still touched the contact beside it (a bridge, written). Its body now ends where
    its band leaves the contact: no aperture touches or comes within clearance_um of another contact,
    in the plan and in its Gerber re-read by check."""
    import stencilgen

    path = str(tmp_path / "wedge.gds")
    synth.write_gds(path, _wedge(60.0, 80.0, (50.0, 75.0)).polygons(), noise=False)
    layout = stencilgen.read_layout(path, layer="9/0")
    planned = stencilgen.plan(layout)
    assert planned.exit_code == 0
    assert not {"bridge", "clearance", "unprintable"} & set(planned.summary["findings_by_code"])
    ap = aperture_polygons(planned.plan.apertures)
    geoms = to_shapely(ap)
    pads = to_shapely(layout.contacts.polygons)
    for i, g in enumerate(geoms):
        others = np.delete(np.arange(len(pads)), i)
        assert shapely.distance(g, pads[others]).min() >= planned.rules.clearance_um - 1e-3, i
        assert shapely.intersects(g, pads[i])
    planned.write(tmp_path / "o", formats=("gerber",))
    checked = stencilgen.check(layout, str(tmp_path / "o" / "wedge.gbr"))
    assert not [f for f in checked.findings if f["code"] in ("bridge", "clearance", "unprintable")]


def test_a_corner_too_fine_for_any_oblique_direction_runs_its_strips_straight(tmp_path):
    """A ring at 60 um pitch: at any common direction at a square corner, rule 3's width at the corner
    (the pitch less the web, measured at the angle) is under min_aperture_um, so the corner's strips
    would not print (rule 11, an error). Rule 11 comes before rule 5: the corner's contacts run straight
    across their own rows instead, each printable, no hard rule broken, every contact an aperture
    (re-read from the Gerber by check)."""
    import stencilgen

    path = str(tmp_path / "fine.gds")
    synth.write_gds(path, synth.ring(side=1200, pitch=60.0, count=15, pad=(30.0, 55.0)).polygons(), noise=False)
    layout = stencilgen.read_layout(path, layer="9/0")
    planned = stencilgen.plan(layout, keep_in="none")
    assert planned.exit_code == 0
    a = planned.plan.apertures
    assert (a.kind == STRIP).all() and (a.width >= planned.rules.min_aperture_um).all()
    corners = np.concatenate([k.members for k in planned.plan.rows.corners])
    assert len(corners) >= 8 and not a.corner[corners].any()
    # each corner strip runs across its own row: its axis along the row's normal
    for r in planned.plan.rows.rows:
        m = np.intersect1d(r.members, corners)
        assert np.allclose(np.abs(a.axis[m] @ r.normal), 1.0, atol=1e-9)
    planned.write(tmp_path / "o", formats=("gerber",))
    checked = stencilgen.check(layout, str(tmp_path / "o" / "fine.gbr"))
    assert checked.exit_code == 0 and len(checked.records) == len(layout.contacts)
    assert all(rec["aperture"] != "none" for rec in checked.records)


def test_a_web_the_pitch_forces_does_not_hold_a_strip_back(tmp_path):
    """50 um pitch, 32 um pads: rule 3 leaves 50 - 40 = 10 um, rule 11 holds the strips at 15 um, so
    neighbouring strips stand 35 um apart whatever their length (a web warning the plan cannot mend).
    That web does not stop them growing toward volume_target: nearly every straight strip reaches it (at
    7.5 um of extension they held 0.28 of pi d^3/6), no web thinner than the pitch forces, every hard
    rule kept."""
    import stencilgen

    path = str(tmp_path / "p50.gds")
    synth.write_gds(path, synth.ring(side=900, pitch=50.0, count=12, pad=(32.0, 32.0)).polygons(), noise=False)
    layout = stencilgen.read_layout(path, layer="9/0")
    planned = stencilgen.plan(layout, keep_in="none")
    rules, a = planned.rules, planned.plan.apertures
    assert planned.exit_code == 0
    straight = np.flatnonzero(~a.corner)
    assert len(straight) >= 40
    assert a.width[straight] == pytest.approx(rules.min_aperture_um)
    assert (a.extension[straight] > 30.0).all()
    vr = planned.volume_ratio[straight]
    assert (vr > 0.75).mean() > 0.9 and vr.min() > 0.4
    geoms = to_shapely(aperture_polygons(a))
    pads = to_shapely(layout.contacts.polygons)
    for i in range(len(geoms)):
        others = np.delete(np.arange(len(geoms)), i)
        assert shapely.distance(geoms[i], geoms[others]).min() >= 50.0 - rules.min_aperture_um - 1e-3
        assert shapely.distance(geoms[i], pads[others]).min() >= rules.clearance_um - 1e-3
    assert planned.summary["findings_by_code"]["web"] > 0  # still reported


def test_a_corner_does_not_turn_to_a_direction_that_leaves_no_web():
    """die_mm_blocks.dxf's corners start short of volume_min at the bisector; a direction at which the
    pitch leaves no web (rule 3's width would fall under min_aperture_um, held there by rule 11) is not
    one to choose (it counts as a thin web): the corners keep the bisector, where slides and turns lift
    every contact above volume_min (a direction 15 deg off, at 15 um strips, ended with 4 under it)."""
    import stencilgen

    path = os.path.join(SAMPLES, "die_mm_blocks.dxf")
    planned = stencilgen.plan(stencilgen.read_layout(path, layer="PADS"))
    codes = planned.summary["findings_by_code"]
    assert planned.summary["errors"] == 0 and not codes.get("under_volume")
    oblique = [c for c in planned.records if c["oblique"]]
    assert oblique and all(c["strip_direction_deg"] % 90 == 45 for c in oblique)
    assert min(c["aperture_width_um"] for c in oblique) > planned.rules.min_aperture_um + 5


def test_pairs_of_variant_copies_are_those_of_a_search_of_everything(monkeypatch):
    """A neighbourhood with copies of its strips (one per variant) searches each world apart: after
    every search (at build and after each trial) its pairs are, as sets, those that a search of the
    moved boxes against every box keeps (a copy beside the contacts as drawn, the apertures that stand
    and those of its own world)."""
    import copy

    from stencilgen import planner
    from stencilgen.distance import box_pairs
    from stencilgen.readers import read_layout

    def everything(self, a, other, b, reach, worlds=False):
        i, j = box_pairs(self.box[a], other[b], reach)
        return a[i], b[j]

    def every_aperture(self, reach):
        return box_pairs(self.box, self.box, reach, same=True)

    searched = []
    pairs = planner._Room.pairs

    def spy(self, moved=None, among=(None, None)):
        before = copy.copy(self)
        pairs(self, moved, among)
        if self.world is None or not (self.world > 0).any():
            return
        before._pairs_with = everything.__get__(before)
        before._aperture_pairs = every_aperture.__get__(before)
        pairs(before, moved, among)
        for k in (0, 2):
            got = set(zip(self.near[k].tolist(), self.near[k + 1].tolist(), strict=True))
            want = set(zip(before.near[k].tolist(), before.near[k + 1].tolist(), strict=True))
            assert len(self.near[k]) == len(got) and got == want
        searched.append(len(self.near[2]))

    monkeypatch.setattr(planner._Room, "pairs", spy)
    contacts = read_layout(os.path.join(SAMPLES, "ring_100um.gds"), "9/0").contacts
    plan_stencil(contacts, find_rows(contacts), Rules())
    assert len(searched) >= 5 and min(searched) > 0


@pytest.mark.parametrize("sample", ["ring_100um.gds", "rotated_mixed_pitch.gds"])
def test_bodies_whose_boxes_lie_far_apart_are_not_measured_and_nothing_changes(monkeypatch, sample):
    """The rule tests measure two polygons only where their boxes come within the distance asked:
    the plan is the same, to the bit, as when every pair is measured, and pairs were left out."""
    from stencilgen import planner
    from stencilgen.readers import read_layout

    contacts = read_layout(os.path.join(SAMPLES, sample), "9/0").contacts
    rows = find_rows(contacts)
    within = planner._Room._polygons_within
    left_out = []

    def spy(self, *args, **kwargs):
        ask = within(self, *args, **kwargs)
        left_out.append(int((~ask).sum()))
        return ask

    monkeypatch.setattr(planner._Room, "_polygons_within", spy)
    skipping = plan_stencil(contacts, rows, Rules())
    monkeypatch.setattr(planner._Room, "_polygons_within", lambda self, ia, *args, **kwargs: np.ones(len(ia), bool))
    every = plan_stencil(contacts, rows, Rules())
    assert sum(left_out) > 0
    assert np.array_equal(skipping.apertures.outlines.coords, every.apertures.outlines.coords)
    assert np.array_equal(skipping.apertures.area, every.apertures.area)
    assert list(skipping.apertures.limited_by) == list(every.apertures.limited_by)


def _framed_corner_die(path: str) -> None:
    """Rows of 80 um openings at 125 um along a 1000 x 1300 um die, tall 80 x 121 um openings on its
    right side, the seal ring's 5 um opening on the pad layer at the die's edge and its outline 25 um
    beyond that on layer 1/0."""
    import gdstk

    boxes = [((84.6 + 125 * i, 40.76), (165.4 + 125 * i, 121.56)) for i in range(7)]
    boxes += [((45.86, 467.1), (126.66, 582.9)), ((55.86, 619.6), (116.66, 680.4)), ((45.86, 717.1), (126.66, 832.9))]
    boxes += [((873.34, 581.45), (954.14, 702.24)), ((883.34, 736.44), (944.14, 797.24))]
    boxes += [((873.34, 831.44), (954.14, 952.24))]
    boxes += [((84.6 + 125 * i, 1178.45), (165.4 + 125 * i, 1259.25)) for i in range(7)]
    lib = gdstk.Library()
    cell = lib.new_cell("DIE")
    for a, b in boxes:
        cell.add(gdstk.rectangle(a, b, layer=9))
    ring = gdstk.boolean(gdstk.rectangle((0, 0), (1000, 1300)), gdstk.rectangle((5, 5), (995, 1295)), "not", layer=9)
    for frame in ring:
        cell.add(frame)
    cell.add(gdstk.rectangle((-25, -25), (1025, 1325), layer=1))
    lib.write_gds(path)


def test_a_tall_opening_at_a_corner_by_the_seal_ring_is_checked_as_it_was_planned(tmp_path):
    """A tall opening below the die's top right corner, beside the seal ring's opening: its oblique strip
    is short, with a wide tip. The stencil re-read from each format is measured as it was planned: each
    contact has the findings the plan reports (rule 3 measured on the strip's body and on its tip)."""
    import stencilgen

    path = str(tmp_path / "corner.gds")
    _framed_corner_die(path)
    layout = stencilgen.read_layout(path, layer="9/0")
    planned = stencilgen.plan(layout)
    i = int(np.argmin(np.hypot(*(layout.contacts.center - (913.74, 891.84)).T)))
    rec = planned.records[i]
    assert rec["oblique"] and rec["tip_diameter_um"] > 2 * rec["aperture_width_um"]
    planned.write(tmp_path / "o", formats=("gerber", "dxf", "gds"))
    codes = [sorted(f["code"] for f in c["findings"]) for c in planned.records]
    for ext in ("gbr", "dxf", "gds"):
        checked = stencilgen.check(layout, str(tmp_path / "o" / f"corner.{ext}"))
        assert [sorted(f["code"] for f in c["findings"]) for c in checked.records] == codes, ext
        assert abs(checked.records[i]["aperture_width_um"] - planned.records[i]["aperture_width_um"]) < 0.5, ext


def test_corner_strips_starved_by_clearance_cut_their_bodies_for_wider_tips(tmp_path, monkeypatch):
    """A ring of 70 x 100 um pads at 110 um: the strips at its corners stay far below volume_min. Where an
    oblique strip's body ends where its band leaves the contact (not at the contact's far corner), its
    tip starts nearer the contact and a wider one fits: those contacts get at least 1.5 times the
    solder the uncut bodies give them. Every strip stays a strip (planner.widest_tip): the long side of
    its minimum rotated rectangle lies within TIP_TILT_DEG of its axis."""
    import stencilgen.planner as stencilgen_planner

    # (the first plan: planned again with its corners' choices relaxed (planner._pattern_retry), this
    # die takes another plan, which no longer shows what is tested here)
    monkeypatch.setattr(stencilgen_planner, "_pattern_retry", lambda *args: args[5])
    import stencilgen
    import stencilgen.planner as planner

    layout = str(tmp_path / "r.gds")
    synth.write_gds(layout, synth.ring(side=900.0, pitch=110.0, count=8, pad=(70.0, 100.0)).polygons(), noise=False)
    lay = stencilgen.read_layout(layout, layer="9/0")
    monkeypatch.setattr(planner, "NEEDY_SINKS", ())  # (a sunk tip is the needy round's other way to it)
    # (no keep-in: held within the ring's extent, its corner strips turn inward)
    cut = stencilgen.plan(lay, keep_in="none")
    monkeypatch.setattr(planner, "NEEDY_CUTS", (False,))
    uncut = stencilgen.plan(lay, keep_in="none")
    gained = cut.volume_ratio >= 1.5 * uncut.volume_ratio
    assert gained.sum() >= 2
    assert (cut.volume_ratio >= uncut.volume_ratio - 0.01).all()  # nobody pays for it
    assert all(cut.records[k]["oblique"] for k in np.flatnonzero(gained))
    geoms = to_shapely(aperture_polygons(cut.plan.apertures))
    for k in np.flatnonzero(cut.plan.apertures.kind == STRIP):
        rec = cut.records[k]
        r = shapely.get_coordinates(shapely.minimum_rotated_rectangle(geoms[k]))[:4]
        sides = np.hypot(*(r[1] - r[0])), np.hypot(*(r[2] - r[1]))
        assert max(sides) >= 1.25 * min(sides) - 1e-6, (k, sides)
        long_side = (r[1] - r[0]) if sides[0] >= sides[1] else (r[2] - r[1])
        t = np.radians(rec["strip_direction_deg"])
        sine = abs(long_side[0] * np.sin(t) - long_side[1] * np.cos(t)) / max(sides)
        assert sine < np.sin(np.radians(planner.TIP_TILT_DEG + 0.5)), k


@settings(max_examples=150, deadline=None)
@example(w=15.0, reach_ratio=3.0, fill=1.0)  # a tip 2.7 x as wide, its centre a tip's width from the end
@example(w=15.0, reach_ratio=2.1, fill=1.0)
@example(w=20.0, reach_ratio=12.0, fill=1.0)  # a long strip, its tip wider than TIP_WIDTH allows alone
@given(
    w=st.floats(15.0, 60.0),
    reach_ratio=st.floats(0.75, 30.0),
    fill=st.floats(0.0, 1.0),
)
def test_the_widest_tip_leaves_the_smallest_rotated_rectangle_along_the_strip(w, reach_ratio, fill):
    """Any strip whose tip is no wider than planner.widest_tip allows (its centre `reach` from the far
    end) is held by a smallest rotated rectangle whose long side lies within TIP_TILT_DEG of its axis,
    and its far end never lies within its tip."""
    import stencilgen.planner as planner

    reach = reach_ratio * w
    widest = float(planner.widest_tip(np.array([w]), np.array([reach]))[0])
    D = w + fill * max(widest - w, 0.0)
    assert reach >= planner.TIP_REACH * D - 1e-9
    strip = shapely.union(shapely.box(-reach, -w / 2, 0.0, w / 2), shapely.Point(0.0, 0.0).buffer(D / 2, quad_segs=64))
    r = shapely.get_coordinates(shapely.minimum_rotated_rectangle(strip))[:4]
    sides = [r[1] - r[0], r[2] - r[1]]
    long_side = max(sides, key=lambda e: float(np.hypot(*e)))
    tilt = np.degrees(np.arctan2(abs(long_side[1]), abs(long_side[0])))
    assert tilt <= planner.TIP_TILT_DEG + 0.5, (D / w, reach / w, tilt)


def test_a_ring_at_the_fine_pitch_limit_turned_keeps_its_strips_and_corners():
    """A ring at exactly fine_pitch_um (125 um) turned 35 deg measures its pitch as 125.00000000000003 um:
    still fine pitch (rule 2), so its contacts get strips and its four corners oblique ones (rule 5),
    as when it is not turned."""
    count = int(2 * (1120 - 1.5 * 125.0) // 125.0) + 1
    die = synth.ring(side=2400, pitch=125.0, count=count)
    for angle in (0.0, 35.0):
        contacts, _ = build_contacts(Polygons.from_list(die.transformed(angle, (0.0, 0.0)).polygons()), 0.001)
        rows = find_rows(contacts)
        assert len(rows.corners) == 4, angle
        plan = plan_stencil(contacts, rows, Rules())
        assert (plan.apertures.kind == STRIP).all(), angle
        assert plan.apertures.corner.sum() >= 8, angle


def test_where_strips_stay_short_the_plan_with_narrower_tips_is_kept_if_better(tmp_path, monkeypatch):
    """A ring of 66 x 96 um pads at 110 um, 10 a side, a few missing on two sides, the die edge 50 um
    beyond them: wide tips leave 9 strips below volume_min, tips held to NARROW_TIPS 7 (a wide tip can
    take the room its neighbours need; on other dies it has been the other way round). The planner
    plans both ways where strips stay short and keeps the plan that leaves fewer below volume_min
    (either alone is no better). (Planned again with its corners' tips moved, the wide plan leaves 7
    too: that last try is left out here.)"""
    import sys

    import stencilgen
    import stencilgen.planner as planner

    sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks"))
    import audit_suite

    die = synth.Die()
    half, pitch, skip = 6.3 * 110.0, 110.0, {0: (3, 4, 5), 1: (6, 7)}
    for k, mid in enumerate([(0.0, -half), (half, 0.0), (0.0, half), (-half, 0.0)]):
        u = np.array([np.cos(np.radians(90 * k)), np.sin(np.radians(90 * k))])
        for i in set(range(10)) - set(skip.get(k, ())):
            c = np.asarray(mid) + (i - 4.5) * pitch * u
            die.add((c[0], c[1]), (66.0, 96.0), 90.0 * k)
    path = str(tmp_path / "ring.gds")
    audit_suite.write_die(path, die.polygons(), 50.0)
    layout = stencilgen.read_layout(path, layer="9/0")
    contacts, rules = layout.contacts, Rules()
    monkeypatch.setattr(planner, "_pattern_retry", lambda *args: args[5])

    def below(plan):
        return planner._shortfall(contacts, plan, rules)[0]

    kept = below(stencilgen.plan(layout).plan)
    plans = {}
    for tips in ((planner.TIP_WIDTH, planner.TIP_TILT_DEG), planner.NARROW_TIPS):
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(planner, "NARROW_TIPS", tips)
            mp.setattr(planner, "TIP_WIDTH", tips[0])
            mp.setattr(planner, "TIP_TILT_DEG", tips[1])
            plans[tips] = below(stencilgen.plan(layout).plan)
    assert kept == min(plans.values())
    assert kept < max(plans.values())  # the two ways differ here: the choice matters


def test_a_plain_strip_gives_way_to_a_corner_strip_that_cannot_shrink_enough():
    """Staggered double rows at 100 um (the inner row 50 um along, 90 um in) with a die edge 20 um
    beyond the pads: the first contact of an inner row is a corner member whose oblique strip, even
    at its smallest, reaches the long straight strip of the outer row beside it. The corner strip
    gives way first; where that is not enough, the straight strip gives way too, so that no two
    apertures touch (two touching apertures print as one opening over two contacts: rule 1)."""
    die = synth.Die()
    p, n, side = 100.0, 14, 1800.0
    starts = (((200, 0), 0, (0, 1)), ((200, side), 0, (0, -1)), ((0, 200), 90, (1, 0)), ((side, 200), 90, (-1, 0)))
    for start, angle, inward in starts:
        u = np.array([np.cos(np.radians(angle)), np.sin(np.radians(angle))])
        for i in range(n):
            c = np.asarray(start, float) + i * p * u
            die.add((c[0], c[1]), (45.0, 65.0), angle)
        for i in range(n - 1):
            c = np.asarray(start, float) + 90 * np.asarray(inward, float) + (50 + i * p) * u
            die.add((c[0], c[1]), (45.0, 65.0), angle)
    lo = np.min([q.min(axis=0) for q in die.polygons()], axis=0)
    hi = np.max([q.max(axis=0) for q in die.polygons()], axis=0)
    plan, rules = plan_of(die, keep_in=shapely.box(*(lo - 20), *(hi + 20)))
    assert plan.apertures.corner.sum() > 0
    ap, _ = shapes(plan)
    assert all(a is not None for a in ap)
    tree = shapely.STRtree(ap)
    a, b = tree.query(ap, predicate="dwithin", distance=1e-6)
    assert (a == b).all(), [(int(i), int(j)) for i, j in zip(a, b, strict=True) if i < j]
    merged = shapely.union_all(ap)
    assert len(merged.geoms) == len(ap)
    checked = check_plan(plan, rules)
    assert "merged" not in set(checked.findings.code.tolist())


def test_two_isolated_pads_farther_apart_than_one_grows_share_the_gap():
    """Two isolated 100 um pads 110 um apart, each wanting overprint_max (50 um a side): either alone
    would reach 50 um, so together they would overlap. They share the gap (rule 9): 35 um each, the
    40 um web between them; each says `web`, the other's id beside it. (The pair was once not found: it
    was searched within one pad's growth and the web, not both pads' growth.)"""
    die = synth.Die()
    die.add((0.0, 0.0), (100.0, 100.0), 0.0)
    die.add((210.0, 0.0), (100.0, 100.0), 0.0)
    plan, rules = plan_of(die, keep_in=FAR)
    ap, _ = shapes(plan)
    assert shapely.distance(ap[0], ap[1]) == pytest.approx(rules.web_min_um, abs=1e-3)
    for a in ap:
        x0, y0, x1, y1 = a.bounds
        assert x1 - x0 == pytest.approx(170.0, abs=1e-3) and y1 - y0 == pytest.approx(170.0, abs=1e-3)
    assert list(plan.apertures.limited_by) == ["web", "web"]
    assert list(plan.apertures.limited_other) == [1, 0]


def test_a_web_its_contacts_force_does_not_hold_back_strips_pointing_away():
    """Two staggered rows of 60 x 80 um contacts at 100 um, the second 50 um along and 100 um across:
    the contacts of the two rows are 20 um apart, so the bodies of their strips stand 24.4 um apart
    whatever the planner does (web_min_um is 40). A tip pointing away from the other row has all the
    room it wants: it grows and reaches volume_min. (It was shrunk to its least, about 0.21 of the
    limit, for a web no shrinking could mend.) The web the strips force at their least stays a warning,
    and no pair of apertures comes closer than that."""
    die = synth.Die()
    for i in range(10):
        die.add((i * 100.0, 0.0), (60.0, 80.0), 0.0)
        die.add((50.0 + i * 100.0, 100.0), (60.0, 80.0), 0.0)
    plan, rules = plan_of(die, keep_in=FAR)
    ap, _ = shapes(plan)
    a = plan.apertures
    other_row = np.where(plan.contacts.center[:, 1] < 50, 1.0, -1.0)  # +y toward the other row for row 0
    away = a.axis[:, 1] * other_row < 0
    assert away.sum() >= 12
    enough = least_area(plan.contacts.d, rules)
    assert (a.area[away] >= enough[away]).all()
    # each strip at its least: its 36 um body across its contact, its round end at the contact's edge
    c, w = plan.contacts.center, a.width
    assert np.allclose(w, 36.0)
    least = np.array(
        [
            shapely.union(
                shapely.box(x - 18.0, y - 40.0, x + 18.0, y + 40.0), shapely.Point(x, y + 40.0 * t).buffer(18.0, 256)
            )
            for (x, y), t in zip(c, a.axis[:, 1], strict=True)
        ]
    )
    tree = shapely.STRtree(ap)
    i, j = tree.query(ap, predicate="dwithin", distance=rules.web_min_um)
    i, j = i[i < j], j[i < j]
    floor = np.minimum(rules.web_min_um, shapely.distance(least[i], least[j]))
    assert floor.min() < rules.web_min_um  # (the rows force thin webs here)
    assert (shapely.distance(ap[i], ap[j]) >= floor - 1e-2).all()
    checked = check_plan(plan, rules)
    assert "web" in set(checked.findings.code.tolist())


def test_a_corner_of_one_contact_a_row_runs_straight_where_no_oblique_strip_prints(tmp_path):
    """A ring of 34 x 62 um pads at 55 um: each corner holds the end pad of two rows. At the common
    oblique direction the corner takes, one of the two gets a strip narrower than min_aperture_um; each prints as a
    straight strip across its own row (rule 11 before rule 5). Both end pads run straight and every
    contact gets a printable aperture. (A corner with one contact a row once skipped that choice: four
    contacts unprintable, exit 1.)"""
    import sys

    import stencilgen

    sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks"))
    import audit_suite

    die = synth.Die()
    half, pitch = 7.7 * 55.0, 55.0
    for k, mid in enumerate([(0.0, -half), (half, 0.0), (0.0, half), (-half, 0.0)]):
        u = np.array([np.cos(np.radians(90 * k)), np.sin(np.radians(90 * k))])
        for i in range(12):
            c = np.asarray(mid) + (i - 5.5) * pitch * u
            die.add((c[0], c[1]), (34.0, 62.0), 90.0 * k)
    path = str(tmp_path / "ring55.gds")
    audit_suite.write_die(path, die.polygons(), 40.0)
    planned = stencilgen.plan(stencilgen.read_layout(path, layer="9/0"))
    a = planned.plan.apertures
    assert planned.exit_code == 0 and "unprintable" not in planned.summary["findings_by_code"]
    assert (a.kind == 0).all() and (a.width >= planned.rules.min_aperture_um - 1e-6).all()
    assert not a.corner.any()  # every strip straight across its own row
    ap, contacts = shapes(planned.plan)
    tree = shapely.STRtree(contacts)
    i, j = tree.query(ap, predicate="dwithin", distance=planned.rules.clearance_um - 1e-6)
    assert (i == j).all()


def test_a_contact_also_in_a_coarse_row_keeps_rule_3_only_along_its_fine_one():
    """A row of 5 pads at 113 um whose end pad also heads a column of 3 at 200 um (a real IHP die): the
    column is at coarse pitch and gets pads, the end pad a strip across the fine row, running along the
    column. Rule 3 holds along the fine row (the strip narrower than the contact there); along the
    column there is no width to keep, and the check says no too_wide (it once measured the strip's
    length along the column)."""
    pads = [synth.rect((113.0 * i, 0.0), (55.8, 55.8), 0.0) for i in range(5)]
    pads += [synth.rect((0.0, 200.0 * j), (55.8, 55.8), 0.0) for j in (1, 2)]
    contacts, _ = build_contacts(Polygons.from_list(pads), 0.001)
    rows = find_rows(contacts)
    corner = int(np.argmin(np.hypot(*contacts.center.T)))
    assert sum(corner in r.members for r in rows.rows) == 2  # the end pad is in both rows
    rules = Rules()
    plan = plan_stencil(contacts, rows, rules, FAR)
    checked = check_plan(plan, rules, FAR)
    assert "too_wide" not in set(checked.findings.code)
    ap, _ = shapes(plan)
    # the end pad's strip is narrower than its contact along the fine row (x), longer than it along the column
    lo, hi = np.asarray(ap[corner].bounds[:2]), np.asarray(ap[corner].bounds[2:])
    width, length = hi - lo
    assert plan.apertures.kind[corner] == STRIP
    assert width < 55.8 and length > 55.8


def test_a_starved_contact_takes_a_tip_as_wide_as_rule_3_allows_where_it_still_reads_as_a_strip(tmp_path):
    """In-line double rows (80 um pitch, rows 120 um apart, 48 x 64 um pads, a die outline 80 um out):
    the inner rows' end contacts at the corners are starved between the rows, below volume_min with tips
    held to TIP_WIDTH x their width. The last step tries each tip as wide as rule 3 allows and keeps it
    where the smallest rotated rectangle holding the strip still runs along its axis (a reader taking
    the strip's axis and width from it measures rule 3 as planned): no contact stays below volume_min,
    and each wider tip is narrower than its contact along the row."""
    import gdstk

    import stencilgen
    from stencilgen.planner import READ_AXIS_DEG, TIP_WIDTH

    path = str(tmp_path / "inline.gds")
    lib = gdstk.Library(unit=1e-6, precision=1e-9)
    cell = lib.new_cell("TOP")
    for edge, count in ((80.0, 14), (200.0, 12)):
        for p in synth.ring(side=1600.0, pitch=80.0, count=count, pad=(48.0, 64.0), edge=edge).polygons():
            cell.add(gdstk.Polygon(p, layer=9, datatype=0))
    cell.add(gdstk.rectangle((-800, -800), (800, 800), layer=39, datatype=0))
    lib.write_gds(path)
    planned = stencilgen.plan(stencilgen.read_layout(path, layer="9/0"))
    codes = planned.summary["findings_by_code"]
    assert planned.summary["errors"] == 0 and "under_volume" not in codes, codes
    ap = planned.plan.apertures
    wide = np.flatnonzero((ap.kind == STRIP) & (ap.tip_d > TIP_WIDTH * ap.width + 1e-6))
    assert len(wide) >= 4
    polys = aperture_polygons(ap)
    contacts = planned.plan.contacts
    for i in wide.tolist():
        rect = np.asarray(shapely.minimum_rotated_rectangle(shapely.Polygon(polys.polygon(i))).exterior.coords)
        e1, e2 = rect[1] - rect[0], rect[2] - rect[1]
        long = e1 if np.hypot(*e1) >= np.hypot(*e2) else e2
        cos = abs(float(long @ ap.axis[i])) / np.hypot(*long)
        assert cos >= np.cos(np.radians(READ_AXIS_DEG)) - 1e-9, (i, np.degrees(np.arccos(min(cos, 1.0))))
        r = next(r for r in planned.plan.rows.rows if i in r.members)
        width = extent_along(contacts.polygons.take(np.array([i])), r.direction[None, :])[0]
        assert ap.tip_d[i] < width


#: the pad openings of a small real die (IHP SG13G2, a 500 um die with 17 pads; um): rows of 3 and 4
#: at 60-95 um pitch, the corner pads 75.8 um, the die's seal ring on the pad layer 4.2 um wide
SMALL_DIE_PADS = [
    (-523.29, -158.355, -427.49, -113.055), (-523.29, -539.355, -427.49, -494.055),
    (-688.55, -374.105, -643.25, -278.305), (-341.785, -192.605, -265.985, -116.805),
    (-403.03, -158.605, -357.23, -112.805), (-307.785, -313.855, -261.985, -268.055),
    (-307.785, -253.855, -261.985, -208.055), (-593.545, -158.605, -547.745, -112.805),
    (-684.805, -192.605, -609.005, -116.805), (-688.805, -253.855, -643.005, -208.055),
    (-688.805, -436.55, -643.005, -390.75), (-684.805, -535.605, -609.005, -459.805),
    (-593.545, -539.605, -547.745, -493.805), (-307.785, -376.55, -261.985, -330.75),
    (-307.785, -436.55, -261.985, -390.75), (-403.03, -539.605, -357.23, -493.805),
    (-341.785, -535.605, -265.985, -459.805),
]  # fmt: skip


def test_a_starved_strip_turns_its_tip_at_a_fine_slide_in_the_last_step(tmp_path, monkeypatch):
    """A small real die: the oblique corner strip of the pad at (-665.9, -413.65) um points its tip at
    the die edge, where the grown corner pad beside it leaves it 0.17 of pi d^3/6. Turned inward, its
    tip meets the next pad of its row 16.7 um away at the coarse slides, and the corner pad's web at
    the others; between them, on the last step's fine slides, it finds a gap and gets its volume."""
    import stencilgen.planner as stencilgen_planner

    # (the first plan: planned again with its corners' choices relaxed (planner._pattern_retry), this
    # die takes another plan, which no longer shows what is tested here)
    monkeypatch.setattr(stencilgen_planner, "_pattern_retry", lambda *args: args[5])
    import gdstk

    import stencilgen

    x0, y0, x1, y1, w, n = -725.4, -576.205, -225.4, -76.205, 4.2, 7
    lib = gdstk.Library(unit=1e-6, precision=1e-9)
    cell = lib.new_cell("TOP")
    for b in SMALL_DIE_PADS:
        cell.add(gdstk.rectangle(b[:2], b[2:], layer=9, datatype=0))
    cut = n * w  # (the seal ring's corners: a staircase of n steps)
    for b in ((x0 + cut, y0, x1 - cut, y0 + w), (x0 + cut, y1 - w, x1 - cut, y1)):
        cell.add(gdstk.rectangle(b[:2], b[2:], layer=9, datatype=0))
    for b in ((x0, y0 + cut, x0 + w, y1 - cut), (x1 - w, y0 + cut, x1, y1 - cut)):
        cell.add(gdstk.rectangle(b[:2], b[2:], layer=9, datatype=0))
    for k in range(n):
        for (cx, sx), (cy, sy) in (((x0, 1), (y0, 1)), ((x1, -1), (y0, 1)), ((x0, 1), (y1, -1)), ((x1, -1), (y1, -1))):
            ax, ay = cx + sx * (cut - k * w), cy + sy * (k * w)
            cell.add(gdstk.rectangle((ax, ay), (ax - sx * w, ay + sy * 2 * w), layer=9, datatype=0))
    cell.add(gdstk.rectangle((x0, y0), (x1, y1), layer=39, datatype=0))
    path = str(tmp_path / "small.gds")
    lib.write_gds(path)
    planned = stencilgen.plan(stencilgen.read_layout(path, layer="9/0"))
    c = planned.plan.contacts
    (i,) = np.flatnonzero(np.hypot(*(c.center - [-665.905, -413.65]).T) < 0.01)
    ap = planned.plan.apertures
    assert ap.kind[i] == STRIP and ap.corner[i]
    record = planned.records[int(i)]
    assert record["volume_ratio"] * 0.70 / 0.85 >= 0.3, record
    codes = {f["code"] for f in record["findings"]}
    assert "under_volume" not in codes, codes
    assert ap.side_by[i] == "volume_min", ap.side_by[i]  # (turned to reach volume_min)
    assert planned.summary["errors"] == 0


def test_tips_turned_side_by_side_share_the_pitch_without_a_search():
    """A bare ring held within its contacts' extent turns every outer tip inward: between two such
    neighbours a tip is sized at once to the pitch less the web (80 um pads at 100 um: 60 um, not the
    79.9 um its contact allows), exactly, where a search for the size would stop a little short of it;
    and no rule is broken."""
    from stencilgen.planner import held_extent

    die = synth.ring(side=2400, pitch=100.0, count=19, pad=(80.0, 110.0))
    contacts, _ = build_contacts(Polygons.from_list(die.polygons()), 0.001)
    rules = Rules()
    plan = plan_stencil(contacts, find_rows(contacts), rules, held=held_extent(contacts))
    ap = plan.apertures
    assert (ap.kind == STRIP).all()
    assert (ap.side_by == "extent").sum() >= 30  # (half of every row turned inward)
    mid = ~ap.corner & (ap.tip_d > 0)
    assert (np.abs(ap.tip_d[mid] - (100.0 - rules.web_min_um)) < 1e-9).sum() >= 40
    checked = check_plan(plan, rules)
    assert not np.isin(checked.findings.code, ["web", "clearance", "bridge"]).any()


def test_a_held_corner_turns_its_tips_inward_with_its_direction():
    """A bare ring at 110 um pitch held within its contacts' extent: every straight tip turns inward,
    and no corner strip has room outward. Its corners try each common direction with every tip inward
    too (not only where the alternation puts them): the corner strips end at 45 deg, facing along the
    diagonal, each with 0.89 of volume_min (with the tips where the alternation put them, the worst of
    them kept 0.36)."""
    from stencilgen.planner import held_extent

    die = synth.ring(side=2000.0, pitch=110.0, count=14, pad=(70.0, 100.0))
    contacts, _ = build_contacts(Polygons.from_list(die.polygons()), 0.001)
    rules = Rules()
    plan = plan_stencil(contacts, find_rows(contacts), rules, held=held_extent(contacts))
    ap = plan.apertures
    share = ap.area / least_area(contacts.d, rules, None)
    corner = np.flatnonzero(ap.corner)
    assert len(corner) >= 8
    assert share[corner].min() > 0.85
    # each corner strip's tip points into the die (toward its centre, which is the origin)
    tip = contacts.center[corner] + ap.axis[corner] * 100.0
    assert (np.linalg.norm(tip, axis=1) < np.linalg.norm(contacts.center[corner], axis=1)).all()
    angle = np.degrees(np.arctan2(ap.axis[corner, 1], ap.axis[corner, 0])) % 90.0
    np.testing.assert_allclose(angle, 45.0, atol=1e-6)
    assert check_plan(plan, rules).errors == 0


def test_a_corner_whose_moved_tips_pay_off_only_after_its_neighbours_settle_takes_them(monkeypatch):
    """A 90 um ring in its die outline: at trial time a direction with the corner's tips moved serves
    each corner better but lifts no strip to volume_min, so the plan declines it and 8 corner contacts
    stay below volume_min (0.905 at worst). The die is then planned again taking such directions, and
    once the strips beside the corners have slid, turned and settled, every contact reaches volume_min:
    that plan is kept, with no more same_side warnings and every hard rule."""
    import stencilgen.planner as planner

    die = synth.ring(side=1551.0, pitch=90.0, count=13, pad=(54.0, 81.0), edge=100.5, missing={1: [9]})
    contacts, _ = build_contacts(Polygons.from_list(die.polygons()), 0.001)
    rules = Rules()
    keep_in = shapely.box(-775.5, -775.5, 775.5, 775.5)
    least = least_area(contacts.d, rules, None)

    def planned() -> tuple[np.ndarray, int, int]:
        plan = plan_stencil(contacts, find_rows(contacts), rules, keep_in=keep_in)
        ap = plan.apertures
        assert check_plan(plan, rules).errors == 0
        return ap.area / least, int(ap.corner.sum()), int((ap.side_by != "").sum())

    share, corners, same_side = planned()
    assert corners == 8
    assert share.min() >= 1 - 1e-9
    monkeypatch.setattr(planner, "_pattern_retry", lambda *args: args[5])  # (the plan as first made)
    first, _, first_same_side = planned()
    assert (first < 1 - 1e-9).sum() == 8
    assert 0.85 < first.min() < 0.95
    assert same_side <= first_same_side


def test_webs_known_from_before_give_the_plan_measured_anew(monkeypatch):
    """The webs two strips keep at their least are measured once per room for the same two shapes
    (`_Room._least_webs`): two staggered rows whose contacts force a thin web (as in the test above)
    are planned the same when each is measured anew (the store cleared before every lookup)."""
    import stencilgen.planner as stencilgen_planner

    die = synth.Die()
    for i in range(10):
        die.add((i * 100.0, 0.0), (60.0, 80.0), 0.0)
        die.add((50.0 + i * 100.0, 100.0), (60.0, 80.0), 0.0)
    known, rules = plan_of(die, keep_in=FAR)
    monkeypatch.setattr(stencilgen_planner, "LEAST_WEBS_MAX", -1)
    anew, _ = plan_of(die, keep_in=FAR)
    a, b = known.apertures, anew.apertures
    assert np.array_equal(a.area, b.area) and np.array_equal(a.outlines.coords, b.outlines.coords)
    assert (check_plan(known, rules).findings.code == "web").any()  # (a forced web took part)


def test_a_pad_whose_limit_leaves_it_nothing_is_unprintable_for_the_volume_limit():
    """An isolated round pad whose volume cap (a pair's second print, whose bump fills the mass) is
    nothing: no printable aperture fits under it, and the reason given is the volume limit, not the
    contact's width, which is 60 um."""
    import dataclasses

    from stencilgen.model import NONE

    die = synth.Die()
    die.add((0.0, 0.0), (60.0, 60.0), 0.0)
    contacts, _ = build_contacts(Polygons.from_list(die.polygons()), 0.001)
    capped = dataclasses.replace(contacts, volume_cap=np.array([1e-6]))
    rules = Rules()
    plan = plan_stencil(capped, find_rows(capped, rules), rules)
    a = plan.apertures
    assert a.kind[0] == NONE and a.limited_by[0] == "unprintable" and a.narrow_by[0] == "volume_limit"
    free = plan_stencil(contacts, find_rows(contacts, rules), rules)
    assert free.apertures.limited_by[0] != "unprintable"


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), worlds=st.integers(1, 6), same=st.booleans())
def test_world_pairs_are_those_found_world_by_world(seed, worlds, same):
    """The pairs of copies within reach in the same world, found in one search with the worlds moved
    apart, are those a search of each world alone finds (NaN boxes in none)."""
    from stencilgen.pairs import box_pairs
    from stencilgen.planner import _world_pairs

    rng = np.random.default_rng(seed)
    n = 40
    lo = rng.uniform(-50, 50, (n, 2))
    box = np.concatenate([lo, lo + rng.uniform(0, 12, (n, 2))], axis=1)
    box[rng.random(n) < 0.1] = np.nan
    world = rng.integers(-1, worlds, n)
    a = np.flatnonzero(world >= 0)
    b = a if same else np.flatnonzero((world >= 0) & (rng.random(n) < 0.7))
    got = set(zip(*(x.tolist() for x in _world_pairs(box, a, box, b, world, 3.0, same=same)), strict=True))
    want = set()
    for w in range(worlds):
        mine, theirs = a[world[a] == w], b[world[b] == w]
        i, j = box_pairs(box[mine], box[theirs], 3.0, same=same)
        want |= set(zip(mine[i].tolist(), theirs[j].tolist(), strict=True))
    assert got == want
