"""Pure, vectorised distances between shapes, each a simple polygon united with an optional disc (a
strip's round tip is a disc: its distances are exact, not those of chords).

`box_pairs` finds the candidate pairs with a uniform grid over bounding boxes; `distances` measures
each pair: 0 where the shapes touch or overlap, else the least distance between them. Pairs of small
polygons are measured with dense numpy arrays; pairs of polygons with many vertices go to GEOS.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .model import Outlines, Polygons
from .numeric import length, median, ranges, unique

#: pairs whose vertex counts multiply to more than this are measured by GEOS (shapely)
DENSE_MAX = 256
#: pairs measured in one dense block (bounds the temporary arrays)
CHUNK = 16384


@dataclass(frozen=True)
class Shapes:
    """Shape i is polygon i (none if it has no vertices) united with a disc (none if its radius is 0)."""

    polygons: Polygons
    disc_center: np.ndarray  # (N, 2)
    disc_r: np.ndarray  # (N,)

    def __len__(self) -> int:
        return len(self.disc_r)

    @staticmethod
    def of(polygons: Polygons) -> Shapes:
        n = len(polygons)
        return Shapes(polygons, np.zeros((n, 2)), np.zeros(n))

    def boxes(self) -> np.ndarray:
        """(N, 4) xmin, ymin, xmax, ymax of every shape; NaN for an empty shape."""
        from .geometry import bboxes

        out = np.array(bboxes(self.polygons), dtype=np.float64, order="C")  # (NaN for no polygon)
        disc = self.disc_r > 0
        if disc.any():
            c, r = self.disc_center[disc], self.disc_r[disc, None]
            lo, hi = c - r, c + r
            box = out[disc]
            box[:, :2] = np.fmin(box[:, :2], lo)
            box[:, 2:] = np.fmax(box[:, 2:], hi)
            out[disc] = box
        return out


def _finite_rows(a: np.ndarray) -> np.ndarray:
    """Indices of the rows of `a` with no NaN or infinity (all of them, found at once, if so)."""
    finite = np.isfinite(a)
    return np.arange(len(a)) if finite.all() else np.flatnonzero(finite.all(axis=1))


def box_pairs(a: np.ndarray, b: np.ndarray, reach: float, same: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (i, j) of boxes of `a` and `b` ((N, 4) each) no farther apart than `reach` along x and y.
    With `same` (b is a), each unordered pair once, i < j. NaN boxes take part in no pair."""
    va = _finite_rows(a)
    vb = va if same else _finite_rows(b)
    empty = (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64))
    if not len(va) or not len(vb):
        return empty
    A = a if len(va) == len(a) else a[va]
    B = A if same else (b if len(vb) == len(b) else b[vb])
    ext_a = np.maximum(A[:, 2] - A[:, 0], A[:, 3] - A[:, 1])
    ext_b = np.maximum(B[:, 2] - B[:, 0], B[:, 3] - B[:, 1])
    # a box is large against the typical box of its own set or of the other, whichever is larger (of
    # point-like contacts against row ends, the median of both sets together is 0: every end would be
    # large, and searched against every contact)
    typical = float(median(ext_a)) if same else max(float(median(ext_a)), float(median(ext_b)))
    big_a = ext_a > 8 * typical + reach
    big_b = ext_b > 8 * typical + reach
    small_a, small_b = np.flatnonzero(~big_a), np.flatnonzero(~big_b)
    found: list[tuple[np.ndarray, np.ndarray]] = []
    if len(small_a) and len(small_b):
        s = max(float(ext_a[small_a].max()), float(ext_b[small_b].max())) + reach
        s = s if s > 0 else 1.0
        if same:  # each unordered pair once: half the neighbourhood
            found.append(_grid_pairs_self(A[small_a], s, small_a))
        elif len(small_a) > 4 * len(small_b):  # the few are looked up in a grid of the many
            jb, ia = _grid_pairs(B[small_b], A[small_a], s, small_b, small_a)
            found.append((ia, jb))
        else:
            found.append(_grid_pairs(A[small_a], B[small_b], s, small_a, small_b))
    # a few large shapes: against the small ones near them (by the cells they cover), and against
    # each other; in the order a search of everything would give (large box first, then the other)
    ba, bb = np.flatnonzero(big_a), np.flatnonzero(big_b)
    if len(ba):
        k, m = _cover(A[ba], B[small_b], ext_b[small_b], reach)
        i, j = np.concatenate([ba[k], np.repeat(ba, len(bb))]), np.concatenate([small_b[m], np.tile(bb, len(ba))])
        order = np.lexsort((j, i))
        found.append((i[order], j[order]))
    if not same and len(bb):
        k, m = _cover(B[bb], A[small_a], ext_a[small_a], reach)
        i, j = small_a[m], bb[k]
        order = np.lexsort((i, j))
        found.append((i[order], j[order]))
    if not found:
        return empty
    ia = np.concatenate([f[0] for f in found])
    jb = np.concatenate([f[1] for f in found])
    if same:  # i < j (va is vb: local order is global order)
        ia, jb = np.minimum(ia, jb), np.maximum(ia, jb)
        first = ia < jb
        ia, jb = ia[first], jb[first]
    # along x first, then y on what is left: fewer gathers
    keep = (A[:, 0][ia] <= B[:, 2][jb] + reach) & (B[:, 0][jb] <= A[:, 2][ia] + reach)
    ia, jb = ia[keep], jb[keep]
    keep = (A[:, 1][ia] <= B[:, 3][jb] + reach) & (B[:, 1][jb] <= A[:, 3][ia] + reach)
    ia, jb = va[ia[keep]], vb[jb[keep]]
    if same and (big_a.any() or big_b.any()):  # a pair of two large shapes is found twice
        key = unique(ia * (len(b) + 1) + jb)
        ia, jb = key // (len(b) + 1), key % (len(b) + 1)
    return ia, jb


