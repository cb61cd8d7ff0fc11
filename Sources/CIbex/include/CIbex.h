// CIbex: the C shim under ibex.
//
// Only what Swift imports badly lives here: epoll/signalfd/timerfd headers, variadic calls
// (prctl, syscall), wait-status macros, argv capture, and ibex_spawn(), which does the whole
// child setup between clone and execve. Every call that can fail returns -errno (like the
// kernel and systemd), so Swift code never reads the thread-local errno.
#ifndef CIBEX_H
#define CIBEX_H

#include <stdint.h>
#include <stddef.h>
#include <sys/types.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>

// MARK: - Process arguments and environment

/// Records argc/argv (called by the musl build's `main`; glibc builds capture them before main).
void ibex_set_arguments(int argc, char **argv);
/// argc as passed to main (captured before main runs; Embedded Swift has no CommandLine).
int ibex_argc(void);
/// argv as passed to main, NULL-terminated.
char *const *ibex_argv(void);
/// The current environment (`environ`), NULL-terminated.
char *const *ibex_environ(void);
// The commit and the kind of build the binary came from (build_info.c; `ibex version`).
const char *ibex_build_commit(void);
const char *ibex_build_kind(void);
/// exit(3).
__attribute__((noreturn)) void ibex_exit(int code);

// MARK: - Constants, exported as plain integers (glibc and musl import them differently)

extern const uint32_t ibex_EPOLLIN, ibex_EPOLLOUT, ibex_EPOLLERR, ibex_EPOLLHUP;
extern const int ibex_SIGNAL_MAX; // highest signal number + 1 (_NSIG)

// MARK: - File descriptors

ssize_t ibex_read(int fd, void *buffer, size_t count);
ssize_t ibex_write(int fd, const void *buffer, size_t count);
/// close(2); EINTR counts as closed and is reported as 0.
int ibex_close(int fd);
/// Opens /dev/null on every one of fds 0, 1, 2 that is closed, so that no later open
/// lands on a standard stream.
int ibex_fill_standard_fds(void);
/// open(2) with O_CLOEXEC added; returns the fd or -errno.
int ibex_open(const char *path, int flags, mode_t mode);
/// isatty(3) without touching errno: 1 or 0.
int ibex_isatty(int fd);

/// Creates a pipe; both ends close-on-exec, the read end non-blocking.
int ibex_pipe(int fds[2]);
/// mkdir(2); an existing directory is not an error.
/// Sets or clears O_NONBLOCK (on the open file description: shared with whoever shares it).
int ibex_set_blocking(int fd, int blocking);
void ibex_sync(void);
/// Raises this process's soft RLIMIT_NOFILE to its hard limit; reports both as they were.
int ibex_raise_nofile(uint64_t *previous_soft, uint64_t *hard);
/// statvfs(2)'s f_flag: ST_NOEXEC, ST_RDONLY, ...
int ibex_mount_flags(const char *path, uint64_t *flags);
extern const uint64_t ibex_ST_NOEXEC, ibex_ST_RDONLY;
int ibex_mkdir(const char *path, mode_t mode);
int ibex_unlink(const char *path);
int ibex_chmod(const char *path, mode_t mode);
/// The target of a symbolic link (not NUL-terminated): its length, or -errno.
ssize_t ibex_readlink(const char *path, char *buffer, size_t size);
int ibex_getcwd(char *buffer, size_t size);

typedef struct {
  uint32_t mode; ///< st_mode: type and permission bits
  uint32_t uid, gid;
  uint64_t size;
} ibex_file_info;

/// stat(2): follows symlinks.
int ibex_stat(const char *path, ibex_file_info *info);
/// Returned (negated) by ibex_open_regular for a path that is not a regular file; outside the
/// kernel's errno range.
#define IBEX_ENOTREG 4096
/// Opens a regular file for reading, or fails: a FIFO, device or socket is refused with
/// -IBEX_ENOTREG before it is opened (stat), and again after (fstat, against a swap in
/// between). O_NONBLOCK, so that even a FIFO swapped in never blocks the open.
int ibex_open_regular(const char *path);
extern const uint32_t ibex_S_IFMT, ibex_S_IFREG, ibex_S_IFDIR;

/// Opens a directory for ibex_readdir; returns NULL and sets *error (positive errno).
void *ibex_opendir(const char *path, int *error);
/// The next entry's name (not . or ..): 1, or 0 at the end, or -errno.
int ibex_readdir(void *dir, const char **name);
void ibex_closedir(void *dir);

