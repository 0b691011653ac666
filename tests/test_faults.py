"""Nothing lost under faults: the input, the last complete set of outputs and the machine's memory are
safe when a run is interrupted, killed, run twice at once, fails to write, or meets a hostile input.
`make test` runs a few interruptions; `make fuzz` (HYPOTHESIS_PROFILE=fuzz) many."""

from __future__ import annotations

import datetime
import fcntl
import json
import os
import random
import re
import resource
import signal
import subprocess
import sys
import time
import uuid

import gdstk
import numpy as np
import pytest
import synth
from conftest import ROOT, SAMPLES

FUZZ = os.environ.get("HYPOTHESIS_PROFILE") == "fuzz"
RING = os.path.join(SAMPLES, "ring_100um.gds")
#: a layout planned in under a second, for the tests of what a run leaves in its folder (not of the plan)
QUICK = os.path.join(SAMPLES, "area_array.gds")
SET = ("dxf", "gbr", "gds", "html", "json", "lyrdb")


def cli(*args: str, env: dict[str, str] | None = None, **kwargs) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "stencilgen", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
        **kwargs,
    )


def run(*args: str, **kwargs) -> subprocess.CompletedProcess:
    proc = cli(*args, **kwargs)
    out, err = proc.communicate(timeout=300)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def files(folder) -> dict[str, bytes]:
    """Every file of a folder (hidden ones too) with its bytes."""
    if not os.path.isdir(folder):
        return {}
    names = [n for n in sorted(os.listdir(folder)) if os.path.isfile(os.path.join(folder, n))]
    return {n: open(os.path.join(folder, n), "rb").read() for n in names}


def one_line_error(r: subprocess.CompletedProcess, code: int, *words: str) -> None:
    assert r.returncode == code, (r.returncode, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), r.stderr
    for w in words:
        assert w in lines[0], (w, lines[0])


def reference_set(folder, src: str, date: str, *extra: str) -> dict[str, bytes]:
    r = run("plan", src, "--layer", "9/0", "-o", str(folder), "-q", "--creation-date", date, *extra)
    assert r.returncode == 0, r.stderr
    return files(folder)


def big_layout(tmp_path, dies: int = 3) -> str:
    """A layout whose plan is still writing a second or two after it starts."""
    die = synth.ring(side=30000, pitch=110.0, count=250, pad=(70.0, 100.0))
    polys = [p + np.array([30500.0 * i, 0.0]) for i in range(dies) for p in die.polygons()]
    src = str(tmp_path / "big.gds")
    synth.write_gds(src, polys, noise=False)
    return src


# -- 1. no output path is an input path


def test_a_plan_into_its_inputs_folder_never_overwrites_the_input(tmp_path):
    src = tmp_path / "area_array.gds"
    src.write_bytes(open(QUICK, "rb").read())
    before = files(tmp_path)
    r = run("plan", str(src), "--layer", "9/0", "-o", str(tmp_path))
    one_line_error(r, 4, str(src), "input")
    assert files(tmp_path) == before
    # nor through a link with another name
    os.mkdir(tmp_path / "out")
    os.symlink(src, tmp_path / "out" / "area_array.gds")
    r = run("plan", str(src), "--layer", "9/0", "-o", str(tmp_path / "out"))
    one_line_error(r, 4, "input")
    assert files(tmp_path / "out") == {"area_array.gds": before["area_array.gds"]}
    # without the GDS among the outputs the folder is fine
    r = run("plan", str(src), "--layer", "9/0", "-o", str(tmp_path), "--formats", "gerber", "-q")
    assert r.returncode == 0, r.stderr
    assert files(tmp_path)["area_array.gds"] == before["area_array.gds"]


def test_a_rules_file_is_an_input_too(tmp_path):
    rules = tmp_path / "area_array.json"
    rules.write_text("thickness_um = 20\n")
    r = run("plan", QUICK, "--layer", "9/0", "-o", str(tmp_path), "--rules", str(rules))
    one_line_error(r, 4, "input")
    assert rules.read_text() == "thickness_um = 20\n"


# -- 2. a run that fails or is interrupted leaves the previous set as it was


def _interrupt_runs(tmp_path, count: int) -> None:
    src = big_layout(tmp_path, 2)
    dates = ("2030-01-01T00:00:00Z", "2031-01-01T00:00:00Z")
    sets = [reference_set(tmp_path / f"ref{k}", src, d) for k, d in enumerate(dates)]
    assert all(sets[0][n] != sets[1][n] for n in ("big.gbr", "big.gds", "big.json"))
    out = tmp_path / "out"
    t0 = time.monotonic()
    run("plan", src, "--layer", "9/0", "-o", str(out), "-q", "--creation-date", dates[0])
    length = time.monotonic() - t0
    assert files(out) == sets[0]
    rng = random.Random(18)
    for i in range(count):
        before = files(out)
        new = dates[(i + 1) % 2]
        proc = cli("plan", src, "--layer", "9/0", "-o", str(out), "-q", "--creation-date", new)
        time.sleep(rng.uniform(0.1, 1.1) * length)
        proc.send_signal(rng.choice([signal.SIGINT, signal.SIGTERM]))
        _, err = proc.communicate(timeout=120)
        after = files(out)
        assert "Traceback" not in err, err
        # the previous complete set, byte for byte, or the whole new one; nothing else (no litter)
        assert after in (before, sets[(i + 1) % 2]), (proc.returncode, err, sorted(after))
        if proc.returncode > 0:  # (the line names the input, once the command has started)
            assert proc.returncode == 130 and err.strip() in ("Error: interrupted", f"Error: {src}: interrupted"), err
        # killed by the signal itself (before the command's handlers were set, or after they were given
        # back once the set was swapped in): either set, as asserted above


