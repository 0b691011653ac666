"""The command line: help and version, --json output, exit codes, one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import synth
from click.testing import CliRunner
from conftest import ROOT, SAMPLES

from stencilgen.cli import main
from stencilgen.report import load_report

RING = os.path.join(SAMPLES, "ring_100um.gds")


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "stencilgen", *args], capture_output=True, text=True, cwd=ROOT, timeout=120
    )


def test_version_and_help():
    r = run("--version")
    assert r.returncode == 0 and "0.1.0" in r.stdout
    r = run("--help")
    assert r.returncode == 0 and "Example" in r.stdout


def test_every_command_has_help_with_an_example():
    runner = CliRunner()
    for name in main.commands:
        result = runner.invoke(main, [name, "--help"])
        assert result.exit_code == 0, name
        assert "Example" in result.output, f"{name} --help has no example"


def test_version_imports_no_heavy_module():
    code = (
        "import sys; from stencilgen import cli; "
        "print(sorted(m for m in ('gdstk', 'ezdxf', 'shapely', 'scipy') if m in sys.modules))"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert r.stdout.strip() == "[]"


def test_inspect_json_is_one_document():
    r = run("inspect", RING, "--layer", "9/0", "--json")
    assert r.returncode == 0, r.stderr
    doc = load_report(r.stdout)
    assert doc["contacts"] == 68
    assert {"id", "direction_deg", "pitch_um", "contacts"} <= set(doc["rows"][0])
    assert isinstance(doc["corners"], list) and isinstance(doc["arrays"], list) and doc["isolated"] == 0
    assert r.stderr == ""


def test_inspect_text():
    r = run("inspect", RING, "--layer", "9/0")
    assert r.returncode == 0
    assert "contacts: 68" in r.stdout and "rows: 4" in r.stdout and "100 um pitch" in r.stdout


@pytest.mark.parametrize(
    "args, code, message",
    [
        (["inspect", "nope.gds", "--layer", "9/0"], 3, "nope.gds: no such file"),
        (["inspect", RING, "--layer", "76/20"], 3, "no shapes on layer 76/20"),
        (["inspect", RING, "--layer", "x/y"], 2, "--layer 'x/y'"),
        (["inspect", RING], 2, "choose the pad layer with --layer"),
        (["inspect", "README.md"], 3, "unknown extension"),
        (["inspect", RING, "--layer", "9/0", "--cell", "NOPE"], 3, "no cell named 'NOPE'"),
        (["inspect", RING, "--bogus"], 2, "No such option"),
    ],
)
def test_errors_are_one_line_with_exit_code(args, code, message):
    r = run(*args)
    assert r.returncode == code, r.stderr
    assert message in r.stderr
    assert "Traceback" not in r.stderr
    lines = [ln for ln in r.stderr.splitlines() if ln.startswith("Error")]
    assert len(lines) == 1
    assert r.stdout == ""


def test_json_errors_keep_stdout_empty(tmp_path):
    bad = tmp_path / "bad.gds"
    bad.write_bytes(b"\x00" * 100)
    r = run("inspect", str(bad), "--layer", "9/0", "--json")
    assert r.returncode == 3 and r.stdout == "" and str(bad) in r.stderr


def test_unitless_dxf_through_cli(tmp_path):
    path = str(tmp_path / "d.dxf")
    synth.write_dxf(path, [synth.rect((x, 0), (40, 70), 0) for x in (0, 100, 200)], layer="P", unit="um", insunits=0)
    r = run("inspect", path, "--layer", "P", "--json")
    assert r.returncode == 3 and "$INSUNITS is 0 (unitless); pass --units um|mm" in r.stderr
    r = run("inspect", path, "--layer", "P", "--units", "um", "--json")
    assert r.returncode == 0
    doc = load_report(r.stdout)
    assert doc["contacts"] == 3 and doc["rows"][0]["pitch_um"] == pytest.approx(100.0)
    # a header without $INSUNITS at all says so
    lines = open(path).read().split("\n")
    k = next(i for i, x in enumerate(lines) if x.strip() == "$INSUNITS")
    none = str(tmp_path / "none.dxf")
    open(none, "w").write("\n".join(lines[: k - 1] + lines[k + 3 :]))  # (its group code, name, 70, value)
    r = run("inspect", none, "--layer", "P")
    assert r.returncode == 3 and r.stderr.strip().endswith("has no $INSUNITS (unitless); pass --units um|mm"), r.stderr


def test_a_misspelt_rule_key_gets_a_suggestion_and_a_bad_value_its_unit(tmp_path):
    """A rules file with `web_min` is refused naming the key it is close to; a negative web is said
    with its unit (one line, exit 3, the file named)."""
    misspelt = tmp_path / "misspelt.toml"
    misspelt.write_text("web_min = 30\n")
    r = run("rules", "--rules", str(misspelt))
    assert r.returncode == 3
    assert (
        r.stderr.strip()
        == f"Error: {misspelt}: web_min: unknown key; did you mean web_min_um? `stencilgen rules` lists the known ones"
    )
    negative = tmp_path / "negative.toml"
    negative.write_text("web_min_um = -5\n")
    r = run("rules", "--rules", str(negative))
    assert r.returncode == 3
    assert r.stderr.strip() == f"Error: {negative}: web_min_um: must be zero or more, got -5.0 um"


def test_an_interrupt_wrapped_by_python_is_still_an_interrupt():
    """Ctrl-C while a class is being built (numpy's, during a late import) reaches the command wrapped
    in a RuntimeError by Python 3.11 (__set_name__): exit 130 and the interrupted line, not an internal
    error."""
    script = (
        "from stencilgen.cli import handle_errors\n"
        "class Slow:\n"
        "    def __set_name__(self, owner, name):\n"
        "        raise KeyboardInterrupt\n"
        "@handle_errors\n"
        "def job():\n"
        "    try:\n"
        "        type('T', (), {'x': Slow()})\n"
        "    except KeyboardInterrupt as exc:\n"  # (3.12 adds a note instead of wrapping: wrap it as 3.11 does)
        "        raise RuntimeError('Error calling __set_name__') from exc\n"
        "job()\n"
    )
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert r.returncode == 130 and r.stderr.strip() == "Error: interrupted", (r.returncode, r.stderr)
    # a command names the file it reads, as every error does
    named = "from stencilgen.cli import handle_errors\n@handle_errors\ndef plan(file):\n    raise KeyboardInterrupt\n"
    r = subprocess.run(
        [sys.executable, "-c", named + "plan(file='die.gds')"], capture_output=True, text=True, timeout=60
    )
    assert r.returncode == 130 and r.stderr.strip() == "Error: die.gds: interrupted", (r.returncode, r.stderr)


@pytest.mark.parametrize(
    ("option", "value", "named"),
    [("--thickness", "0", "--thickness"), ("--volume-target", "3", "--volume-target")],
)
def test_a_bad_rule_option_is_named_as_the_option_given(tmp_path, option, value, named):
    """An option's value a rule refuses: one line naming the option as the user typed it (not the
    rules file's key), exit 2, nothing written."""
    out = tmp_path / "o"
    r = run("plan", "sample_layouts/ring_100um.gds", "--layer", "9/0", "-o", str(out), option, value)
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"Error: {named}: "), lines
    assert not out.exists() or not any(out.iterdir())


