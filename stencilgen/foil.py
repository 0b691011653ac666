"""Foil choice (RULES.md, "Foil choice"): the plans at each stocked foil scored, the one kept, and where two
groups of contacts are each best served by a different foil, a step-stencil proposal.

Pure: it judges the per-contact findings of plans made elsewhere (api.plan makes them, sharing the
reading, the rows and the keep-in); it plans nothing itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .checks import ERROR, WARNING, Checked
from .model import Polygons

#: a contact's score at a foil: its errors weigh more than any number of its warnings
ERROR_WEIGHT = 1_000


@dataclass(frozen=True)
class FoilScore:
    """One foil's plan, judged: per-contact counts of errors and warnings, and each contact's box
    (its contact and its aperture together: x0, y0, x1, y1 in um)."""

    thickness_um: float
    errors: np.ndarray  # (N,) int
    warnings: np.ndarray  # (N,) int
    under_volume: int
    boxes: np.ndarray  # (N, 4)
    ratios: int = 0  # findings of area_ratio or aspect_ratio: apertures the paste may not leave

    @property
    def score(self) -> np.ndarray:
        return self.errors.astype(np.int64) * ERROR_WEIGHT + self.warnings

    def row(self) -> dict[str, Any]:
        """The table's line for this foil."""
        return {
            "thickness_um": self.thickness_um,
            "errors": int(self.errors.sum()),
            "warnings": int(self.warnings.sum()),
            "under_volume": self.under_volume,
            "area_or_aspect_ratio": self.ratios,
        }


def boxes(contacts: Polygons, apertures: Polygons) -> np.ndarray:
    """(N, 4) box around each contact and its aperture (x0, y0, x1, y1, um); a contact without an
    aperture is its own box."""
    out = np.empty((len(contacts.offsets) - 1, 4))
    c = contacts.coords
    out[:, :2] = np.minimum.reduceat(c, contacts.offsets[:-1], axis=0)
    out[:, 2:] = np.maximum.reduceat(c, contacts.offsets[:-1], axis=0)
    present = np.flatnonzero(np.diff(apertures.offsets) > 0)
    if len(present):
        starts = apertures.offsets[:-1][present]
        a = apertures.coords
        out[present, :2] = np.minimum(out[present, :2], np.minimum.reduceat(a, starts, axis=0))
        out[present, 2:] = np.maximum(out[present, 2:], np.maximum.reduceat(a, starts, axis=0))
    return out


def score(thickness_um: float, checked: Checked, boxes: np.ndarray) -> FoilScore:
    """A plan's findings counted per contact."""
    n = len(boxes)
    f = checked.findings
    if len(f):
        sev = f.severity()
        errors = np.bincount(f.contact[sev == ERROR], minlength=n)
        warnings = np.bincount(f.contact[sev == WARNING], minlength=n)
        under = int((f.code == "under_volume").sum())
        ratios = int(np.isin(f.code, ("area_ratio", "aspect_ratio")).sum())
    else:
        errors = warnings = np.zeros(n, dtype=np.int64)
        under = ratios = 0
    return FoilScore(float(thickness_um), errors, warnings, under, boxes, ratios)


def choose(scores: list[FoilScore]) -> int:
    """The foil with the fewest errors, then the fewest warnings, then the thinner."""
    keys = [(int(s.errors.sum()), int(s.warnings.sum()), s.thickness_um) for s in scores]
    return min(range(len(scores)), key=keys.__getitem__)


def _gap(a: np.ndarray, b: np.ndarray) -> float:
    """Distance between two boxes (x0, y0, x1, y1); 0 where they touch or overlap."""
    dx = max(a[0] - b[2], b[0] - a[2], 0.0)
    dy = max(a[1] - b[3], b[1] - a[3], 0.0)
    return float(np.hypot(dx, dy))


def _clusters(boxes: np.ndarray, reach: float) -> list[np.ndarray]:
    """Indices of boxes grouped where they come within `reach` of each other along x and y (connected
    groups), in the order of their least index."""
    from .pairs import box_pairs, components

    if not len(boxes):
        return []
    i, j = box_pairs(boxes, boxes, reach, same=True)
    label = components(len(boxes), np.column_stack([i, j]))
    order = np.argsort(label, kind="stable")
    cuts = np.flatnonzero(np.diff(label[order])) + 1
    return np.split(order, cuts)


