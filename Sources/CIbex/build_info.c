// What `ibex version` reports about the build. scripts/build-release.sh defines both when it
// compiles the shim for the shipped binary (the commit from git, or IBEX_COMMIT, or "unknown");
// a plain `swift build` keeps the defaults.
#include "CIbex.h"

#ifndef IBEX_COMMIT
#define IBEX_COMMIT "unknown"
#endif
#ifndef IBEX_BUILD
#define IBEX_BUILD "SwiftPM build, glibc"
#endif

const char *ibex_build_commit(void) { return IBEX_COMMIT; }
const char *ibex_build_kind(void) { return IBEX_BUILD; }
