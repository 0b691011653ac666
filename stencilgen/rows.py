"""Pure: contacts -> rows, corners, area arrays and staggered pairs (RULES.md "Terms").

How rows are found, in four vectorised steps:
1. Directions. Every contact is paired with its near neighbours (within 2.5 times its nearest
   neighbour's distance); the pair directions, folded to [0, 180), pile up at the layout's row
   directions. Peaks of that histogram are taken one at a time, strongest first.
2. Lines. For one direction u, the contacts that have a neighbour along u are projected on the
   normal; equal projections (within row_tolerance_um) lie on one line. Along a line, centres at a
   regular spacing (the pitch, or a whole multiple up to max_gap_pitches for missing contacts) form
   a candidate row of three or more.
3. Choice. Candidates are taken shortest pitch first; a contact can lie in rows of two directions
   at most (a corner contact, or a grid point), so the diagonals of a grid are refused.
   Rows that cross each other in a grid of three or more lines each way form an area array.
4. Corners and normals. Two rows at more than corner_min_angle_deg whose nearest contacts lie within
   corner_reach pitches of each other (or of the other's extended centerline) meet at a corner; each
   row end takes part in one corner at most, the closest. Rows joined by corners are one element;
   each row's normal points away from its element's centre.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .model import AreaArray, Contacts, Corner, Instances, Row, RowSet, Stagger, line_degrees
from .numeric import first_unique, median, ranges, round_half, unique
from .pairs import box_pairs, components, near_pairs
from .rules import Rules

NEIGHBOURS = 8
PAIR_REACH = 2.5  # pairs up to this many nearest-neighbour distances feed the direction histogram
BIN_DEG = 0.5
MAX_DIRECTIONS = 360  # as many as the histogram has bins: a layout of dies turned every way has hundreds


@dataclass
class _Line:
    theta: float
    members: np.ndarray
    pitch: float
    gaps: int


def _rot90(v: np.ndarray) -> np.ndarray:
    return np.array([-v[1], v[0]])


def _rot90_rows(U: np.ndarray) -> np.ndarray:
    """`_rot90` of every row of U (K, 2), as one array (rows hand out its rows, not copies)."""
    return np.column_stack([-U[:, 1], U[:, 0]])


def _mod_pi(x: np.ndarray) -> np.ndarray:
    """x % pi for x in [-pi, 2 pi), as numpy's remainder gives it (but -0.0 for -0.0), in a fraction
    of its time: below 0, x + pi rounded; from pi, x - pi, which is exact there."""
    return np.where(x < 0, x + np.pi, np.where(x >= np.pi, x - np.pi, x))


def _directions(center: np.ndarray, pairs: np.ndarray, tol_um: float) -> list[tuple[float, np.ndarray]]:
    """Dominant pair directions (radians, [0, pi)) with the contacts that have a pair along each.

    Pairs with one vector (to the bit) fare alike at every step, so the work is done once for each
    distinct vector, weighted by its pairs; a layout on a database grid has few."""
    nbins = round(180 / BIN_DEG)
    pa, pb = pairs[:, 0], pairs[:, 1]  # a column at a time
    inv, vx, vy, weight = _pair_vectors(center, pa, pb)
    theta = _mod_pi(np.arctan2(vy, vx))
    bins = np.floor(np.degrees(theta) / BIN_DEG).astype(np.int64) % nbins
    # a pair's own angular uncertainty: its ends may sit row_tolerance off the line (taken between
    # bounds: a pair nearer than the lower is taken, one beyond the upper is not)
    slack = np.clip(np.arctan2(2 * tol_um, np.hypot(vx, vy)), np.radians(0.1), np.radians(3.0))
    of_vector, found = _peaks(theta, bins, slack, vx, vy, weight, nbins)
    if not found:
        return []
    # each direction's contacts: the ends of its pairs
    n, D = len(center), len(found)
    d = of_vector[inv]
    sel = np.flatnonzero(d >= 0)
    at = d[sel] * n  # (a flat index into D rows of n)
    mark = np.zeros(D * n, dtype=bool)
    mark[at + pa[sel]] = True
    mark[at + pb[sel]] = True
    return [(best, np.flatnonzero(mark[k * n : (k + 1) * n])) for k, best in enumerate(found)]


def _peaks(
    theta: np.ndarray,
    bins: np.ndarray,
    slack: np.ndarray,
    vx: np.ndarray,
    vy: np.ndarray,
    weight: np.ndarray,
    nbins: int,
) -> tuple[np.ndarray, list[float]]:
    """The directions found among distinct pair vectors (theta [0, pi), its histogram bin, its
    slack, the vector, its pairs): the peak of the smoothed histogram (a bin and its two
    neighbours) gives a direction, the weighted circular mean of its vectors' doubled angles; it
    takes the vectors of those three bins and the vectors within their slack of it, three bins and
    more away; again while a peak holds two pairs. Each vector's direction (-1: none) and the
    directions, in the order found."""
    span = int(np.ceil(3.0 / BIN_DEG)) + 1  # bins a pair's slack can reach
    order = np.argsort(bins.astype(np.int16), kind="stable")  # 16-bit keys: a radix sort
    theta, bins, vx, vy, weight, slack = theta[order], bins[order], vx[order], vy[order], weight[order], slack[order]
    start = np.searchsorted(bins, np.arange(nbins + 1))
    total = np.concatenate([[0], np.cumsum(weight)])
    counts = total[start[1:]] - total[start[:-1]]  # pairs in each bin
    fw = weight.astype(np.float64)
    alive = np.ones(len(order), dtype=bool)
    direction = np.full(len(order), -1, dtype=np.int64)  # the direction found that took each vector

    def around(peak: int, width: int) -> list[tuple[int, int]]:
        """The places of bins peak - width .. peak + width (round the circle), in that order: one
        or two runs of the vectors sorted by bin."""
        lo, hi = peak - width, peak + width
        if lo < 0:
            return [(int(start[lo + nbins]), int(start[nbins])), (int(start[0]), int(start[hi + 1]))]
        if hi >= nbins:
            return [(int(start[lo]), int(start[nbins])), (int(start[0]), int(start[hi - nbins + 1]))]
        return [(int(start[lo]), int(start[hi + 1]))]

    def over(a: np.ndarray, runs: list[tuple[int, int]]) -> np.ndarray:
        """a at the places of `runs`, one after another (slices: no gather)."""
        return a[runs[0][0] : runs[0][1]] if len(runs) == 1 else np.concatenate([a[i:j] for i, j in runs])

    found: list[float] = []
    while len(found) < MAX_DIRECTIONS:
        smooth = counts + np.roll(counts, 1) + np.roll(counts, -1)
        peak = int(np.argmax(smooth))
        if smooth[peak] < 2:
            break
        runs = around(peak, 1)
        live = over(alive, runs)
        # circular mean of doubled angles, long pairs weigh more (their angle is sharper): the sum of
        # length^2 * exp(2i theta), which is (vx + i vy)^2, over the pairs, summed in order
        x, y, w = over(vx, runs)[live], over(vy, runs)[live], over(fw, runs)[live]
        re, im = np.cumsum(w * (x * x - y * y))[-1], np.cumsum(w * (2 * x * y))[-1]
        best = math.atan2(float(im), float(re)) / 2 % math.pi
        runs = around(peak, span)
        live = over(alive, runs)
        cand = np.concatenate([np.arange(i, j) for i, j in runs])[live]
        diff = np.abs(_mod_pi(over(theta, runs)[live] - best + np.pi / 2) - np.pi / 2)
        cand_bins = over(bins, runs)[live]
        off = (cand_bins - peak + 1) % nbins  # 0..2: the peak's own bins, always taken
        within = (off <= 2) | (diff <= slack[cand])
        take = cand[within]
        alive[take] = False
        counts -= np.bincount(cand_bins[within], weights=fw[take], minlength=nbins).astype(np.int64)
        # two distinct pairs or more hold three contacts or more
        if int(weight[take].sum()) >= 2:
            direction[take] = len(found)
            found.append(best)
    of_vector = np.empty(len(order), dtype=np.int64)
    of_vector[order] = direction
    return of_vector, found


def _pair_vectors(center: np.ndarray, pa: np.ndarray, pb: np.ndarray) -> tuple[np.ndarray, ...]:
    """The distinct vectors (to the bit) of point pairs (pa, pb), in order of first appearance:
    (inverse: each pair's vector, vx, vy, weight: each vector's pairs), by `numeric.first_unique`."""
    vx = center[:, 0][pb] - center[:, 0][pa]
    vy = center[:, 1][pb] - center[:, 1][pa]
    inv, first = first_unique(vx, vy)
    return inv, vx[first], vy[first], np.bincount(inv, minlength=len(first))


def _regular(
    spacing: np.ndarray, p: float | np.ndarray, rules: Rules, most: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Which spacings are a whole number of pitches p (1 .. `most`, by default max_gap_pitches), and
    that number."""
    q = np.rint(spacing / p)
    ok = (q >= 1) & (q <= (rules.max_gap_pitches if most is None else most))
    ok &= np.abs(spacing - q * p) <= np.maximum(2 * rules.row_tolerance_um, rules.spacing_tolerance * p * q)
    return ok, q


