"""Audit of a planned stencil, independent of the planner: does every contact get the paste a simple
alternative would give it, and do the written files keep the hard rules?

    .venv/bin/python benchmarks/audit_plan.py LAYOUT --layer L [--lef F ...] [--plan-dir DIR] [--json OUT]

Runs `stencilgen plan` with the default rules (or reads the plan folder given), re-reads the written
Gerber (gerbonara, arcs flattened here to 1 nm; KLayout for a stepped-and-repeated one) and DXF (ezdxf),
reads the contacts itself (gdstk, ezdxf or KLayout; the pad layer's shapes merged) and the die's drawn
extent (the bounding box of everything drawn in the cell on all layers; a DEF's DIEAREA), and counts:

(a) contacts below volume_min x pi d^3/6 at the bottom of the transfer band for which a simple
    alternative, every other aperture left as drawn, keeps clearance_um to the other contacts, web_min_um
    to the other apertures, edge_margin_um inside the keep-in (with none: inside the drawn extent, as
    an aperture beyond it counts under (c)), V <= pi d^3/6 at the top of the band,
    min_aperture_um, and reaches volume_min:
      slide - the contact's strip (its drawn width; the longest tip_extension_max and widest tip still
              narrower than the contact, shortened until it fits) slid along the row across the contact,
              its far end inside the contact across its whole width;
      flip  - the same on the other side of the centerline;
      pad   - the contact grown evenly (mitred) by up to overprint_max x d per side, or shrunk.
(b) apertures whose largest inscribed circle is under min_aperture_um and whose contact the report does
    not mark `unprintable`;
(c) apertures not inside the die's drawn extent, and apertures not inside the keep-in less edge_margin_um;
and the hard rules, on the Gerber and on the DXF each: rule 1 (one aperture per contact, clearance),
rule 3 (narrower than the contact along the row), rule 6 (the limit at the top of the band), rule 8
(keep-in less margin), rule 11 (largest inscribed circle).

Importable: `audit(layout, layer, ...)` returns an `Audit` with `counts()` and the offenders.
"""

from __future__ import annotations

import argparse
import glob
import gzip
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from shapely.geometry import LineString, Point, Polygon, box

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests"))

from validators import klayout_gerber_polygons  # the tests' independent readers

TOL = 0.002  # um: distances and lengths compared on the 1 nm grid with this slack
ALT_SLACK = 0.02  # um: an alternative keeps every distance by this much more (its tip disc is 128 chords)
ARC_ERROR = 0.001  # um: largest distance of a flattened arc's chord from the arc
CHORD_SAG = 0.25  # um: KLayout cuts a Gerber region's arcs into 11.25 deg chords (sag 0.005 r)


# ---------------------------------------------------------------- results


@dataclass
class Offender:
    contact: int
    x_um: float
    y_um: float
    planned_ratio: float
    best_ratio: float = 0.0
    alternative: str = ""
    detail: str = ""
    strip_ratio: float | None = None  # the best strip (slide or flip), rules 2 and 3 kept
    strip_detail: str = ""
    pad_ratio: float | None = None  # in a fine-pitch row: what a grown pad would reach (not counted: rule 3)
    pad_detail: str = ""


@dataclass
class Audit:
    layout: str
    layer: str
    plan_dir: str
    contacts: int = 0
    apertures: int = 0
    below_min: list[Offender] = field(default_factory=list)  # every contact under volume_min (bottom of band)
    a: list[Offender] = field(default_factory=list)
    b: list[Offender] = field(default_factory=list)
    c_extent: list[Offender] = field(default_factory=list)
    c_keep_in: list[Offender] = field(default_factory=list)
    hard: dict[str, list[str]] = field(default_factory=dict)  # "gerber rule 1" -> violations
    notes: list[str] = field(default_factory=list)
    plan_kept: bool = True  # the plan folder stays (False: planned in a temporary one, removed)
    keep_in: tuple[float, float, float, float] | None = None
    extent: tuple[float, float, float, float] | None = None
    exit_code: int | None = None

    def counts(self) -> dict[str, int]:
        out = {"a": len(self.a), "b": len(self.b), "c": len(self.c_extent), "c_keep_in": len(self.c_keep_in)}
        out["hard"] = sum(len(v) for v in self.hard.values())
        return out

    def as_dict(self) -> dict[str, Any]:
        def rows(items: list[Offender]) -> list[dict]:
            return [o.__dict__ for o in items]

        return {
            "layout": self.layout,
            "layer": self.layer,
            "plan_dir": self.plan_dir,
            "contacts": self.contacts,
            "apertures": self.apertures,
            "counts": self.counts(),
            "below_min": rows(self.below_min),
            "a": rows(self.a),
            "b": rows(self.b),
            "c_extent": rows(self.c_extent),
            "c_keep_in": rows(self.c_keep_in),
            "hard": self.hard,
            "notes": self.notes,
            "keep_in": self.keep_in,
            "extent": self.extent,
            "exit_code": self.exit_code,
        }


# ---------------------------------------------------------------- reading the layout


def _plain(path: str, tmp: str) -> str:
    """A gzipped layout expanded into `tmp` (the readers here take plain files)."""
    if not path.lower().endswith((".gz", ".gzip")):
        return path
    out = os.path.join(tmp, os.path.basename(path).rsplit(".", 1)[0])
    with gzip.open(path, "rb") as src, open(out, "wb") as dst:
        shutil.copyfileobj(src, dst, 1 << 20)
    return out


def _kind(path: str) -> str:
    name = path.lower()
    for suffix in (".gz", ".gzip"):
        name = name.removesuffix(suffix)
    ext = name.rsplit(".", 1)[-1]
    return {"gds2": "gds", "gdsii": "gds", "oasis": "oas", "defok": "def"}.get(ext, ext)


def _components(polys: list[Polygon]) -> list[Polygon]:
    """The pad layer's shapes merged: one polygon per connected region."""
    merged = shapely.union_all(shapely.make_valid(np.asarray(polys, dtype=object)), grid_size=0.001)
    parts = list(merged.geoms) if hasattr(merged, "geoms") else [merged]
    return [p for p in parts if isinstance(p, Polygon) and p.area > 0]


