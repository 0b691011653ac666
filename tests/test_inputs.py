"""Inputs as tape-outs deliver them: gzipped layouts (and gzip bombs), DEF + LEF, and per-file layers."""

from __future__ import annotations

import gzip
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
from stencilgen.errors import InputError, UsageError
from stencilgen.geometry import bboxes
from stencilgen.readers import layout_stem, read_layout
from stencilgen.readers.layers import check_layers, choose_layer
from stencilgen.rules import Rules

DEF_DIR = "def_openroad_stagger_and_bumps"


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "stencilgen", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        env={**os.environ, **(env or {})},
    )


def gzipped(src: str, dst) -> str:
    with open(src, "rb") as fh, gzip.open(dst, "wb") as out:
        shutil.copyfileobj(fh, out)
    return str(dst)


def one_error_line(r: subprocess.CompletedProcess) -> str:
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), r.stderr
    assert "Traceback" not in r.stderr
    return lines[0]


# ---------------------------------------------------------------- gzip


def _same_contacts(a, b) -> None:
    assert len(a.contacts) == len(b.contacts) > 0
    np.testing.assert_array_equal(a.contacts.center, b.contacts.center)
    np.testing.assert_array_equal(a.contacts.area, b.contacts.area)
    assert (a.cell, a.layer, a.grid_um) == (b.cell, b.layer, b.grid_um)


def test_gzipped_gds_oasis_and_dxf_read_as_the_plain_files(tmp_path):
    import gdstk

    ring = os.path.join(SAMPLES, "ring_100um.gds")
    oas = str(tmp_path / "ring.oas")
    gdstk.read_gds(ring).write_oas(oas)
    dxf = os.path.join(SAMPLES, "die_mm_blocks.dxf")
    cases = [
        (ring, gzipped(ring, tmp_path / "ring_100um.gds.gz"), "9/0"),
        (oas, gzipped(oas, tmp_path / "ring.oas.gz"), "9/0"),
        (dxf, gzipped(dxf, tmp_path / "die_mm_blocks.dxf.gz"), "PADS"),
        (ring, gzipped(ring, tmp_path / "RING.GDS.GZIP"), "9/0"),  # .gzip, any case
    ]
    for plain, packed, layer in cases:
        a, b = read_layout(plain, layer=layer), read_layout(packed, layer=layer)
        _same_contacts(a, b)
        assert b.path == packed and b.format == a.format
        assert stencilgen.read_layout(packed, layer=layer).path == packed  # the public name too


def test_gzipped_layout_errors_name_the_compressed_file(tmp_path):
    packed = gzipped(os.path.join(SAMPLES, "ring_100um.gds"), tmp_path / "ring.gds.gz")
    with pytest.raises(InputError) as err:
        read_layout(packed, layer="5/0")
    assert str(err.value).startswith(f"{packed}: no shapes on layer 5/0") and "stencilgen-" not in str(err.value)


def test_plan_of_a_gzipped_layout_drops_the_gz_from_its_names_and_keeps_the_keep_in(tmp_path):
    packed = gzipped(os.path.join(SAMPLES, "ring_100um.gds"), tmp_path / "ring_100um.gds.gz")
    r = run("plan", packed, "--layer", "9/0", "-o", str(tmp_path / "out"), "-q", "--formats", "gerber,gds")
    ring = os.path.join(SAMPLES, "ring_100um.gds")
    assert r.returncode == 0, r.stderr
    assert sorted(os.listdir(tmp_path / "out")) == ["ring_100um.gbr", "ring_100um.gds", "ring_100um.json"]
    s = json.load(open(tmp_path / "out" / "ring_100um.json"))["summary"]
    plain = run("plan", ring, "--layer", "9/0", "-o", str(tmp_path / "p"), "-q", "--formats", "gerber")
    ref = json.load(open(tmp_path / "p" / "ring_100um.json"))["summary"]
    assert plain.returncode == 0
    # the keep-in is read from the compressed file as from the plain one (KLayout reads .gz itself)
    assert s["keep_in"] == ref["keep_in"] and s["keep_in"]["bbox_um"] is not None
    assert (s["contacts"], s["errors"], s["warnings"]) == (ref["contacts"], ref["errors"], ref["warnings"])
    assert s["file"] == packed
    assert layout_stem("a/die.gds.gz") == layout_stem("die.GDS") == "die" and layout_stem("x.oas.gzip") == "x"


