#!/usr/bin/env bash
# Builds the shipped ibex: Embedded Swift, whole-module, fully static against musl,
# position-independent (static-PIE), RELRO + BIND_NOW, stripped. Prints the binary's path.
#
# usage: scripts/build-release.sh [OUTPUT]     (default: .build-release/ibex)
#
# Two steps (docs/development.md, "The release build"):
# 1. SwiftPM compiles the Embedded Swift modules (and, unused here, a glibc build of the shim).
# 2. The C shim is compiled again with musl-gcc, and everything is linked by hand against
#    musl's libc.a. Static glibc alone is ~710 KB of start-up, printf and locale code; musl
#    keeps the whole binary well under 1 MiB. The Swift code only meets libc through CIbex and
#    a few plain functions (sigaddset, memcmp, malloc); Sources/CIbex/abi_check.c asserts that
#    the types crossing that line have the same layout in musl as in the glibc headers Swift
#    was compiled against.
# Size: -Osize with function sections, LLVM's machine outliner (repeated instruction sequences
# become calls: about -4%), --gc-sections, lld's identical code folding (--icf=all: the many
# identical generic specializations, about -2%), and no closure specialization: the SIL optimizer
# would copy a generic function taking a closure (map, split, filter, ...) once per closure it is
# called with; without it the closure is passed as a value (-10 KB).
set -euo pipefail
cd "$(dirname "$0")/.."
output=${1:-.build-release/ibex}
scratch=.build-embedded
swift_bin=$(dirname "$(readlink -f "$(command -v swift)")")
arch=$(uname -m)
embedded_lib="$swift_bin/../lib/swift/embedded/$arch-unknown-linux-gnu"
musl=/usr/lib/$arch-linux-musl
[ -d "$embedded_lib" ] || { echo "build-release: no Embedded Swift runtime at $embedded_lib" >&2; exit 1; }
if ! command -v musl-gcc >/dev/null || [ ! -f "$musl/libc.a" ]; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
    echo "build-release: installing musl-tools" >&2
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends musl-tools >&2
  else
    echo "build-release: musl is missing: run 'apt-get install musl-tools' as root" >&2
    exit 1
  fi
fi

# 1. The Swift modules. The product SwiftPM links here (glibc) is only a by-product.
swift build -c release --product ibex --scratch-path "$scratch" --disable-local-rpath \
  -Xswiftc -enable-experimental-feature -Xswiftc Embedded -Xswiftc -wmo -Xswiftc -Osize \
  -Xswiftc -Xllvm -Xswiftc -enable-machine-outliner=always \
  -Xswiftc -Xllvm -Xswiftc -sil-disable-pass=closure-specialize \
  -Xswiftc -Xfrontend -Xswiftc -function-sections -Xcc -ffunction-sections -Xcc -fdata-sections \
  -Xswiftc -warnings-as-errors \
  -Xswiftc -Xclang-linker -Xswiftc -static-pie -Xswiftc -use-ld=lld \
  -Xswiftc -Xclang-linker -Xswiftc -Wno-unused-command-line-argument \
  -Xlinker -L"$embedded_lib" -Xlinker -lswiftUnicodeDataTables -Xlinker -lm >&2

# 2. The shim against musl, then the link. `ibex version` reports the commit (IBEX_COMMIT, else
#    git's HEAD with -dirty for uncommitted changes, else "unknown": a Docker build context has
#    no .git, so images/alpine/Dockerfile passes IBEX_REVISION) and the kind of build.
commit=${IBEX_COMMIT:-$(scripts/commit-id.sh 2>/dev/null || echo unknown)}
commit=$(printf '%s' "$commit" | tr -cd 'A-Za-z0-9._-' | cut -c1-64)
[ -n "$commit" ] || commit=unknown
build="$scratch/$arch-unknown-linux-gnu/release"
objects=$(grep -v '/CIbex.build/' "$build/ibex.product/Objects.LinkFileList")
shim="$scratch/musl"
mkdir -p "$shim"
for source in Sources/CIbex/*.c; do
  musl-gcc -Os -fPIE -fstack-protector-strong -ffunction-sections -fdata-sections -Wall -Wextra -Werror \
    -DIBEX_COMMIT="\"$commit\"" -DIBEX_BUILD='"static-PIE, musl"' \
    -ISources/CIbex/include -c "$source" -o "$shim/$(basename "$source" .c).o"
done
unstripped="$scratch/ibex-musl"
# shellcheck disable=SC2086 # one word per object file
gcc -static-pie -nostdlib -fuse-ld=lld -o "$unstripped" \
  "$musl/rcrt1.o" "$musl/crti.o" "$(gcc -print-file-name=crtbeginS.o)" \
  "$shim"/*.o $objects \
  -L"$embedded_lib" -lswiftUnicodeDataTables "$musl/libc.a" "$(gcc -print-libgcc-file-name)" \
  "$(gcc -print-file-name=crtendS.o)" "$musl/crtn.o" \
  -Wl,--gc-sections -Wl,--icf=all -Wl,-z,relro,-z,now -Wl,-z,noexecstack

mkdir -p "$(dirname "$output")"
strip --strip-all -o "$output" "$unstripped"
echo "$output"
