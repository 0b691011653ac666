"""Pure: contacts + rows + rules -> one aperture per contact (RULES.md rules 1-9).

- Contacts in a row at fine pitch (p <= fine_pitch_um) get a strip across the row (rule 2) of width
  min(width_ratio * contact width, p - web_min_um, max_width_um) (rule 3); neighbours' tips (strategy
  "tip") or extensions (strategy "offset") alternate sides of the centerline (rule 4).
- The contacts of a corner get strips along one oblique direction, the bisector of the two rows'
  outward normals unless oblique_angle_deg forces one (rule 5); measured across that direction the
  width and web rules still hold.
- Each strip is sized toward volume_target * pi d^3 / 6 (rule 6): first its length beyond the contact
  (up to tip_extension_max pitches), then its tip; never above the limit at the top of the transfer band.
- Coarse-pitch rows, isolated contacts, area arrays and staggered double rows get the contact's shape
  shrunk by shrink_um (rule 9), so no aperture can reach a second contact.
- Last, every aperture is checked against the other contacts (clearance_um), the other apertures
  (web_min_um) and the keep-in outline (edge_margin_um); an aperture that breaks one shrinks (tip, then
  length) until it holds; what cannot be mended is left for the checks to report.
"""

from __future__ import annotations

import numpy as np
import shapely

from ..geometry import arc_points, extent_along, to_shapely
from ..model import NONE, SHRUNK, STRIP, Apertures, Contacts, Outlines, Plan, Polygons, RowSet
from ..rules import Rules
from . import strips


def volume_limit(d: np.ndarray) -> np.ndarray:
    """V_limit = pi d^3 / 6: the volume of a sphere of the contact's minimum dimension."""
    return np.pi * d**3 / 6.0


def solder_volume(area: np.ndarray, rules: Rules, efficiency: float | None = None) -> np.ndarray:
    """V_solder = A * thickness * transfer efficiency * metal volume fraction."""
    te = rules.transfer_efficiency if efficiency is None else efficiency
    return area * rules.thickness_um * te * rules.metal_volume_fraction


def area_for_volume(volume: np.ndarray, rules: Rules, efficiency: float) -> np.ndarray:
    return volume / (rules.thickness_um * efficiency * rules.metal_volume_fraction)


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
    staggered = {r for s in rows.staggers for r in s.rows}
    forced = _unit(rules.oblique_angle_deg) if rules.oblique_angle_deg is not None else None
    for r in rows.rows:
        if r.pitch > rules.fine_pitch_um or r.id in staggered:
            continue
        m = r.members
        is_strip[m] = True
        u[m] = r.direction
        pitch[m] = r.pitch
        axis = r.normal
        if rules.oblique_scope == "all":
            want = forced if forced is not None else _unit(45.0)
            if abs(want @ r.direction) < np.cos(np.radians(rules.corner_min_angle_deg)):  # not along the row
                axis = want if want @ r.normal >= 0 else -want
        base[m] = axis
        # alternate by position along the row (a missing contact keeps the pattern of the grid)
        t = (contacts.center[m] - contacts.center[m[0]]) @ r.direction
        k = np.rint(t / r.pitch).astype(np.int64)
        side[m] = np.where(k % 2 == 0, 1, -1)
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

    d = contacts.d[idx]
    v_lim = volume_limit(d)
    a_target = area_for_volume(rules.volume_target * v_lim, rules, rules.transfer_efficiency)
    a_limit = area_for_volume(v_lim, rules, rules.transfer_efficiency_max) * (1 - 1e-9)
    a_want = np.minimum(a_target, a_limit)
    L_max = rules.tip_extension_max * p
    # room for a tip: neighbours on the same side are two pitches away along the row (measured across
    # the strip), the opposite neighbours' contacts and strip ends one pitch away at the contact edge
    if rules.strategy == "tip":
        cap = np.pi * w * w / 8
        L = np.clip((a_want - cap) / w - (h1 + h2), 0.0, L_max)
        # a contact long across the row: shorten the body on its far side so the limit holds
        h1 = np.where(strips.tip_strip_area(w, h1, h2, L, w) > a_want, np.maximum(a_want - cap, 0) / w - h2, h1)
        h1 = np.maximum(h1, -h2 + 1e-3)
        r_room = np.minimum.reduce(
            [
                p * s - rules.web_min_um / 2,
                np.sqrt((p * s - w / 2) ** 2 + L**2) - rules.web_min_um,
                np.sqrt(np.maximum(p * s - wc * s / 2, 0) ** 2 + L**2) - rules.clearance_um,
            ]
        )
        D_max = np.maximum(2 * r_room, w)
        D = strips.solve_tip_diameter(w, h1, h2, L, a_want, D_max)
        area = strips.tip_strip_area(w, h1, h2, L, D)
    else:
        L = np.clip(a_want / w - (h1 + h2), 0.0, L_max)
        h1 = np.where(strips.plain_strip_area(w, h1, h2, L) > a_want, a_want / w - h2, h1)
        h1 = np.maximum(h1, -h2 + 1e-3)
        D = np.zeros(len(idx))
        area = strips.plain_strip_area(w, h1, h2, L)
    return {"center": c, "axis": axis, "w": w, "h1": h1, "h2": h2, "L": L, "D": D, "area": area, "a_want": a_want}