def test_batch_finds_gzipped_layouts_and_names_their_folders_without_gz(tmp_path):
    lib = tmp_path / "lib"
    lib.mkdir()
    gzipped(os.path.join(SAMPLES, "ring_100um.gds"), lib / "ring.gds.gz")
    gzipped(os.path.join(SAMPLES, "die_mm_blocks.dxf"), lib / "blocks.dxf.gz")
    (lib / "notes.txt.gz").write_bytes(gzip.compress(b"not a layout"))
    out = tmp_path / "out"
    r = run(
        "batch", str(lib), "-o", str(out), "--layer", "9/0", "--layer", "PADS", "--formats", "gerber", "--json", "-q"
    )
    assert r.returncode in (0, 1), r.stderr
    doc = json.loads(r.stdout)
    assert sorted(os.path.basename(x["input"]) for x in doc["results"]) == ["blocks.dxf.gz", "ring.gds.gz"]
    assert all(x["status"] != "failed" for x in doc["results"])
    assert os.path.isfile(out / "ring" / "ring.gbr") and os.path.isfile(out / "blocks" / "blocks.gbr")


def _bomb(path, mb: int, lying_trailer: bool = False) -> None:
    """`mb` MB of zeros gzipped (about 1000 times smaller); with a second, one-byte member after it, so
    that the trailer the file ends with states 1 byte."""
    zeros = b"\0" * 1_000_000
    with open(path, "wb") as fh:
        with gzip.GzipFile(fileobj=fh, mode="wb", compresslevel=9) as z:
            for _ in range(mb):
                z.write(zeros)
        if lying_trailer:
            fh.write(gzip.compress(b"x"))


@pytest.mark.parametrize("lying_trailer", [False, True])
def test_a_gzip_bomb_is_one_error_naming_the_file(tmp_path, lying_trailer):
    bomb = tmp_path / "die.gds.gz"
    _bomb(bomb, 40, lying_trailer)
    assert os.path.getsize(bomb) < 100_000
    rules = tmp_path / "rules.toml"
    rules.write_text("max_expanded_mb = 5\n")
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    for cmd in (["inspect"], ["plan", "-o", str(tmp_path / "out")]):
        r = run(*cmd, str(bomb), "--layer", "9/0", "--rules", str(rules), env={"TMPDIR": str(scratch)})
        assert r.returncode == 3
        line = one_error_line(r)
        assert line == (
            f"Error: {bomb}: expands to more than 5 MB uncompressed (max_expanded_mb); raise max_expanded_mb "
            "in a rules file if the layout is really that large"
        )
        assert os.listdir(scratch) == []  # the expanded part is removed
        assert not os.path.exists(tmp_path / "out")
    with pytest.raises(InputError, match="expands to more than 5 MB"):
        read_layout(bomb, layer="9/0", max_expanded_mb=5)


