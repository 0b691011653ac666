"""Contact measures against GEOS (shapely): areas, centroids and minimum rotated rectangles; the
plain-shape shortcut for turned pads (convex quadrilaterals) against the general merge."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
import synth

from stencilgen import geometry
from stencilgen.geometry import (
    _convex_quad_measures,
    area_centroid,
    bboxes,
    merge_contacts,
    min_rect,
    plain_shapes,
    quads_touch,
)
from stencilgen.model import Polygons


def _turned_pads(rng: np.random.Generator, n: int, grid: float = 0.001) -> list[np.ndarray]:
    """n pads of random size and turn on a loose lattice (none touch), snapped to the grid: convex
    quadrilaterals whose angles are no longer quite right."""
    side = int(np.ceil(np.sqrt(n)))
    pads = []
    for k in range(n):
        centre = (k % side * 300.0 + rng.uniform(-20, 20), k // side * 300.0 + rng.uniform(-20, 20))
        p = synth.rect(centre, (rng.uniform(20, 140), rng.uniform(20, 140)), rng.uniform(0, 180))
        pads.append(np.round(p / grid) * grid)
    return pads


@pytest.mark.parametrize("vertices", [3, 4, 5, 8, 16, 40, None])
def test_area_centroid_and_min_rect_match_geos(vertices: int | None) -> None:
    """Convex polygons of a few vertices (all alike, and of mixed counts), far from the origin:
    area and centroid as GEOS gives them; the rectangle has the area of GEOS's minimum rotated
    rectangle (several can have it: a triangle's on each edge) and is the polygon's extent along
    the angle given and across it."""
    rng = np.random.default_rng(vertices or 0)
    polys = []
    for _ in range(400):
        k = vertices or int(rng.integers(3, 9))
        ang = np.sort(rng.uniform(0, 2 * np.pi, k))
        while np.diff(np.r_[ang, ang[0] + 2 * np.pi]).max() >= np.pi:  # the centre inside: convex
            ang = np.sort(rng.uniform(0, 2 * np.pi, k))
        r = rng.uniform(10, 60)
        stretch = rng.uniform(0.3, 1.0)
        turn = rng.uniform(0, np.pi)
        pts = np.column_stack([r * np.cos(ang), stretch * r * np.sin(ang)])
        rot = np.array([[np.cos(turn), -np.sin(turn)], [np.sin(turn), np.cos(turn)]])
        polys.append(pts @ rot.T + rng.uniform(50_000, 90_000, 2))
    P = Polygons.from_list(polys)
    area, centre = area_centroid(P)
    d, length, angle = min_rect(P)
    geoms = [shapely.Polygon(p) for p in polys]
    np.testing.assert_allclose(np.abs(area), [g.area for g in geoms], rtol=1e-9)
    np.testing.assert_allclose(centre, [g.centroid.coords[0] for g in geoms], rtol=0, atol=1e-7)
    np.testing.assert_allclose(d * length, shapely.area(shapely.minimum_rotated_rectangle(geoms)), rtol=1e-6)
    u = np.column_stack([np.cos(np.radians(angle)), np.sin(np.radians(angle))])
    along = [np.ptp(p @ u[i]) for i, p in enumerate(polys)]
    across = [np.ptp(p @ [-u[i, 1], u[i, 0]]) for i, p in enumerate(polys)]
    np.testing.assert_allclose(along, length, rtol=1e-9)
    np.testing.assert_allclose(across, d, rtol=1e-9)
    assert (d <= length).all()


@pytest.mark.parametrize("kind", ["turned", "right angles", "squares", "mirrored", "bow-tie", "dent", "sliver"])
def test_convex_quad_measures_as_the_general_path_measures(kind: str) -> None:
    """Convex quadrilaterals, drawn either way round, turned and snapped (angles not right), exact
    rectangles and squares at a turn (their sides read directly): the area, centre, rectangle and box
    that `area_centroid`, `min_rect` and `bboxes` give. One bow-tie, dented quadrilateral or sliver of
    no area among them: None."""
    rng = np.random.default_rng(len(kind))
    if kind in ("right angles", "squares"):  # sides along (3, 4) and (-4, 3): exact right angles, turned
        u, n = np.array([3.0, 4.0]), np.array([-4.0, 3.0])
        pads = []
        for _ in range(300):
            a = float(rng.integers(1, 30))
            b = a if kind == "squares" else float(rng.integers(1, 30))
            c = rng.integers(0, 99_999, 2) * 0.5
            pads.append(np.array([c, c + a * u, c + a * u + b * n, c + b * n]))
    else:
        pads = _turned_pads(rng, 500)
    if kind == "mirrored":
        pads = [p[::-1] for p in pads]
    broken = {
        "bow-tie": [[0, 0], [10, 10], [10, 0], [0, 10]],
        "dent": [[0, 0], [10, 0], [2, 2], [0, 10]],
        "sliver": [[0, 0], [1e-4, 0], [1e-4, 1e-4], [0, 1e-4]],
    }.get(kind)
    if broken is not None:
        pads[len(pads) // 2] = np.array(broken, dtype=float)
    polys = Polygons.from_list(pads)
    got = _convex_quad_measures(polys.coords)
    if broken is not None:
        assert got is None
        return
    assert got is not None
    area, centre = area_centroid(polys)
    want = (np.abs(area), centre, *min_rect(polys), bboxes(polys))
    for k, (a, b) in enumerate(zip(got, want, strict=True)):
        assert np.array_equal(a, b), k
    if kind in ("right angles", "squares"):  # read directly: exact sides
        d, length = got[2], got[3]
        sides = np.sort([[np.hypot(*(p[1] - p[0])), np.hypot(*(p[2] - p[1]))] for p in pads], axis=1)
        np.testing.assert_allclose(np.column_stack([d, length]), sides, rtol=1e-12)


def test_turned_pads_measured_as_the_general_merge_does() -> None:
    """Turned pads that do not touch: the shortcut numbers and measures them exactly as the general
    path (repair, merge, measure) does, and their boxes follow the contacts' order."""
    rng = np.random.default_rng(7)
    polys = Polygons.from_list(_turned_pads(rng, 3000))
    plain = plain_shapes(polys)
    assert plain is not None and plain.touches is quads_touch
    quick, box = plain.numbered(0.001)
    want, notes = merge_contacts(polys, 0.001)
    assert not notes and len(quick) == len(want) == 3000
    for field in ("center", "area", "d", "length"):
        assert np.array_equal(getattr(quick, field), getattr(want, field)), field
    np.testing.assert_allclose(quick.angle_deg, want.angle_deg, rtol=0, atol=1e-12)
    assert np.array_equal(quick.polygons.coords, want.polygons.coords)
    assert np.array_equal(box, geometry.bboxes(quick.polygons))
    assert not quads_touch(quick.polygons, box)


@pytest.mark.parametrize("case", ["apart", "a nanometre apart", "corner on edge", "overlap", "one inside"])
def test_quads_touch_as_geos_sees_it(case: str) -> None:
    """Thousands of turned pads whose boxes overlap their neighbours' (a 45 deg row at a fine
    pitch), all apart but for one pair: touching at a corner, overlapping or nested says True;
    a nanometre apart, False, as GEOS says."""
    pads = []
    step = 30.0 * np.sqrt(0.5)
    for k in range(5000):  # rows of pads 20 x 60 um turned 45 deg, 30 um apart along the row
        pads.append(synth.rect((k % 100 * step, k % 100 * step + k // 100 * 3000.0), (20.0, 60.0), 45.0))
    pads = [np.round(p * 1000) / 1000 for p in pads]
    square = np.array([[0.0, 0.0], [10.0, 0.0], [10.0, 10.0], [0.0, 10.0]])
    other = {
        "apart": square + np.array([20.0, 3.0]),
        "a nanometre apart": square + np.array([10.001, 3.0]),
        "corner on edge": np.array([[10.0, 5.0], [15.0, 0.0], [20.0, 5.0], [15.0, 10.0]]),
        "overlap": square + np.array([9.0, 9.0]),
        "one inside": square * 0.2 + np.array([3.0, 3.0]),
    }[case]
    polys = Polygons.from_list([*pads, square - 500.0, other - 500.0])
    geoms = shapely.polygons(list(polys.coords.reshape(-1, 4, 2)))
    tree = shapely.STRtree(geoms)
    pairs = tree.query(geoms, predicate="intersects")
    meets = bool((pairs[0] != pairs[1]).any())
    assert meets == (case in ("corner on edge", "overlap", "one inside"))
    assert quads_touch(polys) is meets


@pytest.mark.parametrize("turn", [0.0, 30.0])
def test_plain_shapes_merged_where_some_touch_as_the_general_merge(turn: float) -> None:
    """Pads apart, and among them pads drawn as two abutting halves, overlapping pads, a pad drawn
    twice, a small pad inside a large one, a pad touching another at a corner and a frame of four
    pads around a hole: only the shapes that may touch are merged, and the contacts and notes are
    those of merging every shape (axis-parallel, and turned 30 deg: quadrilaterals)."""
    shapes = [synth.rect((i * 110.0, j * 300.0), (70.0, 100.0), 0.0) for i in range(40) for j in range(5)]
    shapes += [
        synth.rect((5000.0, 0.0), (35.0, 100.0), 0.0),  # two halves of one pad
        synth.rect((5035.0, 0.0), (35.0, 100.0), 0.0),
        synth.rect((5300.0, 0.0), (70.0, 100.0), 0.0),  # overlapping
        synth.rect((5330.0, 10.0), (70.0, 100.0), 0.0),
        synth.rect((5600.0, 0.0), (70.0, 100.0), 0.0),  # drawn twice
        synth.rect((5600.0, 0.0), (70.0, 100.0), 0.0),
        synth.rect((5900.0, 0.0), (70.0, 100.0), 0.0),  # a small one inside
        synth.rect((5900.0, 0.0), (20.0, 20.0), 0.0),
        synth.rect((6200.0, 0.0), (70.0, 100.0), 0.0),  # corner to corner
        synth.rect((6270.0, 100.0), (70.0, 100.0), 0.0),
        synth.rect((7000.0, 0.0), (300.0, 40.0), 0.0),  # a frame of four around a hole
        synth.rect((7000.0, 260.0), (300.0, 40.0), 0.0),
        synth.rect((6880.0, 130.0), (60.0, 220.0), 0.0),
        synth.rect((7120.0, 130.0), (60.0, 220.0), 0.0),
    ]
    a = np.radians(turn)
    rot = np.array([[np.cos(a), np.sin(a)], [-np.sin(a), np.cos(a)]])
    polys = Polygons.from_list([np.round(p @ rot, 3) for p in shapes])
    plain = plain_shapes(polys)
    assert plain is not None and plain.touches is (quads_touch if turn else geometry.rectangles_touch)
    assert plain.touches(polys, plain.box)
    got, got_notes = plain.merged(0.001)
    want, want_notes = merge_contacts(polys, 0.001)
    assert len(got) == len(want) == 200 + 6  # (the two corner-to-corner pads stay two; the frame is no contact)
    for field in ("center", "area", "d", "length"):
        assert np.array_equal(getattr(got, field), getattr(want, field)), field
    np.testing.assert_allclose(got.angle_deg, want.angle_deg, rtol=0, atol=1e-12)
    assert np.array_equal(got.polygons.offsets, want.polygons.offsets)
    assert np.array_equal(got.polygons.coords, want.polygons.coords)
    assert got_notes == want_notes and len(got_notes) == 7


@pytest.mark.parametrize(
    "quad",
    [
        [[0.0, 0.0], [1e103, 0.0], [1e103, 1e103], [0.0, 1e103]],  # sums past a double's range: the vertex mean
        [[0.0, 0.0], [2.0, 0.0], [2.0, 1.0], [-0.0, 1.0]],  # a least x of 0.0 and -0.0: numpy's pick
    ],
)
def test_convex_quad_measures_at_the_edges_of_floating_point(quad: list) -> None:
    """Where the centroid's sums overflow, the centre is the vertex mean; where a box's least or most
    is +0.0 against -0.0, the box is the one `bboxes` gives (the sign of zero too)."""
    coords = np.array(quad)
    got = _convex_quad_measures(coords)
    assert got is not None
    assert np.array_equal(got[1], coords.mean(axis=0, keepdims=True))
    assert got[5].tobytes() == bboxes(Polygons(coords, np.array([0, 4]))).tobytes()


def test_min_rect_every_edge_at_once_is_edge_by_edge_to_the_bit(monkeypatch):
    """Polygons of many vertices (round pads drawn as arcs, each count a few times) try every edge at
    once; the result is what trying one edge after another gives, to the bit, ties included (regular
    polygons, whose every edge gives the same rectangle)."""
    from stencilgen import geometry

    rng = np.random.default_rng(7)
    polys = []
    for v in (16, 17, 31, 64, 129, 200):
        for regular in (False, True):
            t = np.linspace(0, 2 * np.pi, v, endpoint=False) if regular else np.sort(rng.uniform(0, 2 * np.pi, v))
            r, squash = rng.uniform(5, 60), 1.0 if regular else rng.uniform(0.3, 1.0)
            polys.append(
                np.round(np.column_stack([r * np.cos(t), squash * r * np.sin(t)]) + rng.uniform(-9e3, 9e3, 2), 3)
            )
    P = Polygons.from_list(polys)
    at_once = geometry.min_rect(P)
    monkeypatch.setattr(geometry, "MIN_RECT_MATRIX_V", 10**9)
    for a, b in zip(at_once, geometry.min_rect(P), strict=True):
        assert a.tobytes() == b.tobytes()


def test_min_rect_of_polygons_of_many_vertices():
    """A polygon of hundreds of vertices (a circle drawn large, a rectangle whose sides are cut into
    many points) gets its minimum rectangle too: the rectangle's own sides and angle, the circle's
    diameter both ways."""
    from stencilgen.geometry import MIN_RECT_STACK_MAX, min_rect

    t = np.linspace(0.0, 1.0, 101)[:-1]
    sides = [np.stack([0 + 300 * t, 0 * t], 1), np.stack([300 + 0 * t, 40 * t], 1)]
    sides += [np.stack([300 - 300 * t, 40 + 0 * t], 1), np.stack([0 * t, 40 - 40 * t], 1)]
    rect = np.vstack(sides)
    turn = np.radians(30.0)
    rect = rect @ np.array([[np.cos(turn), np.sin(turn)], [-np.sin(turn), np.cos(turn)]])
    a = np.linspace(0.0, 2 * np.pi, 2000, endpoint=False)
    circle = 5000.0 * np.stack([np.cos(a), np.sin(a)], 1)
    assert len(rect) > MIN_RECT_STACK_MAX and len(circle) > MIN_RECT_STACK_MAX
    d, length, angle = min_rect(Polygons.from_list([rect, circle]))
    assert (d[0], length[0], angle[0]) == pytest.approx((40.0, 300.0, 30.0), abs=1e-6)
    assert d[1] == pytest.approx(10000.0, rel=1e-5) and length[1] == pytest.approx(10000.0, rel=1e-5)
