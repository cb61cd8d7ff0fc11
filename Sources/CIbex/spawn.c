// ibex_spawn(): start a child and do its whole setup between clone and execve.
//
// The child normally shares ibex's memory (clone with CLONE_VM|CLONE_VFORK, like glibc's
// posix_spawn) and ibex is suspended until the child execs or fails, so the child may only
// make raw system calls and write its failure into the shared error record. Credentials are
// changed with raw syscalls: glibc's setuid family would try to broadcast the change to
// ibex's threads ("setxid"), which is wrong for a child sharing its memory.
#define _GNU_SOURCE
#include "CIbex.h"
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#ifndef SYS_close_range
#define SYS_close_range 436
#endif
#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif
#ifndef PR_CAP_AMBIENT
#define PR_CAP_AMBIENT 47
#define PR_CAP_AMBIENT_RAISE 2
#define PR_CAP_AMBIENT_CLEAR_ALL 4
#endif

// The capget/capset ABI (linux/capability.h, which musl's headers do not carry).
#define IBEX_CAPABILITY_VERSION_3 0x20080522
struct capability_header {
  uint32_t version;
  int pid;
};
struct capability_data {
  uint32_t effective, permitted, inheritable;
};

#define CHILD_STACK_SIZE (64 * 1024)
#define DEFAULT_SEARCH_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

typedef struct {
  const ibex_spawn_req *req;
  ibex_spawn_err *err; // shared with the parent in vfork mode
  int report_fd;       // fork mode: the child writes its ibex_spawn_err here
} child_context;

__attribute__((noreturn)) static void child_fail(child_context *ctx, int step, int error) {
  ibex_spawn_err failure = {.step = step, .error = error};
  if (ctx->report_fd >= 0) {
    ssize_t ignored = write(ctx->report_fd, &failure, sizeof failure);
    (void)ignored;
  } else {
    *ctx->err = failure;
  }
  _exit(127);
}

// execve with the PATH search of execvp, but without its fallback to /bin/sh on ENOEXEC:
// a file that is not an executable is reported, not guessed at. Returns the errno to report.
static int exec_search(const char *file, char *const *argv, char *const *envp, const char *search_path) {
  if (strchr(file, '/') != NULL) {
    execve(file, argv, envp);
    return errno;
  }
  size_t file_length = strlen(file);
  if (file_length == 0) return ENOENT;
  const char *path = search_path != NULL ? search_path : DEFAULT_SEARCH_PATH;
  int result = ENOENT;
  char candidate[PATH_MAX];
  for (const char *start = path;; start++) {
    const char *end = strchrnul(start, ':');
    size_t dir_length = (size_t)(end - start);
    if (dir_length == 0) {
      candidate[0] = '.';
      dir_length = 1;
    } else if (dir_length + 1 + file_length + 1 <= sizeof candidate) {
      memcpy(candidate, start, dir_length);
    } else {
      dir_length = SIZE_MAX;
    }
    if (dir_length != SIZE_MAX && dir_length + 1 + file_length + 1 <= sizeof candidate) {
      candidate[dir_length] = '/';
      memcpy(candidate + dir_length + 1, file, file_length + 1);
      execve(candidate, argv, envp);
      switch (errno) {
      case EACCES: result = EACCES; break; // remember, but a later directory may have it
      case ENOENT: case ENOTDIR: case ESTALE: case ENODEV: case ETIMEDOUT: case ENAMETOOLONG: break;
      default: return errno;
      }
    }
    if (*end == '\0') return result;
    start = end;
  }
}