def read_layout(path: str, layer: str, cell: str | None, lef: list[str], tmp: str) -> tuple[list[Polygon], tuple]:
    """(contacts, extent): the merged pad-layer regions in um, and the bounding box of everything drawn."""
    kind = _kind(path)
    plain = _plain(path, tmp)
    if kind in ("gds", "oas"):
        import gdstk

        lib = gdstk.read_gds(plain) if kind == "gds" else gdstk.read_oas(plain)
        scale = lib.unit / 1e-6
        cells = {c.name: c for c in lib.cells}
        top = cells[cell] if cell else next(c for c in lib.top_level() if not c.name.startswith("$$$"))
        ld = [int(v) for v in layer.split("/")]
        polys = [Polygon(p.points * scale) for p in top.get_polygons(layer=ld[0], datatype=ld[1])]
        drawn = top.get_polygons()  # paths included, as polygons
        boxes = np.array([np.ravel(p.bounding_box()) for p in drawn if p.bounding_box() is not None])
        ext = (*boxes[:, :2].min(axis=0), *boxes[:, 2:].max(axis=0))
        # a wafer: a top cell of nothing but placements of one die cell (a die of many cells is not)
        one_cell = len({r.cell.name if hasattr(r.cell, "name") else r.cell for r in top.references}) == 1
        dies = _placed_boxes(top) if not top.polygons and not top.paths and top.references and one_cell else []
        return _components(polys), [tuple(float(v) * scale for v in b) for b in [ext, *dies]]
    if kind == "dxf":
        return _read_dxf_layout(plain, layer)
    if kind == "def":
        if not plain.lower().endswith(".def"):  # KLayout knows a DEF by its name
            os.symlink(os.path.abspath(plain), os.path.join(tmp, "layout.def"))
            plain = os.path.join(tmp, "layout.def")
        return _read_def(plain, layer, lef)
    raise SystemExit(f"audit: {path}: unknown layout kind {kind!r}")


def _placed_boxes(top) -> list[tuple]:
    """A wafer (a top cell of placements of one die cell only): each placed die's own box (its cell's extent)."""
    import gdstk

    out = []
    for ref in top.references:
        base = gdstk.Reference(ref.cell, ref.origin, ref.rotation, ref.magnification, ref.x_reflection)
        bb = base.bounding_box()
        if bb is None:
            continue
        offs = ref.repetition.get_offsets() if ref.repetition is not None and ref.repetition.size > 0 else [(0.0, 0.0)]
        for dx, dy in offs:
            out.append((bb[0][0] + dx, bb[0][1] + dy, bb[1][0] + dx, bb[1][1] + dy))
    return out


def _dxf_scale(doc) -> float:
    return {1: 25400.0, 4: 1000.0, 5: 10000.0, 6: 1e6, 13: 1.0}.get(doc.header.get("$INSUNITS", 0), 1.0)


def _dxf_entities(layout_space, parent: str | None = None):
    """(entity, layer) of a DXF space with its blocks placed (INSERT and MINSERT), recursively; an
    entity of a block on layer 0 takes the layer of the INSERT placing it."""
    for e in layout_space:
        layer = parent if parent is not None and e.dxf.layer == "0" else e.dxf.layer
        if e.dxftype() == "INSERT":
            inserts = list(e.multi_insert()) if e.mcount > 1 else [e]
            for ins in inserts:
                yield from _dxf_entities(ins.virtual_entities(), layer)
        else:
            yield e, layer


def _dxf_polygon(e, scale: float) -> Polygon | None:
    from ezdxf import path as ezpath

    kind = e.dxftype()
    if kind == "CIRCLE":
        c, r = e.dxf.center, e.dxf.radius
        n = max(64, int(math.pi / math.acos(max(-1.0, 1 - ARC_ERROR / (r * scale)))))
        t = np.linspace(0, 2 * math.pi, n, endpoint=False)
        return Polygon(np.c_[c.x + r * np.cos(t), c.y + r * np.sin(t)] * scale)
    if kind in ("LWPOLYLINE", "POLYLINE") and e.is_closed:
        pts = np.array([(v.x, v.y) for v in ezpath.make_path(e).flattening(ARC_ERROR / scale)]) * scale
        return Polygon(pts).buffer(0) if len(pts) >= 3 else None
    return None


def _read_dxf_layout(path: str, layer: str) -> tuple[list[Polygon], tuple]:
    import ezdxf
    from ezdxf import bbox

    doc = ezdxf.readfile(path)
    scale = _dxf_scale(doc)
    polys, boxes = [], []
    for e, on in _dxf_entities(doc.modelspace()):
        p = _dxf_polygon(e, scale)
        if p is None:
            continue
        boxes.append(p.bounds)
        if on.lower() == layer.lower():
            polys.append(p)
    ext = bbox.extents(doc.modelspace())
    b = np.array(boxes)
    if ext.has_data:
        ext_t = (ext.extmin.x * scale, ext.extmin.y * scale, ext.extmax.x * scale, ext.extmax.y * scale)
    else:
        ext_t = (*b[:, :2].min(axis=0), *b[:, 2:].max(axis=0))
    return _components(polys), [tuple(float(v) for v in ext_t)]


def _read_def(path: str, layer: str, lef: list[str]) -> tuple[list[Polygon], tuple]:
    import klayout.db as db

    cfg = db.LEFDEFReaderConfiguration()
    cfg.lef_files = [os.path.abspath(f) for f in lef]
    cfg.read_lef_with_def = False
    cfg.produce_cell_outlines = True
    opts = db.LoadLayoutOptions()
    opts.lefdef_config = cfg
    ly = db.Layout()
    ly.read(path, opts)
    top = ly.top_cell()
    polys, outline = [], None
    for li in ly.layer_indexes():
        info = ly.get_info(li)
        name = info.name or ""
        region = db.Region(top.begin_shapes_rec(li))
        if name.split(".")[0] == layer and name.split(".")[-1] in ("PIN", layer):
            polys += [Polygon([(p.x * ly.dbu, p.y * ly.dbu) for p in poly.each_point_hull()]) for poly in region.each()]
        if name.upper() == "OUTLINE" and not region.is_empty():
            b = region.bbox()
            outline = (b.left * ly.dbu, b.bottom * ly.dbu, b.right * ly.dbu, b.top * ly.dbu)
    if outline is None:
        b = top.dbbox()
        outline = (b.left, b.bottom, b.right, b.top)
    return _components(polys), [outline]


# ---------------------------------------------------------------- reading the stencil