def _segments(s: np.ndarray, first: np.ndarray, count: np.ndarray, rules: Rules) -> tuple[np.ndarray, ...]:
    """Split lines into runs at a regular pitch. `s` holds the spacings of all lines one after the
    other; line k's are s[first[k] : first[k] + count[k]]. Returns the runs found, in order of
    position: (first spacing, number of spacings, pitch, gaps); a run's contacts are first ..
    first + number.

    A line's median spacing is tried first (the smallest, if no spacing fits the median); where
    spacings disagree with it, the line is cut there and each piece (regular or not) is tried again
    with its own median, a few levels deep. Every piece of a level is handled at once."""
    out: list[tuple[np.ndarray, ...]] = []
    for depth in range(5):
        keep = count >= 2
        first, count = first[keep], count[keep]
        if not len(first):
            break
        piece = np.repeat(np.arange(len(first)), count)
        at = ranges(first, count)
        sp = s[at]
        p = _piece_median(sp, piece, count)
        ok, q = _regular(sp, p[piece], rules)
        starts = np.cumsum(count) - count
        # half the spacings at one pitch, half at another: the median fits neither; try the smallest
        none = ~np.logical_or.reduceat(ok, starts)
        if none.any():
            p = np.where(none, np.minimum.reduceat(sp, starts), p)
            ok, q = _regular(sp, p[piece], rules)
        whole = np.logical_and.reduceat(ok, starts)
        if whole.any():
            sel = whole[piece]
            w = np.flatnonzero(whole)
            pitch = _piece_median(sp[sel] / q[sel], piece[sel], count[w])
            gaps = np.add.reduceat(q[sel] - 1, np.cumsum(count[w]) - count[w])
            out.append((first[w], count[w], pitch, gaps.astype(np.int64)))
        if depth == 4:
            break
        # the rest is cut where ok changes, and each run tried again
        rest = ~whole[piece]
        at, ok, piece = at[rest], ok[rest], piece[rest]
        if not len(at):
            break
        cut = np.concatenate([[True], (ok[1:] != ok[:-1]) | (piece[1:] != piece[:-1])])
        first = at[cut]
        count = np.diff(np.append(np.flatnonzero(cut), len(at)))
    if not out:
        z = np.zeros(0, dtype=np.int64)
        return z, z, np.zeros(0), z
    f, c, p, g = (np.concatenate(x) for x in zip(*out, strict=True))
    order = np.argsort(f, kind="stable")
    return f[order], c[order], p[order], g[order]


