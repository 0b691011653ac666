"""A self-contained HTML page of a plan for people: summary, pictures, histograms and the findings table.

Everything is inline (CSS, SVG, a little JavaScript for sorting), so the page opens offline in any browser.
Pictures are SVG in micrometres with y negated (layout y points up); coordinates are rounded to 0.01 um.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Sequence
from html import escape
from typing import Any

import numpy as np

from .foil import declined_said, foil_hints
from .model import NONE, STRIP, Plan, Polygons, held_open
from .numeric import median
from .planner import aperture_polygons
from .report import ContactRecords, WaferRecords, column
from .rules import DOCS

__all__ = ["html_report"]

MAX_DRAWN = 20_000  # more apertures than this: the overview shows dots, the close-ups show shapes
MAX_TABLE = 5_000  # rows of the findings table
MAX_CORNERS = 8
WORST = 6  # close-ups of the lowest volume ratios
MAX_WORST = 12  # ... plus error contacts up to this many close-ups
MAX_VIEW_ITEMS = 2_000  # shapes in one close-up
ARC_CHORDS = 24
STATUSES = ("ok", "warning", "error")
VOLUME_BINS = np.round(np.arange(0.0, 1.2 + 1e-9, 0.05), 2)
AREA_BINS = np.round(np.arange(0.0, 2.0 + 1e-9, 0.1), 2)


# ---------------------------------------------------------------------------------------------- numbers


def _num(x: Any, nd: int = 3) -> str:
    """A number for people: at most `nd` decimals, no trailing zeros; "–" when missing."""
    if x is None:
        return "–"
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, int | np.integer):
        return str(int(x))
    v = float(x)
    if not math.isfinite(v):
        return "–"
    s = f"{v:.{nd}f}"
    if "." in s:
        s = s.rstrip("0").rstrip(".")
    return "0" if s == "-0" else s


def _counted(n: int, word: str) -> str:
    """'1 error', '1,322 warnings'."""
    return f"{n:,} {word}" + ("" if n == 1 else "s")


def _count(x: Any) -> str:
    """A count with thousands separators ("–" when missing)."""
    return "–" if x is None else f"{int(x):,}"


def _q(x: Any, unit: str, nd: int = 3) -> str:
    """A quantity with its unit ("–" when missing)."""
    return "–" if x is None else f"{_num(x, nd)} {unit}"


def _nice(x: float) -> float:
    """The largest 1, 2 or 5 times a power of ten not above x."""
    if x <= 0 or not math.isfinite(x):
        return 1.0
    p = 10.0 ** math.floor(math.log10(x))
    return max(m * p for m in (1.0, 2.0, 5.0) if m * p <= x * (1 + 1e-9))


# ---------------------------------------------------------------------------------------------- paths


def _coord_text(values: np.ndarray) -> np.ndarray:
    """Coordinates rounded to 0.01 um as short strings (no "-0")."""
    return np.char.mod("%.12g", np.round(np.asarray(values, dtype=float), 2) + 0.0)


def _path_d(coords: np.ndarray, offsets: np.ndarray, closed: bool = True) -> str:
    """SVG path data of ragged polylines, one subpath each, y negated."""
    counts = np.diff(offsets)
    if not len(coords) or not counts.any():
        return ""
    pts = np.char.add(np.char.add(_coord_text(coords[:, 0]), ","), _coord_text(-coords[:, 1]))
    keep = counts > 0
    pre = np.full(len(coords), "", dtype="<U1")
    pre[offsets[:-1][keep]] = "M"
    post = np.full(len(coords), "", dtype="<U1")
    if closed:
        post[offsets[1:][keep] - 1] = "Z"
    return " ".join(np.char.add(np.char.add(pre, pts), post).tolist())


def _polylines_d(pts: np.ndarray, closed: bool = False) -> str:
    """Path data of K polylines of m points each, pts (K, m, 2)."""
    k, m = pts.shape[0], pts.shape[1]
    return _path_d(pts.reshape(-1, 2), np.arange(k + 1, dtype=np.int64) * m, closed)


def _dots_d(points: np.ndarray) -> str:
    """Zero-length subpaths: drawn as round dots by a stroke with round caps."""
    if not len(points):
        return ""
    xy = np.char.add(np.char.add(_coord_text(points[:, 0]), ","), _coord_text(-points[:, 1]))
    return " ".join(np.char.add(np.char.add("M", xy), "h0").tolist())


def _bboxes(coords: np.ndarray, offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Bounding boxes (lo, hi), each (N, 2), of ragged polygons; NaN for empty ones."""
    n = len(offsets) - 1
    lo = np.full((n, 2), np.nan)
    hi = np.full((n, 2), np.nan)
    present = np.diff(offsets) > 0
    if present.any():
        starts = offsets[:-1][present]
        lo[present] = np.minimum.reduceat(coords, starts, axis=0)
        hi[present] = np.maximum.reduceat(coords, starts, axis=0)
    return lo, hi


# ---------------------------------------------------------------------------------------------- scene


class _Scene:
    """Contacts, apertures and rows of a plan, with bounding boxes to pick what a view shows."""

    def __init__(self, doc: dict[str, Any], plan: Plan) -> None:
        self.plan = plan
        c = plan.contacts
        ap = plan.apertures
        n = len(c)
        self.n = n
        code = {s: k for k, s in enumerate(STATUSES)}
        records = doc.get("contacts") or []
        status = np.zeros(n, dtype=np.int8)
        if len(records) == n:
            status[:] = [code.get(st, 0) for st in column(records, "status")]
        self.status = status
        self.center = np.asarray(c.center, dtype=float).reshape(-1, 2)
        self.d = np.asarray(c.d, dtype=float)
        self.c_lo, self.c_hi = _bboxes(c.polygons.coords, c.polygons.offsets)
        o = ap.outlines
        self.has_ap = (np.asarray(ap.kind) != NONE) & (np.diff(o.offsets) > 0)
        a_lo, a_hi = _bboxes(o.coords, o.offsets)
        pad = 0.5 * (np.nan_to_num(np.asarray(ap.tip_d, dtype=float)) + np.nan_to_num(np.asarray(ap.width, float)))
        self.a_lo = a_lo - pad[:, None]  # arcs may bulge beyond their end points
        self.a_hi = a_hi + pad[:, None]
        self.strip = (np.asarray(ap.kind) == STRIP) & (np.abs(np.asarray(ap.axis, dtype=float)).sum(axis=1) > 0)
        self._all: Polygons | None = None
        if int(self.has_ap.sum()) <= MAX_DRAWN:
            self._all = aperture_polygons(ap, ARC_CHORDS)
        rows = [r for r in plan.rows.rows if len(r.members)]
        self.row_a = np.zeros((0, 2))
        self.row_b = np.zeros((0, 2))
        if rows:
            u = np.array([r.direction for r in rows], dtype=float)
            org = np.array([r.origin for r in rows], dtype=float)
            pitch = np.array([r.pitch for r in rows], dtype=float)
            first = self.center[[int(r.members[0]) for r in rows]]
            last = self.center[[int(r.members[-1]) for r in rows]]
            t0 = ((first - org) * u).sum(axis=1)
            t1 = ((last - org) * u).sum(axis=1)
            lo_t = np.minimum(t0, t1) - pitch / 2
            hi_t = np.maximum(t0, t1) + pitch / 2
            self.row_a = org + u * lo_t[:, None]
            self.row_b = org + u * hi_t[:, None]

    def bounds(self) -> tuple[np.ndarray, np.ndarray] | None:
        """The bounding box of every contact and aperture."""
        if not self.n:
            return None
        lo = np.nanmin(np.vstack([self.c_lo, self.a_lo[self.has_ap] if self.has_ap.any() else self.c_lo]), axis=0)
        hi = np.nanmax(np.vstack([self.c_hi, self.a_hi[self.has_ap] if self.has_ap.any() else self.c_hi]), axis=0)
        if not (np.isfinite(lo).all() and np.isfinite(hi).all()):
            return None
        return lo, hi

    def apertures(self, ids: np.ndarray) -> Polygons:
        """Plain polygons of the apertures `ids` (all present), in that order."""
        if self._all is not None:
            return self._all.take(ids)
        sub = dataclasses.replace(self.plan.apertures, outlines=self.plan.apertures.outlines.take(ids))
        return aperture_polygons(sub, ARC_CHORDS)

    def layers(self, cids: np.ndarray, aids: np.ndarray, rows: str = "") -> tuple[str, int]:
        """SVG of contacts `cids`, row centerlines (path data `rows`), apertures `aids` (one path per status)
        and strip arrows; and the number of apertures drawn."""
        out = []
        if len(cids):
            cp = self.plan.contacts.polygons.take(cids)
            out.append(f'<path class="ct" d="{_path_d(cp.coords, cp.offsets)}"/>')
        if rows:
            out.append(f'<path class="row" d="{rows}"/>')
        drawn = 0
        if len(aids):
            polys = self.apertures(aids)
            st = self.status[aids]
            for k, name in enumerate(STATUSES):
                sel = np.flatnonzero(st == k)
                if len(sel):
                    p = polys.take(sel)
                    drawn += len(sel)
                    out.append(f'<path class="ap ap-{name}" d="{_path_d(p.coords, p.offsets)}"/>')
        sids = aids[self.strip[aids]]
        if len(sids):
            out.append(f'<path class="arrow" d="{self._arrows_d(sids)}"/>')
        return "".join(out), drawn

    def _arrows_d(self, ids: np.ndarray) -> str:
        """Short arrows from each contact's centre along its strip direction."""
        axis = np.asarray(self.plan.apertures.axis, dtype=float)[ids]
        axis = axis / np.linalg.norm(axis, axis=1)[:, None]
        length = 0.6 * self.d[ids][:, None]
        start = self.center[ids]
        tip = start + axis * length
        back = -axis * length * 0.35
        c, s = math.cos(math.radians(28)), math.sin(math.radians(28))
        h1 = tip + np.stack([back[:, 0] * c - back[:, 1] * s, back[:, 0] * s + back[:, 1] * c], axis=1)
        h2 = tip + np.stack([back[:, 0] * c + back[:, 1] * s, -back[:, 0] * s + back[:, 1] * c], axis=1)
        return _polylines_d(np.stack([start, tip, h1, tip, h2], axis=1))

    def rows_d(self, lo: np.ndarray, hi: np.ndarray) -> str:
        """Path data of the row centerlines whose extent meets the box."""
        if not len(self.row_a):
            return ""
        blo = np.minimum(self.row_a, self.row_b)
        bhi = np.maximum(self.row_a, self.row_b)
        sel = np.flatnonzero(_meets(blo, bhi, lo, hi))
        return _polylines_d(np.stack([self.row_a[sel], self.row_b[sel]], axis=1))


