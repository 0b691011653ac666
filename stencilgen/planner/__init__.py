"""Pure: contacts + rows + rules -> one aperture per contact (RULES.md rules 1-9).

- Contacts in a row at fine pitch (p <= fine_pitch_um) get a strip across the row (rule 2) of width
  min(width_ratio * contact width, p - web_min_um, max_width_um) (rule 3); neighbours' tips (strategy
  "tip") or extensions (strategy "offset") alternate sides of the centerline (rule 4).
- The contacts of a corner get strips along one oblique direction, the bisector of the two rows'
  outward normals unless oblique_angle_deg forces one (rule 5); measured across that direction the
  width and web rules still hold.
- Each strip is sized toward volume_target * pi d^3 / 6 (rule 6): first its length beyond the contact
  (up to tip_extension_max pitches), then its tip; never above the limit at the top of the transfer band.
- Coarse-pitch rows, isolated contacts and area arrays get the contact's shape shrunk by shrink_um
  (rule 9), so no aperture in a grid can reach a second contact. Staggered double rows are rows like any
  other: a tip toward the partner row stops short of it (clearance), or passes between its contacts.
- Last, every aperture is checked against the other contacts (clearance_um), the other apertures
  (web_min_um) and the keep-in outline (edge_margin_um); an aperture that breaks one shrinks (tip, then
  length) until it holds; what cannot be mended is left for the checks to report.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely

from ..checks import ERROR, LENGTH_TOL_UM, WARNING, check_plan
from ..distance import Shapes, box_gap, box_pairs, disc_distances, distances, polygon_distances, with_discs
from ..geometry import bboxes, box_bounds, extent_along, keep_in_inner, outlines_to_polygons, points_box, to_shapely
from ..measure import narrowest
from ..model import (
    NONE,
    OPEN_UM,
    REPORT_REACH,
    SHRUNK,
    STRIP,
    Apertures,
    Contacts,
    Instances,
    Outlines,
    Plan,
    Polygons,
    RowSet,
)
from ..numeric import choose, filled
from ..physics import area_for_volume, least_area, limit_area, target_area, volume_limit
from ..rules import Rules
from . import congruent, strips
from .islands import compose, island_gap, islands, joins, plan_boxes, subset_rows, take_plan
from .pads import (
    CUT_INSET_UM,
    NO_LIMIT,
    PadSizes,
    cut_by,
    grow,
    inscribed,
    inset,
    pad_shapes,
    pad_widths,
    size_pads,
    waisted,
)

#: chords per tip arc for the keep-in test (tangent to the arc: the polygon holds the tip); clearance
#: and web are measured on the true disc (stencilgen/distance.py)
PLAN_ARC_CHORDS = 24
#: clearance (a hard rule) is kept from a tip disc this much larger (relative to its radius): a reader
#: that draws a DXF bulge or a Gerber arc as cubic Bezier curves (ezdxf's paths) places the arc up to
#: 2.7e-4 of its radius outside the circle, and still finds it kept. (Not the web, a warning: rule 11's
#: strips at a pitch that leaves exactly web_min_um would all break it.)
ARC_READ_SLACK = 4e-4


def _rot90(v: np.ndarray) -> np.ndarray:
    return np.stack([-v[..., 1], v[..., 0]], axis=-1)


def _turn(v: np.ndarray, deg: Any) -> np.ndarray:
    """Vectors v (..., 2) turned by deg degrees (counter-clockwise; one angle, or one per vector)."""
    phi = np.radians(deg)
    cos, sin = np.cos(phi), np.sin(phi)
    return np.stack([cos * v[..., 0] - sin * v[..., 1], sin * v[..., 0] + cos * v[..., 1]], axis=-1)


def _unit(deg: float) -> np.ndarray:
    return np.array([np.cos(np.radians(deg)), np.sin(np.radians(deg))])


def _strip_layout(contacts: Contacts, rows: RowSet, rules: Rules) -> dict[str, np.ndarray]:
    """For every contact that gets a strip: its row direction u, pitch, strip axis (base direction),
    tip side, and whether it is an oblique corner strip."""
    n = len(contacts)
    is_strip = np.zeros(n, dtype=bool)
    u = np.zeros((n, 2))
    normal = np.zeros((n, 2))  # the row's transverse direction n (outward)
    base = np.zeros((n, 2))  # strip axis before the side is applied (points outward)
    pitch = np.zeros(n)
    side = np.zeros(n, dtype=np.int8)
    corner = np.zeros(n, dtype=bool)
    forced = _unit(rules.oblique_angle_deg) if rules.oblique_angle_deg is not None else None
    in_corner = np.zeros(n, dtype=bool)
    if rules.oblique_scope == "corners":
        for c in rows.corners:
            in_corner[c.members] = True
    u2 = np.zeros((n, 2))  # a contact in two rows (where one runs past the end of another): the other
    pitch2 = np.zeros(n)
    beside = np.full((n, 2), -1, dtype=np.int64)
    for r in rows.rows:
        if not rules.fine(r.pitch):
            continue
        m = r.members
        again = m[is_strip[m]]
        u2[again], pitch2[again] = u[again], pitch[again]
        is_strip[m] = True
        u[m] = r.direction
        normal[m] = r.normal
        pitch[m] = r.pitch
        axis = r.normal
        if rules.oblique_scope == "all":
            want = forced if forced is not None else _unit(45.0)
            if abs(want @ r.direction) <= np.cos(np.radians(rules.corner_min_angle_deg)) + 1e-9:  # not along the row
                axis = want if want @ r.normal >= 0 else -want
                corner[m] = abs(axis @ r.normal) < 1 - 1e-9  # oblique to this row, as a corner's strips are
        base[m] = axis
        # alternate by position along the row (a missing contact keeps the pattern of the grid); of the two
        # patterns, the one whose last oblique strips before the plain ones point outward: an oblique tip
        # pointing inward would run into its plain neighbour
        t = (contacts.center[m] - contacts.center[m[0]]) @ r.direction
        k = np.rint(t / r.pitch).astype(np.int64)
        corner_k = set(k[in_corner[m]].tolist())
        plain_k = set(k[~in_corner[m]].tolist())
        edge = np.array([kk in corner_k and (kk - 1 in plain_k or kk + 1 in plain_k) for kk in k.tolist()], dtype=bool)
        scores = [int(((k[edge] + p) % 2 == 0).sum()) for p in (0, 1)]
        p = 0 if scores[0] >= scores[1] else 1
        side[m] = np.where((k + p) % 2 == 0, 1, -1)
        # each contact's neighbours in the row, one pitch either side (-1: none there)
        order = np.argsort(k, kind="stable")
        ks, ms = k[order], m[order]
        step = np.diff(ks) == 1
        beside[ms[1:][step], 0] = ms[:-1][step]
        beside[ms[:-1][step], 1] = ms[1:][step]
    if rules.oblique_scope == "corners":
        for c in rows.corners:
            axis = c.bisector if forced is None else forced
            if forced is not None and axis @ c.bisector < 0:
                axis = -axis
            m = c.members[is_strip[c.members]]
            base[m] = axis
            corner[m] = True
    wc2 = np.zeros(n)  # the contact's width along its second row
    two = np.flatnonzero(np.abs(u2).sum(axis=1) > 0)
    if len(two):
        wc2[two] = extent_along(contacts.polygons.take(two), u2[two])
    slide = np.zeros(n)  # how far each strip is moved across its axis from the contact's centre
    turned = filled(n, "")  # why a tip left its side of the alternation (rule 6's vocabulary)
    return {
        "is_strip": is_strip,
        "u": u,
        "u2": u2,
        "pitch2": pitch2,
        "wc2": wc2,
        "wc_tip": _tip_room(contacts, is_strip, u, wc2),
        "normal": normal,
        "base": base,
        "pitch": pitch,
        "side": side,
        "corner": corner,
        "slide": slide,
        "turned": turned,
        "cut_body": np.zeros(n, dtype=bool),
        "sink": np.zeros(n),  # a sunk tip: its centre this fraction of h2 inside the contact (L < 0)
        "beside": beside,
    }


def _between_mates(contacts: Contacts, idx: np.ndarray, lay: dict[str, np.ndarray]) -> np.ndarray:
    """For the strips `idx`: True for a plain strip whose two neighbours in its row (one pitch either
    side) are plain strips of alike contacts with their tips on its side, unslid as it is."""
    nb = lay["beside"][idx]
    mid = (nb >= 0).all(axis=1) & ~lay["corner"][idx] & ~lay["cut_body"][idx]
    mid &= (lay["slide"][idx] == 0) & (lay["sink"][idx] == 0)
    k, both = idx[mid], nb[mid]
    alike = np.ones(len(k), dtype=bool)
    for j in (0, 1):
        o = both[:, j]
        alike &= lay["is_strip"][o] & ~lay["corner"][o] & (lay["side"][o] == lay["side"][k])
        alike &= (lay["slide"][o] == 0) & (lay["sink"][o] == 0) & ~lay["cut_body"][o]
        alike &= np.isclose(contacts.d[o], contacts.d[k]) & np.isclose(contacts.length[o], contacts.length[k])
        alike &= np.isclose(lay["wc_tip"][o], lay["wc_tip"][k]) & np.isclose(lay["pitch"][o], lay["pitch"][k])
        alike &= lay["tip_width"][o] == lay["tip_width"][k]
    mid[mid] = alike
    return mid


def _tip_room(contacts: Contacts, is_strip: np.ndarray, u: np.ndarray, wc2: np.ndarray) -> np.ndarray:
    """How wide a strip's tip may be (a disc, as wide along a row as across it): the contact's width
    along its row (and its second row, `wc2` where it has one), and along the contact's own side nearest
    the row where that lies within SNAP_DEG of it (a row's fitted direction a little off a rectangle's
    sides finds the contact wider than it is), less NARROWER_UM (rule 3: narrower than the contact)."""
    out = np.zeros(len(contacts))
    idx = np.flatnonzero(is_strip)
    if not len(idx):
        return out
    polys = contacts.polygons.take(idx)
    wc = extent_along(polys, u[idx])
    wc = np.where(wc2[idx] > 0, np.minimum(wc, wc2[idx]), wc)
    a = np.radians(contacts.angle_deg[idx])
    for side in (np.stack([np.cos(a), np.sin(a)], axis=1), np.stack([-np.sin(a), np.cos(a)], axis=1)):
        near = np.flatnonzero(np.abs(np.einsum("ij,ij->i", side, u[idx])) > np.cos(np.radians(SNAP_DEG)))
        if len(near):
            wc[near] = np.minimum(wc[near], extent_along(polys.take(near), side[near]))
    out[idx] = wc - NARROWER_UM
    return out


def _inside_parts(contacts: Contacts, idx: np.ndarray, inner: Any) -> np.ndarray:
    """For contacts idx: the part of each inside `inner` (the keep-in less its margin, less
    CUT_INSET_UM) where the contact reaches beyond it, else None (an object array)."""
    out = np.full(len(idx), None, dtype=object)
    if inner is None or not len(idx):
        return out
    cut_at = inset(inner)
    box = bboxes(contacts.polygons.take(idx))
    bounds = box_bounds(cut_at)
    ask = np.arange(len(idx))
    if bounds is not None:  # a box: a contact whose box lies inside it is inside
        x0, y0, x1, y1 = bounds
        ask = np.flatnonzero(~((box[:, 0] > x0) & (box[:, 1] > y0) & (box[:, 2] < x1) & (box[:, 3] < y1)))
    if not len(ask):
        return out
    geoms = to_shapely(contacts.polygons.take(idx[ask]))
    leaves = ~shapely.contains(cut_at, geoms)
    if bounds is not None:  # (GEOS's clipping by a rectangle: the same part, several times faster)
        out[ask[leaves]] = shapely.clip_by_rect(geoms[leaves], *bounds)
    else:
        out[ask[leaves]] = shapely.intersection(cut_at, geoms[leaves])
    return out


def _extent_across(parts: np.ndarray, center: np.ndarray, perp: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The least and greatest offset along `perp` from `center` of each shapely geometry in `parts`
    (an empty one: lo > hi)."""
    lo, hi = np.full(len(parts), np.inf), np.full(len(parts), -np.inf)
    xy, owner = shapely.get_coordinates(parts, return_index=True)
    if len(xy):
        t = np.einsum("ij,ij->i", xy - center[owner], perp[owner])
        np.minimum.at(lo, owner, t)
        np.maximum.at(hi, owner, t)
    return lo, hi


def _sin_to_row(axis: np.ndarray, u: np.ndarray) -> np.ndarray:
    """|sin| of the angle between strip axes and their rows' directions u, (n, 2) each."""
    return np.abs(axis[:, 0] * u[:, 1] - axis[:, 1] * u[:, 0])


def _pitch_less_web(s: np.ndarray, p: np.ndarray, rules: Rules) -> np.ndarray:
    """Rule 3's second term for strips at sin s to rows of pitch p: the pitch, measured across the
    strip, less web_min_um."""
    return p * s - rules.web_min_um


def _width_terms(wc: np.ndarray, s: np.ndarray, p: np.ndarray, rules: Rules) -> np.ndarray:
    """Rule 3's width terms for strips at sin s to their rows (3, n): width_ratio times the contact's
    width, the pitch less the web (never under min_aperture_um: rule 11 keeps a printable strip and
    leaves a thin web a warning), and max_width_um; the width is the least of them."""
    web = np.maximum(_pitch_less_web(s, p, rules), rules.min_aperture_um)
    return np.stack([rules.width_ratio * wc * s, web, np.full(len(wc), rules.max_width_um)])


def _padded(turns: list[list[float]]) -> np.ndarray:
    """Per corner, its turns as one row of a table; a corner with fewer repeats its last."""
    tries = max(len(t) for t in turns)
    return np.array([t + [t[-1]] * (tries - len(t)) for t in turns])


def _size_strips(
    contacts: Contacts, idx: np.ndarray, lay: dict[str, np.ndarray], rules: Rules, inner: Any = None
) -> dict[str, np.ndarray]:
    """Width, extents and the length/tip that reach the volume target within the room there is; a
    strip's far end stops at the keep-in less its margin (`inner`) where its contact reaches past it."""
    polys = contacts.polygons.take(idx)
    slide = lay["slide"][idx]
    c = contacts.center[idx] + slide[:, None] * _rot90(lay["base"][idx])
    sgn = lay["side"][idx].astype(float)
    axis = lay["base"][idx] * sgn[:, None]
    u = lay["u"][idx]
    p = lay["pitch"][idx]
    # the contact's extents along the axis and its width along the row
    proj = polys.coords - np.repeat(c, polys.counts, axis=0)
    along = np.einsum("ij,ij->i", proj, np.repeat(axis, polys.counts, axis=0))
    starts = polys.offsets[:-1]
    h2 = np.maximum.reduceat(along, starts)  # toward the tip
    h1 = -np.minimum.reduceat(along, starts)  # toward the other side
    wc = extent_along(polys, u)
    s = _sin_to_row(axis, u)
    terms = _width_terms(wc, s, p, rules)
    two = np.flatnonzero(lay["wc2"][idx] > 0)
    if len(two):  # a contact in two rows: rule 3 along each (the lesser width term of the two)
        u2 = lay["u2"][idx[two]]
        more = _width_terms(lay["wc2"][idx[two]], _sin_to_row(axis[two], u2), lay["pitch2"][idx[two]], rules)
        terms[:, two] = np.minimum(terms[:, two], more)
    w = np.maximum(terms.min(axis=0), 1.0)  # a contact too narrow: a sliver, left out (rule 11)
    # what sets the width: rule 3's ratio or cap ("width"), or the pitch less the web beside the
    # neighbours' strips, measured at the strip's angle (rules 3 and 5: "web")
    w_why = choose(terms.argmin(axis=0) == 1, "web", "width")
    c0 = contacts.center[idx].copy()  # where the strip stands unslid
    part = lay["inside"][idx]
    held = np.flatnonzero(part != None)  # noqa: E711 (an object array: elementwise)
    if len(held):  # a contact that reaches beyond the keep-in: the strip within the part inside it
        perp = _rot90(lay["base"][idx[held]])
        lo, hi = _extent_across(part[held], contacts.center[idx[held]], perp)
        lo, hi = lo + CUT_INSET_UM, hi - CUT_INSET_UM  # (not on the contact's own edge)
        some = hi > lo  # (none inside: the keep-in leaves it unprintable, as it stands)
        held, lo, hi, perp = held[some], lo[some], hi[some], perp[some]
        room = np.maximum(hi - lo, 1.0)  # (narrower: a sliver, left out)
        capped = room < w[held]
        w[held] = np.minimum(w[held], room)
        w_why[held[capped]] = "keep_in"
        slide = slide.copy()
        slide[held] = np.clip(slide[held], lo + w[held] / 2, np.maximum(hi - w[held] / 2, lo + w[held] / 2))
        c[held] = contacts.center[idx[held]] + slide[held, None] * perp
        # (where the keep-in moves the strip, it stands there unslid too)
        c0[held] = contacts.center[idx[held]] + np.clip(0.0, lo + w[held] / 2, hi - w[held] / 2)[:, None] * perp
    oblique = np.flatnonzero(lay["corner"][idx] | (slide != 0))
    if len(oblique):  # an oblique (or slid) strip's far end stays inside its contact across its whole width
        h1[oblique] = _far_edge(polys.take(oblique), c[oblique], axis[oblique], w[oblique], h1[oblique])
    cut = np.flatnonzero(lay["cut_body"][idx])
    if len(cut):  # the body ends where its band leaves the contact on the tip side (_cut_bodies)
        h2[cut] = _far_edge(polys.take(cut), c[cut], -axis[cut], w[cut], h2[cut])
    if inner is not None:
        h1 = _far_end_inside(inner, c, axis, w, h1, h2)

    d = contacts.d[idx]
    cap = contacts.cap(idx)
    a_want = target_area(d, rules, cap)  # never above the limit at the top of the band
    a_limit = limit_area(d, rules, cap)
    L_max = rules.tip_extension_max * p
    # room for a tip: neighbours on the same side are two pitches away along the row (measured across
    # the strip), the opposite neighbours' contacts and strip ends one pitch away at the contact edge
    if rules.strategy == "tip":
        wc_tip = lay["wc_tip"][idx]
        # a contact so small that even the round end alone passes the volume: a narrower strip (none at
        # all where the volume allowed is nothing: a pair's second print whose bump fills the mass)
        by_volume = np.sqrt(8 * a_want / np.pi) * (1 - 1e-6)
        w_why[by_volume < w] = "volume_limit"
        w = np.minimum(w, by_volume)
        cap = np.pi * w * w / 8
        L = np.clip((a_want - cap) / w - (h1 + h2), 0.0, L_max)
        # a sunk tip (the needy round's variant): centred inside the contact, the body ending there;
        # it still reaches SINK_REACH_UM beyond the contact, within rule 3's width, or it is not sunk
        L_sunk = -lay["sink"][idx] * h2
        widest = np.minimum(wc_tip, w * lay["tip_width"][idx])
        sunk = (lay["sink"][idx] > 0) & (2 * (SINK_REACH_UM - L_sunk) <= widest)
        L = np.where(sunk, L_sunk, L)
        # a contact long across the row: shorten the body on its far side so the limit holds
        excess = strips.tip_strip_area(w, h1, h2, L, w) - a_want
        h1 = np.maximum(h1 - np.maximum(excess, 0.0) / w, -h2 - np.minimum(L, 0.0) + 1e-3)
        beyond = np.maximum(L, 0.0)  # (a sunk tip is as near its neighbours as one at the contact's edge)
        r_room = np.minimum.reduce(
            [
                p * s - rules.web_min_um / 2,
                np.sqrt((p * s - w / 2) ** 2 + beyond**2) - rules.web_min_um,
                np.sqrt(np.maximum(p * s - wc * s / 2, 0) ** 2 + beyond**2) - rules.clearance_um,
            ]
        )
        # a plain strip between two alike neighbours whose tips lie on its side (a row held within an
        # outline turns them all one way): the three tips side by side, one pitch apart, share it
        mid = _between_mates(contacts, idx, lay)
        r_room[mid] = np.minimum(r_room[mid], (p[mid] * s[mid] - rules.web_min_um) / 2)
        # the whole aperture, tip included, stays narrower than its contact along the row (rule 3): the
        # tip is a disc, as wide along the row as across it, whatever the strip's angle
        # and the strip stays a strip (widest_tip)
        long_enough = widest_tip(w, h1 + h2 + L, lay["tip_width"][idx], lay["tip_tilt"][idx])
        D_max = np.maximum(np.minimum.reduce([2 * r_room, wc_tip, long_enough]), w)
        D = strips.solve_tip_diameter(w, h1, h2, L, a_want, D_max)
        # short of the target: the body is at its longest and the tip at its widest, which is either
        # the contact's width (rule 3: the length limit is the one to relax), the strip's own length,
        # or its neighbours' room
        by_width = np.minimum(2 * r_room, wc_tip) >= np.minimum(wc_tip, long_enough) - 1e-9
        why = choose(by_width, "tip_extension_max", "room")
    else:
        L = np.clip(a_want / w - (h1 + h2), 0.0, L_max)
        excess = strips.plain_strip_area(w, h1, h2, L) - a_want
        h1 = np.maximum(h1 - np.maximum(excess, 0.0) / w, -h2 + 1e-3)
        D = np.zeros(len(idx))
        why = filled(len(idx), "tip_extension_max")
    why[a_want >= a_limit] = "volume_limit"  # the limit, not the target, sets the size
    g = {"center": c, "axis": axis, "w": w, "h1": h1, "h2": h2, "L": L, "D": D, "a_want": a_want}
    g["why"] = why
    # the web its row's pitch leaves beside its neighbours' strips where rule 11 holds the width at
    # min_aperture_um above the pitch less web_min_um (a warning the planner cannot mend): a web no
    # thinner than that does not hold the strip back
    # (straight strips only: an oblique strip grows along its row as it grows longer, rule 3)
    forced = np.where(lay["corner"][idx], rules.web_min_um, p * s - w)
    g["web_floor"] = np.where(forced < rules.web_min_um, np.maximum(forced, 0.0), rules.web_min_um)
    # the body unslid, for the web its contacts force on it (_Room._forced_webs): its centre, and whether
    # it is a plain strip (a corner strip's direction is the planner's choice, not forced)
    g["c0"], g["plain"] = c0, ~lay["corner"][idx]
    g["shrunk"] = np.zeros(len(idx), dtype=bool)  # shrunk for the room its neighbours leave (_shrink_strips)
    g["tip_last"] = np.zeros(len(idx), dtype=bool)  # shrunk in length first, then in its tip
    g["sunk"] = sunk if rules.strategy == "tip" else np.zeros(len(idx), dtype=bool)  # only its tip shrinks
    g["w_sized"], g["w_why"] = w.copy(), w_why
    g["tip_width"], g["tip_tilt"] = lay["tip_width"][idx], lay["tip_tilt"][idx]
    return g


