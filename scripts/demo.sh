#!/usr/bin/env bash
# The main job: builds the shipped ibex (unless IBEX_BIN names one) and runs the demo
# supervision tree of examples/supervision in the foreground: a notify-ready database, a
# oneshot migration, a web server that needs both, and a crashing worker restarted with
# backoff. No root needed: ibex becomes a child subreaper. Ctrl-C stops everything in
# reverse dependency order; ibex then exits 0.
set -euo pipefail
cd "$(dirname "$0")/.."
ibex=${IBEX_BIN:-}
if [ -z "$ibex" ]; then
  echo "demo: building ibex (scripts/build-release.sh; the first build takes a minute or two)" >&2
  ibex=$(scripts/build-release.sh 2>/dev/null) || { echo "demo: build failed; run scripts/build-release.sh to see why" >&2; exit 1; }
fi
export DEMO="$PWD/examples/supervision"
exec "$ibex" init --root "$DEMO"
