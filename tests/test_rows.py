"""Row finding on contacts with a known answer: rotation, mixed pitch, gaps, staggers, arrays, corners."""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pytest
import synth
from hypothesis import example, given, settings
from hypothesis import strategies as st

from stencilgen.geometry import build_contacts
from stencilgen.model import Contacts, Polygons
from stencilgen.rows import find_rows
from stencilgen.rules import Rules


def contacts_of(die: synth.Die) -> Contacts:
    contacts, excluded = build_contacts(Polygons.from_list(die.polygons()), 0.001)
    assert not excluded
    return contacts


def row_summary(die: synth.Die) -> list[tuple[int, float, float]]:
    rs = find_rows(contacts_of(die))
    return sorted((len(r.members), round(r.pitch, 2), round(r.direction_deg, 1) % 180) for r in rs.rows)


def truth(die: synth.Die) -> list[tuple[int, float, float]]:
    return sorted((r["count"], round(r["pitch"], 2), round(r["direction_deg"], 1) % 180) for r in die.rows)


def test_square_ring_rows_corners_normals():
    die = synth.ring(side=2000, pitch=100.0, count=17)
    c = contacts_of(die)
    rs = find_rows(c)
    assert len(rs.rows) == 4
    assert all(len(r.members) == 17 and r.pitch == pytest.approx(100.0) for r in rs.rows)
    assert len(rs.corners) == 4
    assert len(rs.isolated) == 0 and not rs.arrays
    centre = c.center.mean(axis=0)
    for r in rs.rows:
        mid = c.center[r.members].mean(axis=0)
        # the normal points away from the die centre, and is u turned +90 deg
        assert (mid - centre) @ r.normal > 0
        np.testing.assert_allclose(r.normal, [-r.direction[1], r.direction[0]], atol=1e-12)
        # members are ordered along u
        t = c.center[r.members] @ r.direction
        assert np.all(np.diff(t) > 0)
    for k in rs.corners:
        a, b = rs.rows[k.rows[0]], rs.rows[k.rows[1]]
        assert k.angle_deg == pytest.approx(90.0)
        # the bisector of the two outward normals points diagonally out of the die, 45 deg to each row
        assert k.bisector @ a.normal == pytest.approx(np.cos(np.pi / 4))
        assert k.bisector @ b.normal == pytest.approx(np.cos(np.pi / 4))
        assert (k.point - centre) @ k.bisector > 0


