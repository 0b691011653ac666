"""The data every stage shares. Lengths in micrometres, angles in degrees, areas in um^2.

Contacts are columnar (numpy arrays, one entry per contact) so that a wafer of a million contacts
stays a handful of arrays; rows and corners are few and are plain objects holding index arrays.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

# numpy imports numpy.ma at the first np.unique or np.median (tens of ms): here, not in the middle of a run
import numpy.ma

from .numeric import ranges


@dataclass(frozen=True)
class Polygons:
    """Ragged polygons: polygon i is coords[offsets[i]:offsets[i+1]] (no repeated closing vertex)."""

    coords: np.ndarray  # (M, 2) float64, um
    offsets: np.ndarray  # (N + 1,) int64

    def __len__(self) -> int:
        return len(self.offsets) - 1

    @property
    def counts(self) -> np.ndarray:
        return np.diff(self.offsets)

    def uniform(self) -> int:
        """The vertex count shared by every polygon (4 for rectangles), or 0 if they differ."""
        n = len(self)
        if not n:
            return 0
        v = int(self.offsets[1] - self.offsets[0])
        return v if v and self.offsets[-1] == v * n and (np.diff(self.offsets) == v).all() else 0

    def polygon(self, i: int) -> np.ndarray:
        return self.coords[self.offsets[i] : self.offsets[i + 1]]

    def take(self, index: np.ndarray) -> Polygons:
        """The polygons at `index`, in that order."""
        index = np.asarray(index, dtype=np.int64)
        v = self.uniform()
        if v:  # all polygons alike (rectangles): no ragged gather
            coords = np.take(self.coords.reshape(-1, v, 2), index, axis=0).reshape(-1, 2)
            return Polygons(coords, np.arange(len(index) + 1, dtype=np.int64) * v)
        lens = self.counts[index]
        new_offsets = np.zeros(len(index) + 1, dtype=np.int64)
        np.cumsum(lens, out=new_offsets[1:])
        return Polygons(np.take(self.coords, ranges(self.offsets[:-1][index], lens), axis=0), new_offsets)

    @staticmethod
    def from_list(polys: list[np.ndarray]) -> Polygons:
        if not polys:
            return Polygons(np.zeros((0, 2)), np.zeros(1, dtype=np.int64))
        lens = np.fromiter((len(p) for p in polys), dtype=np.int64, count=len(polys))
        offsets = np.zeros(len(polys) + 1, dtype=np.int64)
        np.cumsum(lens, out=offsets[1:])
        return Polygons(np.concatenate(polys).astype(np.float64).reshape(-1, 2), offsets)

    @staticmethod
    def concat(parts: list[Polygons]) -> Polygons:
        parts = [p for p in parts if len(p)]
        if not parts:
            return Polygons.from_list([])
        coords = np.concatenate([p.coords for p in parts])
        offs = [parts[0].offsets]
        base = parts[0].offsets[-1]
        for p in parts[1:]:
            offs.append(p.offsets[1:] + base)
            base += p.offsets[-1]
        return Polygons(coords, np.concatenate(offs))


@dataclass(frozen=True)
class Tips:
    """The round tips of strips read again from a stencil (a Gerber's arcs), per aperture: the tip's
    disc (centre, radius; radius 0: none) and the strip's area and perimeter with its arc exact (where
    it has a tip)."""

    centre: np.ndarray  # (N, 2) um
    radius: np.ndarray  # (N,) um
    area: np.ndarray  # (N,) um2
    perimeter: np.ndarray  # (N,) um

    @staticmethod
    def none(n: int) -> Tips:
        return Tips(np.zeros((n, 2)), np.zeros(n), np.zeros(n), np.zeros(n))

    def take(self, idx: np.ndarray) -> Tips:
        return Tips(self.centre[idx], self.radius[idx], self.area[idx], self.perimeter[idx])


@dataclass(frozen=True)
class Excluded:
    """A note on shapes of the pad layer: left out (not a contact), or kept after a repair or merge."""

    reason: str
    center: tuple[float, float]
    size: tuple[float, float]
    area: float
    kept: bool = False  # True: the shape became (part of) a contact after all
    # a frame (a seal ring's opening): its shape (shapely, um), which apertures keep clearance_um from
    shape: Any = field(default=None, compare=False, repr=False)


def reasons_said(reasons: Iterable[str]) -> str:
    """The distinct reasons of some notes on shapes, for one line: sorted, ", left out" dropped, at most
    two of them ("; ..." after)."""
    said = sorted({r.removesuffix(", left out") for r in reasons})
    return "; ".join(said[:2]) + ("; ..." if len(said) > 2 else "")


@dataclass(frozen=True)
class Contacts:
    """Every contact of a layout, one entry per contact, ids 0..N-1 in (y, x) order of the centres."""

    polygons: Polygons
    center: np.ndarray  # (N, 2) centroid
    area: np.ndarray  # (N,)
    d: np.ndarray  # (N,) minimum dimension: short side of the minimum rotated rectangle
    length: np.ndarray  # (N,) long side of the minimum rotated rectangle
    angle_deg: np.ndarray  # (N,) direction of the long side, [0, 180)
    # (N,) um^3 or None: a volume limit below pi d^3/6 per contact, where the contact shares its mass
    # with another print (two-region masses: a pad's part of pi d^3/6 of the smaller of the pair)
    volume_cap: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.area)

    def cap(self, index: np.ndarray) -> np.ndarray | None:
        """The volume caps of the contacts at `index` (um^3), or None when there are none."""
        return None if self.volume_cap is None else self.volume_cap[index]

    @property
    def ids(self) -> np.ndarray:
        return np.arange(len(self), dtype=np.int64)

    def take(self, index: np.ndarray) -> Contacts:
        """The contacts at `index`, in that order."""
        return Contacts(
            polygons=self.polygons.take(index),
            center=np.take(self.center, index, axis=0),  # np.take: several times quicker than [index]
            area=self.area[index],
            d=self.d[index],
            length=self.length[index],
            angle_deg=self.angle_deg[index],
            volume_cap=self.cap(index),
        )


@dataclass(frozen=True)
class Instances:
    """A layout made of one element cell placed many times (a wafer of dies): the element's own
    contacts, the transforms placing it, and the global contact id of every (placement, element id)."""

    element: Contacts
    transforms: np.ndarray  # (P, 2, 3)
    index: np.ndarray  # (P, n) global contact ids
    # None: the placements are the file's own (a cell arrayed by references). A number: they were
    # found in a flat layout (`repeats`), with empty bands this wide (um) between them at least
    gap_um: float | None = None


@dataclass(frozen=True)
class Layout:
    """What a reader found: the chosen cell and layer, and the contacts on it."""

    path: str
    format: str  # "gds", "oasis", "dxf"
    cell: str  # top cell (GDS/OASIS) or "modelspace" (DXF)
    layer: str  # "9/0" or a DXF layer name
    grid_um: float  # database grid the coordinates are snapped to
    contacts: Contacts
    layers: dict[str, int]  # every layer of the cell with its shape count
    cells: list[str]  # every cell of the file (GDS/OASIS)
    shapes: int  # shapes read on the pad layer before merging
    excluded: list[Excluded] = field(default_factory=list)
    instances: Instances | None = None  # set when the pad layer is one element cell placed many times

    def __repr__(self) -> str:
        placed = "" if self.instances is None else f", one element placed {len(self.instances.transforms)} times"
        left = f", {len(self.excluded)} shapes left out" if self.excluded else ""
        return (
            f"Layout({self.path!r}, {self.format}, cell {self.cell!r}, layer {self.layer!r}: "
            f"{len(self.contacts)} contacts{placed}{left}, grid {self.grid_um:g} um)"
        )


def line_degrees(u: np.ndarray) -> np.ndarray:
    """The direction of lines along unit vectors u (..., 2), in degrees [0, 180)."""
    return np.degrees(np.arctan2(u[..., 1], u[..., 0])) % 180.0


@dataclass(frozen=True)
class Row:
    """Three or more contacts on one line at a regular spacing (RULES.md "row")."""

    id: int
    members: np.ndarray  # contact ids, ordered along `direction`
    direction: np.ndarray  # unit vector u along the row
    normal: np.ndarray  # unit vector n = u turned +90 deg, pointing away from the element's centre
    origin: np.ndarray  # a point on the centerline (the first member's foot point)
    pitch: float  # median centre-to-centre distance of neighbours
    gaps: int  # missing contacts inside the row (spacings of two pitches or more)

    @property
    def direction_deg(self) -> float:
        """The row's line direction in [0, 180)."""
        return float(line_degrees(self.direction))

    @property
    def normal_deg(self) -> float:
        return float(np.degrees(np.arctan2(self.normal[1], self.normal[0])) % 360.0)


