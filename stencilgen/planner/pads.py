"""Pad-shaped apertures (RULES.md rule 9): the contact's own shape grown onto the passivation around it
(overprint, up to overprint_max x d per side) or shrunk (up to shrink_um per side), toward volume_target.

Each pad first wants the offset b that gives its target area. Then it takes no more room than the
rules leave it, all pads at once so that the order they are visited in does not matter:
- clearance_um to every other contact: b <= g - clearance (g the distance between the two contacts);
- web_min_um to every aperture already placed (the strips): b <= g - web;
- the keep-in outline less edge_margin_um cuts the aperture (a contact near the die edge gets an
  aperture that ends at the margin), and such a pad wants the offset at which its cut shape reaches
  the target;
- web_min_um to another pad: the two share the gap g - web; each may take half, or all the other
  leaves: b_i <= max((g - web) / 2, g - web - b_j), with b_j what pad j may take before pads share.
A contact whose aperture would be narrower than min_aperture_um to keep clearance (or that the keep-in
cuts to less) gets none (unprintable, rule 11); one held back by web alone stays at min_aperture_um (web is a warning).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely

from ..distance import Shapes, box_pairs, distances
from ..geometry import to_shapely
from ..model import Contacts
from ..numeric import filled
from ..physics import limit_area, target_area
from ..rules import Rules

#: an aperture cut by the keep-in ends this far inside its margin (um): the written grid keeps it inside
CUT_INSET_UM = 0.01

#: why an aperture stops short of its target (RULES.md rule 6, `limited_by`)
NO_LIMIT = ""


@dataclass
class PadSizes:
    """The offsets chosen for pads idx, what bounds each, and the shapes."""

    idx: np.ndarray
    offset: np.ndarray  # b per side, um (negative: shrunk)
    want: np.ndarray  # the offset that reaches the target area
    limited_by: np.ndarray  # object: the binding rule, "" where none binds
    other: np.ndarray  # the other contact of that rule, -1 if none
    geoms: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=object))  # None: no printable aperture
    scale: np.ndarray = field(default_factory=lambda: np.ones(0))  # < 1: scaled down to the volume limit
    width: np.ndarray = field(default_factory=lambda: np.zeros(0))  # the narrowest width, um
    narrow_by: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=object))  # why none fits, if so

    def __post_init__(self) -> None:
        if len(self.geoms) != len(self.idx):
            self.geoms = np.empty(len(self.idx), dtype=object)
        if len(self.scale) != len(self.idx):
            self.scale = np.ones(len(self.idx))
        if len(self.width) != len(self.idx):
            self.width = np.zeros(len(self.idx))
        if len(self.narrow_by) != len(self.idx):
            self.narrow_by = filled(len(self.idx), NO_LIMIT)

    @staticmethod
    def empty() -> PadSizes:
        none = np.zeros(0, dtype=np.int64)
        return PadSizes(none, np.zeros(0), np.zeros(0), np.zeros(0, dtype=object), none)


def _vertex_edges(contacts: Contacts, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For every vertex of the pads `idx`: the edge arriving at it and the edge leaving it, (V, 2) each,
    and where each pad's vertices start."""
    polys = contacts.polygons.take(idx)
    c = polys.coords
    starts, ends = polys.offsets[:-1], polys.offsets[1:] - 1
    nxt = np.arange(1, len(c) + 1)
    nxt[ends] = starts  # each ring closes on its first vertex
    prv = np.arange(-1, len(c) - 1)
    prv[starts] = ends
    return c - c[prv], c[nxt] - c, starts


def _turn_tangents(contacts: Contacts, idx: np.ndarray) -> np.ndarray:
    """Sum over each polygon's vertices of tan(turn / 2): the b^2 coefficient of a mitred offset's
    area, A(b) = A + P b + K b^2 (exact for a convex polygon)."""
    e0, e, starts = _vertex_edges(contacts, idx)
    cross = e0[:, 0] * e[:, 1] - e0[:, 1] * e[:, 0]
    dot = (e0 * e).sum(axis=1)
    norm = np.hypot(e0[:, 0], e0[:, 1]) * np.hypot(e[:, 0], e[:, 1])
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(norm + dot > 1e-12, np.abs(cross) / (norm + dot), 0.0)
    return np.add.reduceat(t, starts) if len(e) else np.zeros(len(idx))


