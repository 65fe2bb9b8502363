#!/usr/bin/env bash
# What the tests need beyond the Python packages of the `test` extra, from Debian's packages:
# - Chromium at /usr/bin/chromium, which the browser tests in tests/ui drive through Playwright
#   (Playwright's own browser download is not used);
# - PostgreSQL's server and curl, which scripts/team-stack.sh uses to start the team tier
#   (tests/team, benchmarks/bench_team.py).
# Safe to run again: it installs only what is missing.
set -euo pipefail

fail() {
    echo "install-test-deps: $*" >&2
    exit 1
}

missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || missing+=(postgresql)
command -v curl >/dev/null 2>&1 || missing+=(curl)
[ ${#missing[@]} -eq 0 ] && exit 0

command -v apt-get >/dev/null 2>&1 ||
    fail "${missing[*]} missing and apt-get is not available: install them by hand"
if [ "$(id -u)" -eq 0 ]; then
    as_root=()
elif command -v sudo >/dev/null 2>&1; then
    as_root=(sudo)
else
    fail "${missing[*]} missing and installing needs root: run this script as root or install sudo"
fi

echo "install-test-deps: installing Debian's ${missing[*]} for the tests"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! { "${as_root[@]}" apt-get update &&
    "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y --no-install-recommends "${missing[@]}"; } >"$log" 2>&1; then
    reason=$(grep -E '^(E|Err):' "$log" | tail -n 1 || true)
    fail "apt-get could not install ${missing[*]}: ${reason:-$(tail -n 1 "$log")}"
fi
[ -x /usr/bin/chromium ] || fail "apt-get ran but /usr/bin/chromium is missing"
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null ||
    fail "apt-get ran but PostgreSQL's initdb is missing"
echo "install-test-deps: installed ${missing[*]}"
