"""Scratch files and folders outside the output folder (a Gerber's project file and flat stream, an
expanded gzip, a DEF's link, the findings database before it goes into the set): named after the
process that makes them (`stencilgen-<pid>-...` in the temporary folder), so that what a killed run
could not remove is removed by a later run: the entries of processes that have ended, a minute old."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterator

PREFIX = "stencilgen-"
#: a scratch entry is left alone for this long, seconds (its process may be starting in another view
#: of the process table)
MIN_AGE_S = 60.0
_NAME = re.compile(re.escape(PREFIX) + r"(\d+)-")


@contextlib.contextmanager
def folder() -> Iterator[str]:
    """A new scratch folder, removed with its contents at the end of the block."""
    sweep()
    with tempfile.TemporaryDirectory(prefix=f"{PREFIX}{os.getpid()}-") as path:
        yield path


def file(suffix: str = "") -> tuple[int, str]:
    """A new scratch file, open for writing: (fd, path); the caller removes it."""
    sweep()
    return tempfile.mkstemp(prefix=f"{PREFIX}{os.getpid()}-", suffix=suffix)


def sweep(root: str | None = None, min_age_s: float = MIN_AGE_S) -> list[str]:
    """Remove the scratch entries (of this user) of processes that have ended; return their paths."""
    root = root or tempfile.gettempdir()
    removed: list[str] = []
    try:
        entries = list(os.scandir(root))
    except OSError:
        return removed
    now = time.time()
    for entry in entries:
        m = _NAME.match(entry.name)
        if not m or _alive(int(m.group(1))):
            continue
        try:
            st = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        if st.st_uid != os.getuid() or now - st.st_mtime < min_age_s:
            continue
        if entry.is_dir(follow_symlinks=False):
            shutil.rmtree(entry.path, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                os.unlink(entry.path)
        removed.append(entry.path)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, OSError):
        return True
    return True
