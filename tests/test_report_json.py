"""The report's JSON text: numeric columns formatted from arrays parse back to the rounded values,
nulls where not applicable, one row per line, whatever the chunking; load_report reads the records
back exactly as the library holds them."""

from __future__ import annotations

import json

import numpy as np
import pytest

from stencilgen.checks import Findings
from stencilgen.report import PAD, ContactRecords, _Num, dumps_report, load_report


@pytest.mark.parametrize("nd", [0, 2, 3, 4])
def test_numeric_column_text_parses_to_the_rounded_values(nd: int) -> None:
    rng = np.random.default_rng(nd)
    v = np.concatenate(
        [
            rng.normal(0, 10.0 ** rng.integers(0, 9), 500),
            [0.0, -0.0, -1e-9, 0.5, -0.5, 1e11, -123.45675, np.inf, np.nan],
        ]
    )
    ok = rng.random(len(v)) > 0.1
    col = _Num(v, nd, ok)
    block = col.block(0, len(v))
    texts = [bytes(b for b in row if b != PAD).decode() for row in block]
    parsed = [json.loads(t) for t in texts]
    want = col.tolist()
    assert (
        parsed == pytest.approx(want)
        if None not in want
        else all(
            (p is None and w is None) or p == pytest.approx(w, abs=10.0**-nd) for p, w in zip(parsed, want, strict=True)
        )
    )
    for t, w in zip(texts, want, strict=True):
        assert (t == "null") == (w is None)
        if w is not None and "." in t:  # at most nd decimals, no trailing zero
            assert 0 < len(t.split(".")[1]) <= nd and not t.endswith("0")
    assert [round(x, nd) + 0.0 for x in v[np.isfinite(v) & ok]] == pytest.approx(
        [p for p in parsed if p is not None], abs=10.0**-nd / 2
    )


@pytest.mark.parametrize("nd", [0, 1, 4])
def test_numeric_text_is_the_same_whether_its_digits_fit_32_bits(nd: int) -> None:
    """A column whose scaled values fit 32-bit integers is formatted with them: each value's text is
    the one it gets beside a value that does not fit (formatted with 64-bit integers)."""
    rng = np.random.default_rng(nd)
    v = np.concatenate([rng.normal(0, 10.0 ** rng.integers(0, 5), 2000), [0.0, -0.0, -1e-9, 0.5, -0.5, -7.0]])
    v = np.concatenate([v, [(2**31 - 1) / 10.0**nd, -(2**31 - 1) / 10.0**nd]])  # the largest that fit
    ok = rng.random(len(v)) > 0.1

    def texts(col: _Num, n: int) -> list[str]:
        return [bytes(b for b in row if b != PAD).decode() for row in col.block(0, n)]

    small = texts(_Num(v, nd, ok), len(v))
    large = texts(_Num(np.concatenate([v, [2.0**40]]), nd, np.concatenate([ok, [True]])), len(v) + 1)
    assert small == large[:-1] and large[-1] == "1099511627776"
    assert "2147483647" in "".join(small).replace(".", "")


def test_records_round_trip_across_chunks() -> None:
    n = 20_000  # more than one chunk
    rng = np.random.default_rng(1)
    columns = {
        "id": _Num(np.arange(n), 0),
        "x_um": _Num(rng.normal(0, 1e4, n), 4),
        "row": _Num(rng.integers(-1, 5, n), 0, rng.integers(-1, 5, n) >= 0),
        "band": (_Num(rng.random(n), 2), _Num(rng.random(n), 2)),
        "status": ["ok"] * n,
        "oblique": [bool(b) for b in rng.random(n) > 0.5],
    }
    contact = np.sort(rng.choice(n, 300, replace=False))
    findings = Findings(contact, np.full(300, "web", object), rng.random(300), np.full(300, 40.0), -np.ones(300, int))
    records = ContactRecords(columns, findings)
    text = dumps_report({"summary": {"contacts": n}, "contacts": records})
    raw = json.loads(text)
    assert raw["contacts"]["fields"] == list(columns) and len(raw["contacts"]["rows"]) == n
    assert len(raw["findings"]["rows"]) == 300
    assert text.count("\n[") == n + 300  # one row per line
    doc = load_report(text)
    assert len(doc["contacts"]) == n
    assert doc["contacts"] == list(records)
    assert sum(len(r["findings"]) for r in doc["contacts"]) == 300


def test_text_columns_with_commas_or_non_ascii() -> None:
    """A text column that cannot be split after one encoding is encoded value by value, escaped."""
    columns = {"id": _Num(np.arange(3), 0), "note": ["a,b", "µm", "plain"]}
    findings = Findings(np.zeros(0, int), np.zeros(0, object), np.zeros(0), np.zeros(0), np.zeros(0, int))
    doc = load_report(dumps_report({"summary": {}, "contacts": ContactRecords(columns, findings)}))
    assert [r["note"] for r in doc["contacts"]] == ["a,b", "µm", "plain"]


def test_findings_read_back_as_the_library_words_them() -> None:
    """Each finding is a row (contact, code, value, limit, other, limited_by); read back, its record
    and message are the library's, other contacts, limited_by and -0.0 included."""
    n = 3000
    rng = np.random.default_rng(5)
    contact = np.sort(rng.choice(n, 2500, replace=True))
    code = np.array(rng.choice(["web", "clearance", "under_volume"], len(contact)), dtype=object)
    value = rng.choice([12.5, 0.0, -0.0, 3.25], len(contact))
    other = np.where(code == "under_volume", -1, rng.integers(0, n, len(contact)))
    reason = np.array(rng.choice(["", "web", "clearance"], len(contact)), dtype=object)
    findings = Findings(contact, code, value, np.full(len(contact), 40.0), other, reason).in_order()
    records = ContactRecords({"id": _Num(np.arange(n), 0)}, findings)
    doc = load_report(dumps_report({"summary": {}, "contacts": records}))
    assert [r["findings"] for r in doc["contacts"]] == [records.findings_of(i) for i in range(n)]


@pytest.mark.parametrize("count", [4, 5, 9])
def test_angles_stay_in_their_range_after_rounding(tmp_path, count: int) -> None:
    """A corner's oblique direction a hair below 360 deg reads 0, not 360 (and a row's direction a
    hair below 180 reads 0): the same die as GDS and as OASIS must not differ by a full turn."""
    import synth

    from stencilgen.readers import read_layout
    from stencilgen.report import inspect_report
    from stencilgen.rows import find_layout_rows

    die = synth.ring(side=count * 100.0 + 400.0, pitch=100.0, count=count, pad=(60.0, 90.0)).transformed(45.0, (0, 0))
    path = str(tmp_path / "r45.gds")
    synth.write_gds(path, die.polygons(), noise=False)
    layout = read_layout(path, layer="9/0")
    doc = inspect_report(layout, find_layout_rows(layout.contacts, layout.instances))
    obliques = sorted(c["oblique_deg"] for c in doc["corners"])
    assert obliques == [0.0, 90.0, 180.0, 270.0]
    assert all(0.0 <= r["direction_deg"] < 180.0 and 0.0 <= r["normal_deg"] < 360.0 for r in doc["rows"])
