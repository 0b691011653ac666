"""Rule 6's "say why" beyond the volume: a printability finding names what sets the aperture's width
(rule 3's ratio, or the pitch less the web), and a same_side finding why the tip left its side of the
alternation (the keep-in, a facing contact, or volume_min on the other side)."""

from __future__ import annotations

import gdstk
import numpy as np
import synth

import stencilgen
from stencilgen.model import STRIP


def _write(path: str, die: synth.Die, edge: float | None = None) -> None:
    """The die's pads on 9/0; with `edge`, a die outline on 39/0 that far below and beside the pads'
    extent, and 400 um above it (the die's inside)."""
    lib = gdstk.Library(unit=1e-6, precision=1e-9)
    cell = lib.new_cell("DIE")
    polys = die.polygons()
    for p in polys:
        cell.add(gdstk.Polygon(p, 9, 0))
    if edge is not None:
        pts = np.concatenate(polys)
        top = pts.max(axis=0) + np.array([edge, 400.0])
        cell.add(gdstk.rectangle(tuple(pts.min(axis=0) - edge), tuple(top), layer=39))
    lib.write_gds(path)


def _row(pitch: float, count: int = 9, pad: tuple[float, float] = (60.0, 100.0)) -> synth.Die:
    """One straight row along x (no corners), centred on the origin."""
    die = synth.Die()
    for i in range(count):
        die.add(((i - (count - 1) / 2) * pitch, 0.0), pad, 0.0)
    return die


def _of(planned, code: str) -> list[dict]:
    return [f for f in planned.findings if f["code"] == code]


def test_five_ball_names_the_width_rule_that_sets_the_width(tmp_path):
    # 60 um wide pads: at 100 um pitch rule 3's ratio sets 36 um; at 75 um the pitch less the web, 35 um
    for pitch, want, width in ((100.0, "width", 36.0), (75.0, "web", 35.0)):
        path = str(tmp_path / f"ring{pitch:.0f}.gds")
        _write(path, _row(pitch))
        planned = stencilgen.plan(stencilgen.read_layout(path, layer="9/0"))
        balls = _of(planned, "five_ball")
        assert len(balls) == len(planned.layout.contacts)  # every strip narrower than 40 um
        for f in balls:
            assert f["limited_by"] == want, f
            assert abs(f["value"] - width) < 1e-3
            text = "the strip width (rule 3)" if want == "width" else "web_min_um to another aperture"
            assert f["message"].endswith("limited by " + text)


def test_same_side_says_the_keep_in_turned_the_tips(tmp_path):
    # the die edge 25 um beyond the pads: no tip fits outside (edge_margin_um 20), every tip turns inward
    path = str(tmp_path / "tight.gds")
    _write(path, _row(100.0), edge=25.0)
    planned = stencilgen.plan(stencilgen.read_layout(path, layer="9/0"))
    pairs = _of(planned, "same_side")
    assert len(pairs) == 8  # all nine tips on one side
    side = planned.plan.apertures.side
    for f in pairs:
        assert side[f["contact"]] == side[f["other"]]
        assert f["limited_by"] == "keep_in"
        assert f["message"].endswith("on the other side it would leave the keep-in outline less edge_margin_um")
    # the same die without the outline alternates its tips: no same_side at all
    free = stencilgen.plan(stencilgen.read_layout(path, layer="9/0"), keep_in="none")
    assert not _of(free, "same_side")


def test_same_side_for_volume_names_volume_min(tmp_path):
    path = str(tmp_path / "ring.gds")
    _write(path, synth.ring(side=2000.0, pitch=100.0, count=17, pad=(70.0, 100.0), edge=80.0))
    planned = stencilgen.plan(stencilgen.read_layout(path, layer="9/0"), keep_in="none")
    pairs = _of(planned, "same_side")
    assert pairs
    # each pair holds a tip turned at a corner to lift its contact to volume_min, which it reaches
    ratio = planned.volume_ratio
    for f in pairs:
        assert f["limited_by"] == "volume_min"
        assert "below volume_min" in f["message"]
    assert not _of(planned, "under_volume")
    assert ratio.min() >= 0.3


