"""Rule 8's default keep-in: the extent drawn in the cell on all layers, where it reaches beyond the
contacts; none for a bare pad layout, whose apertures are held within its contacts' extent where there is
room; `--keep-in none` turns it off."""

from __future__ import annotations

import json
import os

import gdstk
import numpy as np
import pytest
import shapely
import synth
from hypothesis import given, settings
from hypothesis import strategies as st
from test_cli import run

import stencilgen
from stencilgen.geometry import to_shapely
from stencilgen.planner import aperture_polygons
from stencilgen.report import load_report, plan_text

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _die(path: str, edge: float | None, layer: tuple[int, int] = (39, 0), width: float = 10.0) -> None:
    """A ring of 60 x 100 um pads at 100 um; with `edge`, a seal-ring frame `width` wide on `layer`
    whose outer edge lies that far outside the pads' outer edges."""
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
        inner = gdstk.rectangle(tuple(lo + width), tuple(hi - width))
        for frame in gdstk.boolean(outer, inner, "not", layer=layer[0], datatype=layer[1]):
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


def test_bare_pad_layout_has_no_keep_in_but_holds_its_apertures_within_its_contacts(tmp_path):
    """A bare pad layout (nothing drawn beyond its contacts) has no keep-in, but its die edge cannot lie
    far beyond its outermost contacts (a tip never hangs off the die silently): by default its apertures
    stay within the contacts' extent, as with --keep-in contacts."""
    path = str(tmp_path / "pads.gds")
    _die(path, edge=None)
    layout = stencilgen.read_layout(path, layer="9/0")
    planned = stencilgen.plan(layout)
    held = stencilgen.plan(layout, keep_in="contacts")
    pts = layout.contacts.polygons.coords
    box = shapely.box(*pts.min(axis=0), *pts.max(axis=0))
    keep_in = planned.summary["keep_in"]
    assert keep_in["source"] == "none (nothing drawn beyond the contacts)" and keep_in["bbox_um"] is None
    np.testing.assert_allclose(keep_in["held_within_um"], box.bounds, atol=1e-3)
    assert shapely.contains(box.buffer(1e-6, join_style="mitre"), _apertures(planned)).all()
    np.testing.assert_array_equal(planned.plan.apertures.area, held.plan.apertures.area)


def test_keep_in_contacts_holds_a_bare_layouts_apertures_within_its_contacts(tmp_path):
    """--keep-in contacts: no keep-in (no rule-8 break can be found), but the apertures stay within the
    contacts' extent where the ring leaves them room inward: the outer tips turn in, and what the extent
    limits is reported as "extent"; `--keep-in none` lets them run past it."""
    path = str(tmp_path / "pads.gds")
    _die(path, edge=None)
    layout = stencilgen.read_layout(path, layer="9/0")
    planned = stencilgen.plan(layout, keep_in="contacts")
    free = stencilgen.plan(layout, keep_in="none")
    pts = layout.contacts.polygons.coords
    box = shapely.box(*pts.min(axis=0), *pts.max(axis=0))
    keep_in = planned.summary["keep_in"]
    assert keep_in["bbox_um"] is None and keep_in["source"].startswith("none (the apertures held within")
    np.testing.assert_allclose(keep_in["held_within_um"], box.bounds, atol=1e-3)
    assert not shapely.contains(box, _apertures(free)).all()
    assert shapely.contains(box.buffer(1e-6, join_style="mitre"), _apertures(planned)).all()
    assert "keep_in" not in planned.summary["findings_by_code"]
    assert planned.exit_code == 0
    ap = planned.plan.apertures
    assert (ap.side_by == "extent").sum() >= 20  # the outward tips turned inward
    turned = [f for f in planned.findings if f["code"] == "same_side" and f["limited_by"] == "extent"]
    assert turned and "contacts' extent" in turned[0]["message"]
    out = tmp_path / "out"
    r = run("plan", path, "--layer", "9/0", "-o", str(out), "--keep-in", "contacts", "--formats", "gerber")
    assert r.returncode == 0, r.stderr
    assert load_report(out / "pads.json")["summary"]["keep_in"] == keep_in


