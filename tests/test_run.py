"""plan_file writes the stencil files in a second process: its errors reach the caller, and a run that
fails leaves the previous set of files as it was."""

from __future__ import annotations

import os

import pytest

from stencilgen.errors import OutputError
from stencilgen.rules import Rules
from stencilgen.run import Options, plan_file

SAMPLE = os.path.join(os.path.dirname(__file__), "..", "sample_layouts", "ring_100um.gds")
#: a layout planned in under a second, for the tests of what a run leaves in its folder
QUICK = os.path.join(os.path.dirname(__file__), "..", "sample_layouts", "area_array.gds")


def test_all_outputs_written(tmp_path) -> None:
    result = plan_file(SAMPLE, str(tmp_path), Rules(), Options(layer="9/0"))
    names = sorted(os.listdir(tmp_path))
    assert names == sorted(os.path.basename(p) for p in result.outputs.values())
    assert all(os.path.getsize(tmp_path / n) > 0 for n in names)


def test_a_failing_stencil_writer_leaves_no_report(tmp_path, monkeypatch) -> None:
    import stencilgen.writers.gerber as gerber

    def broken(path, *args, **kwargs):
        raise OutputError(f"{path}: cannot be written (disk full)")

    monkeypatch.setattr(gerber, "gerber_parts", broken)  # the forked writer inherits it
    with pytest.raises(OutputError, match="disk full"):
        plan_file(SAMPLE, str(tmp_path), Rules(), Options(layer="9/0"))
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("fails", ["json", "html"])
def test_a_failing_report_leaves_the_previous_set_as_it_was(tmp_path, monkeypatch, fails) -> None:
    """A run that fails puts no file of its set in place (the stencil files were whole, but a set
    without its report is not what a CI step should pick up): the previous set stays, byte for byte,
    and so do files it does not write."""
    import stencilgen.api as api

    def broken(files, *args, **kwargs):
        raise OutputError(f"{files.targets['json']}: cannot be written (disk full)")

    (tmp_path / "notes.txt").write_text("mine")
    plan_file(QUICK, str(tmp_path), Rules(), Options(layer="9/0"))
    before = {n: (tmp_path / n).read_bytes() for n in os.listdir(tmp_path)}
    monkeypatch.setattr(api, "_write_json" if fails == "json" else "_write_html", broken)
    with pytest.raises(OutputError, match="disk full"):
        plan_file(QUICK, str(tmp_path), Rules(), Options(layer="9/0", creation_date="2030-01-01T00:00:00Z"))
    assert {n: (tmp_path / n).read_bytes() for n in os.listdir(tmp_path)} == before


def test_a_dxf_part_is_named_after_its_file(tmp_path) -> None:
    """A DXF has no cells: the Gerber's attributes and the GDS cell take the file's stem."""
    import gdstk

    sample = os.path.join(os.path.dirname(__file__), "..", "sample_layouts", "die_mm_blocks.dxf")
    plan_file(sample, str(tmp_path), Rules(), Options(layer="PADS"))
    gbr = (tmp_path / "die_mm_blocks.gbr").read_text()
    assert "%TF.ProjectId,die_mm_blocks,die_mm_blocks,1*%" in gbr
    assert "%TO.P,die_mm_blocks," in gbr and "modelspace" not in gbr
    assert [c.name for c in gdstk.read_gds(str(tmp_path / "die_mm_blocks.gds")).top_level()] == ["die_mm_blocks"]
