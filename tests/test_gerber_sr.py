"""A wafer's Gerber as one die stepped and repeated (%SR%), and `--gerber-flat`: KLayout and gerbv must
draw the step-and-repeat file exactly as the flat one."""

from __future__ import annotations

import os
import subprocess

import numpy as np
import pytest
from conftest import SAMPLES
from test_cli import run

from stencilgen.rules import Rules
from stencilgen.run import Options, check_file, plan_file
from stencilgen.writers.gerber import regular_grid

WAFER = os.path.join(SAMPLES, "wafer_5x4.gds")


@pytest.fixture(scope="module")
def gerbers(tmp_path_factory):
    out = tmp_path_factory.mktemp("sr")
    opts = Options(layer="9/0", formats=("gerber",), creation_date="2024-01-02T03:04:05")
    plan_file(WAFER, str(out / "sr"), Rules(), opts)
    r = run("plan", WAFER, "--layer", "9/0", "-o", str(out / "flat"), "-q", "--formats", "gerber", "--gerber-flat")
    assert r.returncode == 0, r.stderr
    return str(out / "sr" / "wafer_5x4.gbr"), str(out / "flat" / "wafer_5x4.gbr")


def klayout_region(path: str):
    import klayout.db as db

    project = path + ".gbrx"
    with open(project, "w") as fh:
        fh.write(
            '<?xml version="1.0" encoding="utf-8"?>\n<pcb-project>\n <free-layer-mapping>true</free-layer-mapping>\n'
            " <layout-layers><layout-layer>1/0</layout-layer></layout-layers>\n"
            f" <free-files><free-file><filename>{os.path.basename(path)}</filename>"
            "<layout-layers><index>0</index></layout-layers></free-file></free-files>\n"
            " <dbu>0.001</dbu>\n <num-circle-points>64</num-circle-points>\n <merge-flag>false</merge-flag>\n"
            "</pcb-project>\n"
        )
    ly = db.Layout()
    ly.read(project)
    region = db.Region()
    region.insert(ly.top_cell().begin_shapes_rec(ly.layer(1, 0)))  # a copy: the layout goes with this call
    return region


def test_the_wafer_gerber_steps_and_repeats_one_die(gerbers):
    sr, flat = gerbers
    text = open(sr).read()
    assert text.count("%SRX5Y4I2.100000J2.100000*%") == 1 and text.count("%SR*%") == 1
    assert "%SR" not in open(flat).read()
    assert text.count("G36*") == 68 and open(flat).read().count("G36*") == 20 * 68
    assert os.path.getsize(sr) * 10 < os.path.getsize(flat)
    assert text.rstrip().endswith("%SR*%\nM02*")


def test_klayout_draws_the_step_and_repeat_as_the_flat_gerber(gerbers):
    a, b = (klayout_region(p) for p in gerbers)
    assert a.count() == b.count() == 20 * 68
    assert (a ^ b).is_empty() and a.area() == b.area() > 0


def test_gerbv_draws_the_step_and_repeat_as_the_flat_gerber(gerbers, gerbv, tmp_path):
    from PIL import Image

    env = {k: v for k, v in os.environ.items() if k != "DISPLAY"}
    pictures = []
    for k, path in enumerate(gerbers):
        png = str(tmp_path / f"{k}.png")
        r = subprocess.run(
            [gerbv, "-x", "png", "-D", "1000", "-B", "0", "-o", png, path], capture_output=True, text=True, env=env
        )
        bad = [ln for ln in r.stderr.splitlines() if ("CRITICAL" in ln or "WARNING" in ln) and "%T" not in ln]
        assert bad == []
        pictures.append(np.asarray(Image.open(png).convert("L")))
    a, b = (pic > 0 for pic in pictures)
    assert a.shape == b.shape and a.sum() > 1000
    # the same drawing: gerbv places each stepped copy in floating point, so a pixel cut by an edge may
    # fall the other way; no pixel differs away from an edge of the flat drawing
    differ = np.argwhere(a != b)
    assert len(differ) <= 0.002 * a.sum()
    pad = np.pad(b, 1, mode="edge")
    for y, x in differ.tolist():
        window = pad[y : y + 3, x : x + 3]
        assert window.any() and not window.all()


def test_check_reads_the_step_and_repeat(gerbers):
    a, b = (check_file(WAFER, p, None, Rules(), Options(layer="9/0")).report for p in gerbers)
    assert a["summary"]["stray_apertures"] == [] and a["summary"]["contacts"] == 20 * 68
    assert [c["findings"] for c in a["contacts"]] == [c["findings"] for c in b["contacts"]]
    assert [c["aperture_area_um2"] for c in a["contacts"]] == [c["aperture_area_um2"] for c in b["contacts"]]


def _shifts(xy):
    t = np.zeros((len(xy), 2, 3))
    t[:, 0, 0] = t[:, 1, 1] = 1.0
    t[:, :, 2] = xy
    return t


def test_only_a_full_regular_grid_of_plain_shifts_steps_and_repeats():
    grid = [(x * 2100.0 - 50.0, y * 1500.0) for y in range(3) for x in range(4)]
    sr = regular_grid(None, _shifts(grid))  # type: ignore[arg-type]
    assert sr is not None and (sr.nx, sr.ny, sr.step, sr.origin) == (4, 3, (2100.0, 1500.0), (-50.0, 0.0))
    assert regular_grid(None, _shifts(grid[:-1])) is None  # a die missing
    assert regular_grid(None, _shifts([(0.0, 0.0), (1000.0, 0.0), (2500.0, 0.0)])) is None  # uneven steps
    assert regular_grid(None, _shifts([(0.0, 0.0), (1000.0000001, 0.0)])) is None  # off the 1 nm grid
    assert regular_grid(None, _shifts([(0.0, 0.0)])) is None  # one die: nothing to repeat
    turned = _shifts(grid)
    turned[1, :, :2] = [[0.0, -1.0], [1.0, 0.0]]
    assert regular_grid(None, turned) is None
    row = regular_grid(None, _shifts([(0.0, 5.0), (700.0, 5.0)]))  # type: ignore[arg-type]
    assert row is not None and (row.nx, row.ny, row.step) == (2, 1, (700.0, 0.0))
