"""Two-region masses (RULES.md "Two-region masses"): a bump printed on the first element's contacts, a
layer printed on the second element's pads, matched and judged together.

    import stencilgen
    die = stencilgen.read_layout("die.gds", layer="9/0")
    sub = stencilgen.read_layout("substrate.gds", layer="5/0")
    paired = stencilgen.pair(die, sub, first_alloy="Pb95Sn5", second_alloy="Sn63Pb37")
    paired.summary["placement"], paired.summary["reflow_window_c"], paired.masses[0]["total_ratio"]
    paired.write("out/")    # die.first.gbr/.dxf/.gds, substrate.second.*, die.pair.json + .html

The first print is planned as `plan` plans it. The second is planned the same way, each pad's volume
limit lowered to what its mass leaves: pi d^3/6 of the smaller of contact and pad, less the bump at
the top of its transfer band (`Contacts.volume_cap`), so that each mass's total stays within the limit.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import os
from collections.abc import Iterable
from functools import cached_property
from typing import Any

import numpy as np

from . import __version__
from .alloys import find_alloy
from .api import (
    AUTO,
    EXTENSIONS,
    FORMATS,
    PlannedStencil,
    Prefixed,
    _iso,
    _rules,
    _stem,
    _write_stencil,
    creation_time,
    output_formats,
    plan,
)
from .errors import InputError
from .model import Layout
from .physics import Alloy, metal_volume_fraction, pair_volume_limit, reflow_window
from .placement import Found, Placement, find_placement, match_points, parse_placement
from .rules import Rules, rules_record
from .writers import ensure_dir
from .writers.fileset import FileSet

__all__ = ["PAIR_CODES", "PairedStencils", "pair"]

ERROR, WARNING = "error", "warning"

#: the pair's own finding codes -> (severity, what it means, unit of value and limit)
PAIR_CODES: dict[str, tuple[str, str, str]] = {
    "unmatched_contact": (ERROR, "the contact meets no pad of the second element (nearest pad's centre)", "um"),
    "unmatched_pad": (ERROR, "the pad meets no contact of the first element (nearest contact's centre)", "um"),
    "melt_order": (ERROR, "the first alloy's solidus is not above the second alloy's liquidus", "C"),
    "no_reflow_window": (ERROR, "no joining reflow window (its width)", "C"),
    "narrow_reflow_window": (WARNING, "joining reflow window narrower than window_min_c", "C"),
    "over_volume": (ERROR, "bump and layer above pi*d^3/6 of the smaller of contact and pad (top of band)", "um3"),
}


def _finding(code: str, value: float, limit: float, **where: Any) -> dict[str, Any]:
    sev, text, unit = PAIR_CODES[code]
    u = f" {unit}" if unit else ""
    v, lim = round(float(value), 4) + 0.0, round(float(limit), 4) + 0.0
    return {
        "code": code,
        "severity": sev,
        **where,
        "value": v,
        "limit": lim,
        "unit": unit,
        "message": f"{text}: {v:.4g}{u} (limit {lim:.4g}{u})",
    }


def _alloy_record(alloy: Alloy | None, rules: Rules) -> dict[str, Any] | None:
    if alloy is None:
        return None
    return {
        "name": alloy.name,
        "solidus_c": alloy.solidus_c,
        "liquidus_c": alloy.liquidus_c,
        "density_g_cm3": alloy.density_g_cm3,
        "metal_volume_fraction": round(rules.metal_volume_fraction, 6),
    }


def _nearest(points: np.ndarray, others: np.ndarray) -> np.ndarray:
    """Each point's distance to the nearest of `others` (inf when there are none), in chunks."""
    out = np.full(len(points), np.inf)
    if not len(others):
        return out
    for s in range(0, len(points), 256):
        p = points[s : s + 256]
        for t in range(0, len(others), 65536):
            q = others[t : t + 65536]
            d = np.sqrt(((p[:, None, :] - q[None, :, :]) ** 2).sum(axis=2)).min(axis=1)
            out[s : s + 256] = np.minimum(out[s : s + 256], d)
    return out


