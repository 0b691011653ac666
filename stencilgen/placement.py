"""Pure: how the first element lands on the second (two-region masses), and which contact meets which pad.

A placement maps the first element's coordinates (as drawn) onto the second's: mirrored about the x
axis (y -> -y) when `mirror` (flipped, as in flip-chip), then turned by `angle_deg` counter-clockwise
about the origin, then moved by (dx_um, dy_um): the order of a GDS reference or KLayout's DCplxTrans.
A contact meets a pad when their centres lie within `match_tolerance_um` at the placement; each
contact meets one pad at most and each pad one contact.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import UsageError
from .pairs import box_pairs
from .units import parse_length

#: flips tried by `find_placement`, the flip-chip one first (it wins a tie: RULES.md's default)
MIRRORS = (True, False)
ANGLES = (0.0, 90.0, 180.0, 270.0)
#: candidate translations scored in full per flip and turn, after a first scoring on a sample
KEEP = 4
SAMPLE = 512  # contacts a candidate is first scored with
ANCHORS = 8  # extreme contacts whose pads vote for translations


@dataclass(frozen=True)
class Placement:
    """Mirror about the x axis (if `mirror`), turn by `angle_deg` about the origin, move by (dx_um, dy_um)."""

    dx_um: float = 0.0
    dy_um: float = 0.0
    angle_deg: float = 0.0
    mirror: bool = False

    def linear(self) -> np.ndarray:
        """The 2 x 2 matrix of the mirror and the turn (exact for multiples of 90 degrees)."""
        return _linear(self.angle_deg, self.mirror)

    def apply(self, points: np.ndarray) -> np.ndarray:
        """Points (N, 2) of the first element -> coordinates on the second."""
        p = np.asarray(points, dtype=float).reshape(-1, 2)
        return p @ self.linear().T + np.array([self.dx_um, self.dy_um])

    def summary(self) -> dict[str, Any]:
        """What the report says of it (um, degrees)."""
        return {
            "dx_um": round(self.dx_um, 4) + 0.0,
            "dy_um": round(self.dy_um, 4) + 0.0,
            "angle_deg": round(self.angle_deg % 360.0, 4) + 0.0,
            "mirror": bool(self.mirror),
        }


def _linear(angle_deg: float, mirror: bool) -> np.ndarray:
    a = angle_deg % 360.0
    quarter = {0.0: (1.0, 0.0), 90.0: (0.0, 1.0), 180.0: (-1.0, 0.0), 270.0: (0.0, -1.0)}
    c, s = quarter.get(a, (math.cos(math.radians(a)), math.sin(math.radians(a))))
    rot = np.array([[c, -s], [s, c]])
    return rot @ np.diag([1.0, -1.0]) if mirror else rot


def parse_placement(text: str) -> str | Placement:
    """--place: "auto", "none" or "DX,DY,ANGLE[,mirror]" (lengths in um unless a unit is written, the
    angle in degrees)."""
    t = text.strip()
    if t.lower() in ("auto", "none"):
        return t.lower()
    parts = [x.strip() for x in t.split(",")]
    usage = f"--place {text!r}: write auto, none or DX,DY,ANGLE[,mirror], e.g. 120um,-40um,90,mirror"
    if len(parts) not in (3, 4) or (len(parts) == 4 and parts[3].lower() not in ("mirror", "nomirror")):
        raise UsageError(usage)
    try:
        dx, dy = parse_length(parts[0]), parse_length(parts[1])
        angle = float(parts[2].removesuffix("deg"))
    except (UsageError, ValueError):
        raise UsageError(usage) from None
    if not all(math.isfinite(v) for v in (dx, dy, angle)):
        raise UsageError(usage)
    return Placement(dx, dy, angle, len(parts) == 4 and parts[3].lower() == "mirror")


def match_points(a: np.ndarray, b: np.ndarray, tol: float) -> tuple[np.ndarray, np.ndarray]:
    """One-to-one pairs (i, j) of points of `a` and `b` within `tol` of each other: each point of `a`
    takes its nearest of `b`, and a point of `b` taken twice keeps the nearer. Sorted by i."""
    empty = np.zeros(0, dtype=np.int64)
    if not len(a) or not len(b):
        return empty, empty
    ia, jb = box_pairs(np.hstack([a, a]), np.hstack([b, b]), tol)
    dist = np.hypot(*(a[ia] - b[jb]).T)
    keep = dist <= tol
    ia, jb, dist = ia[keep], jb[keep], dist[keep]
    if not len(ia):
        return empty, empty
    order = np.lexsort((jb, dist, ia))  # per i, the nearest first
    ia, jb, dist = ia[order], jb[order], dist[order]
    first = np.r_[True, ia[1:] != ia[:-1]]
    ia, jb, dist = ia[first], jb[first], dist[first]
    order = np.lexsort((ia, dist, jb))  # per j, the nearest first
    ia, jb = ia[order], jb[order]
    first = np.r_[True, jb[1:] != jb[:-1]]
    ia, jb = ia[first], jb[first]
    order = np.argsort(ia, kind="stable")
    return ia[order], jb[order]


@dataclass(frozen=True)
class Found:
    """The placement found, how many contacts it matches and the centres' rms distance there (um)."""

    placement: Placement
    matched: int
    rms_um: float


