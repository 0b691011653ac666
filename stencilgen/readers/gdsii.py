"""A GDSII stream read with numpy: cells, their references and their polygons, without a Python
object per polygon. It reads what a pad layer is made of (BOUNDARY, BOX, SREF, AREF, TEXT and the
records inside them); a file with anything else (paths, nodes, absolute transforms, records it does
not know, a damaged structure) is `Unsupported`, and the caller reads it with gdstk instead.

Runs of plain polygon elements (BOUNDARY, LAYER, DATATYPE, XY, ENDEL, back to back) are found by
matching their record headers over the whole file at once; the record walk steps over each run in
one move, so a flat cell of 100,000 pads costs a handful of numpy passes.
"""

from __future__ import annotations

import itertools
import mmap
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from ..model import Polygons

# record types (the third header byte)
HEADER, BGNLIB, LIBNAME, UNITS, ENDLIB, BGNSTR, STRNAME, ENDSTR = range(8)
BOUNDARY, PATH, SREF, AREF, TEXT, LAYER, DATATYPE, WIDTH, XY, ENDEL = range(8, 18)
SNAME, COLROW, TEXTNODE, NODE, TEXTTYPE, PRESENTATION, SPACING, STRING = range(18, 26)
STRANS, MAG, ANGLE = 26, 27, 28
ELFLAGS, PROPATTR, PROPVALUE, BOX, BOXTYPE, PLEX = 38, 43, 44, 45, 46, 47
#: library-level records that carry nothing a pad layer needs
_LIBRARY_NOTES = {HEADER, BGNLIB, LIBNAME, 31, 32, 34, 35, 54, 55, 56, 57, 58, 59}  # REFLIBS .. LIBSECUR
#: records inside an element that change nothing read here
_ELEMENT_NOTES = {ELFLAGS, PLEX, PROPATTR, PROPVALUE, TEXTTYPE, PRESENTATION, STRING, WIDTH}
#: polygon points gathered at a time from polygons of different vertex counts
POINTS_AT_A_TIME = 1 << 20
#: past this many elements outside the fast runs, gdstk's C++ loop is the quicker reader
MAX_SLOW_ELEMENTS = 5_000


class Unsupported(Exception):
    """The file holds something this reader leaves to gdstk."""


@dataclass(frozen=True)
class Ref:
    """A reference (SREF, or AREF of columns x rows) as read: `count` placements, whose transforms are
    made only when asked (an array of a billion placements is counted, never spelt out first)."""

    kind: int
    strans: int
    mag: float
    angle_deg: float
    colrow: tuple[int, int] | None
    xy: tuple[int, ...]
    scale: float

    @property
    def count(self) -> int:
        return self.colrow[0] * self.colrow[1] if self.kind == AREF and self.colrow is not None else 1

    def transforms(self) -> np.ndarray:
        """(count, 2, 3) transforms."""
        return _transforms(self.kind, self.strans, self.mag, self.angle_deg, self.colrow, list(self.xy), self.scale)


@dataclass
class Cell:
    name: str
    # polygon elements: where each one's XY points start (index into the file's 16-bit words), how
    # many points, and its layer and datatype
    xy_at: list[np.ndarray] = field(default_factory=list)
    npts: list[np.ndarray] = field(default_factory=list)
    layer: list[np.ndarray] = field(default_factory=list)
    datatype: list[np.ndarray] = field(default_factory=list)
    # references: (child cell name, the reference: its count, and its transforms when asked)
    refs: list[tuple[str, Ref]] = field(default_factory=list)