class PairedStencils:
    """Two prints for two-region masses (`stencilgen.pair`): `first` and `second` are the two planned
    stencils (PlannedStencil), `placement` where the first element lands on the second, `masses` one
    record per matched contact and pad, `findings` the pair's findings and both prints', `write()` the files."""

    def __init__(
        self,
        first: PlannedStencil,
        second: PlannedStencil,
        found: Found,
        mode: str,
        pairs: tuple[np.ndarray, np.ndarray],
        alloys: tuple[Alloy | None, Alloy | None],
        rules: Rules,
        strict: bool,
    ):
        self.first = first
        self.second = second
        self.placement = found.placement
        self.found = found
        self.mode = mode
        self.pairs = pairs
        self.first_alloy, self.second_alloy = alloys
        self.rules = rules
        self.strict = strict

    # ------------------------------------------------------------------------------ figures

    @property
    def window(self) -> tuple[float, float] | None:
        """The joining reflow window (C), or None when the alloys are not named."""
        if self.first_alloy is None or self.second_alloy is None:
            return None
        r = self.rules
        return reflow_window(self.first_alloy, self.second_alloy, r.wetting_margin_c, r.melt_gap_c)

    @cached_property
    def _pair_findings(self) -> list[dict[str, Any]]:
        """The pair's findings not tied to one mass: unmatched contacts and pads, melting order, window."""
        out: list[dict[str, Any]] = []
        i, j = self.pairs
        c1, c2 = self.first.layout.contacts, self.second.layout.contacts
        placed = self.placement.apply(c1.center)
        tol = self.rules.match_tolerance_um
        lone1 = np.setdiff1d(np.arange(len(c1)), i)
        lone2 = np.setdiff1d(np.arange(len(c2)), j)
        for k, dist in zip(lone1.tolist(), _nearest(placed[lone1], c2.center).tolist(), strict=True):
            x, y = placed[k]
            out.append(_finding("unmatched_contact", dist, tol, first_id=k, second_id=None, x_um=_r(x), y_um=_r(y)))
        for k, dist in zip(lone2.tolist(), _nearest(c2.center[lone2], placed).tolist(), strict=True):
            x, y = c2.center[k]
            out.append(_finding("unmatched_pad", dist, tol, first_id=None, second_id=k, x_um=_r(x), y_um=_r(y)))
        a1, a2, window = self.first_alloy, self.second_alloy, self.window
        if a1 is not None and a2 is not None and window is not None:
            if a1.solidus_c <= a2.liquidus_c:
                out.append(_finding("melt_order", a1.solidus_c, a2.liquidus_c))
            width = window[1] - window[0]
            if width < 0:
                out.append(_finding("no_reflow_window", width, 0.0))
            elif width < self.rules.window_min_c:
                out.append(_finding("narrow_reflow_window", width, self.rules.window_min_c))
        return out

    @cached_property
    def _volumes(self) -> dict[str, np.ndarray]:
        i, j = self.pairs
        f, s = self.first.checked, self.second.checked
        return {
            "v1": f.volume[i],
            "v1_lo": f.volume_low[i],
            "v1_hi": f.volume_high[i],
            "v2": s.volume[j],
            "v2_lo": s.volume_low[j],
            "v2_hi": s.volume_high[j],
            "limit": pair_volume_limit(f.d[i], s.d[j]),
            "allowance": s.volume_limit[j],
            "standoff": f.cap_height[i],
        }

    @cached_property
    def masses(self) -> list[dict[str, Any]]:
        """One record per mass (a matched contact and pad): where it is on the second element, both
        regions' volumes (nominal and band, um3), the mass's limit and total ratio, the bump's cap
        height (standoff), status and findings (the pair's and both prints' for its contact and pad)."""
        i, j = self.pairs
        v = self._volumes
        c1, c2 = self.first.layout.contacts, self.second.layout.contacts
        placed = self.placement.apply(c1.center[i])
        by1 = _by_contact(self.first.findings)
        by2 = _by_contact(self.second.findings)
        out = []
        for k in range(len(i)):
            a, b = int(i[k]), int(j[k])
            total, total_hi, limit = v["v1"][k] + v["v2"][k], v["v1_hi"][k] + v["v2_hi"][k], v["limit"][k]
            findings = [dict(x, region="first") for x in by1.get(a, [])]
            findings += [dict(x, region="second") for x in by2.get(b, [])]
            second_over = any(x["code"] == "over_volume" for x in by2.get(b, []))
            if total_hi > limit * (1 + 1e-9) and not second_over:
                findings.append(dict(_finding("over_volume", total_hi, limit), region="mass"))
            severities = {x["severity"] for x in findings}
            status = ERROR if ERROR in severities else WARNING if WARNING in severities else "ok"
            with np.errstate(divide="ignore", invalid="ignore"):
                ratio, ratio_hi = total / limit, total_hi / limit
            out.append(
                {
                    "id": k,
                    "name": f"M{k}",
                    "first_id": a,
                    "second_id": b,
                    "x_um": _r(c2.center[b, 0]),
                    "y_um": _r(c2.center[b, 1]),
                    "offset_um": _r(float(np.hypot(*(placed[k] - c2.center[b])))),
                    "first_d_um": _r(c1.d[a]),
                    "second_d_um": _r(c2.d[b]),
                    "first_volume_um3": _r(v["v1"][k], 2),
                    "first_volume_band_um3": [_r(v["v1_lo"][k], 2), _r(v["v1_hi"][k], 2)],
                    "second_volume_um3": _r(v["v2"][k], 2),
                    "second_volume_band_um3": [_r(v["v2_lo"][k], 2), _r(v["v2_hi"][k], 2)],
                    "second_allowance_um3": _r(v["allowance"][k], 2),
                    "total_volume_um3": _r(total, 2),
                    "volume_limit_um3": _r(limit, 2),
                    "total_ratio": _r(ratio),
                    "total_ratio_max": _r(ratio_hi),
                    "standoff_um": _r(v["standoff"][k]),
                    "status": status,
                    "findings": findings,
                }
            )
        return out

    @property
    def records(self) -> list[dict[str, Any]]:
        """The masses (as `records` of a planned stencil are its contacts)."""
        return self.masses

    @cached_property
    def findings(self) -> list[dict[str, Any]]:
        """Every finding: the pair's (unmatched, melting order, window, a mass over its limit), then the
        first print's and the second's, each with its `region` ("pair", "mass", "first", "second")."""
        out = [dict(x, region="pair") for x in self._pair_findings]
        out += [x for m in self.masses for x in m["findings"] if x["region"] == "mass"]
        out += [dict(x, region="first") for x in self.first.findings]
        out += [dict(x, region="second") for x in self.second.findings]
        return out

    @property
    def errors(self) -> list[dict[str, Any]]:
        return [f for f in self.findings if f["severity"] == ERROR]

    @property
    def warnings(self) -> list[dict[str, Any]]:
        return [f for f in self.findings if f["severity"] == WARNING]

    # ------------------------------------------------------------------------------ report

    def _report(self, outputs: dict[str, str], created: str) -> dict[str, Any]:
        first = self.first._report({}, created)
        second = self.second._report({}, created)
        own = [x for x in self.findings if x["region"] in ("pair", "mass")]
        counts: dict[str, int] = {}
        for s in (first["summary"], second["summary"]):
            for code, n in s["findings_by_code"].items():
                counts[code] = counts.get(code, 0) + n
        for x in own:
            counts[x["code"]] = counts.get(x["code"], 0) + 1
        errors = first["summary"]["errors"] + second["summary"]["errors"] + sum(x["severity"] == ERROR for x in own)
        warnings = first["summary"]["warnings"] + second["summary"]["warnings"]
        warnings += sum(x["severity"] == WARNING for x in own)
        i, j = self.pairs
        n1, n2 = len(self.first.layout.contacts), len(self.second.layout.contacts)
        window = self.window
        masses = self.masses
        placement = {**self.placement.summary(), "mode": self.mode}
        placement["matched"] = self.found.matched
        placement["rms_um"] = _r(self.found.rms_um) if math.isfinite(self.found.rms_um) else None
        summary = {
            "first_file": self.first.layout.path,
            "second_file": self.second.layout.path,
            "created": created,
            "units": {"length": "um", "volume": "um3", "temperature": "C", "angle": "deg"},
            "masses": len(masses),
            "matched": len(i),
            "unmatched_first": n1 - len(i),
            "unmatched_second": n2 - len(j),
            "unmatched_first_ids": np.setdiff1d(np.arange(n1), i).tolist(),
            "unmatched_second_ids": np.setdiff1d(np.arange(n2), j).tolist(),
            "first_alloy": _alloy_record(self.first_alloy, self.first.rules),
            "second_alloy": _alloy_record(self.second_alloy, self.second.rules),
            "reflow_window_c": None if window is None or window[1] < window[0] else [window[0], window[1]],
            "reflow_window_width_c": None if window is None else round(window[1] - window[0], 4),
            "placement": placement,
            "match_tolerance_um": self.rules.match_tolerance_um,
            "errors": int(errors),
            "warnings": int(warnings),
            "findings_by_code": dict(sorted(counts.items())),
            "status": {s: sum(m["status"] == s for m in masses) for s in ("ok", "warning", "error")},
            "total_ratio": {
                "min": min((m["total_ratio"] for m in masses), default=None),
                "max": max((m["total_ratio"] for m in masses), default=None),
                "max_at_top_of_band": max((m["total_ratio_max"] for m in masses), default=None),
            },
            "standoff_um": {
                "min": min((m["standoff_um"] for m in masses), default=None),
                "max": max((m["standoff_um"] for m in masses), default=None),
            },
            "first": _print_summary(first["summary"]),
            "second": _print_summary(second["summary"]),
            "rules": rules_record(self.rules),
            "outputs": outputs,
            "generator": f"stencilgen {__version__}",
        }
        summary["exit_code"] = 1 if errors > 0 or (self.strict and warnings > 0) else 0
        return {
            "summary": summary,
            "masses": masses,
            "findings": own,
            "first": {"summary": first["summary"], "contacts": list(first["contacts"])},
            "second": {"summary": second["summary"], "contacts": list(second["contacts"])},
        }

    @cached_property
    def report(self) -> dict[str, Any]:
        """The JSON report as a dict (summary, masses, findings, first, second), naming no files."""
        return self._report({}, _iso(creation_time(self.first.layout.path, None).replace(microsecond=0)))

    @property
    def summary(self) -> dict[str, Any]:
        return self.report["summary"]

    @property
    def exit_code(self) -> int:
        """What the command line exits with: 1 for rule errors (or warnings when strict), else 0."""
        return int(self.summary["exit_code"])

    def __repr__(self) -> str:
        s = self.summary
        return (
            f"<PairedStencils {self.first.layout.path} on {self.second.layout.path}: {s['masses']} masses, "
            f"{s['errors']} errors, {s['warnings']} warnings>"
        )

    # ------------------------------------------------------------------------------ files

    def write(
        self,
        outdir: str | os.PathLike[str],
        formats: Iterable[str] = FORMATS,
        *,
        creation_date: str | dt.datetime | None = None,
    ) -> dict[str, str]:
        """Write OUTDIR/<first stem>.first.{gbr,dxf,gds}, <second stem>.second.{gbr,dxf,gds} (those in
        `formats`), <first stem>.pair.json, always, and .pair.html (if "html" is in `formats`); return
        the paths by key ("first_gerber", ..., "json", "html"). A write that fails leaves none of them."""
        if isinstance(formats, str):
            formats = formats.split(",")
        outputs, _report = self._write(os.fspath(outdir), output_formats(formats), creation_date)
        return outputs

    def _write(
        self, outdir: str, formats: tuple[str, ...], creation_date: str | dt.datetime | None
    ) -> tuple[dict[str, str], dict[str, Any]]:
        when = creation_time(self.first.layout.path, creation_date).replace(microsecond=0)
        ensure_dir(outdir)
        s1, s2 = _stem(self.first.layout.path), _stem(self.second.layout.path)
        stencil = [f for f in formats if f in ("gerber", "dxf", "gds")]  # (the pair report has no lyrdb)
        paths1 = {f: os.path.join(outdir, f"{s1}.first{EXTENSIONS[f]}") for f in stencil}
        paths2 = {f: os.path.join(outdir, f"{s2}.second{EXTENSIONS[f]}") for f in stencil}
        outputs = {f"first_{f}": p for f, p in paths1.items()} | {f"second_{f}": p for f, p in paths2.items()}
        if "html" in formats:
            outputs["html"] = os.path.join(outdir, f"{s1}.pair.html")
        outputs["json"] = os.path.join(outdir, f"{s1}.pair.json")
        pins1, pins2 = self._pins()
        inputs = [self.first.layout.path, self.second.layout.path]
        with FileSet(outdir, f"{s1}.pair", outputs, inputs) as files:
            for prefix, planned, pins in (("first_", self.first, pins1), ("second_", self.second, pins2)):
                view = Prefixed(files, prefix)
                _write_stencil(planned.layout, planned.plan, view, tuple(stencil), "mm", False, (1, 0), when, pins)
            report = self._report({k: os.path.basename(v) for k, v in outputs.items()}, _iso(when))
            if "html" in outputs:
                from .pair_html import pair_html

                files.write("html", pair_html(report, self))
            files.write("json", pair_json(report))
        return outputs, report

    def _pins(self) -> tuple[np.ndarray, np.ndarray]:
        """The Gerber object attribute fields of each aperture: its contact id, and the mass it builds
        as the pin function ("12,M3"); the contact id alone where it builds none."""
        i, j = self.pairs
        out = []
        for n, ids in ((len(self.first.layout.contacts), i), (len(self.second.layout.contacts), j)):
            pins = np.array([str(k) for k in range(n)], dtype=object)
            for m, k in enumerate(ids.tolist()):
                pins[k] = f"{k},M{m}"
            out.append(pins)
        return out[0], out[1]


