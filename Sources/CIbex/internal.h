// Declarations shared by the shim's C files, not exported to Swift.
#ifndef CIBEX_INTERNAL_H
#define CIBEX_INTERNAL_H

#include <signal.h>
#include <stdint.h>

// The kernel's struct sigaction (x86_64, aarch64 and the generic layout). ibex reads and sets
// dispositions with the raw rt_sigaction syscall because glibc's sigaction() refuses its
// internal signals 32 and 33, which a parent may still have left ignored.
struct kernel_sigaction {
  void (*handler)(int);
  unsigned long flags;
  void (*restorer)(void);
  uint64_t mask;
};

// Signal-set bits as the kernel sees them (the first 64 bits of sigset_t). glibc's sigaddset
// and sigismember refuse its internal signals 32 and 33; these do not.
static inline void kernel_sigset_add(sigset_t *set, int sig) {
  ((uint64_t *)(void *)set)[0] |= UINT64_C(1) << (sig - 1);
}
static inline int kernel_sigset_has(const sigset_t *set, int sig) {
  return (((const uint64_t *)(const void *)set)[0] >> (sig - 1)) & 1;
}

// Returns the result of a system call, or -errno when it failed.
#define RETURN_OR_ERRNO(expr) \
  do { \
    long r_ = (long)(expr); \
    return r_ < 0 ? -errno : r_; \
  } while (0)

#endif
