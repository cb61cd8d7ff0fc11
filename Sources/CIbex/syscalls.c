// Thin syscall wrappers: each returns -errno on failure so Swift never reads errno.
#define _GNU_SOURCE
#include "CIbex.h"
#include "internal.h"

#include <sys/random.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <dirent.h>

// MARK: - Arguments

static int saved_argc;
static char *const *saved_argv;

void ibex_set_arguments(int argc, char **argv) {
  saved_argc = argc;
  saved_argv = argv;
}

#if defined(__GLIBC__)
// glibc calls init_array functions with (argc, argv, envp). Embedded Swift has no
// CommandLine, and SwiftPM owns `main`, so this is where ibex learns its arguments. The musl
// release build gets them from the `main` in entry_musl.c instead.
__attribute__((constructor)) static void ibex_capture_arguments(int argc, char **argv, char **envp) {
  (void)envp;
  ibex_set_arguments(argc, argv);
}
#endif

int ibex_argc(void) { return saved_argc; }
char *const *ibex_argv(void) { return saved_argv; }
char *const *ibex_environ(void) { return environ; }
void ibex_exit(int code) { exit(code); }

#if !defined(__GLIBC__)
// The Embedded Swift runtime seeds its hashing with arc4random_buf, which musl 1.2.3 lacks.
void arc4random_buf(void *buffer, size_t size) {
  for (size_t done = 0; done < size;) {
    ssize_t n = getrandom((char *)buffer + done, size - done, 0);
    if (n > 0) done += (size_t)n;
  }
}
#endif

// MARK: - Constants

const uint32_t ibex_EPOLLIN = EPOLLIN, ibex_EPOLLOUT = EPOLLOUT, ibex_EPOLLERR = EPOLLERR,
               ibex_EPOLLHUP = EPOLLHUP;
const int ibex_EPOLL_CTL_ADD = EPOLL_CTL_ADD, ibex_EPOLL_CTL_MOD = EPOLL_CTL_MOD,
          ibex_EPOLL_CTL_DEL = EPOLL_CTL_DEL;
const int ibex_SIGNAL_MAX = _NSIG;

// MARK: - File descriptors

ssize_t ibex_read(int fd, void *buffer, size_t count) { RETURN_OR_ERRNO(read(fd, buffer, count)); }
ssize_t ibex_write(int fd, const void *buffer, size_t count) { RETURN_OR_ERRNO(write(fd, buffer, count)); }

int ibex_close(int fd) {
  // Linux always releases the fd, even when close reports EINTR: never retry.
  if (close(fd) < 0 && errno != EINTR) return -errno;
  return 0;
}


int ibex_fill_standard_fds(void) {
  for (int fd = 0; fd <= 2; fd++) {
    if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF) continue;
    // The lowest free fd is `fd` itself, because the lower ones are open by now.
    int null = open("/dev/null", O_RDWR);
    if (null < 0) return -errno;
    if (null != fd) {
      close(null);
      return -EBADF;
    }
  }
  return 0;
}

int ibex_open(const char *path, int flags, mode_t mode) { RETURN_OR_ERRNO(open(path, flags | O_CLOEXEC, mode)); }

int ibex_isatty(int fd) {
  int saved = errno;
  int r = isatty(fd);
  errno = saved;
  return r;
}

int ibex_pipe(int fds[2]) {
  if (pipe2(fds, O_CLOEXEC) < 0) return -errno;
  fcntl(fds[0], F_SETFL, O_NONBLOCK);
  return 0;
}

int ibex_set_blocking(int fd, int blocking) {
  int flags = fcntl(fd, F_GETFL);
  if (flags < 0) return -errno;
  flags = blocking ? flags & ~O_NONBLOCK : flags | O_NONBLOCK;
  RETURN_OR_ERRNO(fcntl(fd, F_SETFL, flags));
}

void ibex_sync(void) { sync(); }

int ibex_raise_nofile(uint64_t *previous_soft, uint64_t *hard) {
  struct rlimit limit;
  if (getrlimit(RLIMIT_NOFILE, &limit) < 0) return -errno;
  *previous_soft = limit.rlim_cur;
  *hard = limit.rlim_max;
  if (limit.rlim_cur == limit.rlim_max) return 0;
  limit.rlim_cur = limit.rlim_max;
  RETURN_OR_ERRNO(setrlimit(RLIMIT_NOFILE, &limit));
}


