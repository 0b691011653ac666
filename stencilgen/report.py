"""Findings and rows -> report documents (dict for JSON) and short texts for people."""

from __future__ import annotations

import io
import json
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, overload

import numpy as np

from .errors import InputError
from .foil import declined_said, foil_hints
from .model import HELD_SOURCE, Layout, RowSet, held_open, reasons_said
from .numeric import median


def shown_path(path: str) -> str:
    """A file name as the reports show it: bytes that are not UTF-8 (kept by Python as lone
    surrogates) shown as U+FFFD, so that every report is valid UTF-8."""
    return os.fsencode(path).decode("utf-8", "replace")


def _r(x: float, nd: int = 3) -> float:
    return float(round(float(x), nd)) + 0.0  # + 0.0: no "-0"


def _deg(angle: float, period: int) -> str:
    """An angle for people: to 0.01 deg, on its circle (359.9998 is 0, not the 360 that :g prints)."""
    return f"{round(angle, 2) % period + 0.0:g}"


def _n(count: int, word: str, plural: str | None = None) -> str:
    """'1 contact', '2 contacts'."""
    return f"{count} {word if count == 1 else (plural or word + 's')}"


def _pt(p: np.ndarray) -> list[float]:
    return [_r(p[0]), _r(p[1])]


def _note(e: Any) -> dict[str, Any]:
    return {
        "reason": e.reason,
        "kept": e.kept,
        "center_um": [_r(e.center[0]), _r(e.center[1])],
        "size_um": [_r(e.size[0]), _r(e.size[1])],
    }


#: contacts narrower than this (um) are no pad openings
SLIVER_D_UM = 5.0
#: nor are contacts this many times longer than wide
SLIVER_ASPECT = 10.0
#: this many such contacts, a tenth of them or more, make a layer that looks like no pad layer (as do
#: contacts half of which are under SLIVER_D_UM across)
SLIVERS_MANY = 1000


#: contacts wider than this (um, their d) are likely no pad openings
HUGE_D_UM = 1000.0


def layer_notes(layout: Layout) -> list[str]:
    """Warnings on the pad layer as a whole: contacts that look like no pads (half of them under
    SLIVER_D_UM across, or thousands under it or SLIVER_ASPECT times longer than wide) are likely
    another layer's shapes (metal, vias, fill), read because the pad layer was misnamed. A few bars
    (a seal ring drawn in pieces) beside the pads are no such sign."""
    c = layout.contacts
    n = len(c)
    if not n:
        return []
    huge = c.d > HUGE_D_UM
    if huge.any():  # (a die outline or a seal ring named as the pad layer, or a drawing in um read as mm)
        question = f"is {layout.layer} the pad opening layer?"
        if layout.format == "dxf" and float(median(c.d)) > HUGE_D_UM:
            question += f" Or is the drawing's unit smaller (its median contact {float(median(c.d)):,.0f} um): --units?"
        k = int(huge.sum())
        return [
            f"{k} of {_n(n, 'contact')} {'is' if k == 1 else 'are'} over {HUGE_D_UM / 1000:g} mm across (the "
            f"largest {float(c.d.max()):,.0f} um): pads rarely are; {question}"
        ]
    tiny = c.d < SLIVER_D_UM
    thin = c.length >= SLIVER_ASPECT * np.maximum(c.d, 1e-12)
    odd = tiny | thin
    k = int(odd.sum())
    if not (2 * int(tiny.sum()) >= n or (k >= SLIVERS_MANY and 10 * k >= n)):
        return []
    what = []
    if tiny.any():
        what.append(f"{int(tiny.sum())} under {SLIVER_D_UM:g} um across")
    if (thin & ~tiny).any():
        what.append(f"{int((thin & ~tiny).sum())} slivers over {SLIVER_ASPECT:g} times longer than wide")
    question = f"is {layout.layer} the pad opening layer?"
    d = float(median(c.d))
    if layout.format == "dxf" and 2 * int(tiny.sum()) >= n and 5.0 <= 1000 * d <= 500.0:
        # (a drawing in mm read as um: its pads a thousand times too small)
        question += f" Or is the drawing's unit mm (its median contact {1000 * d:.3g} um across): --units mm?"
    return [f"{k} of {_n(n, 'contact')} look like no pads ({', '.join(what)}; median d {d:.3g} um): {question}"]


#: what plan and inspect say of isolated contacts on the lines of rows (`rows.isolated_in_line`)
IN_LINE_HINT = (
    "{n} isolated contacts lie on the lines of rows, at spacings no row takes (a pad ring placed "
    "irregularly): they get pad-shaped apertures where their line's others get strips; a rules file with "
    "a larger spacing_tolerance (e.g. 0.5) or max_gap_pitches reads them into the rows"
)


def inspect_report(layout: Layout, rows: RowSet, rules: Any = None) -> dict[str, Any]:
    """What `inspect --json` prints: contacts, rows, corners, arrays, staggers, isolated (all in um), with
    the rules the rows were found by (default: RULES.md's)."""
    from .rows import isolated_in_line
    from .rules import Rules

    c = layout.contacts
    center = c.center
    row_docs = []
    for r in rows.rows:
        first, last = center[r.members[0]], center[r.members[-1]]
        row_docs.append(
            {
                "id": r.id,
                "direction_deg": _r(r.direction_deg, 4) % 180.0,
                "normal_deg": _r(r.normal_deg, 4) % 360.0,
                "pitch_um": _r(r.pitch, 4),
                "contacts": len(r.members),
                "gaps": r.gaps,
                "start_um": _pt(first),
                "end_um": _pt(last),
                "length_um": _r(float(np.hypot(*(last - first)))),
                "d_um": _r(float(median(c.d[r.members]))),
                "members": r.members.tolist(),
            }
        )
    doc: dict[str, Any] = {
        "file": shown_path(layout.path),
        "format": layout.format,
        "cell": layout.cell,
        "layer": layout.layer,
        "units": "um",
        "grid_um": layout.grid_um,
        "contacts": len(c),
        "shapes_on_layer": layout.shapes,
        "d_um": {"min": _r(c.d.min()) if len(c) else None, "max": _r(c.d.max()) if len(c) else None},
        "rows": row_docs,
        "corners": [
            {
                "rows": [int(k.rows[0]), int(k.rows[1])],
                "point_um": _pt(k.point),
                "angle_deg": _r(k.angle_deg, 3),
                "oblique_deg": _r(np.degrees(np.arctan2(k.bisector[1], k.bisector[0])), 3) % 360.0,
                "contacts": len(k.members),
            }
            for k in rows.corners
        ],
        "arrays": [
            {
                "id": a.id,
                "contacts": len(a.members),
                "lines": list(a.lines),
                "directions_deg": [_r(x, 4) for x in a.directions_deg],
                "pitch_um": [_r(x, 4) for x in a.pitches],
                "bbox_um": _pt(center[a.members].min(axis=0)) + _pt(center[a.members].max(axis=0)),
            }
            for a in rows.arrays
        ],
        "staggered": [
            {
                "rows": [int(s.rows[0]), int(s.rows[1])],
                "separation_um": _r(s.separation),
                "offset_pitch": _r(s.offset_fraction),
            }
            for s in rows.staggers
        ],
        "isolated": len(rows.isolated),
        "isolated_in_line": isolated_in_line(c, rows, rules or Rules()),
        "notes": layer_notes(layout),
        "excluded_shapes": [_note(e) for e in layout.excluded if not e.kept],
        "shape_notes": [_note(e) for e in layout.excluded],
        "layers": layout.layers,
        "cells": len(layout.cells),
        "hierarchy": None
        if layout.instances is None
        else {
            "element_contacts": len(layout.instances.element),
            "placements": len(layout.instances.transforms),
            # a flat layout found to be one element repeated: the empty bands between placements
            "found_in_flat_layout": layout.instances.gap_um is not None,
            "gap_um": None if layout.instances.gap_um is None else round(layout.instances.gap_um, 4),
        },
    }
    return doc


def inspect_text(doc: dict[str, Any]) -> str:
    """The human summary of `inspect`."""
    lines = [
        f"{doc['file']}: {doc['format'].upper()}, cell {doc['cell']}, layer {doc['layer']}",
    ]
    if doc["cells"]:
        lines.append(f"  cells: {doc['cells']}")
    if doc["layers"]:
        layers = ", ".join(f"{k} ({v})" for k, v in doc["layers"].items())
        lines.append(f"  layers: {layers}")
    lines.append(f"  contacts: {doc['contacts']} (from {_n(doc['shapes_on_layer'], 'shape')})")
    if doc["contacts"]:
        lines.append(f"  contact size d (minimum dimension): {doc['d_um']['min']:g} to {doc['d_um']['max']:g} um")
    if doc["hierarchy"]:
        h = doc["hierarchy"]
        found = (
            f" (found in the flat layout; at least {h['gap_um']:g} um between placements)"
            if h.get("found_in_flat_layout")
            else ""
        )
        lines.append(f"  element: {h['element_contacts']} contacts placed {h['placements']} times{found}")
    for e in doc["shape_notes"][:10]:
        x, y = e["center_um"]
        w, h_ = e["size_um"]
        lines.append(f"  note: {e['reason']}, {w:g} x {h_:g} um at ({x:g}, {y:g}) um")
    if len(doc["shape_notes"]) > 10:
        lines.append(f"  ... and {len(doc['shape_notes']) - 10} more notes on shapes (--json lists every one)")
    lines.append(f"  rows: {len(doc['rows'])}")
    shown = doc["rows"][:40]
    for r in shown:
        lines.append(
            f"    row {r['id']}: {r['contacts']} contacts at {r['pitch_um']:g} um pitch, "
            f"direction {_deg(r['direction_deg'], 180)} deg, outward {_deg(r['normal_deg'], 360)} deg"
            + (f", {r['gaps']} missing" if r["gaps"] else "")
        )
    if len(doc["rows"]) > len(shown):
        lines.append(f"    ... and {len(doc['rows']) - len(shown)} more rows (--json lists every one)")
    lines.append(f"  corners: {len(doc['corners'])}")
    for k in doc["corners"][:12]:
        x, y = k["point_um"]
        lines.append(
            f"    rows {k['rows'][0]} and {k['rows'][1]} meet at ({x:g}, {y:g}) um, {k['angle_deg']:g} deg; "
            f"oblique strips at {k['oblique_deg']:g} deg (the bisector; plan may choose another, rule 5)"
        )
    lines.append(f"  area arrays: {len(doc['arrays'])}")
    for a in doc["arrays"]:
        lines.append(
            f"    array {a['id']}: {a['contacts']} contacts, {a['lines'][0]} x {a['lines'][1]} lines at "
            f"{a['pitch_um'][0]:g} x {a['pitch_um'][1]:g} um pitch"
        )
    if doc["staggered"]:
        lines.append(f"  staggered row pairs: {len(doc['staggered'])}")
    lines.append(f"  isolated contacts: {doc['isolated']}")
    if doc.get("isolated_in_line"):
        lines.append(f"  hint: {IN_LINE_HINT.format(n=doc['isolated_in_line'])}")
    return "\n".join(lines)


