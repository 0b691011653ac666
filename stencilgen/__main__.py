"""The `stencilgen` command (`python -m stencilgen`): a Ctrl-C or SIGTERM while the program is still
starting (importing its libraries, before any file is opened) ends it with the one line every
interrupted run prints, exit 130, not a traceback."""

from __future__ import annotations

import signal
import sys
from typing import Any


def _interrupted_at_start(signum: int, frame: Any) -> None:
    sys.stderr.write("Error: interrupted\n")
    sys.stderr.flush()
    raise SystemExit(130)


def _ours(exc: BaseException | None) -> bool:
    """Whether an exception is, or was caused by, the SystemExit the handler raised: raised within a
    class being built, it arrives wrapped ("Error calling __set_name__ ...")."""
    seen = 0
    while exc is not None and seen < 20:
        if isinstance(exc, SystemExit) and exc.code == 130:
            return True
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return False


def main() -> None:
    previous = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        if signal.getsignal(sig) is not signal.SIG_IGN:  # (a signal the caller ignores stays ignored)
            previous[sig] = signal.signal(sig, _interrupted_at_start)
    try:
        from .cli import run
    except BaseException as exc:
        if _ours(exc):
            raise SystemExit(130) from None  # (its one line is written)
        raise

    for sig, handler in previous.items():
        signal.signal(sig, handler)
    run()


if __name__ == "__main__":
    main()