int ibex_mount_flags(const char *path, uint64_t *flags) {
  struct statvfs fs;
  if (statvfs(path, &fs) < 0) return -errno;
  *flags = fs.f_flag;
  return 0;
}

const uint64_t ibex_ST_NOEXEC = ST_NOEXEC, ibex_ST_RDONLY = ST_RDONLY;

int ibex_mkdir(const char *path, mode_t mode) {
  if (mkdir(path, mode) < 0 && errno != EEXIST) return -errno;
  return 0;
}

int ibex_unlink(const char *path) { RETURN_OR_ERRNO(unlink(path)); }
int ibex_chmod(const char *path, mode_t mode) { RETURN_OR_ERRNO(chmod(path, mode)); }
ssize_t ibex_readlink(const char *path, char *buffer, size_t size) {
  ssize_t n = readlink(path, buffer, size);
  return n < 0 ? -errno : n;
}

int ibex_getcwd(char *buffer, size_t size) { return getcwd(buffer, size) == NULL ? -errno : 0; }

const uint32_t ibex_S_IFMT = S_IFMT, ibex_S_IFREG = S_IFREG, ibex_S_IFDIR = S_IFDIR;

int ibex_stat(const char *path, ibex_file_info *info) {
  struct stat st;
  if (stat(path, &st) < 0) return -errno;
  info->mode = st.st_mode;
  info->uid = st.st_uid;
  info->gid = st.st_gid;
  info->size = (uint64_t)st.st_size;
  return 0;
}

int ibex_open_regular(const char *path) {
  struct stat st;
  if (stat(path, &st) < 0) return -errno;
  if (!S_ISREG(st.st_mode)) return -IBEX_ENOTREG;
  int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) return -errno;
  if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
    int error = S_ISREG(st.st_mode) ? errno : IBEX_ENOTREG;
    close(fd);
    return -error;
  }
  return fd;
}

const uint32_t ibex_S_IFLNK = S_IFLNK;

int ibex_lstat(const char *path, ibex_file_info *info) {
  struct stat st;
  if (lstat(path, &st) < 0) return -errno;
  info->mode = st.st_mode;
  info->uid = st.st_uid;
  info->gid = st.st_gid;
  info->size = (uint64_t)st.st_size;
  return 0;
}

int ibex_symlink(const char *target, const char *path) { RETURN_OR_ERRNO(symlink(target, path)); }
int ibex_rmdir(const char *path) { RETURN_OR_ERRNO(rmdir(path)); }
int ibex_chown(const char *path, uint32_t uid, uint32_t gid) { RETURN_OR_ERRNO(chown(path, (uid_t)uid, (gid_t)gid)); }

int ibex_lchown(const char *path, uint32_t uid, uint32_t gid) { RETURN_OR_ERRNO(lchown(path, (uid_t)uid, (gid_t)gid)); }

int ibex_fchown(int fd, uint32_t uid, uint32_t gid) { RETURN_OR_ERRNO(fchown(fd, (uid_t)uid, (gid_t)gid)); }

int ibex_create_new(const char *path, mode_t mode) {
  int fd;
  do fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
  while (fd < 0 && errno == EINTR);
  return fd < 0 ? -errno : fd;
}

int ibex_create(const char *path, mode_t mode) {
  int fd;
  do fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, mode);
  while (fd < 0 && errno == EINTR);
  return fd < 0 ? -errno : fd;
}

void *ibex_opendir(const char *path, int *error) {
  DIR *dir = opendir(path);
  *error = dir == NULL ? errno : 0;
  return dir;
}

int ibex_readdir(void *dir, const char **name) {
  for (;;) {
    errno = 0;
    struct dirent *entry = readdir(dir);
    if (entry == NULL) return errno == 0 ? 0 : -errno;
    if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0) continue;
    *name = entry->d_name;
    return 1;
  }
}

void ibex_closedir(void *dir) { closedir(dir); }

int ibex_notify_socket(const char *path) {
  struct sockaddr_un address = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof address.sun_path) return -ENAMETOOLONG;
  strcpy(address.sun_path, path);
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  int on = 1;
  unlink(path);
  if (setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &on, sizeof on) < 0 ||
      bind(fd, (struct sockaddr *)&address, sizeof address) < 0) {
    int error = errno;
    close(fd);
    return -error;
  }
  return fd;
}