@pytest.mark.parametrize("angle", [0.0, 17.3, 45.0, 90.0, 133.7, 271.2])
@pytest.mark.parametrize("pitch", [80.0, 100.0, 125.0])
def test_rotated_ring_any_angle(angle, pitch):
    die = synth.ring(side=2500, pitch=pitch, count=int(2000 // pitch)).transformed(angle, (12345.6, -789.1))
    assert row_summary(die) == truth(die)
    assert len(find_rows(contacts_of(die)).corners) == 4


def test_mixed_pitch_on_one_die():
    die = synth.ring(side=2000, pitch=(80.0, 125.0, 90.0, 110.0), count=(21, 13, 19, 15))
    assert row_summary(die) == truth(die)


def test_missing_contact_keeps_one_row():
    die = synth.ring(side=2000, pitch=100.0, count=17, missing={0: [5], 2: [3, 11]})
    rs = find_rows(contacts_of(die))
    assert len(rs.rows) == 4
    assert sorted(r.gaps for r in rs.rows) == [0, 0, 1, 2]
    assert all(r.pitch == pytest.approx(100.0) for r in rs.rows)


@pytest.mark.parametrize("angle", [0.0, 33.3])
def test_two_missing_side_by_side_keep_one_row_three_split_it(angle):
    """A row runs on over two missing contacts side by side (max_gap_pitches + 1 pitches), also next to
    its end; over three it ends. Row sizes: 17 less the missing; the rows with none missing stay whole."""
    for missing, sizes, gaps in (
        ({0: [7, 8]}, [15, 17, 17, 17], 2),
        ({0: [3, 4, 8, 9]}, [13, 17, 17, 17], 4),
        ({0: [1, 2]}, [15, 17, 17, 17], 2),
        ({0: [2, 3]}, [15, 17, 17, 17], 2),  # the two end contacts stay on their row
        ({0: [1, 2], 1: [14, 15]}, [15, 15, 17, 17], 4),
        ({0: [7, 8, 9]}, [7, 7, 17, 17, 17], 0),
    ):
        die = synth.ring(side=2000, pitch=100.0, count=17, missing=missing).transformed(angle, (500.0, -250.0))
        rs = find_rows(contacts_of(die))
        assert sorted(len(r.members) for r in rs.rows) == sizes
        assert not len(rs.isolated)
        assert all(r.pitch == pytest.approx(100.0) for r in rs.rows)
        assert sum(r.gaps for r in rs.rows) == gaps
        assert len(rs.corners) == 4


def test_staggered_double_rows():
    die = synth.staggered_ring(side=3000, pitch=120.0, count=15, sep=80.0)
    rs = find_rows(contacts_of(die))
    assert len(rs.rows) == 8
    assert len(rs.staggers) == 4
    for s in rs.staggers:
        assert s.separation == pytest.approx(80.0)
        assert s.offset_fraction == pytest.approx(0.5)
    assert len(rs.isolated) == 0


def test_close_stagger_where_diagonals_are_nearest():
    # rows 30 um apart, 100 um pitch, half-pitch shift: the nearest neighbour is in the other row
    die = synth.Die()
    for i in range(12):
        die.add((i * 100.0, 0.0), (30.0, 25.0), 0.0)
        die.add((i * 100.0 + 50.0, 30.0), (30.0, 25.0), 0.0)
    rs = find_rows(contacts_of(die))
    assert sorted(len(r.members) for r in rs.rows) == [12, 12]
    assert all(r.pitch == pytest.approx(100.0) for r in rs.rows)
    assert len(rs.staggers) == 1


@pytest.mark.parametrize("pitch", [(150.0, 150.0), (100.0, 160.0)])
def test_area_array_is_not_rows(pitch):
    die = synth.area_array(8, 6, pitch)
    rs = find_rows(contacts_of(die))
    assert not rs.rows
    assert len(rs.arrays) == 1
    a = rs.arrays[0]
    assert len(a.members) == 48
    assert sorted(a.lines) == [6, 8]
    assert sorted(a.pitches) == pytest.approx(sorted(pitch))


def test_ring_around_an_array():
    ring = synth.ring(side=3000, pitch=100.0, count=25)
    arr = synth.area_array(5, 5, (200.0, 200.0))
    die = synth.Die()
    for src, shift in ((ring, (0.0, 0.0)), (arr, (-400.0, -400.0))):
        for c, s, a in zip(src.centers, src.sizes, src.angles, strict=False):
            die.add((c[0] + shift[0], c[1] + shift[1]), s, a)
    rs = find_rows(contacts_of(die))
    assert len(rs.rows) == 4 and len(rs.arrays) == 1 and len(rs.arrays[0].members) == 25


def test_isolated_contacts_make_no_rows():
    die = synth.Die()
    for c in [(0, 0), (150, 0), (600, 300), (0, 500), (170, 600), (640, 20), (300, 310)]:
        die.add(c, (80.0, 80.0), 0.0)
    rs = find_rows(contacts_of(die))
    assert not rs.rows and not rs.arrays
    assert len(rs.isolated) == 7


def test_flat_dies_side_by_side_each_their_own_element():
    die = synth.ring(side=2000, pitch=100.0, count=17)
    two = synth.Die()
    for shift in (0.0, 2100.0):
        for c, s, a in zip(die.centers, die.sizes, die.angles, strict=False):
            two.add((c[0] + shift, c[1]), s, a)
    c = contacts_of(two)
    rs = find_rows(c)
    assert len(rs.rows) == 8 and len(rs.corners) == 8
    for r in rs.rows:
        mid = c.center[r.members].mean(axis=0)
        die_centre = np.array([0.0 if mid[0] < 1050 else 2100.0, 0.0])
        assert (mid - die_centre) @ r.normal > 0
    # no corner joins rows of different dies
    for k in rs.corners:
        xs = [c.center[rs.rows[i].members].mean(axis=0)[0] < 1050 for i in k.rows]
        assert xs[0] == xs[1]


def test_noise_contacts_do_not_break_rows():
    die = synth.ring(side=2000, pitch=100.0, count=17)
    die.add((0.0, 0.0), (50.0, 50.0), 0.0)  # a lone contact in the middle
    die.add((300.0, 123.0), (20.0, 20.0), 0.0)
    rs = find_rows(contacts_of(die))
    assert len(rs.rows) == 4 and len(rs.isolated) == 2


def _canonical(contacts: Contacts, rs) -> list[tuple]:
    """Rows as sets of contact shapes (area, d) and sizes - invariant to moving the die."""
    out = []
    for r in rs.rows:
        out.append((len(r.members), round(r.pitch, 3), r.gaps))
    return sorted(out)


@settings(max_examples=25, deadline=None)
# 125 um pitch turned 35 deg measures 125.00000000000003 um: still fine pitch, its corners still corners
@example(angle=125.0, dx=1.0, dy=14.0, seed=0, pitch=125.0)
@example(angle=35.0, dx=0.0, dy=0.0, seed=0, pitch=125.0)
@given(
    angle=st.floats(0, 360),
    dx=st.floats(-1e5, 1e5),
    dy=st.floats(-1e5, 1e5),
    seed=st.integers(0, 2**32 - 1),
    pitch=st.floats(80, 125),
)
def test_rows_do_not_depend_on_placement_or_order(angle, dx, dy, seed, pitch):
    # rows end 1.5 pitches short of the next side: a clear corner, not a borderline one
    count = int(2 * (1120 - 1.5 * pitch) // pitch) + 1
    die = synth.ring(side=2400, pitch=pitch, count=count, missing={1: [2]})
    base = find_rows(contacts_of(die))
    moved = die.transformed(angle, (dx, dy))
    polys = moved.polygons()
    order = np.random.default_rng(seed).permutation(len(polys))
    contacts, _ = build_contacts(Polygons.from_list([polys[i] for i in order]), 0.001)
    rs = find_rows(contacts)
    assert _canonical(contacts, rs) == _canonical(contacts_of(die), base)
    assert len(rs.corners) == len(base.corners)
    got = sorted(round((r.direction_deg - angle) % 90, 1) % 90 for r in rs.rows)
    assert all(min(g, 90 - g) < 0.05 for g in got)
    for r in rs.rows:
        assert r.pitch == pytest.approx(pitch, rel=1e-3)


def test_arrayed_cell_of_turned_arrays_reports_turned_directions(tmp_path):
    import gdstk

    from stencilgen.readers import read_layout
    from stencilgen.rows import find_layout_rows

    lib = gdstk.Library(unit=1e-6, precision=1e-9)
    cell = lib.new_cell("BUMPS")
    for p in synth.area_array(5, 4, (150.0, 200.0)).polygons():
        cell.add(gdstk.Polygon(p, 9, 0))
    top = lib.new_cell("TOP")
    top.add(gdstk.Reference(cell, (0, 0), rotation=np.radians(30)))
    top.add(gdstk.Reference(cell, (5000, 0), rotation=np.radians(30)))
    path = str(tmp_path / "a.gds")
    lib.write_gds(path)
    layout = read_layout(path, layer="9/0")
    assert layout.instances is not None
    rs = find_layout_rows(layout.contacts, layout.instances)
    assert len(rs.arrays) == 2
    for a in rs.arrays:
        assert sorted(a.directions_deg) == pytest.approx([30.0, 120.0], abs=1e-6)
        assert sorted(a.pitches) == pytest.approx([150.0, 200.0])


@pytest.mark.parametrize("sides", [4, 3])
def test_staggered_rows_close_to_their_corners_stay_rows(sides: int) -> None:
    """Staggered double rows on a small die: the end contacts of outer and inner rows near a corner
    also lie on a 45 deg line at 1.5 * sqrt(2) pitches. That line is not a row, and it must not join
    the rows into an area array."""
    die = synth.staggered_ring(side=2240.0, pitch=100.0, count=16, sep=150.0)
    polys = die.polygons()
    keep = [p for p in polys if sides == 4 or p.mean(axis=0)[1] < 850.0]  # three sides: no top rows
    contacts, _ = build_contacts(Polygons.from_list(keep), 0.001)
    rs = find_rows(contacts)
    assert not rs.arrays
    assert len(rs.rows) == 2 * sides
    assert sorted({round(r.direction_deg) % 180 for r in rs.rows}) == [0, 90]
    assert all(r.pitch == pytest.approx(100.0) and len(r.members) >= 15 for r in rs.rows)
    assert len(rs.staggers) == sides


def test_families_that_do_not_cross_are_no_grid() -> None:
    """Three horizontal and three vertical lines, linked only through a seventh line, are no area
    array: a grid's two families share contacts (here none)."""
    from stencilgen.rows import _arrays, _Line

    h = [_Line(0.0, np.arange(10 * k, 10 * k + 5), 100.0, 0) for k in range(3)]
    v = [_Line(np.pi / 2, np.arange(100 + 10 * k, 100 + 10 * k + 5), 100.0, 0) for k in range(3)]
    link = _Line(np.pi / 4, np.array([0, 10, 20, 100, 110, 120]), 141.4, 0)
    rows, grids = _arrays([*h, *v, link])
    assert not grids and len(rows) == 7
    # the same lines crossing (each horizontal line shares a contact with each vertical one) are a grid
    hx = [_Line(0.0, np.array([3 * k, 3 * k + 1, 3 * k + 2]), 100.0, 0) for k in range(3)]
    vx = [_Line(np.pi / 2, np.array([k, k + 3, k + 6]), 100.0, 0) for k in range(3)]
    rows, grids = _arrays([*hx, *vx])
    assert len(grids) == 1 and not rows


def test_a_line_half_at_one_pitch_half_at_another_is_two_rows():
    # spacings 5 x 100 then 5 x 150 um: the median (125) fits neither; the smallest spacing is tried
    xs = np.concatenate([[0.0], np.cumsum([100.0] * 5 + [150.0] * 5)])
    polys = [synth.rect((x, 0.0), (50.0, 90.0), 0.0) for x in xs]
    contacts, _ = build_contacts(Polygons.from_list(polys), 0.001)
    rs = find_rows(contacts)
    found = sorted((len(r.members), round(r.pitch, 3)) for r in rs.rows)
    assert found == [(6, 100.0), (6, 150.0)]


# The row finder's steps work on every line, piece or pair at once. Each is checked here against the
# plain definition it implements, written one item at a time.


def _segments_one_by_one(s, rules, offset=0, depth=0):
    """The definition: a line's median spacing (else its smallest) is tried; where spacings disagree,
    the line is cut there and every piece of two spacings or more is tried again, five levels deep."""
    from stencilgen.numeric import median
    from stencilgen.rows import _regular

    if len(s) < 2:
        return []
    ok, q = _regular(s, median(s), rules)
    if not ok.any():
        ok, q = _regular(s, float(s.min()), rules)
    if ok.all():
        return [(offset, len(s), median(s / q), int((q - 1).sum()))]
    if depth >= 4:
        return []
    out = []
    for run in np.split(np.arange(len(s)), np.flatnonzero(np.diff(ok.astype(np.int8))) + 1):
        if len(run) >= 2:
            out += _segments_one_by_one(s[run], rules, offset + int(run[0]), depth + 1)
    return out


spacing = st.one_of(
    st.sampled_from([80.0, 100.0, 100.0, 110.0, 125.0, 150.0, 200.0, 250.0, 300.0, 1e-9]),
    st.floats(1.0, 2000.0),
    st.sampled_from([100.0, 125.0]).map(lambda p: p + 0.4),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(spacing, min_size=2, max_size=25), min_size=1, max_size=6))
def test_lines_are_cut_into_runs_as_one_by_one(lines):
    from stencilgen.rows import _segments
    from stencilgen.rules import Rules

    rules = Rules()
    s = np.concatenate([np.array(line) for line in lines])
    count = np.array([len(line) for line in lines])
    first = np.cumsum(count) - count
    want = []
    for f, line in zip(first.tolist(), lines, strict=True):
        want += [(f + a, c, p, g) for a, c, p, g in _segments_one_by_one(np.array(line), rules)]
    got = list(zip(*(x.tolist() for x in _segments(s, first, count, rules)), strict=True))
    assert got == want


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.lists(spacing, min_size=1, max_size=25), min_size=1, max_size=6),
    st.sampled_from([0.0, 0.5, 1.9, 2.1, 300.0]),  # how far apart the lines lie (row tolerance: 2 um)
    st.floats(0.0, 3.2),
    st.integers(0, 2**32 - 1),
)
def test_lines_are_found_as_one_by_one(lines, apart, theta, seed):
    """`_lines` against its definition: the same members in the same order, the same runs, pitches
    and gaps, bit for bit; lines that run into each other, ties along the line, noise."""
    from stencilgen import rows

    rng = np.random.default_rng(seed)
    u = np.array([np.cos(theta), np.sin(theta)])
    n = np.array([-u[1], u[0]])
    pts = []
    for k, line in enumerate(lines):
        t = np.concatenate([[0.0], np.cumsum(line)]) + rng.choice([0.0, 0.0, 10.0])  # ties with other lines
        pts.append(t[:, None] * u + (k * apart + rng.normal(0, 0.3, len(t)))[:, None] * n)
    pts.append(rng.uniform(-500, 3000, (int(rng.integers(0, 8)), 2)))  # loose contacts
    center = np.vstack(pts) + 1e4
    members = np.sort(rng.permutation(len(center))[: max(3, int(len(center) * rng.uniform(0.5, 1.0)))])
    _assert_same_lines(rows._lines(center, theta, members, Rules()), _lines_one_by_one(center, theta, members))


