"""Distances (stencilgen.distance) and candidate pairs (stencilgen.pairs) against GEOS (shapely) and
brute force: candidate pairs complete, distances equal, touching and overlapping shapes at 0, strips'
outlines read as rectangle plus disc."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from stencilgen.distance import (
    DENSE_MAX,
    Shapes,
    disc_distances,
    distances,
    extent_on,
    outline_shapes,
    polygon_distances,
)
from stencilgen.geometry import outlines_to_polygons, to_shapely
from stencilgen.model import Polygons
from stencilgen.pairs import box_pairs, boxes_touch, components, near_pairs
from stencilgen.planner import strips


def _star_shapes(rng: np.random.Generator, n: int, vertices: int | None, spread: float = 1000.0) -> Shapes:
    """Star-shaped (so simple) polygons, half of them with a disc."""
    centre = rng.uniform(0, spread, (n, 2))
    polys = []
    for c in centre:
        k = vertices or int(rng.integers(3, 40))
        ang = np.sort(rng.uniform(0, 2 * np.pi, k))
        r = rng.uniform(5, 40, k)
        polys.append(c + np.column_stack([r * np.cos(ang), r * np.sin(ang)]))
    disc_c = centre + rng.uniform(-30, 30, (n, 2))
    disc_r = np.where(rng.random(n) < 0.5, rng.uniform(1, 25, n), 0.0)
    return Shapes(Polygons.from_list(polys), disc_c, disc_r)


def _geos(s: Shapes) -> np.ndarray:
    """The same shapes for GEOS: polygon and a fine disc as one collection (distance: to the nearer)."""
    polys = to_shapely(s.polygons)
    discs = shapely.buffer(shapely.points(s.disc_center), s.disc_r, quad_segs=512)
    return np.array(
        [shapely.GeometryCollection([p, d]) if r > 0 else p for p, d, r in zip(polys, discs, s.disc_r, strict=True)]
    )


@pytest.mark.parametrize("vertices", [4, None])
def test_distances_equal_geos_and_pairs_are_complete(vertices: int | None) -> None:
    rng = np.random.default_rng(7)
    a, b = _star_shapes(rng, 300, vertices), _star_shapes(rng, 250, vertices)
    reach = 30.0
    ia, jb = box_pairs(a.boxes(), b.boxes(), reach)
    got = distances(a, ia, b, jb)
    ga, gb = _geos(a), _geos(b)
    want = shapely.distance(ga[ia], gb[jb])
    assert np.abs(got - want).max() < 2e-4  # the reference's disc is a 2048-gon
    assert (got == 0).sum() > 10 and (got > 0).sum() > 10  # both cases are exercised
    qa, qb = shapely.STRtree(gb).query(ga, predicate="dwithin", distance=reach)
    assert set(zip(qa.tolist(), qb.tolist(), strict=True)) <= set(zip(ia.tolist(), jb.tolist(), strict=True))


def test_same_set_pairs_once_each() -> None:
    rng = np.random.default_rng(3)
    s = _star_shapes(rng, 400, 4)
    ia, jb = box_pairs(s.boxes(), s.boxes(), 20.0, same=True)
    assert (ia < jb).all()
    assert len(set(zip(ia.tolist(), jb.tolist(), strict=True))) == len(ia)
    g = _geos(s)
    qa, qb = shapely.STRtree(g).query(g, predicate="dwithin", distance=20.0)
    want = {(x, y) for x, y in zip(qa.tolist(), qb.tolist(), strict=True) if x < y}
    assert want <= set(zip(ia.tolist(), jb.tolist(), strict=True))


def _touch_by_brute_force(box: np.ndarray) -> bool:
    ok = np.isfinite(box).all(axis=1)
    b = box[ok]
    meet = (
        (b[:, None, 0] <= b[None, :, 2])
        & (b[None, :, 0] <= b[:, None, 2])
        & (b[:, None, 1] <= b[None, :, 3])
        & (b[None, :, 1] <= b[:, None, 3])
    )
    np.fill_diagonal(meet, False)
    return bool(meet.any())


def test_boxes_touch_equals_brute_force() -> None:
    """Pads on a grid that just touch (a shared edge or corner), that just miss (by 1 nm), one large
    box lying over them or clear of them, NaN boxes, and a lone pair far away."""
    rng = np.random.default_rng(9)
    x, y = np.meshgrid(np.arange(40) * 110.0, np.arange(30) * 110.0)
    lo = np.column_stack([x.ravel(), y.ravel()])
    cases = 0
    for gap in (0.0, 0.001, 40.0):
        for extra in ("none", "large over", "large clear", "nan", "far pair"):
            box = np.hstack([lo, lo + 110.0 - gap])
            if gap == 0.0:  # only one pair touches: a shared edge, or a shared corner
                box[:, 2:] -= 0.5
                k = int(rng.integers(len(box) - 41))
                box[k, 2] += 0.5 if rng.random() < 0.5 else 0.0
                box[k, 3] += 0.5 if box[k, 2] == box[k + 1, 0] else 0.0
                if box[k, 2] != box[k + 1, 0]:
                    box[k, 2:] += 0.5  # the corner it shares with the box up and to the right
            box = box[rng.permutation(len(box))]
            if extra == "large over":
                box = np.vstack([box, [1000.0, 1000.0, 2000.0, 1500.0]])
            elif extra == "large clear":
                box = np.vstack([box, [-9000.0, -9000.0, -1000.0, -500.0]])
            elif extra == "nan":
                box = np.vstack([box, [np.nan, 0.0, np.nan, 5000.0], [0.0, 0.0, 1e4, 1e4]])
                box[-1] = np.nan
            elif extra == "far pair":
                box = np.vstack([box, [1e6, 1e6, 1e6 + 5.0, 1e6 + 5.0], [1e6 + 5.0, 1e6, 1e6 + 9.0, 1e6 + 1.0]])
            want = _touch_by_brute_force(box)
            assert boxes_touch(box) == want, (gap, extra)
            cases += want
    assert 0 < cases < 15  # both answers are exercised


def test_large_shapes_and_geos_fallback() -> None:
    """A big frame-like polygon among small ones (found by brute force), and polygons with many vertices
    (measured by GEOS) give the same distances."""
    rng = np.random.default_rng(5)
    small = _star_shapes(rng, 200, 4, spread=2000.0)
    circle = np.column_stack(
        [np.cos(np.linspace(0, 2 * np.pi, 80, endpoint=False)), np.sin(np.linspace(0, 2 * np.pi, 80, endpoint=False))]
    )
    assert DENSE_MAX < 80 * 80
    big = Shapes.of(Polygons.from_list([1000 + 900 * circle, 500 + 30 * circle]))
    ia, jb = box_pairs(small.boxes(), big.boxes(), 50.0)
    got = distances(small, ia, big, jb)
    want = shapely.distance(_geos(small)[ia], _geos(big)[jb])
    assert (jb == 0).sum() > 20
    assert np.abs(got - want).max() < 2e-4


@given(
    dx=st.floats(-80, 80),
    dy=st.floats(-80, 80),
    angle=st.floats(0, 180),
)
@settings(max_examples=200, deadline=None)
def test_two_rectangles_any_placement(dx: float, dy: float, angle: float) -> None:
    """Crossing rectangles (no vertex inside the other) still meet; the distance matches GEOS."""
    a = np.array([[-40.0, -5], [40, -5], [40, 5], [-40, 5]])
    t = np.radians(angle)
    rot = np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]])
    b = a @ rot.T + [dx, dy]
    s = Shapes.of(Polygons.from_list([a, b]))
    got = distances(s, np.array([0]), s, np.array([1]))[0]
    want = shapely.distance(shapely.Polygon(a), shapely.Polygon(b))
    assert got == pytest.approx(want, abs=1e-9)


def test_empty_shapes_take_no_part() -> None:
    polys = Polygons(np.array([[0.0, 0], [1, 0], [1, 1]]), np.array([0, 3, 3]))
    s = Shapes.of(polys)
    assert np.isnan(s.boxes()[1]).all()
    ia, jb = box_pairs(s.boxes(), s.boxes(), 10.0)
    assert 1 not in ia and 1 not in jb
    assert distances(s, np.array([0]), s, np.array([1]))[0] == np.inf


@pytest.mark.parametrize("D", [30.0, 50.0, 70.0])
def test_strip_outline_is_rectangle_and_disc(D: float) -> None:
    """A planned strip's outline becomes its body plus the tip's disc: same area as the true outline,
    and distances to a probe equal those of the finely chorded outline."""
    c = np.array([[100.0, 200.0]])
    axis = np.array([[np.cos(0.3), np.sin(0.3)]])
    w, h1, h2, L = np.array([30.0]), np.array([50.0]), np.array([50.0]), np.array([20.0])
    out = strips.strip_outlines(c, axis, w, h1, h2, L, np.array([D]))
    s = outline_shapes(out, 24)
    assert s.disc_r[0] == pytest.approx(D / 2)
    assert s.polygons.counts[0] == 4
    fine = shapely.Polygon(outlines_to_polygons(out, 4000).coords)
    union = shapely.union(shapely.Polygon(s.polygons.coords), shapely.Point(s.disc_center[0]).buffer(D / 2, 2048))
    assert union.area == pytest.approx(fine.area, rel=1e-5)
    assert union.area == pytest.approx(strips.tip_strip_area(w, h1, h2, L, np.array([D]))[0], rel=1e-5)
    probe = np.array([[100.0 + 120 * np.cos(0.3) + 10, 200.0 + 120 * np.sin(0.3) - 30]])
    ps = Shapes.of(Polygons.from_list([probe + np.array([[0, 0], [5, 0], [5, 5], [0, 5]])]))
    got = distances(s, np.array([0]), ps, np.array([0]))[0]
    assert got == pytest.approx(shapely.distance(fine, to_shapely(ps.polygons)[0]), abs=1e-3)
    lo, hi = extent_on(s, np.array([0]), axis)
    assert hi[0] - c[0] @ axis[0] == pytest.approx(h2[0] + L[0] + D / 2)
    assert c[0] @ axis[0] - lo[0] == pytest.approx(h1[0])


def _near_pairs_by_brute_force(pts: np.ndarray, k: int, reach: float) -> tuple[np.ndarray, np.ndarray]:
    """`near_pairs` from every distance: each point's k nearest (ties: the lower index), kept where
    within reach times the lesser nearest-neighbour distance."""
    n = len(pts)
    dx, dy = pts[:, None, 0] - pts[None, :, 0], pts[:, None, 1] - pts[None, :, 1]
    full = np.sqrt(dx * dx + dy * dy)  # (rounded as near_pairs rounds it)
    np.fill_diagonal(full, np.inf)
    nn = full.min(axis=1)
    # each point's k nearest: by distance, then by the other point's index
    ranked = np.lexsort((np.broadcast_to(np.arange(n), (n, n)), full), axis=1)[:, : min(k, n - 1)]
    knn = np.zeros((n, n), dtype=bool)
    knn[np.arange(n)[:, None], ranked] = True
    close = full <= reach * np.minimum(nn[:, None], nn[None, :]) + 1e-9
    want = close & (knn | knn.T) & np.triu(np.ones((n, n), dtype=bool), 1)
    return np.argwhere(want), nn


@pytest.mark.parametrize("layout", ["random", "rows", "clusters", "grid", "hex", "large grid", "large rows"])
def test_near_pairs_equal_brute_force(layout: str) -> None:
    """A pair is one point among the other's k nearest, within reach times the lesser nearest-neighbour
    distance. Of points tied for the k-th place, those with the lower index count."""
    rng = np.random.default_rng(11)
    if layout == "random":
        pts = rng.uniform(0, 5000, (600, 2))
    elif layout == "rows":  # two rows at 50 um pitch plus far, lonely points
        x = np.arange(200) * 50.0
        pts = np.vstack([np.column_stack([x, np.zeros(200)]), np.column_stack([x, np.full(200, 400.0)])])
        pts = np.vstack([pts, [[-30_000.0, 9_000.0], [80_000.0, -5.0]]])
    elif layout == "grid":  # an area array: 8 within 1.5 pitches, 20 within reach
        pts = np.stack(np.meshgrid(np.arange(25) * 150.0, np.arange(24) * 150.0), axis=-1).reshape(-1, 2)
    elif layout == "hex":  # a staggered array: 6 at one pitch, ties at the k-th neighbour
        rows = [np.column_stack([np.arange(25) * 100.0 + 50.0 * (j % 2), np.full(25, j * 86.6)]) for j in range(24)]
        pts = np.vstack(rows)
    elif layout == "large grid":  # enough points for the radius to come from a sample; jittered
        pts = np.stack(np.meshgrid(np.arange(75) * 150.0, np.arange(70) * 150.0), axis=-1).reshape(-1, 2)
        pts = pts + rng.normal(0, 2.0, pts.shape)
    elif layout == "large rows":  # rows of a ring-like die, far apart, and a loose cluster
        x = np.arange(1500) * 110.0
        pts = np.vstack([np.column_stack([x, np.full(1500, y)]) for y in (0.0, 3000.0, 9000.0)])
        pts = np.vstack([pts, rng.uniform(0, 400, (300, 2)) + np.array([2e5, 0.0])])
    else:  # tight clusters far apart
        pts = np.vstack([c + rng.normal(0, 3, (30, 2)) for c in rng.uniform(0, 1e5, (10, 2))])
    pairs, nn = near_pairs(pts, 8, 2.5, start=10.0)
    want, want_nn = _near_pairs_by_brute_force(pts, 8, 2.5)
    assert np.array_equal(nn, want_nn)
    assert (pairs[:, 0] < pairs[:, 1]).all()
    assert np.array_equal(pairs, want), "pairs differ from brute force"
    assert len(pairs) > len(pts)  # not empty by accident


@pytest.mark.parametrize("edges", [0, 1, 300, 700])
def test_components_match_a_graph_walk(edges: int) -> None:
    """Each node labelled by the least node it reaches."""
    rng = np.random.default_rng(2 + edges)
    n = 500
    pairs = rng.integers(0, n, (edges, 2))
    label = components(n, pairs)
    # reference: repeated relaxation to the least id reachable
    ref = np.arange(n)
    for _ in range(n):
        new = ref.copy()
        for a, b in pairs.tolist():
            m = min(new[a], new[b])
            new[a] = new[b] = m
        if (new == ref).all():
            break
        ref = new
    assert (label == ref).all()
    assert (components(4, np.zeros((0, 2), dtype=np.int64)) == np.arange(4)).all()


def test_outline_shapes_with_empty_outlines_at_the_end() -> None:
    """Contacts without an aperture (empty outlines), last in the list, are empty shapes."""
    from stencilgen.model import Outlines

    out = strips.strip_outlines(
        np.array([[0.0, 0.0]]), np.array([[0.0, 1.0]]), *(np.array([v]) for v in (30.0, 50.0, 50.0, 20.0, 40.0))
    )
    ol = Outlines(out.coords, out.bulge, np.array([0, 4, 4, 4]))
    s = outline_shapes(ol, 24)
    assert s.disc_r[0] == pytest.approx(20.0)
    assert (s.polygons.counts == [4, 0, 0]).all()
    assert np.isnan(s.boxes()[1:]).all()


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(-40, 40), st.integers(-40, 40)),
        min_size=2,
        max_size=120,
    ),
    st.sampled_from([1.0, 7.5, 110.0, 0.001]),
    st.integers(1, 10),
    st.sampled_from([0.5, 1.0, 2.5, 6.0]),  # (below 1: the nearest must still be found)
    st.sampled_from([1e-3, 10.0, 1e4]),
)
def test_near_pairs_on_small_layouts_equal_brute_force(
    cells: list[tuple[int, int]], pitch: float, k: int, reach: float, start: float
) -> None:
    """Points on a lattice (ties everywhere), repeated points, lines, two points; any first radius."""
    pts = np.array(cells, dtype=float) * pitch + 12345.678
    pairs, nn = near_pairs(pts, k, reach, start)
    want, want_nn = _near_pairs_by_brute_force(pts, k, reach)
    assert np.array_equal(nn, want_nn)
    assert np.array_equal(pairs, want)


@pytest.mark.parametrize("same", [False, True])
def test_box_pairs_of_points_and_large_boxes_equal_brute_force(same: bool) -> None:
    """Points (boxes of no extent) against boxes from one to a thousand times their spacing, as row
    ends' search boxes are: every pair within reach found, none other."""
    rng = np.random.default_rng(21)
    pts = rng.uniform(0, 20_000, (3000, 2))
    a = np.column_stack([pts, pts])
    c = rng.uniform(0, 20_000, (60, 2))
    h = np.exp(rng.uniform(np.log(5.0), np.log(5000.0), 60))
    b = np.column_stack([c - h[:, None], c + h[:, None]])
    if same:
        a = b = np.vstack([a, b])
    reach = 3.0
    ia, jb = box_pairs(a, b, reach, same=same)
    near = (
        (a[:, None, 0] <= b[None, :, 2] + reach)
        & (b[None, :, 0] <= a[:, None, 2] + reach)
        & (a[:, None, 1] <= b[None, :, 3] + reach)
        & (b[None, :, 1] <= a[:, None, 3] + reach)
    )
    if same:
        near &= np.triu(np.ones(near.shape, dtype=bool), 1)
    want = set(zip(*np.nonzero(near), strict=True))
    got = list(zip(ia.tolist(), jb.tolist(), strict=True))
    assert len(got) == len(set(got)) and set(got) == {(int(x), int(y)) for x, y in want}
    assert len(want) > 1000


