"""Findings and rows -> report documents (dict for JSON) and short texts for people."""

from __future__ import annotations

from typing import Any

import numpy as np

from .model import Layout, RowSet


def _r(x: float, nd: int = 3) -> float:
    return float(round(float(x), nd))


def _pt(p: np.ndarray) -> list[float]:
    return [_r(p[0]), _r(p[1])]


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
        "excluded_shapes": [
            {
                "reason": e.reason,
                "center_um": [_r(e.center[0]), _r(e.center[1])],
                "size_um": [_r(e.size[0]), _r(e.size[1])],
            }
            for e in layout.excluded
        ],
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
    lines.append(f"  contacts: {doc['contacts']} (from {doc['shapes_on_layer']} shapes)")
    if doc["hierarchy"]:
        h = doc["hierarchy"]
        lines.append(f"  element: {h['element_contacts']} contacts placed {h['placements']} times")
    for e in doc["excluded_shapes"][:10]:
        x, y = e["center_um"]
        w, h_ = e["size_um"]
        lines.append(f"  not a contact: {e['reason']}, {w:g} x {h_:g} um at ({x:g}, {y:g}) um")
    if len(doc["excluded_shapes"]) > 10:
        lines.append(f"  ... and {len(doc['excluded_shapes']) - 10} more shapes that are not contacts")
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
