#!/usr/bin/env sh
# The browser tests (tests/browser) and tools/report_screenshots.py drive Debian's Chromium
# through Playwright, never a browser Playwright downloads. Install it when it is missing.
# LEDGERRUN_CHROMIUM names another path to look for (the tests of this script use it).
set -eu
CHROMIUM=${LEDGERRUN_CHROMIUM:-/usr/bin/chromium}
if [ -x "$CHROMIUM" ]; then
    exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi
echo "$CHROMIUM is missing: installing Debian's chromium for the browser tests" >&2
export DEBIAN_FRONTEND=noninteractive
# Another apt (unattended upgrades, a second make) may hold the package manager's lock: wait up
# to 10 minutes for it rather than fail at once.
WAIT="-o DPkg::Lock::Timeout=600"
# A fresh machine may have no package lists yet: update once, only if the first try fails.
$SUDO apt-get $WAIT install -y chromium ||
    { $SUDO apt-get $WAIT update && $SUDO apt-get $WAIT install -y chromium; }
test -x "$CHROMIUM"