def test_a_large_box_looks_only_at_the_points_near_it() -> None:
    """A box a hundred times the points' spacing, among 40,000 points: it is measured against the
    points in the cells it covers, not against all of them (row ends of a long pitch made this
    quadratic: an OOM on 200,000 random contacts)."""
    from stencilgen.pairs import _cover

    rng = np.random.default_rng(3)
    pts = rng.uniform(0, 100_000, (40_000, 2))
    small = np.column_stack([pts, pts])
    big = np.array([[40_000.0, 40_000.0, 45_000.0, 45_000.0], [0.0, 0.0, 3_000.0, 500.0]])
    k, m = _cover(big, small, np.zeros(len(small)), 0.0)
    inside = (pts[:, 0] >= 40_000) & (pts[:, 0] <= 45_000) & (pts[:, 1] >= 40_000) & (pts[:, 1] <= 45_000)
    assert set(np.flatnonzero(inside).tolist()) <= set(m[k == 0].tolist())
    assert len(m) < 0.02 * len(pts)  # about the points under the two boxes, not all of them


@pytest.mark.parametrize("kind", ["across", "along", "squares", "mixed", "one not a rectangle", "a rhombus"])
def test_axis_rectangles_measure_as_drawn(kind: str) -> None:
    """Rectangles drawn from either first edge (squares too: the first edge decides the angle) are
    measured from their sides; shapes of four vertices that are no axis-parallel rectangle give None."""
    from stencilgen.geometry import _axis_rectangles, bboxes

    rng = np.random.default_rng(len(kind))
    n = 500
    # on a half-micrometre grid, so that sides come out exact (a square's two sides equal)
    x0, y0 = rng.integers(-20_000, 20_000, n) * 0.5, rng.integers(-20_000, 20_000, n) * 0.5
    w = rng.integers(1, 400, n) * 0.5
    h = w.copy() if kind == "squares" else rng.integers(1, 400, n) * 0.5
    first_y = {"across": np.ones(n, bool), "along": np.zeros(n, bool)}.get(kind, rng.random(n) < 0.5)
    polys = []
    for k in range(n):
        a, b, c, d = (x0[k], y0[k]), (x0[k] + w[k], y0[k]), (x0[k] + w[k], y0[k] + h[k]), (x0[k], y0[k] + h[k])
        polys.append(np.array([a, d, c, b] if first_y[k] else [a, b, c, d]))
    if kind == "one not a rectangle":
        polys[123] = polys[123] + np.array([[0, 0], [0.5, 0], [0, 0], [0, 0]])
    elif kind == "a rhombus":
        polys[7] = np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 0.0], [1.0, -1.0]])
    p = Polygons.from_list(polys)
    got = _axis_rectangles(p)
    if kind in ("one not a rectangle", "a rhombus"):
        assert got is None
        return
    assert got is not None
    assert np.array_equal(got[0], w * h)
    assert np.array_equal(got[2], np.minimum(w, h)) and np.array_equal(got[3], np.maximum(w, h))
    # the long side's angle: along y where it is longer; for a square, where the first edge runs
    assert np.array_equal(got[4] == 90.0, np.where(w == h, first_y, h > w))
    assert np.array_equal(got[5], bboxes(p)) and np.array_equal(got[1], (got[5][:, :2] + got[5][:, 2:]) / 2)