def waisted(contacts: Contacts, idx: np.ndarray) -> np.ndarray:
    """Where a pad is not convex (an L, two merged pads): every turn of its outline not the same way.
    Shrunk, such a pad is narrower than d + 2 offset says."""
    e0, e, starts = _vertex_edges(contacts, idx)
    if not len(e):
        return np.zeros(len(idx), dtype=bool)
    cross = e0[:, 0] * e[:, 1] - e0[:, 1] * e[:, 0]
    tol = 1e-9 * np.maximum(np.einsum("ij,ij->i", e0, e0), np.einsum("ij,ij->i", e, e))
    left = np.add.reduceat((cross > tol).astype(np.int64), starts)
    right = np.add.reduceat((cross < -tol).astype(np.int64), starts)
    return (left > 0) & (right > 0)


def inset(inner: Any) -> Any:
    """Where an aperture the keep-in cuts ends: `inner` (the keep-in less its margin) less CUT_INSET_UM."""
    return shapely.buffer(inner, -CUT_INSET_UM, join_style="mitre")


def grow(geoms: Any, offset: Any) -> Any:
    """Shapes grown by `offset` per side (mitred corners; negative: shrunk). An offset within 1e-9 um of
    zero keeps the shape as it is (GEOS makes nothing of some shapes shrunk by 1e-14 um)."""
    offset = np.where(np.abs(offset) < 1e-9, 0.0, offset)
    return shapely.buffer(geoms, offset, join_style="mitre")


def cut_by(contacts: Contacts, idx: np.ndarray, offset: np.ndarray, inner: Any) -> np.ndarray:
    """Where the outline `inner` cuts the pads `idx` grown by `offset` (mitred)."""
    if inner is None or not len(idx):
        return np.zeros(len(idx), dtype=bool)
    return ~shapely.contains(inner, grow(to_shapely(contacts.polygons, idx), offset))


