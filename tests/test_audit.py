"""The plan audit (benchmarks/audit_plan.py) on two bundled samples, and on a plan spoiled by hand."""

from __future__ import annotations

import os
import re
import shutil
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "benchmarks"))

import audit_plan  # noqa: E402

SAMPLES = {"ring_100um": "9/0", "staggered_rows": "9/0"}


@pytest.fixture(scope="module")
def planned(tmp_path_factory):
    """Each sample planned once with the default rules, and its audit."""
    out = {}
    for name, layer in SAMPLES.items():
        folder = str(tmp_path_factory.mktemp(name))
        layout = os.path.join(ROOT, "sample_layouts", name + ".gds")
        audit_plan._run_plan(layout, layer, [], folder, None)
        out[name] = (layout, folder, audit_plan.audit(layout, layer, plan_dir=folder))
    return out


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_hard_rules_hold_in_the_gerber_and_the_dxf(planned, name):
    res = planned[name][2]
    assert res.contacts == res.apertures > 0
    assert set(res.hard) >= {f"{f} rule {r}" for f in ("gerber", "dxf") for r in ("1", "3", "6", "8", "11")}
    assert {k: v for k, v in res.hard.items() if v} == {}


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_no_contact_left_short_no_sliver_nothing_off_the_die(planned, name):
    counts = planned[name][2].counts()
    assert (counts["a"], counts["b"], counts["c"], counts["c_keep_in"]) == (0, 0, 0, 0)


def test_ring_counts_as_found(planned):
    """What the audit finds on the ring: the 8 corner strips under volume_min, no strip reaching it
    (slid or flipped), the planned ones within 0.01 of the best the audit finds; a pad grown 4 um would,
    but a pad in a fine-pitch row breaks rule 3: not counted."""
    res = planned["ring_100um"][2]
    short = [o for o in res.below_min if o not in res.a]
    assert sorted(o.contact for o in short) == [0, 16, 17, 18, 49, 50, 51, 67]
    for o in short:
        assert o.planned_ratio == pytest.approx(0.216, abs=0.002)
        assert o.best_ratio < 0.3 and o.strip_ratio is not None and o.strip_ratio < 0.3
        assert o.planned_ratio > o.strip_ratio - 0.01
        assert o.pad_ratio is not None and o.pad_ratio >= 0.3


def _replace_region(gerber: str, cell: str, contact: int, outline_um: list[tuple[float, float]]) -> str:
    """The Gerber with contact's region redrawn as the polygon given (um)."""
    pts = [f"X{round(x * 1000)}Y{round(y * 1000)}" for x, y in [*outline_um, outline_um[0]]]
    body = "G36*\n" + pts[0] + "D02*\n" + "".join(f"G01{p}D01*\n" for p in pts[1:]) + "G37*\n"
    pattern = re.compile(rf"(%TO\.P,{cell},{contact}\*%\n)G36\*\n.*?G37\*\n", re.S)
    new, n = pattern.subn(lambda m: m.group(1) + body, gerber)
    assert n == 1
    return new


def test_a_spoiled_plan_is_caught(planned, tmp_path):
    """A strip cut needlessly short (contact 2: 5 um beyond its contact) counts in (a); a sliver of
    10 um (contact 4) the report does not call unprintable counts in (b) and breaks rule 11; the
    Gerber then differs from the DXF."""
    layout, folder, _ = planned["ring_100um"]
    spoiled = str(tmp_path / "plan")
    shutil.copytree(folder, spoiled)
    path = os.path.join(spoiled, "ring_100um.gbr")
    with open(path) as fh:
        text = fh.read()
    # ring contacts 2 and 4: 70 x 100 um at (-600, -920) and (-400, -920), rows along x
    text = _replace_region(text, "RING_DIE", 2, [(-621, -970), (-579, -970), (-579, -865), (-621, -865)])
    text = _replace_region(text, "RING_DIE", 4, [(-405, -970), (-395, -970), (-395, -800), (-405, -800)])
    with open(path, "w") as fh:
        fh.write(text)
    res = audit_plan.audit(layout, "9/0", plan_dir=spoiled)
    short = [o for o in res.a if o.contact == 2]
    assert len(short) == 1
    assert short[0].planned_ratio == pytest.approx(42 * 105 * 20 * 0.35 / 179594.4, abs=0.002)
    assert short[0].best_ratio > 0.3 and short[0].alternative in ("slide", "flip")
    assert [o.contact for o in res.b] == [4]
    assert [t.split(":")[0] for t in res.hard["gerber rule 11"]] == ["contact 4"]
    assert res.hard["dxf rule 11"] == []
    assert sorted(t.split(":")[0] for t in res.hard["gerber vs dxf"]) == ["contact 2", "contact 4"]


