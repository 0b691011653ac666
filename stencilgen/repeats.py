"""Pure: a flat layout that is one element repeated (a flattened wafer of dies) -> `Instances`.

The contacts are cut into groups by empty bands: ranges of x, and of y, that no contact reaches and
that are wider than a few pad lengths (the scribe lanes between dies). When every group holds the
same contacts, vertex for vertex on the database grid, up to a translation, the layout is the first
group placed by those translations, as if its file had said so with an array reference.

Where no such bands part the layout into copies, narrower scribe lanes are tried (two dies' pads
closer than two pad lengths): the widest empty stretches of each axis, at least a pad length wide,
where every band they part is at least STREET_RATIO times as wide as they are (a die, not one column
of an area array); the copies decide, as above.

Whether the element may be analysed alone is decided later, by row finding: only when the bands
between the groups are wider than every reach of the row rules (`rows.layout_rows`).
"""

from __future__ import annotations

import numpy as np

from .geometry import bboxes
from .model import Contacts, Instances, Polygons
from .numeric import median, ranges

#: an empty band must be this many median pad lengths wide to part two groups
BAND_PAD_LENGTHS = 2.0
#: or, where no band that wide parts the layout into copies, at least this many pad lengths wide and
#: parting bands STREET_RATIO times as wide as the widest empty stretch (`street_widths`)
STREET_PAD_LENGTHS = 1.0
STREET_RATIO = 2.0
#: the widest empty stretches tried as lanes, on each axis
STREET_TRIES = 4
#: vertices compared at a time
CHUNK_VERTICES = 8192


def bands(lo: np.ndarray, hi: np.ndarray, wide: float) -> tuple[np.ndarray, float]:
    """Band index of every interval [lo, hi] (intervals parted by an empty stretch wider than `wide`
    fall in different bands) and the narrowest such stretch (inf if there is one band): a sweep of
    the intervals sorted by lo."""
    order = np.argsort(lo, kind="stable")
    reach = np.maximum.accumulate(hi[order])
    gap = lo[order][1:] - reach[:-1]
    cut = gap > wide
    band = np.empty(len(lo), dtype=np.int64)
    band[order] = np.concatenate([[0], np.cumsum(cut)])
    return band, float(gap[cut].min()) if cut.any() else float("inf")


def street_widths(lo: np.ndarray, hi: np.ndarray, least: float) -> list[float]:
    """How wide the scribe lanes between intervals [lo, hi] may be, where lanes narrower than
    BAND_PAD_LENGTHS pad lengths part them (module docstring): the widest empty stretches, at least
    `least` wide, each as a bound (the lanes: every stretch at least that wide), widest first, at most
    STREET_TRIES of them; only bounds whose bands are each STREET_RATIO times as wide as the widest
    stretch (a die, not one column of an area array)."""
    order = np.argsort(lo, kind="stable")
    lo_s, reach = lo[order], np.maximum.accumulate(hi[order])
    gap = lo_s[1:] - reach[:-1]
    widths = np.unique(gap[gap >= least])[::-1][:STREET_TRIES]
    out = []
    for w in widths.tolist():
        starts = np.concatenate([[0], np.flatnonzero(gap >= w) + 1])
        ends = np.concatenate([starts[1:] - 1, [len(gap)]])
        extent = reach[ends] - lo_s[starts]
        if extent.min() >= STREET_RATIO * float(widths[0]):
            out.append(float(w))
    return out


def find_repeats(contacts: Contacts, grid_um: float, box: np.ndarray | None = None) -> Instances | None:
    """The layout as one element translated several times, or None if it is not one (`box`: the
    contacts' bounding boxes, if known): parted by bands wider than BAND_PAD_LENGTHS pad lengths, or
    else by narrower scribe lanes (`street_widths`)."""
    n = len(contacts)
    if n < 6:
        return None
    length = float(median(contacts.length))
    box = bboxes(contacts.polygons) if box is None else box
    found = _repeats(contacts, grid_um, box, BAND_PAD_LENGTHS * length, BAND_PAD_LENGTHS * length)
    if found is not None:
        return found
    along_x = street_widths(box[:, 0], box[:, 2], STREET_PAD_LENGTHS * length)
    along_y = street_widths(box[:, 1], box[:, 3], STREET_PAD_LENGTHS * length)
    for k in range(max(len(along_x), len(along_y))):
        # (the bands parted by lanes at least this wide: just less, as `bands` parts those wider)
        wide_x, wide_y = (float(np.nextafter(w[min(k, len(w) - 1)], 0)) if w else np.inf for w in (along_x, along_y))
        found = _repeats(contacts, grid_um, box, wide_x, wide_y)
        if found is not None:
            return found
    return None


def _repeats(contacts: Contacts, grid_um: float, box: np.ndarray, wide_x: float, wide_y: float) -> Instances | None:
    """`find_repeats` with the groups parted by empty bands wider than wide_x along x, wide_y along y."""
    bx, gap_x = bands(box[:, 0], box[:, 2], wide_x)
    by, gap_y = bands(box[:, 1], box[:, 3], wide_y)
    key = bx * (int(by.max()) + 1) + by
    counts = np.bincount(key)
    sizes = counts[counts > 0]
    P = len(sizes)
    if P < 2 or sizes.min() != sizes.max() or sizes[0] < 3:
        return None
    small = key.astype(np.int16) if len(counts) <= 2**15 else key  # (16-bit keys: a radix sort)
    order = np.argsort(small, kind="stable")  # ids ascending within a group: (y, x) order
    m = int(sizes[0])
    groups = order.reshape(P, m)
    # the same vertices in every group, relative to the group's first vertex, on the database grid
    polys: Polygons = contacts.polygons
    v = polys.uniform()
    if v:  # all polygons alike in vertex count: (P, m * v, 2) by contact, no ragged gather
        by_contact = polys.coords.reshape(-1, v, 2)

        def vertices(g: np.ndarray) -> np.ndarray:
            return by_contact[g].reshape(len(g), -1, 2)
    else:
        counts = polys.counts
        if not (counts[groups] == counts[groups[0]]).all():
            return None
        first = counts[groups[0]]
        within = ranges(np.zeros(len(first)), first)

        def vertices(g: np.ndarray) -> np.ndarray:
            return polys.coords[np.repeat(polys.offsets[g], first, axis=1) + within]

    # a few placements at a time: small arrays that stay in the cache
    ref = vertices(groups[:1])
    rel0 = ref - ref[:, :1, :]
    corner = np.empty((P, 2))
    step = max(1, CHUNK_VERTICES // rel0.shape[1])
    for s in range(0, P, step):
        vert = vertices(groups[s : s + step])
        corner[s : s + step] = vert[:, 0, :]
        vert -= corner[s : s + step, None, :]
        vert -= rel0
        if np.abs(vert).max() > grid_um / 4:  # coordinates lie on the grid: a quarter is none
            return None
    shift = np.rint((corner - corner[0]) / grid_um) * grid_um
    transforms = np.zeros((P, 2, 3))
    transforms[:, 0, 0] = transforms[:, 1, 1] = 1.0
    transforms[:, :, 2] = shift
    return Instances(contacts.take(groups[0]), transforms, groups, gap_um=min(gap_x, gap_y))