@pytest.mark.parametrize("k", [1, 3, 70])
def test_near_pairs_for_any_k_equal_brute_force(k: int) -> None:
    """Many neighbours, or one, with many pairs found from one end only (clustered points of uneven
    density)."""
    rng = np.random.default_rng(k)
    pts = np.vstack([rng.normal(0, 50, (1000, 2)), rng.uniform(-3000, 3000, (1000, 2))])
    pairs, nn = near_pairs(pts, k, 2.5, 10.0)
    want, want_nn = _near_pairs_by_brute_force(pts, k, 2.5)
    assert np.array_equal(nn, want_nn) and np.array_equal(pairs, want) and len(pairs) > len(pts) // 3


@pytest.mark.parametrize("where", [None, 0.05, 0.5, 0.95])
def test_boxes_touch_finds_one_pair_anywhere(where: float | None) -> None:
    """Among many boxes, a single touching pair early, in the middle or late is found; without one,
    none is."""
    rng = np.random.default_rng(4)
    x, y = np.meshgrid(np.arange(100) * 110.0, np.arange(60) * 110.0)
    lo = np.column_stack([x.ravel(), y.ravel()])
    box = np.hstack([lo, lo + 100.0])
    if where is not None:
        k = int(where * (len(box) - 1))
        k -= k % 100 == 99  # (not the last of a row: it has no neighbour to the right)
        box[k, 2] = box[k + 1, 0]  # the two share an edge
    box = box[rng.permutation(len(box))]
    assert boxes_touch(box) is (where is not None)


