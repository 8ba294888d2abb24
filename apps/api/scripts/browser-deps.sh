#!/usr/bin/env bash
# Makes sure the console's browser test (apps/api/tests/it/console.rs) can
# run: it needs Chromium and its WebDriver, Debian's `chromium` and
# `chromium-driver` packages (CHROMIUM / CHROMEDRIVER point elsewhere).
# Installs them when run as root with apt-get; otherwise says exactly what
# to run and fails, so that `make test` stops before a long build whose
# browser test could only fail.
set -euo pipefail

chromium="${CHROMIUM:-/usr/bin/chromium}"
chromedriver="${CHROMEDRIVER:-/usr/bin/chromedriver}"
if [ -x "$chromium" ] && [ -x "$chromedriver" ]; then
    exit 0
fi

install="apt-get install -y --no-install-recommends chromium chromium-driver"
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "browser-deps: Chromium or chromedriver missing: $install" >&2
    DEBIAN_FRONTEND=noninteractive apt-get update
    DEBIAN_FRONTEND=noninteractive $install
    [ -x "$chromium" ] && [ -x "$chromedriver" ] || {
        echo "browser-deps: installed, but $chromium or $chromedriver is still missing" >&2
        exit 1
    }
    exit 0
fi

cat >&2 <<MSG
browser-deps: the console's browser test needs Chromium and chromedriver
(missing: $( [ -x "$chromium" ] || printf '%s ' "$chromium")$( [ -x "$chromedriver" ] || printf '%s' "$chromedriver")).
Install them, then re-run:
    sudo $install
(elsewhere than Debian/Ubuntu: install Chromium and its matching chromedriver and
set CHROMIUM=/path/to/chromium CHROMEDRIVER=/path/to/chromedriver)
MSG
exit 1
