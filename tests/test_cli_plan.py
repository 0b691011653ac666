"""`stencilgen plan` and `stencilgen rules`: exit codes, outputs, rules files."""

from __future__ import annotations

import json
import os
import tomllib

import pytest
import synth
from conftest import SAMPLES
from test_cli import run

from stencilgen.report import load_report

RING = os.path.join(SAMPLES, "ring_100um.gds")


def test_plan_writes_all_outputs(tmp_path):
    r = run("plan", RING, "--layer", "9/0", "-o", str(tmp_path))
    assert r.returncode == 0, r.stderr
    assert sorted(os.listdir(tmp_path)) == [f"ring_100um.{e}" for e in ("dxf", "gbr", "gds", "html", "json", "lyrdb")]
    assert "68 contacts" in r.stderr and "wrote" in r.stderr
    assert r.stdout == ""


def test_plan_json_on_stdout_is_the_report(tmp_path):
    r = run("plan", RING, "--layer", "9/0", "-o", str(tmp_path), "--json", "--formats", "gerber")
    assert r.returncode == 0
    doc = load_report(r.stdout)
    assert doc == load_report(tmp_path / "ring_100um.json")
    assert sorted(os.listdir(tmp_path)) == ["ring_100um.gbr", "ring_100um.json"]
    rec = doc["contacts"][0]
    for key in (
        "id",
        "x_um",
        "y_um",
        "row",
        "d_um",
        "aperture_area_um2",
        "solder_volume_um3",
        "volume_limit_um3",
        "volume_ratio",
        "cap_height_um",
        "area_ratio",
        "status",
        "findings",
    ):
        assert key in rec
    s = doc["summary"]
    for key in ("contacts", "rows", "apertures", "errors", "warnings", "rules", "units"):
        assert key in s


def test_strict_turns_warnings_into_failure(tmp_path):
    r = run("plan", RING, "--layer", "9/0", "-o", str(tmp_path), "-q")
    assert r.returncode == 0 and r.stderr == ""
    doc = load_report(tmp_path / "ring_100um.json")
    assert doc["summary"]["errors"] == 0 and doc["summary"]["warnings"] > 0
    r = run("plan", RING, "--layer", "9/0", "-o", str(tmp_path), "--strict", "-q")
    assert r.returncode == 1


def test_rule_errors_exit_1(tmp_path):
    # a contact too small for a printable aperture within its volume limit: an error, exit 1, files written
    path = str(tmp_path / "tiny.gds")
    synth.write_gds(path, [synth.rect((0, 0), (8, 8), 0), synth.rect((500, 0), (60, 60), 0)], noise=False)
    r = run("plan", path, "-o", str(tmp_path / "out"))
    assert r.returncode == 1
    doc = load_report(tmp_path / "out" / "tiny.json")
    assert doc["summary"]["errors"] >= 1
    assert any(f["code"] == "unprintable" for c in doc["contacts"] for f in c["findings"])
    tiny = next(c for c in doc["contacts"] if c["d_um"] == 8.0)
    assert tiny["status"] == "error" and tiny["aperture"] == "none"


def test_options_change_rules(tmp_path):
    r = run(
        "plan",
        RING,
        "--layer",
        "9/0",
        "-o",
        str(tmp_path),
        "--thickness",
        "0.015mm",
        "--strategy",
        "offset",
        "--paste-type",
        "7",
        "--volume-target",
        "0.6",
        "--json",
        "-q",
    )
    rules = json.loads(r.stdout)["summary"]["rules"]
    assert rules["thickness_um"] == pytest.approx(15.0)
    assert rules["strategy"] == "offset" and rules["paste_type"] == 7 and rules["volume_target"] == 0.6


def test_rules_command_prints_loadable_defaults(tmp_path):
    r = run("rules")
    assert r.returncode == 0
    data = tomllib.loads(r.stdout)
    assert data["thickness_um"] == 20.0 and data["volume_target"] == 0.8 and data["strategy"] == "tip"
    assert r.stdout.count("# ") > 20  # commented
    path = tmp_path / "rules.toml"
    path.write_text(r.stdout.replace("thickness_um = 20.0", 'thickness_um = "18um"'))
    r2 = run("plan", RING, "--layer", "9/0", "-o", str(tmp_path / "o"), "--rules", str(path), "--json", "-q")
    assert json.loads(r2.stdout)["summary"]["rules"]["thickness_um"] == 18.0


@pytest.mark.parametrize(
    "text, message",
    [
        ("thicknes_um = 20", "thicknes_um: unknown key"),
        ('thickness_um = "thick"', "thickness_um: not a length"),
        ("thickness_um = -5", "thickness_um: must be positive"),
        ("volume_target = 1.5", "volume_target: must be at most 1"),
        ('strategy = "zigzag"', "strategy: must be one of tip, offset"),
        ("paste_type = 2", "paste_type: must be one of"),
        ("thickness_um = [", "not valid TOML"),
    ],
)
def test_bad_rules_file_is_one_line_naming_the_key(tmp_path, text, message):
    path = tmp_path / "bad.toml"
    path.write_text(text + "\n")
    r = run("plan", RING, "--layer", "9/0", "-o", str(tmp_path / "o"), "--rules", str(path))
    assert r.returncode == 3
    assert message in r.stderr and str(path) in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr
    assert not os.path.exists(tmp_path / "o")


@pytest.mark.parametrize(
    "args, code, message",
    [
        (["--thickness", "-3um"], 2, "Error: --thickness: must be positive"),
        (["--formats", "gerber,png"], 2, "unknown format 'png'"),
        (["--formats", " , "], 2, "--formats: name at least one of"),
        (["--creation-date", "yesterday"], 2, "--creation-date"),
        (["--gds-layer", "a/b"], 2, "LAYER/DATATYPE"),
    ],
)
def test_bad_options(tmp_path, args, code, message):
    r = run("plan", RING, "--layer", "9/0", "-o", str(tmp_path / "o"), *args)
    assert r.returncode == code
    assert message in r.stderr and "Traceback" not in r.stderr


def test_unwritable_output_folder(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    r = run("plan", RING, "--layer", "9/0", "-o", str(blocker / "sub"))
    assert r.returncode == 4 and "cannot be the output folder" in r.stderr and "is a file, not a folder" in r.stderr


def test_a_folder_in_the_way_writes_nothing(tmp_path):
    out = tmp_path / "o"
    (out / "ring_100um.gds").mkdir(parents=True)
    r = run("plan", RING, "--layer", "9/0", "-o", str(out))
    assert r.returncode == 4 and "a folder is in the way" in r.stderr
    assert sorted(os.listdir(out)) == ["ring_100um.gds"]


def test_implausible_thickness_is_refused(tmp_path):
    r = run("plan", RING, "--layer", "9/0", "-o", str(tmp_path / "o"), "--thickness", "15mm")
    assert r.returncode == 2 and "Error: --thickness: 15000 um is no stencil foil" in r.stderr
    assert not (tmp_path / "o").exists()


def test_bad_creation_date_leaves_no_folder(tmp_path):
    r = run("plan", RING, "--layer", "9/0", "-o", str(tmp_path / "o"), "--creation-date", "yesterday")
    assert r.returncode == 2 and not (tmp_path / "o").exists()


@pytest.mark.parametrize("args", [["plan", RING], ["plan", RING, "-o", "x", "--paste-type", "9"], ["bogus"]])
def test_click_usage_errors_are_one_line(args):
    r = run(*args)
    assert r.returncode == 2
    assert len(r.stderr.strip().splitlines()) == 1 and r.stderr.startswith("Error: ")