def test_a_single_bare_row_keeps_its_strips_room_across(tmp_path):
    """One row of pads held within its contacts: their extent across the row is one pad long, so it holds
    nothing across (the strips reach beyond it as without a keep-in), but the row's ends hold."""
    path = str(tmp_path / "row.gds")
    lib = gdstk.Library(unit=1e-6, precision=1e-9)
    cell = lib.new_cell("ROW")
    for k in range(12):
        cell.add(gdstk.rectangle((k * 100.0, 0.0), (k * 100.0 + 60.0, 100.0), layer=9))
    lib.write_gds(path)
    layout = stencilgen.read_layout(path, layer="9/0")
    planned = stencilgen.plan(layout, keep_in="contacts")
    free = stencilgen.plan(layout, keep_in="none")
    held = planned.summary["keep_in"]["held_within_um"]
    assert held[0] == pytest.approx(0.0) and held[2] == pytest.approx(1160.0)
    assert held[1] < -1e5 and held[3] > 1e5
    ap, ap_free = planned.plan.apertures, free.plan.apertures
    np.testing.assert_allclose(ap.area, ap_free.area)
    bounds = shapely.bounds(_apertures(planned))
    assert (bounds[:, 1] < 0).any() and (bounds[:, 3] > 100).any()  # tips on both sides of the row
    assert planned.exit_code == free.exit_code
    # by default (nothing drawn beyond the pads) the same, and the summary says the extent holds nothing across
    default = stencilgen.plan(layout)
    np.testing.assert_allclose(default.plan.apertures.area, ap.area)
    assert "none across a span under three contact lengths" in plan_text(default.report)


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
    r = run("plan", path, "--layer", "9/0", "-o", str(out), "--keep-in", "AUTO", "--formats", "gds")
    assert r.returncode in (0, 1), r.stderr
    assert load_report(out / "die.json")["summary"]["keep_in"] == doc["summary"]["keep_in"]


def test_an_extent_that_hugs_the_contacts_cuts_the_apertures_at_the_margin(tmp_path):
    """A die whose edge lies closer to its pads than edge_margin_um (10 um): the extent stays the keep-in
    (rule 8: a tip never hangs off the die), and the apertures of the contacts within the margin end at
    it: each still touches its contact, every aperture stays inside the extent less edge_margin_um, no
    keep_in error is found, by the plan's checks or by check of its own stencil re-read."""
    path = str(tmp_path / "edge.gds")
    _die(path, edge=10.0)
    layout = stencilgen.read_layout(path, layer="9/0")
    planned = stencilgen.plan(layout)
    keep_in = planned.summary["keep_in"]
    assert keep_in["source"].startswith("extent of the cell on all layers (contacts lie within edge_margin_um")
    pts = planned.plan.contacts.polygons.coords
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    drawn = [lo[0] - 10, lo[1] - 10, hi[0] + 10, hi[1] + 10]
    assert keep_in["bbox_um"] == pytest.approx(drawn)
    ap = _apertures(planned)
    assert len(ap) == len(planned.plan.contacts)
    inner = shapely.box(*drawn).buffer(-planned.rules.edge_margin_um, join_style="mitre")
    assert shapely.contains(inner.buffer(1e-6, join_style="mitre"), ap).all()
    # the outer contacts' straight strips end at the margin (an oblique corner strip's far end stays
    # inside its contact)
    gap = shapely.distance(shapely.boundary(inner), ap)
    contacts = to_shapely(layout.contacts.polygons)
    edge_row = shapely.distance(shapely.boundary(shapely.box(*drawn)), contacts) < planned.rules.edge_margin_um
    straight = ~planned.plan.apertures.corner
    assert (edge_row & straight).sum() >= 40 and (gap[edge_row & straight] < 0.05).all()
    assert shapely.intersects(ap, contacts).all()
    assert "keep_in" not in planned.summary["findings_by_code"]
    assert planned.exit_code == 0
    out = tmp_path / "o"
    planned.write(out, formats=("gds", "gerber", "dxf"))
    for stencil in ("edge.gds", "edge.gbr", "edge.dxf"):
        checked = stencilgen.check(layout, str(out / stencil))
        assert not [f for f in checked.findings if f["code"] in ("keep_in", "unprintable", "no_aperture")]


def test_a_pad_near_the_edge_is_cut_at_the_margin_and_grown_on_its_free_sides(tmp_path):
    """A 40 x 40 um pad 5 um from the drawn edge (edge_margin_um 20): its aperture is the pad grown by b
    on every side and cut 20 um from the edge, b such that the cut shape reaches volume_target, hand
    computed from (40 + 2 b) (40 - 15 + b) = A_target: more than the 8 um an uncut pad would take."""
    from stencilgen.physics import target_area

    s, e = 40.0, 5.0
    lib = gdstk.Library(unit=1e-6, precision=1e-9)
    cell = lib.new_cell("DIE")
    cell.add(gdstk.rectangle((0, e), (s, e + s), layer=9, datatype=0))
    cell.add(gdstk.rectangle((-500, 0), (500, 1000), layer=39, datatype=0))
    path = str(tmp_path / "pad.gds")
    lib.write_gds(path)
    layout = stencilgen.read_layout(path, layer="9/0")
    planned = stencilgen.plan(layout)
    rules = planned.rules
    a_t = float(target_area(layout.contacts.d[:1], rules, layout.contacts.cap(np.arange(1)))[0])
    cut = rules.edge_margin_um - e
    # 2 b^2 + (2 (s - cut) + s) b + s (s - cut) - A_t = 0
    q = 2 * (s - cut) + s
    b = (-q + np.sqrt(q * q - 8 * (s * (s - cut) - a_t))) / 4
    uncut = (np.sqrt(a_t) - s) / 2
    assert uncut + 5 < b < rules.overprint_max * s
    ap = _apertures(planned)[0]
    np.testing.assert_allclose(ap.bounds, (-b, rules.edge_margin_um, s + b, e + s + b), atol=0.05)
    assert ap.area == pytest.approx(a_t, rel=2e-3)
    assert planned.exit_code == 0 and not planned.summary["findings_by_code"]


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

    def drawn(cell):  # every shape flattened into the cell, on every layer: their box
        b = db.Box()
        for li in ly.layer_indexes():
            b += db.Region(cell.begin_shapes_rec(li)).bbox()
        b = b.to_dtype(ly.dbu)
        return (b.left, b.bottom, b.right, b.top)

    element = None
    if layout.instances is not None:
        li = ly.find_layer(*(int(x) for x in layout.layer.split("/")))
        holders = [ly.cell(ci) for ci in top.called_cells() if not ly.cell(ci).shapes(li).is_empty()]
        element = drawn(holders[0])
    return drawn(top), element


