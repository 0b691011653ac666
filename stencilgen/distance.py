"""Pure, vectorised distances between shapes, each a simple polygon united with an optional disc (a
strip's round tip is a disc: its distances are exact, not those of chords).

`pairs.box_pairs` finds the candidate pairs with a uniform grid over bounding boxes; `distances` measures
each pair: 0 where the shapes touch or overlap, else the least distance between them. Pairs of small
polygons are measured with dense numpy arrays; pairs of polygons with many vertices go to GEOS.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .geometry import Alike, arc_center, bboxes, outlines_to_polygons, pair_kinds, to_shapely
from .model import Outlines, Polygons
from .numeric import kinds, unique
from .pairs import box_pairs as box_pairs  # (the planner and the checks take it from here)

#: pairs whose vertex counts multiply to more than this are measured by GEOS (shapely)
DENSE_MAX = 256
#: pairs measured in one dense block (bounds the temporary arrays)
CHUNK = 16384
#: point-to-edge terms `_seg_dist2` computes in one block where a polygon's points are few pairs' worth
SEG_BLOCK = 4096


@dataclass(frozen=True)
class Shapes:
    """Shape i is polygon i (none if it has no vertices) united with a disc (none if its radius is 0)."""

    polygons: Polygons
    disc_center: np.ndarray  # (N, 2)
    disc_r: np.ndarray  # (N,)
    geoms: Any = None  # geoms[idx]: the shapely polygons of polygons[idx], when kept (else built here)
    alike: Alike | None = None  # which polygons are alike up to a shift, when known (shapes without discs)

    def __len__(self) -> int:
        return len(self.disc_r)

    @staticmethod
    def of(polygons: Polygons, geoms: Any = None, alike: Alike | None = None) -> Shapes:
        n = len(polygons)
        return Shapes(polygons, np.zeros((n, 2)), np.zeros(n), geoms, alike)

    def shapely(self, idx: np.ndarray) -> np.ndarray:
        """The shapely polygons of shapes[idx] (their polygons alone, without the discs)."""
        return self.geoms[idx] if self.geoms is not None else to_shapely(self.polygons, idx)

    def boxes(self, idx: np.ndarray | None = None) -> np.ndarray:
        """(N, 4) xmin, ymin, xmax, ymax of every shape (of shapes `idx` only, if given); NaN for an
        empty shape."""
        polygons, disc_center, disc_r = self.polygons, self.disc_center, self.disc_r
        if idx is not None:
            disc_center, disc_r = disc_center[idx], disc_r[idx]
            counts = _counts(polygons, idx)
            v = int(counts[0]) if len(idx) else 0
            if v and (counts == v).all():  # all alike (strips): gathered at once, no check of all of them
                at = polygons.offsets[idx][:, None] + np.arange(v)
                polygons = Polygons(polygons.coords[at.ravel()], np.arange(len(idx) + 1, dtype=np.int64) * v)
            else:
                polygons = polygons.take(idx)
        return with_discs(np.array(bboxes(polygons), dtype=np.float64, order="C"), disc_center, disc_r)


def with_discs(box: np.ndarray, disc_center: np.ndarray, disc_r: np.ndarray) -> np.ndarray:
    """Boxes (N, 4) of polygons (NaN for none) grown, in place, to hold discs as well (radius 0: none)."""
    disc = disc_r > 0
    if disc.all():  # (every shape has one: no gather)
        r = disc_r[:, None]
        np.fmin(box[:, :2], disc_center - r, out=box[:, :2])
        np.fmax(box[:, 2:], disc_center + r, out=box[:, 2:])
    elif disc.any():
        c, r = disc_center[disc], disc_r[disc, None]
        lo, hi = c - r, c + r
        part = box[disc]
        part[:, :2] = np.fmin(part[:, :2], lo)
        part[:, 2:] = np.fmax(part[:, 2:], hi)
        box[disc] = part
    return box


def box_gap(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Largest of the x and y gaps between boxes a[k] and b[k] (a lower bound of the distance of what
    they hold; <= 0 where they overlap)."""
    gap_x = np.maximum(a[:, 0] - b[:, 2], b[:, 0] - a[:, 2])
    return np.maximum(gap_x, np.maximum(a[:, 1] - b[:, 3], b[:, 1] - a[:, 3]))