def find_placement(
    first: np.ndarray,
    second: np.ndarray,
    tol: float,
    first_axes: np.ndarray | None = None,
    second_axes: np.ndarray | None = None,
) -> Found:
    """The placement of the first element's contact centres on the second's pads that matches the most
    within `tol`: each flip (flip-chip first) and turn by 90 degrees, moved by translations that align
    the centroids, the bounding boxes and the pads found for a few extreme contacts, each refined by
    its matched pairs (least squares). Ties go to the placement whose elongated contacts lie along
    their pads (`*_axes`: each contact's long-axis angle in degrees, NaN for a round or square one),
    then to the smaller rms distance, then to the flip-chip flip and the smaller turn."""
    first = np.asarray(first, dtype=float)
    second = np.asarray(second, dtype=float)
    sample = np.unique(np.linspace(0, len(first) - 1, min(SAMPLE, len(first))).round().astype(np.int64))
    best: tuple[tuple[float, ...], Found] | None = None
    for order, (mirror, angle) in enumerate((m, a) for m in MIRRORS for a in ANGLES):
        moved = first @ _linear(angle, mirror).T
        trials = _candidates(moved, second, tol)
        scored = sorted(
            ((len(match_points(moved[sample] + t, second, tol)[0]), k) for k, t in enumerate(trials)),
            key=lambda x: (-x[0], x[1]),
        )
        for _, k in scored[:KEEP]:
            t = trials[k]
            for _ in range(3):  # refine the translation by the pairs it matches
                i, j = match_points(moved + t, second, tol)
                if not len(i):
                    break
                t_new = (second[j] - moved[i]).mean(axis=0)
                if np.allclose(t_new, t, atol=1e-9):
                    break
                t = t_new
            i, j = match_points(moved + t, second, tol)
            if not len(i):
                continue
            rms = float(np.sqrt(((moved[i] + t - second[j]) ** 2).sum(axis=1).mean()))
            agree = _axes_agree(first_axes, second_axes, i, j, angle, mirror)
            key = (len(i), agree, -round(rms, 2), -order)
            if best is None or key > best[0]:
                best = (key, Found(Placement(float(t[0]), float(t[1]), angle, mirror), len(i), rms))
    if best is None:
        return Found(Placement(), 0, math.inf)
    return best[1]


def _candidates(moved: np.ndarray, second: np.ndarray, tol: float) -> list[np.ndarray]:
    """Translations worth scoring: centroids and bounding boxes aligned, and the translations on
    which the pads near a few extreme contacts agree most (votes in cells of 2 tol)."""
    if not len(moved) or not len(second):
        return []
    lo1, hi1, lo2, hi2 = moved.min(0), moved.max(0), second.min(0), second.max(0)
    out = [second.mean(0) - moved.mean(0), (lo2 + hi2) / 2 - (lo1 + hi1) / 2, lo2 - lo1, hi2 - hi1]
    out += [np.array([lo2[0] - lo1[0], hi2[1] - hi1[1]]), np.array([hi2[0] - hi1[0], lo2[1] - lo1[1]])]
    x, y = moved[:, 0], moved[:, 1]
    picks = [np.argmin(x), np.argmax(x), np.argmin(y), np.argmax(y)]
    picks += [np.argmin(x + y), np.argmax(x + y), np.argmin(x - y), np.argmax(x - y)]
    anchors = moved[np.unique(np.array(picks[:ANCHORS]))]
    votes = (second[None, :, :] - anchors[:, None, :]).reshape(-1, 2)
    cell = 2 * max(tol, 1e-3)
    keys = np.floor(votes / cell).astype(np.int64)
    _keys, inverse, counts = np.unique(keys, axis=0, return_inverse=True, return_counts=True)
    inverse = inverse.ravel()
    top = np.argsort(-counts, kind="stable")[: 2 * KEEP]
    for k in top.tolist():
        if counts[k] < 2 and len(anchors) > 1:
            break
        out.append(votes[inverse == k].mean(axis=0))
    return out


def _axes_agree(
    first_axes: np.ndarray | None,
    second_axes: np.ndarray | None,
    i: np.ndarray,
    j: np.ndarray,
    angle: float,
    mirror: bool,
) -> int:
    """How many matched elongated contacts lie along their pads (within 20 degrees) at this flip and turn."""
    if first_axes is None or second_axes is None:
        return 0
    a1, a2 = first_axes[i], second_axes[j]
    both = np.isfinite(a1) & np.isfinite(a2)
    if not both.any():
        return 0
    placed = ((-a1[both] if mirror else a1[both]) + angle) % 180.0
    diff = np.abs((placed - a2[both] + 90.0) % 180.0 - 90.0)
    return int((diff <= 20.0).sum())
