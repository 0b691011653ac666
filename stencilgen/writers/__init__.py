"""Writers: the only place that writes output files. Every file is written to a temporary name in
its own folder and renamed into place, so a reader never sees half a file (the rename is atomic; like
other layout tools, the files are not forced to disk before it)."""

from __future__ import annotations

import os
import re
import secrets
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import IO

import numpy as np

from ..errors import OutputError
from ..model import Outlines
from ..numeric import unique

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_name(text: str, fallback: str = "layout") -> str:
    """A file or cell name from any text: letters, digits, dot, dash and underscore only, no leading dot;
    accented letters lose their accents (äb -> ab), so that names differing in them stay apart."""
    plain = "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch))
    name = _UNSAFE.sub("_", plain).strip("._") or fallback
    return name[:100]


def check_targets(paths: list[str]) -> None:
    """Refuse before writing anything when an output cannot be written (a folder in its place), so a run
    never leaves some files written and others not."""
    for p in paths:
        if os.path.isdir(p):
            raise OutputError(f"{p}: a folder is in the way of this output file")
        if os.path.exists(p) and not os.access(p, os.W_OK):
            raise OutputError(f"{p}: exists and cannot be overwritten")


def usable_dir(path: str) -> None:
    """Refuse at once (before any work) an output folder that cannot be one: a file, or under a file."""
    head = os.path.abspath(path)
    while head and not os.path.exists(head):
        head = os.path.dirname(head) if os.path.dirname(head) != head else ""
    if head and not os.path.isdir(head):
        raise OutputError(f"{path}: cannot be the output folder: {head} is a file, not a folder")


def ensure_dir(path: str) -> None:
    usable_dir(path)
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{path}: cannot create the output folder ({exc.strerror or exc})") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise OutputError(f"{path}: the output folder is not writable")


#: the characters of a temporary file's token (as tempfile's)
_TOKEN = "abcdefghijklmnopqrstuvwxyz0123456789_"


def temp_name(path: str) -> str:
    """A fresh temporary name beside `path`: `.<name>.<8 characters>.tmp` (what a later run of the same
    set recognises as left over, see `fileset.FileSet`)."""
    token = "".join(secrets.choice(_TOKEN) for _ in range(8))
    return os.path.join(os.path.dirname(os.path.abspath(path)), f".{os.path.basename(path)}.{token}.tmp")


def create_temp(path: str) -> tuple[int, str]:
    """Create a new temporary file beside `path` (mode 0666 less the umask, as any new file): (fd, name)."""
    for _ in range(100):
        tmp = temp_name(path)
        try:
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666), tmp
        except FileExistsError:
            continue
        except OSError as exc:
            raise OutputError(f"{path}: cannot be written ({exc.strerror or exc})") from None
    raise OutputError(f"{path}: cannot be written (no free temporary name)")


@contextmanager
def atomic_open(path: str, mode: str = "w") -> Iterator[IO]:
    """Open a temporary file beside `path`; on success it replaces `path`, on any failure it is removed."""
    fd, tmp = create_temp(path)
    try:
        kwargs = {"encoding": "utf-8", "newline": "\n"} if "b" not in mode else {}
        with os.fdopen(fd, mode, **kwargs) as fh:  # type: ignore[call-overload]
            yield fh
        os.replace(tmp, path)
    except BaseException:
        with suppress(OSError):
            os.unlink(tmp)
        raise


@contextmanager
def atomic_path(path: str) -> Iterator[str]:
    """A temporary path beside `path` for a library that writes by file name; renamed into place on success."""
    fd, tmp = create_temp(path)
    os.close(fd)
    try:
        yield tmp
        os.replace(tmp, path)
    except OSError as exc:
        with suppress(OSError):
            os.unlink(tmp)
        raise OutputError(f"{path}: cannot be written ({exc.strerror or exc})") from None
    except BaseException:
        with suppress(OSError):
            os.unlink(tmp)
        raise


def outline_groups(outlines: Outlines, keep: np.ndarray) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """The outlines `keep` grouped by shape of record: (ids, arc flags (V,) of each edge) for every
    vertex count V and pattern of arc edges. Writers format each group with one record template."""
    counts = np.diff(outlines.offsets)[keep]
    for v in unique(counts).tolist():
        ids = keep[counts == v]
        if v == 0:
            continue
        flags = outlines.bulge[outlines.offsets[ids][:, None] + np.arange(v)] != 0
        if v <= 62:  # each pattern as the bits of one integer: a fast unique
            codes = flags.astype(np.int64) @ (np.int64(1) << np.arange(v, dtype=np.int64))
            _codes, first, which = np.unique(codes, return_index=True, return_inverse=True)
            rows = flags[first]
        else:
            rows, which = np.unique(flags, axis=0, return_inverse=True)
        for k, pattern in enumerate(rows):
            yield ids[which.ravel() == k], pattern