def boxes_touch(box: np.ndarray) -> bool:
    """Whether two of the boxes ((N, 4) xmin, ymin, xmax, ymax) overlap or touch; NaN boxes meet
    none."""
    return bool(len(box_pairs(box, box, 0.0, same=True)[0]))


def _cover(big: np.ndarray, small: np.ndarray, ext: np.ndarray, reach: float) -> tuple[np.ndarray, np.ndarray]:
    """Candidates (k, m): small box m may lie within `reach` of big box k (`ext`: the small boxes'
    extents). The small boxes are keyed by the grid cell of their lower-left corner, cells at least as
    large as a small box plus the reach, and about one box to a cell; a big box looks at the cells
    its own box, grown by a cell, covers (or at every small box, should those cells be more)."""
    M, n = len(big), len(small)
    if not M or not n:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    lo_x, lo_y = float(small[:, 0].min()), float(small[:, 1].min())
    width, height = float(small[:, 2].max()) - lo_x, float(small[:, 3].max()) - lo_y
    # (boxes all on one line have no area: then about one to a cell along it)
    s = max(float(ext.max()) + reach, float(np.sqrt(width * height / n)), max(width, height) / n, 1e-9)
    lo_x, lo_y = min(lo_x, float(big[:, 0].min())) - 2 * s, min(lo_y, float(big[:, 1].min())) - 2 * s
    sx, sy = _cells(small[:, 0], lo_x, s), _cells(small[:, 1], lo_y, s)
    c0, c1 = _cells(big[:, 0] - s, lo_x, s), _cells(big[:, 2] + reach, lo_x, s)
    r0, r1 = _cells(big[:, 1] - s, lo_y, s), _cells(big[:, 3] + reach, lo_y, s)
    K = int(max(sy.max(), r1.max())) + 2
    order = np.argsort(sx * K + sy, kind="stable")
    ks = (sx * K + sy)[order]
    ncol = c1 - c0 + 1
    wide = ncol > n  # more columns than boxes: every box
    ncol = np.where(wide, 0, ncol)
    owner = np.repeat(np.arange(M), ncol)
    col = ranges(c0, ncol)
    first = np.searchsorted(ks, col * K + r0[owner], side="left")
    last = np.searchsorted(ks, col * K + r1[owner], side="right")
    cnt = last - first
    k = np.repeat(owner, cnt)
    m = order[ranges(first, cnt)]
    if wide.any():
        w = np.flatnonzero(wide)
        k = np.concatenate([k, np.repeat(w, n)])
        m = np.concatenate([m, np.tile(np.arange(n), len(w))])
    return k, m


