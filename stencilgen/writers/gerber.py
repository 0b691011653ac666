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
    arcs = np.flatnonzero(ol.bulge != 0)
    nxt = np.arange(1, len(ol.coords) + 1)
    nxt[ol.offsets[1:][ol.offsets[1:] > 0] - 1] = ol.offsets[:-1][ol.offsets[1:] > 0]
    centre_ij = {}
    if len(arcs):
        c, _theta = arc_center(ol.coords[arcs], ol.coords[nxt[arcs]], ol.bulge[arcs])
        ij = fmt.scale(c) - xy[arcs]
        centre_ij = {int(k): (int(ij[m, 0]), int(ij[m, 1])) for m, k in enumerate(arcs)}
    for i in range(len(ol)):
        if apertures.kind[i] == NONE:
            continue
        s, e = int(ol.offsets[i]), int(ol.offsets[i + 1])
        w(f"%TO.P,{refdes},{i}*%\n")
        w("G36*\n")
        w(f"X{xy[s, 0]}Y{xy[s, 1]}D02*\n")
        for k in range(s, e):
            j = k + 1 if k + 1 < e else s
            x, y = xy[j]
            if ol.bulge[k] != 0:
                ci, cj = centre_ij[k]
                w(f"{'G03' if ol.bulge[k] > 0 else 'G02'}X{x}Y{y}I{ci}J{cj}D01*\n")
            else:
                w(f"G01X{x}Y{y}D01*\n")
        w("G37*\n")
        w("%TD*%\n")
    w("M02*\n")
    return out.getvalue()


def write_gerber(path: str, apertures: Apertures, part: str, creation_date: str, version: str) -> None:
    text = gerber_text(apertures, part, creation_date, version)
    atomic_write(path, text)
