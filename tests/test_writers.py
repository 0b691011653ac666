"""Every stencil file re-read by independent readers; counts and areas compared with the report."""

from __future__ import annotations

import os
import re

import numpy as np
import pytest
import synth
import validators
from conftest import SAMPLES

from stencilgen.report import load_report
from stencilgen.rules import Rules
from stencilgen.run import Options, plan_file

DATE = "2026-01-02T03:04:05Z"


@pytest.fixture(scope="module")
def planned(tmp_path_factory):
    out = str(tmp_path_factory.mktemp("plan"))
    result = plan_file(
        os.path.join(SAMPLES, "ring_100um.gds"), out, Rules(), Options(layer="9/0", creation_date=DATE, with_pads=True)
    )
    return out, result


def paths(out):
    return {ext: os.path.join(out, "ring_100um" + ext) for ext in (".gbr", ".dxf", ".gds", ".json")}


def report_areas(result):
    return np.array([c["aperture_area_um2"] for c in result.report["contacts"]])


def test_gerber_geometry_klayout(planned):
    out, result = planned
    got = validators.klayout_gerber(paths(out)[".gbr"])
    want = report_areas(result)
    assert got.count == len(want) == 68
    assert got.area_um2 == pytest.approx(want.sum(), rel=3e-3)  # arcs become chords in KLayout
    np.testing.assert_allclose(np.sort(got.areas_um2), np.sort(want), rtol=5e-3)


def test_gerber_pygerber_strict(planned):
    out, _result = planned
    validators.pygerber_strict(paths(out)[".gbr"])


def test_gerber_gerbv(gerbv, planned):
    out, result = planned
    assert validators.gerbv_problems(paths(out)[".gbr"], gerbv) == []
    # the reference viewer draws the same area (pixels of 1 um)
    assert validators.gerbv_area_um2(paths(out)[".gbr"], gerbv) == pytest.approx(report_areas(result).sum(), rel=0.015)


def test_gerber_x2_values(planned):
    out, _result = planned
    path = paths(out)[".gbr"]
    got = validators.gerbonara_file_attrs(path)
    attrs = got["attrs"]
    assert attrs[".FileFunction"] == ("Paste", "Top")
    assert attrs[".FilePolarity"] == ("Positive",)
    assert attrs[".GenerationSoftware"][0] == "stencilgen"
    assert attrs[".CreationDate"] == ("2026-01-02T03:04:05+00:00",)
    assert got["objects"] == 68
    text = open(path).read()
    assert "%FSLAX46Y46*%" in text and "%MOMM*%" in text and "G75*" in text and text.rstrip().endswith("M02*")
    assert "G03" in text  # round tips are true arcs
    # every region is preceded by the object attribute naming its contact, ids 0..67 in order
    ids = [int(m) for m in re.findall(r"%TO\.P,RING_DIE,(\d+)\*%\nG36\*", text)]
    assert ids == list(range(68))
    assert text.count("%TD*%") == 68


def test_dxf_audit_and_klayout(planned):
    out, result = planned
    errors, fixes, entities = validators.ezdxf_strict(paths(out)[".dxf"])
    assert errors == 0 and fixes == 0
    stencil = [e for e in entities if e.dxf.layer == "STENCIL"]
    pads = [e for e in entities if e.dxf.layer == "PADS"]
    assert len(stencil) == 68 and len(pads) == 68
    assert all(e.dxftype() == "LWPOLYLINE" and e.closed for e in stencil)
    got = validators.klayout_dxf(paths(out)[".dxf"], "STENCIL")
    want = report_areas(result)
    assert got.count == 68
    assert got.area_um2 == pytest.approx(want.sum(), rel=1e-4)
    np.testing.assert_allclose(np.sort(got.areas_um2), np.sort(want), rtol=1e-3)
    import ezdxf

    assert ezdxf.readfile(paths(out)[".dxf"]).header["$INSUNITS"] == 4  # mm


def test_gerber_and_dxf_agree(planned):
    out, _ = planned
    g = validators.klayout_gerber(paths(out)[".gbr"])
    d = validators.klayout_dxf(paths(out)[".dxf"], "STENCIL")
    # each Gerber aperture matched to the DXF one nearest its box centre (the two cut a tip's arc into
    # chords differently, so the centres differ by a few nm and an order by rounded centres may not agree)
    assert len(g.centers) == len(d.centers) > 0
    gap = np.hypot(*(g.centers[:, None, :] - d.centers[None, :, :]).transpose(2, 0, 1))
    nearest = gap.argmin(axis=1)
    assert (gap.min(axis=1) < 0.5).all() and len(np.unique(nearest)) == len(nearest)
    np.testing.assert_allclose(g.areas_um2, d.areas_um2[nearest], rtol=5e-3)