def test_interrupted_runs_leave_the_previous_set_or_the_whole_new_one(tmp_path):
    _interrupt_runs(tmp_path, 40 if FUZZ else 3)


def test_a_file_size_limit_leaves_the_previous_set(tmp_path):
    out = tmp_path / "out"
    before = reference_set(out, QUICK, "2030-01-01T00:00:00Z")

    def small_files() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (40_000, 40_000))

    for limit_at in ("html", "json"):
        r = run("plan", QUICK, "--layer", "9/0", "-o", str(out), "--creation-date", "2031-01-01T00:00:00Z",
                preexec_fn=small_files)  # fmt: skip
        one_line_error(r, 4, "cannot be written")
        assert files(out) == before, limit_at


def test_a_read_only_folder_leaves_the_previous_set(tmp_path):
    if os.geteuid() == 0:
        pytest.skip("root writes into read-only folders")
    out = tmp_path / "out"
    before = reference_set(out, RING, "2030-01-01T00:00:00Z")
    os.chmod(out, 0o555)
    try:
        r = run("plan", RING, "--layer", "9/0", "-o", str(out), "--creation-date", "2031-01-01T00:00:00Z")
        one_line_error(r, 4)
        assert files(out) == before
    finally:
        os.chmod(out, 0o755)


# -- 3. a killed parent leaves no process and renames nothing afterwards; the next run clears its litter


def _marked(mark: str) -> list[int]:
    """The processes whose environment holds `mark` (a run's and every process it forked)."""
    found = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                with open(f"/proc/{pid}/environ", "rb") as fh:
                    if mark.encode() in fh.read():
                        found.append(int(pid))
            except OSError:
                continue
    return found


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc and the parent-death signal")
def test_a_killed_run_leaves_no_process_and_renames_nothing_after(tmp_path):
    src = big_layout(tmp_path, 3)
    out = tmp_path / "out"
    old = reference_set(out, src, "2030-01-01T00:00:00Z")
    rng = random.Random(7)
    for k in range(6 if FUZZ else 2):
        mark = f"STENCILGEN_TEST_{uuid.uuid4().hex}"
        proc = cli("plan", src, "--layer", "9/0", "-o", str(out), "-q", "--creation-date", f"203{k + 1}-01-01",
                   env={mark: "1"})  # fmt: skip
        # kill it while it (or a writer it forked) is at work: wait until a temporary file appears
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not [n for n in os.listdir(out) if n.endswith(".tmp")]:
            time.sleep(0.01)
        time.sleep(rng.uniform(0.0, 0.3))
        proc.kill()
        proc.communicate(timeout=60)
        for _ in range(100):  # the parent-death signal is delivered at once; allow a loaded machine
            if not _marked(mark):
                break
            time.sleep(0.05)
        assert _marked(mark) == [], "a process of the killed run lives on"
        state = {n: os.stat(out / n).st_ino for n in os.listdir(out)}
        time.sleep(0.5)
        assert {n: os.stat(out / n).st_ino for n in os.listdir(out)} == state  # nothing renamed after
        visible = {n: b for n, b in files(out).items() if not n.startswith(".")}
        assert visible == old  # the previous set, whole
    # the next run removes what the killed runs left and writes its set
    r = run("plan", src, "--layer", "9/0", "-o", str(out), "-q", "--creation-date", "2030-01-01T00:00:00Z")
    assert r.returncode == 0, r.stderr
    assert files(out) == old


