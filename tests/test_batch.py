"""`stencilgen batch`: a folder of good, bad and unreadable layouts, locally and on a Dask cluster."""

from __future__ import annotations

import csv
import json
import os
import shutil

import pytest
import synth
from conftest import SAMPLES
from test_cli import run

from stencilgen.batch import find_inputs, plan_tasks, run_batch, write_summary
from stencilgen.rules import Rules
from stencilgen.run import Options


def make_library(root) -> None:
    (root / "sub").mkdir(parents=True)
    shutil.copy(os.path.join(SAMPLES, "ring_100um.gds"), root / "ring.gds")
    shutil.copy(os.path.join(SAMPLES, "area_array.gds"), root / "sub" / "bumps.gds")
    shutil.copy(os.path.join(SAMPLES, "ring_100um.gds"), root / "sub" / "ring.gds")  # same name, other folder
    (root / "broken.gds").write_bytes(b"\x00\x06\x00\x02" + b"junk" * 10)  # unreadable
    synth.write_gds(str(root / "nolayer.gds"), [synth.rect((0, 0), (50, 50), 0)], layer=(7, 0), noise=False)  # bad
    synth.write_gds(str(root / "tiny.gds"), [synth.rect((0, 0), (8, 8), 0)], noise=False)  # rule error
    (root / "notes.txt").write_text("not a layout")