@dataclass(frozen=True)
class Corner:
    """Two rows meeting (RULES.md "corner"): where their strips share one oblique direction."""

    rows: tuple[int, int]
    point: np.ndarray  # intersection of the two centerlines
    angle_deg: float  # angle between the two rows' directions, (30, 90]
    bisector: np.ndarray  # unit vector n1 + n2 normalised: the default oblique strip direction
    members: np.ndarray  # contact ids of both rows within corner_reach of the point


@dataclass(frozen=True)
class AreaArray:
    """Contacts forming rows in two directions at once (a grid of bumps)."""

    id: int
    members: np.ndarray
    directions_deg: tuple[float, float]
    pitches: tuple[float, float]
    lines: tuple[int, int]  # number of lines along each direction


@dataclass(frozen=True)
class Stagger:
    """Two parallel rows close together and offset along them (a staggered double row; aligned rows are none)."""

    rows: tuple[int, int]
    separation: float  # distance between the centerlines
    offset_fraction: float  # along-row phase shift in pitches, [STAGGER_MIN_OFFSET, 0.5]: 0.5 = fully staggered


@dataclass(frozen=True)
class RowSet:
    """Everything row finding learned about a set of contacts."""

    rows: list[Row]
    corners: list[Corner]
    arrays: list[AreaArray]
    staggers: list[Stagger]
    row_of: np.ndarray  # (N,) row id of each contact, -1 if none (a contact in two rows: the first)
    array_of: np.ndarray  # (N,) array id, -1 if none

    @property
    def isolated(self) -> np.ndarray:
        return np.flatnonzero((self.row_of < 0) & (self.array_of < 0))