def _arc_points(p0, p1, centre, clockwise: bool) -> np.ndarray:
    """Points of an arc from p0 to p1 about `centre` (mm), chords within ARC_ERROR of the arc."""
    cx, cy = centre
    r = math.hypot(p0[0] - cx, p0[1] - cy)
    a0 = math.atan2(p0[1] - cy, p0[0] - cx)
    a1 = math.atan2(p1[1] - cy, p1[0] - cx)
    sweep = a1 - a0
    sweep = (sweep if sweep < 0 else sweep - 2 * math.pi) if clockwise else sweep if sweep > 0 else sweep + 2 * math.pi
    if math.dist(p0, p1) < 1e-9:
        sweep = -2 * math.pi if clockwise else 2 * math.pi
    r_um = r * 1000.0
    step = 2 * math.acos(max(-1.0, 1 - ARC_ERROR / r_um)) if r_um > ARC_ERROR else math.pi / 8
    n = max(2, math.ceil(abs(sweep) / step))
    t = a0 + sweep * np.linspace(0, 1, n + 1)
    return np.c_[cx + r * np.cos(t), cy + r * np.sin(t)][1:]


def read_gerber(path: str) -> tuple[list[Polygon], str]:
    """The regions of a Gerber in um, each one aperture; (polygons, reader used)."""
    with open(path, errors="replace") as fh:
        text = fh.read()
    if "%SR" not in text:
        import gerbonara
        from gerbonara.graphic_objects import Region

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            g = gerbonara.GerberFile.open(path)
        polys = []
        for obj in g.objects:
            if not isinstance(obj, Region) or not obj.polarity_dark:
                break
            k = 1000.0 if obj.unit.shorthand == "mm" else 25400.0
            pts = [obj.outline[0]]
            for p0, p1, (clockwise, centre) in obj.iter_segments():
                if centre is not None and centre[0] is not None:
                    pts += list(_arc_points(p0, p1, centre, bool(clockwise)))
                else:
                    pts.append(p1)
            polys.append(Polygon(np.asarray(pts) * k).buffer(0))
        else:
            return polys, "gerbonara"
    return _klayout_gerber(path), "klayout"


def _klayout_gerber(path: str) -> list[Polygon]:
    polys, dbu = klayout_gerber_polygons(path)
    return [_kpoly(p, dbu) for p in polys]


def _kpoly(p, dbu: float) -> Polygon:
    hull = [(q.x * dbu, q.y * dbu) for q in p.each_point_hull()]
    holes = [[(q.x * dbu, q.y * dbu) for q in p.each_point_hole(h)] for h in range(p.holes())]
    return Polygon(hull, holes)


def read_dxf_stencil(path: str, layer: str = "STENCIL") -> list[Polygon]:
    import ezdxf

    doc = ezdxf.readfile(path)
    errors = doc.audit().errors
    if errors:
        raise SystemExit(f"audit: {path}: ezdxf audit finds {len(errors)} errors")
    scale = _dxf_scale(doc)
    out = []
    for e, on in _dxf_entities(doc.modelspace()):
        if on == layer:
            p = _dxf_polygon(e, scale)
            if p is not None:
                out.append(p)
    return out


# ---------------------------------------------------------------- geometry helpers


def min_dimension(p: Polygon) -> float:
    """d: the short side of the minimum rotated rectangle."""
    r = np.asarray(shapely.minimum_rotated_rectangle(p).exterior.coords)[:4]
    return float(min(np.hypot(*(r[1] - r[0])), np.hypot(*(r[2] - r[1]))))


def inscribed_diameter(p: Polygon) -> float:
    if p.is_empty or p.area <= 0:
        return 0.0
    return 2.0 * float(shapely.maximum_inscribed_circle(p, tolerance=0.005).length)


def width_along(p, u: np.ndarray) -> float:
    """Extent of a shape projected on the unit vector u."""
    pts = np.asarray(p.exterior.coords)
    t = pts @ u
    return float(t.max() - t.min())


def max_chord(p: Polygon, u: np.ndarray) -> float:
    """The longest cut of p by lines parallel to u (its width measured along u): the cut's length is
    piecewise linear between the vertices' levels, so its largest value is at one of them."""
    p = shapely.orient_polygons(p) if hasattr(shapely, "orient_polygons") else shapely.geometry.polygon.orient(p)
    n = np.array([-u[1], u[0]])
    best = 0.0
    rings = [np.asarray(p.exterior.coords)] + [np.asarray(h.coords) for h in p.interiors]
    s_all = np.concatenate([r @ n for r in rings])
    levels = np.unique(s_all)
    levels = np.concatenate([levels + 1e-7, levels - 1e-7])
    total = np.zeros(len(levels))
    for ring in rings:
        s, t = ring @ n, ring @ u
        s0, s1, t0, t1 = s[:-1], s[1:], t[:-1], t[1:]
        lev = levels[:, None]
        cross = (s0 - lev) * (s1 - lev) < 0
        ds = np.where(s1 == s0, 1.0, s1 - s0)
        tc = t0 + (lev - s0) / ds * (t1 - t0)
        # exterior counter-clockwise (holes clockwise): edges going up in s bound the shape on the right
        total += np.where(cross, np.sign(s1 - s0) * tc, 0.0).sum(axis=1)
    best = float(total.max()) if len(total) else 0.0
    return best


# ---------------------------------------------------------------- the audit


@dataclass
class _Rules:
    t: float
    te_min: float
    te_max: float
    mvf: float
    vmin: float
    clearance: float
    web: float
    margin: float
    min_ap: float
    overprint: float
    shrink: float
    ext_max: float
    width_ratio: float
    max_width: float
    fine_pitch: float

    @staticmethod
    def of(r: dict) -> _Rules:
        return _Rules(
            r["thickness_um"],
            r["transfer_efficiency_min"],
            r["transfer_efficiency_max"],
            r["metal_volume_fraction"],
            r["volume_min"],
            r["clearance_um"],
            r["web_min_um"],
            r["edge_margin_um"],
            r["min_aperture_um"],
            r["overprint_max"],
            r["shrink_um"],
            r["tip_extension_max"],
            r["width_ratio"],
            r["max_width_um"],
            r["fine_pitch_um"],
        )

    def bottom(self, area, d):
        return np.asarray(area) * self.t * self.te_min * self.mvf / (math.pi * d**3 / 6)

    def top(self, area, d):
        return np.asarray(area) * self.t * self.te_max * self.mvf / (math.pi * d**3 / 6)


