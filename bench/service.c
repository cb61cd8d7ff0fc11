/*
 * service.c - the trivial supervised service of bench/supervisors.py.
 *
 * The harness compiles it once per run with the marker directory built in:
 *
 *     gcc -O2 -static -DMARKDIR='"/tmp/ibex-sv-bench-XXXX/markers"' \
 *         -DCRASH_AFTER_MS=1100 -o service service.c
 *
 * and every supervisor runs the same binary directly, without a shell: ibex
 * and supervisord as `service NAME`, s6-supervise as `./run NAME` and runsv
 * as `./run` (the service directory's `run` is a symbolic link to this
 * binary).  Its name is argv[1], or else the basename of the working
 * directory (runsv gives no arguments, but starts ./run in the service
 * directory).
 *
 * The first thing it does is read CLOCK_MONOTONIC.  Then, for a name that
 * does not start with "crash", it writes the marker file MARKDIR/NAME
 * (atomically: a temporary file, then rename) containing
 *
 *     START_NS PID SIGTERM_BLOCKED SIGTERM_IGNORED
 *
 * and waits in pause() until a signal kills it (SIGTERM's default action).
 * The last two fields say whether the supervisor handed it SIGTERM blocked
 * or ignored, in which case it could not be stopped by SIGTERM.
 *
 * A name starting with "crash" is the crashing service of the restart test:
 * it appends "start START_NS PID" to MARKDIR/NAME.log, sleeps CRASH_AFTER_MS
 * milliseconds, appends "exit EXIT_NS PID" just before _exit(1).  The restart
 * latency is the next instance's START_NS minus EXIT_NS.
 *
 * Both kinds speak s6's readiness protocol: if the working directory holds
 * a file `notification-fd` containing a descriptor number, the service
 * writes a newline to that descriptor right after its marker and closes it.
 * Outside an s6 service directory that file does not exist.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifndef MARKDIR
#error "compile with -DMARKDIR='\"/path/to/markers\"'"
#endif
#ifndef CRASH_AFTER_MS
#define CRASH_AFTER_MS 1100
#endif

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void fail(const char *what)
{
	/* stderr goes to the supervisor's log, which the harness shows */
	dprintf(2, "bench service: %s: %s\n", what, strerror(errno));
	_exit(111);
}

static void write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t r = write(fd, buf, len);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			fail("write");
		}
		buf += r;
		len -= (size_t)r;
	}
}

/* s6 readiness: a newline on the descriptor named in ./notification-fd. */
static void notify_ready(void)
{
	char buf[16];
	int fd = open("notification-fd", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	ssize_t r = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (r <= 0)
		return;
	buf[r] = 0;
	int nfd = atoi(buf);
	if (nfd < 3)
		return;
	if (write(nfd, "\n", 1) < 0)
		dprintf(2, "bench service: write to notification fd %d: %s\n", nfd, strerror(errno));
	close(nfd);
}

static int valid_name(const char *s)
{
	if (!*s || strlen(s) > 64)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '-' || *s == '_'))
			return 0;
	return 1;
}

int main(int argc, char **argv)
{
	uint64_t start = now_ns();
	char cwd[4096], name[128], path[4096], tmp[4096], line[160];

	if (argc > 1) {
		snprintf(name, sizeof name, "%s", argv[1]);
	} else {
		if (!getcwd(cwd, sizeof cwd))
			fail("getcwd");
		const char *base = strrchr(cwd, '/');
		base = base ? base + 1 : cwd;
		if (strlen(base) >= sizeof name) {
			dprintf(2, "bench service: directory name too long\n");
			return 100;
		}
		strcpy(name, base);
	}
	if (!valid_name(name)) {
		dprintf(2, "bench service: bad service name '%s'\n", name);
		return 100;
	}

	if (strncmp(name, "crash", 5) == 0) {
		snprintf(path, sizeof path, "%s/%s.log", MARKDIR, name);
		int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (fd < 0)
			fail(path);
		int n = snprintf(line, sizeof line, "start %llu %d\n",
				 (unsigned long long)start, (int)getpid());
		write_all(fd, line, (size_t)n);
		notify_ready();
		struct timespec ts = { CRASH_AFTER_MS / 1000, (CRASH_AFTER_MS % 1000) * 1000000L };
		while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
			;
		n = snprintf(line, sizeof line, "exit %llu %d\n",
			     (unsigned long long)now_ns(), (int)getpid());
		write_all(fd, line, (size_t)n);
		_exit(1);
	}

	sigset_t mask;
	struct sigaction sa;
	sigprocmask(SIG_BLOCK, NULL, &mask);
	sigaction(SIGTERM, NULL, &sa);
	snprintf(path, sizeof path, "%s/%s", MARKDIR, name);
	snprintf(tmp, sizeof tmp, "%s/.%s.%d.tmp", MARKDIR, name, (int)getpid());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		fail(tmp);
	int n = snprintf(line, sizeof line, "%llu %d %d %d\n", (unsigned long long)start,
			 (int)getpid(), sigismember(&mask, SIGTERM) == 1,
			 sa.sa_handler == SIG_IGN);
	write_all(fd, line, (size_t)n);
	close(fd);
	if (rename(tmp, path) < 0)
		fail("rename");
	notify_ready();
	for (;;)
		pause();
}
