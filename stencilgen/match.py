"""Pure: the apertures of an existing stencil (ragged polygons, um) matched to the contacts, as the same
`Apertures` a plan has, so that every check of RULES.md runs on them unchanged.

An aperture belongs to the contacts it touches. One touching no contact is a stray aperture (an
error, reported apart); one touching two is kept for each and the checks report the bridge; a contact
touched by several apertures gets their union and an `extra_aperture` error."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely

from .distance import Shapes, extent_on
from .geometry import Alike, ShapelyOf, alike, bboxes, pair_kinds
from .model import NONE, SHRUNK, STRIP, Apertures, Contacts, Outlines, Polygons, RowSet
from .numeric import ranges
from .pairs import box_pairs
from .rules import Rules

#: cuts across the middle 60 % of an elongated aperture, for its narrowest width
CUTS = 25
#: a shape's end is straight where its chords 1 % and 5 % of its length in from it agree to this fraction
END_TOL = 0.005
#: a straight edge at least this fraction of a shape's length sets its axis (a strip's side or far end)
STRAIGHT = 0.2
#: a strip whose width across its axis exceeds its body's by more than this fraction has a tip
TIP_TOL = 0.01
#: apertures measured at a time
CHORD_CHUNK = 4096


@dataclass(frozen=True)
class Matched:
    apertures: Apertures
    polygons: Polygons  # aperture i as a plain polygon (empty when contact i has none)
    stray: list[dict[str, Any]]  # apertures that touch no contact
    extra: np.ndarray  # contact ids touched by more than one aperture
    stray_shapes: list[np.ndarray]  # the outline (um) of each stray aperture
    geoms: ShapelyOf  # aperture i as a shapely polygon (built when asked for; contact i must have one)
    contact_geoms: ShapelyOf  # contact i as a shapely polygon
    alike: Alike  # which apertures are alike up to a shift
    contact_alike: Alike  # which contacts are


def _narrowest(polys: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
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
    """The axis of each of n shapes (outline points `xy`, their shape `owner`): its rotated rectangle's
    long side `ax`, of `length`, set by its longest straight edge where that edge is at least
    STRAIGHT x the length: the edge's direction or the one across it, whichever is nearer ax, pointing
    ax's way."""
    same = owner[1:] == owner[:-1]
    edge = (xy[1:] - xy[:-1])[same]
    j = owner[:-1][same]
    lengths = np.hypot(*edge.T)
    order = np.lexsort((-lengths, j))
    head = order[np.searchsorted(j[order], np.arange(n))]
    e = edge[head] / np.maximum(lengths[head], 1e-300)[:, None]
    e_across = np.stack([-e[:, 1], e[:, 0]], axis=1)
    along = np.abs(np.einsum("ij,ij->i", e, ax)) >= np.abs(np.einsum("ij,ij->i", e_across, ax))
    cand = np.where(along[:, None], e, e_across)
    cand = np.where((np.einsum("ij,ij->i", cand, ax) < 0)[:, None], -cand, cand)
    use = lengths[head] >= STRAIGHT * length
    return np.where(use[:, None], cand, ax)


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