class _Scene:
    """Contacts and apertures of one plan, with what the alternatives of one contact must keep to."""

    def __init__(self, contacts, apertures, owner, rules: _Rules, keep_in, frames=()):
        self.contacts = contacts  # list[Polygon]
        self.apertures = apertures  # list[Polygon]
        self.owner = owner  # aperture -> contact index or -1
        self.rules = rules
        self.keep_in = keep_in  # per contact: its keep-in less the margin (Polygon) or None
        self.frames = list(frames)  # regions with a hole left out of the contacts: kept clear of
        self.ctree = shapely.STRtree(contacts)
        self.atree = shapely.STRtree(apertures) if apertures else None

    def limits(self, i: int, reach: float):
        """The other contacts and the other apertures within `reach` of contact i."""
        zone = self.contacts[i].buffer(reach)
        oc = [self.contacts[j] for j in self.ctree.query(zone) if j != i]
        oc += [f for f in self.frames if f.intersects(zone)]
        oa = []
        if self.atree is not None:
            oa = [self.apertures[k] for k in self.atree.query(zone) if self.owner[k] != i]
        return np.asarray(oc, dtype=object), np.asarray(oa, dtype=object)

    def valid(self, geoms: np.ndarray, i: int, oc, oa, d: float, printable: bool = False) -> np.ndarray:
        """Which candidate apertures of contact i keep every rule (vectorised over candidates)."""
        r = self.rules
        ok = shapely.intersects(geoms, self.contacts[i]) & ~shapely.is_empty(geoms)
        area_max = (math.pi * d**3 / 6) / (r.t * r.te_max * r.mvf)
        ok &= shapely.area(geoms) <= area_max * (1 - 1e-6)
        for other in oc:
            ok &= ~shapely.dwithin(geoms, other, r.clearance + ALT_SLACK)
        for other in oa:
            ok &= ~shapely.dwithin(geoms, other, r.web + ALT_SLACK)
        if self.keep_in[i] is not None:
            ok &= shapely.within(geoms, self.keep_in[i])
        if not printable:  # the families below are printable by construction (width, buffer)
            for k in np.flatnonzero(ok):
                ok[k] = inscribed_diameter(geoms[k]) >= r.min_ap + TOL
        return ok


def _bisect(make, valid, lo: np.ndarray, hi: np.ndarray, iters: int = 14) -> np.ndarray:
    """The largest parameter in [lo, hi], per candidate, whose shape is valid (nan where even lo is not).
    The rules only tighten as a shape grows, so a bisection finds it; the result is checked as made."""
    n = len(lo)
    ok_hi = valid(make(hi, np.ones(n, bool)), np.ones(n, bool))
    best = np.where(ok_hi, hi, np.nan)
    live = ~ok_hi
    if live.any():
        ok_lo = valid(make(lo, live), live)
        live &= ok_lo
    best[live] = lo[live]
    a, b = lo.copy(), hi.copy()
    for _ in range(iters):
        if not live.any():
            break
        mid = (a + b) / 2
        v = valid(make(mid, live), live)
        a = np.where(live & v, mid, a)
        b = np.where(live & ~v, mid, b)
        best[live] = a[live]
    return best


class _StripFamily:
    """Strips along v of width w across one contact, their axes slid by `offs` along u (from the
    centroid): the far end inside the contact across the whole width, the body reaching L beyond the
    contact's near edge, where a tip disc of diameter D is centred."""

    def __init__(self, contact: Polygon, u: np.ndarray, v: np.ndarray, w: float, offs: np.ndarray):
        c = np.array(contact.centroid.coords[0])
        nv = np.array([-v[1], v[0]])
        lat = offs * float(u @ nv)
        t0 = np.full(len(offs), np.nan)
        t1 = np.full(len(offs), np.nan)
        for k, s in enumerate(lat):
            ends = []
            for q in (-w / 2, -w / 4, 0.0, w / 4, w / 2):
                o = c + (s + q) * nv
                cut = LineString([o - 1e5 * v, o + 1e5 * v]).intersection(contact)
                if cut.is_empty:
                    break
                tt = (shapely.get_coordinates(cut) - c) @ v
                ends.append((tt.min(), tt.max()))
            else:
                t0[k] = max(e[0] for e in ends)
                t1[k] = max(e[1] for e in ends)
        keep = ~np.isnan(t0) & (t1 - t0 > w)  # crossing the contact, its body at least as long as wide
        self.lat, self.t0, self.t1 = lat[keep], t0[keep], t1[keep]
        self.offs = offs[keep]
        self.c, self.v, self.nv, self.w = c, v, nv, w

    def make(self, L: np.ndarray, D: float, mask: np.ndarray) -> np.ndarray:
        out = np.full(len(L), None, dtype=object)
        idx = np.flatnonzero(mask)
        if not len(idx):
            return out
        c, v, nv, w = self.c, self.v, self.nv, self.w
        o = c + np.outer(self.lat[idx], nv)
        tip = (self.t1[idx] + L[idx])[:, None]
        a = o + self.t0[idx][:, None] * v
        b = o + tip * v
        quads = np.stack([a - w / 2 * nv, b - w / 2 * nv, b + w / 2 * nv, a + w / 2 * nv], axis=1)
        body = shapely.polygons(quads)
        disc = shapely.buffer(shapely.points(b), D / 2, quad_segs=32)
        out[idx] = shapely.union(body, disc)
        return out


def _strip_alternatives(scene: _Scene, i: int, d: float, u, v, w: float, pitch: float, oc, oa):
    """Best (ratio, offset, tip diameter, L, shape) of the strips along v slid along u across contact i."""
    contact = scene.contacts[i]
    r = scene.rules
    cw = width_along(contact, u)
    D_max = cw - 0.05  # a tip still narrower than the contact along the row (rule 3)
    if w < r.min_ap or D_max < w:
        return None
    fam = _StripFamily(contact, u, v, w, np.arange(-cw / 2, cw / 2 + 1e-9, 1.0))
    n = len(fam.offs)
    if not n:
        return None
    best = None
    # only the neighbours the largest strips come near can stop them
    reach = shapely.union_all(fam.make(np.full(n, r.ext_max * pitch), D_max, np.ones(n, bool))).buffer((D_max - w) / 2)
    oc = oc[shapely.dwithin(oc, reach, r.clearance + 1)] if len(oc) else oc
    oa = oa[shapely.dwithin(oa, reach, r.web + 1)] if len(oa) else oa

    def valid(geoms, mask):
        ok = np.zeros(len(geoms), bool)
        idx = np.flatnonzero(mask)
        if len(idx):
            ok[idx] = scene.valid(geoms[idx], i, oc, oa, d, printable=True)
        return ok

    for D in np.unique(np.round(np.linspace(w, D_max, 4), 3)):
        lo = np.full(n, -D / 2 + 0.5)
        hi = np.full(n, r.ext_max * pitch)
        Ls = _bisect(lambda L, m, D=D: fam.make(L, D, m), valid, lo, hi)
        got = ~np.isnan(Ls)
        if not got.any():
            continue
        geoms = fam.make(np.where(got, Ls, lo), D, got)
        for k in np.flatnonzero(got):
            ratio = float(r.bottom(geoms[k].area, d))
            if best is None or ratio > best[0]:
                best = (ratio, float(fam.offs[k]), float(D), float(Ls[k]), geoms[k])
    return best


