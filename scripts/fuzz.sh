#!/usr/bin/env bash
# Builds the libFuzzer target Fuzz/FuzzParsers.swift (every parser that reads untrusted text:
# control requests, JSON, unit files, service definitions, time spans, signals, environment
# files, s6 up/down files) and runs it for a bounded time.
#
# usage: scripts/fuzz.sh [SECONDS]     (default 30; scripts/test.sh runs it for 20)
#
# SwiftPM cannot link a libFuzzer executable (it defines `main` for every executable target),
# so the modules are compiled here with swiftc directly, instrumented with -sanitize=fuzzer.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-30}
build=.build-fuzz
mkdir -p "$build/corpus"
flags=(-parse-as-library -sanitize=fuzzer -O -I "$build" -warnings-as-errors)
swiftc "${flags[@]}" -module-name IbexCore -emit-module -emit-module-path "$build/IbexCore.swiftmodule" \
  -emit-library -static -o "$build/libIbexCore.a" $(find Sources/IbexCore -name '*.swift' | sort)
swiftc "${flags[@]}" -module-name IbexConfig -emit-module -emit-module-path "$build/IbexConfig.swiftmodule" \
  -emit-library -static -o "$build/libIbexConfig.a" Sources/IbexConfig/UnitFile.swift Sources/IbexConfig/ServiceFileParser.swift \
  Sources/IbexConfig/S6Overlay/ExeclineLexer.swift
swiftc "${flags[@]}" -L "$build" -lIbexConfig -lIbexCore Fuzz/FuzzParsers.swift -o "$build/fuzz-parsers"
cp -n Fuzz/corpus/* "$build/corpus/" 2>/dev/null || true
echo "fuzz: running the parser fuzzer for ${seconds}s" >&2
"$build/fuzz-parsers" -max_total_time="$seconds" -timeout=5 -rss_limit_mb=1024 -print_final_stats=1 "$build/corpus" 2>&1 |
  grep -E '^(stat::number_of_executed_units|Done|==|SUMMARY|.*ERROR)' >&2
