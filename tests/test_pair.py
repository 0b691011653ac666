"""stencilgen pair: two-region masses. A die and a substrate written as GDS by the tests, the placement
found, the volume split checked by hand against RULES.md, the alloy table's melt order and reflow window,
the outputs re-read by independent readers, the error paths and their exit codes."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys

import numpy as np
import pytest
import shapely
import synth
from hypothesis import given
from hypothesis import strategies as st

import stencilgen
from stencilgen.errors import InputError, UsageError
from stencilgen.pairing import pair
from stencilgen.placement import Placement, find_placement, match_points, parse_placement
from stencilgen.rules import load_rules, rules_toml

DIE_PAD = (60.0, 90.0)  # d = 60 um
SUB_PAD = (70.0, 100.0)  # d = 70 um: the mass's limit is the die contact's pi 60^3 / 6
TRUE = Placement(1234.5, -567.25, 90.0, True)
DATE = "2026-01-01T00:00:00Z"


def _die() -> synth.Die:
    # rows of 6 at 100 um; missing pads make the layout asymmetric (one placement matches all)
    return synth.ring(side=1400.0, pitch=100.0, count=6, pad=DIE_PAD, missing={0: [1], 2: [4]})


def _substrate(
    die: synth.Die, where: Placement, drop: int = 0, extra: int = 0, pad: tuple[float, float] = SUB_PAD
) -> list[np.ndarray]:
    """The die's contacts placed by `where`, as the substrate's pads (SUB_PAD, same orientation), less
    the first `drop` and with `extra` pads beside the ring."""
    polys = []
    t = np.radians(where.angle_deg)
    for c, a in zip(die.centers[drop:], die.angles[drop:], strict=True):
        p = where.apply(np.array([c]))[0]
        axis = (-a if where.mirror else a) + math.degrees(t)
        polys.append(synth.rect((p[0], p[1]), pad, axis))
    for k in range(extra):
        p = where.apply(np.array([[-200.0 + 150.0 * k, 0.0]]))[0]
        polys.append(synth.rect((p[0], p[1]), SUB_PAD, 0.0))
    return polys


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    base = tmp_path_factory.mktemp("pair")
    die = _die()
    synth.write_gds(str(base / "die.gds"), die.polygons(), (9, 0), noise=False)
    synth.write_gds(str(base / "sub.gds"), _substrate(die, TRUE), (5, 0), noise=False)
    synth.write_gds(str(base / "sub_short.gds"), _substrate(die, TRUE, drop=2, extra=1), (5, 0), noise=False)
    synth.write_gds(str(base / "sub_small.gds"), _substrate(die, TRUE, pad=(40.0, 60.0)), (5, 0), noise=False)
    return base


@pytest.fixture(scope="module")
def layouts(files):
    die = stencilgen.read_layout(str(files / "die.gds"), layer="9/0")
    sub = stencilgen.read_layout(str(files / "sub.gds"), layer="5/0")
    return die, sub


@pytest.fixture(scope="module")
def paired(layouts):
    return pair(*layouts, first_alloy="Pb95Sn5", second_alloy="Sn63Pb37")


@pytest.fixture(scope="module")
def written(paired, tmp_path_factory):
    out = tmp_path_factory.mktemp("out")
    return paired.write(out, creation_date=DATE), out


def cli(*args: str, cwd: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "stencilgen", *args], capture_output=True, text=True, cwd=cwd, timeout=300
    )


# ------------------------------------------------------------------------------------------ placement


@given(
    seed=st.integers(0, 2**32 - 1),
    mirror=st.booleans(),
    angle=st.sampled_from([0.0, 90.0, 180.0, 270.0]),
    dx=st.floats(-20000, 20000),
    dy=st.floats(-20000, 20000),
    drop=st.integers(0, 6),
    extra=st.integers(0, 4),
)
def test_placement_is_recovered_for_every_flip_turn_and_move(seed, mirror, angle, dx, dy, drop, extra):
    rng = np.random.default_rng(seed)
    grid = np.array([(x, y) for x in range(16) for y in range(16)], dtype=float) * 55.0
    first = grid[rng.choice(len(grid), 40, replace=False)] + rng.uniform(-3000, 3000, 2)
    true = Placement(dx, dy, angle, mirror)
    second = true.apply(first)[drop:]  # pads missing under the first `drop` contacts
    second = np.vstack([second, true.apply(grid[:extra] + 10000.0)])  # pads far from every contact
    found = find_placement(first, second, 10.0)
    assert found.matched == len(first) - drop
    assert (found.placement.mirror, found.placement.angle_deg) == (mirror, angle)
    assert abs(found.placement.dx_um - dx) < 1.0 and abs(found.placement.dy_um - dy) < 1.0


def test_placement_order_is_mirror_then_turn_then_move():
    p = Placement(10.0, 20.0, 90.0, True)
    # (1, 2) mirrored about x -> (1, -2), turned 90 deg -> (2, 1), moved -> (12, 21)
    assert np.allclose(p.apply(np.array([[1.0, 2.0]])), [[12.0, 21.0]])
    assert parse_placement("120um,-0.04mm,90,mirror") == Placement(120.0, -40.0, 90.0, True)
    assert parse_placement(" AUTO ") == "auto" and parse_placement("none") == "none"
    for bad in ("1,2", "1,2,3,flip", "a,b,c", "1,2,nan"):
        with pytest.raises(UsageError, match="--place"):
            parse_placement(bad)


def test_match_points_is_one_to_one_and_keeps_the_nearer():
    a = np.array([[0.0, 0.0], [3.0, 0.0], [100.0, 0.0]])
    b = np.array([[1.0, 0.0], [50.0, 0.0]])
    i, j = match_points(a, b, 5.0)
    assert i.tolist() == [0] and j.tolist() == [0]  # both 0 and 1 reach b[0]: the nearer keeps it


def test_the_die_is_found_on_its_substrate(paired, layouts):
    p = paired.summary["placement"]
    assert p["mode"] == "auto" and p["mirror"] is True and p["angle_deg"] == 90.0
    assert abs(p["dx_um"] - TRUE.dx_um) < 1.0 and abs(p["dy_um"] - TRUE.dy_um) < 1.0
    die, sub = layouts
    s = paired.summary
    assert s["masses"] == s["matched"] == len(die.contacts) == len(sub.contacts) == 22
    assert s["unmatched_first"] == s["unmatched_second"] == 0
    # every mass sits on its pad: the placed contact centre is the pad centre
    for m in paired.masses:
        placed = TRUE.apply(die.contacts.center[[m["first_id"]]])[0]
        assert np.hypot(*(placed - sub.contacts.center[m["second_id"]])) < 1e-3
        assert (m["x_um"], m["y_um"]) == pytest.approx(tuple(sub.contacts.center[m["second_id"]]), abs=1e-3)


# ------------------------------------------------------------------------------------------ volumes


def _mvf(density: float) -> float:
    """RULES.md: metal volume fraction from metal_weight_fraction 0.885 and a flux of 1.0 g/cm3."""
    return (0.885 / density) / (0.885 / density + 0.115 / 1.0)


def _aperture_areas(gds: str, contacts) -> dict[int, float]:
    """Area of the aperture (read by gdstk) that overlaps each contact most."""
    import gdstk

    lib = gdstk.read_gds(gds)
    polys = [shapely.Polygon(p.points) for p in lib.top_level()[0].get_polygons(layer=1, datatype=0)]
    out = {}
    for k in range(len(contacts)):
        pad = shapely.Polygon(contacts.polygons.polygon(k))
        best = max(polys, key=lambda q: q.intersection(pad).area)
        out[k] = best.area
    return out


def test_the_volume_split_by_hand(paired, written, layouts):
    """RULES.md: V = A t eta f (f from density and metal_weight_fraction); the mass's limit is
    pi d^3 / 6 of the smaller d; the layer takes what the bump leaves at the top of the band."""
    outputs, _ = written
    die, sub = layouts
    a1 = _aperture_areas(outputs["first_gds"], die.contacts)
    a2 = _aperture_areas(outputs["second_gds"], sub.contacts)
    f1, f2 = _mvf(11.0), _mvf(8.40)
    assert paired.summary["first_alloy"]["metal_volume_fraction"] == pytest.approx(f1, abs=1e-6)
    assert paired.summary["second_alloy"]["metal_volume_fraction"] == pytest.approx(f2, abs=1e-6)
    limit = math.pi * 60.0**3 / 6  # the die contact's d (60) is the smaller of 60 and 70
    for m in paired.masses:
        v1 = a1[m["first_id"]] * 20.0 * 0.85 * f1
        v2 = a2[m["second_id"]] * 20.0 * 0.85 * f2
        assert m["first_volume_um3"] == pytest.approx(v1, rel=5e-3)  # GDS arcs are chords
        assert m["second_volume_um3"] == pytest.approx(v2, rel=5e-3)
        assert m["volume_limit_um3"] == pytest.approx(limit, rel=1e-6)
        assert m["total_ratio"] == pytest.approx((m["first_volume_um3"] + m["second_volume_um3"]) / limit, abs=1e-3)
        top1, top2 = m["first_volume_band_um3"][1], m["second_volume_band_um3"][1]
        assert top1 == pytest.approx(m["first_volume_um3"] / 0.85, rel=1e-6)
        # the layer's share: the mass's limit less the bump at the top of its band
        assert m["second_allowance_um3"] == pytest.approx(min(limit - top1, math.pi * 70.0**3 / 6), rel=1e-5)
        assert top1 + top2 <= limit * (1 + 1e-6)
        assert m["second_volume_um3"] == pytest.approx(0.8 * m["second_allowance_um3"], rel=1e-3)  # its target
        # the standoff is the bump's cap height on its contact: V = pi h (3 a^2 + h^2) / 6
        a_sq = die.contacts.area[m["first_id"]] / math.pi
        h = m["standoff_um"]
        assert math.pi * h * (3 * a_sq + h * h) / 6 == pytest.approx(m["first_volume_um3"], rel=1e-4)
    assert "over_volume" not in paired.summary["findings_by_code"]


def test_a_bump_that_fills_the_mass_is_over_volume(layouts, files):
    """Pads smaller than the contacts (d 40 < 60): the mass's limit is pi 40^3 / 6, which the bump
    alone passes at the top of its band. The layer gets nothing (no printable aperture) and every mass
    is over_volume: errors, exit code 1."""
    die, _ = layouts
    small = stencilgen.read_layout(str(files / "sub_small.gds"), layer="5/0")
    p = pair(die, small, "Pb95Sn5", "Sn63Pb37")
    limit = math.pi * 40.0**3 / 6
    for m in p.masses:
        assert m["volume_limit_um3"] == pytest.approx(limit, rel=1e-6)
        assert m["second_allowance_um3"] == 0.0 and m["second_volume_um3"] == 0.0
        assert m["first_volume_band_um3"][1] > limit and m["status"] == "error"
        over = [f for f in m["findings"] if f["code"] == "over_volume" and f["region"] == "mass"]
        assert len(over) == 1 and over[0]["value"] == pytest.approx(m["first_volume_band_um3"][1], rel=1e-4)
        # the layer's strip gets no aperture because the mass allows it no volume, not for its width
        (none,) = [f for f in m["findings"] if f["code"] == "unprintable" and f["region"] == "second"]
        assert none["limited_by"] == "volume_limit" and none["message"].endswith(
            "limited by the volume limit at the top of the transfer band"
        )
    s = p.summary
    assert s["findings_by_code"]["over_volume"] == len(p.masses) == 22
    assert p.exit_code == 1
    # the console says which of the findings are a print's own (judged alone against its own contact)
    from stencilgen.pairing import pair_text

    lines = pair_text(p.report).splitlines()
    second = s["second"]
    if second["findings_by_code"]:
        said = [ln for ln in lines if ln.startswith("    of them the second print (")]
        assert len(said) == 1 and f"{second['errors']} errors, {second['warnings']} warnings" in said[0], lines
    assert not any(ln.startswith("    of them the first print") for ln in lines) or s["first"]["findings_by_code"]


# ------------------------------------------------------------------------------------------ alloys


@pytest.mark.parametrize(
    ("first", "second", "window", "codes"),
    [
        ("Pb95Sn5", "Sn63Pb37", [203.0, 288.0], set()),
        ("Au80Sn20", "Sn42Bi58", [158.0, 260.0], set()),
        ("Pb90Sn10", "SAC305", [240.0, 248.0], {"narrow_reflow_window"}),  # 8 C < window_min_c 10 C
        ("SAC305", "Sn63Pb37", None, {"no_reflow_window"}),  # 203 C needed, 197 C allowed
        ("Sn63Pb37", "SAC305", None, {"melt_order", "no_reflow_window"}),  # the wrong order
        ("Sn96.5Ag3Cu0.5", "In52Sn48", [138.0, 197.0], set()),  # SAC305 by its alias
    ],
)
def test_melt_order_and_reflow_window_from_the_alloy_table(layouts, first, second, window, codes):
    p = pair(*layouts, first_alloy=first, second_alloy=second)
    s = p.summary
    assert s["reflow_window_c"] == window
    own = {f["code"] for f in p.report["findings"]}
    assert own == codes
    errors = {"melt_order", "no_reflow_window"} & codes
    assert (p.exit_code == 1) == bool(errors)
    for code in codes:
        assert s["findings_by_code"][code] == 1
        sev = "warning" if code == "narrow_reflow_window" else "error"
        assert [f["severity"] for f in p.findings if f["code"] == code] == [sev]


def test_rules_file_adds_and_overrides_alloys(tmp_path, layouts):
    path = tmp_path / "r.toml"
    path.write_text(
        "window_min_c = 5\n[alloys.HighBump]\nsolidus_c = 300\nliquidus_c = 305\ndensity_g_cm3 = 10.0\n"
        "[alloys.SAC305]\nliquidus_c = 225\n"
    )
    rules = load_rules(str(path))
    p = pair(*layouts, first_alloy="highbump", second_alloy="SAC305", rules=rules)
    s = p.summary
    assert s["first_alloy"]["name"] == "HighBump" and s["first_alloy"]["metal_volume_fraction"] == pytest.approx(
        _mvf(10.0), abs=1e-6
    )
    assert s["second_alloy"]["liquidus_c"] == 225.0 and s["second_alloy"]["solidus_c"] == 217.0  # kept
    assert s["reflow_window_c"] == [245.0, 280.0]
    assert load_rules(str(path)).alloys == tuple(sorted(rules.alloys, key=lambda a: a.name.lower()))
    # what `stencilgen rules` prints reads back the same
    again = tmp_path / "again.toml"
    again.write_text(rules_toml(rules))
    assert load_rules(str(again)) == rules
    bad = tmp_path / "bad.toml"
    bad.write_text("[alloys.New]\nsolidus_c = 200\n")
    with pytest.raises(InputError, match=r"alloys.New.liquidus_c: missing"):
        load_rules(str(bad))


def test_unknown_alloy_is_a_usage_error_listing_the_known(layouts, files, tmp_path):
    # (with the aliases it also answers to)
    known = r"known: Au80Sn20, In52Sn48, Pb90Sn10, Pb95Sn5, SAC305 \(Sn96.5Ag3Cu0.5\), Sn42Bi58"
    with pytest.raises(UsageError, match=r"'Unobtainium'.*" + known):
        pair(*layouts, first_alloy="Unobtainium", second_alloy="SAC305")
    out = tmp_path / "out"
    r = cli(
        "pair", str(files / "die.gds"), "--layer", "9/0", "--second", str(files / "sub.gds"), "--second-layer", "5/0",
        "--first-alloy", "Pb95Sn5", "--second-alloy", "Unobtainium", "-o", str(out),
    )  # fmt: skip
    assert r.returncode == 2, r.stderr
    assert r.stderr.startswith("Error: --second-alloy 'Unobtainium': unknown alloy; known: ") and "Sn63Pb37" in r.stderr
    assert "Traceback" not in r.stderr and not out.exists()


# ------------------------------------------------------------------------------------------ matching


def test_missing_and_extra_pads_are_unmatched_errors(files, layouts):
    die, _ = layouts
    short = stencilgen.read_layout(str(files / "sub_short.gds"), layer="5/0")
    p = pair(die, short, "Pb95Sn5", "Sn63Pb37")
    s = p.summary
    assert s["placement"]["mirror"] and abs(s["placement"]["dx_um"] - TRUE.dx_um) < 1.0
    assert (s["matched"], s["unmatched_first"], s["unmatched_second"]) == (20, 2, 1)
    assert s["findings_by_code"]["unmatched_contact"] == 2 and s["findings_by_code"]["unmatched_pad"] == 1
    lone = {f["first_id"] for f in p.report["findings"] if f["code"] == "unmatched_contact"}
    assert lone == set(s["unmatched_first_ids"]) and len(lone) == 2
    # the contacts left without a pad are those whose pads were dropped (the die's first two by (y, x))
    placed = TRUE.apply(die.contacts.center[sorted(lone)])
    dropped = TRUE.apply(np.array(_die().centers[:2]))
    assert np.allclose(np.sort(placed, axis=0), np.sort(dropped, axis=0), atol=1e-3)
    assert p.exit_code == 1 and s["errors"] >= 3


def test_fewer_than_half_matched_is_an_error_and_writes_nothing(files, tmp_path):
    out = tmp_path / "out"
    args = ["pair", str(files / "die.gds"), "--layer", "9/0", "--second", str(files / "sub.gds")]
    args += ["--second-layer", "5/0", "--first-alloy", "Pb95Sn5", "--second-alloy", "Sn63Pb37", "-o", str(out)]
    r = cli(*args, "--place", "none")
    assert r.returncode == 3, r.stderr
    assert "only 0 of 22 contacts meet a pad within 10 um" in r.stderr and "fewer than half" in r.stderr
    assert "at the layouts as drawn (--place none)" in r.stderr  # (no placement was given)
    assert not out.exists()
    # the true transform, given: the same masses
    given_place = f"{TRUE.dx_um}um,{TRUE.dy_um}um,90,mirror"
    r = cli(*args, "--place", given_place, "--json", "-q", "--creation-date", DATE)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["summary"]["placement"]["mode"] == "given" and doc["summary"]["matched"] == 22
    assert doc["summary"]["warnings"] > 0 and doc["summary"]["errors"] == 0
    r = cli(*args, "--place", given_place, "--strict", "-q")  # warnings fail the run under --strict
    assert r.returncode == 1 and r.stderr == ""
    r = cli(*args, "--place", "1,2")
    assert r.returncode == 2 and "--place '1,2'" in r.stderr


def test_output_not_writable_is_exit_4(files, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    r = cli(
        "pair", str(files / "die.gds"), "--layer", "9/0", "--second", str(files / "sub.gds"), "--second-layer", "5/0",
        "--first-alloy", "Pb95Sn5", "--second-alloy", "Sn63Pb37", "-o", str(blocker / "out"),
    )  # fmt: skip
    assert r.returncode == 4, r.stderr
    assert r.stderr.startswith("Error: ") and "Traceback" not in r.stderr


# ------------------------------------------------------------------------------------------ report and files


def test_json_report_fields_with_units(written, paired):
    outputs, out = written
    names = sorted(os.listdir(out))
    stencils = [f"{stem}.{ext}" for stem in ("die.first", "sub.second") for ext in ("gbr", "dxf", "gds")]
    assert names == sorted([*stencils, "die.pair.json", "die.pair.html"])
    with open(outputs["json"]) as fh:
        doc = json.load(fh)
    s = doc["summary"]
    for key in ("masses", "matched", "unmatched_first", "unmatched_second", "first_alloy", "second_alloy",
                "reflow_window_c", "placement", "errors", "warnings", "findings_by_code", "exit_code"):  # fmt: skip
        assert key in s, key
    assert set(s["placement"]) >= {"dx_um", "dy_um", "angle_deg", "mirror"}
    assert s["units"] == {"length": "um", "volume": "um3", "temperature": "C", "angle": "deg"}
    assert s["outputs"]["first_gerber"] == "die.first.gbr" and s["outputs"]["json"] == "die.pair.json"
    for m in doc["masses"]:
        for key in ("first_id", "second_id", "x_um", "y_um", "first_volume_um3", "second_volume_um3",
                    "volume_limit_um3", "total_ratio", "standoff_um", "status", "findings"):  # fmt: skip
            assert key in m, key
        assert m["status"] in ("ok", "warning", "error")
        assert all(f["region"] in ("first", "second", "mass") and f["code"] for f in m["findings"])
    assert doc["summary"]["errors"] == len(paired.errors) and doc["summary"]["warnings"] == len(paired.warnings)
    assert len(doc["first"]["contacts"]) == 22 and len(doc["second"]["contacts"]) == 22
    # the same date, the same bytes
    again = paired.write(out / "again", creation_date=DATE)
    for key, path in outputs.items():
        with open(path, "rb") as a, open(again[key], "rb") as b:
            assert a.read() == b.read(), key


def test_gerbers_read_back_by_independent_readers(written, paired, layouts):
    from pygerber.gerberx3.tokenizer.tokenizer import Tokenizer
    from validators import gerbonara_file_attrs, klayout_gds, klayout_gerber

    outputs, _ = written
    die, sub = layouts
    for region, layout in (("first", die), ("second", sub)):
        gbr = outputs[f"{region}_gerber"]
        attrs = gerbonara_file_attrs(gbr)
        assert attrs["attrs"][".FileFunction"] == ("Paste", "Top")
        assert attrs["objects"] == len(layout.contacts)
        with open(gbr) as fh:
            tokens = [t for t in Tokenizer().tokenize(fh.read()) if type(t).__name__ == "ObjectAttribute"]
        pins = [str(t.value).split(",") for t in tokens if t.name == ".P"]
        assert len(pins) == len(layout.contacts)
        key = "first_id" if region == "first" else "second_id"
        names = {m[key]: m["name"] for m in paired.masses}
        assert {int(p[1]): p[2] for p in pins} == names  # each aperture's pin function names its mass
        # the Gerber and the GDS hold the same apertures (KLayout; arcs: chords vs 512 points)
        g, d = klayout_gerber(gbr), klayout_gds(outputs[f"{region}_gds"])
        assert g.count == d.count == len(layout.contacts)
        assert g.area_um2 == pytest.approx(d.area_um2, rel=5e-3)
    # the first stencil is in the die's coordinates, the second in the substrate's
    assert np.allclose(
        klayout_gds(outputs["first_gds"]).centers.mean(axis=0), die.contacts.center.mean(axis=0), atol=60
    )
    assert np.allclose(
        klayout_gds(outputs["second_gds"]).centers.mean(axis=0), sub.contacts.center.mean(axis=0), atol=60
    )


def test_html_report_in_the_headless_browser(chromium, written, paired, tmp_path):
    from browser import run_chromium

    outputs, _ = written
    url = "file://" + os.path.abspath(outputs["html"])
    done = run_chromium(["--dump-dom", url], str(tmp_path / "profile"), 60, chromium)
    dom = done.stdout
    assert 'data-ready="1"' in dom
    assert dom.count('class="mass m-') == len(paired.masses)
    assert "joining reflow window 203–288 C (85 C wide)" in dom
    assert "Pb95Sn5" in dom and "Sn63Pb37" in dom and "mirrored, turned 90 deg" in dom
    png = tmp_path / "page.png"
    run_chromium([f"--screenshot={png}", "--window-size=1200,1800", url], str(tmp_path / "p2"), 60, chromium)
    from PIL import Image

    img = np.asarray(Image.open(png).convert("RGB")).astype(int)
    # the masses' status colour (warnings here: the strips are under the five-ball width) is drawn
    warning = (np.abs(img - np.array([0xE0, 0xA0, 0x00])).sum(axis=2) < 40).sum()
    assert warning > 50


def test_cli_help_names_the_interface():
    r = cli("pair", "--help")
    assert r.returncode == 0
    for opt in ("--second", "--second-layer", "--first-alloy", "--second-alloy", "--place", "--rules", "--json",
                "--strict", "-q", "Examples:", "Pb95Sn5"):  # fmt: skip
        assert opt in r.stdout, opt


def test_the_readme_pair_example_runs_as_written(files, tmp_path):
    import re
    import shutil

    from test_api import ROOT

    text = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()
    blocks = re.findall(r"```python\n(.*?)```", text.split("## Use from Python", 1)[1], re.S)
    code = next(b for b in blocks if "stencilgen.pair(" in b)
    shutil.copy(files / "die.gds", tmp_path / "die.gds")
    shutil.copy(files / "sub.gds", tmp_path / "substrate.gds")
    r = subprocess.run(
        [sys.executable, "-c", "import stencilgen\n" + code], capture_output=True, text=True, cwd=tmp_path
    )
    assert r.returncode == 0, r.stderr
    assert sorted(os.listdir(tmp_path / "out"))[:3] == ["die.first.dxf", "die.first.gbr", "die.first.gds"]
    assert stencilgen.pair is pair and "pair" in stencilgen.__all__