def test_near_pairs_keeps_pairs_a_rounding_beyond_its_search_radius() -> None:
    """A unit lattice turned 45 deg: neighbours at 1.0000000000000002 with a first radius of 1.0. The
    search looks further, for pairs within the slack they are kept with."""
    a = np.radians(45.0)
    pts = np.stack(np.meshgrid(np.arange(3.0), np.arange(4.0)), axis=-1).reshape(-1, 2)
    pts = pts @ np.array([[np.cos(a), np.sin(a)], [-np.sin(a), np.cos(a)]])
    want = {
        (i, j) for i in range(len(pts)) for j in range(i + 1, len(pts)) if np.hypot(*(pts[i] - pts[j])) <= 1.0 + 1e-9
    }
    got = near_pairs(pts, 8, 1.0, 1.0)[0]
    assert {(int(i), int(j)) for i, j in got} == want and len(want) == 17


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(2, 300), st.sampled_from([0.2, 1.0, 5.0]))
def test_boxes_touch_on_random_boxes_equals_brute_force(seed: int, n: int, spread: float) -> None:
    """Random boxes of random sizes, few enough or spread enough that some layouts have no touching
    pair and some have one anywhere (in a cell's own column, the next, above, below): a pair is found
    exactly when there is one."""
    rng = np.random.default_rng(seed)
    lo = rng.uniform(0, spread * 100.0 * np.sqrt(n), (n, 2))
    size = rng.uniform(1.0, 10.0, (n, 2)) * rng.choice([1.0, 1.0, 1.0, 4.0], (n, 1))
    box = np.hstack([lo, lo + size])
    assert boxes_touch(box) is _touch_by_brute_force(box)


