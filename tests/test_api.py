"""The library API a Python flow calls (stencilgen.read_layout, plan, check, Rules.load): the same numbers
and the same files as the command line, files that read back, and errors that name the file."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest
import synth
from conftest import ROOT, SAMPLES

import stencilgen
from stencilgen.errors import InputError, OutputError, StencilgenError, UsageError
from stencilgen.report import load_report

RING = os.path.join(SAMPLES, "ring_100um.gds")
DATE = "2026-01-02T03:04:05Z"
FILES = (".gbr", ".dxf", ".gds", ".html", ".json", ".lyrdb")


def cli(*args: str, cwd: str = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "stencilgen", *args], capture_output=True, text=True, cwd=cwd, timeout=300
    )


@pytest.fixture(scope="module")
def ring():
    return stencilgen.read_layout(RING, layer="9/0")


@pytest.fixture(scope="module")
def planned(ring):
    return stencilgen.plan(ring)


@pytest.fixture(scope="module")
def by_cli(tmp_path_factory):
    """The command line's files and report for the ring sample."""
    out = str(tmp_path_factory.mktemp("cli"))
    r = cli("plan", RING, "--layer", "9/0", "-o", out, "--creation-date", DATE, "--json")
    assert r.returncode == 0, r.stderr
    return out, load_report(r.stdout)


@pytest.fixture(scope="module")
def written(planned, tmp_path_factory):
    out = str(tmp_path_factory.mktemp("api"))
    return out, planned.write(out, formats=("gerber", "dxf", "gds", "html", "lyrdb"), creation_date=DATE)


def test_the_public_names_are_lazy():
    code = "import sys, stencilgen; print(sorted(m for m in ('numpy', 'shapely', 'gdstk') if m in sys.modules))"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert r.stdout.strip() == "[]", r.stderr
    assert {"read_layout", "plan", "check", "Rules", "PlannedStencil", "CheckedStencil"} <= set(stencilgen.__all__)
    assert stencilgen.plan is stencilgen.api.plan and stencilgen.Rules is stencilgen.rules.Rules
    # the errors the API raises, to catch by name (every one a StencilgenError)
    from stencilgen import errors

    for name in ("StencilgenError", "UsageError", "InputError", "EmptyStencil", "OutputError"):
        assert name in stencilgen.__all__ and getattr(stencilgen, name) is getattr(errors, name)
        assert issubclass(getattr(stencilgen, name), stencilgen.StencilgenError)
    with pytest.raises(stencilgen.InputError, match="no such file"):
        stencilgen.read_layout(os.path.join(ROOT, "no_such_die.gds"), layer="9/0")
    # (tab completion lists them before they are imported)
    r = subprocess.run(
        [sys.executable, "-c", "import stencilgen; print(dir(stencilgen))"], capture_output=True, text=True, cwd=ROOT
    )
    assert {"read_layout", "plan", "check", "Rules", "load_report"} <= set(eval(r.stdout)), r.stderr


def test_a_layout_prints_in_one_line(ring):
    wafer = stencilgen.read_layout(os.path.join(SAMPLES, "wafer_5x4.gds"), layer="9/0")
    assert repr(wafer) == (
        f"Layout({wafer.path!r}, gds, cell 'WAFER', layer '9/0': 1360 contacts, one element placed 20 times, "
        "grid 0.001 um)"
    )
    assert "\n" not in repr(ring) and f"{len(ring.contacts)} contacts" in repr(ring)