def pair_json(report: dict[str, Any]) -> bytes:
    """The pair's JSON report as written (indented, non-finite numbers as null)."""
    import orjson

    return orjson.dumps(report, option=orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY) + b"\n"


def pair_text(report: dict[str, Any], outputs: dict[str, str] | None = None) -> str:
    """A few lines for people: placement, masses, window, findings, files."""
    s = report["summary"]
    p = s["placement"]
    flip = "mirrored, " if p["mirror"] else ""
    lines = [
        f"{s['first_file']} on {s['second_file']}: placement ({p['mode']}) {flip}turned {p['angle_deg']:g} deg, "
        f"moved {p['dx_um']:g}, {p['dy_um']:g} um",
        f"  {s['masses']} masses; unmatched: {s['unmatched_first']} contacts, {s['unmatched_second']} pads",
    ]
    a1, a2, w = s["first_alloy"], s["second_alloy"], s["reflow_window_c"]
    if a1 and a2:
        window = f"{w[0]:g}-{w[1]:g} C" if w else "closed"
        lines.append(f"  {a1['name']} bumps, {a2['name']} layer: joining reflow window {window}")
    tr = s["total_ratio"]
    if tr["min"] is not None:
        lines.append(
            f"  total volume / limit: {tr['min']:.3f}-{tr['max']:.3f} (top of band {tr['max_at_top_of_band']:.3f})"
        )
    codes = ", ".join(f"{k} {v}" for k, v in s["findings_by_code"].items())
    lines.append(f"  {s['errors']} errors, {s['warnings']} warnings" + (f" ({codes})" if codes else ""))
    # (whose they are: each print is also judged alone, its volume against its own contact's pi*d^3/6)
    for which in ("first", "second"):
        part = s.get(which) or {}
        if part.get("findings_by_code"):
            found = ", ".join(f"{k} {v}" for k, v in part["findings_by_code"].items())
            lines.append(
                f"    of them the {which} print ({part.get('file')}): {part['errors']} errors, "
                f"{part['warnings']} warnings ({found})"
            )
    if outputs:
        folder = os.path.dirname(next(iter(outputs.values())))
        lines.append(f"  wrote {', '.join(sorted(os.path.basename(v) for v in outputs.values()))} to {folder or '.'}/")
    return "\n".join(lines)


