"""Benchmark: `stencilgen check` of plan's own stencil (Gerber, DXF, GDS) on the flat 100,000-contact
layout of bench_read.py (100 dies alike), whole process, beside `stencilgen plan` of the same layout in
the same run; and the same with no two dies alike (every aperture matched and checked in place; apertures
alike up to a shift measured once); with --turned also the 100 dies each turned by an angle of their own
(few apertures alike: most measured one by one).

    make bench            (or: .venv/bin/python benchmarks/bench_check.py [--runs 5] [--stencil gbr])

Each figure is the median wall time of the runs in fresh processes, with the peak resident memory.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from bench_plan import timed  # noqa: E402
from bench_read import compiled_package, make_files  # noqa: E402

STENCILS = ("gds", "gbr", "dxf")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--stencil", choices=STENCILS, action="append", help="only these stencil formats")
    ap.add_argument("--no-unlike", action="store_true", help="skip the layout with no two dies alike")
    ap.add_argument("--turned", action="store_true", help="also the dies turned by angles of their own")
    args = ap.parse_args()
    compiled_package()
    wanted = args.stencil or list(STENCILS)
    files = make_files()
    exe = os.path.join(os.path.dirname(sys.executable), "stencilgen")
    tmp = tempfile.mkdtemp(prefix="stencilgen-bench-check-")
    cases = [("flat 100,000 contacts (100 dies alike)", files["flat 100k"])]
    if not args.no_unlike:
        cases.append(("no two dies alike (99,900 contacts)", files["flat 100k unlike"]))
    if args.turned:
        cases.append(("100 dies each turned by an angle of its own", files["flat 100k turned"]))
    try:
        print(f"stencilgen check of plan's own stencil, whole process, median of {args.runs} runs")
        print(f"{'what':<46} {'median s':>9} {'peak MB':>8} {'/ plan':>7}")
        for title, layout in cases:
            print(title)
            stem = os.path.splitext(os.path.basename(layout))[0]
            plan = [exe, "plan", layout, "--layer", "9/0", "-o", tmp, "-q"]  # every output, as a user runs it
            r = subprocess.run(plan, capture_output=True, text=True)
            if r.returncode not in (0, 1):
                raise SystemExit(f"plan failed: {r.stderr[-500:]}")
            tp, mp = timed(plan, args.runs)
            print(f"{'  stencilgen plan (all outputs)':<46} {tp:9.2f} {mp:8.0f}")
            for ext in wanted:
                stencil = os.path.join(tmp, f"{stem}.{ext}")
                t, m = timed([exe, "check", layout, "--layer", "9/0", "--stencil", stencil, "-q"], args.runs)
                print(f"{'  stencilgen check --stencil ' + ext:<46} {t:9.2f} {m:8.0f} {t / tp:6.1f}x")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
