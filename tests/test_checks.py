"""Each check on a hand-computed case."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from stencilgen.checks import check_apertures
from stencilgen.geometry import build_contacts
from stencilgen.model import SHRUNK, STRIP, Apertures, Outlines, Polygons
from stencilgen.physics import cap_height
from stencilgen.rules import Rules


def rect(x0, y0, x1, y1):
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], dtype=float)


def case(pads, apertures, kinds=None, width=None):
    contacts, _ = build_contacts(Polygons.from_list(pads), 0.001)
    # contact ids follow (y, x) of the centres: the cases list their pads in that order
    np.testing.assert_allclose(contacts.center, [p.mean(axis=0) for p in pads])
    polys = Polygons.from_list(apertures)
    n = len(apertures)
    area = np.array([shapely.area(shapely.polygons(p)) for p in apertures])
    per = np.array([shapely.length(shapely.polygons(p).exterior) for p in apertures])
    w = np.array(width) if width is not None else np.array([min(np.ptp(p, axis=0)) for p in apertures])
    ap = Apertures(
        Outlines(polys.coords, np.zeros(len(polys.coords)), polys.offsets),
        np.array(kinds if kinds is not None else [SHRUNK] * n, dtype=np.int8),
        area,
        per,
        w,
        np.zeros((n, 2)),
        np.zeros(n, dtype=np.int8),
        np.zeros(n),
        np.zeros(n),
        np.zeros(n, dtype=bool),
    )
    return contacts, ap


def codes(checked, contact):
    f = checked.findings
    return sorted(str(c) for c, k in zip(f.code, f.contact, strict=True) if k == contact)


def test_volume_numbers_by_hand():
    rules = Rules()
    contacts, ap = case([rect(0, 0, 60, 90)], [rect(5, 5, 55, 85)])
    ch = check_apertures(contacts, ap, rules)
    A = 50 * 80
    assert ch.area[0] == pytest.approx(A)
    assert ch.volume[0] == pytest.approx(A * 20 * 0.85 * 0.5)
    assert ch.volume_low[0] == pytest.approx(A * 20 * 0.70 * 0.5)
    assert ch.volume_high[0] == pytest.approx(A * 20 * 1.00 * 0.5)
    assert ch.volume_limit[0] == pytest.approx(np.pi * 60**3 / 6)
    # area ratio A / (P t), aspect ratio w / t, thickest foil passing both
    assert ch.area_ratio[0] == pytest.approx(A / (260 * 20))
    assert ch.aspect_ratio[0] == pytest.approx(50 / 20)
    assert ch.max_thickness[0] == pytest.approx(min(A / 260 / 0.66, 50 / 1.5))
    # 28000 um3 at the bottom of the band is below 0.3 * 113097 = 33929: under volume, a warning
    assert codes(ch, 0) == ["under_volume"]
    assert ch.status[0] == "warning"
    # a 60 x 86 aperture: 34400 at the bottom of the band, clean
    contacts, ap = case([rect(0, 0, 60, 90)], [rect(0, 2, 60, 88)])
    ch = check_apertures(contacts, ap, rules)
    assert codes(ch, 0) == [] and ch.status[0] == "ok"


def test_cap_height_solves_the_cap_volume():
    v = np.array([1000.0, 50_000.0, 200_000.0])
    area = np.array([3000.0, 5400.0, 6084.0])
    h = cap_height(v, area)
    a2 = area / np.pi
    np.testing.assert_allclose(np.pi * h * (3 * a2 + h * h) / 6, v, rtol=1e-10)


def test_under_and_over_volume():
    rules = Rules()
    # a tiny aperture on a big pad: under volume; a huge one on a small pad: over the limit
    contacts, ap = case([rect(500, 0, 520, 20), rect(0, 0, 80, 80)], [rect(499, -1, 521, 21), rect(32, 32, 48, 48)])
    ch = check_apertures(contacts, ap, rules)
    assert "under_volume" in codes(ch, 1)
    # 22 x 22 = 484 um2 x 20 x 1.0 x 0.5 = 4840 > pi 20^3 / 6 = 4189
    assert "over_volume" in codes(ch, 0)
    assert ch.status[0] == "error" and ch.status[1] == "warning"
    assert ch.errors >= 1


def test_bridge_clearance_web_and_own_contact():
    rules = Rules()
    pads = [rect(0, 0, 60, 60), rect(100, 0, 160, 60), rect(300, 0, 360, 60), rect(600, 0, 660, 60)]
    aps = [
        rect(10, 10, 110, 50),  # reaches into pad 1: bridge
        rect(110, 10, 150, 50),
        rect(310, 10, 350, 50),
        rect(700, 10, 740, 50),  # not on its contact
    ]
    contacts, ap = case(pads, aps)
    ch = check_apertures(contacts, ap, rules)
    assert "bridge" in codes(ch, 0)
    # touching aperture 1 (0 um): one opening over two contacts, an error (rule 1), not a thin web
    assert "merged" in codes(ch, 0) and "merged" in codes(ch, 1) and "web" not in codes(ch, 0)
    assert ch.status[1] == "error"
    assert "not_on_contact" in codes(ch, 3)
    # aperture 2 keeps 240 um from the next contact: no geometric finding
    assert not {"bridge", "clearance", "web", "merged", "not_on_contact"} & set(codes(ch, 2))
    # clearance: 5 um from another contact, not touching
    contacts, ap = case([rect(0, 0, 60, 60), rect(100, 0, 160, 60)], [rect(10, 10, 95, 50), rect(110, 10, 150, 50)])
    ch = check_apertures(contacts, ap, rules)
    assert "clearance" in codes(ch, 0)
    k = list(ch.findings.code).index("clearance")
    assert ch.findings.value[k] == pytest.approx(5.0)
    assert ch.findings.limit[k] == pytest.approx(10.0)


def test_five_ball_and_aspect_ratio_by_paste_type():
    contacts, ap = case([rect(0, 0, 60, 90)], [rect(12, 5, 48, 85)])  # 36 um wide
    assert "five_ball" in codes(check_apertures(contacts, ap, Rules(paste_type=8)), 0)  # needs 40
    ch7 = check_apertures(contacts, ap, Rules(paste_type=7))
    assert "five_ball" in codes(ch7, 0)  # needs 55
    contacts, ap = case([rect(0, 0, 60, 90)], [rect(5, 5, 55, 85)])  # 50 um wide
    assert "five_ball" not in codes(check_apertures(contacts, ap, Rules(paste_type=8)), 0)
    assert "aspect_ratio" in codes(check_apertures(contacts, ap, Rules(thickness_um=40)), 0)  # 50/40 < 1.5


def test_strip_too_wide_along_its_row():
    contacts, ap = case([rect(0, 0, 60, 90)], [rect(-5, 5, 65, 120)], kinds=[STRIP], width=[70.0])
    ap = Apertures(
        *[getattr(ap, f) for f in ("outlines", "kind", "area", "perimeter", "width")],
        np.array([[0.0, 1.0]]),
        np.array([1], dtype=np.int8),
        np.zeros(1),
        np.zeros(1),
        np.zeros(1, bool),
    )
    ch = check_apertures(contacts, ap, Rules(), rows_u=np.array([[[1.0, 0.0]]]))
    assert "too_wide" in codes(ch, 0)


def test_keep_in():
    contacts, ap = case([rect(0, 0, 60, 90)], [rect(5, 5, 55, 85)])
    ch = check_apertures(contacts, ap, Rules(), keep_in=shapely.box(-100, -100, 70, 200))
    assert "keep_in" in codes(ch, 0)  # 15 um from the outline, 20 required
    ch = check_apertures(contacts, ap, Rules(), keep_in=shapely.box(-100, -100, 80, 200))
    assert "keep_in" not in codes(ch, 0)


@pytest.mark.parametrize("sample", ["ring_100um.gds", "staggered_rows.gds", "area_array.gds", "die_mm_blocks.dxf"])
def test_candidates_from_the_planner_change_nothing(sample: str) -> None:
    """The checks take over the planner's candidate pairs; searching afresh finds the same."""
    import dataclasses
    import os

    from stencilgen.checks import check_plan
    from stencilgen.planner import plan_stencil
    from stencilgen.readers import read_layout
    from stencilgen.rows import find_rows

    here = os.path.join(os.path.dirname(__file__), "..", "sample_layouts", sample)
    layout = read_layout(here, layer="PADS" if sample.endswith(".dxf") else "9/0")
    rules = Rules()
    plan = plan_stencil(layout.contacts, find_rows(layout.contacts, rules), rules)
    assert plan.near is not None
    a = check_plan(plan, rules)
    b = check_plan(dataclasses.replace(plan, near=None), rules)
    for field in ("min_web", "min_clearance", "volume", "status"):
        assert np.array_equal(getattr(a, field), getattr(b, field)), field
    assert list(a.findings.code) == list(b.findings.code)
    assert np.array_equal(a.findings.contact, b.findings.contact)
    assert np.isfinite(a.min_web).any() or sample == "area_array.gds"  # 150 um pitch: webs beyond reach


def test_a_value_rounded_to_zero_reads_0_whatever_came_first():
    """A finding whose value rounds to -0 reads "0" in its message and record, before or after one
    whose value is 0 (the messages are cached: -0.0 and 0.0 are one key)."""
    from stencilgen.checks import finding_record

    for first, second in ((-1e-7, 0.0), (0.0, -1e-7)):
        for value in (first, second):
            record = finding_record("keep_in", 3, value, 20.0)
            assert record["message"].startswith("the aperture leaves the keep-in outline less edge_margin_um: 0 um")
            assert str(record["value"]) == "0.0"