def test_the_summary_says_what_limits_each_contact_below_volume_min(tmp_path):
    """The console's worst contacts: each one below volume_min says what limits it (rule 6: the rule
    to relax), as its finding in the report does."""
    r = run("plan", "sample_layouts/ring_100um.gds", "--layer", "9/0", "-o", str(tmp_path / "o"))
    assert r.returncode == 0, r.stderr
    lines = (r.stdout + r.stderr).splitlines()  # (the worst contacts go to stderr)
    short = [line for line in lines if "under_volume" in line and line.lstrip().startswith("contact")]
    assert short and all("under_volume (limited by keep_in)" in line for line in short), short
    # each gives its volume nominal and at the bottom of the transfer band, where under_volume is judged;
    # the contacts not shown are counted
    doc = json.loads((tmp_path / "o" / "ring_100um.json").read_text())
    fields, rows = doc["contacts"]["fields"], doc["contacts"]["rows"]
    records = {r[0]: dict(zip(fields, r, strict=True)) for r in rows}
    shown = [line for line in lines if line.startswith("    contact ")]
    assert len(shown) == 5
    for line in shown:
        rec = records[int(line.split()[1])]
        low = rec["solder_volume_band_um3"][0] / rec["volume_limit_um3"]
        said = f"volume {rec['volume_ratio']:.2f} of pi*d^3/6 ({low:.2f} at the bottom of the transfer band); "
        assert said in line, line
    not_ok = sum(1 for r in records.values() if r["status"] != "ok")
    assert f"    ... and {not_ok - 5} more contacts with findings (the JSON and HTML reports list them)" in lines