// Marks every fd >= 3 close-on-exec. close_range needs Linux 5.11; older kernels get a walk
// of /proc/self/fd, and without /proc a loop up to the fd limit.
static int mark_fds_cloexec(void) {
  if (syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) == 0) return 0;
  int dir = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    char buffer[4096];
    long n;
    while ((n = syscall(SYS_getdents64, dir, buffer, sizeof buffer)) > 0) {
      for (long offset = 0; offset < n;) {
        struct {
          uint64_t ino;
          int64_t off;
          unsigned short reclen;
          unsigned char type;
          char name[];
        } *entry = (void *)(buffer + offset);
        int fd = 0;
        const char *c = entry->name;
        if (*c >= '0' && *c <= '9') {
          for (; *c >= '0' && *c <= '9'; c++) fd = fd * 10 + (*c - '0');
          if (fd >= 3 && fd != dir) fcntl(fd, F_SETFD, FD_CLOEXEC);
        }
        offset += entry->reclen;
      }
    }
    close(dir);
    if (n == 0) return 0;
  }
  struct rlimit limit;
  if (getrlimit(RLIMIT_NOFILE, &limit) < 0) return errno;
  for (rlim_t fd = 3; fd < limit.rlim_cur; fd++) fcntl((int)fd, F_SETFD, FD_CLOEXEC);
  return 0;
}

// Writes the child's pid and a newline to `path` (best effort: the file is informational).
static void write_pid_file(const char *path) {
  char text[24];
  int length = 0;
  char digits[20];
  int count = 0;
  for (unsigned long pid = (unsigned long)getpid(); pid > 0 || count == 0; pid /= 10) digits[count++] = (char)('0' + pid % 10);
  while (count > 0) text[length++] = digits[--count];
  text[length++] = '\n';
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return;
  ssize_t written = write(fd, text, (size_t)length);
  (void)written;
  close(fd);
}

// Moves every `from` to its `to`. Sources are first copied above every target, so that a
// mapping never overwrites the source of another (e.g. swapping fds 1 and 2).
static int map_fds(const ibex_spawn_req *req) {
  int highest = 2;
  for (size_t i = 0; i < req->fd_count; i++)
    if (req->fds[i].to > highest) highest = req->fds[i].to;
  int copies[IBEX_SPAWN_MAX_FDS];
  for (size_t i = 0; i < req->fd_count; i++) {
    copies[i] = -1;
    if (req->fds[i].from == req->fds[i].to) continue;
    copies[i] = fcntl(req->fds[i].from, F_DUPFD_CLOEXEC, highest + 1);
    if (copies[i] < 0) return errno;
  }
  for (size_t i = 0; i < req->fd_count; i++) {
    if (copies[i] >= 0) {
      if (dup2(copies[i], req->fds[i].to) < 0) return errno; // dup2 clears FD_CLOEXEC
    } else if (fcntl(req->fds[i].to, F_SETFD, 0) < 0) {
      return errno;
    }
  }
  return 0; // the copies are close-on-exec and vanish with execve
}

static int drop_bounding_set(uint64_t keep) {
  for (int cap = 0; cap < 64; cap++) {
    if (keep & (UINT64_C(1) << cap)) continue;
    int present = prctl(PR_CAPBSET_READ, cap, 0, 0, 0);
    if (present < 0) return errno == EINVAL ? 0 : errno; // EINVAL: past the last capability
    if (present && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0) return errno;
  }
  return 0;
}

// Permitted and effective become `keep` (within what the process has); inheritable becomes
// `inheritable` (the ambient capabilities asked for, which need it) and nothing else: an
// inheritable bit left set would let any binary with that file capability (+i) gain it, so a
// narrower bounding set would grant more than none (issue 12, item 9).
static int limit_capabilities(uint64_t keep, uint64_t inheritable) {
  struct capability_header header = {.version = IBEX_CAPABILITY_VERSION_3, .pid = 0};
  struct capability_data data[2];
  if (syscall(SYS_capget, &header, data) < 0) return errno;
  for (int i = 0; i < 2; i++) {
    data[i].permitted &= (uint32_t)(keep >> (32 * i));
    data[i].effective = data[i].permitted;
    data[i].inheritable = data[i].permitted & (uint32_t)(inheritable >> (32 * i));
  }
  if (syscall(SYS_capset, &header, data) < 0) return errno;
  return 0;
}

// Empties the inheritable set (ibex may have inherited one from its runtime).
static int clear_inheritable(void) {
  struct capability_header header = {.version = IBEX_CAPABILITY_VERSION_3, .pid = 0};
  struct capability_data data[2];
  if (syscall(SYS_capget, &header, data) < 0) return errno;
  if (data[0].inheritable == 0 && data[1].inheritable == 0) return 0;
  data[0].inheritable = data[1].inheritable = 0;
  if (syscall(SYS_capset, &header, data) < 0) return errno;
  return 0;
}