def test_numbers_are_the_command_lines(planned, by_cli):
    _, doc = by_cli
    s, want = planned.summary, doc["summary"]
    for key in ("contacts", "rows", "corners", "apertures", "strips", "oblique_strips", "errors", "warnings"):
        assert s[key] == want[key], key
    assert s["findings_by_code"] == want["findings_by_code"] and s["volume_ratio"] == want["volume_ratio"]
    assert s["rules"] == want["rules"] and s["exit_code"] == want["exit_code"] == planned.exit_code == 0
    assert len(planned.records) == len(doc["contacts"]) == 68
    for mine, theirs in zip(planned.records, doc["contacts"], strict=True):
        assert mine == theirs
    # arrays: the report's figures unrounded
    ratio = np.array([c["volume_ratio"] for c in doc["contacts"]])
    np.testing.assert_allclose(planned.volume_ratio, ratio, atol=5e-4)  # 3 decimals
    np.testing.assert_array_equal(planned.column("volume_ratio"), ratio)
    assert planned.column("solder_volume_band_um3").shape == (68, 2)
    assert list(planned.status) == [c["status"] for c in doc["contacts"]]
    assert list(planned.column("status")) == list(planned.status)
    # the findings: every one of the report's, errors and warnings by severity
    listed = [f for c in doc["contacts"] for f in c["findings"]]
    assert planned.findings == listed
    assert len(planned.errors) == s["errors"] and len(planned.warnings) == s["warnings"] > 0
    assert all(f["severity"] == "warning" for f in planned.warnings)
    assert len(planned.checked.volume) == len(planned.plan.apertures.area) == 68


def test_write_gives_the_command_lines_files(written, by_cli):
    out, paths = written
    cli_out, _ = by_cli
    assert sorted(paths) == ["dxf", "gds", "gerber", "html", "json", "lyrdb"]
    assert sorted(os.path.basename(p) for p in paths.values()) == sorted("ring_100um" + e for e in FILES)
    for ext in FILES:
        with (
            open(os.path.join(out, "ring_100um" + ext), "rb") as a,
            open(os.path.join(cli_out, "ring_100um" + ext), "rb") as b,
        ):
            assert a.read() == b.read(), ext


def test_written_files_read_back(written, planned):
    _, paths = written
    doc = load_report(paths["json"])
    assert doc["summary"]["outputs"]["gerber"] == "ring_100um.gbr"
    # the stencil's apertures, read as a layout of their own: one per contact, the same areas
    for key, layer in (("gds", "1/0"), ("dxf", "STENCIL")):
        apertures = stencilgen.read_layout(paths[key], layer=layer)
        assert len(apertures.contacts) == 68, key
        np.testing.assert_allclose(
            np.sort(apertures.contacts.area), np.sort(planned.plan.apertures.area), rtol=2e-3, err_msg=key
        )


@pytest.mark.parametrize("key", ["gerber", "dxf", "gds"])
def test_check_of_the_plans_own_stencil_finds_no_errors(ring, planned, written, key):
    _, paths = written
    checked = stencilgen.check(ring, paths[key])
    assert isinstance(checked, stencilgen.CheckedStencil)
    assert checked.errors == [] and checked.exit_code == 0 and checked.stray == []
    assert checked.summary["stencil"] == paths[key] and checked.summary["contacts"] == 68
    np.testing.assert_allclose(checked.volume_ratio, planned.volume_ratio, rtol=5e-3)
    assert checked.summary["findings_by_code"].keys() == planned.summary["findings_by_code"].keys()


def test_check_is_the_command_lines(ring, written, tmp_path):
    from stencilgen.report import dumps_report

    _, paths = written
    r = cli("check", RING, "--layer", "9/0", "--stencil", paths["gerber"], "--json")
    assert r.returncode == 0, r.stderr
    checked = stencilgen.check(ring, paths["gerber"])
    assert dumps_report(checked.report) == r.stdout
    files = checked.write(str(tmp_path))
    assert sorted(os.listdir(tmp_path)) == [
        "ring_100um.gbr.check.html",
        "ring_100um.gbr.check.json",
        "ring_100um.gbr.check.lyrdb",
    ]
    assert json.load(open(files["json"]))["summary"]["outputs"] == {
        "html": "ring_100um.gbr.check.html",
        "json": "ring_100um.gbr.check.json",
        "lyrdb": "ring_100um.gbr.check.lyrdb",
    }


def test_a_stray_aperture_is_an_error(ring, tmp_path):
    import gdstk

    lib = gdstk.Library(unit=1e-6, precision=1e-9)
    lib.new_cell("S").add(gdstk.rectangle((-30, -30), (30, 30), 1, 0))  # the die's centre: no contact
    path = str(tmp_path / "stray.gds")
    lib.write_gds(path)
    checked = stencilgen.check(ring, path)
    assert len(checked.stray) == 1 and checked.exit_code == 1
    assert [f["code"] for f in checked.errors].count("stray_aperture") == 1
    assert len(checked.errors) == checked.summary["errors"]