def test_a_pad_cell_with_no_room_inside_the_margin_is_unprintable_for_the_keep_in(tmp_path):
    """A pad cell whose extent is its 40 um pad and 5 um around it: the keep-in less edge_margin_um
    leaves a 10 um square, narrower than min_aperture_um: no aperture (rule 11), an error whose
    limited_by names the keep-in, so that the user knows which rule to relax; with --keep-in none the
    pad prints."""
    lib = gdstk.Library(unit=1e-6, precision=1e-9)
    cell = lib.new_cell("PAD")
    cell.add(gdstk.rectangle((-20, -20), (20, 20), layer=9, datatype=0))
    cell.add(gdstk.rectangle((-25, -25), (25, 25), layer=8, datatype=0))
    path = str(tmp_path / "padcell.gds")
    lib.write_gds(path)
    layout = stencilgen.read_layout(path, layer="9/0")
    planned = stencilgen.plan(layout)
    (finding,) = planned.findings
    assert (finding["code"], finding["severity"], finding["limited_by"]) == ("unprintable", "error", "keep_in")
    assert planned.exit_code == 1 and planned.plan.apertures.area[0] == 0
    assert planned.records[0]["aperture"] == "none"
    free = stencilgen.plan(layout, keep_in="none")
    assert free.exit_code == 0 and free.plan.apertures.area[0] > 40 * 40


def test_a_turned_die_gzipped_has_the_extent_of_its_shapes(tmp_path):
    """A gzipped file is measured by KLayout: a die placed turned by 17.5 deg has the box of its turned
    shapes (as the plain file's stream measure says), not the larger turned box of its cell."""
    import gzip
    import shutil

    from stencilgen import readers

    plain = os.path.join(ROOT, "sample_layouts", "rotated_mixed_pitch.gds")
    packed = str(tmp_path / "rotated.gds.gz")
    with open(plain, "rb") as src, gzip.open(packed, "wb") as dst:
        shutil.copyfileobj(src, dst)
    ours = readers.read_extent(stencilgen.read_layout(packed, layer="9/0"))
    assert ours == readers._stream_extent(stencilgen.read_layout(plain, layer="9/0"))
    pts = stencilgen.read_layout(plain, layer="9/0").contacts.polygons.coords
    np.testing.assert_allclose(ours.box, (*pts.min(axis=0), *pts.max(axis=0)), atol=2e-3)


def test_a_seal_ring_opening_on_the_pad_layer_is_kept_clear_of(tmp_path):
    """A frame on the pad layer 12-30 um outside the pads (a seal ring's opening) is no contact, but paste
    on it would short to the seal ring: every aperture keeps clearance_um from it, though the keep-in
    less its margin (10 um outside the pads) would let it nearer; check of the plan's own Gerber, DXF and
    GDS finds nothing near it, and check of a stencil drawn nearer it than clearance_um finds a `frame`
    error."""
    path = str(tmp_path / "framed.gds")
    _die(path, 30.0, (9, 0), 18.0)  # (from 12 to 30 um outside the pads)
    layout = stencilgen.read_layout(path, layer="9/0")
    assert len(layout.contacts) == 60 and any(e.shape is not None for e in layout.excluded)
    planned = stencilgen.plan(layout)
    rules = planned.rules
    pts = layout.contacts.polygons.coords
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    frame = shapely.box(*(lo - 30), *(hi + 30)).difference(shapely.box(*(lo - 12), *(hi + 12)))
    ap = _apertures(planned)
    assert len(ap) == 60
    gap = shapely.distance(frame, ap)
    assert gap.min() >= rules.clearance_um - 1e-6
    # (it holds them back: no tip has room outside the pads, where the frame's clearance ends 2 um
    # inside them; the rows turn their tips inward, and the strips end at the pads' outer edges)
    assert (planned.plan.apertures.side_by == "keep_in").sum() >= 24
    assert gap.min() == pytest.approx(12.0, abs=1e-6)
    assert "frame" not in planned.summary["findings_by_code"] and planned.exit_code == 0
    out = tmp_path / "o"
    planned.write(out, formats=("gds", "gerber", "dxf"))
    for stencil in ("framed.gds", "framed.gbr", "framed.dxf"):
        checked = stencilgen.check(layout, str(out / stencil))
        assert "frame" not in checked.summary["findings_by_code"], stencil
    # the same stencil against the same pads with the frame drawn 4 um nearer: too close to it
    near = str(tmp_path / "near.gds")
    _die(near, 30.0, (9, 0), 22.0)
    checked = stencilgen.check(stencilgen.read_layout(near, layer="9/0"), str(out / "framed.gbr"))
    assert checked.summary["findings_by_code"].get("frame", 0) >= 1 and checked.exit_code == 1
    bad = [f for f in checked.findings if f["code"] == "frame"]
    assert min(f["value"] for f in bad) == pytest.approx(gap.min() - 4.0, abs=0.05)


