"""Screenshots of the run report for the docs: docs/report.png (the page in a browser, 1400 px
wide) and docs/report-print.png (the first A4 page of its PDF, as the browser prints it).

    .venv/bin/python tools/report_screenshots.py [--out docs] [--pdf]

It runs the demo (jobs/demo.toml against its embedded sandbox: one row fails for lack of balance)
into a temporary folder for a fixed run date, opens the report in headless Chromium (Debian's
/usr/bin/chromium; tools/ensure_chromium.sh installs it), and turns the PDF's first page into a
PNG with pdftoppm (Debian's poppler-utils). --pdf keeps the PDF as docs/report.pdf too.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tools.chromium import CHROMIUM, MISSING, launch  # noqa: E402

RUN_DATE = "2026-11-26"
WIDTH = 1400


def demo_report(folder: Path) -> Path:
    """Run the demo into ``folder``; return its report."""
    results = folder / f"demo-{RUN_DATE}.results.csv"
    command = [  # the job file as a user names it, so the report shows no path of this machine
        str(Path(sys.executable).with_name("ledgerrun")),
        *("run", "jobs/demo.toml", "--date", RUN_DATE),
        *("--results", str(results), "--journal", str(folder / "demo.sqlite")),
    ]
    env = dict(os.environ, STRIPE_API_KEY="sk_test_ledgerrun_demo")
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False, cwd=ROOT)
    if done.returncode > 1:  # 1 is expected: one sample row fails
        sys.exit(f"the demo failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return results.with_name(results.name + ".report.html")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs")
    parser.add_argument("--pdf", action="store_true", help="keep the PDF as report.pdf")
    args = parser.parse_args()
    if not CHROMIUM.exists():
        sys.exit(MISSING)
    if shutil.which("pdftoppm") is None:
        sys.exit("pdftoppm is missing: apt-get install -y poppler-utils")
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as temp:
        folder = Path(temp)
        report = demo_report(folder)
        pdf = folder / "report.pdf"
        with sync_playwright() as p:
            browser = launch(p)
            page = browser.new_page(viewport={"width": WIDTH, "height": 900})
            page.goto(report.as_uri())
            page.screenshot(path=str(args.out / "report.png"), full_page=True)
            page.pdf(path=str(pdf), format="A4", print_background=True, prefer_css_page_size=True)
            browser.close()
        stem = folder / "page"
        subprocess.run(
            ["pdftoppm", "-png", "-r", "110", "-f", "1", "-l", "1", "-singlefile", pdf, stem],
            check=True,
        )
        shutil.copyfile(stem.with_suffix(".png"), args.out / "report-print.png")
        if args.pdf:
            shutil.copyfile(pdf, args.out / "report.pdf")
    for name in ("report.png", "report-print.png", *(["report.pdf"] if args.pdf else [])):
        print(args.out / name)


if __name__ == "__main__":
    main()