def _strip_shapes(g: dict[str, np.ndarray], rules: Rules) -> tuple[Outlines, np.ndarray, np.ndarray, np.ndarray]:
    if rules.strategy == "tip":
        out = strips.strip_outlines(g["center"], g["axis"], g["w"], g["h1"], g["h2"], g["L"], g["D"])
        area = strips.tip_strip_area(g["w"], g["h1"], g["h2"], g["L"], g["D"])
        per = strips.tip_strip_perimeter(g["w"], g["h1"], g["h2"], g["L"], g["D"])
        ext = g["L"] + g["D"] / 2
    else:
        out = strips.strip_outlines(g["center"], g["axis"], g["w"], g["h1"], g["h2"], g["L"], None)
        area = strips.plain_strip_area(g["w"], g["h1"], g["h2"], g["L"])
        per = strips.plain_strip_perimeter(g["w"], g["h1"], g["h2"], g["L"])
        ext = g["L"]
    return out, area, per, ext


def _shrunk(contacts: Contacts, idx: np.ndarray, shrink: np.ndarray, rules: Rules) -> tuple[list, np.ndarray]:
    """The contacts' own shapes shrunk by `shrink` per side (mitred corners), scaled down further if
    their volume would pass the limit; empty where nothing is left."""
    geoms = to_shapely(contacts.polygons, idx)
    shrunk = shapely.buffer(geoms, -shrink, join_style="mitre")
    limit = area_for_volume(volume_limit(contacts.d[idx]), rules, rules.transfer_efficiency_max) * (1 - 1e-9)
    area = shapely.area(shrunk)
    over = area > limit
    if over.any():
        factor = np.sqrt(limit[over] / area[over])
        shrunk[over] = [
            shapely.affinity.scale(g, f, f, origin=tuple(contacts.center[i]))
            for g, f, i in zip(shrunk[over], factor, idx[over], strict=True)
        ]
    out = []
    for g in shrunk:
        if g is None or g.is_empty:
            out.append(None)
            continue
        if g.geom_type != "Polygon":  # a waisted pad splits: keep its largest part
            g = max(shapely.get_parts(g), key=lambda x: x.area)
        g = shapely.geometry.polygon.orient(g, 1.0)
        out.append(np.asarray(g.exterior.coords)[:-1])
    return out, shapely.area(shrunk)


def _discretise(out: Outlines, segments_per_turn: int = 64) -> Polygons:
    """Outlines with arcs -> plain polygons (arcs as chords), for geometric checks and GDS."""
    polys = []
    for i in range(len(out)):
        pts, bulge = out.outline(i)
        polys.append(arc_points(pts, bulge, segments_per_turn))
    return Polygons.from_list(polys)