def test_a_bare_arrays_pads_stay_within_its_contacts_unless_the_keep_in_is_off():
    """The bare 10 x 10 bump array: no keep-in (rule 8), but its pad-shaped apertures stay within the
    contacts' extent. Neighbours 150 um apart (60 um bumps) share the 90 um between them: each grows
    25 um, leaving web_min_um (rule 9), and says `web`. With --keep-in none they grow past it, evenly."""
    layout = stencilgen.read_layout(os.path.join(ROOT, "sample_layouts", "area_array.gds"), layer="9/0")
    pts = layout.contacts.polygons.coords
    box = shapely.box(*pts.min(axis=0), *pts.max(axis=0))
    held = stencilgen.plan(layout)
    free = stencilgen.plan(layout, keep_in="none")
    assert held.summary["keep_in"]["bbox_um"] is None
    assert shapely.contains(box.buffer(1e-6, join_style="mitre"), _apertures(held)).all()
    assert not shapely.contains(box, _apertures(free)).all()
    ap = _apertures(held)
    # (the bumps are polygons: grown by 25 um their facets face each other at up to 40.5 um)
    assert 40.0 - 1e-3 <= shapely.distance(ap[0], ap[1]) <= 41.0
    assert 40.0 - 1e-3 <= shapely.distance(ap[0], ap[10]) <= 41.0
    assert (held.plan.apertures.limited_by == "web").all() and (free.plan.apertures.limited_by == "web").all()
    assert held.exit_code == 0 and not held.summary["findings_by_code"]


def _edge_die(path: str, pads: list[tuple[float, float, float, float]], outline: tuple[float, float, float, float]):
    lib = gdstk.Library(unit=1e-6, precision=1e-9)
    cell = lib.new_cell("DIE")
    for x0, y0, x1, y1 in pads:
        cell.add(gdstk.rectangle((x0, y0), (x1, y1), layer=9, datatype=0))
    cell.add(gdstk.rectangle(outline[:2], outline[2:], layer=39, datatype=0))
    lib.write_gds(path)


def _no_keep_in_or_sliver(layout, planned, out) -> None:
    """No keep_in or unprintable finding in the plan, nor in check of its own Gerber and DXF re-read."""
    bad = ("keep_in", "unprintable", "no_aperture", "not_on_contact")
    assert not set(bad) & set(planned.summary["findings_by_code"]), planned.summary["findings_by_code"]
    planned.write(out, formats=("gerber", "dxf"))
    for name in os.listdir(out):
        if name.endswith((".gbr", ".dxf")):
            checked = stencilgen.check(layout, str(out / name))
            assert not [f for f in checked.findings if f["code"] in bad], name


