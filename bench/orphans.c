/*
 * orphans.c - orphan-reaping workload for the ibex init benchmark.
 *
 * Run it as the only child of an init that is PID 1 of a fresh PID
 * namespace (with its own /proc):
 *
 *     unshare --pid --fork --mount-proc INIT [INIT-ARGS] -- ./orphans [N] [TIMEOUT_S]
 *
 * It creates N orphans (default 5000) as fast as it can.  Each orphan is
 * made by fork()ing a short-lived child which vfork()s a grandchild; the
 * grandchild _exit()s at once (so it is already a zombie -- vfork() only
 * returns in the child after the grandchild is gone) and then the child
 * _exit()s, which reparents the zombie grandchild to PID 1.  The workload
 * waitpid()s each of its own children, so the only zombies left in the
 * namespace are orphans that PID 1 has to reap.
 *
 * After the last orphan exists it polls /proc (1 ms sleeps) until no
 * zombie remains, then prints one JSON line on stdout:
 *
 *   {"orphans":N,"wall_ns":W,"init_cpu_ns":C,"fork_ns":F,"drain_ns":D,
 *    "init_sched_count":S}
 *
 *   wall_ns          CLOCK_MONOTONIC, just before the first fork() until no
 *                    zombie is left in the namespace
 *   init_cpu_ns      delta of PID 1's on-CPU time over the same interval
 *                    (first field of /proc/1/schedstat, nanoseconds)
 *   fork_ns          time spent creating the orphans (part of wall_ns)
 *   drain_ns         wall_ns - fork_ns: how long PID 1 lagged behind
 *   init_sched_count delta of the third /proc/1/schedstat field (number of
 *                    times PID 1 was scheduled onto a CPU, i.e. wake-ups)
 *
 * Exit status: 0 on success, 1 on a runtime failure (including the reap
 * timeout, default 60 s), 2 on a usage/environment error.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void sleep_ns(long ns)
{
	struct timespec ts = { .tv_sec = 0, .tv_nsec = ns };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static int read_small(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n;
	do
		n = read(fd, buf, cap - 1);
	while (n < 0 && errno == EINTR);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return (int)n;
}

/* /proc/1/schedstat: "<on-cpu ns> <runqueue wait ns> <timeslices>" */
static int init_schedstat(uint64_t *runtime_ns, uint64_t *pcount)
{
	char buf[128];
	unsigned long long a, b, c;
	if (read_small("/proc/1/schedstat", buf, sizeof buf) < 0)
		return -1;
	if (sscanf(buf, "%llu %llu %llu", &a, &b, &c) != 3)
		return -1;
	*runtime_ns = a;
	*pcount = c;
	return 0;
}

/* State letter from /proc/<pid>/stat, or 0 if the process is gone. */
static char proc_state(const char *pid)
{
	char path[64], buf[512];
	snprintf(path, sizeof path, "/proc/%s/stat", pid);
	if (read_small(path, buf, sizeof buf) < 0)
		return 0;
	char *p = strrchr(buf, ')'); /* comm may contain spaces and parens */
	if (!p || p[1] != ' ')
		return 0;
	return p[2];
}

static int is_pid_name(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return 0;
	return 1;
}

/*
 * Scan /proc, ignoring PID 1 and ourselves.  Returns the number of other
 * processes; if zombies != NULL also reads every stat file and stores the
 * number in state 'Z' (expensive with thousands of entries, so the poll
 * loop only does it when the cheap count stalls).
 */
static long scan_proc(const char *self, long *zombies)
{
	DIR *d = opendir("/proc");
	if (!d) {
		perror("orphans: opendir /proc");
		exit(1);
	}
	long others = 0, z = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (!is_pid_name(e->d_name) || strcmp(e->d_name, "1") == 0 ||
		    strcmp(e->d_name, self) == 0)
			continue;
		others++;
		if (zombies && proc_state(e->d_name) == 'Z')
			z++;
	}
	closedir(d);
	if (zombies)
		*zombies = z;
	return others;
}

/*
 * Body of each short-lived child.  Kept out of main() so the vfork()
 * there cannot clobber main()'s locals (-Wclobbered).
 */
static __attribute__((noinline, noreturn)) void make_orphan(void)
{
	pid_t g = vfork();
	if (g == 0)
		_exit(0); /* grandchild: becomes a zombie immediately */
	/* vfork() returned in the parent, so the grandchild already exited;
	 * exiting now hands the zombie to PID 1. */
	_exit(g > 0 ? 0 : 1);
}

static void usage(void)
{
	fprintf(stderr, "usage: orphans [N (default 5000)] [TIMEOUT_SECONDS (default 60)]\n");
	exit(2);
}

