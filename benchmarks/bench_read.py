"""Benchmark: read + find rows on flat 100,000-contact GDS files and a 1,000,000-contact wafer (one die
cell of 1,000 contacts arrayed 1,000 times), beside gdstk's bare read of the same files. The flat files:
100 dies alike; the same with no two alike; a 316 x 316 bump array; 100 dies each turned by its own
angle (pads that are not axis-parallel rectangles).

    make bench            (or: .venv/bin/python benchmarks/bench_read.py [--runs 5] [--case turned])

Each measurement runs in a fresh process; the figures are the median wall time of the runs and the
peak resident memory of the process.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

import gdstk
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def compiled_package() -> None:
    """Byte-compile the package, as an installed one is (pip compiles what it installs): otherwise a
    machine with PYTHONDONTWRITEBYTECODE set compiles every module at every start of a timed run."""
    import compileall

    compileall.compile_dir(os.path.join(ROOT, "stencilgen"), quiet=1)


DATA = os.path.join(ROOT, "bench-data")
sys.path.insert(0, os.path.join(ROOT, "tests"))

import synth  # noqa: E402

# the flat layout: 100 large fine-pitch dies, 250 contacts a side at 110 um, 70 x 100 um openings
DIE_PER_SIDE, PITCH, SIDE, STEP = 250, 110.0, 28_000.0, 28_500.0
# the wafer: 1,000 dies of 1,000 contacts at 55 um (35 x 50 um openings), 560 x 350 mm in all
W_PITCH, W_SIDE, W_STEP = 55.0, 14_000.0, 14_250.0
# the turned dies: far enough apart that a die turned 45 deg keeps clear of its neighbours
TURNED_STEP = 40_000.0
# the bump array: one area array of 316 x 316 contacts
BUMPS, BUMP_PITCH = 316, 150.0


def die() -> synth.Die:
    return synth.ring(side=SIDE, pitch=PITCH, count=DIE_PER_SIDE, pad=(70.0, 100.0))


def wafer_die() -> synth.Die:
    return synth.ring(side=W_SIDE, pitch=W_PITCH, count=DIE_PER_SIDE, pad=(35.0, 50.0))


def flat_1m_unlike() -> str:
    """bench-data/flat_1M_unlike.gds (made when missing, about a minute): the wafer's 1,000 dies of
    1,000 contacts laid out flat, 40 x 25, each lacking another pad: 999,000 contacts, no two dies alike."""
    path = os.path.join(DATA, "flat_1M_unlike.gds")
    if not os.path.exists(path):
        os.makedirs(DATA, exist_ok=True)
        lib = gdstk.Library(unit=1e-6, precision=1e-9)
        top = lib.new_cell("FLAT")
        k = 0
        for i in range(40):
            for j in range(25):
                missing = {k % 4: [5 + (k // 4) % 240]}
                d = synth.ring(side=W_SIDE, pitch=W_PITCH, count=DIE_PER_SIDE, pad=(35.0, 50.0), missing=missing)
                k += 1
                for p in d.polygons():
                    top.add(gdstk.Polygon(p + np.array([i * W_STEP, j * W_STEP]), 9, 0))
        lib.write_gds(path)
    return path


def make_files() -> dict[str, str]:
    os.makedirs(DATA, exist_ok=True)
    flat = os.path.join(DATA, "flat_100k.gds")
    wafer = os.path.join(DATA, "wafer_1M_v2.gds")
    if not os.path.exists(flat):
        lib = gdstk.Library(unit=1e-6, precision=1e-9)
        top = lib.new_cell("FLAT")
        polys = die().polygons()
        for i in range(10):
            for j in range(10):
                for p in polys:
                    top.add(gdstk.Polygon(p + np.array([i * STEP, j * STEP]), 9, 0))
        lib.write_gds(flat)
    unlike = os.path.join(DATA, "flat_100k_unlike.gds")
    if not os.path.exists(unlike):  # the same, but each die lacks a different pad: no two dies alike
        lib = gdstk.Library(unit=1e-6, precision=1e-9)
        top = lib.new_cell("FLAT")
        for i in range(10):
            for j in range(10):
                d = synth.ring(
                    side=SIDE, pitch=PITCH, count=DIE_PER_SIDE, pad=(70.0, 100.0), missing={0: [10 * i + j + 5]}
                )
                for p in d.polygons():
                    top.add(gdstk.Polygon(p + np.array([i * STEP, j * STEP]), 9, 0))
        lib.write_gds(unlike)
    turned = os.path.join(DATA, "flat_100k_turned.gds")
    if not os.path.exists(turned):  # the same dies, each turned by an angle of its own: not axis-parallel
        lib = gdstk.Library(unit=1e-6, precision=1e-9)
        top = lib.new_cell("FLAT")
        angles = np.random.default_rng(1).uniform(0.0, 90.0, (10, 10))
        for i in range(10):
            for j in range(10):
                d = die().transformed(float(angles[i, j]), (i * TURNED_STEP, j * TURNED_STEP))
                for p in d.polygons():
                    top.add(gdstk.Polygon(p, 9, 0))
        lib.write_gds(turned)
    bumps = os.path.join(DATA, "flat_100k_bumps.gds")
    if not os.path.exists(bumps):  # a flip-chip bump array: 316 x 316 at 150 um, 60 um square openings
        lib = gdstk.Library(unit=1e-6, precision=1e-9)
        top = lib.new_cell("FLAT")
        for i in range(BUMPS):
            for j in range(BUMPS):
                x, y = i * BUMP_PITCH, j * BUMP_PITCH
                top.add(gdstk.rectangle((x - 30, y - 30), (x + 30, y + 30), layer=9))
        lib.write_gds(bumps)
    if not os.path.exists(wafer):
        lib = gdstk.Library(unit=1e-6, precision=1e-9)
        cell = lib.new_cell("DIE")
        for p in wafer_die().polygons():
            cell.add(gdstk.Polygon(p, 9, 0))
        lib.new_cell("WAFER").add(
            gdstk.Reference(cell, (-20 * W_STEP, -12 * W_STEP), columns=40, rows=25, spacing=(W_STEP, W_STEP))
        )
        lib.write_gds(wafer)
    return {
        "flat 100k": flat,
        "flat 100k unlike": unlike,
        "flat 100k bumps": bumps,
        "flat 100k turned": turned,
        "wafer 1M": wafer,
    }


CHILD = r"""
import json, resource, sys, time
path, mode = sys.argv[1], sys.argv[2]
t_imp = time.perf_counter()
if mode == "gdstk":
    import gdstk