def test_boxes_of_some_shapes_are_their_bounds() -> None:
    """Shapes.boxes(idx): each shape's bounds, polygon and disc together, as GEOS gives them; an empty
    shape's box is NaN; and the same numbers as the boxes of every shape."""
    rng = np.random.default_rng(5)
    s = _star_shapes(rng, 60, None)
    polys = Polygons.from_list([s.polygons.polygon(i) if i % 7 else np.zeros((0, 2)) for i in range(60)])
    s = Shapes(polys, s.disc_center, np.where(np.arange(60) % 14 == 0, 0.0, s.disc_r))
    idx = rng.permutation(60)[:25]
    got = s.boxes(idx)
    assert np.array_equal(got, s.boxes()[idx], equal_nan=True)
    for row, i in zip(got, idx.tolist(), strict=True):
        parts = [to_shapely(s.polygons, np.array([i]))[0]] if i % 7 else []
        if s.disc_r[i] > 0:
            parts.append(shapely.Point(s.disc_center[i]).buffer(s.disc_r[i], quad_segs=4096))
        if not parts:
            assert np.isnan(row).all()
            continue
        assert np.allclose(row, shapely.GeometryCollection(parts).bounds, atol=1e-6 * s.disc_r[i] + 1e-9)


@pytest.mark.parametrize("vertices", [4, None])
def test_polygon_and_disc_parts_against_geos(vertices: int | None) -> None:
    """polygon_distances measures the polygons alone and disc_distances what the discs add (disc to
    the other's polygon, disc to disc), each as GEOS does; `distances` is the lesser, to the bit."""
    rng = np.random.default_rng(11)
    a, b = _star_shapes(rng, 300, vertices), _star_shapes(rng, 250, vertices)
    ia, jb = box_pairs(a.boxes(), b.boxes(), 30.0)
    poly, disc = polygon_distances(a, ia, b, jb), disc_distances(a, ia, b, jb)
    assert np.array_equal(np.minimum(poly, disc), distances(a, ia, b, jb))
    pa, pb = to_shapely(a.polygons), to_shapely(b.polygons)
    assert np.abs(poly - shapely.distance(pa[ia], pb[jb])).max() < 1e-9
    da = shapely.buffer(shapely.points(a.disc_center), a.disc_r, quad_segs=512)
    db = shapely.buffer(shapely.points(b.disc_center), b.disc_r, quad_segs=512)
    has_a, has_b = a.disc_r[ia] > 0, b.disc_r[jb] > 0
    want = np.full(len(ia), np.inf)
    for mask, x, y in ((has_a, da[ia], pb[jb]), (has_b, pa[ia], db[jb]), (has_a & has_b, da[ia], db[jb])):
        want[mask] = np.minimum(want[mask], shapely.distance(x[mask], y[mask]))
    assert np.array_equal(np.isinf(disc), ~(has_a | has_b))
    finite = np.isfinite(disc)
    assert np.abs(disc[finite] - want[finite]).max() < 2e-4  # the reference's disc is a 2048-gon
    assert (disc[finite] == 0).sum() > 5 and (disc[finite] > 0).sum() > 5 and (poly == 0).sum() > 5


