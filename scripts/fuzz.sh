#!/usr/bin/env bash
# Builds the libFuzzer target Fuzz/FuzzParsers.swift (every parser that reads untrusted text,
# one named target each: see `--list`) and runs it for a bounded time.
#
# usage: scripts/fuzz.sh [SECONDS]                  every target on each input, SECONDS in all
#                                                   (default 30; scripts/test.sh runs it for 20)
#        scripts/fuzz.sh --each SECONDS [TARGET...] each target (default: all) alone for SECONDS,
#                                                   with its own corpus; prints runs and coverage
#                                                   per target and fails if any target crashed
#        scripts/fuzz.sh --list                     the target names
#
# A target is one entry of `fuzzTargets` in Fuzz/FuzzParsers.swift (how to add one is explained
# there); its seeds are Fuzz/corpus/<target>/. New inputs libFuzzer finds are kept in
# .build-fuzz/corpus/<target>/ (not committed), crash reproducers in .build-fuzz/artifacts/,
# the full libFuzzer output of `--each` in .build-fuzz/logs/<target>.log.
#
# SwiftPM cannot link a libFuzzer executable (it defines `main` for every executable target),
# so the modules are compiled here with swiftc directly, instrumented with -sanitize=fuzzer.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=all
case "${1:-}" in
  --each) mode=each; seconds=${2:?"usage: scripts/fuzz.sh --each SECONDS [TARGET...]"}; shift 2 ;;
  --list) mode=list ;;
  -h|--help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) seconds=${1:-30} ;;
esac
build=.build-fuzz
mkdir -p "$build/corpus" "$build/artifacts" "$build/logs" "$build/cibex"

# The modules, in dependency order (a parser in a new module: add it here and import it in
# Fuzz/FuzzParsers.swift). All sources of each module are compiled, so a new file is fuzzable
# as soon as a target calls it.
modules=(IbexCore IbexRuntime IbexConfig IbexLog)
flags=(-parse-as-library -sanitize=fuzzer -O -I "$build" -I "$build/cibex" -warnings-as-errors)
stamp="$build/stamp"
sources=$(find Fuzz Sources/CIbex "${modules[@]/#/Sources/}" -type f -newer "$stamp" 2>/dev/null | head -1 || true)
if [ ! -f "$stamp" ] || [ -n "$sources" ] || [ ! -x "$build/fuzz-parsers" ]; then
  echo "fuzz: building $build/fuzz-parsers" >&2
  # The C shim (minus the musl-only entry point), with a module map so Swift can import it.
  objects=()
  for source in Sources/CIbex/*.c; do
    [ "$(basename "$source")" = entry_musl.c ] && continue
    object="$build/cibex/$(basename "$source" .c).o"
    clang -O1 -fsanitize=fuzzer-no-link -ISources/CIbex/include -c "$source" -o "$object"
    objects+=("$object")
  done
  printf 'module CIbex {\n  umbrella header "%s"\n  export *\n}\n' "$PWD/Sources/CIbex/include/CIbex.h" > "$build/cibex/module.modulemap"
  links=()
  for module in "${modules[@]}"; do
    swiftc "${flags[@]}" -module-name "$module" -emit-module -emit-module-path "$build/$module.swiftmodule" \
      -emit-library -static -o "$build/lib$module.a" $(find "Sources/$module" -name '*.swift' | sort)
    links=("-l$module" "${links[@]}")
  done
  swiftc "${flags[@]}" -L "$build" "${links[@]}" "${objects[@]}" Fuzz/FuzzParsers.swift -o "$build/fuzz-parsers"
  touch "$stamp"
fi
mapfile -t targets < <(IBEX_FUZZ_TARGET=list "$build/fuzz-parsers")
libfuzzer=(-timeout=5 -rss_limit_mb=1024 -print_final_stats=1)
# Swift's own crash handler would catch the trap first, and libFuzzer would then write no reproducer.
export SWIFT_BACKTRACE=enable=no

if [ "$mode" = list ]; then
  printf '%s\n' "${targets[@]}"
  exit 0
fi

if [ "$mode" = all ]; then
  for seed in Fuzz/corpus/*/*; do cp -n "$seed" "$build/corpus/$(basename "$(dirname "$seed")")-$(basename "$seed")" 2>/dev/null || true; done
  echo "fuzz: running every parser (${#targets[@]} targets) for ${seconds}s" >&2
  status=0
  IBEX_FUZZ_TARGET=all "$build/fuzz-parsers" -max_total_time="$seconds" "${libfuzzer[@]}" \
    -artifact_prefix="$build/artifacts/" "$build/corpus" > "$build/logs/all.log" 2>&1 || status=$?
  grep -E '^(stat::number_of_executed_units|Done|==|SUMMARY|.*ERROR|.*Fatal error)' "$build/logs/all.log" >&2 || true
  [ "$status" -eq 0 ] || echo "fuzz: failed (exit $status); reproducer in $build/artifacts/, log in $build/logs/all.log" >&2
  exit "$status"
fi

# --each: one target at a time, each with its own corpus and the whole time.
[ $# -gt 0 ] && targets=("$@")
failed=()
printf '%-16s %12s %8s %8s %8s %9s  %s\n' TARGET RUNS EDGES FEATURES CORPUS EXEC/S RESULT
for target in "${targets[@]}"; do
  corpus="$build/corpus/$target"
  mkdir -p "$corpus"
  seeds=()
  [ -d "Fuzz/corpus/$target" ] && seeds=("Fuzz/corpus/$target")
  log="$build/logs/$target.log"
  status=0
  IBEX_FUZZ_TARGET="$target" "$build/fuzz-parsers" -max_total_time="$seconds" "${libfuzzer[@]}" \
    -artifact_prefix="$build/artifacts/$target-" "$corpus" "${seeds[@]}" > "$log" 2>&1 || status=$?
  # The last status line: "#RUNS <kind> cov: EDGES ft: FEATURES corp: UNITS/SIZE ... exec/s: N ...".
  last=$(grep -E '^#[0-9]+' "$log" | tail -1 || true)
  field() { sed -nE "s|.*$1 ([0-9]+).*|\\1|p" <<<"$last"; }
  runs=$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+)/\1/p' "$log" | tail -1)
  result=ok
  if [ "$status" -ne 0 ]; then
    result="FAILED (exit $status): $(grep -m1 -E 'ERROR|Fatal error|unknown target' "$log" || echo "see $log")"
    failed+=("$target")
  fi
  printf '%-16s %12s %8s %8s %8s %9s  %s\n' "$target" "${runs:-?}" "$(field cov:)" "$(field ft:)" \
    "$(field corp:)" "$(field exec/s:)" "$result"
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: crashes in: ${failed[*]} (reproducers in $build/artifacts/, logs in $build/logs/)" >&2
  exit 1
fi
