"""check's Gerber reader under hostile stencils: step-and-repeat expanded (never ignored), a stroke of
zero length is a dot, a file without %FS refused, ceilings on step-and-repeat and macros that hold
under an address-space cap."""

from __future__ import annotations

import math
import os
import resource
import subprocess
import sys

import numpy as np
import pytest
import shapely
from conftest import ROOT, SAMPLES

from stencilgen.errors import InputError
from stencilgen.geometry import to_shapely
from stencilgen.readers.stencil import read_stencil as _read


def read_stencil(path: str) -> list:
    """The stencil's apertures as shapely polygons (um)."""
    return list(to_shapely(_read(path)))


RING = os.path.join(SAMPLES, "ring_100um.gds")
HEAD = "%FSLAX46Y46*%\n%MOMM*%\n%ADD10C,0.050000*%\n%LPD*%\nG75*\nG01*\n"


@pytest.fixture(scope="module")
def planned(tmp_path_factory) -> str:
    from stencilgen.rules import Rules
    from stencilgen.run import Options, plan_file

    out = tmp_path_factory.mktemp("plan")
    return plan_file(RING, str(out), Rules(), Options(layer="9/0", formats=("gerber",))).outputs["gerber"]


def _body(gerber: str) -> str:
    """The objects of a Gerber written by plan (between its G01* and M02*)."""
    text = open(gerber).read()
    return text[text.index("G01*\n") + 5 : text.rindex("M02*")]


def _stencil(tmp_path, text: str, name: str = "s.gbr") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize("closed", [True, False])
def test_step_and_repeat_is_expanded(tmp_path, planned, closed):
    plain = read_stencil(planned)
    # three by two copies, 5 mm and 4 mm apart: far from each other
    block = "%SRX3Y2I5.0J4.0*%\n" + _body(planned) + ("%SR*%\n" if closed else "")
    shapes = read_stencil(_stencil(tmp_path, HEAD + block + "M02*\n"))
    assert len(shapes) == 6 * len(plain)
    area = sum(p.area for p in plain)
    assert math.isclose(sum(p.area for p in shapes), 6 * area, rel_tol=1e-9)
    x0 = min(p.bounds[0] for p in plain)
    assert math.isclose(min(p.bounds[0] for p in shapes), x0, abs_tol=1e-6)
    assert math.isclose(max(p.bounds[2] for p in shapes), max(p.bounds[2] for p in plain) + 10_000, abs_tol=1e-3)


def test_check_sees_the_copies_of_a_step_and_repeat(tmp_path, planned):
    from stencilgen.rules import Rules
    from stencilgen.run import Options, check_file

    ok = check_file(RING, planned, None, Rules(), Options(layer="9/0"))
    assert ok.report["summary"]["errors"] == 0
    nine = _stencil(tmp_path, HEAD + "%SRX3Y3I0.001J0.001*%\n" + _body(planned) + "%SR*%\nM02*\n")
    # nine copies 1 um apart: each contact's aperture becomes one larger merged one
    copied = check_file(RING, nine, None, Rules(), Options(layer="9/0"))
    one = ok.report["contacts"][0]["aperture_area_um2"]
    assert copied.report["contacts"][0]["aperture_area_um2"] > one
    far = _stencil(tmp_path, HEAD + "%SRX3Y3I3.0J3.0*%\n" + _body(planned) + "%SR*%\nM02*\n", "far.gbr")
    copied = check_file(RING, far, None, Rules(), Options(layer="9/0"))
    assert len(copied.report["summary"]["stray_apertures"]) == 8 * 68
    assert copied.exit_code == 1


def test_a_stroke_of_zero_length_is_a_dot(tmp_path):
    text = HEAD + "D10*\nX1000000Y2000000D02*\nX1000000Y2000000D01*\nM02*\n"
    (dot,) = read_stencil(_stencil(tmp_path, text))
    assert math.isclose(dot.area, math.pi * 25.0**2, rel_tol=1e-3)
    assert dot.centroid.equals_exact(shapely.Point(1000.0, 2000.0), 1e-6)


def test_a_gerber_without_a_format_statement_is_refused(tmp_path):
    path = _stencil(tmp_path, "%MOMM*%\n%ADD10C,0.05*%\nD10*\nX1000000Y2000000D03*\nM02*\n")
    with pytest.raises(InputError, match="no %FS"):
        read_stencil(path)


