"""Without gerbv or chromium the tests that run them are skipped, each saying so in one line; with
STENCILGEN_REQUIRE_TOOLS=1 (.ci/run) they fail instead."""

from __future__ import annotations

import os
import subprocess
import sys

import tools
from conftest import ROOT

NEEDING = [
    "tests/test_writers.py::test_gerber_gerbv",
    "tests/test_html.py::test_browser_screenshot",
    "tests/test_html.py::test_browser_runs_the_script_and_sorts",
]


def pytest_without_tools(require: bool) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STENCILGEN_")}
    env.update(STENCILGEN_GERBV="/nonexistent/gerbv", STENCILGEN_CHROMIUM="/nonexistent/chromium")
    if require:
        env["STENCILGEN_REQUIRE_TOOLS"] = "1"
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:xdist", *NEEDING],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=600,
    )


def test_the_variables_name_the_programs(monkeypatch):
    monkeypatch.setenv("STENCILGEN_GERBV", sys.executable)
    assert tools.find("gerbv") == sys.executable
    monkeypatch.setenv("STENCILGEN_GERBV", "/nonexistent/gerbv")
    assert tools.find("gerbv") is None


def test_missing_programs_skip_their_tests_one_line_each():
    r = pytest_without_tools(require=False)
    assert r.returncode == 0, r.stdout + r.stderr
    skipped = [line for line in r.stdout.splitlines() if line.startswith("SKIPPED")]
    assert len(skipped) == 3, r.stdout  # the screenshot, and the script run twice
    assert sum("gerbv is not installed (apt-get install gerbv)" in line for line in skipped) == 1
    assert sum("chromium is not installed (apt-get install chromium)" in line for line in skipped) == 2
    assert "4 skipped" in r.stdout


def test_required_programs_fail_their_tests():
    r = pytest_without_tools(require=True)
    assert r.returncode == 1
    assert "4 errors" in r.stdout, r.stdout  # (at setup: the program is a fixture)
    assert "gerbv is not installed (apt-get install gerbv); STENCILGEN_REQUIRE_TOOLS=1 requires it" in r.stdout