def _meets(blo: np.ndarray, bhi: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Boxes (blo, bhi) that meet the box (lo, hi); False for NaN boxes."""
    return (blo[:, 0] <= hi[0]) & (bhi[:, 0] >= lo[0]) & (blo[:, 1] <= hi[1]) & (bhi[:, 1] >= lo[1])


def _viewbox(lo: np.ndarray, hi: np.ndarray) -> str:
    w, h = hi - lo
    return f"{_num(lo[0], 2)} {_num(-hi[1], 2)} {_num(w, 2)} {_num(h, 2)}"


def _scale_bar(lo: np.ndarray, hi: np.ndarray, size: float, inset: float) -> str:
    """A bar of a round length `inset` from the lower left corner, labelled in um at font size `size` (um)."""
    length = _nice((hi[0] - lo[0]) / 6)
    x0 = lo[0] + inset
    y = -(lo[1] + inset)
    return (
        f'<g class="scale"><path d="M{_num(x0, 2)},{_num(y, 2)}h{_num(length, 2)}"/>'
        f"{_label(x0 + length + 0.4 * size, y + 0.35 * size, size, f'{_num(length)} um')}</g>"
    )


def _label(x: float, y: float, size: float, text: str) -> str:
    """Text at the SVG point (x, y), `size` user units tall: set at 12 px and scaled, as browsers cap huge fonts."""
    return (
        f'<text transform="translate({_num(x, 2)},{_num(y, 2)}) scale({size / 12:.6g})" font-size="12">'
        f"{escape(text)}</text>"
    )


#: where a mark's label may stand, in font heights from the mark (x right, y up: its baseline's start),
#: tried in this order; then the same, stepped down a line at a time
LABEL_SPOTS = ((0.8, -1.3), (0.8, 0.6), (-0.8, -1.3), (-0.8, 0.6))
#: a label's width per character, in font heights (bold: a "W" is near one; with room between labels)
LABEL_CHAR = 0.72


def label_places(points: np.ndarray, texts: list[str], fs: float) -> list[tuple[float, float]]:
    """Where each mark's label stands (the baseline's start, um, y up) so that no two labels overlap:
    beside its mark where there is room, else a line lower each time. Labels `fs` um tall."""
    placed: list[tuple[float, float, float, float]] = []
    out = []
    for (x, y), text in zip(points.tolist(), texts, strict=True):
        w = LABEL_CHAR * fs * len(text)
        spot = None
        for down in range(2 * len(texts) + 2):  # (a label placed blocks at most two lines)
            for dx, dy in LABEL_SPOTS:
                lx = x + dx * fs - (w if dx < 0 else 0.0)
                ly = y + dy * fs - 1.1 * fs * down
                box = (lx - 0.2 * fs, ly - 0.25 * fs, lx + w + 0.2 * fs, ly + 0.95 * fs)  # (a space between)
                if not any(box[0] < b[2] and b[0] < box[2] and box[1] < b[3] and b[1] < box[3] for b in placed):
                    spot = (lx, ly, box)
                    break
            if spot is not None:
                break
        assert spot is not None
        placed.append(spot[2])
        out.append((spot[0], spot[1]))
    return out


def _svg(lo: np.ndarray, hi: np.ndarray, body: str, label: str, extra: str = "") -> str:
    return (
        f'<svg class="view"{extra} viewBox="{_viewbox(lo, hi)}" role="img" aria-label="{escape(label)}">'
        f"<title>{escape(label)}</title>"
        f'<rect class="bg" x="{_num(lo[0], 2)}" y="{_num(-hi[1], 2)}" width="{_num(hi[0] - lo[0], 2)}" '
        f'height="{_num(hi[1] - lo[1], 2)}"/>{body}</svg>'
    )


def _closeup(sc: _Scene, centre: np.ndarray, half: float, label: str, focus: int | None = None) -> str:
    """A zoomed picture of the square of half-width `half` around `centre`."""
    lo, hi = centre - half, centre + half
    cids = np.flatnonzero(_meets(sc.c_lo, sc.c_hi, lo, hi))
    aids = np.flatnonzero(sc.has_ap & _meets(sc.a_lo, sc.a_hi, lo, hi))
    if len(cids) > MAX_VIEW_ITEMS:
        cids = np.sort(cids[np.argsort(np.hypot(*(sc.center[cids] - centre).T), kind="stable")[:MAX_VIEW_ITEMS]])
    if len(aids) > MAX_VIEW_ITEMS:
        aids = np.sort(aids[np.argsort(np.hypot(*(sc.center[aids] - centre).T), kind="stable")[:MAX_VIEW_ITEMS]])
    shapes, _ = sc.layers(cids, aids, sc.rows_d(lo, hi))
    body = [shapes]
    if focus is not None:
        p = sc.plan.contacts.polygons.take(np.array([focus]))
        body.append(f'<path class="focus" d="{_path_d(p.coords, p.offsets)}"/>')
    fs = 2 * half / 24
    if len(cids) <= 200:
        # the id sits behind the strip arrow, which starts at the centre
        at = sc.center[cids].copy()
        strip = sc.strip[cids]
        axis = np.asarray(sc.plan.apertures.axis, dtype=float)[cids[strip]]
        at[strip] -= axis / np.linalg.norm(axis, axis=1)[:, None] * 0.3 * sc.d[cids[strip]][:, None]
        texts = "".join(
            _label(x, -y + 0.35 * fs, fs, str(i)) for i, (x, y) in zip(cids.tolist(), at.tolist(), strict=True)
        )
        body.append(f'<g class="ids">{texts}</g>')
    # (the scale bar in a band of its own below the square: it never lies over an aperture)
    below = lo - np.array([0.0, 1.8 * fs])
    body.append(_scale_bar(below, hi, fs, 0.06 * half))
    return _svg(below, hi, "".join(body), label)


# ---------------------------------------------------------------------------------------------- sections


def _kv(rows: list[tuple[str, str]], cls: str = "kv") -> str:
    body = "".join(f"<tr><th scope='row'>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in rows)
    return f'<table class="{cls}">{body}</table>'


def _rule_value(name: str, value: Any) -> str:
    """A rule's value with its unit, or named as a ratio / fraction."""
    if value is None:
        return "not set (default)"
    if isinstance(value, bool):  # (thickness_auto: the foil chosen among foil_thicknesses_um)
        return "yes" if value else "no"
    if isinstance(value, str):
        return value
    if name == "alloys":  # the rules file's [alloys.NAME]
        return ", ".join(str(a.get("name", a) if isinstance(a, dict) else a) for a in value) or "none added"
    if isinstance(value, list | tuple):
        return ", ".join(_num(v, 4) for v in value) + (" um" if name.endswith("_um") else "")
    if name == "step_keep_out":
        return f"{_num(value, 4)} step heights"
    if name.endswith("_c"):
        return _q(value, "C", 4)
    if name.endswith("_g_cm3"):
        return _q(value, "g/cm3", 4)
    if name.endswith("_um"):
        return _q(value, "um", 4)
    if name.endswith("_deg"):
        return _q(value, "deg", 4)
    if name.endswith("_mb"):
        return _q(value, "MB", 4)
    if name == "overprint_max":
        return f"{_num(value, 4)} d per side"
    if name in ("corner_reach", "tip_extension_max", "max_gap_pitches"):
        return _q(value, "pitch" if value == 1 else "pitches", 4)
    if name == "paste_type":
        return f"type {_num(value)}"
    if "ratio" in name and "width" not in name:
        return f"{_num(value, 4)} (ratio)"
    return f"{_num(value, 4)} (fraction)"