else:
    import shapely, gdstk
    from stencilgen.readers import read_layout
    from stencilgen.rows import find_layout_rows
t0 = time.perf_counter()
imports = t0 - t_imp
if mode == "gdstk":
    lib = gdstk.read_gds(path)
    top = lib.top_level()[0]
    n = len(top.get_polygons()) if top.references else len(top.polygons)
else:
    layout = read_layout(path, layer="9/0")
    rows = find_layout_rows(layout.contacts, layout.instances)
    n = len(layout.contacts)
    if "bumps" in path:
        assert not rows.rows and len(rows.arrays) == 1, (len(rows.rows), len(rows.arrays))
    else:
        assert len(rows.rows) == (n + 249) // 250, (len(rows.rows), n)  # four rows a die
dt = time.perf_counter() - t0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": dt, "imports": imports, "peak_mb": peak, "n": n}))
"""


def _run(path: str, mode: str) -> dict:
    r = subprocess.run([sys.executable, "-c", CHILD, path, mode], capture_output=True, text=True, check=True)
    return json.loads(r.stdout)


def _summary(out: list[dict]) -> dict:
    return {
        "seconds": statistics.median(o["seconds"] for o in out),
        "imports": statistics.median(o["imports"] for o in out),
        "peak_mb": max(o["peak_mb"] for o in out),
        "n": out[0]["n"],
    }


def measure_pair(path: str, runs: int) -> tuple[dict, dict, float]:
    """gdstk's read and ours, run by turns (this machine's speed drifts from minute to minute), and the
    median of the ratios of each pair of turns."""
    base, ours = [], []
    for _ in range(runs):
        base.append(_run(path, "gdstk"))
        ours.append(_run(path, "stencilgen"))
    ratio = statistics.median(o["seconds"] / b["seconds"] for o, b in zip(ours, base, strict=True))
    return _summary(base), _summary(ours), ratio


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--case", default="", help="only the cases whose name holds this (e.g. turned)")
    args = ap.parse_args()
    compiled_package()
    files = make_files()
    print("in-process time after imports (median of runs, gdstk and ours by turns), imports timed apart, peak RSS")
    print(f"{'case':<17} {'what':<28} {'median s':>9} {'imports s':>9} {'peak MB':>8} {'contacts':>9}")
    for name, path in files.items():
        if args.case not in name:
            continue
        base, ours, ratio = measure_pair(path, args.runs)
        what = "gdstk read" + (" + flatten" if "wafer" in name else "")
        for label, m in ((what, base), ("stencilgen read + rows", ours)):
            print(f"{name:<17} {label:<28} {m['seconds']:9.3f} {m['imports']:9.3f} {m['peak_mb']:8.0f} {m['n']:9d}")
        print(f"{name:<17} {'ratio (paired runs)':<28} {ratio:9.2f}")


if __name__ == "__main__":
    main()