def test_a_strip_whose_contact_straddles_the_margin_slides_inside_it(tmp_path):
    """A row of 40 x 60 um pads at 80 um whose die edge runs along the first pad's left side: the
    margin (20 um) passes through that pad's middle. Its strip moves across its contact into the half
    inside the margin and narrows to fit it: that half less CUT_INSET_UM each side, and less the slack
    and inset the margin's cut keeps (rule 3 would give it 24 um); printable, touching its contact, inside the
    margin (its tip too); the other strips are as rule 3 sizes them, centred on their contacts."""
    from stencilgen.planner import KEEP_IN_SLACK_UM
    from stencilgen.planner.pads import CUT_INSET_UM

    path = str(tmp_path / "edge.gds")
    _edge_die(path, [(80.0 * k, 0.0, 80.0 * k + 40, 60.0) for k in range(8)], (0.0, -400.0, 1000.0, 400.0))
    layout = stencilgen.read_layout(path, layer="9/0")
    planned = stencilgen.plan(layout)
    margin = planned.rules.edge_margin_um
    ap = _apertures(planned)
    first = int(np.argmin(layout.contacts.center[:, 0]))
    x0, _y0, x1, _y1 = shapely.intersection(ap[first], shapely.box(0, 0, 40, 60)).bounds  # its body
    inside = margin + KEEP_IN_SLACK_UM + CUT_INSET_UM  # where the margin's cut keeps it
    assert x0 == pytest.approx(inside + CUT_INSET_UM, abs=1e-6)
    assert x1 == pytest.approx(40.0 - CUT_INSET_UM, abs=1e-6)
    assert planned.plan.apertures.width[first] == pytest.approx(40.0 - inside - 2 * CUT_INSET_UM, abs=1e-6)
    assert shapely.intersects(ap[first], to_shapely(layout.contacts.polygons)[first])
    others = np.setdiff1d(np.arange(len(ap)), [first])
    widths = np.array([g.bounds[2] - g.bounds[0] for g in ap[others]])
    centres = np.array([(g.bounds[0] + g.bounds[2]) / 2 for g in ap[others]])
    np.testing.assert_allclose(widths, 0.6 * 40.0, atol=1e-6)
    np.testing.assert_allclose(centres, layout.contacts.center[others, 0], atol=1e-6)
    assert shapely.contains(shapely.box(margin, -400 + margin, 1000 - margin, 400 - margin), ap).all()
    _no_keep_in_or_sliver(layout, planned, tmp_path / "o")


def test_a_pad_the_margin_cuts_is_shrunk_for_web_no_narrower_than_printable(tmp_path):
    """A 4 x 4 array of 40 um pads at 60 um: the pads shrink for the web (20 um gaps), to 20 um where
    two share a gap. The die edge runs along the left column's left sides, so the margin cuts those
    pads in half: shrunk as far they would be slivers; they stop where they are min_aperture_um wide
    (rule 11: the web stays a warning). Every pad is printed, none unprintable, and check of the
    stencil re-read finds the same."""
    from stencilgen.planner import inscribed

    path = str(tmp_path / "array.gds")
    pads = [(60.0 * i, 60.0 * j, 60.0 * i + 40, 60.0 * j + 40) for i in range(4) for j in range(4)]
    _edge_die(path, pads, (0.0, -300.0, 600.0, 500.0))
    layout = stencilgen.read_layout(path, layer="9/0")
    planned = stencilgen.plan(layout)
    rules = planned.rules
    ap = _apertures(planned)
    assert len(ap) == 16
    left = layout.contacts.center[:, 0] < 30
    wide = inscribed(ap)
    assert (wide[left] >= rules.min_aperture_um - 0.02).all() and (wide[left] < 19.0).all()
    assert (wide[~left] >= rules.min_aperture_um - 0.02).all()
    assert (shapely.bounds(ap[left])[:, 0] >= rules.edge_margin_um).all()
    assert "web" in planned.summary["findings_by_code"]
    _no_keep_in_or_sliver(layout, planned, tmp_path / "o")


def test_a_tip_the_margin_leaves_no_room_for_sinks_into_its_contact(tmp_path, monkeypatch):
    """Two facing rows of 45 x 70 um pads at 110 um, 40 um apart, the die edge 30 um below the lower
    row (10 um of room beyond its pads, edge_margin_um 20). The lower row's tips toward the edge have
    no room for a round end (13.5 um): as a plain strip they are below volume_min. In the needy round
    each sinks its tip into its contact, as wide as the rules allow: its centre inside the contact,
    reaching no farther than the margin, a bulb wider than the strip and narrower than the contact
    (rule 3), and its contact above volume_min. Without sunk tips those contacts stay below it."""
    import stencilgen.planner as planner

    path = str(tmp_path / "facing.gds")
    pads = [(110.0 * k, y, 110.0 * k + 45, y + 70) for k in range(10) for y in (0.0, 110.0)]
    _edge_die(path, pads, (-300.0, -30.0, 1300.0, 600.0))
    layout = stencilgen.read_layout(path, layer="9/0")
    planned = stencilgen.plan(layout)
    rules = planned.rules
    ap = planned.plan.apertures
    c = layout.contacts.center
    edge = np.flatnonzero((c[:, 1] < 100) & (ap.side == 1))  # the lower row's tips toward the die edge
    assert len(edge) == 5
    assert "under_volume" not in planned.summary["findings_by_code"]
    tip_d, reach = np.asarray(planned.column("tip_diameter_um"))[edge], np.asarray(planned.column("extension_um"))[edge]
    assert (reach < tip_d / 2 - 1.0).all()  # the tip's centre lies inside the contact
    assert (tip_d > ap.width[edge] + 1.0).all() and (tip_d < 45.0).all()
    shapes = _apertures(planned)
    margin = shapely.box(-300 + 20, -30 + 20, 1300 - 20, 600 - 20)
    assert shapely.contains(margin, shapes).all()
    assert (shapely.bounds(shapes[edge])[:, 1] < -9.0).all()  # reaching down to the margin
    assert (
        np.asarray(planned.column("volume_ratio"))[edge] * rules.transfer_efficiency_min / rules.transfer_efficiency
        >= rules.volume_min
    ).all()
    _no_keep_in_or_sliver(layout, planned, tmp_path / "o")
    monkeypatch.setattr(planner, "NEEDY_SINKS", ())
    plain = stencilgen.plan(layout)
    assert plain.summary["findings_by_code"].get("under_volume") == 5