static long parse_long(const char *s, long lo, long hi)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		usage();
	return v;
}

int main(int argc, char **argv)
{
	long n = 5000, timeout_s = 60;
	if (argc > 3)
		usage();
	if (argc > 1)
		n = parse_long(argv[1], 1, 10000000);
	if (argc > 2)
		timeout_s = parse_long(argv[2], 1, 86400);

	pid_t me = getpid();
	char self[32], link[32];
	snprintf(self, sizeof self, "%ld", (long)me);

	/* Sanity: we must be a direct child of the namespace's PID 1 and /proc
	 * must belong to that namespace, or the numbers mean nothing. */
	if (getppid() != 1) {
		fprintf(stderr,
			"orphans: my parent is pid %ld, not 1; run me as the direct child of an init\n"
			"         in a fresh PID namespace: unshare --pid --fork --mount-proc INIT... orphans\n",
			(long)getppid());
		return 2;
	}
	ssize_t ll = readlink("/proc/self", link, sizeof link - 1);
	if (ll < 0 || (link[ll] = '\0', strcmp(link, self) != 0)) {
		fprintf(stderr, "orphans: /proc is not this PID namespace's procfs (use unshare --mount-proc)\n");
		return 2;
	}

	uint64_t cpu0, cpu1, cnt0, cnt1;
	if (init_schedstat(&cpu0, &cnt0) < 0) {
		perror("orphans: cannot read /proc/1/schedstat");
		return 1;
	}
	uint64_t t0 = now_ns();

	long created = 0;
	for (long i = 0; i < n; i++) {
		pid_t c;
		int tries = 0;
		for (;;) {
			c = fork();
			if (c >= 0 || (errno != EAGAIN && errno != ENOMEM) || ++tries > 5000)
				break;
			sleep_ns(1000000); /* pid/memory pressure: let PID 1 catch up */
		}
		if (c < 0) {
			perror("orphans: fork");
			return 1;
		}
		if (c == 0)
			make_orphan();
		int st;
		while (waitpid(c, &st, 0) < 0) {
			if (errno != EINTR) {
				perror("orphans: waitpid");
				return 1;
			}
		}
		if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
			created++;
	}
	uint64_t t_forked = now_ns();
	if (created != n) {
		fprintf(stderr, "orphans: only %ld of %ld orphans were created (vfork failed)\n", created, n);
		return 1;
	}

	/* Wait for PID 1 to reap every orphan.  Every orphan was a zombie
	 * before it was reparented, so "no other process left" means "no
	 * zombie left"; the cheap readdir count is used while it keeps
	 * falling, a full state-'Z' scan when it stalls (so a live helper
	 * process of some init cannot make us wait forever). */
	uint64_t deadline = t0 + (uint64_t)timeout_s * 1000000000ull;
	long prev = -1, zombies = -1;
	uint64_t t1;
	for (;;) {
		long others = scan_proc(self, NULL);
		if (others == 0) {
			t1 = now_ns();
			break;
		}
		if (others == prev) {
			scan_proc(self, &zombies);
			if (zombies == 0) {
				t1 = now_ns();
				break;
			}
		}
		prev = others;
		if (now_ns() > deadline) {
			scan_proc(self, &zombies);
			fprintf(stderr, "orphans: timeout after %ld s: %ld zombies still not reaped by PID 1\n",
				timeout_s, zombies);
			printf("{\"orphans\":%ld,\"error\":\"timeout\",\"zombies_left\":%ld}\n", n, zombies);
			return 1;
		}
		sleep_ns(1000000);
	}

	/* PID 1's on-CPU time is only folded into sum_exec_runtime when it is
	 * descheduled; give it a moment to finish its reap loop and go back to
	 * sleep so the tail of its work is counted (not part of wall_ns). */
	for (int i = 0; i < 200; i++) {
		char s = proc_state("1");
		if (s == 'S' || s == 'D' || s == 'I')
			break;
		sleep_ns(100000);
	}
	if (init_schedstat(&cpu1, &cnt1) < 0) {
		perror("orphans: cannot read /proc/1/schedstat");
		return 1;
	}

	printf("{\"orphans\":%ld,\"wall_ns\":%" PRIu64 ",\"init_cpu_ns\":%" PRIu64
	       ",\"fork_ns\":%" PRIu64 ",\"drain_ns\":%" PRIu64 ",\"init_sched_count\":%" PRIu64 "}\n",
	       created, t1 - t0, cpu1 - cpu0, t_forked - t0, t1 - t_forked, cnt1 - cnt0);
	return fflush(stdout) == 0 ? 0 : 1;
}