/// lstat(2): a symlink is described, not followed.
int ibex_lstat(const char *path, ibex_file_info *info);
extern const uint32_t ibex_S_IFLNK;
/// symlink(2): creates `path` pointing to `target`.
int ibex_symlink(const char *target, const char *path);
/// rmdir(2).
int ibex_rmdir(const char *path);
/// chown(2) (follows symlinks).
int ibex_chown(const char *path, uint32_t uid, uint32_t gid);
/// Creates or truncates a regular file for writing (O_WRONLY|O_CREAT|O_TRUNC|O_NOFOLLOW|O_CLOEXEC);
/// returns the fd or -errno. `mode` is filtered by the umask: chmod afterwards for an exact mode.
int ibex_create(const char *path, mode_t mode);
/// Creates a new regular file for writing (O_WRONLY|O_CREAT|O_EXCL|O_NOFOLLOW|O_CLOEXEC): an
/// existing path, symlink included, is EEXIST. Returns the fd or -errno.
int ibex_create_new(const char *path, mode_t mode);
/// lchown(2): a symlink's own owner, never its target's.
int ibex_lchown(const char *path, uint32_t uid, uint32_t gid);
/// fchown(2).
int ibex_fchown(int fd, uint32_t uid, uint32_t gid);

// MARK: - The notify socket (sd_notify)

/// A non-blocking datagram socket bound at `path` that reports senders' credentials
/// (SO_PASSCRED). An old socket file at `path` is replaced.
int ibex_notify_socket(const char *path);
/// Receives one datagram: its length (the text is not NUL-terminated) with the sender's pid,
/// or -EAGAIN when none is waiting.
ssize_t ibex_notify_receive(int fd, char *buffer, size_t size, int32_t *sender);

// MARK: - The control socket

/// A non-blocking, close-on-exec Unix stream socket listening at `path` with `mode` (a stale
/// socket file is replaced). Returns the fd or -errno.
int ibex_listen(const char *path, mode_t mode, gid_t group);
/// Accepts a connection (non-blocking, close-on-exec) and reports the peer's credentials
/// (SO_PEERCRED). Returns the fd, -EAGAIN when none is waiting, or -errno.
int ibex_accept(int listener, uint32_t *uid, uint32_t *gid, int32_t *pid);
/// Connects to the socket at `path` (blocking, close-on-exec), with send and receive
/// timeouts of `timeout_ms`. Returns the fd or -errno.
int ibex_connect(const char *path, int timeout_ms);
/// geteuid(2).
uint32_t ibex_geteuid(void);
/// getegid(2).
uint32_t ibex_getegid(void);

/// `ibex doctor`'s system-call probes: each is tried with arguments that change nothing; the
/// result is 0 or -errno (EPERM/EACCES/ENOSYS: a seccomp filter blocked it).
enum { IBEX_PROBE_UNSHARE = 0, IBEX_PROBE_KEYCTL = 1, IBEX_PROBE_PTRACE = 2 };
int ibex_probe_syscall(int which);

// MARK: - Signals

/// Blocks every signal except the synchronous fault signals (SEGV, BUS, FPE, ILL, ABRT,
/// TRAP, SYS) and stores the previous mask in `old`.
int ibex_block_signals(sigset_t *old);
/// Stores in `ignored` every signal whose disposition is SIG_IGN.
int ibex_ignored_signals(sigset_t *ignored);
/// Sets the disposition of `sig` to SIG_DFL.
int ibex_default_signal(int sig);
/// The set of signals ibex blocks and receives through its signalfd.
void ibex_handled_signals(sigset_t *set);
int ibex_signalfd(const sigset_t *set);
/// Waits for one signal of `set` (which must be blocked) for at most `timeout_ns` (-1: no
/// limit). Returns 1 with `signal` and `sender` set, 0 on timeout or EINTR, or -errno.
int ibex_wait_signal(const sigset_t *set, int64_t timeout_ns, int *signal, int32_t *sender);
int ibex_kill(pid_t pid, int sig);

// MARK: - epoll and timerfd

