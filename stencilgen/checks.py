"""Pure: a plan -> per-contact numbers and findings (RULES.md rules 1, 3, 6, 7, 8).

Errors (a stencil that must not be used): an aperture missing, not on its contact, touching or within
clearance_um of another contact (rule 1), a strip not narrower than its contact (rule 3), volume above
pi d^3 / 6 at the top of the transfer band (rule 6), outside the keep-in outline (rule 8).
Warnings: under_volume (at the bottom of the band), area ratio, aspect ratio, five-ball, web.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from functools import cached_property
from typing import Any, NamedTuple

import numpy as np
import shapely

from .distance import Shapes, box_pairs, distances, extent_on, outline_shapes
from .geometry import Alike, box_bounds, extent_along, keep_in_inner, outlines_to_polygons, to_shapely
from .model import NONE, REPORT_REACH, STRIP, Apertures, Contacts, Plan, Polygons, Tips
from .numeric import filled, text_ranks
from .physics import area_ratio, aspect_ratio, cap_height, max_thickness, solder_volume, volume_limit
from .rules import Rules

ERROR, WARNING = "error", "warning"

#: tolerances for values measured on a 1 nm grid (a length 2 nm short of its limit passes, and a hair
#: more: one planned exactly 2 nm short is not judged by its float's last bit)
RATIO_TOL = 1e-4
LENGTH_TOL_UM = 0.002 + 1e-9
#: a volume this fraction short of volume_min passes: a GDS draws each arc as 48 chords inside it, which
#: lose up to 0.17 % of an aperture's area (a bulbous tip's), so that a plan just above volume_min would
#: read below it from its own GDS
VOLUME_TOL = 2e-3

#: chords per arc for arcs that are not a strip's tip (a tip is measured as its true disc) and for the
#: keep-in test (a tip of 60 um: chords within 0.15 um of the arc)
CHECK_ARC_CHORDS = 24

#: code -> (severity, what it means, unit of value and limit)
CODES: dict[str, tuple[str, str, str]] = {
    "no_aperture": (ERROR, "no aperture could be placed", ""),
    "unprintable": (ERROR, "no aperture at least min_aperture_um wide fits this contact", "um"),
    "not_on_contact": (ERROR, "the aperture does not touch its contact", ""),
    "bridge": (ERROR, "the aperture touches another contact", "um"),
    "merged": (ERROR, "the aperture touches another aperture: the two print as one opening", "um"),
    "clearance": (ERROR, "the aperture is closer to another contact than clearance_um", "um"),
    "too_wide": (ERROR, "the strip is not narrower than its contact along the row", "um"),
    "over_volume": (ERROR, "solder volume above pi*d^3/6 at the top of the transfer band", "um3"),
    "keep_in": (ERROR, "the aperture leaves the keep-in outline less edge_margin_um", "um"),
    "frame": (
        ERROR,
        "the aperture is closer than clearance_um to a frame left out of the pad layer (a seal ring's opening)",
        "um",
    ),
    "under_volume": (WARNING, "solder volume below volume_min * pi*d^3/6 at the bottom of the transfer band", "um3"),
    "area_ratio": (WARNING, "area ratio below area_ratio_min", ""),
    "aspect_ratio": (WARNING, "aspect ratio below aspect_ratio_min", ""),
    "five_ball": (WARNING, "narrowest width holds fewer than five of the paste's largest particles", "um"),
    "web": (WARNING, "web to another aperture below web_min_um", "um"),
    "inside_contact": (WARNING, "the strip does not reach beyond its contact", "um"),
    "extra_aperture": (ERROR, "more than one aperture on this contact", ""),
    "same_side": (WARNING, "the tip lies on the same side of the centerline as its neighbour's", ""),
    # (check only: an aperture of the stencil checked that lies on no contact; summary.stray_apertures)
    "stray_aperture": (ERROR, "an aperture that touches no contact", ""),
}


@dataclass(frozen=True)
class Findings:
    """Columnar findings: one entry per (contact, code)."""

    contact: np.ndarray  # (F,) contact id
    code: np.ndarray  # (F,) object: code names
    value: np.ndarray  # (F,)
    limit: np.ndarray  # (F,)
    other: np.ndarray  # (F,) the other contact or aperture involved, -1 if none
    # (F,) object: for a volume short of its target, the rule that limits the aperture ("" if none)
    reason: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.contact)

    @cached_property
    def code_ranks(self) -> tuple[np.ndarray, list[str]]:
        """Each finding's code as its rank among the distinct codes, and those codes in order (found
        once: the severities, the counts and the order all read them)."""
        return text_ranks(self.code)

    def in_order(self) -> Findings:
        """Ordered by contact, code, value, then the other contact: the same order however the plan
        was made (whole, or once per die and placed)."""
        ranks, names = self.code_ranks
        order = np.lexsort((self.other, self.value, ranks, self.contact))
        reason = None if self.reason is None else self.reason[order]
        out = Findings(
            self.contact[order], self.code[order], self.value[order], self.limit[order], self.other[order], reason
        )
        out.__dict__["code_ranks"] = (ranks[order], names)  # (its codes are these, reordered)
        return out

    def severity(self) -> np.ndarray:
        ranks, names = self.code_ranks
        return np.array([CODES[c][0] for c in names] or [""], dtype=object)[ranks]

    def record(self, k: int) -> dict[str, Any]:
        return finding_record(
            str(self.code[k]),
            int(self.contact[k]),
            float(self.value[k]),
            float(self.limit[k]),
            int(self.other[k]),
            "" if self.reason is None else str(self.reason[k]),
        )


def finding_record(code: str, contact: int, value: float, limit: float, other: int = -1, reason: str = "") -> dict:
    """A finding as a record: code, severity, contact, value, limit (4 decimals), unit, the other
    contact it names (None if none), what the planner says caused it (`limited_by`, None if nothing)
    and its message."""
    value, limit = round(value, 4) + 0.0, round(limit, 4) + 0.0  # + 0.0: no "-0" (the cache holds -0.0 as 0.0)
    sev, unit, message = _message(code, value, limit)
    if code == "same_side":  # the other contact is the neighbour; the reason is the turned tip's
        message += f" (contact {other})" if other >= 0 else ""
        message += ": " + TURNED.get(reason, reason) if reason else ""
    elif reason:
        message += "; " + limit_text(reason, other)
    elif other >= 0:
        message += f", next to contact {other}"
    return {
        "code": code,
        "severity": sev,
        "contact": contact,
        "value": value,
        "limit": limit,
        "unit": unit,
        "other": other if other >= 0 else None,
        "limited_by": reason or None,
        "message": message,
    }


#: limited_by (RULES.md rule 6) -> what it means, for messages
LIMITS = {
    "volume_limit": "the volume limit at the top of the transfer band",
    "tip_extension_max": "tip_extension_max (the strip is at its longest, its tip as wide as the contact)",
    "overprint_max": "overprint_max (the pad is grown as far as allowed)",
    "width": "the strip width (rule 3)",
    "clearance": "clearance_um to contact {other}",
    "web": "web_min_um to the aperture of contact {other}",
    "keep_in": "the keep-in outline less edge_margin_um (or clearance_um to a frame on the pad layer)",
    "extent": "the contacts' extent (no keep-in: the apertures held within it where there is room)",
    "foil": "no room at this foil thickness",
    "unprintable": "no aperture of min_aperture_um fits",
    "volume_min": "volume_min (on the other side the contact stays below volume_min * pi*d^3/6)",
}


#: why a tip lies on the same side as its neighbour's (the limited_by of a same_side finding)
TURNED = {
    "keep_in": "on the other side it would leave the keep-in outline less edge_margin_um",
    "extent": "on the other side it would leave the contacts' extent",
    "clearance": "on the other side it would come closer than clearance_um to another contact",
    "volume_min": "on the other side the contact stays below volume_min * pi*d^3/6",
    "corner": "the corner's common oblique direction puts the corner strip's tip on that side (rule 5)",
}


def limit_text(reason: str, other: int = -1) -> str:
    """'limited by ...' for a limited_by value and the other contact it names."""
    text = LIMITS.get(reason, reason)
    if other < 0:
        text = text.replace("the aperture of contact {other}", "another aperture")
        text = text.replace("contact {other}", "another contact")
    return "limited by " + text.format(other=other)


@functools.lru_cache(maxsize=65536)
def _message(code: str, value: float, limit: float) -> tuple[str, str, str]:
    """Severity, unit and text of a finding (a wafer repeats the same few thousand: they are cached)."""
    sev, text, unit = CODES[code]
    if value == 0 and limit == 0:  # a finding without a measure (same_side, inside_contact, a bridge)
        return sev, unit, text
    u = f" {unit}" if unit else ""
    return sev, unit, f"{text}: {value:.4g}{u} (limit {limit:.4g}{u})"


@dataclass(frozen=True)
class Checked:
    """Per-contact numbers (all um, um^2, um^3) and the findings."""

    d: np.ndarray
    area: np.ndarray
    volume: np.ndarray  # nominal transfer efficiency
    volume_low: np.ndarray  # transfer_efficiency_min
    volume_high: np.ndarray  # transfer_efficiency_max
    volume_limit: np.ndarray
    cap_height: np.ndarray
    area_ratio: np.ndarray
    aspect_ratio: np.ndarray
    max_thickness: np.ndarray
    min_web: np.ndarray  # to the nearest other aperture (inf if none near)
    min_clearance: np.ndarray  # to the nearest other contact (inf if none near)
    findings: Findings
    status: np.ndarray  # (N,) "ok" | "warning" | "error"

    @property
    def errors(self) -> int:
        return int((self.findings.severity() == ERROR).sum()) if len(self.findings) else 0

    @property
    def warnings(self) -> int:
        return int((self.findings.severity() == WARNING).sum()) if len(self.findings) else 0


def check_plan(
    plan: Plan, rules: Rules, keep_in: Any = None, polygons: Polygons | None = None, frames: Any = None
) -> Checked:
    """Every rule of RULES.md on every contact. `polygons` are the apertures as plain polygons
    (default: the plan's outlines with arcs as chords); `frames`: as for check_apertures."""
    return check_apertures(
        plan.contacts,
        plan.apertures,
        rules,
        keep_in,
        polygons,
        frames=frames,
        rows_u=row_directions(plan.rows, len(plan.contacts), rules),
        extra_errors={
            "same_side": same_side(plan.contacts, plan.rows, plan.apertures),
            "unprintable": unprintable(plan.apertures),
        },
        candidates=plan.near if polygons is None else None,
        limits=_limits(plan.apertures),
    )


class Limits(NamedTuple):
    """What the planner says limits each aperture (RULES.md rule 6), per contact: its volume
    (`by`, with the `other` contact it names), its width (`narrow_by`, for the printability findings)
    and its tip's side (`side_by`, for same_side); "" where nothing does."""

    by: np.ndarray
    other: np.ndarray
    narrow_by: np.ndarray | None = None
    side_by: np.ndarray | None = None


#: the printability findings that follow from an aperture's width
NARROW_CODES = ("five_ball", "aspect_ratio", "area_ratio")


def _limits(apertures: Apertures) -> Limits | None:
    """What limits each planned aperture and the other contact it names (None: a stencil drawn elsewhere)."""
    if apertures.limited_by is None or apertures.limited_other is None:
        return None
    return Limits(apertures.limited_by, apertures.limited_other, apertures.narrow_by, apertures.side_by)


def unprintable(apertures: Apertures) -> np.ndarray:
    """Contacts the planner left without an aperture because none at least min_aperture_um wide fits."""
    if apertures.limited_by is None:
        return np.zeros(0, dtype=np.int64)
    return np.flatnonzero(apertures.limited_by == "unprintable")


def same_side(contacts: Contacts, rows: Any, apertures: Apertures) -> tuple[np.ndarray, np.ndarray]:
    """Rule 4: strips one pitch apart in a row whose tips (or offsets) lie on the same side: the
    second of each pair, and its neighbour."""
    out, nb = [], []
    for r in rows.rows:
        m = r.members
        strip = apertures.kind[m] == STRIP
        t = contacts.center[m] @ r.direction
        step = np.diff(t) / r.pitch
        neighbours = (np.abs(step - 1) < 0.25) & strip[1:] & strip[:-1]
        side = apertures.side[m]
        pair = neighbours & (side[1:] == side[:-1]) & (side[1:] != 0)
        out.append(m[1:][pair])
        nb.append(m[:-1][pair])
    if not out:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    return np.concatenate(out), np.concatenate(nb)


def _with_reasons(findings: Findings, limits: Limits) -> Findings:
    """The findings with what the planner says caused them: a volume short of its target, what held
    the aperture back (and the other contact it names); a printability finding, what sets the width;
    same_side, why a tip of the pair left its side (the finding's own contact first)."""
    code, contact = findings.code, findings.contact
    ranks, names = findings.code_ranks

    def of(*wanted: str) -> np.ndarray:
        """Where the code is one of `wanted`."""
        return np.isin(ranks, [k for k, name in enumerate(names) if name in wanted])

    reason = filled(len(findings), "")
    other = findings.other.copy()
    short = of("under_volume", "unprintable")
    reason[short] = limits.by[contact[short]]
    other[short] = limits.other[contact[short]]
    if limits.narrow_by is not None:  # no aperture fits: what leaves it too narrow to print
        none = np.flatnonzero(of("unprintable") & (limits.by[contact] == "unprintable"))
        why = limits.narrow_by[contact[none]]
        reason[none] = np.where(why != "", why, reason[none])
        other[none] = np.where(why != "", -1, other[none])
    if limits.narrow_by is not None:
        narrow = np.flatnonzero(of(*NARROW_CODES))
        why = limits.narrow_by[contact[narrow]]
        reason[narrow] = why
        # the other contact the plan names belongs to its volume's limit: kept where that is the same rule
        same = (why != "") & (why == limits.by[contact[narrow]])
        other[narrow] = np.where(same, limits.other[contact[narrow]], -1)
    if limits.side_by is not None:
        pair = np.flatnonzero(of("same_side"))
        mine = limits.side_by[contact[pair]]
        theirs = np.where(other[pair] >= 0, limits.side_by[np.maximum(other[pair], 0)], "")
        # a tip turned (for the keep-in, clearance, volume_min) before a corner's direction (rule 5)
        turned = lambda why: (why != "") & (why != "corner")  # noqa: E731
        either = np.where(mine != "", mine, theirs)
        reason[pair] = np.where(turned(mine), mine, np.where(turned(theirs), theirs, either))
    out = Findings(contact, code, findings.value, findings.limit, other, reason)
    out.__dict__["code_ranks"] = findings.code_ranks  # (the same codes)
    return out


def row_directions(rows: Any, n: int, rules: Rules) -> np.ndarray:
    """(2, n, 2): the directions of the (first, second) row at fine pitch holding each contact, NaN where
    there is none: rule 3 holds along each row whose strips a contact's strip is one of (a row at coarse
    pitch through the same contact has pads, and no width to keep)."""
    u = np.full((2, n, 2), np.nan)
    for r in rows.rows:
        if not rules.fine(r.pitch):
            continue
        m = r.members
        again = ~np.isnan(u[0, m, 0])
        u[1, m[again]] = r.direction
        u[0, m[~again]] = r.direction
    return u


def check_apertures(
    contacts: Contacts,
    apertures: Apertures,
    rules: Rules,
    keep_in: Any = None,
    polygons: Polygons | None = None,
    rows_u: np.ndarray | None = None,
    extra_errors: dict[str, Any] | None = None,
    candidates: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None,
    limits: Limits | None = None,
    geoms: tuple[Any, Any] | None = None,
    kin: tuple[Alike, Alike] | None = None,
    frames: Any = None,
    arc_error: float = 0.0,
    tips: Tips | None = None,
) -> Checked:
    """The checks on one aperture per contact (aperture i serves contact i); `extra_errors` adds
    findings found elsewhere (code -> contact ids, or (contact ids, the other contact of each)), e.g.
    several apertures on one contact. geoms: the `polygons` and the contacts as shapely polygons
    (geoms[0][idx], built when asked for); kin: which of the `polygons` and which contacts are alike
    up to a shift (their distances are measured once per offset); frames: the frames left out of the
    pad layer (shapely, um), which every aperture keeps clearance_um from; arc_error: how far outside
    its arcs the stencil's reader puts their points, a fraction of the radius (`arc_read_error`): a
    web or clearance within that of its limit is the reading's, not the stencil's; tips: the discs
    united with the `polygons`, a strip's round tip found again exactly (`readers.stencil.found_tips`)."""
    n = len(contacts)
    have = apertures.kind != NONE
    idx = np.flatnonzero(have)
    found: list[tuple[np.ndarray, str, np.ndarray, np.ndarray, np.ndarray]] = []

    def add(ids: np.ndarray, code: str, value: Any, limit: Any, other: Any = -1) -> None:
        ids = np.asarray(ids, dtype=np.int64)
        if not len(ids):
            return
        shape = len(ids)
        found.append(
            (
                ids,
                code,
                np.broadcast_to(np.asarray(value, dtype=float), shape).copy(),
                np.broadcast_to(np.asarray(limit, dtype=float), shape).copy(),
                np.broadcast_to(np.asarray(other, dtype=np.int64), shape).copy(),
            )
        )

    extra = extra_errors or {}
    told = np.zeros(n, dtype=bool)
    told[np.asarray(extra.get("unprintable", []), dtype=np.int64)] = True
    add(np.flatnonzero(~have & ~told), "no_aperture", 0.0, 0.0)
    for code, ids in extra.items():
        ids, others = ids if isinstance(ids, tuple) else (ids, -1)
        add(ids, code, 0.0, rules.min_aperture_um if code == "unprintable" else 0.0, others)

    # volumes (rule 6)
    d = contacts.d
    v_lim = volume_limit(d, contacts.volume_cap)
    area = apertures.area
    vol = solder_volume(area, rules)
    vol_lo = solder_volume(area, rules, rules.transfer_efficiency_min)
    vol_hi = solder_volume(area, rules, rules.transfer_efficiency_max)
    over = have & (vol_hi > v_lim * (1 + 1e-9))
    add(np.flatnonzero(over), "over_volume", vol_hi[over], v_lim[over])
    under = have & (vol_lo < rules.volume_min * v_lim * (1 - VOLUME_TOL))
    add(np.flatnonzero(under), "under_volume", vol_lo[under], rules.volume_min * v_lim[under])

    # printability (rule 7)
    ar = area_ratio(area, apertures.perimeter, rules.thickness_um)
    asp = aspect_ratio(apertures.width, rules.thickness_um)
    max_t = max_thickness(area, apertures.perimeter, apertures.width, rules)
    # ratios and widths carry the database grid's noise (1 nm): a value on its limit passes
    bad = have & (ar < rules.area_ratio_min - RATIO_TOL)
    add(np.flatnonzero(bad), "area_ratio", ar[bad], rules.area_ratio_min)
    bad = have & (asp < rules.aspect_ratio_min - RATIO_TOL)
    add(np.flatnonzero(bad), "aspect_ratio", asp[bad], rules.aspect_ratio_min)
    # rule 11: narrower than min_aperture_um does not print (an error, not a five-ball warning)
    sliver = have & (apertures.width < rules.min_aperture_um - LENGTH_TOL_UM)
    add(np.flatnonzero(sliver), "unprintable", apertures.width[sliver], rules.min_aperture_um)
    bad = have & ~sliver & (apertures.width < rules.five_ball_um - LENGTH_TOL_UM)
    add(np.flatnonzero(bad), "five_ball", apertures.width[bad], rules.five_ball_um)

    # rule 3: a strip is narrower than its contact along its row (each, for a contact in two)
    strip = apertures.kind == STRIP
    read = Shapes.of(polygons, alike=kin[0] if kin is not None else None) if polygons is not None else None
    for along in rows_u if rows_u is not None and strip.any() else ():
        sidx = np.flatnonzero(strip & ~np.isnan(along[:, 0]))
        if len(sidx):
            uu = along[sidx]
            # the body at its angle to the row, and its tip: a disc, as wide along the row as across it
            w_ap = np.maximum(_strip_width_along(apertures, sidx, uu, read), apertures.tip_d[sidx])
            w_c = extent_along(contacts.polygons.take(sidx), uu)
            bad = w_ap >= w_c - 1e-9
            add(sidx[bad], "too_wide", w_ap[bad], w_c[bad])

    # geometry: own contact, other contacts, other apertures, keep-in (rules 1, 7, 8)
    min_web = np.full(n, np.inf)
    min_clear = np.full(n, np.inf)
    if len(idx):
        ap_geoms, pad_geoms = geoms if geoms is not None and polygons is not None else (None, None)
        if polygons is None:
            shapes = outline_shapes(apertures.outlines, CHECK_ARC_CHORDS)
            pads = Shapes.of(contacts.polygons, pad_geoms)
        else:
            disc = tips if tips is not None else Tips.none(n)
            shapes = Shapes(polygons, disc.centre, disc.radius, ap_geoms, kin[0] if kin is not None else None)
            pads = Shapes.of(contacts.polygons, pad_geoms, kin[1] if kin is not None else None)
        ap_box, pad_box = shapes.boxes(), pads.boxes()
        own = distances(shapes, idx, pads, idx) <= 0
        add(idx[~own], "not_on_contact", 0.0, 0.0)
        if candidates is None:
            ia, jc = box_pairs(ap_box, pad_box, REPORT_REACH * rules.clearance_um + 1e-6)
        else:  # found while planning, from larger apertures
            ia, jc = candidates[0], candidates[1]
        other = ia != jc
        ia, jc = ia[other], jc[other]
        dist = distances(shapes, ia, pads, jc)
        near = dist <= REPORT_REACH * rules.clearance_um + 1e-6
        ia, jc, dist = ia[near], jc[near], dist[near]
        np.minimum.at(min_clear, ia, dist)
        touching = dist <= 0
        add(ia[touching], "bridge", dist[touching], 0.0, jc[touching])
        # (a reader that puts an arc's points outside it, `arc_error` of its radius: KLayout's DXF arcs)
        arc_r = arc_error * np.maximum(apertures.tip_d, apertures.width) / 2
        close = (~touching) & (dist < rules.clearance_um - LENGTH_TOL_UM - arc_r[ia])
        add(ia[close], "clearance", dist[close], rules.clearance_um, jc[close])
        if candidates is None:
            qa, qb = box_pairs(ap_box, ap_box, REPORT_REACH * rules.web_min_um + 1e-6, same=True)
        else:
            qa, qb = candidates[2], candidates[3]
        dist = distances(shapes, qa, shapes, qb)
        near = dist <= REPORT_REACH * rules.web_min_um + 1e-6
        qa, qb, dist = (
            np.concatenate([qa[near], qb[near]]),
            np.concatenate([qb[near], qa[near]]),
            np.tile(dist[near], 2),
        )
        np.minimum.at(min_web, qa, dist)
        merged = dist <= 0  # one opening over two contacts (rule 1), not a thin web
        add(qa[merged], "merged", dist[merged], 0.0, qb[merged])
        thin = ~merged & (dist < rules.web_min_um - LENGTH_TOL_UM - arc_r[qa] - arc_r[qb])
        add(qa[thin], "web", dist[thin], rules.web_min_um, qb[thin])
        sp = np.flatnonzero(strip & have)
        if len(sp):
            # the strip reaches beyond its contact along its axis, on one side or the other
            a = apertures.axis[sp]
            lo, hi = extent_on(shapes, sp, a)
            plo, phi = extent_on(pads, sp, a)
            inside = (hi <= phi + LENGTH_TOL_UM) & (lo >= plo - LENGTH_TOL_UM)
            add(sp[inside], "inside_contact", 0.0, 0.0)
        if keep_in is not None:
            inner = keep_in_inner(keep_in, rules.edge_margin_um)
            maybe = idx
            bounds = box_bounds(inner)
            if bounds is not None:
                # a box: an aperture whose box lies in it is inside; the others are measured
                x0, y0, x1, y1 = bounds
                b = ap_box[idx]
                maybe = idx[~((b[:, 0] >= x0) & (b[:, 1] >= y0) & (b[:, 2] <= x1) & (b[:, 3] <= y1))]
            if ap_geoms is not None:
                ap = ap_geoms[maybe]
            else:
                polys = polygons if polygons is not None else outlines_to_polygons(apertures.outlines, CHECK_ARC_CHORDS)
                ap = to_shapely(polys.take(maybe))
            out = ~shapely.contains(inner, ap)
            if out.any():
                gap = shapely.distance(ap[out], shapely.boundary(inner)) * -1
                add(maybe[out], "keep_in", gap, rules.edge_margin_um)
        if frames is not None:
            # only the apertures whose boxes come within clearance_um of a frame (those near the die's edge)
            b = ap_box[idx]
            maybe = idx[shapely.dwithin(frames, shapely.box(b[:, 0], b[:, 1], b[:, 2], b[:, 3]), rules.clearance_um)]
            if ap_geoms is not None:
                ap = ap_geoms[maybe]
            else:
                polys = polygons if polygons is not None else outlines_to_polygons(apertures.outlines, CHECK_ARC_CHORDS)
                ap = to_shapely(polys.take(maybe))
            gap = shapely.distance(frames, ap)
            close = gap < rules.clearance_um - LENGTH_TOL_UM
            add(maybe[close], "frame", gap[close], rules.clearance_um)

    if found:
        findings = Findings(
            contact=np.concatenate([f[0] for f in found]),
            code=np.concatenate([filled(len(f[0]), f[1]) for f in found]),
            value=np.concatenate([f[2] for f in found]),
            limit=np.concatenate([f[3] for f in found]),
            other=np.concatenate([f[4] for f in found]),
        )
        found.clear()  # (the pieces, no longer needed while the findings are ordered)
        if limits is not None:
            findings = _with_reasons(findings, limits)
        findings = findings.in_order()
    else:
        findings = Findings(np.zeros(0, np.int64), np.zeros(0, object), np.zeros(0), np.zeros(0), np.zeros(0, np.int64))
    status = filled(n, "ok")
    sev = findings.severity() if len(findings) else np.zeros(0, object)
    status[findings.contact[sev == WARNING]] = "warning"
    status[findings.contact[sev == ERROR]] = "error"
    cap = cap_height(vol, contacts.area)
    return Checked(d, area, vol, vol_lo, vol_hi, v_lim, cap, ar, asp, max_t, min_web, min_clear, findings, status)


def _strip_width_along(
    apertures: Apertures, sidx: np.ndarray, u: np.ndarray, polygons: Shapes | None = None
) -> np.ndarray:
    """A strip's width measured along the row: its width across its axis over sin(axis, row), and no
    more than its outline's extent along the row (a body that runs along its row, or nearly: its
    longest chord along the row is its length, not that of an endless band). polygons: the apertures
    as read (a stencil drawn elsewhere), with which are alike up to a shift: measured once a kind."""
    a = apertures.axis[sidx]
    s = np.abs(a[:, 0] * u[:, 1] - a[:, 1] * u[:, 0])
    extent = np.full(len(sidx), np.inf)
    if polygons is not None:
        lo, hi = extent_on(polygons, sidx, u)
        extent = np.where(hi >= lo, hi - lo, np.inf)
    else:
        has = np.diff(apertures.outlines.offsets)[sidx] > 0
        if has.any():
            o = apertures.outlines.take(sidx[has])
            extent[has] = extent_along(Polygons(o.coords, o.offsets), u[has])
    return np.minimum(apertures.width[sidx] / np.maximum(s, 1e-12), extent)


def place_checked(element: Checked, index: np.ndarray, scale: np.ndarray | None = None) -> Checked:
    """The element's checks repeated in every placement (index: (P, n) global ids). Placements of the
    same cell without magnification give the same numbers; with one, the planner is not asked to repeat."""
    P, n = index.shape
    N = P * n
    src = np.empty(N, dtype=np.int64)
    src[index.ravel()] = np.tile(np.arange(n), P)
    f = element.findings
    if len(f):
        # every finding of element contact e, once per placement p, for global contact index[p, e]
        contact = index[:, f.contact].ravel()
        other = np.where(f.other[None, :] >= 0, index[:, np.maximum(f.other, 0)], -1).ravel()
        reason = None if f.reason is None else np.tile(f.reason, P)
        findings = Findings(
            contact, np.tile(f.code, P), np.tile(f.value, P), np.tile(f.limit, P), other, reason
        ).in_order()
    else:
        findings = f
    fields = [
        "d",
        "area",
        "volume",
        "volume_low",
        "volume_high",
        "volume_limit",
        "cap_height",
        "area_ratio",
        "aspect_ratio",
        "max_thickness",
        "min_web",
        "min_clearance",
    ]
    values = {k: getattr(element, k)[src] for k in fields}
    return Checked(**values, findings=findings, status=element.status[src])
