#!/usr/bin/env bash
# Install Debian's chromium when it is missing: the browser tests (tests/web/test_browser.py)
# and tools/web_screenshots.py drive /usr/bin/chromium through Playwright. Playwright's own
# browser downloads are never used. Needs root (apt-get), as on the project's machines and CI.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
    exit 0
fi
if [ "$(id -u)" != "0" ]; then
    echo "chromium is missing: run 'apt-get install -y chromium' as root" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq chromium >/dev/null
test -x /usr/bin/chromium