int ibex_epoll_create(void);
int ibex_epoll_ctl(int epfd, int op, int fd, uint32_t events, uint64_t data);
/// epoll_wait(2); EINTR is reported as 0 events.
int ibex_epoll_wait(int epfd, struct epoll_event *events, int max, int timeout_ms);
extern const int ibex_EPOLL_CTL_ADD, ibex_EPOLL_CTL_MOD, ibex_EPOLL_CTL_DEL;
/// A CLOCK_MONOTONIC timerfd, non-blocking, close-on-exec.
int ibex_timerfd_create(void);
/// Arms the timer at the absolute CLOCK_MONOTONIC time `deadline_ns`; 0 disarms it.
int ibex_timerfd_arm(int fd, int64_t deadline_ns);
/// A CLOCK_REALTIME timerfd, non-blocking, close-on-exec (the timers' wall-clock deadlines).
int ibex_timerfd_create_realtime(void);
/// Arms it at the absolute CLOCK_REALTIME time `deadline_ns` with TFD_TIMER_CANCEL_ON_SET (a
/// read then fails with ECANCELED when the clock is set); 0 disarms it.
int ibex_timerfd_arm_realtime(int fd, int64_t deadline_ns);
/// nanosleep(2) for `ms` milliseconds (EINTR ends it early).
void ibex_sleep_ms(int ms);
/// Nanoseconds of CLOCK_MONOTONIC.
int64_t ibex_monotonic_ns(void);

// MARK: - Processes

/// waitpid(-1, WNOHANG): returns the pid (and status), 0 when no child has changed state,
/// or -errno (-ECHILD when there are no children at all).
pid_t ibex_reap_any(int *status);
/// waitpid(-1, 0), blocking: the pid, or -errno (-ECHILD when no child is left).
pid_t ibex_wait_any(int *status);
pid_t ibex_getpid(void);
/// PR_SET_CHILD_SUBREAPER.
int ibex_set_child_subreaper(void);
int ibex_wifexited(int status);
int ibex_wexitstatus(int status);
int ibex_wifsignaled(int status);
int ibex_wtermsig(int status);
int ibex_wcoredump(int status);

// MARK: - Errors

/// strerror(3) for a positive errno value.
const char *ibex_strerror(int error);

// MARK: - Spawning

/// How the child is placed in sessions and process groups.
typedef enum {
  IBEX_PGROUP_INHERIT = 0, ///< stay in ibex's process group
  IBEX_PGROUP_NEW = 1,     ///< setpgid(0, 0): a new process group in ibex's session
  IBEX_PGROUP_SESSION = 2, ///< setsid(): a new session and process group
} ibex_pgroup_mode;

/// The step of the child setup that failed, reported by ibex_spawn().
typedef enum {
  IBEX_STEP_NONE = 0,
  IBEX_STEP_CLONE,
  IBEX_STEP_SIGNALS,
  IBEX_STEP_PGROUP,
  IBEX_STEP_TTY,
  IBEX_STEP_RLIMIT,
  IBEX_STEP_BOUNDING_SET,
  IBEX_STEP_KEEPCAPS,
  IBEX_STEP_GROUPS,
  IBEX_STEP_GID,
  IBEX_STEP_UID,
  IBEX_STEP_CAPABILITIES,
  IBEX_STEP_AMBIENT,
  IBEX_STEP_NO_NEW_PRIVS,
  IBEX_STEP_UMASK,
  IBEX_STEP_CHDIR,
  IBEX_STEP_FDS,
  IBEX_STEP_CLOSE_FDS,
  IBEX_STEP_EXEC,
} ibex_spawn_step;

typedef struct {
  int resource; ///< RLIMIT_*
  uint64_t soft, hard; ///< RLIM_INFINITY is UINT64_MAX
} ibex_rlimit;

/// One fd the child receives: `from` in ibex becomes `to` in the child.
typedef struct {
  int from, to;
} ibex_fd_map;

#define IBEX_SPAWN_MAX_FDS 8

/// Everything the child setup does, in the order ibex_spawn() does it.
typedef struct {
  const char *file;         ///< program; searched in `search_path` when it contains no '/'
  char *const *argv;        ///< NULL-terminated
  char *const *envp;        ///< NULL-terminated
  const char *search_path;  ///< PATH for the lookup; NULL uses a default
  const sigset_t *ignored;  ///< signals left at SIG_IGN; every other one is set to SIG_DFL
  const sigset_t *mask;     ///< signal mask installed just before execve
  int pgroup;               ///< ibex_pgroup_mode
  int foreground_fd;        ///< if >= 0 and a terminal: make the child's group its foreground
  size_t rlimit_count;
  const ibex_rlimit *rlimits;
  int drop_bounding_set;    ///< drop every capability not in `capabilities` from the bounding set
  int set_ids;              ///< apply uid, gid and groups
  uid_t uid;
  gid_t gid;
  size_t group_count;
  const gid_t *groups;
  int set_capabilities;     ///< limit permitted/effective to `capabilities`, inheritable to `ambient`
  uint64_t capabilities;    ///< bit n = capability n
  uint64_t ambient;         ///< ambient capabilities to raise (subset of `capabilities`)
  int clear_inheritable;    ///< without set_capabilities: empty the inheritable set
  int no_new_privs;
  int set_umask;
  mode_t umask;
  const char *cwd;          ///< NULL keeps ibex's
  const char *pid_file;     ///< if not NULL: the child writes its pid there before execve
  size_t fd_count;
  ibex_fd_map fds[IBEX_SPAWN_MAX_FDS];
  int close_other_fds;      ///< close every fd >= 3 that is not a `to` of `fds`
  int use_fork;             ///< fork() instead of clone(CLONE_VM|CLONE_VFORK), for debugging
} ibex_spawn_req;

