"""The one browser everything here drives: Debian's Chromium (``apt-get install chromium``;
``tools/ensure_chromium.sh`` installs it), headless, through Playwright. Playwright's own
browser downloads are never used. The browser tests and the screenshot tools launch it here, so
they run the same binary with the same flags.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

CHROMIUM = Path("/usr/bin/chromium")
# no sandbox (containers and CI run as root), no GPU, /tmp not /dev/shm, nothing phoning home
ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)
MISSING = f"{CHROMIUM} is missing: run tools/ensure_chromium.sh (make test does)"


def launch(playwright: Any) -> Any:
    """A headless Chromium from ``playwright`` (a ``sync_playwright()`` session)."""
    if not CHROMIUM.exists():
        raise FileNotFoundError(MISSING)
    return playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