def test_litter_of_the_same_set_is_removed_and_other_files_stay(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    litter = [".ring_100um.gbr.a1b2c3d4.tmp", ".ring_100um.json.zz_9k3m2.tmp", "..ring_100um.swap.q1w2e3r4.tmp"]
    keep = [".other.gbr.a1b2c3d4.tmp", ".ring_100um.gbr.notmine.tmp", "ring_100um.gbr.a1b2c3d4.tmp", "notes.txt"]
    for n in litter + keep:
        (out / n).write_text("x" * 1000)
    r = run("plan", RING, "--layer", "9/0", "-o", str(out), "-q")
    assert r.returncode == 0, r.stderr
    assert sorted(os.listdir(out)) == sorted(keep + [f"ring_100um.{e}" for e in SET])


def test_a_swap_cut_short_is_completed_by_the_next_run(tmp_path):
    """A run killed between two renames of its swap: its files were whole, the next run completes it."""
    from stencilgen.writers.fileset import FileSet

    out = tmp_path / "out"
    out.mkdir()
    (out / "s.a").write_text("old a")
    (out / "s.b").write_text("old b")
    (out / ".s.b.k2k2k2k2.tmp").write_text("new b")  # a renamed already, b not yet
    (out / "s.a").write_text("new a")
    (out / ".s.swap").write_text(".s.a.x1x1x1x1.tmp\ts.a\n.s.b.k2k2k2k2.tmp\ts.b\n")
    with FileSet(str(out), "s", {"a": str(out / "s.a")}) as fs:
        assert (out / "s.b").read_text() == "new b"
        fs.write("a", "newer a")
    assert files(out) == {"s.a": b"newer a", "s.b": b"new b"}


# -- 4. two runs at once


def test_two_runs_at_once_leave_one_whole_set(tmp_path):
    src = big_layout(tmp_path, 1)
    dates = ("2030-01-01T00:00:00Z", "2031-01-01T00:00:00Z")
    sets = [reference_set(tmp_path / f"ref{k}", src, d) for k, d in enumerate(dates)]
    out = tmp_path / "out"
    for _ in range(3 if FUZZ else 1):
        procs = [cli("plan", src, "--layer", "9/0", "-o", str(out), "-q", "--creation-date", d) for d in dates]
        for p in procs:
            _, err = p.communicate(timeout=300)
            assert p.returncode == 0, err
        assert files(out) in sets


def test_a_run_meeting_a_held_lock_waits_then_fails_with_one_line(tmp_path):
    out = tmp_path / "out"
    before = reference_set(out, QUICK, "2030-01-01T00:00:00Z")
    fd = os.open(out / ".area_array.lock", os.O_RDWR | os.O_CREAT)
    os.write(fd, b"12345")
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        r = run("plan", QUICK, "--layer", "9/0", "-o", str(out), env={"STENCILGEN_LOCK_WAIT": "0.3"})
        one_line_error(r, 4, "another stencilgen run (pid 12345)", str(out))
        assert {n: b for n, b in files(out).items() if not n.endswith(".lock")} == before
    finally:
        os.close(fd)


# -- 5. batch: never reads its own OUTDIR, names kept apart


def test_batch_twice_into_a_folder_inside_its_input_folder(tmp_path):
    lib = tmp_path / "lib"
    lib.mkdir()
    for name in ("äb.gds", "öb.gds", "B-2.gds"):
        (lib / name).write_bytes(open(QUICK, "rb").read())
    for _ in range(2):
        r = run("batch", str(lib), "-o", str(lib / "out"), "--layer", "9/0", "-q", "--jobs", "2")
        assert r.returncode == 0, r.stderr
        summary = json.loads((lib / "out" / "summary.json").read_text())
        assert summary["inputs"] == 3 and summary["failed"] == summary["skipped"] == 0
    folders = sorted(n for n in os.listdir(lib / "out") if os.path.isdir(lib / "out" / n))
    assert len(folders) == 3 and len({f.lower() for f in folders}) == 3, folders
    stems = {os.path.join(f, n) for f in folders for n in os.listdir(lib / "out" / f)}
    assert len(stems) == 3 * len(SET)
    assert not [n for n in os.listdir(lib / "out") if n.startswith(".")]
    r = run("batch", str(lib / "out" / folders[0]), "-o", str(lib / "out"), "--layer", "9/0")
    one_line_error(r, 2, "inside the output folder")


# -- 6. hostile inputs: one line, the right exit, no hang


def test_a_fifo_as_rules_or_layout_does_not_hang(tmp_path):
    fifo = tmp_path / "rules.toml"
    os.mkfifo(fifo)
    r = subprocess.run(
        [sys.executable, "-m", "stencilgen", "plan", RING, "--layer", "9/0", "-o", str(tmp_path / "o"),
         "--rules", str(fifo)],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    one_line_error(r, 3, str(fifo), "not a regular file")
    gds_fifo = tmp_path / "die.gds"
    os.mkfifo(gds_fifo)
    r = subprocess.run(
        [sys.executable, "-m", "stencilgen", "inspect", str(gds_fifo)],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    one_line_error(r, 3, str(gds_fifo))
    assert not (tmp_path / "o").exists()


def test_deeply_nested_rules_name_the_file(tmp_path):
    rules = tmp_path / "deep.toml"
    rules.write_text("thickness_um = " + "[" * 3000 + "]" * 3000 + "\n")
    r = run("rules", "--rules", str(rules))
    one_line_error(r, 3, str(rules))


@pytest.mark.parametrize("command", [("rules",), ("inspect", RING, "--layer", "9/0", "--json")])
def test_a_full_or_closed_stdout_is_an_output_error(command):
    with open("/dev/full", "w") as full:
        r = subprocess.run([sys.executable, "-m", "stencilgen", *command], cwd=ROOT, stdout=full,
                           stderr=subprocess.PIPE, text=True, timeout=120)  # fmt: skip
    one_line_error(r, 4, "stdout")
    proc = subprocess.Popen([sys.executable, "-m", "stencilgen", *command], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)  # fmt: skip
    assert proc.stdout is not None
    proc.stdout.close()  # the reader has gone before anything is written
    err = proc.stderr.read() if proc.stderr else ""
    proc.wait(timeout=120)
    assert proc.returncode in (0, 4), err  # (a short text may fit in the pipe before it is seen closed)
    assert "Traceback" not in err and "internal error" not in err


def test_outputs_follow_the_umask(tmp_path):
    r = subprocess.run(
        ["sh", "-c", f'umask 077 && exec "{sys.executable}" -m stencilgen plan "{RING}" --layer 9/0 -o out -q'],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    modes = {n: os.stat(tmp_path / "out" / n).st_mode & 0o777 for n in os.listdir(tmp_path / "out")}
    assert modes == {f"ring_100um.{e}": 0o600 for e in SET}


def test_a_file_name_that_is_not_utf8(tmp_path):
    name = os.fsdecode(b"r\xffx.gds")
    (tmp_path / name).write_bytes(open(RING, "rb").read())
    r = run("plan", str(tmp_path / name), "--layer", "9/0", "-o", str(tmp_path / "out"))
    assert r.returncode == 0, r.stderr
    doc = json.loads((tmp_path / "out" / "r_x.json").read_bytes().decode("utf-8"))
    assert doc["summary"]["file"].endswith("r\ufffdx.gds")


def test_pads_far_beyond_any_wafer_are_refused_not_dropped(tmp_path):
    import ezdxf

    doc = ezdxf.new()
    doc.header["$INSUNITS"] = 4
    for x in (0.0, 1e20, 2e20):
        doc.modelspace().add_lwpolyline([(x, 0), (x + 0.04, 0), (x + 0.04, 0.04), (x, 0.04)], close=True,
                                        dxfattribs={"layer": "PADS"})  # fmt: skip
    block = doc.blocks.new("PAD")
    block.add_lwpolyline([(0, 0), (0.04, 0), (0.04, 0.04), (0, 0.04)], close=True, dxfattribs={"layer": "PADS"})
    path = tmp_path / "far.dxf"
    doc.saveas(path)
    r = run("plan", str(path), "--layer", "PADS", "-o", str(tmp_path / "o"))
    one_line_error(r, 3, str(path), "beyond any die or wafer")
    doc = ezdxf.new()
    doc.header["$INSUNITS"] = 4
    doc.blocks.new("PAD").add_lwpolyline([(0, 0), (0.04, 0), (0.04, 0.04), (0, 0.04)], close=True,
                                         dxfattribs={"layer": "PADS"})  # fmt: skip
    doc.modelspace().add_blockref("PAD", (0, 0), dxfattribs={"xscale": 1e30, "yscale": 1e30})
    doc.saveas(path)
    r = run("plan", str(path), "--layer", "PADS", "-o", str(tmp_path / "o"))
    one_line_error(r, 3, str(path), "beyond any die or wafer")
    assert not (tmp_path / "o").exists()


# -- 7. memory: counted before it is spent, under an address-space cap


def _capped() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))


def _bombs(tmp_path) -> list[tuple[str, str, int]]:
    lib = gdstk.Library(unit=1e-6, precision=1e-9)
    pad = lib.new_cell("PAD")
    pad.add(gdstk.rectangle((0, 0), (10, 10), layer=9))
    lib.new_cell("TOP").add(gdstk.Reference(pad, (0, 0), columns=32767, rows=32767, spacing=(20, 20)))
    gds, oas = str(tmp_path / "array.gds"), str(tmp_path / "array.oas")
    lib.write_gds(gds)
    lib.write_oas(oas)
    nested = gdstk.Library(unit=1e-6, precision=1e-9)
    cells = [nested.new_cell("L0")]
    cells[0].add(gdstk.rectangle((0, 0), (10, 10), layer=9))
    for k in range(1, 6):  # 100^5 placements through five levels
        c = nested.new_cell(f"L{k}")
        c.add(gdstk.Reference(cells[-1], (0, 0), columns=10, rows=10, spacing=(30 * 10 ** (k - 1), 30 * 10 ** (k - 1))))
        cells.append(c)
    deep = str(tmp_path / "nested.gds")
    nested.write_gds(deep)
    repeated = gdstk.Library(unit=1e-6, precision=1e-9)
    box = gdstk.rectangle((0, 0), (10, 10), layer=9)
    box.repetition = gdstk.Repetition(30000, 30000, spacing=(20, 20))
    repeated.new_cell("TOP").add(box)
    rep = str(tmp_path / "repeated.oas")
    repeated.write_oas(rep)
    import ezdxf

    doc = ezdxf.new()
    doc.header["$INSUNITS"] = 13
    doc.blocks.new("B0").add_lwpolyline([(0, 0), (40, 0), (40, 40), (0, 40)], close=True, dxfattribs={"layer": "P"})
    doc.blocks.new("B1").add_blockref("B0", (0, 0)).grid(size=(100, 100), spacing=(100, 100))
    doc.modelspace().add_blockref("B1", (0, 0)).grid(size=(100, 100), spacing=(10000, 10000))
    dxf = str(tmp_path / "blocks.dxf")
    doc.saveas(dxf)
    return [
        (gds, "9/0", 32767 * 32767),
        (oas, "9/0", 32767 * 32767),
        (deep, "9/0", 100**5),
        (rep, "9/0", 30000 * 30000),
        (dxf, "P", 100**4),
    ]


def test_bombs_are_refused_before_expansion_under_a_memory_cap(tmp_path):
    for path, layer, count in _bombs(tmp_path):
        assert os.path.getsize(path) < 20_000
        r = run("plan", path, "--layer", layer, "-o", str(tmp_path / "o"), preexec_fn=_capped)
        one_line_error(r, 3, path, f"{count:,}", "--max-contacts")
        r = run("inspect", path, "--layer", layer, "--max-contacts", str(count - 1), preexec_fn=_capped)
        one_line_error(r, 3, path, f"{count:,}")
    assert not (tmp_path / "o").exists()


def test_an_output_folder_that_is_a_file_is_refused_before_the_plan(tmp_path):
    """-o naming a file (or a folder under one) is exit 4 at once, one line naming the file in the way,
    and the file is left as it was."""
    blocker = tmp_path / "afile"
    blocker.write_bytes(b"keep me")
    for out in (blocker, blocker / "sub"):
        r = subprocess.run(
            [sys.executable, "-m", "stencilgen", "plan", RING, "--layer", "9/0", "-o", str(out)],
            capture_output=True,
            text=True,
        )
        assert r.returncode == 4
        assert r.stderr.strip().splitlines() == [
            f"Error: {out}: cannot be the output folder: {blocker} is a file, not a folder"
        ]
    assert blocker.read_bytes() == b"keep me"


# -- 8. batch as a whole: killed, run twice at once, files that cannot be written


def _batch_inputs(tmp_path) -> str:
    lib = tmp_path / "lib"
    lib.mkdir()
    src = big_layout(tmp_path, 2)
    for name in ("a", "b", "c"):
        os.link(src, lib / f"{name}.gds")
    return str(lib)


def _visible(folder) -> dict[str, dict[str, bytes]]:
    """Each subfolder's files (hidden ones left out), and the top folder's."""
    out = {"": {n: b for n, b in files(folder).items() if not n.startswith(".")}}
    for n in sorted(os.listdir(folder)) if os.path.isdir(folder) else []:
        if os.path.isdir(os.path.join(folder, n)):
            out[n] = {k: b for k, b in files(os.path.join(folder, n)).items() if not k.startswith(".")}
    return out


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc and the parent-death signal")
def test_a_killed_batch_leaves_no_worker_and_every_folder_whole(tmp_path):
    lib = _batch_inputs(tmp_path)
    out = tmp_path / "out"
    args = ("batch", lib, "--layer", "9/0", "-o", str(out), "-q", "--jobs", "2")

    def dated(year: int) -> dict[str, str]:
        return {"SOURCE_DATE_EPOCH": str(int(datetime.datetime(year, 1, 1, tzinfo=datetime.UTC).timestamp()))}

    r = run(*args, env=dated(2030))
    assert r.returncode == 0, r.stderr
    old = _visible(out)
    assert sorted(old) == ["", "a", "b", "c"] and all(len(old[k]) == len(SET) for k in "abc")
    rng = random.Random(5)
    for k in range(6 if FUZZ else 2):
        mark = f"STENCILGEN_TEST_{uuid.uuid4().hex}"
        proc = cli(*args, env={mark: "1", **dated(2031 + k)})
        deadline = time.monotonic() + 60  # wait until a worker writes, then kill the batch (the parent alone)
        while time.monotonic() < deadline and not any(
            n.endswith(".tmp") for f in "abc" if os.path.isdir(out / f) for n in os.listdir(out / f)
        ):
            time.sleep(0.01)
        time.sleep(rng.uniform(0.0, 0.5))
        proc.kill()
        proc.communicate(timeout=60)
        for _ in range(100):
            if not _marked(mark):
                break
            time.sleep(0.05)
        assert _marked(mark) == [], "a worker of the killed batch lives on"
        now = _visible(out)
        assert sorted(now) == sorted(old)
        for f in "abc":  # each folder holds a whole set: the previous one or the new one, never a mix
            assert sorted(now[f]) == sorted(old[f])
            created = json.loads(now[f][f"{f}.json"])["summary"]["created"]
            assert now[f] == old[f] or created[:4] != "2030"
        assert now[""] == old[""]  # the summary of the last whole batch
    r = run(*args, env=dated(2030))
    assert r.returncode == 0, r.stderr
    assert {k: v for k, v in _visible(out).items() if k} == {k: v for k, v in old.items() if k}
    litter = [os.path.join(d, n) for d, _, names in os.walk(out) for n in names if n.startswith(".")]
    assert litter == []


def test_a_second_batch_into_the_same_folder_waits_then_fails_with_one_line(tmp_path):
    lib = tmp_path / "lib"
    lib.mkdir()
    (lib / "a.gds").write_bytes(open(RING, "rb").read())
    out = tmp_path / "out"
    out.mkdir()
    fd = os.open(out / ".batch.lock", os.O_RDWR | os.O_CREAT)
    os.write(fd, b"4242")
    fcntl.flock(fd, fcntl.LOCK_EX)  # a batch at work in the folder
    try:
        r = run("batch", str(lib), "--layer", "9/0", "-o", str(out), env={"STENCILGEN_LOCK_WAIT": "0.3"})
        one_line_error(r, 4, str(out), "another stencilgen run (pid 4242)")
        assert os.listdir(out) == [".batch.lock"]  # nothing planned, nothing written
    finally:
        os.close(fd)
    r = run("batch", str(lib), "--layer", "9/0", "-o", str(out), "-q")  # free again
    assert r.returncode == 0, r.stderr
    assert sorted(os.listdir(out)) == ["a", "summary.csv", "summary.json"]


def test_a_batch_whose_files_cannot_be_written_exits_4(tmp_path):
    lib = tmp_path / "lib"
    lib.mkdir()
    (lib / "a.gds").write_bytes(open(RING, "rb").read())

    def small_files() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (40_000, 40_000))

    out = tmp_path / "out"
    r = run("batch", str(lib), "--layer", "9/0", "-o", str(out), "-q", preexec_fn=small_files)
    assert r.returncode == 4, r.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["results"][0]["exit_code"] == 4 and "cannot be written" in summary["results"][0]["message"]
    assert sorted(os.listdir(out)) == ["summary.csv", "summary.json"]  # no empty folder left for a
    (tmp_path / "file").write_text("x")
    r = run("batch", str(lib), "--layer", "9/0", "-o", str(tmp_path / "file"))
    one_line_error(r, 4, str(tmp_path / "file"), "is a file, not a folder")
    assert (tmp_path / "file").read_text() == "x"


# -- 9. the trial's classes: names, numbers and options past their range, files opened by name


def test_a_name_with_a_newline_stays_one_line(tmp_path):
    bad = tmp_path / "two\nlines.gds"
    bad.write_bytes(b"\x00\x06\x00\x02\x02\x58garbage")
    for path in (str(bad), str(tmp_path / "no\nsuch.gds")):
        r = run("plan", path, "--layer", "9/0", "-o", str(tmp_path / "o"))
        one_line_error(r, 3, path.replace("\n", "\\n"))
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("thickness_um = 1" + "0" * 400 + "\n", "too large"),
        ("thickness_um = " + "9" * 5000 + "\n", "not valid TOML"),
        (
            'thickness_um = "auto"\nfoil_thicknesses_um = [' + ", ".join(str(10 + k) for k in range(60)) + "]\n",
            "60 foils",
        ),
    ],
)
def test_rules_numbers_past_their_range_are_one_error(tmp_path, text, said):
    rules = tmp_path / "r.toml"
    rules.write_text(text)
    r = run("plan", RING, "--layer", "9/0", "--rules", str(rules), "-o", str(tmp_path / "o"))
    one_line_error(r, 3, str(rules), said)
    assert not (tmp_path / "o").exists()