def _copies(rng: np.random.Generator) -> tuple[Polygons, np.ndarray]:
    """Three star shapes of 60 vertices, each copied to many places on a 1 nm grid, with a few copies
    made unlike their original (one vertex moved by 2 um: the same sampled vertices, another shape);
    and the kind of each (its original, 3 more where changed)."""
    base = []
    for _ in range(3):
        ang = np.sort(rng.uniform(0, 2 * np.pi, 60))
        r = rng.uniform(5, 40, 60)
        base.append(np.round(np.column_stack([r * np.cos(ang), r * np.sin(ang)]), 3))
    polys, kind = [], []
    for k in range(300):
        which = int(rng.integers(3))
        shift = np.round(rng.uniform(0, 2000, 2), 3) + 12345.678  # (not exact in binary)
        p = base[which] + shift
        if k % 37 == 5:
            p = p.copy()
            p[17] += 2.0  # not one of the vertices the grouping samples
        polys.append(p)
        kind.append(which if k % 37 != 5 else 3 + which)
    return Polygons.from_list(polys), np.array(kind)


def test_alike_finds_copies_and_tells_changed_ones_apart() -> None:
    from stencilgen.geometry import alike

    polys, kind = _copies(np.random.default_rng(7))
    kin = alike(polys)
    # the same kind exactly where the same original, unchanged
    assert (kind[kin.rep] == kind).all()
    _, first_of_kind = np.unique(kind, return_index=True)
    assert sorted(kin.first.tolist()) == sorted(first_of_kind.tolist())
    assert np.array_equal(kin.anchor, polys.coords[polys.offsets[:-1]])
    # a polygon without vertices is alike to none; the same vertices from another start are another shape
    sq = np.array([[0.0, 0], [1, 0], [1, 1], [0, 1]])
    other = alike(Polygons.from_list([sq, np.zeros((0, 2)), np.roll(sq, 1, axis=0) + 5, sq + 9, np.zeros((0, 2))]))
    assert other.rep.tolist() == [0, 1, 2, 0, 4]
    taken = other.take(np.array([3, 2, 0]))
    assert taken.rep.tolist() == [0, 1, 0] and np.array_equal(taken.anchor, [[9, 9], [5, 6], [0, 0]])
    # taken in any order, with repeats: each one's rep is the first of those taken alike to it
    index = np.random.default_rng(3).integers(0, len(polys), 500)
    rep = kin.take(index).rep
    want = [next(j for j in range(len(index)) if kin.rep[index[j]] == kin.rep[i]) for i in index]
    assert rep.tolist() == want