def _regions(
    boxes: np.ndarray, groups: list[np.ndarray], reach: float, tree: Any
) -> list[tuple[np.ndarray, np.ndarray]]:
    """For each group of contacts: the box around them, grown to take in every contact within `reach`
    of it until none is left out: (the box, the contacts inside, sorted). All the groups grow together,
    one query of the tree a round (a row of contacts closer than `reach` grows a contact or two a
    round, so the rounds are not bounded: each takes in a contact or ends). tree: a shapely STRtree
    of the boxes (their indices)."""
    import shapely

    if not groups:
        return []
    flat = np.concatenate(groups)
    starts = np.cumsum([0, *(len(g) for g in groups[:-1])])
    region = np.column_stack([np.minimum.reduceat(boxes[flat, k], starts) for k in (0, 1)])
    region = np.column_stack([region, *(np.maximum.reduceat(boxes[flat, k], starts) for k in (2, 3))])
    inside: list[np.ndarray] = [np.zeros(0, dtype=np.int64)] * len(groups)
    active = np.arange(len(groups))
    while len(active):
        # (the boxes meeting each region grown by reach on every side)
        r = region[active]
        q, hit = tree.query(shapely.box(r[:, 0] - reach, r[:, 1] - reach, r[:, 2] + reach, r[:, 3] + reach))
        order = np.lexsort((hit, q))
        q, hit = q[order], hit[order]
        firsts = np.flatnonzero(np.r_[True, q[1:] != q[:-1]])
        grown = np.column_stack(
            [np.minimum.reduceat(boxes[hit, k], firsts) for k in (0, 1)]
            + [np.maximum.reduceat(boxes[hit, k], firsts) for k in (2, 3)]
        )
        for g, found in zip(active, np.split(hit, firsts[1:]), strict=True):
            inside[g] = found
        settled = (grown == r).all(axis=1)
        region[active] = grown
        active = active[~settled]
    return [(region[g], inside[g]) for g in range(len(groups))]


def step_proposal(scores: list[FoilScore], chosen: int, keep_out: float) -> dict[str, Any] | None:
    """Regions of a step stencil, each at a foil that serves its contacts better than the chosen one,
    where that gives fewer errors and warnings than the chosen foil alone; None where no region helps.

    A region is the box around its contacts' apertures; every contact whose aperture comes within the
    step's keep-out (`keep_out` step heights, IPC-7525B's rule of thumb: 0.9 mm per 25 um of step) is
    taken into the region, so a region holds whole groups; regions of different thicknesses keep their
    keep-outs apart. A region is proposed only if its contacts, judged at its foil, gain overall. Every
    foil is tried for each group, not only the one its contacts fare best at: a smaller step keeps a
    shorter keep-out, which may stay clear of the other group where the best foil's would not. Every
    foil is tried as the base, too: a thin base with a thick pocket over a bump array where the ring
    around it, on the thick chosen foil, cannot be stepped down (its box holds the array); where the chosen foil's
    search already leaves as few findings as every contact at its own best foil would, no other base is tried."""
    proposal, _declined = _best_step(scores, chosen, keep_out)
    return proposal


def _totals(proposal: dict[str, Any] | None, base: FoilScore) -> tuple[int, int]:
    """(errors, warnings) of the stencil: with the steps proposed, else of the base foil alone."""
    if proposal is None:
        return int(base.errors.sum()), int(base.warnings.sum())
    return proposal["errors"], proposal["warnings"]


def _best_step(
    scores: list[FoilScore], chosen: int, keep_out: float
) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """The step proposal on the base that gives the fewest errors, then warnings (of equal ones the
    chosen foil, then the thinner base), where that beats the chosen foil alone; and the regions not
    proposed of that search (of the chosen foil's where none is proposed)."""
    alone = _totals(None, scores[chosen])
    on_chosen = _step_search(scores, chosen, keep_out)
    # no stencil leaves fewer errors, nor fewer warnings, than every contact at its best foil would: where
    # the chosen foil alone leaves that few, no step helps; where its steps do, no other base does better
    floor = tuple(int(np.min([getattr(s, k) for s in scores], axis=0).sum()) for k in ("errors", "warnings"))
    if floor == alone:
        return None, on_chosen[1]
    if on_chosen[0] is not None and _totals(on_chosen[0], scores[chosen]) == floor:
        return on_chosen
    found = [on_chosen if b == chosen else _step_search(scores, b, keep_out) for b in range(len(scores))]
    best = min(
        (b for b in range(len(scores)) if found[b][0] is not None),
        key=lambda b: (*_totals(found[b][0], scores[b]), b != chosen, scores[b].thickness_um),
        default=None,
    )
    if best is None or _totals(found[best][0], scores[best]) >= alone:
        return None, found[chosen][1]
    return found[best]


