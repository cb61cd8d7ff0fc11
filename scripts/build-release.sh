#!/usr/bin/env bash
# Builds the shipped ibex: Embedded Swift, whole-module, fully static, position-independent
# (static-PIE), RELRO + BIND_NOW, stripped. Prints the path of the binary.
#
# usage: scripts/build-release.sh [OUTPUT]     (default: .build-release/ibex)
#
# Why static-PIE needs --disable-local-rpath: SwiftPM links every executable with
# -rpath=$ORIGIN. In a static-PIE that becomes a DT_RUNPATH entry, and glibc's self-relocation
# (_dl_relocate_static_pie) asserts that there is none; the assertion fires before relocation
# is done, so it shows as a SIGSEGV at start-up. Without the rpath the binary runs.
# The default linker (gold) rejects --no-dynamic-linker, hence lld.
set -euo pipefail
cd "$(dirname "$0")/.."
output=${1:-.build-release/ibex}
scratch=.build-embedded
swift_bin=$(dirname "$(readlink -f "$(command -v swift)")")
arch=$(uname -m)
embedded_lib="$swift_bin/../lib/swift/embedded/$arch-unknown-linux-gnu"
[ -d "$embedded_lib" ] || { echo "build-release: no Embedded Swift runtime at $embedded_lib" >&2; exit 1; }

swift build -c release --product ibex --scratch-path "$scratch" --disable-local-rpath \
  -Xswiftc -enable-experimental-feature -Xswiftc Embedded -Xswiftc -wmo -Xswiftc -Osize \
  -Xswiftc -Xfrontend -Xswiftc -function-sections -Xcc -ffunction-sections -Xcc -fdata-sections \
  -Xswiftc -warnings-as-errors \
  -Xswiftc -Xclang-linker -Xswiftc -static-pie -Xswiftc -use-ld=lld \
  -Xswiftc -Xclang-linker -Xswiftc -Wno-unused-command-line-argument \
  -Xlinker -L"$embedded_lib" -Xlinker -lswiftUnicodeDataTables -Xlinker -lm \
  -Xlinker -z -Xlinker relro -Xlinker -z -Xlinker now -Xlinker -z -Xlinker noexecstack \
  -Xlinker --gc-sections >&2

mkdir -p "$(dirname "$output")"
strip --strip-all -o "$output" "$scratch/release/ibex"
echo "$output"
