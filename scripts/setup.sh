#!/usr/bin/env bash
# Install what dfwatch needs, idempotently and from caches where possible.
#   scripts/setup.sh          Python venv (.venv) with dfwatch and its pinned dependencies
#   scripts/setup.sh --test   also the test tools: Debian's OpenJDK 17 and Maven, and the
#                             Elasticsearch node (Maven Central's integ-test-zip, cached in
#                             ~/.cache/dfwatch) that the test suite starts, Debian's chromium
#                             and a CJK font for the browser tests and screenshots, and
#                             Debian's redis-server for the multi-worker (scrapy-redis) crawl tests
set -euo pipefail
cd "$(dirname "$0")/.."

want_test=0
[ "${1:-}" = "--test" ] && want_test=1

PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null || PYTHON=python3
"$PYTHON" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' \
  || { echo "setup: dfwatch needs Python 3.11 (found $("$PYTHON" --version))" >&2; exit 1; }

apt_install() {  # apt_install PACKAGE... : only the missing ones, update once
  local missing=()
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  echo "setup: installing Debian packages: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
extras="."; [ $want_test -eq 1 ] && extras=".[test]"
stamp=".venv/.dfwatch-installed-$(cat pyproject.toml | sha1sum | cut -c1-12)-$want_test"
if [ ! -f "$stamp" ]; then
  .venv/bin/python -m pip install -q --disable-pip-version-check -e "$extras"
  rm -f .venv/.dfwatch-installed-*
  touch "$stamp"
fi

if [ $want_test -eq 1 ]; then
  apt_install openjdk-17-jre-headless maven util-linux passwd chromium fonts-noto-cjk redis-server
  .venv/bin/python -m dfwatch.devnode fetch
fi
echo "setup: done"
