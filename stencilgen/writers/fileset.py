"""A set of output files written as one (`FileSet`): the files of a run are written under temporary
names beside their targets, then swapped into place together in one short step, so that a run that
fails or is interrupted leaves the previous set exactly as it was and a run that ends leaves its whole
set; never a mix, never fewer files.

- A lock (`FolderLock`: `fcntl.flock` on `.<name>.lock` in the folder) keeps a second run off the same
  set: it waits up to `STENCILGEN_LOCK_WAIT` seconds (default 30), then fails (exit 4). A batch holds
  one on its whole OUTDIR the same way.
- A library that writes by file name is handed the temporary file as the run holds it open
  (`/proc/self/fd/N`): it writes into the set's own file and never creates one.
- Under the lock, temporary files left by a run of the same set that was killed are removed first; a
  swap that was cut short (the run killed between two renames) is completed from its journal.
- No target may be an input of the run (the same file under any name): refused before anything is
  written.
- The swap holds SIGINT, SIGTERM and SIGHUP until it is done, and is not made by a child whose parent
  has gone (`forked.parent_gone`); a child whose parent ends during the swap finishes it, then leaves
  (`forked.parent_death_held`: its parent-death signal is off for those few renames).
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from .. import forked
from ..errors import OutputError, UsageError
from . import check_targets, create_temp, ensure_dir

#: how long a run waits for another run writing the same set, seconds (STENCILGEN_LOCK_WAIT overrides)
LOCK_WAIT_S = 30.0


def lock_wait() -> float:
    text = os.environ.get("STENCILGEN_LOCK_WAIT")
    if not text:
        return LOCK_WAIT_S
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value >= 0:
        raise UsageError(f"STENCILGEN_LOCK_WAIT={text!r}: write a number of seconds")
    return value


def _same_file(a: os.stat_result, b: os.stat_result) -> bool:
    return os.path.samestat(a, b)


class FolderLock:
    """`fcntl.flock` on `FOLDER/.<name>.lock`, held by one run at a time: another waits up to
    `lock_wait()` seconds, then fails (OutputError naming `what`). The file holds the holder's pid and
    is removed when released. A forked child shares the lock while it lives (a child never outlives
    its run: `forked.die_with_parent`)."""

    def __init__(self, folder: str, name: str, what: str) -> None:
        self.folder = folder
        self.what = what
        self.path = os.path.join(folder, f".{name}.lock")
        self._fd: int | None = None

    def __enter__(self) -> FolderLock:
        self.acquire()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.release()

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> None:
        try:
            import fcntl
        except ImportError:  # (no flock: no lock)
            return
        deadline = time.monotonic() + lock_wait()
        while True:
            # (a signal waits out each attempt: the file is never made, locked and then left behind)
            with _signals_held():
                holder = self._attempt(fcntl)
            if holder is None:
                return
            if time.monotonic() >= deadline:
                who = f" (pid {holder})" if holder.isdigit() else ""
                raise OutputError(
                    f"{self.what}: another stencilgen run{who} is writing these files; wait for it to end or "
                    "choose another output folder"
                ) from None
            time.sleep(0.05)

    def _attempt(self, fcntl: Any) -> str | None:
        """One try at the lock: None when held (its file holds our pid), else the holder's pid as its
        file says ("" unknown). A file locked but removed meanwhile is tried again at once."""
        while True:
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
            except OSError as exc:
                raise OutputError(f"{self.folder}: cannot lock the output folder ({exc.strerror or exc})") from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = _read_small(fd)
                os.close(fd)
                return holder
            self._fd = fd  # held: released (the file removed) whatever interrupts what follows
            try:  # the file locked is still the one at the path (a run that ends removes it)
                current = os.stat(self.path)
            except OSError:
                current = None
            if current is not None and _same_file(os.fstat(fd), current):
                with contextlib.suppress(OSError):
                    os.ftruncate(fd, 0)
                    os.pwrite(fd, str(os.getpid()).encode(), 0)
                return None
            self._fd = None
            os.close(fd)

    def release(self) -> None:
        if self._fd is not None:
            with _signals_held():  # (the file removed and closed, or neither)
                with contextlib.suppress(OSError):
                    current = os.stat(self.path)
                    if _same_file(os.fstat(self._fd), current):  # (not another run's, made since)
                        os.unlink(self.path)  # while still held: a waiting run sees it gone and retries
                os.close(self._fd)
                self._fd = None


class FileSet:
    """The files `targets` (key -> path, all in `folder`) of the set called `name`, written as one.

    with FileSet(folder, "die", {"gerber": "out/die.gbr", "json": "out/die.json"}, inputs=["die.gds"]) as fs:
        fs.write("gerber", text)              # into its temporary file (also from a forked child)
        fs.write_with("gds", lib.write_gds)   # a library writing by file name (into the temporary file)
    # leaving the block without an error swaps the set in; with one, removes the temporary files

    `members`: the file names (in `folder`) any run of this set may write, whose left-over temporary
    files are removed (default: the targets')."""

    def __init__(
        self,
        folder: str,
        name: str,
        targets: dict[str, str],
        inputs: Iterable[str | None] = (),
        members: Iterable[str] = (),
    ) -> None:
        self.folder = folder
        self.name = name
        self.targets = dict(targets)
        self.inputs = [p for p in inputs if p]
        self.members = {*(os.path.basename(p) for p in self.targets.values()), *members}
        self.temps: dict[str, str] = {}
        self._held = FolderLock(folder, name, f"{os.path.join(folder, name)}.*")
        self._journal = os.path.join(folder, f".{name}.swap")

    # -- the life of a set

    def __enter__(self) -> FileSet:
        ensure_dir(self.folder)
        check_targets(list(self.targets.values()))
        self._refuse_inputs()
        try:
            self._lock()
            self._finish_swap()
            self._remove_leftovers()
            for key, target in self.targets.items():
                fd, tmp = create_temp(target)
                os.close(fd)
                self.temps[key] = tmp
        except BaseException:  # (an error, or a signal while the set is made ready)
            if self._held.held:
                self._abort()
            self._unlock()
            raise
        return self

    def __exit__(self, kind: Any, exc: Any, tb: Any) -> None:
        try:
            if kind is None:
                self._swap()
            else:
                self._abort()
        finally:
            self._unlock()

    # -- writing (in this process or a forked child; a child never renames anything)

    def write(self, key: str, data: str | bytes) -> None:
        """All of `data` into the temporary file of `key`."""
        self.write_parts(key, [data])

    def write_parts(self, key: str, parts: Iterable[str | bytes]) -> None:
        """Each of `parts` in turn into the temporary file of `key` (text as UTF-8): a large file is
        never held whole."""
        self.write_with(key, lambda tmp: _write_parts(tmp, parts))

    @contextlib.contextmanager
    def open(self, key: str, binary: bool = False) -> Iterator[Any]:
        """The temporary file of `key`, open for writing (text: UTF-8, \\n line ends)."""
        try:
            fd = os.open(self.temps[key], os.O_WRONLY | os.O_TRUNC | os.O_CLOEXEC)  # never re-created
            kwargs: dict[str, Any] = {} if binary else {"encoding": "utf-8", "newline": "\n"}
            with os.fdopen(fd, "wb" if binary else "w", **kwargs) as fh:
                yield fh
        except OSError as exc:
            raise OutputError(f"{self.targets[key]}: cannot be written ({exc.strerror or exc})") from None

    def write_with(self, key: str, writer: Callable[[str], Any]) -> None:
        """`writer(name)` writes the file of `key` by a file name: the name of the temporary file as this
        process holds it open (Linux: /proc/self/fd/N), so that a library opening it by name writes into
        the set's own file and never creates one (were the temporary file removed meanwhile, the bytes
        go nowhere). Its OSError names the target."""
        try:
            fd = os.open(self.temps[key], os.O_WRONLY | os.O_CLOEXEC)  # never re-created
            try:
                held = f"/proc/self/fd/{fd}"
                writer(held if os.path.exists(held) else self.temps[key])
            finally:
                os.close(fd)
        except OSError as exc:
            raise OutputError(f"{self.targets[key]}: cannot be written ({exc.strerror or exc})") from None

    # -- the parts

    def _refuse_inputs(self) -> None:
        """No target is an input (the same file by any path, link or name): refused before writing."""
        inputs = []
        for p in self.inputs:
            with contextlib.suppress(OSError):
                inputs.append((p, os.stat(p)))
        for target in self.targets.values():
            try:
                st = os.stat(target)
            except OSError:
                continue
            for p, ist in inputs:
                if _same_file(st, ist):
                    raise OutputError(
                        f"{target}: is the input {p}; writing there would overwrite it (choose another output folder)"
                    )

    def _lock(self) -> None:
        self._held.acquire()

    def _unlock(self) -> None:
        self._held.release()

    def _remove_leftovers(self) -> None:
        """Temporary files of this set that a killed run left behind (only a run holding the lock writes
        them, so none belongs to a live run)."""
        names = sorted({*self.members, os.path.basename(self._journal)}, key=len, reverse=True)
        pattern = re.compile(r"\.(" + "|".join(re.escape(n) for n in names) + r")\.[a-z0-9_]{8}\.tmp")
        try:
            entries = os.listdir(self.folder)
        except OSError:
            return
        for entry in entries:
            if entry.startswith(".") and entry.endswith(".tmp") and pattern.fullmatch(entry):
                with contextlib.suppress(OSError):
                    os.unlink(os.path.join(self.folder, entry))

    def _finish_swap(self) -> None:
        """A swap cut short by a kill: its files were complete, so it is completed."""
        try:
            with open(self._journal, encoding="utf-8") as fh:
                lines = fh.read().splitlines()
        except OSError:
            return
        for line in lines:
            tmp, _, final = line.partition("\t")
            if not tmp or not final or "/" in tmp + final:
                continue
            with contextlib.suppress(OSError):
                os.replace(os.path.join(self.folder, tmp), os.path.join(self.folder, final))
        with contextlib.suppress(OSError):
            os.unlink(self._journal)

    def _swap(self) -> None:
        """Every temporary file renamed onto its target, signals (and a worker's death with its run)
        held until all are."""
        with _signals_held(), forked.parent_death_held():
            if forked.parent_gone():  # a worker whose run has ended keeps nothing
                self._abort()
                raise OutputError(f"{self.folder}: the run this work was for has ended; nothing was written")
            plan = [(self.temps[k], self.targets[k]) for k in self.targets]
            same_folder = all(os.path.dirname(os.path.abspath(t)) == os.path.abspath(self.folder) for _, t in plan)
            journal = same_folder and len(plan) > 1
            try:
                if journal:
                    text = "".join(f"{os.path.basename(a)}\t{os.path.basename(b)}\n" for a, b in plan)
                    fd, tmp = create_temp(self._journal)
                    with os.fdopen(fd, "w", encoding="utf-8") as fh:
                        fh.write(text)
                    os.replace(tmp, self._journal)
                for tmp, target in plan:
                    os.replace(tmp, target)
            except OSError as exc:
                self._abort()
                raise OutputError(f"{self.folder}: the files cannot be put in place ({exc.strerror or exc})") from None
            if journal:
                with contextlib.suppress(OSError):
                    os.unlink(self._journal)
            self.temps = {}

    def _abort(self) -> None:
        for tmp in self.temps.values():
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        self.temps = {}
        self._remove_leftovers()  # (under the lock: any temporary file of this set is this run's)


def _write_parts(path: str, parts: Iterable[str | bytes]) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_TRUNC | os.O_CLOEXEC)  # the temporary file: never re-created
    with os.fdopen(fd, "wb") as fh:
        for part in parts:
            fh.write(part.encode("utf-8") if isinstance(part, str) else part)


def _read_small(fd: int) -> str:
    try:
        return os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        return ""


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """SIGINT, SIGTERM and SIGHUP wait until the block is done, then act as they would have."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []

    def hold(signum: int, frame: Any) -> None:
        caught.append(signum)

    saved: dict[int, Any] = {}
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        previous = signal.getsignal(sig)
        if previous is None or previous == signal.SIG_IGN:
            continue
        saved[sig] = signal.signal(sig, hold)
    try:
        yield
    finally:
        for held, handler in saved.items():
            signal.signal(held, handler)
        if caught:
            handler = saved[caught[0]]
            if callable(handler):
                handler(caught[0], None)
            else:
                os.kill(os.getpid(), caught[0])  # the default action, now