def test_rules_load_a_toml_file(ring, tmp_path):
    path = tmp_path / "rules.toml"
    path.write_text('thickness_um = "15um"\nstrategy = "offset"\n')
    rules = stencilgen.Rules.load(str(path))
    assert rules == stencilgen.Rules(thickness_um=15.0, strategy="offset")
    assert stencilgen.Rules.load(path, base=stencilgen.Rules(paste_type=7)).paste_type == 7
    planned = stencilgen.plan(ring, rules, strict=True)
    assert planned.summary["rules"]["thickness_um"] == 15.0 and planned.summary["rules"]["strategy"] == "offset"
    r = cli("plan", RING, "--layer", "9/0", "-o", str(tmp_path / "out"), "--rules", str(path), "--strict", "--json")
    doc = load_report(r.stdout)
    assert r.returncode == planned.exit_code == 1  # warnings, strict
    assert planned.summary["errors"] == doc["summary"]["errors"]
    assert planned.summary["warnings"] == doc["summary"]["warnings"]
    assert list(planned.records) == doc["contacts"]


def test_keep_in_as_a_layer_a_keepin_or_a_geometry(ring):
    by_layer = stencilgen.plan(ring, keep_in="39/0")
    outline = stencilgen.read_outline(RING, "39/0")
    by_shape = stencilgen.plan(ring, keep_in=outline)
    by_box = stencilgen.plan(ring, keep_in=stencilgen.KeepIn("39/0", bbox=True))
    assert by_layer.keep_in.equals(outline) and by_box.keep_in.equals(outline.envelope)
    for p in (by_shape, by_box):
        assert list(p.records) == list(by_layer.records)
    with pytest.raises(InputError, match=r"^keep_in 77/0: .*ring_100um\.gds: no shapes on layer 77/0"):
        stencilgen.plan(ring, keep_in="77/0")
    with pytest.raises(TypeError, match="keep_in"):
        stencilgen.plan(ring, keep_in=(0, 0, 10, 10))


@pytest.fixture(scope="module")
def wafer(tmp_path_factory):
    """Dies far enough apart that each is planned once and repeated."""
    import gdstk

    lib = gdstk.Library(unit=1e-6, precision=1e-9)
    die = lib.new_cell("DIE")
    for p in synth.ring(side=2000.0, pitch=100.0, count=17, pad=(60.0, 90.0)).polygons():
        die.add(gdstk.Polygon(p, 9, 0))
    lib.new_cell("WAFER").add(gdstk.Reference(die, (0, 0), columns=3, rows=2, spacing=(2600.0, 2600.0)))
    path = str(tmp_path_factory.mktemp("wafer") / "wafer.gds")
    lib.write_gds(path)
    return path


def test_a_wafer_is_planned_once_per_die(wafer, tmp_path):
    planned = stencilgen.plan(stencilgen.read_layout(wafer, layer="9/0"))
    assert planned.plan.element is not None and len(planned.plan.transforms) == 6
    assert planned.summary["contacts"] == 6 * 68
    # the keep-in as each die was planned: its contacts' extent (bare pads), in the die's coordinates
    keep = planned.summary["keep_in"]
    assert keep["source"].endswith("; each die held within its contacts' extent where there is room")
    pads = np.vstack(synth.ring(side=2000.0, pitch=100.0, count=17, pad=(60.0, 90.0)).polygons())
    np.testing.assert_allclose(keep["die_held_within_um"], [*pads.min(axis=0), *pads.max(axis=0)], atol=1e-3)
    # a wafer whose die cell draws its outline: each die within that, said beside the whole layout's box
    import gdstk

    sample = gdstk.read_gds(os.path.join(SAMPLES, "wafer_5x4.gds"))
    die_box = np.array(next(c for c in sample.cells if c.name != "WAFER").bounding_box()).ravel()
    five = stencilgen.plan(stencilgen.read_layout(os.path.join(SAMPLES, "wafer_5x4.gds"), layer="9/0"))
    assert five.summary["keep_in"]["source"].endswith("; each die within its own cell's extent")
    np.testing.assert_allclose(five.summary["keep_in"]["die_bbox_um"], die_box, atol=1e-3)
    paths = planned.write(str(tmp_path / "api"), formats=("gerber", "gds"), creation_date=DATE)
    r = cli(
        "plan", wafer, "--layer", "9/0", "-o", str(tmp_path / "cli"), "--formats", "gerber,gds", "--creation-date", DATE
    )
    assert r.returncode == 0, r.stderr
    for key, ext in (("gerber", ".gbr"), ("gds", ".gds"), ("json", ".json")):
        assert open(paths[key], "rb").read() == open(str(tmp_path / "cli" / ("wafer" + ext)), "rb").read(), key


