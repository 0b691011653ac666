"""Groups of strips alike up to a translation are tried once (planner/congruent.py): the others take
the outcome, and the plan is the plan every group tried alone gives."""

from __future__ import annotations

import gdstk
import numpy as np
import pytest
import shapely
import synth
from hypothesis import given, settings
from hypothesis import strategies as st

import stencilgen
from stencilgen import planner
from stencilgen.planner import congruent

SIDE, STEP, COUNT = 1300.0, 1800.0, 10


def _dies(path: str, shift: tuple[float, float] = (0.0, 0.0)) -> None:
    """Four ring dies, 2 x 2, each lacking other pads in the middle of its bottom and top rows (no two
    alike), their outlines on 39/0; all moved by `shift`."""
    lib = gdstk.Library(unit=1e-6, precision=1e-9)
    cell = lib.new_cell("TOP")
    mid = COUNT // 2
    for i in range(2):
        for j in range(2):
            die = synth.ring(
                side=SIDE, pitch=100.0, count=COUNT, edge=50.0, missing={0: [mid - 1 + i], 2: [mid - 1 + j]}
            )
            at = np.array([i * STEP + shift[0], j * STEP + shift[1]])
            for p in die.polygons():
                cell.add(gdstk.Polygon(p + at, 9, 0))
            cell.add(gdstk.rectangle(tuple(at - SIDE / 2), tuple(at + SIDE / 2), 39, 0))
    lib.write_gds(path)


def _counted(layout, keep_in):
    """The plan with alike groups tried once, and how many groups each search found and tried."""
    found = []
    classes = congruent.classes

    def spy(*args, **kwargs):
        out = classes(*args, **kwargs)
        found.append((len(np.unique(out.group)), len(np.unique(out.group[out.keep]))))
        return out

    congruent.classes = spy
    try:
        return stencilgen.plan(layout, keep_in=keep_in), found
    finally:
        congruent.classes = classes


def _every(layout, keep_in):
    """The plan with every group tried."""
    planner.ALIKE = False
    try:
        return stencilgen.plan(layout, keep_in=keep_in)
    finally:
        planner.ALIKE = True


@pytest.fixture(scope="module")
def plain(tmp_path_factory):
    """The four dies, each within its own outline: the plan (alike groups tried once), the groups
    found and tried, and the plan with every group tried."""
    path = str(tmp_path_factory.mktemp("plain") / "dies.gds")
    _dies(path)
    layout = stencilgen.read_layout(path, layer="9/0")
    keep_in = stencilgen.read_outline(path, "39/0")
    once, found = _counted(layout, keep_in)
    return once, found, _every(layout, keep_in)


def _same_plan(a, b) -> None:
    pa, pb = a.plan.apertures, b.plan.apertures
    np.testing.assert_array_equal(pa.outlines.offsets, pb.outlines.offsets)
    np.testing.assert_allclose(pa.outlines.coords, pb.outlines.coords, rtol=0, atol=1e-9)
    np.testing.assert_array_equal(pa.side, pb.side)
    np.testing.assert_array_equal(pa.kind, pb.kind)
    assert a.summary["findings_by_code"] == b.summary["findings_by_code"]


def test_alike_corners_are_tried_once_and_plan_as_if_each_were_tried(plain):
    """Each die's corners planned within its own outline: the corners of the four dies are alike (the
    missing pads are beyond their reach), one of each kind is tried; the plan is the plan with every
    corner tried."""
    once, found, every = plain
    assert found and all(tried <= groups for groups, tried in found)
    assert any(tried < groups for groups, tried in found)
    _same_plan(once, every)


def test_a_corner_the_keep_in_cuts_is_tried_itself(tmp_path, plain):
    """A notch cut into one die's outline at a corner makes that corner unlike the others: more groups
    are tried, and the plan is still the plan with every corner tried."""
    path = str(tmp_path / "dies.gds")
    _dies(path)
    layout = stencilgen.read_layout(path, layer="9/0")
    x, y = STEP + SIDE / 2, STEP + SIDE / 2  # (the top right die's top right corner: 40 um cut off)
    keep_in = shapely.difference(
        stencilgen.read_outline(path, "39/0"), shapely.box(x - 40.0, y - 40.0, x + 1.0, y + 1.0)
    )
    once, found = _counted(layout, keep_in)
    _same_plan(once, _every(layout, keep_in))
    assert sum(t for _, t in found) > sum(t for _, t in plain[1])


@settings(max_examples=2, deadline=None)
@given(st.floats(-5000.0, 5000.0), st.floats(-5000.0, 5000.0))
def test_alike_groups_are_found_wherever_the_dies_lie(tmp_path_factory, plain, shift_x, shift_y):
    """The dies moved anywhere (off the round numbers, far from the origin): the same groups are alike
    (the offsets compared to 1e-6 um, not to the last bit of their coordinates), the same plan moved."""
    shift = (round(shift_x, 3), round(shift_y, 3))
    path = str(tmp_path_factory.mktemp("shifted") / "dies.gds")
    _dies(path, shift)
    layout = stencilgen.read_layout(path, layer="9/0")
    once, found = _counted(layout, stencilgen.read_outline(path, "39/0"))
    assert found == plain[1]
    a, b = once.plan.apertures, plain[0].plan.apertures
    np.testing.assert_allclose(a.outlines.coords - np.array(shift), b.outlines.coords, rtol=0, atol=1e-6)