@dataclass(frozen=True)
class _Candidate:
    """A region tried: at foil index `f`, grown from `seeds` (contacts that foil serves better) to take
    in every contact within `reach` of it (`inside`)."""

    gain: int  # the chosen foil's score less this foil's, over `inside`
    f: int
    region: np.ndarray  # x0, y0, x1, y1 (um)
    inside: np.ndarray
    seeds: np.ndarray
    reach: float


def _step_search(
    scores: list[FoilScore], chosen: int, keep_out: float
) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """step_proposal, and the groups of contacts that fare best on another foil but are not stepped to
    it, each with why (`_declined`)."""
    import shapely

    base = scores[chosen]
    s_base = base.score
    n = len(s_base)
    if n == 0 or len(scores) < 2:
        return None, []
    all_scores = np.stack([s.score for s in scores])  # (F, N)
    thick = np.array([s.thickness_um for s in scores])
    lo = np.minimum.reduce([s.boxes[:, :2] for s in scores])
    hi = np.maximum.reduce([s.boxes[:, 2:] for s in scores])
    boxes = np.hstack([lo, hi])  # each contact's box over every foil's aperture
    tree = shapely.STRtree(shapely.box(boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3]))
    tried = []
    for f in range(len(scores)):
        if f == chosen:
            continue
        reach = keep_out * abs(thick[f] - thick[chosen])
        served = np.flatnonzero(all_scores[f] < s_base)  # the contacts this foil serves better
        grown: dict[tuple[float, ...], tuple[np.ndarray, list[np.ndarray]]] = {}
        groups = [served[members] for members in _clusters(boxes[served], reach)]
        for group, (region, inside) in zip(groups, _regions(boxes, groups, reach, tree), strict=True):
            # (groups whose keep-outs grow into one region are one candidate)
            grown.setdefault(tuple(region), (inside, []))[1].append(group)
        for region_key, (inside, seeds) in grown.items():
            gain = int((s_base[inside] - all_scores[f, inside]).sum())
            tried.append(_Candidate(gain, f, np.array(region_key), inside, np.concatenate(seeds), reach))
    accepted: list[_Candidate] = []
    taken = np.zeros(n, dtype=bool)
    # the largest gain first; of equal gains the thinner foil (the smaller step on a thin base)
    for c in sorted((c for c in tried if c.gain > 0), key=lambda c: (-c.gain, c.f, tuple(c.region))):
        clash = any(_gap(c.region, other.region) < max(c.reach, other.reach) for other in accepted if other.f != c.f)
        if clash or taken[c.inside].any():
            continue
        accepted.append(c)
        taken[c.inside] = True
    declined = _declined(scores, all_scores, chosen, tried, accepted)
    if not accepted:
        return None, declined
    foil_of = np.full(n, chosen)
    regions = []
    for c in sorted(accepted, key=lambda c: tuple(c.region)):
        foil_of[c.inside] = c.f
        regions.append(
            {
                "thickness_um": float(thick[c.f]),
                # (rounded outward to 0.1 nm: the box holds every aperture it names)
                "bbox_um": [float(np.floor(x * 1e4) / 1e4) for x in c.region[:2]]
                + [float(np.ceil(x * 1e4) / 1e4) for x in c.region[2:]],
                "keep_out_um": round(float(c.reach), 4),
                "contacts": len(c.inside),
                "errors": int(scores[c.f].errors[c.inside].sum()),
                "warnings": int(scores[c.f].warnings[c.inside].sum()),
                "errors_at_base": int(base.errors[c.inside].sum()),
                "warnings_at_base": int(base.warnings[c.inside].sum()),
            }
        )
    at = np.arange(n)
    errors = np.stack([s.errors for s in scores])[foil_of, at]
    warnings = np.stack([s.warnings for s in scores])[foil_of, at]
    return {
        "base_thickness_um": base.thickness_um,
        "regions": regions,
        "errors": int(errors.sum()),
        "warnings": int(warnings.sum()),
    }, declined