def _summary(doc: dict[str, Any], plan: Plan, severity: dict[str, str]) -> str:
    s = doc.get("summary", {})
    status = s.get("status") or {}
    vr = s.get("volume_ratio") or {}
    errors, warnings = int(s.get("errors") or 0), int(s.get("warnings") or 0)
    verdict = "error" if errors else "warning" if warnings else "ok"
    text = {"error": "errors: the stencil needs changes", "warning": "passes with warnings", "ok": "passes"}[verdict]
    layout = [
        ("file", str(s.get("file", "–"))),
        ("format", str(s.get("format", "–")).upper()),
        ("cell", str(s.get("cell", "–"))),
        ("layer", str(s.get("layer", "–"))),
        ("contacts", _count(s.get("contacts"))),
        ("rows", _count(s.get("rows"))),
        (
            "corners",
            _count(s.get("corners"))
            + (f" ({_count(s['straight_corners'])} with their strips straight)" if s.get("straight_corners") else ""),
        ),
        ("area arrays", _count(s.get("arrays"))),
        ("isolated contacts", _count(s.get("isolated"))),
    ]
    keep = s.get("keep_in") or {}
    if keep:  # (rule 8: which outline held the apertures, or that none did)
        box, held = keep.get("bbox_um"), keep.get("held_within_um")
        where = f" ({_num(box[0])}, {_num(box[1])}) to ({_num(box[2])}, {_num(box[3])}) um" if box else ""
        if not box and held and not held_open(held):  # (an open side, a single row: no box to give)
            where = f"; held within ({_num(held[0])}, {_num(held[1])}) to ({_num(held[2])}, {_num(held[3])}) um"
        die = keep.get("die_bbox_um") or keep.get("die_held_within_um")
        if die:  # (a wafer planned once per die: the die's own, in its coordinates)
            where += f"; the die's: ({_num(die[0])}, {_num(die[1])}) to ({_num(die[2])}, {_num(die[3])}) um"
        layout.append(("keep-in", f"{keep.get('source', '–')}{where}"))
    if s.get("excluded_shapes"):
        layout.append(("shapes left out", _count(len(s["excluded_shapes"]))))
    vrange = "–"
    if vr.get("min") is not None:
        top = "" if vr.get("max") in (None, vr["min"]) else f" to {_num(vr['max'])}"
        vrange = f"{_num(vr['min'])}{top} (volume ratio, nominal)"
    result = [
        (
            "apertures",
            f"{_count(s.get('apertures'))} ({_count(s.get('strips'))} strips, "
            f"{_count(s.get('oblique_strips'))} of them oblique, {_count(s.get('pads'))} pad-shaped)",
        ),
        ("errors", _counted(errors, "finding")),
        ("warnings", _counted(warnings, "finding")),
        (
            "contacts by status",
            ", ".join(f"{_count(status.get(k, 0))} {k}" for k in STATUSES),
        ),
        ("solder volume / (π·d³/6)", vrange),
        ("at the top of the transfer band", f"at most {_num(vr.get('max_at_top_of_band'))} (volume ratio)"),
        ("units", "all lengths in um, areas in um2, volumes in um3, angles in deg"),
    ]
    codes = s.get("findings_by_code") or {}
    code_rows = "".join(
        f'<tr class="sev-{escape(severity.get(k, ""))}"><td><code>{escape(str(k))}</code></td>'
        f'<td>{escape(severity.get(k, ""))}</td><td class="num">{_count(v)}</td></tr>'
        for k, v in codes.items()
    )
    code_table = (
        f'<table class="codes"><thead><tr><th>finding</th><th>severity</th><th class="num">count</th></tr></thead>'
        f"<tbody>{code_rows}</tbody></table>"
        if codes
        else "<p>No findings.</p>"
    )
    rules = s.get("rules") or {}
    rule_rows = "".join(
        f'<tr><th scope="row" title="{escape(DOCS.get(k, ""))}"><code>{escape(k)}</code></th>'
        f"<td>{escape(_rule_value(k, v))}</td></tr>"
        for k, v in rules.items()
    )
    outputs = s.get("outputs") or {}
    meta = " · ".join(
        escape(x)
        for x in (
            f"created {s.get('created', '–')}",
            str(s.get("generator", "stencilgen")),
            "outputs: " + (", ".join(str(v) for v in outputs.values()) or "none"),
        )
    )
    notes = "".join(f"<li>{escape(str(n))}</li>" for n in plan.notes)
    return (
        f'<header><h1>{escape(_kind(s))} <span class="file">{escape(str(s.get("file", "")))}</span></h1>'
        f'<p class="meta">{meta}</p>'
        f'<p class="verdict v-{verdict}"><span class="pill">{escape(verdict.upper())}</span> {escape(text)}: '
        f"{_counted(errors, 'error')}, {_counted(warnings, 'warning')}</p></header>"
        '<section id="summary"><h2>Summary</h2><div class="cards">'
        f'<div class="card"><h3>Layout</h3>{_kv(layout)}</div>'
        f'<div class="card"><h3>Stencil</h3>{_kv(result)}'
        + (f'<h3>Notes</h3><ul class="notes">{notes}</ul>' if notes else "")
        + f"<h3>Findings by code</h3>{code_table}</div>"
        + _foil_card(s)
        + '<div class="card"><h3>Rules used</h3>'
        f'<table class="kv rules">{rule_rows}</table></div></div></section>'
    )


def _kind(s: dict[str, Any]) -> str:
    """What the page reports: a plan, or a check of a stencil drawn elsewhere (its summary names it)."""
    if not s.get("stencil"):
        return "Stencil plan"
    return f"Stencil check of {os.path.basename(str(s['stencil']))} against"


def _foil_card(s: dict[str, Any]) -> str:
    """thickness_um = "auto": the foils tried, the one kept and the step-stencil proposal."""
    foil = s.get("foil")
    if not foil:
        return ""
    chosen = foil.get("chosen_um")
    mark = {True: ' class="chosen"', False: ""}
    rows = "".join(
        f'<tr{mark[r["thickness_um"] == chosen]}><td class="num">{_q(r["thickness_um"], "um")}'
        f'</td><td class="num">{_count(r["errors"])}</td><td class="num">{_count(r["warnings"])}</td>'
        f'<td class="num">{_count(r["under_volume"])}</td>'
        f'<td class="num">{_count(r.get("area_or_aspect_ratio", 0))}</td></tr>'
        for r in foil.get("table") or []
    )
    table = (
        '<div class="scroll-x"><table class="foil"><thead><tr><th class="num">foil</th><th class="num">errors</th>'
        f'<th class="num">warnings</th><th class="num" title="under_volume findings">under volume</th>'
        '<th class="num" title="area_ratio or aspect_ratio findings: apertures the paste may not leave">'
        f"ratios</th></tr></thead><tbody>{rows}</tbody></table></div>"
    )
    step = foil.get("step")
    if step:
        items = "".join(
            f"<li>{_q(r['thickness_um'], 'um')} over ({_num(r['bbox_um'][0])}, {_num(r['bbox_um'][1])}) to "
            f"({_num(r['bbox_um'][2])}, {_num(r['bbox_um'][3])}) um: {_count(r['contacts'])} contacts, "
            f"{_count(r['warnings_at_base'])} → {_count(r['warnings'])} warnings, "
            f"{_count(r['errors_at_base'])} → {_count(r['errors'])} errors; keep-out {_q(r['keep_out_um'], 'um')}"
            "</li>"
            for r in step["regions"]
        )
        other = (
            ""
            if step["base_thickness_um"] == chosen
            else f" (not the {_q(chosen, 'um')} kept, at which the stencil files are drawn)"
        )
        proposal = (
            f"<p>Step stencil proposed: base {_q(step['base_thickness_um'], 'um')}{other}, stepped in</p>"
            f"<ul>{items}</ul>"
            f"<p>With the steps: {_counted(step['errors'], 'error')}, {_counted(step['warnings'], 'warning')}. "
            "The stencil files are drawn for one foil; the regions are drawn on the overview.</p>"
        )
    else:
        proposal = "<p>No step stencil would do better than the one foil.</p>"
    hints = "".join(
        f"<p>{_q(best['thickness_um'], 'um')} leaves {_count(best[key])} {what} ({_q(chosen, 'um')}: "
        f"{_count(kept[key])}), with {_count(best['warnings'])} warnings in all{'; ' + why if why else ''}.</p>"
        for kept, best, key, what, why in foil_hints(foil)
    )
    proposal = hints + proposal
    declined = foil.get("step_declined") or []
    if declined:
        base = (step or {}).get("base_thickness_um", chosen)  # (judged against the proposal's base)
        said = "".join(f"<li>{escape(declined_said(d, base))}</li>" for d in declined)
        proposal += f"<p>Not proposed:</p><ul>{said}</ul>"
    return (
        f'<div class="card"><h3>Foil choice</h3><p>Planned at each stocked foil; kept {_q(chosen, "um")} '
        f"(fewest errors, then warnings, then the thinner).</p>{table}{proposal}</div>"
    )


