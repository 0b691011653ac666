"""A flat layout made of one die repeated is found to be so (repeats.py), and its rows found once per
die are the rows found on the whole layout; where that would not hold, the layout is taken whole."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import synth
from hypothesis import given, settings
from hypothesis import strategies as st

from stencilgen.geometry import build_contacts
from stencilgen.model import Contacts, Polygons
from stencilgen.repeats import find_repeats
from stencilgen.rows import find_rows, layout_rows
from stencilgen.rules import Rules


def _flat(dies: list[synth.Die]) -> Contacts:
    polys = [p for die in dies for p in die.polygons()]
    contacts, excluded = build_contacts(Polygons.from_list(polys), 0.001)
    assert not excluded
    return contacts


def _tiled(die: synth.Die, nx: int, ny: int, step: tuple[float, float], angle: float = 0.0) -> list[synth.Die]:
    return [die.transformed(angle, (i * step[0], j * step[1])) for i in range(nx) for j in range(ny)]


def _rows_key(contacts: Contacts, rs) -> list[tuple]:
    """Rows, corners and staggers as sets of contact positions (ids and row numbers aside)."""
    at = [tuple(np.round(p, 3)) for p in contacts.center]
    rows = sorted(
        (tuple(sorted(at[i] for i in r.members)), round(r.pitch, 4), tuple(np.round(r.normal, 6))) for r in rs.rows
    )
    corners = sorted(tuple(sorted(at[i] for i in k.members)) for k in rs.corners)
    arrays = sorted(tuple(sorted(at[i] for i in a.members)) for a in rs.arrays)
    return [rows, corners, arrays, len(rs.staggers), sorted(rs.isolated.tolist())]


@pytest.mark.parametrize(
    "die, step",
    [
        (synth.ring(side=2000, pitch=100.0, count=17), (2600.0, 2700.0)),
        (synth.staggered_ring(side=2100, pitch=120.0, count=15, sep=80.0), (2700.0, 2800.0)),
        (synth.ring(side=2000, pitch=(80.0, 100.0, 125.0, 90.0), count=(22, 18, 14, 20)), (2600.0, 2600.0)),
        (synth.ring(side=2000, pitch=90.0, count=19).transformed(23.0, (0.0, 0.0)), (3400.0, 3300.0)),
        (synth.area_array(nx=8, ny=6, pitch=(150.0, 170.0)), (2000.0, 1800.0)),
    ],
)
def test_repeated_die_found_and_rows_as_on_the_whole(die, step):
    contacts = _flat(_tiled(die, 3, 2, step))
    inst = find_repeats(contacts, 0.001)
    assert inst is not None
    assert inst.index.shape == (6, len(contacts) // 6)
    assert sorted(inst.index.ravel().tolist()) == list(range(len(contacts)))
    # every placement is the element moved by its translation, contact for contact
    for p in range(6):
        np.testing.assert_allclose(contacts.center[inst.index[p]], inst.element.center + inst.transforms[p, :, 2])
        np.testing.assert_array_equal(inst.transforms[p, :, :2], np.eye(2))
    rows, element = layout_rows(contacts, inst)
    assert element is not None  # found once per die
    assert _rows_key(contacts, rows) == _rows_key(contacts, find_rows(contacts))


@pytest.mark.parametrize("street", [170.0, 120.0, 100.0])
def test_dies_parted_by_narrow_streets_are_found(street):
    """Streets narrower than two pad lengths (90 um pads: 180 um) that stand out from the gaps between a
    die's pads (10 um here: 100 um pitch, 90 um long pads turned along the ring's corners) part the dies."""
    die = synth.ring(side=2000, pitch=100.0, count=17, edge=30.0)
    pads = np.concatenate(die.polygons())
    width = float(pads[:, 0].max() - pads[:, 0].min())
    contacts = _flat(_tiled(die, 3, 2, (width + street, width + street)))
    inst = find_repeats(contacts, 0.001)
    assert inst is not None and inst.index.shape == (6, len(contacts) // 6)
    assert inst.gap_um == pytest.approx(street)


@pytest.mark.parametrize(
    "nx, ny, pitch",
    [(8, 6, (150.0, 170.0)), (24, 6, (150.0, 70.0)), (6, 24, (70.0, 150.0)), (12, 12, (130.0, 130.0))],
)
def test_an_area_array_is_no_repeat_of_its_columns(nx, ny, pitch):
    """An area array whose gaps between pads exceed a pad length, all alike (or alike along one axis,
    the pads nearly touching along the other): no street stands out, no column or block is a die."""
    contacts = _flat([synth.area_array(nx=nx, ny=ny, pitch=pitch, pad=60.0)])
    assert find_repeats(contacts, 0.001) is None


def test_a_die_that_differs_is_no_repeat():
    die = synth.ring(side=2000, pitch=100.0, count=17)
    other = synth.ring(side=2000, pitch=100.0, count=17, missing={1: [3]})
    dies = _tiled(die, 3, 1, (2600.0, 0.0))
    dies.append(other.transformed(0.0, (3 * 2600.0, 0.0)))
    assert find_repeats(_flat(dies), 0.001) is None
    # the same pads, one of them a different shape
    moved = synth.ring(side=2000, pitch=100.0, count=17, pad=(60.0, 90.0))
    polys = [p for d in _tiled(moved, 2, 1, (2600.0, 0.0)) for p in d.polygons()]
    polys[5] = synth.rect(tuple(polys[5].mean(axis=0)), (58.0, 90.0), 0.0)
    contacts, _ = build_contacts(Polygons.from_list(polys), 0.001)
    assert find_repeats(contacts, 0.001) is None


def test_one_die_or_turned_copies_are_no_repeat():
    die = synth.ring(side=2000, pitch=100.0, count=17)
    assert find_repeats(_flat([die]), 0.001) is None
    # two copies, the second turned: the same pads but not a translation
    assert find_repeats(_flat([die, die.transformed(90.0, (2600.0, 0.0))]), 0.001) is None


def test_dies_too_close_for_their_rows_are_taken_whole():
    # scribe lanes narrower than a corner's reach (3 pitches): repeats exist, the rows come from the whole
    die = synth.ring(side=2000, pitch=100.0, count=17, edge=30.0)
    contacts = _flat(_tiled(die, 3, 1, (2000.0 + 250.0, 0.0)))
    inst = find_repeats(contacts, 0.001)
    assert inst is not None and inst.gap_um is not None and inst.gap_um < 3 * 100.0
    rules = Rules(spacing_tolerance=0.05)
    rows, element = layout_rows(contacts, inst, rules)
    assert element is None
    assert _rows_key(contacts, rows) == _rows_key(contacts, find_rows(contacts, rules))


def test_rows_facing_the_layout_centre_are_taken_whole():
    # dies with pads on two opposite sides only: no corner joins their rows, which face away from the
    # centre of all contacts; that centre is another point for one die than for the whole layout
    die = synth.ring(side=2000, pitch=100.0, count=(17, 0, 17, 0))
    contacts = _flat(_tiled(die, 2, 3, (3000.0, 3000.0)))
    inst = find_repeats(contacts, 0.001)
    assert inst is not None
    rules = Rules(spacing_tolerance=0.05)
    rows, element = layout_rows(contacts, inst, rules)
    assert element is None
    assert _rows_key(contacts, rows) == _rows_key(contacts, find_rows(contacts, rules))


def test_die_empty_at_its_corners_is_parted_by_its_wider_lanes():
    # empty stretches inside the die (457.5 um at its corners) wider than two pad lengths part it too:
    # the lanes between dies (670 um), wider still, part the dies alone, and the rows are those of the
    # whole layout
    die = synth.staggered_ring(side=3000, pitch=120.0, count=15, sep=80.0)
    contacts = _flat(_tiled(die, 3, 2, (3600.0, 3600.0)))
    inst = find_repeats(contacts, 0.001)
    assert inst is not None and inst.index.shape == (6, len(contacts) // 6)
    assert inst.gap_um == pytest.approx(670.0)
    rows, _element = layout_rows(contacts, inst)
    assert len(rows.rows) == 6 * 8
    assert _rows_key(contacts, rows) == _rows_key(contacts, find_rows(contacts))


def test_die_emptier_at_its_corners_than_its_scribe_lanes_is_taken_whole():
    # the empty stretches inside the die are wider than those between dies: no lanes part the dies
    # from each other alone, no repeat is claimed, and the rows are those of the whole layout
    die = synth.staggered_ring(side=3000, pitch=120.0, count=15, sep=80.0)
    contacts = _flat(_tiled(die, 3, 2, (3300.0, 3300.0)))
    inst = find_repeats(contacts, 0.001)
    assert inst is None
    rows, element = layout_rows(contacts, inst)
    assert element is None and len(rows.rows) == 6 * 8


def test_read_layout_finds_the_repeat_and_merges_touching_pads_in_every_die(tmp_path, monkeypatch):
    import stencilgen.readers as readers
    from stencilgen.readers import read_layout

    die = synth.ring(side=2000, pitch=100.0, count=17)
    polys = [p for d in _tiled(die, 3, 2, (2600.0, 2600.0)) for p in d.polygons()]
    # in every die, one pad drawn as two abutting halves: merged into one contact
    halves = []
    for dx, dy in [(i * 2600.0, j * 2600.0) for i in range(3) for j in range(2)]:
        halves.append(synth.rect((dx - 15.0, dy), (30.0, 90.0), 0.0))
        halves.append(synth.rect((dx + 15.0, dy), (30.0, 90.0), 0.0))
    path = str(tmp_path / "flat_dies.gds")
    synth.write_gds(path, polys + halves)
    found = read_layout(path, layer="9/0")
    with monkeypatch.context() as m:
        m.setattr(readers, "find_repeats", lambda *args: None)
        whole = read_layout(path, layer="9/0")
    assert len(found.contacts) == len(whole.contacts) == 6 * (68 + 1)
    np.testing.assert_array_equal(found.contacts.center, whole.contacts.center)
    np.testing.assert_array_equal(found.contacts.polygons.coords, whole.contacts.polygons.coords)
    assert len(found.excluded) == len(whole.excluded) == 6  # one merge noted per die
    assert found.instances is not None and len(found.instances.transforms) == 6
    assert whole.instances is None
    # inspect says so, with the width of the bands between the dies
    from stencilgen.report import inspect_report, inspect_text
    from stencilgen.rows import find_layout_rows

    doc = inspect_report(found, find_layout_rows(found.contacts, found.instances))
    assert doc["hierarchy"]["placements"] == 6 and doc["hierarchy"]["found_in_flat_layout"]
    assert doc["hierarchy"]["gap_um"] == pytest.approx(found.instances.gap_um, abs=1e-4)
    assert "placed 6 times (found in the flat layout" in inspect_text(doc)


def test_a_row_of_two_pitches_in_line_with_its_copies_is_taken_whole():
    # a top row whose spacings are 5 x 100 then 5 x 110 um is one row in a die (median 105, both within
    # spacing_tolerance = 5 %); on the whole layout it lies in line with its copy in the next die, the jump across the
    # scribe lane moves the line's median to 110 and the row splits: the die alone would read it otherwise
    p, n = 100.0, 11
    side = (n - 1) * p + 4 * p
    pads = []
    for i in range(n):
        t = 2 * p + i * p
        pads += [((t, 60.0), (50.0, 120.0)), ((60.0, t), (120.0, 50.0)), ((side - 60.0, t), (120.0, 50.0))]
    xs = 2 * p + np.concatenate([[0.0], np.cumsum([100.0] * 5 + [110.0] * 5)])
    pads += [((x, side - 60.0), (50.0, 120.0)) for x in xs]
    polys = [synth.rect((cx + k * (side + 800.0), cy), size, 0.0) for k in range(2) for (cx, cy), size in pads]
    contacts, _ = build_contacts(Polygons.from_list(polys), 0.001)
    inst = find_repeats(contacts, 0.001)
    assert inst is not None
    rules = Rules(spacing_tolerance=0.05)
    rows, element = layout_rows(contacts, inst, rules)
    assert element is None
    assert _rows_key(contacts, rows) == _rows_key(contacts, find_rows(contacts, rules))


def _bands_plainly(lo: list[float], hi: list[float], wide: float) -> tuple[list[int], float]:
    """Bands by the definition: two intervals no farther apart than `wide` share a band (and so do
    the intervals joined through them); bands numbered from the lowest; the narrowest empty stretch
    between neighbouring bands."""
    n = len(lo)
    band = list(range(n))
    changed = True
    while changed:
        changed = False
        for i in range(n):
            for j in range(n):
                if max(lo[i], lo[j]) - min(hi[i], hi[j]) <= wide and band[i] != band[j]:
                    band[i] = band[j] = min(band[i], band[j])
                    changed = True
    groups = sorted(set(band), key=lambda g: min(lo[i] for i in range(n) if band[i] == g))
    number = {g: k for k, g in enumerate(groups)}
    narrowest = float("inf")
    for g, h in itertools.pairwise(groups):
        reach = max(hi[i] for i in range(n) if band[i] == g)
        narrowest = min(narrowest, min(lo[i] for i in range(n) if band[i] == h) - reach)
    return [number[b] for b in band], narrowest


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 600), st.integers(0, 100)), min_size=1, max_size=40),
    st.sampled_from([0.5, 1.0, 3.0, 7.0, 0.1]),
    st.sampled_from([0.1, 1e-3, 1e3, 12.5]),
)
def test_bands_are_the_bands_of_the_definition(spans, wide, scale):
    """The same band of each interval and the same narrowest stretch, to the bit (stretches just
    wider than `wide`, or exactly as wide; touching and nested intervals)."""
    from stencilgen.repeats import bands as _bands

    lo = np.array([a for a, _ in spans], dtype=np.float64) * scale / 10
    hi = lo + np.array([b for _, b in spans], dtype=np.float64) * scale / 10
    band, narrowest = _bands(lo, hi, wide * scale)
    want_band, want_narrowest = _bands_plainly(lo.tolist(), hi.tolist(), wide * scale)
    assert band.tolist() == want_band and narrowest == want_narrowest


@pytest.mark.parametrize("touching", [False, True])
def test_read_layout_of_dies_that_are_not_copies(tmp_path, touching):
    """Dies that are not copies (each lacks a different pad), with or without two abutting halves of a
    pad: every pad a contact, the two halves one (with its note), no repeats."""
    from stencilgen.readers import read_layout

    polys = []
    for i in range(3):
        die = synth.ring(side=2000, pitch=100.0, count=17, missing={0: [i + 2]})
        polys += [p + np.array([i * 2600.0, 0.0]) for p in die.polygons()]
    if touching:
        polys += [synth.rect((-15.0, 0.0), (30.0, 90.0), 0.0), synth.rect((15.0, 0.0), (30.0, 90.0), 0.0)]
    path = str(tmp_path / "unlike_dies.gds")
    synth.write_gds(path, polys)
    layout = read_layout(path, layer="9/0")
    assert layout.instances is None
    assert len(layout.contacts) == 3 * 67 + touching
    assert len(layout.excluded) == int(touching)
