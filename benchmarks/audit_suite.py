"""Run the plan audit (audit_plan.py) over many layouts and write one table.

    .venv/bin/python benchmarks/audit_suite.py [--out audit_results.md] [--only NAME] [EXTRA.toml]

Layouts: the bundled samples, synthetic dies made here from tests/synth.py (rings at 50-125 um pitch,
pads near the die edge, mixed pad sizes, 60 deg and asymmetric corners, staggered rows, area arrays;
several seeds), and the layouts listed in EXTRA (TOML: [[layout]] path, layer, lef = [...], cell), such as
../shared/realworld and tape-out dies fetched by hand.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import tomllib

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "tests"))

import audit_plan  # noqa: E402
import synth  # noqa: E402

SAMPLES = [
    ("sample_layouts/ring_100um.gds", "9/0"),
    ("sample_layouts/rotated_mixed_pitch.gds", "9/0"),
    ("sample_layouts/staggered_rows.gds", "9/0"),
    ("sample_layouts/area_array.gds", "9/0"),
    ("sample_layouts/die_mm_blocks.dxf", "PADS"),
    ("sample_layouts/wafer_5x4.gds", "9/0"),
]


def write_die(path: str, polygons: list[np.ndarray], margin: float) -> None:
    """The pads on 9/0 and the die outline on 39/0, `margin` um beyond the pads."""
    import datetime

    import gdstk

    lib = gdstk.Library(unit=1e-6, precision=1e-9)
    cell = lib.new_cell("TOP")
    for p in polygons:
        cell.add(gdstk.Polygon(p, layer=9, datatype=0))
    pts = np.concatenate(polygons)
    cell.add(gdstk.rectangle(tuple(pts.min(axis=0) - margin), tuple(pts.max(axis=0) + margin), layer=39, datatype=0))
    lib.write_gds(path, timestamp=datetime.datetime(2026, 1, 1))


def sixty(pitch: float = 100.0, count: int = 12, pad=(60.0, 90.0)) -> synth.Die:
    """A triangular die: three rows meeting at 60 deg corners, pads `pitch` apart, centred on each side."""
    die = synth.Die()
    side = (count + 3) * pitch
    verts = [np.array([0.0, 0.0]), np.array([side, 0.0]), np.array([side / 2, side * np.sqrt(3) / 2])]
    centre = sum(verts) / 3
    for k in range(3):
        a, b = verts[k], verts[(k + 1) % 3]
        u = (b - a) / np.linalg.norm(b - a)
        n = np.array([-u[1], u[0]])
        if (centre - a) @ n < 0:
            n = -n
        mid = (a + b) / 2 + n * 120.0
        ang = float(np.degrees(np.arctan2(u[1], u[0])))
        for i in range(count):
            c = mid + (i - (count - 1) / 2) * pitch * u
            die.add((c[0], c[1]), pad, ang % 180)
    return die


def synthetic(folder: str) -> list[tuple[str, str]]:
    out = []

    def add(name: str, die: synth.Die, margin: float) -> None:
        path = os.path.join(folder, name + ".gds")
        write_die(path, die.polygons(), margin)
        out.append((path, "9/0"))

    rng = np.random.default_rng(17)
    for pitch in (50.0, 60.0, 75.0, 90.0, 100.0, 125.0):
        count = int(rng.integers(8, 14))
        pad = (round(0.6 * pitch, 1), round(0.9 * pitch, 1))
        missing = {int(rng.integers(0, 4)): [int(rng.integers(1, count - 1))]}
        margin = float(rng.choice([30.0, 60.0, 150.0]))
        die = synth.ring(
            side=count * pitch + 6 * pitch, pitch=pitch, count=count, pad=pad, edge=2 * pitch, missing=missing
        )
        add(f"ring_{int(pitch)}um_m{int(margin)}", die, margin)
    add("ring_100um_edge10", synth.ring(side=1800, pitch=100, count=12, pad=(60, 90), edge=180), 10.0)
    add(
        "ring_mixed_pitch",
        synth.ring(side=2200, pitch=(80.0, 100.0, 125.0, 60.0), count=(14, 12, 10, 16), pad=(48, 80)),
        40.0,
    )
    mixed = synth.ring(side=2000, pitch=100, count=12, pad=(60, 90))
    small = synth.ring(side=1500, pitch=100, count=8, pad=(40, 60))
    for c, s, a in zip(small.centers, small.sizes, small.angles, strict=True):
        mixed.add(c, s, a)
    add("ring_mixed_sizes", mixed, 40.0)
    add("sixty_deg_100um", sixty(100.0, 12), 60.0)
    add("sixty_deg_75um", sixty(75.0, 14, pad=(45.0, 70.0)), 40.0)
    add("pinwheel_100um", synth.pinwheel(8, 100.0), 50.0)
    add("pinwheel_80um", synth.pinwheel(10, 80.0, short=1.0, past=3.0, pad=(48.0, 72.0)), 40.0)
    add("staggered_120um", synth.staggered_ring(2400, 120.0, 12, 80.0), 40.0)
    add("staggered_100um", synth.staggered_ring(2200, 100.0, 14, 70.0), 40.0)
    add("area_array_150um", synth.area_array(8, 8, (150.0, 150.0), 60.0), 80.0)
    add("area_array_110um", synth.area_array(10, 6, (110.0, 130.0), 70.0), 25.0)
    turned = synth.ring(side=1800, pitch=90, count=12, pad=(54, 80)).transformed(23.0, (500.0, -300.0))
    add("ring_90um_turned23", turned, 60.0)
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("extra", nargs="*", help="TOML files listing more layouts")
    ap.add_argument("--out", default="audit_results.md")
    ap.add_argument("--only", help="only layouts whose file name contains this")
    ap.add_argument("--no-synthetic", action="store_true")
    ap.add_argument("--no-samples", action="store_true")
    ap.add_argument("--synth-dir", help="keep the synthetic dies here (default: a temporary folder)")
    ap.add_argument("--stencilgen", help="the stencilgen executable (default: beside this Python)")
    args = ap.parse_args()
    ap_samples = not args.no_samples
    todo: list[tuple[str, str, list[str], str | None]] = [
        (os.path.join(ROOT, p), layer, [], None) for p, layer in SAMPLES if ap_samples
    ]
    folder = args.synth_dir or tempfile.mkdtemp(prefix="audit-synth-")
    os.makedirs(folder, exist_ok=True)
    if not args.no_synthetic:
        todo += [(p, layer, [], None) for p, layer in synthetic(folder)]
    for name in args.extra:
        with open(name, "rb") as fh:
            for item in tomllib.load(fh)["layout"]:
                todo.append((item["path"], item["layer"], item.get("lef", []), item.get("cell")))
    if args.only:
        todo = [t for t in todo if args.only in os.path.basename(t[0])]
    results, text, failed = [], [], []
    for path, layer, lef, cell in todo:
        t = time.monotonic()
        try:
            res = audit_plan.audit(path, layer, lef=lef, cell=cell, exe=args.stencilgen)
        except SystemExit as exc:
            print(f"{path}: {exc}", file=sys.stderr)
            failed.append(path)
            continue
        results.append(res)
        text.append(audit_plan.details(res))
        print(f"{os.path.basename(path)}: {res.counts()} ({time.monotonic() - t:.0f} s)", file=sys.stderr)
        with open(args.out, "w") as fh:
            fh.write("# Plan audit\n\n" + audit_plan.table(results) + "\n\n" + "\n\n".join(text) + "\n")
    print(audit_plan.table(results))
    if failed:  # (a layout that could not be audited is not a pass)
        print(f"audit: {len(failed)} layout(s) not audited: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
