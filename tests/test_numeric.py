import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from stencilgen import process
from stencilgen.numeric import median, unique


@given(st.lists(st.floats(-1e9, 1e9, allow_nan=False), min_size=1, max_size=40))
def test_median_is_numpys_to_the_bit(values):
    assert median(values) == float(np.median(values))
    assert median(np.array(values)) == float(np.median(values))


def test_median_of_nothing_is_an_error():
    with pytest.raises(ValueError):
        median([])


def test_freed_memory_is_kept_on_linux():
    import sys

    assert process.tune_memory() is sys.platform.startswith("linux")
    assert process.tune_memory() is sys.platform.startswith("linux")  # (once a process)
    a = np.ones(1_000_000)  # large blocks still allocate and free as before
    del a
    assert np.ones(1_000_000).sum() == 1_000_000


def _huge_heap_mappings() -> list[int]:
    """Sizes (kB) of this process's mappings marked for huge pages (VmFlags hg)."""
    sizes, size = [], 0
    with open("/proc/self/smaps") as fh:
        for line in fh:
            if line.startswith("Size:"):
                size = int(line.split()[1])
            elif line.startswith("VmFlags:") and " hg" in line:
                sizes.append(size)
    return sizes


@pytest.mark.skipif(not process._huge_pages_on_request(), reason="the kernel gives no huge pages on request")
def test_heap_reserve_is_marked_for_huge_pages():
    process.tune_memory()
    # the reserve, less at most a 2 MB page at each end for alignment
    assert max(_huge_heap_mappings(), default=0) * 1024 >= process.HEAP_RESERVE - 2 * process.HUGE_PAGE
    big = np.ones(50_000_000 // 8)  # a block carved from it reads and writes as any other
    big[::4096] = 2.0
    assert big.sum() == len(big) + len(big[::4096])


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


def test_blas_is_asked_for_one_thread_unless_the_user_said_otherwise():
    import os
    import subprocess
    import sys

    code = (
        "import os, sys; from stencilgen.process import single_threaded_blas; "
        "print(single_threaded_blas(), os.environ['OPENBLAS_NUM_THREADS'])"
    )
    for preset, want in ((None, "True 1"), ("4", "True 4")):
        env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
        if preset:
            env["OPENBLAS_NUM_THREADS"] = preset
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
        assert out.stdout.split() == want.split()
    assert process.single_threaded_blas() is False  # (numpy is imported here: too late to apply)
