#!/usr/bin/env bash
# The main job: builds the shipped ibex (unless IBEX_BIN names one) and runs the demo in the
# foreground under `ibex run`. No root needed: ibex becomes a child subreaper.
# Ctrl-C stops it; the exit code is the demo's.
set -euo pipefail
cd "$(dirname "$0")/.."
ibex=${IBEX_BIN:-}
if [ -z "$ibex" ]; then
  ibex=$(scripts/build-release.sh 2>/dev/null) || { echo "demo: build failed; run scripts/build-release.sh to see why" >&2; exit 1; }
fi
exec "$ibex" run --grace 5s -- examples/run/demo.sh
