"""Work in a forked child: result, error and crash come back to the parent; off the main thread the
work runs in place."""

from __future__ import annotations

import os
import signal
import threading

import pytest

from stencilgen import forked
from stencilgen.errors import OutputError


def test_result_comes_back() -> None:
    parent = os.getpid()
    wait = forked.start(lambda: (os.getpid(), list(range(5))))
    pid, value = wait()
    assert value == [0, 1, 2, 3, 4]
    assert pid != parent  # it really ran elsewhere


def test_error_is_raised_in_the_parent() -> None:
    def fail() -> None:
        raise OutputError("out/x.gbr: cannot be written")

    wait = forked.start(fail)
    with pytest.raises(OutputError, match="cannot be written"):
        wait()


def test_a_crash_is_reported() -> None:
    wait = forked.start(lambda: os.kill(os.getpid(), signal.SIGSEGV))
    with pytest.raises(forked.Crashed) as info:
        wait()
    assert not info.value.timed_out


def test_a_hang_is_cut_short() -> None:
    import time

    wait = forked.start(lambda: time.sleep(30), timeout_s=0.5)
    with pytest.raises(forked.Crashed, match="did not finish") as info:
        wait()
    assert info.value.timed_out


def test_off_the_main_thread_work_runs_in_place() -> None:
    seen: dict[str, object] = {}

    def run() -> None:
        assert not forked.usable()
        seen["pid"] = forked.start(os.getpid)()
        with pytest.raises(ValueError):
            forked.start(lambda: int("x"))()

    t = threading.Thread(target=run)
    t.start()
    t.join()
    assert seen["pid"] == os.getpid()


def test_reap_waits_for_a_child_nobody_waited_for(tmp_path):
    """An interrupted parent reaps its children: a writer still at work finishes first."""
    import time

    done = tmp_path / "done"
    forked.start(lambda: (time.sleep(0.5), done.write_text("whole")))  # its wait() is dropped
    forked.reap()
    assert done.read_text() == "whole"
    assert not forked._children