def _lines_one_by_one(center, theta, members):
    """The definition of `_lines`: members in order across the direction, a line wherever the next is
    more than the row tolerance further across; each line of three or more in order along the
    direction, cut into regular runs (`_segments_one_by_one`); the runs of a pitch beyond the row
    tolerance."""
    from stencilgen.rows import _Line

    rules = Rules()
    u = np.array([np.cos(theta), np.sin(theta)])
    n = np.array([-u[1], u[0]])
    x, y = center[members, 0], center[members, 1]
    rho, t = (x * n[0] + y * n[1]).tolist(), (x * u[0] + y * u[1]).tolist()
    across = sorted(range(len(members)), key=lambda i: (rho[i], i))
    groups = [[across[0]]] if across else []
    for a, b in itertools.pairwise(across):
        if rho[b] - rho[a] > rules.row_tolerance_um:
            groups.append([])
        groups[-1].append(b)
    out = []
    for g in groups:
        if len(g) < 3:
            continue
        line = sorted(g, key=lambda i: (t[i], i))
        s = np.array([max(t[b] - t[a], 1e-9) for a, b in itertools.pairwise(line)])
        for f, c, p, gaps in _segments_one_by_one(s, rules):
            if p > rules.row_tolerance_um:
                out.append(_Line(theta, members[line[f : f + c + 1]], p, gaps))
    return out