@dataclass
class Stream:
    words: np.ndarray  # the file as big-endian 16-bit words
    db_m: float  # database unit in metres
    scale: float  # one database unit in the unit asked for
    cells: list[Cell]

    def shapes(self, cell: Cell) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        if not cell.xy_at:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty, empty, empty
        return (
            np.concatenate(cell.xy_at),
            np.concatenate(cell.npts),
            np.concatenate(cell.layer),
            np.concatenate(cell.datatype),
        )

    def layer_counts(self, cell: Cell) -> Counter[str]:
        _at, _n, layer, dtype = self.shapes(cell)
        key = layer.astype(np.int64) * 65536 + dtype
        values, counts = np.unique(key, return_counts=True)
        return Counter({f"{v // 65536}/{v % 65536}": int(c) for v, c in zip(values, counts, strict=True)})

    def _evenly_spaced(self, at: np.ndarray, npts: np.ndarray) -> Polygons | None:
        """Closed polygons of one vertex count, one every S words (a run of plain elements alike):
        read through a strided view of the file, without a gather. None when they are not so."""
        v = int(npts[0])
        stride = int(at[1] - at[0]) if len(at) > 1 else 4 * v
        if v < 2 or (npts != v).any() or stride < 4 * v or (len(at) > 1 and (np.diff(at) != stride).any()):
            return None
        ints = np.lib.stride_tricks.as_strided(
            np.frombuffer(self.words, dtype=">i4", offset=2 * int(at[0]), count=2 * v),
            shape=(len(at), v, 2),
            strides=(2 * stride, 8, 4),
            writeable=False,
        )
        if not (ints[:, -1] == ints[:, 0]).all():
            return None
        coords = ints[:, :-1].astype(np.float64).reshape(-1, 2)
        coords *= self.scale
        return Polygons(coords, np.arange(len(at) + 1, dtype=np.int64) * (v - 1))

    def polygons(self, cell: Cell, want: tuple[int, int]) -> Polygons:
        """The cell's own polygons on one layer in the unit asked for, the closing point dropped."""
        at, npts, layer, dtype = self.shapes(cell)
        pick = np.flatnonzero((layer == want[0]) & (dtype == want[1]))
        at, npts = at[pick], npts[pick]
        if not len(at):
            return Polygons.from_list([])
        plain = self._evenly_spaced(at, npts)
        if plain is not None:
            return plain
        # a few hundred thousand points at a time: the index arrays stay small; each part written into
        # the polygons' one array
        ends = np.cumsum(npts.astype(np.int64))
        cuts = np.unique(np.append(np.searchsorted(ends, np.arange(0, int(ends[-1]), POINTS_AT_A_TIME)), len(at)))
        lens = npts.astype(np.int64) - self._closed(at, npts)
        offsets = np.zeros(len(at) + 1, dtype=np.int64)
        np.cumsum(lens, out=offsets[1:])
        coords = np.empty((int(offsets[-1]), 2))
        for a, b in itertools.pairwise(cuts.tolist()):
            coords[offsets[a] : offsets[b]] = self._gathered(at[a:b], npts[a:b]).coords
        return Polygons(coords, offsets)

    def _closed(self, at: np.ndarray, npts: np.ndarray) -> np.ndarray:
        """Per element: its last point repeats its first (of two points or more), as `_gathered` finds."""
        w = self.words
        last = at + 4 * (npts.astype(np.int64) - 1)
        same = np.ones(len(at), dtype=bool)
        for k in range(4):
            same &= w[at + k] == w[last + k]
        return same & (npts > 1)

    def _gathered(self, at: np.ndarray, npts: np.ndarray) -> Polygons:
        """Polygons of any vertex counts, their points gathered from the file."""
        lens = npts.astype(np.int64)
        offsets = np.zeros(len(at) + 1, dtype=np.int64)
        np.cumsum(lens, out=offsets[1:])
        # every coordinate is two 16-bit words: x of point k at at + 4k, y at at + 4k + 2
        first = np.repeat(at - 4 * offsets[:-1], lens) + 4 * np.arange(offsets[-1], dtype=np.int64)
        w = self.words
        x = (w[first].astype(np.int32) << 16) | w[first + 1].astype(np.int32)
        y = (w[first + 2].astype(np.int32) << 16) | w[first + 3].astype(np.int32)
        coords = np.column_stack([x, y]).astype(np.float64) * self.scale
        # GDSII repeats the first point at the end: drop it where it is so (as gdstk does)
        last = offsets[1:] - 1
        closed = (coords[last] == coords[offsets[:-1]]).all(axis=1) & (lens > 1)
        keep = np.ones(len(coords), dtype=bool)
        keep[last[closed]] = False
        new_lens = lens - closed
        new_offsets = np.zeros(len(at) + 1, dtype=np.int64)
        np.cumsum(new_lens, out=new_offsets[1:])
        return Polygons(coords[keep], new_offsets)


def _real8(raw: bytes) -> float:
    """A GDSII eight-byte real: sign, excess-64 base-16 exponent, 56-bit fraction."""
    v = int.from_bytes(raw, "big")
    value = (v & ((1 << 56) - 1)) / float(1 << 56) * 16.0 ** (((v >> 56) & 0x7F) - 64)
    return -value if v >> 63 else value