def test_a_strip_beside_a_changed_corner_turns_its_tip_again(tmp_path):
    """A ring whose outline lies 30 um beyond its pads (audit_suite's ring_100um_m30): the corners'
    plain strips change last (fewer oblique members), and the strips beside them then slide or turn
    again. Contact 5, whose tip the outline stops outside, turns it inward beside its straightened
    neighbours: from 0.15 to over volume_min; no contact is left short that a slid or turned strip
    would lift (the audit's (a))."""
    import audit_suite

    import stencilgen

    dies = dict((os.path.basename(p), p) for p, _ in audit_suite.synthetic(str(tmp_path)))
    path = dies["ring_100um_m30.gds"]
    planned = stencilgen.plan(stencilgen.read_layout(path, layer="9/0"))
    five = planned.records[5]
    assert five["volume_ratio"] > 0.35 and "same_side" in [f["code"] for f in five["findings"]]
    low = planned.volume_ratio < 0.3
    assert low.sum() <= 7
    out = tmp_path / "plan"
    planned.write(out, formats=("gerber", "dxf", "gds"))
    res = audit_plan.audit(path, "9/0", plan_dir=str(out))
    assert res.counts()["a"] == 0


def test_rotated_mixed_pitch_leaves_no_contact_a_slide_or_turn_would_lift(tmp_path):
    """The turned, mirrored die with 80 and 125 um pitch: its starved corner strips try finer slides
    around the best one found, so that none is left below volume_min where a strip slid across its
    contact would reach it (the audit's (a)); no unreported sliver; every hard rule in both files."""
    layout = os.path.join(ROOT, "sample_layouts", "rotated_mixed_pitch.gds")
    folder = str(tmp_path / "plan")
    audit_plan._run_plan(layout, "9/0", [], folder, None)
    res = audit_plan.audit(layout, "9/0", plan_dir=folder)
    assert res.counts()["a"] == 0 and res.counts()["b"] == 0
    assert {k: v for k, v in res.hard.items() if v} == {}


@pytest.mark.parametrize("size", [(8, 100.0, 1.5, 4.0, (60.0, 90.0), 50.0), (10, 80.0, 1.0, 3.0, (48.0, 72.0), 40.0)])
def test_pinwheel_strips_find_the_gaps_their_neighbours_leave(tmp_path, size):
    """Pinwheels: four rows, each running past the end of the next, their corner strips crowded by the
    other rows' strips. A contact still below volume_min tries slides on a finer grid, and a wide tip
    near its contact before a long strip, while the strips near it stand (they take turns): none is
    left short that a strip slid across its contact alone would lift (the audit's (a)), every hard rule
    holds in both files."""
    import audit_suite
    import synth

    n, pitch, short, past, pad, margin = size
    path = str(tmp_path / "pinwheel.gds")
    audit_suite.write_die(path, synth.pinwheel(n, pitch, short=short, past=past, pad=pad).polygons(), margin)
    folder = str(tmp_path / "plan")
    audit_plan._run_plan(path, "9/0", [], folder, None)
    res = audit_plan.audit(path, "9/0", plan_dir=folder)
    assert res.counts()["a"] == 0 and res.counts()["b"] == 0
    assert {k: v for k, v in res.hard.items() if v} == {}


