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

from typing import Any

import numpy as np
import shapely

from ..distance import Shapes, box_gap, box_pairs, distances
from ..geometry import extent_along, outlines_to_polygons, to_shapely
from ..model import NONE, REPORT_REACH, SHRUNK, STRIP, Apertures, Contacts, Instances, Outlines, Plan, Polygons, RowSet
from ..physics import area_for_volume, volume_limit
from ..rules import Rules
from . import strips

#: chords per tip arc for the keep-in test (tangent to the arc: the polygon holds the tip); clearance
#: and web are measured on the true disc (stencilgen/distance.py)
PLAN_ARC_CHORDS = 24


def _rot90(v: np.ndarray) -> np.ndarray:
    return np.stack([-v[..., 1], v[..., 0]], axis=-1)


def _unit(deg: float) -> np.ndarray:
    return np.array([np.cos(np.radians(deg)), np.sin(np.radians(deg))])


def _strip_layout(contacts: Contacts, rows: RowSet, rules: Rules) -> dict[str, np.ndarray]:
    """For every contact that gets a strip: its row direction u, pitch, strip axis (base direction),
    tip side, and whether it is an oblique corner strip."""
    n = len(contacts)
    is_strip = np.zeros(n, dtype=bool)
    u = np.zeros((n, 2))
    base = np.zeros((n, 2))  # strip axis before the side is applied (points outward)
    pitch = np.zeros(n)
    side = np.zeros(n, dtype=np.int8)
    corner = np.zeros(n, dtype=bool)
    forced = _unit(rules.oblique_angle_deg) if rules.oblique_angle_deg is not None else None
    in_corner = np.zeros(n, dtype=bool)
    if rules.oblique_scope == "corners":
        for c in rows.corners:
            in_corner[c.members] = True
    for r in rows.rows:
        if r.pitch > rules.fine_pitch_um:
            continue
        m = r.members
        is_strip[m] = True
        u[m] = r.direction
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
    if rules.oblique_scope == "corners":
        for c in rows.corners:
            axis = c.bisector if forced is None else forced
            if forced is not None and axis @ c.bisector < 0:
                axis = -axis
            m = c.members[is_strip[c.members]]
            base[m] = axis
            corner[m] = True
    return {"is_strip": is_strip, "u": u, "base": base, "pitch": pitch, "side": side, "corner": corner}


def _size_strips(
    contacts: Contacts, idx: np.ndarray, lay: dict[str, np.ndarray], rules: Rules
) -> dict[str, np.ndarray]:
    """Width, extents and the length/tip that reach the volume target within the room there is."""
    polys = contacts.polygons.take(idx)
    c = contacts.center[idx]
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
    s = np.abs(axis[:, 0] * u[:, 1] - axis[:, 1] * u[:, 0])  # sin of the angle between strip and row
    w = np.minimum.reduce([rules.width_ratio * wc * s, p * s - rules.web_min_um, np.full(len(idx), rules.max_width_um)])
    w = np.maximum(w, 1.0)  # a pitch too fine for the web: keep a sliver, the checks flag it
    oblique = np.flatnonzero(lay["corner"][idx])
    if len(oblique):  # an oblique strip's far end stays inside its contact across the strip's whole width
        h1[oblique] = _far_edge(to_shapely(polys, oblique), c[oblique], axis[oblique], w[oblique], h1[oblique])

    d = contacts.d[idx]
    v_lim = volume_limit(d)
    a_target = area_for_volume(rules.volume_target * v_lim, rules, rules.transfer_efficiency)
    a_limit = area_for_volume(v_lim, rules, rules.transfer_efficiency_max) * (1 - 1e-9)
    a_want = np.minimum(a_target, a_limit)
    L_max = rules.tip_extension_max * p
    # room for a tip: neighbours on the same side are two pitches away along the row (measured across
    # the strip), the opposite neighbours' contacts and strip ends one pitch away at the contact edge
    if rules.strategy == "tip":
        # a contact so small that even the round end alone passes the volume: a narrower strip
        w = np.minimum(w, np.sqrt(8 * a_want / np.pi) * (1 - 1e-6))
        cap = np.pi * w * w / 8
        L = np.clip((a_want - cap) / w - (h1 + h2), 0.0, L_max)
        # a contact long across the row: shorten the body on its far side so the limit holds
        excess = strips.tip_strip_area(w, h1, h2, L, w) - a_want
        h1 = np.maximum(h1 - np.maximum(excess, 0.0) / w, -h2 + 1e-3)
        r_room = np.minimum.reduce(
            [
                p * s - rules.web_min_um / 2,
                np.sqrt((p * s - w / 2) ** 2 + L**2) - rules.web_min_um,
                np.sqrt(np.maximum(p * s - wc * s / 2, 0) ** 2 + L**2) - rules.clearance_um,
            ]
        )
        # the whole aperture, tip included, stays narrower than its contact along the row (rule 3)
        D_max = np.maximum(np.minimum(2 * r_room, wc * s - 1.0), w)
        D = strips.solve_tip_diameter(w, h1, h2, L, a_want, D_max)
        area = strips.tip_strip_area(w, h1, h2, L, D)
    else:
        L = np.clip(a_want / w - (h1 + h2), 0.0, L_max)
        excess = strips.plain_strip_area(w, h1, h2, L) - a_want
        h1 = np.maximum(h1 - np.maximum(excess, 0.0) / w, -h2 + 1e-3)
        D = np.zeros(len(idx))
        area = strips.plain_strip_area(w, h1, h2, L)
    return {"center": c, "axis": axis, "w": w, "h1": h1, "h2": h2, "L": L, "D": D, "area": area, "a_want": a_want}