def _assert_same_lines(got, want) -> None:
    assert len(got) == len(want)
    for a, b in zip(got, want, strict=True):
        assert a.theta == b.theta and a.pitch == b.pitch and a.gaps == b.gaps
        assert np.array_equal(a.members, b.members)


def _drop_one_by_one(lines):
    """The definition of a cutting line, contact by contact and line by line."""
    from stencilgen.rows import _angle_diff

    on: dict[int, list[int]] = {}
    for k, ln in enumerate(lines):
        for c in ln.members.tolist():
            on.setdefault(c, []).append(k)
    crossing_members = [0] * len(lines)
    crosses: list[set[int]] = [set() for _ in lines]
    for here in on.values():
        for a in here:
            others = [b for b in here if b != a and _angle_diff(lines[a].theta, lines[b].theta) >= 2.0]
            if others:
                crossing_members[a] += 1
                crosses[a].update(others)
    keep = []
    for k, ln in enumerate(lines):
        if crossing_members[k] < len(ln.members) or not crosses[k]:
            keep.append(k)
            continue
        alike = [sum(1 for q in crosses[r] if _angle_diff(lines[q].theta, ln.theta) < 2.0) for r in crosses[k]]
        if max(alike) >= 3 or len(crosses[k]) < len(ln.members):
            keep.append(k)
    return keep


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_cutting_lines_are_dropped_as_one_by_one(data):
    from stencilgen.rows import _drop_cutting_lines, _Line

    n = data.draw(st.integers(4, 25))
    thetas = data.draw(st.lists(st.sampled_from([0.0, 0.01, np.pi / 4, np.pi / 2, np.pi / 2 + 0.02]), min_size=1))
    lines = []
    for _ in range(data.draw(st.integers(1, 12))):
        members = data.draw(st.lists(st.integers(0, n - 1), min_size=3, max_size=7, unique=True))
        lines.append(_Line(data.draw(st.sampled_from(thetas)), np.array(sorted(members)), 100.0, 0))
    kept = _drop_cutting_lines(lines)
    assert [next(k for k, ln in enumerate(lines) if ln is x) for x in kept] == _drop_one_by_one(lines)


def _corners_one_by_one(center, rows, rules):
    """The definition of a corner, pair of rows by pair of rows."""
    from stencilgen.rows import _angle_diff

    cand = []
    for a in range(len(rows)):
        for b in range(a + 1, len(rows)):
            A, B = rows[a], rows[b]
            ta, tb = (np.arctan2(R.direction[1], R.direction[0]) for R in (A, B))
            if _angle_diff(ta, tb) <= rules.corner_min_angle_deg:
                continue
            if not rules.fine(max(A.pitch, B.pitch)):  # a coarse row's pads meet no strips
                continue
            ea, eb = center[A.members[[0, -1]]], center[B.members[[0, -1]]]
            near = min(
                np.hypot(*(ea[:, None, :] - center[B.members][None]).transpose(2, 0, 1)).min(),
                np.hypot(*(eb[:, None, :] - center[A.members][None]).transpose(2, 0, 1)).min(),
            )
            score = float(near)
            for P, Q in ((A, B), (B, A)):
                for e in center[P.members[[0, -1]]]:
                    t = (e - Q.origin) @ Q.direction
                    t_end = (center[Q.members[-1]] - Q.origin) @ Q.direction
                    if t < 0 or t > t_end:
                        score = min(score, max(abs((e - Q.origin) @ Q.normal), min(abs(t), abs(t - t_end))))
            if score > rules.corner_reach * max(A.pitch, B.pitch) + rules.row_tolerance_um:
                continue
            s = np.linalg.solve(np.column_stack([A.direction, -B.direction]), B.origin - A.origin)
            x = A.origin + s[0] * A.direction
            end_a = int(np.argmin(np.hypot(*(center[A.members[[0, -1]]] - x).T)))
            end_b = int(np.argmin(np.hypot(*(center[B.members[[0, -1]]] - x).T)))
            cand.append((round(score, 6), a, b, end_a, end_b, x))
    used, out = {}, []  # the corner points taken at each row end
    for _score, a, b, ea, eb, x in sorted(cand, key=lambda c: c[:3]):
        # one corner at one place per row end: none other at that end within the row's reach
        if any(
            np.hypot(*(x - y)) <= rules.corner_reach * rows[r].pitch + rules.row_tolerance_um
            for r, e in ((a, ea), (b, eb))
            for y in used.get((r, e), [])
        ):
            continue
        for key in ((a, ea), (b, eb)):
            used.setdefault(key, []).append(x)
        out.append((a, b, x))
    return out


