"""Synthetic dies with a known answer: pad rings, staggered rows, area arrays, wafers.

Used by the tests, the sample layouts (sample_layouts/make_samples.py) and the benchmarks.
Every function returns plain numpy data; the writers at the bottom turn it into GDS or DXF.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Die:
    """Pads as rectangles: centre (x, y), size along the row and across it, row direction angle."""

    centers: list[tuple[float, float]] = field(default_factory=list)
    sizes: list[tuple[float, float]] = field(default_factory=list)  # (along row, across row)
    angles: list[float] = field(default_factory=list)  # row direction, degrees
    rows: list[dict] = field(default_factory=list)  # truth: {"count", "pitch", "direction_deg"}

    def add(self, c: tuple[float, float], size: tuple[float, float], angle: float) -> None:
        self.centers.append((float(c[0]), float(c[1])))
        self.sizes.append(size)
        self.angles.append(angle)

    def polygons(self) -> list[np.ndarray]:
        return [rect(c, s, a) for c, s, a in zip(self.centers, self.sizes, self.angles, strict=False)]

    def transformed(self, rotation_deg: float = 0.0, shift: tuple[float, float] = (0.0, 0.0)) -> Die:
        """The same die turned about the origin and moved."""
        t = np.radians(rotation_deg)
        R = np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]])
        out = Die()
        for c, s, a in zip(self.centers, self.sizes, self.angles, strict=False):
            p = R @ np.asarray(c) + np.asarray(shift)
            out.add((p[0], p[1]), s, a + rotation_deg)
        out.rows = [dict(r, direction_deg=(r["direction_deg"] + rotation_deg) % 180) for r in self.rows]
        return out


def rect(center: tuple[float, float], size: tuple[float, float], angle_deg: float) -> np.ndarray:
    """A rectangle `size` = (along, across) centred at `center`, its first axis at `angle_deg`."""
    t = np.radians(angle_deg)
    u = np.array([np.cos(t), np.sin(t)])
    n = np.array([-u[1], u[0]])
    a, b = size[0] / 2, size[1] / 2
    c = np.asarray(center, dtype=float)
    return np.array([c - a * u - b * n, c + a * u - b * n, c + a * u + b * n, c - a * u + b * n])


def ring(
    side: float = 2000.0,
    pitch: float | tuple[float, float, float, float] = 100.0,
    count: int | tuple[int, int, int, int] = 12,
    pad: tuple[float, float] = (60.0, 90.0),
    edge: float = 80.0,
    missing: dict[int, list[int]] | None = None,
) -> Die:
    """A square die with one row per side (bottom, right, top, left), rows centred on each side.

    pitch/count may differ per side (mixed pitch); missing[side] lists pad indices left out.
    """
    pitches = pitch if isinstance(pitch, tuple) else (pitch,) * 4
    counts = count if isinstance(count, tuple) else (count,) * 4
    missing = missing or {}
    die = Die()
    half = side / 2
    # side: (start of the row's axis, direction u); pads centred along the side
    frames = [
        ((0.0, -half + edge), 0.0),
        ((half - edge, 0.0), 90.0),
        ((0.0, half - edge), 180.0),
        ((-half + edge, 0.0), 270.0),
    ]
    for k, ((cx, cy), ang) in enumerate(frames):
        t = np.radians(ang)
        u = np.array([np.cos(t), np.sin(t)])
        n_pads, p = counts[k], pitches[k]
        for i in range(n_pads):
            if i in missing.get(k, []):
                continue
            off = (i - (n_pads - 1) / 2) * p
            die.add((cx + off * u[0], cy + off * u[1]), pad, ang % 180)
        die.rows.append({"count": n_pads - len(missing.get(k, [])), "pitch": p, "direction_deg": ang % 180})
    return die


def staggered_ring(side: float = 3000.0, pitch: float = 120.0, count: int = 15, sep: float = 80.0) -> Die:
    """Each side has an outer and an inner row at the same pitch, shifted by half a pitch."""
    die = Die()
    half = side / 2
    for k, ang in enumerate((0.0, 90.0, 180.0, 270.0)):
        t = np.radians(ang)
        u = np.array([np.cos(t), np.sin(t)])
        inward = np.array([-u[1], u[0]])
        outer = -inward * (half - 70.0)
        for row, (shift, base) in enumerate(((0.0, outer), (pitch / 2, outer + inward * sep))):
            n_pads = count - row
            for i in range(n_pads):
                off = (i - (count - 1) / 2) * pitch + shift
                c = base + off * u
                die.add((c[0], c[1]), (35.0, 70.0), ang % 180)
            die.rows.append({"count": n_pads, "pitch": pitch, "direction_deg": ang % 180})
        del k
    return die


def area_array(nx: int = 10, ny: int = 10, pitch: tuple[float, float] = (150.0, 150.0), pad: float = 60.0) -> Die:
    die = Die()
    for j in range(ny):
        for i in range(nx):
            die.add((i * pitch[0], j * pitch[1]), (pad, pad), 0.0)
    return die


# ---------------------------------------------------------------- writers (test data only)


def pinwheel(n: int = 8, pitch: float = 100.0, short: float = 1.5, past: float = 4.0, pad=(60.0, 90.0)) -> Die:
    """A square die of four rows of n, each running `past` pitches beyond the next row's line at one end
    and stopping `short` pitches before the other's line at its other end (four asymmetric corners).
    The row lines lie W = (n - 1 - past + short) pitches apart, centred on the origin."""
    W = (n - 1 - past + short) * pitch
    die = Die()
    for k in range(4):
        t = np.radians(90 * k)
        R = np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]])
        for x in -W / 2 - past * pitch + np.arange(n) * pitch:
            die.add(tuple(R @ np.array([x, -W / 2])), pad, 90.0 * k)
        die.rows.append({"count": n, "pitch": pitch, "direction_deg": (90.0 * k) % 180})
    return die


def aligned_columns(columns: int = 88, count: int = 10, pitch: float = 100.0, pad=(60.0, 30.0)) -> Die:
    """`columns` columns of `count` pads, all aligned (no offset along the columns), spaced 60 and
    75 um by turns: no regular spacing across, so the columns are rows and nothing else."""
    die = Die()
    xs = np.cumsum([0.0] + [(60.0, 75.0)[i % 2] for i in range(columns - 1)])
    for x in xs:
        for j in range(count):
            die.add((float(x), j * pitch), pad, 90.0)
    die.rows = [{"count": count, "pitch": pitch, "direction_deg": 90.0} for _ in xs]
    return die


def write_gds(path: str, polygons: list[np.ndarray], layer: tuple[int, int] = (9, 0), noise: bool = True) -> None:
    """A flat GDS: the pads on `layer`, and (noise) a metal plane and labels on other layers."""
    import gdstk

    lib = gdstk.Library(unit=1e-6, precision=1e-9)
    cell = lib.new_cell("TOP")
    for p in polygons:
        cell.add(gdstk.Polygon(p, layer=layer[0], datatype=layer[1]))
    if noise and polygons:
        pts = np.concatenate(polygons)
        lo, hi = pts.min(axis=0) - 50, pts.max(axis=0) + 50
        cell.add(gdstk.rectangle(tuple(lo), tuple(hi), layer=1, datatype=0))
        for p in polygons[:: max(1, len(polygons) // 7)]:
            c = p.mean(axis=0)
            cell.add(gdstk.rectangle(tuple(c - 3), tuple(c + 3), layer=layer[0] + 1, datatype=layer[1]))
            cell.add(gdstk.Label("pad", tuple(c), layer=layer[0], texttype=layer[1]))
    import datetime

    lib.write_gds(path, timestamp=datetime.datetime(2026, 1, 1))


def write_dxf(
    path: str, polygons: list[np.ndarray], layer: str = "PADS", unit: str = "mm", insunits: int | None = None
) -> None:
    """A flat DXF with closed LWPOLYLINEs, coordinates written in `unit` (um inputs)."""
    import ezdxf

    scale = {"mm": 1e-3, "um": 1.0, "in": 1 / 25400}[unit]
    code = {"mm": 4, "um": 13, "in": 1}[unit] if insunits is None else insunits
    doc = ezdxf.new("R2010")
    doc.header["$INSUNITS"] = code
    msp = doc.modelspace()
    for p in polygons:
        msp.add_lwpolyline((p * scale).tolist(), close=True, dxfattribs={"layer": layer})
    msp.add_line((0, 0), (1, 1), dxfattribs={"layer": "OUTLINE"})
    doc.saveas(path)