def _far_edge(pads: np.ndarray, c: np.ndarray, axis: np.ndarray, w: np.ndarray, h1: np.ndarray) -> np.ndarray:
    """How far behind the centre (against `axis`) the contact reaches all across a band of width w."""
    b = np.stack([axis[:, 1], -axis[:, 0]], axis=1)
    reach = h1.copy()
    for x in (-0.5, 0.0, 0.5):
        p0 = c + (x * w)[:, None] * b
        lines = shapely.linestrings(np.stack([p0 + (h1 + 1)[:, None] * axis, p0 - (h1 + 1)[:, None] * axis], axis=1))
        cut = shapely.intersection(lines, pads)
        pts, k = shapely.get_coordinates(cut, return_index=True)
        behind = -np.einsum("ij,ij->i", pts - c[k], axis[k])
        far = np.full(len(c), -np.inf)  # the farthest point of the cut behind the centre
        np.maximum.at(far, k, behind)
        reach = np.where(np.isfinite(far), np.minimum(reach, far), 0.0)  # no cut: the band misses the contact
    return np.maximum(reach, 0.0)


def _strip_shapes(g: dict[str, np.ndarray], rules: Rules) -> tuple[Outlines, np.ndarray, np.ndarray, np.ndarray]:
    D = g["D"] if rules.strategy == "tip" else None
    out = strips.strip_outlines(g["center"], g["axis"], g["w"], g["h1"], g["h2"], g["L"], D)
    if D is not None:
        area = strips.tip_strip_area(g["w"], g["h1"], g["h2"], g["L"], D)
        per = strips.tip_strip_perimeter(g["w"], g["h1"], g["h2"], g["L"], D)
        ext = g["L"] + D / 2
    else:
        area = strips.plain_strip_area(g["w"], g["h1"], g["h2"], g["L"])
        per = strips.plain_strip_perimeter(g["w"], g["h1"], g["h2"], g["L"])
        ext = g["L"]
    return out, area, per, ext


def _strip_geoms(g: dict[str, np.ndarray], rules: Rules, k: np.ndarray | slice = slice(None)) -> np.ndarray:
    D = g["D"][k] if rules.strategy == "tip" else None
    pts = strips.strip_polygons(
        g["center"][k], g["axis"][k], g["w"][k], g["h1"][k], g["h2"][k], g["L"][k], D, PLAN_ARC_CHORDS
    )
    return shapely.polygons(pts)


def _shrunk(contacts: Contacts, idx: np.ndarray, shrink: np.ndarray, rules: Rules) -> np.ndarray:
    """The contacts' own shapes shrunk by `shrink` per side (mitred corners), scaled down further if
    their volume would pass the limit; None where nothing is left."""
    geoms = to_shapely(contacts.polygons, idx)
    shrunk = shapely.buffer(geoms, -shrink, join_style="mitre")
    limit = area_for_volume(volume_limit(contacts.d[idx]), rules, rules.transfer_efficiency_max) * (1 - 1e-9)
    area = shapely.area(shrunk)
    over = np.flatnonzero(area > limit)
    for j in over.tolist():
        f = float(np.sqrt(limit[j] / area[j]))
        shrunk[j] = shapely.affinity.scale(shrunk[j], f, f, origin=tuple(contacts.center[idx[j]]))
    out = np.empty(len(idx), dtype=object)
    for k, g in enumerate(shrunk):
        if g is None or g.is_empty:
            out[k] = None
            continue
        if g.geom_type != "Polygon":  # a waisted pad splits: keep its largest part
            g = max(shapely.get_parts(g), key=lambda x: x.area)
        out[k] = shapely.geometry.polygon.orient(g, 1.0)
    return out