def _runs(w: np.ndarray, bare: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Plain polygon elements found by their headers: start word, end word (after ENDEL), and for
    each the last element of the back-to-back run it starts or belongs to. `bare`: the words that
    could start a record without data (a 4 followed by a record type)."""
    n = len(w)
    if n < 12:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty
    i = bare[bare < n - 11]
    i = i[(w[i + 1] == 0x0800) | (w[i + 1] == 0x2D00)]
    i = i[(w[i + 2] == 6) & (w[i + 3] == 0x0D02) & (w[i + 5] == 6) & (w[i + 9] == 0x1003)]
    i = i[(w[i + 6] == 0x0E02) | (w[i + 6] == 0x2E02)]
    xylen = w[i + 8].astype(np.int64)
    i = i[(xylen >= 12) & (xylen % 8 == 4)]
    e = i + 8 + w[i + 8].astype(np.int64) // 2
    ok = e + 1 < n
    i, e = i[ok], e[ok]
    ok = (w[e] == 4) & (w[e + 1] == 0x1100)
    start, end = i[ok], e[ok] + 2
    if not len(start):
        return start, end, start
    link = np.zeros(len(start), dtype=bool)
    link[1:] = end[:-1] == start[1:]
    run = np.cumsum(~link) - 1
    last_of_run = np.flatnonzero(np.append(~link[1:], True))
    return start, end, last_of_run[run]


def _contents(path: str) -> bytes | mmap.mmap:
    """The file's bytes: mapped (read as they are used, no copy), or read when it cannot be mapped
    (an empty file, a pipe)."""
    with open(path, "rb") as f:
        try:
            return mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        except (ValueError, OSError):
            return f.read()


def read_stream(path: str, unit_m: float = 1e-6, polygons_only: bool = False) -> Stream:
    """The cells of a GDSII file, lengths in `unit_m` (micrometres), or `Unsupported`. polygons_only:
    the caller wrote the stream and knows it holds no paths or nodes (so a coordinate that looks like
    their header is one)."""
    data = _contents(path)
    if len(data) < 4:
        raise Unsupported("too short")
    w = np.frombuffer(data, dtype=">u2", count=len(data) // 2)
    bare = np.flatnonzero(w[:-1] == 4)  # one pass over the file; the rest looks at these only
    after = w[bare + 1]
    if not polygons_only and ((after == 0x0900) | (after == 0x1500)).any():
        raise Unsupported("paths or nodes")  # (or a coordinate that looks like their header: as safe)
    start, end, last = _runs(w, bare)
    cells: list[Cell] = []
    names: set[str] = set()
    cell: Cell | None = None
    db_m = 0.0
    scale = 1.0
    kind = -1  # the open element's kind, -1 outside elements
    el_layer = el_dtype = 0
    el_xy: tuple[int, int] | None = None
    ref_name = ""
    ref_strans = 0
    ref_mag, ref_angle = 1.0, 0.0
    ref_colrow: tuple[int, int] | None = None
    ref_xy: list[int] = []
    slow = 0
    o, n = 0, len(data)
    while o + 4 <= n:
        length = (data[o] << 8) | data[o + 1]
        rtype = data[o + 2]
        if length < 4 or length % 2 or o + length > n:
            raise Unsupported("bad record length")
        body = o + 4
        if kind < 0:
            if rtype in (BOUNDARY, BOX):
                k = int(np.searchsorted(start, o // 2))
                if cell is not None and k < len(start) and start[k] == o // 2:
                    j = int(last[k]) + 1
                    cell.xy_at.append(start[k:j] + 10)
                    cell.npts.append((w[start[k:j] + 8].astype(np.int64) - 4) // 8)
                    cell.layer.append(w[start[k:j] + 4].astype(np.int64))
                    cell.datatype.append(w[start[k:j] + 7].astype(np.int64))
                    o = int(end[j - 1]) * 2
                    continue
                kind, el_layer, el_dtype, el_xy = rtype, 0, 0, None
            elif rtype in (SREF, AREF, TEXT):
                kind = rtype
                ref_name, ref_strans, ref_mag, ref_angle, ref_colrow, ref_xy = "", 0, 1.0, 0.0, None, []
            elif rtype == BGNSTR:
                cell = Cell("")
            elif rtype == STRNAME:
                if cell is None:
                    raise Unsupported("STRNAME outside a structure")
                cell.name = data[body : o + length].rstrip(b"\0").decode("ascii", "replace")
                if cell.name in names:
                    raise Unsupported("two cells of one name")
                names.add(cell.name)
                cells.append(cell)
            elif rtype == ENDSTR:
                cell = None
            elif rtype == UNITS:
                if length != 20:
                    raise Unsupported("bad UNITS")
                db_m = _real8(data[body + 8 : body + 16])
                scale = db_m / unit_m
            elif rtype == ENDLIB:
                break
            elif rtype not in _LIBRARY_NOTES:
                raise Unsupported(f"record {rtype}")
        elif rtype == ENDEL:
            if cell is None:
                raise Unsupported("element outside a structure")
            slow += 1
            if slow > MAX_SLOW_ELEMENTS:
                raise Unsupported("many elements outside plain runs")
            if kind in (BOUNDARY, BOX):
                if el_xy is None:
                    raise Unsupported("polygon without points")
                cell.xy_at.append(np.array([el_xy[0]], dtype=np.int64))
                cell.npts.append(np.array([el_xy[1]], dtype=np.int64))
                cell.layer.append(np.array([el_layer], dtype=np.int64))
                cell.datatype.append(np.array([el_dtype], dtype=np.int64))
            elif kind in (SREF, AREF):
                if len(ref_xy) < 2 or (
                    kind == AREF and (ref_colrow is None or len(ref_xy) != 6 or min(ref_colrow) < 1)
                ):
                    raise Unsupported("bad reference")
                ref = Ref(kind, ref_strans, ref_mag, ref_angle, ref_colrow, tuple(ref_xy), scale)
                cell.refs.append((ref_name, ref))
            kind = -1
        elif rtype in (LAYER, DATATYPE, BOXTYPE):
            dtype = data[o + 3]
            if dtype == 2 and length == 6:
                value = (data[body] << 8) | data[body + 1]
            elif dtype == 3 and length == 8:
                value = int.from_bytes(data[body : body + 4], "big")
            else:
                raise Unsupported("bad layer record")
            if rtype == LAYER:
                el_layer = value
            else:
                el_dtype = value
        elif rtype == XY:
            if kind in (BOUNDARY, BOX):
                if (length - 4) % 8 or length < 12:
                    raise Unsupported("bad XY")
                el_xy = (body // 2, (length - 4) // 8)
            elif kind in (SREF, AREF):
                ref_xy = [int.from_bytes(data[p : p + 4], "big", signed=True) for p in range(body, o + length, 4)]
        elif rtype == SNAME:
            ref_name = data[body : o + length].rstrip(b"\0").decode("ascii", "replace")
        elif rtype == STRANS:
            ref_strans = (data[body] << 8) | data[body + 1]
            if ref_strans & 0x0006:
                raise Unsupported("absolute magnification or angle")
        elif rtype == MAG:
            ref_mag = _real8(data[body : body + 8])
        elif rtype == ANGLE:
            ref_angle = _real8(data[body : body + 8])
        elif rtype == COLROW:
            cols = int.from_bytes(data[body : body + 2], "big", signed=True)
            ref_colrow = (cols, int.from_bytes(data[body + 2 : body + 4], "big", signed=True))
        elif rtype not in _ELEMENT_NOTES:
            raise Unsupported(f"record {rtype} in an element")
        o += length
    else:
        raise Unsupported("no ENDLIB")
    if kind >= 0 or cell is not None or not db_m > 0:
        raise Unsupported("unfinished structure")
    return Stream(w, db_m, scale, cells)


def _transforms(
    kind: int, strans: int, mag: float, angle_deg: float, colrow: tuple[int, int] | None, xy: list[int], scale: float
) -> np.ndarray:
    """(R, 2, 3) transforms of a reference, translations times `scale`, in gdstk's order (columns,
    then rows) and arithmetic."""
    if len(xy) < 2 or (kind == AREF and (colrow is None or len(xy) != 6 or min(colrow) < 1)):
        raise Unsupported("bad reference")
    a = np.pi / 180.0 * angle_deg  # as gdstk turns it into radians
    c, s = np.cos(a), np.sin(a)
    lin = np.array([[c, -s], [s, c]]) * mag
    if strans & 0x8000:
        lin = lin @ np.array([[1.0, 0.0], [0.0, -1.0]])
    origin = scale * np.array(xy[:2], dtype=np.float64)
    if kind == AREF and colrow is not None:
        cols, rows = colrow
        v1 = (scale * np.array(xy[2:4], dtype=np.float64) - origin) / cols
        v2 = (scale * np.array(xy[4:6], dtype=np.float64) - origin) / rows
        i, j = np.meshgrid(np.arange(cols), np.arange(rows), indexing="ij")
        offsets = i.reshape(-1, 1) * v1 + j.reshape(-1, 1) * v2
    else:
        offsets = np.zeros((1, 2))
    out = np.empty((len(offsets), 2, 3))
    out[:, :, :2] = lin
    out[:, :, 2] = origin + offsets
    return out