@pytest.mark.parametrize("gap", [20.0, 25.0, 30.0])
def test_tips_turned_from_the_edge_toward_a_facing_row_never_merge(tmp_path, gap):
    """Two facing rows of 45 x 70 um pads at 110 um, `gap` um apart, the die edge 30 um below the lower
    row: the lower row's tips toward the edge have no room and turn toward the facing row, whose tips
    point back at them. Where the two round ends at their least come closer than min_aperture_um (or
    overlap: 25 um), that is a conflict to mend, not a web the contacts force (a thin web stays a
    warning): no two apertures touch, none comes within clearance_um of another contact, and the plan
    exits 0. (Tips turned to face each other once overlapped: merged and bridge errors.)"""
    path = str(tmp_path / "facing.gds")
    pads = [(110.0 * k, y, 110.0 * k + 45, y + 70) for k in range(10) for y in (0.0, 70.0 + gap)]
    _edge_die(path, pads, (-300.0, -30.0, 1300.0, 600.0))
    layout = stencilgen.read_layout(path, layer="9/0")
    planned = stencilgen.plan(layout)
    codes = planned.summary["findings_by_code"]
    assert "merged" not in codes and "bridge" not in codes and planned.exit_code == 0
    shapes = _apertures(planned)
    tree = shapely.STRtree(shapes)
    a, b = tree.query(shapes, predicate="dwithin", distance=1e-3)
    assert (a == b).all()
    contacts = to_shapely(layout.contacts.polygons)
    a, b = shapely.STRtree(contacts).query(shapes, predicate="dwithin", distance=planned.rules.clearance_um - 1e-6)
    assert (a == b).all()


@pytest.mark.parametrize("edge", [25.0, 60.0])
def test_a_box_keep_in_holds_the_apertures_as_the_same_outline_notched(tmp_path, edge):
    """A keep-in that is a box is tested on the strips' vertices, not their polygons: the plan is the
    one the same box gives with a notch far from every aperture (no box: every strip tested by GEOS),
    aperture for aperture; close to the pads (25 um: tips turned and cut at the margin) and farther."""
    path = str(tmp_path / "die.gds")
    _die(path, edge=None)
    layout = stencilgen.read_layout(path, layer="9/0")
    pts = layout.contacts.polygons.coords
    (x0, y0), (x1, y1) = pts.min(axis=0) - edge, pts.max(axis=0) + edge
    box = shapely.box(x0, y0, x1, y1)
    notched = shapely.difference(box, shapely.box(x0, y0, x0 + 30.0, y0 + 30.0))  # (the corner: nothing near)
    from stencilgen.geometry import box_bounds

    # (the notch outlasts the margin: the outline the planner holds the apertures in is no box)
    assert box_bounds(shapely.buffer(notched, -20.0)) is None and box_bounds(shapely.buffer(box, -20.0))
    by_box, by_geos = stencilgen.plan(layout, keep_in=box), stencilgen.plan(layout, keep_in=notched)
    a, b = by_box.plan.apertures, by_geos.plan.apertures
    assert np.array_equal(a.outlines.coords, b.outlines.coords) and np.array_equal(a.area, b.area)
    assert np.array_equal(a.side, b.side)
    assert shapely.contains(shapely.buffer(box, -20.0, join_style="mitre"), _apertures(by_box)).all()


