"""Islands: groups of contacts that no aperture of another group comes near (the dies of a flat wafer):
only those with a contact below volume_min are planned again with narrow tips, and each keeps the plan
(wide or narrow tips) that serves it."""

from __future__ import annotations

import dataclasses
import os

import numpy as np
import synth
from conftest import SAMPLES

import stencilgen
from stencilgen.model import REPORT_REACH
from stencilgen.physics import least_area
from stencilgen.planner import plan_stencil
from stencilgen.planner.islands import compose, island_gap, islands, joins, plan_boxes, subset_rows, take_plan
from stencilgen.rows import find_layout_rows
from stencilgen.rules import Rules

#: two unlike dies: a ring at 100 um pitch, and one at 110 um lacking a contact, whose strips beside its
#: corners stay below volume_min with wide tips (planned again with narrow tips)
DIES = (
    synth.ring(side=2000.0, pitch=100.0, count=17, pad=(60.0, 90.0)),
    synth.ring(side=1800.0, pitch=110.0, count=14, pad=(70.0, 100.0), missing={0: [3]}),
)


def _layout(tmp_path, name: str, dies: list[synth.Die]):
    path = str(tmp_path / f"{name}.gds")
    synth.write_gds(path, [p for d in dies for p in d.polygons()], noise=False)
    return stencilgen.read_layout(path, layer="9/0")


def _plan(layout):
    rules = Rules()
    return plan_stencil(layout.contacts, find_layout_rows(layout.contacts, None, rules), rules)