@settings(max_examples=40, deadline=None)
@example(1.0, 125.0, 4, 0)  # 125 um turned 1 deg: a pitch a hair over 125 um, still fine
@given(
    st.floats(0.0, 180.0),
    st.sampled_from([80.0, 100.0, 125.0]),
    st.integers(4, 14),
    st.integers(0, 2**31 - 1),
)
def test_corners_are_found_as_one_by_one(angle, pitch, count, seed):
    from stencilgen.rows import _corners, _find_rows, _Members
    from stencilgen.rules import Rules

    rng = np.random.default_rng(seed)
    side = count * pitch + rng.uniform(1.5, 6.0) * pitch
    missing = {int(rng.integers(4)): [int(rng.integers(count))]} if rng.random() < 0.5 else {}
    dies = [synth.ring(side=side, pitch=pitch, count=count, pad=(0.6 * pitch, 0.9 * pitch), missing=missing)]
    dies.append(dies[0].transformed(0.0, (side + rng.uniform(0.5, 4.0) * pitch, 0.0)))  # a neighbour die
    polys = [p for d in dies for p in d.transformed(angle).polygons()]
    contacts, _ = build_contacts(Polygons.from_list(polys), 0.001)
    rules = Rules()
    rows = _find_rows(contacts, rules)[0].rows
    mid = np.array([contacts.center[r.members].mean(axis=0) for r in rows])
    got = _corners(contacts.center, rows, _Members.of(rows, contacts.center, mid), rules)
    want = _corners_one_by_one(contacts.center, rows, rules)
    assert [(a, b) for a, b, _x, _s in got] == [(a, b) for a, b, _x in want]
    for (_a, _b, x, _s), (_, _, y) in zip(got, want, strict=True):
        assert np.allclose(x, y, atol=1e-9)


def test_a_loose_row_faces_away_from_the_smallest_element_around_it():
    """A lone short row inside a large pad ring, beside an L of two rows: the row takes its outward
    side from the smallest element whose box holds it (the L), not from the ring."""
    polys = synth.ring(side=5000.0, pitch=100.0, count=47, pad=(40.0, 60.0), edge=80.0)
    polys = polys.transformed(0.0, (-300.0, -300.0)).polygons()
    pad = (30.0, 30.0)
    polys += [synth.rect((x, 1000.0), pad, 0) for x in np.arange(0.0, 1001.0, 100.0)]  # the L: top
    polys += [synth.rect((1000.0, y), pad, 0) for y in np.arange(0.0, 901.0, 100.0)]  # the L: right
    polys += [synth.rect((x, -50.0), pad, 0) for x in (-150.0, -50.0, 50.0)]  # the lone row
    contacts, _ = build_contacts(Polygons.from_list(polys), 0.001)
    lone = [r for r in find_rows(contacts).rows if len(r.members) == 3]
    assert len(lone) == 1
    # the L's box centre (500, 500) lies above the row: its normal points down, away from it
    assert np.allclose(lone[0].normal, [0.0, -1.0])


def test_a_hollow_array_two_contacts_deep():
    """A 20 x 20 array with only its two outer rings: one area array. With a row gap of three pitches its
    lines across the corners become rows, whose elements (alike in size and centre) once failed to
    compare."""
    ij = [(i, j) for i in range(20) for j in range(20) if min(i, j, 19 - i, 19 - j) < 2]
    die = synth.Die()
    for i, j in ij:
        die.add((150.0 * i, 150.0 * j), (60.0, 60.0), 0.0)
    c = contacts_of(die)
    rs = find_rows(c)
    assert not rs.rows and [len(a.members) for a in rs.arrays] == [144]
    wide = find_rows(c, dataclasses.replace(Rules(), max_gap_pitches=3))
    assert ((wide.row_of >= 0) | (wide.array_of >= 0)).all()