def formatted(values: np.ndarray, fmt: str = "%d", strip: bool = False) -> np.ndarray:
    """Values as text (object array of the same shape), each distinct value formatted once: a layout
    repeats few coordinates many times. `strip` drops trailing zeros of decimals."""
    flat = np.asarray(values).ravel()
    out = np.empty(len(flat), dtype=object)
    # a piece at a time: sorting pieces costs less than sorting the whole (a value seen in
    # several pieces is formatted once in each)
    for start in range(0, len(flat), FORMAT_CHUNK):
        distinct, inverse = np.unique(flat[start : start + FORMAT_CHUNK], return_inverse=True)
        text = [fmt % v for v in distinct.tolist()]
        if strip:
            text = [t.rstrip("0").rstrip(".") if "." in t else t for t in text]
            text = [t if t not in ("", "-", "-0") else "0" for t in text]
        out[start : start + FORMAT_CHUNK] = np.array(text, dtype=object)[inverse.ravel()]
    return out.reshape(np.shape(values))


#: values `formatted` takes at a time
FORMAT_CHUNK = 65536


#: records joined into text at a time: the table of their pieces stays small
TEXT_CHUNK = 65536


def text_table(groups: list[tuple[np.ndarray, list[str | np.ndarray]]]) -> str:
    """Text of the records in record order, record groups given as (record ids, pieces): each piece a
    constant string or one string per record of the group (`text_chunks` joined)."""
    return "".join(text_chunks(groups))


def text_chunks(groups: list[tuple[np.ndarray, list[str | np.ndarray]]]) -> Iterator[str]:
    """The text of `text_table`, TEXT_CHUNK records at a time (a file is written a chunk at a time,
    never held whole), no per-record Python."""
    groups = [(ids, _merge(pieces)) for ids, pieces in groups if len(ids)]
    if not groups:
        return
    width = max(len(pieces) for _, pieces in groups)
    ids_all = np.concatenate([ids for ids, _ in groups])
    rank = np.empty(len(ids_all), dtype=np.int64)
    rank[np.argsort(ids_all, kind="stable")] = np.arange(len(ids_all))  # the records present, in order
    places = []  # each group's records: their places in record order, ascending, and where they stand
    at = 0
    for ids, pieces in groups:
        rows = rank[at : at + len(ids)]
        at += len(ids)
        order = np.argsort(rows, kind="stable")
        places.append((rows[order], order, pieces))
    for start in range(0, len(ids_all), TEXT_CHUNK):
        stop = min(start + TEXT_CHUNK, len(ids_all))
        table = np.empty((stop - start, width), dtype=object)
        for rows, order, pieces in places:
            lo, hi = np.searchsorted(rows, [start, stop])
            if lo == hi:
                continue
            mine, which = rows[lo:hi] - start, order[lo:hi]
            whole = hi - lo == stop - start
            for k in range(width):
                piece = pieces[k] if k < len(pieces) else ""
                value = piece if isinstance(piece, str) else piece[which]
                if whole:
                    table[:, k] = value
                else:
                    table[mine, k] = value
        yield "".join(table.ravel().tolist())


def _merge(pieces: list[str | np.ndarray]) -> list[str | np.ndarray]:
    out: list[str | np.ndarray] = []
    for p in pieces:
        if isinstance(p, str) and out and isinstance(out[-1], str):
            out[-1] += p
        else:
            out.append(p)
    return out


#: a grid of placements: ((x, y) of the first, (columns, rows), (step x, step y)), um
Grid = tuple[tuple[float, float], tuple[int, int], tuple[float, float]]


def plain_shifts(transforms: np.ndarray) -> np.ndarray | None:
    """The shifts (P, 2) of two or more placements that only shift (no turn, mirror or magnification),
    ordered by y, then x; else None."""
    if len(transforms) < 2 or not np.allclose(transforms[:, :, :2], np.eye(2)[None], rtol=0, atol=1e-12):
        return None
    shift = transforms[:, :, 2]
    return shift[np.lexsort((shift[:, 0], shift[:, 1]))]


def shift_grid(shift: np.ndarray) -> Grid | None:
    """The regular grid the shifts fill, each point once (steps alike within 1e-6 um); else None."""
    xs, ys = np.unique(shift[:, 0]), np.unique(shift[:, 1])
    if len(xs) * len(ys) != len(shift) or len(np.unique(shift, axis=0)) != len(shift):
        return None
    dx, dy = np.diff(xs), np.diff(ys)
    if (len(dx) and np.abs(dx - dx[0]).max() > 1e-6) or (len(dy) and np.abs(dy - dy[0]).max() > 1e-6):
        return None
    step = (float(dx[0]) if len(dx) else 0.0, float(dy[0]) if len(dy) else 0.0)
    return (float(xs[0]), float(ys[0])), (len(xs), len(ys)), step
