"""The geometry of one strip family, vectorised: a strip of width w runs along its axis a across its
contact, from the contact's far edge (-h1) to h2 + L beyond the centre, and ends in a round tip of
diameter D >= w centred at h2 + L (D == w: a semicircular end; D > w: a bulb). Areas and perimeters are
exact (true arcs); outlines carry the arc as a DXF bulge."""

from __future__ import annotations

import numpy as np

from ..model import Outlines
from ..numeric import distinct_rows


def tip_geometry(w: np.ndarray, D: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For a tip of diameter D on a strip of width w: the depth of the join below the tip centre,
    the arc's sweep (radians) and the area of the disc's segment below the join chord."""
    R = D / 2
    a = np.minimum(w / 2, R)
    depth = tip_depth(w, D)
    sweep = 2 * np.pi - 2 * np.arcsin(np.clip(a / np.where(R > 0, R, 1), 0, 1))
    return depth, sweep, _tip_segment(w, D, depth)


def _tip_segment(w: np.ndarray, D: np.ndarray, depth: np.ndarray) -> np.ndarray:
    """The area of a tip's disc (diameter D) below the chord where it joins a strip of width w, the
    chord `depth` below the disc's centre."""
    R = D / 2
    a = np.minimum(w / 2, R)
    return R * R * np.arccos(np.clip(depth / np.where(R > 0, R, 1), -1, 1)) - depth * a


def tip_depth(w: np.ndarray, D: np.ndarray) -> np.ndarray:
    """How far below a tip's centre (diameter D) its arc meets a strip of width w."""
    R = D / 2
    a = np.minimum(w / 2, R)
    return np.sqrt(np.maximum(R * R - a * a, 0.0))


def tip_strip_area(w, h1, h2, L, D) -> np.ndarray:
    """Area of the union of the body rectangle and the tip disc (the arc's sweep not needed)."""
    depth = tip_depth(w, D)
    segment = _tip_segment(w, D, depth)
    R = D / 2
    return w * (h2 + L - depth + h1) + np.pi * R * R - segment


def tip_strip_perimeter(w, h1, h2, L, D) -> np.ndarray:
    depth, sweep, _ = tip_geometry(w, D)
    return 2 * (h2 + L - depth + h1) + w + (D / 2) * sweep


def plain_strip_area(w, h1, h2, L) -> np.ndarray:
    return w * (h1 + h2 + L)


def plain_strip_perimeter(w, h1, h2, L) -> np.ndarray:
    return 2 * (h1 + h2 + L + w)


def solve_tip_diameter(w, h1, h2, L, area, d_max) -> np.ndarray:
    """The tip diameter in [w, d_max] whose strip has `area` (or the bound it hits), by bisection; once
    for each distinct strip (a layout's rows repeat a few strips many times)."""
    first, inverse = distinct_rows(w, h1, h2, L, area, d_max)
    if len(first) < len(inverse):
        return _bisect_tip(*(np.asarray(v, dtype=float)[first] for v in (w, h1, h2, L, area, d_max)))[inverse]
    return _bisect_tip(w, h1, h2, L, area, d_max)


def _bisect_tip(w, h1, h2, L, area, d_max) -> np.ndarray:
    lo = w.copy()
    hi = np.maximum(d_max, w)
    for _ in range(36):  # the bracket shrinks to a billionth of a micrometre
        mid = (lo + hi) / 2
        big = tip_strip_area(w, h1, h2, L, mid) > area
        hi = np.where(big, mid, hi)
        lo = np.where(big, lo, mid)
    return lo


def strip_outlines(
    center: np.ndarray,
    axis: np.ndarray,
    w: np.ndarray,
    h1: np.ndarray,
    h2: np.ndarray,
    L: np.ndarray,
    D: np.ndarray | None,
) -> Outlines:
    """Outlines of strips: four vertices each; with tips (D given) the edge from the third vertex to
    the fourth is the tip's arc."""
    n = len(center)
    bulge = np.zeros((n, 4))
    if D is not None:
        _depth, sweep, _ = tip_geometry(w, D)
        bulge[:, 2] = np.tan(sweep / 4)
    pts = strip_corners(center, axis, w, h1, h2, L, D)
    return Outlines(pts.reshape(-1, 2), bulge.ravel(), np.arange(n + 1, dtype=np.int64) * 4)


def strip_corners(center, axis, w, h1, h2, L, D) -> np.ndarray:
    """(n, 4, 2) the four vertices of each strip's outline (counter-clockwise; with tips, D given, the
    arc runs from the third to the fourth)."""
    b = np.stack([axis[:, 1], -axis[:, 0]], axis=1)  # (b, axis) is right-handed: outlines run CCW
    top = h2 + L - tip_depth(w, D) if D is not None else h2 + L
    across = (w / 2)[:, None] * b  # half the width, across the strip
    left, right = center - across, center + across
    low, high = h1[:, None] * axis, top[:, None] * axis  # the far end (behind the centre) and the tip end
    pts = np.empty((len(center), 4, 2))
    np.subtract(left, low, out=pts[:, 0])
    np.subtract(right, low, out=pts[:, 1])
    np.add(right, high, out=pts[:, 2])
    np.add(left, high, out=pts[:, 3])
    return pts


def strip_polygons(center, axis, w, h1, h2, L, D, arc_points: int = 24) -> np.ndarray:
    """Polygons (n, V, 2) holding the strips, the tip arc as `arc_points` tangent chords (D None: no arc)."""
    out = strip_outlines(center, axis, w, h1, h2, L, D)
    pts = out.coords.reshape(-1, 4, 2)
    if D is None:
        return pts
    c = center + (h2 + L)[:, None] * axis
    start = pts[:, 2] - c
    phi0 = np.arctan2(start[:, 1], start[:, 0])
    _, sweep, _ = tip_geometry(w, D)
    j = np.arange(1, arc_points) / arc_points
    phi = phi0[:, None] + sweep[:, None] * j[None, :]
    # vertices a little outside the circle, so that every chord is tangent to it: the polygon holds the
    # whole tip and distances measured on it never flatter the true arc
    r_out = (D / 2) / np.cos(sweep / (2 * arc_points))
    arc = c[:, None, :] + r_out[:, None, None] * np.stack([np.cos(phi), np.sin(phi)], axis=-1)
    return np.concatenate([pts[:, :3], arc, pts[:, 3:]], axis=1)