def test_only_the_dies_short_of_volume_are_planned_again_and_each_keeps_its_better_plan(tmp_path):
    """Four unlike dies side by side, 600 um apart, found as four islands. The second kind's strips
    beside its corners stay below volume_min with wide tips: those two dies are planned again with
    narrow tips, alone; the others keep the wide-tip plan as it is, and each retried die keeps the plan
    that leaves fewer of its contacts below volume_min. The plan keeps every hard rule."""
    import stencilgen.planner as planner
    from stencilgen.checks import check_plan

    placed = [DIES[k % 2].transformed(0.0, ((k % 2) * 2800.0, (k // 2) * 2800.0)) for k in range(4)]
    layout = _layout(tmp_path, "flat", placed)
    rules = Rules()
    rows = find_layout_rows(layout.contacts, None, rules)
    tried = []
    plan_with = planner._plan_with

    def counting(contacts, *args):
        tried.append((len(contacts), args[-1]))
        return plan_with(contacts, *args)

    planner._plan_with = counting
    try:
        plan = plan_stencil(layout.contacts, rows, rules)
    finally:
        planner._plan_with = plan_with
    wide, wide_polished, _ = plan_with(
        layout.contacts, rows, rules, None, None, (planner.TIP_WIDTH, planner.TIP_TILT_DEG)
    )
    label = islands(
        rows,
        plan_boxes(layout.contacts, wide.apertures.outlines),
        island_gap(rules.web_min_um, rules.clearance_um, REPORT_REACH),
    )
    assert sorted(np.bincount(label).tolist()) == [55, 55, 68, 68]
    least = least_area(layout.contacts.d, rules, None)
    short = wide.apertures.area < least * (1 - 1e-9)
    again = np.flatnonzero(np.isin(label, np.unique(label[short])))
    assert len(again) == 110 and len(np.unique(label[again])) == 2  # (the two dies of the second kind)
    assert tried == [(len(layout.contacts), (planner.TIP_WIDTH, planner.TIP_TILT_DEG)), (110, planner.NARROW_TIPS)]
    polished = wide_polished()
    rest = np.setdiff1d(np.arange(len(layout.contacts)), again)
    np.testing.assert_array_equal(plan.apertures.area[rest], polished.apertures.area[rest])
    narrow = plan_with(
        layout.contacts.take(again),
        subset_rows(rows, again, len(layout.contacts)),
        rules,
        None,
        None,
        planner.NARROW_TIPS,
    )[1]()
    for k in np.unique(label[again]):
        mine = np.flatnonzero(label == k)
        local = np.searchsorted(again, mine)
        below = (
            int((polished.apertures.area[mine] < least[mine] * (1 - 1e-9)).sum()),
            int((narrow.apertures.area[local] < least[mine] * (1 - 1e-9)).sum()),
        )
        got = plan.apertures.area[mine]
        assert np.array_equal(got, polished.apertures.area[mine]) or np.array_equal(got, narrow.apertures.area[local])
        assert int((got < least[mine] * (1 - 1e-9)).sum()) == min(below)
    assert check_plan(plan, rules, None).errors == 0


def test_dies_of_a_flat_layout_are_planned_as_each_alone(tmp_path):
    """Four unlike dies side by side, 600 um apart, found as four islands: the whole layout's apertures
    are those of each die planned alone with its rows. A die's plan depends on nothing beyond it: not on
    whether another die's contacts are still below volume_min (where its own strips may turn their
    tips), nor on the turns and depths another die's corners try (the second kind's corners stay below
    volume_min, its dies are planned again)."""
    placed = [DIES[k % 2].transformed(0.0, ((k % 2) * 2800.0, (k // 2) * 2800.0)) for k in range(4)]
    layout = _layout(tmp_path, "flat", placed)
    rules = Rules()
    rows = find_layout_rows(layout.contacts, None, rules)
    whole = plan_stencil(layout.contacts, rows, rules)
    label = islands(
        rows,
        plan_boxes(layout.contacts, whole.apertures.outlines),
        island_gap(rules.web_min_um, rules.clearance_um, REPORT_REACH),
    )
    assert label.max() == 3 and len(np.unique(label)) == 4
    least = least_area(layout.contacts.d, rules, None)
    assert (whole.apertures.area < least).any()  # (the narrow tips are tried)
    for k in range(4):
        ids = np.flatnonzero(label == k)
        alone = plan_stencil(layout.contacts.take(ids), subset_rows(rows, ids, len(layout.contacts)), rules)
        # (to the arithmetic's last bits: a die alike another takes the outcome of the other's trials,
        # made where that one lies, `planner.congruent`)
        np.testing.assert_allclose(whole.apertures.area[ids], alone.apertures.area, rtol=1e-12, atol=0)
        np.testing.assert_array_equal(whole.apertures.kind[ids], alone.apertures.kind)
        np.testing.assert_allclose(whole.apertures.axis[ids], alone.apertures.axis, rtol=0, atol=1e-12)


def test_take_and_compose_give_back_the_plan(tmp_path):
    """A plan's islands taken apart (`take_plan`) and put back (`compose`) give the plan: every aperture
    column, outline and candidate pair."""
    placed = [DIES[k].transformed(0.0, (k * 2800.0, 0.0)) for k in range(2)]
    layout = _layout(tmp_path, "two", placed)
    plan = _plan(layout)
    n = len(layout.contacts)
    second = np.flatnonzero(layout.contacts.center[:, 0] > 1500.0)
    assert 0 < len(second) < n
    part = take_plan(plan, second)
    assert len(part.contacts) == len(second) and len(part.rows.rows) == 4
    back = compose(dataclasses.replace(plan, apertures=_cleared(plan.apertures, second)), second, part)
    first = np.setdiff1d(np.arange(n), second)
    for f in dataclasses.fields(plan.apertures):
        a, b = getattr(plan.apertures, f.name), getattr(back.apertures, f.name)
        if f.name == "outlines":
            for i in range(n):
                np.testing.assert_array_equal(a.outline(i)[0], b.outline(i)[0])
                np.testing.assert_array_equal(a.outline(i)[1], b.outline(i)[1])
        elif a is not None:
            np.testing.assert_array_equal(a[second], b[second], err_msg=f.name)
            np.testing.assert_array_equal(a[first], b[first], err_msg=f.name)
    assert plan.near is not None and back.near is not None
    for k in (0, 2):
        mine = set(zip(plan.near[k].tolist(), plan.near[k + 1].tolist(), strict=True))
        theirs = set(zip(back.near[k].tolist(), back.near[k + 1].tolist(), strict=True))
        assert mine == theirs


def _cleared(ap, ids: np.ndarray):
    """The apertures with those of contacts `ids` wiped (no outline, other values in every column):
    compose must write them all back."""
    from stencilgen.model import Outlines

    values = {}
    for f in dataclasses.fields(ap):
        x = getattr(ap, f.name)
        if f.name == "outlines":
            counts = np.diff(x.offsets)
            keep = np.ones(len(counts), dtype=bool)
            keep[ids] = False
            vertex = np.repeat(keep, counts)
            offsets = np.concatenate([[0], np.cumsum(counts * keep)])
            values[f.name] = Outlines(x.coords[vertex], x.bulge[vertex], offsets)
        elif x is None:
            values[f.name] = None
        else:
            y = x.copy()
            y[ids] = ~x[ids] if x.dtype == bool else ("wiped" if x.dtype == object else -7)
            values[f.name] = y
    return type(ap)(**values)


def test_islands_join_where_a_row_spans_a_band():
    """Contacts parted by an empty band wider than the gap are two islands, unless a row has members on
    both sides; `joins` tells islands found again that join two before."""
    from stencilgen.model import Row, RowSet

    box = np.array([[0, 0, 10, 10], [20, 0, 30, 10], [100, 0, 110, 10], [120, 0, 130, 10]], dtype=float)
    none = RowSet([], [], [], [], np.full(4, -1), np.full(4, -1))
    label = islands(none, box, 50.0)
    np.testing.assert_array_equal(label, [0, 0, 1, 1])
    row = Row(0, np.array([0, 1, 2]), np.array([1.0, 0.0]), np.array([0.0, 1.0]), np.zeros(2), 20.0, 0)
    spanning = RowSet([row], [], [], [], np.array([0, 0, 0, -1]), np.full(4, -1))
    np.testing.assert_array_equal(islands(spanning, box, 50.0), [0, 0, 0, 0])
    assert joins(label, np.zeros(4, dtype=np.int64)) and not joins(label, label)
    assert not joins(np.array([0, 0, 1, 1]), np.array([0, 1, 2, 2]))  # (parting one is no join)


def test_a_die_whose_tips_are_all_narrow_is_not_planned_again(tmp_path):
    """Narrow tips change a plan only where a tip is wider than they may be. The bundled ring (held
    within its keep-in) leaves 8 corner strips below volume_min with no tip wider than NARROW_TIPS
    allow: it is planned once, and the plan is the wide-tip plan polished."""
    import stencilgen.planner as planner

    layout = stencilgen.read_layout(os.path.join(SAMPLES, "ring_100um.gds"), layer="9/0")
    planned = stencilgen.plan(layout)
    ap = planned.plan.apertures
    least = least_area(planned.plan.contacts.d, planned.rules, None)
    assert ((ap.kind == planner.STRIP) & (ap.area < least * (1 - 1e-9))).sum() == 8
    assert not (ap.tip_d > planner.NARROW_TIPS[0] * ap.width * (1 + 1e-9)).any()
    tried = []
    plan_with = planner._plan_with

    def counting(contacts, *args):
        tried.append(args[-1])
        return plan_with(contacts, *args)

    planner._plan_with = counting
    try:
        again = stencilgen.plan(layout)
    finally:
        planner._plan_with = plan_with
    assert tried == [(planner.TIP_WIDTH, planner.TIP_TILT_DEG)]
    np.testing.assert_array_equal(again.plan.apertures.area, ap.area)


def test_a_die_whose_corners_serve_it_better_relaxed_is_planned_again_alone(monkeypatch):
    """Two dies side by side in their outlines: a 90 um ring whose corners declined moved tips and
    fewer members (8 contacts below volume_min as first planned) and a 100 um ring with room at its
    corners. Only the first is planned again with its corners' choices relaxed (the retry sees its
    contacts alone), and its plan is composed into the layout's: every aperture is the one each die
    gets planned alone, and the first die's contacts all reach volume_min."""
    import shapely

    import stencilgen.planner as planner
    from stencilgen.checks import check_plan
    from stencilgen.geometry import build_contacts
    from stencilgen.model import Polygons
    from stencilgen.rows import find_rows

    starved = synth.ring(side=1551.0, pitch=90.0, count=13, pad=(54.0, 81.0), edge=100.5, missing={1: [9]})
    roomy = synth.ring(side=1551.0, pitch=100.0, count=8, pad=(60.0, 90.0), edge=150.0).transformed(0.0, (3000.0, 0.0))
    outlines = [shapely.box(-775.5, -775.5, 775.5, 775.5), shapely.box(2224.5, -775.5, 3775.5, 775.5)]
    rules = Rules()

    def planned(dies, keep_in):
        contacts, _ = build_contacts(Polygons.from_list([p for d in dies for p in d.polygons()]), 0.001)
        return contacts, plan_stencil(contacts, find_rows(contacts), rules, keep_in=keep_in)

    tried = []
    plan_with = planner._plan_with

    def counting(contacts, *args):
        tried.append((len(contacts), args[-1]))
        return plan_with(contacts, *args)

    monkeypatch.setattr(planner, "_plan_with", counting)
    contacts, both = planned([starved, roomy], shapely.MultiPolygon(outlines))
    n = len(starved.polygons())
    assert tried == [(len(contacts), (planner.TIP_WIDTH, planner.TIP_TILT_DEG)), (n, True)]
    assert check_plan(both, rules).errors == 0
    share = both.apertures.area / least_area(contacts.d, rules, None)
    first = contacts.center[:, 0] < 1500.0  # (the starved die's contacts)
    assert first.sum() == n and share[first].min() >= 1 - 1e-9
    index = {tuple(np.round(c, 3)): i for i, c in enumerate(contacts.center)}
    for die, outline in ((starved, outlines[0]), (roomy, outlines[1])):
        own, alone = planned([die], outline)
        at = [index[tuple(np.round(c, 3))] for c in own.center]
        np.testing.assert_allclose(both.apertures.area[at], alone.apertures.area, rtol=1e-12)
        np.testing.assert_allclose(both.apertures.axis[at], alone.apertures.axis, atol=1e-12)
