"""Gerber RS-274X with X2 attributes: each aperture one G36/G37 region in mm (%FSLAX46Y46%),
straight edges G01, tip arcs as true arcs G02/G03 in multi-quadrant mode (G75). One format object
(`FORMAT`) gives the header and scales every coordinate. A wafer whose dies sit on a regular grid is
one die's regions stepped and repeated (%SR%)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from ..geometry import arc_center
from ..model import NONE, Apertures, Outlines
from . import formatted, outline_groups, plain_shifts, shift_grid, text_chunks


@dataclass(frozen=True)
class GerberFormat:
    integer_digits: int = 4
    decimal_digits: int = 6
    unit: str = "MM"

    @property
    def header(self) -> list[str]:
        i, d = self.integer_digits, self.decimal_digits
        return [f"%FSLAX{i}{d}Y{i}{d}*%", f"%MO{self.unit}*%"]

    def scale(self, um: np.ndarray) -> np.ndarray:
        """Micrometres -> integer coordinates of this format (mm with decimal_digits decimals)."""
        factor = 10**self.decimal_digits / 1000.0  # um -> mm * 10^d
        return np.rint(np.asarray(um) * factor).astype(np.int64)


FORMAT = GerberFormat()


@dataclass(frozen=True)
class StepRepeat:
    """One die's apertures (its own coordinates) placed at `origin` and stepped `nx` x `ny` times by
    `step` (um), as %SRX..Y..I..J..% draws them."""

    element: Apertures
    origin: tuple[float, float]
    nx: int
    ny: int
    step: tuple[float, float]


def regular_grid(element: Apertures, transforms: np.ndarray, fmt: GerberFormat = FORMAT) -> StepRepeat | None:
    """The placements as a step and repeat: plain shifts (no turn, mirror or magnification) filling a
    regular grid of at least two, steps on the format's grid; else None."""
    shift = plain_shifts(transforms)
    grid = None if shift is None else shift_grid(shift)
    if grid is None:
        return None
    origin, (nx, ny), step = grid
    for v in step:
        if abs(fmt.scale(np.array([v]))[0] - v * 10**fmt.decimal_digits / 1000.0) > 1e-6:
            return None  # not on the format's grid: the copies would drift from the flat drawing
    if fmt.scale(np.array(origin)).tolist() != list(np.rint(np.array(origin) * 10**fmt.decimal_digits / 1000.0)):
        return None
    return StepRepeat(element, origin, nx, ny, step)


def _attr(text: str) -> str:
    """A value safe inside an attribute: no field separators or Gerber delimiters."""
    return "".join(ch if ch.isalnum() or ch in "._-" else "_" for ch in text) or "_"


def gerber_parts(
    apertures: Apertures,
    part: str,
    creation_date: str,
    version: str,
    fmt: GerberFormat = FORMAT,
    pins: np.ndarray | None = None,
    repeat: StepRepeat | None = None,
) -> Iterator[str]:
    """The stencil as Gerber text, a part at a time. Each region's object attribute is
    `%TO.P,<part>,<contact id>*%`, or `%TO.P,<part>,<pins[id]>*%` where `pins` gives each aperture its
    own fields (e.g. "12,M3": contact 12, the pin function naming mass 3); with `repeat`, the die's
    regions (tagged with the die's own contact ids) stepped and repeated instead."""
    head = [
        "G04 solder paste stencil written by stencilgen*",
        f"%TF.GenerationSoftware,stencilgen,stencilgen,{_attr(version)}*%",
        f"%TF.CreationDate,{creation_date}*%",
        "%TF.FileFunction,Paste,Top*%",
        "%TF.FilePolarity,Positive*%",
        f"%TF.ProjectId,{_attr(part)},{_attr(part)},1*%",
        *fmt.header,
        # one standard aperture, unused by the regions: readers that sniff for %ADD then take the file as RS-274X
        "%ADD10C,0.010000*%",
        "%LPD*%",
        "G75*",
        "G01*",
    ]
    yield "".join(line + "\n" for line in head)
    refdes = _attr(part)
    if repeat is None:
        yield from _regions(apertures, apertures.outlines, refdes, fmt, pins)
    else:
        d = fmt.decimal_digits
        i, j = (f"{v / 1000.0:.{d}f}" for v in repeat.step)
        yield f"%SRX{repeat.nx}Y{repeat.ny}I{i}J{j}*%\n"
        el = repeat.element.outlines
        yield from _regions(
            repeat.element, Outlines(el.coords + np.array(repeat.origin), el.bulge, el.offsets), refdes, fmt
        )
        yield "%SR*%\n"
    yield "M02*\n"


def _regions(
    apertures: Apertures, ol: Outlines, refdes: str, fmt: GerberFormat, pins: np.ndarray | None = None
) -> Iterator[str]:
    keep = np.flatnonzero(apertures.kind != NONE)
    return text_chunks([(ids, _pieces(ol, ids, arcs, refdes, fmt, pins)) for ids, arcs in outline_groups(ol, keep)])


def _pieces(
    ol: Outlines, ids: np.ndarray, arcs: np.ndarray, refdes: str, fmt: GerberFormat, pins: np.ndarray | None = None
) -> list[str | np.ndarray]:
    """One region per aperture of a group (same vertex count, arcs on the same edges): the edge leaving
    every vertex is a straight G01 or a G02/G03 arc (multi-quadrant, centre offset I/J)."""
    v = len(arcs)
    at = ol.offsets[ids][:, None] + np.arange(v)
    xy = fmt.scale(ol.coords[at])  # (K, v, 2)
    XY = formatted(xy)
    nxt = np.roll(np.arange(v), -1)
    pieces: list[str | np.ndarray] = [
        f"%TO.P,{refdes},",
        formatted(ids) if pins is None else np.array([_pin(p) for p in pins[ids]], dtype=object),
        "*%\nG36*\nX",
        XY[:, 0, 0],
        "Y",
        XY[:, 0, 1],
        "D02*\n",
    ]
    for k in range(v):
        j = nxt[k]
        if arcs[k]:
            b = ol.bulge[at[:, k]]
            c, _theta = arc_center(ol.coords[at[:, k]], ol.coords[at[:, j]], b)
            IJ = formatted(fmt.scale(c) - xy[:, k, :])
            pieces += [np.where(b > 0, "G03X", "G02X").astype(object), XY[:, j, 0], "Y", XY[:, j, 1]]
            pieces += ["I", IJ[:, 0], "J", IJ[:, 1], "D01*\n"]
        else:  # (a vertex on the previous one on the file's grid, as buffering leaves them: no draw)
            draw: list[str | np.ndarray] = ["G01X", XY[:, j, 0], "Y", XY[:, j, 1], "D01*\n"]
            same = (xy[:, j] == xy[:, k]).all(axis=1)
            pieces += [np.where(same, "", p).astype(object) for p in draw] if same.any() else draw
    pieces.append("G37*\n%TD*%\n")
    return pieces


def _pin(text: str) -> str:
    """Attribute fields: each made safe, the commas between them kept."""
    return ",".join(_attr(x) for x in str(text).split(","))