def test_batch_folder_mixed(tmp_path):
    lib = tmp_path / "lib"
    make_library(lib)
    out = tmp_path / "out"
    r = run("batch", str(lib), "-o", str(out), "--layer", "9/0", "--continue-on-error", "--jobs", "2")
    assert r.returncode == 3, r.stderr  # some inputs could not be planned
    doc = json.load(open(out / "summary.json"))
    by = {os.path.relpath(x["input"], lib): x for x in doc["results"]}
    assert set(by) == {
        "ring.gds",
        "broken.gds",
        "nolayer.gds",
        "tiny.gds",
        os.path.join("sub", "bumps.gds"),
        os.path.join("sub", "ring.gds"),
    }
    assert by["ring.gds"]["status"] in ("ok", "warnings") and by["ring.gds"]["contacts"] == 68
    assert by[os.path.join("sub", "bumps.gds")]["contacts"] == 100
    assert by["broken.gds"]["status"] == "failed" and "not a readable GDSII file" in by["broken.gds"]["message"]
    assert by["nolayer.gds"]["status"] == "failed" and "no shapes on layer 9/0" in by["nolayer.gds"]["message"]
    assert by["tiny.gds"]["status"] == "errors" and by["tiny.gds"]["exit_code"] == 1
    # one folder each, named after the file; the second ring.gds gets ring-2
    assert sorted(os.listdir(out)) == ["bumps", "ring", "ring-2", "summary.csv", "summary.json", "tiny"]
    assert sorted(os.listdir(out / "ring")) == [f"ring.{e}" for e in ("dxf", "gbr", "gds", "html", "json", "lyrdb")]
    rows = list(csv.DictReader(open(out / "summary.csv")))
    assert len(rows) == 6 and rows[0].keys() >= {
        "input",
        "status",
        "contacts",
        "errors",
        "warnings",
        "worst_volume_ratio",
        "seconds",
    }
    assert doc["failed"] == 2 and doc["errors"] == 1
    assert "broken.gds" in r.stderr and "failed" in r.stderr
    # the table ends with the totals of what was planned
    from collections import Counter

    results = doc["results"]
    said = {"warnings": "with warnings", "errors": "with errors"}
    statuses = ", ".join(f"{n} {said.get(k, k)}" for k, n in sorted(Counter(x["status"] for x in results).items()))
    planned = [x for x in results if x["errors"] is not None]
    totals = (
        f"6 layouts ({statuses}): {sum(x['contacts'] for x in planned):,} contacts, "
        f"{sum(x['errors'] for x in planned):,} errors, {sum(x['warnings'] for x in planned):,} warnings"
    )
    assert r.stderr.rstrip().splitlines()[-1] == totals, r.stderr
    # a layout that planned before and is now broken: its earlier files are kept (never the loss of the
    # last good outputs), and its row says they are not made from this input
    before = {f: (out / "ring" / f).read_bytes() for f in os.listdir(out / "ring")}
    whole = (lib / "ring.gds").read_bytes()
    (lib / "ring.gds").write_bytes(whole[: len(whole) // 2])
    r = run("batch", str(lib), "-o", str(out), "--layer", "9/0", "--continue-on-error")
    assert r.returncode == 3, r.stderr
    row = {os.path.relpath(x["input"], lib): x for x in json.load(open(out / "summary.json"))["results"]}["ring.gds"]
    assert row["status"] == "failed" and row["output"] == str(out / "ring")
    assert row["message"].endswith(f"; {out / 'ring'} holds an earlier run's files, not made from this input")
    assert {f: (out / "ring" / f).read_bytes() for f in os.listdir(out / "ring")} == before


def test_batch_stops_at_first_failure_without_continue(tmp_path):
    lib = tmp_path / "lib"
    make_library(lib)
    out = tmp_path / "out"
    r = run("batch", str(lib / "broken.gds"), str(lib / "ring.gds"), "-o", str(out), "--layer", "9/0", "--jobs", "1")
    assert r.returncode == 3
    doc = json.load(open(out / "summary.json"))
    assert [x["status"] for x in doc["results"]] == ["failed", "skipped"]


def test_batch_globs_and_all_good(tmp_path):
    lib = tmp_path / "lib"
    make_library(lib)
    r = run("batch", str(lib / "**" / "ring.gds"), "-o", str(tmp_path / "o"), "--layer", "9/0", "--json", "-q")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["inputs"] == 2 and doc["failed"] == 0
    assert r.stderr == ""


def test_batch_on_a_local_dask_cluster_matches_the_local_run(tmp_path):
    distributed = pytest.importorskip("distributed")
    lib = tmp_path / "lib"
    make_library(lib)
    inputs = find_inputs([str(lib)])
    opts = Options(layer="9/0", creation_date="2026-01-01T00:00:00Z")
    local = run_batch(plan_tasks(inputs, str(tmp_path / "local"), Rules(), opts), 1, True)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cl:
        remote = run_batch(plan_tasks(inputs, str(tmp_path / "dask"), Rules(), opts), 2, True, cl.scheduler_address)
    write_summary(str(tmp_path / "dask"), remote, Rules())
    for a, b in zip(local, remote, strict=True):
        for key in ("status", "exit_code", "contacts", "rows", "errors", "warnings", "worst_volume_ratio"):
            assert a[key] == b[key], (a["input"], key)
    names = sorted(os.listdir(tmp_path / "local"))
    assert names == sorted(n for n in os.listdir(tmp_path / "dask") if not n.startswith("summary"))
    for folder in names:
        for f in sorted(os.listdir(tmp_path / "local" / folder)):
            assert (tmp_path / "local" / folder / f).read_bytes() == (tmp_path / "dask" / folder / f).read_bytes(), f


def test_a_dask_batch_given_relative_paths_reads_and_writes_where_they_point(tmp_path, monkeypatch):
    """The workers' working folder is not the client's: a batch given its inputs and its folder relative
    to the client's reads and writes them there (the workers were started elsewhere), and its rows name
    them as given."""
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None) as cl:
        monkeypatch.chdir(tmp_path)  # (after the workers started, in this process's first folder)
        make_library(tmp_path / "lib")
        inputs = find_inputs(["lib"])
        assert inputs and not any(os.path.isabs(p) for p in inputs)
        opts = Options(layer="9/0", creation_date="2026-01-01T00:00:00Z")
        rows = run_batch(plan_tasks(inputs, "out", Rules(), opts), 1, True, cl.scheduler_address)
    planned = [r for r in rows if r["status"] != "failed"]
    assert planned and all(not os.path.isabs(r["input"]) for r in rows)
    for r in planned:
        assert r["output"].startswith("out") and os.listdir(tmp_path / r["output"]), r


def test_stop_reports_what_ran_and_writes_nothing_for_skipped(tmp_path):
    lib = tmp_path / "lib"
    make_library(lib)
    out = tmp_path / "out"
    inputs = [str(lib / "broken.gds")] + [str(lib / "ring.gds")] * 1 + [str(lib / "sub" / "ring.gds")]
    r = run("batch", *inputs, "-o", str(out), "--layer", "9/0", "--jobs", "2")
    assert r.returncode == 3
    doc = json.load(open(out / "summary.json"))
    for row in doc["results"]:
        if row["status"] == "skipped":
            assert row["output"] is None or not os.path.exists(row["output"])
        elif row["status"] != "failed":
            assert os.path.exists(os.path.join(row["output"], "ring.json"))


def test_parallel_batch_stops_after_the_first_failure_too(tmp_path):
    """With two jobs, one input runs beside the failing one; the pool does not queue the rest ahead."""
    lib = tmp_path / "lib"
    make_library(lib)
    inputs = [str(lib / "broken.gds")]
    for k in range(6):
        shutil.copy(os.path.join(SAMPLES, "ring_100um.gds"), lib / f"r{k}.gds")
        inputs.append(str(lib / f"r{k}.gds"))
    tasks = plan_tasks(inputs, str(tmp_path / "out"), Rules(), Options(layer="9/0"))
    rows = run_batch(tasks, 2, False)
    status = [r["status"] for r in rows]
    assert status[0] == "failed"
    assert status.count("skipped") >= 4, status  # at most the one beside it, and one that won a race
    assert all(s == "skipped" for s in status[3:]), status


def test_mixed_library_picks_each_files_layer(tmp_path):
    from stencilgen.batch import layer_for

    assert layer_for("a.gds", ("PADS", "9/0")) == "9/0"
    assert layer_for("a.oas", ("9",)) == "9"
    assert layer_for("b.dxf", ("9/0", "PADS")) == "PADS"
    assert layer_for("b.dxf", ("9/0",)) is None  # the DXF's only layer, if it has one
    lib = tmp_path / "lib"
    lib.mkdir()
    shutil.copy(os.path.join(SAMPLES, "ring_100um.gds"), lib / "ring.gds")
    shutil.copy(os.path.join(SAMPLES, "die_mm_blocks.dxf"), lib / "die.dxf")
    r = run("batch", str(lib), "-o", str(tmp_path / "o"), "--layer", "9/0", "--layer", "PADS", "--json", "-q")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert sorted(x["contacts"] for x in doc["results"]) == [49, 68]


def test_batch_takes_plans_foil_keep_in_and_date_for_every_layout(tmp_path):
    """--thickness, --keep-in and --creation-date reach every layout of a batch as plan's do; a date that
    is none is refused before anything is planned or written."""
    lib = tmp_path / "lib"
    lib.mkdir()
    shutil.copy(os.path.join(SAMPLES, "ring_100um.gds"), lib / "ring.gds")
    shutil.copy(os.path.join(SAMPLES, "area_array.gds"), lib / "bumps.gds")
    out = tmp_path / "o"
    args = ["--layer", "9/0", "--thickness", "15um", "--keep-in", "none", "--creation-date", "2026-01-01T00:00:00Z"]
    r = run("batch", str(lib), "-o", str(out), *args, "-q")
    assert r.returncode == 0, r.stderr
    for name in ("ring", "bumps"):
        s = json.loads((out / name / f"{name}.json").read_text())["summary"]
        assert s["rules"]["thickness_um"] == 15.0 and s["keep_in"]["source"] == "none"
        assert s["created"] == "2026-01-01T00:00:00+00:00"
    r = run("batch", str(lib), "-o", str(tmp_path / "bad"), "--layer", "9/0", "--creation-date", "soon")
    assert r.returncode == 2 and "--creation-date 'soon'" in r.stderr and not (tmp_path / "bad").exists()