def _piece_median(values: np.ndarray, piece: np.ndarray, count: np.ndarray) -> np.ndarray:
    """The median of each piece's values (pieces one after the other, `count` values each), as
    numeric.median has it."""
    order = np.lexsort((values, piece))
    v = values[order]
    starts = np.cumsum(count) - count
    return (v[starts + (count - 1) // 2] + v[starts + count // 2]) / 2


def _alike(d: np.ndarray, ratio: float) -> bool:
    """Whether contacts of sizes d are alike (RULES.md "row"): each within `ratio` of their median."""
    return bool(_within(d, median(d), ratio).all())


def _within(d: np.ndarray, m: float, ratio: float) -> np.ndarray:
    """Which sizes d lie within `ratio` of the size m (a row's median d)."""
    slack = 1 + 1e-9
    return (d <= m * ratio * slack) & (d * ratio * slack >= m)


def _size_classes(d: np.ndarray, ratio: float) -> np.ndarray:
    """Labels (0, 1, ...) that part contacts of sizes d into classes alike in size (`_alike`): the sizes
    are cut at their widest step (on a log scale) until every part is alike; smallest sizes first."""
    order = np.argsort(d, kind="stable")
    v = d[order]
    logs = np.log(np.maximum(v, 1e-12))
    cut = np.zeros(len(v), dtype=bool)
    todo = [(0, len(v))]
    while todo:
        lo, hi = todo.pop()
        if hi - lo < 2 or _alike(v[lo:hi], ratio):
            continue
        k = lo + 1 + int(np.argmax(np.diff(logs[lo:hi])))
        cut[k] = True
        todo += [(lo, k), (k, hi)]
    labels = np.empty(len(v), dtype=np.int64)
    labels[order] = np.cumsum(cut)
    return labels


def _lines(
    center: np.ndarray, theta: float, members: np.ndarray, rules: Rules, d: np.ndarray | None = None
) -> list[_Line]:
    """The lines of contacts along direction theta: members within row tolerance of one line, three
    or more, cut into regular runs (`_segments`), those of a pitch beyond the row tolerance. With the
    contacts' sizes d, a line holds contacts alike in size only (row_size_ratio): a line of unlike
    contacts is parted into classes of alike ones (`_size_classes`), each a line of its own, and so is
    a run that is not alike as a whole."""
    u = np.array([np.cos(theta), np.sin(theta)])
    n = _rot90(u)
    x, y = center[:, 0][members], center[:, 1][members]
    rho = x * n[0] + y * n[1]
    t = x * u[0] + y * u[1]
    order = np.argsort(rho, kind="stable")
    group = np.zeros(len(members), dtype=np.int64)
    group[order[1:]] = np.cumsum(np.diff(rho[order]) > rules.row_tolerance_um)
    if d is not None and len(members):
        group = _size_parted(group, order, d[members], rules.row_size_ratio)
    sizes = np.bincount(group)
    keep = sizes[group] >= 3
    if not keep.any():
        return []
    idx = np.flatnonzero(keep)
    idx = idx[np.lexsort((t[idx], group[idx]))]
    g = group[idx]
    line_first = np.flatnonzero(np.concatenate([[True], g[1:] != g[:-1]]))
    line_size = np.diff(np.append(line_first, len(idx)))
    # spacings along each line (two contacts at one place: a tiny spacing, which fits no pitch)
    s = np.maximum(np.diff(t[idx]), 1e-9)
    first, count, pitch, gaps = _segments(s, line_first, line_size - 1, rules)
    ids = members[idx]
    out = []
    for f, c, p, gp in zip(first.tolist(), count.tolist(), pitch.tolist(), gaps.tolist(), strict=True):
        if p <= rules.row_tolerance_um:
            continue
        run = ids[f : f + c + 1]
        if d is None or _alike(d[run], rules.row_size_ratio):
            out.append(_Line(theta, run, p, gp))
            continue
        # a run of unlike contacts (its line was alike as a whole): each class of it looked at again
        labels = _size_classes(d[run], rules.row_size_ratio)
        for k in range(int(labels.max()) + 1):
            part = run[labels == k]
            if len(part) >= 3:
                out += _lines(center, theta, part, rules, d)
    return out


def _size_parted(group: np.ndarray, order: np.ndarray, d: np.ndarray, ratio: float) -> np.ndarray:
    """Lines (`group`: each member's line, 0 .. L-1, ascending along `order`) parted into classes alike
    in size: the same numbers where every line's sizes span no more than `ratio`, else renumbered."""
    ds, gs = d[order], group[order]
    starts = np.flatnonzero(np.concatenate([[True], gs[1:] != gs[:-1]]))
    mixed = np.flatnonzero(np.maximum.reduceat(ds, starts) > np.minimum.reduceat(ds, starts) * ratio)
    if not len(mixed):
        return group
    sub = np.zeros(len(group), dtype=np.int64)
    for g in mixed.tolist():
        at = np.flatnonzero(group == g)
        sub[at] = _size_classes(d[at], ratio)
    return np.unique(group * (len(group) + 1) + sub, return_inverse=True)[1].reshape(-1)


def _all_lines(
    center: np.ndarray, directions: list[tuple[float, np.ndarray]], rules: Rules, d: np.ndarray | None = None
) -> list[_Line]:
    """`_lines` of every direction, one direction after another (d: the contacts' sizes)."""
    return [ln for theta, members in directions for ln in _lines(center, theta, members, rules, d)]


def _choose(lines: list[_Line], n: int) -> list[_Line]:
    """Shortest pitch first; a contact takes part in two directions at most: a line is taken when
    three of its contacts, and half of them, are in fewer than two lines taken before it."""
    if not lines:
        return []
    sizes = [len(ln.members) for ln in lines]
    members = np.concatenate([ln.members for ln in lines])
    offsets = np.zeros(len(lines) + 1, dtype=np.int64)
    np.cumsum(sizes, out=offsets[1:])
    lows = np.minimum.reduceat(members, offsets[:-1]).tolist()
    # by pitch (to the micrometre's millionth, as Python rounds), longest first, then lowest contact
    pitch = round_half(np.array([ln.pitch for ln in lines]), 6)
    order = np.lexsort((np.array(lows), -np.array(sizes), pitch)).tolist()
    slots = np.zeros(n, dtype=np.int64)
    chosen = []
    for k in order:
        m = members[offsets[k] : offsets[k + 1]]
        if int((slots[m] < 2).sum()) >= max(3, (sizes[k] + 1) // 2):
            slots[m] += 1
            chosen.append(lines[k])
    return chosen


def _turns(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Differences of line directions (radians, mod pi) in degrees, [0, 90], element by element."""
    return np.degrees(np.abs((np.asarray(a) - np.asarray(b) + np.pi / 2) % np.pi - np.pi / 2))


def _angle_diff(a: float, b: float) -> float:
    """Difference of two line directions (radians, mod pi) in degrees, [0, 90]: `_turns` of two
    numbers, with Python's floats (the same remainder and the same product), a tenth of its time."""
    return abs((float(a) - float(b) + math.pi / 2) % math.pi - math.pi / 2) * (180.0 / math.pi)


def _by_contact(lines: list[_Line]) -> tuple[np.ndarray, np.ndarray]:
    """Every (contact, line) membership sorted by contact: contact ids and the line holding each."""
    members = np.concatenate([ln.members for ln in lines])
    owner = np.repeat(np.arange(len(lines)), [len(ln.members) for ln in lines])
    order = np.argsort(members, kind="stable")
    return members[order], owner[order]


def _drop_cutting_lines(lines: list[_Line], by: tuple[np.ndarray, np.ndarray] | None = None) -> list[_Line]:
    """Lines made only of contacts that already lie on rows of another direction, one from each, where
    those rows are not crossed by two more lines of this direction (they are no grid): e.g. a 45 deg
    "line" through the end contacts of staggered double rows near a corner. Such a line is not a row.
    `by`: `_by_contact(lines)`, if known."""
    if len(lines) < 2:
        return lines
    m, o = _by_contact(lines) if by is None else by
    # lines share a theta per direction (the direction's), so directions are compared value by value
    thetas, did = np.unique([ln.theta for ln in lines], return_inverse=True)
    close = _turns(thetas[:, None], thetas[None, :]) < 2.0
    sizes = np.array([len(ln.members) for ln in lines], dtype=np.int64)
    drop = _cutting(m, o, did, close, sizes)
    if not drop.any():
        return lines
    return [ln for k, ln in enumerate(lines) if not drop[k]]


def _cutting(m: np.ndarray, o: np.ndarray, did: np.ndarray, close: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """Which lines `_drop_cutting_lines` drops. m, o: the memberships sorted by contact
    (`_by_contact`); did: each line's direction; close: whether two directions are alike; sizes:
    each line's members."""
    L, D = len(sizes), len(close)
    # every ordered pair of lines through one contact: (a, b) from membership entries e and partner
    first = np.flatnonzero(np.concatenate([[True], m[1:] != m[:-1]]))
    size = np.diff(np.append(first, len(m)))
    gsize = np.repeat(size, size)
    e = np.repeat(np.arange(len(m)), gsize)
    partner = ranges(np.repeat(first, size), gsize)
    other = partner != e
    e, partner = e[other], partner[other]
    d_of = did[o]  # the direction of each membership's line
    cross = ~close.ravel()[d_of[e] * D + d_of[partner]]  # (a flat index into D x D)
    e, partner = e[cross], partner[cross]
    has_cross = np.zeros(len(m), dtype=bool)
    has_cross[e] = True
    crossing_members = np.bincount(o[has_cross], minlength=L)
    key = unique(o[e] * L + o[partner])  # which line crosses which, once
    xa, xb = key // L, key % L
    n_crosses = np.bincount(xa, minlength=L)
    suspect = (crossing_members >= sizes) & (n_crosses >= sizes)  # (n_crosses > 0 follows)
    if not suspect.any():
        return suspect
    # how many lines of a suspect's direction cross each of the rows it cuts (itself included)
    per_dir = np.bincount(xa * D + did[xb], minlength=L * D).reshape(L, D)
    alike = per_dir @ close.astype(np.int64)  # alike[r, d]: lines crossing r with direction close to d
    at = np.flatnonzero(suspect[xa])  # (xa ascending: each suspect's crossings are one run)
    most = np.zeros(L, dtype=np.int64)
    runs = np.flatnonzero(np.concatenate([[True], xa[at][1:] != xa[at][:-1]]))
    most[xa[at][runs]] = np.maximum.reduceat(alike.ravel()[xb[at] * D + did[xa[at]]], runs)
    return suspect & (most < 3)  # a grid's line, or one sharing a row twice, stays: a row after all


def _row_gap(rules: Rules) -> int:
    """The most pitches a row runs on over: one more than lines bridge (two contacts missing side by
    side, by default). Area arrays' lines keep max_gap_pitches."""
    return rules.max_gap_pitches + 1


def _row_ends(center: np.ndarray, lines: list[_Line]) -> tuple[np.ndarray, ...]:
    """Each line's direction theta and unit vector u (R, 2), its pitch, and its first and last
    contacts' centres (R, 2 each; members run along u)."""
    theta = np.array([ln.theta for ln in lines])
    u = np.column_stack([np.cos(theta), np.sin(theta)])
    pitch = np.array([ln.pitch for ln in lines])
    first = center[[int(ln.members[0]) for ln in lines]]
    last = center[[int(ln.members[-1]) for ln in lines]]
    return theta, u, pitch, first, last


def _join_rows(center: np.ndarray, lines: list[_Line], rules: Rules, d: np.ndarray | None = None) -> list[_Line]:
    """Rows on one line, at one pitch, whose facing ends lie a whole number of pitches apart, up to one
    more than lines bridge (max_gap_pitches + 1: two contacts missing side by side, by default), are
    one row, if their contacts (sizes d) are alike together. Only rows: an area array's lines are left
    as they were found."""
    if len(lines) < 2:
        return lines
    theta, u, pitch, a, b = _row_ends(center, lines)
    rho = a[:, 1] * u[:, 0] - a[:, 0] * u[:, 1]
    t0, t1 = (a * u).sum(axis=1), (b * u).sum(axis=1)
    # one line: the same direction, centerlines within the row tolerance (chained), ordered along it
    order = np.lexsort((rho, theta))
    new_line = np.concatenate([[True], (np.diff(theta[order]) != 0) | (np.diff(rho[order]) > rules.row_tolerance_um)])
    line = np.cumsum(new_line)[np.argsort(order)]
    order = np.lexsort((t0, line))
    this, after = order[:-1], order[1:]  # each row and the next along its line
    s = t0[after] - t1[this]
    p_mean = (pitch[this] + pitch[after]) / 2
    ok = _regular(np.maximum(s, 0.0), p_mean, rules, _row_gap(rules))[0]
    ok &= (line[this] == line[after]) & (s > 0)
    ok &= np.abs(pitch[this] - pitch[after]) <= rules.spacing_tolerance * p_mean
    if d is not None:
        for k in np.flatnonzero(ok).tolist():
            both = np.concatenate([lines[int(this[k])].members, lines[int(after[k])].members])
            ok[k] = _alike(d[both], rules.row_size_ratio)
    if not ok.any():
        return lines
    run = np.concatenate([[0], np.cumsum(~ok)])  # rows joined to the one before share a run
    out: list[_Line] = []
    for r in np.unique(run):
        ids = order[run == r]
        if len(ids) == 1:
            out.append(lines[int(ids[0])])
            continue
        members = np.concatenate([lines[int(k)].members for k in ids])
        at = (center[members] * u[ids[0]]).sum(axis=1)
        spacing = np.diff(at)
        step = np.maximum(np.rint(spacing / median(pitch[ids])), 1)
        out.append(_Line(float(theta[ids[0]]), members, float(median(spacing / step)), int((step - 1).sum())))
    return out


def _extend_ends(
    center: np.ndarray,
    lines: list[_Line],
    grids: list[tuple[list[_Line], list[_Line]]],
    rules: Rules,
    size: np.ndarray | None = None,
) -> list[_Line]:
    """A contact no row or array holds, on a row's line beyond its end, a whole number of pitches away
    (up to max_gap_pitches + 1), joins the row, if its size (d) is within row_size_ratio of every
    member's. Neighbour pairs reach PAIR_REACH times the nearer contact's nearest distance, so a contact
    left past two missing ones at a row's end was never paired along the row (nor, being fewer than
    three, was it and the one beside it a line). Each end takes its nearest such contact, and again
    from the new end."""
    n = len(center)
    if not lines:
        return lines
    lines = list(lines)
    most = _row_gap(rules)
    held = np.zeros(n, dtype=bool)
    for ln in lines + [g for fa, fb in grids for g in fa + fb]:
        held[ln.members] = True
    while True:
        free = np.flatnonzero(~held)
        if not len(free):
            return lines
        _theta, u, pitch, first, last = _row_ends(center, lines)
        e = np.stack([first, last], axis=1).reshape(-1, 2)  # (2R, 2): each row's first and last contact
        # where a contact could sit: q = 1 .. most pitches out from each end along the row, within
        # the spacing tolerance along it and the row tolerance across (a box holding both), so that
        # only contacts near those places are looked at, however long the pitch
        q_out = np.arange(1, most + 1, dtype=np.float64)
        p2 = np.repeat(pitch, 2)
        outward = np.repeat(u, 2, axis=0) * np.tile([-1.0, 1.0], len(lines))[:, None]  # first end: back
        reach = q_out[None, :] * p2[:, None]  # (2R, most)
        half = np.maximum(2 * rules.row_tolerance_um, rules.spacing_tolerance * reach) + rules.row_tolerance_um
        half = half * (1 + 1e-9) + 1e-9
        cx = (e[:, 0, None] + outward[:, 0, None] * reach).ravel()
        cy = (e[:, 1, None] + outward[:, 1, None] * reach).ravel()
        h = half.ravel()
        boxes = np.column_stack([cx - h, cy - h, cx + h, cy + h])
        pts = center[free]
        i, jq = box_pairs(np.column_stack([pts, pts]), boxes, 0.0)
        if not len(i):
            return lines
        key = unique(i * (2 * len(lines)) + jq // most)  # a contact near two places of one end: once
        i, j = key // (2 * len(lines)), key % (2 * len(lines))
        k, side = j // 2, j % 2  # the row, and which end (0: first, 1: last)
        d = pts[i] - e[j]
        along = (d[:, 0] * u[k, 0] + d[:, 1] * u[k, 1]) * np.where(side == 1, 1.0, -1.0)  # outward
        off = np.abs(d[:, 0] * u[k, 1] - d[:, 1] * u[k, 0])
        ok, q = _regular(np.maximum(along, 0.0), pitch[k], rules, most)
        ok &= (along > 0) & (off <= rules.row_tolerance_um)
        if size is not None:  # alike in size: within the ratio of the row's smallest and largest
            sizes = np.array([len(ln.members) for ln in lines])
            flat = size[np.concatenate([ln.members for ln in lines])]
            starts = np.cumsum(sizes) - sizes
            small, large = np.minimum.reduceat(flat, starts), np.maximum.reduceat(flat, starts)
            ratio = rules.row_size_ratio * (1 + 1e-9)
            dc = size[free[i]]
            ok &= (dc <= small[k] * ratio) & (dc * ratio >= large[k])
        i, k, side, along, q = i[ok], k[ok], side[ok], along[ok], q[ok]
        if not len(i):
            return lines
        # nearest first; one contact to one end, one end one contact
        order = np.lexsort((free[i], side, k, along))
        i, k, side, q = i[order], k[order], side[order], q[order]
        first_c = np.unique(i, return_index=True)[1]
        keep = np.zeros(len(i), dtype=bool)
        keep[first_c] = True
        end_key = k * 2 + side
        first_e = np.unique(end_key[keep], return_index=True)[1]
        chosen = np.flatnonzero(keep)[first_e]
        for c, row, at, gap in zip(free[i[chosen]], k[chosen], side[chosen], q[chosen], strict=True):
            ln = lines[int(row)]
            members = np.append(ln.members, c) if at else np.insert(ln.members, 0, c)
            lines[int(row)] = _Line(ln.theta, members, ln.pitch, ln.gaps + int(gap) - 1)
            held[c] = True


def _arrays(
    lines: list[_Line], by: tuple[np.ndarray, np.ndarray] | None = None
) -> tuple[list[_Line], list[tuple[list[_Line], list[_Line]]]]:
    """Split lines into plain rows and grids (three or more lines each way, crossing). `by`:
    `_by_contact(lines)`, if known."""
    if not lines:
        return [], []
    m, o = _by_contact(lines) if by is None else by
    same = np.flatnonzero(m[1:] == m[:-1])  # a contact in two lines links them
    comp = components(len(lines), np.column_stack([o[same], o[same + 1]]))
    rows: list[_Line] = []
    grids: list[tuple[list[_Line], list[_Line]]] = []
    by_comp = np.argsort(comp, kind="stable")  # each component's lines in their order, all at once
    bounds = np.flatnonzero(np.diff(comp[by_comp])) + 1
    for part in np.split(by_comp, bounds):
        group = [lines[k] for k in part.tolist()]
        if len(group) < 6:
            rows.extend(group)
            continue
        # families: each line joins the first family whose first line's direction is within 2 deg,
        # else starts one; a direction's lines share its theta, so each theta is placed once
        firsts: list[float] = []
        family_of: dict[float, int] = {}
        for theta in dict.fromkeys(ln.theta for ln in group):
            family_of[theta] = next((f for f, t in enumerate(firsts) if _angle_diff(t, theta) < 2.0), len(firsts))
            if family_of[theta] == len(firsts):
                firsts.append(theta)
        families: list[list[_Line]] = [[] for _ in firsts]
        for ln in group:
            families[family_of[ln.theta]].append(ln)
        families.sort(key=len, reverse=True)
        crossing = 0
        if len(families) >= 2 and len(families[1]) >= 3:  # the two families must really cross: 3 x 3 at least
            a = np.concatenate([ln.members for ln in families[0]])
            b = np.concatenate([ln.members for ln in families[1]])
            on_a = np.zeros(int(max(a.max(), b.max())) + 1, dtype=bool)
            on_a[a] = True
            on_b = np.zeros_like(on_a)
            on_b[b] = True
            crossing = int(np.count_nonzero(on_a & on_b))  # contacts on lines of both families
        if crossing >= 9:
            grids.append((families[0], families[1]))
        else:
            rows.extend(group)
    return rows, grids


def _corners(
    center: np.ndarray, rows: list[Row], members: _Members, rules: Rules
) -> list[tuple[int, int, np.ndarray, float]]:
    """Row pairs meeting at a corner: (row a, row b, centerline intersection, score). `members`:
    the rows' (`_Members`)."""
    R = len(rows)
    if R < 2:
        return []
    first = np.array([r.members[0] for r in rows])
    last = np.array([r.members[-1] for r in rows])
    ends = np.stack([np.take(center, first, axis=0), np.take(center, last, axis=0)], axis=1)  # (R, 2, 2)
    pitch = np.array([r.pitch for r in rows])
    reach = rules.corner_reach * pitch
    lo = ends.min(axis=1) - reach[:, None]
    hi = ends.max(axis=1) + reach[:, None]
    near_a, near_b = box_pairs(np.hstack([lo, hi]), np.hstack([lo, hi]), 0.0, same=True)
    U = np.array([r.direction for r in rows])
    N = np.array([r.normal for r in rows])
    Og = np.array([r.origin for r in rows])
    theta = np.arctan2(U[:, 1], U[:, 0])
    crossing = _turns(theta[near_a], theta[near_b]) > rules.corner_min_angle_deg
    # a corner is where strips of two rows meet: a coarse row (pads, rule 9) meets none
    fine = rules.fine(pitch[near_a]) & rules.fine(pitch[near_b])
    a, b = near_a[crossing & fine], near_b[crossing & fine]
    if not len(a):
        return []
    # nearest contacts: an end of one row and any contact of the other (an L or a T)
    # (a distance beyond the reach is told apart from none: such a pair does not meet, or meets by
    # the centerline distance below)
    r = rules.corner_reach * np.maximum(pitch[a], pitch[b])
    limit = r + rules.row_tolerance_um
    score = np.minimum(
        _ends_to_members(center, members, ends, a, b, limit), _ends_to_members(center, members, ends, b, a, limit)
    )
    # an end of one row near the other's extended centerline
    t_end = np.einsum("ij,ij->i", ends[:, 1] - Og, U)  # (R,) the last member along its own row
    for p, q in ((a, b), (b, a)):
        for k in (0, 1):
            rel = ends[p, k] - Og[q]
            t = np.einsum("ij,ij->i", rel, U[q])
            beyond = (t < 0) | (t > t_end[q])
            gap = np.minimum(np.abs(t), np.abs(t - t_end[q]))
            off = np.maximum(np.abs(np.einsum("ij,ij->i", rel, N[q])), gap)
            score = np.where(beyond, np.minimum(score, off), score)
    meet = score <= limit  # the reach is inclusive, up to the placement tolerance
    a, b, score = a[meet], b[meet], score[meet]
    if not len(a):
        return []
    # intersection of the two centerlines
    m = np.stack([U[a], -U[b]], axis=2)  # columns: A's direction, minus B's
    step = np.linalg.solve(m, (Og[b] - Og[a])[:, :, None])[:, :, 0]
    x = Og[a] + step[:, :1] * U[a]
    end_a = np.argmin(np.hypot(*np.moveaxis(ends[a] - x[:, None, :], 2, 0)), axis=1)
    end_b = np.argmin(np.hypot(*np.moveaxis(ends[b] - x[:, None, :], 2, 0)), axis=1)
    scores = score.tolist()
    # best first: by score (to the micrometre's millionth, Python's rounding), then by rows; each
    # row end in one corner at one place: a corner is refused where one of its rows has a corner at
    # the same end within corner_reach of its point (a double row's partner), not where that end's
    # corner lies farther (a short row that runs past one corner and stops short of the next)
    rounded = round_half(score, 6)
    order = np.lexsort((b, a, rounded)).tolist()
    end_of_a, end_of_b = (a * 2 + end_a).tolist(), (b * 2 + end_b).tolist()
    apart = (rules.corner_reach * pitch + rules.row_tolerance_um).tolist()
    xs, ys = x[:, 0].tolist(), x[:, 1].tolist()
    used: dict[int, list[int]] = {}  # the corners (candidates) taken at each row end
    out = []
    for c in order:
        pair = ((end_of_a[c], int(a[c])), (end_of_b[c], int(b[c])))
        if any(math.hypot(xs[c] - xs[o], ys[c] - ys[o]) <= apart[row] for end, row in pair for o in used.get(end, ())):
            continue
        for end, _row in pair:
            used.setdefault(end, []).append(c)
        out.append((int(a[c]), int(b[c]), x[c], scores[c]))
    return out


@dataclass(frozen=True)
class _Members:
    """Every row's contacts one row after another (built once, looked into many times), with their
    positions along their rows, ascending within each (rows order their members so)."""

    flat: np.ndarray
    starts: np.ndarray
    sizes: np.ndarray
    t: np.ndarray  # position along the row's direction from its mean centre (as `_rows` sorts by)
    key: np.ndarray  # t plus row * width: every row's positions searchable at once, rows apart
    width: float
    mid: np.ndarray
    U: np.ndarray

    @staticmethod
    def of(rows: list[Row], center: np.ndarray, mid: np.ndarray) -> _Members:
        if not rows:
            z, empty = np.zeros(0, dtype=np.int64), np.zeros((0, 2))
            return _Members(z, z, z, np.zeros(0), np.zeros(0), 1.0, empty, empty)
        sizes = np.array([len(r.members) for r in rows])
        flat = np.concatenate([r.members for r in rows])
        U = np.array([r.direction for r in rows])
        x, y = center[:, 0][flat], center[:, 1][flat]

        def each(v: np.ndarray) -> np.ndarray:  # a row's value at each of its members
            return np.repeat(v, sizes)

        t = (x - each(mid[:, 0])) * each(U[:, 0]) + (y - each(mid[:, 1])) * each(U[:, 1])
        return _Members.placed(flat, sizes, t, mid, U)

    @staticmethod
    def placed(flat: np.ndarray, sizes: np.ndarray, t: np.ndarray, mid: np.ndarray, U: np.ndarray) -> _Members:
        """From the members (row after row, `sizes` each) and their positions t."""
        width = 4.0 * max(float(np.max(np.abs(t))), 1.0)
        key = t + np.repeat(np.arange(len(sizes)) * width, sizes)
        return _Members(flat, np.cumsum(sizes) - sizes, sizes, t, key, width, mid, U)

    def turned(self, at: list[int]) -> _Members:
        """The same rows with rows `at` turned round (`_turned`): their members in the other order,
        their direction and positions negated (as `of` measures the turned rows, to the bit)."""
        if not at:
            return self
        a = np.asarray(at, dtype=np.int64)
        s, c = self.starts[a], self.sizes[a]
        places = ranges(s, c)  # the places of the turned rows' members, and where each comes from
        source = np.arange(len(self.flat))
        source[places] = np.repeat(2 * s + c - 1, c) - places
        t = self.t[source]
        t[places] = -t[places]
        U = self.U.copy()
        U[a] = -U[a]
        return _Members.placed(self.flat[source], self.sizes, t, self.mid, U)

    def along(self, q: np.ndarray, pts: np.ndarray) -> np.ndarray:
        """The positions of points pts[k] along row q[k], as its members' are measured."""
        m, U = self.mid[q], self.U[q]
        return (pts[:, 0] - m[:, 0]) * U[:, 0] + (pts[:, 1] - m[:, 1]) * U[:, 1]

    def within(self, q: np.ndarray, t: np.ndarray, half: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Where row q[k]'s members at positions within half[k] of t[k] begin and end (places in
        flat), with room for rounding: a member nearer than half[k] to the point at t[k] is inside."""
        slack = half * 1e-9 + 8 * np.spacing(self.width * (len(self.sizes) + 1.0)) + 1e-6
        base = q * self.width
        lo = np.searchsorted(self.key, (t - half - slack) + base, side="left")
        hi = np.searchsorted(self.key, (t + half + slack) + base, side="right")
        first, end = self.starts[q], self.starts[q] + self.sizes[q]
        return np.clip(lo, first, end), np.clip(hi, first, end)


def _least_sq(center: np.ndarray, rows: _Members, pts: np.ndarray, q: np.ndarray, limit: np.ndarray) -> np.ndarray:
    """For every k, the least squared distance from pts[k] to a contact of row q[k] (dx^2 + dy^2, as
    over all of them) where that distance is within limit[k]; else more than limit[k]^2 (maybe inf).
    Only members whose position along the row lies within limit[k], and within the distance of the
    member nearest in position, are measured: no other can be nearer."""
    t = rows.along(q, pts)
    at = np.clip(np.searchsorted(rows.key, t + q * rows.width), rows.starts[q] + 1, rows.starts[q] + rows.sizes[q] - 1)
    best = None
    for j in (at - 1, at):  # the members on either side of the point's position (rows hold 3 or more)
        c = rows.flat[j]
        dx, dy = pts[:, 0] - center[:, 0][c], pts[:, 1] - center[:, 1][c]
        sq = dx * dx + dy * dy
        best = sq if best is None else np.minimum(best, sq)
    assert best is not None
    lo, hi = rows.within(q, t, np.minimum(np.sqrt(best), limit))
    cnt = hi - lo
    out = np.full(len(q), np.inf)
    some = np.flatnonzero(cnt > 0)
    cnt = cnt[some]
    k = np.repeat(some, cnt)
    c = rows.flat[ranges(lo[some], cnt)]
    dx, dy = np.take(pts[:, 0], k) - np.take(center[:, 0], c), np.take(pts[:, 1], k) - np.take(center[:, 1], c)
    if len(some):
        out[some] = np.minimum.reduceat(dx * dx + dy * dy, np.cumsum(cnt) - cnt)
    return out


def _ends_to_members(
    center: np.ndarray, rows: _Members, ends: np.ndarray, p: np.ndarray, q: np.ndarray, limit: np.ndarray
) -> np.ndarray:
    """For every pair k, the least distance from either end of row p[k] to any contact of row q[k],
    where it is within limit[k] (else inf)."""
    d = np.sqrt(
        np.minimum(_least_sq(center, rows, ends[p, 0], q, limit), _least_sq(center, rows, ends[p, 1], q, limit))
    )
    d[d > limit] = np.inf
    return d


def _corner_members(
    center: np.ndarray, rows: list[Row], of_rows: _Members, corner_list: list, rules: Rules
) -> list[Corner]:
    """The corners found, each with the contacts of its two rows within its reach of the point where
    their centerlines meet (inclusive, as for finding corners; at least the nearest of each row).
    `of_rows`: the rows' members (`_Members`)."""
    if not corner_list:
        return []
    a = np.array([c[0] for c in corner_list])
    b = np.array([c[1] for c in corner_list])
    x = np.array([c[2] for c in corner_list])
    U = np.array([r.direction for r in rows])
    N = np.array([r.normal for r in rows])
    pitch = np.array([r.pitch for r in rows])
    bis = N[a] + N[b]
    bis /= np.linalg.norm(bis, axis=1, keepdims=True)
    limit = rules.corner_reach * np.maximum(pitch[a], pitch[b]) + rules.row_tolerance_um
    ang = _turns(np.arctan2(U[a, 1], U[a, 0]), np.arctan2(U[b, 1], U[b, 0]))
    keys = []
    C = len(a)
    n = len(center)
    for side in (a, b):
        # only members within the limit along the row can be within it
        lo, hi = of_rows.within(side, of_rows.along(side, x), limit)
        cnt = hi - lo
        k = np.repeat(np.arange(C), cnt)
        ids = of_rows.flat[ranges(lo, cnt)]
        pts = np.take(center, ids, axis=0)
        near = np.hypot(pts[:, 0] - x[k, 0], pts[:, 1] - x[k, 1]) <= limit[k]
        # a corner none of whose contacts on this side are near takes the nearest one (the first
        # of its row's members at the least distance, as np.argmin picks it)
        found = np.zeros(C, dtype=bool)
        found[k[near]] = True
        lone = np.flatnonzero(~found)
        if len(lone):
            cnt = of_rows.sizes[side[lone]]
            owner = np.repeat(lone, cnt)
            row = of_rows.flat[ranges(of_rows.starts[side[lone]], cnt)]
            d = np.hypot(center[row, 0] - x[owner, 0], center[row, 1] - x[owner, 1])
            first = np.cumsum(cnt) - cnt
            least = np.flatnonzero(d == np.repeat(np.minimum.reduceat(d, first), cnt))
            pick = least[np.searchsorted(least, first)]  # (every row has a member at its least)
            keys.append(lone * n + row[pick])
        keys.append(k[near] * n + ids[near])
    key = unique(np.concatenate(keys))
    owner = key // n
    bounds = np.searchsorted(owner, np.arange(C + 1))
    members = key % n
    return [
        Corner((int(a[c]), int(b[c])), corner_list[c][2], float(ang[c]), bis[c], members[bounds[c] : bounds[c + 1]])
        for c in range(C)
    ]


def _rows(center: np.ndarray, lines: list[_Line]) -> tuple[list[Row], _Members, np.ndarray, np.ndarray]:
    """Rows from lines, their members ordered along u; their members all together (`_Members`, with
    each row's mean member centre) and the box (lo, hi) of each row's member centres."""
    if not lines:
        empty = np.zeros((0, 2))
        return [], _Members.of([], center, empty), empty, empty
    sizes = np.array([len(ln.members) for ln in lines])
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    flat = np.concatenate([ln.members for ln in lines])
    line_of = np.repeat(np.arange(len(lines)), sizes)
    theta = np.array([ln.theta for ln in lines])
    U = np.column_stack([np.cos(theta), np.sin(theta)])
    # a column at a time; the same sums and products as over (N, 2) arrays
    x, y = center[:, 0][flat], center[:, 1][flat]
    mid = np.column_stack([np.add.reduceat(x, starts), np.add.reduceat(y, starts)]) / sizes[:, None]
    t = (x - mid[:, 0][line_of]) * U[:, 0][line_of] + (y - mid[:, 1][line_of]) * U[:, 1][line_of]
    if ((np.diff(t) >= 0) | (line_of[1:] != line_of[:-1])).all():  # in order already (lines come so)
        members = flat
    else:
        order = np.lexsort((t, line_of))  # along each row; stable where two are level
        members, t = flat[order], t[order]
    t_first = t[starts]
    origin = mid + t_first[:, None] * U
    N = _rot90_rows(U)
    rows = [
        Row(i, members[s : s + k], U[i], N[i], origin[i], ln.pitch, ln.gaps)
        for i, (ln, s, k) in enumerate(zip(lines, starts.tolist(), sizes.tolist(), strict=True))
    ]
    lo = np.column_stack([np.minimum.reduceat(x, starts), np.minimum.reduceat(y, starts)])
    hi = np.column_stack([np.maximum.reduceat(x, starts), np.maximum.reduceat(y, starts)])
    return rows, _Members.placed(members, sizes, t, mid, U), lo, hi


def _turned(rows: list[Row], center: np.ndarray) -> list[Row]:
    """The rows turned round: u reversed (so the normal too), members in the other order, the
    origin the foot of the new first member on the centerline."""
    if not rows:
        return []
    u = -np.array([r.direction for r in rows])
    origin = np.array([r.origin for r in rows])
    d = center[[int(r.members[-1]) for r in rows]] - origin
    foot = origin + (d[:, 0] * u[:, 0] + d[:, 1] * u[:, 1])[:, None] * u
    n = _rot90_rows(u)
    return [Row(r.id, r.members[::-1].copy(), u[k], n[k], foot[k], r.pitch, r.gaps) for k, r in enumerate(rows)]


def _facing(mid: np.ndarray, centre: np.ndarray, normal: np.ndarray) -> np.ndarray:
    """For rows (K, 2 each): whether the normal points towards the centre from the rows' mean member
    centre `mid` (the row is to be turned)."""
    away = mid - centre
    return away[:, 0] * normal[:, 0] + away[:, 1] * normal[:, 1] < -1e-9


def _orient(row: Row, centre: np.ndarray, center: np.ndarray, mid: np.ndarray | None = None) -> Row:
    """Turn the row so that its normal (u turned +90 deg) points away from `centre` (`mid`: the mean
    of its member centres, if known)."""
    if mid is None:
        mid = center[row.members].mean(axis=0)
    if not _facing(np.asarray(mid)[None], np.asarray(centre)[None], row.normal[None])[0]:
        return row
    return _turned([row], center)[0]


@dataclass
class _Reach:
    """How far row finding looked around a set of contacts: the longest neighbour pair it could have
    made (PAIR_REACH times the largest nearest-neighbour distance), and how many rows took their
    outward side from the centre of all the contacts (no element of their own around them)."""

    pair_um: float = 0.0
    loose_rows: int = 0


def find_rows(contacts: Contacts, rules: Rules | None = None) -> RowSet:
    """Rows, corners, area arrays and staggered pairs of a set of contacts."""
    return _find_rows(contacts, rules or Rules())[0]


def _find_rows(contacts: Contacts, rules: Rules) -> tuple[RowSet, _Reach]:
    center = contacts.center
    n = len(contacts)
    empty = RowSet([], [], [], [], np.full(n, -1, dtype=np.int64), np.full(n, -1, dtype=np.int64))
    reach = _Reach()
    if n < 3:
        return empty, reach
    # the grid search starts where contacts one pitch (about their size) apart are found in one pass
    # (a guess, which changes no pair found: the median of an even sample of the lengths)
    sample = contacts.length[:: max(1, n // 1024)]
    start = PAIR_REACH * 1.2 * max(float(median(sample)), 1e-3)  # a first search radius
    pairs, nn = near_pairs(center, NEIGHBOURS, PAIR_REACH, start)
    reach.pair_um = PAIR_REACH * float(nn.max())
    if not len(pairs):
        return empty, reach
    lines = _choose(_all_lines(center, _directions(center, pairs, rules.row_tolerance_um), rules, contacts.d), n)
    by = _by_contact(lines) if lines else None  # the same lines for both steps, unless some are dropped
    kept = _drop_cutting_lines(lines, by)
    row_lines, grids = _arrays(kept, by if len(kept) == len(lines) else None)
    row_lines = _extend_ends(center, _join_rows(center, row_lines, rules, contacts.d), grids, rules, contacts.d)

    # rows in a stable order: by their smallest contact id
    if row_lines:  # (each line's least contact, all lines at once)
        sizes = np.array([len(ln.members) for ln in row_lines])
        least = np.minimum.reduceat(np.concatenate([ln.members for ln in row_lines]), np.cumsum(sizes) - sizes)
        row_lines = [row_lines[k] for k in np.argsort(least, kind="stable").tolist()]
    rows, members, lo, hi = _rows(center, row_lines)
    mid = members.mid

    corner_list = _corners(center, rows, members, rules)
    comp = components(len(rows), np.array([(a, b) for a, b, _, _ in corner_list], dtype=np.int64).reshape(-1, 2))
    # element centre of each row: the bbox centre of its corner-joined rows, if they turn; otherwise
    # the smallest such element around it, otherwise the centre of all contacts
    allc = np.array([(center[:, k].min() + center[:, k].max()) / 2 for k in (0, 1)])
    # each row's direction to the degree, [0, 180) (Row.direction_deg, all rows at once)
    turns = (np.round(line_degrees(np.array([r.direction for r in rows]).reshape(-1, 2))) % 180).tolist()
    elements: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
    if rows:
        by_comp = np.argsort(comp, kind="stable")
        ordered = comp[by_comp]
        bounds = np.flatnonzero(np.concatenate([[True], ordered[1:] != ordered[:-1], [True]]))
        e_lo = np.minimum.reduceat(lo[by_comp], bounds[:-1], axis=0)
        e_hi = np.maximum.reduceat(hi[by_comp], bounds[:-1], axis=0)
        for g in range(len(bounds) - 1):
            group = by_comp[bounds[g] : bounds[g + 1]].tolist()
            if len(group) >= 2 and len({turns[k] for k in group}) >= 2:
                elements[int(ordered[bounds[g]])] = ((e_lo[g] + e_hi[g]) / 2, e_lo[g], e_hi[g])
    around = _element_around(rows, mid, comp, elements)
    centres = []
    element_list = list(elements.values())
    for k in range(len(rows)):
        if int(comp[k]) in elements:
            centre = elements[int(comp[k])][0]
        else:
            centre = element_list[around[k]][0] if around[k] >= 0 else allc
            reach.loose_rows += around[k] < 0
        centres.append(centre)
    if rows:  # each row's normal away from its centre: the rows facing it are turned (`_orient`)
        at = np.flatnonzero(_facing(mid, np.array(centres), np.array([r.normal for r in rows]))).tolist()
        for k, r in zip(at, _turned([rows[k] for k in at], center), strict=True):
            rows[k] = r
        members = members.turned(at)
    joined = np.array([int(comp[k]) in elements for k in range(len(rows))], dtype=bool)
    staggers = _staggers(center, rows, centres, lo, hi, joined)

    corners = _corner_members(center, rows, members, corner_list, rules)

    row_of = np.full(n, -1, dtype=np.int64)
    for r in reversed(rows):
        row_of[r.members] = r.id
    array_of = np.full(n, -1, dtype=np.int64)
    arrays = []
    grids.sort(key=lambda g: int(min(ln.members.min() for ln in g[0])))
    for gid, (fa, fb) in enumerate(grids):
        mark = np.zeros(n, dtype=bool)  # (its contacts, each once, in order: no sort)
        for ln in fa + fb:
            mark[ln.members] = True
        in_array = np.flatnonzero(mark)
        array_of[in_array] = gid
        arrays.append(
            AreaArray(
                gid,
                in_array,
                (float(np.degrees(fa[0].theta)) % 180, float(np.degrees(fb[0].theta)) % 180),
                (float(median([ln.pitch for ln in fa])), float(median([ln.pitch for ln in fb]))),
                (len(fa), len(fb)),
            )
        )
    return RowSet(rows, corners, arrays, staggers, row_of, array_of), reach


def _element_around(
    rows: list[Row], mid: np.ndarray, comp: np.ndarray, elements: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]]
) -> np.ndarray:
    """For each row outside the elements (corner-joined rows that turn), the element around it (its
    mean centre within the element's box grown by the row's pitch): the smallest, then the one of
    lowest centre (x, then y), then the first; -1 if none (an index into `elements`' values)."""
    out = np.full(len(rows), -1, dtype=np.int64)
    loose = np.array([k for k in range(len(rows)) if int(comp[k]) not in elements], dtype=np.int64)
    if not len(loose) or not elements:
        return out
    e_c = np.array([e[0] for e in elements.values()])
    e_lo = np.array([e[1] for e in elements.values()])
    e_hi = np.array([e[2] for e in elements.values()])
    area = np.prod(e_hi - e_lo, axis=1)
    p = np.array([rows[k].pitch for k in loose.tolist()])
    m = mid[loose]
    grow = (p * (1 + 1e-9) + 1e-9)[:, None]  # candidates a little wider than the test below
    i, j = box_pairs(np.hstack([m - grow, m + grow]), np.hstack([e_lo, e_hi]), 0.0)
    ok = (m[i] >= e_lo[j] - p[i, None]).all(axis=1) & (m[i] <= e_hi[j] + p[i, None]).all(axis=1)
    i, j = i[ok], j[ok]
    order = np.lexsort((j, e_c[j, 1], e_c[j, 0], area[j], i))
    i, j = i[order], j[order]
    first = np.concatenate([[True], i[1:] != i[:-1]]) if len(i) else np.zeros(0, dtype=bool)
    out[loose[i[first]]] = j[first]
    return out


#: partner rows closer than this fraction of a pitch to aligned are an aligned double row (or two
#: rows facing each other), not a staggered pair
STAGGER_MIN_OFFSET = 0.25


def _lattice_offset(t: np.ndarray, origin: float, pitch: float) -> tuple[float, float]:
    """How positions t sit on the lattice origin + k * pitch: their mean phase, folded to [0, 0.5]
    pitches from aligned, and how well they agree on it (1: all at one phase; near 0: spread, as a
    row of another pitch is)."""
    z = np.exp(2j * np.pi * (t - origin) / pitch).mean()
    phase = (float(np.angle(z)) / (2 * np.pi)) % 1.0
    return min(phase, 1.0 - phase), float(abs(z))


def _staggers(
    center: np.ndarray,
    rows: list[Row],
    centres: list[np.ndarray],
    lo: np.ndarray,
    hi: np.ndarray,
    joined: np.ndarray | None = None,
) -> list[Stagger]:
    """Parallel rows close together along the normal, overlapping along u and offset along it from
    each other by STAGGER_MIN_OFFSET pitches or more (on one lattice). Both face the same way; a lone
    pair whose element centre lies between them (a lone double row) is turned to agree. Rows of an
    element (`joined`: corner-joined rows that turn) facing each other across it are no pair and keep
    their normals. `lo`, `hi`: the box of each row's member centres. `rows` is updated in place when a
    row is turned."""
    if len(rows) < 2:
        return []
    U = np.array([r.direction for r in rows])
    N = np.array([r.normal for r in rows])
    orig = np.array([r.origin for r in rows])
    P = np.array([r.pitch for r in rows])
    # candidates: rows whose boxes, each grown by two of its pitches, meet; then the exact tests
    grown = np.hstack([lo - 2.0 * P[:, None], hi + 2.0 * P[:, None]])
    pa, pb = box_pairs(grown, grown, 0.0, same=True)
    parallel = np.abs(np.einsum("ij,ij->i", U[pb], U[pa])) >= np.cos(np.radians(2.0))
    sep = np.abs(np.einsum("ij,ij->i", orig[pb] - orig[pa], N[pa]))
    reach = 2.0 * np.maximum(P[pa], P[pb])
    near = (lo[pb] <= hi[pa] + reach[:, None]).all(axis=1) & (lo[pa] <= hi[pb] + reach[:, None]).all(axis=1)
    hit = parallel & (sep <= reach) & (sep > 1e-6) & near
    pa, pb = pa[hit], pb[hit]
    out = []
    for k in np.lexsort((pb, pa)).tolist():
        a, b = int(pa[k]), int(pb[k])
        A, B = rows[a], rows[b]
        ta = (center[A.members] - A.origin) @ A.direction
        tb = (center[B.members] - A.origin) @ A.direction
        if min(ta.max(), tb.max()) - max(ta.min(), tb.min()) <= 0:
            continue
        # the offset on the lattice of either row (a row at a multiple of the other's pitch sits on its)
        offset, agree = max(
            (_lattice_offset(tb, ta.min(), A.pitch), _lattice_offset(ta, tb.min(), B.pitch)), key=lambda o: o[1]
        )
        if agree < 0.7 or offset < STAGGER_MIN_OFFSET:
            continue
        if A.normal @ B.normal < 0:
            side_a = (centres[a] - A.origin) @ A.normal
            side_b = (centres[a] - B.origin) @ A.normal
            if side_a * side_b > 0:  # the centre is not between them: rows facing each other
                continue
            if joined is not None and (joined[a] or joined[b]):  # two sides of one element
                continue
            B = _orient(B, B.origin - A.normal, center)
            rows[b] = B
        sep_ab = abs((B.origin - A.origin) @ A.normal)
        out.append(Stagger((a, b), float(sep_ab), float(offset)))
    return out


def place_rows(element: RowSet, instances: Instances, contacts: Contacts) -> RowSet:
    """The element's rows, corners, arrays and staggers repeated in every placement (a wafer)."""
    center = contacts.center
    R = len(element.rows)
    P = len(instances.transforms)
    lin = instances.transforms[:, :, :2]
    shift = instances.transforms[:, :, 2]
    det = lin[:, 0, 0] * lin[:, 1, 1] - lin[:, 0, 1] * lin[:, 1, 0]
    # every row of every placement at once: (P, R) directions, normals, origins, first members
    fixed: list[Row] = []
    new_id = np.empty(P * R, dtype=np.int64)
    if R:
        dirs = np.array([r.direction for r in element.rows])
        norms = np.array([r.normal for r in element.rows])
        origins = np.array([r.origin for r in element.rows])
        U = np.einsum("pij,rj->pri", lin, dirs)
        U /= np.linalg.norm(U, axis=2, keepdims=True)
        Nn = np.einsum("pij,rj->pri", lin, norms)
        Nn /= np.linalg.norm(Nn, axis=2, keepdims=True)
        org = np.einsum("pij,rj->pri", lin, origins) + shift[:, None, :]
        mirrored = det < 0  # a mirror turns "u turned +90 deg" into -90 deg: walk the row the other way
        U[mirrored] *= -1
        flat_members = np.concatenate([r.members for r in element.rows])
        bounds = np.cumsum([0] + [len(r.members) for r in element.rows])[:-1]
        ends = np.array([[r.members[0], r.members[-1]] for r in element.rows])  # (R, 2)
        first = instances.index[:, ends[:, 0]]  # (P, R) global id of each placed row's first member
        last = instances.index[:, ends[:, 1]]
        start = np.where(mirrored[:, None], last, first)
        # the origin: the first member's foot on the placed centerline
        F = center[start]
        org = org + np.einsum("prj,prj->pr", F - org, U)[..., None] * U
        lows = np.minimum.reduceat(instances.index[:, flat_members], bounds, axis=1)
        order = np.argsort(lows.ravel(), kind="stable")
        new_id[order] = np.arange(P * R)
        pitch = np.array([r.pitch for r in element.rows])[None, :] * np.sqrt(np.abs(det))[:, None]
        gaps = [r.gaps for r in element.rows]
        pieces = [r.members for r in element.rows]
        for k in order.tolist():
            p, r = divmod(k, R)
            members = instances.index[p][pieces[r]]
            if mirrored[p]:
                members = members[::-1].copy()
            fixed.append(Row(len(fixed), members, U[p, r], Nn[p, r], org[p, r], float(pitch[p, r]), gaps[r]))
    corners = []
    stag = []
    arrays = []
    for c in element.corners:  # each corner in every placement at once
        bis = lin @ c.bisector
        bis /= np.linalg.norm(bis, axis=1, keepdims=True)
        point = lin @ c.point + shift
        members = np.sort(instances.index[:, c.members], axis=1)
        rows_a = new_id[np.arange(P) * R + c.rows[0]].tolist()
        rows_b = new_id[np.arange(P) * R + c.rows[1]].tolist()
        for p in range(P):
            corners.append(Corner((rows_a[p], rows_b[p]), point[p], c.angle_deg, bis[p], members[p]))
    for p in range(len(lin)):
        L, idx = lin[p], instances.index[p]
        for s in element.staggers:
            stag.append(
                Stagger(
                    (int(new_id[p * R + s.rows[0]]), int(new_id[p * R + s.rows[1]])), s.separation, s.offset_fraction
                )
            )
        for a in element.arrays:
            turned = []
            for deg in a.directions_deg:
                v = L @ np.array([np.cos(np.radians(deg)), np.sin(np.radians(deg))])
                turned.append(float(np.degrees(np.arctan2(v[1], v[0])) % 180.0))
            scale = float(np.sqrt(abs(det[p])))
            pitches = (a.pitches[0] * scale, a.pitches[1] * scale)
            arrays.append(AreaArray(0, np.sort(idx[a.members]), (turned[0], turned[1]), pitches, a.lines))
    arrays.sort(key=lambda a: int(a.members.min()))
    arrays = [AreaArray(i, a.members, a.directions_deg, a.pitches, a.lines) for i, a in enumerate(arrays)]
    corners.sort(key=lambda c: c.rows)
    n = len(contacts)
    row_of = np.full(n, -1, dtype=np.int64)
    for r in reversed(fixed):
        row_of[r.members] = r.id
    array_of = np.full(n, -1, dtype=np.int64)
    for a in arrays:
        array_of[a.members] = a.id
    return RowSet(fixed, corners, arrays, stag, row_of, array_of)


def find_layout_rows(contacts: Contacts, instances: Instances | None, rules: Rules | None = None) -> RowSet:
    """Rows of a layout; an element cell placed many times is analysed once and repeated."""
    return layout_rows(contacts, instances, rules)[0]


def layout_rows(
    contacts: Contacts, instances: Instances | None, rules: Rules | None = None
) -> tuple[RowSet, RowSet | None]:
    """The layout's rows and, when they were found once in an element cell and repeated, the element's."""
    rules = rules or Rules()
    if instances is not None:
        element, reach = _find_rows(instances.element, rules)
        if (element.rows or element.arrays) and _alone(element, reach, instances, rules):
            return place_rows(element, instances, contacts), element
    return find_rows(contacts, rules), None


def _copies_agree(element: RowSet, instances: Instances, rules: Rules) -> bool:
    """Whether rows that run on, in line, into their copies in other placements are read the same
    from the whole layout. The whole layout sees one line holding every copy and the jumps between
    them, whose median spacing may be another of the row's spacings: that changes nothing only for a
    row alone on its line whose spacings all agree with each other (one pitch, no missing contacts)."""
    center = instances.element.center
    shifts = instances.transforms[:, :, 2]
    tol = rules.row_tolerance_um
    for r in element.rows:
        across = np.sort(shifts @ r.normal)
        if not (np.diff(across) <= tol).any():
            continue  # no two placements put this row on one line
        s = np.diff(center[r.members] @ r.direction)
        q = np.rint(s / r.pitch)
        if (q != 1).any() or s.max() - s.min() > max(2 * tol, rules.spacing_tolerance * s.min()):
            return False
        for other in element.rows:  # another row on the same line
            parallel = other.id != r.id and abs(other.direction @ r.normal) < 1e-6
            if parallel and abs((other.origin - r.origin) @ r.normal) <= tol:
                return False
    return True


def _alone(element: RowSet, reach: _Reach, instances: Instances, rules: Rules) -> bool:
    """Whether the element's rows are the layout's, placement by placement. Placements the file gives
    are taken as they are. Placements found in a flat layout must be parted by empty bands wider than
    anything row finding would bridge: a neighbour pair, a row running on over missing contacts, a
    corner's reach, a staggered pair; and every row must face away from its own element's centre
    (not from the centre of everything, which differs between the element and the layout)."""
    gap_um = instances.gap_um
    if gap_um is None:
        return True
    if reach.loose_rows or not _copies_agree(element, instances, rules):
        return False
    pitch = max([r.pitch for r in element.rows] + [max(a.pitches) for a in element.arrays])
    needed = max(
        reach.pair_um,
        (_row_gap(rules) + 0.5) * pitch * (1 + rules.spacing_tolerance) + 2 * rules.row_tolerance_um,
        rules.corner_reach * pitch + rules.row_tolerance_um,
        2.0 * pitch,
    )
    return gap_um > needed


#: isolated contacts looked at by `isolated_in_line` at most (more: none counted)
IN_LINE_MAX = 10_000


def isolated_in_line(contacts: Contacts, rows: RowSet, rules: Rules) -> int:
    """How many isolated contacts lie on the line of a row, alike in size to its contacts, with another
    contact of that line within fine_pitch_um of them: contacts of a pad ring placed at spacings a row
    does not take (`spacing_tolerance`), which get pad-shaped apertures where their neighbours on the
    line get strips. None counted past IN_LINE_MAX isolated contacts."""
    iso = rows.isolated
    if not len(iso) or not rows.rows or len(iso) > IN_LINE_MAX:
        return 0
    c, d = contacts.center, contacts.d
    found = np.zeros(len(iso), dtype=bool)
    for r in rows.rows:
        u, n = r.direction, _rot90(r.direction)
        alike = _within(d[iso], median(d[r.members]), rules.row_size_ratio)
        on = (np.abs((c[iso] - r.origin) @ n) <= rules.row_tolerance_um) & alike
        if not on.any():
            continue
        # the contacts on that line (the row's and the isolated ones), in order along it
        line = np.concatenate([r.members, iso[on]])
        t = np.sort((c[line] - r.origin) @ u)
        ti = (c[iso[on]] - r.origin) @ u
        k = np.searchsorted(t, ti)
        before = np.where(k > 0, ti - t[np.maximum(k - 1, 0)], np.inf)
        after = np.where(k + 1 < len(t), t[np.minimum(k + 1, len(t) - 1)] - ti, np.inf)
        found[np.flatnonzero(on)] |= np.minimum(before, after) <= rules.fine_pitch_um
    return int(found.sum())