def box_gap(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Largest of the x and y gaps between boxes a[k] and b[k] (a lower bound of the distance of what
    they hold; <= 0 where they overlap)."""
    gap_x = np.maximum(a[:, 0] - b[:, 2], b[:, 0] - a[:, 2])
    return np.maximum(gap_x, np.maximum(a[:, 1] - b[:, 3], b[:, 1] - a[:, 3]))


def _grid_pairs(
    A: np.ndarray, B: np.ndarray, s: float, ida: np.ndarray, idb: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Candidates: B's boxes keyed by the grid cell of their lower-left corner; a box of A can only
    meet boxes whose cell is next to its own (cells are as large as a box plus the reach)."""
    lo_x, lo_y = min(float(A[:, 0].min()), float(B[:, 0].min())), min(float(A[:, 1].min()), float(B[:, 1].min()))
    ax, ay = _cells(A[:, 0], lo_x, s), _cells(A[:, 1], lo_y, s)
    bx, by = _cells(B[:, 0], lo_x, s), _cells(B[:, 1], lo_y, s)
    K = int(max(ay.max(), by.max())) + 3
    kb = bx * K + by
    order = np.argsort(kb, kind="stable")
    ks = kb[order]
    spans = []
    for dx in (-1, 0, 1):
        base = (ax + dx) * K + ay
        spans.append((np.searchsorted(ks, base - 1, side="left"), np.searchsorted(ks, base + 1, side="right")))
    return _expand(spans, order, ida, idb)


def _cells(x: np.ndarray, lo: float, s: float) -> np.ndarray:
    """Grid cell numbers (from 1) of coordinates x, cells of size s from lo (one coordinate column at a
    time)."""
    return np.floor((x - lo) / s).astype(np.int64) + 1


def _grid_pairs_self(A: np.ndarray, s: float, ida: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """As _grid_pairs for a set against itself, each unordered pair once: from every box, the boxes
    after it in its own cell, and those of the cells above it and to its right."""
    cx, cy = _cells(A[:, 0], float(A[:, 0].min()), s), _cells(A[:, 1], float(A[:, 1].min()), s)
    K = int(cy.max()) + 3
    key = cx * K + cy
    order = np.argsort(key, kind="stable")
    ks = key[order]
    # queries in sorted order too
    spans = [
        (np.arange(1, len(A) + 1), np.searchsorted(ks, ks + 1, side="right")),  # own cell (after), cell above
        (np.searchsorted(ks, ks + K - 1, side="left"), np.searchsorted(ks, ks + K + 1, side="right")),
    ]
    return _expand(spans, order, ida[order], ida)


def _expand(
    spans: list[tuple[np.ndarray, np.ndarray]], order: np.ndarray, ida: np.ndarray, idb: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (ida[q], idb[order[k]]) for every query q and every k in each of its ranges first..last
    of the sorted boxes (one range per query in each (first, last) array pair)."""
    out_a, out_b = [], []
    for first, last in spans:
        cnt = np.maximum(last - first, 0)
        total = int(cnt.sum())
        if not total:
            continue
        rep = np.repeat(np.arange(len(cnt)), cnt)
        at = ranges(first, cnt)
        out_a.append(ida[rep])
        out_b.append(idb[order[at]])
    if not out_a:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    return np.concatenate(out_a), np.concatenate(out_b)


def distances(A: Shapes, ia: np.ndarray, B: Shapes, jb: np.ndarray) -> np.ndarray:
    """Least distance between shape A[ia[k]] and shape B[jb[k]] for every k (0 where they touch or
    overlap, inf where one of them is empty)."""
    ia = np.asarray(ia, dtype=np.int64)
    jb = np.asarray(jb, dtype=np.int64)
    out = np.full(len(ia), np.inf)
    if not len(ia):
        return out
    na, nb = A.polygons.counts[ia], B.polygons.counts[jb]
    ra, rb = A.disc_r[ia], B.disc_r[jb]
    poly_a, poly_b = na >= 3, nb >= 3
    disc_a, disc_b = ra > 0, rb > 0
    # polygon to polygon
    sel = np.flatnonzero(poly_a & poly_b)
    if len(sel):
        key = na[sel] * (int(nb[sel].max()) + 1) + nb[sel]
        for k in unique(key):
            grp = sel[key == k]
            m, n = int(na[grp[0]]), int(nb[grp[0]])
            if m * n > DENSE_MAX:
                out[grp] = _geos_distance(A.polygons, ia[grp], B.polygons, jb[grp])
                continue
            for s in range(0, len(grp), CHUNK):
                g = grp[s : s + CHUNK]
                out[g] = _poly_poly(*_stack(A.polygons, ia[g], m), *_stack(B.polygons, jb[g], n))
    # disc to polygon, both ways
    for discs, d_idx, polys, p_idx, mask in (
        (A, ia, B, jb, disc_a & poly_b),
        (B, jb, A, ia, disc_b & poly_a),
    ):
        sel = np.flatnonzero(mask)
        if not len(sel):
            continue
        counts = polys.polygons.counts[p_idx[sel]]
        for n in unique(counts):
            grp = sel[counts == n]
            for s in range(0, len(grp), CHUNK):
                g = grp[s : s + CHUNK]
                c = discs.disc_center[d_idx[g]]
                d = _point_poly(c[:, 0], c[:, 1], *_stack(polys.polygons, p_idx[g], int(n))) - discs.disc_r[d_idx[g]]
                out[g] = np.minimum(out[g], np.maximum(d, 0.0))
    # disc to disc
    sel = np.flatnonzero(disc_a & disc_b)
    if len(sel):
        gap = np.hypot(*(A.disc_center[ia[sel]] - B.disc_center[jb[sel]]).T) - ra[sel] - rb[sel]
        out[sel] = np.minimum(out[sel], np.maximum(gap, 0.0))
    return out


def _stack(polys: Polygons, idx: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """x and y (K, n) of polygons that all have n vertices."""
    at = polys.offsets[idx][:, None] + np.arange(n)
    return polys.coords[at, 0], polys.coords[at, 1]


def _seg_dist2(px: np.ndarray, py: np.ndarray, qx: np.ndarray, qy: np.ndarray) -> np.ndarray:
    """(K,) least squared distance from the points (px, py) (K, a) to the edges of polygons (qx, qy) (K, b)."""
    nxt = np.roll(np.arange(qx.shape[1]), -1)
    ex, ey = (qx[:, nxt] - qx)[:, None, :], (qy[:, nxt] - qy)[:, None, :]
    wx = px[:, :, None] - qx[:, None, :]
    wy = py[:, :, None] - qy[:, None, :]
    ee = ex * ex + ey * ey
    t = (wx * ex + wy * ey) / np.where(ee > 0, ee, 1.0)
    np.clip(t, 0.0, 1.0, out=t)
    wx -= t * ex
    wy -= t * ey
    wx *= wx
    wy *= wy
    wx += wy
    return wx.reshape(len(wx), -1).min(axis=1)


def _inside(px: np.ndarray, py: np.ndarray, qx: np.ndarray, qy: np.ndarray) -> np.ndarray:
    """(K,) True where point (px[k], py[k]) lies inside polygon k (crossing number)."""
    nxt = np.roll(np.arange(qx.shape[1]), -1)
    x, y = px[:, None], py[:, None]
    x1, y1 = qx[:, nxt], qy[:, nxt]
    straddle = (qy > y) != (y1 > y)
    with np.errstate(divide="ignore", invalid="ignore"):
        xs = qx + (y - qy) * (x1 - qx) / (y1 - qy)
    return (np.count_nonzero(straddle & (x < xs), axis=1) % 2) == 1


def _crossing(px: np.ndarray, py: np.ndarray, qx: np.ndarray, qy: np.ndarray) -> np.ndarray:
    """(K,) True where an edge of polygon p properly crosses an edge of polygon q."""
    na, nb = np.roll(np.arange(px.shape[1]), -1), np.roll(np.arange(qx.shape[1]), -1)
    ax, ay = px[:, :, None], py[:, :, None]
    dx, dy = (px[:, na] - px)[:, :, None], (py[:, na] - py)[:, :, None]
    bx, by = qx[:, None, :], qy[:, None, :]
    fx, fy = (qx[:, nb] - qx)[:, None, :], (qy[:, nb] - qy)[:, None, :]
    # side of q's ends relative to edge p, and of p's ends relative to edge q
    s0 = dx * (by - ay) - dy * (bx - ax)
    s1 = dx * (by + fy - ay) - dy * (bx + fx - ax)
    t0 = fx * (ay - by) - fy * (ax - bx)
    t1 = fx * (ay + dy - by) - fy * (ax + dx - bx)
    hit = ((s0 * s1) < 0) & ((t0 * t1) < 0)
    return hit.reshape(len(hit), -1).any(axis=1)


def _overlap(pa: np.ndarray, pb: np.ndarray) -> np.ndarray:
    """(K,) bounding boxes (K, 4) overlap or touch."""
    return (pa[:, 0] <= pb[:, 2]) & (pb[:, 0] <= pa[:, 2]) & (pa[:, 1] <= pb[:, 3]) & (pb[:, 1] <= pa[:, 3])


def _poly_poly(px: np.ndarray, py: np.ndarray, qx: np.ndarray, qy: np.ndarray) -> np.ndarray:
    """(K,) distance between polygons p and q (x, y arrays (K, a) and (K, b)): 0 where they cross or
    one holds the other. Only pairs whose boxes overlap can meet: they are tested for it first, and
    only the pairs that do not meet are measured."""
    box_p = np.stack([px.min(axis=1), py.min(axis=1), px.max(axis=1), py.max(axis=1)], axis=1)
    box_q = np.stack([qx.min(axis=1), qy.min(axis=1), qx.max(axis=1), qy.max(axis=1)], axis=1)
    out = np.zeros(len(px))
    k = np.flatnonzero(_overlap(box_p, box_q))
    meet = np.zeros(len(px), dtype=bool)
    if len(k):  # a witness first: the mean of q's vertices inside both (a strip across its contact)
        wx, wy = qx[k].mean(axis=1), qy[k].mean(axis=1)
        meet[k] = _inside(wx, wy, px[k], py[k]) & _inside(wx, wy, qx[k], qy[k])
        k = k[~meet[k]]
    if len(k):
        meet[k] = (
            _crossing(px[k], py[k], qx[k], qy[k])
            | _inside(px[k, 0], py[k, 0], qx[k], qy[k])
            | _inside(qx[k, 0], qy[k, 0], px[k], py[k])
        )
    m = np.flatnonzero(~meet)
    if len(m):
        d2 = np.minimum(_seg_dist2(px[m], py[m], qx[m], qy[m]), _seg_dist2(qx[m], qy[m], px[m], py[m]))
        out[m] = np.sqrt(d2)
    return out


def _point_poly(cx: np.ndarray, cy: np.ndarray, qx: np.ndarray, qy: np.ndarray) -> np.ndarray:
    """(K,) distance from point (cx[k], cy[k]) to polygon k: 0 inside."""
    d2 = _seg_dist2(cx[:, None], cy[:, None], qx, qy)
    return np.where(_inside(cx, cy, qx, qy), 0.0, np.sqrt(d2))


def _geos_distance(A: Polygons, ia: np.ndarray, B: Polygons, jb: np.ndarray) -> np.ndarray:
    import shapely

    from .geometry import to_shapely

    ua, inv_a = np.unique(ia, return_inverse=True)
    ub, inv_b = np.unique(jb, return_inverse=True)
    ga, gb = to_shapely(A, ua), to_shapely(B, ub)
    return np.asarray(shapely.distance(ga[inv_a], gb[inv_b]), dtype=float)


def extent_on(shapes: Shapes, idx: np.ndarray, axis: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Least and greatest projection of shapes[idx] on the unit vectors `axis` (K, 2)."""
    polys = shapes.polygons.take(idx)
    counts = polys.counts
    lo = np.full(len(idx), np.inf)
    hi = np.full(len(idx), -np.inf)
    has = counts > 0
    if has.any():
        proj = np.einsum("ij,ij->i", polys.coords, np.repeat(axis, counts, axis=0))
        starts = polys.offsets[:-1][has]
        lo[has] = np.minimum.reduceat(proj, starts)
        hi[has] = np.maximum.reduceat(proj, starts)
    r = shapes.disc_r[idx]
    disc = r > 0
    if disc.any():
        c = np.einsum("ij,ij->i", shapes.disc_center[idx][disc], axis[disc])
        lo[disc] = np.minimum(lo[disc], c - r[disc])
        hi[disc] = np.maximum(hi[disc], c + r[disc])
    return lo, hi


def outline_shapes(outlines: Outlines, arc_chords: int) -> Shapes:
    """Shapes of outlines with arcs. A strip's outline (four vertices, one arc of half a turn or more
    from the third vertex to the fourth, its circle's far side within the body) is its body rectangle
    united with the tip's disc, exactly; any other arc becomes `arc_chords` inscribed chords."""
    from .geometry import arc_center, outlines_to_polygons

    off = outlines.offsets
    counts = np.diff(off)
    n = len(counts)
    centre, radius = np.zeros((n, 2)), np.zeros(n)
    bulge = outlines.bulge
    running = np.concatenate([[0], np.cumsum(bulge != 0)])
    arcs = running[off[1:]] - running[off[:-1]]  # arcs per outline (empty outlines too)
    cand = np.flatnonzero((counts == 4) & (arcs == 1))
    if len(cand):
        at = off[cand]
        b = bulge[at + 2]
        ok = np.abs(b) >= 1.0 - 1e-12
        p0, p1, p2, p3 = (outlines.coords[at + k] for k in range(4))
        c, _theta = arc_center(p2, p3, b)
        r = np.hypot(*(p2 - c).T)
        # the disc's side below the chord lies inside the body: depth of the circle below the chord
        # no more than the body's length
        chord_mid = (p2 + p3) / 2
        below = r - np.hypot(*(c - chord_mid).T) * np.sign(np.einsum("ij,ij->i", c - chord_mid, p2 - p1))
        ok &= below <= np.hypot(*(p2 - p1).T) + 1e-9
        ok &= np.abs(np.hypot(*(p3 - p0).T) - np.hypot(*(p2 - p1).T)) <= 1e-6 * (1 + np.hypot(*(p2 - p1).T))
        strip = cand[ok]
        centre[strip], radius[strip] = c[ok], r[ok]
        bulge = bulge.copy()
        bulge[off[strip] + 2] = 0.0
    polys = outlines_to_polygons(Outlines(outlines.coords, bulge, off), arc_chords)
    return Shapes(polys, centre, radius)


def near_pairs(points: np.ndarray, k: int, reach: float, start: float) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (i < j, in that order) of points where one is among the other's k nearest and they lie no
    farther apart than `reach` times the lesser of their nearest-neighbour distances; and every point's
    nearest-neighbour distance (inf with no other point). Of equally distant k-th neighbours, those
    with the lower index count. `start`: a first guess of the search radius.

    A uniform grid of cell size s finds every point within s of a query. s comes from a sample
    (`_radius`) and grows for the queries whose reach it does not yet cover, unless k points lie
    within s. Only a query with more than k points within s needs its pairs sorted."""
    n = len(points)
    k = max(min(k, n - 1), 0)
    nn = np.full(n, np.inf)
    if n < 2 or k == 0:
        return np.zeros((0, 2), dtype=np.int64), nn
    px, py = points[:, 0].copy(), points[:, 1].copy()  # (contiguous columns, gathered one at a time)
    span = max(float(np.ptp(px)), float(np.ptp(py)))
    s = max(float(start), span * 1e-9, 1e-9)
    todo = np.arange(n)
    everyone = np.arange(n)
    boxes = np.column_stack([px, py, px, py])
    if n > 4 * RADIUS_SAMPLE:
        s = _radius(boxes, px, py, k, reach, s, span)
    got: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    while len(todo):
        if len(todo) == n:  # all points: each pair measured once, then both ways
            qa, pb = _grid_pairs_self(boxes, s, everyone)
            d = length(px[qa] - px[pb], py[qa] - py[pb])
            within = d <= s
            qa, pb, d = qa[within], pb[within], d[within]
            qa, pb, d = np.concatenate([qa, pb]), np.concatenate([pb, qa]), np.concatenate([d, d])
        else:
            qa, pb, d = _within(boxes, px, py, todo, s)
        near = np.full(n, np.inf)
        np.minimum.at(near, qa, d)
        found = np.bincount(qa, minlength=n)
        # covered: every neighbour within reach is within s, or k of them are (the k nearest then are)
        # (with the slack the pairs are kept with below)
        covered = (reach * near[todo] + 1e-9 <= s) | (found[todo] >= k) | (s > 2 * span)
        done = todo[covered]
        nn[done] = near[done]
        mine = np.zeros(n, dtype=bool)
        mine[done] = True
        crowded = found > k
        few = mine[qa] & ~crowded[qa]  # at most k within s: all of them are among the k nearest
        got.append((qa[few], pb[few], d[few]))
        many = np.flatnonzero(mine[qa] & crowded[qa])
        if len(many):  # the k nearest of each: by query, then distance, then the other point's index
            order = many[np.lexsort((pb[many], d[many], qa[many]))]
            q = qa[order]
            run = np.flatnonzero(np.diff(q)) + 1
            first = np.zeros(len(q), dtype=np.int64)
            first[run] = run
            top = order[np.arange(len(q)) - np.maximum.accumulate(first) < k]
            got.append((qa[top], pb[top], d[top]))
        todo, found = todo[~covered], found[todo[~covered]]
        # the next radius: where k points would lie at the density seen so far (a typical point's
        # guess; the others go round again), growing by 1.25 to 2 times
        guess = np.where(found > 0, s * np.sqrt(k / np.maximum(found, 1)) * 1.1, 2 * s)
        s = float(np.clip(median(guess), 1.25 * s, 2 * s)) if len(todo) else 2 * s
    qa, pb, d = (np.concatenate(c) for c in zip(*got, strict=True))
    # mutual: a far, lonely point does not pair with a crowded one
    keep = d <= reach * np.minimum(nn[qa], nn[pb]) + 1e-9
    qa, pb = qa[keep], pb[keep]
    key = np.sort(np.minimum(qa, pb) * n + np.maximum(qa, pb))
    key = key[np.concatenate([[True], key[1:] != key[:-1]])] if len(key) else key  # a pair found twice: once
    return np.column_stack([key // n, key % n]), nn


def _within(
    boxes: np.ndarray, px: np.ndarray, py: np.ndarray, todo: np.ndarray, s: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The other points within s of each point of `todo` (boxes are the points as boxes): query,
    point and distance of every such pair."""
    qa, pb = _grid_pairs(boxes[todo], boxes, s, todo, np.arange(len(px)))
    keep = qa != pb
    qa, pb = qa[keep], pb[keep]
    d = length(px[qa] - px[pb], py[qa] - py[pb])
    within = d <= s
    return qa[within], pb[within], d[within]


RADIUS_SAMPLE = 1024  # points that measure the radius before all points are searched


def _radius(boxes: np.ndarray, px: np.ndarray, py: np.ndarray, k: int, reach: float, s: float, span: float) -> float:
    """A radius that covers nine in ten points in one search (the others go round again): each of an
    even sample of points needs its k-th neighbour's distance or reach times its nearest distance,
    whichever is less. A poor first radius then costs a search of the sample, not of every point."""
    n = len(px)
    todo = np.linspace(0, n - 1, RADIUS_SAMPLE).astype(np.int64)
    need: list[np.ndarray] = []
    while len(todo):
        qa, _pb, d = _within(boxes, px, py, todo, s)
        order = np.lexsort((d, qa))
        qa, d = qa[order], d[order]
        first = np.searchsorted(qa, todo)
        found = np.searchsorted(qa, todo, side="right") - first
        nn = np.where(found > 0, d[np.minimum(first, len(d) - 1)] if len(d) else np.inf, np.inf)
        kth = np.where(found >= k, d[np.minimum(first + k - 1, len(d) - 1)] if len(d) else np.inf, np.inf)
        want = np.minimum(reach * nn, kth)
        covered = (want <= s) | (s > 2 * span)
        need.append(want[covered])
        todo, found = todo[~covered], found[~covered]
        guess = np.where(found > 0, s * np.sqrt(k / np.maximum(found, 1)) * 1.1, 2 * s)
        s = float(np.clip(median(guess), 1.25 * s, 2 * s)) if len(todo) else s
    want = np.concatenate(need)
    want = want[np.isfinite(want)]
    if not len(want):
        return s
    return max(float(np.quantile(want, 0.9)) * (1 + 1e-9), span * 1e-9, 1e-9)


def components(n: int, pairs: np.ndarray) -> np.ndarray:
    """Connected component label of each of n nodes joined by `pairs` (E, 2): the least node id.
    Labels are lowered along the pairs, with pointer jumping, until they hold."""
    label = np.arange(n)
    if not len(pairs):
        return label
    a, b = pairs[:, 0], pairs[:, 1]
    while True:
        m = np.minimum(label[a], label[b])
        before = label.copy()
        np.minimum.at(label, a, m)
        np.minimum.at(label, b, m)
        while True:  # pointer jumping: every node to its label's label
            nxt = label[label]
            if (nxt == label).all():
                break
            label = nxt
        if (label == before).all():
            return label
