#!/usr/bin/env sh
# The browser tests (tests/browser) and tools/report_screenshots.py drive Debian's Chromium
# through Playwright, never a browser Playwright downloads. Install it when it is missing.
set -eu
CHROMIUM=/usr/bin/chromium
if [ -x "$CHROMIUM" ]; then
    exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi
echo "$CHROMIUM is missing: installing Debian's chromium for the browser tests" >&2
export DEBIAN_FRONTEND=noninteractive
# A fresh machine may have no package lists yet: update once, only if the first try fails.
$SUDO apt-get install -y chromium || { $SUDO apt-get update && $SUDO apt-get install -y chromium; }
test -x "$CHROMIUM"