#: a tip stays this much narrower than its contact along the row (rule 3), far above the 1 nm grid of
#: every file written, where arcs are drawn as chords inside the disc (um)
NARROWER_UM = 0.1
#: a contact's side within this angle of its row's direction also measures the width of its tip (deg): a
#: row fitted through a few centres that are not quite in line runs a little off its contacts' sides and
#: finds them wider than they are; the lesser of the two widths is kept
SNAP_DEG = 10.0

#: a strip's tip is centred at least this many tip diameters from its far end: the strip is at least
#: 1.25 tip diameters long (and its far end never lies within its tip)
TIP_REACH = 0.75
#: a tip up to this many times the strip's width leaves the smallest rotated rectangle that holds the
#: strip along its axis, however short the strip
TIP_WIDTH = 2.7
#: a wider tip tilts that rectangle; its tilt stays under this (deg) where the tip is no wider than the
#: width plus twice the sine of it times the distance from the far end to the tip's centre
TIP_TILT_DEG = 12.0
#: where strips stay below volume_min, the plan is made again with tips held to this (width, tilt):
#: a wide tip that takes its neighbours' room can leave more of them short; the better plan is kept
NARROW_TIPS = (2.5, 0.0)


def widest_tip(w: np.ndarray, reach: np.ndarray, width: Any = TIP_WIDTH, tilt_deg: Any = TIP_TILT_DEG) -> np.ndarray:
    """The widest tip a strip of width w keeps, its centre `reach` from its far end, and still reads as
    a strip: centred at least TIP_REACH tip diameters from its far end, and at most `width` x w or
    wider where the strip is long enough that the smallest rotated rectangle holding it tilts by less
    than `tilt_deg` (anyone measuring the drawn shape by that rectangle finds the strip's own axis and
    width, and rule 3 holds as planned)."""
    tilt = w + 2 * np.sin(np.radians(tilt_deg)) * reach
    return np.minimum(reach / TIP_REACH, np.maximum(width * w, tilt))


#: a vertex this close to a line lies on it (um)
ON_LINE_UM = 1e-9


def _far_edge(pads: Polygons, c: np.ndarray, axis: np.ndarray, w: np.ndarray, h1: np.ndarray) -> np.ndarray:
    """How far behind the centre (against `axis`) the contact reaches all across a band of width w:
    along the band's middle and both its edges, the farthest point of the contact behind the centre
    (no farther than h1), the least of the three; 0 where a line misses the contact. Every polygon
    edge is cut with the three lines at once."""
    n = len(c)
    b = np.stack([axis[:, 1], -axis[:, 0]], axis=1)
    owner = np.repeat(np.arange(n), pads.counts)
    rel = pads.coords - c[owner]
    s = np.einsum("ij,ij->i", rel, b[owner])  # across the strip
    t = np.einsum("ij,ij->i", rel, axis[owner])  # along it
    nxt = np.arange(len(s)) + 1
    nxt[pads.offsets[1:] - 1] = pads.offsets[:-1]  # each ring closes on its first vertex
    s2, t2 = s[nxt], t[nxt]
    reach = h1.copy()
    for x in (-0.5, 0.0, 0.5):
        line = (x * w)[owner]
        a, z = s - line, s2 - line
        on = np.abs(a) <= ON_LINE_UM  # a vertex on the line (a band's edge through a corner of a slid strip)
        cross = (a * z < 0) & ~on & (np.abs(z) > ON_LINE_UM)  # the edge crosses the line between its ends
        tc = np.where(cross, t + (t2 - t) * a / np.where(cross, a - z, 1.0), np.inf)
        tc = np.minimum(tc, np.where(on, t, np.inf))
        # the cut is the line within h1 + 1 of the centre: its farthest point behind the centre
        tc = np.where(tc <= (h1 + 1)[owner], tc, np.inf)
        first = np.full(n, np.inf)
        np.minimum.at(first, owner, tc)
        reach = np.where(np.isfinite(first), np.minimum(reach, -first), 0.0)
    return np.maximum(reach, 0.0)


def _far_end_inside(inner: Any, c: np.ndarray, axis: np.ndarray, w: np.ndarray, h1: np.ndarray, h2: np.ndarray):
    """h1 cut back (bisection) where a corner of the strip's far end lies outside `inner` (the keep-in
    less its margin, itself less CUT_INSET_UM): a contact within the margin of the die edge gets a strip
    that ends at the margin (rule 8); at most back to the contact's edge on the tip side."""
    cut_at = inset(inner)
    b = _rot90(axis)
    bounds = box_bounds(cut_at)

    def inside(k: np.ndarray, h: np.ndarray) -> np.ndarray:
        ok = np.ones(len(k), dtype=bool)
        for x in (-0.5, 0.5):
            p = c[k] - h[:, None] * axis[k] + (x * w[k])[:, None] * b[k]
            if bounds is not None:  # (as contains_xy: the interior only)
                x0, y0, x1, y1 = bounds
                ok &= (p[:, 0] > x0) & (p[:, 0] < x1) & (p[:, 1] > y0) & (p[:, 1] < y1)
            else:
                ok &= shapely.contains_xy(cut_at, p[:, 0], p[:, 1])
        return ok

    every = np.arange(len(c))
    out = every[~inside(every, h1)]
    if not len(out):
        return h1
    lo, hi = -h2[out] + 1e-3, h1[out]
    for _ in range(14):
        mid = (lo + hi) / 2
        ok = inside(out, mid)
        lo, hi = np.where(ok, mid, lo), np.where(ok, hi, mid)
    h1 = h1.copy()
    h1[out] = lo
    return h1


def _strip_shapes(g: dict[str, np.ndarray], rules: Rules) -> tuple[Outlines, np.ndarray, np.ndarray, np.ndarray]:
    D = g["D"] if rules.strategy == "tip" else None
    out = strips.strip_outlines(g["center"], g["axis"], g["w"], g["h1"], g["h2"], g["L"], D)
    if D is not None:
        per = strips.tip_strip_perimeter(g["w"], g["h1"], g["h2"], g["L"], D)
        ext = g["L"] + D / 2
    else:
        per = strips.plain_strip_perimeter(g["w"], g["h1"], g["h2"], g["L"])
        ext = g["L"]
    return out, _strip_area(g, rules), per, ext


def _strip_geoms(g: dict[str, np.ndarray], rules: Rules, k: np.ndarray | slice = slice(None)) -> np.ndarray:
    D = g["D"][k] if rules.strategy == "tip" else None
    pts = strips.strip_polygons(
        g["center"][k], g["axis"][k], g["w"][k], g["h1"][k], g["h2"][k], g["L"][k], D, PLAN_ARC_CHORDS
    )
    return shapely.polygons(pts)


#: a strip reads as a strip where the long side of the smallest rotated rectangle holding it runs
#: within this angle of its axis (deg): a reader that takes the strip's axis and width from that
#: rectangle measures rule 3 as planned
READ_AXIS_DEG = 1.0


def _reads_as_strip(g: dict[str, np.ndarray], rules: Rules, k: np.ndarray) -> np.ndarray:
    """Whether each strip k (tip included) reads as a strip by its smallest rotated rectangle."""
    if not len(k):
        return np.zeros(0, dtype=bool)
    rect = shapely.get_coordinates(shapely.minimum_rotated_rectangle(_strip_geoms(g, rules, k))).reshape(-1, 5, 2)
    e1, e2 = rect[:, 1] - rect[:, 0], rect[:, 2] - rect[:, 1]
    long = np.where((np.hypot(*e1.T) >= np.hypot(*e2.T))[:, None], e1, e2)
    cos = np.abs(np.einsum("ij,ij->i", long, g["axis"][k])) / np.maximum(np.hypot(*long.T), 1e-12)
    return cos >= np.cos(np.radians(READ_AXIS_DEG))


def _shrink_strips(
    g: dict[str, np.ndarray],
    strip_idx: np.ndarray,
    corner: np.ndarray,
    update: Any,
    violating: Any,
    touching: Any,
    min_width: float = 0.0,
    only: np.ndarray | None = None,
) -> None:
    """Strips that break clearance, web or keep-in shrink: their tip, then their length (bisection
    per strip; the length first where g["tip_last"]: a wide tip near the contact may fit where a long
    strip does not); strips still too close at their shortest get narrower. Where a corner strip and a
    plain strip are too close, the corner strip gives way first, and the plain strip too where the
    corner strip at its smallest still touches another aperture (`touching`, for contact ids: two
    apertures that touch print as one opening). `only`: the strips (positions) that may shrink; the
    others stand as they are."""
    L0, D0, w0 = g["L"].copy(), g["D"].copy(), g["w"].copy()

    def apply(k: np.ndarray, f: np.ndarray) -> None:
        first, then = np.clip(2 * f - 1, 0, 1), np.clip(2 * f, 0, 1)
        tip_last, sunk = g["tip_last"][k], g["sunk"][k]
        # (a sunk tip keeps its place inside the contact; only its diameter shrinks, as far as it still
        # reaches SINK_REACH_UM beyond the contact)
        L = np.where(sunk, L0[k], np.where(tip_last, first, then) * L0[k])
        least = np.where(sunk, np.minimum(np.maximum(w0[k], 2 * (SINK_REACH_UM - L0[k])), D0[k]), w0[k])
        D = least + np.where(sunk, f, np.where(tip_last, then, first)) * (D0[k] - least)
        # (a strip shortened with its tip wide stays a strip: the tip no wider than its length allows)
        widest = widest_tip(w0[k], g["h1"][k] + g["h2"][k] + L, g["tip_width"][k], g["tip_tilt"][k])
        g["D"][k] = np.maximum(np.minimum(D, widest), w0[k])
        g["L"][k] = L
        update(k)

    def bisect(k: np.ndarray, set_f: Any, lo0: Any, check: Any) -> np.ndarray:
        lo, hi = np.broadcast_to(np.asarray(lo0, dtype=float), len(k)).copy(), np.ones(len(k))
        for _ in range(10):
            mid = (lo + hi) / 2
            set_f(k, mid)
            bad = check(strip_idx[k])
            lo, hi = np.where(bad, lo, mid), np.where(bad, mid, hi)
        set_f(k, lo)
        return k[check(strip_idx[k])]

    def narrow(k: np.ndarray, f: np.ndarray) -> None:
        g["w"][k] = w0[k] * f
        g["D"][k] = g["w"][k]
        g["L"][k] = 0.0
        update(k)

    pool = np.arange(len(strip_idx)) if only is None else only
    bad = pool[violating(strip_idx[pool])]
    if not len(bad):
        return
    floor = np.minimum(1.0, min_width / np.maximum(w0, 1e-9))  # narrowing stops at the printable width
    is_corner = corner[strip_idx[bad]]
    # corner strips first; then the others, which do not give way to a corner strip that may shrink
    # itself (one that stands as it is, outside `only`, gives way to nothing) unless it still touches
    # another aperture at its smallest
    yielding = corner.copy()
    if only is not None:
        yielding = np.zeros(len(corner), dtype=bool)
        yielding[strip_idx[pool]] = corner[strip_idx[pool]]
    for group, plain in ((bad[is_corner], False), (bad[~is_corner], True)):
        ignore = yielding if plain else None
        check = violating if ignore is None else (lambda which, ig=ignore: violating(which, ig))
        # (the corner strips break a rule as found above: an aperture's verdict is its own, whichever
        # others are asked with it)
        k = group if ignore is None or not len(group) else group[check(strip_idx[group])]
        if len(k):
            still = bisect(k, apply, 0.0, check)
            if len(still):  # narrower where clearance or keep-in demand it (a thin web is only a warning)
                hard = lambda which: violating(which, None, False)  # noqa: E731
                still = still[hard(strip_idx[still])]
                left = bisect(still, narrow, np.maximum(0.5, floor[still]), hard) if len(still) else still
                narrow(left, np.ones(len(left)))
        if not plain and len(k):
            yielding[strip_idx[k[touching(strip_idx[k])]]] = False
    shrunk = (g["L"] < L0 - 1e-9) | (g["D"] < D0 - 1e-9) | (g["w"] < w0 - 1e-9)
    g["why"][shrunk & (g["why"] != "volume_limit")] = "room"
    g["shrunk"] |= shrunk


@dataclass(frozen=True)
class _Hull:
    """A keep-in outline as its convex hull (edges from `start` along `step`, counter-clockwise) and the
    boxes of the pockets the hull holds that the outline does not (its corners cut by a frame's
    clearance); `eps`, `box_eps`: the error a side test and a box test allow."""

    start: np.ndarray  # (E, 2)
    step: np.ndarray  # (E, 2)
    eps: float
    pockets: np.ndarray  # (Q, 4)
    box_eps: float


def hull_of(inner: Any) -> _Hull | None:
    """`inner` (one polygon without holes) as its convex hull and the pockets the hull holds besides;
    None for another outline or a hull of more than HULL_EDGES_MAX edges."""
    if inner.geom_type != "Polygon" or len(inner.interiors):
        return None
    hull = shapely.orient_polygons(shapely.convex_hull(inner))
    if hull.geom_type != "Polygon":
        return None
    ring = np.asarray(hull.exterior.coords)
    d = np.diff(ring, axis=0)
    if not 3 <= len(d) <= HULL_EDGES_MAX:
        return None
    pockets = shapely.get_parts(shapely.difference(hull, inner))
    scale = float(np.abs(ring).max()) + 1.0
    eps = 1e-9 * scale * float(np.hypot(*d.T).max())
    return _Hull(ring[:-1], d, eps, shapely.bounds(pockets).reshape(-1, 4), 1e-9 * scale)