def test_the_summary_points_to_the_foil_where_its_ratios_fail(tmp_path):
    """Where apertures fail the area or aspect ratio (a property of the foil as much as of the aperture),
    `plan`'s summary says so and names `--thickness auto`; with `--thickness auto` (the foil chosen) it
    does not, nor where no ratio fails."""
    stag = os.path.join(SAMPLES, "staggered_rows.gds")
    runner = CliRunner()
    r = runner.invoke(main, ["plan", stag, "--layer", "9/0", "-o", str(tmp_path / "a")])
    hint = [ln for ln in r.output.splitlines() if ln.strip().startswith("hint:")]
    assert hint == [
        "  hint: area_ratio and aspect_ratio depend on the foil (20 um): --thickness auto plans at each stocked "
        "foil and keeps the best"
    ], r.output
    r = runner.invoke(main, ["plan", stag, "--layer", "9/0", "--thickness", "auto", "-o", str(tmp_path / "b")])
    assert "hint:" not in r.output
    array = os.path.join(SAMPLES, "area_array.gds")
    r = runner.invoke(main, ["plan", array, "--layer", "9/0", "-o", str(tmp_path / "c")])
    assert r.exit_code == 0 and "hint:" not in r.output
    ring = os.path.join(SAMPLES, "ring_100um.gds")
    r = runner.invoke(main, ["plan", ring, "--layer", "9/0", "--formats", "json", "-o", str(tmp_path / "d")])
    hint = "  hint: aspect_ratio depends on the foil (20 um): --thickness auto plans at each stocked foil and keeps"
    hint += " the best"
    assert hint in r.output.splitlines(), r.output


def test_thickness_auto_says_each_foil_as_it_is_planned(tmp_path):
    """--thickness auto plans at every stocked foil: a line on stderr as each is done (a long run is not
    silent); none with -q."""
    runner = CliRunner()
    array = os.path.join(SAMPLES, "area_array.gds")
    args = ["plan", array, "--layer", "9/0", "--thickness", "auto", "--formats", "json"]
    r = runner.invoke(main, [*args, "-o", str(tmp_path / "a")])
    foils = [line for line in r.output.splitlines() if line.startswith("  foil ") and " of 9): " in line]
    assert len(foils) == 9 and foils[0] == "  foil 10 um (1 of 9): 0 errors, 36 warnings", r.output
    # the table: each foil's errors, warnings and under_volume (the trade), and how the foil was kept
    doc = json.loads((tmp_path / "a" / "area_array.json").read_text())
    table = doc["summary"]["foil"]["table"]
    line = [ln for ln in r.output.splitlines() if ln.startswith("  foil: ")]
    assert len(line) == 1 and "kept (the fewest errors, then warnings, then the thinner) of 10 um (" in line[0]
    for row in table:
        said = f"{row['thickness_um']:g} um ({row['errors']} E, {row['warnings']} W, {row['under_volume']} U)"
        assert said in line[0], line
    assert any(row["under_volume"] for row in table)
    # no step stencil proposed for the bump array alone: the summary says the search found none
    assert doc["summary"]["foil"]["step"] is None
    assert any(ln.startswith("  step stencil: none would do better than the one foil") for ln in r.output.splitlines())
    r = runner.invoke(main, [*args, "-q", "-o", str(tmp_path / "b")])
    assert r.exit_code == 0 and "of 9)" not in r.output
    # a foil with no more errors that leaves fewer contacts below volume_min than the one kept (which has
    # fewer warnings in all) is named, with how to plan at it; none where the one kept leaves the fewest
    from stencilgen.report import load_report, plan_text

    doc = load_report(str(tmp_path / "a" / "area_array.json"))
    foil = doc["summary"]["foil"]
    for row in foil["table"]:
        row["errors"], row["under_volume"] = 0, (0 if row["thickness_um"] == foil["chosen_um"] else 3)
    assert "  hint: " not in "".join(ln for ln in plan_text(doc).splitlines() if "volume_min" in ln)
    for row in foil["table"]:
        row["under_volume"] = {foil["chosen_um"]: 7, 25.0: 1}.get(row["thickness_um"], 4)
    hint = [ln for ln in plan_text(doc).splitlines() if ln.startswith("  hint: 25 um leaves 1 contacts")]
    assert len(hint) == 1 and f"({foil['chosen_um']:g} um: 7)" in hint[0] and "--thickness 25um" in hint[0], hint


