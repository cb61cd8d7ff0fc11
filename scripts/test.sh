#!/usr/bin/env bash
# Installs what the tests need (as root, with apt-get), builds the shipped Embedded ibex,
# and runs every test: unit tests on the normal build, process and container tests on the
# shipped binary (IBEX_BIN).
#
# usage: scripts/test.sh [swift test arguments...]     e.g. scripts/test.sh --filter Reaping
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(musl-tools runc busybox-static tini dumb-init catatonit s6 runit supervisor execline util-linux bsdutils procps binutils file gcc python3 prometheus prometheus-process-exporter curl python3-yaml)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "test.sh: missing packages: ${missing[*]}; run as root or install them" >&2
    exit 1
  fi
  echo "test.sh: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Linters of the image tests and the reference tools of the ibex-audit agreement tests (PyPI).
if [ "$(id -u)" -eq 0 ]; then scripts/install-python-tools.sh; fi

release=$(scripts/build-release.sh)
export IBEX_BIN="$PWD/$release"
echo "test.sh: testing the shipped binary $IBEX_BIN ($(stat -c %s "$IBEX_BIN") bytes)" >&2
swift build --build-tests -Xswiftc -warnings-as-errors
swift test --skip-build "$@"
# The parsers' libFuzzer target, for a bounded time (docs/development.md).
scripts/fuzz.sh 20
