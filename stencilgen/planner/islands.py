"""Pure: islands, groups of contacts that no aperture of another group comes near (the dies of a flat
wafer), and a plan put together from plans of some of its islands.

Islands are parted by empty bands wider than the reach of the checks' pairs (`model.REPORT_REACH`
times web_min_um and clearance_um): an aperture of one never weighs against a contact or an aperture of
another, so a plan of some islands keeps every rule beside the plans of the others. A die planned alone
gets the plan it gets among the others (`tests/test_islands.py`): each strip and each corner tries only
its own variants (a tip turns where a contact of its own island is still below volume_min; a corner
tries its own turns and depths), and each is judged against what lies within its reach.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from ..geometry import bboxes
from ..model import Apertures, Contacts, Outlines, Plan, RowSet
from ..repeats import bands

#: um more than the checks' reach that parts two islands
ISLAND_SLACK_UM = 1.0


def island_gap(web_um: float, clearance_um: float, reach: float) -> float:
    """The empty band that parts two islands (um): wider than any pair the planner or the checks weigh."""
    return reach * max(web_um, clearance_um) + ISLAND_SLACK_UM


def plan_boxes(contacts: Contacts, outlines: Outlines) -> np.ndarray:
    """(N, 4) boxes of each contact with its aperture (`outlines`; an arc's box bounded by its chord's
    and its sagitta); a contact without an aperture: its own box."""
    box = bboxes(contacts.polygons)
    counts = np.diff(outlines.offsets)
    have = np.flatnonzero(counts > 0)
    if not len(have):
        return box
    xy, start = outlines.coords, outlines.offsets[:-1][have]
    nxt = np.arange(1, len(xy) + 1)
    nxt[outlines.offsets[1:][have] - 1] = start  # (each outline's last vertex to its first)
    sag = np.abs(outlines.bulge) * np.hypot(*(xy[nxt] - xy).T) / 2
    grow = np.maximum.reduceat(sag, start)
    lo = np.stack([np.minimum.reduceat(xy[:, 0], start), np.minimum.reduceat(xy[:, 1], start)], axis=1)
    hi = np.stack([np.maximum.reduceat(xy[:, 0], start), np.maximum.reduceat(xy[:, 1], start)], axis=1)
    box[have, :2] = np.minimum(box[have, :2], lo - grow[:, None])
    box[have, 2:] = np.maximum(box[have, 2:], hi + grow[:, None])
    return box


def islands(rows: RowSet, box: np.ndarray, gap: float) -> np.ndarray:
    """An island label per contact (0, 1, ... in the order of their first contacts): contacts whose boxes
    `box` are parted from the others' by empty bands wider than `gap` across x or across y, joined
    where a row, a corner, an array or a staggered pair has members in two."""
    n = len(box)
    if not n:
        return np.zeros(0, dtype=np.int64)
    bx, _ = bands(box[:, 0], box[:, 2], gap)
    by, _ = bands(box[:, 1], box[:, 3], gap)
    key = bx * (int(by.max()) + 1) + by
    parent = {int(k): int(k) for k in np.unique(key)}

    def find(k: int) -> int:
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    groups = [r.members for r in rows.rows] + [c.members for c in rows.corners] + [a.members for a in rows.arrays]
    groups += [np.concatenate([rows.rows[i].members for i in s.rows]) for s in rows.staggers]
    for members in groups:
        keys = np.unique(key[np.asarray(members, dtype=np.int64)])
        first = find(int(keys[0]))
        for k in keys[1:]:
            other = find(int(k))
            if other != first:
                parent[max(first, other)] = min(first, other)
                first = min(first, other)
    keys, at = np.unique(key, return_inverse=True)
    root = np.array([find(int(k)) for k in keys.tolist()])[at]  # (each group's root, not each contact's)
    _, start, which = np.unique(root, return_index=True, return_inverse=True)
    order = np.argsort(np.argsort(start))  # labels in the order of each island's first contact
    return order[which].astype(np.int64)


def subset_rows(rows: RowSet, ids: np.ndarray, n: int) -> RowSet:
    """The rows, corners, arrays and staggered pairs of the contacts `ids` (ascending, of n; every row
    wholly inside or outside them), in the contacts' new ids 0..len(ids)-1."""
    local = np.full(n, -1, dtype=np.int64)
    local[ids] = np.arange(len(ids))
    keep = [r for r in rows.rows if local[r.members[0]] >= 0]
    row_id = {r.id: k for k, r in enumerate(keep)}
    new_rows = [dataclasses.replace(r, id=k, members=local[r.members]) for k, r in enumerate(keep)]
    corners = [
        dataclasses.replace(c, rows=(row_id[c.rows[0]], row_id[c.rows[1]]), members=local[c.members])
        for c in rows.corners
        if c.rows[0] in row_id
    ]
    arrays = [a for a in rows.arrays if local[a.members[0]] >= 0]
    array_id = {a.id: k for k, a in enumerate(arrays)}
    arrays = [dataclasses.replace(a, id=k, members=local[a.members]) for k, a in enumerate(arrays)]
    staggers = [
        dataclasses.replace(s, rows=(row_id[s.rows[0]], row_id[s.rows[1]]))
        for s in rows.staggers
        if s.rows[0] in row_id
    ]
    row_map = np.array([row_id.get(i, -1) for i in range(len(rows.rows))] + [-1], dtype=np.int64)
    array_map = np.array([array_id.get(i, -1) for i in range(len(rows.arrays))] + [-1], dtype=np.int64)
    return RowSet(new_rows, corners, arrays, staggers, row_map[rows.row_of[ids]], array_map[rows.array_of[ids]])


