"""Batch conversion of pad libraries: many layouts planned into one folder each, locally over
processes or on a Dask cluster, with one summary (summary.json, summary.csv)."""

from __future__ import annotations

import csv
import glob
import io
import itertools
import json
import os
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any

from .errors import StencilgenError, UsageError
from .readers import FORMATS
from .rules import Rules, rules_record
from .run import Options, plan_file
from .writers import atomic_write, ensure_dir, safe_name

SUMMARY_FIELDS = [
    "input",
    "output",
    "status",
    "exit_code",
    "contacts",
    "rows",
    "errors",
    "warnings",
    "worst_volume_ratio",
    "seconds",
    "message",
]


@dataclass(frozen=True)
class Task:
    input: str
    output: str  # the subfolder this layout's files go to
    rules: Rules
    options: Options


def find_inputs(items: Iterable[str]) -> list[str]:
    """Files, folders (searched recursively for layouts) and globs -> layout paths, sorted, each once."""
    found: list[str] = []
    for item in items:
        if os.path.isdir(item):
            for root, dirs, files in os.walk(item):
                dirs.sort()
                found.extend(os.path.join(root, f) for f in sorted(files) if os.path.splitext(f)[1].lower() in FORMATS)
        elif os.path.exists(item):
            found.append(item)
        else:
            matches = sorted(glob.glob(item, recursive=True))
            if not matches:
                raise UsageError(f"{item}: no such file, folder or matching files")
            found.extend(m for m in matches if os.path.isfile(m))
    seen: set[str] = set()
    unique = []
    for path in found:
        key = os.path.abspath(path)
        if key not in seen:
            seen.add(key)
            unique.append(path)
    return unique


_GDS_LAYER = re.compile(r"^\s*\d+\s*([/:]\s*\d+)?\s*$")


def layer_for(path: str, layers: tuple[str, ...]) -> str | None:
    """Of the --layer values given, the one for this file's kind: LAYER/DATATYPE for GDS and OASIS, a
    name for DXF (the first of each kind; None: let the reader choose the only layer)."""
    dxf = os.path.splitext(path)[1].lower() == ".dxf"
    for layer in layers:
        if bool(_GDS_LAYER.match(layer)) != dxf:
            return layer
    return None


def plan_tasks(
    inputs: list[str], outdir: str, rules: Rules, options: Options, layers: tuple[str, ...] = ()
) -> list[Task]:
    """One task per input, each with its own subfolder named safely after the file (name-2, name-3, ...
    when two inputs share a name); `layers` pick each file's pad layer by its kind (see layer_for)."""
    used: dict[str, int] = {}
    tasks = []
    for path in inputs:
        base = safe_name(os.path.splitext(os.path.basename(path))[0])
        n = used.get(base, 0) + 1
        used[base] = n
        name = base if n == 1 else f"{base}-{n}"
        opts = replace(options, layer=layer_for(path, layers)) if layers else options
        tasks.append(Task(path, os.path.join(outdir, name), rules, opts))
    return tasks


def run_task(task: Task) -> dict[str, Any]:
    """Plan one layout; never raises: a failure is a row of the summary."""
    start = time.perf_counter()
    row: dict[str, Any] = {k: None for k in SUMMARY_FIELDS}
    row.update(input=task.input, output=task.output)
    try:
        result = plan_file(task.input, task.output, task.rules, task.options)
        s = result.report["summary"]
        row.update(
            status="errors" if s["errors"] else ("warnings" if s["warnings"] else "ok"),
            exit_code=result.exit_code,
            contacts=s["contacts"],
            rows=s["rows"],
            errors=s["errors"],
            warnings=s["warnings"],
            worst_volume_ratio=s["volume_ratio"]["min"],
            message="",
        )
    except StencilgenError as exc:
        row.update(status="failed", exit_code=exc.exit_code, message=str(exc))
    except Exception as exc:  # one bad input never stops the others
        row.update(status="failed", exit_code=70, message=f"internal error ({type(exc).__name__}: {exc})")
    row["seconds"] = round(time.perf_counter() - start, 3)
    if not os.path.isdir(task.output):
        row["output"] = None  # nothing was written for it
    return row


