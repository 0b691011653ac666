"""The programs some tests run, from Debian packages: gerbv (the reference Gerber viewer) and chromium (the
HTML report in a real browser).

`make tools` (which `make test` runs) installs them when it may: as root, with apt-get. Without them, the
tests that run them are skipped, each saying why in one line; with STENCILGEN_REQUIRE_TOOLS=1 (`.ci/run`)
a missing one fails them instead. STENCILGEN_GERBV and STENCILGEN_CHROMIUM name other executables (a name
that is not there: as if the program were missing).
"""

from __future__ import annotations

import os
import shutil

import pytest

#: program -> (what to run unless its variable says otherwise, the Debian package)
TOOLS = {"gerbv": ("gerbv", "gerbv"), "chromium": ("/usr/bin/chromium", "chromium")}


def find(name: str) -> str | None:
    """The program's executable, or None."""
    default, _package = TOOLS[name]
    return shutil.which(os.environ.get(f"STENCILGEN_{name.upper()}", default))


def need(name: str) -> str:
    """The program's executable; a test that calls this without it is skipped (or fails when required)."""
    found = find(name)
    if found:
        return found
    reason = f"{name} is not installed (apt-get install {TOOLS[name][1]})"
    if os.environ.get("STENCILGEN_REQUIRE_TOOLS") == "1":
        pytest.fail(f"{reason}; STENCILGEN_REQUIRE_TOOLS=1 requires it", pytrace=False)
    pytest.skip(reason)
