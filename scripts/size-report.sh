#!/usr/bin/env bash
# Prints where the shipped binary's bytes go: the size of every symbol in the unstripped binary
# that scripts/build-release.sh leaves, summed per module, then the largest functions. Builds
# nothing: run scripts/build-release.sh first.
#
# usage: scripts/size-report.sh [TOP] [BINARY]   (default: 25 functions, .build-embedded/ibex-musl)
#
# A Swift symbol is counted in the module its mangled name starts with ($e8IbexCore...). Generic
# code the stdlib specializes for a module's types is mangled under the stdlib and counted there.
# OUTLINED_FUNCTION_n are the sequences LLVM's machine outliner shared between functions (of any
# module). String literals and other unnamed constants have no symbol: they appear only in the
# section sizes (.rodata).
set -euo pipefail
cd "$(dirname "$0")/.."
top=${1:-25}
binary=${2:-.build-embedded/ibex-musl}
[ -f "$binary" ] || { echo "size-report: no $binary: run scripts/build-release.sh first" >&2; exit 1; }
[ -f .build-release/ibex ] && echo "shipped binary (stripped): $(stat -c %s .build-release/ibex) bytes"

echo "sections:"
size -A "$binary" | awk '$1 ~ /^\.(text|rodata|data|data\.rel\.ro|rela\.dyn|bss)$/ { printf "  %-14s %9d\n", $1, $2 }'

symbols=$(nm -S -t d "$binary" | awk 'NF == 4 { print $2 + 0, $4 }')
echo "symbols per module (bytes):"
awk '{
  name = $2
  if (match(name, /^\$e[0-9]+/)) {
    length_digits = RLENGTH - 2
    module = substr(name, RSTART + 2 + length_digits, substr(name, 3, length_digits) + 0)
  } else if (name ~ /^\$e/) module = "Swift stdlib (with specializations)"
  else if (name ~ /^OUTLINED_FUNCTION/) module = "outlined sequences"
  else if (name ~ /swift/) module = "Swift runtime and Unicode tables"
  else module = "C (CIbex and musl)"
  total[module] += $1
  all += $1
} END {
  for (module in total) printf "  %9d  %s\n", total[module], module
  printf "  %9d  total\n", all
}' <<<"$symbols" | sort -rn

echo "largest $top symbols:"
demangle=cat
command -v swift >/dev/null && swift demangle --help >/dev/null 2>&1 && demangle="swift demangle --simplified"
sort -rn <<<"$symbols" | head -n "$top" | $demangle | awk '{ printf "  %s\n", substr($0, 1, 160) }'
