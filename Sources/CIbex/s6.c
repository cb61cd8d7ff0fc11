// Wrappers for the s6-overlay helper commands (with-contenv, s6-setuidgid, s6-notifyoncheck,
// logutil-service, install-links, ...). Each returns -errno on failure, like the rest of the shim.
#define _GNU_SOURCE
#include "CIbex.h"
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>


pid_t ibex_s6_fork(void) { RETURN_OR_ERRNO(fork()); }
pid_t ibex_s6_getppid(void) { return getppid(); }
uint32_t ibex_s6_getuid(void) { return getuid(); }

pid_t ibex_waitpid(pid_t pid, int *status, int nohang) {
  pid_t r;
  do r = waitpid(pid, status, nohang ? WNOHANG : 0);
  while (r < 0 && errno == EINTR);
  return r < 0 ? -errno : r;
}

int ibex_s6_setgroups(size_t count, const uint32_t *groups) {
  RETURN_OR_ERRNO(setgroups(count, (const gid_t *)groups));
}
int ibex_s6_setgid(uint32_t gid) { RETURN_OR_ERRNO(setresgid(gid, gid, gid)); }
int ibex_s6_setuid(uint32_t uid) { RETURN_OR_ERRNO(setresuid(uid, uid, uid)); }

int ibex_s6_mkfifo(const char *path, uint32_t mode) { RETURN_OR_ERRNO(mkfifo(path, (mode_t)mode)); }

int ibex_s6_open_stdin(const char *path) {
  int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return -errno;
  int flags = fcntl(fd, F_GETFL);
  if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0 || dup2(fd, 0) < 0) {
    int error = errno;
    close(fd);
    return -error;
  }
  if (fd != 0) close(fd);
  return 0;
}

int ibex_s6_fd_is_open(int fd) { return fcntl(fd, F_GETFD) >= 0; }

