"""The HTML report: one self-contained page, checked as text and in a real headless chromium."""

from __future__ import annotations

import copy
import os
import re
import struct
import zlib
from html.parser import HTMLParser

import pytest
from browser import run_chromium
from conftest import SAMPLES

import stencilgen.html as report_html
from stencilgen.html import html_report
from stencilgen.rules import Rules
from stencilgen.run import Options, plan_file

SVG_NS = "http://www.w3.org/2000/svg"


@pytest.fixture(scope="module")
def ring(tmp_path_factory):
    out = tmp_path_factory.mktemp("ring")
    result = plan_file(os.path.join(SAMPLES, "ring_100um.gds"), str(out), Rules(), Options(layer="9/0", formats=()))
    return result.report, result.plan, html_report(result.report, result.plan)


class TableRows(HTMLParser):
    """The body rows of the table with id `table_id`: per row, the cells as (attributes, text)."""

    def __init__(self, table_id: str) -> None:
        super().__init__()
        self.table_id = table_id
        self.inside = False
        self.in_body = False
        self.rows: list[list[tuple[dict, str]]] = []
        self.cell: tuple[dict, list[str]] | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table" and a.get("id") == self.table_id:
            self.inside = True
        elif self.inside and tag == "tbody":
            self.in_body = True
        elif self.in_body and tag == "tr":
            self.rows.append([])
        elif self.in_body and tag == "td":
            self.cell = (a, [])

    def handle_endtag(self, tag):
        if tag == "td" and self.cell is not None:
            self.rows[-1].append((self.cell[0], "".join(self.cell[1])))
            self.cell = None
        elif tag == "table" and self.inside:
            self.inside = self.in_body = False

    def handle_data(self, data):
        if self.cell is not None:
            self.cell[1].append(data)


def table_rows(page: str) -> list[list[tuple[dict, str]]]:
    parser = TableRows("findings-table")
    parser.feed(page)
    return parser.rows


def overview(page: str) -> str:
    m = re.search(r'<svg[^>]*id="overview-svg".*?</svg>', page, re.S)
    assert m, "no overview picture"
    return m.group(0)


def subpaths(svg: str, cls: str) -> int:
    """How many shapes (subpaths) the paths of class `cls` draw."""
    return sum(d.count("M") for d in re.findall(rf'<path class="{cls}[^"]*" d="([^"]*)"', svg))


def volume_column() -> int:
    return [k for k, *_ in report_html.COLUMNS].index("volume_ratio")


# ------------------------------------------------------------------------------------------------ page text


def test_one_self_contained_document(ring):
    _, _, page = ring
    assert page.startswith("<!DOCTYPE html>\n")
    assert page.count("<html") == 1 and page.rstrip().endswith("</html>")
    assert page.count("<body") == 1 and page.count("<style>") == 1 and page.count("<script>") == 1
    urls = re.findall(r"https?://[^\s\"'<>)]*", page)
    assert all(u == SVG_NS for u in urls), urls
    assert not re.search(r"<(script|img|iframe)[^>]*\ssrc=|<link[^>]*stylesheet|@import|url\(", page)
    assert "<svg" in page


def test_every_aperture_drawn_once_coloured_by_status(ring):
    doc, plan, page = ring
    svg = overview(page)
    assert subpaths(svg, "ap ") == doc["summary"]["apertures"] == 68
    for status in ("ok", "warning", "error"):
        want = sum(1 for r in doc["contacts"] if r["status"] == status and r["aperture"] != "none")
        assert subpaths(svg, f"ap ap-{status}") == want
    assert subpaths(svg, "ct") == len(plan.contacts) == 68
    assert subpaths(svg, "row") == len(plan.rows.rows) == 4
    assert subpaths(svg, "arrow") == doc["summary"]["strips"]
    # layout y points up: the picture negates y; coordinates are rounded to 0.01 um
    path = re.search(r'class="ap [^"]*" d="([^"]*)"', svg)
    box = re.search(r'viewBox="([^"]+)"', svg)
    assert path and box
    numbers = re.findall(r"-?\d+(?:\.\d+)?", path.group(1))
    assert numbers and all(len(x.partition(".")[2]) <= 2 for x in numbers)
    x, y, w, h = map(float, box.group(1).split())
    c = plan.contacts.center
    assert x < c[:, 0].min() and x + w > c[:, 0].max() and y < -c[:, 1].max() and y + h > -c[:, 1].min()