typedef struct {
  int step;  ///< ibex_spawn_step
  int error; ///< errno of the failing step
} ibex_spawn_err;

/// Replaces this process with `file` (searched in `search_path` like execvp, without its
/// /bin/sh fallback). Returns the errno only if that failed.
int ibex_exec(const char *file, char *const *argv, char *const *envp, const char *search_path);

/// Starts a child and runs the whole setup in it. Returns the pid, or -1 with `err` set
/// (the failed child has already been reaped).
pid_t ibex_spawn(const ibex_spawn_req *req, ibex_spawn_err *err);

// MARK: - Logging (IbexLog, s6-log): log files, wall clock, poll. Defined in log.c.

#include <string.h> // memchr and memcpy, for the line framer's scans


/// clock_gettime(CLOCK_REALTIME): seconds and nanoseconds since the Unix epoch.
void ibex_realtime(int64_t *seconds, int32_t *nanoseconds);
/// Opens (creating with `mode`) a file for appending: O_WRONLY|O_APPEND|O_CREAT|O_CLOEXEC.
/// Returns the fd or -errno.
int ibex_log_open_append(const char *path, mode_t mode);
/// writev(2) of `count` buffers; returns the bytes written or -errno.
ssize_t ibex_log_writev(int fd, const void *const *bases, const size_t *lengths, int count);
int ibex_log_fsync(int fd);
int ibex_log_fchmod(int fd, mode_t mode);
/// The size of an open file (fstat), or -errno.
int64_t ibex_log_fsize(int fd);
int ibex_log_rename(const char *from, const char *to);
/// link(2), for s6-log's "link the archive, then unlink the old name" (no overwrite).
int ibex_log_link(const char *from, const char *to);
/// mkdir(2) with `mode` (an existing directory is not an error); mode is applied even under umask.
int ibex_log_mkdir(const char *path, mode_t mode);
/// Takes an exclusive, non-blocking flock(2) on `fd`: 0, or -EWOULDBLOCK if another holds it.
int ibex_log_lock(int fd);
/// The process umask (read without changing it).
mode_t ibex_log_umask(void);
/// sigprocmask(SIG_BLOCK, set).
int ibex_log_block_signals(const sigset_t *set);
/// Sets `sig` to SIG_IGN.
int ibex_log_ignore_signal(int sig);
/// poll(2) on up to two fds (a negative fd is skipped); `revents` gets each fd's result.
/// Returns the number of ready fds, 0 on timeout or EINTR, or -errno. timeout_ms -1: no limit.
int ibex_log_poll(int fd0, int fd1, int timeout_ms, short *revents0, short *revents1);
extern const short ibex_POLLIN, ibex_POLLHUP, ibex_POLLERR;

// End of the logging block.
// MARK: - s6-overlay helper commands (Sources/CIbex/s6.c) -- BEGIN s6cmd block
// Thin wrappers for the multi-call s6 commands (Sources/IbexInit/S6/); each returns -errno.

/// fork(2): the child's pid in the parent, 0 in the child, or -errno.
pid_t ibex_s6_fork(void);
pid_t ibex_s6_getppid(void);
uint32_t ibex_s6_getuid(void);
/// waitpid(pid, status, nohang ? WNOHANG : 0), retrying EINTR: the pid, 0 (WNOHANG, still
/// running), or -errno.
pid_t ibex_waitpid(pid_t pid, int *status, int nohang);
/// setgroups(2), then setresgid(2) / setresuid(2) with all three ids equal.
int ibex_s6_setgroups(size_t count, const uint32_t *groups);
int ibex_s6_setgid(uint32_t gid);
int ibex_s6_setuid(uint32_t uid);
int ibex_s6_mkfifo(const char *path, uint32_t mode);
/// Opens `path` read-only without waiting for a writer (O_NONBLOCK, then blocking again)
/// and makes it fd 0.
int ibex_s6_open_stdin(const char *path);
/// 1 if `fd` is open, else 0.
int ibex_s6_fd_is_open(int fd);
// END s6cmd block

#endif
