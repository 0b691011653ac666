"""plan_file writes the stencil files in a second process: its errors reach the caller, and a run that
fails leaves no part of its set of files."""

from __future__ import annotations

import os

import pytest

from stencilgen.errors import OutputError
from stencilgen.rules import Rules
from stencilgen.run import Options, plan_file

SAMPLE = os.path.join(os.path.dirname(__file__), "..", "sample_layouts", "ring_100um.gds")


def test_all_outputs_written(tmp_path) -> None:
    result = plan_file(SAMPLE, str(tmp_path), Rules(), Options(layer="9/0"))
    names = sorted(os.listdir(tmp_path))
    assert names == sorted(os.path.basename(p) for p in result.outputs.values())
    assert all(os.path.getsize(tmp_path / n) > 0 for n in names)


def test_a_failing_stencil_writer_leaves_no_report(tmp_path, monkeypatch) -> None:
    import stencilgen.writers.gerber as gerber

    def broken(path, *args, **kwargs):
        raise OutputError(f"{path}: cannot be written (disk full)")

    monkeypatch.setattr(gerber, "write_gerber", broken)  # the forked writer inherits it
    with pytest.raises(OutputError, match="disk full"):
        plan_file(SAMPLE, str(tmp_path), Rules(), Options(layer="9/0"))
    left = os.listdir(tmp_path)
    assert not [n for n in left if n.endswith((".json", ".html", ".gbr"))], left


@pytest.mark.parametrize("fails", ["json", "html"])
def test_a_failing_report_leaves_no_stencil_and_files_found_stay(tmp_path, monkeypatch, fails) -> None:
    """A run that fails leaves no part of its set (the stencil files were whole, but a set without its
    report is not what a CI step should pick up); files it did not write are left alone."""
    import stencilgen.api as api

    def broken(path, *args, **kwargs):
        raise OutputError(f"{path}: cannot be written (disk full)")

    monkeypatch.setattr(api, "_write_json" if fails == "json" else "_write_html", broken)
    (tmp_path / "notes.txt").write_text("mine")
    (tmp_path / "ring_100um.gds").write_text("an earlier run's, about to be replaced")
    with pytest.raises(OutputError, match="disk full"):
        plan_file(SAMPLE, str(tmp_path), Rules(), Options(layer="9/0"))
    assert sorted(os.listdir(tmp_path)) == ["notes.txt"]
    # no GDS asked for: the one that was there stays
    monkeypatch.setattr(api, "_write_json", broken)
    (tmp_path / "ring_100um.gds").write_text("an earlier run's")
    with pytest.raises(OutputError, match="disk full"):
        plan_file(SAMPLE, str(tmp_path), Rules(), Options(layer="9/0", formats=("gerber",)))
    assert sorted(os.listdir(tmp_path)) == ["notes.txt", "ring_100um.gds"]
    assert (tmp_path / "ring_100um.gds").read_text() == "an earlier run's"


def test_a_dxf_part_is_named_after_its_file(tmp_path) -> None:
    """A DXF has no cells: the Gerber's attributes and the GDS cell take the file's stem."""
    import gdstk

    sample = os.path.join(os.path.dirname(__file__), "..", "sample_layouts", "die_mm_blocks.dxf")
    plan_file(sample, str(tmp_path), Rules(), Options(layer="PADS"))
    gbr = (tmp_path / "die_mm_blocks.gbr").read_text()
    assert "%TF.ProjectId,die_mm_blocks,die_mm_blocks,1*%" in gbr
    assert "%TO.P,die_mm_blocks," in gbr and "modelspace" not in gbr
    assert [c.name for c in gdstk.read_gds(str(tmp_path / "die_mm_blocks.gds")).top_level()] == ["die_mm_blocks"]
