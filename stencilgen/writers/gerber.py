"""Gerber RS-274X with X2 attributes: each aperture one G36/G37 region in mm (%FSLAX46Y46%),
straight edges G01, tip arcs as true arcs G02/G03 in multi-quadrant mode (G75). One format object
(`FORMAT`) gives the header and scales every coordinate."""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np

from ..geometry import arc_center
from ..model import NONE, Apertures
from . import atomic_write


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


def _attr(text: str) -> str:
    """A value safe inside an attribute: no field separators or Gerber delimiters."""
    return "".join(ch if ch.isalnum() or ch in "._-" else "_" for ch in text) or "_"


def gerber_text(
    apertures: Apertures,
    part: str,
    creation_date: str,
    version: str,
    fmt: GerberFormat = FORMAT,
) -> str:
    out = io.StringIO()
    w = out.write
    w("G04 solder paste stencil written by stencilgen*\n")
    w(f"%TF.GenerationSoftware,stencilgen,stencilgen,{_attr(version)}*%\n")
    w(f"%TF.CreationDate,{creation_date}*%\n")
    w("%TF.FileFunction,Paste,Top*%\n")
    w("%TF.FilePolarity,Positive*%\n")
    w(f"%TF.ProjectId,{_attr(part)},{_attr(part)},1*%\n")
    for line in fmt.header:
        w(line + "\n")
    # one standard aperture, unused by the regions: readers that sniff for %ADD then take the file as RS-274X
    w("%ADD10C,0.010000*%\n")
    w("%LPD*%\n")
    w("G75*\n")
    w("G01*\n")
    ol = apertures.outlines
    xy = fmt.scale(ol.coords)
    refdes = _attr(part)
    m = len(ol.coords)
    nxt = np.arange(1, m + 1)
    ends = ol.offsets[1:][np.diff(ol.offsets) > 0] - 1
    nxt[ends] = ol.offsets[:-1][np.diff(ol.offsets) > 0]
    X, Y = xy[:, 0].astype(str).tolist(), xy[:, 1].astype(str).tolist()
    # the edge leaving every vertex, as one Gerber line: a straight edge, or an arc (G75 multi-quadrant)
    edges = [f"G01X{X[j]}Y{Y[j]}D01*\n" for j in nxt.tolist()]
    arcs = np.flatnonzero(ol.bulge != 0)
    if len(arcs):
        c, _theta = arc_center(ol.coords[arcs], ol.coords[nxt[arcs]], ol.bulge[arcs])
        ij = fmt.scale(c) - xy[arcs]
        for k, j, (ci, cj), b in zip(
            arcs.tolist(), nxt[arcs].tolist(), ij.tolist(), ol.bulge[arcs].tolist(), strict=True
        ):
            edges[k] = f"{'G03' if b > 0 else 'G02'}X{X[j]}Y{Y[j]}I{ci}J{cj}D01*\n"
    offsets = ol.offsets.tolist()
    for i in np.flatnonzero(apertures.kind != NONE).tolist():
        s, e = offsets[i], offsets[i + 1]
        w(f"%TO.P,{refdes},{i}*%\nG36*\nX{X[s]}Y{Y[s]}D02*\n")
        w("".join(edges[s:e]))
        w("G37*\n%TD*%\n")
    w("M02*\n")
    return out.getvalue()


def write_gerber(path: str, apertures: Apertures, part: str, creation_date: str, version: str) -> None:
    text = gerber_text(apertures, part, creation_date, version)
    atomic_write(path, text)