def test_the_summary_names_the_keep_in(tmp_path):
    """Rule 8: `plan`'s summary names the keep-in used; a layout of bare pads, which has none, says its
    apertures are held within the contacts' extent and how to free them (a tip never off the die silently).
    The HTML's Layout card names it, with its box."""
    runner = CliRunner()
    ring = os.path.join(SAMPLES, "ring_100um.gds")
    r = runner.invoke(main, ["plan", ring, "--layer", "9/0", "--formats", "html", "-o", str(tmp_path / "a")])
    assert "  keep-in: extent of the cell on all layers" in r.output.splitlines(), r.output
    html = (tmp_path / "a" / "ring_100um.html").read_text()
    assert "keep-in</th><td>extent of the cell on all layers (-1000, -1000) to (1000, 1000) um" in html
    bare = str(tmp_path / "bare.gds")  # (nothing drawn beyond its contacts)
    synth.write_gds(bare, synth.ring(side=1000.0, pitch=100.0, count=8, pad=(60.0, 80.0)).polygons(), noise=False)
    r = runner.invoke(main, ["plan", bare, "--layer", "9/0", "--formats", "html", "-o", str(tmp_path / "b")])
    line = [ln for ln in r.output.splitlines() if ln.startswith("  keep-in:")]
    assert line == [
        "  keep-in: none (nothing drawn beyond the contacts): the apertures stay within the contacts' extent where "
        "there is room; --keep-in none lets strips reach past it, --keep-in LAYER names the die's outline"
    ], r.output
    # (what the hold costs: tips turned inward beside each other, contacts below volume_min; what frees them)
    hint = [ln for ln in r.output.splitlines() if ln.startswith("  hint: the contacts' extent turns tips inward")]
    assert len(hint) == 1 and "--keep-in none gives them room outside" in hint[0], r.output
    r = runner.invoke(
        main, ["plan", bare, "--layer", "9/0", "--formats", "json", "-o", str(tmp_path / "c"), "--keep-in", "none"]
    )
    assert "hint: the contacts' extent" not in r.output and "  keep-in: none" in r.output.splitlines(), r.output
    assert (
        "keep-in</th><td>none (nothing drawn beyond the contacts); held within ("
        in (tmp_path / "b" / "bare.html").read_text()
    )


def test_the_summary_says_which_corners_run_straight(tmp_path):
    """A ring at 50 um pitch (32 um pads): at every common oblique direction its corners' strips would be
    narrower than min_aperture_um, so they run straight across their rows (rule 11 before rule 5); the
    summary counts those corners and says why. The 100 um ring's corners stay oblique."""
    path = str(tmp_path / "fine.gds")
    synth.write_gds(path, synth.ring(side=1000.0, pitch=50.0, count=16, pad=(32.0, 50.0)).polygons(), noise=False)
    runner = CliRunner()
    r = runner.invoke(main, ["plan", path, "--layer", "9/0", "--formats", "json", "-o", str(tmp_path / "a")])
    summary = load_report(tmp_path / "a" / "fine.json")["summary"]
    assert summary["corners"] == summary["straight_corners"] == 4 and summary["oblique_strips"] == 0
    assert (
        "  corners: 4 of 4 run their strips straight across their rows: no common oblique direction left them "
        "printable and within the hard rules (rule 11 before rule 5)"
    ) in r.output.splitlines(), r.output
    ring = os.path.join(SAMPLES, "ring_100um.gds")
    r = runner.invoke(main, ["plan", ring, "--layer", "9/0", "--formats", "json", "-o", str(tmp_path / "b")])
    summary = load_report(tmp_path / "b" / "ring_100um.json")["summary"]
    assert summary["straight_corners"] == 0 and summary["oblique_strips"] == 8
    assert "  corners:" not in r.output


