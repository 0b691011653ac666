"""A wafer's report (one die cell arrayed): the JSON keeps the die's records once and what differs per
placement; read back with load_report, it gives every contact's record exactly as the flat report of
the same plan gives it."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser

import gdstk
import numpy as np
import pytest
import synth
from conftest import SAMPLES

import stencilgen
from stencilgen.report import dumps_report, load_report
from stencilgen.rules import Rules
from stencilgen.run import Options, plan_file

PITCH = 2600.0  # die spacing: 600 um of scribe lane between the 2000 um dies


def _wafer(path: str, keep_in_top: float | None = None, columns: int = 4, rows: int = 3) -> str:
    """The ring die arrayed columns x rows; a keep-in box on 40/0 reaching to x = 2.5 dies and, when
    given, up to y = keep_in_top: the last column lies wholly outside, dies at the edges are cut."""
    die = synth.ring(side=2000.0, pitch=100.0, count=17, pad=(60.0, 90.0))
    lib = gdstk.Library(unit=1e-6, precision=1e-9)
    cell = lib.new_cell("DIE")
    for poly in die.polygons():
        cell.add(gdstk.Polygon(poly, 9, 0))
    top = lib.new_cell("WAFER")
    top.add(gdstk.Reference(cell, (0, 0), columns=columns, rows=rows, spacing=(PITCH, PITCH)))
    if keep_in_top is not None:
        top.add(gdstk.rectangle((-1100, -1100), (2 * PITCH + 1100, keep_in_top), layer=40, datatype=0))
    lib.write_gds(path)
    return path


@pytest.fixture(scope="module")
def cut_wafer(tmp_path_factory) -> str:
    return _wafer(str(tmp_path_factory.mktemp("wafer") / "cut.gds"), keep_in_top=2 * PITCH + 930)


@pytest.fixture(scope="module")
def cut_planned(cut_plan) -> stencilgen.api.PlannedStencil:
    """The cut wafer planned with its keep-in on 40/0 (the plan `plan_file` made and wrote, once)."""
    return cut_plan[1].judged


def _hier_and_flat(planned: stencilgen.api.PlannedStencil) -> tuple[str, str]:
    """The report of a plan as written (per die and placement) and as the flat report writes it."""
    return dumps_report(planned._report({}, "t")), dumps_report(planned._report({}, "t", flat=True))


def test_cut_wafer_expands_to_the_flat_report(cut_planned: stencilgen.api.PlannedStencil) -> None:
    planned = cut_planned
    layout = planned.layout
    assert layout.instances is not None and layout.instances.index.shape == (12, 68)
    hier_text, flat_text = _hier_and_flat(planned)
    raw = json.loads(hier_text)
    assert "element" in raw and "hierarchy" not in json.loads(flat_text)["summary"]
    assert len(raw["element"]["rows"]) == 68 and len(raw["placements"]["rows"]) == 12
    # the column outside the keep-in and the top row cut by it differ from the die; some dies do not
    at = {k: i for i, k in enumerate(raw["placements"]["fields"])}
    differing = {p[at["id"]]: p[at["differing"]] for p in raw["placements"]["rows"]}
    shifts = {p[at["id"]]: (p[at["dx_um"]], p[at["dy_um"]]) for p in raw["placements"]["rows"]}
    outside = [p for p, (dx, _dy) in shifts.items() if dx == 3 * PITCH]
    assert len(outside) == 3 and all(differing[p] == 68 for p in outside)
    assert 0 < sum(differing.values()) < 12 * 68 and min(differing.values()) == 0
    assert len(raw["contacts"]["rows"]) == sum(differing.values())
    assert all(p[at["status"]] == "error" for p in raw["placements"]["rows"] if p[at["id"]] in outside)
    # read back: every contact's record and findings as the flat report gives them
    hier, flat = load_report(hier_text), load_report(flat_text)
    assert len(hier["contacts"]) == len(flat["contacts"]) == 12 * 68
    assert hier["contacts"] == flat["contacts"]
    assert {k: v for k, v in hier["summary"].items() if k != "hierarchy"} == flat["summary"]
    assert sum(len(c["findings"]) for c in hier["contacts"]) > 0
    # positions and ids: those of the layout as read, contact i at its centre
    centre = np.array([[c["x_um"], c["y_um"]] for c in hier["contacts"]])
    assert np.allclose(centre, layout.contacts.center, atol=5e-4)
    assert [c["id"] for c in hier["contacts"]] == list(range(12 * 68))
    # in memory, the library's records are the same, whole or a column at a time
    assert list(planned.records) == flat["contacts"]
    for key in ("id", "x_um", "y_um", "rows", "status", "volume_ratio"):
        assert planned.records.column(key) == [c[key] for c in flat["contacts"]], key
    assert len(hier_text) < len(flat_text)


def test_wafer_planned_once_keeps_one_die(tmp_path) -> None:
    src = os.path.join(SAMPLES, "wafer_5x4.gds")
    result = plan_file(src, str(tmp_path), Rules(), Options(layer="9/0", formats=()))
    with open(tmp_path / "wafer_5x4.json", "rb") as fh:
        text = fh.read().decode()
    raw = json.loads(text)
    s = raw["summary"]
    assert s["hierarchy"] == {
        "element_contacts": 68,
        "placements": 20,
        "contact_ids": "yx",
        "differing_contacts": 0,
        "reference_placement": 0,
    }
    assert raw["contacts"]["rows"] == [] and raw["findings"]["rows"] == []
    # the totals are the whole wafer's
    assert s["contacts"] == 20 * 68 and sum(s["status"].values()) == 20 * 68
    die_findings = len(raw["element_findings"]["rows"])
    assert s["errors"] + s["warnings"] == 20 * die_findings == sum(s["findings_by_code"].values())
    layout = stencilgen.read_layout(src, layer="9/0")
    planned = stencilgen.plan(layout)
    flat = load_report(dumps_report(planned._report({}, s["created"], flat=True)))
    hier = load_report(text)
    assert hier["contacts"] == flat["contacts"]
    assert {k: v for k, v in hier["summary"].items() if k not in ("hierarchy", "outputs")} == {
        k: v for k, v in flat["summary"].items() if k != "outputs"
    }
    assert result.exit_code == s["exit_code"]


def test_listed_contact_ids_read_the_same(cut_planned: stencilgen.api.PlannedStencil) -> None:
    """A placement's contact ids written out (where the (y, x) numbering does not give them) expand alike."""
    planned = cut_planned
    hier_text, flat_text = _hier_and_flat(planned)
    raw = json.loads(hier_text)
    at = {k: i for i, k in enumerate(raw["placements"]["fields"])}
    index = planned.layout.instances.index
    for p, row in enumerate(raw["placements"]["rows"]):
        row[at["contacts"]] = index[p].tolist()
    assert load_report(json.dumps(raw))["contacts"] == load_report(flat_text)["contacts"]
    # and a wrong list is read as written: the records move with it
    first = raw["placements"]["rows"][0][at["contacts"]]
    raw["placements"]["rows"][0][at["contacts"]] = first[1:] + first[:1]
    assert load_report(json.dumps(raw))["contacts"] != load_report(flat_text)["contacts"]