def test_write_options(planned, tmp_path):
    paths = planned.write(str(tmp_path), formats="dxf", name="die 7", dxf_units="um", gds_layer="5/1")
    assert sorted(os.listdir(tmp_path)) == ["die_7.dxf", "die_7.json"] and set(paths) == {"dxf", "json"}
    paths = planned.write(str(tmp_path / "r"), formats=())
    assert list(paths) == ["json"]
    # the report's dates: the layout file's time unless told (the files are the same bytes each run)
    assert json.load(open(paths["json"]))["summary"]["created"] == planned.summary["created"]


def test_errors_are_stencilgen_errors_naming_the_file(ring, planned, tmp_path):
    missing = str(tmp_path / "nothere.gds")
    with pytest.raises(InputError, match=re.escape(missing) + ": no such file"):
        stencilgen.read_layout(missing, layer="9/0")
    with pytest.raises(UsageError, match=r"ring_100um\.gds: choose the pad layer"):
        stencilgen.read_layout(RING)
    bad = tmp_path / "bad.toml"
    bad.write_text("thickness_um = [1\n")
    with pytest.raises(InputError, match=re.escape(str(bad)) + ": not valid TOML"):
        stencilgen.Rules.load(bad)
    bad.write_text("thicknes_um = 15\n")
    with pytest.raises(InputError, match=re.escape(str(bad)) + ": thicknes_um: unknown key"):
        stencilgen.Rules.load(str(bad))
    with pytest.raises(InputError, match="no such rules file"):
        stencilgen.Rules.load(str(tmp_path / "none.toml"))
    with pytest.raises(InputError, match=re.escape(str(tmp_path / "s.gbr")) + ": no such file"):
        stencilgen.check(ring, str(tmp_path / "s.gbr"))
    (tmp_path / "busy").write_text("a file where the folder should be")
    with pytest.raises(OutputError, match="busy"):
        planned.write(str(tmp_path / "busy"))
    with pytest.raises(UsageError, match="formats: unknown format 'pdf'"):
        planned.write(str(tmp_path / "out"), formats=("gerber", "pdf"))
    with pytest.raises(UsageError, match="creation-date"):
        planned.write(str(tmp_path / "out"), creation_date="yesterday")
    assert not os.path.exists(tmp_path / "out")
    with pytest.raises(TypeError, match=r"Rules\.load"):
        stencilgen.plan(ring, rules="rules.toml")  # type: ignore[arg-type]
    for exc in (InputError, OutputError, UsageError):
        assert issubclass(exc, StencilgenError)


def test_rules_degenerate_must_match_the_reading(tmp_path):
    """`degenerate` acts when the layout is read: a layout read the other way is refused, not planned
    differently from the command line."""
    import gdstk

    lib = gdstk.Library(unit=1e-6, precision=1e-9)
    cell = lib.new_cell("TOP")
    for x in (0.0, 100.0, 200.0):
        cell.add(gdstk.rectangle((x, 0), (x + 60, 90), 9, 0))
    cell.add(gdstk.Polygon([(400, 0), (440, 40), (440, 0), (400, 40)], 9, 0))  # crosses itself
    path = str(tmp_path / "bow.gds")
    lib.write_gds(path)
    drop = stencilgen.Rules(degenerate="drop")
    with pytest.raises(UsageError, match=r"repaired when the layout was read.*repair=False"):
        stencilgen.plan(stencilgen.read_layout(path, layer="9/0"), drop)
    assert len(stencilgen.plan(stencilgen.read_layout(path, layer="9/0", repair=False), drop).records) == 3
    with pytest.raises(UsageError, match="repair=True"):
        stencilgen.plan(stencilgen.read_layout(path, layer="9/0", repair=False))