def test_findings_table_has_one_row_per_contact_with_findings(ring):
    doc, _, page = ring
    bad = [r for r in doc["contacts"] if r["status"] != "ok"]
    rows = table_rows(page)
    assert len(rows) == len(bad) > 0
    assert sorted(int(r[0][1]) for r in rows) == sorted(r["id"] for r in bad)
    headers = re.findall(r'<th scope="col"[^>]*data-key="([a-z_0-9]+)"', page)
    assert headers == [
        "id",
        "status",
        "findings",
        "x_um",
        "y_um",
        "row",
        "d_um",
        "aperture",
        "aperture_area_um2",
        "volume_ratio",
        "volume_ratio_low",
        "area_ratio",
        "cap_height_um",
        "limited_by",
    ]
    first = next(r for r in bad if r["id"] == int(rows[0][0][1]))
    # beside the nominal volume ratio, the one under_volume is judged by: at the transfer band's bottom
    band, limit = first["solder_volume_band_um3"], first["volume_limit_um3"]
    col = [k for k, *_ in report_html.COLUMNS].index
    assert float(rows[0][col("volume_ratio_low")][1]) == pytest.approx(band[0] / limit, abs=1e-3)
    codes = ", ".join(sorted({f["code"] for f in first["findings"]}))
    assert rows[0][col("findings")][1] == codes and rows[0][col("status")][1] == first["status"]
    # what limits the aperture, with the contact it names
    want = f"{first['limited_by']} (contact {first['limited_by_contact']})"
    assert first["limited_by"] and rows[0][col("limited_by")][1] == (
        want if first["limited_by_contact"] is not None else first["limited_by"]
    )
    assert float(rows[0][volume_column()][0]["data-v"]) == first["volume_ratio"]
    assert "hover over the findings" in page and "left out" not in page


def test_table_is_capped_and_says_so(ring, monkeypatch):
    doc, plan, _ = ring
    monkeypatch.setattr(report_html, "MAX_TABLE", 10)
    page = html_report(doc, plan)
    rows = table_rows(page)
    assert len(rows) == 10
    bad = [r for r in doc["contacts"] if r["status"] != "ok"]
    assert f"({len(bad) - 10} left out)" in page
    # the rows kept are the lowest volume ratios (no errors in the sample)
    kept = sorted(float(r[volume_column()][0]["data-v"]) for r in rows)
    assert kept == sorted(r["volume_ratio"] for r in bad)[:10]


def test_close_ups_of_corners_and_worst_contacts(ring):
    doc, plan, page = ring
    corners = re.findall(r'<figure class="closeup corner" id="corner-\d+"><svg[^>]*viewBox="([^"]+)"', page)
    assert len(corners) == len(plan.rows.corners) == 4
    for box, corner in zip(corners, plan.rows.corners, strict=True):
        x, y, w, h = map(float, box.split())
        px, py = corner.point
        assert x < px < x + w and y < -py < y + h
        assert w < 1000  # zoomed in: the element is 2000 um wide
    worst = re.findall(r'<figure class="closeup worst" id="worst-\d+">.*?<figcaption>W\d+: contact (\d+) ', page)
    ratios = sorted(r["volume_ratio"] for r in doc["contacts"] if r["aperture"] != "none")
    assert len(worst) == 6
    assert sorted(doc["contacts"][int(i)]["volume_ratio"] for i in worst) == ratios[:6]
    # the overview links to every close-up
    assert all(f'href="#corner-{k}"' in page for k in range(1, 5))
    assert all(f'href="#worst-{k}"' in page for k in range(1, 7))