def _shrink_strips(
    g: dict[str, np.ndarray], strip_idx: np.ndarray, corner: np.ndarray, update: Any, violating: Any
) -> None:
    """Strips that break clearance, web or keep-in shrink: their tip, then their length (bisection
    per strip); strips still too close at their shortest get narrower. Where a corner strip and a
    plain strip are too close, the corner strip gives way first."""
    L0, D0, w0 = g["L"].copy(), g["D"].copy(), g["w"].copy()

    def apply(k: np.ndarray, f: np.ndarray) -> None:
        g["D"][k] = w0[k] + np.clip(2 * f - 1, 0, 1) * (D0[k] - w0[k])
        g["L"][k] = np.clip(2 * f, 0, 1) * L0[k]
        update(k)

    def bisect(k: np.ndarray, set_f: Any, lo0: float, check: Any) -> np.ndarray:
        lo, hi = np.full(len(k), lo0), np.ones(len(k))
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

    bad = np.flatnonzero(violating(strip_idx))
    if not len(bad):
        return
    is_corner = corner[strip_idx[bad]]
    # corner strips first; then the others, which do not give way to a corner strip
    for group, ignore in ((bad[is_corner], None), (bad[~is_corner], corner)):
        check = violating if ignore is None else (lambda which, ig=ignore: violating(which, ig))
        k = group[check(strip_idx[group])] if len(group) else group
        if len(k):
            still = bisect(k, apply, 0.0, check)
            if len(still):  # narrower where clearance or keep-in demand it (a thin web is only a warning)
                hard = lambda which: violating(which, None, False)  # noqa: E731
                still = still[hard(strip_idx[still])]
                left = bisect(still, narrow, 0.5, hard) if len(still) else still
                narrow(left, np.ones(len(left)))


class _Room:
    """The apertures while they are planned, as exact shapes (strip bodies and tip discs), with the
    pairs of apertures and contacts near enough to matter: found once from the apertures at their
    largest (they only shrink while planning), measured again as they shrink."""

    def __init__(self, contacts: Contacts, g: dict[str, np.ndarray] | None, strip_idx: np.ndarray, rules: Rules):
        self.n = len(contacts)
        self.rules = rules
        self.g = g
        self.strip_idx = strip_idx
        self.pads = Shapes.of(contacts.polygons)
        self.pad_box = self.pads.boxes()
        self.pad_geoms: dict[int, Any] = {}
        self.shapes = Shapes.of(Polygons.from_list([]))

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
        if g is not None and len(self.strip_idx):
            self.update(np.arange(len(self.strip_idx)))
        if find_pairs:
            self.pairs()

    def update(self, k: np.ndarray) -> None:
        """Strips strip_idx[k] take their current size."""
        g, ids = self.g, self.strip_idx[k]
        assert g is not None
        D = g["D"][k] if self.rules.strategy == "tip" else None
        out = strips.strip_outlines(g["center"][k], g["axis"][k], g["w"][k], g["h1"][k], g["h2"][k], g["L"][k], D)
        at = (self.shapes.polygons.offsets[ids][:, None] + np.arange(4)).ravel()
        self.shapes.polygons.coords[at] = out.coords
        if D is not None:
            self.shapes.disc_center[ids] = g["center"][k] + (g["h2"][k] + g["L"][k])[:, None] * g["axis"][k]
            self.shapes.disc_r[ids] = D / 2

    def pairs(self) -> None:
        """Candidate pairs within the reach of the report (the checks take them over), and those
        within clearance_um and web_min_um (the planner's own concern)."""
        rules = self.rules
        box = self.shapes.boxes()
        pa, pc = box_pairs(box, self.pad_box, REPORT_REACH * rules.clearance_um + 1e-6)
        other = pa != pc
        pa, pc = pa[other], pc[other]
        qa, qb = box_pairs(box, box, REPORT_REACH * rules.web_min_um + 1e-6, same=True)
        self.near = (pa, pc, qa, qb)
        close = box_gap(box[pa], self.pad_box[pc]) <= rules.clearance_um
        self.pad_pairs = (pa[close], pc[close])
        close = box_gap(box[qa], box[qb]) <= rules.web_min_um
        self.ap_pairs = (qa[close], qb[close])

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
        pa, pc = self.pad_pairs
        sel = np.flatnonzero(mine[pa])
        d = distances(self.shapes, pa[sel], self.pads, pc[sel])
        bad[pa[sel][(d < rules.clearance_um - 1e-6) | (d <= 0)]] = True  # touching: a bridge, whatever the clearance
        if web:
            qa, qb = self.ap_pairs
            sel = np.flatnonzero(mine[qa] | mine[qb])
            qa, qb = qa[sel], qb[sel]
            close = distances(self.shapes, qa, self.shapes, qb) < rules.web_min_um - 1e-6
            for me, other in ((qa, qb), (qb, qa)):
                hit = close & mine[me]
                if ignore is not None:
                    hit &= ~ignore[other]
                bad[me[hit]] = True
        if inner is not None:
            geoms = self.geoms(which)
            present = np.array([x is not None for x in geoms], dtype=bool)
            out = np.zeros(len(which), dtype=bool)
            out[present] = ~shapely.contains(inner, geoms[present])
            bad[which[out]] = True
        return bad[which]

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