def test_inspect_is_the_command_lines(ring):
    r = cli("inspect", RING, "--layer", "9/0", "--json")
    assert stencilgen.inspect(stencilgen.read_layout(RING, layer="9/0", list_layers=True)) == json.loads(r.stdout)
    assert stencilgen.inspect(ring)["contacts"] == 68


def readme_python() -> str:
    text = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()
    section = text.split("## Use from Python", 1)[1]
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    assert blocks, "README.md: no ```python block under 'Use from Python'"
    return blocks[0]


def test_the_readme_example_runs_as_written(tmp_path):
    """The README's example, run in a fresh folder holding the sample it names."""
    code = readme_python()
    for path in set(re.findall(r'"(sample_layouts/[^"]+)"', code)):
        os.makedirs(tmp_path / os.path.dirname(path), exist_ok=True)
        shutil.copy(os.path.join(ROOT, path), tmp_path / path)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip(), "the example prints what it found"
    assert os.listdir(tmp_path / "out")


def test_rules_built_in_code_are_checked_as_a_rules_files_are(ring):
    """A Rules built by its constructor is checked by plan and check (a zero foil, an unknown strategy
    or paste type planned silently, or failed deep inside the geometry); replace() reads a length with
    its unit and thickness "auto" as a rules file does, and names an unknown key's nearest known one."""
    from stencilgen import Rules

    for rules, message in (
        (Rules(thickness_um=0.0), "thickness_um: must be positive, got 0.0 um"),
        (Rules(thickness_um=-1.0), "thickness_um: must be positive, got -1.0 um"),
        (Rules(strategy="bogus"), "strategy: must be one of tip, offset, got 'bogus'"),
        (Rules(paste_type=42), "paste_type: must be one of 3, 4, 5, 6, 7, 8, got 42"),
    ):
        with pytest.raises(UsageError, match=re.escape(message)):
            stencilgen.plan(ring, rules)
    assert Rules().replace(thickness_um="15um").thickness_um == 15.0
    assert Rules().replace(web_min_um="0.04mm").web_min_um == pytest.approx(40.0)
    assert Rules().replace(thickness_um="auto").thickness_auto
    with pytest.raises(UsageError, match="thicknes_um: unknown key; did you mean thickness_um"):
        Rules().replace(thicknes_um=15)
    with pytest.raises(UsageError, match=r"thickness_um: must be a number in um, got \[1\]"):
        Rules().replace(thickness_um=[1])
    with pytest.raises(UsageError, match=re.escape("max_gap_pitches: must be a whole number, got 2.5")):
        Rules().replace(max_gap_pitches=2.5)


def test_what_is_not_a_layout_or_an_outline_is_named(ring, tmp_path):
    """A path where a layout is wanted, an outline that holds no area, a report that is none: each a
    clear error naming what is wrong, not one from deep inside."""
    import shapely

    with pytest.raises(TypeError, match=r"layout: a stencilgen layout \(stencilgen.read_layout"):
        stencilgen.plan(RING)
    with pytest.raises(TypeError, match="stencil: the path of a stencil file"):
        stencilgen.check(ring, ring)
    with pytest.raises(TypeError, match="progress: a function told one line per foil planned"):
        stencilgen.plan(ring, progress=1)
    for geometry, kind in ((shapely.Polygon(), "an empty geometry"), (shapely.Point(0, 0), "a Point with no area")):
        with pytest.raises(UsageError, match=f"keep_in: {kind} holds no aperture"):
            stencilgen.plan(ring, keep_in=geometry)
    # a bow tie is read as its repair (two triangles): planned, its contacts outside them keep_in errors
    bow = shapely.Polygon([(-2000, -2000), (2000, 2000), (2000, -2000), (-2000, 2000)])
    assert 0 < stencilgen.plan(ring, keep_in=bow).summary["findings_by_code"]["keep_in"] < 68
    with pytest.raises(InputError, match=re.escape("nowhere.json: cannot be read")):
        load_report(str(tmp_path / "nowhere.json"))
    page = tmp_path / "page.html"
    page.write_text("<html></html>")
    with pytest.raises(InputError, match=re.escape("page.html: not a JSON report of stencilgen")):
        load_report(str(page))
    with pytest.raises(InputError, match=re.escape("not a JSON report of stencilgen (no summary)")):
        load_report("{}")


