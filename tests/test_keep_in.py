"""Rule 8's default keep-in: the extent drawn in the cell on all layers, where it reaches beyond the
contacts; none for a bare pad layout; `--keep-in none` turns it off."""

from __future__ import annotations

import json
import os

import gdstk
import numpy as np
import pytest
import shapely
import synth
from test_cli import run

import stencilgen
from stencilgen.geometry import to_shapely
from stencilgen.planner import aperture_polygons
from stencilgen.report import load_report

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _die(path: str, edge: float | None) -> None:
    """A ring of 60 x 100 um pads at 100 um; with `edge`, a seal-ring frame on 39/0 that far outside
    the pads' outer edges."""
    die = synth.ring(side=2000.0, pitch=100.0, count=15, pad=(60.0, 100.0))
    lib = gdstk.Library(unit=1e-6, precision=1e-9)
    cell = lib.new_cell("DIE")
    polys = die.polygons()
    for p in polys:
        cell.add(gdstk.Polygon(p, 9, 0))
    if edge is not None:
        pts = np.concatenate(polys)
        lo, hi = pts.min(axis=0) - edge, pts.max(axis=0) + edge
        outer = gdstk.rectangle(tuple(lo), tuple(hi))
        inner = gdstk.rectangle(tuple(lo + 10), tuple(hi - 10))
        for frame in gdstk.boolean(outer, inner, "not", layer=39, datatype=0):
            cell.add(frame)
    lib.write_gds(path)


def _apertures(planned) -> np.ndarray:
    polys = aperture_polygons(planned.plan.apertures)
    have = np.flatnonzero(polys.counts > 0)
    return to_shapely(polys, have)


def test_default_keep_in_is_the_drawn_extent(tmp_path):
    path = str(tmp_path / "die.gds")
    _die(path, edge=60.0)
    layout = stencilgen.read_layout(path, layer="9/0")
    free = stencilgen.plan(layout, keep_in="none")
    kept = stencilgen.plan(layout)
    pts = layout.contacts.polygons.coords
    extent = shapely.box(*(pts.min(axis=0) - 60.0), *(pts.max(axis=0) + 60.0))
    inner = shapely.buffer(extent, -20.0, join_style="mitre")
    # without a keep-in, outward tips run past the die edge; by default every aperture stays inside it
    assert not shapely.contains(inner, _apertures(free)).all()
    assert shapely.contains(inner, _apertures(kept)).all()
    assert kept.summary["keep_in"]["source"] == "extent of the cell on all layers"
    np.testing.assert_allclose(kept.summary["keep_in"]["bbox_um"], extent.bounds, atol=1e-3)
    assert kept.summary["findings_by_code"].get("keep_in", 0) == 0
    assert free.summary["keep_in"]["source"] == "none"


def test_bare_pad_layout_has_no_keep_in(tmp_path):
    path = str(tmp_path / "pads.gds")
    _die(path, edge=None)
    planned = stencilgen.plan(stencilgen.read_layout(path, layer="9/0"))
    assert planned.summary["keep_in"] == {"source": "none (nothing drawn beyond the contacts)", "bbox_um": None}


def test_keep_in_none_on_the_command_line(tmp_path):
    path = str(tmp_path / "die.gds")
    _die(path, edge=60.0)
    out = tmp_path / "out"
    r = run("plan", path, "--layer", "9/0", "-o", str(out), "--keep-in", "none", "--formats", "gds")
    assert r.returncode in (0, 1), r.stderr
    assert json.load(open(out / "die.json"))["summary"]["keep_in"]["source"] == "none"
    r = run("plan", path, "--layer", "9/0", "-o", str(out), "--formats", "gds")
    doc = load_report(out / "die.json")
    assert doc["summary"]["keep_in"]["source"] == "extent of the cell on all layers"