def test_the_sixty_degree_die_keeps_every_hard_rule(tmp_path):
    """A triangular die, its rows meeting at 60 deg, 100 um pitch: the corners turn, their nearest strips
    at the edge of printable; every hard rule holds in the Gerber and the DXF re-read (an oblique strip
    grown longer for a web the pitch forces once came out 79 um along its 60 um contact, rule 3), and
    no contact is left short that a strip slid across it would lift."""
    import audit_suite

    path = str(tmp_path / "sixty.gds")
    audit_suite.write_die(path, audit_suite.sixty(100.0, 12).polygons(), 60.0)
    folder = str(tmp_path / "plan")
    audit_plan._run_plan(path, "9/0", [], folder, None)
    res = audit_plan.audit(path, "9/0", plan_dir=folder)
    assert res.counts()["a"] == 0 and res.counts()["b"] == 0
    assert {k: v for k, v in res.hard.items() if v} == {}


def _tight_corner_ring(path: str) -> None:
    """A ring of 9 pads a side at 100 um, pads 80 x 100 um (1 % apart in size, centres 0.4 um off grid,
    seed 4105), the end pads 105 um from the next row's centerline, a seal frame 28 um beyond the pads:
    the neighbours of the corners' end pads leave them narrow gaps."""
    import gdstk
    import numpy as np

    rng = np.random.default_rng(4105)
    pads = []
    half = 4 * 100.0 + 105.0
    for k, mid in enumerate([(0.0, -half), (half, 0.0), (0.0, half), (-half, 0.0)]):
        u = np.array([np.cos(np.pi / 2 * k), np.sin(np.pi / 2 * k)])
        n = np.array([-u[1], u[0]])
        for i in range(9):
            c = np.asarray(mid) + (i - 4) * 100.0 * u + rng.uniform(-0.4, 0.4, 2)
            a = 40.0 * (1 + rng.uniform(-0.01, 0.01))
            b = 50.0 * (1 + rng.uniform(-0.01, 0.01))
            pads.append(np.array([c - a * u - b * n, c + a * u - b * n, c + a * u + b * n, c - a * u + b * n]))
    lib = gdstk.Library(unit=1e-6, precision=1e-9)
    cell = lib.new_cell("DIE")
    for p in pads:
        cell.add(gdstk.Polygon(np.round(p, 3), layer=9))
    pts = np.concatenate(pads)
    lo, hi = pts.min(axis=0) - 28.0, pts.max(axis=0) + 28.0
    for p in gdstk.boolean(
        gdstk.rectangle(tuple(lo), tuple(hi)), gdstk.rectangle(tuple(lo + 12), tuple(hi - 12)), "not"
    ):
        cell.add(gdstk.Polygon(np.round(p.points, 3), layer=39))
    lib.write_gds(path)


def test_a_contact_left_short_tries_the_simple_shapes_alone_last(tmp_path, monkeypatch):
    """The tight corner ring: contact 33, next but one to a corner, stays below volume_min through the
    needy rounds (a neighbour's choice, tried beside its own, took the gap it had found). Last, each
    contact still short tries alone, its neighbours standing, slides 1/16 of its range apart and tips
    held narrower: contact 33 slides toward the corner with its tip as wide as its contact and reaches
    volume_min; none is left short that a strip slid across it would lift (the audit's (a)), and no
    other contact loses solder to it."""
    import stencilgen

    path = str(tmp_path / "tight.gds")
    _tight_corner_ring(path)
    planned = stencilgen.plan(stencilgen.read_layout(path, layer="9/0"))
    assert planned.records[33]["volume_ratio"] > 0.3 * 0.85 / 0.7  # (volume_min at the bottom of the band)
    assert "under_volume" not in [f["code"] for f in planned.records[33]["findings"]]
    out = tmp_path / "plan"
    planned.write(out, formats=("gerber", "dxf", "gds"))
    res = audit_plan.audit(path, "9/0", plan_dir=str(out))
    assert res.counts()["a"] == 0 and res.counts()["b"] == 0
    assert {k: v for k, v in res.hard.items() if v} == {}
    import stencilgen.planner

    monkeypatch.setattr(stencilgen.planner, "_polish", lambda *args: False)
    unpolished = stencilgen.plan(stencilgen.read_layout(path, layer="9/0"))
    gained = planned.plan.apertures.area - unpolished.plan.apertures.area
    assert gained[33] > 2000.0 and (gained > -1e-6).all()