def test_a_layout_built_in_memory_is_read_as_its_file(tmp_path):
    """gdstk's Library and Cell, KLayout's Layout and Cell, and anything with write_gds(path)
    (gdsfactory) are read as the GDS they write: the same contacts and plan as that file, outputs named
    after the cell, the keep-in from the object's other layers; the GDS lasts as long as the Layout."""
    import gc

    import gdstk
    import klayout.db as kdb

    lib = gdstk.Library()
    die = lib.new_cell("DIE_A")
    for i in range(12):
        die.add(gdstk.rectangle((i * 100.0, 0.0), (i * 100.0 + 60.0, 90.0), layer=9))
    die.add(gdstk.rectangle((-60.0, -60.0), (1220.0, 260.0), layer=39))  # the die's outline: the keep-in
    other = lib.new_cell("OTHER")  # a second top cell: the Library needs cell=, the Cell does not
    other.add(gdstk.rectangle((0.0, 0.0), (50.0, 50.0), layer=9))
    lib.write_gds(str(tmp_path / "file.gds"))
    from_file = stencilgen.plan(stencilgen.read_layout(str(tmp_path / "file.gds"), layer="9/0", cell="DIE_A"))

    class Component:  # (gdsfactory's: a name and write_gds)
        name = "DIE_A"

        def write_gds(self, path):
            lib.write_gds(path)

    kl = kdb.Layout()
    kl.read(str(tmp_path / "file.gds"))
    given = {
        "gdstk Library": (lib, "DIE_A"),
        "gdstk Cell": (die, None),
        "KLayout Layout": (kl, "DIE_A"),
        "KLayout Cell": (kl.cell("DIE_A"), None),
        "write_gds": (Component(), "DIE_A"),
    }
    for what, (obj, cell) in given.items():
        layout = stencilgen.read_layout(obj, layer="9/0", cell=cell)
        assert layout.cell == "DIE_A" and len(layout.contacts) == 12, what
        planned = stencilgen.plan(layout)
        np.testing.assert_allclose(planned.plan.apertures.area, from_file.plan.apertures.area, rtol=0, atol=1e-9)
        assert planned.summary["keep_in"]["bbox_um"] == from_file.summary["keep_in"]["bbox_um"], what
    with pytest.raises(UsageError, match="top cell") as two:
        stencilgen.read_layout(lib, layer="9/0")  # two top cells, as for the file
    # (named as the script knows it, not by the file written for it)
    assert str(two.value).startswith("the Library 'library' given: 2 top cells (DIE_A, OTHER)")
    with pytest.raises(InputError, match=r"^the Cell 'DIE_A' given: no shapes on layer 5/0"):
        stencilgen.read_layout(die, layer="5/0")
    # each cell chosen of one library is written under its own name: none replaces another's
    for cell in ("DIE_A", "OTHER"):
        chosen = stencilgen.plan(stencilgen.read_layout(lib, layer="9/0", cell=cell))
        assert os.path.basename(chosen.write(tmp_path / "both", formats=("gds",))["gds"]) == f"{cell}.gds"
    assert sorted(p for p in os.listdir(tmp_path / "both") if p.endswith(".gds")) == ["DIE_A.gds", "OTHER.gds"]
    paths = stencilgen.plan(stencilgen.read_layout(die, layer="9/0")).write(tmp_path / "out", formats=("gds",))
    assert os.path.basename(paths["gds"]) == "DIE_A.gds"
    # the GDS written for the object is removed with the Layout read from it
    layout = stencilgen.read_layout(die, layer="9/0")
    written = layout.path
    assert os.path.isfile(written) and not written.startswith(str(tmp_path))
    del layout
    gc.collect()
    assert not os.path.exists(os.path.dirname(written))
    # what is no layout: a TypeError saying what is; an object that cannot write itself: a UsageError
    with pytest.raises(TypeError, match="gdstk Library or Cell, a KLayout Layout or Cell"):
        stencilgen.read_layout(42, layer="9/0")

    class Broken:
        name = "BROKEN"

        def write_gds(self, path):
            raise RuntimeError("no cells")

    with pytest.raises(UsageError, match="BROKEN: the layout given could not be written to a GDS file: no cells"):
        stencilgen.read_layout(Broken(), layer="9/0")
    with pytest.raises(UsageError, match="lef applies to a DEF file"):
        stencilgen.read_layout(die, layer="9/0", lef=["pads.lef"])


