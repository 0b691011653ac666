"""Benchmark: `stencilgen plan` with default settings, whole process, on a flat 100,000-contact layout
(100 dies of 1,000 contacts, flattened; and the same with no two dies alike), beside KLayout reading
the same file, shrinking every pad by 5 um and writing GDS (what a user can do today), and gdstk's
bare read + write (the I/O floor).

    make bench            (or: .venv/bin/python benchmarks/bench_plan.py [--runs 5] [--no-wafer])

Also plans the 1,000,000-contact wafer of bench_read.py (one die cell arrayed 40 x 25: planned once per
die, every output; median of --wafer-runs runs, peak memory and the total size of the files written),
beside KLayout on the same file, and times `stencilgen --help`.

And plans the same 1,000 dies laid out flat, each lacking another pad (999,000 contacts, no two dies
alike: every contact planned and checked in place; median of --flat-1m-runs runs, peak memory), beside
KLayout on the same file; `--no-flat-1m` leaves it out (it takes a few minutes).

Targets: the wafer <= 1.5 s, <= 500 MB peak, <= 50 MB of files; the flat 1,000,000 <= 2.0x KLayout's
read + shrink + write of the same file, <= 1 GB peak; `--help` <= 0.2 s.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from bench_read import compiled_package, flat_1m_unlike, make_files  # noqa: E402

KLAYOUT = r"""
import sys, klayout.db as db
ly = db.Layout(); ly.read(sys.argv[1])
li = ly.layer(9, 0)
r = db.Region(ly.top_cell().begin_shapes_rec(li)).sized(-int(round(5 / ly.dbu)))
out = db.Layout(); out.dbu = ly.dbu; top = out.create_cell("STENCIL"); top.shapes(out.layer(1, 0)).insert(r)
out.write(sys.argv[2])
"""

GDSTK = r"""
import sys, gdstk
lib = gdstk.read_gds(sys.argv[1])
lib.write_gds(sys.argv[2])
"""

PEAK = "/usr/bin/time"


#: the wafer's targets: whole process (s), peak memory (MB), files written (MB)
WAFER_TARGETS = (1.5, 500.0, 50.0)
HELP_TARGET = 0.2
#: the flat 1,000,000 no two dies alike: times KLayout's read + shrink + write, peak memory (MB)
FLAT_1M_TARGETS = (2.0, 1000.0)


def folder_mb(folder: str) -> float:
    """The total size of the files in a folder (MB)."""
    return sum(os.path.getsize(os.path.join(folder, f)) for f in os.listdir(folder)) / 1e6


def timed(cmd: list[str], runs: int) -> tuple[float, float]:
    """Median wall time and peak RSS (MB) of a whole process."""
    times, peaks = [], []
    for _ in range(runs):
        t = time.perf_counter()
        if os.path.exists(PEAK):
            r = subprocess.run([PEAK, "-f", "%M", *cmd], capture_output=True, text=True)
            peaks.append(int(r.stderr.strip().splitlines()[-1]) / 1024)
        else:
            r = subprocess.run(cmd, capture_output=True, text=True)
        times.append(time.perf_counter() - t)
        if r.returncode not in (0, 1):
            raise SystemExit(f"{cmd[:3]} failed: {r.stderr[-500:]}")
    return statistics.median(times), (max(peaks) if peaks else float("nan"))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--no-wafer", action="store_true", help="skip the 1,000,000-contact wafer")
    ap.add_argument("--wafer-runs", type=int, default=3)
    ap.add_argument("--no-flat-1m", action="store_true", help="skip the flat 1,000,000 contacts, no two dies alike")
    ap.add_argument("--flat-1m-runs", type=int, default=3)
    args = ap.parse_args()
    compiled_package()
    files = make_files()
    flat = files["flat 100k"]
    tmp = tempfile.mkdtemp(prefix="stencilgen-bench-")
    try:
        py = sys.executable
        exe = os.path.join(os.path.dirname(py), "stencilgen")
        cases = [
            ("stencilgen plan (every output)", [exe, "plan", flat, "--layer", "9/0", "-o", tmp, "-q"]),
            (
                "stencilgen plan --formats gds",
                [exe, "plan", flat, "--layer", "9/0", "-o", tmp, "-q", "--formats", "gds"],
            ),
            ("KLayout read + shrink 5 um + write", [py, "-c", KLAYOUT, flat, os.path.join(tmp, "kl.gds")]),
            ("gdstk read + write (I/O floor)", [py, "-c", GDSTK, flat, os.path.join(tmp, "gd.gds")]),
        ]
        print(f"flat 100,000 contacts, whole process, median of {args.runs} runs")
        print(f"{'what':<42} {'median s':>9} {'peak MB':>8}")
        results = {}
        for name, cmd in cases:
            t, m = timed(cmd, args.runs)
            results[name] = t
            print(f"{name:<42} {t:9.2f} {m:8.0f}")
        kl = results["KLayout read + shrink 5 um + write"]
        full = results["stencilgen plan (every output)"]
        print(f"plan / KLayout pipeline: {full / kl:.1f}x (target 3x)")
        # the same layout with no two dies alike: every contact is planned and checked in place
        unlike = files["flat 100k unlike"]
        t, m = timed([exe, "plan", unlike, "--layer", "9/0", "-o", tmp, "-q"], args.runs)
        tk, mk = timed([py, "-c", KLAYOUT, unlike, os.path.join(tmp, "kl.gds")], args.runs)
        print(f"{'no two dies alike (99,900 contacts):':<42}")
        print(f"{'  stencilgen plan, all outputs':<42} {t:9.2f} {m:8.0f}")
        print(f"{'  KLayout read + shrink 5 um + write':<42} {tk:9.2f} {mk:8.0f}")
        print(f"plan / KLayout pipeline, no two dies alike: {t / tk:.1f}x")
        if not args.no_wafer:
            wafer = files["wafer 1M"]
            out = os.path.join(tmp, "wafer")
            os.makedirs(out)
            t, m = timed([exe, "plan", wafer, "--layer", "9/0", "-o", out, "-q"], args.wafer_runs)
            size = folder_mb(out)
            tk, mk = timed([py, "-c", KLAYOUT, wafer, os.path.join(tmp, "kl-wafer.gds")], args.wafer_runs)
            print(f"wafer 1,000,000 contacts (one die cell arrayed), median of {args.wafer_runs} runs")
            print(f"{'  stencilgen plan, all outputs':<42} {t:9.2f} {m:8.0f}   files {size:.1f} MB")
            print(f"{'  KLayout read + shrink 5 um + write':<42} {tk:9.2f} {mk:8.0f}")
            tt, tm, ts = WAFER_TARGETS
            met = t <= tt and m <= tm and size <= ts
            print(f"  targets <= {tt} s, <= {tm:.0f} MB, <= {ts:.0f} MB of files: {'met' if met else 'NOT met'}")
        if not args.no_flat_1m:
            big = flat_1m_unlike()
            out = os.path.join(tmp, "flat1m")
            os.makedirs(out)
            n = args.flat_1m_runs
            t, m = timed([exe, "plan", big, "--layer", "9/0", "-o", out, "-q"], n)
            size = folder_mb(out)
            tk, mk = timed([py, "-c", KLAYOUT, big, os.path.join(tmp, "kl-flat1m.gds")], n)
            shutil.rmtree(out, ignore_errors=True)
            print(f"flat 999,000 contacts, 1,000 dies each lacking another pad, median of {n} runs")
            print(f"{'  stencilgen plan, all outputs':<42} {t:9.2f} {m:8.0f}   files {size:.0f} MB")
            print(f"{'  KLayout read + shrink 5 um + write':<42} {tk:9.2f} {mk:8.0f}")
            times, peak = FLAT_1M_TARGETS
            met = t <= times * tk and m <= peak
            print(f"  {t / tk:.1f}x KLayout; targets <= {times}x, <= {peak:.0f} MB: {'met' if met else 'NOT met'}")
        t, _m = timed([exe, "--help"], args.runs)
        verdict = "met" if t <= HELP_TARGET else "NOT met"
        print(f"{'stencilgen --help':<42} {t:9.2f}   target <= {HELP_TARGET} s: {verdict}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
