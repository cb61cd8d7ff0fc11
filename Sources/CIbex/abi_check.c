// The release build compiles the Swift modules against glibc's headers and links them with
// musl (scripts/build-release.sh). These are the libc types that cross from Swift into C; each
// must have the same size (and, for the kernel's structs, layout) in both C libraries. This
// file is compiled in both builds, so a mismatch fails the build instead of the container.
#include "CIbex.h"

#include <dirent.h>
#include <stddef.h>

_Static_assert(sizeof(sigset_t) == 128, "sigset_t must be 128 bytes (glibc and musl)");
_Static_assert(sizeof(struct epoll_event) == 12, "epoll_event must be packed (kernel ABI)");
_Static_assert(offsetof(struct epoll_event, data) == 4, "epoll_event.data at offset 4");
_Static_assert(sizeof(struct signalfd_siginfo) == 128, "signalfd_siginfo is the kernel's 128 bytes");
_Static_assert(offsetof(struct signalfd_siginfo, ssi_pid) == 12, "ssi_pid at offset 12");
_Static_assert(sizeof(pid_t) == 4 && sizeof(uid_t) == 4 && sizeof(gid_t) == 4 && sizeof(mode_t) == 4,
               "process and file id types are 32 bits");
_Static_assert(sizeof(size_t) == 8 && sizeof(ssize_t) == 8, "64-bit sizes");