def test_an_extent_that_hugs_the_contacts_still_holds_every_aperture(tmp_path):
    """A die whose edge lies closer to its pads than edge_margin_um (10 um): the extent stays the keep-in
    (rule 8: a tip never hangs off the die), the planner's margin ending at the contacts, so that no
    aperture reaches nearer the edge than the contacts themselves do; the apertures that come within
    edge_margin_um of the drawn edge are keep_in errors, each with its distance, not passed silently.
    The report gives the drawn extent and says so; check of the plan's own stencil finds the same."""
    import shapely

    path = str(tmp_path / "edge.gds")
    _die(path, edge=10.0)
    planned = stencilgen.plan(stencilgen.read_layout(path, layer="9/0"))
    keep_in = planned.summary["keep_in"]
    assert keep_in["source"].startswith("extent of the cell on all layers (the contacts lie within edge_margin_um")
    pts = planned.plan.contacts.polygons.coords
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    drawn = [lo[0] - 10, lo[1] - 10, hi[0] + 10, hi[1] + 10]
    assert keep_in["bbox_um"] == pytest.approx(drawn)
    ap = _apertures(planned)
    assert len(ap) == len(planned.plan.contacts)
    assert shapely.contains(shapely.box(*lo, *hi).buffer(1e-6), ap).all()
    # each aperture's distance to the drawn edge: under edge_margin_um exactly where keep_in is found
    gap = shapely.distance(shapely.boundary(shapely.box(*drawn)), ap)
    found = {f["contact"]: f for f in planned.findings if f["code"] == "keep_in"}
    have = np.flatnonzero(aperture_polygons(planned.plan.apertures).counts > 0)
    near = {int(c) for c, g in zip(have, gap, strict=True) if g < planned.rules.edge_margin_um - 1e-6}
    assert near and set(found) == near and planned.exit_code == 1
    assert all(f["severity"] == "error" for f in found.values())
    out = tmp_path / "o"
    planned.write(out, formats=("gds",))
    checked = stencilgen.check(stencilgen.read_layout(path, layer="9/0"), str(out / "edge.gds"))
    assert {f["contact"] for f in checked.findings if f["code"] == "keep_in"} == near


@pytest.mark.parametrize(
    "rel, layer",
    [
        ("sample_layouts/ring_100um.gds", "9/0"),  # rotated references and an array
        ("sample_layouts/rotated_mixed_pitch.gds", "9/0"),  # turned 17.5 deg and mirrored: off the grid
        ("sample_layouts/wafer_5x4.gds", "9/0"),  # an element cell arrayed: its own box too
        ("sample_layouts/area_array.gds", "9/0"),
        ("realworld:ihp_ac3e_padring_28pads/AC3E_pad_ring_esd.gds", "9/0"),
        ("realworld:sky130_gpiov2_pad/sky130_fd_io__overlay_gpiov2.gds", "76/20"),
    ],
)
def test_gdsii_extent_read_with_numpy_equals_klayouts(rel, layer, realworld):
    """The default keep-in of a plain GDSII file is measured from the stream with numpy; KLayout, an
    independent reader, measures the same boxes (the die's and the element cell's) on the database grid."""
    from stencilgen import readers

    path = os.path.join(realworld, rel.split(":", 1)[1]) if rel.startswith("realworld:") else os.path.join(ROOT, rel)
    layout = stencilgen.read_layout(path, layer=layer)
    ours = readers._stream_extent(layout)
    assert ours is not None and ours.box is not None
    klayout_box, klayout_element = _klayout_extent(path, layout)
    assert ours.box == klayout_box
    assert ours.element_box == klayout_element
    assert readers.read_extent(layout) == ours


def _klayout_extent(path, layout):
    import klayout.db as db

    ly = db.Layout()
    ly.read(path)
    top = ly.cell(layout.cell)
    b = top.dbbox()
    box = (b.left, b.bottom, b.right, b.top)
    element = None
    if layout.instances is not None:
        li = ly.find_layer(*(int(x) for x in layout.layer.split("/")))
        holders = [ly.cell(ci) for ci in top.called_cells() if not ly.cell(ci).shapes(li).is_empty()]
        e = holders[0].dbbox()
        element = (e.left, e.bottom, e.right, e.top)
    return box, element