def _r(x: Any, nd: int = 4) -> float | None:
    v = float(x)
    return round(v, nd) + 0.0 if math.isfinite(v) else None


def _by_contact(findings: list[dict[str, Any]]) -> dict[int, list[dict[str, Any]]]:
    out: dict[int, list[dict[str, Any]]] = {}
    for f in findings:
        if f.get("contact") is not None:
            out.setdefault(int(f["contact"]), []).append(f)
    return out


def _print_summary(s: dict[str, Any]) -> dict[str, Any]:
    """What the pair's summary repeats of one print's."""
    keys = ("file", "format", "cell", "layer", "contacts", "apertures", "errors", "warnings", "findings_by_code")
    return {k: s[k] for k in keys} | {"volume_ratio": s["volume_ratio"], "keep_in": s.get("keep_in")}


def _placement(place: Any) -> str | Placement:
    if isinstance(place, Placement):
        return place
    if isinstance(place, str):
        return parse_placement(place)
    if isinstance(place, (tuple, list)) and len(place) in (3, 4):
        return Placement(float(place[0]), float(place[1]), float(place[2]), bool(place[3]) if len(place) > 3 else False)
    raise TypeError(f"place: 'auto', 'none', a Placement or (dx_um, dy_um, angle_deg[, mirror]), not {place!r}")


