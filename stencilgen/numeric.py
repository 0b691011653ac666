"""Small numeric helpers shared by the pure core."""

from __future__ import annotations

import numpy as np


def median(values: np.ndarray | list[float]) -> float:
    """The median, equal to np.median to the bit, without its per-call overhead (rows take thousands
    of medians of short runs) or its first-call import of numpy.ma."""
    a = np.asarray(values, dtype=np.float64).ravel()
    n = len(a)
    if n == 0:
        raise ValueError("median of no values")
    k = n // 2
    if n > SELECT_MAX:  # (a selection slows down badly on many equal values, as extents of pads alike are)
        s = np.sort(a)
        return float(s[k]) if n % 2 else float((s[k - 1] + s[k]) / 2)
    if n % 2:
        return float(np.partition(a, k)[k])
    part = np.partition(a, k)  # (one selection: the k-1-th is the largest before it)
    return float((part[:k].max() + part[k]) / 2)


#: above this many values `median` sorts them instead of selecting the middle one
SELECT_MAX = 4096


def unique(values: np.ndarray | list) -> np.ndarray:
    """The sorted distinct values, as np.unique gives them; by sorting (np.unique hashes integers from
    numpy 2.3 on)."""
    a = np.sort(np.asarray(values).ravel())
    if len(a) < 2:
        return a
    keep = np.empty(len(a), dtype=bool)
    keep[0] = True
    np.not_equal(a[1:], a[:-1], out=keep[1:])
    return a[keep]


def ranges(first: np.ndarray, count: np.ndarray) -> np.ndarray:
    """first[k], first[k] + 1, ..., first[k] + count[k] - 1 for every k, one run after another: the
    indices of ragged pieces laid end to end (int64)."""
    count = np.asarray(count, dtype=np.int64)
    total = int(count.sum())
    return np.repeat(np.asarray(first, dtype=np.int64) - (np.cumsum(count) - count), count) + np.arange(
        total, dtype=np.int64
    )


def length(dx: np.ndarray, dy: np.ndarray) -> np.ndarray:
    """sqrt(dx^2 + dy^2). (np.hypot guards against overflow, which micrometres never come near.)"""
    return np.sqrt(dx * dx + dy * dy)


def round_half(values: np.ndarray, digits: int) -> np.ndarray:
    """round(v, digits) of Python for every value (its decimal rounding, half to even), at numpy's
    speed: rint(v * 10^digits) / 10^digits is the same wherever v * 10^digits is not within a hair of
    a half; those few are rounded by Python."""
    v = np.asarray(values, dtype=np.float64)
    scale = 10.0**digits
    y = v * scale
    out = np.rint(y) / scale
    with np.errstate(invalid="ignore"):  # (inf - inf: those go to Python)
        frac = y - np.floor(y)
        near = np.flatnonzero(~(np.abs(frac - 0.5) > 1e-3 + 1e-12 * np.abs(y)) | ~np.isfinite(y))
    if len(near):
        out[near] = [round(float(x), digits) for x in v[near]]
    return out


def first_unique(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct pairs (a[i], b[i]) of two float arrays, told apart by their bits (so -0.0 is not
    0.0), numbered in order of first appearance: (inverse, first), int64; inverse[i] is the number of
    i's pair and first[u] where pair u first appears, so a[first][inverse] is a. By sorting the bits."""
    a = np.ascontiguousarray(a, dtype=np.float64)
    b = np.ascontiguousarray(b, dtype=np.float64)
    n = len(a)
    if n == 0:
        z = np.zeros(0, dtype=np.int64)
        return z, z
    ka, kb = a.view(np.int64), b.view(np.int64)
    order = np.lexsort((kb, ka))  # stable: each group's first place is where it first appears
    sa, sb = ka[order], kb[order]
    new = np.empty(n, dtype=bool)
    new[0] = True
    new[1:] = (sa[1:] != sa[:-1]) | (sb[1:] != sb[:-1])
    group = np.cumsum(new) - 1  # the group of each sorted place, in sorted order
    starts = order[new]  # each group's first appearance
    by_first = np.argsort(starts, kind="stable")
    number = np.empty(len(starts), dtype=np.int64)
    number[by_first] = np.arange(len(starts))
    inv = np.empty(n, dtype=np.int64)
    inv[order] = number[group]
    return inv, starts[by_first]


def filled(n: int, value: object) -> np.ndarray:
    """An object array of n references to `value` (np.full makes a str of its own for every place)."""
    out = np.empty(n, dtype=object)
    out.fill(value)
    return out


def choose(where: np.ndarray, yes: object, no: object) -> np.ndarray:
    """An object array: `yes` where `where`, else `no`, each place a reference to one of the two (as
    np.where(where, yes, no).astype(object) reads, without a str of its own for every place)."""
    return np.array([no, yes], dtype=object)[np.asarray(where, dtype=np.intp)]


def text_ranks(texts: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Each text's rank (int64) among the distinct texts of an object array, and those texts in order
    (as np.unique of a fixed-width copy of every text would give them, without that copy): a sort
    key for few distinct values."""
    items = texts.tolist()
    values = sorted(set(items))
    rank = {t: k for k, t in enumerate(values)}
    return np.fromiter(map(rank.__getitem__, items), dtype=np.int64, count=len(items)), values


def distinct_rows(*columns: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct rows of float columns, told apart by their bits: (first, inverse), int64, with
    columns[k][first][inverse] equal to columns[k] bit for bit. Found by a hash of the bits; a row that
    only shares its hash with another is a row of its own."""
    bits = [np.ascontiguousarray(c, dtype=np.float64).view(np.int64) for c in columns]
    n = len(bits[0]) if bits else 0
    if n == 0:
        z = np.zeros(0, dtype=np.int64)
        return z, z
    h = np.zeros(n, dtype=np.int64)
    for b in bits:  # (wraps around: a hash)
        h = h * np.int64(1_000_003) + b
    _, first, inverse = np.unique(h, return_index=True, return_inverse=True)
    inverse = inverse.ravel().astype(np.int64)
    first = first.astype(np.int64)
    same = np.ones(n, dtype=bool)
    for b in bits:
        same &= b == b[first][inverse]
    if not same.all():
        odd = np.flatnonzero(~same)
        inverse[odd] = len(first) + np.arange(len(odd))
        first = np.concatenate([first, odd])
    return first, inverse


def kinds(*keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows alike in every key (int64 arrays of one length) are of one kind: (once, kind), once[u] the
    first row of kind u, kind[k] the kind of row k (kinds numbered in the keys' sorted order)."""
    n = len(keys[0])
    if not n:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    order = np.lexsort((np.arange(n), *keys[::-1]))
    new = np.zeros(n, dtype=bool)
    new[0] = True
    for k in keys:
        sk = k[order]
        new[1:] |= sk[1:] != sk[:-1]
    kind = np.empty(n, dtype=np.int64)
    kind[order] = np.cumsum(new) - 1
    return order[new], kind
