"""Compressed layouts (die.gds.gz, die.oas.gzip, pads.dxf.gz, top.def.gz): gzip expanded as a stream,
a chunk at a time, into a temporary file that the readers open as they open any layout, under a
ceiling on the expanded size (the rules' `max_expanded_mb`): a gzip bomb is refused once its output
passes the ceiling, before it fills memory or the disk."""

from __future__ import annotations

import gzip
import os
import zlib
from collections.abc import Iterator
from contextlib import contextmanager

from .. import scratch
from ..errors import input_error

#: file name endings of gzip-compressed layouts (any case)
GZIP_SUFFIXES = (".gz", ".gzip")
GZIP_MAGIC = b"\x1f\x8b"
#: bytes expanded at a time
CHUNK = 1 << 20
MB = 1_000_000


def compressed(path: str) -> bool:
    """Whether the file's name says it is gzip-compressed (die.gds.gz)."""
    return path.lower().endswith(GZIP_SUFFIXES)


def plain_name(path: str) -> str:
    """The name without its compression suffix: die.gds.gz -> die.gds (others as they are)."""
    low = path.lower()
    for suffix in GZIP_SUFFIXES:
        if low.endswith(suffix):
            return path[: -len(suffix)]
    return path


def _too_large(path: str, limit_mb: float) -> Exception:
    return input_error(
        path,
        f"expands to more than {limit_mb:,g} MB uncompressed (max_expanded_mb); raise max_expanded_mb in a "
        "rules file if the layout is really that large",
    )


def _trailer_size(path: str) -> int | None:
    """The expanded size a gzip file's last member states (ISIZE: the size modulo 2^32), None if the
    file does not start as gzip. The whole stream is at least that long, where the file is whole (a
    file cut short ends in compressed data, not a size)."""
    with open(path, "rb") as fh:
        if fh.read(2) != GZIP_MAGIC:
            return None
        fh.seek(0, os.SEEK_END)
        if fh.tell() < 18:
            return None
        fh.seek(-4, os.SEEK_END)
        return int.from_bytes(fh.read(4), "little")


@contextmanager
def expanded(path: str, limit_mb: float | None) -> Iterator[str]:
    """A plain file to read for `path`: the file itself, or for a compressed one a temporary file
    holding it expanded (removed afterwards). limit_mb: refuse a file that expands to more than this
    many megabytes (10^6 bytes); None: no ceiling (a file already read once under one)."""
    if not compressed(path):
        yield path
        return
    try:
        stated = _trailer_size(path)
    except OSError as exc:
        raise input_error(path, f"cannot be read ({exc.strerror or exc})") from None
    if stated is None:
        raise input_error(path, "not a gzip file (its name ends in .gz, but it does not start as gzip does)")
    if limit_mb is not None and stated > limit_mb * MB:
        # (whether the stream runs that far: a file cut short states no size; read, nothing kept)
        _expand(path, None, limit_mb)
    suffix = os.path.splitext(plain_name(path))[1]
    fd, tmp = scratch.file(suffix)
    try:
        _expand(path, fd, limit_mb)
        yield tmp
    finally:
        os.unlink(tmp)


def _expand(path: str, fd: int | None, limit_mb: float | None) -> None:
    """Expand `path` into the open file `fd` (None: nowhere, only measured) a chunk at a time, stopping
    past the ceiling."""
    limit = None if limit_mb is None else int(limit_mb * MB)
    total = 0
    try:
        with open(os.devnull if fd is None else fd, "wb") as out, gzip.open(path, "rb") as src:
            while chunk := src.read(CHUNK):
                total += len(chunk)
                if limit is not None and total > limit:
                    raise _too_large(path, limit_mb or 0.0)
                if fd is not None:
                    out.write(chunk)
    except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
        reason = str(exc).rstrip(".") or type(exc).__name__
        raise input_error(path, f"not a readable gzip file ({reason})") from None
    except OSError as exc:
        raise input_error(path, f"cannot be expanded ({exc.strerror or exc})") from None
