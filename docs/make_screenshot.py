"""Plan the ring sample, write its HTML report and save a screenshot of it as docs/report.png.

Usage: .venv/bin/python docs/make_screenshot.py  (needs Debian's chromium at /usr/bin/chromium)
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "tests"))

from browser import CHROMIUM, run_chromium  # noqa: E402

from stencilgen.html import html_report  # noqa: E402
from stencilgen.rules import Rules  # noqa: E402
from stencilgen.run import Options, plan_file  # noqa: E402


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
        args = ["--hide-scrollbars", f"--screenshot={png}", "--window-size=1200,1400", "file://" + page]
        run_chromium(args, os.path.join(tmp, "profile")).check_returncode()
        shutil.copyfile(png, out)
    print(f"wrote {out} ({os.path.getsize(out)} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