def _hull_test(x: np.ndarray, y: np.ndarray, hull: _Hull) -> tuple[np.ndarray, np.ndarray]:
    """For polygons of vertices (x, y) (m, V): (clearly inside the outline: every vertex inside every
    hull edge by more than the arithmetic's error and the polygon's box clear of every pocket; clearly
    outside: a vertex outside a hull edge by more). Neither: GEOS decides."""
    a, d, eps = hull.start, hull.step, hull.eps
    clear_in, clear_out = np.zeros(len(x), dtype=bool), np.zeros(len(x), dtype=bool)
    step = max(1, (1 << 21) // max(1, x.shape[1] * len(d)))  # ((step, V, E) at a time)
    for s in range(0, len(x), step):
        side = d[:, 0] * (y[s : s + step, :, None] - a[:, 1]) - d[:, 1] * (x[s : s + step, :, None] - a[:, 0])
        clear_in[s : s + step] = (side > eps).all(axis=(1, 2))
        clear_out[s : s + step] = (side < -eps).any(axis=(1, 2))
    if len(hull.pockets) and clear_in.any():
        lo_x, hi_x, lo_y, hi_y = x.min(axis=1), x.max(axis=1), y.min(axis=1), y.max(axis=1)
        q, e = hull.pockets, hull.box_eps
        meets = (
            (lo_x[:, None] <= q[:, 2] + e)
            & (q[:, 0] - e <= hi_x[:, None])
            & (lo_y[:, None] <= q[:, 3] + e)
            & (q[:, 1] - e <= hi_y[:, None])
        ).any(axis=1)
        clear_in &= ~meets
    return clear_in, clear_out


def _world_pairs(
    box: np.ndarray,
    a: np.ndarray,
    other: np.ndarray,
    b: np.ndarray,
    world: np.ndarray,
    reach: float,
    same: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (ids) of boxes box[a] and other[b] of one world each (copies: world >= 0) within `reach`
    in the same world, all worlds in one search: each world's boxes moved along x by a stride wider
    than every box and the reach, so that no two worlds come near each other. `same`: b is a, each
    pair once."""
    if not len(a) or not len(b):
        return a[:0], b[:0]
    pa, pb = box[a], other[b]
    xs = np.concatenate([pa[:, [0, 2]], pb[:, [0, 2]]]).ravel()
    xs = xs[np.isfinite(xs)]  # (an empty shape's box is NaN)
    if not len(xs):
        return a[:0], b[:0]
    lo, hi = xs.min(), xs.max()
    stride = 2 * (hi - lo) + 4 * reach + 1.0
    pa, pb = pa - [lo, 0, lo, 0], pb - [lo, 0, lo, 0]
    pa[:, [0, 2]] += (stride * world[a])[:, None]
    pb[:, [0, 2]] += (stride * world[b])[:, None]
    i, j = box_pairs(pa, pa if same else pb, reach, same=same)
    return a[i], b[j]


class _Room:
    """The apertures while they are planned, as exact shapes (strip bodies and tip discs), with the
    pairs of apertures and contacts near enough to matter: found once from the apertures at their
    largest (they only shrink while planning), measured again as they shrink."""

    def __init__(self, contacts: Contacts, g: dict[str, np.ndarray] | None, strip_idx: np.ndarray, rules: Rules):
        self.n = len(contacts)
        self.rules = rules
        self.g = g
        self.strip_idx = strip_idx
        # the keep-in given last, as a box (its bounds) or else as its hull and pockets (`_outline_tests`)
        self._tests_of: tuple[Any, tuple[float, float, float, float] | None, _Hull | None] | None = None
        self.pos = np.full(self.n, -1, dtype=np.int64)  # each contact's position in strip_idx, -1: none
        self.pos[strip_idx] = np.arange(len(strip_idx))
        self.pads = Shapes.of(contacts.polygons)
        self.pad_box = self.pads.boxes()
        self.pad_geoms: dict[int, Any] = {}
        self.shapes = Shapes.of(Polygons.from_list([]))
        self.box = self.shapes.boxes()  # the shapes' boxes, kept as the shapes change
        self.poly_box = self.box  # the boxes of their polygons alone (a strip's body, without its tip)
        empty = np.zeros(0, dtype=np.int64)
        self.near: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] = (empty, empty, empty, empty)
        # a neighbourhood with variant copies (_Neighbourhood): each contact's owner (the contact it
        # copies, else itself) and world (-1: stands as it is; w: the strips tried in variant w)
        self.owner: np.ndarray | None = None
        self.world: np.ndarray | None = None
        self.least_webs: dict[bytes, float] = {}  # (`_least_webs`)
        # whether each pair of `near` was within clearance_um (pads) and web_min_um (apertures) by its
        # boxes when the pairs were last found, and the apertures whose boxes changed since (`pairs`
        # measures only theirs again)
        self._close = (np.zeros(0, dtype=bool), np.zeros(0, dtype=bool))
        self._changed = np.ones(self.n, dtype=bool)

    def set_pads(self, idx: np.ndarray, geoms: np.ndarray) -> None:
        for i, geom in zip(idx.tolist(), geoms, strict=True):
            self.pad_geoms[i] = geom

    def build(self, find_pairs: bool = True) -> None:
        """All shapes anew (after pads changed or strips turned), and the pairs from them unless the
        shapes only shrank (the pairs found before still hold every candidate)."""
        n, g = self.n, self.g
        counts = np.zeros(n, dtype=np.int64)
        counts[self.strip_idx] = 4
        rings: dict[int, np.ndarray] = {}
        for i, geom in self.pad_geoms.items():
            if geom is not None:
                rings[i] = np.asarray(geom.exterior.coords)[:-1]
                counts[i] = len(rings[i])
        offsets = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(counts, out=offsets[1:])
        coords = np.zeros((offsets[-1], 2))
        for i, ring in rings.items():
            coords[offsets[i] : offsets[i + 1]] = ring
        self.shapes = Shapes(Polygons(coords, offsets), np.zeros((n, 2)), np.zeros(n))
        self.box = self.shapes.boxes()
        self.poly_box = self.box.copy()
        self._changed[:] = True
        if g is not None and len(self.strip_idx):
            self.update(np.arange(len(self.strip_idx)))
        if find_pairs:
            self.pairs()

    def update(self, k: np.ndarray) -> None:
        """Strips strip_idx[k] take their current size."""
        g, ids = self.g, self.strip_idx[k]
        assert g is not None
        D = g["D"][k] if self.rules.strategy == "tip" else None
        center, axis, h2, L = g["center"][k], g["axis"][k], g["h2"][k], g["L"][k]
        pts = strips.strip_corners(center, axis, g["w"][k], g["h1"][k], h2, L, D)
        at = (self.shapes.polygons.offsets[ids][:, None] + np.arange(4)).ravel()
        self.shapes.polygons.coords[at] = pts.reshape(-1, 2)
        p0, p1, p2, p3 = (pts[:, j] for j in range(4))  # (the least and greatest, corner by corner)
        box = np.concatenate(
            [np.minimum(np.minimum(p0, p1), np.minimum(p2, p3)), np.maximum(np.maximum(p0, p1), np.maximum(p2, p3))],
            axis=1,
        )
        self.poly_box[ids] = box
        self._changed[ids] = True
        if D is not None:
            centre = center + (h2 + L)[:, None] * axis
            self.shapes.disc_center[ids] = centre
            self.shapes.disc_r[ids] = D / 2
            box = with_discs(box, centre, D / 2)
        self.box[ids] = box

    def pairs(self, moved: np.ndarray | None = None, among: tuple[Any, Any] = (None, None)) -> None:
        """Candidate pairs within the reach of the report (the checks take them over), and those
        within clearance_um and web_min_um (the planner's own concern). `moved`: only these apertures
        (contact ids) changed since the pairs were last found; the others' pairs stand. `among`: the
        contacts (ids, ascending) that hold every contact, and every aperture, within that reach of
        the moved ones, the only ones searched (None: all)."""
        rules = self.rules
        box = self.box
        pad_reach, ap_reach = REPORT_REACH * rules.clearance_um + 1e-6, REPORT_REACH * rules.web_min_um + 1e-6
        # (each pair's closeness as last measured, -1 where it is new)
        if moved is None:
            everything = np.arange(self.n)
            pads = everything if self.world is None else everything[self.world <= 0]
            pa, pc = self._pairs_with(everything, self.pad_box, pads, pad_reach)
            qa, qb = self._aperture_pairs(ap_reach)
            was_p, was_q = np.full(len(pa), -1, dtype=np.int8), np.full(len(qa), -1, dtype=np.int8)
        else:
            mark = np.zeros(self.n, dtype=bool)
            mark[moved] = True
            pa, pc, qa, qb = self.near
            keep = ~mark[pa]
            pads, apertures = (np.arange(self.n) if x is None else x for x in among)
            if self.world is not None:  # the contacts as drawn, not their copies
                pads = pads[self.world[pads] <= 0]
            a, c = self._pairs_with(moved, self.pad_box, pads, pad_reach)
            was_p = np.concatenate([self._close[0][keep], np.full(len(a), -1)]).astype(np.int8)
            pa, pc = np.concatenate([pa[keep], a]), np.concatenate([pc[keep], c])
            keep = ~(mark[qa] | mark[qb])
            a, b = self._pairs_with(moved, box, apertures, ap_reach, worlds=True)
            lo, hi = np.minimum(a, b), np.maximum(a, b)
            fresh = (lo != hi) & ~(mark[lo] & mark[hi] & (a != lo))  # a pair of two moved ones once
            was_q = np.concatenate([self._close[1][keep], np.full(int(fresh.sum()), -1)]).astype(np.int8)
            qa, qb = np.concatenate([qa[keep], lo[fresh]]), np.concatenate([qb[keep], hi[fresh]])
        other = pa != pc
        if self.owner is not None:  # a copy is measured against the contacts as drawn (not their
            # copies, not its own) and the apertures that stand or take part in its own variant
            owner, world = self.owner, self.world
            assert world is not None
            other = (owner[pa] != owner[pc]) & (world[pc] <= 0)
            wa, wb = world[qa], world[qb]
            mates = (owner[qa] != owner[qb]) & ((wa < 0) | (wb < 0) | (wa == wb))
            qa, qb, was_q = qa[mates], qb[mates], was_q[mates]
        pa, pc, was_p = pa[other], pc[other], was_p[other]
        self.near = (pa, pc, qa, qb)
        # a pair is measured by its boxes where it is new or an aperture of it changed since the last
        # search; the others are as close as they were
        changed = self._changed
        ask = np.flatnonzero((was_p < 0) | changed[pa])
        close_p = was_p > 0
        close_p[ask] = box_gap(box[pa[ask]], self.pad_box[pc[ask]]) <= rules.clearance_um
        ask = np.flatnonzero((was_q < 0) | changed[qa] | changed[qb])
        close_q = was_q > 0
        close_q[ask] = box_gap(box[qa[ask]], box[qb[ask]]) <= rules.web_min_um
        self._close = (close_p, close_q)
        changed[:] = False
        self.pad_pairs = (pa[close_p], pc[close_p])
        self.ap_pairs = (qa[close_q], qb[close_q])

    def _pairs_with(
        self, a: np.ndarray, other: np.ndarray, b: np.ndarray, reach: float, worlds: bool = False
    ) -> tuple[np.ndarray, np.ndarray]:
        """Pairs (contact ids) of apertures `a` and boxes `other[b]` within `reach`. worlds: the boxes are
        the apertures', and a copy in a variant's world looks only at the apertures that stand and
        those of its own world (the pairs `pairs` keeps), one world at a time."""
        box = self.box
        world = self.world
        if not worlds or world is None:
            i, j = box_pairs(box[a], other[b], reach)
            return a[i], b[j]
        wa, wb = world[a], world[b]
        standing = b[wb < 0]
        i, j = box_pairs(box[a], other[standing], reach)
        found = [(a[i], standing[j]), _world_pairs(box, a[wa >= 0], other, b[wb >= 0], world, reach)]
        mine = a[wa < 0]  # (an aperture that stands meets every world)
        theirs = b[wb >= 0]
        if len(mine) and len(theirs):
            i, j = box_pairs(box[mine], other[theirs], reach)
            found.append((mine[i], theirs[j]))
        return np.concatenate([f[0] for f in found]), np.concatenate([f[1] for f in found])

    def _aperture_pairs(self, reach: float) -> tuple[np.ndarray, np.ndarray]:
        """Every pair (i < j) of apertures within `reach`; with variant copies, only those of apertures
        that stand, or of one world (the pairs `pairs` keeps)."""
        box, world = self.box, self.world
        if world is None:
            return box_pairs(box, box, reach, same=True)
        standing = np.flatnonzero(world < 0)
        i, j = box_pairs(box[standing], box[standing], reach, same=True)
        found = [(standing[i], standing[j])]
        copies = np.flatnonzero(world >= 0)
        i, j = box_pairs(box[standing], box[copies], reach)
        found.append((standing[i], copies[j]))
        found.append(_world_pairs(box, copies, box, copies, world, reach, same=True))
        a, b = np.concatenate([f[0] for f in found]), np.concatenate([f[1] for f in found])
        return np.minimum(a, b), np.maximum(a, b)

    def violating(
        self, which: np.ndarray, ignore: np.ndarray | None = None, web: bool = True, inner: Any = None
    ) -> np.ndarray:
        """For the apertures `which` (contact ids): True where one is closer than clearance_um to another
        contact, closer than web_min_um to another aperture (unless `ignore` holds that one), or not
        inside `inner` (the keep-in outline less edge_margin_um)."""
        rules = self.rules
        mine = np.zeros(self.n, dtype=bool)
        mine[which] = True
        bad = np.zeros(self.n, dtype=bool)
        box = self.box
        # only pairs whose boxes, as the shapes stand now, are near enough are measured: the boxes'
        # gap never exceeds the distance, so the others cannot break a rule. A pair's distance is the
        # lesser of its discs' and its polygons': the discs (a tip, one point) are measured first, and
        # the polygons only of the pairs that can still find an aperture at fault
        pa, pc = self.pad_pairs
        sel = np.flatnonzero(mine[pa])
        pa, pc = pa[sel], pc[sel]
        near = box_gap(box[pa], self.pad_box[pc]) <= rules.clearance_um
        pa, pc = pa[near], pc[near]
        for part in (disc_distances, polygon_distances):
            still = ~bad[pa]  # pairs whose aperture is not yet at fault
            pa, pc = pa[still], pc[still]
            ask = np.arange(len(pa))
            if part is polygon_distances:  # (a body whose box lies that far from the contact's is not measured)
                ask = np.flatnonzero(self._polygons_within(pa, pc, rules.clearance_um, pads=True))
            d = part(self.shapes, pa[ask], self.pads, pc[ask])
            if part is disc_distances:  # (a tip as a reader drawing its arc as Bezier curves finds it)
                d = d - ARC_READ_SLACK * self.shapes.disc_r[pa[ask]]
            # touching: a bridge, whatever the clearance
            bad[pa[ask[(d < rules.clearance_um - 1e-6) | (d <= 0)]]] = True
        if web:
            qa, qb = self._ap_pairs_near(mine, rules.web_min_um)
            for part in (disc_distances, polygon_distances):
                # each end of a pair that is one of `which`, not yet at fault, and not ignored
                ends = [
                    mine[me] & ~bad[me] & (True if ignore is None else ~ignore[other])
                    for me, other in ((qa, qb), (qb, qa))
                ]
                keep = ends[0] | ends[1]
                qa, qb, ends = qa[keep], qb[keep], [e[keep] for e in ends]
                floor = self._web_floor(qa, qb)
                ask = np.arange(len(qa))
                if part is polygon_distances:
                    ask = np.flatnonzero(self._polygons_within(qa, qb, floor))
                close = np.zeros(len(qa), dtype=bool)
                d = part(self.shapes, qa[ask], self.shapes, qb[ask])
                close[ask] = d < floor[ask] - 1e-6
                thin = ask[close[ask]]  # (a web the two contacts force is no conflict)
                close[thin] = d[close[ask]] < self._forced_webs(qa[thin], qb[thin], floor[thin]) - 1e-6
                bad[qa[close & ends[0]]] = True
                bad[qb[close & ends[1]]] = True
        if inner is not None:
            which_in = which[~bad[which]]  # (an aperture already at fault needs no keep-in test)
            bad[which_in[self.leaves(which_in, inner)]] = True
        return bad[which]

    def touching(self, which: np.ndarray) -> np.ndarray:
        """For the apertures `which` (contact ids): True where one touches or overlaps another aperture."""
        mine = np.zeros(self.n, dtype=bool)
        mine[which] = True
        qa, qb = self._ap_pairs_near(mine, 0.0)
        d = np.minimum(
            disc_distances(self.shapes, qa, self.shapes, qb), polygon_distances(self.shapes, qa, self.shapes, qb)
        )
        bad = np.zeros(self.n, dtype=bool)
        bad[qa[d <= 0]] = True
        bad[qb[d <= 0]] = True
        return bad[which]

    def _ap_pairs_near(self, mine: np.ndarray, reach: float) -> tuple[np.ndarray, np.ndarray]:
        """The candidate pairs of apertures with an end that `mine` marks whose boxes lie within `reach`."""
        qa, qb = self.ap_pairs
        sel = np.flatnonzero(mine[qa] | mine[qb])
        qa, qb = qa[sel], qb[sel]
        near = box_gap(self.box[qa], self.box[qb]) <= reach
        return qa[near], qb[near]

    def _polygons_within(self, ia: np.ndarray, jb: np.ndarray, reach: Any, pads: bool = False) -> np.ndarray:
        """For pairs of apertures ia and apertures jb (contacts with `pads`): False where the boxes of
        their polygons (a strip's body, without its tip) lie `reach` or farther apart, so that the
        polygons' distance cannot come below reach less 1e-6 um (the boxes' gap never exceeds it);
        True where it may, or a box is missing (NaN)."""
        return ~(box_gap(self.poly_box[ia], (self.pad_box if pads else self.poly_box)[jb]) >= reach)

    def leaves(self, which: np.ndarray, inner: Any) -> np.ndarray:
        """True for the apertures `which` (contact ids) not inside `inner`; none where there is none.
        Where `inner` is a box, a strip (its tip as tangent chords) is inside it where all its vertices
        are, as GEOS finds it, without making its polygon."""
        inside, out = self._box_test(which, inner)
        ask = np.flatnonzero(~inside & ~out)
        bounds, hull = self._outline_tests(inner) if len(ask) else (None, None)
        if (bounds is not None or hull is not None) and self.g is not None:
            k = self.pos[which[ask]]
            g, rules = self.g, self.rules
            at = k[k >= 0]
            pts = strips.strip_polygons(
                g["center"][at],
                g["axis"][at],
                g["w"][at],
                g["h1"][at],
                g["h2"][at],
                g["L"][at],
                g["D"][at] if rules.strategy == "tip" else None,
                PLAN_ARC_CHORDS,
            )
            x, y = pts[:, :, 0], pts[:, :, 1]
            if bounds is not None:
                x0, y0, x1, y1 = bounds
                out[ask[k >= 0]] = ~((x >= x0) & (x <= x1) & (y >= y0) & (y <= y1)).all(axis=1)
                ask = ask[k < 0]
            elif hull is not None:
                clear_in, clear_out = _hull_test(x, y, hull)
                strip_ask = ask[k >= 0]
                out[strip_ask[clear_in]] = False
                out[strip_ask[clear_out]] = True
                ask = np.concatenate([ask[k < 0], strip_ask[~clear_in & ~clear_out]])
        geoms = self.geoms(which[ask])
        present = np.array([x is not None for x in geoms], dtype=bool)
        if present.any():
            out[ask[present]] = ~shapely.contains(inner, geoms[present])
        return out

    def _outline_tests(self, inner: Any) -> tuple[tuple[float, float, float, float] | None, _Hull | None]:
        """`inner` as a box (`box_bounds`) or, where it is none, as its convex hull and pockets
        (`hull_of`); worked out once for the outline given last."""
        if self._tests_of is None or self._tests_of[0] is not inner:
            bounds = box_bounds(inner)
            self._tests_of = (inner, bounds, hull_of(inner) if bounds is None else None)
        return self._tests_of[1], self._tests_of[2]

    def _box_test(self, which: np.ndarray, inner: Any) -> tuple[np.ndarray, np.ndarray]:
        """The apertures `which` that need no test of their shapes: where `inner` is a box, (inside: the
        box of the tip's chords lies inside it; outside: the box of the true shape reaches beyond it,
        and so does the shape's, which holds it); where it is a hull with pockets (`hull_of`), inside:
        that box's corners clearly inside the hull and the box clear of the pockets (`_hull_test`:
        then so are the shape's vertices, which it holds). Both all False for another outline."""
        none = np.zeros(len(which), dtype=bool)
        bounds, hull = self._outline_tests(inner) if len(which) else (None, None)
        if bounds is None and hull is None:
            return none, none
        box = self.box[which]
        r = self.shapes.disc_r[which] / np.cos(np.pi / PLAN_ARC_CHORDS)
        chords = with_discs(box.copy(), self.shapes.disc_center[which], r)
        if bounds is None:
            assert hull is not None
            x = chords[:, [0, 2, 2, 0]]
            y = chords[:, [1, 1, 3, 3]]
            inside = _hull_test(x, y, hull)[0] & np.isfinite(chords).all(axis=1)
            return inside, none
        x0, y0, x1, y1 = bounds
        eps = 1e-9 * max(1.0, abs(x0), abs(y0), abs(x1), abs(y1))
        outside = (box[:, 0] < x0 - eps) | (box[:, 1] < y0 - eps) | (box[:, 2] > x1 + eps) | (box[:, 3] > y1 + eps)
        inside = (
            (chords[:, 0] > x0 + eps)
            & (chords[:, 1] > y0 + eps)
            & (chords[:, 2] < x1 - eps)
            & (chords[:, 3] < y1 - eps)
        )
        return inside, outside

    def _web_floor(self, qa: np.ndarray, qb: np.ndarray) -> np.ndarray:
        """The web two apertures must keep: web_min_um, or less where a strip's pitch forces less."""
        rules, g = self.rules, self.g
        if g is None or not len(qa):
            return np.full(len(qa), rules.web_min_um)
        pa, pb = self.pos[qa], self.pos[qb]  # (-1: a pad, which keeps web_min_um)
        floor = g["web_floor"]
        return np.minimum(
            np.where(pa >= 0, floor[pa], rules.web_min_um), np.where(pb >= 0, floor[pb], rules.web_min_um)
        )

    def _forced_webs(self, qa: np.ndarray, qb: np.ndarray, floor: np.ndarray) -> np.ndarray:
        """The web pairs of apertures must keep, `floor`, or less where both are plain strips that,
        unslid and at their least (no length beyond the contact, the tip no wider than the strip),
        already stand closer: their contacts force that web (a staggered double row, facing rows), and
        shrinking a tip or a length cannot mend it. Sliding toward the other, or growing into that web,
        still breaks it; so does any web under min_aperture_um."""
        g = self.g
        pa, pb = self.pos[qa], self.pos[qb]
        both = (pa >= 0) & (pb >= 0)
        if g is None or not both.any():
            return floor
        both[both] = g["plain"][pa[both]] & g["plain"][pb[both]]
        if not both.any():
            return floor
        out = floor.copy()
        forced = self._least_webs(pa[both], pb[both])
        # (a web thinner than the narrowest printable aperture is no web a stencil keeps: two tips turned
        # to face each other so close are a conflict to mend, never a web to accept)
        out[both] = np.where(forced >= self.rules.min_aperture_um, np.minimum(floor[both], forced), floor[both])
        return out

    def _least_webs(self, pa: np.ndarray, pb: np.ndarray) -> np.ndarray:
        """The web between strips pa and pb (positions in strip_idx) at their least: unslid, no length
        beyond the contact, the tip no wider than the strip. Known once measured for the same two least
        shapes (`least_webs`): a strip shrinks many times, and is tried in many worlds, as it stands."""
        g = self.g
        assert g is not None
        m = len(pa)
        k = np.concatenate([pa, pb])
        c0, axis, w, h1, h2 = g["c0"][k], g["axis"][k], g["w"][k], g["h1"][k], g["h2"][k]
        shape = np.column_stack([c0, axis, w, h1, h2])
        pairs = np.ascontiguousarray(np.concatenate([shape[:m], shape[m:]], axis=1))
        keys: list[bytes] = pairs.view(np.dtype((np.void, pairs.shape[1] * 8))).ravel().tolist()  # type: ignore[assignment]
        known = self.least_webs
        if len(known) > LEAST_WEBS_MAX:
            known.clear()
        out = np.array([known.get(key, np.nan) for key in keys])
        miss = np.flatnonzero(np.isnan(out))
        if len(miss):
            j = np.concatenate([miss, m + miss])
            body = strips.strip_corners(c0[j], axis[j], w[j], h1[j], h2[j], np.zeros(len(j)), None)
            n = len(miss)
            least = Shapes.of(Polygons(body.reshape(-1, 2), np.arange(2 * n + 1, dtype=np.int64) * 4))
            if self.rules.strategy == "tip":  # (its round end: a disc as wide as the strip at the contact's edge)
                least.disc_center[:], least.disc_r[:] = c0[j] + h2[j][:, None] * axis[j], w[j] / 2
            out[miss] = distances(least, np.arange(n), least, n + np.arange(n))
            known.update(zip([keys[i] for i in miss.tolist()], out[miss].tolist(), strict=True))
        return out

    def geoms(self, which: np.ndarray) -> np.ndarray:
        """Shapely polygons of the apertures `which`, tips as tangent chords (they hold the arc)."""
        out = np.empty(len(which), dtype=object)
        pos = np.full(self.n, -1)
        pos[self.strip_idx] = np.arange(len(self.strip_idx))
        k = pos[which]
        is_strip = k >= 0
        if is_strip.any() and self.g is not None:
            out[is_strip] = _strip_geoms(self.g, self.rules, k[is_strip])
        for j in np.flatnonzero(~is_strip).tolist():
            out[j] = self.pad_geoms.get(int(which[j]))
        return out


def plan_stencil(
    contacts: Contacts,
    rows: RowSet,
    rules: Rules | None = None,
    keep_in: Any = None,
    held: Any = None,
    frames: Any = None,
    hold_pads: bool = False,
) -> Plan:
    """One aperture per contact, following RULES.md; `keep_in` is an optional shapely polygon. `held`
    (where there is no keep-in): the extent the apertures are held within where there is room (a bare
    pad layout's contacts' extent); what it limits is reported as "extent", not a rule-8 break.
    `frames` (shapely): frames left out of the pad layer (a seal ring's opening), which every aperture
    keeps clearance_um from, as from the keep-in's edge. `hold_pads` (where there is no keep-in, a bare
    pad layout): the pad-shaped apertures stay within the contacts' extent where there is room."""
    rules = rules or Rules()
    # (KEEP_IN_SLACK_UM more: a tip planned to touch the margin, read back through a reader that draws
    # its arc a few nanometres outside, still keeps it)
    inner = keep_in_inner(keep_in, rules.edge_margin_um + KEEP_IN_SLACK_UM) if keep_in is not None else held
    if frames is not None:
        if inner is None:  # everywhere (10 m around) but the frames
            inner = shapely.box(-1e7, -1e7, 1e7, 1e7)
        # (the buffer's arcs as chords outside the true arcs: round corners of 8 chords a quadrant)
        inner = shapely.difference(inner, shapely.buffer(frames, rules.clearance_um / np.cos(np.pi / 32)))
    if inner is not None and held is None:
        return _plan(contacts, rows, rules, inner)
    # no keep-in: the pad-shaped apertures (or with `held`, every aperture) stay within the contacts'
    # extent where there is room
    pad_inner = held_extent(contacts) if held is None and hold_pads else None
    if inner is None and pad_inner is None:
        return _plan(contacts, rows, rules, None)
    plan = _plan(contacts, rows, rules, inner, pad_inner)
    ap = plan.apertures
    for labels in (ap.limited_by, ap.narrow_by, ap.side_by):
        if labels is not None:
            labels[labels == "keep_in"] = "extent"
    if ((ap.kind == NONE) | (ap.width < rules.min_aperture_um - 1e-9)).any():
        # an aperture the extent left unprintable: the layout is planned free of it
        return _plan(contacts, rows, rules, None)
    return plan


#: how much farther than edge_margin_um inside the keep-in the apertures are planned (um)
KEEP_IN_SLACK_UM = 0.01
#: the contacts' extent holds the apertures along an axis where it spans this many contact lengths (a
#: ring, an array); a single row or a staggered pair of rows keeps its room across it
HELD_SPAN = 3.0


def held_extent(contacts: Contacts) -> Any:
    """The contacts' bounding box, left open along an axis it spans less than HELD_SPAN contact lengths
    across (None where open both ways, or without contacts)."""
    if not len(contacts):
        return None
    lo, hi = points_box(contacts.polygons.coords)
    open_ = hi - lo < HELD_SPAN * float(contacts.length.max())
    if open_.all():
        return None
    lo[open_], hi[open_] = lo[open_] - OPEN_UM, hi[open_] + OPEN_UM
    return shapely.box(*lo, *hi)


def _plan(contacts: Contacts, rows: RowSet, rules: Rules, inner: Any, pad_inner: Any = None) -> Plan:
    """The plan with the apertures inside `inner` (the keep-in less its margin), or free (None); the
    pad-shaped ones, where there is no `inner`, inside `pad_inner`, polished (`_polish`). Where strips
    stay below volume_min, two other plans are tried where they may serve better: the plan with tips held
    to NARROW_TIPS, kept where it leaves fewer contacts below volume_min (then gives the short ones more
    solder); then the plan whose starved corners take what serves them better at trial time though it
    moves their tips or thins a web (`everywhere` in `_corner_directions` and `_corner_members`), kept
    where the checks find fewer contacts below volume_min, no more errors and no more warnings in all.
    Where the layout falls into islands (`islands`: the dies of a flat wafer), only those islands are
    planned again where the other plan may differ (a contact below volume_min, and a tip wider than
    NARROW_TIPS allow, or a corner that declined such a choice), together, and each island keeps the
    better of its plans."""
    plan, polished, declined = _plan_with(contacts, rows, rules, inner, pad_inner, (TIP_WIDTH, TIP_TILT_DEG))
    short = _short(contacts, plan.apertures, rules)[0]
    if not short.any():
        return polished()  # (a strip that still breaks a hard rule is mended)
    # the islands with a contact below volume_min are planned again, apart from the rest (the dies of
    # a flat wafer: each keeps the plan that serves it better)
    gap = island_gap(rules.web_min_um, rules.clearance_um, REPORT_REACH)
    label = islands(rows, plan_boxes(contacts, plan.apertures.outlines), gap)
    kept, narrow_declined = _narrow_retry(contacts, rows, rules, inner, pad_inner, plan, polished, short, label, gap)
    return _pattern_retry(contacts, rows, rules, inner, pad_inner, kept, declined | narrow_declined, label, gap)


def _part(contacts: Contacts, rows: RowSet, ids: np.ndarray) -> tuple[Contacts, RowSet]:
    """The contacts `ids` (ascending; whole islands) and their rows, alone (as they are where `ids` holds
    every contact)."""
    if len(ids) == len(contacts):
        return contacts, rows
    return contacts.take(ids), subset_rows(rows, ids, len(contacts))


def _composed(
    contacts: Contacts,
    rows: RowSet,
    kept: Plan,
    ids: np.ndarray,
    take: np.ndarray,
    other: Plan,
    label: np.ndarray,
    gap: float,
) -> Plan | None:
    """`kept` with the islands `take` marks among the contacts `ids` taken from `other` (their plan
    alone); None where an aperture of it grew toward another island (the islands join)."""
    part = other if take.all() else take_plan(other, np.flatnonzero(take))
    composed = compose(kept, ids[take], part)
    return None if joins(label, islands(rows, plan_boxes(contacts, composed.apertures.outlines), gap)) else composed


def _narrow_retry(
    contacts: Contacts,
    rows: RowSet,
    rules: Rules,
    inner: Any,
    pad_inner: Any,
    plan: Plan,
    polished: Callable[[], Plan],
    short: np.ndarray,
    label: np.ndarray,
    gap: float,
) -> tuple[Plan, np.ndarray]:
    """`_plan`'s plan with tips held to NARROW_TIPS, where it serves an island better (`short`: the
    plan's strips below volume_min): the plan kept, polished, and the corner members of the narrow plan
    that declined a direction (none where it was not planned)."""
    none = np.zeros(len(contacts), dtype=bool)
    # (narrow tips change a plan where a tip is wider than they may be: an island with none keeps its plan)
    ap = plan.apertures
    wide = (ap.kind == STRIP) & (ap.tip_d > NARROW_TIPS[0] * ap.width * (1 + 1e-9))
    again = np.isin(label, np.intersect1d(label[short], label[wide]))
    if not again.any():
        return polished(), none
    ids = np.flatnonzero(again)
    part_contacts, part_rows = _part(contacts, rows, ids)
    other, other_polished, other_declined = _plan_with(part_contacts, part_rows, rules, inner, pad_inner, NARROW_TIPS)
    declined = none.copy()
    declined[ids] = other_declined
    mine = _shortfalls(contacts, plan.apertures, rules, np.where(again, label, -1))
    theirs = _shortfalls(part_contacts, other.apertures, rules, label[ids])
    better = [k for k in sorted(theirs) if theirs[k] < mine[k]]
    if not better:
        return polished(), declined
    if len(ids) == len(contacts) and len(better) == len(theirs) == int(label.max()) + 1:
        return other_polished(), declined
    kept = polished()
    composed = _composed(contacts, rows, kept, ids, np.isin(label[ids], better), other_polished(), label, gap)
    if composed is None:  # (an aperture the polish grew toward another island: the layout is planned whole)
        whole, whole_polished, _ = _plan_with(contacts, rows, rules, inner, pad_inner, NARROW_TIPS)
        if _shortfall(contacts, whole, rules) < _shortfall(contacts, plan, rules):
            return whole_polished(), none
        return kept, none
    return composed, declined


def _pattern_retry(
    contacts: Contacts,
    rows: RowSet,
    rules: Rules,
    inner: Any,
    pad_inner: Any,
    kept: Plan,
    declined: np.ndarray,
    label: np.ndarray,
    gap: float,
) -> Plan:
    """`kept` (polished), or, in the islands where a member of a corner that declined a choice stays
    below volume_min (a direction with its tips moved, or fewer members with a thinner web), the plan
    that takes such choices wherever they serve the corner better at trial time (`everywhere`; polished
    too), where it serves the island better (`_fewer_below`). Whether such a corner serves
    the die shows only once the strips beside it have slid, turned and settled (on other dies it takes
    the room they need): the whole island is planned to see."""
    short = _short(contacts, kept.apertures, rules)[0]
    again = np.isin(label, label[short & declined])
    if not again.any():
        return kept
    ids = np.flatnonzero(again)
    part_contacts, part_rows = _part(contacts, rows, ids)
    other = _plan_with(part_contacts, part_rows, rules, inner, pad_inner, (TIP_WIDTH, TIP_TILT_DEG), True)[1]()
    # (moved tips and thin webs are warnings: the other plan must leave fewer contacts below
    # volume_min, with no more errors and no more warnings in all, not only give them more solder)
    mine = _verdicts(kept if len(ids) == len(contacts) else take_plan(kept, ids), rules, label[ids])
    theirs = _verdicts(other, rules, label[ids])
    better = [k for k in sorted(theirs) if _fewer_below(theirs[k], mine[k])]
    if not better:
        return kept
    take = np.isin(label[ids], better)
    if take.all() and len(ids) == len(contacts):
        return other
    composed = _composed(contacts, rows, kept, ids, take, other, label, gap)
    return kept if composed is None else composed  # (an aperture grown toward another island: not composed)


def _verdicts(plan: Plan, rules: Rules, label: np.ndarray) -> dict[int, tuple[int, int, int]]:
    """Per island (`label`: each contact's): how many errors and warnings the checks find on its
    contacts, and how many of them are below volume_min (under_volume), as (errors, below, warnings)."""
    findings = check_plan(plan, rules).findings
    keys, at = np.unique(label, return_inverse=True)
    counts = np.zeros((len(keys), 3), dtype=np.int64)
    if len(findings):
        where = at[np.asarray(findings.contact)]
        severity = findings.severity()
        np.add.at(counts[:, 0], where, severity == ERROR)
        np.add.at(counts[:, 2], where, severity == WARNING)
        below = np.unique(np.asarray(findings.contact)[np.asarray(findings.code) == "under_volume"])
        np.add.at(counts[:, 1], at[below], 1)
    return {int(k): (int(e), int(b), int(w)) for k, (e, b, w) in zip(keys, counts, strict=True)}


def _fewer_below(theirs: tuple[int, int, int], mine: tuple[int, int, int]) -> bool:
    """Whether an island's verdicts (`_verdicts`) leave fewer contacts below volume_min, with no more
    errors and no more warnings in all."""
    return theirs[0] <= mine[0] and theirs[1] < mine[1] and theirs[2] <= mine[2]


def _short(contacts: Contacts, ap: Apertures, rules: Rules) -> tuple[np.ndarray, np.ndarray]:
    """The strips whose contacts stay below volume_min (a mask over the contacts), and each contact's
    area at volume_min."""
    least = least_area(contacts.d, rules, contacts.cap(np.arange(len(contacts))))
    return (ap.kind == STRIP) & (ap.area < least * (1 - 1e-9)), least


def _shortfall(contacts: Contacts, plan: Plan, rules: Rules) -> tuple[int, float]:
    """How many strips' contacts a plan leaves below volume_min, and (negated) the share of volume_min
    they reach together: the lesser the better."""
    ap = plan.apertures
    below, least = _short(contacts, ap, rules)
    return int(below.sum()), -float(np.sum(ap.area[below] / least[below]))


def _shortfalls(contacts: Contacts, ap: Apertures, rules: Rules, label: np.ndarray) -> dict[int, tuple[int, float]]:
    """`_shortfall` of each island (`label`: each contact's; -1 for those not counted)."""
    below, least = _short(contacts, ap, rules)
    share = np.where(below, ap.area / least, 0.0)
    keys, at = np.unique(label[label >= 0], return_inverse=True)
    count = np.bincount(at, below[label >= 0], len(keys))
    total = np.bincount(at, share[label >= 0], len(keys))
    return {int(k): (int(c), -float(t)) for k, c, t in zip(keys, count, total, strict=True)}


def _plan_with(
    contacts: Contacts,
    rows: RowSet,
    rules: Rules,
    inner: Any,
    pad_inner: Any,
    tips: tuple[float, float],
    everywhere: bool = False,
) -> tuple[Plan, Callable[[], Plan], np.ndarray]:
    """`_plan` with strips' tips held to `tips` (`widest_tip`'s width and tilt), and starved corners
    choosing their directions and members with `everywhere` (`_corner_directions`, `_corner_members`);
    what gives it polished (`_polish`: the plan itself where that changes nothing); and the corner
    members (a mask over the contacts) of corners that declined a choice (none with `everywhere`)."""
    lay = _strip_layout(contacts, rows, rules)
    lay["inside"] = np.full(len(contacts), None, dtype=object)
    lay["inside"][lay["is_strip"]] = _inside_parts(contacts, np.flatnonzero(lay["is_strip"]), inner)
    lay["tip_width"] = np.full(len(contacts), tips[0])
    lay["tip_tilt"] = np.full(len(contacts), tips[1])
    strip_idx = np.flatnonzero(lay["is_strip"])
    pad_idx = np.flatnonzero(~lay["is_strip"])
    declined = np.zeros(len(contacts), dtype=bool)

    g = _size_strips(contacts, strip_idx, lay, rules, inner) if len(strip_idx) else None
    room = _Room(contacts, g, strip_idx, rules)
    if len(pad_idx):  # while the strips are sized, each pad holds its smallest shape
        room.set_pads(pad_idx, pad_shapes(contacts, pad_idx, np.full(len(pad_idx), -rules.shrink_um), rules)[0])
    room.build()

    def violating(which: np.ndarray, ignore: np.ndarray | None = None, web: bool = True) -> np.ndarray:
        return room.violating(which, ignore, web, inner)

    def turn(which: np.ndarray, reason: Any) -> None:
        """The strips `which` (a mask over strip_idx) take their tips to the other side of the row, for
        `reason` (what the first side breaks); every strip is sized and shrunk again beside them. Only
        the turned strips and those shrunk before change size: every other strip already stands at
        its full size, and broke no rule there beside strips at theirs; of these, only those near a
        turned strip may break one now."""
        if not which.any():
            return
        g = room.g
        assert g is not None
        lay["side"][strip_idx[which]] *= -1
        lay["turned"][strip_idx[which]] = reason if isinstance(reason, str) else reason[which]
        # (and their neighbours in the row, whose tips may now stand beside theirs: _between_mates)
        mates = lay["beside"][strip_idx[which]].ravel()
        again = which | g["shrunk"]
        mates = room.pos[mates[mates >= 0]]
        again[mates[mates >= 0]] = True
        redo = np.flatnonzero(again)
        for key, value in _size_strips(contacts, strip_idx[redo], lay, rules, inner).items():
            g[key][redo] = value
        # every strip back at its full size: the others' shapes, and so their pairs, are those the
        # pairs were found from; only the turned strips' pairs are found again
        room.update(redo)
        room.pairs(moved=strip_idx[which])
        mark = np.zeros(room.n, dtype=bool)
        mark[strip_idx[which]] = True
        qa, qb = room.near[2], room.near[3]
        beside = np.concatenate([qb[mark[qa]], qa[mark[qb]]])
        beside = room.pos[beside[room.pos[beside] >= 0]]
        pool = np.union1d(redo, beside)
        _shrink_strips(
            g, strip_idx, lay["corner"], room.update, violating, room.touching, rules.min_aperture_um, only=pool
        )

    if g is not None:
        _shrink_strips(g, strip_idx, lay["corner"], room.update, violating, room.touching, rules.min_aperture_um)
        # a tip that breaks clearance even at its shortest (a facing row close by) goes to the other
        # side of its row, once: two tips side by side there break no rule the checks cannot show
        hard = violating(strip_idx, None, False)
        outside = np.zeros(len(strip_idx), dtype=bool)
        if inner is not None and hard.any():
            outside[hard] = room.leaves(strip_idx[hard], inner)
        turn(hard, np.where(outside, "keep_in", "clearance"))
        if inner is not None:  # tips that cannot stay inside the outline go to the other side of the row
            turn(room.leaves(strip_idx, inner), "keep_in")
        g = room.g
        assert g is not None
        if rules.oblique_scope == "corners" and rules.oblique_angle_deg is None:
            declined[_corner_directions(contacts, rows, lay, g, strip_idx, room, rules, inner, everywhere)] = True
        _improve(contacts, lay, g, strip_idx, room, rules, inner)
        if rules.oblique_scope == "corners":
            changed, held_back = _corner_members(contacts, rows, lay, g, strip_idx, room, rules, inner, everywhere)
            declined[held_back] = True
            if len(changed):  # the strips around the corners that changed slide or turn again beside them
                _improve(contacts, lay, g, strip_idx, room, rules, inner, near=changed)
        # a contact still below volume_min: its strip tries every slide on a finer grid, and turns, beside
        # its neighbours as they now stand (a gap past a neighbour's tip may be narrow); strips near each
        # other take turns, so that each finds the gap its neighbours leave rather than moving with them;
        # those still below it try once more, beside what their neighbours' turns left them
        # (a round that changed nothing leaves the next one the same plan to start from: it would too)
        for _ in range(NEEDY_ROUNDS):
            anew = False
            for group in _apart(_needy(contacts, g, strip_idx, rules), room, strip_idx, contacts.center):
                anew |= _improve(contacts, lay, g, strip_idx, room, rules, inner, needy=group)
            if not anew:
                break
        _regrow(contacts, lay, g, strip_idx, room, rules, inner, violating)
        _cut_bodies(contacts, lay, g, strip_idx, room, rules, inner, violating)
    pad_bound = inner if inner is not None else pad_inner
    pads = _grow_pads(contacts, pad_idx, room, rules, pad_bound)
    _grow_free_sides(contacts, pads, room, rules, pad_bound)
    plan = _assemble(contacts, rows, lay, g, strip_idx, pads, room, rules, inner)

    def polished() -> Plan:
        if g is None:
            return plan
        # the strips that still break a hard rule: only one left at its shortest can
        smallest = np.flatnonzero(g["shrunk"] & (g["L"] <= 1e-9))
        broken = smallest[room.violating(strip_idx[smallest], None, False, inner)]
        if not _polish(contacts, lay, g, strip_idx, room, rules, inner, broken):
            return plan
        return _assemble(contacts, rows, lay, g, strip_idx, pads, room, rules, inner)

    return plan, polished, declined


def _polish(
    contacts: Contacts,
    lay: dict[str, np.ndarray],
    g: dict[str, np.ndarray],
    strip_idx: np.ndarray,
    room: _Room,
    rules: Rules,
    inner: Any,
    broken: np.ndarray,
) -> bool:
    """Last, a contact still below volume_min tries the simple shapes alone (slid on a fine grid, its tip
    held narrower, turned), beside every other aperture as it stands, and keeps the one that gives it
    the most: strips whose shapes could meet take turns, so none moves with another, and a neighbour
    never loses what it has. So does a strip that still breaks a hard rule (`broken`, positions in
    strip_idx: its neighbour's contact abuts its own, a margin leaves its round end no room), which
    takes any shape that keeps the hard rules. Whether any strip changed."""
    needy = np.union1d(_needy(contacts, g, strip_idx, rules), broken)
    if not len(needy):
        return False
    before = _strip_area(g, rules)
    ids = strip_idx[needy]
    # (a strip's shapes reach up to the longest tip beyond its contact, its tip's radius on)
    reach = rules.tip_extension_max * lay["pitch"][ids] + lay["wc_tip"][ids] / 2
    for group in _apart(needy, room, strip_idx, contacts.center, reach):
        _improve(contacts, lay, g, strip_idx, room, rules, inner, needy=group, polish=True)
    return bool((_strip_area(g, rules) != before).any())


def _regrow(
    contacts: Contacts,
    lay: dict[str, np.ndarray],
    g: dict[str, np.ndarray],
    strip_idx: np.ndarray,
    room: _Room,
    rules: Rules,
    inner: Any,
    violating: Any,
) -> None:
    """Strips shrunk short of their target grow back into the room their neighbours, as they now stand,
    leave them: two strips too close shrink together, though one of them may be all that had to give
    way (its neighbour's tip pointing at it, or turned away since). Strips near each other take turns
    (`_apart`: in order of position on the die), each sized anew as it stands and shrunk again beside
    the others; one that comes out no larger, or breaking a hard rule, keeps its shape."""
    area = _strip_area(g, rules)
    short = np.flatnonzero(g["shrunk"] & (area < g["a_want"] * (1 - 1e-6)))
    for k in _apart(short, room, strip_idx, contacts.center):
        before = {key: value[k].copy() for key, value in g.items()}
        for key, value in _size_strips(contacts, strip_idx[k], lay, rules, inner).items():
            if key not in ("tip_last", "shrunk"):
                g[key][k] = value
        room.update(k)
        room.pairs(moved=strip_idx[k])  # (grown: their pairs found again)
        _shrink_strips(
            g, strip_idx, lay["corner"], room.update, violating, room.touching, rules.min_aperture_um, only=k
        )
        worse = _strip_area({key: g[key][k] for key in ("w", "h1", "h2", "L", "D")}, rules) < area[k] * (1 + 1e-9)
        # (or that breaks a hard rule, or touches another aperture, where it stood clear)
        worse |= violating(strip_idx[k], None, False) | room.touching(strip_idx[k])
        if worse.any():
            for key, value in before.items():
                g[key][k[worse]] = value[worse]
            room.update(k[worse])


def _cut_bodies(
    contacts: Contacts,
    lay: dict[str, np.ndarray],
    g: dict[str, np.ndarray],
    strip_idx: np.ndarray,
    room: _Room,
    rules: Rules,
    inner: Any,
    violating: Any,
) -> None:
    """A strip still closer than clearance_um to another contact (or off the keep-in) at its shortest,
    as every direction, slide and side left it: an oblique strip's body runs on to its contact's far
    corner, past where its band leaves the contact. Its body ends there instead, and it is sized and
    shrunk again; one that still breaks the rule is narrowed, or not printed (rule 11), never a bridge."""
    hard = np.flatnonzero(violating(strip_idx, None, False))
    if not len(hard):
        return
    lay["cut_body"][strip_idx[hard]] = True
    for key, value in _size_strips(contacts, strip_idx[hard], lay, rules, inner).items():
        g[key][hard] = value
    room.update(hard)
    room.pairs(moved=strip_idx[hard])
    _shrink_strips(g, strip_idx, lay["corner"], room.update, violating, room.touching, rules.min_aperture_um, only=hard)


#: slides tried for a strip short of its target, as fractions of the most it may move across its contact
SLIDES = (-1.0, -0.5, 0.5, 1.0)
#: then, for a contact still below volume_min, either side of the best slide found (fractions likewise,
#: tried at once, the nearer first where two give as much)
FINE = (-0.25, 0.25)
#: the slides tried in the needy round (a contact still below volume_min), and then either side of the best
DENSE = tuple(float(x) for x in np.round(np.linspace(-1, 1, 9), 3) if x)
FINER = (-0.0625, 0.0625, -0.125, 0.125, -0.1875, 0.1875)
#: how many times the needy round runs
NEEDY_ROUNDS = 2
#: the last round's slides (fractions of the way to the contact's edge, 1/16 apart: about 1 um on
#: a 30 um range) and tips held to these fractions of the way from the strip's width to their own
POLISH_SLIDES = tuple(float(x) for x in np.round(np.linspace(-1, 1, 33), 4) if x)
POLISH_TIPS = (1 / 3, 2 / 3)
#: and a turned tip's slides there, 1/8 of its range apart (the 4 coarse ones miss a gap between a
#: neighbour's contact and a grown pad's web; 1/16 finds no more on the known layouts, at twice the cost)
POLISH_TURNED = tuple(float(x) for x in np.round(np.linspace(-1, 1, 17), 4) if x)
#: and its tip as wide as rule 3 allows (the `tip` of a trial): wider than widest_tip's sufficient bound,
#: where the smallest rotated rectangle holding the strip still runs along its axis (`_reads_as_strip`)
WIDE_TIP = float("inf")
#: in the needy round a strip tries its body as sized and its body cut where its band leaves the contact
NEEDY_CUTS = (False, True)
#: and its tip sunk into its contact (centred this fraction of the way from its edge to its centre), as
#: wide as the rules allow: a wide tip reaches less far beyond the contact (a margin, a facing row)
NEEDY_SINKS = (1 / 3, 2 / 3)
#: a sunk tip reaches at least this far beyond its contact (um)
SINK_REACH_UM = 1.0
#: a tip turned to the same side as its neighbour's (a same_side warning) for a contact that stays
#: below volume_min must give it at least this many times the solder
FLIP_GAIN = 1.25


def _batch_size(variants: list[tuple[bool, bool, float, bool, float, float]], strips: int = 0) -> int:
    """The most variants `_improve` tries at once: those alike in turning, turned or not (at most
    MAX_WORLDS, or as many as MAX_COPIES copies of `strips` strips allow)."""
    most = max(MAX_WORLDS, MAX_COPIES // max(strips, 1))
    return min(max(sum(1 for v in variants if v[1] == flip) for flip in (False, True)), most)


def _needy(contacts: Contacts, g: dict[str, np.ndarray], strip_idx: np.ndarray, rules: Rules) -> np.ndarray:
    """The strips (positions in strip_idx) whose contacts stay below volume_min."""
    area = _strip_area(g, rules)
    return np.flatnonzero(area < least_area(contacts.d[strip_idx], rules, contacts.cap(strip_idx)))


def _apart(
    k: np.ndarray, room: _Room, strip_idx: np.ndarray, center: np.ndarray, reach: np.ndarray | None = None
) -> list[np.ndarray]:
    """The strips k (positions in strip_idx) in groups within which no two are near each other (a
    candidate pair of the plan's apertures, or, with `reach`, two whose contacts' boxes grown by that
    much each come within web_min_um): a greedy colouring in order of position on the die, so that the
    groups do not depend on the order the contacts come in."""
    if not len(k):
        return []
    ids = strip_idx[k]
    local = np.full(room.n, -1, dtype=np.int64)
    local[ids] = np.arange(len(k))
    qa, qb = room.near[2], room.near[3]
    both = (local[qa] >= 0) & (local[qb] >= 0)
    a, b = local[qa[both]], local[qb[both]]
    if reach is not None:
        grown = room.pad_box[ids] + np.stack([-reach, -reach, reach, reach], axis=1)
        i, j = box_pairs(grown, grown, room.rules.web_min_um, same=True)
        a, b = np.concatenate([a, i]), np.concatenate([b, j])
    adjacent: list[list[int]] = [[] for _ in range(len(k))]
    for x, y in zip(np.concatenate([a, b]).tolist(), np.concatenate([b, a]).tolist(), strict=True):
        adjacent[x].append(y)
    colour = np.full(len(k), -1, dtype=np.int64)
    for x in np.lexsort((center[ids, 1], center[ids, 0])).tolist():
        taken = {int(colour[y]) for y in adjacent[x]}
        colour[x] = next(c for c in range(len(taken) + 1) if c not in taken)
    return [k[colour == c] for c in range(int(colour.max()) + 1)]


def _improve(
    contacts: Contacts,
    lay: dict[str, np.ndarray],
    g: dict[str, np.ndarray],
    strip_idx: np.ndarray,
    room: _Room,
    rules: Rules,
    inner: Any,
    near: np.ndarray | None = None,
    needy: np.ndarray | None = None,
    polish: bool = False,
) -> bool:
    """Strips held short of their target by the room around them use the freedom rule 6 leaves: each
    may slide across its contact (still crossing it) and turn its tip to the other side (same_side).
    Every such strip tries every variant at once, beside its neighbours as they stand, and keeps the
    one that gives it the most solder; then strips changed side by side settle their own conflicts.
    near: only the strips within two pitches of these contacts (those around a changed corner);
    needy: the needy round, for only these strips (positions in strip_idx: contacts still below
    volume_min, none near another), which try more slides, each also shrunk in length first;
    polish (with needy, strips whose shapes cannot meet): slides every POLISH_SLIDES, tips held to
    POLISH_TIPS of their width or as wide as rule 3 allows (WIDE_TIP), each shrunk in length first, and
    turned tips at POLISH_TURNED; a strip that breaks a hard rule as it stands takes any variant that
    keeps them, one with a thin web too (a warning, not an error). Whether the plan changed."""
    area_now = _strip_area(g, rules)  # as the strips stand now, after shrinking for room
    # a strip sized short by the room a row's pitch leaves its tip is that short wherever it slides
    # or turns: only strips shrunk beside their actual neighbours can gain
    # a strip rule 3 makes narrower than min_aperture_um is not printed wherever it slides or turns
    short = np.flatnonzero(
        g["shrunk"]
        & (g["why"] == "room")
        & (area_now < g["a_want"] * (1 - 1e-6))
        & (g["w_sized"] >= rules.min_aperture_um - 1e-9)
    )
    if needy is not None:
        short = np.intersect1d(short, needy)
    if near is not None and len(short):
        reach = 2 * float(lay["pitch"][near].max()) + rules.web_min_um
        _, b = box_pairs(room.pad_box[near], room.pad_box[strip_idx[short]], reach)
        short = short[np.unique(b)]
    if not len(short):
        return False
    # strips whose surroundings are alike up to a translation try once: the others take their outcome
    alike, reach = _alike(contacts, lay, g, strip_idx, room, short, np.arange(len(short)), rules, inner)
    changed = _improve_apart(
        contacts,
        lay,
        g,
        strip_idx,
        room,
        rules,
        inner,
        short[alike.keep],
        alike.group[alike.keep],
        reach,
        needy,
        polish,
    )
    alike.spread(short, strip_idx, g, lay, room, contacts.center)
    return changed


def _improve_apart(
    contacts: Contacts,
    lay: dict[str, np.ndarray],
    g: dict[str, np.ndarray],
    strip_idx: np.ndarray,
    room: _Room,
    rules: Rules,
    inner: Any,
    short: np.ndarray,
    group: np.ndarray,
    reach: float,
    needy: np.ndarray | None,
    polish: bool,
) -> bool:
    """`_improve` of the strips `short` (each with its group: strips near each other), which stand for
    every strip alike. Whether the plan changed."""
    # every variant (tip order, turned, slide), in the order they are judged; each strip keeps the
    # first that gives it the most. A needy strip tries more slides, and each variant also shrunk in
    # length before its tip
    slides = SLIDES if needy is None else DENSE
    # (in the needy round a strip also tries its body cut where its band leaves the contact: an oblique
    # or slid strip's tip then starts there, not past the contact's far corner, where a wider one fits)
    # (and its tip sunk into its contact, turned or not)
    if polish:  # (tips held narrower instead of cut bodies and sunk tips)
        slides = POLISH_SLIDES
        kinds = [(o, f, False, 0.0, 1.0) for o in (False, True) for f in (False, True)]
        kinds += [(True, f, False, 0.0, t) for t in (*POLISH_TIPS, WIDE_TIP) for f in (False, True)]
    else:
        kinds = [
            (o, f, c, 0.0, 1.0)
            for c in ((False,) if needy is None else NEEDY_CUTS)
            for o in ((False,) if needy is None else (False, True))
            for f in (False, True)
        ]
        kinds += [(False, f, False, k, 1.0) for k in (() if needy is None else NEEDY_SINKS) for f in (False, True)]
    turned = POLISH_TURNED if polish else SLIDES
    variants = [
        (o, f, s, c, k, t)
        for o, f, c, k, t in kinds
        for s in ((0.0,) if f or o or c or k or t < 1 else ()) + (turned if f else slides)
    ]
    worlds = _batch_size(variants, len(short))
    sub = _Neighbourhood(contacts, lay, g, strip_idx, room, short, rules, worlds=worlds, reach=reach)
    worlds = len(sub.kw)
    best = sub.area(short_only=True)
    if polish:  # (HARD < this < WEB: the trials are graded)
        best = np.where(sub.judge(inner, graded=True) == HARD, (HARD + WEB) / 2, best)
    start = best.copy()
    # each strip's choice (a trial's arguments), as it stands and the best found
    first = {
        "side": sub.lay["side"][sub.k_ids].copy(),
        "slide": sub.lay["slide"][sub.k_ids].copy(),
        "tip_last": sub.g["tip_last"][sub.k].copy(),
        "cut": sub.lay["cut_body"][sub.k_ids].copy(),
        "sink": sub.lay["sink"][sub.k_ids].copy(),
        "tip": np.ones(len(sub.k)),
    }
    chosen = dict(first)
    side0 = first["side"]
    lo, hi = sub.slide_range()
    enough = least_area(sub.contacts.d[sub.k_ids], rules, sub.contacts.cap(sub.k_ids))
    # slides first; a turned tip (a same_side warning) only for a contact below volume_min, where it
    # lifts the contact to volume_min or gives it FLIP_GAIN times the solder it had
    lift = np.where(start < enough, np.minimum(enough, FLIP_GAIN * start), np.inf)
    tried: dict[int, np.ndarray] = {}

    def shape(v: int) -> dict[str, np.ndarray]:
        order, flip, f, cut, sink, tip = variants[v]
        return {
            "side": -side0 if flip else side0,
            "slide": np.where(f < 0, -f * lo, f * hi),
            "tip_last": np.full(len(side0), order),
            "cut": first["cut"] | cut,
            "sink": np.full(len(side0), sink) if sink else first["sink"],
            "tip": np.full(len(side0), tip),
        }

    def trial(choice: dict[str, np.ndarray]) -> np.ndarray:
        return sub.trial(
            choice["side"],
            choice["slide"],
            inner,
            tip_last=choice["tip_last"],
            cut=choice["cut"],
            sink=choice["sink"],
            tip=choice["tip"],
            graded=polish,
        )

    def tried_area(v: int) -> np.ndarray:
        """The strips' areas in variant v; tried at once with the later variants alike in turning
        (a turned tip is tried only where a contact is below volume_min: those wait till needed)."""
        if v not in tried:
            batch = [x for x in range(v, len(variants)) if variants[x][1] == variants[v][1] and x not in tried]
            batch = batch[:worlds]
            shaped = [shape(x) for x in batch]
            tried.update(zip(batch, trial({key: np.stack([c[key] for c in shaped]) for key in first}), strict=True))
        return tried[v]

    for v, (order, flip, _f, _c, _k, _t) in enumerate(variants):
        # (the first of its kind)
        if v == 0 or variants[v - 1][:2] != (order, flip) or variants[v - 1][3:] != (_c, _k, _t):
            still = best < enough
            # (a turned tip is tried where a contact near it is still below volume_min)
            floor = np.where(np.isin(group, group[still]), lift, np.inf) if flip else best * (1 + 1e-9) + 1e-6
            skip = flip and not still.any()
        if skip:
            continue
        # (a turned tip tries the coarse slides only, in the polish 1/8 apart: it must gain much to be kept)
        area = tried_area(v)
        better = (area > floor) & (area > best * (1 + 1e-9) + 1e-6)
        best = np.where(better, area, best)
        chosen = {key: np.where(better, value, chosen[key]) for key, value in shape(v).items()}
    # a contact still below volume_min: finer slides either side of its best (the others as chosen)
    # (every step at once, a world each)
    need = best < enough
    steps = (FINE if needy is None else FINER) if need.any() else ()
    for at in range(0, len(steps), worlds):
        near, span = chosen["slide"], np.maximum(hi, -lo)
        moved = [np.where(need, np.clip(near + s * span, lo, hi), near) for s in steps[at : at + worlds]]
        areas = trial({**{key: np.stack([c] * len(moved)) for key, c in chosen.items()}, "slide": np.stack(moved)})
        for slide, area in zip(moved, areas, strict=True):
            floor = np.where(chosen["side"] != side0, lift, best * (1 + 1e-9) + 1e-6)
            better = need & (area > floor) & (area > best * (1 + 1e-9) + 1e-6)
            best = np.where(better, area, best)
            chosen["slide"] = np.where(better, slide, chosen["slide"])
    # the choices side by side: a strip that now does worse than it did (its neighbours chose too), a
    # turned tip that no longer gains what a turn must, or one that breaks a rule takes its first shape back
    for _ in range(4):
        changed = np.logical_or.reduce([chosen[key] != first[key] for key in first])
        if not changed.any():  # (every strip keeps the shape it stands in: the plan stays as it is)
            return False
        area = trial(chosen)
        worse = (area < start * (1 - 1e-9) - 1e-6) | ((chosen["side"] != side0) & (area < lift))
        back = worse & changed
        if not back.any():  # (those worse already stand as they were: the same trial again changes nothing)
            break
        chosen = {key: np.where(back, first[key], chosen[key]) for key in first}
    return sub.write_back(g, lay, room)


#: a keep-in whose convex hull has at most this many edges is tested on the strips' vertices first
#: (`_Room.leaves`)
HULL_EDGES_MAX = 64

#: the most variants a neighbourhood tries at once (copies of its changing strips it holds)
MAX_WORLDS = 32
#: or, where few strips change (the needy round), as many as make this many copies of them
MAX_COPIES = 4096

#: the most webs between strips at their least a room keeps known (`_Room._least_webs`)
LEAST_WEBS_MAX = 1 << 18

#: what a trial variant's area becomes where it breaks a hard rule (clearance, keep-in, a sliver) or
#: only the web
HARD, WEB = -2.0, -1.0


def corner_turns(corner: Any, rows: RowSet, min_deg: float) -> list[float]:
    """The turns (degrees from the bisector, in (-90, 90]) a corner's common strip direction may try,
    keeping at least `min_deg` from each of its rows' lines (rule 5): both ends of the range around the
    bisector, and the middle of every other range of allowed directions. At a 60 deg corner with
    min_deg 30 the bisector is the only allowed direction between the rows, and the middle of the range
    around its normal (60 deg from each row) is the other choice."""
    u = [rows.rows[r].direction for r in corner.rows]
    base = float(np.degrees(np.arctan2(corner.bisector[1], corner.bisector[0])))
    phis = np.arange(-89.5, 90.25, 0.5)  # every line once: -90 and 90 are the same line
    ang = np.radians(base + phis)
    d = np.stack([np.cos(ang), np.sin(ang)], axis=1)
    sep = np.min([np.degrees(np.arccos(np.clip(np.abs(d @ ui), 0, 1))) for ui in u], axis=0)
    ok = sep >= min_deg - 1e-9
    zero = int(np.argmin(np.abs(phis)))
    if ok.all() or not ok.any():
        return [-45.0, 45.0, 90.0] if ok.all() else []
    # ranges of allowed lines on the circle of lines: start where ok turns on
    starts = np.flatnonzero(ok & ~np.roll(ok, 1))
    n = len(phis)
    turns: set[float] = set()
    for a in starts.tolist():
        b = a
        while ok[(b + 1) % n] and (b + 1) % n != a:
            b += 1
        mid = (a + b) / 2
        # the range around the bisector: its two ends; any other: its middle, farthest from both rows
        around = a <= zero <= b or (b >= n and zero <= b - n)
        for k in (a, b) if around else (mid,):
            phi = (float(phis[0]) + 0.5 * k + 90.0) % 180.0 - 90.0  # into [-90, 90): k may run past n
            turns.add(90.0 if phi == -90.0 else round(phi, 3))
    turns.discard(0.0)
    return sorted(turns)


def _turns_of(corners: list[Any], rows: RowSet, min_deg: float) -> list[list[float]]:
    """corner_turns of each corner, worked out once for each distinct geometry (its rows' directions and
    its bisector: a flat layout of many dies has a few)."""
    found: dict[bytes, list[float]] = {}
    out = []
    for c in corners:
        key = np.concatenate([c.bisector, *(rows.rows[r].direction for r in c.rows)]).tobytes()
        if key not in found:
            found[key] = corner_turns(c, rows, min_deg)
        out.append(found[key])
    return out


def _corner_directions(
    contacts: Contacts,
    rows: RowSet,
    lay: dict[str, np.ndarray],
    g: dict[str, np.ndarray],
    strip_idx: np.ndarray,
    room: _Room,
    rules: Rules,
    inner: Any,
    everywhere: bool = False,
) -> np.ndarray:
    """Rule 5: a corner that starves at the bisector (a strip below volume_min) tries other common
    directions (at least oblique_min_deg from each row) and keeps the one that gives its contacts the
    most solder, the worst of them first. All corners try at once, each beside the rest as it stands.
    A direction with the corner's tips moved is kept as `_corner_directions` says below, or, with
    `everywhere`, wherever it serves the corner better. Returns the contact ids of the members of
    corners that declined a direction that would serve them better."""
    chosen, turns, members = [], [], []
    starved = list(_starved_corners(contacts, rows, lay, g, strip_idx, rules))
    found = _turns_of([c for _k, c, _ids, _m in starved], rows, rules.oblique_min_deg)
    for (k, _c, _ids, m), options in zip(starved, found, strict=True):
        if not options:
            continue
        chosen.append(k)
        turns.append(options)
        members.append(m)
    if not chosen:
        return np.zeros(0, dtype=np.int64)
    # corners whose surroundings are alike up to a translation try once: the others take their outcome
    alike, reach, short, tried = _alike_corners(contacts, lay, g, strip_idx, room, rules, inner, members, turns)
    declined = _corner_directions_of(
        contacts,
        lay,
        g,
        strip_idx,
        room,
        rules,
        inner,
        everywhere,
        [turns[j] for j in tried],
        [members[j] for j in tried],
        reach,
    )
    alike.spread(short, strip_idx, g, lay, room, contacts.center)
    return alike.expand(short, strip_idx, declined)


def _corner_directions_of(
    contacts: Contacts,
    lay: dict[str, np.ndarray],
    g: dict[str, np.ndarray],
    strip_idx: np.ndarray,
    room: _Room,
    rules: Rules,
    inner: Any,
    everywhere: bool,
    turns: list[list[float]],
    members: list[np.ndarray],
    reach: float,
) -> np.ndarray:
    """`_corner_directions` of the corners whose members (positions in strip_idx) and turns are given,
    which stand for every corner alike."""
    chosen = list(range(len(members)))
    short = np.concatenate(members)
    which = np.concatenate([np.full(len(m), j) for j, m in enumerate(members)])
    table = _padded(turns)
    T = table.shape[1]
    # the corners whose strips, or their rows' next strips, the keep-in turned (a row held within an
    # outline turns its tips inward): a direction with its tips moved is kept wherever it serves the corner
    # better; elsewhere only where it lifts the corner's worst strip to volume_min (moving tips off the
    # alternation is a warning, and the strips planned beside them later lose the room they take)
    near = lay["beside"][strip_idx[short]]
    held = (lay["turned"][strip_idx[short]] == "keep_in") | (
        (near >= 0) & (lay["turned"][np.maximum(near, 0)] == "keep_in")
    ).any(axis=1)
    turned = np.full(len(chosen), everywhere)
    np.logical_or.at(turned, which, held)
    declined = np.full(len(chosen), -np.inf)  # (the best score of a direction declined)
    sub = _Neighbourhood(contacts, lay, g, strip_idx, room, short, rules, worlds=min(2 * T, MAX_WORLDS), reach=reach)
    want = sub.g["a_want"][sub.k]
    side0 = sub.lay["side"][sub.k_ids].copy()
    slide0 = np.zeros(len(side0))
    base0 = sub.lay["base"][sub.k_ids].copy()

    u, p = sub.lay["u"][sub.k_ids], sub.lay["pitch"][sub.k_ids]

    def score(area: np.ndarray, base: np.ndarray) -> np.ndarray:
        """Per corner: the worst contact's share of its target, then the mean (lexicographic); a strip
        that breaks a hard rule (or does not print) counts below one with a thin web (a warning), as a
        strip does that this direction leaves no web at its pitch (held at min_aperture_um by rule 11)."""
        floored = _pitch_less_web(_sin_to_row(base, u), p, rules) < rules.min_aperture_um - 1e-9
        r = np.where(area == HARD, -2.0, np.where((area == WEB) | floored, -1.0, area / want))
        worst = np.full(len(chosen), np.inf)
        np.minimum.at(worst, which, r)
        mean = np.bincount(which, r, len(chosen)) / np.maximum(np.bincount(which, None, len(chosen)), 1)
        return worst + 1e-3 * mean

    first = score(sub.judge(inner, graded=True), base0)  # the strips as planned so far
    best_score = first.copy()
    best_base, best_side = base0.copy(), side0.copy()
    # every corner tries its own turns, as many at once as the neighbourhood has worlds: each with the
    # tips as they lie, and with every tip of the corner inward (away from its row's outward side; the
    # rows held within an outline turn theirs that way). (Every tip outward too changed one plan of 111,
    # and no count: not tried.)
    normal = sub.lay["normal"][sub.k_ids]
    tried: list[tuple[np.ndarray, np.ndarray]] = []
    for f in range(T):
        base = _turn(base0, table[:, f][which])
        inward = np.where(np.einsum("ij,ij->i", base, normal) > 0, -1, 1).astype(side0.dtype)
        tried += [(base, side0), (base, inward)]
    areas: list[np.ndarray] = []
    for f in range(0, len(tried), len(sub.kw)):
        part = tried[f : f + len(sub.kw)]
        V = len(part)
        bases = np.concatenate([b for b, _ in part])
        areas += list(sub.trial(np.stack([x for _, x in part]), np.tile(slide0, (V, 1)), inner, bases, graded=True))
    enough = least_area(sub.contacts.d[sub.k_ids], rules, sub.contacts.cap(sub.k_ids))
    for (base, side), area in zip(tried, areas, strict=True):
        s = score(area, base)
        moved = np.zeros(len(chosen), dtype=bool)
        np.logical_or.at(moved, which, side != side0)
        lifted = np.ones(len(chosen), dtype=bool)
        np.logical_and.at(lifted, which, area >= enough * (1 - 1e-9))
        better = (s > best_score + 1e-6) & (~moved | turned | lifted)
        declined = np.where(~moved | turned | lifted, declined, np.maximum(declined, s))
        best_score = np.where(better, s, best_score)
        best_base = np.where(better[which][:, None], base, best_base)
        best_side = np.where(better[which], side, best_side)
    final = score(sub.trial(best_side, slide0, inner, best_base, graded=True), best_base)
    sub.write_back(g, lay, room, (final > first + 1e-6)[which])  # corners that gain; the rest stay
    return strip_idx[short[(declined > best_score + 1e-6)[which]]]


def _corner_members(
    contacts: Contacts,
    rows: RowSet,
    lay: dict[str, np.ndarray],
    g: dict[str, np.ndarray],
    strip_idx: np.ndarray,
    room: _Room,
    rules: Rules,
    inner: Any,
    everywhere: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """A corner still starved when its direction, slides and turns are chosen (a contact below
    volume_min) tries fewer members: the contacts nearest the corner point keep the common oblique
    direction and the farther ones run straight across their rows, their tips where the alternation
    puts them or all inward (where the die edge leaves no room outside: an open corner of a pad ring).
    A corner takes the variant whose worst contact gets the most solder, if that is more than it had,
    and it leaves no more thin webs (unless a contact breaks a hard rule now), or with `everywhere`
    whatever webs it leaves (a warning, as is a contact below volume_min); a corner that declines a
    variant for its webs alone declines it. All such corners try at once. Returns the contact ids of
    the strips changed, and those of the members of corners that declined a variant."""
    chosen, members, ranks, normals, bisectors, options = [], [], [], [], [], []
    starved = []  # (corner, ids, positions, ranks, normals, turns) of the corners with contacts to leave out
    found = list(_starved_corners(contacts, rows, lay, g, strip_idx, rules))
    all_turns = _turns_of([f[1] for f in found], rows, rules.oblique_min_deg)
    for (_k, c, ids, m), turns_c in zip(found, all_turns, strict=True):
        rank, normal = _corner_ranks(contacts, rows, c, ids)
        # (one contact a row: nothing to leave out, but all may still run straight, rule 11 before 5)
        starved.append((c, ids, m, rank, normal, turns_c))
    for c, ids, m, rank, normal, turns_c in starved:
        options.append(turns_c)
        chosen.append(c)
        members.append(m)
        ranks.append(rank)
        normals.append(normal)
        bisectors.append(np.repeat(c.bisector[None, :], len(ids), axis=0))
    if not chosen:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    # corners whose surroundings are alike up to a translation try once: the others take their outcome
    per_entry = np.column_stack([np.concatenate(ranks), np.concatenate(normals), np.concatenate(bisectors)])
    alike, reach, short, tried = _alike_corners(
        contacts, lay, g, strip_idx, room, rules, inner, members, options, per_entry
    )
    changed, declined = _corner_members_of(
        contacts,
        lay,
        g,
        strip_idx,
        room,
        rules,
        inner,
        everywhere,
        [options[j] for j in tried],
        [members[j] for j in tried],
        [ranks[j] for j in tried],
        [normals[j] for j in tried],
        [bisectors[j] for j in tried],
        reach,
    )
    alike.spread(short, strip_idx, g, lay, room, contacts.center)
    return alike.expand(short, strip_idx, changed), alike.expand(short, strip_idx, declined)


def _corner_members_of(
    contacts: Contacts,
    lay: dict[str, np.ndarray],
    g: dict[str, np.ndarray],
    strip_idx: np.ndarray,
    room: _Room,
    rules: Rules,
    inner: Any,
    everywhere: bool,
    options: list[list[float]],
    members: list[np.ndarray],
    ranks: list[np.ndarray],
    normals: list[np.ndarray],
    bisectors: list[np.ndarray],
    reach: float,
) -> tuple[np.ndarray, np.ndarray]:
    """`_corner_members` of the corners given (their turns, members as positions in strip_idx, each
    member's rank, row normal and the corner's bisector), which stand for every corner alike."""
    chosen = list(range(len(members)))
    which = np.concatenate([np.full(len(m), j) for j, m in enumerate(members)])
    rank, normal, bisector = np.concatenate(ranks), np.concatenate(normals), np.concatenate(bisectors)
    # (the deepest rank that stays oblique, the others' tips: 0 the alternation, -1 inward, the
    # oblique ones' direction: None as chosen, else turned this far from the bisector; rank -1: no
    # strip oblique, where the nearest contacts are too narrow at every common direction to print)
    turns = sorted({t for turns_c in options for t in turns_c})
    variants = [(r, mode, t) for r in range(int(rank.max())) for mode in (0, -1) for t in [None, 0.0, *turns]]
    variants += [(-1, mode, None) for mode in (0, -1)]
    worlds = min(len(variants), MAX_WORLDS)
    members_of = np.concatenate(members)
    sub = _Neighbourhood(contacts, lay, g, strip_idx, room, members_of, rules, worlds=worlds, reach=reach)
    # (with `everywhere`, a thinner web may be taken: never one of nothing, where two apertures merge)
    sub.touching_is_hard = everywhere
    want = sub.g["a_want"][sub.k]
    side0 = sub.lay["side"][sub.k_ids].copy()
    slide0 = sub.lay["slide"][sub.k_ids].copy()
    base0 = sub.lay["base"][sub.k_ids].copy()

    def worst(judged: np.ndarray, area: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per corner: the worst contact's share of its target (a hard rule broken: the worst of all),
        then the mean share (lexicographic); and how many of its contacts have a thin web."""
        r = np.where(judged == HARD, -1.0, area / want)
        out = np.full(len(chosen), np.inf)
        np.minimum.at(out, which, r)
        mean = np.bincount(which, r, len(chosen)) / np.bincount(which, None, len(chosen))
        return out + 1e-3 * mean, np.bincount(which, judged == WEB, len(chosen))

    first, thin = worst(sub.judge(inner, graded=True), sub.area(short_only=True))
    best, best_v = first.copy(), np.full(len(chosen), -1)
    declined = np.full(len(chosen), -np.inf)  # (the best a variant declined for its webs gave)

    def shape(v: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        deep = np.array([variants[k][0] if k >= 0 else rank.max() for k in v.tolist()])[which]
        mode = np.array([variants[k][1] if k >= 0 else 0 for k in v.tolist()])[which]
        turn = [variants[k][2] if k >= 0 else None for k in v.tolist()]
        keep = np.array([t is None for t in turn])[which]
        turned = _turn(bisector, np.array([0.0 if t is None else t for t in turn])[which])
        oblique = rank <= deep
        side = np.where(oblique | (mode == 0), side0, -1).astype(side0.dtype)
        slide = np.where(oblique & keep, slide0, 0.0)
        base = np.where(oblique[:, None], np.where(keep[:, None], base0, turned), normal)
        return side, slide, base, oblique

    # (each corner tries only its own: its members' ranks and its turns; the others stand as they are)
    deepest = np.zeros(len(chosen), dtype=np.int64)
    np.maximum.at(deepest, which, rank)
    own = np.array(
        [
            [r < deepest[j] and (t is None or t == 0.0 or t in options[j]) for j in range(len(chosen))]
            for r, _m, t in variants
        ]
    )
    own[[r < 0 for r, _m, _t in variants]] = True
    for first_v in range(0, len(variants), worlds):  # as many variants at once as there are worlds
        batch = range(first_v, min(first_v + worlds, len(variants)))
        shaped = [shape(np.where(own[v], v, -1)) for v in batch]
        side, slide, base, oblique = (np.stack(a) for a in zip(*shaped, strict=True))
        judged = sub.trial(side, slide, inner, base.reshape(-1, 2), graded=True, corner=oblique.ravel())
        for v, judged_v, area_v in zip(batch, judged, sub.areas(len(batch)), strict=True):
            got, webs = worst(judged_v, area_v)
            # no thin web where there was none, unless a contact breaks a hard rule or does not print now
            # (every strip straight across its own row, no longer oblique (rule 5), only where a contact
            # does not print or breaks a hard rule now: rule 11 before rule 5)
            better = (got > best + 1e-6) & ((variants[v][0] >= 0) | (first < 0)) & own[v]
            webbed = better & ~((webs <= thin) | (first < 0) | everywhere)
            declined = np.maximum(declined, np.where(webbed, got, -np.inf))
            better &= ~webbed
            best, best_v = np.where(better, got, best), np.where(better, v, best_v)
    declined_ids = strip_idx[members_of[(declined > best + 1e-6)[which]]]
    if (best_v < 0).all():
        return np.zeros(0, dtype=np.int64), declined_ids
    side, slide, base, oblique = shape(best_v)
    final, webs = worst(sub.trial(side, slide, inner, base, graded=True, corner=oblique), sub.area(short_only=True))
    keep = (best_v >= 0) & (final > first + 1e-6) & ((webs <= thin) | (first < 0) | everywhere)
    sub.write_back(g, lay, room, keep[which])
    return sub.S[sub.k_ids[keep[which]]], declined_ids


def _printable_somewhere(
    contacts: Contacts,
    lay: dict[str, np.ndarray],
    bisectors: list[np.ndarray],
    ids: list[np.ndarray],
    turns: list[list[float]],
    rules: Rules,
) -> np.ndarray:
    """For each corner j: whether some common direction (turned turns[j] from its bisector) gives every
    one of its strips ids[j] rule 3's width of at least min_aperture_um. All corners at once."""
    J = len(ids)
    if not J:
        return np.zeros(0, dtype=bool)
    size = np.array([len(i) for i in ids])
    owner = np.repeat(np.arange(J), size)
    every = np.concatenate(ids)
    u, p = lay["u"][every], lay["pitch"][every]
    wc = extent_along(contacts.polygons.take(every), u)
    table = _padded(turns)
    bisector = np.asarray(bisectors, dtype=float).reshape(J, 2)
    out = np.zeros(J, dtype=bool)
    for f in range(table.shape[1]):
        d = _turn(bisector, table[:, f])[owner]
        w = _width_terms(wc, _sin_to_row(d, u), p, rules).min(axis=0)
        out |= np.bincount(owner, w >= rules.min_aperture_um - 1e-9, J) == size
    return out


def _starved_corners(
    contacts: Contacts,
    rows: RowSet,
    lay: dict[str, np.ndarray],
    g: dict[str, np.ndarray],
    strip_idx: np.ndarray,
    rules: Rules,
) -> Iterator[tuple[int, Any, np.ndarray, np.ndarray]]:
    """The corners that starve: a strip of their oblique members ends below volume_min at the bottom
    of the transfer band. Each as (its index, the corner, those members' contact ids, their positions
    in strip_idx)."""
    pos = np.full(len(contacts), -1, dtype=np.int64)
    pos[strip_idx] = np.arange(len(strip_idx))
    area = np.where(g["w"] < rules.min_aperture_um - 1e-9, 0.0, _strip_area(g, rules))  # a sliver: not printed
    enough = least_area(contacts.d[strip_idx], rules, contacts.cap(strip_idx))
    for k, c in enumerate(rows.corners):
        ids = c.members[lay["is_strip"][c.members] & lay["corner"][c.members]]
        ids = ids[pos[ids] >= 0]
        m = pos[ids]
        if len(m) and (area[m] < enough[m]).any():
            yield k, c, ids, m


def _corner_ranks(contacts: Contacts, rows: RowSet, corner: Any, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For a corner's members `ids`: each one's rank in its row by distance from the corner point (0:
    the nearest), and its row's outward normal."""
    rank = np.zeros(len(ids), dtype=np.int64)
    normal = np.zeros((len(ids), 2))
    dist = np.hypot(*(contacts.center[ids] - corner.point).T)
    listed = ids.tolist()
    for r in corner.rows:
        members = set(rows.rows[r].members.tolist())  # (a few ids: no array machinery per corner)
        mine = np.array([j for j, i in enumerate(listed) if i in members], dtype=np.int64)
        rank[mine[np.argsort(dist[mine], kind="stable")]] = np.arange(len(mine))
        normal[mine] = rows.rows[r].normal
    return rank, normal


def _strip_area(g: dict[str, np.ndarray], rules: Rules) -> np.ndarray:
    """The strips' areas as they stand (true arcs)."""
    if rules.strategy == "tip":
        return strips.tip_strip_area(g["w"], g["h1"], g["h2"], g["L"], g["D"])
    return strips.plain_strip_area(g["w"], g["h1"], g["h2"], g["L"])


def neighbourhood_reach(contacts: Contacts, lay: dict[str, np.ndarray], ids: np.ndarray, rules: Rules) -> float:
    """How far around the strips `ids` a trial looks (`_Neighbourhood`): two pitches and a contact's
    length, a web and a clearance beyond their boxes."""
    reach = float(2 * np.max(lay["pitch"][ids]) + np.max(contacts.length[ids])) + rules.web_min_um
    return reach + rules.clearance_um


def _alike(
    contacts: Contacts,
    lay: dict[str, np.ndarray],
    g: dict[str, np.ndarray],
    strip_idx: np.ndarray,
    room: _Room,
    short: np.ndarray,
    unit: np.ndarray,
    rules: Rules,
    inner: Any,
    unit_key: list[bytes] | None = None,
    entry_key: np.ndarray | None = None,
) -> tuple[congruent.Classes, float]:
    """`congruent.classes` of the entries `short` at the reach their trials look (or each entry alone,
    with ALIKE off), and that reach."""
    reach = neighbourhood_reach(contacts, lay, strip_idx[short], rules) if len(short) else 0.0
    if not ALIKE:
        return congruent.apart(room, strip_idx[short], unit, reach), reach
    found = congruent.classes(contacts, lay, g, strip_idx, room, short, unit, inner, reach, unit_key, entry_key)
    return found, reach


def _alike_corners(
    contacts: Contacts,
    lay: dict[str, np.ndarray],
    g: dict[str, np.ndarray],
    strip_idx: np.ndarray,
    room: _Room,
    rules: Rules,
    inner: Any,
    members: list[np.ndarray],
    turns: list[list[float]],
    per_entry: np.ndarray | None = None,
) -> tuple[congruent.Classes, float, np.ndarray, list[int]]:
    """`_alike` of corners (each its members, positions in strip_idx, and the turns it tries; per_entry:
    what else is read of each member): the classes, the trials' reach, the members in one array, and
    the corners tried (one of each kind)."""
    short = np.concatenate(members)
    which = np.concatenate([np.full(len(m), j) for j, m in enumerate(members)])
    key = [np.asarray(t, dtype=float).tobytes() for t in turns]
    alike, reach = _alike(contacts, lay, g, strip_idx, room, short, which, rules, inner, key, per_entry)
    return alike, reach, short, np.unique(which[alike.keep]).tolist()


#: whether groups of strips alike up to a translation are tried once (`congruent`)
ALIKE = True


class _Neighbourhood:
    """The strips `short` (positions in strip_idx) with every contact and aperture within their reach:
    a small plan of its own, where only those strips change. With `worlds` > 1 it holds that many
    copies of the changing strips (world 0: the strips themselves), each copy beside the contacts and
    the standing apertures and the copies of its own world only: as many variants tried at once, each
    as if it were tried alone."""

    def __init__(
        self,
        contacts: Contacts,
        lay: dict[str, np.ndarray],
        g: dict[str, np.ndarray],
        strip_idx: np.ndarray,
        room: _Room,
        short: np.ndarray,
        rules: Rules,
        worlds: int = 1,
        reach: float | None = None,
    ) -> None:
        self.rules = rules
        ids = strip_idx[short]
        reach = neighbourhood_reach(contacts, lay, ids, rules) if reach is None else reach
        _, b = box_pairs(room.box[ids], room.pad_box, reach)
        S = np.unique(np.concatenate([ids, b]))  # contact ids of the neighbourhood, sorted
        self.S = S
        self.reach, self.box0 = reach, room.box[ids]  # (how far it reaches from the strips as they were)
        self.contacts = contacts.take(S)
        self.lay = {key: value[S] for key, value in lay.items()}
        self.lay["beside"] = np.full((len(S), 2), -1, dtype=np.int64)  # (each trial sizes its strips alone)
        pos = np.full(len(contacts), -1, dtype=np.int64)
        pos[strip_idx] = np.arange(len(strip_idx))
        in_s = pos[S] >= 0
        self.local_strips = np.flatnonzero(in_s)  # local contact ids that hold strips
        self.global_pos = pos[S][in_s]  # their positions in the plan's strip_idx
        self.g = {key: value[self.global_pos].copy() for key, value in g.items()}
        local = np.searchsorted(S, ids)
        self.k_ids = local  # local contact ids of the strips that change
        self.k = np.searchsorted(self.local_strips, local)  # their positions among the local strips
        # the copies, world after world, after the neighbourhood's own contacts and strips: one of
        # each changing strip (a strip named twice, as a member of two corners, is one strip)
        n, m = len(S), len(self.local_strips)
        once, twice = np.unique(local, return_inverse=True)
        at = np.arange(worlds - 1)[:, None] * len(once) + twice  # (worlds - 1, strips): copy numbers
        copied = np.concatenate([np.arange(n), np.tile(once, worlds - 1)])
        self.kw = np.concatenate([self.k[None], m + at])  # (worlds, strips): positions among the strips
        self.kw_ids = np.concatenate([local[None], n + at])  # (worlds, strips): local contact ids
        if worlds > 1:
            self.contacts = self.contacts.take(copied)
            self.lay = {key: value[copied] for key, value in self.lay.items()}
            self.local_strips = np.concatenate([self.local_strips, n + np.arange((worlds - 1) * len(once))])
            first = np.searchsorted(self.local_strips[:m], once)
            self.g = {key: np.concatenate([value, *[value[first]] * (worlds - 1)]) for key, value in self.g.items()}
        self.tip_width0 = self.lay["tip_width"].copy()  # (a trial's `tip` beyond 1 lifts it)
        self.touching_is_hard = False  # (`judge`)
        self.room = _Room(self.contacts, self.g, self.local_strips, rules)
        if worlds > 1:
            self.room.owner = copied
            self.room.world = np.repeat(np.arange(-1, worlds), [n, 0] + [len(once)] * (worlds - 1))
            self.room.world[local] = 0
        local_of = {int(c): i for i, c in enumerate(S.tolist())}
        for c_id, geom in room.pad_geoms.items():
            if c_id in local_of:
                self.room.pad_geoms[local_of[c_id]] = geom
        self.room.build()

    def slide_range(self) -> tuple[np.ndarray, np.ndarray]:
        """How far each changing strip may slide either way across its axis and still lie across its
        contact for its whole width (negative, positive)."""
        polys = self.contacts.polygons.take(self.k_ids)
        perp = _rot90(self.lay["base"][self.k_ids])
        c = self.contacts.center[self.k_ids]
        proj = polys.coords - np.repeat(c, polys.counts, axis=0)
        across = np.einsum("ij,ij->i", proj, np.repeat(perp, polys.counts, axis=0))
        starts = polys.offsets[:-1]
        half = self.g["w"][self.k] / 2
        lo = np.minimum(np.minimum.reduceat(across, starts) + half, 0.0)
        hi = np.maximum(np.maximum.reduceat(across, starts) - half, 0.0)
        return lo, hi

    def _area_at(self, k: np.ndarray) -> np.ndarray:
        return _strip_area({key: self.g[key][k] for key in ("w", "h1", "h2", "L", "D")}, self.rules)

    def areas(self, V: int) -> np.ndarray:
        """(V, strips) the changing strips' areas in worlds 0..V-1, as they stand."""
        return self._area_at(self.kw[:V].ravel()).reshape(V, -1)

    def area(self, short_only: bool = False) -> np.ndarray:
        a = _strip_area(self.g, self.rules)
        return a[self.k] if short_only else a

    def trial(
        self,
        side: np.ndarray,
        slide: np.ndarray,
        inner: Any,
        base: np.ndarray | None = None,
        graded: bool = False,
        corner: np.ndarray | None = None,
        tip_last: np.ndarray | None = None,
        cut: np.ndarray | None = None,
        sink: np.ndarray | None = None,
        tip: np.ndarray | None = None,
    ) -> np.ndarray:
        """The changing strips with these sides, slides (and strip directions, and which of them are
        oblique corner strips), sized and then shrunk where they break a rule beside the others; their
        areas, judged as `judge` does. Sides, slides, tip_last, cut, sink and tip of shape (V, strips): V
        variants at once, variant v in world v, and areas of that shape. tip: each tip held to this
        fraction of the way from its strip's width to the diameter it is sized to (1: as sized; above 1,
        WIDE_TIP: sized with no TIP_WIDTH cap, as wide as rule 3 allows, and HARD where the strip no longer
        reads as one, `_reads_as_strip`)."""
        V = len(side) if np.ndim(side) == 2 else 1
        k, ids = self.kw[:V].ravel(), self.kw_ids[:V].ravel()
        self.lay["side"][ids] = np.ravel(side)
        self.lay["slide"][ids] = np.ravel(slide)
        if base is not None:
            self.lay["base"][ids] = base
        if corner is not None:
            self.lay["corner"][ids] = corner
        if cut is not None:
            self.lay["cut_body"][ids] = np.ravel(cut)
        if sink is not None:
            self.lay["sink"][ids] = np.ravel(sink)
        wide = np.ravel(tip) > 1 if tip is not None else np.zeros(len(ids), dtype=bool)
        self.lay["tip_width"][ids] = np.where(wide, np.inf, self.tip_width0[ids])
        sized = _size_strips(self.contacts, ids, self.lay, self.rules, inner)
        if tip_last is not None:
            sized["tip_last"] = np.ravel(tip_last)
        if tip is not None:
            t = np.minimum(np.ravel(tip), 1.0)  # (beyond 1: as sized, wide)
            sized["D"] = np.where(t < 1, sized["w"] + t * (sized["D"] - sized["w"]), sized["D"])
        for key, value in sized.items():
            self.g[key][k] = value
        # only the changing strips take new shapes, and only their pairs are found again
        self.room.update(k)
        self.room.pairs(moved=ids)
        self.settle(inner, k)
        area = self.judge(inner, graded, k, ids)
        if wide.any():  # (a tip wider than widest_tip's bound: kept where the strip still reads as one)
            area[wide] = np.where(_reads_as_strip(self.g, self.rules, k[wide]), area[wide], HARD)
        return area.reshape(V, -1) if np.ndim(side) == 2 else area

    def judge(
        self, inner: Any, graded: bool = False, k: np.ndarray | None = None, ids: np.ndarray | None = None
    ) -> np.ndarray:
        """The changing strips' areas as they stand (of the strips at positions k, contacts ids: default
        world 0); HARD where a hard rule stays broken at their smallest or the strip is too narrow to
        print, and WEB (graded) or HARD where only the web is (graded: HARD too where it touches another
        aperture, with `touching_is_hard`)."""
        k = self.k if k is None else k
        ids = self.k_ids if ids is None else ids
        area = self._area_at(k)
        sliver = self.g["w"][k] < self.rules.min_aperture_um - 1e-9  # a sliver does not print
        broken = self.room.violating(ids, None, True, inner) | sliver  # any rule, the web too
        if not graded or not broken.any():
            return np.where(broken, HARD, area)
        hard = sliver.copy()
        hard[broken] |= self.room.violating(ids[broken], None, False, inner)
        if self.touching_is_hard:  # (a web of nothing: two apertures that touch print as one opening)
            hard[broken] |= self.room.touching(ids[broken])
        return np.where(hard, HARD, np.where(broken, WEB, area))

    def settle(self, inner: Any, k: np.ndarray) -> None:
        def violating(which: np.ndarray, ignore: np.ndarray | None = None, web: bool = True) -> np.ndarray:
            return self.room.violating(which, ignore, web, inner)

        _shrink_strips(
            self.g,
            self.local_strips,
            self.lay["corner"],
            self.room.update,
            violating,
            self.room.touching,
            self.rules.min_aperture_um,
            only=k,
        )

    def write_back(
        self, g: dict[str, np.ndarray], lay: dict[str, np.ndarray], room: _Room, keep: np.ndarray | None = None
    ) -> bool:
        """The changed strips (those `keep` marks) into the whole plan, and the plan's pairs found
        again around them. Whether the plan changed (a strip tried and kept as it stood may still be
        sized anew: it is then no longer as the plan had it)."""
        k = self.k if keep is None else self.k[keep]
        k_ids = self.k_ids if keep is None else self.k_ids[keep]
        if not len(k):
            return False
        at = self.global_pos[k]
        ids = self.S[k_ids]
        changed = any(not np.array_equal(g[key][at], self.g[key][k]) for key in g) or any(
            not np.array_equal(lay[key][ids], self.lay[key][k_ids]) for key in congruent.CHOSEN
        )
        if not changed:  # (the plan holds them as they are: its shapes and pairs stand)
            return False
        for key in g:
            g[key][at] = self.g[key][k]
        flipped = ids[self.lay["side"][k_ids] != lay["side"][ids]]
        # a tip turned to reach volume_min; one turned back is where the alternation puts it
        lay["turned"][flipped] = np.where(lay["turned"][flipped] == "", "volume_min", "")
        for key in congruent.CHOSEN:
            lay[key][ids] = self.lay[key][k_ids]
        room.g = g
        room.update(at)
        box0 = self.box0 if keep is None else self.box0[keep]
        order = np.argsort(ids)
        room.pairs(moved=ids[order], among=self._holds(room, box0[order], ids[order]))
        return changed

    def _holds(self, room: _Room, box0: np.ndarray, ids: np.ndarray) -> tuple[Any, Any]:
        """Whether the neighbourhood's contacts hold every contact, and every aperture, of the plan
        within the report's reach of the strips `ids` (their boxes box0 before they changed, now in
        `room`): no contact outside it lies within `reach` of those boxes, so none within `reach` less
        how far a strip grew beyond its first box (and, for the apertures, less how far any aperture
        reaches beyond its contact). Each: the neighbourhood's contacts, or None (search all)."""
        rules = self.rules
        grown = np.concatenate([box0[:, :2] - room.box[ids, :2], room.box[ids, 2:] - box0[:, 2:]], axis=1)
        beyond = np.concatenate([room.pad_box[:, :2] - room.box[:, :2], room.box[:, 2:] - room.pad_box[:, 2:]], axis=1)
        beyond = beyond[np.isfinite(beyond)]  # (an aperture with no shape takes part in no pair)
        left = self.reach - max(float(grown.max(initial=0.0)), 0.0) - 1e-6
        pads = left > REPORT_REACH * rules.clearance_um + 1e-6
        apertures = left - max(float(beyond.max(initial=0.0)), 0.0) > REPORT_REACH * rules.web_min_um + 1e-6
        return (self.S if pads else None, self.S if apertures else None)


def _grow_pads(contacts: Contacts, pad_idx: np.ndarray, room: _Room, rules: Rules, inner: Any) -> PadSizes:
    """Pad-shaped apertures sized for volume in the room the strips left (rule 9), then checked exactly:
    a mitred corner reaches farther than its offset, so a pad still too close steps back. A pad that
    cannot keep clearance or the keep-in at min_aperture_um gets none (rule 11)."""
    if not len(pad_idx):
        return PadSizes.empty()
    sizes = size_pads(contacts, pad_idx, rules, room.shapes, room.strip_idx, inner)
    floor = (rules.min_aperture_um - contacts.d[pad_idx]) / 2  # offset at the narrowest printable width
    # d is a polygon's short side: a waisted pad (not convex: an L, two merged pads), or one the keep-in
    # cuts, shrunk by an offset is narrower than d says, and stops shrinking where its largest inscribed
    # circle is min_aperture_um; asked of the pads the room squeezes below their own shape (a pad shrunk
    # for volume alone loses at most shrink_um a side)
    asked = np.zeros(len(pad_idx), dtype=bool)

    def waisted_floor(k: np.ndarray) -> None:
        k = k[~asked[k]]
        asked[k] = True
        thin = k[waisted(contacts, pad_idx[k]) | cut_by(contacts, pad_idx[k], np.zeros(len(k)), inner)]
        if len(thin):
            floor[thin] = _printable_offsets(contacts, pad_idx[thin], floor[thin], rules, inner)

    waisted_floor(np.flatnonzero((sizes.offset < 0) & np.isin(sizes.limited_by, ("web", "clearance"))))
    hard = np.isin(sizes.limited_by, ("clearance", "keep_in"))
    unprintable = hard & (sizes.offset < floor - 1e-9)
    low = ~unprintable & (sizes.offset < floor)
    sizes.offset[low] = floor[low]  # a web below web_min_um is a warning; a sliver is not printed
    sizes.geoms, sizes.scale = pad_shapes(contacts, pad_idx, sizes.offset, rules, inner)
    sizes.limited_by[sizes.scale < 1] = "volume_limit"
    # a contact so small that even its narrowest printable aperture passes the volume limit, or one
    # the keep-in cuts narrower than that
    sizes.width = pad_widths(contacts, pad_idx, sizes.offset, sizes.scale, sizes.geoms, inner)
    sliver = ~unprintable & (sizes.width < rules.min_aperture_um - 1e-9)
    # what leaves no printable aperture: the rule that held it back, the keep-in that cuts it, the
    # contact itself too narrow (width), or too large for the limit even at its narrowest (volume_limit:
    # a pair's second print whose bump leaves its mass nothing)
    sizes.narrow_by[unprintable] = sizes.limited_by[unprintable]
    sizes.narrow_by[sliver] = np.where(
        cut_by(contacts, pad_idx[sliver], sizes.offset[sliver], inner),
        "keep_in",
        np.where(sizes.scale[sliver] < 1, "volume_limit", "width"),
    )
    unprintable |= sliver
    sizes.geoms[unprintable] = None
    sizes.limited_by[unprintable] = "unprintable"
    room.set_pads(pad_idx, sizes.geoms)
    room.build()
    target = target_area(contacts.d[pad_idx], rules, contacts.cap(pad_idx))
    for _ in range(20):
        live = np.flatnonzero(np.array([x is not None for x in sizes.geoms], dtype=bool))
        strict = room.violating(pad_idx[live], None, False, inner)
        loose = room.violating(pad_idx[live], None, True, inner) & (sizes.offset[live] > floor[live] + 1e-9)
        k = live[strict | loose]
        if not len(k):
            break
        hard_k = strict[np.searchsorted(live, k)]
        k = _richer_steps_back(contacts, pad_idx, k, hard_k, sizes, target, room, rules, inner)
        # what binds it is found in the final plan (_binding): a neighbour's web or clearance, the keep-in
        sizes.limited_by[k[np.isin(sizes.limited_by[k], (NO_LIMIT, "overprint_max"))]] = "room"
        sizes.offset[k] -= 0.5
        waisted_floor(k[sizes.offset[k] < 0])
        stuck = k[sizes.offset[k] < floor[k] - 1e-9]
        sizes.offset[k] = np.maximum(sizes.offset[k], floor[k])
        sizes.geoms[k], sizes.scale[k] = pad_shapes(contacts, pad_idx[k], sizes.offset[k], rules, inner)
        sizes.width[k] = pad_widths(contacts, pad_idx[k], sizes.offset[k], sizes.scale[k], sizes.geoms[k], inner)
        lost = stuck[strict[np.searchsorted(live, stuck)]]  # clearance broken at the narrowest
        sizes.narrow_by[lost] = "clearance"
        cut = np.setdiff1d(k[sizes.width[k] < rules.min_aperture_um - 1e-9], lost)  # cut by the keep-in
        sizes.narrow_by[cut] = "keep_in"
        lost = np.union1d(lost, cut)
        sizes.geoms[lost] = None
        sizes.limited_by[lost] = "unprintable"
        room.set_pads(pad_idx[k], sizes.geoms[k])
        room.build(find_pairs=False)  # pads only shrink here
    return sizes


def _grow_free_sides(contacts: Contacts, pads: PadSizes, room: _Room, rules: Rules, inner: Any) -> None:
    """A pad below volume_min that its neighbours hold back (web, clearance) grows further on its free
    sides (rule 9: overprint_max x d per side), toward its target: its contact grown evenly, cut where a
    neighbour is. Each grows within its own share of the room (its contact's Voronoi cell less half the
    web, so two pads growing toward each other keep the web), clearance_um from every other contact,
    web_min_um from every other aperture as it stands, inside the keep-in (`inner`); one that still
    breaks a rule keeps its even shape."""
    idx = pads.idx
    present = np.array([x is not None for x in pads.geoms], dtype=bool)
    if not present.any():
        return
    area = np.zeros(len(idx))
    area[present] = shapely.area(pads.geoms[present])
    enough = least_area(contacts.d[idx], rules, contacts.cap(idx))
    k = np.flatnonzero(present & np.isin(pads.limited_by, ("web", "clearance")) & (area < enough))
    if not len(k):
        return
    ids = idx[k]
    reach = float(np.max(rules.overprint_max * contacts.d[ids])) + max(rules.web_min_um, rules.clearance_um) + 1e-6
    # the other contacts (clearance) and apertures (web) near each: pairs (position in k, contact id)
    ca, cb = box_pairs(room.pad_box[ids], room.pad_box, reach)
    ca, cb = ca[cb != ids[ca]], cb[cb != ids[ca]]
    aa, ab = box_pairs(room.pad_box[ids], room.box, reach)
    aa, ab = aa[ab != ids[aa]], ab[ab != ids[aa]]
    near = np.union1d(ids, cb)
    pts = contacts.center[near]
    around = shapely.box(*(pts.min(axis=0) - 4 * reach), *(pts.max(axis=0) + 4 * reach))
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(pts), extend_to=around, ordered=True))
    # (convex: inset exactly by a mitred buffer once near-coincident and collinear vertices are gone)
    # (1 nm more: two shares' shapes, written on the 1 nm grid, still keep the web)
    cells = shapely.buffer(shapely.simplify(cells, 1e-6), -rules.web_min_um / 2 - 1e-3, join_style="mitre")
    allowed = cells[np.searchsorted(near, ids)]
    if inner is not None:
        allowed = shapely.intersection(allowed, inset(inner))
    # only the blocks whose boxes reach a pad's share; mitred (exact along edges, more at corners)
    share_box = shapely.bounds(allowed)
    grow_c, grow_a = rules.clearance_um, rules.web_min_um
    meet = _boxes_meet(share_box[ca], room.pad_box[cb], grow_c)
    ca, cb = ca[meet], cb[meet]
    meet = _boxes_meet(share_box[aa], room.box[ab], grow_a)
    aa, ab = aa[meet], ab[meet]
    apertures = room.geoms(ab)
    has = np.array([x is not None for x in apertures], dtype=bool)
    owner = np.concatenate([ca, aa[has]])
    block = np.concatenate(
        [
            shapely.buffer(to_shapely(contacts.polygons, cb), grow_c, join_style="mitre"),
            shapely.buffer(apertures[has], grow_a, join_style="mitre"),
        ]
    )
    # each pad's blocks taken away one round at a time (its first, then its second, ...)
    order = np.argsort(owner, kind="stable")
    owner, block = owner[order], block[order]
    starts = np.searchsorted(owner, owner)
    rank = np.arange(len(owner)) - starts
    for r in range(int(rank.max(initial=-1)) + 1):
        sel = rank == r
        allowed[owner[sel]] = shapely.difference(allowed[owner[sel]], block[sel])
    allowed = shapely.union(allowed, pads.geoms[k])  # (its even shape keeps every rule already)
    own = to_shapely(contacts.polygons, ids)
    target = target_area(contacts.d[ids], rules, contacts.cap(ids))

    most = rules.overprint_max * contacts.d[ids]
    shapes = shapely.intersection(grow(own, most), allowed)
    over = np.flatnonzero(shapely.area(shapes) > target)  # the others stop short of the target there
    if len(over):  # the offset that reaches the target (bisection)
        own, allowed_over = own[over], allowed[over]
        lo, hi = pads.offset[k[over]].copy(), most[over]
        for _ in range(12):
            mid = (lo + hi) / 2
            ok = shapely.area(shapely.intersection(grow(own, mid), allowed_over)) <= target[over]
            lo, hi = np.where(ok, mid, lo), np.where(ok, hi, mid)
        shapes[over] = shapely.intersection(grow(own, lo), allowed_over)
    even = pads.geoms[k]
    # what grows is at least min_aperture_um wide (a narrower finger between two blocks does not
    # release its paste, rule 11): the shape opened by half that, with its even shape kept whole
    half = rules.min_aperture_um / 2 - 1e-6
    opened = shapely.buffer(shapely.buffer(shapes, -half, join_style="mitre"), half, join_style="mitre")
    grown = np.array([x is not None for x in shapes], dtype=bool)
    shapes[grown] = shapely.union(even[grown], shapely.intersection(opened[grown], shapes[grown]))
    for m, g in enumerate(shapes):
        if g is not None and g.geom_type != "Polygon":  # the parts joined to its even shape, only
            parts = shapely.get_parts(g)
            g = shapely.union_all([even[m], *parts[shapely.intersects(parts, even[m])]])
        ok = g is not None and g.geom_type == "Polygon" and not g.is_empty
        shapes[m] = shapely.geometry.polygon.orient(g, 1.0) if ok else None
    gain = np.array([x is not None for x in shapes], dtype=bool)
    gain[gain] &= shapely.area(shapes[gain]) > area[k[gain]] * (1 + 1e-6)
    k, shapes, target = k[gain], shapes[gain], target[gain]
    # its narrowest width, measured as check measures a drawn aperture: a grown shape narrower than
    # min_aperture_um somewhere along it (a tapering side) keeps its even shape (rule 11; within the
    # database grid's noise, as check judges it)
    width = narrowest(shapes)[0] if len(k) else np.zeros(0)
    wide = width >= rules.min_aperture_um - LENGTH_TOL_UM
    k, shapes, target, width = k[wide], shapes[wide], target[wide], width[wide]
    if not len(k):
        return
    before = pads.geoms[k].copy()
    room.set_pads(idx[k], shapes)
    room.build()
    # the web is kept by the shares (a thin web an even shape had stays a warning); clearance and the
    # keep-in are tested on the shapes as they are now
    bad = room.violating(idx[k], None, False, inner)
    if bad.any():
        room.set_pads(idx[k[bad]], before[bad])
        room.build()
        k, shapes, target, width = k[~bad], shapes[~bad], target[~bad], width[~bad]
    pads.geoms[k] = shapes
    pads.width[k] = width
    reached = shapely.area(shapes) >= target * (1 - 1e-6)
    pads.limited_by[k[reached]] = NO_LIMIT
    pads.other[k[reached]] = -1


def _boxes_meet(a: np.ndarray, b: np.ndarray, grow_by: float) -> np.ndarray:
    """Whether boxes a (N, 4) and b (N, 4), b grown by `grow_by`, overlap (pair by pair)."""
    return (
        (b[:, 0] - grow_by <= a[:, 2])
        & (b[:, 2] + grow_by >= a[:, 0])
        & (b[:, 1] - grow_by <= a[:, 3])
        & (b[:, 3] + grow_by >= a[:, 1])
    )


def _printable_offsets(contacts: Contacts, idx: np.ndarray, offset: np.ndarray, rules: Rules, inner: Any) -> np.ndarray:
    """The least offsets, between `offset` and 0, at which the pads `idx` are min_aperture_um wide
    (their largest inscribed circle; bisection); 0 where the contact itself is narrower (and unprintable)."""
    lo, hi = offset.copy(), np.zeros(len(idx))
    for _ in range(10):
        mid = (lo + hi) / 2
        ok = inscribed(pad_shapes(contacts, idx, mid, rules, inner)[0]) >= rules.min_aperture_um
        lo, hi = np.where(ok, lo, mid), np.where(ok, mid, hi)
    return hi


def _richer_steps_back(
    contacts: Contacts,
    pad_idx: np.ndarray,
    k: np.ndarray,
    strict: np.ndarray,
    sizes: PadSizes,
    target: np.ndarray,
    room: _Room,
    rules: Rules,
    inner: Any,
) -> np.ndarray:
    """Of the pads k (positions in pad_idx) that break a rule, those that step back: where two pads
    are too close to each other, the one with more of its target steps back and the other keeps its
    share, unless it breaks a rule of its own too (clearance, keep-in, the web to anything else)."""
    n = len(contacts)
    mine = np.zeros(n, dtype=bool)
    mine[pad_idx[k]] = True
    share = np.zeros(n)  # (only the pads that break a rule are compared)
    share[pad_idx[k]] = np.nan_to_num(shapely.area(sizes.geoms[k])) / target[k]
    qa, qb = room.ap_pairs
    sel = mine[qa] & mine[qb]
    if not sel.any():
        return k
    qa, qb = qa[sel], qb[sel]
    close = distances(room.shapes, qa, room.shapes, qb) < rules.web_min_um - 1e-6
    qa, qb = qa[close], qb[close]
    richer = share[qa] > share[qb] + 1e-9
    poorer = share[qb] > share[qa] + 1e-9
    # each pad's poorer partners are what it may leave be; a pad poorer than every pad it is close to
    spared = np.zeros(n, dtype=bool)
    spared[np.concatenate([qb[richer], qa[poorer]])] = True
    spared[np.concatenate([qa[richer], qb[poorer]])] = False  # richer than some partner: it steps back
    spared[np.concatenate([qa[~richer & ~poorer], qb[~richer & ~poorer]])] = False  # an even pair: both
    cand = np.flatnonzero(spared[pad_idx[k]] & ~strict)
    if not len(cand):
        return k
    ignore = np.zeros(n, dtype=bool)
    ignore[np.concatenate([qa[richer], qb[poorer]])] = True  # the richer partners, which step back
    still = room.violating(pad_idx[k[cand]], ignore, True, inner)
    keep = np.ones(len(k), dtype=bool)
    keep[cand[~still]] = False
    return k[keep]


def _assemble(
    contacts: Contacts,
    rows: RowSet,
    lay: dict[str, np.ndarray],
    g: dict[str, np.ndarray] | None,
    strip_idx: np.ndarray,
    pads: PadSizes,
    room: _Room,
    rules: Rules,
    inner: Any,
) -> Plan:
    """The planned strips and pads as one Apertures, with what limits each (rule 6)."""
    n = len(contacts)
    pad_idx = pads.idx
    geoms = np.empty(n, dtype=object)
    for i, geom in room.pad_geoms.items():
        geoms[i] = geom

    kind = np.full(n, STRIP, dtype=np.int8)
    area = np.zeros(n)
    perimeter = np.zeros(n)
    width = np.zeros(n)
    axis = np.zeros((n, 2))
    side = np.zeros(n, dtype=np.int8)
    extension = np.zeros(n)
    tip_d = np.zeros(n)
    target = np.zeros(n)
    why = filled(n, "")
    other = np.full(n, -1, dtype=np.int64)
    counts = np.zeros(n, dtype=np.int64)
    coords_of: dict[int, np.ndarray] = {}
    strip_out = None
    if g is not None:
        strip_out, a, per, ext = _strip_shapes(g, rules)
        area[strip_idx], perimeter[strip_idx], extension[strip_idx] = a, per, ext
        width[strip_idx] = g["w"]
        axis[strip_idx] = g["axis"]
        # the side of the centerline the tip lies on (a corner's direction turned past a row's normal
        # puts the tip of lay's side on the other)
        side[strip_idx] = np.where(np.einsum("ij,ij->i", g["axis"], lay["normal"][strip_idx]) >= 0, 1, -1)
        tip_d[strip_idx] = g["D"] if rules.strategy == "tip" else 0.0
        counts[strip_idx] = 4
        target[strip_idx] = g["a_want"]
        why[strip_idx] = g["why"]
        sliver = strip_idx[g["w"] < rules.min_aperture_um - 1e-9]  # rule 11: not printed
        kind[sliver] = NONE
        why[sliver] = "unprintable"
    target[pad_idx] = target_area(contacts.d[pad_idx], rules, contacts.cap(pad_idx))
    why[pad_idx] = pads.limited_by
    other[pad_idx] = pads.other
    for j, i in enumerate(pad_idx.tolist()):
        shape = geoms[i]
        if shape is None:
            kind[i] = NONE
            continue
        kind[i] = SHRUNK
        ring = np.asarray(shape.exterior.coords)[:-1]
        coords_of[int(i)] = ring
        counts[i] = len(ring)
        area[i] = shape.area
        perimeter[i] = shape.exterior.length
        width[i] = float(pads.width[j])
    none = kind == NONE  # no aperture: no paste, whatever the strip would have been
    counts[none] = 0
    area[none], perimeter[none], width[none], extension[none], tip_d[none] = 0.0, 0.0, 0.0, 0.0, 0.0
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    coords = np.zeros((offsets[-1], 2))
    bulge = np.zeros(offsets[-1])
    if strip_out is not None:
        printed = kind[strip_idx] == STRIP
        at = (offsets[strip_idx[printed]][:, None] + np.arange(4)).ravel()
        coords[at] = strip_out.coords.reshape(-1, 4, 2)[printed].reshape(-1, 2)
        bulge[at] = strip_out.bulge.reshape(-1, 4)[printed].ravel()
    for c_id, ring in coords_of.items():
        coords[offsets[c_id] : offsets[c_id + 1]] = ring
    reached = area >= target * (1 - 1e-6)
    why[reached & (why != "unprintable") & (why != "volume_limit")] = ""
    # the limit, not the target, set these: the record names the target they fall short of
    capped = why == "volume_limit"
    target[capped] = area_for_volume(
        rules.volume_target * volume_limit(contacts.d[capped]), rules, rules.transfer_efficiency
    )
    other[why == ""] = -1
    _binding(room, why, other, kind, rules, inner)
    corner = lay["corner"] & (kind == STRIP)
    narrow_by = filled(n, "")
    if g is not None:  # a strip narrowed for room takes the rule that binds it (after _binding)
        narrowed = g["w"] < g["w_sized"] - 1e-9
        narrow_by[strip_idx] = np.where(narrowed, why[strip_idx], g["w_why"])
        narrow_by[strip_idx[narrowed & (why[strip_idx] == "")]] = "web"
        # a strip too narrow to print: what set its width (a sliver narrowed for room names nothing)
        narrow_by[strip_idx[narrowed & (why[strip_idx] == "unprintable")]] = ""
    narrow_by[pad_idx] = pads.narrow_by  # a pad with no printable aperture: what leaves none
    side_by = np.where(kind == STRIP, lay["turned"], "").astype(object)
    # an oblique corner strip's tip lies where the corner's common direction puts it (rule 5)
    side_by[corner & (side_by == "")] = "corner"
    outlines = Outlines(coords, bulge, offsets)
    apertures = Apertures(
        outlines,
        kind,
        area,
        perimeter,
        width,
        axis,
        side,
        extension,
        tip_d,
        corner,
        target,
        why,
        other,
        narrow_by,
        side_by,
    )
    return Plan(contacts, rows, apertures, [], near=room.near)


#: a distance within this of its limit binds (um)
BINDING_TOL_UM = 0.5


def _binding(room: _Room, why: np.ndarray, other: np.ndarray, kind: np.ndarray, rules: Rules, inner: Any) -> None:
    """Apertures short of their target that the sizing put down to the room around them ("room": a
    strip shrunk for its neighbours) take the rule that binds in the final plan: clearance to another
    contact, web to another aperture, or the keep-in outline."""
    ask = np.flatnonzero((why == "room") & (kind != NONE))
    if not len(ask):
        return
    pa, pc, qa, qb = room.near
    mine = np.zeros(len(why), dtype=bool)
    mine[ask] = True
    found = np.zeros(len(why), dtype=bool)
    sel = mine[pa]
    d = distances(room.shapes, pa[sel], room.pads, pc[sel])
    tight = d <= rules.clearance_um + BINDING_TOL_UM
    a, c, d = pa[sel][tight], pc[sel][tight], d[tight]
    order = np.lexsort((c, d, a))
    a, c = a[order], c[order]
    first = np.unique(a, return_index=True)[1]
    why[a[first]], other[a[first]] = "clearance", c[first]
    found[a[first]] = True
    sel = mine[qa] | mine[qb]
    d = distances(room.shapes, qa[sel], room.shapes, qb[sel])
    a = np.concatenate([qa[sel], qb[sel]])
    b = np.concatenate([qb[sel], qa[sel]])
    d = np.tile(d, 2)
    keep = mine[a] & ~found[a] & (d <= rules.web_min_um + BINDING_TOL_UM)
    a, b, d = a[keep], b[keep], d[keep]
    order = np.lexsort((b, d, a))
    a, b = a[order], b[order]
    first = np.unique(a, return_index=True)[1]
    why[a[first]], other[a[first]] = "web", b[first]
    found[a[first]] = True
    rest = ask[~found[ask]]
    if inner is not None and len(rest):
        geoms = room.geoms(rest)
        present = np.array([x is not None for x in geoms], dtype=bool)
        near_edge = np.zeros(len(rest), dtype=bool)
        near_edge[present] = shapely.distance(geoms[present], shapely.boundary(inner)) <= BINDING_TOL_UM
        why[rest[near_edge]] = "keep_in"
        found[rest[near_edge]] = True
    why[ask[~found[ask]]] = "web"  # the tip's room along the row, set by its neighbours


def aperture_polygons(apertures: Apertures, arc_chords: int = 48) -> Polygons:
    """The apertures as plain polygons (each arc as `arc_chords` chords)."""
    return outlines_to_polygons(apertures.outlines, arc_chords)


def _global(other: np.ndarray, src: np.ndarray, p_of: np.ndarray, index: np.ndarray) -> np.ndarray:
    """Element contact ids `other[src]` as the global ids of the same placement."""
    return index[p_of, np.maximum(other[src], 0)]


def place_plan(element: Plan, instances: Instances, contacts: Contacts, rows: RowSet) -> Plan:
    """The element's apertures in every placement (a wafer planned once per die), in global contact order."""
    from ..geometry import affine_apply

    T = instances.transforms
    P, n = instances.index.shape
    a = element.apertures
    ol = a.outlines
    lin = T[:, :, :2]
    det = lin[:, 0, 0] * lin[:, 1, 1] - lin[:, 0, 1] * lin[:, 1, 0]
    scale = np.sqrt(np.abs(det))
    # placement-major outlines, then gathered into global id order
    coords = affine_apply(ol.coords, T)
    bulge = (ol.bulge[None, :] * np.sign(det)[:, None]).ravel()
    m = len(ol.coords)
    offsets = np.append((ol.offsets[None, :-1] + m * np.arange(P)[:, None]).ravel(), m * P)
    flat = Polygons(coords, offsets.astype(np.int64))
    order = np.argsort(instances.index.ravel(), kind="stable")
    placed = flat.take(order)
    counts = np.diff(offsets)[order]
    gather = np.repeat(offsets[:-1][order] - placed.offsets[:-1], counts) + np.arange(placed.offsets[-1])
    outlines = Outlines(placed.coords, bulge[gather], placed.offsets)
    src = np.tile(np.arange(n), P)[order]  # element id of every global contact
    p_of = np.repeat(np.arange(P), n)[order]
    ax = np.einsum("kij,kj->ki", lin[p_of], a.axis[src])
    norm = np.hypot(ax[:, 0], ax[:, 1])
    ax = np.where(norm[:, None] > 0, ax / np.where(norm > 0, norm, 1)[:, None], 0.0)
    s = scale[p_of]
    apertures = Apertures(
        outlines,
        a.kind[src],
        a.area[src] * s * s,
        a.perimeter[src] * s,
        a.width[src] * s,
        ax,
        a.side[src],
        a.extension[src] * s,
        a.tip_d[src] * s,
        a.corner[src],
        None if a.target_area is None else a.target_area[src] * s * s,
        None if a.limited_by is None else a.limited_by[src],
        None
        if a.limited_other is None
        else np.where(a.limited_other[src] >= 0, _global(a.limited_other, src, p_of, instances.index), -1),
        None if a.narrow_by is None else a.narrow_by[src],
        None if a.side_by is None else a.side_by[src],
    )
    return Plan(contacts, rows, apertures, list(element.notes), element.apertures, T)