MOIRE = "%AMRINGS*6,0,0,5,0.0001,0.0001,1000000000,0,0,0*%\n%ADD11RINGS*%"
BOMBS = {
    "repeat": HEAD + "%SRX100000Y100000I0.1J0.1*%\nD10*\nX0Y0D03*\n%SR*%\nM02*\n",
    "repeat_many_objects": HEAD + "%SRX1000Y1000I0.1J0.1*%\nD10*\n" + "X0Y0D03*\n" * 50 + "%SR*%\nM02*\n",
    "polygon_macro": HEAD.replace("%ADD10C,0.050000*%", "%AMBIG*5,1,100000000,0,0,1,0*%\n%ADD11BIG*%")
    + "D11*\nX0Y0D03*\nM02*\n",
    "moire_macro": HEAD.replace("%ADD10C,0.050000*%", MOIRE) + "D11*\nX0Y0D03*\nM02*\n",
    "variable_polygon": HEAD.replace("%ADD10C,0.050000*%", "%AMBIG*5,1,$1,0,0,1,0*%\n%ADD11BIG,90000000*%")
    + "D11*\nX0Y0D03*\nM02*\n",
    # coordinates without an operation code repeat the last one (a flash): 2000 x 2000 copies of 201
    "repeat_modal_coordinates": HEAD
    + "%SRX2000Y2000I0.1J0.1*%\nD10*\nX0Y0D03*\n"
    + "".join(f"X{i * 1000}Y0*\n" for i in range(200))
    + "%SR*%\nM02*\n",
    # a macro of 2,000 circles flashed 20,000 times: 40 million shapes from 400 kB
    "macro_flashed_often": HEAD.replace(
        "%ADD10C,0.050000*%",
        "%AMMANY*" + "".join(f"1,1,0.01,{i * 0.02:.2f},0*" for i in range(2000)) + "%\n%ADD11MANY*%",
    )
    + "D11*\n"
    + "".join(f"X{(i % 1000) * 100000}Y{(i // 1000) * 100000}D03*\n" for i in range(20000))
    + "M02*\n",
    # block apertures, each flashing the one before 20 times: 20^8 flashes
    "nested_blocks": HEAD
    + "%ABD100*%\nD10*\n"
    + "".join(f"X{i * 100000}Y0D03*\n" for i in range(20))
    + "%AB*%\n"
    + "".join(
        f"%ABD{k}*%\nD{k - 1}*\n" + "".join(f"X0Y{i * 100000}D03*\n" for i in range(20)) + "%AB*%\n"
        for k in range(101, 108)
    )
    + "D107*\nX0Y0D03*\nM02*\n",
}
SIZES = {"macro_flashed_often": 500_000, "repeat_modal_coordinates": 3000, "nested_blocks": 3000}
COUNTS = {
    "repeat_modal_coordinates": 2000 * 2000 * 201,
    "macro_flashed_often": 2000 * 20000,
    "nested_blocks": 20**8,
}


def _capped() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))


@pytest.mark.parametrize("kind", sorted(BOMBS))
def test_gerber_bombs_are_refused_under_a_memory_cap(tmp_path, kind):
    path = _stencil(tmp_path, BOMBS[kind], f"{kind}.gbr")
    assert os.path.getsize(path) < SIZES.get(kind, 1000)
    r = subprocess.run(
        [sys.executable, "-m", "stencilgen", "check", RING, "--layer", "9/0", "--stencil", path],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        preexec_fn=_capped,
    )
    assert r.returncode == 3, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"Error: {path}: "), r.stderr
    if kind != "moire_macro":  # (gerbonara cannot draw a moire: unreadable, before any expansion)
        assert lines[0].startswith(f"Error: {path}: refused: "), r.stderr
    if kind in COUNTS:
        assert f"{COUNTS[kind]:,} shapes" in lines[0] and "--max-contacts" in lines[0], lines[0]


def test_a_legal_block_aperture_and_macro_are_counted_not_refused(tmp_path):
    """Under the ceiling, block apertures and macros are read: 3 flashes of a block of 2 circles."""
    text = HEAD + "%AMTWO*1,1,0.05,0,0*1,1,0.05,0.2,0*%\n%ADD11TWO*%\n%ABD12*%\nD11*\nX0Y0D03*\n%AB*%\n"
    text += "D12*\n" + "".join(f"X{i * 1000000}Y0D03*\n" for i in range(3)) + "M02*\n"
    path = _stencil(tmp_path, text)
    shapes = read_stencil(path)
    assert len(shapes) == 6
    assert sorted(round(s.centroid.x, 1) for s in shapes) == [0, 200, 1000, 1200, 2000, 2200]
    with pytest.raises(InputError, match="refused: expands to 6 shapes"):
        _read(path, max_shapes=5)


def test_arcs_of_a_huge_radius_are_cut_no_finer_than_a_ceiling():
    """An arc read back from KLayout's chords is cut into at most MAX_CHORD_PIECES per chord, however
    large its radius (a Gerber region of a 10 m circle does not become millions of points)."""
    from stencilgen.model import Polygons
    from stencilgen.readers.stencil import MAX_CHORD_PIECES, round_arcs

    r = 1e7
    t = np.radians(np.arange(32) * 360 / 32)
    circle = Polygons.from_list([np.column_stack([r * np.cos(t), r * np.sin(t)])])
    out = round_arcs(circle)
    assert 32 * 2 < len(out.coords) <= 32 * MAX_CHORD_PIECES
    assert np.allclose(np.hypot(out.coords[:, 0], out.coords[:, 1]), r, rtol=1e-9)


@pytest.mark.parametrize(
    "body",
    [b"\xe7\xff\xfe*\n", b"D10*\nX0Y0D03*\n\xc3\x28Q*\n"],
    ids=["at_the_start", "after_a_flash"],
)
def test_a_gerber_with_bytes_that_are_not_text_is_one_error(tmp_path, body):
    """KLayout's message quoting bytes that are not UTF-8 is still one line naming the file, exit 3."""
    path = tmp_path / "s.gbr"
    path.write_bytes(b"%FSLAX46Y46*%\n%MOMM*%\n%ADD10C,0.05*%\n" + body + b"M02*\n")
    r = subprocess.run(
        [sys.executable, "-m", "stencilgen", "check", RING, "--layer", "9/0", "--stencil", str(path), "-q"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 3, r.stderr
    assert lines == [f"Error: {path}: not a readable Gerber file (it holds bytes that are not text)"], r.stderr


def test_a_stencil_layer_of_lines_only_has_no_apertures(tmp_path):
    import ezdxf

    doc = ezdxf.new()
    doc.header["$INSUNITS"] = 13
    doc.modelspace().add_line((0, 0), (100, 100), dxfattribs={"layer": "STENCIL"})
    path = str(tmp_path / "lines.dxf")
    doc.saveas(path)
    with pytest.raises(InputError, match=r"lines\.dxf: no apertures: nothing closed"):
        _read(path)