def test_flat_layout_report_unchanged(tmp_path) -> None:
    """A layout of no repeated cell keeps the flat report: one row per contact, no hierarchy."""
    src = os.path.join(SAMPLES, "ring_100um.gds")
    plan_file(src, str(tmp_path), Rules(), Options(layer="9/0", formats=()))
    raw = json.loads((tmp_path / "ring_100um.json").read_text())
    assert "hierarchy" not in raw["summary"] and "element" not in raw and len(raw["contacts"]["rows"]) == 68


class Dies(HTMLParser):
    """The die rectangles of the wafer map (class, placement) and the rows of the findings table."""

    def __init__(self) -> None:
        super().__init__()
        self.dies: list[tuple[str, int]] = []
        self.table_rows = 0
        self.in_table = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "rect" and "die" in (a.get("class") or "").split():
            self.dies.append((a["class"].split()[1], int(a["data-placement"])))
        elif tag == "table" and a.get("id") == "findings-table":
            self.in_table = True
        elif self.in_table and tag == "tr":
            self.table_rows += 1

    def handle_endtag(self, tag):
        if tag == "table":
            self.in_table = False


@pytest.fixture(scope="module")
def cut_plan(cut_wafer: str, tmp_path_factory):
    out = tmp_path_factory.mktemp("cut-out")
    result = plan_file(cut_wafer, str(out), Rules(), Options(layer="9/0", keep_in="40/0"))
    raw = json.loads((out / "cut.json").read_text())
    return out, result, raw