UNITS = {"length": "um", "area": "um2", "volume": "um3", "angle": "deg"}


class _Records(Sequence[dict[str, Any]]):
    """A sequence of one record (dict) per contact, each built when asked for (`_record`); compares
    equal to any sequence of the same records, and deep-copies to a plain list."""

    _n: int

    def _record(self, i: int) -> dict[str, Any]:
        raise NotImplementedError

    def __len__(self) -> int:
        return self._n

    @overload
    def __getitem__(self, i: int) -> dict[str, Any]: ...

    @overload
    def __getitem__(self, i: slice) -> list[dict[str, Any]]: ...

    def __getitem__(self, i: int | slice) -> dict[str, Any] | list[dict[str, Any]]:
        if isinstance(i, slice):
            return [self._record(k) for k in range(*i.indices(self._n))]
        k = i + self._n if i < 0 else i
        if not 0 <= k < self._n:
            raise IndexError(i)
        return self._record(k)

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Sequence)
            and len(other) == self._n
            and all(a == b for a, b in zip(self, other, strict=True))
        )

    __hash__ = None  # type: ignore[assignment]

    def __deepcopy__(self, memo: dict[int, Any]) -> list[dict[str, Any]]:
        return list(self)


class ContactRecords(_Records):
    """One record (dict) per contact, built when asked for from the report's columns: a wafer's million
    records are never all held at once. `column(key)` gives a whole column cheaply."""

    def __init__(self, columns: dict[str, Any], findings: Any, ids: np.ndarray | None = None) -> None:
        self._raw = columns  # lists, or numeric columns (_Num, or a pair of them) kept as arrays
        self._keys = list(columns)
        self._n = len(columns["id"])
        self._lists: dict[str, list[Any]] = {}
        self._coded: dict[str, tuple[np.ndarray, list[bytes]]] = {}
        self._findings = findings
        contact = findings.contact if len(findings) else np.zeros(0, dtype=np.int64)
        if ids is None:  # record i is contact i
            self._at = np.searchsorted(contact, np.arange(self._n + 1)).tolist()
            self._to = self._at[1:]
        else:  # record i is contact ids[i] (ascending)
            self._at = np.searchsorted(contact, ids, "left").tolist()
            self._to = np.searchsorted(contact, ids, "right").tolist()

    @property
    def _columns(self) -> dict[str, list[Any]]:
        for key in self._keys:
            if key not in self._lists:
                self._lists[key] = self.column(key)
        return self._lists

    def column(self, key: str) -> list[Any]:
        if key not in self._lists:
            raw = self._raw[key]
            if isinstance(raw, (_Num, _Coded, _IdLists)):
                self._lists[key] = raw.tolist()
            elif isinstance(raw, tuple):
                self._lists[key] = [list(p) for p in zip(*(r.tolist() for r in raw), strict=True)]
            else:
                self._lists[key] = raw
        return self._lists[key]

    def findings_of(self, i: int) -> list[dict[str, Any]]:
        return [self._findings.record(k) for k in range(self._at[i], self._to[i])]

    def _record(self, i: int) -> dict[str, Any]:
        return self.some_fields(i, (*self._keys, "findings"))

    def some_fields(self, i: int, keys: Sequence[str]) -> dict[str, Any]:
        """Record i with only the fields `keys` ("findings" among them or not)."""
        rec = {k: _value(self._raw[k], i) for k in keys if k in self._raw}
        if "findings" in keys:
            rec["findings"] = self.findings_of(i)
        return rec

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for start in range(0, self._n, 4096):
            yield from self.chunk(start, min(start + 4096, self._n))

    def chunk(self, start: int, stop: int) -> list[dict[str, Any]]:
        cols = [self._columns[k][start:stop] for k in self._keys]
        out = [dict(zip(self._keys, vals, strict=True)) for vals in zip(*cols, strict=True)]
        for j, rec in enumerate(out, start):
            rec["findings"] = self.findings_of(j)
        return out

    @property
    def fields(self) -> list[str]:
        """The fields of a record, in the order of the JSON report's rows (findings aside)."""
        return list(self._keys)

    def json_rows(self, start: int, stop: int) -> bytes:
        """The JSON text of records start..stop as rows (arrays in the order of `fields`), one per
        line, built column by column (no dict per record)."""
        cols = [
            self._raw[k] if isinstance(self._raw[k], (_Num, _IdLists, tuple)) else self._text(k) for k in self._keys
        ]
        return _rows_json(cols, start, stop)

    def _text(self, key: str) -> _Text:
        if key not in self._coded:
            raw = self._raw[key]
            coded = raw if isinstance(raw, _Coded) else _Coded.of(raw)
            self._coded[key] = (coded.codes, [_json_item(v) for v in coded.values])
        return _Text(*self._coded[key])

    def findings_table(self) -> FindingsTable:
        """The findings of every contact as a table of their own (the JSON report's `findings`)."""
        return FindingsTable(self._findings)


#: the filler of the text tables: dropped when a table becomes JSON text (a text value may hold spaces)
PAD = 0


def _const_block(text: str, n: int) -> np.ndarray:
    return np.broadcast_to(np.frombuffer(text.encode("ascii"), dtype=np.uint8), (n, len(text)))


class _Text:
    """A text column as JSON: a code per row into a few distinct JSON texts."""

    def __init__(self, codes: np.ndarray, texts: list[bytes]) -> None:
        self.codes = codes
        self.texts = texts

    def block(self, start: int, stop: int) -> np.ndarray:
        """(n, w) ASCII, each row's text padded with PAD."""
        codes = self.codes[start:stop]
        used = np.flatnonzero(np.bincount(codes, minlength=len(self.texts)))
        width = max([len(self.texts[u]) for u in used.tolist()] + [1])
        cells = np.full((max(len(self.texts), 1), width), PAD, dtype=np.uint8)
        for u in used.tolist():
            text = self.texts[u]
            cells[u, : len(text)] = np.frombuffer(text, dtype=np.uint8)
        return np.take(cells, codes, axis=0)


def _rows_json(columns: list[Any], start: int, stop: int) -> bytes:
    """Rows start..stop of a table as JSON arrays, one per line, separated by commas: each column is
    formatted at once into its stripe of a padded text table, and the padding then dropped."""
    n = stop - start
    if n <= 0:
        return b""
    template = bytearray(b"[")
    stripes: list[tuple[int, np.ndarray]] = []
    for k, column in enumerate(columns):
        if k:
            template += b","
        blk = (
            _json_block(column, start, stop)
            if isinstance(column, (_Num, _IdLists, tuple))
            else column.block(start, stop)
        )
        stripes.append((len(template), blk))
        template += bytes(blk.shape[1])
    template += b"],\n"
    table = np.empty((n, len(template)), dtype=np.uint8)
    table[:] = np.frombuffer(bytes(template), dtype=np.uint8)
    for at, blk in stripes:
        table[:, at : at + blk.shape[1]] = blk
    flat = table.ravel()
    return flat[flat != PAD].tobytes()[:-2]  # the last row's ",\n" is the writer's


class FindingsTable:
    """Every finding as a row: contact, code, value, limit, the other contact (null if none) and what
    limits the aperture (`limited_by`, null if nothing). A finding's message follows from these and
    the `codes` legend (report.finding_message)."""

    FIELDS = ("contact", "code", "value", "limit", "other", "limited_by")

    def __init__(self, findings: Any) -> None:
        self.findings = findings
        self._columns: list[Any] | None = None

    def __len__(self) -> int:
        return len(self.findings)

    def json_rows(self, start: int, stop: int) -> bytes:
        if self._columns is None:
            self._columns = self._json_columns()
        return _rows_json(self._columns, start, stop)

    def _json_columns(self) -> list[Any]:
        """The table's columns, coded once for every chunk of rows."""
        f = self.findings
        other = np.asarray(f.other)
        code = _Coded.of(f.code.tolist())
        why = _Coded.of([None] * len(f) if f.reason is None else [r or None for r in f.reason.tolist()])
        return [
            _Num(np.asarray(f.contact), 0),
            _Text(code.codes, [_json_item(v) for v in code.values]),
            _Num(f.value, 4),
            _Num(f.limit, 4),
            _Num(other, 0, other >= 0),
            _Text(why.codes, [_json_item(v) for v in why.values]),
        ]

    def legend(self) -> dict[str, Any]:
        """Each code's severity, text and unit, and what each limited_by value means."""
        from .checks import CODES, LIMITS

        return {
            "codes": {k: {"severity": v[0], "text": v[1], "unit": v[2]} for k, v in CODES.items()},
            "limited_by": LIMITS,
        }


def _value(raw: Any, i: int) -> Any:
    """One value of a report column, as its list would hold it."""
    if isinstance(raw, (_Num, _Coded, _IdLists)):
        return raw.value(i)
    if isinstance(raw, tuple):
        return [r.value(i) for r in raw]
    return raw[i]