LEGEND = (
    '<p class="legend"><span class="sw ct"></span>contact <span class="sw ap-ok"></span>aperture ok '
    '<span class="sw ap-warning"></span>aperture with warnings <span class="sw ap-error"></span>aperture with errors '
    '<span class="sw row"></span>row centerline <span class="sw arrow"></span>strip direction{more}</p>'
)
#: the legend's entries for the outlines drawn besides the stencil (_boxes_of's classes)
LEGEND_BOXES = {"keepin": "keep-in outline", "step": "proposed step region"}


def _legend(s: dict[str, Any], stray: bool = False) -> str:
    """The legend, naming the outlines only where some are drawn (and the apertures on no contact)."""
    drawn = dict.fromkeys(cls for cls, _box, _text in _boxes_of(s))
    more = "".join(f' <span class="sw {c}"></span>{LEGEND_BOXES[c]}' for c in drawn)
    return LEGEND.format(more=more + (' <span class="sw stray"></span>aperture on no contact' if stray else ""))


def _boxes_of(s: dict[str, Any]) -> list[tuple[str, list[float], str]]:
    """The outlines the overview draws besides the stencil: the keep-in used and proposed step regions
    (class, box in um, label)."""
    out = []
    box = (s.get("keep_in") or {}).get("bbox_um")
    if box:
        out.append(("keepin", box, "keep-in"))
    step = (s.get("foil") or {}).get("step") or {}
    for r in step.get("regions") or []:
        out.append(("step", r["bbox_um"], f"{_num(r['thickness_um'])} um foil"))
    return out


#: the apertures on no contact drawn on a check's overview (the rest listed in the JSON)
MAX_STRAY_DRAWN = 2000
#: and listed in its table
MAX_STRAY_LISTED = 100


def _stray_svg(stray: Sequence[np.ndarray], fs: float) -> str:
    """A check's apertures on no contact: each outline, and a ring around one too small to see on the
    overview."""
    shown = [np.asarray(p, dtype=float).reshape(-1, 2) for p in stray[:MAX_STRAY_DRAWN]]
    d = "".join(
        "M" + "L".join(f"{_num(x, 2)},{_num(-y, 2)}" for x, y in p.tolist()) + "Z" for p in shown if len(p) >= 3
    )
    rings = "".join(
        f'<circle cx="{_num(c[0], 2)}" cy="{_num(-c[1], 2)}" r="{_num(0.8 * fs, 2)}"/>'
        for p in shown
        if len(p) and float(np.max(p.max(axis=0) - p.min(axis=0))) < fs
        for c in [(p.min(axis=0) + p.max(axis=0)) / 2]
    )
    return f'<path class="stray" d="{d}"/><g class="stray-ring">{rings}</g>'


def _stray_table(records: list[dict[str, Any]]) -> str:
    """The apertures on no contact: where each lies and its area (the first MAX_STRAY_LISTED)."""
    rows = "".join(
        f"<tr><td>{k}</td><td>{_num(r['center_um'][0])}</td><td>{_num(r['center_um'][1])}</td>"
        f"<td>{_num(r['area_um2'])}</td></tr>"
        for k, r in enumerate(records[:MAX_STRAY_LISTED])
    )
    more = len(records) - MAX_STRAY_LISTED
    left = f"<p>{_count(more)} more in the JSON report (summary.stray_apertures).</p>" if more > 0 else ""
    return (
        f'<h3 id="stray">Apertures on no contact ({_count(len(records))}: errors)</h3>'
        '<div class="scroll-x"><table class="stray"><thead><tr><th>#</th><th>x (um)</th><th>y (um)</th>'
        f"<th>area (um²)</th></tr></thead><tbody>{rows}</tbody></table></div>{left}"
    )


def _outlines_svg(s: dict[str, Any], fs: float) -> str:
    parts = []
    for cls, (x0, y0, x1, y1), text in _boxes_of(s):
        parts.append(
            f'<rect class="{cls}" x="{_num(x0, 2)}" y="{_num(-y1, 2)}" width="{_num(x1 - x0, 2)}" '
            f'height="{_num(y1 - y0, 2)}"/>'
            f'<g class="{cls}-label">{_label(x0 + 0.5 * fs, -y1 + 1.2 * fs, fs, text)}</g>'
        )
    return "".join(parts)


