#!/usr/bin/env bash
# Builds the shipped ibex and benchmarks it against tini, dumb-init and catatonit (as root).
# usage: scripts/bench.sh [bench/run.py options...]     e.g. scripts/bench.sh --json bench.json
set -euo pipefail
cd "$(dirname "$0")/.."
ibex=$(scripts/build-release.sh 2>/dev/null) || { echo "bench: build failed; run scripts/build-release.sh to see why" >&2; exit 1; }
exec python3 bench/run.py --ibex "$ibex" "$@"