def test_an_open_corner_with_no_room_outside_keeps_one_oblique_strip_a_row(tmp_path):
    """A pad ring whose die edge lies 35 um beyond the pads (no tip fits outside): at each corner the
    contact nearest the corner point keeps the common oblique direction (rule 5) and the next one of
    each row runs straight inward, where it gets the solder of the row's straight strips."""
    path = str(tmp_path / "ring.gds")
    _write(path, synth.ring(side=2000.0, pitch=100.0, count=17, pad=(70.0, 100.0)), edge=None)
    lib = gdstk.read_gds(path)
    lib.cells[0].add(gdstk.rectangle((-1000, -1000), (1000, 1000), layer=39))
    lib.write_gds(path)
    planned = stencilgen.plan(stencilgen.read_layout(path, layer="9/0"))
    ap, c = planned.plan.apertures, planned.layout.contacts
    rows = planned.plan.rows
    ratio = planned.volume_ratio
    straight = ratio[~ap.corner & (ap.kind == STRIP)]
    assert len(rows.corners) == 4
    for corner in rows.corners:
        for r in corner.rows:
            row = rows.rows[r]
            members = row.members[np.isin(row.members, corner.members)]
            near = members[np.argsort(np.hypot(*(c.center[members] - corner.point).T))]
            assert ap.corner[near[0]] and not ap.corner[near[1:]].any()
            for k in near[1:]:
                assert abs(ap.axis[k] @ row.normal) > 1 - 1e-9 and ap.axis[k] @ row.normal < 0  # inward
                assert ratio[k] >= 0.95 * np.median(straight)
    assert (ratio >= 0.1).all()


def test_a_contact_left_without_an_aperture_gets_no_paste_and_says_why(tmp_path):
    """Rule 11: pads 20 um wide leave rule 3's strip 12 um wide (0.6 of the pad), narrower than
    min_aperture_um: no aperture, so no area, volume or cap height; the summary's least volume ratio is
    0, and the finding names rule 3's width as what leaves it too narrow."""
    path = str(tmp_path / "fine.gds")
    _write(path, _row(50.0, pad=(20.0, 100.0)))
    planned = stencilgen.plan(stencilgen.read_layout(path, layer="9/0"))
    report = planned.report
    assert planned.exit_code == 1
    for rec in report["contacts"]:
        assert rec["aperture"] == "none"
        assert rec["aperture_area_um2"] == 0 and rec["solder_volume_um3"] == 0 and rec["volume_ratio"] == 0
        assert rec["cap_height_um"] == 0
    assert report["summary"]["volume_ratio"]["min"] == 0
    found = _of(planned, "unprintable")
    assert len(found) == 9
    assert all(f["limited_by"] == "width" for f in found)


def test_a_pitch_too_fine_for_the_web_keeps_printable_strips_and_warns(tmp_path):
    """Rule 11: at 50 um pitch the web of 40 um would leave a 10 um strip; the planner never narrows a
    strip under min_aperture_um to gain web: every contact gets a strip of 15 um, and the web is a
    warning naming the neighbour, not an error."""
    path = str(tmp_path / "fine.gds")
    _write(path, _row(50.0, pad=(40.0, 100.0)))
    planned = stencilgen.plan(stencilgen.read_layout(path, layer="9/0"))
    assert planned.exit_code == 0
    rules = planned.rules
    widths = planned.column("aperture_width_um")
    assert np.allclose(widths, rules.min_aperture_um)
    assert not _of(planned, "unprintable")
    webs = _of(planned, "web")
    assert webs and all(f["severity"] == "warning" and f["value"] < rules.web_min_um for f in webs)
    assert all(f["other"] is not None and abs(f["other"] - f["contact"]) == 1 for f in webs)
    assert (planned.volume_ratio > 0).all()