def test_wafer_html_draws_each_die_by_status(cut_plan) -> None:
    out, _result, raw = cut_plan
    page = (out / "cut.html").read_text()
    parser = Dies()
    parser.feed(page)
    at = {k: i for i, k in enumerate(raw["placements"]["fields"])}
    want = sorted((f"die-{p[at['status']]}", p[at["id"]]) for p in raw["placements"]["rows"])
    assert sorted(parser.dies) == want and len(want) == 12
    assert {c for c, _ in want} == {"die-warning", "die-error"}
    # the legend counts the dies by status
    for status in ("ok", "warning", "error"):
        n = sum(1 for c, _ in want if c == f"die-{status}")
        assert f'<span class="sw die-{status}"></span>{n} {status}' in page
    # one die in detail: the table lists the element's contacts with findings, not the wafer's
    bad = sum(1 for r in raw["element"]["rows"] if r[raw["element"]["fields"].index("status")] != "ok")
    assert 0 < parser.table_rows - 1 == bad <= 68  # the header row, then one row per contact
    assert "One die in detail" in page


def test_wafer_lyrdb_marks_one_die_and_the_dies_that_differ(cut_plan, cut_wafer: str) -> None:
    import klayout.rdb as rdb

    out, _result, raw = cut_plan
    db = rdb.ReportDatabase("")
    db.load(str(out / "cut.lyrdb"))
    # (a value rounded to -0 reads "-0" in the database, "0" in the JSON)
    texts = sorted(
        re.sub(r"(?<![\d.])-0 ", "0 ", v.string()) for it in db.each_item() for v in it.each_value() if v.is_string()
    )
    doc = load_report(str(out / "cut.json"))
    ref = raw["summary"]["hierarchy"]["reference_placement"]
    index = stencilgen.read_layout(cut_wafer, layer="9/0").instances.index
    marked = set(index[ref].tolist()) | {r[0] for r in raw["contacts"]["rows"]}
    want = sorted(
        f"contact {c['id']}: {f['message']}" for c in doc["contacts"] if c["id"] in marked for f in c["findings"]
    )
    assert texts == want
    every = sum(len(c["findings"]) for c in doc["contacts"])
    assert len(want) < every  # the dies like the marked one are not repeated


def test_sample_wafer_html_and_lyrdb_stay_one_die(tmp_path) -> None:
    import klayout.rdb as rdb

    plan_file(os.path.join(SAMPLES, "wafer_5x4.gds"), str(tmp_path), Rules(), Options(layer="9/0"))
    raw = json.loads((tmp_path / "wafer_5x4.json").read_text())
    parser = Dies()
    parser.feed((tmp_path / "wafer_5x4.html").read_text())
    assert len(parser.dies) == 20 and {c for c, _ in parser.dies} == {"die-warning"}
    db = rdb.ReportDatabase("")
    db.load(str(tmp_path / "wafer_5x4.lyrdb"))
    assert db.num_items() == len(raw["element_findings"]["rows"]) > 0


def _batch(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "stencilgen", "batch", *args], capture_output=True, text=True, env=env, timeout=300
    )