def _pictures(sc: _Scene, doc: dict[str, Any], stray: Sequence[np.ndarray] = ()) -> str:
    """The overview (every aperture over its contact, and `stray`: a check's apertures on no contact,
    outlines in um), the corners' and the worst contacts' close-ups."""
    records = doc.get("contacts") or []
    box = sc.bounds()
    legend = _legend(doc.get("summary") or {}, bool(stray))
    parts = ['<section id="pictures"><h2>Stencil over the contacts</h2>', legend]
    if box is None:
        parts.append("<p>No contacts to draw.</p></section>")
        return "".join(parts)
    lo, hi = box
    for _cls, (x0, y0, x1, y1), _text in _boxes_of(doc.get("summary") or {}):
        lo, hi = np.minimum(lo, [x0, y0]), np.maximum(hi, [x1, y1])
    if len(stray):  # (a stencil shifted off its contacts: its apertures drawn where they lie)
        pts = np.vstack([np.asarray(p, dtype=float).reshape(-1, 2) for p in stray])
        lo, hi = np.minimum(lo, pts.min(axis=0)), np.maximum(hi, pts.max(axis=0))
    upx = max(float(hi[0] - lo[0]) / 1100, float(hi[1] - lo[1]) / 560, 1e-6)  # um per screen pixel, about
    lo, hi = lo - np.array([12, 36]) * upx, hi + 12 * upx  # room for the scale bar below
    corners = sc.plan.rows.corners[:MAX_CORNERS]
    worst = _worst(sc, records)
    body = []
    n_ap = int(sc.has_ap.sum())
    if n_ap <= MAX_DRAWN:
        shapes, drawn = sc.layers(np.arange(sc.n), np.flatnonzero(sc.has_ap), sc.rows_d(lo, hi))
        body.append(shapes)
        note = f"{_counted(drawn, 'aperture')} drawn."
    else:
        step = math.ceil(sc.n / MAX_DRAWN)
        body.append(f'<path class="dots dot-all" d="{_dots_d(sc.center[::step])}"/>')
        for k in (1, 2):
            ids = np.flatnonzero(sc.status == k)
            every = max(1, math.ceil(len(ids) / MAX_DRAWN))
            if len(ids):
                body.append(f'<path class="dots dot-{STATUSES[k]}" d="{_dots_d(sc.center[ids[::every]])}"/>')
        note = (
            f"{n_ap:,} apertures: too many to draw one by one at this scale. Every {step}th contact is a grey dot, "
            "contacts with warnings or errors are coloured dots; the close-ups below show the shapes."
        )
    fs = 12 * upx
    marks = []
    points = [np.asarray(c.point, dtype=float) for c in corners] + [sc.center[i] for i in worst]
    texts = [f"C{k}" for k in range(1, len(corners) + 1)] + [f"W{k}" for k in range(1, len(worst) + 1)]
    at = label_places(np.array(points).reshape(-1, 2), texts, fs)
    for k, (x, y) in enumerate(points[: len(corners)], 1):
        lx, ly = at[k - 1]
        marks.append(
            f'<a href="#corner-{k}"><circle cx="{_num(x, 2)}" cy="{_num(-y, 2)}" r="{_num(0.8 * fs, 2)}"/>'
            f"{_label(lx, -ly, fs, f'C{k}')}</a>"
        )
    for k, (x, y) in enumerate(points[len(corners) :], 1):
        lx, ly = at[len(corners) + k - 1]
        marks.append(
            f'<a href="#worst-{k}"><circle cx="{_num(x, 2)}" cy="{_num(-y, 2)}" r="{_num(0.6 * fs, 2)}"/>'
            f"{_label(lx, -ly, fs, f'W{k}')}</a>"
        )
    body.append(_outlines_svg(doc.get("summary") or {}, fs))
    if len(stray):
        body.append(_stray_svg(stray, fs))
        note += f" {_counted(len(stray), 'aperture')} on no contact, in red (ringed where small; listed below)."
    body.append(f'<g class="marks">{"".join(marks)}</g>')
    body.append(_scale_bar(lo, hi, fs, 14 * upx))
    label = f"The whole element: {sc.n:,} contacts, {n_ap:,} apertures"
    overview = _svg(lo, hi, "".join(body), label, ' id="overview-svg"')
    parts.append(f'<figure id="overview">{overview}')
    keys = ["C1… mark corners"] * bool(corners) + ["W1… the contacts of the close-ups"] * bool(len(worst))
    told = f" {', '.join(keys)}; click one to jump to it." if keys else ""
    parts.append(f"<figcaption>{escape(note)}{told}</figcaption></figure>")
    if len(stray):
        parts.append(_stray_table((doc.get("summary") or {}).get("stray_apertures") or []))
    if corners:
        parts.append('<h3>Corners</h3><div class="grid">')
        for k, corner in enumerate(corners, 1):
            a, b = int(corner.rows[0]), int(corner.rows[1])
            pitches = [r.pitch for r in sc.plan.rows.rows if r.id in (a, b)]
            pitch = float(max(pitches)) if pitches else float(median(sc.d)) * 2
            point = np.asarray(corner.point, dtype=float)
            centre, half = point, 4 * pitch
            members = np.asarray(corner.members, dtype=np.int64)
            if len(members):  # the point and the corner's contacts and apertures, with 1.5 pitches around
                boxes = [point[None], sc.c_lo[members], sc.c_hi[members]]
                have = members[sc.has_ap[members]]
                boxes += [sc.a_lo[have], sc.a_hi[have]]
                lo_k, hi_k = np.nanmin(np.vstack(boxes), axis=0), np.nanmax(np.vstack(boxes), axis=0)
                centre, half = (lo_k + hi_k) / 2, float(max(hi_k - lo_k)) / 2 + 1.5 * pitch
            label = (
                f"C{k}: rows {a} and {b} meet at ({_num(point[0])}, {_num(point[1])}) um, "
                f"{_num(corner.angle_deg, 1)} deg; pitch {_num(pitch)} um"
            )
            parts.append(
                f'<figure class="closeup corner" id="corner-{k}">{_closeup(sc, centre, half, label)}'
                f"<figcaption>{escape(label)}</figcaption></figure>"
            )
        parts.append("</div>")
        if len(sc.plan.rows.corners) > MAX_CORNERS:
            parts.append(f"<p>{len(sc.plan.rows.corners) - MAX_CORNERS} more corners are not shown.</p>")
    if worst:
        parts.append('<h3>Worst contacts</h3><div class="grid">')
        for k, i in enumerate(worst, 1):
            lo_i, hi_i = sc.c_lo[i], sc.c_hi[i]
            if sc.has_ap[i]:
                lo_i, hi_i = np.minimum(lo_i, sc.a_lo[i]), np.maximum(hi_i, sc.a_hi[i])
            centre = (lo_i + hi_i) / 2
            half = 1.5 * float(max(hi_i - lo_i))
            r = records[i] if i < len(records) else {}
            codes = ", ".join(sorted({str(f.get("code")) for f in r.get("findings") or []})) or "no findings"
            label = (
                f"W{k}: contact {i} at ({_num(r.get('x_um'))}, {_num(r.get('y_um'))}) um, {r.get('status', '–')}: "
                f"{codes}; volume ratio {_num(r.get('volume_ratio'))}, area ratio {_num(r.get('area_ratio'))}"
            )
            if r.get("limited_by"):
                label += f"; limited by {_limited(r)}"
            parts.append(
                f'<figure class="closeup worst" id="worst-{k}">{_closeup(sc, centre, half, label, focus=i)}'
                f"<figcaption>{escape(label)}</figcaption></figure>"
            )
        parts.append("</div>")
    parts.append("</section>")
    return "".join(parts)


def _worst(sc: _Scene, records: list[dict[str, Any]]) -> list[int]:
    """The contacts of the close-ups: error contacts first (lowest volume ratio first), then the WORST
    of lowest volume ratio among those with apertures; MAX_WORST in all."""
    if len(records) != sc.n:
        return []
    vr = np.array([np.nan if v is None else float(v) for v in column(records, "volume_ratio")])
    have = np.flatnonzero(np.array([a != "none" for a in column(records, "aperture")], dtype=bool) & np.isfinite(vr))
    lowest = have[np.argsort(vr[have], kind="stable")[:WORST]].tolist()
    errors = np.flatnonzero(sc.status == 2)
    key = np.where(np.isfinite(vr[errors]), vr[errors], np.inf)
    chosen = errors[np.argsort(key, kind="stable")][: MAX_WORST - min(len(lowest), MAX_WORST - WORST)].tolist()
    chosen += [i for i in lowest if i not in chosen]
    return [int(i) for i in chosen[:MAX_WORST]]


def _histogram(
    values: np.ndarray, edges: np.ndarray, limits: list[tuple[float, str, str]], xlabel: str, title: str, zone: Any
) -> str:
    """A bar chart of `values` over `edges` (values beyond the ends count in the end bars) with limit lines."""
    width, height = 560, 270
    left, right, top, bottom = 52, 16, 26, 48
    pw, ph = width - left - right, height - top - bottom
    counts, _ = np.histogram(np.clip(values, edges[0], edges[-1]), bins=edges)
    ymax = int(counts.max()) if len(counts) else 0
    step = max(1.0, _nice(max(ymax, 1) / 4))
    ytop = max(step, math.ceil(max(ymax, 1) / step) * step)
    x0, x1 = float(edges[0]), float(edges[-1])

    def sx(v: float) -> float:
        return left + (v - x0) / (x1 - x0) * pw

    def sy(c: float) -> float:
        return top + ph - c / ytop * ph

    out = [
        f'<svg class="hist" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
    ]
    for k, c in enumerate(counts.tolist()):
        if c:
            xa, xb = sx(edges[k]) + 0.5, sx(edges[k + 1]) - 0.5
            out.append(
                f'<rect class="bar {zone(float(edges[k]), float(edges[k + 1]))}" x="{xa:.1f}" y="{sy(c):.1f}" '
                f'width="{xb - xa:.1f}" height="{sy(0) - sy(c):.1f}"><title>{_num(edges[k], 2)} to '
                f"{_num(edges[k + 1], 2)}: {c} contacts</title></rect>"
            )
    yt = 0.0
    while yt <= ytop + 1e-9:
        out.append(
            f'<path class="grid" d="M{left},{sy(yt):.1f}h{pw}"/>'
            f'<text class="tick" x="{left - 6}" y="{sy(yt) + 4:.1f}" text-anchor="end">{_num(yt)}</text>'
        )
        yt += step
    tick = 0.2
    for k in range(round((x1 - x0) / tick) + 1):
        v = x0 + k * tick
        out.append(
            f'<path class="axis" d="M{sx(v):.1f},{top + ph}v5"/>'
            f'<text class="tick" x="{sx(v):.1f}" y="{top + ph + 17}" text-anchor="middle">{_num(v, 2)}</text>'
        )
    out.append(f'<path class="axis" d="M{left},{top}V{top + ph}H{left + pw}"/>')
    for k, (v, text, cls) in enumerate(sorted(limits)):
        if x0 <= v <= x1:
            anchor = "end" if v > (x0 + x1) / 2 else "start"
            dx = -4 if anchor == "end" else 4
            out.append(
                f'<path class="limit {cls}" d="M{sx(v):.1f},{top - 4}V{top + ph}"/>'
                f'<text class="lim-label {cls}" x="{sx(v) + dx:.1f}" y="{top + 8 + 13 * k}" '
                f'text-anchor="{anchor}">{escape(text)}</text>'
            )
    out.append(
        f'<text class="label" x="{left + pw / 2}" y="{height - 8}" text-anchor="middle">{escape(xlabel)}</text>'
        f'<text class="label" transform="translate(14,{top + ph / 2}) rotate(-90)" text-anchor="middle">contacts</text>'
        "</svg>"
    )
    return "".join(out)