def test_gds_klayout_and_gdstk(planned):
    out, result = planned
    k = validators.klayout_gds(paths(out)[".gds"])
    g = validators.gdstk_gds(paths(out)[".gds"])
    want = report_areas(result)
    assert k.count == g.count == 68
    assert k.area_um2 == pytest.approx(g.area_um2, rel=1e-9)
    assert k.area_um2 == pytest.approx(want.sum(), rel=2e-3)
    import klayout.db as db

    ly = db.Layout()
    ly.read(paths(out)[".gds"])
    assert ly.dbu == pytest.approx(0.001)


def test_report_volumes_are_area_times_thickness_te_mvf(planned):
    out, _ = planned
    doc = load_report(paths(out)[".json"])
    rules = doc["summary"]["rules"]
    for c in doc["contacts"]:
        v = (
            c["aperture_area_um2"]
            * rules["thickness_um"]
            * rules["transfer_efficiency"]
            * rules["metal_volume_fraction"]
        )
        # the report's rounding: areas to 0.001 um2, volumes to 0.1 um3
        assert c["solder_volume_um3"] == pytest.approx(v, rel=1e-6, abs=0.05 + 0.0005 * v / c["aperture_area_um2"])
        assert c["volume_limit_um3"] == pytest.approx(np.pi * c["d_um"] ** 3 / 6, rel=1e-6, abs=0.05)
        assert c["solder_volume_band_um3"][1] <= c["volume_limit_um3"] + 0.1
    assert doc["summary"]["units"]["length"] == "um"
    assert doc["summary"]["contacts"] == 68 and doc["summary"]["apertures"] == 68


def test_outputs_are_byte_identical_twice(tmp_path):
    a, b = str(tmp_path / "a"), str(tmp_path / "b")
    for out in (a, b):
        plan_file(os.path.join(SAMPLES, "ring_100um.gds"), out, Rules(), Options(layer="9/0"))
    for name in sorted(os.listdir(a)):
        assert open(os.path.join(a, name), "rb").read() == open(os.path.join(b, name), "rb").read(), name


