"""A wafer's DXF: the die's apertures once in block DIE, placed by a MINSERT (a regular grid) or an INSERT
each; exploded by ezdxf it is the flat DXF of the same plan, and KLayout reads the same apertures."""

from __future__ import annotations

import os

import ezdxf
import numpy as np
import pytest
import validators
from conftest import SAMPLES

import stencilgen
from stencilgen.writers.dxf import die_placements, dxf_parts

WAFER = os.path.join(SAMPLES, "wafer_5x4.gds")


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    out = tmp_path_factory.mktemp("blocks")
    planned = stencilgen.plan(stencilgen.read_layout(WAFER, layer="9/0"))
    assert planned.plan.element is not None
    paths = planned.write(str(out), formats=("dxf",))
    flat = out / "flat.dxf"
    flat.write_text("".join(dxf_parts(planned.plan.apertures)))  # the same apertures, every one drawn
    return paths["dxf"], str(flat), planned


def _outlines(entities) -> list[tuple]:
    out = []
    for e in entities:
        assert e.dxftype() == "LWPOLYLINE" and e.closed and e.dxf.layer == "STENCIL"
        pts = np.round(np.array(e.get_points("xyb")), 6) + 0.0
        out.append(tuple(map(tuple, pts.tolist())))
    return sorted(out)


def test_the_die_is_a_block_placed_by_one_minsert(written):
    path, _flat, planned = written
    errors, fixes, entities = validators.ezdxf_strict(path)
    assert errors == 0 and fixes == 0
    (insert,) = entities
    assert insert.dxftype() == "INSERT" and insert.dxf.name == "DIE"
    assert (insert.dxf.column_count, insert.dxf.row_count) == (5, 4)
    assert (insert.dxf.column_spacing, insert.dxf.row_spacing) == pytest.approx((2.1, 2.1))
    doc = ezdxf.readfile(path)
    assert len(doc.blocks.get("DIE")) == len(planned.plan.element.outlines)
    assert os.path.getsize(path) * 5 < os.path.getsize(_flat)


def test_exploded_by_ezdxf_it_is_the_flat_dxf(written):
    path, flat, _planned = written
    doc = ezdxf.readfile(path)
    inserts = [one for ins in doc.modelspace().query("INSERT") for one in ins.multi_insert()]
    exploded = [e for one in inserts for e in one.virtual_entities()]
    want = _outlines(ezdxf.readfile(flat).modelspace())
    assert len(want) == 20 * 68
    got = _outlines(exploded)
    assert len(got) == len(want)
    for a, b in zip(got, want, strict=True):
        np.testing.assert_allclose(np.array(a), np.array(b), atol=2e-6)


def test_klayout_reads_the_block_as_the_flat_drawing(written):
    path, flat, _planned = written
    a, b = validators.klayout_dxf(path), validators.klayout_dxf(flat)
    assert a.count == b.count == 20 * 68
    # (KLayout cuts each arc into chords on its 1 nm grid: once in the block, or where each copy lies)
    np.testing.assert_allclose(a.areas_um2, b.areas_um2, rtol=1e-4)
    np.testing.assert_allclose(a.centers, b.centers, atol=1e-3)


def test_check_reads_the_block(written):
    path, flat, _planned = written
    ring = stencilgen.read_layout(WAFER, layer="9/0")
    a, b = stencilgen.check(ring, path), stencilgen.check(ring, flat)
    assert a.summary["findings_by_code"] == b.summary["findings_by_code"] and a.stray == []
    np.testing.assert_allclose(a.column("aperture_area_um2"), b.column("aperture_area_um2"), rtol=1e-4)


def test_placements_off_a_grid_are_an_insert_each():
    t = np.zeros((3, 2, 3))
    t[:, 0, 0] = t[:, 1, 1] = 1.0
    t[:, :, 2] = [(0.0, 0.0), (1000.0, 0.0), (0.0, 2500.0)]  # an L: no full grid
    placed = die_placements(None, t)  # type: ignore[arg-type]
    assert placed is not None and placed.grid is None and len(placed.shifts) == 3
    t[1, :, :2] = [[-1.0, 0.0], [0.0, 1.0]]  # mirrored: drawn flat
    assert die_placements(None, t) is None  # type: ignore[arg-type]