def _histograms(doc: dict[str, Any]) -> str:
    s = doc.get("summary", {})
    rules = s.get("rules") or {}
    all_records = doc.get("contacts") or []
    used = [a != "none" for a in column(all_records, "aperture")]
    vol = np.array(
        [v for v, u in zip(column(all_records, "volume_ratio"), used, strict=True) if u and v is not None], dtype=float
    )
    area = np.array(
        [v for v, u in zip(column(all_records, "area_ratio"), used, strict=True) if u and v is not None], dtype=float
    )
    # (under_volume is judged at the bottom of the transfer band: on this nominal axis, volume_min lies
    # higher by the nominal efficiency over the band's least; the limit, judged at its top, lower)
    vmin0 = float(rules.get("volume_min", 0.3))
    te = float(rules.get("transfer_efficiency", 1.0))
    vmin = vmin0 * te / float(rules.get("transfer_efficiency_min", te))
    vtop = te / float(rules.get("transfer_efficiency_max", te))
    amin = float(rules.get("area_ratio_min", 0.66))
    vlimits = [
        (vtop, "limit (1 at band top)", "lim-error"),
        (vmin, f"volume_min ({_num(vmin0)} at band bottom)", "lim-warning"),
    ]
    if rules.get("volume_target") is not None:
        vlimits.append((float(rules["volume_target"]), f"target {_num(rules['volume_target'])}", "lim-target"))

    def vzone(a: float, b: float) -> str:
        return "z-error" if a >= vtop - 1e-9 else "z-warning" if b <= vmin + 1e-9 else "z-ok"

    def azone(a: float, b: float) -> str:
        return "z-warning" if b <= amin + 1e-9 else "z-ok"

    vh = _histogram(
        vol,
        VOLUME_BINS,
        vlimits,
        "volume ratio: nominal solder volume / (π·d³/6)",
        "Histogram of the nominal volume ratio",
        vzone,
    )
    ah = _histogram(
        area,
        AREA_BINS,
        [(amin, f"area_ratio_min {_num(amin)}", "lim-warning")],
        "area ratio: aperture area / (perimeter × thickness)",
        "Histogram of the area ratio",
        azone,
    )
    return (
        '<section id="histograms"><h2>Distributions</h2><div class="cards two">'
        f'<div class="card"><h3>Volume ratio ({_counted(len(vol), "aperture")})</h3>{vh}'
        '<p class="small">Bins of 0.05; ratios above 1.2 count in the last bar.</p></div>'
        f'<div class="card"><h3>Area ratio ({_counted(len(area), "aperture")})</h3>{ah}'
        '<p class="small">Bins of 0.1; ratios above 2 count in the last bar.</p></div></div></section>'
    )


COLUMNS: list[tuple[str, str, bool, int]] = [  # key, header, numeric, decimals
    # (the verdict first: the last columns scroll out of sight in a narrow window)
    ("id", "id", True, 0),
    ("status", "status", False, 0),
    ("findings", "findings", False, 0),
    ("x_um", "x (um)", True, 3),
    ("y_um", "y (um)", True, 3),
    ("row", "row", True, 0),
    ("d_um", "d (um)", True, 3),
    ("aperture", "aperture", False, 0),
    ("aperture_area_um2", "aperture area (um2)", True, 1),
    ("volume_ratio", "volume ratio", True, 3),
    ("volume_ratio_low", "at the band's bottom", True, 3),
    ("area_ratio", "area ratio", True, 3),
    ("cap_height_um", "cap height (um)", True, 2),
    ("limited_by", "limited by", False, 0),
]


#: the record fields the table reads
TABLE_FIELDS = (
    *(k for k, *_ in COLUMNS if k != "volume_ratio_low"),
    "solder_volume_band_um3",
    "volume_limit_um3",
    "limited_by_contact",
)


def _limited(r: dict[str, Any]) -> str:
    """The rule that limits a contact's aperture, with the other contact it names ("–" if none)."""
    why = r.get("limited_by")
    if not why:
        return "–"
    other = r.get("limited_by_contact")
    return f"{why} (contact {other})" if other is not None else str(why)


def _low_ratio(r: dict[str, Any]) -> float | None:
    """The volume ratio at the bottom of the transfer band, where under_volume is judged (None: none)."""
    band, limit = r.get("solder_volume_band_um3"), r.get("volume_limit_um3")
    return round(band[0] / limit, 3) if band and limit else None


def _table(records: Any, bad: list[int]) -> str:
    """The sortable table of the contacts with findings (errors first, then by volume ratio)."""
    status, ratio = column(records, "status"), column(records, "volume_ratio")
    # errors first, then by volume ratio (none: last), then by id; sorted as arrays, a million at once
    ids = np.asarray(bad, dtype=np.int64)
    later = np.array([status[i] != "error" for i in bad], dtype=bool)
    v = np.array([ratio[i] for i in bad], dtype=float)  # (None: NaN)
    v[np.isnan(v)] = math.inf
    order = np.lexsort((ids, v, later))[:MAX_TABLE]
    # (of a flat layout's records, only the fields the table shows)
    if isinstance(records, ContactRecords):
        shown = [records.some_fields(i, TABLE_FIELDS) for i in ids[order].tolist()]
    else:
        shown = [records[i] for i in ids[order].tolist()]
    head = "".join(
        f'<th scope="col" tabindex="0" data-key="{k}" data-type="{"num" if num else "text"}">{escape(h)}</th>'
        for k, h, num, _ in COLUMNS
    )
    rows = []
    for r in shown:
        cells = []
        for key, _, num, nd in COLUMNS:
            if key == "findings":
                fs = r.get("findings") or []
                codes = ", ".join(sorted({str(f.get("code")) for f in fs}))
                tip = "\n".join(str(f.get("message", "")) for f in fs)
                cells.append(f'<td title="{escape(tip)}">{escape(codes)}</td>')
            elif num:
                value = _low_ratio(r) if key == "volume_ratio_low" else r.get(key)
                if value is None:
                    cells.append("<td>–</td>")
                else:
                    cells.append(f'<td class="num" data-v="{escape(repr(value))}">{_num(value, nd)}</td>')
            elif key == "limited_by":
                cells.append(f'<td class="{key}">{escape(_limited(r))}</td>')
            else:
                cells.append(f'<td class="{key}">{escape(str(r.get(key, "–")))}</td>')
        rows.append(f'<tr class="st-{escape(str(r.get("status")))}">{"".join(cells)}</tr>')
    more = len(bad) - len(shown)
    note = f"{_counted(len(bad), 'contact')} " + ("has findings" if len(bad) == 1 else "have findings")
    note += (
        f"; the {len(shown):,} listed are the errors first, then the lowest volume ratios ({more:,} left out)."
        if more
        else "."
    )
    return (
        '<section id="findings"><h2>Contacts with findings</h2>'
        f"<p>{escape(note)} Click a column header to sort; hover over the findings for the messages. "
        "Lengths in um, areas in um2.</p>"
        '<div class="scroll"><table class="data" id="findings-table">'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table></div></section>"
    )


