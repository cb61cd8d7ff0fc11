// Probes of `ibex doctor`: system calls a seccomp filter is expected to block, tried with
// arguments that cannot change anything.
#include "CIbex.h"

#include <errno.h>
#include <unistd.h>
#include <sys/syscall.h>

int ibex_probe_syscall(int which) {
  long result;
  switch (which) {
  case IBEX_PROBE_UNSHARE:
    // unshare(0): no namespace is unshared; a filter that blocks unshare answers EPERM.
    result = syscall(SYS_unshare, 0L);
    break;
  case IBEX_PROBE_KEYCTL:
    // keyctl(KEYCTL_GET_KEYRING_ID, KEY_SPEC_THREAD_KEYRING, create = 0): only looks.
    result = syscall(SYS_keyctl, 0L, -1L, 0L);
    break;
  case IBEX_PROBE_PTRACE:
    // ptrace(PTRACE_PEEKDATA, own pid): this process is not our tracee, so ESRCH.
    result = syscall(SYS_ptrace, 2L, (long)getpid(), 0L, 0L);
    break;
  default:
    return -EINVAL;
  }
  return result < 0 ? -errno : 0;
}