def test_a_layer_given_as_gdsfactory_and_klayout_scripts_give_it():
    """(9, 0), [9, 0] and 9 read the layer "9/0" reads; what is no layer is a TypeError saying what is."""
    ring = os.path.join(SAMPLES, "ring_100um.gds")
    want = stencilgen.read_layout(ring, layer="9/0").contacts.center
    import klayout.db as kdb

    for layer in ((9, 0), [9, 0], 9, kdb.LayerInfo(9, 0)):
        assert np.array_equal(stencilgen.read_layout(ring, layer=layer).contacts.center, want), layer
    # a keep-in layer likewise: (39, 0) and a LayerInfo are the outline on 39/0
    layout = stencilgen.read_layout(ring, layer=(9, 0))
    for keep in ((39, 0), kdb.LayerInfo(39, 0)):
        assert stencilgen.plan(layout, keep_in=keep).summary["keep_in"]["source"] == "outline on layer 39/0"
    for bad in ((9, 0, 1), 9.5, ("a", 1), True):
        with pytest.raises(TypeError, match=r'layer: "9/0", \(9, 0\) or 9 for a GDS/OASIS layer'):
            stencilgen.read_layout(ring, layer=bad)


def test_rules_built_with_text_read_it_as_a_rules_file_does():
    """Rules(thickness_um="auto") is the foil choice and Rules(thickness_um="15um") 15 um, as a rules file
    and Rules.replace read them; text that is no length is refused, naming the key."""
    from stencilgen.api import _rules

    auto = _rules(stencilgen.Rules(thickness_um="auto"))
    assert auto.thickness_auto and auto == stencilgen.Rules().replace(thickness_um="auto")
    assert _rules(stencilgen.Rules(thickness_um="15um", web_min_um="0.04mm")) == stencilgen.Rules(
        thickness_um=15.0, web_min_um=40.0
    )
    with pytest.raises(UsageError, match="thickness_um: not a length: 'thick'"):
        stencilgen.plan(
            stencilgen.read_layout(os.path.join(SAMPLES, "ring_100um.gds"), layer="9/0"),
            stencilgen.Rules(thickness_um="thick"),
        )
    # a rule misspelt is named with the nearest, as a rules file's is; the rules still copy and pickle
    with pytest.raises(TypeError, match=r"^Rules: unknown rule 'thicknes_um'; did you mean thickness_um\?"):
        stencilgen.Rules(thicknes_um=15.0)
    with pytest.raises(TypeError, match=r"^Rules: unknown rule 'zzz' \(`stencilgen rules` lists the known ones\)$"):
        stencilgen.Rules(zzz=1)
    import copy
    import pickle

    r = stencilgen.Rules(thickness_um=15.0)
    assert pickle.loads(pickle.dumps(r)) == r == copy.deepcopy(r) and r.replace(thickness_um=12.0).thickness_um == 12


def test_a_library_read_from_a_file_klayout_wrote_is_named_after_its_cell(tmp_path):
    """A file KLayout wrote holds its context cell beside the top cell: a gdstk Library read from it is
    written under the top cell's name, and gdstk's own words on writing it stay off stderr."""
    import gdstk

    ring = os.path.join(SAMPLES, "ring_100um.gds")
    lib = gdstk.read_gds(ring)
    lib.new_cell("$$$CONTEXT_INFO$$$")
    tops = [c.name for c in lib.top_level()]
    assert "$$$CONTEXT_INFO$$$" in tops and len(tops) == 2
    layout = stencilgen.read_layout(lib, layer="9/0")
    assert os.path.basename(layout.path) == f"{layout.cell}.gds" and layout.cell != "$$$CONTEXT_INFO$$$"