def _pad_alternative(scene: _Scene, i: int, d: float, oc, oa):
    contact = scene.contacts[i]
    r = scene.rules

    ins0 = inscribed_diameter(contact)

    def make(b, mask):
        return np.asarray([contact.buffer(float(x), join_style="mitre", mitre_limit=10.0) for x in b], dtype=object)

    def valid(geoms, mask):
        ok = scene.valid(geoms, i, oc, oa, d, printable=True)
        return ok & (ins0 + 2 * b_now[0] >= r.min_ap + TOL)

    b_now = [0.0]

    def make_track(b, mask):
        b_now[0] = float(b[0])
        return make(b, mask)

    b = _bisect(make_track, valid, np.array([-r.shrink]), np.array([r.overprint * d]), iters=20)
    if np.isnan(b[0]):
        return None
    g = make(b, None)[0]
    return float(r.bottom(g.area, d)), float(b[0]), g


def _row_geometry(records: list[dict], centres: np.ndarray) -> dict[int, tuple[np.ndarray, float]]:
    """Each row's direction u (fitted to its contacts' centres) and pitch (median step along u)."""
    members: dict[int, list[int]] = {}
    for k, rec in enumerate(records):
        for row in rec.get("rows") or []:
            members.setdefault(row, []).append(k)
    out = {}
    for row, idx in members.items():
        pts = centres[idx]
        if len(pts) < 2:
            continue
        q = pts - pts.mean(axis=0)
        u = np.linalg.svd(q, full_matrices=False)[2][0]
        t = np.sort(q @ u)
        steps = np.diff(t)
        steps = steps[steps > 1e-6]
        out[row] = (u / np.linalg.norm(u), float(np.median(steps)) if len(steps) else 0.0)
    return out


def _strip_axis(ap: Polygon, contact: Polygon) -> np.ndarray:
    """Direction of a strip toward its tip: the long side of its rotated rectangle, pointing away from
    the contact's centroid toward the part of the aperture beyond the contact."""
    r = np.asarray(shapely.minimum_rotated_rectangle(ap).exterior.coords)[:4]
    e1, e2 = r[1] - r[0], r[2] - r[1]
    v = e1 if np.hypot(*e1) >= np.hypot(*e2) else e2
    v = v / np.linalg.norm(v)
    out = ap.difference(contact)
    far = np.array(out.centroid.coords[0]) if not out.is_empty else np.array(ap.centroid.coords[0])
    if (far - np.array(contact.centroid.coords[0])) @ v < 0:
        v = -v
    return v


def _strip_width(ap: Polygon, contact: Polygon, v: np.ndarray) -> float:
    """A strip's body width: its cut across v where it starts inside the contact."""
    nv = np.array([-v[1], v[0]])
    pts = np.asarray(ap.exterior.coords)
    t = pts @ v
    s = pts @ nv
    widths = []
    for frac in (0.05, 0.15, 0.3):
        tt = t.min() + frac * (t.max() - t.min())
        o = tt * v
        line = LineString([o + (s.min() - 1) * nv, o + (s.max() + 1) * nv])
        widths.append(line.intersection(ap).length)
    return float(np.median(widths))


def _grown(by: float) -> str:
    """A pad alternative's change per side, in words."""
    return f"grown {by:.2f} um per side" if by >= 0 else f"shrunk {-by:.2f} um per side"


def _run_plan(layout: str, layer: str, lef: list[str], out: str, exe: str | None, cell: str | None = None) -> int:
    exe = exe or os.path.join(os.path.dirname(sys.executable), "stencilgen")
    cmd = [exe, "plan", layout, "--layer", layer, "-o", out, "-q"] + (["--cell", cell] if cell else [])
    for f in lef:
        cmd += ["--lef", f]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode not in (0, 1):
        raise SystemExit(f"audit: stencilgen plan {layout} failed ({r.returncode}): {r.stderr.strip()}")
    return r.returncode


def _finding_codes(rec: dict) -> set[str]:
    return {f["code"] for f in rec.get("findings") or []}