def test_distances_of_alike_shapes_equal_geos() -> None:
    """Shapes alike up to a shift measured once per offset: every pair's distance still GEOS's."""
    from stencilgen.geometry import alike

    polys, _ = _copies(np.random.default_rng(11))
    plain = Shapes.of(polys)
    kin = Shapes.of(polys, alike=alike(polys))
    box = plain.boxes()
    ia, jb = box_pairs(box, box, 120.0, same=True)
    assert len(ia) > 100
    # the same pairs again, and each pair twice in the other order: alike pairs at equal offsets
    ia, jb = np.concatenate([ia, ia, jb]), np.concatenate([jb, jb, ia])
    got = distances(kin, ia, kin, jb)
    g = to_shapely(polys)
    np.testing.assert_allclose(got, shapely.distance(g[ia], g[jb]), rtol=0, atol=1e-5)
    assert (got == 0).any() and (got > 0).any()


def test_extent_of_alike_shapes_on_their_axes_equals_each_measured() -> None:
    """Shapes alike up to a shift on the same axis measured once: every extent as measured alone."""
    from stencilgen.geometry import alike

    polys, _ = _copies(np.random.default_rng(5))
    turn = np.random.default_rng(6).choice([0.3, 1.2, 2.0], len(polys))
    axis = np.column_stack([np.cos(turn), np.sin(turn)])
    idx = np.arange(len(polys))[::-1]
    lo, hi = extent_on(Shapes.of(polys, alike=alike(polys)), idx, axis)
    proj = [polys.polygon(i) @ axis[k] for k, i in enumerate(idx)]
    np.testing.assert_allclose(lo, [p.min() for p in proj], rtol=0, atol=1e-6)
    np.testing.assert_allclose(hi, [p.max() for p in proj], rtol=0, atol=1e-6)


@pytest.mark.parametrize("points", [1, 4, 9])
def test_a_few_pairs_measured_in_one_block_as_point_by_point(points, monkeypatch):
    """`_seg_dist2` measures the points of a few pairs in one block: the same numbers, to the bit, as
    point by point (degenerate edges too)."""
    from stencilgen import distance

    rng = np.random.default_rng(points)
    for _ in range(200):
        b, K = int(rng.integers(3, 30)), int(rng.integers(1, 40))
        px, py = rng.normal(1e4, 50, (points, K)), rng.normal(0, 50, (points, K))
        qx, qy = rng.normal(1e4, 50, (b, K)), rng.normal(0, 50, (b, K))
        qx[1], qy[1] = qx[0], qy[0]
        block = distance._seg_dist2(px, py, qx, qy)
        monkeypatch.setattr(distance, "SEG_BLOCK", 0)
        one = distance._seg_dist2(px, py, qx, qy)
        monkeypatch.undo()
        assert np.array_equal(block, one)