def distances(A: Shapes, ia: np.ndarray, B: Shapes, jb: np.ndarray) -> np.ndarray:
    """Least distance between shape A[ia[k]] and shape B[jb[k]] for every k (0 where they touch or
    overlap, inf where one of them is empty): the lesser of `polygon_distances` and `disc_distances`
    (a disc cannot bring closer what already touches). Where both say which of their shapes are alike
    up to a shift, pairs of alike shapes at the same offset are measured once."""
    ia = np.asarray(ia, dtype=np.int64)
    jb = np.asarray(jb, dtype=np.int64)
    if A.alike is not None and B.alike is not None and len(ia) > 1:
        once, kind = pair_kinds(A.alike, ia, B.alike, jb)
        if len(once) < len(ia):
            return _distances(A, ia[once], B, jb[once])[kind]
    return _distances(A, ia, B, jb)


def _distances(A: Shapes, ia: np.ndarray, B: Shapes, jb: np.ndarray) -> np.ndarray:
    out = polygon_distances(A, ia, B, jb)
    apart = np.flatnonzero(out > 0)
    if len(apart):
        out[apart] = np.minimum(out[apart], disc_distances(A, ia[apart], B, jb[apart]))
    return out


def polygon_distances(A: Shapes, ia: np.ndarray, B: Shapes, jb: np.ndarray) -> np.ndarray:
    """Least distance between the polygon of shape A[ia[k]] and that of B[jb[k]] for every k (0 where
    they touch or overlap, inf where one has none); their discs left out."""
    ia = np.asarray(ia, dtype=np.int64)
    jb = np.asarray(jb, dtype=np.int64)
    out = np.full(len(ia), np.inf)
    if not len(ia):
        return out
    na, nb = _counts(A.polygons, ia), _counts(B.polygons, jb)
    sel = np.flatnonzero((na >= 3) & (nb >= 3))
    if len(sel):
        key = na[sel] * (int(nb[sel].max()) + 1) + nb[sel]
        for k in unique(key):
            grp = sel[key == k]
            m, n = int(na[grp[0]]), int(nb[grp[0]])
            if m * n > DENSE_MAX:
                out[grp] = _geos_distance(A, ia[grp], B, jb[grp])
                continue
            for s in range(0, len(grp), CHUNK):
                g = grp[s : s + CHUNK]
                out[g] = _poly_poly(*_stack(A.polygons, ia[g], m), *_stack(B.polygons, jb[g], n))
    return out


def disc_distances(A: Shapes, ia: np.ndarray, B: Shapes, jb: np.ndarray) -> np.ndarray:
    """For every k the least distance that a disc brings between shapes A[ia[k]] and B[jb[k]]: from
    either's disc to the other's polygon, and between the two discs (0 where they touch or overlap,
    inf where neither has a disc). Cheaper than `polygon_distances`: one point per pair."""
    ia = np.asarray(ia, dtype=np.int64)
    jb = np.asarray(jb, dtype=np.int64)
    out = np.full(len(ia), np.inf)
    if not len(ia):
        return out
    ra, rb = A.disc_r[ia], B.disc_r[jb]
    disc_a, disc_b = ra > 0, rb > 0
    poly_a, poly_b = _counts(A.polygons, ia) >= 3, _counts(B.polygons, jb) >= 3
    # disc to polygon, both ways
    for discs, d_idx, polys, p_idx, mask in (
        (A, ia, B, jb, disc_a & poly_b),
        (B, jb, A, ia, disc_b & poly_a),
    ):
        sel = np.flatnonzero(mask & (out > 0))
        if not len(sel):
            continue
        counts = _counts(polys.polygons, p_idx[sel])
        for n in unique(counts):
            grp = sel[counts == n]
            for s in range(0, len(grp), CHUNK):
                g = grp[s : s + CHUNK]
                c = discs.disc_center[d_idx[g]]
                d = _point_poly(c[:, 0], c[:, 1], *_stack(polys.polygons, p_idx[g], int(n))) - discs.disc_r[d_idx[g]]
                out[g] = np.minimum(out[g], np.maximum(d, 0.0))
    # disc to disc
    sel = np.flatnonzero(disc_a & disc_b & (out > 0))
    if len(sel):
        gap = np.hypot(*(A.disc_center[ia[sel]] - B.disc_center[jb[sel]]).T) - ra[sel] - rb[sel]
        out[sel] = np.minimum(out[sel], np.maximum(gap, 0.0))
    return out


