"""Foil choice (RULES.md, "Foil choice"): thickness_um = "auto" plans at each stocked foil, keeps the best,
reports the table and, where two groups of contacts want different foils, a step-stencil proposal."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import synth
from hypothesis import given, settings
from hypothesis import strategies as st
from test_cli import run

import stencilgen
from stencilgen.errors import UsageError
from stencilgen.rules import Rules, load_rules, rules_toml

AUTO = Rules().replace(thickness_auto=True)


def _step_die(path: str, array_shift: tuple[float, float] = (-375.0, -375.0)) -> None:
    """A fine ring (60 x 90 um pads at 100 um on a 6 mm die) and, in the middle, a 6 x 6 array of 100 um
    bumps at 150 um: the ring prints best on a thin foil, the bumps only get their volume on a thick one."""
    ring = synth.ring(side=6000.0, pitch=100.0, count=20, pad=(60.0, 90.0))
    bumps = synth.area_array(6, 6, (150.0, 150.0), 100.0)
    polys = ring.polygons() + [p + np.asarray(array_shift) for p in bumps.polygons()]
    synth.write_gds(path, polys)


@pytest.fixture(scope="module")
def step_die(tmp_path_factory) -> str:
    path = str(tmp_path_factory.mktemp("foil") / "step.gds")
    _step_die(path)
    return path


@pytest.fixture(scope="module")
def auto_plan(step_die):
    return stencilgen.plan(stencilgen.read_layout(step_die, layer="9/0"), AUTO)


def test_table_is_each_foil_planned_alone(step_die, auto_plan):
    """Every line of the table is what a plan at that one foil gives; the foil kept is the one with the
    fewest errors, then warnings, then the thinner, and the plan returned is the plan at it."""
    foil = auto_plan.summary["foil"]
    table = foil["table"]
    assert [r["thickness_um"] for r in table] == list(Rules().foil_thicknesses_um)
    layout = stencilgen.read_layout(step_die, layer="9/0")
    for row in table[::4]:  # three of them, planned alone
        alone = stencilgen.plan(layout, Rules().replace(thickness_um=row["thickness_um"]))
        s = alone.summary
        assert (row["errors"], row["warnings"]) == (s["errors"], s["warnings"])
        assert row["under_volume"] == s["findings_by_code"].get("under_volume", 0)
        ratios = s["findings_by_code"].get("area_ratio", 0) + s["findings_by_code"].get("aspect_ratio", 0)
        assert row["area_or_aspect_ratio"] == ratios
    best = min(table, key=lambda r: (r["errors"], r["warnings"], r["thickness_um"]))
    assert foil["chosen_um"] == best["thickness_um"]
    assert auto_plan.rules.thickness_um == best["thickness_um"]
    assert auto_plan.summary["rules"]["thickness_um"] == best["thickness_um"]
    assert (auto_plan.summary["errors"], auto_plan.summary["warnings"]) == (best["errors"], best["warnings"])
    # the trade this die shows: thin foils starve the bumps, thick ones break the ring's area ratio
    assert table[-1]["under_volume"] == 0 < best["under_volume"]


def test_step_proposal_puts_the_bumps_on_a_thicker_foil(auto_plan):
    foil = auto_plan.summary["foil"]
    step = foil["step"]
    assert step is not None and step["base_thickness_um"] == foil["chosen_um"]
    (region,) = step["regions"]
    assert region["thickness_um"] > foil["chosen_um"]
    c = auto_plan.plan.contacts.center
    x0, y0, x1, y1 = region["bbox_um"]
    inside = (c[:, 0] >= x0) & (c[:, 0] <= x1) & (c[:, 1] >= y0) & (c[:, 1] <= y1)
    bumps = auto_plan.plan.contacts.d > 95
    assert np.array_equal(inside, bumps)  # the 36 bumps, no ring pad
    assert region["contacts"] == 36
    # the region's box holds the bumps' apertures as planned at the base foil
    from stencilgen.planner import aperture_polygons

    polys = aperture_polygons(auto_plan.plan.apertures)
    pts = np.vstack([polys.polygon(i) for i in np.flatnonzero(bumps)])
    assert (pts.min(axis=0) >= [x0 - 1e-6, y0 - 1e-6]).all() and (pts.max(axis=0) <= [x1 + 1e-6, y1 + 1e-6]).all()
    assert region["keep_out_um"] == pytest.approx(36.0 * (region["thickness_um"] - foil["chosen_um"]))
    assert region["warnings_at_base"] > region["warnings"]
    base = next(r for r in foil["table"] if r["thickness_um"] == foil["chosen_um"])
    assert step["warnings"] == base["warnings"] - region["warnings_at_base"] + region["warnings"]
    assert step["errors"] == base["errors"]


def test_no_step_where_the_keep_out_reaches_the_ring(tmp_path):
    """Bumps within a step's keep-out of the ring: the region would take in ring pads that print worse on
    the thick foil; any region proposed holds every contact within its keep-out."""
    path = str(tmp_path / "near.gds")
    _step_die(path, array_shift=(2000.0, -375.0))  # the array 120 um from the ring's right row
    # (two foils, the ring's and the bumps': the region is what is tested, not the choice among nine)
    planned = stencilgen.plan(stencilgen.read_layout(path, layer="9/0"), AUTO.replace(foil_thicknesses_um=(15.0, 38.0)))
    step = planned.summary["foil"]["step"]
    c = planned.plan.contacts.center
    assert step is not None and step["regions"]
    for region in step["regions"]:
        x0, y0, x1, y1 = region["bbox_um"]
        k = region["keep_out_um"]
        near = (c[:, 0] >= x0 - k) & (c[:, 0] <= x1 + k) & (c[:, 1] >= y0 - k) & (c[:, 1] <= y1 + k)
        inside = (c[:, 0] >= x0) & (c[:, 0] <= x1) & (c[:, 1] >= y0) & (c[:, 1] <= y1)
        assert not (near & ~inside).any()
        assert region["contacts"] > 36  # ring pads taken in


def test_a_smaller_step_where_the_best_foils_keep_out_would_reach_the_ring(tmp_path):
    """The bumps fare best on a foil whose step from the foil kept would keep out the ring too; a
    smaller step (from the foil kept, or from another base), whose keep-out stays clear of it, is
    proposed instead: the bumps alone in their pocket, every region's keep-out free of the contacts
    outside it, fewer warnings than the foil kept alone."""
    path = str(tmp_path / "between.gds")
    _step_die(path, array_shift=(1425.0, -375.0))  # the array 470 um from the ring's right row
    planned = stencilgen.plan(stencilgen.read_layout(path, layer="9/0"), AUTO)
    foil = planned.summary["foil"]
    kept = foil["chosen_um"]
    best = min(r["thickness_um"] for r in foil["table"] if r["under_volume"] == 0)  # where the bumps fare best
    step = foil["step"]
    base = step["base_thickness_um"]
    alone = next(r for r in foil["table"] if r["thickness_um"] == kept)
    assert (step["errors"], step["warnings"]) < (alone["errors"], alone["warnings"])
    c = planned.plan.contacts
    bumps = c.d > 95
    from stencilgen.planner import aperture_polygons

    polys = aperture_polygons(planned.plan.apertures)
    shapes = [np.vstack([c.polygons.polygon(i), polys.polygon(i)]) for i in range(len(c))]

    def gap(box, i):
        x0, y0, x1, y1 = box
        p = shapes[i]
        return float(
            np.hypot(max(x0 - p[:, 0].max(), p[:, 0].min() - x1, 0), max(y0 - p[:, 1].max(), p[:, 1].min() - y1, 0))
        )

    for region in step["regions"]:
        assert region["keep_out_um"] == pytest.approx(36.0 * abs(region["thickness_um"] - base))
        box = region["bbox_um"]
        inside = (c.center[:, 0] >= box[0]) & (c.center[:, 0] <= box[2]) & (c.center[:, 1] >= box[1])
        inside &= c.center[:, 1] <= box[3]
        assert min(gap(box, i) for i in np.flatnonzero(~inside)) >= region["keep_out_um"]
        if inside[bumps].any():  # the bumps' pocket: the bumps alone, thicker than the foil kept
            assert np.array_equal(inside, bumps) and region["thickness_um"] > kept
            # a step from the foil kept to the bumps' best foil would have kept out the ring too
            assert min(gap(box, i) for i in np.flatnonzero(~bumps)) < 36.0 * (best - kept)
    pockets = [r for r in step["regions"] if r["contacts"] == 36 and r["thickness_um"] > kept]
    assert len(pockets) == 1


def test_no_step_where_every_step_reaches_the_ring_and_the_report_says_why(tmp_path):
    """A ring of 50 x 70 um pads at 80 um around 200 um bumps at 400 um, 260 um apart: every step that
    feeds the bumps keeps out more than that, takes in the ring, and then gains nothing. None is proposed,
    and the console, the JSON and the HTML say which step was tried and what its keep-out took in."""
    ring = synth.ring(side=3360.0, pitch=80.0, count=39, pad=(50.0, 70.0))
    bumps = synth.area_array(6, 6, (400.0, 400.0), 200.0)
    layout = str(tmp_path / "mix.gds")
    synth.write_gds(layout, ring.polygons() + [p - 1000.0 for p in bumps.polygons()])
    rules = tmp_path / "r.toml"
    rules.write_text('thickness_um = "auto"\nfoil_thicknesses_um = [18, 30, 38]\n')
    out = tmp_path / "out"
    r = run("plan", layout, "--layer", "9/0", "--rules", str(rules), "-o", str(out), "--formats", "json,html")
    assert r.returncode == 0, r.stderr
    foil = json.loads((out / "mix.json").read_text())["summary"]["foil"]
    assert foil["step"] is None
    base = next(t for t in foil["table"] if t["thickness_um"] == foil["chosen_um"])
    assert base["under_volume"] > 0
    assert foil["step_declined"]
    for d in foil["step_declined"]:
        assert d["thickness_um"] > foil["chosen_um"] and d["taken_in"] > 0 and not d["gains"]
        assert d["errors"] * 1000 + d["warnings"] >= d["errors_at_base"] * 1000 + d["warnings_at_base"]
        said = (
            f"    not proposed: {d['contacts']} contacts fare better at {d['thickness_um']:g} um, but a step to it "
            f"keeps {d['keep_out_um']:g} um clear and so takes in {d['taken_in']} contacts more"
        )
        assert said in r.stderr, r.stderr
    assert len(foil["step_declined"]) <= 2  # (one a side: thinner, thicker)
    page = (out / "mix.html").read_text()
    # the foil that leaves fewer contacts below volume_min is named on the page as on the console
    fuller = min(
        (t for t in foil["table"] if t["under_volume"] < base["under_volume"]), key=lambda t: t["under_volume"]
    )
    said = f"{fuller['thickness_um']:g} um leaves {fuller['under_volume']} contacts below volume_min"
    assert said in page and f"hint: {said}" in r.stderr
    assert "Not proposed:" in page and f"takes in {foil['step_declined'][0]['taken_in']} contacts more" in page
    assert 'class="sw step"' not in page and 'class="sw keepin"' in page  # (the legend names what is drawn)


def test_a_thin_base_with_a_thick_pocket_where_the_thick_foil_is_kept():
    """A bump array of 900 contacts inside a ring of 264: the array's 900 under_volume on a thin foil
    outweigh the ring's three warnings a contact on a thick one, so the thick foil is kept. The ring
    cannot be stepped down from it (its box holds the array), but a thin base with a thick pocket over
    the array, whose keep-out stays clear of the ring, gives fewer warnings than either foil alone:
    it is proposed, on the thin base. (The search judges per-contact findings: scores made by hand.)"""
    from stencilgen.foil import FoilScore, foil_summary

    pitch, half = 100.0, 3300.0  # the ring: 66 contacts a side, 100 um apart, their boxes 60 x 90 um
    along = (np.arange(66) - 32.5) * pitch
    ring = []
    for x in along:
        ring += [(x - 30, -half - 45, x + 30, -half + 45), (x - 30, half - 45, x + 30, half + 45)]
        ring += [(-half - 45, x - 30, -half + 45, x + 30), (half - 45, x - 30, half + 45, x + 30)]
    grid = (np.arange(30) - 14.5) * 150.0  # the array: 30 x 30 bumps of 100 um at 150 um
    bumps = [(x - 50, y - 50, x + 50, y + 50) for x in grid for y in grid]
    boxes = np.array(ring + bumps)
    is_ring = np.arange(len(boxes)) < len(ring)
    none = np.zeros(len(boxes), dtype=np.int64)
    thin = FoilScore(15.0, none, (~is_ring).astype(np.int64), int((~is_ring).sum()), boxes)
    thick = FoilScore(38.0, none, 3 * is_ring.astype(np.int64), 0, boxes)
    foil = foil_summary([thin, thick], 1, 36.0)  # (38 um kept: 792 warnings against 900)
    step = foil["step"]
    assert step is not None and step["base_thickness_um"] == 15.0
    (region,) = step["regions"]
    assert region["thickness_um"] == 38.0 and region["contacts"] == 900
    assert region["bbox_um"] == [-2225.0, -2225.0, 2225.0, 2225.0]  # the array's box
    assert region["keep_out_um"] == pytest.approx(36.0 * 23.0)  # 828 um: the ring lies 1030 um away
    assert (step["errors"], step["warnings"]) == (0, 0)  # (the ring on the base, the bumps in the pocket)
    assert (region["warnings_at_base"], region["warnings"]) == (900, 0)
    # where the pocket's keep-out would reach the ring, nothing is proposed
    wide = foil_summary([thin, thick], 1, 50.0)  # 1150 um
    assert wide["step"] is None


def test_one_reading_one_row_search(step_die, monkeypatch):
    """Planning at nine foils shares the reading, the rows and the keep-in: each happens once."""
    import stencilgen.api as api
    import stencilgen.readers as readers

    calls = {"rows": 0, "extent": 0}
    rows, extent = api.layout_rows, readers.read_extent

    def count_rows(*a, **k):
        calls["rows"] += 1
        return rows(*a, **k)

    def count_extent(*a, **k):
        calls["extent"] += 1
        return extent(*a, **k)

    monkeypatch.setattr(api, "layout_rows", count_rows)
    monkeypatch.setattr(readers, "read_extent", count_extent)
    planned = stencilgen.plan(stencilgen.read_layout(step_die, layer="9/0"), AUTO)
    assert len(planned.summary["foil"]["table"]) == 9
    assert calls == {"rows": 1, "extent": 1}


def test_cli_writes_one_foil_and_reports_the_table(step_die, tmp_path):
    assert "--thickness LENGTH|auto" in run("plan", "--help").stdout  # (auto is said where the option is)
    out = tmp_path / "out"
    r = run("plan", step_die, "--layer", "9/0", "-o", str(out), "--thickness", "auto", "--formats", "gds,html")
    assert r.returncode == 0, r.stderr
    assert "foil: " in r.stderr and "step stencil proposed" in r.stderr
    s = json.loads((out / "step.json").read_text())["summary"]
    assert s["rules"]["thickness_auto"] is True
    assert s["rules"]["thickness_um"] == s["foil"]["chosen_um"]
    page = (out / "step.html").read_text()
    assert "Foil choice" in page and page.count('class="step"') == 1 and 'class="keepin"' in page
    assert 'class="sw step"' in page and 'class="sw keepin"' in page  # (the legend names what is drawn)


def test_rules_file_auto_and_stocked_foils(tmp_path):
    f = tmp_path / "r.toml"
    f.write_text('thickness_um = "auto"\nfoil_thicknesses_um = [15, "0.02mm", 12]\n')
    rules = load_rules(str(f))
    assert rules.thickness_auto and rules.foil_thicknesses_um == (12.0, 15.0, 20.0)
    again = tmp_path / "again.toml"
    again.write_text(rules_toml(rules))
    assert load_rules(str(again)) == rules
    for bad in ("foil_thicknesses_um = []", "foil_thicknesses_um = [0.02]", "foil_thicknesses_um = 20"):
        f.write_text(bad + "\n")
        with pytest.raises(stencilgen.StencilgenError, match="foil_thicknesses_um"):
            load_rules(str(f))
    f.write_text("thickness_auto = true\n")
    with pytest.raises(stencilgen.StencilgenError, match="unknown key"):
        load_rules(str(f))


def test_check_takes_the_foil_the_stencil_was_planned_at(step_die, tmp_path):
    """The library as the command line: with no rules, or thickness_um = "auto", check judges a
    stencil at the foil plan's report beside it gives (one --thickness auto kept, or given); "auto"
    without such a report is refused, no rules without one take the default; rules with a foil keep it."""
    layout = stencilgen.read_layout(step_die, layer="9/0")
    planned = stencilgen.plan(layout, Rules().replace(thickness_um=15.0))  # (not the default foil)
    paths = planned.write(tmp_path, formats=("gds",))
    for rules in (None, AUTO):
        checked = stencilgen.check(layout, paths["gds"], rules)
        assert checked.rules.thickness_um == 15.0 and not checked.rules.thickness_auto
        assert (checked.summary["errors"], checked.summary["warnings"]) == (
            planned.summary["errors"],
            planned.summary["warnings"],
        )
    assert stencilgen.check(layout, paths["gds"], Rules().replace(thickness_um=25.0)).rules.thickness_um == 25.0
    # the command line: the foil of plan's report beside the stencil; without one, refused
    r = run("check", step_die, "--layer", "9/0", "--stencil", paths["gds"], "--thickness", "auto")
    assert r.returncode == 0 and "as planned" in r.stderr, r.stderr
    os.remove(paths["json"])
    with pytest.raises(UsageError, match='thickness_um = "auto" checks a stencil at the foil it was planned at'):
        stencilgen.check(layout, paths["gds"], AUTO)
    assert stencilgen.check(layout, paths["gds"]).rules.thickness_um == Rules().thickness_um
    r = run("check", step_die, "--layer", "9/0", "--stencil", paths["gds"], "--thickness", "auto")
    assert r.returncode == 2 and "auto" in r.stderr and os.path.exists(paths["gds"])


def test_foils_planned_two_at_a_time_are_planned_as_one_by_one(step_die, auto_plan, monkeypatch):
    """Every other foil is planned in a forked process beside the rest: the same table, the same foil
    kept and the same apertures as when every foil is planned in this process, one after another."""
    import stencilgen.forked as forked

    monkeypatch.setattr(forked, "usable", lambda: False)
    alone = stencilgen.plan(stencilgen.read_layout(step_die, layer="9/0"), AUTO)
    assert alone.summary["foil"] == auto_plan.summary["foil"]
    np.testing.assert_array_equal(alone.plan.apertures.area, auto_plan.plan.apertures.area)
    np.testing.assert_array_equal(alone.plan.apertures.outlines.coords, auto_plan.plan.apertures.outlines.coords)


def test_the_foil_that_leaves_fewer_ratio_findings_is_named(tmp_path):
    """Where the foil kept leaves apertures the paste may not leave (area_ratio or aspect_ratio) and
    another with no more errors leaves fewer, the console and the page name it, as for volume_min."""
    from stencilgen.report import plan_text

    ring = synth.ring(side=3000.0, pitch=100.0, count=16, pad=(60.0, 90.0))
    bumps = synth.area_array(9, 9, (150.0, 150.0), 100.0)
    layout = str(tmp_path / "d.gds")
    synth.write_gds(layout, ring.polygons() + [p - 600.0 for p in bumps.polygons()])
    planned = stencilgen.plan(
        stencilgen.read_layout(layout, layer="9/0"), AUTO.replace(foil_thicknesses_um=(15.0, 38.0))
    )
    foil = planned.summary["foil"]
    kept = next(r for r in foil["table"] if r["thickness_um"] == foil["chosen_um"])
    other = next(r for r in foil["table"] if r["thickness_um"] != foil["chosen_um"])
    assert kept["thickness_um"] == 38.0 and other["area_or_aspect_ratio"] < kept["area_or_aspect_ratio"]
    said = (
        f"hint: 15 um leaves {other['area_or_aspect_ratio']} area_ratio or aspect_ratio findings, apertures the "
        f"paste may not leave (38 um: {kept['area_or_aspect_ratio']})"
    )
    assert said in plan_text(planned.report)
    from stencilgen.html import html_report

    assert "15 um leaves" in html_report(planned.report, planned.plan).replace("&nbsp;", " ")


def _brute_clusters(boxes: np.ndarray, reach: float) -> set[tuple[int, ...]]:
    """Groups of boxes within reach of each other along x and y, joined one pair at a time."""
    label = list(range(len(boxes)))
    for i in range(len(boxes)):
        for j in range(i):
            a, b = boxes[i], boxes[j]
            if max(a[0] - b[2], b[0] - a[2]) <= reach and max(a[1] - b[3], b[1] - a[3]) <= reach:
                old, new = label[i], label[j]
                label = [new if x == old else x for x in label]
    return {tuple(i for i in range(len(boxes)) if label[i] == k) for k in set(label)}


_boxes = st.lists(
    st.tuples(st.integers(0, 60), st.integers(0, 60), st.integers(1, 8), st.integers(1, 8)), min_size=1, max_size=30
).map(lambda b: np.array([(x, y, x + w, y + h) for x, y, w, h in b], dtype=float))


@settings(max_examples=60, deadline=None)
@given(_boxes, st.sampled_from([0.0, 1.0, 2.5, 7.0]))
def test_clusters_and_regions_are_those_found_one_pair_at_a_time(boxes, reach):
    """The step search groups the contacts a foil serves better where they come within the keep-out of
    each other, and grows each group's box over every contact within the keep-out of it: checked
    against joining one pair at a time and growing one group at a time."""
    import shapely

    from stencilgen.foil import _clusters, _regions

    groups = _clusters(boxes, reach)
    assert {tuple(int(i) for i in g) for g in groups} == _brute_clusters(boxes, reach)
    tree = shapely.STRtree(shapely.box(boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3]))
    for g, (region, inside) in zip(groups, _regions(boxes, groups, reach, tree), strict=True):
        box = np.array([*boxes[g, :2].min(axis=0), *boxes[g, 2:].max(axis=0)])
        while True:
            near = [i for i, b in enumerate(boxes) if _gap_at_most(b, box, reach)]
            grown = np.array([*boxes[near, :2].min(axis=0), *boxes[near, 2:].max(axis=0)])
            if np.array_equal(grown, box):
                break
            box = grown
        assert np.array_equal(region, box) and inside.tolist() == near


def _gap_at_most(a: np.ndarray, b: np.ndarray, reach: float) -> bool:
    return max(a[0] - b[2], b[0] - a[2]) <= reach and max(a[1] - b[3], b[1] - a[3]) <= reach


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 2), st.integers(0, 3)), min_size=3 * 12, max_size=3 * 12),
    st.integers(0, 2),
)
def test_the_step_found_is_the_one_every_base_would_give(counts, chosen):
    """The search stops early where the chosen foil (alone or with its steps) leaves no more findings
    than every contact at its own best foil: the proposal is the one trying every foil as the base gives."""
    from stencilgen import foil

    x = np.arange(12) * 55.0  # (5 um apart: within the keep-out of a step of 5 um or more)
    boxes = np.column_stack([x, np.zeros(12), x + 50, np.full(12, 50.0)])
    scores = []
    for k, t in enumerate((12.0, 15.0, 20.0)):
        e = np.array([c[0] for c in counts[12 * k : 12 * k + 12]]) // 2
        w = np.array([c[1] for c in counts[12 * k : 12 * k + 12]])
        scores.append(foil.FoilScore(t, e, w, 0, boxes))
    found = [foil._step_search(scores, b, 1.0) for b in range(3)]
    alone = foil._totals(None, scores[chosen])
    best = min(
        (b for b in range(3) if found[b][0] is not None),
        key=lambda b: (*foil._totals(found[b][0], scores[b]), b != chosen, scores[b].thickness_um),
        default=None,
    )
    if best is None or foil._totals(found[best][0], scores[best]) >= alone:
        assert foil._best_step(scores, chosen, 1.0) == (None, found[chosen][1])
    else:
        assert foil._best_step(scores, chosen, 1.0) == found[best]


def test_a_region_takes_in_every_contact_within_its_keep_out_however_long_the_row():
    """A row of 200 contacts 10 um apart, the middle one served better by a foil 1 um thicker (keep-out
    36 um): the region grows a contact a side each round, and takes in the whole row, so that no
    contact of the base stands within the keep-out of the step (it stopped after 20 rounds)."""
    from stencilgen.foil import FoilScore, foil_summary

    x = np.arange(200) * 50.0
    boxes = np.column_stack([x, np.zeros(200), x + 40.0, np.full(200, 100.0)])
    none = np.zeros(200, dtype=np.int64)
    middle = (np.arange(200) == 100).astype(np.int64)
    thin = FoilScore(20.0, none, 300 * middle, 0, boxes)  # the middle contact: many warnings at 20 um
    thick = FoilScore(21.0, none, 1 - middle, 0, boxes)  # every other contact: one at 21 um
    step = foil_summary([thin, thick], 0, 36.0)["step"]
    assert step is not None
    (region,) = step["regions"]
    assert region["contacts"] == 200 and region["bbox_um"] == [0.0, 0.0, 9990.0, 100.0]
