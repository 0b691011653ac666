"""Pure, vectorised geometry on ragged polygons (model.Polygons): areas, centroids, minimum
rotated rectangles, affine transforms, and merging shapes that overlap or abut into contacts."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely

from .model import Contacts, Excluded, Polygons
from .numeric import kinds, ranges, unique
from .pairs import box_pairs, boxes_touch, components

#: a polygon smaller than this (um^2) is degenerate
MIN_AREA_UM2 = 1e-6


def _next_index(offsets: np.ndarray) -> np.ndarray:
    """For every vertex, the index of the next vertex of the same polygon (wrapping around)."""
    total = int(offsets[-1])
    nxt = np.arange(1, total + 1, dtype=np.int64)
    nxt[offsets[1:] - 1] = offsets[:-1]
    return nxt


def _vertex_columns(coords: np.ndarray, v: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Polygons of v vertices each, a vertex at a time: the x and the y of every polygon's vertex j."""
    P = coords.reshape(-1, v, 2)
    return [P[:, j, 0] for j in range(v)], [P[:, j, 1] for j in range(v)]


def _shoelace(x: list[np.ndarray], y: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """`area_centroid` of polygons given a vertex column at a time, summed vertex by vertex in
    order."""
    V = len(x)
    px, py = [xj - x[0] for xj in x], [yj - y[0] for yj in y]
    a2 = cx = cy = np.zeros(len(x[0]))
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):  # (past a double's range: below)
        for j in range(V):
            k = (j + 1) % V
            cross = px[j] * py[k] - px[k] * py[j]
            a2 = a2 + cross
            cx = cx + (px[j] + px[k]) * cross
            cy = cy + (py[j] + py[k]) * cross
        centroid = np.column_stack([x[0] + cx / (3.0 * a2), y[0] + cy / (3.0 * a2)])
    bad = ~np.isfinite(centroid).all(axis=1)
    if bad.any():  # zero-area polygons: use the vertex mean
        centroid[bad] = np.column_stack([_mean(x), _mean(y)])[bad]
    return a2 / 2.0, centroid


def _mean(values: list[np.ndarray]) -> np.ndarray:
    """The mean of a few arrays, element by element, summed in order."""
    total = np.zeros(len(values[0]))
    for v in values:
        total = total + v
    return total / len(values)


def signed_areas(polys: Polygons) -> np.ndarray:
    """Signed area of every polygon (counter-clockwise positive; shoelace), without the centroid."""
    off = polys.offsets
    if len(polys) == 0:
        return np.zeros(0)
    c = polys.coords
    nxt = _next_index(off)
    cross = c[:, 0] * c[nxt, 1] - c[nxt, 0] * c[:, 1]
    return np.add.reduceat(cross, off[:-1]) / 2.0


def area_centroid(polys: Polygons) -> tuple[np.ndarray, np.ndarray]:
    """Signed area (counter-clockwise positive) and centroid of every polygon (shoelace formula).

    Coordinates are taken relative to each polygon's first vertex so that a pad far from the origin
    keeps its precision.
    """
    off = polys.offsets
    if len(polys) == 0:
        return np.zeros(0), np.zeros((0, 2))
    v = polys.uniform()
    if v and v <= 16:  # all polygons alike: a vertex (column) at a time, no ragged sums
        return _shoelace(*_vertex_columns(polys.coords, v))
    counts = np.diff(off)
    first = polys.coords[off[:-1]]
    base = np.repeat(first, counts, axis=0)
    p = polys.coords - base
    q = polys.coords[_next_index(off)] - base
    cross = p[:, 0] * q[:, 1] - q[:, 0] * p[:, 1]
    starts = off[:-1]
    a2 = np.add.reduceat(cross, starts)
    cx = np.add.reduceat((p[:, 0] + q[:, 0]) * cross, starts)
    cy = np.add.reduceat((p[:, 1] + q[:, 1]) * cross, starts)
    with np.errstate(invalid="ignore", divide="ignore"):
        centroid = first + np.column_stack([cx, cy]) / (3.0 * a2)[:, None]
    bad = ~np.isfinite(centroid).all(axis=1)
    if bad.any():  # zero-area polygons: use the vertex mean
        sums = np.add.reduceat(polys.coords, starts)
        centroid[bad] = (sums / counts[:, None])[bad]
    return a2 / 2.0, centroid


#: polygons are alike up to a shift when their vertices, relative to their first, agree to this (um)
ALIKE_GRID_UM = 1e-6


@dataclass(frozen=True)
class Alike:
    """Polygons alike up to a shift: polygon i is polygon rep[i] moved by anchor[i] - anchor[rep[i]]
    (rep[i] the first of those alike, to ALIKE_GRID_UM; anchor[i] the first vertex, 0 for a polygon
    without vertices, which is alike to no other)."""

    rep: np.ndarray  # (N,) int64
    anchor: np.ndarray  # (N, 2)

    @property
    def first(self) -> np.ndarray:
        """The polygons first of their kind (rep[i] == i), in order."""
        return np.flatnonzero(self.rep == np.arange(len(self.rep)))

    def take(self, index: np.ndarray) -> Alike:
        """Of polygons[index]: alike where their reps are (rep given in the new numbering where the rep
        is among them, else the first of them alike to it)."""
        index = np.asarray(index, dtype=np.int64)
        rep = self.rep[index]
        # in the new numbering: the first of the taken polygons with each rep
        order = np.lexsort((np.arange(len(index)), rep))
        first = np.empty(len(index), dtype=np.int64)
        head = np.concatenate([[True], rep[order][1:] != rep[order][:-1]]) if len(index) else np.zeros(0, bool)
        first[order] = order[np.maximum.accumulate(np.where(head, np.arange(len(index)), 0))]
        return Alike(first, self.anchor[index])