def _ring_extent(polys: Polygons, axes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Least and greatest projection of each polygon's vertices on its unit vector axes[k]."""
    counts = polys.counts
    lo, hi = np.full(len(polys), np.inf), np.full(len(polys), -np.inf)
    has = counts > 0
    if has.any():
        proj = np.einsum("ij,ij->i", polys.coords, np.repeat(axes, counts, axis=0))
        starts = polys.offsets[:-1][has]
        lo[has] = np.minimum.reduceat(proj, starts)
        hi[has] = np.maximum.reduceat(proj, starts)
    return lo, hi


def _counter_clockwise(
    polys: Polygons, kin: Alike, index: np.ndarray
) -> tuple[Polygons, np.ndarray, np.ndarray, Alike]:
    """polygons[index] with counter-clockwise outlines (gathered once), their areas and perimeters
    (numpy, ragged; measured on the first of those alike), and which are alike (their first vertices
    moved where they flip)."""
    n = len(index)
    if not n:
        return Polygons.from_list([]), np.zeros(0), np.zeros(0), kin.take(index)
    reps = kin.first
    signed, perimeter = _signed_area_perimeter(polys.take(reps))
    at = np.empty(len(polys), dtype=np.int64)
    at[reps] = np.arange(len(reps))
    mine = at[kin.rep[index]]
    signed, perimeter = signed[mine], perimeter[mine]
    flip = signed < 0
    counts, start = polys.counts[index], polys.offsets[:-1][index]
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    order = ranges(start, counts)
    if flip.any():
        back = np.repeat(2 * start + counts - 1, counts) - order  # each ring backwards
        order = back if flip.all() else np.where(np.repeat(flip, counts), back, order)
    out = Polygons(np.take(polys.coords, order, axis=0), offsets)
    kin = kin.take(index)
    if flip.any():
        anchor = kin.anchor.copy()
        anchor[flip] = out.coords[offsets[:-1][flip]]
        kin = Alike(kin.rep, anchor)
    return out, np.abs(signed), perimeter, kin


def _signed_area_perimeter(polys: Polygons) -> tuple[np.ndarray, np.ndarray]:
    """The signed area (counter-clockwise positive) and the perimeter of every polygon."""
    c = polys.coords
    counts = polys.counts
    first, last = polys.offsets[:-1], polys.offsets[1:] - 1
    # about each polygon's first vertex (no cancellation far from the origin), as contiguous arrays
    x = c[:, 0] - np.repeat(c[first, 0], counts)
    y = c[:, 1] - np.repeat(c[first, 1], counts)
    xn, yn = np.empty_like(x), np.empty_like(y)  # each vertex's successor: a ring closes on its first
    xn[:-1], yn[:-1] = x[1:], y[1:]
    xn[last], yn[last] = x[first], y[first]
    signed = np.add.reduceat(x * yn - xn * y, first) / 2
    perimeter = np.add.reduceat(np.hypot(xn - x, yn - y), first)
    return signed, perimeter


@dataclass(frozen=True)
class Paired:
    """The apertures of a stencil and the contacts each touches."""

    shapes: Polygons  # every aperture read
    geoms: ShapelyOf  # the same as shapely polygons (built when asked for)
    contact_geoms: ShapelyOf  # the contacts as shapely polygons
    kin: Alike  # which apertures are alike up to a shift
    contact_kin: Alike  # which contacts are
    sa: np.ndarray  # (aperture, contact) pairs that touch, by contact then aperture
    pc: np.ndarray
    per: np.ndarray  # (n,) how many apertures touch each contact
    stray: np.ndarray  # the apertures that touch no contact

    @property
    def served(self) -> np.ndarray:
        return np.flatnonzero(self.per > 0).astype(np.int64)

    @property
    def first(self) -> np.ndarray:
        """For each served contact, where its pairs start."""
        return np.searchsorted(self.pc, self.served)


def pair_apertures(contacts: Contacts, shapes: Polygons) -> Paired:
    """Which apertures touch which contacts: those whose boxes meet, then GEOS's intersects once for
    each kind of pair (an aperture and a contact alike to another pair's, at the same offset)."""
    geoms, pads = ShapelyOf(shapes), ShapelyOf(contacts.polygons)
    kin, contact_kin = alike(shapes), alike(contacts.polygons)
    sa, pc = box_pairs(bboxes(shapes), bboxes(contacts.polygons), 0.0)
    if len(sa):
        once, kind = pair_kinds(kin, sa, contact_kin, pc)
        meet = np.asarray(shapely.intersects(geoms[sa[once]], pads[pc[once]]), dtype=bool)[kind]
        sa, pc = sa[meet], pc[meet]
    order = np.lexsort((sa, pc))
    sa, pc = sa[order].astype(np.int64), pc[order].astype(np.int64)
    per = np.bincount(pc, minlength=len(contacts))
    stray = np.flatnonzero(np.bincount(sa, minlength=len(shapes)) == 0)
    return Paired(shapes, geoms, pads, kin, contact_kin, sa, pc, per, stray)


def match_apertures(contacts: Contacts, rows: RowSet, shapes: Polygons, rules: Rules) -> Matched:
    """The apertures of a drawn stencil (ragged polygons, um) as the `Apertures` of its contacts."""
    n = len(contacts)
    paired = pair_apertures(contacts, shapes)
    geoms, sa, per = paired.geoms, paired.sa, paired.per
    stray = []
    stray_shapes = []
    for k in paired.stray.tolist():
        c = geoms[k].centroid
        stray_shapes.append(shapes.polygon(k))
        stray.append(
            {
                "code": "stray_aperture",
                "severity": "error",
                "center_um": [round(c.x, 3), round(c.y, 3)],
                "area_um2": round(float(geoms[k].area), 3),
                "message": f"an aperture at ({c.x:.2f}, {c.y:.2f}) um touches no contact",
            }
        )
    extra = np.flatnonzero(per > 1).astype(np.int64)
    served, first = paired.served, paired.first
    fine = np.zeros(n, dtype=bool)
    normal = np.zeros((n, 2))
    for r in rows.rows:
        if rules.fine(r.pitch):
            fine[r.members] = True
            normal[r.members] = r.normal
    oblique = np.zeros(n, dtype=bool)

    kind = np.full(n, NONE, dtype=np.int8)
    area, perimeter, width = np.zeros(n), np.zeros(n), np.zeros(n)
    axis, side, ext, tip_d = np.zeros((n, 2)), np.zeros(n, dtype=np.int8), np.zeros(n), np.zeros(n)
    # each served contact's aperture: the one touching it; of several, their union (of a union in
    # pieces, the largest piece)
    # (apertures alike up to a shift are measured once)
    if len(extra):
        mine = shapes.take(sa[first])
        rings = [mine.polygon(j) for j in range(len(served))]
        for j in np.flatnonzero(per[served] > 1).tolist():
            ks = sa[first[j] : first[j] + per[served[j]]]
            union = shapely.union_all(geoms[ks])
            part = max(shapely.get_parts(union), key=lambda p: p.area)
            rings[j] = shapely.get_coordinates(part.exterior)[:-1]
        mine = Polygons.from_list(rings)
        mine, ap_area, ap_perimeter, kin = _counter_clockwise(mine, alike(mine), np.arange(len(mine)))
    else:
        mine, ap_area, ap_perimeter, kin = _counter_clockwise(shapes, paired.kin, sa[first])
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(served, weights=mine.counts, minlength=n).astype(np.int64), out=offsets[1:])
    polygons = Polygons(mine.coords, offsets)  # in the order of the contacts
    ap_geoms = ShapelyOf(polygons)
    reps = kin.first
    rep_geoms = ap_geoms[served[reps]]
    at = np.empty(len(mine), dtype=np.int64)
    at[reps] = np.arange(len(reps))
    narrow, long_axes, wide, end = (x[at[kin.rep]] for x in _narrowest(rep_geoms))
    area[served] = ap_area
    perimeter[served] = ap_perimeter
    width[served] = narrow
    kind[served] = SHRUNK
    # in a fine-pitch row every aperture is held to the strip rules (a pad-sized one fails them); its
    # axis points to where it reaches beyond the contact
    f = np.flatnonzero(fine[served])
    if len(f):
        i = served[f]
        long_axis = long_axes[f]
        lo, hi = extent_on(Shapes.of(mine, alike=kin), f, long_axis)  # (once for those alike)
        plo, phi = _ring_extent(contacts.polygons.take(i), long_axis)
        ahead, behind = hi - phi, plo - lo  # how far it reaches beyond the contact either way
        # an aperture within its contact: the way its centre lies from the contact's
        rep = kin.rep[f]
        centroid = shapely.get_coordinates(shapely.centroid(rep_geoms))[at[rep]]
        centre = centroid + kin.anchor[f] - kin.anchor[rep] - contacts.center[i]
        within = np.maximum(ahead, behind) <= 0
        forward = np.where(within, np.einsum("ij,ij->i", centre, long_axis) >= 0, ahead >= behind)
        long_axis = np.where(forward[:, None], long_axis, -long_axis)
        kind[i] = STRIP
        axis[i] = long_axis
        side[i] = np.where(np.einsum("ij,ij->i", long_axis, normal[i]) >= 0, 1, -1)
        ext[i] = np.maximum(0.0, np.where(forward, ahead, behind))
        oblique[i] = np.abs(np.einsum("ij,ij->i", long_axis, normal[i])) < np.cos(np.radians(10.0))
        # a strip is as wide as its body (its straight far end, where a wide tip makes it short); one
        # wider across its axis than that has a tip, as wide along the row as across it
        body = np.minimum(narrow[f], end[f])
        width[i] = body
        tip_d[i] = np.where(wide[f] > body * (1 + TIP_TOL), wide[f], 0.0)
    coords = mine.coords  # in the order of the contacts served
    outlines = Outlines(coords, np.zeros(len(coords)), offsets)
    apertures = Apertures(outlines, kind, area, perimeter, width, axis, side, ext, tip_d, oblique)
    rep = np.arange(n)
    rep[served] = served[kin.rep]
    anchor = np.zeros((n, 2))
    anchor[served] = kin.anchor
    return Matched(
        apertures,
        polygons,
        stray,
        extra,
        stray_shapes,
        ap_geoms,
        paired.contact_geoms,
        Alike(rep, anchor),
        paired.contact_kin,
    )
