"""Golden cases: every sample layout listed in sample_layouts/expected.json is read as it says."""

from __future__ import annotations

import json
import os

import pytest
from conftest import SAMPLES

from stencilgen.readers import read_layout
from stencilgen.report import inspect_report
from stencilgen.rows import find_layout_rows

with open(os.path.join(SAMPLES, "expected.json")) as fh:
    EXPECTED = json.load(fh)


def test_every_sample_has_an_expectation():
    layouts = {f for f in os.listdir(SAMPLES) if f.endswith((".gds", ".dxf", ".oas"))}
    assert layouts == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_sample(name):
    want = EXPECTED[name]
    layout = read_layout(os.path.join(SAMPLES, name), layer=want["layer"])
    doc = inspect_report(layout, find_layout_rows(layout.contacts, layout.instances))
    assert doc["contacts"] == want["contacts"]
    assert len(doc["rows"]) == want["rows"]
    assert len(doc["arrays"]) == want["arrays"]
    assert doc["isolated"] == want["isolated"]
    if "pitches" in want:
        assert sorted(r["pitch_um"] for r in doc["rows"]) == pytest.approx(sorted(want["pitches"]), rel=0.01)
    if "corners" in want:
        assert len(doc["corners"]) == want["corners"]
    if "staggered" in want:
        assert len(doc["staggered"]) == want["staggered"]
    if "array_lines" in want:
        assert sorted(doc["arrays"][0]["lines"]) == sorted(want["array_lines"])