class _Coded:
    """A text (or flag) column of the report with few distinct values: a code per contact into `values`."""

    def __init__(self, codes: np.ndarray, values: Sequence[Any]) -> None:
        self.codes = np.asarray(codes, dtype=np.int64)
        self.values = list(values)

    @staticmethod
    def of(items: Sequence[Any]) -> _Coded:
        """The column of a plain list (values of one type each: True and 1 stay apart)."""
        if set(map(type, items)) <= {str, type(None)}:  # texts: a dict lookup per item, in C
            values = sorted(set(items), key=lambda v: (v is None, v or ""))
            lookup = {v: k for k, v in enumerate(values)}
            return _Coded(np.fromiter(map(lookup.__getitem__, items), dtype=np.int64, count=len(items)), values)
        index: dict[tuple[type, Any], int] = {}
        keys = list(zip(map(type, items), items, strict=True))
        codes = list(map(lambda k: index.setdefault(k, len(index)), keys))
        return _Coded(np.array(codes, dtype=np.int64), [v for _t, v in index])

    def __len__(self) -> int:
        return len(self.codes)

    def value(self, i: int) -> Any:
        return self.values[int(self.codes[i])]

    def tolist(self) -> list[Any]:
        table = self.values
        return [table[c] for c in self.codes.tolist()]


class _Num:
    """A numeric column of the report: values rounded to `nd` decimals (nd 0: integers), null where
    not `ok`. Kept as arrays: the JSON text is formatted from them without a Python number each."""

    def __init__(self, values: np.ndarray, nd: int, ok: np.ndarray | None = None) -> None:
        v = np.asarray(values, dtype=float)
        self.ok = np.isfinite(v) if ok is None else (np.isfinite(v) & ok)
        self.values = np.where(self.ok, np.round(v, nd) + 0.0, 0.0)  # + 0.0: no "-0"
        self.nd = nd

    def __len__(self) -> int:
        return len(self.values)

    def value(self, i: int) -> Any:
        if not self.ok[i]:
            return None
        v = float(self.values[i])
        return int(v) if self.nd == 0 else v

    def tolist(self) -> list[Any]:
        out = self.values.astype(np.int64).tolist() if self.nd == 0 else self.values.tolist()
        if not self.ok.all():
            for i in np.flatnonzero(~self.ok).tolist():
                out[i] = None
        return out

    def block(self, start: int, stop: int) -> np.ndarray:
        """(n, w) ASCII: each value with at most nd decimals, trailing zeros dropped (or null), padded
        with PAD. (Built as (w, n), a text column per row of it, and returned transposed.)"""
        v, ok, nd = self.values[start:stop], self.ok[start:stop], self.nd
        n = len(v)
        q = np.rint(np.abs(v) * 10.0**nd).astype(np.int64)
        if n and int(q.max()) < 2**31:  # (the same digits, at half the cost of 64-bit division)
            q = q.astype(np.int32)
        ip, fp = _divmod10(q, 10**nd)
        neg = (v < 0) & (q > 0)
        digits = max(int(ip.max()) if n else 0, 1)
        D = len(str(digits))
        frac = nd + 1 if nd else 0
        width = max(D + 1 + frac, 4)
        out = np.full((width, n), PAD, dtype=np.uint8)
        end = width - frac  # integer digits end here
        rest, d = _divmod10(ip)
        out[end - 1] = d
        out[end - 1] += ord("0")
        lead = np.full(n, end - 1, dtype=np.int64)  # where each value's first digit stands
        for k in range(1, D):  # digit k from the right, where the value has one
            col = end - 1 - k
            rest, d = _divmod10(rest)
            has = ip >= 10**k
            out[col] = np.where(has, d + ord("0"), PAD)
            lead[has] = col
        rows = np.flatnonzero(neg)
        out[lead[rows] - 1, rows] = ord("-")
        if nd:
            trim = np.ones(n, dtype=bool)
            rest = fp
            for k in range(nd):
                rest, d = _divmod10(rest)
                # trailing zeros go, and the point with them when no decimal is left: 70.0000 -> 70
                trim &= d == 0
                out[width - 1 - k] = np.where(trim, PAD, d + ord("0"))
            out[end] = np.where(trim, PAD, ord("."))
        bad = np.flatnonzero(~ok)
        if len(bad):
            out[:, bad] = PAD
            out[width - 4 :, bad] = np.frombuffer(b"null", dtype=np.uint8)[:, None]
        return out.T