@pytest.mark.parametrize("spacing", [2130.0, 2100.0])
def test_a_flat_wafer_keeps_each_die_within_its_own_drawn_extent(tmp_path, spacing):
    """The wafer sample's die placed 5 x 4, 2130 um apart (200 um between the pads of two dies, two
    pad lengths and more), or 2100 um as the sample places it (170 um: a street that stands out from the
    40 and 45 um between a die's pads), flattened: the dies are found repeated, but their rows are read
    from the whole layout (the streets are narrower than a corner's reach). The keep-in is each die's
    drawn extent (its outline on 39/0), not the wafer's: no tip in a saw street, and the same stencil as
    the hierarchical wafer's (it had 496 tips across their die's edge)."""
    import klayout.db as db

    ly = db.Layout()
    ly.read(os.path.join(ROOT, "sample_layouts", "wafer_5x4.gds"))
    top = ly.top_cell()
    die = ly.cell(next(iter(top.each_child_cell())))
    flat = ly.create_cell("FLAT")
    step = round(spacing / ly.dbu)
    flat.insert(db.CellInstArray(die.cell_index(), db.Trans(), db.Vector(step, 0), db.Vector(0, step), 5, 4))
    ly.delete_cell(top.cell_index())
    flat.flatten(True)
    path = str(tmp_path / "flat.gds")
    ly.write(path)
    layout = stencilgen.read_layout(path, layer="9/0")
    assert layout.instances is not None and layout.instances.gap_um == pytest.approx(spacing - 1930.0)
    # (the die's extent read by KLayout, for a gzipped file, is the one read from the stream)
    import gzip

    from stencilgen.readers import read_extent

    with open(path, "rb") as src, gzip.open(path + ".gz", "wb") as dst:
        dst.write(src.read())
    extent = read_extent(layout)
    assert extent.element_box == (-1000.0, -1000.0, 1000.0, 1000.0)
    assert read_extent(stencilgen.read_layout(path + ".gz", layer="9/0")) == extent
    planned = stencilgen.plan(layout)
    keep = planned.summary["keep_in"]
    assert keep["source"] == "extent of the cell on all layers; each die within its own drawn extent"
    assert keep["die_bbox_um"] == [-1000, -1000, 1000, 1000]
    dies = stencilgen.read_outline(path, "39/0")
    inner = shapely.buffer(dies, -20.0 + 1e-6, join_style="mitre")
    assert shapely.contains(inner, _apertures(planned)).all()
    # (the wafer as its file gives it: the same counts; placed as the file places it, the same apertures)
    whole = stencilgen.plan(stencilgen.read_layout(os.path.join(ROOT, "sample_layouts", "wafer_5x4.gds"), layer="9/0"))
    assert planned.summary["findings_by_code"] == whole.summary["findings_by_code"]
    if spacing == 2100.0:
        flat_shapes, wafer_shapes = _apertures(planned), _apertures(whole)
        assert len(flat_shapes) == len(wafer_shapes) == len(layout.contacts)
        xor = shapely.symmetric_difference(shapely.union_all(flat_shapes), shapely.union_all(wafer_shapes))
        assert xor.area < 1e-6


def test_a_wafers_keep_in_layer_holds_each_die_within_its_own_outline(tmp_path):
    """`--keep-in 39/0` on the wafer sample, whose die cell draws its outline on 39/0: each die within
    its own outline, planned once per die as with the default keep-in, the same stencil. An outline on
    the layer that is no die's (a frame drawn around the wafer) makes the layer one outline."""
    import klayout.db as db

    path = os.path.join(ROOT, "sample_layouts", "wafer_5x4.gds")
    layout = stencilgen.read_layout(path, layer="9/0")
    by_layer, by_default = stencilgen.plan(layout, keep_in="39/0"), stencilgen.plan(layout)
    keep = by_layer.summary["keep_in"]
    assert keep["source"] == "outline on layer 39/0; each die within its own outline on it"
    assert keep["die_bbox_um"] == [-1000, -1000, 1000, 1000]
    assert by_layer.plan.element is not None  # (the die planned once)
    a, b = by_layer.plan.apertures, by_default.plan.apertures
    assert np.array_equal(a.outlines.coords, b.outlines.coords) and np.array_equal(a.area, b.area)
    # (a frame around the wafer on the same layer: one more outline, no die's; the layer taken whole)
    ly = db.Layout()
    ly.read(path)
    top = ly.top_cell()
    box = top.dbbox()
    top.shapes(ly.layer(39, 0)).insert(db.DBox(box.left - 500, box.bottom - 500, box.right + 500, box.top + 500))
    framed = str(tmp_path / "framed.gds")
    ly.write(framed)
    from stencilgen.api import _outline

    whole = _outline(stencilgen.read_layout(framed, layer="9/0"), "39/0")
    assert whole.element is None and whole.source == "outline on layer 39/0"
    assert whole.geometry.bounds == (box.left - 500, box.bottom - 500, box.right + 500, box.top + 500)