def test_error_contacts_lead_the_close_ups(ring):
    """A contact with an error comes first among the close-ups (as on the console), however much
    solder it has; the lowest volume ratios follow."""
    doc, plan, _ = ring
    records = doc["contacts"]
    ratios = [r["volume_ratio"] for r in records]
    best = max(range(len(records)), key=lambda i: ratios[i])
    changed = copy.deepcopy(doc)
    changed["contacts"] = [dict(r) for r in records]
    changed["contacts"][best]["status"] = "error"
    page = html_report(changed, plan)
    worst = re.findall(r'<figure class="closeup worst" id="worst-\d+">.*?<figcaption>W\d+: contact (\d+) ', page)
    assert int(worst[0]) == best and len(worst) == 7
    lowest = sorted(range(len(records)), key=lambda i: ratios[i])[:6]
    assert sorted(int(i) for i in worst[1:]) == sorted(lowest)


def test_summary_histograms_and_units(ring):
    doc, _, page = ring
    s = doc["summary"]
    vr = s["volume_ratio"]
    expected = (
        "RING_DIE",
        "9/0",
        "all lengths in um",
        f"{s['warnings']} findings",
        "five_ball",
        f"{report_html._num(vr['min'])} to {report_html._num(vr['max'])}",
        s["created"][:10],
    )
    for text in expected:
        assert text in page, text
    rules = re.findall(r'<th scope="row" title="[^"]*"><code>([a-z_0-9]+)</code></th><td>([^<]*)</td>', page)
    assert [k for k, _ in rules] == list(s["rules"])
    values = dict(rules)
    assert values["web_min_um"] == "40 um" and values["corner_min_angle_deg"] == "30 deg"
    assert values["volume_min"] == "0.3 (fraction)" and values["area_ratio_min"] == "0.66 (ratio)"
    assert values["max_expanded_mb"] == "2000 MB" and values["overprint_max"] == "0.5 d per side"
    assert values["thickness_auto"] == "no"  # (a yes or no, not Python's False)
    hists = re.findall(r'<svg class="hist".*?</svg>', page, re.S)
    assert len(hists) == 2
    for svg in hists:
        counts = [int(n) for n in re.findall(r": (\d+) contacts</title>", svg)]
        assert sum(counts) == s["apertures"]
    # (on the nominal axis: the limit where it is judged, at the band's top, 0.85 / 1.0; volume_min at its
    # bottom, 0.3 x 0.85 / 0.7)
    assert "limit (1 at band top)" in hists[0] and "volume_min (0.3 at band bottom)" in hists[0]
    assert "area_ratio_min 0.66" in hists[1]
    assert "volume ratio: nominal solder volume" in hists[0] and "area ratio: aperture area" in hists[1]


def test_deterministic(ring):
    doc, plan, page = ring
    assert html_report(doc, plan) == page
    assert html_report(copy.deepcopy(doc), plan) == page


def test_text_is_escaped(ring):
    doc, plan, _ = ring
    doc = copy.deepcopy(doc)
    doc["summary"]["cell"] = '<script>alert("x")</script>&'
    noted = next(c for c in doc["contacts"] if c["findings"])
    noted["findings"][0]["message"] = '"><img src=x onerror=alert(1)>'
    page = html_report(doc, plan)
    assert "<script>alert" not in page and "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;" in page
    assert "<img" not in page