def _divmod10(q: np.ndarray, by: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """np.divmod of non-negative integers by a positive one, as a division and a product (cheaper)."""
    high = q // by
    return high, q - high * by


class _IdLists:
    """A report column of short lists of ids (the rows each contact lies in), kept as an (N, K) array
    of ids, ascending, -1 past each list's end. Its JSON text is formatted in fixed slots, a missing id
    (and its comma) PAD, dropped when the table becomes text: "[12]", "[3,12]", "[]"."""

    def __init__(self, ids: np.ndarray) -> None:
        ids = np.asarray(ids, dtype=np.int64)
        self.ids = ids if ids.ndim == 2 else ids.reshape(len(ids), -1)

    @staticmethod
    def of_rows(rows: Sequence[Any], n: int) -> _IdLists:
        """For each of n contacts, the ids of the rows holding it."""
        if not rows:
            return _IdLists(np.zeros((n, 0), dtype=np.int64))
        contact = np.concatenate([r.members for r in rows])
        row = np.repeat([r.id for r in rows], [len(r.members) for r in rows])
        order = np.lexsort((row, contact))
        contact, row = contact[order], row[order]
        first = np.searchsorted(contact, contact)  # where each contact's run begins
        slot = np.arange(len(contact)) - first
        out = np.full((n, int(slot.max()) + 1), -1, dtype=np.int64)
        out[contact, slot] = row
        return _IdLists(out)

    def __len__(self) -> int:
        return len(self.ids)

    def value(self, i: int) -> list[int]:
        return [v for v in self.ids[i].tolist() if v >= 0]

    def tolist(self) -> list[list[int]]:
        return [[v for v in r if v >= 0] for r in self.ids.tolist()]

    def block(self, start: int, stop: int) -> np.ndarray:
        """(n, w) ASCII: "[" + the ids in their slots, comma-separated, blank where missing + "]"."""
        ids = self.ids[start:stop]
        n, K = ids.shape
        parts = [_const_block("[", n)]
        for k in range(K):
            have = ids[:, k] >= 0
            if k:  # the comma before an id that is there
                parts.append(np.where(have[:, None], ord(","), PAD).astype(np.uint8))
            digits = _Num(ids[:, k], 0, have).block(0, n).copy()
            digits[~have] = PAD
            width = len(str(max(int(ids[:, k].max()), 0))) if n else 1
            parts.append(digits[:, -width:])
        parts.append(_const_block("]", n))
        return np.hstack(parts) if n else np.zeros((0, 2 + K), dtype=np.uint8)


#: the columns formatted from arrays (a pair of numbers is a tuple of two columns)
NUMERIC = (_Num, _IdLists, tuple)


def _json_block(column: Any, start: int, stop: int) -> np.ndarray:
    """(n, w) ASCII bytes: each value of a numeric column as JSON text, right-aligned in a field of
    spaces (JSON allows them; the records line up as a table), formatted from the column's arrays."""
    n = stop - start
    if isinstance(column, (_Num, _IdLists)):
        return column.block(start, stop)
    a, b = (c.block(start, stop) for c in column)
    return np.hstack([_const_block("[", n), a, _const_block(",", n), b, _const_block("]", n)])


def _json_item(value: Any) -> bytes:
    """One value as ASCII JSON text (non-ASCII characters escaped)."""
    import orjson

    text = orjson.dumps(value)
    return text if text.isascii() else json.dumps(value).encode("ascii")


def _f(x: float, nd: int = 4) -> float | None:
    x = float(x)
    if not np.isfinite(x):
        return None
    return round(x, nd)


def _contact_columns(c: Any, ap: Any, rows: RowSet, checked: Any) -> dict[str, Any]:
    """The report's per-contact columns of contacts `c`, their apertures, rows and checks."""
    from .model import KIND_NAMES, STRIP

    n = len(c)
    ratio = checked.volume / checked.volume_limit
    ratio_hi = checked.volume_high / checked.volume_limit
    axis_deg = np.round(np.degrees(np.arctan2(ap.axis[:, 1], ap.axis[:, 0])), 3) % 360.0  # 359.9999 reads 0
    strip = ap.kind == STRIP

    def col(values: np.ndarray, nd: int = 3, where: np.ndarray | None = None) -> _Num:
        """A column rounded for the report; null where not finite (or not applicable)."""
        return _Num(values, nd, where)

    def ids(values: np.ndarray) -> _Num:
        return _Num(values, 0, values >= 0)

    statuses = ("ok", "warning", "error")
    status_code = np.full(n, -1, dtype=np.int64)
    for code, name in enumerate(statuses):
        status_code[np.asarray(checked.status) == name] = code
    status = _Coded(status_code, statuses) if (status_code >= 0).all() else _Coded.of(checked.status.tolist())
    kind_names = sorted(KIND_NAMES.items())
    kind_code = np.searchsorted([k for k, _ in kind_names], ap.kind)
    columns: dict[str, Any] = {
        "id": _Num(np.arange(n), 0),
        "x_um": col(c.center[:, 0]),
        "y_um": col(c.center[:, 1]),
        "row": ids(rows.row_of),
        "rows": _IdLists.of_rows(rows.rows, n),
        "array": ids(rows.array_of),
        "d_um": col(c.d),
        "contact_area_um2": col(c.area, 3),
        "aperture": _Coded(kind_code, [name for _, name in kind_names]),
        "aperture_area_um2": col(ap.area, 3),
        "aperture_width_um": col(ap.width),
        "strip_direction_deg": col(axis_deg, 3, strip),
        "tip_side": _Num(ap.side, 0, strip),
        "tip_diameter_um": col(ap.tip_d, 3, strip & (ap.tip_d > 0)),
        "extension_um": col(ap.extension, 3, strip),
        "oblique": _Coded(ap.corner.astype(np.int64), [False, True]),
        "solder_volume_um3": col(checked.volume, 1),
        "solder_volume_band_um3": (col(checked.volume_low, 1), col(checked.volume_high, 1)),
        "volume_limit_um3": col(checked.volume_limit, 1),
        "volume_ratio": col(ratio),
        "volume_ratio_max": col(ratio_hi),
        "cap_height_um": col(checked.cap_height),
        "area_ratio": col(checked.area_ratio),
        "aspect_ratio": col(checked.aspect_ratio),
        "max_thickness_um": col(checked.max_thickness),
        "web_um": col(checked.min_web),
        "clearance_um": col(checked.min_clearance),
        "status": status,
    }
    if ap.limited_by is not None:  # what stopped each aperture short of its target (rule 6)
        names = sorted(set(ap.limited_by.tolist()) - {""})
        why_code = np.zeros(n, dtype=np.int64)
        given = ap.limited_by != ""
        why_code[given] = np.searchsorted(names, ap.limited_by[given].astype(str)) + 1
        columns["target_area_um2"] = col(ap.target_area, 3)
        columns["limited_by"] = _Coded(why_code, [None, *names])
        columns["limited_by_contact"] = ids(ap.limited_other)
    return columns


def _figures(ap: Any, checked: Any, repeat: int = 1) -> dict[str, Any]:
    """The summary's counts and volume ratios of apertures and their checks (`repeat` times over)."""
    from .model import STRIP

    ratio = checked.volume / checked.volume_limit
    ratio_hi = checked.volume_high / checked.volume_limit
    ranks, names = checked.findings.code_ranks
    counts = dict(zip(names, (np.bincount(ranks, minlength=len(names)) * repeat).tolist(), strict=True))
    have = ap.kind != 2
    return {
        "apertures": int(have.sum()) * repeat,
        "strips": int((ap.kind == STRIP).sum()) * repeat,
        "oblique_strips": int(ap.corner.sum()) * repeat,
        "pads": int((ap.kind == 1).sum()) * repeat,
        "errors": checked.errors * repeat,
        "warnings": checked.warnings * repeat,
        "findings_by_code": dict(sorted(counts.items())),
        "status": {s: int((checked.status == s).sum()) * repeat for s in ("ok", "warning", "error")},
        "volume_ratio": {
            # a contact left without an aperture gets 0
            "min": _f(np.nanmin(ratio)) if len(ratio) and not np.isnan(ratio).all() else None,
            "max": _f(ratio[have].max()) if have.any() else None,
            "max_at_top_of_band": _f(ratio_hi[have].max()) if have.any() else None,
        },
    }


def _straight_corners(rows: Any, ap: Any) -> int:
    """How many corners have strips and none of them oblique (rule 5 gave way: no common direction
    left them printable and within the hard rules, or straight strips lift a contact that would not
    print)."""
    from .model import STRIP

    if not rows.corners:
        return 0
    members = [np.asarray(c.members, dtype=np.int64) for c in rows.corners]
    which = np.repeat(np.arange(len(members)), [len(m) for m in members])
    m = np.concatenate(members)
    strips = np.bincount(which, ap.kind[m] == STRIP, len(members))
    oblique = np.bincount(which, ap.corner[m], len(members))
    return int(((strips > 0) & (oblique == 0)).sum())


def plan_report(
    layout: Layout,
    plan: Any,
    checked: Any,
    rules: Any,
    outputs: dict[str, str],
    created: str,
    die: Die | None = None,
) -> dict:
    """The machine report of `plan`: summary and one record per contact (all lengths in um). `die`: a
    layout of one element cell placed many times (a wafer), whose records are kept per element cell
    and per placement (`WaferRecords`); `checked` may then be a callable giving the whole layout's
    checks, asked for only where the wafer was not planned once per die."""
    from .rows import isolated_in_line
    from .rules import rules_record

    n = len(plan.contacts)
    wafer = None if die is None else WaferRecords.build(layout, plan, checked, die)
    records: ContactRecords | WaferRecords
    if wafer is not None:
        records, figures = wafer, wafer.figures
    else:
        checked = checked() if callable(checked) else checked
        records = ContactRecords(_contact_columns(plan.contacts, plan.apertures, plan.rows, checked), checked.findings)
        figures = _figures(plan.apertures, checked)
    rows = plan.rows
    if die is not None and die.plan is not None and layout.instances is not None:
        # planned once per die: the die's corners in every placement (the placed apertures stay unbuilt)
        straight = _straight_corners(die.rows, die.plan.apertures) * len(layout.instances.transforms)
    else:
        straight = _straight_corners(rows, plan.apertures)
    summary = {
        "file": shown_path(layout.path),
        "format": layout.format,
        "cell": layout.cell,
        "layer": layout.layer,
        "created": created,
        "units": UNITS,
        "contacts": n,
        "rows": len(rows.rows),
        "corners": len(rows.corners),
        "straight_corners": straight,
        "arrays": len(rows.arrays),
        "isolated": len(rows.isolated),
        "isolated_in_line": isolated_in_line(plan.contacts, rows, rules),
        **{k: figures[k] for k in ("apertures", "strips", "oblique_strips", "pads", "errors", "warnings")},
        "findings_by_code": figures["findings_by_code"],
        "status": figures["status"],
        "volume_ratio": figures["volume_ratio"],
        "rules": rules_record(rules),
        "outputs": outputs,
        "notes": layer_notes(layout),
        "excluded_shapes": [_note(e) for e in layout.excluded if not e.kept],
        "shape_notes": [_note(e) for e in layout.excluded],
    }
    if isinstance(records, WaferRecords):
        summary["hierarchy"] = records.hierarchy()
    return {"summary": summary, "contacts": records}


# ---------------------------------------------------------------------------------------------- wafers


@dataclass(frozen=True)
class Die:
    """A layout's element cell placed many times (a wafer's die): the element's rows (its own ids),
    and where the wafer was planned once per die, the element's plan and checks."""

    rows: RowSet
    plan: Any = None
    checked: Any = None


#: the fields of a record that name placed things: positions, contact, row and array ids
PLACED_FIELDS = ("id", "x_um", "y_um", "row", "rows", "array", "limited_by_contact")
#: the fields of a placement in the JSON report's `placements` table
PLACEMENT_FIELDS = ("id", "dx_um", "dy_um", "status", "errors", "warnings", "differing", "rows", "arrays", "contacts")


def rule_ids(x: np.ndarray, y: np.ndarray, shifts: np.ndarray) -> np.ndarray:
    """The global contact ids of an element's contacts (report positions x, y in um) placed by each
    shift (P, 2): the placed centres numbered by y, then x, on a 1 nm grid (ties: placement, then
    element id), as the readers number a wafer's contacts. (P, n)."""
    P, n = len(shifts), len(x)
    kx = np.rint((np.asarray(x, dtype=float)[None, :] + shifts[:, :1]) * 1000.0).astype(np.int64).ravel()
    ky = np.rint((np.asarray(y, dtype=float)[None, :] + shifts[:, 1:]) * 1000.0).astype(np.int64).ravel()
    if not len(kx):
        return np.zeros((P, n), dtype=np.int64)
    x0, y0 = int(kx.min()), int(ky.min())
    span = int(kx.max()) - x0 + 1
    if float(span) * float(int(ky.max()) - y0 + 1) < 2.0**62:
        order = np.argsort((ky - y0) * span + (kx - x0), kind="stable")
    else:
        order = np.lexsort((kx, ky))
    rank = np.empty(P * n, dtype=np.int64)
    rank[order] = np.arange(P * n)
    return rank.reshape(P, n)


class _Placer:
    """Element records (element ids and coordinates) placed: `place(j, g, ...)` is element contact j's
    record as contact `g` of a placement, moved by its shift, its rows, array and other contacts those
    of the placement. `found[j]`: element contact j's findings as (code, value, limit, other,
    limited_by); those of a contact whose findings name no other contact read alike in every placement
    and are written once."""

    def __init__(
        self, records: Sequence[dict[str, Any]], found: Sequence[Sequence[tuple[str, float, float, int, str]]]
    ) -> None:
        from .checks import finding_record

        self.records = records
        self.found = found
        self.fixed: list[list[dict[str, Any]] | None] = []
        for rows in found:
            if any(o is not None and o >= 0 for _c, _v, _l, o, _w in rows):
                self.fixed.append(None)  # ordered and written in each placement
                continue
            ordered = sorted(rows, key=lambda r: (r[0], round(r[1], 4)))  # stable: as in_order, no other contact
            self.fixed.append([finding_record(c, 0, v, lim, -1, why or "") for c, v, lim, _o, why in ordered])

    def place(self, j: int, g: int, shift: Sequence[float], ids: Any, row_ids: Any, array_ids: Any) -> dict[str, Any]:
        from .checks import finding_record

        rec = self.records[j]
        out = dict(rec)
        out["id"] = g
        x, y = rec["x_um"], rec["y_um"]
        if x is not None:
            out["x_um"] = float(round(x + shift[0], 3)) + 0.0
        if y is not None:
            out["y_um"] = float(round(y + shift[1], 3)) + 0.0
        if rec["rows"]:
            rows = sorted([int(row_ids[r]) for r in rec["rows"]])
            out["rows"] = rows
            out["row"] = rows[0]
        if rec["array"] is not None:
            out["array"] = int(array_ids[rec["array"]])
        if rec.get("limited_by_contact") is not None:
            out["limited_by_contact"] = int(ids[rec["limited_by_contact"]])
        fixed = self.fixed[j]
        if fixed is not None:
            out["findings"] = [{**f, "contact": g} for f in fixed]
            return out
        found = self.found[j]
        moved = sorted(
            (code, round(value, 4), -1 if other is None or other < 0 else int(ids[other]), k)
            for k, (code, value, _l, other, _w) in enumerate(found)
        )  # as Findings.in_order: code, value, then the other contact
        out["findings"] = [
            finding_record(code, g, found[k][1], found[k][2], other, found[k][4] or "") for code, _v, other, k in moved
        ]
        return out


class WaferRecords(_Records):
    """The records of a layout of one element cell placed many times (a wafer): the element's records
    once (`element`: its own ids and coordinates), each placement (`shifts`, the global contact ids
    `ids` (P, n), the global ids of the element's rows and arrays), and the records of the contacts
    that differ from the element's in their placement (`differing`, whole records, global ids).
    Read as a sequence, it is one record per contact of the whole layout, as a flat layout's."""

    def __init__(
        self,
        element: ContactRecords,
        element_findings: Any,
        shifts: np.ndarray,
        ids: np.ndarray,
        by_rule: bool,
        row_ids: np.ndarray,
        array_ids: np.ndarray,
        differing: ContactRecords,
        differing_ids: np.ndarray,
        placement_status: np.ndarray,
        placement_findings: np.ndarray,
        reference: int,
        figures: dict[str, Any],
        die_plan: Any,
    ) -> None:
        self.element = element
        self.element_findings = element_findings  # element ids, in_order
        self.shifts = shifts
        self.ids = ids
        self.by_rule = by_rule
        self.row_ids = row_ids
        self.array_ids = array_ids
        self.differing = differing
        self.differing_ids = differing_ids
        self.placement_status = placement_status  # (P,) 0 ok, 1 warning, 2 error
        self.placement_findings = placement_findings  # (P, 2) errors, warnings
        self.reference = reference
        self.figures = figures
        self.die_plan = die_plan  # the element's plan (element coordinates), for the pictures
        P, n = ids.shape
        self._n = P * n

    # -- building

    @staticmethod
    def build(layout: Layout, plan: Any, checked: Any, die: Die) -> WaferRecords | None:
        """The records of a wafer plan, or None where they are not kept per element: a flat file (even
        one found to repeat a die), placements that turn or mirror, rows not found per element."""
        inst = layout.instances
        if inst is None or inst.gap_um is not None or not len(inst.transforms):
            return None  # (a flat layout found to repeat one die keeps the flat report of its file)
        if inst.index.size != len(plan.contacts):
            return None
        T = inst.transforms
        if not np.array_equal(T[:, :, :2], np.broadcast_to(np.eye(2), T[:, :, :2].shape)):
            return None
        placed = _row_and_array_ids(plan.rows, die.rows, inst.index)
        if placed is None:
            return None
        row_ids, array_ids = placed
        shifts = np.asarray(T[:, :, 2], dtype=float)
        P = len(inst.index)
        if die.plan is not None:
            cols = _contact_columns(inst.element, die.plan.apertures, die.rows, die.checked)
            x, y = cols["x_um"], cols["y_um"]
            g = np.asarray(plan.contacts.center)[inst.index]  # (P, n, 2)
            same = (np.round(x.values[None, :] + shifts[:, :1], 3) == np.round(g[..., 0], 3)) & (
                np.round(y.values[None, :] + shifts[:, 1:], 3) == np.round(g[..., 1], 3)
            )
            if same.all() and x.ok.all() and y.ok.all():
                found = die.checked.findings
                worst = int(_status_codes(die.checked.status).max(initial=0))
                per = np.array([[die.checked.errors, die.checked.warnings]] * P, dtype=np.int64)
                return WaferRecords(
                    ContactRecords(cols, found),
                    found,
                    shifts,
                    inst.index,
                    bool((rule_ids(x.values, y.values, shifts) == inst.index).all()),
                    row_ids,
                    array_ids,
                    _no_records(cols),
                    np.zeros(0, dtype=np.int64),
                    np.full(P, worst, dtype=np.int8),
                    per,
                    0,
                    _figures(die.plan.apertures, die.checked, P),
                    die.plan,
                )
        return _differences(layout, plan, checked() if callable(checked) else checked, die, row_ids, array_ids)

    # -- reading

    @cached_property
    def _where(self) -> tuple[np.ndarray, np.ndarray]:
        """The placement and element id of every global contact id."""
        P, n = self.ids.shape
        place, elem = np.empty(self._n, dtype=np.int64), np.empty(self._n, dtype=np.int64)
        place[self.ids.ravel()] = np.repeat(np.arange(P), n)
        elem[self.ids.ravel()] = np.tile(np.arange(n), P)
        return place, elem

    @cached_property
    def _placer(self) -> _Placer:
        f = self.element_findings
        raw: list[list[tuple[str, float, float, int, str]]] = [[] for _ in range(len(self.element))]
        reason = [""] * len(f) if f.reason is None else f.reason.tolist()
        columns = (f.contact.tolist(), f.code.tolist(), f.value.tolist(), f.limit.tolist(), f.other.tolist(), reason)
        for c, code, v, lim, o, why in zip(*columns, strict=True):
            raw[c].append((str(code), v, lim, o, why))
        return _Placer(self.element, raw)

    def _record(self, g: int) -> dict[str, Any]:
        k = int(np.searchsorted(self.differing_ids, g))
        if k < len(self.differing_ids) and self.differing_ids[k] == g:
            return self.differing[k]
        place, elem = self._where
        p, j = int(place[g]), int(elem[g])
        return self._placer.place(j, g, self.shifts[p].tolist(), self.ids[p], self.row_ids[p], self.array_ids[p])

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for g in range(self._n):
            yield self._record(g)

    def column(self, key: str) -> list[Any]:
        """One field of every contact (global order)."""
        place, elem = self._where
        if key == "id":
            return list(range(self._n))
        if key in ("x_um", "y_um"):  # the die's position, moved
            col = self.element._raw[key]
            axis = 0 if key == "x_um" else 1
            moved = np.round(col.values[elem] + self.shifts[place, axis], 3).tolist()
            out = [v if ok else None for v, ok in zip(moved, col.ok[elem].tolist(), strict=True)]
        elif key in PLACED_FIELDS:
            return [self._record(g)[key] for g in range(self._n)]
        else:
            values = self.element.column(key)
            out = [values[j] for j in elem.tolist()]
        if len(self.differing_ids):
            for g, v in zip(self.differing_ids.tolist(), self.differing.column(key), strict=True):
                out[g] = v
        return out

    @property
    def fields(self) -> list[str]:
        return self.element.fields

    def hierarchy(self) -> dict[str, Any]:
        """What the summary says of the wafer."""
        P, n = self.ids.shape
        return {
            "element_contacts": n,
            "placements": P,
            "contact_ids": "yx" if self.by_rule else "listed",
            "differing_contacts": len(self.differing_ids),
            "reference_placement": self.reference,
        }

    def placements_json(self) -> bytes:
        """The rows of the `placements` table, one line each."""
        import orjson

        P = len(self.shifts)
        counts = np.bincount(self._where[0][self.differing_ids], minlength=P) if len(self.differing_ids) else None
        lines = []
        statuses = ("ok", "warning", "error")
        for p in range(P):
            row = [
                p,
                _plain(self.shifts[p, 0]),
                _plain(self.shifts[p, 1]),
                statuses[int(self.placement_status[p])],
                int(self.placement_findings[p, 0]),
                int(self.placement_findings[p, 1]),
                0 if counts is None else int(counts[p]),
                self.row_ids[p].tolist(),
                self.array_ids[p].tolist(),
                None if self.by_rule else self.ids[p].tolist(),
            ]
            lines.append(orjson.dumps(row))
        return b",\n".join(lines)


def _plain(x: float) -> float | int:
    """A length as the tables write it: 4 decimals, none for a whole number (70.0 is 70)."""
    v = _r(x, 4)
    return int(v) if v.is_integer() else v


def _status_codes(status: Any) -> np.ndarray:
    out = np.zeros(len(status), dtype=np.int8)
    s = np.asarray(status)
    out[s == "warning"] = 1
    out[s == "error"] = 2
    return out


def _no_records(columns: dict[str, Any]) -> ContactRecords:
    """A table of no contacts with the fields of `columns`."""
    from .checks import Findings

    none = np.zeros(0, dtype=np.int64)
    empty = {k: _take(v, none) for k, v in columns.items()}
    return ContactRecords(empty, Findings(none, np.zeros(0, dtype=object), np.zeros(0), np.zeros(0), none), ids=none)


def _take(column: Any, index: np.ndarray) -> Any:
    """Entries `index` of a report column."""
    if isinstance(column, tuple):
        return tuple(_take(c, index) for c in column)
    if isinstance(column, _Num):
        out = _Num.__new__(_Num)
        out.values, out.ok, out.nd = column.values[index], column.ok[index], column.nd
        return out
    if isinstance(column, _Coded):
        return _Coded(column.codes[index], column.values)
    if isinstance(column, _IdLists):
        return _IdLists(column.ids[index])
    raise TypeError(type(column))


def _ids_num(ids: np.ndarray) -> _Num:
    return _Num(ids, 0, ids >= 0)


def _row_and_array_ids(rows: RowSet, die_rows: RowSet, index: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """The global id of every element row and area array in every placement ((P, R) and (P, A)), found
    by their members; None where the layout's rows are not the element's placed."""
    P = len(index)
    R = len(die_rows.rows)
    row_ids = np.zeros((P, R), dtype=np.int64)
    if len(rows.rows) != P * R:
        return None
    if R:
        sizes = np.array([len(r.members) for r in die_rows.rows])
        members = np.concatenate([r.members for r in die_rows.rows])
        starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        placed = index[:, members]  # (P, M)
        lo = np.minimum.reduceat(placed, starts, axis=1)
        hi = np.maximum.reduceat(placed, starts, axis=1)
        g_sizes = np.array([len(r.members) for r in rows.rows])
        g_members = np.concatenate([r.members for r in rows.rows])
        g_starts = np.concatenate([[0], np.cumsum(g_sizes)[:-1]])
        g_lo = np.minimum.reduceat(g_members, g_starts)
        g_hi = np.maximum.reduceat(g_members, g_starts)
        N = int(index.max()) + 1
        g_key = g_lo * N + g_hi
        order = np.argsort(g_key, kind="stable")
        sorted_key = g_key[order]
        if (np.diff(sorted_key) == 0).any():
            return None
        key = (lo * N + hi).ravel()
        at = np.minimum(np.searchsorted(sorted_key, key), len(sorted_key) - 1)
        if not (sorted_key[at] == key).all():
            return None
        row_ids = order[at].reshape(P, R)
        if not (g_sizes[row_ids] == sizes[None, :]).all():
            return None
    A = len(die_rows.arrays)
    array_ids = np.zeros((P, A), dtype=np.int64)
    for a, arr in enumerate(die_rows.arrays):
        of = rows.array_of[index[:, arr.members]]  # (P, members)
        if (of < 0).any() or not (of == of[:, :1]).all():
            return None
        array_ids[:, a] = of[:, 0]
    return row_ids, array_ids


def _differences(
    layout: Layout, plan: Any, checked: Any, die: Die, row_ids: np.ndarray, array_ids: np.ndarray
) -> WaferRecords:
    """A wafer planned as a whole (placements may differ: dies cut by a keep-in): the element's records
    are those of the placement most alike to the others (element ids and coordinates); every contact
    whose record or findings differ from them in its placement is kept whole."""
    from .checks import Findings

    inst = layout.instances
    assert inst is not None
    index = inst.index
    P, n = index.shape
    N = P * n
    shifts = np.asarray(inst.transforms[:, :, 2], dtype=float)
    cols = _contact_columns(plan.contacts, plan.apertures, plan.rows, checked)
    place, elem = np.empty(N, dtype=np.int64), np.empty(N, dtype=np.int64)
    place[index.ravel()] = np.repeat(np.arange(P), n)
    elem[index.ravel()] = np.tile(np.arange(n), P)
    f = checked.findings
    reason = np.array([""] * len(f), dtype=object) if f.reason is None else np.asarray(f.reason, dtype=object)
    value4, limit4 = np.round(f.value, 4), np.round(f.limit, 4)

    def relative(ref: int) -> tuple[dict[str, Any], Any]:
        """The columns and findings of placement `ref` in element ids and coordinates."""
        take = index[ref]
        rel = {k: _take(v, take) for k, v in cols.items()}
        rel["id"] = _Num(np.arange(n), 0)
        for k, axis in (("x_um", 0), ("y_um", 1)):
            c = rel[k]
            rel[k] = _Num(c.values - shifts[ref, axis], 3, c.ok)
        row_el = np.full(len(plan.rows.rows) + 1, -1, dtype=np.int64)
        row_el[row_ids[ref]] = np.arange(row_ids.shape[1])
        ids = rel["rows"].ids
        mapped = np.where(ids >= 0, row_el[np.maximum(ids, 0)], -1)
        mapped = np.sort(np.where(mapped >= 0, mapped, np.iinfo(np.int64).max), axis=1)
        mapped[mapped == np.iinfo(np.int64).max] = -1
        rel["rows"] = _IdLists(mapped)
        rel["row"] = _ids_num(mapped[:, 0] if mapped.shape[1] else np.full(n, -1))
        arr_el = np.full(len(plan.rows.arrays) + 1, -1, dtype=np.int64)
        arr_el[array_ids[ref]] = np.arange(array_ids.shape[1])
        a = rel["array"]
        rel["array"] = _ids_num(np.where(a.ok, arr_el[np.where(a.ok, a.values, -1).astype(np.int64)], -1))

        def local(g: np.ndarray) -> np.ndarray:
            g = np.asarray(g, dtype=np.int64)
            inside = (g >= 0) & (place[np.maximum(g, 0)] == ref)
            return np.where(inside, elem[np.maximum(g, 0)], -1)

        if "limited_by_contact" in rel:
            c = rel["limited_by_contact"]
            rel["limited_by_contact"] = _ids_num(local(np.where(c.ok, c.values, -1).astype(np.int64)))
        mine = np.flatnonzero(place[f.contact] == ref)
        found = Findings(
            elem[f.contact[mine]], f.code[mine], f.value[mine], f.limit[mine], local(f.other[mine]), reason[mine]
        ).in_order()
        return rel, found

    # the reference: the placement whose contacts share their status and number of findings with
    # those of the most other placements, contact by contact
    st = _status_codes(checked.status)[index].astype(np.int64)  # (P, n)
    nf = np.bincount(f.contact, minlength=N)[index] if len(f) else np.zeros((P, n), dtype=np.int64)
    key = (np.arange(n)[None, :] * 3 + st) * (int(nf.max(initial=0)) + 1) + nf
    _u, inverse, counts = np.unique(key.ravel(), return_inverse=True, return_counts=True)
    ref = int(np.argmax(counts[inverse].reshape(P, n).sum(axis=1)))
    rel, found = relative(ref)

    differ = np.zeros(N, dtype=bool)
    # every column, the element's placed, against the whole layout's
    for key, column in cols.items():
        e = rel[key]
        if key == "id":
            continue
        if key in ("x_um", "y_um"):
            axis = 0 if key == "x_um" else 1
            want = np.round(e.values[None, :] + shifts[:, axis : axis + 1], 3)
            ok = np.broadcast_to(e.ok[None, :], (P, n))
            got, got_ok = column.values[index], column.ok[index]
            differ[index] |= (ok != got_ok) | (ok & (want != got))
        elif key == "rows":
            el = e.ids  # (n, K)
            K = max(el.shape[1], column.ids.shape[1])
            pl = np.where(el[None] >= 0, np.take_along_axis(row_ids[:, None, :], np.maximum(el, 0)[None], 2), -1)
            big = np.iinfo(np.int64).max
            pl = np.sort(np.where(pl >= 0, pl, big), axis=2)
            pl[pl == big] = -1
            pad = np.full((P, n, K), -1, dtype=np.int64)
            pad[..., : el.shape[1]] = pl
            got = np.full((N, K), -1, dtype=np.int64)
            got[:, : column.ids.shape[1]] = column.ids
            differ[index] |= (pad != got[index]).any(axis=2)
        elif key in ("row", "array", "limited_by_contact"):
            table = {"row": None, "array": array_ids, "limited_by_contact": index}[key]
            v = np.where(e.ok, e.values, -1).astype(np.int64)
            if key == "row":  # the lowest of the placed rows
                el = rel["rows"].ids
                big = np.iinfo(np.int64).max
                pl = np.full((P, n), -1, dtype=np.int64)
                if el.shape[1]:
                    low = np.where(el[None] >= 0, row_ids[:, np.maximum(el, 0)], big).min(axis=2)
                    pl = np.where(low == big, -1, low)
            else:
                assert table is not None
                pl = (
                    np.where(v[None] >= 0, table[:, np.maximum(v, 0)], -1)
                    if table.shape[1]
                    else np.full((P, n), -1, dtype=np.int64)
                )
            got = np.where(column.ok, column.values, -1).astype(np.int64)
            differ[index] |= pl != got[index]
        elif isinstance(column, tuple):
            for a, b in zip(e, column, strict=True):
                differ[index] |= _num_differs(a, b, index)
        elif isinstance(column, _Num):
            differ[index] |= _num_differs(e, column, index)
        else:  # _Coded: the same table of values (the element's are the layout's, taken)
            differ[index] |= e.codes[None, :] != column.codes[index]
    # the findings, placed in every placement and ordered as a reader orders them, against the layout's
    if len(found) or len(f):
        pc = index[:, found.contact].ravel()
        po = np.where(found.other[None, :] >= 0, index[:, np.maximum(found.other, 0)], -1).ravel()
        pcode = np.tile(found.code.astype(str), P)
        pv, pl_ = np.tile(np.round(found.value, 4), P), np.tile(np.round(found.limit, 4), P)
        pr = np.tile(np.asarray([""] * len(found) if found.reason is None else found.reason, dtype=object), P)
        order = np.lexsort((po, pv, pcode, pc))
        pc, po, pcode, pv, pl_, pr = pc[order], po[order], pcode[order], pv[order], pl_[order], pr[order]
        cnt_p = np.bincount(pc, minlength=N)
        cnt_g = np.bincount(f.contact, minlength=N)
        differ |= cnt_p != cnt_g
        keep_p = ~differ[pc]
        keep_g = ~differ[f.contact]
        same = (
            (pc[keep_p] == f.contact[keep_g])
            & (pcode[keep_p] == f.code[keep_g].astype(str))
            & (pv[keep_p] == value4[keep_g])
            & (pl_[keep_p] == limit4[keep_g])
            & (po[keep_p] == f.other[keep_g])
            & (pr[keep_p] == reason[keep_g])
        )
        differ[f.contact[keep_g][~same]] = True
    differing_ids = np.flatnonzero(differ)
    sub = np.flatnonzero(differ[f.contact]) if len(f) else np.zeros(0, dtype=np.int64)
    sub_found = Findings(f.contact[sub], f.code[sub], f.value[sub], f.limit[sub], f.other[sub], reason[sub])
    differing = ContactRecords({k: _take(v, differing_ids) for k, v in cols.items()}, sub_found, ids=differing_ids)
    status = np.zeros(P, dtype=np.int8)
    np.maximum.at(status, place, _status_codes(checked.status))
    per = np.zeros((P, 2), dtype=np.int64)
    if len(f):
        sev = f.severity()
        np.add.at(per[:, 0], place[f.contact[sev == "error"]], 1)
        np.add.at(per[:, 1], place[f.contact[sev == "warning"]], 1)
    x, y = rel["x_um"], rel["y_um"]
    by_rule = bool(x.ok.all() and y.ok.all() and (rule_ids(x.values, y.values, shifts) == index).all())
    die_plan = _die_plan(plan, inst, die, ref)
    return WaferRecords(
        ContactRecords(rel, found),
        found,
        shifts,
        index,
        by_rule,
        row_ids,
        array_ids,
        differing,
        differing_ids,
        status,
        per,
        ref,
        _figures(plan.apertures, checked),
        die_plan,
    )


def _num_differs(e: _Num, g: _Num, index: np.ndarray) -> np.ndarray:
    """(P, n): where the element's column, placed, differs from the layout's."""
    ok, got_ok = e.ok[None, :], g.ok[index]
    return (ok != got_ok) | (ok & (e.values[None, :] != g.values[index]))


def _die_plan(plan: Any, inst: Any, die: Die, ref: int) -> Any:
    """The element's plan (element coordinates) for the pictures: the one planned once per die, else
    placement `ref`'s apertures moved back."""
    import dataclasses

    from .model import Outlines, Plan

    if die.plan is not None:
        return die.plan
    take = inst.index[ref]
    ap = plan.apertures
    o = ap.outlines
    counts = np.diff(o.offsets)[take]
    starts = o.offsets[:-1][take]
    at = np.repeat(starts - np.concatenate([[0], np.cumsum(counts)[:-1]]), counts) + np.arange(int(counts.sum()))
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    outlines = Outlines(o.coords[at] - inst.transforms[ref, :, 2], o.bulge[at], offsets)
    fields = {}
    for fld in dataclasses.fields(ap):
        v = getattr(ap, fld.name)
        if fld.name != "outlines" and v is not None:
            fields[fld.name] = v[take]
    apertures = dataclasses.replace(ap, outlines=outlines, **fields)
    return Plan(inst.element, die.rows, apertures, list(plan.notes))


def plan_text(doc: dict[str, Any], outputs: dict[str, str] | None = None, worst: int = 5, command: str = "plan") -> str:
    """The short summary `plan` (or `check`: `command`) prints on stderr."""
    s = doc["summary"]
    vr = s["volume_ratio"]
    lines = [
        f"{s['file']}: {_n(s['contacts'], 'contact')}, {_n(s['rows'], 'row')}, {_n(s['corners'], 'corner')}, "
        f"{_n(s['arrays'], 'array')}, {s['isolated']} isolated",
        f"  apertures: {s['apertures']} ({_n(s['strips'], 'strip')}, {s['oblique_strips']} of them oblique, "
        f"{s['pads']} pad-shaped)",
    ]
    stray = len(s.get("stray_apertures") or [])
    if command == "check" and stray:  # (the stencil's apertures that serve no contact are not counted above)
        lines[-1] += f"; and {_n(stray, 'aperture')} on no contact"
    rules = s.get("rules") or {}
    if s.get("straight_corners") and rules.get("oblique_scope") == "corners" and rules.get("oblique_angle_deg") is None:
        straight = (
            "not in one common oblique direction (rule 5)"
            if command == "check"
            else "no common oblique direction left them printable and within the hard rules (rule 11 before rule 5)"
        )
        lines.append(
            f"  corners: {s['straight_corners']} of {s['corners']} run their strips straight across their rows: "
            + straight
        )
    if s.get("isolated_in_line") and command == "plan":
        lines.append(f"  hint: {IN_LINE_HINT.format(n=s['isolated_in_line'])}")
    if vr["min"] is not None and vr["max"] is not None:
        lines.append(
            f"  solder volume: {vr['min']:.2f} to {vr['max']:.2f} of pi*d^3/6 (nominal), "
            f"at most {vr['max_at_top_of_band']:.2f} at the top of the transfer band"
        )
    keep = s.get("keep_in") or {}
    held = keep.get("source", "").startswith(HELD_SOURCE)
    if held:  # (rule 8: never a tip off the die silently)
        box = keep.get("held_within_um")
        across = " (none across a span under three contact lengths: a single row)" if box and held_open(box) else ""
        lines.append(
            f"  keep-in: {keep['source']}: the apertures stay within the contacts' extent where there is room{across}; "
            "--keep-in none lets strips reach past it, --keep-in LAYER names the die's outline"
        )
    elif keep.get("source"):
        die = keep.get("die_bbox_um") or keep.get("die_held_within_um")
        inside = f", ({die[0]:g}, {die[1]:g}) to ({die[2]:g}, {die[3]:g}) um in the die's coordinates" if die else ""
        lines.append(f"  keep-in: {keep['source']}{inside}")
    lines += [f"  warning: {note}" for note in s.get("notes", [])]
    lines += _shape_lines(s.get("shape_notes") or [])
    foil = s.get("foil")
    if foil:
        lines.append(
            f"  foil: {foil['chosen_um']:g} um kept (the fewest errors, then warnings, then the thinner) of "
            + ", ".join(
                f"{r['thickness_um']:g} um ({r['errors']} E, {r['warnings']} W, {r['under_volume']} U)"
                for r in foil["table"]
            )
            + " (E errors, W warnings, U of them under_volume)"
        )
        for kept, best, key, what, _why in foil_hints(foil):
            lines.append(
                f"  hint: {best['thickness_um']:g} um leaves {best[key]} {what} ({foil['chosen_um']:g} um: "
                f"{kept[key]}), with {best['warnings']} warnings in all; --thickness {best['thickness_um']:g}um "
                "plans at it"
            )
        step = foil.get("step")
        declined = foil.get("step_declined") or []
        if not step:  # (said, as the HTML says it: the search ran)
            lines.append(
                f"  step stencil: none would do better than the one foil (a region is proposed only where its "
                f"contacts, with those within its keep-out of {rules.get('step_keep_out', 36):g} step heights, "
                "gain overall)"
            )
        else:
            regions = "; ".join(
                f"{r['thickness_um']:g} um over ({r['bbox_um'][0]:g}, {r['bbox_um'][1]:g}) to "
                f"({r['bbox_um'][2]:g}, {r['bbox_um'][3]:g}) um, {r['contacts']} contacts "
                f"({r['errors_at_base']} errors, {r['warnings_at_base']} warnings there at the base -> "
                f"{r['errors']}, {r['warnings']})"
                for r in step["regions"]
            )
            base = step["base_thickness_um"]
            other = "" if base == foil["chosen_um"] else f" (the files are drawn at the {foil['chosen_um']:g} um kept)"
            lines.append(
                f"  step stencil proposed: base {base:g} um{other}, stepped to {regions}; with the steps "
                f"{step['errors']} errors, {step['warnings']} warnings in all"
            )
        for d in declined:  # (judged against the proposal's base, else the foil kept)
            lines.append(
                f"    not proposed: {declined_said(d, (step or {}).get('base_thickness_um', foil['chosen_um']))}"
            )
    codes = ", ".join(f"{k} {v}" for k, v in s["findings_by_code"].items())
    lines.append(f"  {_n(s['errors'], 'error')}, {_n(s['warnings'], 'warning')}" + (f" ({codes})" if codes else ""))
    by_foil = [c for c in ("area_ratio", "aspect_ratio") if c in s["findings_by_code"]]
    thickness = rules.get("thickness_um")
    if by_foil and not foil and isinstance(thickness, int | float):  # (what the user can change: the foil)
        auto = "--thickness auto" if command == "plan" else "stencilgen plan --thickness auto"
        lines.append(
            f"  hint: {' and '.join(by_foil)} depend{'' if len(by_foil) > 1 else 's'} on the foil ({thickness:g} um): "
            f"{auto} plans at each stocked foil and keeps the best"
        )
    turned, short = s["findings_by_code"].get("same_side", 0), s["findings_by_code"].get("under_volume", 0)
    if turned:  # (a code whose name does not say it all; why, where the planner turned the tip)
        lines.append(
            "  same_side: a tip on its neighbour's side of the row (rule 4)"
            + (
                ", turned where the other side leaves the keep-in, comes within clearance of a contact or leaves "
                "the contact below volume_min, or at a corner; each finding's limited_by says which"
                if command == "plan"
                else ""
            )
        )
    if held and turned and short:  # (what the hold costs, and what the user can change)
        lines.append(
            f"  hint: the contacts' extent turns tips inward ({turned} same_side), where they stand side by side; "
            "if the die's edge lies farther out, --keep-in LAYER (its outline) or --keep-in none gives them room "
            "outside"
        )
    records = doc["contacts"]
    margin = rules.get("edge_margin_um")
    within = "within edge_margin_um" in str(keep.get("source", ""))
    starved = s["findings_by_code"].get("unprintable") or short
    if starved and within and isinstance(margin, int | float):
        # (a pad cell whose extent is its pad: the margin leaves it no room, or too little; what the user
        # can change)
        lines.append(
            f"  hint: contacts lie within edge_margin_um ({margin:g} um) of the keep-in; where its outline is not "
            "the die's edge (a pad cell's own extent), --keep-in none or a smaller edge_margin_um in a rules "
            "file leaves them room"
        )
    if isinstance(records, WaferRecords):  # a wafer: one die's contacts (those of the reference) and the differing
        ids = records.ids[records.reference].tolist() + records.differing_ids.tolist()
        status = records.element.column("status") + records.differing.column("status")
        ratio = records.element.column("volume_ratio") + records.differing.column("volume_ratio")
    else:
        status, ratio = column(records, "status"), column(records, "volume_ratio")
        ids = list(range(len(status)))
    bad = [i for i, st in enumerate(status) if st != "ok"]
    bad.sort(key=lambda i: (status[i] != "error", ratio[i] if ratio[i] is not None else -1))
    for r in (records[ids[i]] for i in bad[:worst]):
        found = {f["code"] for f in r["findings"]}
        vr_r = "-"
        if r["volume_ratio"] is not None:  # (under_volume is judged at the bottom of the transfer band)
            vr_r = f"{r['volume_ratio']:.2f} of pi*d^3/6"
            band, limit = r.get("solder_volume_band_um3"), r.get("volume_limit_um3")
            if band and limit:
                vr_r += f" ({band[0] / limit:.2f} at the bottom of the transfer band)"
        # what to relax (rule 6): the volume finding's reason, beside its code
        why = {
            f["code"]: f" (limited by {f['limited_by']}"
            + (f", contact {f['other']})" if f.get("other") is not None else ")")
            for f in r["findings"]
            if f["code"] in ("unprintable", "under_volume") and f.get("limited_by")
        }
        codes_r = ", ".join(code + why.get(code, "") for code in sorted(found))
        lines.append(
            f"    contact {r['id']} at ({r['x_um']:g}, {r['y_um']:g}) um: {r['status']}, volume {vr_r}; {codes_r}"
        )
    written = outputs if outputs is not None else s["outputs"]
    # (a wafer's records above are one die's and those that differ: the count is the summary's)
    shown = min(worst, len(bad))
    more = sum(n for status, n in (s.get("status") or {}).items() if status != "ok") - shown
    if more > 0:
        where = "--json or -o OUTDIR lists them"
        if written:
            where = "the JSON and HTML reports list them" if "html" in written else "the JSON report lists them"
        lines.append(f"    ... and {more} more contacts with findings ({where})")
    if written:
        lines.append("  wrote " + ", ".join(written.values()))
    return "\n".join(lines)


def _shape_lines(notes: list[dict[str, Any]]) -> list[str]:
    """One line on the pad layer's shapes left out, merged into contacts and repaired (each kind with
    why, at most two reasons); `inspect` lists each."""
    merged = [n for n in notes if n.get("kept") and "merged" in n["reason"]]
    repaired = [n for n in notes if n.get("kept") and "merged" not in n["reason"]]
    out = [n for n in notes if not n.get("kept")]

    def why(group: list[dict[str, Any]]) -> str:
        return reasons_said(n["reason"] for n in group)

    said = [f"{len(out)} left out ({why(out)})"] if out else []
    if merged:
        said.append(f"{len(merged)} {'group' if len(merged) == 1 else 'groups'} of shapes merged into one contact each")
    if repaired:
        said.append(f"{len(repaired)} repaired ({why(repaired)})")
    return [f"  shapes: {', '.join(said)}; stencilgen inspect lists each"] if said else []


def column(records: Any, key: str) -> list[Any]:
    """One field of every record (fast for ContactRecords, works for a plain list too)."""
    if hasattr(records, "column"):
        return list(records.column(key))
    return [r.get(key) for r in records]


#: records encoded at a time: a chunk's text table stays small enough for the allocator to reuse its
#: memory from one chunk to the next instead of mapping it afresh
RECORDS_PER_CHUNK = 8192


def write_report(fh: Any, doc: dict[str, Any]) -> None:
    """Write a report as JSON text: the summary indented, then each table (`contacts`, and after it
    the contacts' `findings`) as {"fields": [...], "rows": [...]}, one line per row, in chunks (a wafer's
    rows are encoded a few thousand at a time, never as one string). `fh` is a text or a binary file."""
    binary = not isinstance(fh, io.TextIOBase)

    def put(data: Any) -> None:
        fh.write(data if binary else bytes(data).decode("utf-8"))

    def table(key: str, fields: Sequence[str], rows: Any, extra: dict[str, Any] | None = None) -> None:
        head = f',\n "{key}": {{"fields": {json.dumps(list(fields))},'
        for name, value in (extra or {}).items():
            head += f"\n  {json.dumps(name)}: {json.dumps(value, allow_nan=False)},"
        put((head + '\n  "rows": [\n').encode())
        for start in range(0, len(rows), RECORDS_PER_CHUNK):
            if start:
                put(b",\n")
            put(rows.json_rows(start, min(start + RECORDS_PER_CHUNK, len(rows))))
        put(b"\n ]}")

    put(('{\n "summary": ' + json.dumps(doc["summary"], indent=1, allow_nan=False).replace("\n", "\n ")).encode())
    for key in [k for k in doc if k != "summary"]:
        items = doc[key]
        if isinstance(items, WaferRecords):  # the element once, the placements, what differs in them
            found = items.element.findings_table()
            table("element", items.element.fields, items.element)
            table("element_findings", FindingsTable.FIELDS, found, found.legend())
            put(f',\n "placements": {{"fields": {json.dumps(list(PLACEMENT_FIELDS))},\n  "rows": [\n'.encode())
            put(items.placements_json())
            put(b"\n ]}")
            items = items.differing
        if isinstance(items, ContactRecords):
            table(key, items.fields, items)
            found = items.findings_table()
            table("findings", FindingsTable.FIELDS, found, found.legend())
        else:
            put((f',\n "{key}": ' + json.dumps(items, allow_nan=False)).encode())
    put(b"\n}\n")


#: how much of a report `report_summary` reads: the summary comes first, the tables after it
SUMMARY_BYTES = 1 << 20


def planned_foil(stencil: str) -> tuple[float, str] | None:
    """The foil a stencil was planned at: the thickness (um) in `plan`'s report beside it (<stem>.json,
    whose outputs name the stencil's file), and that report's path; None where there is none."""
    report = os.path.splitext(stencil)[0] + ".json"
    summary = report_summary(report)
    if not summary or os.path.basename(stencil) not in (summary.get("outputs") or {}).values():
        return None
    thickness = (summary.get("rules") or {}).get("thickness_um")
    if isinstance(thickness, bool) or not isinstance(thickness, int | float) or not thickness > 0:
        return None
    return float(thickness), report


def report_summary(path: str) -> dict[str, Any] | None:
    """The summary of a JSON report `write_report` wrote, read from the start of the file alone (a flat
    wafer's tables run to hundreds of megabytes); None where the file is not such a report."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(SUMMARY_BYTES).decode("utf-8", errors="replace")
    except OSError:
        return None
    if not head.startswith('{\n "summary": {'):
        return None
    end = head.find('\n "', len('{\n "summary"'))  # (the next key of the document, one space in)
    text = head if end < 0 else head[:end].rstrip().removesuffix(",") + "\n}"
    try:
        summary = json.loads(text).get("summary")
    except ValueError:
        return None
    return summary if isinstance(summary, dict) else None


def load_report(source: Any) -> dict[str, Any]:
    """A JSON report (a path, a file or its text) as `plan` and `check` hold it: `summary`, and
    `contacts` as one dict per contact (its fields, and `findings`: code, severity, contact, value,
    limit, unit, message), other keys as they are."""

    name = "the report given"
    try:
        if hasattr(source, "read"):
            name = str(getattr(source, "name", name))
            doc = json.load(source)
        elif isinstance(source, (bytes, str)) and str(source).lstrip().startswith("{"):
            doc = json.loads(source)
        else:
            name = os.fspath(source)
            with open(source, "rb") as fh:
                doc = json.load(fh)
    except OSError as exc:
        raise InputError(f"{name}: cannot be read ({exc.strerror})") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise InputError(f"{name}: not a JSON report of stencilgen ({exc})") from None
    if not isinstance(doc, dict) or not ("summary" in doc or "file" in doc):  # (plan's and check's; inspect's)
        raise InputError(f"{name}: not a JSON report of stencilgen (no summary)")
    contacts, found = doc.get("contacts"), doc.pop("findings", None)
    if not (isinstance(contacts, dict) and "rows" in contacts):
        return doc
    records = _table_records(contacts, found)
    if "element" in doc:  # a wafer: the element's records placed, the differing ones as they are
        element = _table_records(doc.pop("element"), None)
        raw = _raw_findings(doc.pop("element_findings", None), len(element))
        placements = doc.pop("placements")
        records = _expand(element, raw, placements, records)
    doc["contacts"] = records
    return doc


def _table_records(table: dict[str, Any], found: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The records of a contacts table with their findings (a table of the same contacts' findings)."""
    from .checks import finding_record

    records = [dict(zip(table["fields"], row, strict=True)) for row in table["rows"]]
    for r in records:
        r["findings"] = []
    if found and records:
        at = {name: k for k, name in enumerate(found["fields"])}
        slot = {r["id"]: k for k, r in enumerate(records)}
        for row in found["rows"]:
            other = row[at["other"]]
            rec = finding_record(
                row[at["code"]],
                row[at["contact"]],
                float(row[at["value"]]) if row[at["value"]] is not None else float("nan"),
                float(row[at["limit"]]) if row[at["limit"]] is not None else float("nan"),
                -1 if other is None else other,
                row[at["limited_by"]] or "",
            )
            records[slot[rec["contact"]]]["findings"].append(rec)
    return records


def _raw_findings(table: dict[str, Any] | None, n: int) -> list[list[tuple[str, float, float, int, str]]]:
    """The element's findings per element contact, as (code, value, limit, other, limited_by)."""
    out: list[list[tuple[str, float, float, int, str]]] = [[] for _ in range(n)]
    if not table:
        return out
    at = {name: k for k, name in enumerate(table["fields"])}
    for row in table["rows"]:
        value, limit, other = row[at["value"]], row[at["limit"]], row[at["other"]]
        out[row[at["contact"]]].append(
            (
                row[at["code"]],
                float("nan") if value is None else float(value),
                float("nan") if limit is None else float(limit),
                -1 if other is None else other,
                row[at["limited_by"]] or "",
            )
        )
    return out


def _expand(
    element: list[dict[str, Any]],
    raw: list[list[tuple[str, float, float, int, str]]],
    placements: dict[str, Any],
    differing: list[dict[str, Any]],
) -> list[dict[str, Any]]:
    """A wafer report's records, one per contact of the whole layout in global id order: each element
    record placed in each placement, the differing records as written."""
    at = {name: k for k, name in enumerate(placements["fields"])}
    rows = placements["rows"]
    n = len(element)
    shifts = np.array([[p[at["dx_um"]], p[at["dy_um"]]] for p in rows], dtype=float).reshape(-1, 2)
    if rows and rows[0][at["contacts"]] is None:
        x = np.array([r["x_um"] for r in element], dtype=float)
        y = np.array([r["y_um"] for r in element], dtype=float)
        ids = rule_ids(x, y, shifts)
    else:
        ids = np.array([p[at["contacts"]] for p in rows], dtype=np.int64).reshape(len(rows), n)
    out: list[dict[str, Any]] = [{}] * (len(rows) * n)
    placer = _Placer(element, raw)
    for p, prow in enumerate(rows):
        shift = shifts[p].tolist()
        mine = ids[p].tolist()
        row_ids, array_ids = prow[at["rows"]], prow[at["arrays"]]
        for j in range(n):
            out[mine[j]] = placer.place(j, mine[j], shift, mine, row_ids, array_ids)
    for rec in differing:
        out[rec["id"]] = rec
    return out


def dumps_report(doc: dict[str, Any]) -> str:
    """The JSON text of a report (write_report into a string)."""
    buf = io.StringIO()
    write_report(buf, doc)
    return buf.getvalue()
