#!/usr/bin/env bash
# What the tests need beyond the Python packages of the `test` extra: Debian's Chromium at
# /usr/bin/chromium, which the browser tests in tests/ui drive through Playwright (Playwright's
# own browser download is not used). Safe to run again: it does nothing when Chromium is there.
set -euo pipefail

CHROMIUM=/usr/bin/chromium
[ -x "$CHROMIUM" ] && exit 0

fail() {
    echo "install-test-deps: $*" >&2
    exit 1
}

command -v apt-get >/dev/null 2>&1 ||
    fail "$CHROMIUM is missing and apt-get is not available: install Chromium there by hand"
if [ "$(id -u)" -eq 0 ]; then
    as_root=()
elif command -v sudo >/dev/null 2>&1; then
    as_root=(sudo)
else
    fail "$CHROMIUM is missing and installing it needs root: run this script as root or install sudo"
fi

echo "install-test-deps: installing Debian's chromium for the browser tests (tests/ui)"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! { "${as_root[@]}" apt-get update &&
    "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y --no-install-recommends chromium; } >"$log" 2>&1; then
    reason=$(grep -E '^(E|Err):' "$log" | tail -n 1 || true)
    fail "apt-get could not install chromium: ${reason:-$(tail -n 1 "$log")}"
fi
[ -x "$CHROMIUM" ] || fail "apt-get installed chromium but $CHROMIUM is missing"
echo "install-test-deps: $("$CHROMIUM" --version 2>/dev/null || echo chromium) installed"
