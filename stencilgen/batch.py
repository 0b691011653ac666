"""Batch conversion of pad libraries: many layouts planned into one folder each, locally over
processes or on a Dask cluster, with one summary (summary.json, summary.csv)."""

from __future__ import annotations

import contextlib
import csv
import glob
import io
import itertools
import json
import os
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any

from .errors import StencilgenError, UsageError
from .readers import is_layout_name, layout_format, layout_stem
from .readers.layers import check_layers, choose_layer
from .rules import Rules, rules_record
from .run import Options, plan_file
from .writers import ensure_dir, safe_name
from .writers.fileset import FileSet, FolderLock

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


def find_inputs(items: Iterable[str], outdir: str | None = None) -> list[str]:
    """Files, folders (searched recursively for layouts) and globs -> layout paths, sorted, each once.
    Nothing inside `outdir` is read: its files are a batch's outputs (a named one is refused)."""
    out = os.path.realpath(outdir) if outdir else None

    def inside(path: str) -> bool:
        return out is not None and (os.path.realpath(path) + os.sep).startswith(out + os.sep)

    found: list[str] = []
    for item in items:
        if os.path.exists(item) and inside(item):
            raise UsageError(f"{item}: is inside the output folder {outdir}; batch reads nothing there")
        if os.path.isdir(item):
            for root, dirs, files in os.walk(item):
                dirs[:] = sorted(d for d in dirs if not inside(os.path.join(root, d)))
                if inside(root):
                    continue
                found.extend(os.path.join(root, f) for f in sorted(files) if is_layout_name(f))
        elif os.path.exists(item):
            found.append(item)
        else:
            matches = sorted(glob.glob(item, recursive=True))
            if not matches:
                raise UsageError(f"{item}: no such file, folder or matching files")
            found.extend(m for m in matches if os.path.isfile(m) and not inside(m))
    seen: set[str] = set()
    unique = []
    for path in found:
        key = os.path.abspath(path)
        if key not in seen:
            seen.add(key)
            unique.append(path)
    return unique


def layer_for(path: str, layers: tuple[str, ...]) -> str | None:
    """Of the --layer values given, the one for this file: the first PATTERN=LAYER whose glob matches
    its name, else the unprefixed value of its kind (LAYER/DATATYPE for GDS and OASIS, a name for DXF
    and DEF); None: let the reader choose the only layer (`readers.layers.choose_layer`)."""
    return choose_layer(path, layers, layout_format(path))


def plan_tasks(
    inputs: list[str], outdir: str, rules: Rules, options: Options, layers: tuple[str, ...] = ()
) -> list[Task]:
    """One task per input, each with its own subfolder named safely after the file (name-2, name-3, ...
    when two inputs share a name); `layers` pick each file's pad layer by its name (see layer_for)."""
    check_layers(layers)
    if options.creation_date is None and os.environ.get("SOURCE_DATE_EPOCH"):
        # this process's date goes with the tasks: workers elsewhere (a Dask cluster) date the files alike
        from .api import creation_time

        options = replace(options, creation_date=creation_time("", None).isoformat())
    used: set[str] = set()
    tasks = []
    for path in inputs:
        base = safe_name(layout_stem(path))
        name, n = base, 1
        while name.lower() in used:  # distinct on a case-blind filesystem too
            n += 1
            name = f"{base}-{n}"
        used.add(name.lower())
        opts = replace(options, layer=tuple(layers)) if layers else options  # (read_layout chooses, as layer_for)
        tasks.append(Task(path, os.path.join(outdir, name), rules, opts))
    return tasks


def batch_lock(outdir: str) -> FolderLock:
    """The lock a whole batch holds on its OUTDIR (`OUTDIR/.batch.lock`): a second batch into the same
    folder waits for the first (STENCILGEN_LOCK_WAIT seconds), then fails with exit 4, so that two
    batches never mix their folders and summaries. The folder is made (or refused) first."""
    ensure_dir(outdir)
    return FolderLock(outdir, "batch", outdir)


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
            message="; ".join(s.get("notes", [])),  # a pad layer that looks like none
        )
    except StencilgenError as exc:
        row.update(status="failed", exit_code=exc.exit_code, message=str(exc))
    except Exception as exc:  # one bad input never stops the others
        row.update(status="failed", exit_code=70, message=f"internal error ({type(exc).__name__}: {exc})")
    row["seconds"] = round(time.perf_counter() - start, 3)
    if row["status"] == "failed":
        with contextlib.suppress(OSError):
            os.rmdir(task.output)  # made for this run and left empty
        if os.path.isdir(task.output):  # (an earlier run's files, kept: never the loss of the last good set)
            row["message"] += f"; {task.output} holds an earlier run's files, not made from this input"
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
        from . import forked

        # the workers end with this process (a killed batch leaves no worker writing on)
        with ProcessPoolExecutor(
            max_workers=workers, initializer=forked.die_with_parent, initargs=(os.getpid(),)
        ) as pool:
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
        # the workers' working folder is not this one: they are given every path absolute, and the rows
        # name the input and its folder as the user gave them
        futures = client.map(run_task, [_absolute(t) for t in tasks], pure=False)
        index = {f.key: i for i, f in enumerate(futures)}
        for fut in as_completed(futures):
            i = index[fut.key]
            row = fut.result()
            row.update(input=tasks[i].input, output=tasks[i].output if row["output"] is not None else None)
            if done(i, row):
                client.cancel(futures)
                break
    finally:
        client.close()


def _absolute(task: Task) -> Task:
    """The task with its input, output folder, LEF files and rules file as absolute paths (for a worker
    whose working folder is not this process's)."""
    o = task.options
    options = replace(
        o,
        lef=tuple(os.path.abspath(x) for x in o.lef),
        rules_file=os.path.abspath(o.rules_file) if o.rules_file else None,
    )
    return Task(os.path.abspath(task.input), os.path.abspath(task.output), task.rules, options)


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
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=SUMMARY_FIELDS, lineterminator="\n")
    writer.writeheader()
    for r in rows:
        writer.writerow({k: ("" if r[k] is None else r[k]) for k in SUMMARY_FIELDS})
    with FileSet(outdir, "summary", paths) as files:
        files.write("json", json.dumps(doc, indent=1, allow_nan=False) + "\n")
        files.write("csv", buf.getvalue())
    return paths


def batch_exit_code(rows: list[dict[str, Any]]) -> int:
    """4 if the files of any input could not be written, else 3 if any input could not be planned,
    else 1 if any stencil has rule errors, else 0."""
    if any(r["status"] == "failed" and r["exit_code"] == 4 for r in rows):
        return 4
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
        if r["message"]:
            lines.append(f"    {r['message']}")
    if len(rows) > 1:  # (the totals: what a CI step's log shows first)
        done = [r for r in rows if r["errors"] is not None]
        said = {"warnings": "with warnings", "errors": "with errors"}
        by_status = ", ".join(f"{n} {said.get(k, k)}" for k, n in sorted(Counter(r["status"] for r in rows).items()))
        lines.append("-" * len(head))
        lines.append(
            f"{len(rows)} layouts ({by_status}): {sum(r['contacts'] or 0 for r in done):,} contacts, "
            f"{sum(r['errors'] for r in done):,} errors, {sum(r['warnings'] or 0 for r in done):,} warnings"
        )
    return "\n".join(lines)
