"""Pure: the apertures of an existing stencil (shapely polygons) matched to the contacts, as the same
`Apertures` a plan has, so that every check of RULES.md runs on them unchanged.

An aperture belongs to the contacts it touches. One touching no contact is a stray aperture (an
error, reported apart); one touching two is kept for each and the checks report the bridge; a contact
touched by several apertures gets their union and an `extra_aperture` error."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely

from .geometry import to_shapely
from .model import NONE, SHRUNK, STRIP, Apertures, Contacts, Outlines, Polygons, RowSet
from .rules import Rules


@dataclass(frozen=True)
class Matched:
    apertures: Apertures
    polygons: Polygons  # aperture i as a plain polygon (empty when contact i has none)
    stray: list[dict[str, Any]]  # apertures that touch no contact
    extra: np.ndarray  # contact ids touched by more than one aperture


def _narrowest(polys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The narrowest width of each aperture and its long axis: for an elongated shape, the shortest chord
    across the middle 60 % of its length (a strip's body, not its tip); otherwise the short side of its
    minimum rotated rectangle. Vectorised over the apertures."""
    n = len(polys)
    width, axis = np.zeros(n), np.tile([1.0, 0.0], (n, 1))
    if not n:
        return width, axis
    rects = shapely.minimum_rotated_rectangle(polys)
    pts, idx = shapely.get_coordinates(rects, return_index=True)
    counts = np.bincount(idx, minlength=n)
    ok = np.flatnonzero(counts == 5)  # a closed rectangle (a degenerate shape has no width)
    starts = np.searchsorted(idx, ok)
    rect = pts[starts[:, None] + np.arange(4)]  # (k, 4, 2)
    e0, e1 = rect[:, 1] - rect[:, 0], rect[:, 2] - rect[:, 1]
    l0, l1 = np.hypot(*e0.T), np.hypot(*e1.T)
    good = (l0 > 0) & (l1 > 0)
    ok, rect, e0, e1, l0, l1 = ok[good], rect[good], e0[good], e1[good], l0[good], l1[good]
    first = l0 >= l1
    long_e = np.where(first[:, None], e0, e1)
    long_l, short_l = np.where(first, l0, l1), np.where(first, l1, l0)
    ax = long_e / long_l[:, None]
    width[ok], axis[ok] = short_l, ax
    el = np.flatnonzero(long_l >= 1.5 * short_l)
    if len(el):
        ts = np.linspace(-0.3, 0.3, 25)
        across = np.stack([-ax[el, 1], ax[el, 0]], axis=1)
        centre = rect[el].mean(axis=1)
        mid = centre[:, None, :] + (ts[None, :, None] * long_l[el, None, None]) * ax[el, None, :]
        half = (across * (2 * short_l[el])[:, None])[:, None, :]
        cuts = shapely.linestrings(np.stack([mid - half, mid + half], axis=2).reshape(-1, 2, 2))
        lengths = shapely.length(shapely.intersection(cuts, np.repeat(polys[ok[el]], len(ts))))
        width[ok[el]] = lengths.reshape(len(el), len(ts)).min(axis=1)
    return width, axis


def match_apertures(contacts: Contacts, rows: RowSet, shapes: list[Any], rules: Rules) -> Matched:
    n = len(contacts)
    pads = to_shapely(contacts.polygons)
    geoms = np.array(shapes, dtype=object)
    sa, pc = shapely.STRtree(pads).query(geoms, predicate="intersects") if len(geoms) else (np.zeros(0, int),) * 2
    touched = np.bincount(sa, minlength=len(geoms))
    stray = []
    for k in np.flatnonzero(touched == 0).tolist():
        c = geoms[k].centroid
        stray.append(
            {
                "code": "stray_aperture",
                "severity": "error",
                "center_um": [round(c.x, 3), round(c.y, 3)],
                "area_um2": round(float(geoms[k].area), 3),
                "message": f"an aperture at ({c.x:.2f}, {c.y:.2f}) um touches no contact",
            }
        )
    owned: dict[int, list[int]] = {}
    for s, c in zip(sa.tolist(), pc.tolist(), strict=True):
        owned.setdefault(c, []).append(s)
    extra = np.array(sorted(c for c, ks in owned.items() if len(ks) > 1), dtype=np.int64)
    fine = np.zeros(n, dtype=bool)
    normal = np.zeros((n, 2))
    for r in rows.rows:
        if r.pitch <= rules.fine_pitch_um:
            fine[r.members] = True
            normal[r.members] = r.normal
    oblique = np.zeros(n, dtype=bool)

    kind = np.full(n, NONE, dtype=np.int8)
    area, perimeter, width = np.zeros(n), np.zeros(n), np.zeros(n)
    axis, side, ext = np.zeros((n, 2)), np.zeros(n, dtype=np.int8), np.zeros(n)
    rings: list[np.ndarray] = []
    counts = np.zeros(n, dtype=np.int64)
    served = np.array(sorted(owned), dtype=np.int64)
    mine = np.empty(len(served), dtype=object)  # each served contact's aperture (several: their union)
    for j, i in enumerate(served.tolist()):
        ks = owned[i]
        shape = shapely.union_all(geoms[ks]) if len(ks) > 1 else geoms[ks[0]]
        if shape.geom_type != "Polygon":
            shape = max(shapely.get_parts(shape), key=lambda p: p.area)
        mine[j] = shapely.geometry.polygon.orient(shape, 1.0)
    narrow, long_axes = _narrowest(mine)
    beyonds = shapely.difference(mine, pads[served]) if len(served) else mine
    for j, i in enumerate(served.tolist()):
        shape, beyond, long_axis = mine[j], beyonds[j], long_axes[j]
        ring = np.asarray(shape.exterior.coords)[:-1]
        rings.append(ring)
        counts[i] = len(ring)
        area[i] = shape.area
        perimeter[i] = shape.length
        width[i] = narrow[j]
        reach = 0.0
        if fine[i]:
            # in a fine-pitch row every aperture is held to the strip rules (a pad-sized one fails them);
            # its axis points to where it reaches beyond the contact
            tip = (
                np.asarray(beyond.centroid.coords[0]) - contacts.center[i]
                if not beyond.is_empty
                else np.asarray(shape.centroid.coords[0]) - contacts.center[i]
            )
            long_axis = long_axis if tip @ long_axis >= 0 else -long_axis
            kind[i] = STRIP
            axis[i] = long_axis
            side[i] = 1 if tip @ normal[i] >= 0 else -1
            proj = np.asarray(shape.exterior.coords) @ long_axis
            reach = max(0.0, float(proj.max() - (np.asarray(pads[i].exterior.coords) @ long_axis).max()))
            oblique[i] = abs(long_axis @ normal[i]) < np.cos(np.radians(10.0))
        else:
            kind[i] = SHRUNK
        ext[i] = reach
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    coords = np.concatenate(rings) if rings else np.zeros((0, 2))
    outlines = Outlines(coords, np.zeros(len(coords)), offsets)
    apertures = Apertures(outlines, kind, area, perimeter, width, axis, side, ext, np.zeros(n), oblique)
    return Matched(apertures, Polygons(coords, offsets), stray, extra)
