"""Pure: groups of changing strips whose surroundings are alike up to a translation (congruent), so
that a trial of one group tells every other's outcome.

A trial (`_Neighbourhood`) is a small plan of its own: the contacts within its reach of the strips
that change, their apertures as they stand, the keep-in and the rules, and nothing else. Where two
groups of changing strips (a corner's members, a strip short of its target) see the same there (every
contact within that reach at the same offset, of the same shape, its aperture in the same state; the
same part of the keep-in), their trials come out the same. A flat layout of many dies, no two of them
alike, still holds only a few kinds of corners and of needy strips: one group of each kind is tried,
and the others take its outcome (`Classes.spread`).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely

from ..pairs import box_pairs, components

#: coordinates and sizes are compared to 10**-DECIMALS um (the same to that are the same)
DECIMALS = 6
#: the contacts compared reach this much beyond a trial's reach (um): one at the edge of it, within the
#: arithmetic's error, is in every group's neighbourhood or in none
SLACK_UM = 1e-3
#: the aperture state a trial chooses (`lay`), what a trial writes back (that and why a tip turned), and
#: the strip sizes that are positions (`g`)
CHOSEN = ("side", "slide", "base", "corner", "cut_body", "sink")
STATE = (*CHOSEN, "turned")
POSITIONS = ("center", "c0")


@dataclass(frozen=True)
class Classes:
    """Of the entries (strips, positions in strip_idx, a strip once for each unit it belongs to):
    `keep` marks those tried (one group of each kind); `twin` is the entry each takes its outcome from
    (itself where tried); `group` numbers the groups (entries near each other, or of one unit, decide
    together)."""

    keep: np.ndarray
    twin: np.ndarray
    group: np.ndarray

    def spread(
        self,
        short: np.ndarray,
        strip_idx: np.ndarray,
        g: dict[str, np.ndarray],
        lay: dict[str, Any],
        room: Any,
        centre: np.ndarray,
    ) -> None:
        """Every entry not tried takes the outcome of its twin: its sizes and state, moved by the offset
        between their contacts; the room finds the pairs of those that changed again (only those: a
        round that changes nothing costs no search)."""
        copy = np.flatnonzero(self.twin != np.arange(len(short)))
        if not len(copy):
            return
        dst, first = np.unique(short[copy], return_index=True)
        src = short[self.twin[copy]][first]
        shift = centre[strip_idx[dst]] - centre[strip_idx[src]]
        changed = np.zeros(len(dst), dtype=bool)
        for key, value in g.items():
            new = value[src] + shift if key in POSITIONS else value[src]
            changed |= _differs(value[dst], new)
            value[dst] = new
        for key in STATE:
            changed |= _differs(lay[key][strip_idx[dst]], lay[key][strip_idx[src]])
            lay[key][strip_idx[dst]] = lay[key][strip_idx[src]]
        if changed.any():
            room.update(dst[changed])
            room.pairs(moved=strip_idx[dst[changed]])

    def expand(self, short: np.ndarray, strip_idx: np.ndarray, ids: np.ndarray) -> np.ndarray:
        """Contact ids `ids` (of tried entries) with those of every entry that takes their outcome."""
        twin_ids = strip_idx[short[self.twin]]
        return np.union1d(ids, strip_idx[short[np.isin(twin_ids, ids)]])


def _differs(old: np.ndarray, new: np.ndarray) -> np.ndarray:
    """Per entry (first axis): whether any of its values differ (NaN the same as NaN)."""
    d = (old != new) & ~(np.isnan(old) & np.isnan(new)) if old.dtype.kind == "f" else old != new
    return d.reshape(len(d), -1).any(axis=1)


def apart(room: Any, ids: np.ndarray, unit: np.ndarray, reach: float) -> Classes:
    """Every entry (strips `ids`) tried, in its group (`_groups`), none taken as alike."""
    E = len(ids)
    group = _groups(room, ids, unit, reach) if E else np.zeros(0, dtype=np.int64)
    return Classes(np.ones(E, dtype=bool), np.arange(E), group)


def classes(
    contacts: Any,
    lay: dict[str, Any],
    g: dict[str, np.ndarray],
    strip_idx: np.ndarray,
    room: Any,
    short: np.ndarray,
    unit: np.ndarray,
    inner: Any,
    reach: float,
    unit_key: list[bytes] | None = None,
    entry_key: np.ndarray | None = None,
) -> Classes:
    """The groups of the entries `short` (positions in strip_idx) and which are alike. Entries within
    `reach` of another's contact, of one unit (`unit`: a corner), or of one strip, form a group; two
    groups are alike where everything within `reach` of their entries is, relative to their first
    entry's contact: the contacts and their apertures, the part of the keep-in (`inner`) there, each
    unit's `unit_key` and each entry's `entry_key` (what the caller reads besides). (Within `reach`:
    and SLACK_UM beyond it, so that a contact just at its edge counts in every group alike.)"""
    E = len(short)
    ids = strip_idx[short]
    alone = apart(room, ids, unit, reach)
    group = alone.group
    G = int(group.max()) + 1 if E else 0
    if G < 2:
        return alone
    center = contacts.center
    # each group's first entry (by position, as compared: centres a rounding apart are level): its
    # contact is where the group's offsets start
    level = _round(center[ids])
    order = np.lexsort((level[:, 1], level[:, 0], group))
    start = np.searchsorted(group[order], np.arange(G))
    anchor = center[ids[order[start]]]
    # the entries: their offsets, units (by the first entry of each, in order) and keys
    ukey = np.zeros(E)
    if unit_key is not None:
        numbers: dict[bytes, int] = {}
        codes = np.array([numbers.setdefault(k, len(numbers)) for k in unit_key], dtype=float)
        ukey = codes[unit]
    erel = _round(center[ids] - anchor[group])
    extra = np.zeros((E, 0)) if entry_key is None else _round(np.asarray(entry_key, dtype=float).reshape(E, -1))
    eo = np.lexsort((*extra.T[::-1], ukey, erel[:, 1], erel[:, 0], group))
    erows = np.column_stack([erel, ukey, extra])[eo]
    estart = np.searchsorted(group[eo], np.arange(G + 1))
    rank = np.empty(E, dtype=np.int64)
    rank[eo] = np.arange(E) - estart[group[eo]]
    first_of_unit = np.full(int(unit.max()) + 1, E)
    np.minimum.at(first_of_unit, unit, rank)
    erows = np.column_stack([erows, first_of_unit[unit[eo]]])
    # (two entries alike in a group: which is which cannot be told, the group is tried itself)
    same = (erows[1:] == erows[:-1]).all(axis=1) & (group[eo][1:] == group[eo][:-1])
    unsure = np.zeros(G, dtype=bool)
    unsure[group[eo][1:][same]] = True
    # the contacts within reach of each group, at their offsets: groups with no other placed alike
    # are left out before anything else about them is compared
    ei, c = box_pairs(room.box[ids], room.pad_box, reach + SLACK_UM)
    n = len(contacts)
    pair = np.unique(group[ei].astype(np.int64) * n + c)
    pg, pc = pair // n, pair % n
    rel = _round(center[pc] - anchor[pg])
    o = np.lexsort((rel[:, 1], rel[:, 0], pg))
    pg, pc, rel = pg[o], pc[o], rel[o]
    bounds = np.searchsorted(pg, np.arange(G + 1))

    def keys(parts: list[np.ndarray | list[bytes]]) -> list[bytes | None]:
        return [
            None
            if unsure[k]
            else b"|".join(
                [x[k] if isinstance(x, list) else x[bounds[k] : bounds[k + 1]].tobytes() for x in parts]
                + [erows[estart[k] : estart[k + 1]].tobytes()]
            )
            for k in range(G)
        ]

    placed = keys([rel])
    times = Counter(placed)
    maybe = np.array([key is not None and times[key] > 1 for key in placed], dtype=bool)
    if not maybe.any():
        return alone
    # those that may be alike: each contact's kind (shape and aperture) and the keep-in's part
    mine = maybe[pg]
    kind = np.full(len(pc), -1.0)
    seen, at = np.unique(pc[mine], return_inverse=True)
    kind[mine] = _contact_kinds(contacts, lay, g, strip_idx, room, seen)[at]
    # (the kinds of contacts at one offset: in the order of the offsets, each group's contacts listed
    # by offset; two contacts at one offset are ordered by kind)
    o = np.lexsort((kind, rel[:, 1], rel[:, 0], pg))
    rows = np.column_stack([rel, kind])[o]
    outline = _outline_keys(inner, room, ids, group, G, anchor, reach, maybe)
    full = keys([rows, outline])
    # alike groups: the first of each kind (by position) is tried
    first: dict[bytes, int] = {}
    rep = np.arange(G)
    for k in np.lexsort((anchor[:, 1], anchor[:, 0])).tolist():
        key = full[k]
        if maybe[k] and key is not None:
            rep[k] = first.setdefault(key, k)
    if (rep == np.arange(G)).all():
        return alone
    # each entry's twin: the entry at its rank in its group's first of its kind (`eo`: the entries in
    # group order, each group's from estart)
    twin = eo[estart[rep[group]] + rank]
    return Classes(rep[group] == group, twin, group)


def _groups(room: Any, ids: np.ndarray, unit: np.ndarray, reach: float) -> np.ndarray:
    """Entries near each other (a box within `reach` of another's contact), of one unit or of one
    strip, in one group; groups numbered 0.. by their least entry."""
    E = len(ids)
    i, j = box_pairs(room.box[ids], room.pad_box[ids], reach + SLACK_UM)
    links = [np.stack([i, j], axis=1)]
    for label in (unit, ids):
        o = np.argsort(label, kind="stable")
        same = label[o][1:] == label[o][:-1]
        links.append(np.stack([o[:-1][same], o[1:][same]], axis=1))
    _, group = np.unique(components(E, np.concatenate(links)), return_inverse=True)
    return group.astype(np.int64)


def _round(x: np.ndarray) -> np.ndarray:
    """To DECIMALS, -0 as 0, NaN as one number (so that equal rows are equal bytes)."""
    out = np.round(np.asarray(x, dtype=float), DECIMALS) + 0.0
    return np.where(np.isnan(out), -1e300, out)


def _row_codes(table: np.ndarray) -> np.ndarray:
    """Each row's number among the distinct rows (equal bytes: equal rows), in order of first
    appearance: one dictionary look-up a row, quicker than sorting rows of many columns."""
    rows = np.ascontiguousarray(table, dtype=np.float64).reshape(len(table), -1)
    void = rows.view(np.dtype((np.void, rows.shape[1] * 8))).ravel()
    numbers: dict[Any, int] = {}
    return np.array([numbers.setdefault(r, len(numbers)) for r in void.tolist()], dtype=float)


def _codes(values: np.ndarray) -> np.ndarray:
    """Each value's number among the distinct values (for text and other objects)."""
    return np.unique(np.asarray(values).astype(str), return_inverse=True)[1].astype(float)


def _geometry_codes(geoms: np.ndarray, centre: np.ndarray) -> np.ndarray:
    """Each shapely geometry (or None) numbered by its shape relative to `centre` (its contact's)."""
    out = np.zeros(len(geoms))
    has = np.flatnonzero(np.array([x is not None for x in geoms], dtype=bool))
    if not len(has):
        return out
    keys: dict[tuple[str, int, bytes], int] = {}
    norm = shapely.normalize(np.asarray(geoms[has], dtype=object))
    for j, k in enumerate(has.tolist()):
        xy = _round(shapely.get_coordinates(norm[j]) - centre[k])
        parts = shapely.get_num_geometries(norm[j])
        out[k] = keys.setdefault((norm[j].geom_type, parts, xy.tobytes()), len(keys) + 1)
    return out


def _contact_kinds(
    contacts: Any, lay: dict[str, Any], g: dict[str, np.ndarray], strip_idx: np.ndarray, room: Any, ids: np.ndarray
) -> np.ndarray:
    """A number for each contact `ids` that is the same where two are alike up to a translation: the
    contact's shape, its aperture's state and sizes, every position relative to its own centre."""
    centre = contacts.center[ids]
    polys = contacts.polygons.take(ids)
    counts = polys.counts
    cols = [counts.astype(float)[:, None]]
    shape = np.zeros(len(ids))
    rel = _round(polys.coords - np.repeat(centre, counts, axis=0))
    for v in np.unique(counts).tolist():
        mine = np.flatnonzero(counts == v)
        at = polys.offsets[mine][:, None] + np.arange(v)
        shape[mine] = _row_codes(rel[at].reshape(len(mine), -1))
    cols.append(shape[:, None])
    for name in ("area", "d", "length", "angle_deg"):
        cols.append(_round(getattr(contacts, name)[ids])[:, None])
    cap = contacts.cap(ids)
    if cap is not None:
        cols.append(_round(cap)[:, None])
    for key in sorted(lay):
        value = lay[key][ids]
        if key == "beside":  # (neighbours in the row: where they stand, relative to the contact)
            nb = np.asarray(value)
            where = contacts.center[np.maximum(nb, 0)] - centre[:, None, :]
            cols.append(_round(np.where((nb >= 0)[..., None], where, np.nan)).reshape(len(ids), -1))
        elif value.dtype == object and key == "inside":
            cols.append(_geometry_codes(value, centre)[:, None])
        elif value.dtype.kind in "OUS":
            cols.append(_codes(value)[:, None])
        else:
            cols.append(_round(value.reshape(len(ids), -1)))
    pos = room.pos[ids]
    strip = pos >= 0
    for key in sorted(g):
        value = g[key][np.maximum(pos, 0)]
        if key in POSITIONS:
            value = value - centre
        column = _codes(value) if value.dtype.kind in "OUS" else _round(value.reshape(len(ids), -1).astype(float))
        column = column.reshape(len(ids), -1)
        cols.append(np.where(strip[:, None], column, -2e300))
    pads = np.empty(len(ids), dtype=object)
    for j, i in enumerate(ids.tolist()):
        pads[j] = room.pad_geoms.get(i)
    cols.append(_geometry_codes(pads, centre)[:, None])
    return _row_codes(np.column_stack(cols))


def _outline_keys(
    inner: Any,
    room: Any,
    ids: np.ndarray,
    group: np.ndarray,
    G: int,
    anchor: np.ndarray,
    reach: float,
    asked: np.ndarray,
) -> list[bytes]:
    """Each group's part of the keep-in (its entries' contacts' boxes grown by `reach`, where their
    strips may reach), relative to the group's anchor, as bytes; empty where there is none, or where
    the group is not `asked` about."""
    if inner is None:
        return [b""] * G
    box = room.pad_box[ids]
    lo = np.full((G, 2), np.inf)
    hi = np.full((G, 2), -np.inf)
    np.minimum.at(lo, group, box[:, :2])
    np.maximum.at(hi, group, box[:, 2:])
    lo, hi = lo - reach - anchor, hi + reach - anchor
    # (the window placed at each anchor: cut from the keep-in and moved back to the group's offsets)
    window = shapely.box(
        lo[:, 0] + anchor[:, 0], lo[:, 1] + anchor[:, 1], hi[:, 0] + anchor[:, 0], hi[:, 1] + anchor[:, 1]
    )
    part = np.full(G, None, dtype=object)
    part[asked] = shapely.normalize(shapely.intersection(inner, window[asked]))
    xy, at = shapely.get_coordinates(part, return_index=True)
    xy = _round(xy - anchor[at])
    starts = np.searchsorted(at, np.arange(G + 1))
    types = shapely.get_type_id(part)  # (-1 for a group not asked about)
    rings = shapely.get_num_interior_rings(part)
    parts = shapely.get_num_geometries(part)
    window_key = _round(np.column_stack([lo, hi]))
    return [
        b"%d,%d,%d," % (types[k], parts[k], max(int(rings[k]), 0))
        + window_key[k].tobytes()
        + xy[starts[k] : starts[k + 1]].tobytes()
        for k in range(G)
    ]