def _counts(polys: Polygons, idx: np.ndarray) -> np.ndarray:
    """The vertex counts of polygons idx (without the counts of all of them)."""
    return polys.offsets[idx + 1] - polys.offsets[idx]


def _stack(polys: Polygons, idx: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """x and y (n, K) of polygons that all have n vertices: vertex j of every polygon in row j, so that
    each step below works on long rows and sums over a polygon's vertices run across rows."""
    xy = np.take(polys.coords, polys.offsets[idx][None, :] + np.arange(n)[:, None], axis=0)
    return xy[..., 0], xy[..., 1]


def _next(q: np.ndarray) -> np.ndarray:
    """Each vertex's successor around its polygon (q: (n, K))."""
    return np.concatenate([q[1:], q[:1]])


def _seg_dist2(px: np.ndarray, py: np.ndarray, qx: np.ndarray, qy: np.ndarray) -> np.ndarray:
    """(K,) least squared distance from the points (px, py) (a, K) to the edges of polygons (qx, qy) (b, K).
    One point of each polygon p at a time against every edge of q: the scratch arrays stay (b, K)."""
    ex, ey = _next(qx) - qx, _next(qy) - qy
    ee = ex * ex + ey * ey
    ee = np.where(ee > 0, ee, 1.0)  # (an edge of no length: t is 0 whatever it is divided by)
    if len(px) * qx.size <= SEG_BLOCK:  # (few pairs: every point at once, the same steps)
        wx, wy = px[:, None] - qx, py[:, None] - qy
        t = wx * ex
        t += wy * ey
        t /= ee
        np.maximum(t, 0.0, out=t)
        np.minimum(t, 1.0, out=t)
        wx -= t * ex
        wy -= t * ey
        wx *= wx
        wy *= wy
        wx += wy
        return wx.min(axis=(0, 1))
    t, tmp, wx, wy = (np.empty(qx.shape) for _ in range(4))
    out = np.full(qx.shape[1], np.inf)
    for x, y in zip(px, py, strict=True):
        # t = (w . e) / |e|^2, clipped to the edge; then |w - t e|^2, in place
        np.subtract(x, qx, out=wx)
        np.subtract(y, qy, out=wy)
        np.multiply(wx, ex, out=t)
        t += np.multiply(wy, ey, out=tmp)
        t /= ee
        np.maximum(t, 0.0, out=t)
        np.minimum(t, 1.0, out=t)
        wx -= np.multiply(t, ex, out=tmp)
        wy -= np.multiply(t, ey, out=tmp)
        wx *= wx
        wy *= wy
        wx += wy
        np.minimum(out, wx.min(axis=0), out=out)
    return out


def _inside(px: np.ndarray, py: np.ndarray, qx: np.ndarray, qy: np.ndarray) -> np.ndarray:
    """(K,) True where point (px[k], py[k]) lies inside polygon k (q: (n, K); crossing number)."""
    x, y = px[None], py[None]
    x1, y1 = _next(qx), _next(qy)
    straddle = (qy > y) != (y1 > y)
    with np.errstate(divide="ignore", invalid="ignore"):
        xs = qx + (y - qy) * (x1 - qx) / (y1 - qy)
    return (np.count_nonzero(straddle & (x < xs), axis=0) % 2) == 1


def _crossing(px: np.ndarray, py: np.ndarray, qx: np.ndarray, qy: np.ndarray) -> np.ndarray:
    """(K,) True where an edge of polygon p (a, K) properly crosses an edge of polygon q (b, K)."""
    ax, ay = px[:, None], py[:, None]
    dx, dy = (_next(px) - px)[:, None], (_next(py) - py)[:, None]
    bx, by = qx[None], qy[None]
    fx, fy = (_next(qx) - qx)[None], (_next(qy) - qy)[None]
    # side of q's ends relative to edge p, and of p's ends relative to edge q
    s0 = dx * (by - ay) - dy * (bx - ax)
    s1 = dx * (by + fy - ay) - dy * (bx + fx - ax)
    t0 = fx * (ay - by) - fy * (ax - bx)
    t1 = fx * (ay + dy - by) - fy * (ax + dx - bx)
    hit = ((s0 * s1) < 0) & ((t0 * t1) < 0)
    return hit.reshape(-1, hit.shape[-1]).any(axis=0)


def _overlap(pa: np.ndarray, pb: np.ndarray) -> np.ndarray:
    """(K,) bounding boxes (K, 4) overlap or touch."""
    return (pa[:, 0] <= pb[:, 2]) & (pb[:, 0] <= pa[:, 2]) & (pa[:, 1] <= pb[:, 3]) & (pb[:, 1] <= pa[:, 3])


def _poly_poly(px: np.ndarray, py: np.ndarray, qx: np.ndarray, qy: np.ndarray) -> np.ndarray:
    """(K,) distance between polygons p and q (x, y arrays (a, K) and (b, K)): 0 where they cross or
    one holds the other. Only pairs whose boxes overlap can meet: they are tested for it first, and
    only the pairs that do not meet are measured."""
    box_p = np.stack([px.min(axis=0), py.min(axis=0), px.max(axis=0), py.max(axis=0)], axis=1)
    box_q = np.stack([qx.min(axis=0), qy.min(axis=0), qx.max(axis=0), qy.max(axis=0)], axis=1)
    out = np.zeros(px.shape[1])
    k = np.flatnonzero(_overlap(box_p, box_q))
    meet = np.zeros(px.shape[1], dtype=bool)
    if len(k):  # a witness first: the mean of q's vertices inside both (a strip across its contact)
        # (summed polygon by polygon, in the order np.mean sums a row)
        wx, wy = (np.ascontiguousarray(c[:, k].T).mean(axis=1) for c in (qx, qy))
        meet[k] = _inside(wx, wy, px[:, k], py[:, k]) & _inside(wx, wy, qx[:, k], qy[:, k])
        k = k[~meet[k]]
    if len(k):
        pk, qk = (px[:, k], py[:, k]), (qx[:, k], qy[:, k])
        meet[k] = _crossing(*pk, *qk) | _inside(pk[0][0], pk[1][0], *qk) | _inside(qk[0][0], qk[1][0], *pk)
    m = np.flatnonzero(~meet)
    if len(m):
        pm, qm = (px[:, m], py[:, m]), (qx[:, m], qy[:, m])
        d2 = np.minimum(_seg_dist2(*pm, *qm), _seg_dist2(*qm, *pm))
        out[m] = np.sqrt(d2)
    return out


def _point_poly(cx: np.ndarray, cy: np.ndarray, qx: np.ndarray, qy: np.ndarray) -> np.ndarray:
    """(K,) distance from point (cx[k], cy[k]) to polygon k (q: (n, K)): 0 inside."""
    d2 = _seg_dist2(cx[None], cy[None], qx, qy)
    return np.where(_inside(cx, cy, qx, qy), 0.0, np.sqrt(d2))


def _geos_distance(A: Shapes, ia: np.ndarray, B: Shapes, jb: np.ndarray) -> np.ndarray:
    import shapely

    ua, inv_a = np.unique(ia, return_inverse=True)
    ub, inv_b = np.unique(jb, return_inverse=True)
    ga, gb = A.shapely(ua), B.shapely(ub)
    return np.asarray(shapely.distance(ga[inv_a], gb[inv_b]), dtype=float)


def extent_on(shapes: Shapes, idx: np.ndarray, axis: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Least and greatest projection of shapes[idx] on the unit vectors `axis` (K, 2); once for shapes
    alike up to a shift on the same axis, where the shapes say which are alike."""
    kin = shapes.alike
    if kin is not None and len(idx) > 1 and not shapes.disc_r[idx].any():
        rep = kin.rep[idx]
        axis = np.ascontiguousarray(axis, dtype=np.float64)
        once, kind = kinds(rep, axis[:, 0].view(np.int64), axis[:, 1].view(np.int64))
        if len(once) < len(idx):
            lo, hi = extent_on(Shapes.of(shapes.polygons), rep[once], axis[once])
            shift = np.einsum("ij,ij->i", kin.anchor[idx] - kin.anchor[rep], axis)
            return lo[kind] + shift, hi[kind] + shift
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