CSS = """
:root{--ok:#2f9e58;--warning:#e8a317;--error:#d7263d;--ink:#1d2733;--muted:#5f6b7a;--line:#d9dee5;--bg:#f4f6f9;
--contact:#cfd8e3;--row:#2f6fbf}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;
color:var(--ink);background:var(--bg)}
main{max-width:1180px;margin:0 auto;padding:18px 20px 40px}
h1{font-size:22px;margin:0 0 2px}h1 .file{font-weight:500;color:var(--muted);overflow-wrap:anywhere}
h2{font-size:17px;margin:26px 0 10px;padding-bottom:4px;border-bottom:1px solid var(--line)}
h3{font-size:13px;margin:4px 0 6px;text-transform:uppercase;letter-spacing:.04em;color:var(--muted)}
.card h3+table,.card h3+p{margin-top:0}.card h3:not(:first-child){margin-top:12px}
.meta{color:var(--muted);margin:0 0 8px;font-size:13px;overflow-wrap:anywhere}
.verdict{margin:6px 0 0;font-weight:600}
.pill{display:inline-block;padding:1px 10px;border-radius:999px;color:#fff;font-size:12px;letter-spacing:.05em}
.v-ok .pill{background:var(--ok)}.v-warning .pill{background:var(--warning)}.v-error .pill{background:var(--error)}
.cards{display:grid;grid-template-columns:minmax(0,1.05fr) minmax(0,1.25fr) minmax(0,1fr);gap:14px;align-items:start}
.cards.two{grid-template-columns:minmax(0,1fr) minmax(0,1fr)}
@media (max-width:900px){.cards,.cards.two{grid-template-columns:1fr}}
.card{background:#fff;border:1px solid var(--line);border-radius:8px;padding:10px 14px}
table{border-collapse:collapse}
table.kv th{font-weight:normal;color:var(--muted);text-align:left;padding:2px 10px 2px 0;vertical-align:top}
table.kv td{padding:2px 0;overflow-wrap:anywhere}
table.rules{font-size:11.5px;line-height:1.3}table.rules th{padding:0 10px 0 0}table.rules td{padding:0}
table.rules code{font-size:11px}
table.codes{width:100%}table.codes th,table.codes td{text-align:left;padding:2px 8px 2px 0}
table.codes th{color:var(--muted);font-weight:normal;border-bottom:1px solid var(--line)}
.num{text-align:right;font-variant-numeric:tabular-nums}
tr.sev-error td:nth-child(2){color:var(--error);font-weight:600}
tr.sev-warning td:nth-child(2){color:#a86f00}
code{font:12px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
.notes{margin:0;padding-left:18px}
figure{margin:0;background:#fff;border:1px solid var(--line);border-radius:8px;padding:8px}
figcaption{font-size:12px;color:var(--muted);padding:6px 2px 0}
.view{display:block;width:100%;height:auto}
#overview .view{max-height:600px}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(270px,1fr));gap:12px}
.legend{font-size:12.5px;color:var(--muted);margin:0 0 8px}
.sw{display:inline-block;width:14px;height:10px;margin:0 4px 0 12px;vertical-align:-1px;border-radius:2px}
.sw:first-child{margin-left:0}
.sw.ct{background:var(--contact);border:1px solid #8e9cae}.sw.ap-ok{background:var(--ok)}
.sw.ap-warning{background:var(--warning)}.sw.ap-error{background:var(--error)}
.sw.row{height:2px;vertical-align:3px;background:var(--row)}
.sw.arrow{height:2px;vertical-align:3px;background:#222}
svg .bg{fill:#fff}
svg path{vector-effect:non-scaling-stroke}
svg .ct{fill:var(--contact);stroke:#8e9cae;stroke-width:.8px}
svg .ap{fill-opacity:.85;stroke-width:.8px}
svg .ap-ok{fill:var(--ok);stroke:#1c6b3a}svg .ap-warning{fill:var(--warning);stroke:#9a6a00}
svg .ap-error{fill:var(--error);stroke:#8c1424}
svg .row{fill:none;stroke:var(--row);stroke-width:1px;stroke-opacity:.75}
svg .arrow{fill:none;stroke:#222;stroke-width:1.2px;stroke-linecap:round;stroke-linejoin:round}
svg .focus{fill:none;stroke:#111;stroke-width:2px;stroke-dasharray:5 3}
svg .ids text{fill:#26313d;text-anchor:middle;font-weight:600;paint-order:stroke;stroke:#fff;stroke-width:3px;
stroke-opacity:.8;vector-effect:non-scaling-stroke}
svg .scale path{stroke:#222;stroke-width:2px}
svg .scale text{fill:#222;paint-order:stroke;stroke:#fff;stroke-width:3px;vector-effect:non-scaling-stroke}
svg .marks circle{fill:none;stroke:#3a2a8c;stroke-width:1.5px;vector-effect:non-scaling-stroke}
svg .marks text{fill:#3a2a8c;font-weight:700}
svg .keepin{fill:none;stroke:#0b7a75;stroke-width:1.5px;stroke-dasharray:8 4;vector-effect:non-scaling-stroke}
svg .step{fill:#6b4fbb;fill-opacity:.06;stroke:#6b4fbb;stroke-width:1.5px;stroke-dasharray:3 3;
vector-effect:non-scaling-stroke}
svg .keepin-label text{fill:#0b7a75;font-weight:600}svg .step-label text{fill:#6b4fbb;font-weight:600}
svg .keepin-label text,svg .step-label text{paint-order:stroke;stroke:#fff;stroke-width:3px;stroke-opacity:.85;
vector-effect:non-scaling-stroke}
.sw.keepin{height:0;border-top:2px dashed #0b7a75;border-radius:0}
.sw.step{background:rgba(107,79,187,.12);border:1px dashed #6b4fbb}
svg .stray{fill:#e0002a;fill-opacity:.55;stroke:#8c1424;stroke-width:.8px}
svg .stray-ring circle{fill:none;stroke:#e0002a;stroke-width:1.5px;vector-effect:non-scaling-stroke}
.sw.stray{background:rgba(224,0,42,.55);border:1px solid #8c1424}table.stray td,table.stray th{padding:1px 10px}
table.foil tr.chosen td{font-weight:700}table.foil td{white-space:nowrap;padding:1px 0 1px 6px}
table.foil{font-size:12px}table.foil th{padding:1px 0 1px 6px;vertical-align:bottom}.scroll-x{overflow-x:auto}
svg .dots{fill:none;stroke-linecap:round;stroke-width:2.5px}
svg .dot-all{stroke:#9aa7b7}svg .dot-warning{stroke:var(--warning)}svg .dot-error{stroke:var(--error);stroke-width:4px}
.hist{display:block;width:100%;height:auto;font-size:11px}
.hist .bar.z-ok{fill:#4f8fd6}.hist .bar.z-warning{fill:var(--warning)}.hist .bar.z-error{fill:var(--error)}
.hist .grid{stroke:#e6e9ee}.hist .axis{stroke:#555;fill:none}.hist .tick{fill:#555}
.hist .label{fill:#333;font-size:12px}
.hist .limit{stroke-width:1.5px;stroke-dasharray:5 3}.lim-error{stroke:var(--error);fill:var(--error)}
.lim-warning{stroke:#c07f00;fill:#a86f00}.lim-target{stroke:#777;fill:#555}
.hist text.lim-label{stroke:#fff;stroke-width:3px;stroke-dasharray:none;paint-order:stroke}
.small{font-size:12px;color:var(--muted);margin:4px 0 0}
.scroll{max-height:75vh;overflow:auto;border:1px solid var(--line);border-radius:8px;background:#fff}
table.data{width:100%;font-size:12.5px}
table.data th{position:sticky;top:0;background:#eef1f5;cursor:pointer;user-select:none;text-align:left;
padding:6px 8px;border-bottom:1px solid var(--line);white-space:nowrap}
table.data th:hover{background:#e2e7ee}
table.data td{padding:3px 8px;border-bottom:1px solid #eef0f3;white-space:nowrap}
table.data td:last-child{white-space:normal}
th[aria-sort=ascending]::after{content:" \\25B2";font-size:10px}
th[aria-sort=descending]::after{content:" \\25BC";font-size:10px}
tr.st-error td.status{color:var(--error);font-weight:700}tr.st-warning td.status{color:#a86f00;font-weight:600}
"""

JS = """
(function () {
  "use strict";
  var table = document.getElementById("findings-table");
  function value(row, idx, numeric) {
    var cell = row.cells[idx];
    if (!numeric) { return cell.textContent; }
    var v = cell.getAttribute("data-v");
    return v === null ? NaN : parseFloat(v);
  }
  function sortTable(key, descending) {
    if (!table || !table.tHead || !table.tBodies.length) { return false; }
    var heads = table.tHead.rows[0].cells, idx = -1, numeric = false, i;
    for (i = 0; i < heads.length; i++) {
      if (heads[i].getAttribute("data-key") === key) {
        idx = i;
        numeric = heads[i].getAttribute("data-type") === "num";
      }
    }
    if (idx < 0) { return false; }
    for (i = 0; i < heads.length; i++) { heads[i].removeAttribute("aria-sort"); }
    var body = table.tBodies[0], sign = descending ? -1 : 1;
    var keyed = Array.prototype.map.call(body.rows, function (r, n) {
      return { r: r, n: n, v: value(r, idx, numeric) };
    });
    keyed.sort(function (a, b) {
      var c;
      if (numeric) {
        var an = isNaN(a.v), bn = isNaN(b.v);
        c = (an || bn) ? (an === bn ? 0 : (an ? 1 : -1)) : sign * (a.v - b.v);
      } else {
        c = sign * a.v.localeCompare(b.v);
      }
      return c || a.n - b.n;
    });
    var frag = document.createDocumentFragment();
    keyed.forEach(function (k) { frag.appendChild(k.r); });
    body.appendChild(frag);
    heads[idx].setAttribute("aria-sort", descending ? "descending" : "ascending");
    table.setAttribute("data-sorted", key + (descending ? ":desc" : ":asc"));
    return true;
  }
  if (table && table.tHead) {
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th) {
      function go() { sortTable(th.getAttribute("data-key"), th.getAttribute("aria-sort") === "ascending"); }
      th.addEventListener("click", go);
      th.addEventListener("keydown", function (e) {
        if (e.key === "Enter" || e.key === " ") { e.preventDefault(); go(); }
      });
    });
  }
  function fromHash() {
    var m = /(?:^#|&)sort=(-?)([A-Za-z0-9_]+)/.exec(window.location.hash);
    if (m) { sortTable(m[2], m[1] === "-"); }
  }
  fromHash();
  window.addEventListener("hashchange", fromHash);
  document.body.setAttribute("data-ready", "1");
})();
"""


