"""Debian's Chromium, headless, as the tests and docs/make_screenshot.py run it (no network, no profile)."""

from __future__ import annotations

import subprocess

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def run_chromium(
    args: list[str], profile: str, timeout: float = 60, chromium: str = CHROMIUM
) -> subprocess.CompletedProcess:
    """Run Chromium headless with a fresh profile folder."""
    cmd = [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