ssize_t ibex_notify_receive(int fd, char *buffer, size_t size, int32_t *sender) {
  struct iovec iov = {.iov_base = buffer, .iov_len = size};
  union {
    struct cmsghdr header;
    char space[CMSG_SPACE(sizeof(struct ucred))];
  } control;
  struct msghdr message = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = &control, .msg_controllen = sizeof control};
  ssize_t n;
  do n = recvmsg(fd, &message, MSG_DONTWAIT | MSG_CMSG_CLOEXEC | MSG_TRUNC);
  while (n < 0 && errno == EINTR);
  if (n < 0) return -errno;
  *sender = 0;
  // musl's CMSG_NXTHDR compares a signed and an unsigned length.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wsign-compare"
  for (struct cmsghdr *c = CMSG_FIRSTHDR(&message); c != NULL; c = CMSG_NXTHDR(&message, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS) {
      struct ucred credentials;
      memcpy(&credentials, CMSG_DATA(c), sizeof credentials);
      *sender = credentials.pid;
    } else if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
      // Descriptors sent along (FDSTORE=1) are not kept: close them.
      int count = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
      for (int i = 0; i < count; i++) {
        int passed;
        memcpy(&passed, CMSG_DATA(c) + i * sizeof(int), sizeof passed);
        close(passed);
      }
    }
  }
#pragma GCC diagnostic pop
  return (size_t)n > size ? (ssize_t)size : n;
}

int ibex_listen(const char *path, mode_t mode, gid_t group) {
  struct sockaddr_un address = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof address.sun_path) return -ENAMETOOLONG;
  strcpy(address.sun_path, path);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  unlink(path);
  // Create the socket file with no permissions at all, then open it up: never a moment in
  // which it is reachable with wider permissions than asked for.
  mode_t old = umask(0777);
  int r = bind(fd, (struct sockaddr *)&address, sizeof address);
  umask(old);
  if (r < 0 || (group != (gid_t)-1 && chown(path, (uid_t)-1, group) < 0) || chmod(path, mode) < 0 ||
      listen(fd, 64) < 0) {
    int error = errno;
    close(fd);
    unlink(path);
    return -error;
  }
  return fd;
}

int ibex_accept(int listener, uint32_t *uid, uint32_t *gid, int32_t *pid) {
  int fd;
  do fd = accept4(listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
  while (fd < 0 && errno == EINTR);
  if (fd < 0) return -errno;
  struct ucred credentials;
  socklen_t size = sizeof credentials;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &credentials, &size) < 0) {
    int error = errno;
    close(fd);
    return -error;
  }
  *uid = credentials.uid;
  *gid = credentials.gid;
  *pid = credentials.pid;
  return fd;
}

int ibex_connect(const char *path, int timeout_ms) {
  struct sockaddr_un address = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof address.sun_path) return -ENAMETOOLONG;
  strcpy(address.sun_path, path);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  struct timeval timeout = {.tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000};
  if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout) < 0 ||
      setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout) < 0 ||
      connect(fd, (struct sockaddr *)&address, sizeof address) < 0) {
    int error = errno;
    close(fd);
    return -error;
  }
  return fd;
}

uint32_t ibex_geteuid(void) { return geteuid(); }
uint32_t ibex_getegid(void) { return getegid(); }

// MARK: - Signals

static int is_fault_signal(int sig) {
  return sig == SIGSEGV || sig == SIGBUS || sig == SIGFPE || sig == SIGILL || sig == SIGABRT ||
         sig == SIGTRAP || sig == SIGSYS;
}

void ibex_handled_signals(sigset_t *set) {
  sigfillset(set);
  // A fault signal raised by ibex's own code must kill it, not wait in a queue.
  for (int sig = 1; sig < _NSIG; sig++)
    if (is_fault_signal(sig)) sigdelset(set, sig);
}

int ibex_block_signals(sigset_t *old) {
  sigset_t set;
  ibex_handled_signals(&set);
  RETURN_OR_ERRNO(sigprocmask(SIG_SETMASK, &set, old));
}

int ibex_ignored_signals(sigset_t *ignored) {
  sigemptyset(ignored);
  for (int sig = 1; sig < _NSIG; sig++) {
    struct kernel_sigaction action;
    if (syscall(SYS_rt_sigaction, sig, NULL, &action, sizeof action.mask) == 0 && action.handler == SIG_IGN)
      kernel_sigset_add(ignored, sig);
  }
  return 0;
}