def test_mod_pi_is_numpys_remainder():
    """Random angles, the ends of the range, values one ulp off them and values whose sum with pi rounds."""
    from stencilgen.rows import _mod_pi

    rng = np.random.default_rng(4)
    edges = [-np.pi, np.pi, 0.0, np.pi / 2, 1.5 * np.pi, -1e-17, -1e-300, 2 * np.pi - 1e-9]
    edges += [np.nextafter(v, d) for v in (-np.pi, np.pi, 0.0) for d in (-4.0, 4.0)]
    x = np.concatenate([rng.uniform(-np.pi, 2 * np.pi, 100_000), edges])
    x = x[(x >= -np.pi) & (x < 2 * np.pi)]
    got, want = _mod_pi(x), np.remainder(x, np.pi)
    assert np.array_equal(got, want)
    assert (got[x == -1e-17] == np.pi).all()  # -1e-17 + pi rounds to pi, as numpy has it


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 60))
def test_choose_is_its_definition(seed, count):
    """Lines of random contacts (some alike in pitch and size) are taken in the order the rule written
    plainly takes them."""
    from stencilgen import rows

    rng = np.random.default_rng(seed)
    n = int(rng.integers(5, 80))
    lines = [
        rows._Line(
            float(rng.uniform(0, 3)),
            np.sort(rng.choice(n, int(rng.integers(3, min(n, 20) + 1)), replace=False)).astype(np.int64),
            float(rng.choice([100.0, 100.0000001, 125.0, 150.0])),
            0,
        )
        for _ in range(count)
    ]
    slots = dict.fromkeys(range(n), 0)
    want = []
    for ln in sorted(lines, key=lambda ln: (round(ln.pitch, 6), -len(ln.members), int(ln.members.min()))):
        if sum(slots[c] < 2 for c in ln.members.tolist()) >= max(3, (len(ln.members) + 1) // 2):
            for c in ln.members.tolist():
                slots[c] += 1
            want.append(ln)
    assert [id(x) for x in rows._choose(lines, n)] == [id(x) for x in want]


def _plain_directions(center, pairs, tol):
    """rows._directions written plainly, a pair at a time: peaks of the smoothed 0.5 deg histogram
    of live pairs, strongest first; a peak's direction is the mean of doubled angles of its bins'
    pairs, weighted by length^2; it takes the live pairs of its own bins and those within their own
    slack of it (up to 7 bins off)."""
    from stencilgen import rows as rows_mod

    pa, pb = pairs[:, 0], pairs[:, 1]
    v = center[pb] - center[pa]
    theta = np.arctan2(v[:, 1], v[:, 0]) % np.pi
    nbins = 360
    bins = np.floor(np.degrees(theta) / 0.5).astype(np.int64) % nbins
    slack = np.clip(np.arctan2(2 * tol, np.hypot(v[:, 0], v[:, 1])), np.radians(0.1), np.radians(3.0))
    alive = np.ones(len(pairs), dtype=bool)
    found = []
    while len(found) < rows_mod.MAX_DIRECTIONS:
        counts = np.bincount(bins[alive], minlength=nbins)
        smooth = counts + np.roll(counts, 1) + np.roll(counts, -1)
        peak = int(np.argmax(smooth))
        if smooth[peak] < 2:
            break
        own = alive & ((bins - peak + 1) % nbins <= 2)
        z = np.sum((v[own, 0] + 1j * v[own, 1]) ** 2)
        best = float(np.angle(z) / 2 % np.pi)
        diff = np.abs((theta - best + np.pi / 2) % np.pi - np.pi / 2)
        near = (bins - peak + 7) % nbins <= 14
        take = alive & near & (own | (diff <= slack))
        alive &= ~take
        members = np.unique(np.concatenate([pa[take], pb[take]]))
        if len(members) >= 3:
            found.append((best, members))
    return found


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1), st.sampled_from(["lattice", "ring", "random", "snapped"]), st.floats(0.0, 180.0))
def test_directions_by_distinct_vectors_are_the_plain_rule(seed, kind, turn):
    """Pairs are handled once for each distinct vector, weighted; that finds the directions (to 1e-12
    rad) and the contacts that the rule taken a pair at a time finds."""
    from stencilgen import rows
    from stencilgen.pairs import near_pairs

    rng = np.random.default_rng(seed)
    if kind == "random":
        pts = rng.uniform(0, 2000, (300, 2))
    else:
        pts = np.stack(np.meshgrid(np.arange(12) * 100.0, np.arange(9) * 100.0), axis=-1).reshape(-1, 2)
        if kind == "ring":
            pts = np.array([p.mean(axis=0) for p in synth.ring(side=3000.0, pitch=110.0, count=20).polygons()])
        a = np.radians(turn)
        pts = pts @ np.array([[np.cos(a), np.sin(a)], [-np.sin(a), np.cos(a)]])
        if kind == "snapped":  # a turned lattice on a 1 nm grid: several vectors for each pitch vector
            pts = np.round(pts * 1000) / 1000
    pairs, _nn = near_pairs(pts, rows.NEIGHBOURS, rows.PAIR_REACH, 100.0)
    got = rows._directions(pts, pairs, 2.0)
    want = _plain_directions(pts, pairs, 2.0)
    assert len(got) == len(want)
    for (t, m), (tw, mw) in zip(got, want, strict=True):
        assert abs(t - tw) <= 1e-12 or abs(abs(t - tw) - np.pi) <= 1e-12
        assert np.array_equal(m, mw)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from([0.0, 0.01, np.pi / 4, np.pi / 2, 2.0]), st.sets(st.integers(0, 40), min_size=3)),
        min_size=2,
        max_size=25,
    )
)
def test_cutting_lines_of_many_contacts_are_dropped_as_one_by_one(found):
    """Random line sets (contacts in several lines, alike directions 0.01 rad apart, grids and lone
    diagonals): the lines dropped are those the definition drops."""
    from stencilgen import rows

    lines = [rows._Line(theta, np.array(sorted(members), dtype=np.int64), 100.0, 0) for theta, members in found]
    kept = rows._drop_cutting_lines(lines)
    assert [next(k for k, ln in enumerate(lines) if ln is x) for x in kept] == _drop_one_by_one(lines)


