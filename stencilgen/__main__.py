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


def main() -> None:
    previous = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        if signal.getsignal(sig) is not signal.SIG_IGN:  # (a signal the caller ignores stays ignored)
            previous[sig] = signal.signal(sig, _interrupted_at_start)
    from .cli import run

    for sig, handler in previous.items():
        signal.signal(sig, handler)
    run()


if __name__ == "__main__":
    main()