def plan_stencil(contacts: Contacts, rows: RowSet, rules: Rules | None = None, keep_in: Any = None) -> Plan:
    """One aperture per contact, following RULES.md; `keep_in` is an optional shapely polygon."""
    rules = rules or Rules()
    n = len(contacts)
    lay = _strip_layout(contacts, rows, rules)
    strip_idx = np.flatnonzero(lay["is_strip"])
    pad_idx = np.flatnonzero(~lay["is_strip"])
    inner = shapely.buffer(keep_in, -rules.edge_margin_um) if keep_in is not None else None

    g = _size_strips(contacts, strip_idx, lay, rules) if len(strip_idx) else None
    shrink = np.full(len(pad_idx), rules.shrink_um)
    room = _Room(contacts, g, strip_idx, rules)
    if len(pad_idx):
        room.set_pads(pad_idx, _shrunk(contacts, pad_idx, shrink, rules))
    room.build()

    def violating(which: np.ndarray, ignore: np.ndarray | None = None, web: bool = True) -> np.ndarray:
        return room.violating(which, ignore, web, inner)

    def turn(which: np.ndarray) -> None:
        """The strips `which` (a mask over strip_idx) take their tips to the other side of the row; every
        strip is sized and shrunk again."""
        if which.any():
            lay["side"][strip_idx[which]] *= -1
            room.g = _size_strips(contacts, strip_idx, lay, rules)
            room.build()
            _shrink_strips(room.g, strip_idx, lay["corner"], room.update, violating)

    if g is not None:
        _shrink_strips(g, strip_idx, lay["corner"], room.update, violating)
        # a tip that breaks clearance even at its shortest (a facing row close by) goes to the other
        # side of its row, once: two tips side by side there break no rule the checks cannot show
        turn(violating(strip_idx, None, False))
        if inner is not None:  # tips that cannot stay inside the outline go to the other side of the row
            turn(~shapely.contains(inner, room.geoms(strip_idx)))
        g = room.g
    if len(pad_idx):
        for _ in range(10):
            k = np.flatnonzero(violating(pad_idx))
            if not len(k):
                break
            shrink[k] += 2.0
            room.set_pads(pad_idx[k], _shrunk(contacts, pad_idx[k], shrink[k], rules))
            room.build(find_pairs=False)  # pads only shrink
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
    counts = np.zeros(n, dtype=np.int64)
    coords_of: dict[int, np.ndarray] = {}
    strip_out = None
    if g is not None:
        strip_out, a, per, ext = _strip_shapes(g, rules)
        area[strip_idx], perimeter[strip_idx], extension[strip_idx] = a, per, ext
        width[strip_idx] = g["w"]
        axis[strip_idx] = g["axis"]
        side[strip_idx] = lay["side"][strip_idx]
        tip_d[strip_idx] = g["D"] if rules.strategy == "tip" else 0.0
        counts[strip_idx] = 4
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
        width[i] = max(float(contacts.d[i] - 2 * shrink[j]), 0.0)
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    coords = np.zeros((offsets[-1], 2))
    bulge = np.zeros(offsets[-1])
    if strip_out is not None:
        at = (offsets[strip_idx][:, None] + np.arange(4)).ravel()
        coords[at] = strip_out.coords
        bulge[at] = strip_out.bulge
    for c_id, ring in coords_of.items():
        coords[offsets[c_id] : offsets[c_id + 1]] = ring
    corner = lay["corner"] & (kind == STRIP)
    outlines = Outlines(coords, bulge, offsets)
    apertures = Apertures(outlines, kind, area, perimeter, width, axis, side, extension, tip_d, corner)
    return Plan(contacts, rows, apertures, [], near=room.near)


def aperture_polygons(apertures: Apertures, arc_chords: int = 48) -> Polygons:
    """The apertures as plain polygons (each arc as `arc_chords` chords)."""
    return outlines_to_polygons(apertures.outlines, arc_chords)


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
    )
    return Plan(contacts, rows, apertures, list(element.notes), element.apertures, T)