def audit(
    layout: str,
    layer: str,
    plan_dir: str | None = None,
    lef: list[str] | tuple[str, ...] = (),
    exe: str | None = None,
    alternatives: bool = True,
    cell: str | None = None,
) -> Audit:
    """Audit the plan of `layout` (planned now with the default rules and `cell`, or read from
    `plan_dir`)."""
    from stencilgen import load_report

    lef = list(lef)
    tmp = tempfile.mkdtemp(prefix="audit-")
    try:
        exit_code = None
        if plan_dir is None:
            plan_dir = os.path.join(tmp, "plan")
            exit_code = _run_plan(layout, layer, lef, plan_dir, exe, cell)
        reports = [p for p in glob.glob(os.path.join(plan_dir, "*.json")) if not p.endswith(".check.json")]
        if len(reports) != 1:
            raise SystemExit(f"audit: {plan_dir}: expected one plan report (*.json), found {len(reports)}")
        report = load_report(reports[0])
        summary = report["summary"]
        stem = os.path.splitext(reports[0])[0]
        res = Audit(layout, layer, plan_dir, exit_code=exit_code if exit_code is not None else summary.get("exit_code"))
        res.plan_kept = exit_code is None
        rules = _Rules.of(summary["rules"])
        contacts, extents = read_layout(layout, layer, summary.get("cell"), lef, tmp)
        _audit_plan(res, report, rules, contacts, extents, stem, alternatives)
        return res
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _audit_plan(res: Audit, report, rules: _Rules, mine: list[Polygon], extents, stem: str, alternatives: bool):
    records = report["contacts"]
    res.contacts = len(records)
    centres = np.array([[c["x_um"], c["y_um"]] for c in records], dtype=float).reshape(-1, 2)
    # contacts: the report's records matched to the regions read here (the centre inside, or within 1 um)
    tree = shapely.STRtree(mine)
    contacts: list[Polygon] = []
    used: dict[int, int] = {}
    for k, (x, y) in enumerate(centres):
        hits = tree.query(Point(x, y), predicate="dwithin", distance=1.0)
        if len(hits) != 1:
            raise SystemExit(f"audit: contact {k} at ({x}, {y}) um matches {len(hits)} pad-layer regions")
        j = int(hits[0])
        if j in used:
            res.notes.append(f"contacts {used[j]} and {k} lie in one merged region of the pad layer")
        used[j] = k
        contacts.append(mine[j])
    left = [p for j, p in enumerate(mine) if j not in used]
    for p in left:
        b = p.bounds
        res.notes.append(
            f"pad-layer region not a contact in the report: {b[2] - b[0]:.1f} x {b[3] - b[1]:.1f} um at "
            f"({(b[0] + b[2]) / 2:.1f}, {(b[1] + b[3]) / 2:.1f}) um{' (with a hole)' if p.interiors else ''}"
        )
    d = np.array([min_dimension(p) for p in contacts])
    for k, rec in enumerate(records):
        if abs(d[k] - rec["d_um"]) > 0.01:
            res.notes.append(f"contact {k}: d {d[k]:.3f} um here, {rec['d_um']} um in the report")

    # keep-in: the extent of everything drawn, when it reaches beyond the contacts; a wafer's die: its own
    extent = extents[0]
    cb = shapely.total_bounds(np.asarray(contacts, dtype=object)) if contacts else extent
    res.extent = tuple(round(float(v), 4) for v in extent)
    reaches = extent[0] < cb[0] - TOL or extent[1] < cb[1] - TOL or extent[2] > cb[2] + TOL or extent[3] > cb[3] + TOL
    keep = summary_keep_in = report["summary"].get("keep_in") or {}
    rep_box = summary_keep_in.get("bbox_um") if isinstance(keep, dict) else None
    res.keep_in = res.extent if reaches else None
    if (rep_box is None) != (res.keep_in is None) or (
        rep_box is not None
        and res.keep_in is not None
        and max(abs(a - b) for a, b in zip(rep_box, res.keep_in, strict=True)) > 0.01
    ):
        res.notes.append(
            f"keep-in: {res.keep_in} here, the report's {rep_box} "
            f"({keep.get('source') if isinstance(keep, dict) else keep})"
        )
    m = rules.margin
    keep_poly = box(extent[0] + m, extent[1] + m, extent[2] - m, extent[3] - m) if res.keep_in else None
    ext_poly = box(*extent)
    keep_of = [keep_poly] * len(contacts)
    ext_of = [ext_poly] * len(contacts)
    if len(extents) > 1:
        dies = [box(*b) for b in extents[1:]]
        dtree = shapely.STRtree(dies)
        for k, p in enumerate(contacts):
            hit = dtree.query(p.centroid, predicate="intersects")
            if len(hit):
                die = dies[int(hit[0])]
                inside = [q for q in contacts if die.contains(q.centroid)]
                cbk = shapely.total_bounds(np.asarray(inside, dtype=object))
                db_ = die.bounds
                reach_k = (
                    db_[0] < cbk[0] - TOL or db_[1] < cbk[1] - TOL or db_[2] > cbk[2] + TOL or db_[3] > cbk[3] + TOL
                )
                ext_of[k] = die
                keep_of[k] = box(db_[0] + m, db_[1] + m, db_[2] - m, db_[3] - m) if reach_k else None
        placed = f"{len(dies)} placed dies, each keeps" if len(dies) > 1 else "one placed die, which keeps"
        res.notes.append(f"wafer: {placed} its apertures inside its own extent (rule 8 per die)")

    row_geo = _row_geometry(records, centres)
    unprintable = {k for k, rec in enumerate(records) if "unprintable" in _finding_codes(rec)}

    # the stencil files, each checked for the hard rules; the Gerber's apertures drive (a)-(c)
    gerber, reader = read_gerber(stem + ".gbr")
    res.apertures = len(gerber)
    slack = CHORD_SAG if reader == "klayout" else TOL
    if reader == "klayout":
        res.notes.append("Gerber steps and repeats (%SR%): read by KLayout, arcs as 11.25 deg chords")
    frames = [p for p in left if p.interiors]
    owner_g = _hard_rules(
        res, "gerber", gerber, contacts, records, d, rules, keep_of, row_geo, unprintable, slack, frames
    )
    if os.path.exists(stem + ".dxf"):
        dxf = read_dxf_stencil(stem + ".dxf")
        owner_d = _hard_rules(res, "dxf", dxf, contacts, records, d, rules, keep_of, row_geo, unprintable, TOL, frames)
        _compare(res, gerber, owner_g, dxf, owner_d, slack)
    else:
        res.notes.append("no DXF written")

    by_contact: dict[int, list[int]] = {}
    for a, c in enumerate(owner_g):
        if c >= 0:
            by_contact.setdefault(int(c), []).append(a)
    area = np.zeros(len(contacts))
    for c, aps in by_contact.items():
        area[c] = sum(gerber[a].area for a in aps)
    ratio = rules.bottom(area, d)
    for k, rec in enumerate(records):
        pos = (round(float(centres[k][0]), 3), round(float(centres[k][1]), 3))
        if abs(ratio[k] - (rec.get("volume_ratio") or 0) * rules.te_min / 0.85) > 0.01 and rec.get("volume_ratio"):
            pass  # the nominal ratio is at 0.85; compared through the band below
        band = rec.get("solder_volume_band_um3")
        if band:
            mine_bottom = area[k] * rules.t * rules.te_min * rules.mvf
            if abs(mine_bottom - band[0]) > 0.002 * max(1.0, band[0]) + 1.0:
                res.notes.append(
                    f"contact {k}: bottom-of-band volume {mine_bottom:.1f} um3 here, {band[0]} in the report"
                )
        if ratio[k] < rules.vmin - 1e-4:
            res.below_min.append(Offender(k, *pos, round(float(ratio[k]), 4)))
    # (b) and (c)
    for a, g in enumerate(gerber):
        c = int(owner_g[a])
        cid = c if c >= 0 else -1
        x, y = g.centroid.x, g.centroid.y
        ins = inscribed_diameter(g)
        if ins < rules.min_ap - slack and cid not in unprintable:
            res.b.append(
                Offender(
                    cid, round(x, 3), round(y, 3), float(ratio[c]) if c >= 0 else 0.0, detail=f"inscribed {ins:.2f} um"
                )
            )
        bounds = f"bounds {tuple(round(v, 2) for v in g.bounds)}"
        outside = Offender(cid, round(x, 3), round(y, 3), float(ratio[c]) if c >= 0 else 0.0, detail=bounds)
        if not (ext_of[c] if c >= 0 else ext_poly).buffer(slack, join_style="mitre").contains(g):
            res.c_extent.append(outside)
        kp = keep_of[c] if c >= 0 else keep_poly
        if kp is not None and not kp.buffer(slack, join_style="mitre").contains(g):
            res.c_keep_in.append(outside)

    if not alternatives:
        return
    # (a) the alternatives of every contact under volume_min
    # (an alternative stays inside the keep-in less margin or, where there is none, inside the drawn
    # extent: one outside it would itself count under (c))
    bound_of = [kp if kp is not None else ext for kp, ext in zip(keep_of, ext_of, strict=True)]
    scene = _Scene(contacts, gerber, owner_g, rules, bound_of, frames)
    for off in res.below_min:
        k = off.contact
        rec = records[k]
        rows = [row_geo[r] for r in rec.get("rows") or [] if r in row_geo]
        pitch = max([p for _, p in rows], default=2 * d[k])
        reach = 2.5 * max(pitch, d[k]) + rules.web
        oc, oa = scene.limits(k, reach)
        best = None
        aps = by_contact.get(k, [])
        fine = any(p <= rules.fine_pitch + TOL for _, p in rows)
        if fine:
            for u, _p in rows:
                if len(aps) == 1 and rec.get("aperture") == "strip":
                    v = _strip_axis(gerber[aps[0]], contacts[k])
                    w = _strip_width(gerber[aps[0]], contacts[k], v)
                else:
                    v = np.array([-u[1], u[0]])
                    w = min(rules.width_ratio * width_along(contacts[k], u), _p - rules.web, rules.max_width)
                for name, vv in (("slide", v), ("flip", -v)):
                    got = _strip_alternatives(scene, k, d[k], u, vv, w, pitch, oc, oa)
                    if got and (best is None or got[0] > best[0]):
                        best = (
                            got[0],
                            name,
                            f"axis {math.degrees(math.atan2(vv[1], vv[0])):.0f} deg slid {got[1]:+.1f} um along the "
                            f"row, width {w:.1f} um, tip {got[2]:.1f} um centred {got[3]:.1f} um beyond the contact",
                        )
        if best:
            off.strip_ratio, off.strip_detail = round(best[0], 4), f"{best[1]}: {best[2]}"
        pad = _pad_alternative(scene, k, d[k], oc, oa)
        if pad and fine:  # a pad grown in a fine-pitch row is wider than its contact: rule 3 (hard) breaks
            off.pad_ratio, off.pad_detail = (
                round(pad[0], 4),
                f"{_grown(pad[1])}; not counted: a pad-shaped aperture in a fine-pitch row breaks rule 3",
            )
        elif pad and (best is None or pad[0] > best[0] + 1e-9):
            best = (pad[0], "pad", _grown(pad[1]))
        if best:
            off.best_ratio, off.alternative, off.detail = round(best[0], 4), best[1], best[2]
        if best and best[0] >= rules.vmin + 1e-4:
            res.a.append(off)