def test_cutting_diagonal_through_staggered_ends_is_dropped():
    """Two crossing rows of three and a diagonal through one contact of each: the diagonal cuts
    rows that no other line of its direction crosses, so it goes; three parallel diagonals crossing
    a grid stay."""
    from stencilgen import rows

    h1 = rows._Line(0.0, np.array([0, 1, 2]), 100.0, 0)
    h2 = rows._Line(0.0, np.array([3, 4, 5]), 100.0, 0)
    v1 = rows._Line(np.pi / 2, np.array([6, 7, 8]), 100.0, 0)
    diag = rows._Line(np.pi / 4, np.array([2, 3, 8]), 141.0, 0)  # one contact of each row
    grid = [rows._Line(0.0, np.arange(3 * r, 3 * r + 3), 100.0, 0) for r in range(3)]
    grid += [rows._Line(np.pi / 2, np.arange(c, 9, 3), 100.0, 0) for c in range(3)]
    assert rows._drop_cutting_lines([h1, h2, v1, diag]) == [h1, h2, v1]
    assert rows._drop_cutting_lines(grid) == grid


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1), st.floats(0.0, 90.0), st.sampled_from([(100.0, 9), (55.0, 30)]))
def test_corner_distances_measured_near_in_position_are_all_members_measured(seed, turn, ring):
    """Corner finding measures an end's distance to a row (up to a limit) only at members near it in
    position along the row, and a corner's members only within its reach along each row: the same
    (to the bit) as measuring every member, on turned, jittered dies with missing contacts and
    several dies."""
    from stencilgen import rows as R
    from stencilgen.rules import Rules

    rng = np.random.default_rng(seed)
    pitch, count = ring
    polys = []
    for i in range(2):
        die = synth.ring(
            side=pitch * (count + 4),
            pitch=pitch,
            count=count,
            pad=(0.6 * pitch, 0.8 * pitch),
            missing={i: [1, count // 2]},
        )
        polys += [p + np.array([i * pitch * (count + 7), 0.0]) for p in die.polygons()]
    a = np.radians(turn)
    rot = np.array([[np.cos(a), np.sin(a)], [-np.sin(a), np.cos(a)]])
    polys = [p @ rot + rng.normal(0, 0.3, 2) for p in polys]
    contacts = build_contacts(Polygons.from_list(polys), 0.001)[0]
    seen = {}
    corners_fn, members_fn = R._corners, R._corner_members

    def corners(center, rows, members, rules):
        seen["corners"] = (center, list(rows), members)
        return corners_fn(center, rows, members, rules)

    def corner_members(center, rows, members, corner_list, rules):
        seen["members"] = (center, list(rows), members, corner_list)
        return members_fn(center, rows, members, corner_list, rules)

    R._corners, R._corner_members = corners, corner_members
    try:
        rs = R.find_rows(contacts)
    finally:
        R._corners, R._corner_members = corners_fn, members_fn
    assert len(rs.corners) == 8
    center, rows, members = seen["corners"]
    # the rows' members as `_rows` gave them, and as turned for the corners' members, are those
    # measured afresh from the rows (to the bit)
    for m, rs_ in ((members, rows), (seen["members"][2], seen["members"][1])):
        fresh = R._Members.of(rs_, center, m.mid)
        for f in ("flat", "starts", "sizes", "t", "key", "U"):
            assert np.array_equal(getattr(m, f), getattr(fresh, f)), f
        assert m.width == fresh.width
    assert any(not np.array_equal(a.direction, b.direction) for a, b in zip(rows, seen["members"][1], strict=True))
    p, q = np.meshgrid(np.arange(len(rows)), np.arange(len(rows)))
    p, q = p.ravel(), q.ravel()
    ends = np.array([[center[r.members[0]], center[r.members[-1]]] for r in rows])
    limit = rng.uniform(0, 3, len(p)) * pitch
    got = R._ends_to_members(center, members, ends, p, q, limit)
    for k in range(len(p)):
        pts = center[rows[q[k]].members]
        d = [(e[0] - pts[:, 0]) ** 2 + (e[1] - pts[:, 1]) ** 2 for e in ends[p[k]]]
        want = np.sqrt(min(d[0].min(), d[1].min()))
        assert got[k] == (want if want <= limit[k] else np.inf)
    center, rows, _members, corner_list = seen["members"]
    rules = Rules()
    for c, corner in zip(corner_list, rs.corners, strict=True):
        want = []
        for r in c[:2]:
            m = rows[r].members
            limit = rules.corner_reach * max(rows[c[0]].pitch, rows[c[1]].pitch) + rules.row_tolerance_um
            d = np.hypot(center[m, 0] - c[2][0], center[m, 1] - c[2][1])
            want += list(m[d <= limit]) or [m[int(np.argmin(d))]]
        assert corner.members.tolist() == sorted(set(want))


@settings(max_examples=50, deadline=None)
@given(st.integers(0, 2**32 - 1), st.sampled_from([3, 50, 1100, 3000]), st.sampled_from([0, 1, 2]))
def test_pair_vectors_are_numbered_as_one_by_one(seed, distinct, kind):
    """The pairs' distinct vectors, numbered in order of first appearance, as a dictionary of their
    bits numbers them a pair at a time: the same numbers, vectors and weights (-0.0 and 0.0 apart)."""
    from stencilgen import rows

    rng = np.random.default_rng(seed)
    if kind == 0:  # points on a grid: few vectors
        pts = rng.integers(0, 8, (200, 2)) * 55.0
    elif kind == 1:  # signed zeros among the coordinates
        pts = rng.choice([0.0, -0.0, 1.5, -1.5], (200, 2))
    else:
        pts = rng.uniform(-1e4, 1e4, (200, 2))
    pairs = rng.integers(0, len(pts), (distinct * 4, 2))
    got = rows._pair_vectors(pts, pairs[:, 0], pairs[:, 1])
    number: dict[tuple[int, int], int] = {}
    want_inv, want_vx, want_vy, want_weight = [], [], [], []
    for a, b in pairs.tolist():
        v = np.array([pts[b, 0] - pts[a, 0], pts[b, 1] - pts[a, 1]])
        key = tuple(v.view(np.int64).tolist())
        if key not in number:
            number[key] = len(number)
            want_vx.append(v[0])
            want_vy.append(v[1])
            want_weight.append(0)
        want_inv.append(number[key])
        want_weight[number[key]] += 1
    want = (want_inv, np.array(want_vx), np.array(want_vy), want_weight)
    for g, w in zip(got, want, strict=True):
        w = np.asarray(w, dtype=g.dtype)
        assert np.array_equal(g.view(np.int64), w.view(np.int64))
    inv, vx, _vy, weight = got
    assert np.array_equal(vx[inv], pts[pairs[:, 1], 0] - pts[pairs[:, 0], 0])
    assert weight.sum() == len(pairs)


@pytest.mark.parametrize("turn", [0.0, 30.0, 45.0])
def test_lines_of_a_large_turned_lattice_are_found_as_one_by_one(turn):
    """Thousands of members, as many lines, on a turned, jittered lattice, in every direction."""
    from stencilgen import rows
    from stencilgen.pairs import near_pairs

    rng = np.random.default_rng(int(turn))
    pts = np.stack(np.meshgrid(np.arange(60) * 150.0, np.arange(40) * 150.0), axis=-1).reshape(-1, 2)
    a = np.radians(turn)
    pts = pts @ np.array([[np.cos(a), np.sin(a)], [-np.sin(a), np.cos(a)]]) + rng.normal(0, 0.4, pts.shape)
    pairs, _nn = near_pairs(pts, rows.NEIGHBOURS, rows.PAIR_REACH, 100.0)
    directions = rows._directions(pts, pairs, 2.0)
    assert len(directions) >= 4
    for theta, members in directions:
        _assert_same_lines(rows._lines(pts, theta, members, Rules()), _lines_one_by_one(pts, theta, members))


def test_dies_turned_every_which_way_all_have_their_rows():
    """Sixty small dies, each turned by its own angle: 120 row directions, every one found (a cap of
    32 directions once left half the dies without rows, their contacts isolated)."""
    rng = np.random.default_rng(8)
    polys = []
    for i in range(60):
        d = synth.ring(side=1200.0, pitch=100.0, count=8, pad=(50.0, 70.0))
        polys += d.transformed(float(rng.uniform(0, 180)), ((i % 10) * 2500.0, (i // 10) * 2500.0)).polygons()
    rs = find_rows(build_contacts(Polygons.from_list(polys), 0.001)[0])
    assert len(rs.rows) == 240 and all(len(r.members) == 8 for r in rs.rows)
    assert (rs.row_of >= 0).all()
    assert len(rs.corners) == 240


def test_corner_members_are_those_within_reach_or_else_the_nearest():
    """Two dies turned 20 and 20.8 deg: their rows share two directions, each a mean of both dies',
    so some corners' centerline crossings lie a little beyond the reach of one side's contacts.
    Every corner holds the contacts of its two rows within reach of the crossing (inclusive), and
    of a side with none, its contact nearest to it (the first of equals)."""
    from stencilgen.rules import Rules

    polys = []
    for k, turn in enumerate((20.0, 20.8)):
        die = synth.ring(side=28_000.0, pitch=110.0, count=250, pad=(70.0, 100.0)).transformed(
            turn, (k * 40_000.0, 0.0)
        )
        polys += [np.round(p, 3) for p in die.polygons()]
    contacts, _ = build_contacts(Polygons.from_list(polys), 0.001)
    rs = find_rows(contacts)
    rules = Rules()
    assert len(rs.corners) == 8
    lone = 0
    for corner in rs.corners:
        a, b = (rs.rows[k] for k in corner.rows)
        limit = rules.corner_reach * max(a.pitch, b.pitch) + rules.row_tolerance_um
        want = set()
        for row in (a, b):
            d = np.hypot(*(contacts.center[row.members] - corner.point).T)
            near = row.members[d <= limit]
            lone += not len(near)
            want |= set(near.tolist()) if len(near) else {int(row.members[int(np.argmin(d))])}
        assert corner.members.tolist() == sorted(want)
    assert lone > 0  # (the case this is about)


def test_a_coarse_line_through_two_ring_pads_makes_no_corner():
    """A pad placed between the third pads of two rows of a ring lines up with them as a 3-pad line at
    226 um: a coarse row (pads, rule 9), which meets no strips. The ring keeps its own 4 corners; the
    line adds none (it added 2, whose oblique strips starved the ring pads on it)."""
    die = synth.ring(side=1600, pitch=100.0, count=13, pad=(60.0, 90.0))
    c = np.array(die.centers)
    bottom = c[np.isclose(c[:, 1], c[:, 1].min())]
    left = c[np.isclose(c[:, 0], c[:, 0].min())]
    a, b = bottom[np.argsort(bottom[:, 0])[2]], left[np.argsort(left[:, 1])[2]]
    die.add(tuple((a + b) / 2), (60.0, 60.0), 45.0)
    contacts, _ = build_contacts(Polygons.from_list(die.polygons()), 0.001)
    rows = find_rows(contacts)
    assert sorted(round(r.pitch, 1) for r in rows.rows) == [100.0] * 4 + [226.3]
    assert len(rows.corners) == 4
    assert all(rows.rows[k].pitch == pytest.approx(100.0) for corner in rows.corners for k in corner.rows)


def test_isolated_contacts_on_a_rows_line_are_counted():
    """A row of 8 pads at 60 um, then two more on its line 85 and 50 um on (neither a pitch nor a gap
    of two, nor a regular spacing of their own): in no row, they are counted as on the row's line.
    Not counted: a pad on that line 400 um from any other, one twice as large beside the row's end,
    and one off the line."""
    from stencilgen.rows import isolated_in_line

    die = synth.Die()
    for i in range(8):
        die.add((60.0 * i, 0.0), (30.0, 60.0), 0.0)
    die.add((420.0 + 85.0, 0.0), (30.0, 60.0), 0.0)
    die.add((505.0 + 50.0, 0.0), (30.0, 60.0), 0.0)
    die.add((555.0 + 400.0, 0.0), (30.0, 60.0), 0.0)  # alone on the line
    die.add((-90.0, 0.0), (60.0, 120.0), 0.0)  # twice as large
    die.add((200.0, 300.0), (30.0, 60.0), 0.0)  # off the line
    contacts = contacts_of(die)
    rows = find_rows(contacts, Rules())
    assert len(rows.rows) == 1 and len(rows.rows[0].members) == 8 and len(rows.isolated) == 5
    assert isolated_in_line(contacts, rows, Rules()) == 2
    # read with a spacing tolerance that takes 85 and 50 um beside 60 um, they join the row
    loose = Rules().replace(spacing_tolerance=0.9)
    joined = find_rows(contacts, loose)
    assert isolated_in_line(contacts, joined, loose) == 0
