"""Plan the ring sample, write its HTML report and save a screenshot of it as docs/report.png.

Usage: .venv/bin/python docs/make_screenshot.py  (needs Debian's chromium at /usr/bin/chromium)
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)

from stencilgen.html import html_report  # noqa: E402
from stencilgen.rules import Rules  # noqa: E402
from stencilgen.run import Options, plan_file  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
]


def main() -> int:
    if not os.path.exists(CHROMIUM):
        print(f"{CHROMIUM} not found: apt-get install -y --no-install-recommends chromium", file=sys.stderr)
        return 1
    out = os.path.join(HERE, "report.png")
    with tempfile.TemporaryDirectory() as tmp:
        os.chdir(ROOT)  # the report names the file as given: keep it short
        result = plan_file(
            os.path.join("sample_layouts", "ring_100um.gds"), tmp, Rules(), Options(layer="9/0", formats=())
        )
        page = os.path.join(tmp, "report.html")
        with open(page, "w", encoding="utf-8") as fh:
            fh.write(html_report(result.report, result.plan))
        png = os.path.join(tmp, "report.png")
        cmd = [CHROMIUM, *FLAGS, f"--user-data-dir={os.path.join(tmp, 'profile')}"]
        cmd += [f"--screenshot={png}", "--window-size=1200,1400", "file://" + page]
        subprocess.run(cmd, check=True, timeout=60, capture_output=True)
        shutil.copyfile(png, out)
    print(f"wrote {out} ({os.path.getsize(out)} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