def _hard_rules(
    res, name, aps, contacts, records, d, rules, keep_of, row_geo, unprintable, slack, frames=()
) -> np.ndarray:
    """Rules 1, 3, 6 (limit), 8 and 11 on one stencil file; returns each aperture's contact (-1: none).
    `frames`: pad-layer regions with a hole the report leaves out (a seal ring's opening): an aperture
    keeps clearance_um from them as from a contact (rule 1)."""
    bad: dict[str, list[str]] = {f"{name} rule {r}": [] for r in ("1", "3", "6", "8", "11")}
    ctree = shapely.STRtree(contacts)
    owner = np.full(len(aps), -1)
    arr = np.asarray(aps, dtype=object)
    hits = ctree.query(arr, predicate="intersects")
    touched: dict[int, list[int]] = {}
    for a, c in hits.T:
        touched.setdefault(int(a), []).append(int(c))
    per_contact: dict[int, int] = {}
    for a in range(len(aps)):
        cs = touched.get(a, [])
        if len(cs) != 1:
            bad[f"{name} rule 1"].append(
                f"aperture at ({aps[a].centroid.x:.1f}, {aps[a].centroid.y:.1f}) touches {len(cs)} contacts"
            )
            continue
        owner[a] = cs[0]
        per_contact[cs[0]] = per_contact.get(cs[0], 0) + 1
    for c in range(len(contacts)):
        n = per_contact.get(c, 0)
        if n > 1 or (n == 0 and c not in unprintable):
            bad[f"{name} rule 1"].append(f"contact {c}: {n} apertures")
    near = ctree.query(arr, predicate="dwithin", distance=rules.clearance)
    for a, c in near.T:
        if owner[a] >= 0 and c != owner[a]:
            dist = aps[a].distance(contacts[c])
            if dist < rules.clearance - slack:
                bad[f"{name} rule 1"].append(f"contact {owner[a]}: {dist:.3f} um from contact {c}")
    # two apertures that touch print as one opening over two contacts (each region, read on its own,
    # touches only its own contact)
    atree = shapely.STRtree(arr)
    for a, b in atree.query(arr, predicate="intersects").T:
        if a < b and owner[a] >= 0 and owner[b] >= 0 and owner[a] != owner[b]:
            bad[f"{name} rule 1"].append(f"contacts {owner[a]} and {owner[b]}: their apertures touch (one opening)")
    for frame in frames:
        for a in np.flatnonzero(owner >= 0):
            dist = aps[a].distance(frame)
            if dist < rules.clearance - slack:
                bad[f"{name} rule 1"].append(f"contact {owner[a]}: {dist:.3f} um from a frame (with a hole)")
    for a, g in enumerate(aps):
        c = int(owner[a])
        if c < 0:
            continue
        top = float(rules.top(g.area, d[c]))
        if top > 1 + 1e-4 + (0.002 if slack > TOL else 0):
            bad[f"{name} rule 6"].append(f"contact {c}: {top:.4f} of pi d^3/6 at the top of the band")
        if keep_of[c] is not None and not keep_of[c].buffer(slack, join_style="mitre").contains(g):
            bad[f"{name} rule 8"].append(f"contact {c}: aperture bounds {tuple(round(v, 2) for v in g.bounds)}")
        ins = inscribed_diameter(g)
        if ins < rules.min_ap - slack:
            bad[f"{name} rule 11"].append(f"contact {c}: inscribed {ins:.2f} um")
        # rule 3 along each row at fine pitch holding the contact (a row at coarse pitch has pads)
        for r in records[c].get("rows") or []:
            if r in row_geo and row_geo[r][1] <= rules.fine_pitch + TOL:
                _rule3(bad[f"{name} rule 3"], res.notes, name, c, r, g, contacts[c], row_geo[r][0], slack)
    for key, items in bad.items():
        res.hard[key] = items
    return owner


