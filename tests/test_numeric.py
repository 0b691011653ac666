import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from stencilgen.numeric import median, unique


@given(st.lists(st.floats(-1e9, 1e9, allow_nan=False), min_size=1, max_size=40))
def test_median_is_numpys_to_the_bit(values):
    assert median(values) == float(np.median(values))
    assert median(np.array(values)) == float(np.median(values))


@pytest.mark.parametrize("n", [4097, 4098, 100_001])
def test_median_of_many_values_is_numpys_to_the_bit(n):
    """Past the size where the median sorts instead of selecting: values of a few kinds (the extents
    of pads alike, in a layout's order) and values all different, odd and even counts."""
    rng = np.random.default_rng(n)
    few = np.tile(100.0 + np.array([0.0, 1e-12, -1e-12, 3e-12]), n // 4 + 1)[:n]
    for values in (few, rng.normal(size=n), np.round(rng.normal(size=n), 1)):
        assert median(values) == float(np.median(values))


def test_median_of_nothing_is_an_error():
    with pytest.raises(ValueError):
        median([])


@given(st.lists(st.integers(-5, 5) | st.integers(-(2**62), 2**62), max_size=60))
def test_unique_is_numpys(values):
    a = np.array(values, dtype=np.int64)
    got = unique(a)
    assert got.dtype == a.dtype and np.array_equal(got, np.unique(a))


def test_unique_of_floats_and_lists():
    assert unique([3.0, 1.0, 3.0, 2.5]).tolist() == [1.0, 2.5, 3.0]
    assert unique(np.zeros((2, 2), dtype=np.int64)).tolist() == [0]


@given(st.lists(st.tuples(st.integers(-50, 50), st.integers(0, 6)), max_size=20))
def test_ranges_lays_the_runs_end_to_end(runs):
    from stencilgen.numeric import ranges

    first = np.array([f for f, _ in runs], dtype=np.int64)
    count = np.array([c for _, c in runs], dtype=np.int64)
    want = [f + i for f, c in runs for i in range(c)]
    assert ranges(first, count).tolist() == want


def test_round_half_is_pythons_round():
    """Values on and about the halves of the last digit, large and small, negative, and random."""
    from stencilgen.numeric import round_half

    rng = np.random.default_rng(8)
    halves = (np.arange(-2000, 2000) + 0.5) / 1e6
    v = np.concatenate(
        [
            halves,
            np.nextafter(halves, np.inf),
            np.nextafter(halves, -np.inf),
            rng.uniform(-1e4, 1e4, 20000),
            rng.uniform(0, 1, 20000),
            [0.0, -0.0, 1e-300, 2.675, 1.0000005, 13077.6000005, 1e15 + 0.5, np.inf, -np.inf],
        ]
    )
    got = round_half(v, 6)
    want = np.array([round(float(x), 6) for x in v])
    assert np.array_equal(got, want)


_EDGE = [0.0, -0.0, 1.5, 150.0, -150.0, np.nan, np.inf, 1e-300, 3e300]


@given(st.lists(st.tuples(st.sampled_from(_EDGE), st.sampled_from(_EDGE)), max_size=80))
def test_first_unique_numbers_pairs_by_bits_in_order_of_first_appearance(pairs):
    """Against a plain dict of the pairs' bits: -0.0 is not 0.0, and NaN is its own bits."""
    from stencilgen.numeric import first_unique

    a = np.array([p[0] for p in pairs], dtype=np.float64)
    b = np.array([p[1] for p in pairs], dtype=np.float64)
    seen: dict[tuple[int, int], int] = {}
    want_inv, want_first = [], []
    for i, (x, y) in enumerate(zip(a.view(np.int64).tolist(), b.view(np.int64).tolist(), strict=True)):
        if (x, y) not in seen:
            seen[(x, y)] = len(seen)
            want_first.append(i)
        want_inv.append(seen[(x, y)])
    inv, first = first_unique(a, b)
    assert inv.dtype == first.dtype == np.int64
    assert inv.tolist() == want_inv and first.tolist() == want_first


def test_distinct_rows_by_their_bits():
    """Rows are alike only bit for bit (0.0 and -0.0 differ), the rows rebuilt from (first, inverse)
    are the rows, and two rows whose hashes collide stay apart."""
    from stencilgen.numeric import distinct_rows

    rng = np.random.default_rng(5)
    base = rng.normal(size=(7, 3))
    base[1, 0], base[2, 0] = 0.0, -0.0
    base[2, 1:] = base[1, 1:]
    pick = rng.integers(0, 7, 500)
    cols = [base[pick, k] for k in range(3)]
    first, inverse = distinct_rows(*cols)
    assert len(first) == len(np.unique(pick))
    for c in cols:
        assert np.array_equal(c[first][inverse].view(np.int64), c.view(np.int64))
    # (b0, b1) and (b0 + 1, b1 - 1000003) hash alike: h = b0 * 1000003 + b1
    a = np.array([1.0, 2.0]).view(np.int64)
    b = (a + np.array([1, -1_000_003])).view(np.float64)
    first, inverse = distinct_rows(np.array([1.0, b[0], 1.0]), np.array([2.0, b[1], 2.0]))
    assert len(first) == 2 and inverse[0] == inverse[2] != inverse[1]
    assert distinct_rows(np.zeros(0))[0].shape == (0,)


def test_shared_text_columns_and_their_ranks():
    """filled and choose give object columns whose places refer to the one string given (np.full makes
    a string for each place); text_ranks ranks texts as np.unique of a fixed-width copy would."""
    from stencilgen.numeric import choose, filled, text_ranks

    word = "".join(["re", "ason"])  # a string object of its own
    col = filled(5, word)
    assert col.dtype == object and all(x is word for x in col)
    picked = choose(np.array([True, False, True]), word, "other")
    assert picked.tolist() == [word, "other", word] and picked[0] is word
    codes = np.array(["web", "area_ratio", "web", "five_ball", "area_ratio"], dtype=object)
    ranks, names = text_ranks(codes)
    want_names, want_ranks = np.unique(codes.astype(str), return_inverse=True)
    assert names == want_names.tolist() and ranks.tolist() == want_ranks.tolist()
    assert text_ranks(np.zeros(0, dtype=object))[0].shape == (0,)