def wanted_offsets(contacts: Contacts, idx: np.ndarray, rules: Rules) -> np.ndarray:
    """The offset per side that brings each pad to its target area, within [-shrink_um, overprint_max d]."""
    a0 = contacts.area[idx]
    geoms = to_shapely(contacts.polygons, idx)
    p0 = shapely.length(geoms)
    K = _turn_tangents(contacts, idx)
    a_t = target_area(contacts.d[idx], rules, contacts.cap(idx))
    # K b^2 + P b + (A - A_t) = 0, the root nearest zero
    disc = np.maximum(p0 * p0 - 4 * K * (a0 - a_t), 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        b = np.where(K > 1e-12, (2 * (a_t - a0)) / (p0 + np.sqrt(disc)), (a_t - a0) / np.maximum(p0, 1e-12))
    return np.clip(b, -rules.shrink_um, rules.overprint_max * contacts.d[idx])


def size_pads(
    contacts: Contacts, idx: np.ndarray, rules: Rules, placed: Shapes, placed_idx: np.ndarray, inner: Any = None
) -> PadSizes:
    """Offsets for the pads `idx` given the apertures already placed (`placed`, shapes indexed by
    contact id; `placed_idx` those that hold one) and the keep-in outline less its margin (`inner`)."""
    n = len(idx)
    want = wanted_offsets(contacts, idx, rules)
    d = contacts.d[idx]
    why = filled(n, NO_LIMIT)
    if inner is not None:
        want, short = _cut_offsets(contacts, idx, want, rules, inner)
        why[short] = "keep_in"
    cap = want.copy()
    other = np.full(n, -1, dtype=np.int64)
    at_max = (want >= rules.overprint_max * d - 1e-9) & (why == NO_LIMIT)
    why[at_max] = "overprint_max"

    def bound(k: np.ndarray, value: np.ndarray, rule: str, j: np.ndarray | None = None) -> None:
        """Pads k (positions in idx) may offset by at most `value`: the lowest bound binds."""
        if not len(k):
            return
        order = np.argsort(value, kind="stable")
        k, value = k[order], value[order]
        first = np.unique(k, return_index=True)[1]  # each pad's lowest bound
        k, value = k[first], value[first]
        lower = value < cap[k] - 1e-9
        k, value = k[lower], value[lower]
        cap[k] = value
        why[k] = rule
        other[k] = -1 if j is None else j[order][first][lower]

    pads = Shapes.of(contacts.polygons)
    box = pads.boxes()
    # (two pads that grow toward each other: both offsets and the web between them)
    reach = 2 * float(np.max(np.maximum(want, 0.0), initial=0.0)) + max(rules.clearance_um, rules.web_min_um) + 1e-6
    pos = np.full(len(contacts), -1, dtype=np.int64)
    pos[idx] = np.arange(n)
    # clearance to every other contact
    ia, jc = box_pairs(box[idx], box, reach)
    ia = idx[ia]
    keep = ia != jc
    ia, jc = ia[keep], jc[keep]
    g_contacts = distances(pads, ia, pads, jc)
    bound(pos[ia], g_contacts - rules.clearance_um, "clearance", jc)
    # web to the apertures already placed
    if len(placed_idx):
        pb = placed.boxes()
        pa, jb = box_pairs(box[idx], pb[placed_idx], reach)
        pa, jb = idx[pa], placed_idx[jb]
        keep = pa != jb
        pa, jb = pa[keep], jb[keep]
        bound(pos[pa], distances(pads, pa, placed, jb) - rules.web_min_um, "web", jb)
    # web between pads: the gap shared, each taking what the other leaves
    both = pos[jc] >= 0
    pi, pj, g = pos[ia[both]], pos[jc[both]], g_contacts[both]
    half = (g - rules.web_min_um) / 2
    alone = cap.copy()
    bound(pi, np.maximum(half, g - rules.web_min_um - alone[pj]), "web", idx[pj])
    return PadSizes(idx, cap, want, why, other)


def _cut_offsets(
    contacts: Contacts, idx: np.ndarray, want: np.ndarray, rules: Rules, inner: Any
) -> tuple[np.ndarray, np.ndarray]:
    """The offsets `want` where the keep-in (`inner`, the outline less its margin) cuts a pad: the offset
    at which the cut shape reaches the target area (bisection), at most overprint_max x d; and where even
    that falls short (the keep-in limits it)."""
    inner = inset(inner)
    cut = np.flatnonzero(cut_by(contacts, idx, want, inner))
    short = np.zeros(len(idx), dtype=bool)
    if not len(cut):
        return want, short
    want = want.copy()
    g = to_shapely(contacts.polygons, idx[cut])
    a_t = target_area(contacts.d[idx[cut]], rules, contacts.cap(idx[cut]))
    top = rules.overprint_max * contacts.d[idx[cut]]
    lo, hi = want[cut], top.copy()

    def area(b: np.ndarray) -> np.ndarray:
        return shapely.area(shapely.intersection(grow(g, b), inner))

    reach = area(hi) >= a_t
    for _ in range(12):
        mid = (lo + hi) / 2
        ok = area(mid) >= a_t
        lo, hi = np.where(ok, lo, mid), np.where(ok, mid, hi)
    want[cut] = np.where(reach, hi, top)
    short[cut[~reach]] = True
    return want, short


def pad_shapes(
    contacts: Contacts, idx: np.ndarray, offset: np.ndarray, rules: Rules, inner: Any = None
) -> tuple[np.ndarray, np.ndarray]:
    """The contacts `idx` offset by `offset` per side (mitred corners), cut by the keep-in less its
    margin (`inner`), scaled down where one alone holds more than the limit at its largest shrink (with
    the scale: 1 where not); None where nothing is left."""
    geoms = to_shapely(contacts.polygons, idx)
    grown = grow(geoms, offset)
    if inner is not None:
        grown = shapely.intersection(grown, inset(inner))
    limit = limit_area(contacts.d[idx], rules, contacts.cap(idx))
    area = shapely.area(grown)
    scale = np.ones(len(idx))
    for j in np.flatnonzero(area > limit).tolist():
        f = float(np.sqrt(limit[j] / area[j]))
        grown[j] = shapely.affinity.scale(grown[j], f, f, origin=tuple(contacts.center[idx[j]]))
        scale[j] = f
    out = np.empty(len(idx), dtype=object)
    for k, g in enumerate(grown):
        if g is None or g.is_empty:
            continue
        if g.geom_type != "Polygon":  # a waisted pad splits: keep its largest part
            g = max(shapely.get_parts(g), key=lambda x: x.area)
        out[k] = shapely.geometry.polygon.orient(g, 1.0)
    return out, scale


def pad_widths(
    contacts: Contacts, idx: np.ndarray, offset: np.ndarray, scale: np.ndarray, geoms: np.ndarray, inner: Any
) -> np.ndarray:
    """Each pad aperture's narrowest width (um): the contact's d grown by the offset on both sides and
    scaled; where the keep-in cuts it, no more than its largest inscribed circle; 0 where nothing is left."""
    width = np.maximum((contacts.d[idx] + 2 * offset) * scale, 0.0)
    present = np.array([x is not None for x in geoms], dtype=bool)
    width[~present] = 0.0
    if inner is not None and present.any():
        k = np.flatnonzero(present)
        k = k[shapely.distance(geoms[k], shapely.boundary(inner)) <= 2 * CUT_INSET_UM]
        width[k] = np.minimum(width[k], inscribed(geoms[k]))
    return width


def inscribed(geoms: np.ndarray) -> np.ndarray:
    """The diameter of each shape's largest inscribed circle (rule 11's width), um; 0 for None."""
    out = np.zeros(len(geoms))
    present = np.flatnonzero(np.array([x is not None for x in geoms], dtype=bool))
    if len(present):
        out[present] = 2 * shapely.length(shapely.maximum_inscribed_circle(geoms[present], 0.01))
    return out
