"""Pure: how a drawn aperture is measured, as the checks measure it and the planner reports it: its
axis, its narrowest width (a strip's body, not its tip), its width across the axis and the chord of
its straight end. Vectorised over shapely polygons."""

from __future__ import annotations

import numpy as np
import shapely

from .numeric import ranges

#: cuts across the middle 60 % of an elongated aperture, for its narrowest width
CUTS = 25
#: a shape's end is straight where its chords 1 % and 5 % of its length in from it agree to this fraction
END_TOL = 0.005
#: a straight side at least this fraction of a shape's length sets its axis (a strip's side or far end)
STRAIGHT = 0.2
#: edges of one straight side turn by at most this from one to the next (deg), ...
RUN_TURN_DEG = 0.5
#: ... and their chord falls short of their summed length by at most this fraction (an arc of 9 deg)
RUN_SAG = 1e-3
#: an edge shorter than this (um) is a jog: it takes no part in a side's direction
JOG_UM = 0.01
#: apertures measured at a time
CHORD_CHUNK = 4096


def narrowest(polys: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The narrowest width of each aperture, its long axis, its width across that axis and the chord
    of its straight end (inf where it has none).
    The axis: the long side of its minimum rotated rectangle, or, where the shape has a long straight
    edge (a strip's side or far end), that edge's direction or the one across it, whichever lies nearer
    the rectangle's (a thin strip with a wide tip tilts its rectangle; its sides do not tilt).
    The width: for an elongated shape, the shortest chord across the middle 60 % of its length (a
    strip's body, not its tip); otherwise its extent across the axis. A straight end (a strip's far
    end: its chords 1 % and 5 % of its length in from that end agree) gives a strip's body width where
    a wide tip makes the shape short. Vectorised over the apertures."""
    n = len(polys)
    width, axis, across, straight = np.zeros(n), np.tile([1.0, 0.0], (n, 1)), np.zeros(n), np.full(n, np.inf)
    if not n:
        return width, axis, across, straight
    rects = shapely.minimum_rotated_rectangle(polys)
    pts, idx = shapely.get_coordinates(rects, return_index=True)
    counts = np.bincount(idx, minlength=n)
    ok = np.flatnonzero(counts == 5)  # a closed rectangle (a degenerate shape has no width)
    starts = np.searchsorted(idx, ok)
    rect = pts[starts[:, None] + np.arange(4)]  # (k, 4, 2)
    e0, e1 = rect[:, 1] - rect[:, 0], rect[:, 2] - rect[:, 1]
    l0, l1 = np.hypot(*e0.T), np.hypot(*e1.T)
    good = (l0 > 0) & (l1 > 0)
    ok, e0, e1, l0, l1 = ok[good], e0[good], e1[good], l0[good], l1[good]
    first = l0 >= l1
    long_e = np.where(first[:, None], e0, e1)
    # each shape's outline, read once: its straight edges and its extents along the axis and across it
    xy, owner = shapely.get_coordinates(shapely.get_exterior_ring(polys[ok]), return_index=True)
    ax = _straight_axis(xy, owner, len(ok), long_e / np.where(first, l0, l1)[:, None], np.maximum(l0, l1))
    t = np.einsum("ij,ij->i", xy, ax[owner])
    u = xy[:, 1] * ax[owner, 0] - xy[:, 0] * ax[owner, 1]
    at0 = np.searchsorted(owner, np.arange(len(ok)))
    t_lo, t_hi = np.minimum.reduceat(t, at0), np.maximum.reduceat(t, at0)
    u_lo, u_hi = np.minimum.reduceat(u, at0), np.maximum.reduceat(u, at0)
    long_l, short_l = t_hi - t_lo, u_hi - u_lo
    centre = ((t_lo + t_hi) / 2)[:, None] * ax + ((u_lo + u_hi) / 2)[:, None] * np.stack([-ax[:, 1], ax[:, 0]], axis=1)
    width[ok], axis[ok], across[ok] = short_l, ax, short_l
    el = np.flatnonzero(long_l >= 1.5 * short_l)
    if len(el):
        ts = np.linspace(-0.3, 0.3, CUTS)
        half = 2 * short_l[el]  # each cut's half length: wider than the aperture
        chords = _chords(polys[ok[el]], centre[el], ax[el], ts[None, :] * long_l[el, None], half)
        width[ok[el]] = chords.min(axis=1)
    for end in (-1.0, 1.0):
        at = end * (0.5 - np.array([0.01, 0.05]))[None, :] * long_l[:, None]
        chords = _chords(polys[ok], centre, ax, at, 2 * short_l)
        flat = np.abs(chords[:, 0] - chords[:, 1]) <= END_TOL * np.maximum(chords[:, 1], 1e-9)
        straight[ok[flat]] = np.minimum(straight[ok[flat]], chords[flat, 0])
    return width, axis, across, straight


def _straight_axis(xy: np.ndarray, owner: np.ndarray, n: int, ax: np.ndarray, length: np.ndarray) -> np.ndarray:
    """The axis of each of n shapes (outline points `xy`, each ring closed, their shape `owner`): its
    rotated rectangle's long side `ax`, of `length`, set by its longest straight side where that side
    is at least STRAIGHT x the length: the side's direction or the one across it, whichever is nearer
    ax, pointing ax's way. A side is a run of edges that keep one direction (`_straight_runs`): a side
    a stray vertex or a jog of a nanometre cuts in two is still one side."""
    side, side_len = _straight_runs(xy, owner, n)
    e = side / np.maximum(side_len, 1e-300)[:, None]
    e_across = np.stack([-e[:, 1], e[:, 0]], axis=1)
    along = np.abs(np.einsum("ij,ij->i", e, ax)) >= np.abs(np.einsum("ij,ij->i", e_across, ax))
    cand = np.where(along[:, None], e, e_across)
    cand = np.where((np.einsum("ij,ij->i", cand, ax) < 0)[:, None], -cand, cand)
    use = side_len >= STRAIGHT * length
    return np.where(use[:, None], cand, ax)


def _straight_runs(xy: np.ndarray, owner: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Each of n rings' longest straight side (vector from its first point to its last, and its
    length): consecutive edges whose directions differ by at most RUN_TURN_DEG (edges shorter than
    JOG_UM take no part in the direction) and whose chord is within RUN_SAG of their summed length.
    Each ring's edges are walked twice, so that a side through its first vertex is whole once."""
    same = owner[1:] == owner[:-1]
    start = np.flatnonzero(same)  # each edge's first point in xy (its last: start + 1)
    j = owner[start]
    counts = np.bincount(j, minlength=n)
    first = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(counts, out=first[1:])
    # every ring's edges twice, ring after ring
    twice = np.repeat(counts, 2)
    base = np.repeat(first[:-1], 2)
    k = ranges(base, twice)
    ring = np.repeat(np.repeat(np.arange(n), 2), twice)
    a, b = xy[start[k]], xy[start[k] + 1]
    d = b - a
    lengths = np.hypot(d[:, 0], d[:, 1])
    angle = np.where(lengths >= JOG_UM, np.arctan2(d[:, 1], d[:, 0]), np.nan)
    # a jog takes the direction of the edge before it (within the ring)
    idx = np.where(np.isnan(angle), -1, np.arange(len(angle)))
    np.maximum.accumulate(idx, out=idx)
    ring_start = np.searchsorted(ring, ring)  # (ring is sorted)
    known = idx >= ring_start
    angle = np.where(known, angle[np.maximum(idx, 0)], np.nan)
    turn = np.abs((np.diff(angle) + np.pi) % (2 * np.pi) - np.pi)
    cut = np.ones(len(angle), dtype=bool)
    cut[1:] = (ring[1:] != ring[:-1]) | ~(turn <= np.radians(RUN_TURN_DEG))
    run = np.cumsum(cut) - 1
    run_first = np.flatnonzero(cut)
    run_last = np.append(run_first[1:], len(angle)) - 1
    chord = b[run_last] - a[run_first]
    chord_len = np.hypot(chord[:, 0], chord[:, 1])
    walked = np.bincount(run, lengths)
    ok = chord_len >= (1 - RUN_SAG) * walked
    # a run that bends (an arc's chords) is no side; each edge of it still is one
    score = np.where(ok, chord_len, 0.0)
    single = np.flatnonzero(~ok[run])
    runs = np.concatenate([run_first, single])
    owner_run = ring[runs]
    vec = np.concatenate([chord, d[single]])
    score = np.concatenate([score, lengths[single]])
    # per ring, its longest (the first of equal ones, in the ring's order)
    order = np.lexsort((runs, -score, owner_run))
    head = order[np.searchsorted(owner_run[order], np.arange(n))]
    return vec[head], score[head]


def _chords(polys: np.ndarray, centre: np.ndarray, ax: np.ndarray, at: np.ndarray, half: np.ndarray) -> np.ndarray:
    """As _chords_of, a few thousand polygons at a time (a Gerber stencil's arcs make many edges)."""
    out = np.zeros(at.shape)
    for s in range(0, len(polys), CHORD_CHUNK):
        part = slice(s, s + CHORD_CHUNK)
        out[part] = _chords_of(polys[part], centre[part], ax[part], at[part], half[part])
    return out


def _chords_of(polys: np.ndarray, centre: np.ndarray, ax: np.ndarray, at: np.ndarray, half: np.ndarray) -> np.ndarray:
    """(k, c): the length of polygon j inside the line across `ax[j]` (perpendicular to it) at
    `at[j, c]` along it from `centre[j]` (evenly spaced in c; `half[j]` of it each side is more than
    the polygon's width): between the polygon's boundary crossings, taken in pairs along the line
    (inside between the first and second, the third and fourth...). An edge crosses the line when
    its ends lie on either side, an end exactly on the line counted on the far side, so that a vertex
    on the line counts once; a line through a vertex (to the rounding of world coordinates), or
    crossed an odd number of times, is measured by GEOS."""
    k, c = at.shape
    rings, ring_of = shapely.get_rings(polys, return_index=True)
    pts, which = shapely.get_coordinates(rings, return_index=True)
    owner = ring_of[which]
    # edges: consecutive points of one ring (each ring repeats its first point at the end)
    same = which[1:] == which[:-1]
    j = owner[:-1][same]
    # in each polygon's own frame: t along its axis, s across it (1-D gathers: quicker than 2-D ones)
    x, y = pts[:, 0], pts[:, 1]
    ux, uy = ax[:, 0][j], ax[:, 1][j]
    px, py = x[:-1][same] - centre[:, 0][j], y[:-1][same] - centre[:, 1][j]
    qx, qy = x[1:][same] - centre[:, 0][j], y[1:][same] - centre[:, 1][j]
    pt, qt = px * ux + py * uy, qx * ux + qy * uy
    ps, qs = py * ux - px * uy, qy * ux - qx * uy
    across = np.stack([-ax[:, 1], ax[:, 0]], axis=1)
    # only edges that reach into the range of the cuts
    lo, hi = at.min(axis=1), at.max(axis=1)
    near = (np.minimum(pt, qt) <= hi[j]) & (np.maximum(pt, qt) >= lo[j]) & (pt != qt)
    pt, qt, ps, qs, j = pt[near], qt[near], ps[near], qs[near], j[near]
    # the (edge, cut) pairs that can cross: the cuts are evenly spaced, so each edge's run of cuts
    # follows from its ends (one more each side against rounding; the test below is exact)
    t0, dt = at[:, 0], (at[:, -1] - at[:, 0]) / max(c - 1, 1)
    safe = np.where(dt[j] > 0, dt[j], 1.0)
    first = np.clip(np.floor((np.minimum(pt, qt) - t0[j]) / safe) - 1, 0, c - 1).astype(np.int64)
    last = np.clip(np.ceil((np.maximum(pt, qt) - t0[j]) / safe) + 1, 0, c - 1).astype(np.int64)
    first = np.where(dt[j] > 0, first, 0)
    last = np.where(dt[j] > 0, last, c - 1)
    span = last - first + 1
    e = np.repeat(np.arange(len(j)), span)
    cut = ranges(first, span)
    t = at[j[e], cut]
    # a vertex on the line, to the rounding of world coordinates (the boundary may run along it):
    # GEOS measures that line, in world coordinates
    near_tol = 1e-12 * (1.0 + float(np.abs(pts).max()))
    on = (np.abs(pt[e] - t) <= near_tol) | (np.abs(qt[e] - t) <= near_tol)
    touchy = np.zeros(k * c, dtype=bool)
    touchy[j[e[on]] * c + cut[on]] = True
    cross = (pt[e] <= t) != (qt[e] <= t)
    e, cut, t = e[cross], cut[cross], t[cross]
    s = ps[e] + (t - pt[e]) / (qt[e] - pt[e]) * (qs[e] - ps[e])
    line = j[e] * c + cut
    order = np.lexsort((s, line))
    line, s = line[order], s[order]
    start = np.flatnonzero(np.concatenate([[True], line[1:] != line[:-1]]))
    rank = np.arange(len(line)) - np.repeat(start, np.diff(np.append(start, len(line))))
    sign = np.where(rank % 2 == 1, 1.0, -1.0)
    chord = np.bincount(line, weights=sign * s, minlength=k * c)
    odd = np.bincount(line, minlength=k * c) % 2 == 1
    if odd.any() or touchy.any():  # a boundary touching the line, not crossing it: GEOS measures these
        bad = np.flatnonzero(odd | touchy)
        pj, pc = bad // c, bad % c
        mid = centre[pj] + at[pj, pc][:, None] * ax[pj]
        reach = across[pj] * half[pj][:, None]
        cuts = shapely.linestrings(np.stack([mid - reach, mid + reach], axis=1))
        chord[bad] = shapely.length(shapely.intersection(cuts, polys[pj]))
    return chord.reshape(k, c)