#: the keep-in source of a bare pad layout, held within its contacts' extent (the report's hint reads it)
HELD_SOURCE = "none (nothing drawn beyond the contacts)"

#: how far an open side of a held extent lies (um): beyond any aperture (`planner.held_extent`)
OPEN_UM = 1e6


def held_open(box: Any) -> bool:
    """Whether a held extent (x0, y0, x1, y1, um) is open along an axis: it then spans more than
    2 * OPEN_UM there, more than any layout (shapes lie within 1 m of the origin)."""
    return bool(box[2] - box[0] > 2 * OPEN_UM or box[3] - box[1] > 2 * OPEN_UM)


#: the checks report the nearest other aperture and contact up to this many times web_min_um and
#: clearance_um: the planner finds candidate pairs that far for them
REPORT_REACH = 2.0

#: aperture kinds
STRIP, SHRUNK, NONE = 0, 1, 2
KIND_NAMES = {STRIP: "strip", SHRUNK: "pad", NONE: "none"}


@dataclass(frozen=True)
class Outlines:
    """Ragged closed outlines with arcs: the edge from vertex k to the next has `bulge[k]` (DXF
    convention: tan(sweep / 4), positive counter-clockwise, 0 for a straight edge)."""

    coords: np.ndarray  # (M, 2) um
    bulge: np.ndarray  # (M,)
    offsets: np.ndarray  # (N + 1,)

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def outline(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        s, e = self.offsets[i], self.offsets[i + 1]
        return self.coords[s:e], self.bulge[s:e]

    def take(self, index: np.ndarray) -> Outlines:
        """The outlines at `index`, in that order."""
        counts = np.diff(self.offsets)[index]
        offsets = np.zeros(len(index) + 1, dtype=np.int64)
        np.cumsum(counts, out=offsets[1:])
        at = ranges(self.offsets[:-1][index], counts)
        return Outlines(self.coords[at], self.bulge[at], offsets)


@dataclass(frozen=True)
class Apertures:
    """One aperture per contact (aperture i serves contact i); lengths um, areas um^2 (true arcs)."""

    outlines: Outlines
    kind: np.ndarray  # (N,) STRIP, SHRUNK or NONE
    area: np.ndarray  # (N,)
    perimeter: np.ndarray  # (N,)
    width: np.ndarray  # (N,) narrowest width (strip width, or the shrunk pad's d)
    axis: np.ndarray  # (N, 2) strip direction toward its tip (zeros for shrunk pads)
    side: np.ndarray  # (N,) +1 / -1: which side of the centerline the tip (or offset) lies; 0 if none
    extension: np.ndarray  # (N,) how far the aperture reaches beyond its contact along the axis
    tip_d: np.ndarray  # (N,) tip diameter (0 for shrunk pads and plain strips)
    corner: np.ndarray  # (N,) bool: an oblique corner strip
    # what the planner aimed for and what stopped it (RULES.md rule 6); None for stencils drawn elsewhere
    target_area: np.ndarray | None = None  # (N,) um^2
    limited_by: np.ndarray | None = None  # (N,) object: the binding rule, "" where the target was reached
    limited_other: np.ndarray | None = None  # (N,) the other contact of that rule, -1 if none
    # (N,) object: what sets a strip's width ("width": rule 3, "web": the pitch less the web to the
    # neighbours' strips at its angle; a narrowed strip: the rule it was narrowed for), "" if nothing
    narrow_by: np.ndarray | None = None
    # (N,) object: why a tip left its side of the alternation (rule 4): the rule the other side breaks
    # ("keep_in", "clearance") or "volume_min" (the other side leaves the contact below it); "" if not
    side_by: np.ndarray | None = None


@dataclass(frozen=True)
class Plan:
    contacts: Contacts
    rows: RowSet
    apertures: Apertures
    notes: list[str] = field(default_factory=list)
    # a plan repeated from one element cell (a wafer): the element's apertures and the placements
    element: Apertures | None = None
    transforms: np.ndarray | None = None
    # candidate pairs found while planning, from the apertures at their largest (they only shrink):
    # (aperture, other contact) and (aperture, aperture, i < j), boxes within REPORT_REACH times
    # clearance_um and web_min_um; the checks need search no further
    near: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None