def test_damaged_gzip_files_are_one_error(tmp_path):
    whole = gzip.compress(open(os.path.join(SAMPLES, "ring_100um.gds"), "rb").read())
    cut = tmp_path / "cut.gds.gz"
    cut.write_bytes(whole[: len(whole) // 2])
    r = run("inspect", str(cut), "--layer", "9/0")
    assert r.returncode == 3 and "cut.gds.gz: not a readable gzip file" in one_error_line(r)
    # a file cut anywhere ends in compressed data, which its trailer's size field reads as any number:
    # never a gzip bomb (whose fix, a higher max_expanded_mb, would not help), always a damaged file
    for end in range(200, len(whole) - 8, max(1, (len(whole) - 208) // 40)):
        cut.write_bytes(whole[:end])
        with pytest.raises(InputError, match=r"cut\.gds\.gz: not a readable gzip file"):
            read_layout(str(cut), layer="9/0")
    fake = tmp_path / "fake.gds.gz"
    shutil.copy(os.path.join(SAMPLES, "ring_100um.gds"), fake)
    r = run("inspect", str(fake), "--layer", "9/0")
    assert r.returncode == 3 and "fake.gds.gz: not a gzip file" in one_error_line(r)


def test_the_ceiling_is_a_rule():
    assert Rules().max_expanded_mb == 2000.0
    r = run("rules")
    assert r.returncode == 0 and "\nmax_expanded_mb = 2000.0\n" in r.stdout
    with pytest.raises(UsageError, match="max_expanded_mb"):
        Rules().replace(max_expanded_mb=0.0)


# ---------------------------------------------------------------- DEF + LEF


def _components(path: str, macro: str) -> list[tuple[float, float, str]]:
    """The placements of one macro in a DEF, as its text states them: (x, y) um and orientation."""
    text = open(path).read()
    unit = int(re.search(r"UNITS DISTANCE MICRONS (\d+)", text).group(1))
    found = re.findall(rf"- \S+ {macro} \+ (?:FIXED|PLACED) \( (-?\d+) (-?\d+) \) (\w+) ;", text)
    return [(int(x) / unit, int(y) / unit, o) for x, y, o in found]


def _as_set(points, digits: int = 3) -> set[tuple[float, float]]:
    return {(round(float(x), digits), round(float(y), digits)) for x, y in points}


def test_def_bump_array_14_by_14_at_200um(realworld):
    folder = os.path.join(realworld, DEF_DIR)
    path = os.path.join(folder, "bump_array_make.defok")
    layout = stencilgen.read_layout(path, layer="metal10", lef=[os.path.join(folder, "dummy_pads.lef")])
    assert layout.format == "def" and layout.layer == "metal10" and len(layout.contacts) == 196
    assert np.allclose(layout.contacts.d, 45.0) and np.allclose(layout.contacts.length, 45.0)
    # the bumps (45 x 45 um, lower left at the placement) where the DEF places them
    truth = [(x + 22.5, y + 22.5) for x, y, o in _components(path, "DUMMY_BUMP")]
    assert len(truth) == 196 and _as_set(layout.contacts.center) == _as_set(truth)
    doc = stencilgen.inspect(layout)
    (array,) = doc["arrays"]
    assert array["contacts"] == 196 and sorted(array["lines"]) == [14, 14]
    assert np.allclose(array["pitch_um"], 200.0)


def test_def_staggered_bond_pads(realworld):
    folder = os.path.join(realworld, DEF_DIR)
    path = os.path.join(folder, "place_bondpad_stagger.defok")
    layout = read_layout(path, layer="metal10", lef=[os.path.join(folder, "dummy_pads_stagger.lef")])
    c = layout.contacts
    assert len(c) == 238 and np.allclose(c.d, 35.0) and np.allclose(c.length, 70.0)
    # each bond pad (35 x 70 um, turned by E/W placements) where the DEF places it: two that abut stay two
    truth = []
    for x, y, orient in _components(path, "PAD"):
        w, h = (70.0, 35.0) if orient in ("E", "W", "FE", "FW") else (35.0, 70.0)
        truth.append((x + w / 2, y + h / 2))
    assert len(truth) == 238 and _as_set(c.center) == _as_set(truth)
    # the pad cells' own 20 x 15 um pins under the bond pads are connections, not pads (68 of them of
    # PADCELL_SIG_V, whose LEF macro has FOREIGN: its LEF pins are read all the same)
    under = [e for e in layout.excluded if e.reason.startswith("under a larger pad")]
    assert len(under) == 169 + 68 and {tuple(sorted(e.size)) for e in under} == {(15.0, 20.0)}
    # the stagger: on every side an outer row 65 um and an inner row 145 um from the die edge (3 mm),
    # the pads of one row never facing a pad of the other
    edge = np.minimum.reduce([c.center[:, 0], c.center[:, 1], 3000 - c.center[:, 0], 3000 - c.center[:, 1]])
    assert set(np.round(edge, 3)) == {65.0, 145.0}
    side = np.argmin(np.stack([c.center[:, 1], 3000 - c.center[:, 0], 3000 - c.center[:, 1], c.center[:, 0]]), 0)
    for k in range(4):
        on = side == k
        along = c.center[on, 0] if k in (0, 2) else c.center[on, 1]
        outer, inner = along[np.isclose(edge[on], 65.0)], along[np.isclose(edge[on], 145.0)]
        assert len(outer) >= 20 and len(inner) >= 20
        assert not set(np.round(outer, 3)) & set(np.round(inner, 3))
        gaps = np.abs(outer[:, None] - inner[None, :]).min(axis=1)
        assert np.median(gaps) >= 20.0  # about half a pitch, not lined up


def test_def_cli_errors_list_what_is_there(realworld, tmp_path):
    folder = os.path.join(realworld, DEF_DIR)
    path = os.path.join(folder, "bump_array_make.defok")
    lef = os.path.join(folder, "dummy_pads.lef")
    r = run("inspect", path, "--layer", "metal10")
    assert r.returncode == 2
    assert one_error_line(r) == (
        f"Error: {path}: a DEF's pads are drawn in its macros' LEF files; name them with --lef "
        "(it places DUMMY_BUMP (196))"
    )
    r = run("plan", path, "--lef", lef, "--layer", "metal3", "-o", str(tmp_path / "o"))
    assert r.returncode == 3 and not os.path.exists(tmp_path / "o")
    assert one_error_line(r) == (
        f"Error: {path}: no placed macro has pin shapes on LEF layer 'metal3'; LEF layers present: metal10 (196)"
    )
    stagger = os.path.join(folder, "place_bondpad_stagger.defok")
    r = run("inspect", stagger, "--lef", os.path.join(folder, "dummy_pads_stagger.lef"))
    assert r.returncode == 2
    # (PADCELL_SIG_V has FOREIGN: its LEF pins are read too, and it is not said to be undefined)
    said = "choose the pad layer with --layer (layer= in Python; a LEF layer); LEF layers present: metal10 (475), metal"
    assert said in one_error_line(r) and "do not define" not in one_error_line(r)
    both = [os.path.join(folder, "dummy_pads.lef"), os.path.join(folder, "dummy_pads_stagger.lef")]
    r = run("inspect", stagger, "--lef", both[0], "--lef", both[1], "--layer", "metal10")
    assert r.returncode == 3
    assert one_error_line(r) == (
        f"Error: {stagger}: MACRO PAD is defined in more than one --lef: {both[0]}, {both[1]}; "
        "pass the one the design uses"
    )
    r = run("inspect", path, "--lef", str(tmp_path / "missing.lef"), "--layer", "metal10")
    assert r.returncode == 3 and one_error_line(r) == f"Error: {tmp_path / 'missing.lef'}: no such LEF file"
    r = run("inspect", path, "--lef", lef, "--layer", "metal10", "--json")
    assert r.returncode == 0 and json.loads(r.stdout)["contacts"] == 196


def test_def_plan_and_check_write_files_inside_the_die_area(realworld, tmp_path):
    folder = os.path.join(realworld, DEF_DIR)
    path = os.path.join(folder, "bump_array_make.defok")
    packed = gzipped(path, tmp_path / "bumps.def.gz")
    lef = gzipped(os.path.join(folder, "dummy_pads.lef"), tmp_path / "pads.lef.gz")
    r = run("plan", packed, "--lef", lef, "--layer", "metal10", "-o", str(tmp_path / "o"), "-q", "--formats", "gerber")
    assert r.returncode == 0, r.stderr
    s = json.load(open(tmp_path / "o" / "bumps.json"))["summary"]
    assert s["contacts"] == 196 and s["format"] == "def" and s["layer"] == "metal10"
    assert s["keep_in"] == {"source": "DIEAREA of the DEF", "bbox_um": [0.0, 0.0, 3000.0, 3000.0]}
    r = run("check", packed, "--lef", lef, "--layer", "metal10", "--stencil", str(tmp_path / "o" / "bumps.gbr"), "-q")
    assert r.returncode == 0, r.stderr


LEF = """VERSION 5.8 ;
UNITS
  DATABASE MICRONS 1000 ;
END UNITS
LAYER M9
  TYPE ROUTING ;
END M9
MACRO BP
  CLASS COVER ;
  ORIGIN 0 0 ;
  SIZE 100 BY 200 ;
  PIN P
    DIRECTION INOUT ;
    PORT
      LAYER M9 ;
        RECT 10 20 40 80 ;
    END
  END P
  OBS
    LAYER M9 ;
      RECT 40 20 60 40 ;
  END
END BP
END LIBRARY
"""
ORIENTS = {  # DEF orientation -> its 2 x 2 matrix (LEF/DEF reference: FW = MX then R90, FE = MY then R90)
    "N": [[1, 0], [0, 1]],
    "W": [[0, -1], [1, 0]],
    "S": [[-1, 0], [0, -1]],
    "E": [[0, 1], [-1, 0]],
    "FN": [[-1, 0], [0, 1]],
    "FS": [[1, 0], [0, -1]],
    "FW": [[0, 1], [1, 0]],
    "FE": [[0, -1], [-1, 0]],
}


def _def(placements: list[tuple[float, float, str]]) -> str:
    lines = ["VERSION 5.8 ;", "DESIGN T ;", "UNITS DISTANCE MICRONS 1000 ;", "DIEAREA ( 0 0 ) ( 3000000 1000000 ) ;"]
    lines.append(f"COMPONENTS {len(placements)} ;")
    for i, (x, y, o) in enumerate(placements):
        lines.append(f"- B{i} BP + PLACED ( {round(x * 1000)} {round(y * 1000)} ) {o} ;")
    return "\n".join([*lines, "END COMPONENTS", "END DESIGN", ""])


def test_def_orientations_and_obstructions(tmp_path):
    """A pin off the macro's centre, placed in all eight orientations: each pad where the orientation
    and the placement (the lower left of the turned macro) put it; with --lef-obs the obstruction
    touching the pin joins it."""
    (tmp_path / "bp.lef").write_text(LEF)
    placements = [(100.0 + 300 * k, 300.0, o) for k, o in enumerate(ORIENTS)]
    (tmp_path / "t.def").write_text(_def(placements))
    lef = [str(tmp_path / "bp.lef")]
    layout = read_layout(str(tmp_path / "t.def"), layer="M9", lef=lef)
    assert len(layout.contacts) == 8 and layout.grid_um == 0.001
    boxes = []
    for x, y, o in placements:
        m = np.array(ORIENTS[o], dtype=float)
        macro = np.array([[0, 0], [100, 0], [100, 200], [0, 200]]) @ m.T
        pin = np.array([[10, 20], [40, 20], [40, 80], [10, 80]]) @ m.T + np.array([x, y]) - macro.min(axis=0)
        boxes.append((*pin.min(axis=0), *pin.max(axis=0)))
    got = sorted(tuple(np.round(b, 3)) for b in bboxes(layout.contacts.polygons))
    assert got == sorted(tuple(np.round(b, 3)) for b in boxes)
    with_obs = read_layout(str(tmp_path / "t.def"), layer="M9", lef=lef, lef_obs=True)
    assert len(with_obs.contacts) == 8
    assert np.allclose(with_obs.contacts.area, 30 * 60 + 20 * 20)  # the pin and the obstruction, one pad
    r = run("inspect", str(tmp_path / "t.def"), "--lef", lef[0], "--layer", "M9", "--lef-obs", "--json")
    assert r.returncode == 0 and json.loads(r.stdout)["contacts"] == 8


def test_two_placed_pads_that_overlap_keep_the_larger(tmp_path):
    (tmp_path / "bp.lef").write_text(LEF)
    # the second macro lies over the first one's pin: equal pins overlapping, the first is kept
    (tmp_path / "t.def").write_text(_def([(100.0, 100.0, "N"), (110.0, 110.0, "N"), (500.0, 100.0, "N")]))
    layout = read_layout(str(tmp_path / "t.def"), layer="M9", lef=[str(tmp_path / "bp.lef")])
    assert len(layout.contacts) == 2
    assert _as_set(layout.contacts.center) == {(125.0, 150.0), (525.0, 150.0)}
    assert [e.center for e in layout.excluded] == [(135.0, 160.0)]


# ---------------------------------------------------------------- per-file layers


def test_choose_layer_by_pattern_then_by_kind():
    values = ["sg13*=9/0", "gf180*=37/0", "*.def=metal10", "46/0", "PADS"]
    assert choose_layer("lib/sg13_die.gds", values, "gds") == "9/0"
    assert choose_layer("gf180_die.gds.gz", values, "gds") == "37/0"
    assert choose_layer("other.oas", values, "oasis") == "46/0"
    assert choose_layer("pads.dxf", values, "dxf") == "PADS"
    assert choose_layer("top.def", values, "def") == "metal10"
    assert choose_layer("x.gds.gz", ["*.gds=1/0"], "gds") == "1/0"  # a glob matches without the .gz too
    assert choose_layer("a.gds", ["a*=1/0", "*.gds=2/0"], "gds") == "1/0"  # the first match wins
    assert choose_layer("b.dxf", ["9/0"], "dxf") is None  # no value of its kind: its only layer
    assert choose_layer("SG13.gds", ["sg13*=9/0"], "gds") is None  # globs are case-sensitive


@pytest.mark.parametrize(
    "values, said",
    [
        (["9/0", "37/0"], "two unprefixed GDS/OASIS layers (L/D)"),
        (["9", "37:0"], "two unprefixed GDS/OASIS layers (L/D)"),
        (["PADS", "BUMPS"], "two unprefixed layer names (DXF, DEF)"),
        (["=9/0"], "write PATTERN=LAYER"),
        (["*.gds="], "write PATTERN=LAYER"),
    ],
)
def test_layer_values_that_leave_a_choice_to_chance_are_refused(values, said):
    with pytest.raises(UsageError, match=re.escape(said)):
        check_layers(values)


def test_two_unprefixed_gds_layers_are_a_usage_error_in_every_command(tmp_path):
    ring = os.path.join(SAMPLES, "ring_100um.gds")
    args = ["--layer", "9/0", "--layer", "37/0"]
    for cmd in (
        ["inspect", ring],
        ["plan", ring, "-o", str(tmp_path / "o")],
        ["check", ring, "--stencil", ring],
        ["batch", ring, "-o", str(tmp_path / "b")],
    ):
        r = run(*cmd, *args)
        assert r.returncode == 2
        assert one_error_line(r) == (
            "Error: --layer 9/0 and --layer 37/0: two unprefixed GDS/OASIS layers (L/D); say which files each is "
            "for with PATTERN=LAYER, e.g. --layer '*_a.gds=9/0' --layer '*_b.gds=37/0'"
        )
    assert not os.path.exists(tmp_path / "o") and not os.path.exists(tmp_path / "b")


def _two_process_library(lib) -> None:
    """Two dies of two processes: pads on 9/0 with other shapes on 37/0, and the other way round."""
    lib.mkdir()
    ring = synth.ring(side=2000.0, pitch=150.0, count=8, pad=(70.0, 70.0)).polygons()
    array = synth.area_array(5, 4, (200.0, 200.0), 80.0).polygons()
    import gdstk

    for name, pads, pad_layer, other in (
        ("sg13_die.gds", ring, 9, [synth.rect((0, 0), (300, 40), 0), synth.rect((0, 300), (300, 40), 0)]),
        ("gf180_die.gds", array, 37, [synth.rect((100, 900), (40, 40), 0)]),
    ):
        lib_ = gdstk.Library(unit=1e-6, precision=1e-9)
        cell = lib_.new_cell("TOP")
        for p in pads:
            cell.add(gdstk.Polygon(p, layer=pad_layer, datatype=0))
        for p in other:
            cell.add(gdstk.Polygon(p, layer=46 - pad_layer, datatype=0))  # 9 <-> 37
        lib_.write_gds(str(lib / name))
    gzipped(str(lib / "gf180_die.gds"), lib / "gf180_die.gds.gz")
    os.remove(lib / "gf180_die.gds")
    synth.write_dxf(str(lib / "pads.dxf"), synth.ring(side=1500.0, count=6, pad=(60.0, 60.0)).polygons())


def test_batch_plans_each_process_on_its_own_layer(tmp_path):
    lib = tmp_path / "lib"
    _two_process_library(lib)
    out = tmp_path / "out"
    r = run(
        "batch", str(lib), "-o", str(out), "--layer", "sg13*=9/0", "--layer", "gf180*=37/0", "--layer", "PADS",
        "--jobs", "2", "--formats", "gerber", "--json", "-q",
    )  # fmt: skip
    assert r.returncode in (0, 1), r.stderr
    rows = {os.path.basename(x["input"]): x for x in json.loads(r.stdout)["results"]}
    assert {k: v["contacts"] for k, v in rows.items()} == {"sg13_die.gds": 32, "gf180_die.gds.gz": 20, "pads.dxf": 24}
    for name, stem, layer in (
        ("sg13_die", "sg13_die", "9/0"),
        ("gf180_die", "gf180_die", "37/0"),
        ("pads", "pads", "PADS"),
    ):
        assert json.load(open(out / name / f"{stem}.json"))["summary"]["layer"] == layer
    # one value for every GDS picks the wrong layer for one of them: the per-file values matter
    r = run("batch", str(lib), "-o", str(tmp_path / "one"), "--layer", "9/0", "--formats", "json", "--json", "-q")
    counts = {os.path.basename(x["input"]): x["contacts"] for x in json.loads(r.stdout)["results"]}
    assert counts["gf180_die.gds.gz"] == 1


def test_single_file_commands_take_per_file_layers(tmp_path):
    lib = tmp_path / "lib"
    _two_process_library(lib)
    die = str(lib / "gf180_die.gds.gz")
    r = run("inspect", die, "--layer", "sg13*=9/0", "--layer", "gf180*=37/0", "--json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert (doc["layer"], doc["contacts"]) == ("37/0", 20)
    layout = stencilgen.read_layout(str(lib / "sg13_die.gds"), layer=["gf180*=37/0", "sg13*=9/0"])
    assert (layout.layer, len(layout.contacts)) == ("9/0", 32)


def test_def_that_places_nothing_usable_is_one_error(tmp_path):
    (tmp_path / "bp.lef").write_text(LEF)
    (tmp_path / "other.lef").write_text(LEF.replace("BP", "OTHER"))
    (tmp_path / "empty.def").write_text(_def([]).replace("COMPONENTS 0 ;\nEND COMPONENTS\n", ""))
    with pytest.raises(InputError, match=r"empty.def: the DEF places no macros \(no COMPONENTS\)$"):
        read_layout(str(tmp_path / "empty.def"), layer="M9", lef=[str(tmp_path / "bp.lef")])
    (tmp_path / "t.def").write_text(_def([(100.0, 100.0, "N")]))
    with pytest.raises(InputError) as err:
        read_layout(str(tmp_path / "t.def"), layer="M9", lef=[str(tmp_path / "other.lef")])
    assert str(err.value) == (
        f"{tmp_path / 't.def'}: no placed macro has pin shapes on any layer; LEF layers present: none; "
        "macros the LEF files do not define: BP"
    )
    with pytest.raises(UsageError, match="--cell applies to GDS/OASIS files"):
        read_layout(str(tmp_path / "t.def"), layer="M9", lef=[str(tmp_path / "bp.lef")], cell="T")