int ibex_default_signal(int sig) {
  struct sigaction action;
  memset(&action, 0, sizeof action);
  action.sa_handler = SIG_DFL;
  RETURN_OR_ERRNO(sigaction(sig, &action, NULL));
}

int ibex_signalfd(const sigset_t *set) { RETURN_OR_ERRNO(signalfd(-1, set, SFD_NONBLOCK | SFD_CLOEXEC)); }

int ibex_wait_signal(const sigset_t *set, int64_t timeout_ns, int *signal, int32_t *sender) {
  siginfo_t info;
  struct timespec timeout = {.tv_sec = timeout_ns / 1000000000, .tv_nsec = timeout_ns % 1000000000};
  int r = sigtimedwait(set, &info, timeout_ns < 0 ? NULL : &timeout);
  if (r < 0) return (errno == EAGAIN || errno == EINTR) ? 0 : -errno;
  *signal = r;
  *sender = info.si_pid;
  return 1;
}

int ibex_kill(pid_t pid, int sig) { RETURN_OR_ERRNO(kill(pid, sig)); }

// MARK: - epoll and timerfd

int ibex_epoll_create(void) { RETURN_OR_ERRNO(epoll_create1(EPOLL_CLOEXEC)); }

int ibex_epoll_ctl(int epfd, int op, int fd, uint32_t events, uint64_t data) {
  struct epoll_event event = {.events = events, .data = {.u64 = data}};
  RETURN_OR_ERRNO(epoll_ctl(epfd, op, fd, &event));
}

int ibex_epoll_wait(int epfd, struct epoll_event *events, int max, int timeout_ms) {
  int r = epoll_wait(epfd, events, max, timeout_ms);
  if (r < 0) return errno == EINTR ? 0 : -errno;
  return r;
}

int ibex_timerfd_create(void) { RETURN_OR_ERRNO(timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC)); }

int ibex_timerfd_arm(int fd, int64_t deadline_ns) {
  struct itimerspec spec;
  memset(&spec, 0, sizeof spec);
  if (deadline_ns > 0) {
    spec.it_value.tv_sec = deadline_ns / 1000000000;
    spec.it_value.tv_nsec = deadline_ns % 1000000000;
  }
  RETURN_OR_ERRNO(timerfd_settime(fd, TFD_TIMER_ABSTIME, &spec, NULL));
}

#ifndef TFD_TIMER_CANCEL_ON_SET
#define TFD_TIMER_CANCEL_ON_SET (1 << 1)
#endif

int ibex_timerfd_create_realtime(void) { RETURN_OR_ERRNO(timerfd_create(CLOCK_REALTIME, TFD_NONBLOCK | TFD_CLOEXEC)); }

int ibex_timerfd_arm_realtime(int fd, int64_t deadline_ns) {
  struct itimerspec spec;
  memset(&spec, 0, sizeof spec);
  int flags = TFD_TIMER_ABSTIME;
  if (deadline_ns > 0) {
    spec.it_value.tv_sec = deadline_ns / 1000000000;
    spec.it_value.tv_nsec = deadline_ns % 1000000000;
    flags |= TFD_TIMER_CANCEL_ON_SET;
  }
  RETURN_OR_ERRNO(timerfd_settime(fd, flags, &spec, NULL));
}

void ibex_sleep_ms(int ms) {
  struct timespec duration = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000};
  nanosleep(&duration, NULL);
}

int64_t ibex_monotonic_ns(void) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
}

// MARK: - Processes

pid_t ibex_reap_any(int *status) { RETURN_OR_ERRNO(waitpid(-1, status, WNOHANG)); }
pid_t ibex_wait_any(int *status) {
  pid_t pid;
  do pid = waitpid(-1, status, 0);
  while (pid < 0 && errno == EINTR);
  return pid < 0 ? -errno : pid;
}

pid_t ibex_getpid(void) { return getpid(); }
int ibex_set_child_subreaper(void) { RETURN_OR_ERRNO(prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)); }

int ibex_wifexited(int status) { return WIFEXITED(status); }
int ibex_wexitstatus(int status) { return WEXITSTATUS(status); }
int ibex_wifsignaled(int status) { return WIFSIGNALED(status); }
int ibex_wtermsig(int status) { return WTERMSIG(status); }
int ibex_wcoredump(int status) { return WCOREDUMP(status); }

// MARK: - Errors

const char *ibex_strerror(int error) { return strerror(error); }
