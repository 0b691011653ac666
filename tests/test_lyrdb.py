"""The findings as a KLayout report database (<stem>.lyrdb), read back by KLayout itself."""

from __future__ import annotations

import collections
import os

import klayout.db  # noqa: F401  (the report database's polygon values are db.DPolygon: bound once db is loaded)
import klayout.rdb as rdb
import numpy as np
import pytest
import shapely
from conftest import SAMPLES
from test_cli import run

from stencilgen.api import MARKER_ARC_CHORDS
from stencilgen.geometry import outlines_to_polygons
from stencilgen.model import NONE
from stencilgen.report import load_report
from stencilgen.rules import Rules
from stencilgen.run import Options, check_file, plan_file

RING = os.path.join(SAMPLES, "ring_100um.gds")


def load(path: str) -> rdb.ReportDatabase:
    db = rdb.ReportDatabase("")
    db.load(path)
    return db


def items(db: rdb.ReportDatabase) -> list[tuple[str, str, list[shapely.Polygon], list[str]]]:
    """Every item as (category, cell, its polygons as shapely, its texts)."""
    out = []
    for it in db.each_item():
        polys, texts = [], []
        for v in it.each_value():
            if v.is_polygon():
                hull = [(p.x, p.y) for p in v.polygon().each_point_hull()]
                polys.append(shapely.Polygon(hull))
            elif v.is_string():
                texts.append(v.string())
        cat = db.category_by_id(it.category_id()).name()
        cell = db.cell_by_id(it.cell_id()).name()
        out.append((cat, cell, polys, texts))
    return out


@pytest.fixture(scope="module")
def planned(tmp_path_factory):
    out = str(tmp_path_factory.mktemp("lyrdb"))
    return out, plan_file(RING, out, Rules(), Options(layer="9/0"))


def test_plan_writes_one_item_per_finding_with_its_aperture(planned):
    out, result = planned
    path = os.path.join(out, "ring_100um.lyrdb")
    assert result.outputs["lyrdb"] == path
    doc = load_report(os.path.join(out, "ring_100um.json"))
    assert doc["summary"]["outputs"]["lyrdb"] == "ring_100um.lyrdb"
    db = load(path)
    assert db.top_cell_name == "RING_DIE" and db.original_file == "ring_100um.gds"
    got = items(db)
    findings = [(f["code"], c["id"], f["message"]) for c in doc["contacts"] for f in c["findings"]]
    assert len(findings) > 0 and db.num_items() == len(got) == len(findings)
    # one category per finding code, as many items as the report has findings of that code
    counts = collections.Counter(cat for cat, *_ in got)
    assert counts == collections.Counter(code for code, _, _ in findings)
    assert counts == {k: v for k, v in doc["summary"]["findings_by_code"].items() if v}
    # each item: the contact's aperture (its area and place as planned), in the top cell, with its message
    ap = result.plan.apertures
    drawn = outlines_to_polygons(ap.outlines, MARKER_ARC_CHORDS)
    fine = outlines_to_polygons(ap.outlines, 256)
    by_key = collections.defaultdict(list)
    for cat, cell, polys, texts in got:
        assert cell == "RING_DIE" and len(polys) == 1 and len(texts) == 1
        by_key[(cat, texts[0])].append(polys[0])
    for code, cid, message in findings:
        (poly,) = by_key.pop((code, f"contact {cid}: {message}"))
        # (its arcs as MARKER_ARC_CHORDS chords, inscribed: a little less than the aperture, inside it)
        assert ap.area[cid] * 0.97 < poly.area <= ap.area[cid] + 1e-6
        assert poly.difference(shapely.Polygon(fine.polygon(cid)).buffer(1e-3)).area < 1e-3
        assert poly.symmetric_difference(shapely.Polygon(drawn.polygon(cid))).area < 1e-3
        assert poly.intersects(shapely.Polygon(result.layout.contacts.polygons.polygon(cid)))


def test_check_writes_its_findings_and_stray_apertures(planned, tmp_path):
    """A stencil with one aperture gone and one added where no contact is: no_aperture on the contact's
    own shape, stray_aperture on the stray one."""
    import gdstk

    out, _ = planned
    lib = gdstk.read_gds(os.path.join(out, "ring_100um.gds"))
    top = lib.top_level()[0]
    flat = top.copy("FLAT").flatten()
    polys = sorted(flat.polygons, key=lambda p: tuple(p.bounding_box()[0]))
    gone = polys.pop(0)
    edited = gdstk.Library(unit=1e-6, precision=1e-9)
    cell = edited.new_cell("EDITED")
    cell.add(*polys)
    cell.add(gdstk.rectangle((-40, -40), (40, 40), layer=1))  # the die's centre: no contact there
    stencil = str(tmp_path / "edited.gds")
    edited.write_gds(stencil)
    checked = check_file(RING, stencil, str(tmp_path / "o"), Rules(), Options(layer="9/0"))
    assert checked.outputs["lyrdb"] == str(tmp_path / "o" / "edited.gds.check.lyrdb")
    report = load_report(checked.outputs["json"])
    got = items(load(checked.outputs["lyrdb"]))
    counts = collections.Counter(cat for cat, *_ in got)
    want = collections.Counter(f["code"] for c in report["contacts"] for f in c["findings"])
    want["stray_aperture"] = len(report["summary"]["stray_apertures"])
    assert counts == want and counts["stray_aperture"] == 1 and counts["no_aperture"] == 1
    (stray,) = [p for cat, _, p, _ in got if cat == "stray_aperture"]
    assert stray[0].area == pytest.approx(80 * 80) and stray[0].centroid.coords[0] == pytest.approx((0, 0))
    (missing,) = [p for cat, _, p, _ in got if cat == "no_aperture"]
    (cid,) = [c["id"] for c in report["contacts"] if c["aperture"] == "none"]
    assert checked.plan.apertures.kind[cid] == NONE
    pad = shapely.Polygon(checked.layout.contacts.polygons.polygon(cid))
    assert missing[0].symmetric_difference(pad).area < 1e-6
    assert shapely.Polygon(gone.points).intersects(pad)


