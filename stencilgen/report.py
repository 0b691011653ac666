"""Findings and rows -> report documents (dict for JSON) and short texts for people."""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from .model import Layout, RowSet


def _r(x: float, nd: int = 3) -> float:
    return float(round(float(x), nd)) + 0.0  # + 0.0: no "-0"


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


def inspect_report(layout: Layout, rows: RowSet) -> dict[str, Any]:
    """What `inspect --json` prints: contacts, rows, corners, arrays, staggers, isolated (all in um)."""
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
                "d_um": _r(float(np.median(c.d[r.members]))),
            }
        )
    doc: dict[str, Any] = {
        "file": layout.path,
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
                "oblique_deg": _r(np.degrees(np.arctan2(k.bisector[1], k.bisector[0])) % 360.0, 3),
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
        "excluded_shapes": [_note(e) for e in layout.excluded if not e.kept],
        "shape_notes": [_note(e) for e in layout.excluded],
        "layers": layout.layers,
        "cells": len(layout.cells),
        "hierarchy": None
        if layout.instances is None
        else {"element_contacts": len(layout.instances.element), "placements": len(layout.instances.transforms)},
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
        lines.append(f"  element: {h['element_contacts']} contacts placed {h['placements']} times")
    for e in doc["shape_notes"][:10]:
        x, y = e["center_um"]
        w, h_ = e["size_um"]
        lines.append(f"  note: {e['reason']}, {w:g} x {h_:g} um at ({x:g}, {y:g}) um")
    if len(doc["shape_notes"]) > 10:
        lines.append(f"  ... and {len(doc['shape_notes']) - 10} more notes on shapes")
    lines.append(f"  rows: {len(doc['rows'])}")
    shown = doc["rows"][:40]
    for r in shown:
        lines.append(
            f"    row {r['id']}: {r['contacts']} contacts at {r['pitch_um']:g} um pitch, "
            f"direction {r['direction_deg']:g} deg, outward {r['normal_deg']:g} deg"
            + (f", {r['gaps']} missing" if r["gaps"] else "")
        )
    if len(doc["rows"]) > len(shown):
        lines.append(f"    ... and {len(doc['rows']) - len(shown)} more rows")
    lines.append(f"  corners: {len(doc['corners'])}")
    for k in doc["corners"][:12]:
        x, y = k["point_um"]
        lines.append(
            f"    rows {k['rows'][0]} and {k['rows'][1]} meet at ({x:g}, {y:g}) um, {k['angle_deg']:g} deg; "
            f"oblique strips at {k['oblique_deg']:g} deg"
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
    return "\n".join(lines)


UNITS = {"length": "um", "area": "um2", "volume": "um3", "angle": "deg"}


def _f(x: float, nd: int = 4) -> float | None:
    x = float(x)
    if not np.isfinite(x):
        return None
    return round(x, nd)


def plan_report(layout: Layout, plan: Any, checked: Any, rules: Any, outputs: dict[str, str], created: str) -> dict:
    """The machine report of `plan`: summary and one record per contact (all lengths in um)."""
    from dataclasses import asdict

    from .model import KIND_NAMES, STRIP

    c = plan.contacts
    ap = plan.apertures
    rows = plan.rows
    n = len(c)
    ratio = checked.volume / checked.volume_limit
    ratio_hi = checked.volume_high / checked.volume_limit
    by_contact: dict[int, list[dict[str, Any]]] = {}
    findings = [checked.findings.record(k) for k in range(len(checked.findings))]
    for f in findings:
        by_contact.setdefault(f["contact"], []).append(f)
    axis_deg = np.degrees(np.arctan2(ap.axis[:, 1], ap.axis[:, 0])) % 360.0
    strip = ap.kind == STRIP

    def col(values: np.ndarray, nd: int = 4, where: np.ndarray | None = None) -> list:
        """A column rounded for the report; None where not finite (or not applicable)."""
        v = np.round(np.asarray(values, dtype=float), nd) + 0.0  # + 0.0: no "-0"
        ok = np.isfinite(v) if where is None else (np.isfinite(v) & where)
        out = v.tolist()
        if not ok.all():
            for i in np.flatnonzero(~ok).tolist():
                out[i] = None
        return out

    def ids(values: np.ndarray) -> list:
        return [int(x) if x >= 0 else None for x in values.tolist()]

    kinds = [KIND_NAMES[int(k)] for k in ap.kind.tolist()]
    columns = {
        "id": list(range(n)),
        "x_um": col(c.center[:, 0]),
        "y_um": col(c.center[:, 1]),
        "row": ids(rows.row_of),
        "array": ids(rows.array_of),
        "d_um": col(c.d),
        "contact_area_um2": col(c.area, 3),
        "aperture": kinds,
        "aperture_area_um2": col(ap.area, 3),
        "aperture_width_um": col(ap.width),
        "strip_direction_deg": col(axis_deg, 3, strip),
        "tip_side": [int(x) if s else None for x, s in zip(ap.side.tolist(), strip.tolist(), strict=True)],
        "tip_diameter_um": col(ap.tip_d, 4, strip & (ap.tip_d > 0)),
        "extension_um": col(ap.extension, 4, strip),
        "oblique": ap.corner.tolist(),
        "solder_volume_um3": col(checked.volume, 2),
        "solder_volume_band_um3": [
            list(p) for p in zip(col(checked.volume_low, 2), col(checked.volume_high, 2), strict=True)
        ],
        "volume_limit_um3": col(checked.volume_limit, 2),
        "volume_ratio": col(ratio),
        "volume_ratio_max": col(ratio_hi),
        "cap_height_um": col(checked.cap_height),
        "area_ratio": col(checked.area_ratio),
        "aspect_ratio": col(checked.aspect_ratio),
        "max_thickness_um": col(checked.max_thickness),
        "web_um": col(checked.min_web),
        "clearance_um": col(checked.min_clearance),
        "status": [str(x) for x in checked.status.tolist()],
    }
    keys = list(columns)
    records = [dict(zip(keys, vals, strict=True)) for vals in zip(*columns.values(), strict=True)]
    for i, fs in by_contact.items():
        records[i]["findings"] = fs
    for r in records:
        r.setdefault("findings", [])
    counts: dict[str, int] = {}
    for f in findings:
        counts[f["code"]] = counts.get(f["code"], 0) + 1
    have = ap.kind != 2
    summary = {
        "file": layout.path,
        "format": layout.format,
        "cell": layout.cell,
        "layer": layout.layer,
        "created": created,
        "units": UNITS,
        "contacts": n,
        "rows": len(rows.rows),
        "corners": len(rows.corners),
        "arrays": len(rows.arrays),
        "isolated": len(rows.isolated),
        "apertures": int(have.sum()),
        "strips": int((ap.kind == STRIP).sum()),
        "oblique_strips": int(ap.corner.sum()),
        "shrunk_pads": int((ap.kind == 1).sum()),
        "errors": checked.errors,
        "warnings": checked.warnings,
        "findings_by_code": dict(sorted(counts.items())),
        "status": {s: int((checked.status == s).sum()) for s in ("ok", "warning", "error")},
        "volume_ratio": {
            "min": _f(ratio[have].min()) if have.any() else None,
            "max": _f(ratio[have].max()) if have.any() else None,
            "max_at_top_of_band": _f(ratio_hi[have].max()) if have.any() else None,
        },
        "rules": asdict(rules),
        "outputs": outputs,
        "excluded_shapes": [_note(e) for e in layout.excluded if not e.kept],
        "shape_notes": [_note(e) for e in layout.excluded],
    }
    return {"summary": summary, "contacts": records}


def plan_text(doc: dict[str, Any], outputs: dict[str, str] | None = None, worst: int = 5) -> str:
    """The short summary `plan` prints on stderr."""
    s = doc["summary"]
    vr = s["volume_ratio"]
    lines = [
        f"{s['file']}: {_n(s['contacts'], 'contact')}, {_n(s['rows'], 'row')}, {_n(s['corners'], 'corner')}, "
        f"{_n(s['arrays'], 'array')}, {s['isolated']} isolated",
        f"  apertures: {s['apertures']} ({_n(s['strips'], 'strip')}, {s['oblique_strips']} of them oblique, "
        f"{_n(s['shrunk_pads'], 'shrunk pad')})",
    ]
    if vr["min"] is not None:
        lines.append(
            f"  solder volume: {vr['min']:.2f} to {vr['max']:.2f} of pi*d^3/6 (nominal), "
            f"at most {vr['max_at_top_of_band']:.2f} at the top of the transfer band"
        )
    codes = ", ".join(f"{k} {v}" for k, v in s["findings_by_code"].items())
    lines.append(f"  {_n(s['errors'], 'error')}, {_n(s['warnings'], 'warning')}" + (f" ({codes})" if codes else ""))
    bad = [r for r in doc["contacts"] if r["status"] != "ok"]
    bad.sort(key=lambda r: (r["status"] != "error", r["volume_ratio"] if r["volume_ratio"] is not None else -1))
    for r in bad[:worst]:
        codes_r = ", ".join(sorted({f["code"] for f in r["findings"]}))
        vr_r = f"{r['volume_ratio']:.2f}" if r["volume_ratio"] is not None else "-"
        lines.append(
            f"    contact {r['id']} at ({r['x_um']:g}, {r['y_um']:g}) um: {r['status']}, "
            f"volume {vr_r} of limit; {codes_r}"
        )
    written = outputs if outputs is not None else s["outputs"]
    if written:
        lines.append("  wrote " + ", ".join(written.values()))
    return "\n".join(lines)


def dumps_report(doc: dict[str, Any]) -> str:
    """JSON text of a report: the summary indented, then one line per record (fast: one C-encoder call
    per list; still readable and diffable)."""
    parts = ['{\n "summary": ' + json.dumps(doc["summary"], indent=1, allow_nan=False).replace("\n", "\n ")]
    for key in [k for k in doc if k != "summary"]:
        items = doc[key]
        if isinstance(items, list) and items and all(isinstance(x, dict) for x in items[:1]):
            import orjson  # ten times faster than json for a wafer's records

            body = orjson.dumps(items).decode()
            # records hold no braces inside strings, so "},{" only ever separates two records
            parts.append(f' "{key}": [\n  ' + body[1:-1].replace("},{", "},\n  {") + "\n ]")
        else:
            parts.append(f' "{key}": ' + json.dumps(items, allow_nan=False))
    return ",\n".join(parts) + "\n}\n"
