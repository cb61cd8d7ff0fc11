// The musl release build's entry point (scripts/build-release.sh). musl, unlike glibc, does not
// pass argc/argv to ELF constructors, so `main` records them and then calls the Swift entry
// point, which SwiftPM names `ibex_main`. Compiled to nothing with glibc.
#include "CIbex.h"

#if !defined(__GLIBC__)
int ibex_main(int argc, char **argv);

int main(int argc, char **argv) {
  ibex_set_arguments(argc, argv);
  return ibex_main(argc, argv);
}
#endif
