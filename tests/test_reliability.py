"""Unattended use: hostile names and sizes, interrupted runs, nothing outside the output folder."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import ezdxf
import gdstk
import numpy as np
import synth
from conftest import ROOT, SAMPLES
from test_cli import run


def test_hostile_cell_name_writes_only_inside_outdir(tmp_path):
    lib = gdstk.Library(unit=1e-6, precision=1e-9)
    cell = lib.new_cell("../../x")
    for p in synth.ring(side=2000, pitch=100.0, count=17).polygons():
        cell.add(gdstk.Polygon(p, 9, 0))
    src = tmp_path / "in" / "die;rm -rf ~.gds"
    src.parent.mkdir()
    lib.write_gds(str(src))
    out = tmp_path / "deep" / "out"
    r = run("plan", str(src), "--layer", "9/0", "-o", str(out), "-q")
    assert r.returncode in (0, 1), r.stderr
    written = sorted(os.listdir(out))
    assert written == [f"die_rm_-rf.{e}" for e in ("dxf", "gbr", "gds", "html", "json", "lyrdb")]
    assert sorted(os.listdir(tmp_path)) == ["deep", "in"]
    assert sorted(os.listdir(tmp_path / "deep")) == ["out"]
    text = (out / "die_rm_-rf.gbr").read_text()
    assert "../" not in text


def test_kilometre_coordinates_are_refused(tmp_path):
    path = str(tmp_path / "far.gds")
    synth.write_gds(path, [synth.rect((2e9, 0), (50, 50), 0), synth.rect((0, 0), (50, 50), 0)], noise=False)
    r = run("plan", path, "--layer", "9/0", "-o", str(tmp_path / "o"))
    assert r.returncode == 3 and "beyond any die or wafer" in r.stderr
    assert not (tmp_path / "o").exists()


def test_nan_coordinates_in_dxf(tmp_path):
    good = tmp_path / "g.dxf"
    synth.write_dxf(str(good), [synth.rect((0, 0), (40, 70), 0)], layer="P")
    doc = ezdxf.readfile(str(good))
    text = good.read_text()
    e = next(iter(doc.modelspace().query("LWPOLYLINE")))
    x = f"{e.get_points('xy')[0][0]:g}"
    bad = tmp_path / "nan.dxf"
    bad.write_text(text.replace(f" 10\n{x}\n", " 10\nnan\n", 1).replace(" 10\n-0.02\n", " 10\nnan\n", 1))
    r = run("inspect", str(bad), "--layer", "P")
    assert r.returncode == 3 and str(bad) in r.stderr and "Traceback" not in r.stderr


def test_sigterm_mid_run_leaves_no_fragment(tmp_path):
    # a layout big enough that the run is still writing when the signal comes
    die = synth.ring(side=30000, pitch=110.0, count=250, pad=(70.0, 100.0))
    polys = [p + np.array([30500.0 * i, 0.0]) for i in range(6) for p in die.polygons()]
    src = str(tmp_path / "big.gds")
    synth.write_gds(src, polys, noise=False)
    out = tmp_path / "out"
    for delay in (0.8, 1.6, 2.4):
        proc = subprocess.Popen(
            [sys.executable, "-m", "stencilgen", "plan", src, "--layer", "9/0", "-o", str(out), "-q"],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        time.sleep(delay)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=120)
        assert "Traceback" not in err
        if out.exists():
            names = os.listdir(out)
            assert not [n for n in names if n.endswith(".tmp")], names
            for n in names:  # whatever is there is whole
                data = (out / n).read_bytes()
                if n.endswith(".json"):
                    json.loads(data)
                elif n.endswith(".gbr"):
                    assert data.rstrip().endswith(b"M02*")
                elif n.endswith(".dxf"):
                    assert data.rstrip().endswith(b"EOF")


def test_reproducible_through_the_cli(tmp_path):
    src = os.path.join(SAMPLES, "rotated_mixed_pitch.gds")
    for name in ("a", "b"):
        r = run("plan", src, "--layer", "9/0", "-o", str(tmp_path / name), "-q")
        assert r.returncode in (0, 1)
    for n in os.listdir(tmp_path / "a"):
        assert (tmp_path / "a" / n).read_bytes() == (tmp_path / "b" / n).read_bytes(), n