def test_a_gds_layer_past_16_bits_is_a_usage_error(tmp_path):
    r = run("plan", RING, "--layer", "9/0", "--gds-layer", "70000/0", "-o", str(tmp_path / "o"))
    one_line_error(r, 2, "--gds-layer", "65535")
    assert not (tmp_path / "o").exists()


def test_a_fifo_as_stencil_is_not_a_regular_file(tmp_path):
    fifo = tmp_path / "s.gbr"
    os.mkfifo(fifo)
    r = subprocess.run(
        [sys.executable, "-m", "stencilgen", "check", RING, "--layer", "9/0", "--stencil", str(fifo)],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    one_line_error(r, 3, str(fifo), "not a regular file")


def test_a_library_writing_by_name_writes_into_the_sets_own_file(tmp_path):
    """A writer that opens its file by name (gdstk) gets the temporary file as held open: were that file
    removed meanwhile (a later run cleaning up), nothing is created by name."""
    from stencilgen.errors import OutputError
    from stencilgen.writers.fileset import FileSet

    lib = gdstk.Library()
    lib.new_cell("TOP").add(gdstk.rectangle((0, 0), (1, 1)))
    out = tmp_path / "out"
    with FileSet(str(out), "s", {"gds": str(out / "s.gds")}) as fs:
        fs.write_with("gds", lib.write_gds)
    assert gdstk.read_gds(str(out / "s.gds")).cells[0].name == "TOP"

    def removed_then_written(name: str) -> None:
        os.unlink(fs.temps["gds"])  # the temporary file goes while the writer holds it
        lib.write_gds(name)

    with pytest.raises(OutputError), FileSet(str(out), "s", {"gds": str(out / "s.gds")}) as fs:
        fs.write_with("gds", removed_then_written)
    assert sorted(os.listdir(out)) == ["s.gds"]  # no file made by name; the previous one kept
    assert gdstk.read_gds(str(out / "s.gds")).cells[0].name == "TOP"


def test_scratch_of_ended_processes_is_swept(tmp_path):
    from stencilgen import scratch

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    gone = int(dead.stdout)
    old, young, live, other = (tmp_path / f"stencilgen-{p}-x" for p in (gone, gone + 0, os.getpid(), "a"))
    old.mkdir()
    (old / "stencil.gbrx").write_text("x")
    os.utime(old, (time.time() - 3600, time.time() - 3600))
    live.mkdir()
    os.utime(live, (time.time() - 3600, time.time() - 3600))
    (tmp_path / "stencilgen-abc").mkdir()
    assert scratch.sweep(str(tmp_path)) == [str(old)]
    assert sorted(os.listdir(tmp_path)) == sorted([live.name, "stencilgen-abc"])
    young.mkdir()  # just made: its process may be starting
    assert scratch.sweep(str(tmp_path)) == []
    assert other.name not in os.listdir(tmp_path)


def test_a_stencil_too_large_for_the_memory_is_one_line_whatever_the_cap(tmp_path):
    """A Gerber under --max-contacts that still needs more memory than the process may have: one line
    naming the stencil, exit 3, at whatever stage reading it runs out (KLayout's or numpy's), never a
    crash (KLayout reads in a child process)."""
    path = tmp_path / "many.gbr"
    flashes = 2_000_000 if FUZZ else 1_000_000
    with open(path, "w") as fh:
        fh.write("%FSLAX46Y46*%\n%MOMM*%\n%ADD10C,0.050000*%\nD10*\n")
        fh.writelines(f"X{(i % 2000) * 100000}Y{(i // 2000) * 100000}D03*\n" for i in range(flashes))
        fh.write("M02*\n")
    for cap in (0.9, 1.4, 2.0, 3.0, 3.4) if FUZZ else (1.0,):

        def capped(cap: float = cap) -> None:
            resource.setrlimit(resource.RLIMIT_AS, (int(cap * 2**30), int(cap * 2**30)))

        r = run("check", RING, "--layer", "9/0", "--stencil", str(path), "-q", preexec_fn=capped)
        one_line_error(r, 3, str(path), "out of memory")


def _command(kind: str, src: str, out, stencil: str = "") -> tuple[str, ...]:
    if kind == "pair":
        alloys = ("--first-alloy", "Pb95Sn5", "--second-alloy", "Sn63Pb37")
        return ("pair", src, "--layer", "9/0", "--second", src, "--second-layer", "9/0", *alloys, "-o", str(out), "-q")
    return ("check", src, "--layer", "9/0", "--stencil", stencil, "-o", str(out), "-q")


def _completed(found: dict[str, bytes]) -> dict[str, bytes]:
    """The visible files of a folder as the next run sees them: a swap that a SIGKILL cut short
    between two renames completed from its journal (`.<set>.swap`), as the next run completes it."""
    visible = {n: b for n, b in found.items() if not n.startswith(".")}
    for journal in (n for n in found if n.endswith(".swap")):
        for line in found[journal].decode().splitlines():
            tmp, final = line.split("\t")
            visible[final] = found.get(tmp, visible.get(final, b""))
    return visible


@pytest.mark.parametrize("kind", ["pair", "check"])
def test_pair_and_check_under_signals_leave_one_whole_set(tmp_path, kind):
    """SIGINT, SIGTERM or SIGKILL at a random moment of `pair` or `check -o`: the previous set or the
    whole new one is visible, never a mix; after SIGINT and SIGTERM nothing of the run is left, and the
    next whole run removes what a SIGKILL left."""
    src = big_layout(tmp_path, 1)
    stencil = ""
    if kind == "check":
        r = run("plan", src, "--layer", "9/0", "-o", str(tmp_path / "st"), "-q", "--formats", "gerber")
        assert r.returncode in (0, 1), r.stderr
        stencil = str(tmp_path / "st" / "big.gbr")
    dates = ({"SOURCE_DATE_EPOCH": "1893456000"}, {"SOURCE_DATE_EPOCH": "1924992000"})  # 2030, 2031
    sets = []
    for k, d in enumerate(dates):
        r = run(*_command(kind, src, tmp_path / f"ref{k}", stencil), env=d)
        assert r.returncode in (0, 1), r.stderr
        sets.append(files(tmp_path / f"ref{k}"))
    assert sets[0] != sets[1] and len(sets[0]) >= 3
    out = tmp_path / "out"
    t0 = time.monotonic()
    run(*_command(kind, src, out, stencil), env=dates[0])
    length = time.monotonic() - t0
    rng = random.Random(81)
    for i in range(30 if FUZZ else 2):
        before = _completed(files(out))
        left = {n for n in files(out) if n.startswith(".")}  # by an earlier SIGKILL
        new = (i + 1) % 2
        proc = cli(*_command(kind, src, out, stencil), env=dates[new])
        time.sleep(rng.uniform(0.1, 1.1) * length)
        sig = rng.choice([signal.SIGINT, signal.SIGTERM, signal.SIGKILL])
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=120)
        assert "Traceback" not in err, err
        after = files(out)
        visible = _completed(after)
        assert visible in (before, sets[new]), (proc.returncode, err, sorted(after))
        if sig != signal.SIGKILL:
            assert set(after) - set(visible) <= left, sorted(after)  # no temporary file, lock or journal of its own
            if proc.returncode > 0:
                assert proc.returncode == 130 and re.fullmatch(r"Error: (\S.*: )?interrupted", err.strip()), err
    r = run(*_command(kind, src, out, stencil), env=dates[0])
    assert r.returncode in (0, 1), r.stderr
    assert files(out) == sets[0]


