"""Fuzzing: damaged and random files never raise anything but stencilgen's own errors (and never crash
the process); random valid dies are planned with every hard rule kept or reported."""

from __future__ import annotations

import os

import numpy as np
import shapely
import synth
from conftest import SAMPLES
from hypothesis import given
from hypothesis import strategies as st

from stencilgen.checks import check_plan
from stencilgen.errors import StencilgenError
from stencilgen.geometry import build_contacts, to_shapely
from stencilgen.model import NONE, Polygons
from stencilgen.physics import solder_volume, volume_limit
from stencilgen.planner import aperture_polygons, plan_stencil
from stencilgen.readers import read_layout
from stencilgen.rows import find_rows
from stencilgen.rules import Rules

SOURCES = {
    ".gds": open(os.path.join(SAMPLES, "ring_100um.gds"), "rb").read(),
    ".dxf": open(os.path.join(SAMPLES, "die_mm_blocks.dxf"), "rb").read(),
}


def _read(tmp_path, name: str, data: bytes) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    layer = "PADS" if name.endswith(".dxf") else "9/0"
    try:
        layout = read_layout(str(path), layer=layer)
    except StencilgenError as exc:
        assert str(exc).startswith(str(path))
        assert "\n" not in str(exc)
    else:
        assert len(layout.contacts) > 0
        assert np.isfinite(layout.contacts.center).all()


@given(data=st.binary(min_size=0, max_size=2000), ext=st.sampled_from([".gds", ".oas", ".dxf"]))
def test_random_bytes(tmp_path_factory, data, ext):
    _read(tmp_path_factory.mktemp("rnd"), "f" + ext, data)


@given(
    ext=st.sampled_from(sorted(SOURCES)),
    edits=st.lists(
        st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 255), st.sampled_from(["set", "cut", "add"])),
        min_size=1,
        max_size=12,
    ),
)
def test_mutated_valid_files(tmp_path_factory, ext, edits):
    data = bytearray(SOURCES[ext])
    for where, value, how in edits:
        k = int(where * len(data))
        if how == "set":
            data[k] = value
        elif how == "cut":
            del data[k : k + 1 + value % 64]
        else:
            data[k:k] = bytes([value]) * (1 + value % 8)
        if not data:
            break
    _read(tmp_path_factory.mktemp("mut"), "f" + ext, bytes(data))


@given(
    pitch=st.floats(60, 220),
    width=st.floats(0.35, 0.85),
    depth=st.floats(0.5, 2.5),
    count=st.integers(3, 16),
    angle=st.floats(0, 360),
    thickness=st.floats(10, 40),
    strategy=st.sampled_from(["tip", "offset"]),
)
def test_random_dies_keep_or_report_every_hard_rule(pitch, width, depth, count, angle, thickness, strategy):
    w = pitch * width
    side = (count + 4) * pitch
    die = synth.ring(side=side, pitch=pitch, count=count, pad=(w, min(w * depth, 0.9 * side / 4)))
    die = die.transformed(angle, (1000.0, -500.0))
    contacts, _ = build_contacts(Polygons.from_list(die.polygons()), 0.001)
    rules = Rules(thickness_um=thickness, strategy=strategy)
    plan = plan_stencil(contacts, find_rows(contacts, rules), rules)
    checked = check_plan(plan, rules)
    a = plan.apertures
    codes = {}
    for c, code in zip(checked.findings.contact.tolist(), checked.findings.code.tolist(), strict=True):
        codes.setdefault(c, set()).add(code)
    # volume: never above the limit at the top of the transfer band (a hard rule the planner keeps)
    v_hi = solder_volume(a.area, rules, rules.transfer_efficiency_max)
    assert (v_hi <= volume_limit(contacts.d) * (1 + 1e-6)).all()
    # one aperture per contact, touching its own and keeping clearance from the others, or reported
    polys = aperture_polygons(a)
    pads = to_shapely(contacts.polygons)
    for i in range(len(contacts)):
        if a.kind[i] == NONE:
            assert codes.get(i, set()) & {"no_aperture", "unprintable"}
            continue
        ap = shapely.polygons(polys.polygon(i))
        if not ap.intersects(pads[i]):
            assert "not_on_contact" in codes.get(i, set())
        others = np.delete(np.arange(len(contacts)), i)
        dist = shapely.distance(ap, pads[others])
        if dist.min() < rules.clearance_um - 0.2:  # the check measures 24 chords per arc, this 48
            assert codes.get(i, set()) & {"clearance", "bridge"}, (i, dist.min())