def test_wafer_batch_on_dask_gives_the_local_files(tmp_path) -> None:
    """Hierarchical wafers planned through `batch --scheduler` on a Dask LocalCluster give the files of a
    local batch run, byte for byte (dates from SOURCE_DATE_EPOCH); the summaries differ only in the
    time each took."""
    import distributed  # a dev dependency (make install): this test runs wherever the suite does

    lib = tmp_path / "lib"
    lib.mkdir()
    shutil.copy(os.path.join(SAMPLES, "wafer_5x4.gds"), lib / "wafer_5x4.gds")
    _wafer(str(lib / "wafer_4x3.gds"))
    env = {**os.environ, "SOURCE_DATE_EPOCH": "1767225600"}
    local = _batch(str(lib), "-o", str(tmp_path / "local"), "--layer", "9/0", "--jobs", "1", "-q", env=env)
    assert local.returncode in (0, 1), local.stderr
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=1, processes=False, protocol="tcp", host="127.0.0.1", dashboard_address=None
    ) as cluster:
        remote = _batch(
            str(lib),
            "-o",
            str(tmp_path / "dask"),
            "--layer",
            "9/0",
            "--scheduler",
            cluster.scheduler_address,
            "-q",
            env=env,
        )
    assert remote.returncode == local.returncode, remote.stderr
    folders = sorted(os.listdir(tmp_path / "local"))
    assert folders == sorted(os.listdir(tmp_path / "dask"))
    assert {"wafer_5x4", "wafer_4x3"} <= set(folders)
    for folder in [f for f in folders if not f.startswith("summary")]:
        names = sorted(os.listdir(tmp_path / "local" / folder))
        assert names == sorted(os.listdir(tmp_path / "dask" / folder))
        assert {f"{folder}.{ext}" for ext in ("json", "gbr", "dxf", "gds", "html", "lyrdb")} <= set(names)
        for name in names:
            assert (tmp_path / "local" / folder / name).read_bytes() == (tmp_path / "dask" / folder / name).read_bytes()
        doc = json.loads((tmp_path / "dask" / folder / f"{folder}.json").read_text())
        assert doc["summary"]["hierarchy"]["differing_contacts"] == 0 and "element" in doc
    a, b = (json.loads((tmp_path / d / "summary.json").read_text())["results"] for d in ("local", "dask"))
    drop = ("seconds", "output")
    assert [{k: v for k, v in r.items() if k not in drop} for r in a] == [
        {k: v for k, v in r.items() if k not in drop} for r in b
    ]


def test_more_dies_add_placement_rows_only(tmp_path) -> None:
    """Four times the dies: the JSON grows by the placements' lines, the HTML by the dies' rectangles,
    the report database not at all; no table of every contact."""
    sizes = {}
    for columns, rows in ((2, 2), (4, 4)):
        src = _wafer(str(tmp_path / f"w{columns}.gds"), columns=columns, rows=rows)
        out = tmp_path / f"out{columns}"
        plan_file(src, str(out), Rules(), Options(layer="9/0", formats=("html", "lyrdb")))
        raw = json.loads((out / f"w{columns}.json").read_text())
        assert raw["summary"]["contacts"] == columns * rows * 68 and len(raw["element"]["rows"]) == 68
        assert len(raw["placements"]["rows"]) == columns * rows and raw["contacts"]["rows"] == []
        sizes[columns] = {ext: os.path.getsize(out / f"w{columns}.{ext}") for ext in ("json", "html", "lyrdb")}
    small, big = sizes[2], sizes[4]
    assert big["json"] - small["json"] < 12 * 200  # 12 more placements, one short line each
    assert big["html"] - small["html"] < 12 * 400  # one rectangle and its tooltip each
    assert abs(big["lyrdb"] - small["lyrdb"]) < 200  # (only the file names and ids differ)


def test_check_holds_each_die_within_its_own_extent_as_plan_does(tmp_path) -> None:
    """`check` of a wafer's stencil judges rule 8 per die, as `plan` keeps it: plan's own stencil passes,
    and one die of it moved 30 um toward its neighbour leaves its own extent (keep_in errors on that
    die's contacts only), which the wafer's extent alone would not show."""
    src = os.path.join(SAMPLES, "wafer_5x4.gds")
    layout = stencilgen.read_layout(src, layer="9/0")
    planned = stencilgen.plan(layout)
    paths = planned.write(str(tmp_path / "plan"), formats=("gds",))
    own = stencilgen.check(layout, paths["gds"])
    assert own.errors == [] and own.summary["keep_in"]["die_bbox_um"] == planned.summary["keep_in"]["die_bbox_um"]
    assert own.summary["keep_in"]["source"] == planned.summary["keep_in"]["source"]
    lib = gdstk.read_gds(paths["gds"])
    ref = lib.top_level()[0].references[5]
    ref.origin = (ref.origin[0] + 30.0, ref.origin[1])
    moved = str(tmp_path / "moved.gds")
    lib.write_gds(moved)
    checked = stencilgen.check(layout, moved)
    on = {int(f["contact"]) for f in checked.findings if f["code"] == "keep_in"}
    assert on, checked.summary["findings_by_code"]
    # (the die moved: its contacts are those of one placement, at the reference's place)
    origin = np.asarray(ref.origin) - (30.0, 0.0)
    index = layout.instances.index
    shifts = layout.instances.transforms[:, :, 2]
    die = int(np.flatnonzero(np.all(np.abs(shifts - origin) < 1e-6, axis=1))[0])
    assert on <= set(index[die].tolist())
