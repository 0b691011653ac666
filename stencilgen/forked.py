"""Work in a forked child process, its result (or the error it raised) sent back through a pipe.

Two uses: reading a layout with gdstk, whose C++ can crash on a damaged file (the crash is the
child's, the parent reports it); and writing the stencil files while the parent checks the plan
(two cores, two jobs). Without fork (or off the main thread, e.g. inside a Dask worker) the work
runs in the calling process.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import select
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any


class Crashed(Exception):
    """The child died (a signal) or did not finish in time (`timed_out`)."""

    def __init__(self, message: str, timed_out: bool = False) -> None:
        super().__init__(message)
        self.timed_out = timed_out


#: children started and not yet waited for
_children: set[int] = set()


#: in a child (or a batch worker): the parent it works for, which must still be there when it finishes
_parent: int | None = None


def die_with_parent(parent: int) -> None:
    """In a child process: be killed when `parent` ends (Linux: the parent-death signal), and leave at
    once if it has already gone. A child never outlives the run that started it."""
    global _parent
    _parent = parent
    _death_signal(signal.SIGKILL)
    if os.getppid() != parent:
        os._exit(1)


def _death_signal(sig: int) -> None:
    """Linux: the signal this process gets when its parent ends (0: none)."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            import ctypes

            ctypes.CDLL(None, use_errno=True).prctl(1, sig, 0, 0, 0)  # PR_SET_PDEATHSIG


@contextlib.contextmanager
def parent_death_held() -> Iterator[None]:
    """In a child: the parent's end does not kill it inside the block (a few renames that must be done
    whole), and it leaves at once after the block if the parent has ended meanwhile."""
    if _parent is None:
        yield
        return
    _death_signal(0)
    try:
        yield
    finally:
        _death_signal(signal.SIGKILL)
        if os.getppid() != _parent:
            os._exit(1)


def parent_gone() -> bool:
    """In a child: whether the process it works for has ended (nothing of its work may then be kept)."""
    return _parent is not None and os.getppid() != _parent


def kill_all() -> None:
    """End every child at once (an interrupted run does not wait for its writers: their files are
    temporary and removed by the caller)."""
    for pid in list(_children):
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    reap()


def reap() -> None:
    """Wait for every child not yet waited for (their outcome is dropped): when the parent is
    interrupted, a child still writing a file finishes it (or removes it) before the parent exits."""
    for pid in list(_children):
        with contextlib.suppress(ChildProcessError, OSError):
            os.waitpid(pid, 0)
        _children.discard(pid)


def usable() -> bool:
    return hasattr(os, "fork") and threading.current_thread() is threading.main_thread()


def start(work: Callable[[], Any], timeout_s: float | None = None) -> Callable[[], Any]:
    """Run `work` in a forked child; the returned function waits for it and returns its result or
    raises its error (Crashed if it died or ran past `timeout_s` seconds)."""
    if not usable():
        try:
            result = work()
        except Exception as exc:  # raised when the caller asks for the result, as from a child
            error = exc

            def fail() -> Any:
                raise error

            return fail
        return lambda: result
    sys.stdout.flush()
    sys.stderr.flush()
    rfd, wfd = os.pipe()
    with contextlib.suppress(OSError, AttributeError):  # a larger pipe: fewer switches for a big result
        import fcntl

        fcntl.fcntl(wfd, fcntl.F_SETPIPE_SZ, 1 << 20)
    parent = os.getpid()
    pid = os.fork()
    if pid:
        _children.add(pid)
    if pid == 0:  # the child: work, send the outcome, leave without the parent's exit handlers
        code = 0
        try:
            die_with_parent(parent)
            _children.clear()  # the parent's children are not this one's
            os.close(rfd)
            import faulthandler

            faulthandler.disable()  # a crash here is reported by the parent: no dump
            try:
                outcome: tuple[str, Any] = ("ok", work())
            except BaseException as exc:
                outcome = ("error", exc)
            try:
                data = pickle.dumps(outcome, protocol=pickle.HIGHEST_PROTOCOL)
            except Exception:
                data = pickle.dumps(("error", RuntimeError(str(outcome[1]))))
            with os.fdopen(wfd, "wb") as out:
                out.write(data)
        except BaseException:
            code = 3
        os._exit(code)
    os.close(wfd)
    begun = time.monotonic()

    def wait() -> Any:
        end = None if timeout_s is None else begun + timeout_s
        chunks: list[bytes] = []
        with os.fdopen(rfd, "rb", buffering=0) as pipe:
            while True:
                left = None if end is None else max(end - time.monotonic(), 0.0)
                ready, _, _ = select.select([pipe], [], [], left)
                if not ready:
                    os.kill(pid, 9)
                    os.waitpid(pid, 0)
                    _children.discard(pid)
                    raise Crashed(f"did not finish in {timeout_s:.0f} s", timed_out=True)
                chunk = pipe.read(1 << 20)
                if not chunk:
                    break
                chunks.append(chunk)
        _, status = os.waitpid(pid, 0)
        _children.discard(pid)
        if os.WIFSIGNALED(status) or not chunks:
            raise Crashed("the process crashed")
        kind, value = pickle.loads(b"".join(chunks))
        if kind == "error":
            raise value
        return value

    return wait