def test_inspect_gives_row_angles_on_their_circle():
    """A row whose outward normal lies a hair below 0 deg (a real die's rows fitted through centres not
    quite in line) reads 0 deg, not the 360 that six significant digits of 359.9998 print; the JSON keeps
    the angle as measured."""
    from stencilgen.report import _deg

    assert [_deg(359.9998, 360), _deg(-0.004, 360), _deg(179.996, 180), _deg(89.954, 360)] == ["0", "0", "0", "89.95"]
    r = CliRunner().invoke(main, ["inspect", os.path.join(SAMPLES, "rotated_mixed_pitch.gds"), "--layer", "9/0"])
    rows = [ln for ln in r.output.splitlines() if ln.startswith("    row ")]
    assert rows and all(" outward 360 deg" not in ln for ln in rows)
    assert "    row 0: 21 contacts at 80 um pitch, direction 17.5 deg, outward 287.5 deg" in rows, rows


def test_a_wafer_summary_counts_every_contact_with_findings(tmp_path):
    """The console shows the worst contacts of a wafer's die; the count of those it does not show is the
    whole wafer's (the summary's status), not one die's; without files written it says how to get them."""
    wafer = os.path.join(SAMPLES, "wafer_5x4.gds")
    r = CliRunner().invoke(main, ["plan", wafer, "--layer", "9/0", "--formats", "gerber", "-o", str(tmp_path / "a")])
    status = json.loads((tmp_path / "a" / "wafer_5x4.json").read_text())["summary"]["status"]
    not_ok = status["warning"] + status["error"]
    assert not_ok > 1000
    line = f"    ... and {not_ok - 5} more contacts with findings (the JSON report lists them)"
    assert line in r.output.splitlines(), r.output
    gbr = str(tmp_path / "a" / "wafer_5x4.gbr")
    r = CliRunner().invoke(main, ["check", wafer, "--layer", "9/0", "--stencil", gbr])
    assert f"    ... and {not_ok - 5} more contacts with findings (--json or -o OUTDIR lists them)" in r.output


def test_a_repaired_shape_is_said_repaired():
    from stencilgen.report import _shape_lines

    notes = [
        {"reason": "self-intersecting shape, repaired (largest part kept)", "kept": True},
        {"reason": "3 overlapping, abutting, repeated or nested shapes merged", "kept": True},
        {"reason": "zero-area shape, left out", "kept": False},
    ]
    assert _shape_lines(notes) == [
        "  shapes: 1 left out (zero-area shape), 1 group of shapes merged into one contact each, 1 repaired "
        "(self-intersecting shape, repaired (largest part kept)); stencilgen inspect lists each"
    ]


def test_a_dxf_in_mm_read_as_um_asks_about_its_unit(tmp_path):
    """A DXF drawn in mm without $INSUNITS, read with --units um: its pads a thousand times too small.
    The warning asks whether the layer is the pad layer, and whether the unit is mm."""
    import ezdxf

    doc = ezdxf.readfile(os.path.join(SAMPLES, "die_mm_blocks.dxf"))
    doc.header["$INSUNITS"] = 0
    path = str(tmp_path / "unitless.dxf")
    doc.saveas(path)
    r = CliRunner().invoke(main, ["inspect", path, "--layer", "PADS", "--units", "um"])
    line = [ln for ln in r.output.splitlines() if "look like no pads" in ln]
    assert len(line) == 1 and line[0].endswith(
        "is PADS the pad opening layer? Or is the drawing's unit mm (its median contact 60 um across): --units mm?"
    ), r.output
    r = CliRunner().invoke(main, ["inspect", path, "--layer", "PADS", "--units", "mm"])
    assert "look like no pads" not in r.output


