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
from .measure import narrowest
from .model import NONE, SHRUNK, STRIP, Apertures, Contacts, Outlines, Polygons, RowSet, Tips
from .numeric import ranges
from .pairs import box_pairs
from .rules import Rules

#: a strip whose width across its axis exceeds its body's by more than this fraction has a tip
TIP_TOL = 0.01
#: an aperture whose extent along its long axis exceeds that across it by at most this fraction is square
SQUARE_TOL = 0.01
#: an aperture within its contact whose centre lies no farther than this from the contact's along its
#: axis (um) is centred on it
CENTRED_UM = 0.05


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
    tips: Tips  # aperture i's round tip found again (radius 0: none)


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


def match_apertures(
    contacts: Contacts,
    rows: RowSet,
    shapes: Polygons,
    rules: Rules,
    tips: Tips | None = None,
) -> Matched:
    """The apertures of a drawn stencil (ragged polygons, um) as the `Apertures` of its contacts.
    tips: each shape's round tip found again, kept with its aperture (`Matched.tips`): a strip with one
    has its area, perimeter and tip measured on its arc; an aperture united from several shapes has
    none."""
    n = len(contacts)
    paired = pair_apertures(contacts, shapes)
    geoms, sa, per = paired.geoms, paired.sa, paired.per
    stray = []
    stray_shapes = []
    for k in paired.stray.tolist():
        c = geoms[k].centroid
        x, y = round(c.x, 3) + 0.0, round(c.y, 3) + 0.0  # (+ 0.0: no -0)
        stray_shapes.append(shapes.polygon(k))
        stray.append(
            {
                "code": "stray_aperture",
                "severity": "error",
                "center_um": [x, y],
                "area_um2": round(float(geoms[k].area), 3),
                "message": f"an aperture at ({x:.2f}, {y:.2f}) um touches no contact",
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
    narrow, long_axes, wide, end = (x[at[kin.rep]] for x in narrowest(rep_geoms))
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
        # a square (or round) aperture has no long axis: it runs across its row, as a strip would
        square = hi - lo <= wide[f] * (1 + SQUARE_TOL)
        across = np.stack([-long_axis[:, 1], long_axis[:, 0]], axis=1)
        nearer = np.abs(np.einsum("ij,ij->i", across, normal[i])) > np.abs(np.einsum("ij,ij->i", long_axis, normal[i]))
        turn = square & nearer
        if turn.any():
            long_axis = np.where(turn[:, None], across, long_axis)
            lo, hi = extent_on(Shapes.of(mine, alike=kin), f, long_axis)
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
        # (one centred on its contact and within it, a pad shrunk evenly, has no side: no tip, no offset)
        side[i[within & (np.abs(np.einsum("ij,ij->i", centre, long_axis)) <= CENTRED_UM)]] = 0
        ext[i] = np.maximum(0.0, np.where(forward, ahead, behind))
        oblique[i] = np.abs(np.einsum("ij,ij->i", long_axis, normal[i])) < np.cos(np.radians(10.0))
        # a strip is as wide as its body (its straight far end, where a wide tip makes it short); one
        # wider across its axis than that has a tip, as wide along the row as across it
        body = np.minimum(narrow[f], end[f])
        width[i] = body
        tip_d[i] = np.where(wide[f] > body * (1 + TIP_TOL), wide[f], 0.0)
    found = Tips.none(n)
    if tips is not None:
        own = sa[first][per[served] == 1]  # (of a union of several shapes, none)
        mine_tips = tips.take(own)
        at_c = served[per[served] == 1]
        found.centre[at_c], found.radius[at_c] = mine_tips.centre, mine_tips.radius
        found.area[at_c], found.perimeter[at_c] = mine_tips.area, mine_tips.perimeter
        arc = at_c[mine_tips.radius > 0]
        area[arc], perimeter[arc] = found.area[arc], found.perimeter[arc]
        tip_d[arc] = np.where(tip_d[arc] > 0, 2 * found.radius[arc], 0.0)
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
        found,
    )