def test_check_marks_a_drawn_stencils_fine_arcs_with_fewer_vertices_as_close(planned, tmp_path):
    """A DXF stencil's arcs read as fine chords (128 a circle): each marker is its aperture simplified,
    within MARKER_TOLERANCE_UM of the outline read and with fewer vertices."""
    from stencilgen.api import MARKER_MAX_VERTICES, MARKER_TOLERANCE_UM

    out, _ = planned
    checked = check_file(RING, os.path.join(out, "ring_100um.dxf"), str(tmp_path / "o"), Rules(), Options(layer="9/0"))
    ap = checked.plan.apertures
    report = load_report(checked.outputs["json"])
    by_message = {f"contact {c['id']}: {f['message']}": c["id"] for c in report["contacts"] for f in c["findings"]}
    got = items(load(checked.outputs["lyrdb"]))
    assert len(got) == len(by_message) > 0
    fewer = 0
    for _cat, _cell, (poly,), (text,) in got:
        read = ap.outlines.coords[ap.outlines.offsets[by_message[text]] : ap.outlines.offsets[by_message[text] + 1]]
        drawn = shapely.Polygon(read)
        assert poly.hausdorff_distance(drawn) <= MARKER_TOLERANCE_UM + 1e-3
        assert len(poly.exterior.coords) - 1 <= len(read)
        fewer += len(read) > MARKER_MAX_VERTICES and len(poly.exterior.coords) - 1 < len(read) / 2
    assert fewer > 0


def test_no_findings_gives_an_empty_database_and_formats_leave_it_out(tmp_path):
    area = os.path.join(SAMPLES, "area_array.gds")
    r = run("plan", area, "--layer", "9/0", "-o", str(tmp_path), "-q")
    assert r.returncode == 0, r.stderr
    db = load(str(tmp_path / "area_array.lyrdb"))
    assert db.num_items() == 0 and "under_volume" in [c.name() for c in db.each_category()]
    r = run("plan", area, "--layer", "9/0", "-o", str(tmp_path / "b"), "-q", "--formats", "gds")
    assert r.returncode == 0 and sorted(os.listdir(tmp_path / "b")) == ["area_array.gds", "area_array.json"]
    r = run("plan", area, "--layer", "9/0", "-o", str(tmp_path / "c"), "-q", "--formats", "lyrdb")
    assert r.returncode == 0 and sorted(os.listdir(tmp_path / "c")) == ["area_array.json", "area_array.lyrdb"]


def test_lyrdb_is_the_same_bytes_every_run(planned, tmp_path):
    out, _ = planned
    plan_file(RING, str(tmp_path), Rules(), Options(layer="9/0"))
    a = open(os.path.join(out, "ring_100um.lyrdb"), "rb").read()
    assert a == open(tmp_path / "ring_100um.lyrdb", "rb").read()
    assert np.frombuffer(a, dtype=np.uint8).size > 1000


def test_many_findings_of_one_code_list_the_first_ones(tmp_path, monkeypatch):
    from stencilgen import api

    monkeypatch.setattr(api, "MAX_MARKERS_PER_CODE", 5)
    result = plan_file(RING, str(tmp_path), Rules(), Options(layer="9/0", formats=("lyrdb",)))
    by_code = result.report["summary"]["findings_by_code"]
    db = load(result.outputs["lyrdb"])
    got = items(db)
    counts = collections.Counter(cat for cat, *_ in got)
    assert counts == {code: min(n, 5) for code, n in by_code.items() if n}
    first = [f"contact {c['id']}: {f['message']}" for c in result.report["contacts"] for f in c["findings"]]
    first_same_side = [t for t in first if "same side" in t][:5]
    assert [texts[0] for cat, _, _, texts in got if cat == "same_side"] == first_same_side
    described = {c.name(): c.description for c in db.each_category()}
    assert by_code["same_side"] > 5 and f"the first 5 of {by_code['same_side']} are listed" in described["same_side"]
    assert "are listed" not in described["no_aperture"]