def html_report(doc: dict[str, Any], plan: Plan, stray: Sequence[np.ndarray] = ()) -> str:
    """One self-contained HTML5 page of a plan report `doc` (report.plan_report) and its `plan`. A
    wafer's (records kept per element cell: `report.WaferRecords`) shows the wafer map and one die.
    stray: a check's apertures on no contact (outlines in um), drawn on the overview and listed."""
    s = doc.get("summary", {})
    records = doc.get("contacts") or []
    if isinstance(records, WaferRecords):
        return _wafer_page(doc, plan, records)
    bad = [i for i, st in enumerate(column(records, "status")) if st != "ok"]
    from .checks import CODES

    severity = {code: CODES[code][0] for code in s.get("findings_by_code", {}) if code in CODES}
    sc = _Scene(doc, plan)
    title = f"{_kind(s)} {s.get('file', '')}" if s.get("stencil") else f"Stencil plan – {s.get('file', '')}"
    body = _summary(doc, plan, severity) + _pictures(sc, doc, stray) + _histograms(doc) + _table(records, bad)
    return page(title, str(s.get("generator", "stencilgen")), CSS, body, JS)


MAX_DIFFERING_LISTED = 200  # placements listed in the table of placements that differ from the die


def _wafer_page(doc: dict[str, Any], plan: Plan, wafer: WaferRecords) -> str:
    """A wafer: the summary of the whole wafer, the map of its dies by status, and one die in detail
    (the element cell's contacts once: its pictures, distributions and table)."""
    from .checks import CODES

    s = doc.get("summary", {})
    severity = {code: CODES[code][0] for code in s.get("findings_by_code", {}) if code in CODES}
    # the die's own page parts, in its own coordinates: no wafer outlines drawn over it
    die_summary = {k: v for k, v in s.items() if k not in ("keep_in", "foil")}
    die_doc = {"summary": die_summary, "contacts": wafer.element}
    die_plan = wafer.die_plan
    sc = _Scene(die_doc, die_plan)
    bad = [i for i, st in enumerate(column(wafer.element, "status")) if st != "ok"]
    hier = s.get("hierarchy") or {}
    ref = int(hier.get("reference_placement", 0))
    dx, dy = wafer.shifts[ref].tolist()
    intro = (
        '<section id="die"><h2>One die in detail</h2>'
        f"<p>The element cell's {_count(len(wafer.element))} contacts once, in the die's own coordinates and ids "
        f"(placement {ref} at ({_num(dx)}, {_num(dy)}) um); "
        + (
            f"{_count(hier.get('differing_contacts', 0))} contacts of other placements differ from it (the JSON "
            "report holds their records)."
            if hier.get("differing_contacts")
            else "every placement is the same."
        )
        + "</p></section>"
    )
    body = (
        _summary(doc, plan, severity)
        + _wafer_map(doc, wafer, sc)
        + intro
        + _pictures(sc, die_doc)
        + _histograms(die_doc)
        + _table(wafer.element, bad)
    )
    title = f"Stencil plan – {s.get('file', '')}"
    return page(title, str(s.get("generator", "stencilgen")), CSS + WAFER_CSS, body, JS)


WAFER_CSS = """
#wafer-map .view{max-height:600px}
svg .die{stroke:#fff;stroke-width:.5px;vector-effect:non-scaling-stroke}
svg .die-ok{fill:var(--ok)}svg .die-warning{fill:var(--warning)}svg .die-error{fill:var(--error)}
.sw.die-ok{background:var(--ok)}.sw.die-warning{background:var(--warning)}.sw.die-error{background:var(--error)}
"""


def _wafer_map(doc: dict[str, Any], wafer: WaferRecords, sc: _Scene) -> str:
    """Every placement of the die as a rectangle coloured by its status (the worst of its contacts),
    each with its shift, findings and differing contacts in its tooltip; the placements that differ
    from the die listed below."""
    s = doc.get("summary") or {}
    P = len(wafer.shifts)
    box = sc.bounds()
    lo_d, hi_d = box if box is not None else (np.zeros(2), np.zeros(2))
    lo = lo_d + wafer.shifts.min(axis=0)
    hi = hi_d + wafer.shifts.max(axis=0)
    for _cls, (x0, y0, x1, y1), _text in _boxes_of(s):
        lo, hi = np.minimum(lo, [x0, y0]), np.maximum(hi, [x1, y1])
    upx = max(float(hi[0] - lo[0]) / 1100, float(hi[1] - lo[1]) / 560, 1e-6)
    lo, hi = lo - np.array([12, 36]) * upx, hi + 12 * upx
    w, h = (hi_d - lo_d).tolist()
    place, _elem = wafer._where
    differ = np.bincount(place[wafer.differing_ids], minlength=P) if len(wafer.differing_ids) else np.zeros(P, int)
    rects = []
    for p in range(P):
        x0, y0 = (lo_d + wafer.shifts[p]).tolist()
        st = STATUSES[int(wafer.placement_status[p])]
        e, wn = wafer.placement_findings[p].tolist()
        tip = (
            f"die {p} at ({_num(wafer.shifts[p, 0])}, {_num(wafer.shifts[p, 1])}) um: {st}, {_counted(e, 'error')}, "
            f"{_counted(wn, 'warning')}" + (f", {int(differ[p]):,} contacts differ from the die" if differ[p] else "")
        )
        rects.append(
            f'<rect class="die die-{st}" data-placement="{p}" x="{_num(x0, 2)}" y="{_num(-(y0 + h), 2)}" '
            f'width="{_num(w, 2)}" height="{_num(h, 2)}"><title>{escape(tip)}</title></rect>'
        )
    fs = 12 * upx
    body = "".join(rects) + _outlines_svg(s, fs) + _scale_bar(lo, hi, fs, 14 * upx)
    counts = np.bincount(wafer.placement_status.astype(np.int64), minlength=3)
    legend = " ".join(
        f'<span class="sw die-{name}"></span>{_count(int(counts[k]))} {name}' for k, name in enumerate(STATUSES)
    )
    label = f"The wafer: {P:,} dies of {_count(len(wafer.element))} contacts"
    listed = [p for p in range(P) if differ[p]][:MAX_DIFFERING_LISTED]
    rows = "".join(
        f'<tr class="st-{STATUSES[int(wafer.placement_status[p])]}"><td class="num">{p}</td>'
        f'<td class="num">{_num(wafer.shifts[p, 0])}</td><td class="num">{_num(wafer.shifts[p, 1])}</td>'
        f'<td class="status">{STATUSES[int(wafer.placement_status[p])]}</td>'
        f'<td class="num">{int(wafer.placement_findings[p, 0]):,}</td>'
        f'<td class="num">{int(wafer.placement_findings[p, 1]):,}</td><td class="num">{int(differ[p]):,}</td></tr>'
        for p in listed
    )
    table = (
        '<div class="scroll"><table class="data" id="placements-table"><thead><tr><th>die</th><th>dx (um)</th>'
        "<th>dy (um)</th><th>status</th><th>errors</th><th>warnings</th><th>contacts that differ</th></tr></thead>"
        f"<tbody>{rows}</tbody></table></div>"
        if listed
        else "<p>Every die is planned alike.</p>"
    )
    more = int((differ > 0).sum()) - len(listed)
    wafer_svg = _svg(lo, hi, body, label, ' id="wafer-svg"')
    return (
        '<section id="wafer"><h2>Wafer map</h2>'
        f'<p class="legend">dies by status (the worst of their contacts): {legend}</p>'
        f'<figure id="wafer-map">{wafer_svg}'
        f"<figcaption>{escape(label)}; hover over a die for its findings.</figcaption></figure>"
        f"<h3>Dies that differ from the die shown below</h3>{table}"
        + (f"<p>{more:,} more are not listed.</p>" if more > 0 else "")
        + "</section>"
    )


def page(title: str, generator: str, css: str, body: str, script: str) -> str:
    """A self-contained HTML5 page: its style, its body inside <main>, its script."""
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta name="generator" content="{escape(generator)}">'
        '<link rel="icon" href="data:,">'
        f"<title>{escape(title)}</title><style>{css}</style></head>\n<body><main>"
        + body
        + f"</main><script>{script}</script></body></html>\n"
    )
