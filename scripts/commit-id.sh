#!/usr/bin/env bash
# Prints the commit the working tree is at (12 hex digits, "-dirty" when tracked files have
# uncommitted changes), or "unknown" when git or the repository is not there (a Docker build
# context). Used by scripts/build-release.sh for `ibex version`.
cd "${0%/*}/.." 2>/dev/null || { echo unknown; exit 0; }
if ! commit=$(git rev-parse --short=12 HEAD 2>/dev/null); then
  echo unknown
  exit 0
fi
git diff --quiet HEAD -- 2>/dev/null || commit="$commit-dirty"
echo "$commit"