def run_batch(
    tasks: list[Task],
    jobs: int,
    continue_on_error: bool,
    scheduler: str | None = None,
    progress: Callable[[dict[str, Any], int, int], None] | None = None,
) -> list[dict[str, Any]]:
    """Run the tasks; rows come back in input order whatever order they finished in."""
    rows: dict[int, dict[str, Any]] = {}
    total = len(tasks)

    def done(i: int, row: dict[str, Any]) -> bool:
        rows[i] = row
        if progress:
            progress(row, len(rows), total)
        return row["status"] == "failed" and not continue_on_error

    if scheduler:
        _run_dask(tasks, scheduler, done)
    elif jobs <= 1 or total <= 1:
        for i, task in enumerate(tasks):
            if done(i, run_task(task)):
                break
    else:
        from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

        workers = min(jobs, total)
        with ProcessPoolExecutor(max_workers=workers) as pool:
            # one task a worker at a time: the pool would otherwise queue tasks ahead, past cancelling
            queue = iter(enumerate(tasks))
            pending = {pool.submit(run_task, t): i for i, t in itertools.islice(queue, workers)}
            stop = False
            while pending and not stop:
                finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                for fut in finished:
                    i = pending.pop(fut)
                    stop = done(i, fut.result()) or stop
                if not stop:
                    for i, t in itertools.islice(queue, len(finished)):
                        pending[pool.submit(run_task, t)] = i
            # stop: what is running finishes and is reported as done; what has not started is skipped
            for fut, i in pending.items():
                done(i, fut.result())
    for i, task in enumerate(tasks):
        if i not in rows:
            skipped: dict[str, Any] = {k: None for k in SUMMARY_FIELDS}
            skipped.update(
                input=task.input, output=task.output, status="skipped", message="not run: an earlier input failed"
            )
            rows[i] = skipped
    return [rows[i] for i in range(total)]


def _run_dask(tasks: list[Task], scheduler: str, done: Callable[[int, dict[str, Any]], bool]) -> None:
    try:
        from dask.distributed import Client, as_completed
    except ImportError:
        raise UsageError("--scheduler needs dask.distributed: pip install 'stencilgen[distributed]'") from None
    try:
        client = Client(scheduler, timeout="20s")
    except Exception as exc:
        raise UsageError(f"--scheduler {scheduler}: cannot reach the Dask scheduler ({exc})") from None
    try:
        futures = client.map(run_task, tasks, pure=False)
        index = {f.key: i for i, f in enumerate(futures)}
        for fut in as_completed(futures):
            if done(index[fut.key], fut.result()):
                client.cancel(futures)
                break
    finally:
        client.close()


def write_summary(outdir: str, rows: list[dict[str, Any]], rules: Rules) -> dict[str, str]:
    """OUTDIR/summary.json and summary.csv: one row per input."""
    ensure_dir(outdir)
    doc = {
        "inputs": len(rows),
        "ok": sum(r["status"] == "ok" for r in rows),
        "warnings": sum(r["status"] == "warnings" for r in rows),
        "errors": sum(r["status"] == "errors" for r in rows),
        "failed": sum(r["status"] == "failed" for r in rows),
        "skipped": sum(r["status"] == "skipped" for r in rows),
        "units": {"length": "um", "time": "s"},
        "rules": rules_record(rules),
        "results": rows,
    }
    paths = {"json": os.path.join(outdir, "summary.json"), "csv": os.path.join(outdir, "summary.csv")}
    atomic_write(paths["json"], json.dumps(doc, indent=1, allow_nan=False) + "\n")
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=SUMMARY_FIELDS, lineterminator="\n")
    writer.writeheader()
    for r in rows:
        writer.writerow({k: ("" if r[k] is None else r[k]) for k in SUMMARY_FIELDS})
    atomic_write(paths["csv"], buf.getvalue())
    return paths


def batch_exit_code(rows: list[dict[str, Any]]) -> int:
    """3 if any input could not be planned, else 1 if any stencil has rule errors, else 0."""
    if any(r["status"] in ("failed", "skipped") for r in rows):
        return 3
    if any((r["exit_code"] or 0) == 1 for r in rows):
        return 1
    return 0


def summary_table(rows: list[dict[str, Any]]) -> str:
    """The table printed at the end of a batch; inputs named relative to the folder they share."""
    common = os.path.commonpath([os.path.abspath(r["input"]) for r in rows]) if rows else ""
    if rows and os.path.isfile(common):
        common = os.path.dirname(common)
    head = f"{'input':<40} {'status':<9} {'contacts':>8} {'errors':>6} {'warnings':>8} {'worst vol':>9} {'time s':>7}"
    lines = [head, "-" * len(head)]
    for r in rows:
        name = os.path.relpath(os.path.abspath(r["input"]), common)[-40:]
        worst = f"{r['worst_volume_ratio']:.2f}" if r["worst_volume_ratio"] is not None else "-"
        secs = f"{r['seconds']:.2f}" if r["seconds"] is not None else "-"
        lines.append(
            f"{name:<40} {r['status']:<9} {r['contacts'] if r['contacts'] is not None else '-':>8} "
            f"{r['errors'] if r['errors'] is not None else '-':>6} "
            f"{r['warnings'] if r['warnings'] is not None else '-':>8} {worst:>9} {secs:>7}"
        )
        if r["status"] == "failed":
            lines.append(f"    {r['message']}")
    return "\n".join(lines)