def test_dies_drawn_side_by_side_each_keep_their_own_margin(tmp_path):
    """The wafer sample's die arrayed 3 x 2 at its own width (2000 um: the die outlines abut, their union
    one rectangle): each die's apertures stay within its own outline less edge_margin_um, none across the
    line between two dies; a stencil planned within the wafer's box alone (apertures across that line)
    fails `check` with keep_in errors."""
    import klayout.db as db

    ly = db.Layout()
    ly.read(os.path.join(ROOT, "sample_layouts", "wafer_5x4.gds"))
    top = ly.top_cell()
    inst = next(iter(top.each_inst()))
    array = inst.cell_inst
    step = round(2000.0 / ly.dbu)
    array.a, array.b = db.Vector(0, step), db.Vector(step, 0)
    array.na, array.nb = 2, 3  # (six dies: each one's neighbours on two sides, or three)
    inst.cell_inst = array
    path = str(tmp_path / "abutting.gds")
    ly.write(path)
    layout = stencilgen.read_layout(path, layer="9/0")
    planned = stencilgen.plan(layout)
    assert planned.summary["errors"] == 0
    shapes = _apertures(planned)
    centre = layout.contacts.center[np.flatnonzero(aperture_polygons(planned.plan.apertures).counts > 0)]
    die = np.floor((centre + 1000.0) / 2000.0) * 2000.0  # (each contact's die: its lower left corner, less 1000)
    own = shapely.box(
        die[:, 0] - 1000.0 + 20.0, die[:, 1] - 1000.0 + 20.0, die[:, 0] + 1000.0 - 20.0, die[:, 1] + 1000.0 - 20.0
    )
    assert shapely.contains(shapely.buffer(own, 1e-6, join_style="mitre"), shapes).all()
    # (planned within the wafer's box only, some tips cross into the next die: check finds them)
    x0, y0, x1, y1 = planned.summary["keep_in"]["bbox_um"]
    loose = stencilgen.plan(layout, keep_in=shapely.box(x0, y0, x1, y1))
    loose_shapes = _apertures(loose)
    crossing = ~shapely.contains(shapely.buffer(own, 1e-6, join_style="mitre"), loose_shapes)
    assert crossing.sum() > 0
    written = loose.write(str(tmp_path / "loose"), formats=("gds",))
    checked = stencilgen.check(layout, written["gds"])
    assert checked.summary["findings_by_code"].get("keep_in", 0) >= crossing.sum()
    assert checked.exit_code != 0


def test_a_keep_in_with_a_frame_cut_out_holds_the_apertures_as_geos_does(realworld, monkeypatch):
    """A seal ring's opening on the pad layer cuts its frame (grown by clearance) out of the keep-in:
    no box, and not convex at its corners. The strips are tested on their vertices against its hull,
    and against the pockets the hull holds besides; the plan is the one GEOS alone gives, aperture for
    aperture."""
    from stencilgen import planner

    path = os.path.join(realworld, "ihp_ac3e_padring_28pads", "AC3E_pad_ring_esd.gds")
    layout = stencilgen.read_layout(path, layer="9/0")
    tested = []
    hull_test = planner._hull_test

    def spy(x, y, hull):
        found = hull_test(x, y, hull)
        tested.append((len(hull.pockets), int(found[0].sum() + found[1].sum())))
        return found

    monkeypatch.setattr(planner, "_hull_test", spy)
    by_hull = stencilgen.plan(layout)
    assert tested and all(q > 0 for q, _ in tested) and sum(n for _, n in tested) > 100
    monkeypatch.setattr(planner, "HULL_EDGES_MAX", 0)  # (every strip tested by GEOS)
    by_geos = stencilgen.plan(layout)
    a, b = by_hull.plan.apertures, by_geos.plan.apertures
    assert np.array_equal(a.outlines.coords, b.outlines.coords) and np.array_equal(a.area, b.area)
    assert by_hull.summary["findings_by_code"] == by_geos.summary["findings_by_code"]


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(st.floats(-20, 120), st.floats(-20, 120), st.floats(1, 30), st.floats(1, 30), st.floats(0, 180)),
        min_size=1,
        max_size=20,
    ),
    st.sampled_from(["notched", "rounded", "frame"]),
)
def test_the_hull_test_agrees_with_geos_where_it_decides(rects, kind):
    """The keep-in's quick test (`planner._hull_test`): where it says inside, GEOS finds the polygon
    inside the outline, and where it says outside, not inside; on outlines with pockets in their hull
    (a notch, corners cut round, a frame's corner cut)."""
    from stencilgen import planner

    box = shapely.box(0, 0, 100, 100)
    inner = {
        "notched": shapely.difference(box, shapely.box(70, 70, 100, 100)),
        "rounded": shapely.buffer(shapely.box(10, 10, 90, 90), 10.0, quad_segs=4),
        "frame": shapely.difference(box, shapely.buffer(shapely.box(95, -5, 105, 105), 3.0)),
    }[kind]
    hull = planner.hull_of(inner)
    assert hull is not None
    polys = [synth.rect((x, y), (w, h), a) for x, y, w, h, a in rects]
    # (and small squares everywhere, in the pockets too)
    polys += [synth.rect((x, y), (4.0, 4.0), 0.0) for x in np.arange(-5, 106, 5.0) for y in np.arange(-5, 106, 5.0)]
    pts = np.stack(polys)
    clear_in, clear_out = planner._hull_test(pts[:, :, 0], pts[:, :, 1], hull)
    inside = shapely.contains(inner, shapely.polygons(pts))
    assert not (clear_in & clear_out).any()
    assert inside[clear_in].all() and not inside[clear_out].any()