def test_source_date_epoch(tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    plan_file(
        os.path.join(SAMPLES, "ring_100um.gds"), str(tmp_path), Rules(), Options(layer="9/0", formats=("gerber",))
    )
    text = open(tmp_path / "ring_100um.gbr").read()
    assert "%TF.CreationDate,2023-11-14T22:13:20+00:00*%" in text


def test_failed_write_leaves_no_partial_file(tmp_path, monkeypatch):
    from stencilgen.writers import atomic_open

    target = str(tmp_path / "x.gbr")
    with pytest.raises(RuntimeError), atomic_open(target) as fh:
        fh.write("G04 half*\n")
        raise RuntimeError("interrupted")
    assert os.listdir(tmp_path) == []
    # an existing file stays as it was
    open(target, "w").write("old")
    with pytest.raises(RuntimeError), atomic_open(target) as fh:
        fh.write("new")
        raise RuntimeError("interrupted")
    assert open(target).read() == "old" and os.listdir(tmp_path) == ["x.gbr"]


def test_wafer_planned_once_per_die_equals_flat_planning(tmp_path, monkeypatch):
    import gdstk

    import stencilgen.readers

    # dies far enough apart that no aperture of one can come near another: planned once, repeated
    lib = gdstk.Library(unit=1e-6, precision=1e-9)
    die = lib.new_cell("DIE")
    for p in synth.ring(side=2000.0, pitch=100.0, count=17, pad=(60.0, 90.0)).polygons():
        die.add(gdstk.Polygon(p, 9, 0))
    lib.new_cell("WAFER").add(gdstk.Reference(die, (0, 0), columns=5, rows=4, spacing=(2600.0, 2600.0)))
    wafer = str(tmp_path / "wafer_5x4.gds")
    lib.write_gds(wafer)
    top = next(c for c in gdstk.read_gds(wafer).top_level() if c.name == "WAFER")
    flat = gdstk.Library(unit=1e-6, precision=1e-9)
    cell = flat.new_cell("WAFER")
    for p in top.get_polygons(layer=9, datatype=0):
        cell.add(gdstk.Polygon(p.points, 9, 0))
    (tmp_path / "flat").mkdir()
    flat_path = str(tmp_path / "flat" / "wafer_5x4.gds")
    flat.write_gds(flat_path)
    # (no keep-in: a bare wafer's die is held within its own contacts' extent, a bare flat layout planned
    # as it is within the whole layout's)
    opts = Options(layer="9/0", creation_date=DATE, keep_in="none")
    a = plan_file(wafer, str(tmp_path / "h"), Rules(), opts)
    # the flat layout is found to be the die repeated (c); planned as it is (b), it gives the same
    c = plan_file(flat_path, str(tmp_path / "c"), Rules(), opts)
    with monkeypatch.context() as m:
        m.setattr(stencilgen.readers, "find_repeats", lambda *args: None)
        b = plan_file(flat_path, str(tmp_path / "f"), Rules(), opts)
    assert a.layout.instances is not None and a.layout.instances.gap_um is None
    assert b.layout.instances is None
    assert c.layout.instances is not None and len(c.layout.instances.transforms) == 20
    assert c.layout.instances.gap_um == pytest.approx(2600 - 2000 + 2 * 80 - 90)
    assert c.plan.element is not None  # planned once per die
    assert len(a.report["contacts"]) == len(b.report["contacts"]) == len(c.report["contacts"]) == 1360
    # (the wafer's summary counts its die's corners in every placement, as the flat plan counts them)
    assert a.report["summary"]["corners"] == b.report["summary"]["corners"] == 80
    assert a.report["summary"]["straight_corners"] == b.report["summary"]["straight_corners"]
    assert c.report["summary"]["straight_corners"] == b.report["summary"]["straight_corners"]
    for x, y, z in zip(a.report["contacts"], b.report["contacts"], c.report["contacts"], strict=True):
        assert (x["x_um"], x["y_um"]) == pytest.approx((y["x_um"], y["y_um"]), abs=1e-3)
        assert x["aperture_area_um2"] == pytest.approx(y["aperture_area_um2"], rel=1e-6)
        assert sorted(f["code"] for f in x["findings"]) == sorted(f["code"] for f in y["findings"])
        assert x["tip_side"] == y["tip_side"] and x["oblique"] == y["oblique"]
        assert z.keys() == y.keys()
        for key in z:
            if isinstance(z[key], float):
                assert z[key] == pytest.approx(y[key], abs=2e-3), key
            else:
                assert z[key] == y[key], key
    ga = validators.klayout_gerber(os.path.join(str(tmp_path / "h"), "wafer_5x4.gbr"))
    gb = validators.klayout_gerber(os.path.join(str(tmp_path / "f"), "wafer_5x4.gbr"))
    assert ga.count == gb.count == 1360
    np.testing.assert_allclose(ga.areas_um2, gb.areas_um2, rtol=1e-6)
    np.testing.assert_allclose(ga.centers, gb.centers, atol=1e-3)
    # the wafer's GDS keeps the hierarchy (one die cell, a reference per die) and reads back the same
    for reader in (validators.klayout_gds, validators.gdstk_gds):
        ha = reader(os.path.join(str(tmp_path / "h"), "wafer_5x4.gds"))
        fb = reader(os.path.join(str(tmp_path / "f"), "wafer_5x4.gds"))
        assert ha.count == fb.count == 1360
        np.testing.assert_allclose(ha.areas_um2, fb.areas_um2, rtol=1e-6)
        np.testing.assert_allclose(ha.centers, fb.centers, atol=2e-3)
    import gdstk as _g

    assert len(_g.read_gds(os.path.join(str(tmp_path / "h"), "wafer_5x4.gds")).cells) == 2


def test_dxf_template_is_what_ezdxf_makes() -> None:
    """The DXF header shipped with the package is ezdxf's own (regenerate it with
    `python -m stencilgen.writers.dxf` after an ezdxf upgrade changes it)."""
    from stencilgen.writers import dxf as dxf_writer

    text, owner = dxf_writer.make_template("mm")
    assert dxf_writer._template("mm") == (text, owner)
    um_text, _ = dxf_writer._template("um")
    assert "$INSUNITS\n 70\n13\n" in um_text
    for unit in ("mm", "um", "in"):  # the wafer's, with block DIE
        assert dxf_writer._die_template(unit) == dxf_writer._ezdxf_drawing(unit, with_die=True)


def test_text_table_keeps_record_order_across_groups() -> None:
    import numpy as np

    from stencilgen.writers import formatted, text_table

    a = np.array([0, 3, 4])
    b = np.array([1, 2, 6])
    text = text_table(
        [
            (a, ["A", formatted(a), "|"]),
            (b, ["B", formatted(b * 10), ":", formatted(b.astype(float) / 4, "%.3f", strip=True), "|"]),
        ]
    )
    assert text == "A0|B10:0.25|B20:0.5|A3|A4|B60:1.5|"
    assert text_table([]) == ""


@pytest.mark.parametrize("chunk", [1, 2, 3, 4, 1000])
def test_text_table_joined_a_chunk_at_a_time_is_the_same_text(monkeypatch, chunk) -> None:
    """Records joined a few at a time (chunks that start inside a group, hold one group only, or all
    of them) give the text of one whole join, record for record."""
    import stencilgen.writers as writers

    rng = np.random.default_rng(3)
    owner = rng.integers(0, 3, 11)
    groups = []
    for g in range(3):
        ids = np.flatnonzero(owner == g)
        groups.append((ids, [f"<{g}:", writers.formatted(ids * 7), "/", writers.formatted(ids), ">"]))
    monkeypatch.setattr(writers, "TEXT_CHUNK", chunk)
    want = "".join(f"<{owner[i]}:{7 * i}/{i}>" for i in range(11))
    assert writers.text_table(groups) == want


@pytest.mark.parametrize("chunk", [1, 3, 7, 65536])
def test_formatted_a_piece_at_a_time_is_each_value_formatted(monkeypatch, chunk) -> None:
    """Values formatted a few at a time (a value repeated across pieces, pieces of one value) give each
    value's own text, in place, for integers, hexadecimal and decimals with their zeros stripped."""
    import stencilgen.writers as writers

    monkeypatch.setattr(writers, "FORMAT_CHUNK", chunk)
    rng = np.random.default_rng(chunk)
    ints = rng.integers(-5, 6, (9, 2)) * 1000
    assert writers.formatted(ints).tolist() == [[str(v) for v in row] for row in ints.tolist()]
    assert writers.formatted(np.arange(20), "%X").tolist() == [f"{v:X}" for v in range(20)]
    floats = np.array([0.25, -0.0, 1.5, 0.25, 2.0, -1e-9, 3.125, 1.5])
    got = writers.formatted(floats, "%.3f", strip=True).tolist()
    assert got == ["0.25", "0", "1.5", "0.25", "2", "0", "3.125", "1.5"]
    assert writers.formatted(np.zeros((0, 2))).shape == (0, 2)


def test_a_round_aperture_is_one_gds_polygon(tmp_path):
    """The round pad's aperture has more than 199 vertices (gdstk's default limit, above which it
    splits a polygon): still one polygon, as in the Gerber and the DXF."""
    result = plan_file(
        os.path.join(SAMPLES, "die_mm_blocks.dxf"), str(tmp_path), Rules(), Options(layer="PADS", creation_date=DATE)
    )
    n = len(result.report["contacts"])
    gds = os.path.join(str(tmp_path), "die_mm_blocks.gds")
    k, g = validators.klayout_gds(gds), validators.gdstk_gds(gds)
    assert k.count == g.count == n
    import gdstk

    assert max(len(p.points) for p in gdstk.read_gds(gds).top_level()[0].get_polygons()) > 199


def test_a_gds_cut_short_is_an_error_and_no_file(tmp_path, monkeypatch):
    """gdstk says nothing when the disk fills: a file without its ENDLIB record is refused, not renamed."""
    import gdstk

    from stencilgen.errors import OutputError

    class CutShort(gdstk.Library):  # writes half the file, as a full disk leaves it, and says nothing
        def write_gds(self, outfile, **kw):
            super().write_gds(outfile, **kw)
            with open(outfile, "r+b") as f:
                f.truncate(os.path.getsize(outfile) // 2)

    monkeypatch.setattr(gdstk, "Library", CutShort)
    with pytest.raises(OutputError, match=r"ring_100um\.gds: cannot be written \(the file came out cut short"):
        plan_file(
            os.path.join(SAMPLES, "ring_100um.gds"),
            str(tmp_path),
            Rules(),
            Options(layer="9/0", creation_date=DATE, formats=("gds",)),
        )
    assert not [f for f in os.listdir(tmp_path) if f.endswith(".gds") or ".tmp" in f]


def test_a_file_written_a_part_at_a_time(tmp_path) -> None:
    """FileSet.write_parts writes text (as UTF-8) and bytes parts in turn: the file is their
    concatenation; a part that fails half-way leaves the previous file as it was."""
    from stencilgen.errors import OutputError
    from stencilgen.writers.fileset import FileSet

    target = tmp_path / "s.gbr"
    with FileSet(str(tmp_path), "s", {"gerber": str(target)}) as fs:
        fs.write_parts("gerber", iter(["G04 µm*\n", b"X1Y2D02*\n", "", "M02*\n"]))
    assert target.read_bytes() == "G04 µm*\nX1Y2D02*\nM02*\n".encode()

    def broken():
        yield "G04 new*\n"
        raise OutputError(f"{target}: cannot be written (disk full)")

    with pytest.raises(OutputError, match="disk full"), FileSet(str(tmp_path), "s", {"gerber": str(target)}) as fs:
        fs.write_parts("gerber", broken())
    assert target.read_bytes() == "G04 µm*\nX1Y2D02*\nM02*\n".encode()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.gbr"]