def _axes(layout: Layout) -> np.ndarray:
    """Each contact's long-axis direction (deg), NaN for a round or square one (no direction to match)."""
    c = layout.contacts
    return np.where(c.length > 1.2 * c.d, c.angle_deg, np.nan)


def pair(
    first_layout: Layout,
    second_layout: Layout,
    first_alloy: str | None = None,
    second_alloy: str | None = None,
    place: Any = "auto",
    rules: Rules | None = None,
    *,
    keep_in: Any = AUTO,
    second_keep_in: Any = AUTO,
    strict: bool = False,
) -> PairedStencils:
    """Plan the two prints of two-region masses: bumps on the first element's contacts (first_alloy,
    the higher-melting), a layer on the second element's pads (second_alloy), matched and judged together.

    place: "auto" (find how the first lands on the second: flipped or not, turned by a multiple of 90
    degrees, moved), "none" (as drawn), a Placement, or (dx_um, dy_um, angle_deg[, mirror]).
    first_alloy, second_alloy: names of RULES.md's table or of the rules' [alloys.NAME]; when named,
    each print's metal volume fraction follows from the alloy's density and metal_weight_fraction.
    keep_in, second_keep_in, strict: as for `plan`. Fewer than half the first's contacts meeting a pad
    is an InputError (nothing is planned)."""
    rules = _rules(rules)
    alloys = (
        find_alloy(first_alloy, rules, "--first-alloy") if first_alloy is not None else None,
        find_alloy(second_alloy, rules, "--second-alloy") if second_alloy is not None else None,
    )
    where = _placement(place)
    c1, c2 = first_layout.contacts, second_layout.contacts
    tol = rules.match_tolerance_um
    if where == "auto":
        found = find_placement(c1.center, c2.center, tol, _axes(first_layout), _axes(second_layout))
        mode = "auto"
    else:
        given = Placement() if where == "none" else where
        assert isinstance(given, Placement)
        found = Found(given, 0, math.inf)
        mode = "none" if where == "none" else "given"
    i, j = match_points(found.placement.apply(c1.center), c2.center, tol)
    placed = found.placement.apply(c1.center[i])
    rms = float(np.sqrt(((placed - c2.center[j]) ** 2).sum(axis=1).mean())) if len(i) else math.inf
    found = Found(found.placement, len(i), rms)
    if 2 * len(i) < len(c1):
        p = found.placement.summary()
        flip = "mirrored, " if p["mirror"] else ""
        at = f"{flip}turned {p['angle_deg']:g} deg, moved {p['dx_um']:g}, {p['dy_um']:g} um"
        how = {"auto": "the best placement found", "none": "the layouts as drawn (--place none)"}.get(
            mode, "the placement given"
        )
        raise InputError(
            f"{first_layout.path} on {second_layout.path}: only {len(i)} of {len(c1)} contacts meet a pad within "
            f"{tol:g} um at {how} ({at}); fewer than half: check the layers, --place or match_tolerance_um"
        )
    r1, r2 = (
        rules
        if a is None
        else rules.replace(metal_volume_fraction=metal_volume_fraction(a, mwf, rules.flux_density_g_cm3))
        for a, mwf in ((alloys[0], rules.metal_weight_fraction), (alloys[1], rules.metal_weight_fraction))
    )
    first = plan(first_layout, r1, keep_in=keep_in, strict=strict)
    # each pad's part of its mass: pi d^3/6 of the smaller of contact and pad, less the bump at the top
    # of its transfer band; pads that meet no contact keep their own limit
    f = first.checked
    cap = np.full(len(c2), np.inf)
    # (a bump that fills its mass leaves a pad a hair of volume: no printable aperture, rule 11)
    cap[j] = np.maximum(pair_volume_limit(c1.d[i], c2.d[j]) - f.volume_high[i], 1e-6)
    shared = dataclasses.replace(c2, volume_cap=cap)
    second = plan(
        dataclasses.replace(second_layout, contacts=shared, instances=None), r2, keep_in=second_keep_in, strict=strict
    )
    return PairedStencils(first, second, found, mode, (i, j), alloys, rules, strict)
