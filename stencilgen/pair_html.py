"""The HTML page of a pair (two-region masses) for people: the summary, both elements overlaid at the
placement found with the masses coloured by status, the reflow window against both alloys' melting
ranges on a temperature axis, and the table of masses. One self-contained file (inline SVG and CSS).
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING, Any

import numpy as np

from .html import _kv, _nice, _num, _path_d, _q, _scale_bar, _svg, page
from .model import NONE, Polygons
from .planner import aperture_polygons

if TYPE_CHECKING:
    from .pairing import PairedStencils

__all__ = ["pair_html"]

MAX_TABLE = 5_000  # rows of the masses table
ARC_CHORDS = 24

CSS = """
:root{--ok:#2e9e5b;--warning:#e0a000;--error:#d0303f;--line:#d5dae1;--muted:#5b6673}
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;background:#f6f7f9;color:#1d2630}
main{max-width:1200px;margin:0 auto;padding:20px}h1{font-size:22px;margin:0 0 12px;overflow-wrap:anywhere}
h2{font-size:17px;margin:22px 0 8px}
table.kv{border-collapse:collapse;font-size:13.5px;background:#fff;border:1px solid var(--line)}
table.kv th{text-align:left;padding:4px 10px;color:var(--muted);font-weight:500;white-space:nowrap}
table.kv td{padding:4px 10px;overflow-wrap:anywhere}
svg.view{display:block;width:100%;height:auto;max-height:80vh;background:#fff;border:1px solid var(--line)}
svg .bg{fill:#fbfcfd}
svg .pad2{fill:#d9dee5;stroke:#8b96a5;stroke-width:1px;vector-effect:non-scaling-stroke}
svg .ap2{fill:#f3b26b;fill-opacity:.75;stroke:#b86a12;stroke-width:1px;vector-effect:non-scaling-stroke}
svg .pad1{fill:none;stroke:#2a5db0;stroke-width:1.2px;stroke-dasharray:4 3;vector-effect:non-scaling-stroke}
svg .ap1{fill:#5b8fe0;fill-opacity:.45;stroke:#2a5db0;stroke-width:1px;vector-effect:non-scaling-stroke}
svg .mass{fill-opacity:.85;stroke:#fff;stroke-width:1px;vector-effect:non-scaling-stroke}
svg .m-ok{fill:var(--ok)}svg .m-warning{fill:var(--warning)}svg .m-error{fill:var(--error)}
svg .lone{fill:none;stroke:var(--error);stroke-width:2.5px;vector-effect:non-scaling-stroke}
svg .scale path{stroke:#222;stroke-width:2px}svg .scale text{fill:#222}
.legend{font-size:12.5px;color:var(--muted);margin:6px 0}.legend span{margin-right:14px}
.sw{display:inline-block;width:12px;height:12px;border-radius:2px;vertical-align:-2px;margin-right:4px}
.temp{display:block;width:100%;height:auto;background:#fff;border:1px solid var(--line);font-size:12px}
.temp .first{fill:#5b8fe0}.temp .second{fill:#f3b26b}.temp .window{fill:var(--ok);fill-opacity:.35;stroke:var(--ok)}
.temp .closed{fill:var(--error);fill-opacity:.25;stroke:var(--error)}.temp .axis{stroke:#555}
.temp text{fill:#26313d}.temp .tick{fill:#5b6673}
.scroll{max-height:70vh;overflow:auto;border:1px solid var(--line);background:#fff}
table.data{border-collapse:collapse;width:100%;font-size:12.5px}
table.data th{position:sticky;top:0;background:#eef1f5;text-align:left;padding:5px 8px;white-space:nowrap}
table.data td{padding:3px 8px;border-bottom:1px solid #eef0f3;white-space:nowrap}
tr.st-error td.status{color:var(--error);font-weight:700}tr.st-warning td.status{color:#a86f00;font-weight:600}
"""


def _placed(poly: Polygons, paired: PairedStencils) -> Polygons:
    return Polygons(paired.placement.apply(poly.coords) if len(poly.coords) else poly.coords, poly.offsets)


def _apertures(plan: Any) -> Polygons:
    ap = plan.apertures
    polys = aperture_polygons(ap, ARC_CHORDS)
    keep = np.flatnonzero(np.asarray(ap.kind) != NONE)
    return polys.take(keep)


def _overlay(doc: dict[str, Any], paired: PairedStencils) -> str:
    """Both elements on the second's coordinates: its pads and layer apertures, the first's contacts
    (dashed) and bump apertures at the placement, a dot per mass in its status colour, rings on
    contacts and pads that meet nothing."""
    pads2 = paired.second.layout.contacts.polygons
    pads1 = _placed(paired.first.layout.contacts.polygons, paired)
    ap2 = _apertures(paired.second.plan)
    ap1 = _placed(_apertures(paired.first.plan), paired)
    pts = np.vstack([p.coords for p in (pads2, pads1, ap2, ap1) if len(p.coords)])
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    span = float(max(hi[0] - lo[0], hi[1] - lo[1], 1.0))
    lo, hi = lo - 0.04 * span, hi + 0.04 * span
    body = [
        f'<path class="pad2" d="{_path_d(pads2.coords, pads2.offsets)}"/>',
        f'<path class="ap2" d="{_path_d(ap2.coords, ap2.offsets)}"/>',
        f'<path class="ap1" d="{_path_d(ap1.coords, ap1.offsets)}"/>',
        f'<path class="pad1" d="{_path_d(pads1.coords, pads1.offsets)}"/>',
    ]
    d = np.asarray(paired.second.layout.contacts.d, dtype=float)
    r = max(float(np.median(d)) * 0.18, span / 400) if len(d) else span / 200
    dots = [
        f'<circle class="mass m-{m["status"]}" cx="{_num(m["x_um"], 2)}" cy="{_num(-m["y_um"], 2)}" r="{_num(r, 2)}">'
        f"<title>{escape(m['name'])}: contact {m['first_id']} on pad {m['second_id']}, {m['status']}</title></circle>"
        for m in doc["masses"]
    ]
    lone = [
        f'<circle class="lone" cx="{_num(f["x_um"], 2)}" cy="{_num(-f["y_um"], 2)}" r="{_num(2.2 * r, 2)}">'
        f"<title>{escape(f['code'])}</title></circle>"
        for f in doc["findings"]
        if f["code"] in ("unmatched_contact", "unmatched_pad")
    ]
    body.append(f'<g class="masses">{"".join(dots)}{"".join(lone)}</g>')
    body.append(_scale_bar(lo, hi, span / 40, 0.02 * span))
    legend = (
        '<p class="legend"><span><i class="sw" style="background:#d9dee5"></i>second element: pads</span>'
        '<span><i class="sw" style="background:#f3b26b"></i>second print (layer)</span>'
        '<span><i class="sw" style="border:1.5px dashed #2a5db0"></i>first element: contacts, placed</span>'
        '<span><i class="sw" style="background:#5b8fe0"></i>first print (bump), placed</span>'
        '<span><i class="sw" style="background:var(--ok)"></i>mass ok</span>'
        '<span><i class="sw" style="background:var(--warning)"></i>warning</span>'
        '<span><i class="sw" style="background:var(--error)"></i>error</span>'
        '<span><i class="sw" style="border:2px solid var(--error);border-radius:50%"></i>meets nothing</span></p>'
    )
    p = doc["summary"]["placement"]
    label = (
        f"Both elements at the placement: {'mirrored, ' if p['mirror'] else ''}turned {_num(p['angle_deg'])} deg, "
        f"moved {_num(p['dx_um'])}, {_num(p['dy_um'])} um"
    )
    return f'<section id="overlay"><h2>{escape(label)}</h2>{legend}{_svg(lo, hi, "".join(body), label)}</section>'


def _temperatures(s: dict[str, Any], rules: dict[str, Any]) -> str:
    """The two alloys' melting ranges (solidus to liquidus) and the joining reflow window on one axis."""
    a1, a2 = s.get("first_alloy"), s.get("second_alloy")
    if not a1 or not a2:
        return '<section id="temperatures"><h2>Reflow window</h2><p>No alloys named.</p></section>'
    low = a2["liquidus_c"] + rules["wetting_margin_c"]
    high = a1["solidus_c"] - rules["melt_gap_c"]
    values = [a1["solidus_c"], a1["liquidus_c"], a2["solidus_c"], a2["liquidus_c"], low, high]
    t0, t1 = min(values) - 20.0, max(values) + 20.0
    W, left, right = 900.0, 150.0, 20.0

    def x(t: float) -> float:
        return left + (t - t0) / (t1 - t0) * (W - left - right)

    out = []
    rows = [(a1, "first", 20.0), (a2, "second", 60.0)]
    for alloy, cls, y in rows:
        x0, x1 = x(alloy["solidus_c"]), x(alloy["liquidus_c"])
        out.append(f'<rect class="{cls}" x="{x0:.1f}" y="{y:.0f}" width="{max(x1 - x0, 3.0):.1f}" height="24"/>')
        out.append(f'<text x="8" y="{y + 16:.0f}">{escape(cls)}: {escape(alloy["name"])}</text>')
        text = f"{_num(alloy['solidus_c'])}–{_num(alloy['liquidus_c'])} C"
        out.append(f'<text x="{x1 + 6:.1f}" y="{y + 16:.0f}">{text}</text>')
    y = 100.0
    if high >= low:
        out.append(
            f'<rect class="window" x="{x(low):.1f}" y="{y:.0f}" width="{max(x(high) - x(low), 2.0):.1f}" height="24"/>'
        )
        caption = f"joining reflow window {_num(low)}–{_num(high)} C ({_num(high - low)} C wide)"
    else:
        out.append(f'<rect class="closed" x="{x(high):.1f}" y="{y:.0f}" width="{x(low) - x(high):.1f}" height="24"/>')
        caption = f"no joining reflow window: {_num(low)} C needed, {_num(high)} C allowed"
    out.append(f'<text x="8" y="{y + 16:.0f}">window</text>')
    out.append(f'<text x="{left:.0f}" y="{y + 44:.0f}">{escape(caption)}</text>')
    axis_y = 160.0
    out.append(f'<path class="axis" d="M{left:.0f},{axis_y:.0f}H{W - right:.0f}"/>')
    step = _nice((t1 - t0) / 8)
    t = np.ceil(t0 / step) * step
    while t <= t1:
        out.append(f'<path class="axis" d="M{x(t):.1f},{axis_y:.0f}v5"/>')
        out.append(f'<text class="tick" x="{x(t):.1f}" y="{axis_y + 18:.0f}" text-anchor="middle">{_num(t)}</text>')
        t += step
    out.append(f'<text class="tick" x="{W - right:.0f}" y="{axis_y + 34:.0f}" text-anchor="end">temperature (C)</text>')
    svg = (
        f'<svg class="temp" viewBox="0 0 {W:.0f} 200" role="img" aria-label="{escape(caption)}">'
        f"<title>{escape(caption)}</title>{''.join(out)}</svg>"
    )
    return f'<section id="temperatures"><h2>Reflow window</h2>{svg}</section>'


def _alloy(a: dict[str, Any] | None) -> str:
    if not a:
        return "not named"
    melt = f"{_num(a['solidus_c'])}–{_num(a['liquidus_c'])} C, {_num(a['density_g_cm3'])} g/cm3"
    return f"{a['name']} ({melt}, metal {_num(a['metal_volume_fraction'], 3)} of the paste by volume)"


def _summary(doc: dict[str, Any]) -> str:
    s = doc["summary"]
    p = s["placement"]
    window = s["reflow_window_c"]
    codes = ", ".join(f"{k} {v}" for k, v in s["findings_by_code"].items()) or "none"
    tr = s["total_ratio"]
    rows = [
        (
            "first (bumps)",
            f"{s['first_file']} — {s['first']['cell']} {s['first']['layer']}, {s['first']['contacts']} contacts",
        ),
        (
            "second (layer)",
            f"{s['second_file']} — {s['second']['cell']} {s['second']['layer']}, {s['second']['contacts']} pads",
        ),
        (
            "masses",
            f"{s['masses']} ({s['status']['ok']} ok, {s['status']['warning']} warning, {s['status']['error']} error)",
        ),
        ("unmatched", f"{s['unmatched_first']} contacts, {s['unmatched_second']} pads"),
        (
            "placement",
            f"{p['mode']}: {'mirrored, ' if p['mirror'] else ''}turned {_num(p['angle_deg'])} deg, moved "
            f"{_num(p['dx_um'])}, {_num(p['dy_um'])} um; {p['matched']} matched within "
            f"{_num(s['match_tolerance_um'])} um",
        ),
        ("first alloy", _alloy(s["first_alloy"])),
        ("second alloy", _alloy(s["second_alloy"])),
        ("reflow window", "closed" if window is None else f"{_num(window[0])}–{_num(window[1])} C"),
        ("total ratio", f"{_num(tr['min'])} – {_num(tr['max'])} (top of band {_num(tr['max_at_top_of_band'])})"),
        ("standoff", f"{_q(s['standoff_um']['min'], 'um')} – {_q(s['standoff_um']['max'], 'um')}"),
        ("errors / warnings", f"{s['errors']} / {s['warnings']} (exit code {s['exit_code']})"),
        ("findings", codes),
    ]
    head = f"Two-region masses – {s['first_file']} on {s['second_file']}"
    return f'<section id="summary"><h1>{escape(head)}</h1>{_kv(rows)}</section>'


def _table(doc: dict[str, Any]) -> str:
    masses = doc["masses"]
    heads = [
        "mass",
        "contact",
        "pad",
        "x (um)",
        "y (um)",
        "bump (um3)",
        "layer (um3)",
        "limit (um3)",
        "total ratio",
        "standoff (um)",
        "status",
        "findings",
    ]
    rows = []
    for m in masses[:MAX_TABLE]:
        codes = ", ".join(sorted({f"{f['code']} ({f['region']})" for f in m["findings"]}))
        cells = [
            m["name"],
            m["first_id"],
            m["second_id"],
            _num(m["x_um"], 2),
            _num(m["y_um"], 2),
            _num(m["first_volume_um3"], 0),
            _num(m["second_volume_um3"], 0),
            _num(m["volume_limit_um3"], 0),
            _num(m["total_ratio"], 3),
            _num(m["standoff_um"], 2),
        ]
        body = "".join(f"<td>{escape(str(c))}</td>" for c in cells)
        rows.append(
            f'<tr class="st-{m["status"]}">{body}<td class="status">{m["status"]}</td><td>{escape(codes)}</td></tr>'
        )
    more = (
        f'<p class="legend">{len(masses) - MAX_TABLE} more masses in the JSON report.</p>'
        if len(masses) > MAX_TABLE
        else ""
    )
    head = "".join(f"<th>{escape(h)}</th>" for h in heads)
    own = [f for f in doc["findings"] if f["code"] not in ("over_volume",)]
    items = "".join(f"<li><b>{escape(f['code'])}</b> ({f['severity']}): {escape(f['message'])}</li>" for f in own[:200])
    listing = f"<h2>Findings of the pair</h2><ul>{items}</ul>" if own else ""
    return (
        f'<section id="masses">{listing}<h2>Masses</h2><div class="scroll"><table class="data" id="masses-table">'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table></div>{more}</section>"
    )


def pair_html(doc: dict[str, Any], paired: PairedStencils) -> str:
    """One self-contained HTML5 page of a pair's report `doc` (PairedStencils._report)."""
    s = doc["summary"]
    title = f"Two-region masses – {s['first_file']} on {s['second_file']}"
    body = _summary(doc) + _overlay(doc, paired) + _temperatures(s, s["rules"]) + _table(doc)
    script = 'document.body.setAttribute("data-ready", "1");'
    return page(title, str(s.get("generator", "stencilgen")), CSS, body, script)