def plan_stencil(contacts: Contacts, rows: RowSet, rules: Rules | None = None, keep_in=None) -> Plan:
    """One aperture per contact, following RULES.md; `keep_in` is an optional shapely polygon."""
    rules = rules or Rules()
    n = len(contacts)
    lay = _strip_layout(contacts, rows, rules)
    strip_idx = np.flatnonzero(lay["is_strip"])
    pad_idx = np.flatnonzero(~lay["is_strip"])

    kind = np.full(n, STRIP, dtype=np.int8)
    area = np.zeros(n)
    perimeter = np.zeros(n)
    width = np.zeros(n)
    axis = np.zeros((n, 2))
    side = np.zeros(n, dtype=np.int8)
    extension = np.zeros(n)
    tip_d = np.zeros(n)
    outline_of: list[tuple[np.ndarray, np.ndarray] | None] = [None] * n

    g = _size_strips(contacts, strip_idx, lay, rules) if len(strip_idx) else None
    shrink = np.full(len(pad_idx), rules.shrink_um)

    def build() -> None:
        if g is not None and len(strip_idx):
            out, a, per, ext = _strip_shapes(g, rules)
            area[strip_idx], perimeter[strip_idx], extension[strip_idx] = a, per, ext
            width[strip_idx] = g["w"]
            axis[strip_idx] = g["axis"]
            side[strip_idx] = lay["side"][strip_idx]
            tip_d[strip_idx] = g["D"]
            for k, i in enumerate(strip_idx):
                outline_of[i] = out.outline(k)
        if len(pad_idx):
            pads, a = _shrunk(contacts, pad_idx, shrink, rules)
            for k, i in enumerate(pad_idx):
                if pads[k] is None:
                    kind[i] = NONE
                    outline_of[i] = None
                    area[i] = perimeter[i] = width[i] = 0.0
                else:
                    kind[i] = SHRUNK
                    outline_of[i] = (pads[k], np.zeros(len(pads[k])))
                    area[i] = a[k]
                    ring = np.vstack([pads[k], pads[k][:1]])
                    perimeter[i] = float(np.hypot(*np.diff(ring, axis=0).T).sum())
                    width[i] = max(float(contacts.d[i] - 2 * shrink[k]), 0.0)

    build()
    notes: list[str] = []
    for _ in range(12):
        bad = _violations(contacts, outline_of, kind, rules, keep_in)
        if not len(bad):
            break
        bad_strips = np.intersect1d(bad, strip_idx)
        bad_pads = np.intersect1d(bad, pad_idx)
        if g is not None and len(bad_strips):
            k = np.searchsorted(strip_idx, bad_strips)
            # shrink the tip toward the strip width, then the length toward the contact edge
            big_tip = g["D"][k] > g["w"][k] * 1.001
            g["D"][k] = np.where(big_tip, np.maximum(g["w"][k], g["D"][k] * 0.8), g["D"][k])
            g["L"][k] = np.where(big_tip, g["L"][k], g["L"][k] * 0.6)
        if len(bad_pads):
            k = np.searchsorted(pad_idx, bad_pads)
            shrink[k] += 2.0
        if (g is None or not len(bad_strips)) and not len(bad_pads):
            break
        build()
    offsets = np.zeros(n + 1, dtype=np.int64)
    pts_list, bulge_list = [], []
    for i in range(n):
        o = outline_of[i]
        if o is None:
            offsets[i + 1] = offsets[i]
            continue
        pts_list.append(o[0])
        bulge_list.append(o[1])
        offsets[i + 1] = offsets[i] + len(o[0])
    outlines = Outlines(
        np.concatenate(pts_list) if pts_list else np.zeros((0, 2)),
        np.concatenate(bulge_list) if bulge_list else np.zeros(0),
        offsets,
    )
    corner = lay["corner"] & (kind == STRIP)
    apertures = Apertures(outlines, kind, area, perimeter, width, axis, side, extension, tip_d, corner)
    return Plan(contacts, rows, apertures, notes)


def aperture_polygons(apertures: Apertures) -> Polygons:
    """The apertures as plain polygons (arcs as chords, 64 per turn)."""
    return _discretise(apertures.outlines)


def _violations(contacts: Contacts, outline_of: list, kind: np.ndarray, rules: Rules, keep_in) -> np.ndarray:
    """Apertures closer than clearance_um to another contact, closer than web_min_um to another
    aperture, or outside the keep-in outline less edge_margin_um."""
    have = np.array([o is not None for o in outline_of])
    idx = np.flatnonzero(have)
    if not len(idx):
        return np.zeros(0, dtype=np.int64)
    ap = to_shapely(Polygons.from_list([arc_points(outline_of[i][0], outline_of[i][1], 32) for i in idx]))
    pads = to_shapely(contacts.polygons)
    bad: list[np.ndarray] = []
    tree = shapely.STRtree(pads)
    pa, pc = tree.query(ap, predicate="dwithin", distance=rules.clearance_um - 1e-6)
    other = idx[pa] != pc
    bad.append(idx[pa[other]])
    atree = shapely.STRtree(ap)
    qa, qb = atree.query(ap, predicate="dwithin", distance=rules.web_min_um - 1e-6)
    diff = qa != qb
    bad.append(idx[qa[diff]])
    if keep_in is not None:
        inner = shapely.buffer(keep_in, -rules.edge_margin_um)
        outside = ~shapely.contains(inner, ap)
        bad.append(idx[outside])
    return np.unique(np.concatenate(bad))