def _rule3(bad: list[str], notes: list[str], name: str, c: int, r: int, g: Polygon, contact: Polygon, u, slack) -> None:
    """Rule 3: a strip narrower than its contact in the row direction. A strip across the row is cut
    along the row (tip included); an oblique one is measured across its axis, its body at its angle to
    the row (width / sin) and its tip disc as it is; its longest cut along the row is only noted."""
    cw = width_along(contact, u)
    v = _strip_axis(g, contact)
    sin = abs(float(u[0] * v[1] - u[1] * v[0]))
    chord = max_chord(g, u)
    if sin > math.sin(math.radians(88)):
        if chord > cw - TOL and chord >= cw - slack / 2:
            bad.append(f"contact {c}: {chord:.3f} um along row {r}, contact {cw:.3f} um")
        return
    body = _strip_width(g, contact, v) / max(sin, 1e-9)
    tip = max_chord(g, np.array([-v[1], v[0]]))
    if body > cw - TOL or tip > cw - TOL:
        bad.append(
            f"contact {c}: oblique strip {body:.3f} um wide along row {r} (tip {tip:.3f} um), contact {cw:.3f} um"
        )
    elif chord > cw - TOL and name == "gerber":
        notes.append(
            f"contact {c}: the oblique strip's longest cut along row {r} (body and tip) is {chord:.1f} um, "
            f"its contact {cw:.1f} um"
        )


def _compare(res: Audit, gerber, owner_g, dxf, owner_d, slack) -> None:
    """The Gerber and the DXF draw the same apertures (per contact, XOR area within the arc error)."""
    g_by = {
        int(c): shapely.union_all([gerber[a] for a in np.flatnonzero(owner_g == c)]) for c in set(owner_g) if c >= 0
    }
    d_by = {int(c): shapely.union_all([dxf[a] for a in np.flatnonzero(owner_d == c)]) for c in set(owner_d) if c >= 0}
    diff = []
    for c in sorted(set(g_by) | set(d_by)):
        if c not in g_by or c not in d_by:
            diff.append(f"contact {c}: aperture only in the {'Gerber' if c in g_by else 'DXF'}")
            continue
        x = g_by[c].symmetric_difference(d_by[c]).area
        per = g_by[c].length
        if x > per * max(slack, 0.005) + 0.5:
            diff.append(f"contact {c}: Gerber and DXF differ by {x:.2f} um2")
    res.hard["gerber vs dxf"] = diff


# ---------------------------------------------------------------- output


def table(results: list[Audit]) -> str:
    head = (
        "| layout | layer | contacts | apertures | exit | below volume_min | (a) | (b) | (c) extent | (c) keep-in "
        "| hard rules |"
    )
    lines = [head, "|" + "---|" * 11]
    for r in results:
        c = r.counts()
        lines.append(
            f"| {os.path.basename(r.layout)} | {r.layer} | {r.contacts} | {r.apertures} | {r.exit_code} "
            f"| {len(r.below_min)} | "
            f"{c['a']} | {c['b']} | {c['c']} | {c['c_keep_in']} | {c['hard']} |"
        )
    return "\n".join(lines)


def details(r: Audit) -> str:
    kept = "" if r.plan_kept else " (planned in a temporary folder, removed: --plan-dir audits a plan kept)"
    out = [f"## {r.layout} ({r.layer})", f"plan: {r.plan_dir}{kept}; extent {r.extent}; keep-in {r.keep_in}"]
    for label, items in (
        ("(a) alternative lifts above volume_min", r.a),
        ("(b) unreported slivers", r.b),
        ("(c) outside the drawn extent", r.c_extent),
        ("(c) outside the keep-in less margin", r.c_keep_in),
    ):
        if items:
            out.append(f"{label}: {len(items)}")
            for o in items[:40]:
                out.append(
                    f"  contact {o.contact} at ({o.x_um}, {o.y_um}) um: planned {o.planned_ratio:.3f}"
                    + (
                        f", best alternative {o.best_ratio:.3f} ({o.alternative}: {o.detail})"
                        if o.alternative
                        else f" {o.detail}"
                    )
                    + (
                        f"; best strip {o.strip_ratio:.3f} ({o.strip_detail})"
                        if o.strip_ratio is not None and not o.alternative.startswith(("slide", "flip"))
                        else ""
                    )
                )
            if len(items) > 40:
                out.append(f"  ... and {len(items) - 40} more (--json lists every one)")
    rest = [o for o in r.below_min if o not in r.a]
    if rest:
        out.append(f"under volume_min with no simple alternative reaching it: {len(rest)}")
        for o in rest[:40]:
            out.append(
                f"  contact {o.contact} at ({o.x_um}, {o.y_um}) um: planned {o.planned_ratio:.3f}, "
                f"best {o.best_ratio:.3f} ({o.alternative or 'none fits'})"
                + (f"; a pad would reach {o.pad_ratio:.3f} ({o.pad_detail})" if o.pad_ratio is not None else "")
            )
        if len(rest) > 40:
            out.append(f"  ... and {len(rest) - 40} more (--json lists every one)")
    for key, items in r.hard.items():
        if items:
            out.append(f"hard {key}: {len(items)}")
            out += [f"  {t}" for t in items[:20]]
    for n in r.notes[:30]:
        out.append(f"note: {n}")
    if len(r.notes) > 30:
        out.append(f"note: ... {len(r.notes) - 30} more")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("layout")
    ap.add_argument("--layer", required=True)
    ap.add_argument("--lef", action="append", default=[])
    ap.add_argument("--plan-dir", help="audit this plan folder instead of planning now")
    ap.add_argument("--json", help="write the result as JSON to this file")
    ap.add_argument("--stencilgen", help="the stencilgen executable (default: beside this Python)")
    ap.add_argument("--cell", help="the top cell to plan (default: the only top cell)")
    args = ap.parse_args(argv)
    res = audit(args.layout, args.layer, args.plan_dir, args.lef, args.stencilgen, cell=args.cell)
    print(table([res]))
    print(details(res))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(res.as_dict(), fh, indent=1)
    c = res.counts()
    return 0 if c["a"] == c["b"] == c["c"] == c["hard"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