def pair_kinds(ka: Alike, ia: np.ndarray, kb: Alike, jb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (ia[k], jb[k]) of polygons alike (ka of the first, kb of the second) at the same offset
    (to ALIKE_GRID_UM) are of one kind: (once, kind), once[u] the first pair of kind u, kind[k] that of
    pair k; what holds for a pair holds for every pair of its kind."""
    offset = np.rint((kb.anchor[jb] - ka.anchor[ia]) * (1.0 / ALIKE_GRID_UM)).astype(np.int64)
    return kinds(ka.rep[ia], kb.rep[jb], offset[:, 0], offset[:, 1])


class ShapelyOf:
    """The shapely polygons of ragged polygons, each built the first time it is asked for."""

    def __init__(self, polys: Polygons) -> None:
        self.polys = polys
        self._built = np.full(len(polys), None, dtype=object)
        self._have = np.zeros(len(polys), dtype=bool)

    def __len__(self) -> int:
        return len(self.polys)

    def __getitem__(self, idx: Any) -> Any:
        index = np.atleast_1d(np.asarray(idx, dtype=np.int64))
        missing = ~self._have[index]
        if missing.any():
            build = unique(index[missing])
            self._built[build] = to_shapely(self.polys, build)
            self._have[build] = True
        got = self._built[index]
        return got[0] if np.ndim(idx) == 0 else got


def alike(polys: Polygons, chunk: int = 1 << 20, rounds: int = 4) -> Alike:
    """Which polygons are alike up to a shift: as many vertices, each within ALIKE_GRID_UM of the first
    alike's, both relative to their first vertex. Grouped by their vertex counts and eight of their
    vertices (to 1 nm), then every vertex compared with the first of its group; those that differ are
    grouped again among themselves (`rounds` times at most, then each keeps its own). `chunk`
    vertices compared at a time."""
    n = len(polys)
    counts = polys.counts
    first = polys.offsets[:-1]
    has = counts > 0
    anchor = np.zeros((n, 2))
    anchor[has] = polys.coords[first[has]]
    keys: list[np.ndarray] = [counts]
    m = np.maximum(counts, 1)
    for eighth in range(1, 9):  # vertices 1, n/8, 2n/8, ... 7n/8 and the last
        step = np.maximum(eighth * counts // 8, 1) if eighth < 8 else counts - 1
        at = np.where(has, first + step % m, 0)
        keys += list(np.rint((polys.coords[at] - anchor) * 1e3).T.astype(np.int64))
    rep = np.arange(n)
    pending = np.flatnonzero(has)
    for _ in range(rounds):
        if len(pending) < 2:
            break
        sub = [k[pending] for k in keys]
        order = np.lexsort((np.arange(len(pending)), *sub[::-1]))  # stable: a group's first is its least
        same = np.ones(len(pending), dtype=bool)
        for k in sub:
            sk = k[order]
            same[1:] &= sk[1:] == sk[:-1]
        same[0] = False
        head = np.maximum.accumulate(np.where(same, 0, np.arange(len(pending))))
        rep[pending[order]] = pending[order[head]]
        pending = _unlike(polys, anchor, rep, pending[order[same]], chunk)
    rep[pending] = pending
    return Alike(rep, anchor)


def _unlike(polys: Polygons, anchor: np.ndarray, rep: np.ndarray, check: np.ndarray, chunk: int) -> np.ndarray:
    """Of the polygons `check`, those whose vertices are not all within ALIKE_GRID_UM of their rep's
    (relative to the first vertex of each): their rep is reset to themselves."""
    counts, first = polys.counts, polys.offsets[:-1]
    bounds = np.searchsorted(np.cumsum(counts[check]), np.arange(chunk, int(counts[check].sum()), chunk))
    odd = []
    for part in np.split(check, bounds):
        if not len(part):
            continue
        c = counts[part]
        shift = np.repeat(anchor[part] - anchor[rep[part]], c, axis=0)
        diff = np.take(polys.coords, ranges(first[part], c), axis=0)
        diff -= np.take(polys.coords, ranges(first[rep[part]], c), axis=0)
        diff -= shift
        off = np.abs(diff, out=diff).ravel() > ALIKE_GRID_UM
        if off.any():
            vertex = np.flatnonzero(off) // 2
            odd.append(part[np.unique(np.repeat(np.arange(len(part)), c)[vertex])])
    out = np.concatenate(odd) if odd else np.zeros(0, dtype=np.int64)
    rep[out] = out
    return out


def bboxes(polys: Polygons) -> np.ndarray:
    """(N, 4) xmin, ymin, xmax, ymax."""
    if len(polys) == 0:
        return np.zeros((0, 4))
    v = polys.uniform()
    if v and v <= 16:  # all alike: one row per vertex coordinate, reduced row by row (contiguous)
        T = polys.coords.reshape(-1, 2 * v).T.copy()
        out = np.empty((4, len(polys)))
        T[0::2].min(axis=0, out=out[0])
        T[1::2].min(axis=0, out=out[1])
        T[0::2].max(axis=0, out=out[2])
        T[1::2].max(axis=0, out=out[3])
        return out.T
    has = polys.counts > 0  # a polygon without vertices has no box (NaN)
    out = np.full((len(polys), 4), np.nan)
    if has.any():
        starts = polys.offsets[:-1][has]
        out[has, :2] = np.minimum.reduceat(polys.coords, starts)
        out[has, 2:] = np.maximum.reduceat(polys.coords, starts)
    return out


def points_box(coords: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The lower-left and upper-right corners of points' (N, 2) bounding box."""
    # column by column: a reduction along axis 0 of a wafer's (N, 2) array is many times slower
    return np.array([coords[:, 0].min(), coords[:, 1].min()]), np.array([coords[:, 0].max(), coords[:, 1].max()])


def box_bounds(geom: Any) -> tuple[float, float, float, float] | None:
    """A shapely geometry's bounds where it is an axis-parallel box (containment in it is a test of
    boxes), else None."""
    if geom.is_empty:
        return None
    x0, y0, x1, y1 = geom.bounds
    return (x0, y0, x1, y1) if shapely.equals(geom, shapely.box(x0, y0, x1, y1)) else None


def keep_in_inner(keep_in: Any, margin: float) -> Any:
    """The keep-in less `margin` (rule 8): each part of a geometry collection (the dies of a wafer,
    whose outlines may touch or overlap) less its own margin, united; any other outline as a whole."""
    if keep_in.geom_type == "GeometryCollection":
        return shapely.union_all(shapely.buffer(shapely.get_parts(keep_in), -margin))
    return shapely.buffer(keep_in, -margin)


def extent_along(polys: Polygons, direction: np.ndarray) -> np.ndarray:
    """Width of every polygon measured along `direction` (a unit vector, or (N, 2) of them)."""
    direction = np.asarray(direction, dtype=float)
    if direction.ndim == 2:
        direction = np.repeat(direction, polys.counts, axis=0)
        proj = np.einsum("ij,ij->i", polys.coords, direction)
    else:
        proj = polys.coords @ direction
    starts = polys.offsets[:-1]
    return np.maximum.reduceat(proj, starts) - np.minimum.reduceat(proj, starts)


def _is_convex(P: np.ndarray) -> np.ndarray:
    """For a stack of polygons (n, V, 2): True where the polygon is convex."""
    e = np.roll(P, -1, axis=1) - P
    cross = e[:, :, 0] * np.roll(e, -1, axis=1)[:, :, 1] - e[:, :, 1] * np.roll(e, -1, axis=1)[:, :, 0]
    scale = np.abs(cross).max(axis=1, keepdims=True) + 1e-30
    c = np.where(np.abs(cross) <= 1e-9 * scale, 0.0, np.sign(cross))
    return np.asarray(~((c > 0).any(axis=1) & (c < 0).any(axis=1)))


def _norm(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The length of vectors (x, y): the square root of x^2 + y^2 (lengths in um stay far from the
    overflow that hypot guards against)."""
    return np.sqrt(x * x + y * y)


def _rectangle_sides(x: list[np.ndarray], y: list[np.ndarray]) -> tuple[np.ndarray, ...]:
    """For four-vertex polygons (vertex columns): which are rectangles (right angles, opposite sides
    equal, to 1e-9), and their short side, long side and long side's angle [0, 180), read from the
    first two edges (the first when they are equal)."""
    e0x, e0y, e1x, e1y = x[1] - x[0], y[1] - y[0], x[2] - x[1], y[2] - y[1]
    l0, l1 = _norm(e0x, e0y), _norm(e1x, e1y)
    square = np.abs(e0x * e1x + e0y * e1y) <= 1e-9 * l0 * l1
    square &= np.abs(_norm(x[3] - x[2], y[3] - y[2]) - l0) <= 1e-9 * (l0 + l1)
    first = l0 >= l1
    angle = np.degrees(np.arctan2(np.where(first, e0y, e1y), np.where(first, e0x, e1x))) % 180.0
    return square, np.minimum(l0, l1), np.maximum(l0, l1), angle


def _min_rect_stack(x: list[np.ndarray], y: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Minimum-area rotated rectangle of convex polygons given a vertex column at a time (V arrays
    of n): one side lies on an edge. Few vertices: each edge's direction in turn over the V columns
    (not (n, V, V) stacks); many (a round pad drawn as arcs, few of each count): every edge at once,
    (n, V, V), the same arithmetic element by element (the same result, to the bit), without V x V
    steps of Python."""
    mx, my = _mean(x), _mean(y)
    V = len(x)
    px = [xj - mx for xj in x]
    py = [yj - my for yj in y]
    n = len(mx)
    if V >= MIN_RECT_MATRIX_V:
        PX, PY = np.stack(px, axis=1), np.stack(py, axis=1)  # (n, V)
        ex, ey = np.roll(PX, -1, axis=1) - PX, np.roll(PY, -1, axis=1) - PY
        length = _norm(ex, ey)
        some = length > 0
        safe = np.where(some, length, 1.0)
        UX, UY = np.where(some, ex / safe, 1.0), np.where(some, ey / safe, 0.0)
        a = UX[:, :, None] * PX[:, None, :] + UY[:, :, None] * PY[:, None, :]
        w = a.max(axis=2) - a.min(axis=2)
        a = UX[:, :, None] * PY[:, None, :] - UY[:, :, None] * PX[:, None, :]
        h = a.max(axis=2) - a.min(axis=2)
        score = w * h + 1e-12 * np.minimum(w, h)  # ties: the narrower reading, then the first edge
        k = np.argmin(score, axis=1)[:, None]
        w_best, h_best = np.take_along_axis(w, k, 1)[:, 0], np.take_along_axis(h, k, 1)[:, 0]
        ux_best, uy_best = np.take_along_axis(UX, k, 1)[:, 0], np.take_along_axis(UY, k, 1)[:, 0]
    else:
        best = np.full(n, np.inf)
        w_best, h_best, ux_best, uy_best = (np.zeros(n) for _ in range(4))
        for k in range(V):  # each edge's direction u, and the polygon's extent along u and across it
            ex, ey = px[(k + 1) % V] - px[k], py[(k + 1) % V] - py[k]
            length = _norm(ex, ey)
            some = length > 0
            safe = np.where(some, length, 1.0)
            ux, uy = np.where(some, ex / safe, 1.0), np.where(some, ey / safe, 0.0)
            w = _span([ux * px[j] + uy * py[j] for j in range(V)])
            h = _span([ux * py[j] - uy * px[j] for j in range(V)])
            score = w * h + 1e-12 * np.minimum(w, h)  # ties: the narrower reading, then the first edge
            better = score < best
            best = np.where(better, score, best)
            w_best, h_best = np.where(better, w, w_best), np.where(better, h, h_best)
            ux_best, uy_best = np.where(better, ux, ux_best), np.where(better, uy, uy_best)
    w, h = w_best, h_best
    u = np.stack([ux_best, uy_best], axis=1)
    long_is_w = w >= h
    d = np.where(long_is_w, h, w)
    length = np.where(long_is_w, w, h)
    long_dir = np.where(long_is_w[:, None], u, np.stack([-u[:, 1], u[:, 0]], axis=1))
    angle = np.degrees(np.arctan2(long_dir[:, 1], long_dir[:, 0])) % 180.0
    return d, length, angle


#: polygons of at least this many vertices find their minimum rectangle with every edge at once
MIN_RECT_MATRIX_V = 16


def _low_high(values: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """min and max of a few arrays, element by element."""
    lo, hi = values[0].copy(), values[0].copy()
    for v in values[1:]:
        np.minimum(lo, v, out=lo)
        np.maximum(hi, v, out=hi)
    return lo, hi


def _span(values: list[np.ndarray]) -> np.ndarray:
    """max - min of a few arrays, element by element."""
    lo, hi = _low_high(values)
    return hi - lo


def min_rect(polys: Polygons, chunk_vertices: int = 4_000_000) -> tuple[np.ndarray, ...]:
    """Short side (d), long side and long-side angle [0, 180) of each minimum rotated rectangle."""
    n = len(polys)
    d, length, angle = np.zeros(n), np.zeros(n), np.zeros(n)
    counts = polys.counts
    for v in unique(counts):
        idx = np.flatnonzero(counts == v)
        if v == 4:  # rectangles, the common pad: read the sides directly
            if len(idx) == n:
                P = polys.coords.reshape(-1, 4, 2)
            else:
                P = polys.coords[polys.offsets[idx][:, None] + np.arange(4)]
            square, dd, ll, aa = _rectangle_sides(*_vertex_columns(P, 4))
            r = idx[square]
            d[r], length[r], angle[r] = dd[square], ll[square], aa[square]
            idx = idx[~square]
        if v > MIN_RECT_STACK_MAX:  # (many vertices, a circle drawn large: GEOS's rotating calipers)
            d[idx], length[idx], angle[idx] = _oriented_sides(polys.take(idx))
            continue
        # (every edge at once holds (polygons, v, v) arrays: a quarter as many polygons a chunk)
        step = max(1, chunk_vertices // int(v * v) // (4 if v >= MIN_RECT_MATRIX_V else 1))
        for s in range(0, len(idx), step):
            part = idx[s : s + step]
            gather = polys.offsets[part][:, None] + np.arange(v)
            P = polys.coords[gather]
            convex = _is_convex(P)
            if convex.any():
                dd, ll, aa = _min_rect_stack(*_vertex_columns(P[convex], int(v)))
                d[part[convex]], length[part[convex]], angle[part[convex]] = dd, ll, aa
            for i in part[~convex]:  # rare: the rectangle of the convex hull
                hull = shapely.convex_hull(shapely.Polygon(polys.polygon(int(i))))
                ring = np.asarray(hull.exterior.coords)[:-1]
                if hull.geom_type != "Polygon" or len(ring) < 3:
                    continue
                dd, ll, aa = _min_rect_stack(*_vertex_columns(ring, len(ring)))
                d[i], length[i], angle[i] = dd[0], ll[0], aa[0]
    return d, length, angle


#: polygons of more vertices than this get their minimum rectangle from GEOS (`min_rect`'s own search
#: tries every edge against every vertex: a circle of thousands of points would take minutes)
MIN_RECT_STACK_MAX = 256


def _oriented_sides(polys: Polygons) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Short side, long side and long-side angle [0, 180) of each polygon's minimum rotated rectangle,
    by GEOS (a degenerate polygon: zeros)."""
    n = len(polys)
    d, length, angle = np.zeros(n), np.zeros(n), np.zeros(n)
    envelopes = shapely.oriented_envelope(to_shapely(polys, np.arange(n)))
    for i, env in enumerate(envelopes):
        if env is None or env.geom_type != "Polygon":
            continue
        c = np.asarray(env.exterior.coords)
        a, b = c[1] - c[0], c[2] - c[1]
        la, lb = float(np.hypot(*a)), float(np.hypot(*b))
        long_side = a if la >= lb else b
        d[i], length[i] = min(la, lb), max(la, lb)
        angle[i] = np.degrees(np.arctan2(long_side[1], long_side[0])) % 180.0
    return d, length, angle


def affine_apply(coords: np.ndarray, transforms: np.ndarray) -> np.ndarray:
    """Apply each of T affine transforms (T, 2, 3) to all M points (M, 2) -> (T * M, 2)."""
    T = transforms
    x, y = coords[None, :, 0], coords[None, :, 1]
    out = np.empty((len(T), len(coords), 2))
    out[:, :, 0] = T[:, 0, 0, None] * x + T[:, 0, 1, None] * y + T[:, 0, 2, None]
    out[:, :, 1] = T[:, 1, 0, None] * x + T[:, 1, 1, None] * y + T[:, 1, 2, None]
    return out.reshape(-1, 2)


def snap(coords: np.ndarray, grid_um: float) -> np.ndarray:
    """Round coordinates to the database grid (kills float noise from transforms and units)."""
    out = np.multiply(coords, 1.0 / grid_um)
    np.rint(out, out=out)
    out *= grid_um
    return out


def to_shapely(polys: Polygons, index: np.ndarray | None = None) -> np.ndarray:
    """Shapely polygons of (some of) the ragged polygons, built in one vectorised call."""
    sub = polys if index is None else polys.take(index)
    # close every ring for shapely's ragged constructor
    counts = sub.counts
    closed_counts = counts + 1
    closed_off = np.zeros(len(sub) + 1, dtype=np.int64)
    np.cumsum(closed_counts, out=closed_off[1:])
    coords = np.empty((closed_off[-1], 2))
    body = np.repeat(closed_off[:-1] - sub.offsets[:-1], counts) + np.arange(sub.offsets[-1])
    coords[body] = sub.coords
    coords[closed_off[1:] - 1] = sub.coords[sub.offsets[:-1]]
    return shapely.polygons(shapely.linearrings(coords, indices=np.repeat(np.arange(len(sub)), closed_counts)))


def _candidate_pairs(box: np.ndarray, tol: float) -> np.ndarray:
    """Pairs (i, j), i < j, whose bounding boxes intersect or touch (within tol)."""
    if len(box) < 2:
        return np.zeros((0, 2), dtype=np.int64)
    i, j = box_pairs(box, box, tol, same=True)
    return np.column_stack([i, j])


def union_parts(geoms: np.ndarray) -> list[Any]:
    """The polygons of the union of shapely geometries, unioned only where they meet (a stencil's
    apertures rarely do: one union of them all is far slower)."""
    geoms = np.asarray(geoms, dtype=object)
    if not len(geoms):
        return []
    ia, jb = box_pairs(shapely.bounds(geoms), shapely.bounds(geoms), 0.0, same=True)
    meet = shapely.intersects(geoms[ia], geoms[jb]) if len(ia) else np.zeros(0, dtype=bool)
    label = components(len(geoms), np.column_stack([ia[meet], jb[meet]]))
    order = np.argsort(label, kind="stable")
    groups = np.split(order, np.flatnonzero(np.diff(label[order])) + 1)
    out: list[Any] = []
    for group in sorted(groups, key=lambda g: int(g[0])):
        merged = geoms[group[0]] if len(group) == 1 else shapely.union_all(geoms[group])
        out.extend(p for p in shapely.get_parts(merged) if p.geom_type == "Polygon" and p.area > 0)
    return out


def _rectangles(polys: Polygons) -> np.ndarray:
    """True for four-vertex polygons with right angles (valid by construction)."""
    out = np.zeros(len(polys), dtype=bool)
    four = np.flatnonzero(polys.counts == 4)
    if len(four):
        if len(four) == len(polys):
            P = polys.coords.reshape(-1, 4, 2)
        else:
            P = polys.coords[polys.offsets[four][:, None] + np.arange(4)]
        e = np.roll(P, -1, axis=1) - P
        dots = np.einsum("nkd,nkd->nk", e, np.roll(e, -1, axis=1))
        lens = np.hypot(e[..., 0], e[..., 1])
        out[four] = (np.abs(dots) <= 1e-9 * lens * np.roll(lens, -1, axis=1)).all(axis=1) & (lens > 0).all(axis=1)
    return out


def _turns(x: list[np.ndarray], y: list[np.ndarray]) -> list[np.ndarray]:
    """For polygons given a vertex column at a time: the cross product of each edge with the next
    (positive where the outline turns left)."""
    V = len(x)
    ex = [x[(j + 1) % V] - x[j] for j in range(V)]
    ey = [y[(j + 1) % V] - y[j] for j in range(V)]
    return [ex[j] * ey[(j + 1) % V] - ey[j] * ex[(j + 1) % V] for j in range(V)]


def _one_way(turns: list[np.ndarray]) -> np.ndarray:
    """True where every turn is to the left, or every turn to the right."""
    left, right = turns[0] > 0, turns[0] < 0
    for t in turns[1:]:
        left &= t > 0
        right &= t < 0
    return np.asarray(left | right)


def _convex_quads(polys: Polygons) -> np.ndarray:
    """True for triangles and convex four-vertex polygons: simple, so valid, by construction (every
    turn one way: four turns of less than half a turn each close one loop, no more; a bow-tie turns
    both ways). A turned rectangle snapped to the grid is one, though its angles are not right."""
    out = np.zeros(len(polys), dtype=bool)
    counts = polys.counts
    out[counts == 3] = True
    four = np.flatnonzero(counts == 4)
    if len(four):
        P = (
            polys.coords.reshape(-1, 4, 2)
            if len(four) == len(polys)
            else polys.coords[polys.offsets[four][:, None] + np.arange(4)]
        )
        out[four] = _one_way(_turns(*_vertex_columns(P, 4)))
    return out


#: shapes (or pairs of shapes) measured at a time: a block's temporary columns stay small
BLOCK = 8192


def _convex_quad_measures(coords: np.ndarray) -> tuple[np.ndarray, ...] | None:
    """When every polygon (coords: n x 4 vertices) is a convex quadrilateral of at least
    MIN_AREA_UM2: (area, centre (n, 2), d, length, angle, box (n, 4)), each as `merge_contacts`
    and `bboxes` measure the shape; None otherwise. A block of shapes at a time."""
    parts = []
    for s in range(0, max(len(coords), 1), 4 * BLOCK):
        part = _convex_quad_block(coords[s : s + 4 * BLOCK])
        if part is None:
            return None
        parts.append(part)
    if len(parts) == 1:
        return parts[0]
    return tuple(np.concatenate(column) for column in zip(*parts, strict=True))


def _convex_quad_block(coords: np.ndarray) -> tuple[np.ndarray, ...] | None:
    """`_convex_quad_measures` of one block of shapes."""
    x, y = _vertex_columns(coords, 4)
    if not _one_way(_turns(x, y)).all():
        return None
    signed, centre = _shoelace(x, y)
    area = np.abs(signed)
    if not (area >= MIN_AREA_UM2).all():
        return None
    square, d, length, angle = _rectangle_sides(x, y)
    rest = np.flatnonzero(~square)
    if len(rest):
        d[rest], length[rest], angle[rest] = _min_rect_stack([c[rest] for c in x], [c[rest] for c in y])
    (x_lo, x_hi), (y_lo, y_hi) = _low_high(x), _low_high(y)
    return area, centre, d, length, angle, np.column_stack([x_lo, y_lo, x_hi, y_hi])


def _quads_apart(polys: Polygons, pairs: np.ndarray) -> np.ndarray:
    """For pairs of shapes: True where both are convex four-vertex polygons that an edge's normal
    parts by more than a picometre (projections on it do not meet): then they cannot touch. False
    leaves the pair to the exact test."""
    out = np.zeros(len(pairs), dtype=bool)
    quad = _convex_quads(polys) & (polys.counts == 4)
    both = np.flatnonzero(quad[pairs[:, 0]] & quad[pairs[:, 1]])
    if not len(both):
        return out
    for s in range(0, len(both), BLOCK):
        block = both[s : s + BLOCK]
        out[block] = _quad_pairs_apart(polys, pairs[block, 0], pairs[block, 1])
    return out


def _quad_pairs_apart(polys: Polygons, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """`_quads_apart` of the pairs (a[k], b[k]) of convex quadrilaterals."""
    # the vertices a column at a time: (x, y) of vertex j of each pair's first and second shape
    at_a, at_b = polys.offsets[a], polys.offsets[b]
    ax = [polys.coords[at_a + j, 0] for j in range(4)]
    ay = [polys.coords[at_a + j, 1] for j in range(4)]
    bx = [polys.coords[at_b + j, 0] for j in range(4)]
    by = [polys.coords[at_b + j, 1] for j in range(4)]
    apart = np.zeros(len(a), dtype=bool)
    for px, py in ((ax, ay), (bx, by)):
        for k in range(4):
            nx, ny = py[k] - py[(k + 1) % 4], px[(k + 1) % 4] - px[k]  # a normal of edge k, as long as it
            slack = 1e-6 * _norm(nx, ny)
            lo_a, hi_a = _low_high([ax[j] * nx + ay[j] * ny for j in range(4)])
            lo_b, hi_b = _low_high([bx[j] * nx + by[j] * ny for j in range(4)])
            apart |= (hi_a + slack < lo_b) | (hi_b + slack < lo_a)
    return apart


FRAME = "shape with a hole (a frame, not a contact), left out"


def _repair(
    polys: Polygons, box: np.ndarray, repair: bool, rectangles: np.ndarray
) -> tuple[Polygons, np.ndarray, list[Excluded]]:
    """Self-intersecting shapes: repaired (the largest part of shapely's make_valid) or left out.
    A frame drawn as one outline cut open to its hole (GDSII and OASIS have no holes: a seal ring is
    drawn so) is set aside as a frame. `rectangles` marks the shapes known to be rectangles (valid by
    construction)."""
    notes: list[Excluded] = []
    check = np.flatnonzero(~rectangles)
    if not len(check):
        return polys, box, notes
    geoms = to_shapely(polys, check)
    bad = check[~shapely.is_valid(geoms)]
    if not len(bad):
        return polys, box, notes
    fixed: list[np.ndarray] = []
    for i, g in zip(bad.tolist(), shapely.make_valid(to_shapely(polys, bad)), strict=True):
        parts = [p for p in shapely.get_parts(g) if p.geom_type == "Polygon" and p.area >= MIN_AREA_UM2]
        best = max(parts, key=lambda p: p.area) if parts else None
        if best is not None and len(best.interiors):
            notes.append(_excluded(FRAME, box[i], best.area, shape=best))
        elif repair and best is not None:
            fixed.append(np.asarray(shapely.geometry.polygon.orient(best, 1.0).exterior.coords)[:-1])
            notes.append(_excluded("self-intersecting shape, repaired (largest part kept)", box[i], best.area, True))
        elif parts:
            notes.append(_excluded("self-intersecting shape, left out", box[i], 0.0))
        else:
            notes.append(_excluded("degenerate shape (no area), left out", box[i], 0.0))
    keep = np.setdiff1d(np.arange(len(polys)), bad)
    out = Polygons.concat([polys.take(keep), Polygons.from_list(fixed)])
    return out, bboxes(out), notes


def _numbered(
    polys: Polygons,
    centre: np.ndarray,
    area: np.ndarray,
    d: np.ndarray,
    length: np.ndarray,
    angle: np.ndarray,
    grid_um: float,
) -> Contacts:
    """Contacts with stable ids: ordered by centre y, then x, on the database grid."""
    return Contacts(polys, centre, area, d, length, angle).take(yx_order(centre, grid_um))


def _axis_rectangles(polys: Polygons) -> tuple[np.ndarray, ...] | None:
    """When every shape is an axis-parallel rectangle of four vertices (most pad layers): their
    areas, centres (N, 2), short and long sides, the long side's angle (as `min_rect` reads them:
    the first edge when the sides are equal) and boxes (N, 4). None otherwise."""
    if polys.uniform() != 4:
        return None
    P = polys.coords.reshape(-1, 8)  # x0 y0 x1 y1 x2 y2 x3 y3, a column at a time
    x0, y0, x1, y1, x2, y2, x3, y3 = (P[:, k] for k in range(8))
    across = (x0 == x1) & (y1 == y2) & (x2 == x3) & (y3 == y0)
    along = (y0 == y1) & (x1 == x2) & (y2 == y3) & (x3 == x0)
    if not (across | along).all():
        return None
    box = rectangle_boxes(polys)
    lo_x, lo_y, hi_x, hi_y = box.T
    w, h = hi_x - lo_x, hi_y - lo_y
    first_vertical = across  # the first edge runs along y
    long_vertical = np.where(w == h, first_vertical, h > w)
    return (
        w * h,
        np.column_stack([(lo_x + hi_x) / 2, (lo_y + hi_y) / 2]),
        np.minimum(w, h),
        np.maximum(w, h),
        np.where(long_vertical, 90.0, 0.0),
        box,
    )


def rectangle_boxes(polys: Polygons) -> np.ndarray:
    """(N, 4) boxes of axis-parallel rectangles of four vertices (as `_axis_rectangles` takes them):
    from two opposite corners, the same as `bboxes` gives."""
    P = polys.coords.reshape(-1, 8)  # x0 y0 x1 y1 x2 y2 x3 y3, a column at a time
    out = np.empty((len(P), 4))
    for k, (a, c, pick) in enumerate(((0, 4, np.minimum), (1, 5, np.minimum), (0, 4, np.maximum), (1, 5, np.maximum))):
        pick(P[:, a], P[:, c], out=out[:, k])
    return out


def rectangles_touch(polys: Polygons, box: np.ndarray | None = None) -> bool:
    """Whether any two axis-parallel rectangles overlap or touch (their boxes are the rectangles)."""
    return boxes_touch(rectangle_boxes(polys) if box is None else box)


def quads_touch(polys: Polygons, box: np.ndarray | None = None) -> bool:
    """Whether two convex quadrilaterals may overlap or touch: no edge's normal parts them by more
    than a picometre (`_quads_apart`). Those `merge_contacts` decides exactly."""
    box = bboxes(polys) if box is None else box
    return bool(len(_quad_pairs(polys, box)))


def _quad_pairs(polys: Polygons, box: np.ndarray) -> np.ndarray:
    """Pairs (i, j) of convex quadrilaterals that may overlap or touch (as `quads_touch` asks)."""
    pairs = _candidate_pairs(box, 0.0)
    return pairs[~_quads_apart(polys, pairs)] if len(pairs) else pairs


@dataclass(frozen=True)
class PlainShapes:
    """Shapes each of which is a contact unless some touch: all axis-parallel rectangles, or all
    convex quadrilaterals (turned pads snapped to the grid), each with an area. Their measures, in
    the shapes' order, as `merge_contacts` would give them; their boxes (N, 4); and the test,
    (polygons, boxes or None) -> bool, of whether any two touch (`rectangles_touch`, `quads_touch`),
    which leaves those layouts to `merge_contacts`."""

    polygons: Polygons
    area: np.ndarray
    centre: np.ndarray
    d: np.ndarray
    length: np.ndarray
    angle: np.ndarray
    box: np.ndarray
    touches: Callable[[Polygons, np.ndarray | None], bool]

    def numbered(self, grid_um: float) -> tuple[Contacts, np.ndarray]:
        """Each shape a contact, numbered (`_numbered`), and the boxes in the contacts' order."""
        order = yx_order(self.centre, grid_um)
        contacts = Contacts(self.polygons, self.centre, self.area, self.d, self.length, self.angle)
        return contacts.take(order), np.take(self.box, order, axis=0)

    def merged(self, grid_um: float, repair: bool = True) -> tuple[Contacts, list[Excluded]]:
        """`merge_contacts` of the shapes, when some may touch: its work done only on the shapes that
        may touch another (boxes that meet and, for quadrilaterals, no edge parting them), the others
        each a contact as measured (as `merge_contacts` measures them). The same contacts and notes."""
        quads = self.touches is quads_touch
        pairs = _quad_pairs(self.polygons, self.box) if quads else _candidate_pairs(self.box, 0.0)
        some = np.zeros(len(self.polygons), dtype=bool)
        some[pairs.ravel()] = True
        alone, touching = np.flatnonzero(~some), np.flatnonzero(some)
        part, notes = merge_contacts(self.polygons.take(touching), grid_um, repair)
        return _numbered(
            Polygons.concat([self.polygons.take(alone), part.polygons]),
            np.concatenate([self.centre[alone], part.center]),
            np.concatenate([self.area[alone], part.area]),
            np.concatenate([self.d[alone], part.d]),
            np.concatenate([self.length[alone], part.length]),
            np.concatenate([self.angle[alone], part.angle_deg]),
            grid_um,
        ), notes


def plain_shapes(polys: Polygons) -> PlainShapes | None:
    """The shapes measured as `PlainShapes` when they are such; None otherwise."""
    if polys.uniform() != 4:
        return None
    measures = _axis_rectangles(polys)
    touches = rectangles_touch
    if measures is None:
        measures, touches = _convex_quad_measures(polys.coords), quads_touch
    if measures is None or not (measures[0] >= MIN_AREA_UM2).all():
        return None
    area, centre, d, length, angle, box = measures
    return PlainShapes(polys, area, centre, d, length, angle, box, touches)


def build_contacts(polys: Polygons, grid_um: float, repair: bool = True) -> tuple[Contacts, list[Excluded]]:
    """Shapes on the pad layer -> contacts: drop degenerate shapes, repair (or drop) self-intersecting
    ones, merge shapes that overlap, abut, repeat or nest into one contact, set aside shapes with holes
    (a seal-ring frame is not a contact), compute each contact's area, centre, d and oriented size,
    and number them in (y, x) order. Every shape left out, repaired or merged is noted."""
    plain = plain_shapes(polys)
    if plain is None:
        return merge_contacts(polys, grid_um, repair)
    if not plain.touches(polys, plain.box):  # every shape is a contact
        return plain.numbered(grid_um)[0], []
    return plain.merged(grid_um, repair)


def merge_contacts(polys: Polygons, grid_um: float, repair: bool = True) -> tuple[Contacts, list[Excluded]]:
    """`build_contacts` without its shortcut for plain shapes that do not touch: every shape is
    checked, repaired and merged with the shapes it touches."""
    excluded: list[Excluded] = []
    if len(polys):
        keep_vertices = polys.counts >= 3
        if not keep_vertices.all():
            few = np.flatnonzero(~keep_vertices)
            for b in bboxes(polys.take(few)):
                if np.isnan(b).any():  # no points at all: nowhere to place the note
                    excluded.append(_excluded("shape without points, left out", np.zeros(4), 0.0))
                else:
                    excluded.append(_excluded("shape of fewer than three points, left out", b, 0.0))
            polys = polys.take(np.flatnonzero(keep_vertices))
    area, centre = area_centroid(polys)
    box = bboxes(polys)
    degenerate = np.abs(area) < MIN_AREA_UM2
    rectangles = _rectangles(polys)
    flat = rectangles & degenerate  # a bow-tie also sums to zero area: only flat rectangles go here
    for i in np.flatnonzero(flat):
        excluded.append(_excluded("zero-area shape, left out", box[i], 0.0))
    if flat.any():
        good = np.flatnonzero(~flat)
        polys, box, rectangles = polys.take(good), box[good], rectangles[good]
    before = len(polys)
    polys, box, notes = _repair(polys, box, repair, rectangles | _convex_quads(polys))
    excluded.extend(notes)
    if notes or flat.any() or len(polys) != before:  # shapes changed: measure again
        area, centre = area_centroid(polys)
    degenerate = np.abs(area) < MIN_AREA_UM2
    for i in np.flatnonzero(degenerate):
        excluded.append(_excluded("zero-area shape, left out", box[i], 0.0))
    good = np.flatnonzero(~degenerate)
    polys, box, area, centre = polys.take(good), box[good], np.abs(area[good]), centre[good]

    pairs = _candidate_pairs(box, grid_um / 2)
    if len(pairs):
        pairs = pairs[~_quads_apart(polys, pairs)]  # (clearly apart: no exact test needed)
    if len(pairs):
        involved = unique(pairs)
        geoms = np.empty(len(polys), dtype=object)
        geoms[involved] = to_shapely(polys, involved)
        shapely.prepare(geoms[involved])
        touch = shapely.intersects(geoms[pairs[:, 0]], geoms[pairs[:, 1]])
        pairs = pairs[touch]
    if len(pairs):
        label = components(len(polys), pairs)
        sizes = np.bincount(label)
        merged_ids = np.flatnonzero(sizes[label] > 1)
        keep = np.flatnonzero(sizes[label] == 1)
        new_polys: list[np.ndarray] = []
        order = merged_ids[np.argsort(label[merged_ids], kind="stable")]
        groups = np.split(order, np.flatnonzero(np.diff(label[order])) + 1)
        for group in groups:
            union = shapely.union_all(geoms[group], grid_size=grid_um)
            for part in shapely.get_parts(union):
                if part.geom_type != "Polygon" or part.area < MIN_AREA_UM2:
                    continue
                b = np.array(part.bounds)
                if len(part.interiors):
                    excluded.append(_excluded(FRAME, b, part.area, shape=part))
                    continue
                ring = np.asarray(shapely.simplify(part, 0).exterior.coords)[:-1]
                new_polys.append(ring)
                excluded.append(
                    _excluded(
                        f"{len(group)} overlapping, abutting, repeated or nested shapes merged", b, part.area, True
                    )
                )
        polys = Polygons.concat([polys.take(keep), Polygons.from_list(new_polys)])
        area, centre = area_centroid(polys)
        area = np.abs(area)

    d, length, angle = min_rect(polys)
    return _numbered(polys, centre, area, d, length, angle, grid_um), excluded


def _excluded(reason: str, box: np.ndarray, area: float, kept: bool = False, shape: Any = None) -> Excluded:
    return Excluded(
        reason=reason,
        center=(float((box[0] + box[2]) / 2), float((box[1] + box[3]) / 2)),
        size=(float(box[2] - box[0]), float(box[3] - box[1])),
        area=float(area),
        kept=kept,
        shape=shape,
    )


def transform_polygons(polys: Polygons, transforms: np.ndarray, grid_um: float, on_grid: bool = False) -> Polygons:
    """Every polygon placed by every transform (placement-major), snapped to the grid. `on_grid`:
    the coordinates are k * grid_um already (whole database units), which snapping would keep."""
    if len(transforms) == 1 and (transforms[0] == np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])).all():
        if not len(polys):
            return Polygons.from_list([])
        return polys if on_grid else Polygons(snap(polys.coords, grid_um), polys.offsets)
    coords = snap(affine_apply(polys.coords, transforms), grid_um)
    n, m = len(polys), len(polys.coords)
    offsets = (polys.offsets[None, :-1] + m * np.arange(len(transforms))[:, None]).ravel()
    offsets = np.append(offsets, m * len(transforms)).astype(np.int64)
    return Polygons(coords, offsets) if n else Polygons.from_list([])


def place_contacts(element: Contacts, transforms: np.ndarray, grid_um: float) -> tuple[Contacts, np.ndarray]:
    """The element's contacts placed by every transform, numbered in (y, x) order.

    Returns the contacts and the (P, n) global id of each element contact in each placement.
    Area, d and size follow from the transform's scale; the long side's angle from its rotation.
    Each quantity is computed once, already in that order (a wafer has a million contacts).
    """
    n, P = len(element), len(transforms)
    lin = transforms[:, :, :2]
    det = lin[:, 0, 0] * lin[:, 1, 1] - lin[:, 0, 1] * lin[:, 1, 0]
    scale = np.sqrt(np.abs(det))
    centre = snap(affine_apply(element.center, transforms), grid_um / 1000)
    order = yx_order(centre, grid_um)
    rank = np.empty(n * P, dtype=np.int64)
    rank[order] = np.arange(n * P)
    place, which = np.divmod(order, n)  # placement and element contact of every contact, in order
    moved_only = bool((lin == np.eye(2)).all())  # translations: a wafer's dies
    v = element.polygons.uniform()
    if moved_only and v:
        coords = np.take(element.polygons.coords.reshape(n, 2 * v), which, axis=0).reshape(-1, v, 2)
        coords += np.take(transforms[:, :, 2], place, axis=0)[:, None, :]
        polys = Polygons(snap(coords.reshape(-1, 2), grid_um), np.arange(n * P + 1, dtype=np.int64) * v)
    else:
        polys = transform_polygons(element.polygons, transforms, grid_um).take(order)
    if moved_only:
        angle = element.angle_deg[which]
    else:
        a = np.radians(element.angle_deg)
        long_dir = np.stack([np.cos(a), np.sin(a)], axis=1)
        placed_dir = affine_apply(long_dir, np.concatenate([lin, np.zeros((P, 2, 1))], axis=2))
        angle = (np.degrees(np.arctan2(placed_dir[:, 1], placed_dir[:, 0])) % 180.0)[order]
    contacts = Contacts(
        polygons=polys,
        center=np.take(centre, order, axis=0),
        area=element.area[which] * scale[place] ** 2,
        d=element.d[which] * scale[place],
        length=element.length[which] * scale[place],
        angle_deg=angle,
    )
    return contacts, rank.reshape(P, n)


def yx_order(centre: np.ndarray, grid_um: float) -> np.ndarray:
    """The order of points by y, then x, on the database grid (stable)."""
    key = np.round(centre / grid_um).astype(np.int64)
    if not len(key):
        return np.zeros(0, dtype=np.int64)
    kx, ky = key[:, 0], key[:, 1]
    x0, y0 = int(kx.min()), int(ky.min())
    span_x = int(kx.max()) - x0 + 1
    if float(span_x) * float(int(ky.max()) - y0 + 1) < 2.0**62:  # one key: one sort instead of two
        return np.argsort((ky - y0) * span_x + (kx - x0), kind="stable")
    return np.lexsort((kx, ky))


def placements_disjoint(element: Contacts, transforms: np.ndarray, margin: float = 0.0, box: Any = None) -> bool:
    """True when no two placements of a box (default: the element's contacts' bounding box), grown by
    `margin` on every side, overlap."""
    if box is None:
        b = bboxes(element.polygons)
        lo, hi = b[:, :2].min(axis=0), b[:, 2:].max(axis=0)
    else:
        lo, hi = np.asarray(box[:2], dtype=float), np.asarray(box[2:], dtype=float)
    corners = np.array([[lo[0], lo[1]], [hi[0], lo[1]], [hi[0], hi[1]], [lo[0], hi[1]]])
    placed = affine_apply(corners, transforms).reshape(len(transforms), 4, 2)
    pmin, pmax = placed.min(axis=1) - margin, placed.max(axis=1) + margin
    a, b2 = box_pairs(np.hstack([pmin, pmax]), np.hstack([pmin, pmax]), 0.0, same=True)
    if not len(a):
        return True
    overlap = (pmin[a] < pmax[b2]).all(axis=1) & (pmin[b2] < pmax[a]).all(axis=1)
    return not bool(overlap.any())


def arc_center(p0: np.ndarray, p1: np.ndarray, bulge: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Centre and signed sweep (radians, + counter-clockwise) of arcs given by DXF bulges (vectorised)."""
    theta = 4 * np.arctan(bulge)
    d = p1 - p0
    half = np.hypot(d[..., 0], d[..., 1]) / 2
    perp = np.stack([-d[..., 1], d[..., 0]], axis=-1) / np.maximum(2 * half, 1e-300)[..., None]
    with np.errstate(divide="ignore", invalid="ignore"):
        cot = np.where(theta != 0, 1 / np.tan(theta / 2), 0.0)
    centre = (p0 + p1) / 2 + perp * (half * cot)[..., None]
    return centre, theta


def outlines_to_polygons(out: Any, arc_segments: int = 48) -> Polygons:
    """Outlines with bulges (model.Outlines) -> plain polygons, every arc as `arc_segments` chords."""
    n_out = len(out.offsets) - 1
    m = int(arc_segments)
    total = len(out.coords)
    if total == 0:
        return Polygons(np.zeros((0, 2)), out.offsets.copy())
    nxt = _next_index(out.offsets) if n_out else np.zeros(0, dtype=np.int64)
    arc = out.bulge != 0
    block = 1 + (m - 1) * arc.astype(np.int64)
    start = np.zeros(total + 1, dtype=np.int64)
    np.cumsum(block, out=start[1:])
    coords = np.empty((start[-1], 2))
    coords[start[:-1]] = out.coords
    k = np.flatnonzero(arc)
    if len(k):
        p0, p1 = out.coords[k], out.coords[nxt[k]]
        c, theta = arc_center(p0, p1, out.bulge[k])
        r = np.hypot(*(p0 - c).T)
        phi0 = np.arctan2(p0[:, 1] - c[:, 1], p0[:, 0] - c[:, 0])
        j = np.arange(1, m) / m
        phi = phi0[:, None] + theta[:, None] * j[None, :]
        pts = c[:, None, :] + r[:, None, None] * np.stack([np.cos(phi), np.sin(phi)], axis=-1)
        at = (start[k][:, None] + 1 + np.arange(m - 1)[None, :]).ravel()
        coords[at] = pts.reshape(-1, 2)
    offsets = start[out.offsets]
    return Polygons(coords, offsets)