def test_an_oasis_stencil_of_repeated_shapes_is_counted_before_it_is_read(tmp_path):
    """KLayout spells out an OASIS file's shape repetitions as it reads: a 300-byte stencil of one box
    repeated 30,000 x 30,000 times is refused by its count, at once, under an address-space cap."""
    lib = gdstk.Library(unit=1e-6, precision=1e-9)
    box = gdstk.rectangle((0, 0), (10, 10), layer=1)
    box.repetition = gdstk.Repetition(30000, 30000, spacing=(20, 20))
    lib.new_cell("TOP").add(box)
    path = str(tmp_path / "repeated.oas")
    lib.write_oas(path)
    assert os.path.getsize(path) < 1000
    r = run("check", RING, "--layer", "9/0", "--stencil", path, preexec_fn=_capped)
    one_line_error(r, 3, path, "expands to 900,000,000 shapes", "--max-contacts")
    r = run("check", RING, "--layer", "9/0", "--stencil", path, "--max-contacts", "899999999", preexec_fn=_capped)
    one_line_error(r, 3, path, "expands to 900,000,000 shapes")


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_while_the_program_starts_is_one_line(sig):
    """Ctrl-C or SIGTERM while the command is still importing its libraries: exit 130 and the one line
    of any interrupted run, no traceback. (The interpreter's own start, before any of stencilgen runs,
    is Python's: a signal there ends the process by the signal.)"""
    seen = set()
    for k in range(40 if FUZZ else 12):
        proc = cli("inspect", RING, "--layer", "9/0", "-q")
        time.sleep(0.02 * k)
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=120)
        ours = re.search(rf"stencilgen{re.escape(os.sep)}(__main__\.py\", line \d+, in main|cli\.py)", err)
        if "Traceback" in err and not ours:
            continue  # (the interpreter's own start: site, runpy, the console script's imports before main)
        assert "Traceback" not in err, err
        assert proc.returncode in (0, 130, -sig), (proc.returncode, err)
        if proc.returncode == 130:
            assert err.strip() in ("Error: interrupted", f"Error: {RING}: interrupted"), err
        seen.add(proc.returncode)
    assert 130 in seen, seen


