// The shim's part for logging (IbexLog and the s6-log program): append-only log files, the
// wall clock for timestamps and poll(2) over stdin and a signalfd. Every call returns -errno
// on failure.
#define _GNU_SOURCE
#include "CIbex.h"
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h> // rename
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/uio.h>


void ibex_realtime(int64_t *seconds, int32_t *nanoseconds) {
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  *seconds = (int64_t)now.tv_sec;
  *nanoseconds = (int32_t)now.tv_nsec;
}

int ibex_log_open_append(const char *path, mode_t mode) {
  RETURN_OR_ERRNO(open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, mode));
}

#define IBEX_LOG_MAX_IOV 64

ssize_t ibex_log_writev(int fd, const void *const *bases, const size_t *lengths, int count) {
  struct iovec vectors[IBEX_LOG_MAX_IOV];
  if (count < 0 || count > IBEX_LOG_MAX_IOV) return -EINVAL;
  for (int i = 0; i < count; i++) {
    vectors[i].iov_base = (void *)bases[i];
    vectors[i].iov_len = lengths[i];
  }
  RETURN_OR_ERRNO(writev(fd, vectors, count));
}

int ibex_log_fsync(int fd) { RETURN_OR_ERRNO(fsync(fd)); }
int ibex_log_fchmod(int fd, mode_t mode) { RETURN_OR_ERRNO(fchmod(fd, mode)); }

int64_t ibex_log_fsize(int fd) {
  struct stat st;
  if (fstat(fd, &st) < 0) return -errno;
  return (int64_t)st.st_size;
}

int ibex_log_rename(const char *from, const char *to) { RETURN_OR_ERRNO(rename(from, to)); }
int ibex_log_link(const char *from, const char *to) { RETURN_OR_ERRNO(link(from, to)); }

int ibex_log_mkdir(const char *path, mode_t mode) {
  if (mkdir(path, mode) < 0) return errno == EEXIST ? 0 : -errno;
  // mkdir applies the umask, and cannot set S_ISGID portably: chmod says what we mean.
  RETURN_OR_ERRNO(chmod(path, mode));
}

int ibex_log_lock(int fd) { RETURN_OR_ERRNO(flock(fd, LOCK_EX | LOCK_NB)); }

mode_t ibex_log_umask(void) {
  mode_t mask = umask(022);
  umask(mask);
  return mask;
}

int ibex_log_block_signals(const sigset_t *set) { RETURN_OR_ERRNO(sigprocmask(SIG_BLOCK, set, NULL)); }

int ibex_log_ignore_signal(int sig) {
  struct sigaction action;
  memset(&action, 0, sizeof action);
  action.sa_handler = SIG_IGN;
  RETURN_OR_ERRNO(sigaction(sig, &action, NULL));
}

const short ibex_POLLIN = POLLIN, ibex_POLLHUP = POLLHUP, ibex_POLLERR = POLLERR;

int ibex_log_poll(int fd0, int fd1, int timeout_ms, short *revents0, short *revents1) {
  struct pollfd fds[2] = {{.fd = fd0, .events = POLLIN}, {.fd = fd1, .events = POLLIN}};
  int r = poll(fds, 2, timeout_ms);
  *revents0 = fds[0].revents;
  *revents1 = fds[1].revents;
  if (r < 0) return errno == EINTR ? 0 : -errno;
  return r;
}