def _declined(
    scores: list[FoilScore], all_scores: np.ndarray, chosen: int, tried: list[_Candidate], accepted: list[_Candidate]
) -> list[dict[str, Any]]:
    """For the contacts that fare best on a thinner (a thicker) foil than the base and are not stepped
    to it: the region tried at the foil most of them fare best at, grown from the most of them, and not
    proposed (one a side): that foil, its keep-out, the contacts it was grown from and those its
    keep-out took in besides (`taken_in`), and the errors and warnings of them all at that foil and at
    the base. Where the keep-out takes in contacts that fare worse at that foil by more than the group
    gains, the region gains nothing; else another region, proposed, gained more."""
    thick = np.array([s.thickness_um for s in scores])
    n = all_scores.shape[1]
    nearness = np.abs(thick - thick[chosen])
    # each contact's best foil: the lowest score; ties go to the foil nearest the base
    order = np.lexsort((np.broadcast_to(nearness[:, None], all_scores.shape), all_scores), axis=0)[0]
    best = np.where(all_scores[order, np.arange(n)] < all_scores[chosen], order, chosen)
    foil_of = np.full(n, chosen)
    for c in accepted:
        foil_of[c.inside] = c.f
    at = np.arange(n)
    wanting = all_scores[foil_of, at] > all_scores[best, at]  # fare worse than at their best foil
    out = []
    for side in (-1, 1):
        mine = wanting & (np.sign(thick[best] - thick[chosen]) == side)
        if not mine.any():
            continue
        counts = np.bincount(best[mine], minlength=len(thick))
        f = int(min(np.flatnonzero(counts == counts.max()), key=lambda j: nearness[j]))
        left = [c for c in tried if c.f == f and not any(c is a for a in accepted)]
        if not left:
            continue
        c = max(left, key=lambda c: int((mine[c.seeds] & (best[c.seeds] == f)).sum()))
        out.append(
            {
                "thickness_um": float(thick[c.f]),
                "contacts": len(c.seeds),
                "keep_out_um": round(float(c.reach), 4),
                "taken_in": len(c.inside) - len(c.seeds),
                "errors": int(scores[c.f].errors[c.inside].sum()),
                "warnings": int(scores[c.f].warnings[c.inside].sum()),
                "errors_at_base": int(scores[chosen].errors[c.inside].sum()),
                "warnings_at_base": int(scores[chosen].warnings[c.inside].sum()),
                "gains": c.gain > 0,
            }
        )
    return out


def foil_summary(scores: list[FoilScore], chosen: int, keep_out: float) -> dict[str, Any]:
    """What the report says of the foil choice: the table, the foil kept, the step proposal and the
    groups of contacts not stepped to the foil they fare best at, with why."""
    step, declined = _best_step(scores, chosen, keep_out)
    return {
        "chosen_um": scores[chosen].thickness_um,
        "table": [s.row() for s in scores],
        "step": step,
        "step_declined": declined,
    }


def declined_said(d: dict[str, Any], base_um: float) -> str:
    """One line on a region tried at the foil its contacts fare best at and not proposed (an entry of
    `step_declined`)."""
    group = f"{d['contacts']} contact fares" if d["contacts"] == 1 else f"{d['contacts']} contacts fare"
    more = "1 contact" if d["taken_in"] == 1 else f"{d['taken_in']} contacts"
    said = (
        f"{group} better at {d['thickness_um']:g} um, but a step to it keeps "
        f"{d['keep_out_um']:g} um clear and so takes in {more} more: together "
        f"{d['errors']} errors, {d['warnings']} warnings at {d['thickness_um']:g} um against "
        f"{d['errors_at_base']} errors, {d['warnings_at_base']} warnings at {base_um:g} um"
    )
    return said + ("; the region proposed gains more" if d["gains"] else "")


#: the trades the foil choice hides, named where another foil does better (the choice counts each of
#: these findings as one warning, like a same_side): the table's key, what its findings are, and why
#: the choice did not see it
HINTS = (
    ("under_volume", "contacts below volume_min", "the choice counts a contact below volume_min as one warning"),
    ("area_or_aspect_ratio", "area_ratio or aspect_ratio findings, apertures the paste may not leave", ""),
)


def foil_hints(foil: dict[str, Any]) -> list[tuple[dict[str, Any], dict[str, Any], str, str, str]]:
    """For each of HINTS where another foil with no more errors leaves fewer of its findings than the one
    kept: (the table's line of the foil kept, that of the foil leaving the fewest, the key, what its
    findings are, why the choice did not see it)."""
    kept = next((r for r in foil["table"] if r["thickness_um"] == foil["chosen_um"]), None)
    if kept is None:
        return []
    out = []
    for key, what, why in HINTS:
        fewer = [r for r in foil["table"] if r["errors"] <= kept["errors"] and r.get(key, 0) < kept.get(key, 0)]
        if fewer:
            best = min(fewer, key=lambda r: (r.get(key, 0), r["warnings"], r["thickness_um"]))
            out.append((kept, best, key, what, why))
    return out