static int raise_ambient(uint64_t ambient) {
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL) return errno;
  for (int cap = 0; cap < 64; cap++)
    if ((ambient & (UINT64_C(1) << cap)) && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0)
      return errno;
  return 0;
}

static int child_main(void *arg) {
  child_context *ctx = arg;
  const ibex_spawn_req *req = ctx->req;
  int error;

  // Every signal stays blocked until just before execve, so no disposition can run here.
  for (int sig = 1; sig < _NSIG; sig++) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    struct kernel_sigaction action = {
        .handler = (req->ignored != NULL && kernel_sigset_has(req->ignored, sig)) ? SIG_IGN : SIG_DFL};
    syscall(SYS_rt_sigaction, sig, &action, NULL, sizeof action.mask);
  }

  if (req->pgroup == IBEX_PGROUP_SESSION && setsid() < 0) child_fail(ctx, IBEX_STEP_PGROUP, errno);
  if (req->pgroup == IBEX_PGROUP_NEW && setpgid(0, 0) < 0) child_fail(ctx, IBEX_STEP_PGROUP, errno);
  // Done in the child, as tini does: the group exists before the terminal is handed to it.
  // SIGTTOU is blocked here, so a background ibex may still make the change.
  if (req->foreground_fd >= 0 && tcsetpgrp(req->foreground_fd, getpid()) < 0 && errno != ENOTTY &&
      errno != ENXIO)
    child_fail(ctx, IBEX_STEP_TTY, errno);

  // RLIMIT_NOFILE is set last, after the descriptors are in place: a lower soft limit would
  // stop the moves above every target (ibex itself may hold many descriptors). Only a raise of
  // its hard limit, which needs privileges, happens here, before they are dropped.
  for (size_t i = 0; i < req->rlimit_count; i++) {
    struct rlimit limit = {.rlim_cur = req->rlimits[i].soft, .rlim_max = req->rlimits[i].hard};
    if (req->rlimits[i].resource == RLIMIT_NOFILE) {
      struct rlimit current;
      if (getrlimit(RLIMIT_NOFILE, &current) < 0) child_fail(ctx, IBEX_STEP_RLIMIT, errno);
      if (limit.rlim_max <= current.rlim_max) continue;
      limit.rlim_cur = current.rlim_cur;
    }
    if (setrlimit(req->rlimits[i].resource, &limit) < 0) child_fail(ctx, IBEX_STEP_RLIMIT, errno);
  }
  if (req->drop_bounding_set && (error = drop_bounding_set(req->capabilities)) != 0)
    child_fail(ctx, IBEX_STEP_BOUNDING_SET, error);

  if (req->set_ids) {
    // Keep the permitted set across the uid change when capabilities are to survive it.
    // Only ambient capabilities survive execve for a non-root user, so only they need it.
    if (req->set_capabilities && (req->capabilities & req->ambient) != 0 && prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
      child_fail(ctx, IBEX_STEP_KEEPCAPS, errno);
    if (syscall(SYS_setgroups, req->group_count, req->groups) < 0) child_fail(ctx, IBEX_STEP_GROUPS, errno);
    if (syscall(SYS_setresgid, req->gid, req->gid, req->gid) < 0) child_fail(ctx, IBEX_STEP_GID, errno);
    if (syscall(SYS_setresuid, req->uid, req->uid, req->uid) < 0) child_fail(ctx, IBEX_STEP_UID, errno);
  }
  if (req->set_capabilities) {
    if ((error = limit_capabilities(req->capabilities, req->ambient)) != 0)
      child_fail(ctx, IBEX_STEP_CAPABILITIES, error);
    if ((error = raise_ambient(req->ambient)) != 0) child_fail(ctx, IBEX_STEP_AMBIENT, error);
  } else if (req->clear_inheritable && (error = clear_inheritable()) != 0) {
    child_fail(ctx, IBEX_STEP_CAPABILITIES, error);
  }
  if (req->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
    child_fail(ctx, IBEX_STEP_NO_NEW_PRIVS, errno);
  if (req->set_umask) umask(req->umask);
  // After the uid change, so the directory is checked with the service's own permissions.
  if (req->cwd != NULL && chdir(req->cwd) < 0) child_fail(ctx, IBEX_STEP_CHDIR, errno);

  if (req->close_other_fds && (error = mark_fds_cloexec()) != 0) child_fail(ctx, IBEX_STEP_CLOSE_FDS, error);
  if ((error = map_fds(req)) != 0) child_fail(ctx, IBEX_STEP_FDS, error);
  for (size_t i = 0; i < req->rlimit_count; i++) {
    if (req->rlimits[i].resource != RLIMIT_NOFILE) continue;
    struct rlimit limit = {.rlim_cur = req->rlimits[i].soft, .rlim_max = req->rlimits[i].hard};
    if (setrlimit(RLIMIT_NOFILE, &limit) < 0) child_fail(ctx, IBEX_STEP_RLIMIT, errno);
  }
  // In fork mode the report pipe is close-on-exec: the parent reads EOF on success.

  if (req->pid_file != NULL) write_pid_file(req->pid_file);
  sigprocmask(SIG_SETMASK, req->mask, NULL);
  error = exec_search(req->file, req->argv, req->envp, req->search_path);
  // Block again so that no signal can kill the child before it reports.
  sigset_t all;
  sigfillset(&all);
  sigprocmask(SIG_SETMASK, &all, NULL);
  child_fail(ctx, IBEX_STEP_EXEC, error);
}

static pid_t spawn_vfork(const ibex_spawn_req *req, ibex_spawn_err *err) {
  void *stack = mmap(NULL, CHILD_STACK_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (stack == MAP_FAILED) {
    *err = (ibex_spawn_err){IBEX_STEP_CLONE, errno};
    return -1;
  }
  child_context ctx = {.req = req, .err = err, .report_fd = -1};
  // The parent resumes only when the child has called execve or _exit.
  pid_t pid = clone(child_main, (char *)stack + CHILD_STACK_SIZE, CLONE_VM | CLONE_VFORK | SIGCHLD, &ctx);
  int clone_errno = errno;
  munmap(stack, CHILD_STACK_SIZE);
  if (pid < 0) *err = (ibex_spawn_err){IBEX_STEP_CLONE, clone_errno};
  return pid;
}

static pid_t spawn_fork(const ibex_spawn_req *req, ibex_spawn_err *err) {
  int report[2];
  if (pipe2(report, O_CLOEXEC) < 0) {
    *err = (ibex_spawn_err){IBEX_STEP_CLONE, errno};
    return -1;
  }
  pid_t pid = fork();
  if (pid == 0) {
    close(report[0]);
    child_context ctx = {.req = req, .err = err, .report_fd = report[1]};
    child_main(&ctx);
  }
  int fork_errno = errno;
  close(report[1]);
  if (pid < 0) {
    close(report[0]);
    *err = (ibex_spawn_err){IBEX_STEP_CLONE, fork_errno};
    return -1;
  }
  ibex_spawn_err failure;
  ssize_t n;
  do n = read(report[0], &failure, sizeof failure);
  while (n < 0 && errno == EINTR);
  close(report[0]);
  if (n == (ssize_t)sizeof failure) *err = failure;
  return pid;
}

int ibex_exec(const char *file, char *const *argv, char *const *envp, const char *search_path) {
  return exec_search(file, argv, envp, search_path);
}

pid_t ibex_spawn(const ibex_spawn_req *req, ibex_spawn_err *err) {
  *err = (ibex_spawn_err){IBEX_STEP_NONE, 0};
  if (req->fd_count > IBEX_SPAWN_MAX_FDS) {
    *err = (ibex_spawn_err){IBEX_STEP_FDS, EINVAL};
    return -1;
  }
  pid_t pid = req->use_fork ? spawn_fork(req, err) : spawn_vfork(req, err);
  if (pid > 0 && err->step != IBEX_STEP_NONE) {
    // The child has already exited: reap it here so the caller never sees its pid.
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    return -1;
  }
  return pid;
}