def compose(whole: Plan, ids: np.ndarray, part: Plan) -> Plan:
    """`whole` with the apertures of contacts `ids` (ascending) taken from `part`, a plan of those
    contacts alone (their ids 0..len(ids)-1 there), and its candidate pairs among them."""
    a, b = whole.apertures, part.apertures
    n = len(whole.contacts)
    values: dict[str, Any] = {}
    for f in dataclasses.fields(Apertures):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if f.name == "outlines":
            pool = Outlines(
                np.concatenate([x.coords, y.coords]),
                np.concatenate([x.bulge, y.bulge]),
                np.concatenate([x.offsets, y.offsets[1:] + x.offsets[-1]]),
            )
            src = np.arange(n)
            src[ids] = n + np.arange(len(ids))
            values[f.name] = pool.take(src)
        elif x is None or y is None:
            values[f.name] = None
        else:
            out = x.copy()
            out[ids] = np.where(y >= 0, ids[np.maximum(y, 0)], -1) if f.name == "limited_other" else y
            values[f.name] = out
    near = None
    if whole.near is not None and part.near is not None:
        gone = np.zeros(n, dtype=bool)
        gone[ids] = True
        pairs = []
        for k in (0, 2):
            p, q = whole.near[k], whole.near[k + 1]
            stay = ~(gone[p] | gone[q])
            pairs.append(
                (np.concatenate([p[stay], ids[part.near[k]]]), np.concatenate([q[stay], ids[part.near[k + 1]]]))
            )
        near = (*pairs[0], *pairs[1])
    return dataclasses.replace(whole, apertures=Apertures(**values), near=near)


def take_plan(plan: Plan, ids: np.ndarray) -> Plan:
    """The plan of its contacts `ids` (ascending; whole islands) alone: their contacts, rows, apertures
    and pairs, in ids 0..len(ids)-1."""
    n = len(plan.contacts)
    local = np.full(n, -1, dtype=np.int64)
    local[ids] = np.arange(len(ids))
    a = plan.apertures
    values: dict[str, Any] = {}
    for f in dataclasses.fields(Apertures):
        x = getattr(a, f.name)
        if f.name == "outlines":
            values[f.name] = x.take(ids)
        elif x is None:
            values[f.name] = None
        else:
            values[f.name] = (
                np.where(x[ids] >= 0, local[np.maximum(x[ids], 0)], -1) if f.name == "limited_other" else x[ids]
            )
    near = None
    if plan.near is not None:
        pairs = []
        for k in (0, 2):
            p, q = plan.near[k], plan.near[k + 1]
            keep = (local[p] >= 0) & (local[q] >= 0)
            pairs += [local[p[keep]], local[q[keep]]]
        near = (pairs[0], pairs[1], pairs[2], pairs[3])
    return Plan(
        plan.contacts.take(ids), subset_rows(plan.rows, ids, n), Apertures(**values), list(plan.notes), near=near
    )


def joins(before: np.ndarray, after: np.ndarray) -> bool:
    """Whether islands `after` join any two islands `before` (labels of the same contacts)."""
    first = np.full(int(after.max()) + 1 if len(after) else 0, -1, dtype=np.int64)
    first[after[::-1]] = before[::-1]  # (an island's label before, from its first contact)
    return bool((first[after] != before).any())