def test_a_pad_layer_of_shapes_over_a_millimetre_asks_whether_it_is_the_pad_layer(tmp_path):
    """The die outline named as the pad layer plans one 2 mm 'contact' with exit 0: the summary asks
    whether that is the pad layer; a DXF whose pads read a thousand times too large asks about its unit."""
    r = CliRunner().invoke(main, ["inspect", RING, "--layer", "39/0"])
    line = [ln for ln in r.output.splitlines() if "mm across" in ln]
    assert line == [
        f"warning: {RING}: 1 of 1 contact is over 1 mm across (the largest 2,000 um): pads rarely are; "
        "is 39/0 the pad opening layer?"
    ], r.output
    import ezdxf

    doc = ezdxf.readfile(os.path.join(SAMPLES, "die_mm_blocks.dxf"))
    doc.header["$INSUNITS"] = 0
    path = str(tmp_path / "unitless.dxf")
    doc.saveas(path)
    r = CliRunner().invoke(main, ["inspect", path, "--layer", "PADS", "--units", "m"])
    assert "is PADS the pad opening layer? Or is the drawing's unit smaller" in r.output, r.output
    r = CliRunner().invoke(main, ["inspect", RING, "--layer", "9/0"])
    assert "mm across" not in r.output


def test_the_pad_layer_is_no_keep_in(tmp_path):
    """--keep-in naming the pad layer itself (each pad an outline, every aperture outside its own):
    one line, exit 2, nothing written."""
    r = CliRunner().invoke(main, ["plan", RING, "--layer", "9/0", "--keep-in", "9/0", "-o", str(tmp_path / "o")])
    assert r.exit_code == 2
    assert r.output.strip().splitlines() == [
        "Error: --keep-in 9/0: that is the pad layer (each pad would be an outline); name the layer of the die's "
        "outline or seal ring, or leave --keep-in out (the extent drawn on all layers)"
    ], r.output
    assert not (tmp_path / "o").exists() or not any((tmp_path / "o").iterdir())
    # a DXF layer's name for a GDS: the error names --keep-in, not the pad layer's --layer
    r = CliRunner().invoke(main, ["plan", RING, "--layer", "9/0", "--keep-in", "PADS", "-o", str(tmp_path / "o")])
    assert r.exit_code == 2
    assert r.output.strip().splitlines() == [
        f"Error: --keep-in PADS: {RING}: a GDS/OASIS layer is LAYER/DATATYPE, e.g. 39/0, or one of auto, contacts, none"
    ], r.output
    assert not (tmp_path / "o").exists() or not any((tmp_path / "o").iterdir())
    # a misspelt word: the nearest one is named
    r = CliRunner().invoke(main, ["plan", RING, "--layer", "9/0", "--keep-in", "contact", "-o", str(tmp_path / "o")])
    assert r.exit_code == 2 and r.output.strip().endswith("e.g. 39/0; did you mean contacts?"), r.output
    # a layer of many shapes (the pads' metal) is taken as given, and the keep-in's source (the summary's
    # keep-in line) asks about it
    from stencilgen.api import _outline
    from stencilgen.readers import read_layout

    source = _outline(read_layout(RING, layer="9/0"), "134/0").source
    assert source == (
        "outline on layer 134/0 (68 separate shapes: is it the die's outline? --keep-in-bbox takes their box)"
    )
    assert _outline(read_layout(RING, layer="9/0"), "39/0").source == "outline on layer 39/0"


def test_the_summary_says_what_same_side_means_where_there_is_one(tmp_path):
    """same_side is the one code whose name does not say it all: the summary says what it means, and
    where its reason is, once, where there is one (the ring's 56) and not where there is none."""
    runner = CliRunner()
    ring = runner.invoke(
        main, ["plan", os.path.join(SAMPLES, "ring_100um.gds"), "--layer", "9/0", "-o", str(tmp_path / "a")]
    )
    said = [ln for ln in ring.output.splitlines() if ln.startswith("  same_side: ")]
    assert "same_side 56" in ring.output and len(said) == 1 and "limited_by" in said[0], ring.output
    # check of a stencil drawn elsewhere knows no reason: the meaning alone
    checked = runner.invoke(
        main,
        [
            "check",
            os.path.join(SAMPLES, "ring_100um.gds"),
            "--layer",
            "9/0",
            "--stencil",
            str(tmp_path / "a" / "ring_100um.gbr"),
        ],
    )
    said = [ln for ln in checked.output.splitlines() if ln.startswith("  same_side: ")]
    assert said == ["  same_side: a tip on its neighbour's side of the row (rule 4)"], checked.output
    array = runner.invoke(
        main, ["plan", os.path.join(SAMPLES, "area_array.gds"), "--layer", "9/0", "-o", str(tmp_path / "b")]
    )
    assert array.exit_code == 0 and "same_side" not in array.output
