"""Rows that hold on real dies (RULES.md "Terms"): contacts alike in size, corners by both halves of the
definition, staggered pairs only where the rows are offset, normals away from their own element's centre,
the rows each contact lies in, and a warning for a pad layer that holds no pads."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import synth
from conftest import ROOT
from hypothesis import given, settings
from hypothesis import strategies as st
from test_rows import _corners_one_by_one

import stencilgen.report as stencilgen_report
from stencilgen.geometry import build_contacts
from stencilgen.model import Contacts, Polygons
from stencilgen.rows import _corners, _find_rows, _Members, find_rows
from stencilgen.rules import Rules

PAD = 75.8  # a bond pad (um)
TEST = 35.0  # a test opening


def contacts_of(polys: list[np.ndarray]) -> Contacts:
    contacts, excluded = build_contacts(Polygons.from_list(polys), 0.001)
    assert not excluded
    return contacts


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "stencilgen", *args], capture_output=True, text=True, cwd=ROOT, timeout=120
    )


def mixed_ring() -> list[np.ndarray]:
    """A ring of 75.8 um bond pads, 11 a side at 100 um, with two 35 um test openings 70 um apart in line
    with the middle pad of the left column, the nearer 135 um from it: on one line at 70 and 135 um
    spacing (a regular spacing with one contact missing), but no row: the sizes differ."""
    polys = synth.ring(side=1500.0, pitch=100.0, count=11, pad=(PAD, PAD), edge=80.0).polygons()
    x = -750.0 + 80.0  # the left column
    polys += [synth.rect((x + 135.0, 0.0), (TEST, TEST), 0), synth.rect((x + 205.0, 0.0), (TEST, TEST), 0)]
    return polys


def corner_points(rs) -> list[tuple[float, float]]:
    return sorted((round(float(k.point[0]), 3), round(float(k.point[1]), 3)) for k in rs.corners)


# 1. rows of contacts alike in size


def test_a_test_opening_never_joins_a_row_of_bond_pads():
    c = contacts_of(mixed_ring())
    rs = find_rows(c)
    assert sorted(len(r.members) for r in rs.rows) == [11, 11, 11, 11]
    for r in rs.rows:
        assert np.allclose(c.d[r.members], PAD)
    # the corners are the die's four, none in the middle of the left column
    assert corner_points(rs) == [(-670.0, -670.0), (-670.0, 670.0), (670.0, -670.0), (670.0, 670.0)]
    tests = np.flatnonzero(np.isclose(c.d, TEST))
    assert len(tests) == 2 and set(rs.isolated.tolist()) == set(tests.tolist())
    # with a ratio that lets them be alike, the mixed line is a row again: the key is what parts them
    loose = find_rows(c, Rules().replace(row_size_ratio=2.5))
    mixed = [r for r in loose.rows if len(set(np.round(c.d[r.members], 1))) > 1]
    assert len(mixed) == 1 and sorted(np.round(c.d[mixed[0].members], 1).tolist()) == [TEST, TEST, PAD]


def test_test_openings_on_a_line_of_pads_are_a_row_of_their_own():
    # 35 um openings at 70 um beside 76 um pads at 140 um, all on one line: two rows, neither mixed
    polys = [synth.rect((x, 0.0), (PAD, PAD), 0) for x in np.arange(0.0, 1401.0, 140.0)]
    polys += [synth.rect((x, 0.0), (TEST, TEST), 0) for x in np.arange(1540.0, 1540.0 + 7 * 70.0, 70.0)]
    c = contacts_of(polys)
    rs = find_rows(c)
    got = sorted((len(r.members), round(r.pitch, 3), round(float(np.median(c.d[r.members])), 1)) for r in rs.rows)
    assert got == [(7, 70.0, TEST), (11, 140.0, PAD)]


def test_sizes_within_the_ratio_of_their_median_are_one_row():
    # 50 and 70 um pads by turns (70 / 50 = 1.4, within 1.5): one row of 12
    polys = [synth.rect((i * 100.0, 0.0), (50.0 + 20.0 * (i % 2), 80.0), 0) for i in range(12)]
    rs = find_rows(contacts_of(polys))
    assert [len(r.members) for r in rs.rows] == [12]
    # 40 and 70 by turns on three pads: the median is 40, and 70 is 1.75 times it: no row of three
    polys = [synth.rect((i * 100.0, 0.0), (w, 80.0), 0) for i, w in enumerate((40.0, 70.0, 40.0))]
    assert not find_rows(contacts_of(polys)).rows


def test_row_size_ratio_is_a_rule_key(tmp_path):
    r = run("rules")
    assert r.returncode == 0 and "row_size_ratio = 1.5" in r.stdout
    bad = tmp_path / "bad.toml"
    bad.write_text("row_size_ratio = 0.5\n")
    die = tmp_path / "die.gds"
    synth.write_gds(str(die), synth.ring(side=1500.0, count=5).polygons())
    r = run("plan", str(die), "--layer", "9/0", "-o", str(tmp_path / "out"), "--rules", str(bad))
    assert r.returncode == 3
    assert r.stderr.strip().splitlines() == [f"Error: {bad}: row_size_ratio: must be 1 or more, got 0.5"]
    assert not (tmp_path / "out").exists()


# 2. corners by both halves of the definition


@pytest.mark.parametrize("n", [7, 8, 10])
def test_asymmetric_corners_of_a_small_die_are_all_found(n):
    """Each row runs four pitches past one corner and stops 1.5 pitches short of the next: on a small
    die the corner a row runs past is nearer its far end than the corner it stops short of."""
    die = synth.pinwheel(n=n)
    c = contacts_of(die.polygons())
    rs = find_rows(c)
    assert sorted((len(r.members), round(r.pitch, 3)) for r in rs.rows) == [(n, 100.0)] * 4
    half = (n - 1 - 4.0 + 1.5) * 100.0 / 2
    assert corner_points(rs) == sorted((sx * half, sy * half) for sx in (-1, 1) for sy in (-1, 1))
    centre = np.zeros(2)
    for k in rs.corners:
        a, b = (rs.rows[i] for i in k.rows)
        assert k.angle_deg == pytest.approx(90.0)
        assert (k.point - centre) @ k.bisector > 0  # the oblique direction points out of the die
        # the contacts within reach of the corner, on both rows
        d = np.hypot(*(c.center[k.members] - k.point).T)
        assert (d <= 300.0 + 2.0).all()
        assert set(k.members.tolist()) & set(a.members.tolist()) and set(k.members.tolist()) & set(b.members.tolist())


def test_a_row_stopping_short_of_a_row_that_runs_past_is_a_corner_with_oblique_strips(tmp_path):
    """An L: the column stops 1.5 pitches above the row's line, the row runs 4 pitches past the column's
    line. The plan gives the corner's contacts strips in its common oblique direction."""
    die = synth.Die()
    for i in range(-4, 10):
        die.add((i * 100.0, 0.0), (60.0, 90.0), 0.0)
    for j in range(10):
        die.add((0.0, 150.0 + j * 100.0), (60.0, 90.0), 90.0)
    path = tmp_path / "l.gds"
    synth.write_gds(str(path), die.polygons(), noise=False)
    r = run("inspect", str(path), "--layer", "9/0", "--json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert [k["point_um"] for k in doc["corners"]] == [[0.0, 0.0]]
    corner = doc["corners"][0]
    assert corner["oblique_deg"] == pytest.approx(225.0)  # between the row's outward -y and the column's -x
    out = tmp_path / "out"
    # (no keep-in: held within the L's extent, the corner's strips run straight)
    r = run("plan", str(path), "--layer", "9/0", "-o", str(out), "--formats", "gerber", "-q", "--keep-in", "none")
    assert r.returncode == 0, r.stderr
    records = stencilgen_report.load_report(out / "l.json")["contacts"]
    c = contacts_of(die.polygons())
    near = np.hypot(*c.center.T) <= 3 * 100.0 + 2.0  # within corner_reach of the corner point
    assert near.sum() == 9  # seven of the row, two of the column
    for rec in records:
        assert rec["oblique"] == bool(near[rec["id"]])
        if rec["oblique"]:
            assert rec["strip_direction_deg"] % 180.0 == pytest.approx(corner["oblique_deg"] % 180.0, abs=1e-3)


@settings(max_examples=20, deadline=None)
@given(st.integers(6, 12), st.floats(1.0, 2.5), st.floats(0.0, 5.0), st.floats(0.0, 180.0))
def test_corners_of_pinwheels_are_found_as_one_by_one(n, short, past, angle):
    die = synth.pinwheel(n=n, short=short, past=past).transformed(angle)
    c = contacts_of(die.polygons())
    rules = Rules()
    rows = _find_rows(c, rules)[0].rows
    mid = np.array([c.center[r.members].mean(axis=0) for r in rows])
    got = _corners(c.center, rows, _Members.of(rows, c.center, mid), rules)
    want = _corners_one_by_one(c.center, rows, rules)
    assert [(a, b) for a, b, _x, _s in got] == [(a, b) for a, b, _x in want]


# 3 and 4. staggered pairs only where offset; normals away from their own element's centre


def two_rows(offset: float, apart: float = 150.0, count: int = 12, pitch: float = 100.0) -> list[np.ndarray]:
    return [synth.rect((i * pitch, 0.0), (60.0, 50.0), 0) for i in range(count)] + [
        synth.rect((i * pitch + offset, apart), (60.0, 50.0), 0) for i in range(count)
    ]


def test_aligned_rows_facing_each_other_are_no_staggered_pair():
    c = contacts_of(two_rows(0.0))
    rs = find_rows(c)
    assert len(rs.rows) == 2 and not rs.staggers
    for r in rs.rows:
        y = c.center[r.members[0], 1]
        assert np.allclose(r.normal, [0.0, -1.0] if y < 75.0 else [0.0, 1.0])  # away from each other


@pytest.mark.parametrize(("offset", "pair"), [(0.0, False), (20.0, False), (30.0, True), (50.0, True), (80.0, False)])
def test_a_staggered_pair_is_offset_a_quarter_pitch_or_more(offset, pair):
    """A lone double row 80 um apart, the second row shifted by `offset` um at 100 um pitch: a staggered
    pair from 0.25 pitch off aligned (80 um is 0.2 pitch the other way)."""
    c = contacts_of(two_rows(offset, apart=80.0))
    rs = find_rows(c)
    assert len(rs.rows) == 2
    assert len(rs.staggers) == int(pair)
    if pair:
        s = rs.staggers[0]
        assert s.offset_fraction == pytest.approx(min(offset, 100.0 - offset) / 100.0)
        assert s.separation == pytest.approx(80.0)
        assert np.allclose(rs.rows[0].normal, rs.rows[1].normal)  # a pair faces one way


@pytest.mark.parametrize("offset", [0.0, 50.0])
def test_rows_facing_each_other_across_a_narrow_die_face_away_from_its_centre(offset):
    """A die 150 um high: two long rows (aligned, or half a pitch apart) joined by short columns at both
    ends. The long rows are two sides of one element: no pair, each normal away from the die's centre."""
    polys = two_rows(offset)
    polys += [synth.rect((x, y), (40.0, 40.0), 0) for x in (-100.0, 1250.0) for y in (25.0, 75.0, 125.0)]
    c = contacts_of(polys)
    rs = find_rows(c)
    assert sorted(len(r.members) for r in rs.rows) == [3, 3, 12, 12]
    assert len(rs.corners) == 4 and not rs.staggers
    lo, hi = c.center.min(axis=0), c.center.max(axis=0)
    centre = (lo + hi) / 2
    for r in rs.rows:
        assert (c.center[r.members].mean(axis=0) - centre) @ r.normal > 0


def test_aligned_columns_are_no_staggered_pairs():
    die = synth.aligned_columns(88)
    c = contacts_of(die.polygons())
    rs = find_rows(c)
    assert sorted((len(r.members), round(r.pitch, 3), round(r.direction_deg) % 180) for r in rs.rows) == sorted(
        (t["count"], t["pitch"], t["direction_deg"]) for t in die.rows
    )
    assert not rs.staggers and not rs.arrays and not len(rs.isolated)
    centre = (c.center.min(axis=0) + c.center.max(axis=0)) / 2
    for r in rs.rows:
        assert (c.center[r.members].mean(axis=0) - centre) @ r.normal > 0


def test_staggered_sample_keeps_its_pairs():
    die = synth.staggered_ring(side=3000, pitch=120.0, count=15, sep=80.0)
    rs = find_rows(contacts_of(die.polygons()))
    assert [(round(s.separation, 3), round(s.offset_fraction, 3)) for s in rs.staggers] == [(80.0, 0.5)] * 4


# 5. the rows each contact lies in


def test_inspect_lists_members_and_the_report_every_row_of_a_contact(tmp_path):
    # an L whose corner contact lies on both rows
    die = synth.Die()
    for i in range(10):
        die.add((i * 100.0, 0.0), (50.0, 50.0), 0.0)
    for j in range(1, 10):
        die.add((0.0, j * 100.0), (50.0, 50.0), 0.0)
    path = tmp_path / "l.gds"
    synth.write_gds(str(path), die.polygons(), noise=False)
    r = run("inspect", str(path), "--layer", "9/0", "--json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    c = contacts_of(die.polygons())
    assert len(doc["rows"]) == 2
    holding: dict[int, list[int]] = {}
    for row in doc["rows"]:
        m = row["members"]
        assert len(m) == row["contacts"] == len(set(m))
        # in order along the row, from start_um to end_um, at the pitch
        assert np.allclose(c.center[m[0]], row["start_um"]) and np.allclose(c.center[m[-1]], row["end_um"])
        assert np.allclose(np.hypot(*np.diff(c.center[m], axis=0).T), row["pitch_um"])
        for i in m:
            holding.setdefault(i, []).append(row["id"])
    assert sorted(len(v) for v in holding.values()).count(2) == 1  # the corner contact
    assert np.allclose(c.center[next(i for i, v in holding.items() if len(v) == 2)], [0.0, 0.0])
    out = tmp_path / "out"
    r = run("plan", str(path), "--layer", "9/0", "-o", str(out), "--formats", "gerber", "-q")
    assert r.returncode in (0, 1), r.stderr
    text = (out / "l.json").read_text()
    records = stencilgen_report.load_report(text)["contacts"]
    assert len(records) == len(c)
    for rec in records:
        assert rec["rows"] == sorted(holding.get(rec["id"], []))
        assert rec["row"] == (rec["rows"][0] if rec["rows"] else None)
    # one line per contact in the table, the rows list written as JSON wants it
    table = json.loads(text)["contacts"]
    at = table["fields"].index("rows")
    assert [row[at] for row in table["rows"]] == [rec["rows"] for rec in records]
    assert text.count("\n[") >= len(c)


def test_report_rows_of_a_layout_without_rows(tmp_path):
    import stencilgen

    path = tmp_path / "two.gds"
    synth.write_gds(str(path), [synth.rect((0.0, 0.0), (80.0, 80.0), 0), synth.rect((400.0, 0.0), (80.0, 80.0), 0)])
    planned = stencilgen.plan(stencilgen.read_layout(str(path), layer="9/0"))
    assert [rec["rows"] for rec in planned.records] == [[], []]
    assert stencilgen.load_report(stencilgen.report.dumps_report(planned.report))["contacts"][1]["rows"] == []


# 6. a pad layer that holds no pads


def slivers(tmp_path, size=(2.0, 40.0), nx=50, ny=30) -> str:
    """Metal lines read as contacts: nx x ny slivers on layer 1/0."""
    polys = [synth.rect((i * 10.0 * size[0], j * 1.5 * size[1]), size, 0) for i in range(nx) for j in range(ny)]
    path = str(tmp_path / "lines.gds")
    synth.write_gds(path, polys, layer=(1, 0), noise=False)
    return path


def test_a_layer_of_tiny_contacts_is_warned_about(tmp_path):
    path = slivers(tmp_path)
    r = run("inspect", path, "--layer", "1/0", "--json")
    assert r.returncode == 0
    notes = json.loads(r.stdout)["notes"]
    assert len(notes) == 1 and notes[0].startswith("1500 of 1500 contacts look like no pads (1500 under 5 um across")
    assert notes[0].endswith("is 1/0 the pad opening layer?")
    assert r.stderr.strip() == f"warning: {path}: {notes[0]}"
    assert run("inspect", path, "--layer", "1/0", "-q").stderr == ""
    out = tmp_path / "out"
    r = run("plan", path, "--layer", "1/0", "-o", str(out), "--formats", "gerber")
    assert f"  warning: {notes[0]}" in r.stderr.splitlines()
    assert json.loads((out / "lines.json").read_text())["summary"]["notes"] == notes


def test_thousands_of_slivers_are_warned_about_and_a_few_are_not(tmp_path):
    import stencilgen
    from stencilgen.report import layer_notes

    # 6 x 80 um: not tiny, but 13 times longer than wide
    layout = stencilgen.read_layout(slivers(tmp_path, (6.0, 80.0), 40, 30), layer="1/0")
    notes = layer_notes(layout)
    assert len(notes) == 1 and "1200 slivers over 10 times longer than wide" in notes[0]
    assert "1/0" in notes[0]
    # a pad ring with a few slivers beside it: pads, no warning
    polys = synth.ring(side=2000.0, count=17).polygons()
    polys += [synth.rect((0.0, y), (2.0, 40.0), 0) for y in (-200.0, 0.0, 200.0)]
    path = tmp_path / "ring.gds"
    synth.write_gds(str(path), polys)
    layout = stencilgen.read_layout(str(path), layer="9/0")
    assert len(layout.contacts) == 71 and layer_notes(layout) == []
    assert stencilgen.inspect(layout)["notes"] == []


def test_the_real_pad_rings_have_no_note(realworld):
    import stencilgen

    layout = stencilgen.read_layout(os.path.join(realworld, "ihp_ac3e_padring_28pads", "AC3E_pad_ring_esd.gds"), "9/0")
    doc = stencilgen.inspect(layout)
    assert doc["notes"] == [] and len(doc["rows"]) == 4 and len(doc["corners"]) == 4 and not doc["staggered"]
    assert sorted(len(r["members"]) for r in doc["rows"]) == [7, 7, 7, 7]


def test_a_seal_ring_in_bars_beside_a_few_pads_is_no_sign(tmp_path):
    import stencilgen
    from stencilgen.report import layer_notes

    # three pads and a seal ring drawn as four 8 um bars: four slivers of seven contacts, but pads
    polys = [synth.rect((x, 0.0), (80.0, 80.0), 0) for x in (-200.0, 0.0, 200.0)]
    polys += [synth.rect((0.0, s * 500.0), (1000.0, 8.0), 0) for s in (-1, 1)]
    polys += [synth.rect((s * 500.0, 0.0), (8.0, 980.0), 0) for s in (-1, 1)]
    path = tmp_path / "die.gds"
    synth.write_gds(str(path), polys)
    layout = stencilgen.read_layout(str(path), layer="9/0")
    assert len(layout.contacts) == 7 and layer_notes(layout) == []


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**31 - 1), st.sampled_from([1.2, 1.5, 2.0]))
def test_every_row_is_alike_in_size(seed, ratio):
    """Lines of pads whose sizes are drawn from 30 to 80 um, some lines at one size with a stranger or
    two: every row found holds contacts each within the ratio of the row's median d."""
    rng = np.random.default_rng(seed)
    polys = []
    for line in range(6):  # lines apart by uneven steps, each shifted along: no grid
        base = float(rng.choice([30.0, 45.0, 60.0, 80.0]))
        shift, y = float(rng.uniform(0.0, 100.0)), line * 200.0 + line * line * 17.0
        for i in range(int(rng.integers(3, 12))):
            w = float(rng.choice([30.0, 45.0, 60.0, 80.0])) if rng.random() < 0.3 else base
            polys.append(synth.rect((shift + i * 100.0, y), (w, w), 0))
    c = contacts_of(polys)
    rules = Rules().replace(row_size_ratio=ratio)
    rs = find_rows(c, rules)
    for r in rs.rows:
        d = c.d[r.members]
        m = float(np.median(d))
        assert (d <= m * ratio * (1 + 1e-9)).all() and (d * ratio * (1 + 1e-9) >= m).all()