def test_a_signal_inside_a_callback_of_the_interpreter_unwinds_from_the_run():
    """A Ctrl-C that arrives while the interpreter runs a weak reference's callback (importlib drops its
    module locks so, during an import) cannot unwind from there, and the interpreter would print its
    traceback ("Exception ignored in ..."): it is delivered again and unwinds from the run itself."""
    code = (
        "import signal, sys, weakref\n"
        "from stencilgen import cli\n"
        "signal.signal(signal.SIGINT, cli._terminate)\n"
        "sys.unraisablehook = cli._unraisable\n"
        "class A: pass\n"
        "a = A()\n"
        "r = weakref.ref(a, lambda _: cli._terminate(signal.SIGINT, None))\n"
        "import time\n"
        "try:\n"
        "    del a\n"
        "    time.sleep(5)\n"
        "    print('not unwound')\n"
        "except KeyboardInterrupt:\n"
        "    print('unwound')\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert r.stdout.strip() == "unwound" and r.stderr == "", (r.stdout, r.stderr)


def test_an_error_a_library_raises_after_a_signal_is_the_interrupt():
    """A Ctrl-C that crosses a library's C code can come back as another error (numpy reports one in a
    comparison of structured arrays as a TypeError): once a SIGINT or SIGTERM has arrived, whatever
    error the run ends with is the interruption (exit 130, `Error: interrupted`), not an internal
    error. Without a signal the same error stays an internal error (exit 70)."""
    code = (
        "import os, signal, sys\n"
        "from stencilgen import cli\n"
        "def compare():\n"
        "    if sys.argv[1] == 'signal':\n"
        "        try:\n"
        "            os.kill(os.getpid(), signal.SIGTERM)\n"
        "            import time; time.sleep(5)\n"
        "        except KeyboardInterrupt:\n"
        "            pass  # (as numpy swallows it)\n"
        "    raise TypeError('Cannot compare structured arrays unless they have a common dtype')\n"
        "signal.signal(signal.SIGTERM, cli._terminate)\n"
        "cli.handle_errors(compare)()\n"
    )
    for how, rc, message in (("signal", 130, "Error: interrupted"), ("none", 70, "Error: internal error (TypeError")):
        r = subprocess.run([sys.executable, "-c", code, how], capture_output=True, text=True, cwd=ROOT, timeout=60)
        assert r.returncode == rc, r.stderr
        assert r.stderr.strip().startswith(message) and "Traceback" not in r.stderr


def test_a_pad_layer_holding_only_a_seal_ring_says_so(tmp_path):
    """A die whose pad layer holds only its seal ring (a frame: a shape with a hole) has no contact: one
    line naming the file and what its shapes were, exit 3, nothing written."""
    import gdstk

    lib = gdstk.Library(unit=1e-6, precision=1e-9)
    cell = lib.new_cell("TOP")
    outer, inner = gdstk.rectangle((0, 0), (500, 500)), gdstk.rectangle((5, 5), (495, 495))
    for p in gdstk.boolean(outer, inner, "not", layer=9, datatype=0):
        cell.add(p)
    path = tmp_path / "ring_only.gds"
    lib.write_gds(str(path))
    r = run("plan", str(path), "--layer", "9/0", "-o", str(tmp_path / "out"))
    one_line_error(r, 3, "ring_only.gds", "no contacts on layer 9/0", "a frame, not a contact")
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_a_signal_inside_a_class_being_built_at_start_is_still_one_line(monkeypatch, capsys):
    """The start's handler raises SystemExit(130); raised while Python builds a class (platform's
    uname_result, as click imports it), it arrives wrapped: "RuntimeError: Error calling __set_name__".
    The command still ends with its one line and exit 130, no traceback."""
    import importlib.abc
    import sys

    import stencilgen.__main__ as entry

    class Interrupted(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path, target=None):
            if name == "stencilgen.cli":
                try:
                    entry._interrupted_at_start(signal.SIGINT, None)
                except SystemExit as exc:
                    raise RuntimeError("Error calling __set_name__ on 'cached_property' instance") from exc
            return None

    monkeypatch.delitem(sys.modules, "stencilgen.cli", raising=False)
    monkeypatch.setattr(sys, "meta_path", [Interrupted(), *sys.meta_path])
    monkeypatch.setattr(signal, "signal", lambda *a: signal.SIG_DFL)  # (this process's handlers stay)
    with pytest.raises(SystemExit) as done:
        entry.main()
    assert done.value.code == 130 and done.value.__cause__ is None and done.value.__suppress_context__
    assert capsys.readouterr().err == "Error: interrupted\n"


@pytest.mark.parametrize("ext", ["gds", "oas"])
def test_an_empty_layout_file_says_it_is_empty(tmp_path, ext):
    """A layout file of 0 bytes (a copy cut off before it began) is named as empty, one line, exit 3."""
    path = tmp_path / f"die.{ext}"
    path.write_bytes(b"")
    r = run("plan", str(path), "--layer", "9/0", "-o", str(tmp_path / "out"))
    one_line_error(r, 3, str(path), "is empty (0 bytes)")
    assert not (tmp_path / "out").exists() or not os.listdir(tmp_path / "out")
