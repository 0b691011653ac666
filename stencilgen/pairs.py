"""Pure, vectorised pair search on a uniform grid: boxes that come within a reach of each other
(`box_pairs`, `boxes_touch`), points near each other (`near_pairs`), and the connected components
that pairs make (`components`). It knows boxes and points only; what the boxes hold is measured
elsewhere (`distance`, `geometry`)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .numeric import length, median, ranges, unique

#: a pair test of candidates (box i of one set, box j of the other): True for the pairs to keep
Keep = Callable[[np.ndarray, np.ndarray], np.ndarray]
#: boxes whose candidates are found and measured at a time (the candidates of a million boxes would
#: take a gigabyte at once)
QUERIES_AT_ONCE = 1 << 16


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
    # every candidate is measured where it is found (the grid's a chunk at a time)
    found: list[tuple[np.ndarray, np.ndarray]] = []

    def near(i: np.ndarray, j: np.ndarray) -> np.ndarray:
        """Of candidates (A's box i, B's box j): those no farther apart than reach along x, then y."""
        keep = (A[:, 0][i] <= B[:, 2][j] + reach) & (B[:, 0][j] <= A[:, 2][i] + reach)
        at = np.flatnonzero(keep)
        keep[at] = (A[:, 1][i[at]] <= B[:, 3][j[at]] + reach) & (B[:, 1][j[at]] <= A[:, 3][i[at]] + reach)
        return keep

    if len(small_a) and len(small_b):
        s = max(float(ext_a[small_a].max()), float(ext_b[small_b].max())) + reach
        s = s if s > 0 else 1.0
        if same:  # each unordered pair once: half the neighbourhood
            found.append(_grid_pairs_self(A[small_a], s, small_a, near))
        elif len(small_a) > 4 * len(small_b):  # the few are looked up in a grid of the many
            jb, ia = _grid_pairs(B[small_b], A[small_a], s, small_b, small_a, lambda j, i: near(i, j))
            found.append((ia, jb))
        else:
            found.append(_grid_pairs(A[small_a], B[small_b], s, small_a, small_b, near))
    # a few large shapes: against the small ones near them (by the cells they cover), and against
    # each other; in the order a search of everything would give (large box first, then the other)
    ba, bb = np.flatnonzero(big_a), np.flatnonzero(big_b)
    if len(ba):
        k, m = _cover(A[ba], B[small_b], ext_b[small_b], reach)
        i, j = np.concatenate([ba[k], np.repeat(ba, len(bb))]), np.concatenate([small_b[m], np.tile(bb, len(ba))])
        kept = near(i, j)
        i, j = i[kept], j[kept]
        order = np.lexsort((j, i))
        found.append((i[order], j[order]))
    if not same and len(bb):
        k, m = _cover(B[bb], A[small_a], ext_a[small_a], reach)
        i, j = small_a[m], bb[k]
        kept = near(i, j)
        i, j = i[kept], j[kept]
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
    ia, jb = va[ia], vb[jb]
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


def _grid_pairs(
    A: np.ndarray, B: np.ndarray, s: float, ida: np.ndarray, idb: np.ndarray, keep: Keep
) -> tuple[np.ndarray, np.ndarray]:
    """Candidates that `keep` keeps: B's boxes keyed by the grid cell of their lower-left corner; a box
    of A can only meet boxes whose cell is next to its own (cells are as large as a box plus the
    reach)."""
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
    return _expand(spans, order, ida, idb, keep)


def _cells(x: np.ndarray, lo: float, s: float) -> np.ndarray:
    """Grid cell numbers (from 1) of coordinates x, cells of size s from lo (one coordinate column at a
    time)."""
    return np.floor((x - lo) / s).astype(np.int64) + 1


def _grid_pairs_self(A: np.ndarray, s: float, ida: np.ndarray, keep: Keep) -> tuple[np.ndarray, np.ndarray]:
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
    return _expand(spans, order, ida[order], ida, keep)


def _expand(
    spans: list[tuple[np.ndarray, np.ndarray]], order: np.ndarray, ida: np.ndarray, idb: np.ndarray, keep: Keep
) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (ida[q], idb[order[k]]) for every query q and every k in each of its ranges first..last
    of the sorted boxes (one range per query in each (first, last) array pair), those `keep` keeps:
    QUERIES_AT_ONCE queries at a time, so that the candidates never all stand at once."""
    out_a, out_b = [], []
    for first_all, last_all in spans:
        cnt_all = np.maximum(last_all - first_all, 0)
        for q0 in range(0, len(cnt_all), QUERIES_AT_ONCE):
            cnt = cnt_all[q0 : q0 + QUERIES_AT_ONCE]
            if not cnt.any():
                continue
            rep = np.repeat(np.arange(q0, q0 + len(cnt)), cnt)
            a, b = ida[rep], idb[order[ranges(first_all[q0 : q0 + QUERIES_AT_ONCE], cnt)]]
            kept = keep(a, b)
            out_a.append(a[kept])
            out_b.append(b[kept])
    if not out_a:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    return np.concatenate(out_a), np.concatenate(out_b)


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
    boxes = np.column_stack([px, py, px, py])
    if n > 4 * RADIUS_SAMPLE:
        s = _radius(boxes, px, py, k, reach, s, span)
    # every point at once: each pair within s found once, its two points either way round
    a, b = _grid_pairs_self(boxes, s, np.arange(n), lambda i, j: length(px[i] - px[j], py[i] - py[j]) <= s)
    d = length(px[a] - px[b], py[a] - py[b])
    near = np.full(n, np.inf)
    np.minimum.at(near, a, d)
    np.minimum.at(near, b, d)
    found = np.bincount(a, minlength=n) + np.bincount(b, minlength=n)
    # covered: every neighbour within reach is within s, or k of them are (the k nearest then are)
    # (with the slack the pairs are kept with below)
    covered = (reach * near + 1e-9 <= s) | (found >= k) | (s > 2 * span)
    nn[covered] = near[covered]
    # a pair is taken for a covered point with at most k others within s (all are among its k
    # nearest), and for one with more, where the other is among its k nearest
    few = covered & (found <= k)
    taken = few[a] | few[b]
    crowded = covered & (found > k)
    on_a, on_b = np.flatnonzero(crowded[a]), np.flatnonzero(crowded[b])
    if len(on_a) or len(on_b):
        q, other = np.concatenate([a[on_a], b[on_b]]), np.concatenate([b[on_a], a[on_b]])
        pair = np.concatenate([on_a, on_b])
        taken[pair[_first_k(q, d[pair], other, k)]] = True
    got = [(a[taken], b[taken], d[taken])]
    todo = np.flatnonzero(~covered)
    while len(todo):
        # the next radius: where k points would lie at the density seen so far (a typical point's
        # guess; the others go round again), growing by 1.25 to 2 times
        guess = np.where(found[todo] > 0, s * np.sqrt(k / np.maximum(found[todo], 1)) * 1.1, 2 * s)
        s = float(np.clip(median(guess), 1.25 * s, 2 * s))
        qa, pb, d = _within(boxes, px, py, todo, s)
        near = np.full(n, np.inf)
        np.minimum.at(near, qa, d)
        found = np.bincount(qa, minlength=n)
        covered = (reach * near[todo] + 1e-9 <= s) | (found[todo] >= k) | (s > 2 * span)
        done = todo[covered]
        nn[done] = near[done]
        mine = np.zeros(n, dtype=bool)
        mine[done] = True
        crowded = found > k
        take = mine[qa] & ~crowded[qa]
        many = np.flatnonzero(mine[qa] & crowded[qa])
        take[many[_first_k(qa[many], d[many], pb[many], k)]] = True
        got.append((qa[take], pb[take], d[take]))
        todo = todo[~covered]
    qa, pb, d = (np.concatenate(c) for c in zip(*got, strict=True))
    # mutual: a far, lonely point does not pair with a crowded one
    keep = d <= reach * np.minimum(nn[qa], nn[pb]) + 1e-9
    qa, pb = qa[keep], pb[keep]
    key = np.sort(np.minimum(qa, pb) * n + np.maximum(qa, pb))
    if len(got) > 1 and len(key):  # a pair found again from its other point in a later round: once
        key = key[np.concatenate([[True], key[1:] != key[:-1]])]
    return np.column_stack([key // n, key % n]), nn


def _first_k(q: np.ndarray, d: np.ndarray, other: np.ndarray, k: int) -> np.ndarray:
    """Of entries (point q, distance d, other point), the places of each point's k nearest: by
    distance, then the other point's index."""
    order = np.lexsort((other, d, q))
    q = q[order]
    run = np.flatnonzero(q[1:] != q[:-1]) + 1
    first = np.zeros(len(q), dtype=np.int64)
    first[run] = run
    return order[np.arange(len(q)) - np.maximum.accumulate(first) < k]


def _within(
    boxes: np.ndarray, px: np.ndarray, py: np.ndarray, todo: np.ndarray, s: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The other points within s of each point of `todo` (boxes are the points as boxes): query,
    point and distance of every such pair."""
    qa, pb = _grid_pairs(
        boxes[todo],
        boxes,
        s,
        todo,
        np.arange(len(px)),
        lambda i, j: (i != j) & (length(px[i] - px[j], py[i] - py[j]) <= s),
    )
    return qa, pb, length(px[qa] - px[pb], py[qa] - py[pb])


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