def test_huge_plans_draw_dots_in_the_overview(ring, monkeypatch):
    doc, plan, _ = ring
    monkeypatch.setattr(report_html, "MAX_DRAWN", 20)
    page = html_report(doc, plan)
    svg = overview(page)
    assert subpaths(svg, "ap ") == 0
    assert "too many to draw" in page
    assert subpaths(svg, "dots dot-all") == 17  # every 4th of the 68 contacts
    warned = sum(c["status"] == "warning" for c in doc["contacts"])
    every = -(-warned // 20)  # warning contacts are thinned the same way, to MAX_DRAWN at most
    assert subpaths(svg, "dots dot-warning") == -(-warned // every)
    # the close-ups still show the apertures around their contacts
    closeups = re.findall(r'<figure class="closeup.*?</figure>', page, re.S)
    assert len(closeups) == 10 and all(subpaths(c, "ap ") > 0 for c in closeups)


# ------------------------------------------------------------------------------------------------ browser


def png_rows(path: str) -> tuple[int, int, list[bytes]]:
    """Width, height and the (still filtered) scanlines of an 8-bit PNG, checked for size."""
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, header = 8, [], b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            idat.append(body)
        pos += 12 + length
    width, height, depth, colour = struct.unpack(">IIBB", header[:10])
    assert depth == 8 and colour in (2, 6)
    channels = 3 if colour == 2 else 4
    raw = zlib.decompress(b"".join(idat))
    stride = 1 + width * channels
    assert len(raw) == height * stride
    return width, height, [raw[k * stride : (k + 1) * stride] for k in range(height)]


def test_browser_screenshot(chromium, ring, tmp_path):
    _, _, page = ring
    path = tmp_path / "report.html"
    path.write_text(page, encoding="utf-8")
    png = tmp_path / "shot.png"
    run_chromium(
        [f"--screenshot={png}", "--window-size=1200,1600", path.as_uri()], str(tmp_path / "profile"), 60, chromium
    )
    assert png.exists() and png.stat().st_size > 10_000
    width, height, rows = png_rows(str(png))
    assert (width, height) == (1200, 1600)
    # a page of one colour has identical scanlines; the report has text, pictures and colours
    assert len(set(rows)) > 200
    assert len(set(b"".join(rows))) > 50


@pytest.mark.parametrize("descending", [False, True])
def test_browser_runs_the_script_and_sorts(chromium, ring, tmp_path, descending):
    doc, _, page = ring
    path = tmp_path / "report.html"
    path.write_text(page, encoding="utf-8")
    url = path.as_uri() + ("#sort=-volume_ratio" if descending else "#sort=volume_ratio")
    done = run_chromium(
        ["--enable-logging=stderr", "--v=0", "--dump-dom", url], str(tmp_path / "profile"), 60, chromium
    )
    dom = done.stdout
    bad_lines = [
        line
        for line in done.stderr.splitlines()
        if "Uncaught" in line or "SyntaxError" in line or ":ERROR:CONSOLE" in line or ":CONSOLE" in line
    ]
    assert not bad_lines, bad_lines
    assert re.search(r'<body[^>]*data-ready="1"', dom), "the page's script did not run"
    assert f'data-sorted="volume_ratio:{"desc" if descending else "asc"}"' in dom
    rows = table_rows(dom)
    assert len(rows) == sum(1 for r in doc["contacts"] if r["status"] != "ok")
    shown = [float(r[volume_column()][0]["data-v"]) for r in rows]
    assert shown == sorted(shown, reverse=descending)
    listed = [r["volume_ratio"] for r in doc["contacts"] if r["status"] != "ok"]
    assert shown[0] == (max if descending else min)(listed)


def test_a_small_layouts_keep_in_is_drawn_as_a_thin_dashed_line(chromium, realworld, tmp_path):
    """The pillar cell is 45 um across: its picture is some 24 screen pixels to the um. The keep-in's
    dashed outline keeps its width on screen (1.5 px), as every other outline does, instead of growing
    with the picture into bars 36 px thick that read as apertures."""
    from PIL import Image

    pillar = os.path.join(realworld, "ihp_gdsfactory_oasis", "CuPillarPad.oas")
    result = plan_file(pillar, str(tmp_path / "o"), Rules(), Options(layer="9/35", formats=("html",)))
    page = tmp_path / "o" / "CuPillarPad.html"
    assert result.report["summary"]["keep_in"]["bbox_um"] and page.exists()
    png = tmp_path / "shot.png"
    run_chromium(
        [f"--screenshot={png}", "--window-size=1400,1500", page.as_uri()], str(tmp_path / "profile"), 60, chromium
    )
    pixels = Image.open(png).convert("RGB").load()
    teal = sum(
        1 for x in range(1400) for y in range(1500) if abs(pixels[x, y][0] - 11) + abs(pixels[x, y][1] - 122) < 40
    )
    # (the outline's four sides, dashed, 1.5 px wide, some 500 px long each, and the legend's swatch)
    assert 200 < teal < 6000, teal


def test_the_overviews_labels_do_not_overlap():
    """Marks close together (the close-ups of neighbouring contacts, a corner among them) get labels
    that do not overlap: each beside its mark where there is room, else a line lower."""
    import numpy as np
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from stencilgen.html import LABEL_CHAR, label_places

    def boxes(points, texts, fs):
        at = label_places(np.array(points, dtype=float).reshape(-1, 2), texts, fs)
        return [
            (x, y - 0.25 * fs, x + LABEL_CHAR * fs * len(t), y + 0.95 * fs) for (x, y), t in zip(at, texts, strict=True)
        ]

    def apart(bs):
        return all(
            not (a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]) for i, a in enumerate(bs) for b in bs[:i]
        )

    # the staggered DEF's W3, W5 and W6: three contacts 35 um apart, labels 10 um tall
    cluster = [(0.0, 0.0), (35.0, 0.0), (0.0, 35.0), (1.0, 1.0), (400.0, 0.0)]
    texts = ["C1", "W1", "W2", "W3", "W4"]
    bs = boxes(cluster, texts, 10.0)
    assert apart(bs)
    assert bs[4][0] == pytest.approx(400.0 + 8.0)  # (a mark alone keeps its label beside it)

    @settings(max_examples=60, deadline=None)
    @given(st.lists(st.tuples(st.floats(0, 50), st.floats(0, 50)), min_size=1, max_size=18))
    def any_marks(points):
        assert apart(boxes(points, [f"W{k}" for k in range(1, len(points) + 1)], 6.0))

    any_marks()


def test_the_summary_cards_fit_a_1200_px_window_whatever_the_layouts_path(chromium, tmp_path):
    """A long path without spaces (a layout deep in a project tree) wraps within its card: the three
    summary cards, the rules' values among them, fit a 1200 px window (the page does not scroll
    sideways)."""
    import shutil

    deep = tmp_path / ("project_tree_of_a_layout_engineer_" * 3) / "tapeout_2026_12_final_for_real"
    deep.mkdir(parents=True)
    shutil.copy(os.path.join(SAMPLES, "ring_100um.gds"), deep / "ring_100um.gds")
    result = plan_file(str(deep / "ring_100um.gds"), str(tmp_path / "out"), Rules(), Options(layer="9/0", formats=()))
    page = html_report(result.report, result.plan)
    assert str(deep) in page
    probe = (
        "<script>document.body.setAttribute('data-overflow', "
        "String(document.documentElement.scrollWidth - window.innerWidth))</script></body>"
    )
    path = tmp_path / "report.html"
    path.write_text(page.replace("</body>", probe), encoding="utf-8")
    done = run_chromium(
        ["--window-size=1200,1000", "--dump-dom", path.as_uri()], str(tmp_path / "profile"), 60, chromium
    )
    overflow = re.search(r'data-overflow="(-?\d+)"', done.stdout)
    assert overflow is not None, done.stderr[-2000:]
    assert int(overflow.group(1)) <= 0


def test_one_error_is_one_error(ring):
    """Counts of one read as one: '1 error, 1 warning', '1 finding'; a single volume ratio stands alone."""
    doc, plan, _ = ring
    one = copy.deepcopy(doc)
    one["summary"]["errors"] = one["summary"]["warnings"] = 1
    one["summary"]["volume_ratio"]["max"] = one["summary"]["volume_ratio"]["min"]
    page = html_report(one, plan)
    assert "1 error, 1 warning</p>" in page and "1 errors" not in page and "1 warnings" not in page
    assert "<td>1 finding</td>" in page
    assert f"<td>{report_html._num(one['summary']['volume_ratio']['min'])} (volume ratio, nominal)</td>" in page


def test_the_overviews_caption_names_only_the_marks_drawn(tmp_path):
    """A die without corners (an area array) is not told that C1… mark corners."""
    result = plan_file(
        os.path.join(SAMPLES, "area_array.gds"), str(tmp_path), Rules(), Options(layer="9/0", formats=())
    )
    page = html_report(result.report, result.plan)
    caption = re.search(r'<figure id="overview">.*?<figcaption>(.*?)</figcaption>', page, re.S).group(1)
    assert "C1" not in caption and "W1… the contacts of the close-ups" in caption
