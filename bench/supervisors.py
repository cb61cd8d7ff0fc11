#!/usr/bin/env python3
"""Benchmark `ibex init` against the process supervisors s6, runit and supervisord.

Every supervisor runs N copies of the same trivial service (bench/service.c,
a static C program that records a CLOCK_MONOTONIC time stamp and pause()s),
all in the same invocation:

  * memory: the summed PSS and RSS of the supervisor's own processes (not of
    the services) with 1, 10 and 100 services;
  * start: from launching the supervisor until all 50 services run;
  * stop: from the stop signal until the supervisor and all 50 services have
    exited;
  * restart: from the exit of a crashing service until its next instance
    runs, with the smallest restart delay each supervisor allows;
  * status: the wall time of one complete status query of 100 services with
    each supervisor's own client (`ibex status --json`, `supervisorctl
    status`, `sv status DIR...`, and 100 calls of `s6-svstat DIR`, which
    takes one directory per call).

Each supervisor is a direct child of this harness, which is a child
subreaper, so every process of the supervision tree stays visible and is
reaped here. Runs are interleaved round-robin so that slow drifts of the
machine hit every supervisor equally.

    sudo bench/supervisors.py --ibex .build-release/ibex
    sudo bench/supervisors.py --quick --json /tmp/sv.json      # smoke test

Python 3.11 standard library only. Must run as root.
"""

from __future__ import annotations

import argparse
import ctypes
import fcntl
import json
import os
import select
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

# Run as root from a checkout: leave no root-owned bench/__pycache__ behind.
sys.dont_write_bytecode = True
from common import (BenchError, add_ibex_arguments, at_most, children_of, choose, compile_c,
                    describe_cc, die, exe_of, finish, fmt_ratio, fmt_spread, get, ibex_binary,
                    install_packages, log, machine_meta, missing_packages, paired_ratio, paired_table,
                    ratio, require_gcc, require_root, resolve_ibex_argument, rotate, send_signal,
                    skip_unavailable, smaps_memory, summary, target, targets_table)

BENCH_DIR = Path(__file__).resolve().parent
SERVICE_SRC = BENCH_DIR / "service.c"
REFERENCE = "s6"
# the s6 configuration with the smallest restart delay (see bench/README.md)
RESTART_REFERENCE = "s6-ready"
PR_SET_CHILD_SUBREAPER = 36
SUPERVISOR_ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}

DEFAULT_ROUNDS = 10
DEFAULT_RESTART_ROUNDS = 3
DEFAULT_CRASHES = 2
DEFAULT_MEM_SAMPLES = 2
QUICK_ROUNDS = 1
QUICK_RESTART_ROUNDS = 1
QUICK_CRASHES = 1
QUICK_MEM_SAMPLES = 1
DEFAULT_MEM_SIZES = (1, 10, 100)
DEFAULT_SERVICES = 50
DEFAULT_STATUS_REPS = 30
QUICK_STATUS_REPS = 5
DEFAULT_STATUS_SERVICES = 100

# Targets for ibex.
TARGETS = {
    "rss_100_max_kib": 2 * 1024,       # ibex's single process with 100 services
    "start_ratio_max": 0.80,           # start of 50 services, vs s6
    "stop_ratio_max": 1.00,            # stop of 50 services, vs s6
    "restart_ratio_max": 1.00,         # crash -> restart, vs s6 at its minimum delay
    # status query of all 100 services: strictly faster than supervisorctl and
    # than the 100 s6-svstat calls that s6 needs
    "status_vs_supervisorctl_lt": 1.00,
    "status_vs_s6_lt": 1.00,
}


@dataclass
class Supervisor:
    name: str  # row label
    kind: str  # ibex | s6 | runit | supervisord
    binary: str  # the program the harness starts
    package: str | None  # Debian package providing it
    own: tuple[str, ...] = ()  # other binaries whose processes belong to the supervisor
    stop_signal: int = signal.SIGTERM
    notify: bool = False  # s6 only: services get a notification-fd (restart test)
    client: str | None = None  # its status client (status test); None: the binary itself
    memory: dict[int, list[dict]] = field(default_factory=dict)
    startstop: list[dict] = field(default_factory=list)
    restart: list[dict] = field(default_factory=list)
    status: list[dict] = field(default_factory=list)

    def programs(self) -> tuple[str, ...]:
        """Every program of the supervisor that the harness needs."""
        return (self.binary, *self.own, *((self.client,) if self.client else ()))


def anchors() -> list[Supervisor]:
    return [
        Supervisor("s6", "s6", "/usr/bin/s6-svscan", "s6", ("/usr/bin/s6-supervise",),
                   client="/usr/bin/s6-svstat"),
        Supervisor("runit", "runit", "/usr/bin/runsvdir", "runit", ("/usr/bin/runsv",),
                   stop_signal=signal.SIGHUP, client="/usr/bin/sv"),
        Supervisor("supervisord", "supervisord", "/usr/bin/supervisord", "supervisor",
                   client="/usr/bin/supervisorctl"),
    ]


def s6_ready() -> Supervisor:
    return Supervisor(RESTART_REFERENCE, "s6", "/usr/bin/s6-svscan", "s6",
                      ("/usr/bin/s6-supervise",), notify=True)


# --------------------------------------------------------------------------
# environment


def check_environment() -> None:
    require_root("reading other processes' smaps_rollup, running s6/runit/supervisord as root "
                 "like in a container")
    if not hasattr(os, "posix_spawn"):
        die("os.posix_spawn is not available (Linux and Python >= 3.8 required)")
    if not os.path.exists("/proc/self/smaps_rollup"):
        die("/proc/PID/smaps_rollup is missing (Linux >= 4.14 required)")


def pids_running(exe_names: tuple[str, ...], cmd_words: tuple[str, ...] = ()) -> set[int]:
    """Processes whose executable's basename is in exe_names, or whose command
    line contains one of cmd_words (scripts: /usr/bin/supervisord runs as python)."""
    found: set[int] = set()
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            exe = os.path.basename(os.readlink(f"/proc/{d}/exe"))
        except OSError:
            exe = ""
        try:
            with open(f"/proc/{d}/cmdline", "rb") as f:
                cmd = f.read().decode(errors="replace").split("\0")
        except OSError:
            continue
        if exe in exe_names or any(os.path.basename(w) in cmd_words for w in cmd[:2]):
            found.add(int(d))
    return found


def stop_new_system_supervisord(before: set[int]) -> None:
    """Debian's supervisor package starts its system service on install where
    it can; stop any supervisord that appeared during our apt-get."""
    new = pids_running((), ("supervisord",)) - before
    for pid in new:
        log(f"stopping the system supervisord (pid {pid}) that the package install started")
        send_signal(pid, signal.SIGTERM)
    deadline = time.monotonic() + 15
    while new and time.monotonic() < deadline:
        new = {p for p in new if os.path.exists(f"/proc/{p}") and proc_state(p) not in ("Z", None)}
        time.sleep(0.1)
    for pid in new:
        log(f"warning: supervisord pid {pid} ignored SIGTERM; sending SIGKILL")
        send_signal(pid, signal.SIGKILL)


def ensure_tools(sups: list[Supervisor], install: bool) -> None:
    missing = missing_packages(sups)
    before = pids_running((), ("supervisord",)) if "supervisor" in missing else set()
    if install_packages(missing, install) and "supervisor" in missing:
        stop_new_system_supervisord(before)
    require_gcc(SERVICE_SRC)


def package_version(pkg: str | None) -> str | None:
    if not pkg or not shutil.which("dpkg-query"):
        return None
    r = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", pkg], capture_output=True, text=True)
    return r.stdout.strip() or None if r.returncode == 0 else None


def ibex_version(path: str) -> str | None:
    try:
        r = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    out = r.stdout.strip()
    return out.removeprefix("ibex ") or None


def compile_service(outdir: Path, markers: Path, crash_after_ms: int) -> tuple[Path, list[str]]:
    # Static (compile_c's first choice): no ld.so work in the service, so start
    # times are the supervisor's.
    out = outdir / "service"
    defines = (f"-DMARKDIR=\"{markers}\"", f"-DCRASH_AFTER_MS={crash_after_ms}")
    return out, compile_c(SERVICE_SRC, out, defines)


def strays(td: str) -> list[int]:
    """Last resort after the run: processes other than ours that still run from,
    in, or with a configuration file under the temporary directory `td`."""
    found = []
    for d in os.listdir("/proc"):
        if not d.isdigit() or int(d) == os.getpid():
            continue
        try:
            paths = [os.readlink(f"/proc/{d}/exe"), os.readlink(f"/proc/{d}/cwd")]
            with open(f"/proc/{d}/cmdline", "rb") as f:
                paths.append(f.read().decode(errors="replace"))
        except OSError:
            continue
        if any(td in p for p in paths) and proc_state(int(d)) not in ("Z", None):
            found.append(int(d))
    return found


def cpu_times() -> tuple[int, int]:
    """(busy, total) jiffies of the whole machine, from /proc/stat."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + (v[4] if len(v) > 4 else 0)  # idle + iowait
    total = sum(v[:8])  # guest time is already part of user time
    return total - idle, total


def become_subreaper() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        die(f"prctl(PR_SET_CHILD_SUBREAPER) failed: {os.strerror(ctypes.get_errno())}")


# --------------------------------------------------------------------------
# process helpers


def descendants(pid: int) -> list[int]:
    out: list[int] = []
    todo = children_of(pid)
    while todo:
        p = todo.pop()
        out.append(p)
        todo += children_of(p)
    return out


def proc_state(pid: int) -> str | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            s = f.read()
        return s[s.rindex(")") + 2]
    except (OSError, ValueError, IndexError):
        return None


REAPED: dict[int, int] = {}  # pid -> wait status, for our (adopted) children


def reap() -> None:
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        REAPED[pid] = status


def describe_status(status: int | None) -> str:
    if status is None:
        return "?"
    if os.WIFEXITED(status):
        return f"exit {os.WEXITSTATUS(status)}"
    if os.WIFSIGNALED(status):
        return f"killed by {signal.Signals(os.WTERMSIG(status)).name}"
    return f"status {status:#x}"


def kill_everything(first: int | None = None, timeout: float = 15) -> list[int]:
    """SIGKILL every descendant of the harness (the supervisor `first`, so that it
    cannot restart anything) and reap them. Being a child subreaper, the harness
    adopts every orphan, so nothing escapes. Returns the pids that were killed."""
    killed: list[int] = []
    reap()
    if first is not None and first not in REAPED:  # a reaped pid may have been reused
        if send_signal(first, signal.SIGKILL):
            killed.append(first)
    deadline = time.monotonic() + timeout
    while True:
        reap()
        left = [p for p in descendants(os.getpid()) if proc_state(p) not in ("Z", None)]
        if not left and not children_of(os.getpid()):
            return killed
        if time.monotonic() > deadline:
            raise BenchError(f"processes left that SIGKILL did not remove: {left}")
        for p in left:
            if send_signal(p, signal.SIGKILL):
                killed.append(p)
        time.sleep(0.005)


# --------------------------------------------------------------------------
# configuring and starting a supervisor


class Run:
    """One supervisor instance supervising `names`, configured in its own work
    directory, with stdin on /dev/null and stdout+stderr on a pipe that the
    harness reads, as a container runtime does. `control`: supervisord also
    gets the control socket that supervisorctl needs (status test)."""

    def __init__(self, sup: Supervisor, workdir: Path, markers: Path, service_bin: Path,
                 names: list[str], control: bool = False):
        self.sup = sup
        self.workdir = workdir
        self.markers = markers
        self.names = names
        workdir.mkdir()
        for e in os.listdir(markers):
            os.unlink(markers / e)
        self.argv = configure(sup, workdir, service_bin, names, control)
        age_tree(workdir)
        self.output = bytearray()
        self.out_r, out_w = os.pipe2(os.O_CLOEXEC)
        try:
            # room for everything a run logs, so that the supervisor never blocks on it
            fcntl.fcntl(self.out_r, fcntl.F_SETPIPE_SZ, 1 << 20)
        except OSError:
            pass
        os.set_blocking(self.out_r, False)
        actions = [
            (os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDONLY, 0),
            (os.POSIX_SPAWN_DUP2, out_w, 1),
            (os.POSIX_SPAWN_DUP2, out_w, 2),
        ]
        self.t_launch = time.monotonic_ns()
        # Its own session (no controlling terminal), default SIGPIPE/SIGXFSZ (Python
        # ignores SIGPIPE) and an empty signal mask, like a container's PID 1 gets.
        try:
            self.pid = os.posix_spawn(self.argv[0], self.argv, SUPERVISOR_ENV, file_actions=actions,
                                      setsid=True, setsigdef=(signal.SIGPIPE, signal.SIGXFSZ),
                                      setsigmask=())
        except OSError as e:
            os.close(self.out_r)
            raise BenchError(f"{sup.name}: cannot start {shlex.join(self.argv)}: {e}")
        finally:
            os.close(out_w)
        REAPED.pop(self.pid, None)  # an earlier process may have had this pid

    def drain(self) -> None:
        """Reads what the supervisor tree has written so far (keeps the last 64 KiB)."""
        if self.out_r < 0:
            return
        while True:
            try:
                chunk = os.read(self.out_r, 65536)
            except BlockingIOError:
                break
            if not chunk:
                break
            self.output += chunk
        del self.output[:-65536]

    def close(self) -> None:
        """After everything is killed: the rest of the output, then the pipe."""
        self.drain()
        if self.out_r >= 0:
            os.close(self.out_r)
            self.out_r = -1

    def log_tail(self, lines: int = 15) -> str:
        self.drain()
        text = self.output.decode(errors="replace").splitlines()
        return "\n".join(text[-lines:]) or "(no output)"

    def fail(self, msg: str) -> BenchError:
        return BenchError(f"{self.sup.name}: {msg}\ncommand: {shlex.join(self.argv)}\n"
                          f"the end of its output:\n{self.log_tail()}")

    def check_alive(self) -> None:
        reap()
        if self.pid in REAPED:
            raise self.fail(f"the supervisor exited early ({describe_status(REAPED[self.pid])})")

    def wait_started(self, timeout: float) -> dict[str, dict]:
        """Waits for every service's marker; returns them by name."""
        want = len(self.names)
        deadline = time.monotonic() + timeout
        next_check = 0.0
        while True:
            got = [e for e in os.listdir(self.markers) if not e.startswith(".")]
            if len(got) >= want:
                break
            now = time.monotonic()
            if now >= next_check:
                self.drain()
                self.check_alive()
                next_check = now + 0.05
            if now > deadline:
                raise self.fail(f"only {len(got)} of {want} services started within {timeout:g} s")
            time.sleep(0.002)
        markers: dict[str, dict] = {}
        for name in got:
            f = (self.markers / name).read_text().split()
            markers[name] = {"start_ns": int(f[0]), "pid": int(f[1]),
                             "sigterm_blocked": f[2] == "1", "sigterm_ignored": f[3] == "1"}
        bad = [n for n, m in markers.items() if m["sigterm_blocked"] or m["sigterm_ignored"]]
        if bad:
            log(f"warning: {self.sup.name} started {len(bad)} service(s) with SIGTERM "
                f"blocked or ignored, e.g. {bad[0]}")
        return markers

    def own_processes(self) -> list[int]:
        """The supervisor's own processes: the one we started, plus its direct
        children that run one of its helper binaries (s6-supervise, runsv)."""
        own = {os.path.realpath(b) for b in self.sup.own}
        return [self.pid] + [c for c in children_of(self.pid) if own and exe_of(c) in own]


def configure(sup: Supervisor, workdir: Path, service_bin: Path, names: list[str],
              control: bool = False) -> list[str]:
    """Writes the configuration for `names` and returns the command to start.
    ibex, s6 and runit always have their control interface (ibex's socket,
    supervise/ directories). supervisord gets its (a unix socket and the RPC
    interface) only with `control`, so the other tests run it as before."""
    if sup.kind == "ibex":
        root = workdir / "root"
        units = root / "etc" / "ibex" / "services"
        units.mkdir(parents=True)
        for n in names:
            extra = ""
            if n.startswith("crash"):
                # no start rate limit: the default (5 starts in 10 s) would stop it
                extra = "StartLimitBurst=0\n"
            (units / f"{n}.service").write_text(
                f"[Service]\nExecStart={service_bin} {n}\nRestart=always\nRestartSec=0\n{extra}")
        return [sup.binary, "init", "--root", str(root)]
    if sup.kind in ("s6", "runit"):
        scan = workdir / ("scan" if sup.kind == "s6" else "sv")
        scan.mkdir()
        for n in names:
            d = scan / n
            d.mkdir()
            # `run` is the service binary itself: no shell in between, as for the others
            (d / "run").symlink_to(service_bin)
            if sup.notify:
                (d / "notification-fd").write_text("3\n")
        if sup.kind == "s6":
            return [sup.binary, str(scan)]
        return [sup.binary, "-P", str(scan)]
    if sup.kind == "supervisord":
        conf = workdir / "supervisord.conf"
        lines = [
            "[supervisord]",
            "nodaemon=true",
            # its log goes only to stdout, like the others' (the usual container setup)
            "logfile=/dev/null",
            "logfile_maxbytes=0",
            f"pidfile={workdir / 'supervisord.pid'}",
            f"childlogdir={workdir}",
            "",
        ]
        if control:
            sock = workdir / "supervisor.sock"
            lines += [
                "[unix_http_server]",
                f"file={sock}",
                "chmod=0700",
                "",
                "[rpcinterface:supervisor]",
                "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface",
                "",
                "[supervisorctl]",
                f"serverurl=unix://{sock}",
                "",
            ]
        for n in names:
            lines += [
                f"[program:{n}]",
                f"command={service_bin} {n}",
                "autostart=true",
                "autorestart=true",
                "startsecs=0",
                "stopsignal=TERM",
                "stdout_logfile=NONE",
                "stderr_logfile=NONE",
                "",
            ]
        conf.write_text("\n".join(lines))
        return [sup.binary, "-n", "-c", str(conf)]
    raise AssertionError(sup.kind)


def age_tree(top: Path, seconds: float = 60) -> None:
    """Backdates the modification time of the configuration. runsvdir sleeps 1 s
    before its first scan when the scan directory was modified in the current
    second, which in a real container (configuration from the image) it never is."""
    t = time.time() - seconds
    for dirpath, dirnames, filenames in os.walk(top):
        for n in dirnames + filenames:
            os.utime(os.path.join(dirpath, n), (t, t), follow_symlinks=False)
    os.utime(top, (t, t))


# --------------------------------------------------------------------------
# measurements


def measure_memory(sup: Supervisor, n: int, ctx: dict) -> dict:
    names = [f"svc{i:03d}" for i in range(n)]
    run = Run(sup, ctx["workdir"](), ctx["markers"], ctx["service"], names)
    try:
        markers = run.wait_started(ctx["timeout"])
        time.sleep(ctx["mem_settle"])
        run.check_alive()
        procs = run.own_processes()
        expect = 1 + (n if sup.own else 0)
        if len(procs) != expect:
            raise run.fail(f"expected {expect} supervisor processes, found {len(procs)}: {procs}")
        total = {"rss_kib": 0, "pss_kib": 0, "uss_kib": 0}
        root: dict = {}
        for p in procs:
            m = smaps_memory(p)
            if p == run.pid:
                root = m
            for k in total:
                total[k] += m[k]
        return {"services": n, "processes": len(procs), **total, "root": root,
                "start_ns": max(m["start_ns"] for m in markers.values()) - run.t_launch}
    finally:
        try:
            kill_everything(run.pid)
        finally:
            run.close()


def measure_startstop(sup: Supervisor, n: int, ctx: dict) -> dict:
    names = [f"svc{i:03d}" for i in range(n)]
    run = Run(sup, ctx["workdir"](), ctx["markers"], ctx["service"], names)
    try:
        markers = run.wait_started(ctx["timeout"])
        last = max(m["start_ns"] for m in markers.values())
        first = min(m["start_ns"] for m in markers.values())
        # Let every service be up for `settle` seconds: runsv pauses 1 s after a
        # service that ran for less than 1 s exits, also when stopping.
        rest = ctx["settle"] - (time.monotonic_ns() - last) / 1e9
        if rest > 0:
            time.sleep(rest)
        run.drain()
        run.check_alive()
        tree = [run.pid] + descendants(run.pid)
        services = {m["pid"] for m in markers.values()}
        missing = services - set(tree)
        if missing:
            raise run.fail(f"{len(missing)} service(s) no longer run before the stop "
                           f"(e.g. pid {min(missing)}): did they restart?")
        own = set(run.own_processes())
        exits = stop_and_wait(run, tree, ctx["timeout"])
        reap()
        status = REAPED.get(run.pid)
        left = kill_everything(run.pid)
        if left:
            log(f"warning: {sup.name}: {len(left)} process(es) were still there after the stop "
                f"and had to be killed: {left[:10]}")
        return {
            "services": n,
            "start_ns": last - run.t_launch,
            "first_service_ns": first - run.t_launch,
            "stop_ns": max(exits.values()),
            "stop_supervisor_ns": max(exits[p] for p in own),
            "stop_services_ns": max(exits[p] for p in services),
            "processes": len(tree),
            "exit": describe_status(status),
        }
    finally:
        try:
            kill_everything(run.pid)
        finally:
            run.close()


def stop_and_wait(run: Run, tree: list[int], timeout: float) -> dict[int, int]:
    """Sends the supervisor its stop signal and waits until every process of
    `tree` has exited. Returns each one's exit time in ns after the signal."""
    fds: dict[int, int] = {}
    polled: list[int] = []
    for p in tree:
        try:
            fds[os.pidfd_open(p)] = p
        except (OSError, AttributeError):
            polled.append(p)  # kernel < 5.3: poll /proc instead
    poller = select.poll()
    for fd in fds:
        poller.register(fd, select.POLLIN)
    exits: dict[int, int] = {}
    t0 = time.monotonic_ns()
    os.kill(run.pid, run.sup.stop_signal)
    deadline = t0 + int(timeout * 1e9)
    try:
        while fds or polled:
            now = time.monotonic_ns()
            if now > deadline:
                left = sorted(list(fds.values()) + polled)
                raise run.fail(f"{len(left)} process(es) still running {timeout:g} s after "
                               f"{signal.Signals(run.sup.stop_signal).name}: {left[:10]}")
            wait_ms = 1 if polled else max(1, (deadline - now) // 1_000_000)
            events = poller.poll(wait_ms)
            t = time.monotonic_ns()
            for fd, _ in events:
                exits[fds.pop(fd)] = t - t0
                poller.unregister(fd)
                os.close(fd)
            for p in list(polled):
                if proc_state(p) in ("Z", None):
                    exits[p] = t - t0
                    polled.remove(p)
    finally:
        for fd in fds:
            os.close(fd)
    return exits


def measure_restart(sup: Supervisor, crashes: int, ctx: dict) -> dict:
    run = Run(sup, ctx["workdir"](), ctx["markers"], ctx["service"], ["crash"])
    logf = ctx["markers"] / "crash.log"
    timeout = ctx["timeout"] + (crashes + 1) * (ctx["crash_after"] + 2.5)
    deadline = time.monotonic() + timeout
    try:
        while True:
            try:
                text = logf.read_text()
            except FileNotFoundError:
                text = ""
            starts = text.count("start ")
            if starts >= crashes + 1:
                break
            run.drain()
            run.check_alive()
            if time.monotonic() > deadline:
                raise run.fail(f"crashing service started {starts} time(s) in {timeout:g} s, "
                               f"wanted {crashes + 1}")
            time.sleep(0.01)
    finally:
        try:
            kill_everything(run.pid)
        finally:
            run.close()
    events = [l.split() for l in logf.read_text().splitlines() if l.strip()]
    lat: list[int] = []
    last_exit = None
    for ev in events:
        if ev[0] == "exit":
            last_exit = int(ev[1])
        elif ev[0] == "start" and last_exit is not None:
            lat.append(int(ev[1]) - last_exit)
            last_exit = None
    if len(lat) < crashes:
        raise run.fail(f"could not pair crashes and restarts in {logf}: {events}")
    return {"latencies_ns": lat[:crashes]}


# --------------------------------------------------------------------------
# status round trip


# what the user runs to see every service's state, for the report
STATUS_HOW = {
    "ibex": "`ibex status --json --root ROOT`",
    "s6": "`s6-svstat SCANDIR/NAME`, once per service",
    "runit": "`sv status SVDIR/NAME...` (all in one call)",
    "supervisord": "`supervisorctl -c CONF status`",
}
# the state each client reports for a service that runs
STATUS_UP = {"ibex": "running", "s6": "up", "runit": "run", "supervisord": "RUNNING"}


def status_queries(run: Run) -> list[list[str]]:
    """The client command(s) that get the status of every service of `run`, as
    a user would run them: one call, except for s6, whose s6-svstat takes a
    single service directory."""
    sup, w = run.sup, run.workdir
    if sup.kind == "ibex":
        return [[sup.binary, "status", "--json", "--root", str(w / "root")]]
    if sup.kind == "s6":
        return [[sup.client, str(w / "scan" / n)] for n in run.names]
    if sup.kind == "runit":
        return [[sup.client, "status", *(str(w / "sv" / n) for n in run.names)]]
    if sup.kind == "supervisord":
        return [[sup.client, "-c", str(w / "supervisord.conf"), "status"]]
    raise AssertionError(sup.kind)


def spawn_client(argv: list[str], timeout: float) -> tuple[int, subprocess.CompletedProcess]:
    """Runs one client the same way for every supervisor: spawned directly (no
    shell), stdin on /dev/null, stdout and stderr read through pipes, only PATH
    in the environment. Returns the wall time from before the spawn until it
    has exited and its output is read."""
    t0 = time.monotonic_ns()
    try:
        p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, env=SUPERVISOR_ENV, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise BenchError(f"{shlex.join(argv)[:200]} did not finish within {timeout:g} s")
    except OSError as e:
        raise BenchError(f"cannot run {shlex.join(argv)[:200]}: {e}")
    return time.monotonic_ns() - t0, p


def parse_status(kind: str, argvs: list[list[str]],
                 outs: list[subprocess.CompletedProcess]) -> list[tuple[str, str, int | None]]:
    """(name, state, pid) for every service that the client output reports.
    Raises BenchError for an exit status other than 0 or an unexpected line."""
    entries: list[tuple[str, str, int | None]] = []
    for argv, p in zip(argvs, outs):
        text = p.stdout.decode(errors="replace")
        if p.returncode != 0:
            raise BenchError(f"`{shlex.join(argv)[:200]}` exited {p.returncode}\nstdout: "
                             f"{text[:500]}\nstderr: {p.stderr.decode(errors='replace')[:500]}")
        try:
            if kind == "ibex":
                # one JSON line: {"ok":true,...,"services":[{"name":..,"state":..,"pid":..},...]}
                d = json.loads(text)
                if d.get("ok") is not True:
                    raise ValueError("not ok")
                entries += [(x["name"], x["state"], x.get("pid")) for x in d["services"]]
            elif kind == "s6":
                # up (pid 123) 4 seconds
                w = text.split()
                pid = int(w[2].rstrip(")")) if w[1:2] == ["(pid"] else None
                entries.append((os.path.basename(argv[-1]), w[0], pid))
            elif kind == "runit":
                # run: /path/svc000: (pid 123) 4s
                for line in text.splitlines():
                    state, path, rest = line.split(": ", 2)
                    w = rest.split()
                    pid = int(w[1].rstrip(")")) if w[:1] == ["(pid"] else None
                    entries.append((os.path.basename(path), state, pid))
            elif kind == "supervisord":
                # svc000                           RUNNING   pid 123, uptime 0:00:04
                for line in text.splitlines():
                    w = line.split()
                    pid = int(w[3].rstrip(",")) if w[2:3] == ["pid"] else None
                    entries.append((w[0], w[1], pid))
            else:
                raise AssertionError(kind)
        except (ValueError, KeyError, IndexError, TypeError) as e:
            raise BenchError(f"`{shlex.join(argv)[:200]}`: unexpected output ({e}):\n{text[:500]}")
    return entries


def check_status(run: Run, entries: list[tuple[str, str, int | None]], pids: dict[str, int]) -> None:
    """A query only counts if it reported every service, once, as running,
    with the pid that the service itself wrote to its marker."""
    want = STATUS_UP[run.sup.kind]
    names = [e[0] for e in entries]
    if len(names) != len(run.names) or set(names) != set(run.names):
        missing = sorted(set(run.names) - set(names))
        raise BenchError(f"{run.sup.name}: the status query reported {len(names)} services, not "
                         f"the {len(run.names)} expected (missing: {missing[:5]}, "
                         f"unexpected: {sorted(set(names) - set(run.names))[:5]})")
    for name, state, pid in entries:
        if state != want or pid != pids[name]:
            raise BenchError(f"{run.sup.name}: the status query reported {name} as {state!r} "
                             f"with pid {pid}, expected {want!r} with pid {pids[name]}")


def query_status(run: Run, pids: dict[str, int], timeout: float) -> dict:
    """One complete status query of every service (for s6: the loop of one
    s6-svstat per service), timed as a whole, then validated."""
    argvs = status_queries(run)
    outs: list[subprocess.CompletedProcess] = []
    calls: list[int] = []
    t0 = time.monotonic_ns()
    for argv in argvs:
        dt, p = spawn_client(argv, timeout)
        calls.append(dt)
        outs.append(p)
    total = time.monotonic_ns() - t0
    check_status(run, parse_status(run.sup.kind, argvs, outs), pids)
    sample = {"total_ns": total, "calls": len(calls),
              "output_bytes": sum(len(p.stdout) for p in outs)}
    if len(calls) > 1:
        sample["call_ns"] = calls
    return sample


def probe_s6_svstat_multi(run: Run, timeout: float) -> dict:
    """Does this s6-svstat report on several service directories in one call?
    (2.11 documents a single `servicedir`; check what it does with two.)"""
    argv = [run.sup.client, str(run.workdir / "scan" / run.names[0]),
            str(run.workdir / "scan" / run.names[-1])]
    _, p = spawn_client(argv, timeout)
    lines = p.stdout.decode(errors="replace").splitlines()
    multi = p.returncode == 0 and len(lines) >= 2
    return {"directories_given": 2, "exit": p.returncode, "lines": len(lines),
            "multi_directory_mode": multi}


def measure_status(sups: list[Supervisor], n: int, reps: int, warmup: int, ctx: dict) -> dict:
    """Runs every supervisor with `n` services at the same time, then times
    `reps` rounds of one complete status query per supervisor, round-robin
    with a rotating start. Each round also spawns `true` the same way, the
    floor of one client call. Fills sup.status; returns what else it found."""
    names = [f"svc{i:03d}" for i in range(n)]
    runs: list[Run] = []
    true_bin = shutil.which("true", path=SUPERVISOR_ENV["PATH"]) or "/bin/true"
    extra: dict = {"spawn_floor": {"command": true_bin, "samples_ns": []}}
    try:
        # every supervisor gets its own service binary, so its own marker directory
        for s in sups:
            base = ctx["tmp"] / f"status-{s.name}"
            markers = base / "markers"
            markers.mkdir(parents=True)
            service_bin, _ = compile_service(base, markers, round(ctx["crash_after"] * 1000))
            runs.append(Run(s, ctx["workdir"](), markers, service_bin, names, control=True))
        pids: dict[str, dict[str, int]] = {}
        for run in runs:
            pids[run.sup.name] = {k: m["pid"] for k, m in run.wait_started(ctx["timeout"]).items()}
        # Until each client reports everything up: supervisord marks a program
        # RUNNING only in a later turn of its loop. This is also the warm-up.
        for run in runs:
            deadline = time.monotonic() + ctx["timeout"]
            while True:
                try:
                    query_status(run, pids[run.sup.name], ctx["timeout"])
                    break
                except BenchError as e:
                    run.drain()
                    run.check_alive()
                    if time.monotonic() > deadline:
                        raise run.fail(f"status query still failing after {ctx['timeout']:g} s: {e}")
                    time.sleep(0.05)
        s6run = next((r for r in runs if r.sup.kind == "s6"), None)
        if s6run:
            extra["s6_svstat"] = probe_s6_svstat_multi(s6run, ctx["timeout"])
        order: list[Run | None] = [*runs, None]  # None: the spawn floor (`true`)
        for rnd in range(warmup + reps):
            for run in rotate(order, rnd):
                if run is None:
                    dt, p = spawn_client([true_bin], ctx["timeout"])
                    if p.returncode != 0:
                        raise BenchError(f"{true_bin} exited {p.returncode}")
                    if rnd >= warmup:
                        extra["spawn_floor"]["samples_ns"].append(dt)
                    continue
                sample = query_status(run, pids[run.sup.name], ctx["timeout"])
                if rnd >= warmup:
                    run.sup.status.append(sample)
                run.drain()
            if rnd >= warmup and (rnd + 1 - warmup) % 10 == 0:
                log(f"status queries: {rnd + 1 - warmup}/{reps} rounds done")
        for run in runs:
            run.check_alive()
        return extra
    finally:
        try:
            for run in runs:  # the supervisors first, so that nothing restarts
                reap()
                if run.pid not in REAPED:
                    send_signal(run.pid, signal.SIGKILL)
            kill_everything()
        finally:
            for run in runs:
                run.close()


# --------------------------------------------------------------------------
# statistics / report


def fmt_kib(k: float | None) -> str:
    if k is None:
        return "–"
    return f"{k:,.0f} KiB" if k < 10 * 1024 else f"{k / 1024:,.1f} MiB"


def fmt_ms(ns: float) -> str:
    ms = ns / 1e6
    return f"{ms:.2f}" if ms < 10 else f"{ms:.1f}" if ms < 100 else f"{ms:.0f}"


def analyse(sups: list[Supervisor], mem_sizes: list[int]) -> dict:
    res: dict = {}
    for s in sups:
        r: dict = {"kind": s.kind, "command": s.binary}
        if s.memory:
            r["memory"] = {}
            for n in mem_sizes:
                samples = s.memory.get(n, [])
                if samples:
                    r["memory"][str(n)] = {
                        **{k: summary([float(x[k]) for x in samples])
                           for k in ("rss_kib", "pss_kib", "uss_kib")},
                        "processes": samples[0]["processes"],
                        "samples": samples,
                    }
        if s.startstop:
            r["startstop"] = {k: summary([float(x[k]) for x in s.startstop])
                              for k in ("start_ns", "first_service_ns", "stop_ns",
                                        "stop_supervisor_ns", "stop_services_ns")}
            r["startstop"]["exit"] = sorted({x["exit"] for x in s.startstop})
            r["startstop"]["samples"] = s.startstop
        if s.restart:
            lat = [float(x) for sample in s.restart for x in sample["latencies_ns"]]
            r["restart"] = {"latency_ns": summary(lat), "samples": s.restart}
        if s.status:
            r["status"] = {
                "client": STATUS_HOW.get(s.kind),
                "calls": s.status[0]["calls"],
                "total_ns": summary([float(x["total_ns"]) for x in s.status]),
                # every single client call (for s6: 100 per query)
                "call_ns": summary([float(c) for x in s.status
                                    for c in x.get("call_ns", [x["total_ns"]])]),
                "output_bytes": s.status[0]["output_bytes"],
                "samples": s.status,
            }
        res[s.name] = r
    ref = res.get(REFERENCE, {})
    rref = res.get(RESTART_REFERENCE, {})
    sref = res.get("supervisord", {})
    for name, r in res.items():
        big = str(max(mem_sizes)) if mem_sizes else None
        r["ratios_vs_s6"] = {
            "pss_max_services": ratio(get(r, "memory", big, "pss_kib", "median"),
                                      get(ref, "memory", big, "pss_kib", "median")),
            "rss_max_services": ratio(get(r, "memory", big, "rss_kib", "median"),
                                      get(ref, "memory", big, "rss_kib", "median")),
            "start": ratio(get(r, "startstop", "start_ns", "median"),
                           get(ref, "startstop", "start_ns", "median")),
            "stop": ratio(get(r, "startstop", "stop_ns", "median"),
                          get(ref, "startstop", "stop_ns", "median")),
            "restart_vs_s6": ratio(get(r, "restart", "latency_ns", "median"),
                                   get(ref, "restart", "latency_ns", "median")),
            "restart_vs_s6_ready": ratio(get(r, "restart", "latency_ns", "median"),
                                         get(rref, "restart", "latency_ns", "median")),
            # a whole query each: one call, or s6's 100 s6-svstat calls
            "status": ratio(get(r, "status", "total_ns", "median"),
                            get(ref, "status", "total_ns", "median")),
        }
        if "status" in r:
            r["status"]["ratio_vs_supervisorctl"] = ratio(get(r, "status", "total_ns", "median"),
                                                          get(sref, "status", "total_ns", "median"))
            r["status"]["ratio_vs_s6"] = r["ratios_vs_s6"]["status"]
            # the same-round ratio, median over rounds (queries are interleaved)
            for key, other in (("paired_ratio_vs_supervisorctl", sref), ("paired_ratio_vs_s6", ref)):
                r["status"][key] = paired_ratio(r["status"]["samples"],
                                                get(other, "status", "samples") or [], "total_ns")
        # robust against slow drift: the median over rounds of the same-round ratio
        if "startstop" in r and "startstop" in ref and name != REFERENCE:
            r["paired_ratios_vs_s6"] = {
                k: paired_ratio(r["startstop"]["samples"], ref["startstop"]["samples"], k)
                for k in ("start_ns", "stop_ns")
            }
    return res


def check_targets(res: dict, mem_sizes: list[int]) -> dict | None:
    r = res.get("ibex")
    if not r:
        return None
    rt = r["ratios_vs_s6"]
    m100 = get(r, "memory", "100")
    rss = get(m100, "rss_kib", "median")
    procs = get(m100, "processes")
    out = {}
    if m100:
        out["rss_100"] = target(rss, TARGETS["rss_100_max_kib"],
                                rss is not None and procs == 1 and rss <= TARGETS["rss_100_max_kib"])
    # a phase that was not run (--rounds 0, --restart-rounds 0) has no target row
    if "startstop" in r:
        out["start_ratio"] = at_most(rt["start"], TARGETS["start_ratio_max"])
        out["stop_ratio"] = at_most(rt["stop"], TARGETS["stop_ratio_max"])
    if "restart" in r:
        out["restart_ratio"] = at_most(rt["restart_vs_s6_ready"], TARGETS["restart_ratio_max"])
    if "status" in r:
        # strictly faster; a row only for the anchors that were measured
        for key, other, limit in (("status_vs_supervisorctl", "supervisord", "status_vs_supervisorctl_lt"),
                                  ("status_vs_s6", REFERENCE, "status_vs_s6_lt")):
            if "status" in res.get(other, {}):
                v = r["status"][f"ratio_vs_{'s6' if other == REFERENCE else 'supervisorctl'}"]
                out[key] = {**target(v, TARGETS[limit], v is not None and v < TARGETS[limit]), "op": "<"}
    return out or None


RESTART_SETTING = {
    "ibex": "`Restart=always`, `RestartSec=0`, `StartLimitBurst=0`",
    "s6": "no setting; fixed 1 s pause when not ready",
    "s6-ready": "`notification-fd` (service ready > 1 s)",
    "runit": "no setting; 1 s pause only if it ran < 1 s",
    "supervisord": "`autorestart=true`, `startsecs=0`",
}

STOP_HOW = {
    "ibex": "SIGTERM to ibex",
    "s6": "SIGTERM to s6-svscan",
    "runit": "SIGHUP to runsvdir",
    "supervisord": "SIGTERM to supervisord",
}


def markdown(res: dict, meta: dict, targets: dict | None) -> str:
    L: list[str] = []
    sizes = meta["mem_sizes"]
    L.append(f"## Supervisor benchmark ({meta['services']} services x {meta['rounds']} rounds, "
             f"interleaved; memory median of {meta['mem_samples']}; restart: "
             f"{meta['restart_rounds']} x {meta['crashes']} crashes; status: "
             f"{meta['status_reps']} queries of {meta['status_services']} services)")
    L.append("")
    L.append(f"kernel {meta['kernel']}, {meta['cpus']} CPUs, service `{meta['service_cc']}`; "
             f"ratios relative to {REFERENCE}; ± is half the IQR")
    busy = meta.get("machine_cpu_busy")
    if busy is not None:
        L.append("")
        note = (" (**busy: other load on the machine, expect noise**)" if busy > 0.25 else "")
        L.append(f"machine CPU busy during the run: {busy * 100:.0f}%{note}; the benchmark itself "
                 "keeps it mostly idle")
    vers = ", ".join(f"{k} {v}" for k, v in meta["versions"].items() if v)
    if vers:
        L.append("")
        L.append(f"versions: {vers}")

    if any("memory" in r for r in res.values()):
        L.append("")
        L.append("### Memory of the supervisor's own processes (services excluded)")
        L.append("")
        hdr = "| supervisor | processes | " + " | ".join(f"PSS {n}" for n in sizes) + \
              f" | x s6 | " + " | ".join(f"RSS {n}" for n in sizes) + " | x s6 | PSS per service |"
        L.append(hdr)
        L.append("|---|---:|" + "---:|" * (2 * len(sizes) + 3))
        for name, r in res.items():
            if "memory" not in r:
                continue
            m = r["memory"]
            big = str(max(sizes))
            pss = [get(m, str(n), "pss_kib", "median") for n in sizes]
            rss = [get(m, str(n), "rss_kib", "median") for n in sizes]
            procs = get(m, big, "processes")
            per = None
            if len(sizes) > 1 and pss[0] is not None and pss[-1] is not None:
                per = (pss[-1] - pss[0]) / (sizes[-1] - sizes[0])
            L.append(f"| {name} | {procs if procs is not None else '–'} | "
                     + " | ".join(fmt_kib(x) for x in pss)
                     + f" | {fmt_ratio(r['ratios_vs_s6']['pss_max_services'])} | "
                     + " | ".join(fmt_kib(x) for x in rss)
                     + f" | {fmt_ratio(r['ratios_vs_s6']['rss_max_services'])} | "
                     + f"{'–' if per is None else f'{per:,.1f} KiB'} |")
        L.append("")
        L.append(f"Columns are the number of services; `processes` is the count at {max(sizes)} "
                 "services; ratios are at that count. RSS counts shared pages (libraries) in "
                 "every process, PSS splits them among their users.")

    if any("startstop" in r for r in res.values()):
        L.append("")
        L.append(f"### Start and stop of {meta['services']} services")
        L.append("")
        L.append("| supervisor | start (ms) | x s6 | first service (ms) | stop (ms) | x s6 "
                 "| services gone (ms) | stopped by | supervisor exit |")
        L.append("|---|---:|---:|---:|---:|---:|---:|---|---|")
        for name, r in res.items():
            ss = r.get("startstop")
            if not ss:
                continue
            rt = r["ratios_vs_s6"]
            L.append(f"| {name} | {fmt_ms(ss['start_ns']['median'])}{fmt_spread(ss['start_ns'])} "
                     f"| {fmt_ratio(rt['start'])} | {fmt_ms(ss['first_service_ns']['median'])} "
                     f"| {fmt_ms(ss['stop_ns']['median'])}{fmt_spread(ss['stop_ns'])} "
                     f"| {fmt_ratio(rt['stop'])} | {fmt_ms(ss['stop_services_ns']['median'])} "
                     f"| {STOP_HOW.get(r['kind'], '?')} | {', '.join(ss['exit'])} |")
        L.append("")
        L.append("start: launch of the supervisor until the last service has started (its own "
                 "time stamp); stop: the stop signal until the supervisor and every service have "
                 "exited; services gone: until the last service has exited.")
        L += paired_table(res, "paired_ratios_vs_s6", "supervisor", REFERENCE,
                          [("start", "start_ns"), ("stop", "stop_ns")])

    if any("restart" in r for r in res.values()):
        L.append("")
        L.append(f"### Restart of a crashing service (exit 1 after {meta['crash_after_s']:g} s up)")
        L.append("")
        L.append("| supervisor | setting | crash → running (ms) | min | max | x s6 | x s6-ready |")
        L.append("|---|---|---:|---:|---:|---:|---:|")
        for name, r in res.items():
            rs = r.get("restart")
            if not rs:
                continue
            l = rs["latency_ns"]
            rt = r["ratios_vs_s6"]
            L.append(f"| {name} | {RESTART_SETTING.get(name, '')} | {fmt_ms(l['median'])} "
                     f"| {fmt_ms(l['min'])} | {fmt_ms(l['max'])} | {fmt_ratio(rt['restart_vs_s6'])} "
                     f"| {fmt_ratio(rt['restart_vs_s6_ready'])} |")
        L.append("")
        L.append("From the crashed instance's last time stamp (just before `_exit(1)`) to the "
                 "next instance's first. s6-ready is s6 with a `notification-fd` and a service "
                 "that reports readiness at once: s6-supervise then restarts without its 1 s "
                 "pause, its smallest possible delay.")

    if any("status" in r for r in res.values()):
        st = meta.get("status") or {}
        L.append("")
        L.append(f"### Status of {meta['status_services']} services: one complete query with "
                 "each supervisor's own client")
        L.append("")
        L.append("| supervisor | client, as a user runs it | calls | query (ms) | per call (ms) "
                 "| x supervisorctl | x s6 | paired x supervisorctl | paired x s6 |")
        L.append("|---|---|---:|---:|---:|---:|---:|---:|---:|")
        for name, r in res.items():
            q = r.get("status")
            if not q:
                continue
            pr = (lambda v: "–" if v is None else f"{v:.3f}x" if v < 0.1 else f"{v:.2f}x")
            L.append(f"| {name} | {q['client']} | {q['calls']} "
                     f"| {fmt_ms(q['total_ns']['median'])}{fmt_spread(q['total_ns'])} "
                     f"| {fmt_ms(q['call_ns']['median'])}{fmt_spread(q['call_ns'])} "
                     f"| {pr(q['ratio_vs_supervisorctl'])} | {pr(q['ratio_vs_s6'])} "
                     f"| {pr(q['paired_ratio_vs_supervisorctl'])} | {pr(q['paired_ratio_vs_s6'])} |")
        L.append("")
        L.append(f"query: the wall time of one complete status query of all "
                 f"{meta['status_services']} services (all supervisors running at the same time, "
                 f"{meta['status_reps']} queries each, interleaved round-robin), from spawning the "
                 "client (from Python, `subprocess` without a shell, the same for every client) "
                 "until it has exited and its output is read. s6's query is the loop of one "
                 "`s6-svstat` per service directory, and its ratios use that total. Every query "
                 "is checked: each service reported once, as running, with its real pid, and exit "
                 "status 0."
                 + (" supervisord has a `[unix_http_server]` socket for supervisorctl in this "
                    "test only." if "status" in res.get("supervisord", {}) else ""))
        floor = get(st, "spawn_floor", "ns")
        if floor:
            L.append("")
            L.append(f"Floor: spawning `{get(st, 'spawn_floor', 'command')}` the same way takes "
                     f"{fmt_ms(floor['median'])} ms{fmt_spread(floor)}.")
        probe = st.get("s6_svstat")
        if probe:
            ver = meta["versions"].get("s6") or "?"
            L.append("")
            if probe["multi_directory_mode"]:
                L.append(f"s6-svstat (s6 {ver}) given two service directories printed "
                         f"{probe['lines']} lines: it has a multi-directory mode, not used here.")
            else:
                L.append(f"s6-svstat (s6 {ver}) has no multi-directory mode: given two service "
                         f"directories it printed {probe['lines']} line{'' if probe['lines'] == 1 else 's'} "
                         f"and exited {probe['exit']}: it ignores every directory but the first.")

    L += targets_table(res, targets, target_labels(res, meta))
    return "\n".join(L)


def target_labels(res: dict, meta: dict) -> dict:
    """Each target's label and the formats of its value and of its limit."""
    def r4(v: float | None) -> str:
        return "–" if v is None else f"{v:.4f}x"

    procs = get(res, "ibex", "memory", "100", "processes")
    n = meta.get("status_services")
    return {
        "rss_100": ("RSS with 100 services" + ("" if procs == 1 else f" ({procs} processes!)"),
                    fmt_kib, fmt_kib),
        "start_ratio": ("start of 50 services vs s6", fmt_ratio, fmt_ratio),
        "stop_ratio": ("stop of 50 services vs s6", fmt_ratio, fmt_ratio),
        "restart_ratio": ("restart latency vs s6 at its minimum (s6-ready)", r4, fmt_ratio),
        "status_vs_supervisorctl": (f"status of {n} services vs supervisorctl", r4, fmt_ratio),
        "status_vs_s6": (f"status of {n} services vs s6 ({n} s6-svstat calls)", r4, fmt_ratio),
    }


# --------------------------------------------------------------------------
# main


def parse_args(argv: list[str]) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        description="Compare `ibex init` with s6, runit and supervisord: supervisor memory with "
                    "1/10/100 services, time to start and to stop 50 services, restart latency "
                    "of a crashing service, status query of 100 services. Run as root.")
    add_ibex_arguments(ap)
    ap.add_argument("--rounds", type=int,
                    help=f"start/stop rounds per supervisor (default {DEFAULT_ROUNDS}, --quick: {QUICK_ROUNDS})")
    ap.add_argument("--services", type=int, default=DEFAULT_SERVICES,
                    help=f"services in the start/stop test (default {DEFAULT_SERVICES})")
    ap.add_argument("--mem-sizes", default=",".join(map(str, DEFAULT_MEM_SIZES)),
                    help="service counts for the memory test (default 1,10,100)")
    ap.add_argument("--mem-samples", type=int,
                    help=f"memory samples per size (default {DEFAULT_MEM_SAMPLES}, --quick: {QUICK_MEM_SAMPLES})")
    ap.add_argument("--restart-rounds", type=int,
                    help=f"restart-test rounds (default {DEFAULT_RESTART_ROUNDS}, --quick: {QUICK_RESTART_ROUNDS})")
    ap.add_argument("--crashes", type=int,
                    help=f"crashes per restart round (default {DEFAULT_CRASHES}, --quick: {QUICK_CRASHES})")
    ap.add_argument("--status-reps", type=int,
                    help=f"status queries per supervisor (default {DEFAULT_STATUS_REPS}, "
                         f"--quick: {QUICK_STATUS_REPS}; 0 skips the status test)")
    ap.add_argument("--status-services", type=int, default=DEFAULT_STATUS_SERVICES,
                    help=f"services in the status test (default {DEFAULT_STATUS_SERVICES})")
    ap.add_argument("--crash-after", type=float, default=1.1,
                    help="seconds the crashing service runs before exit 1 (default 1.1; more "
                         "than 1 s so that runit and s6-ready restart without their pause)")
    ap.add_argument("--settle", type=float, default=1.2,
                    help="seconds every service runs before the stop (default 1.2)")
    ap.add_argument("--mem-settle", type=float,
                    help="seconds after the last service started before reading memory "
                         "(default 0.5, --quick: 0.3)")
    ap.add_argument("--supervisors", help="comma-separated subset (ibex,s6,runit,supervisord); "
                                          "s6 is always included")
    ap.add_argument("--json", metavar="PATH", help="also write full results (all samples) as JSON")
    ap.add_argument("--quick", action="store_true", help="one short round: a smoke test, not a measurement")
    ap.add_argument("--timeout", type=float, default=30,
                    help="seconds a start or a stop may take before the run fails (default 30)")
    ap.add_argument("--no-install", action="store_true",
                    help="do not apt-get install missing s6/runit/supervisor/gcc")
    ap.add_argument("--check", action="store_true", help="exit 3 if ibex misses one of its targets")
    a = ap.parse_args(argv)
    resolve_ibex_argument(ap, a)
    q = a.quick
    a.rounds = a.rounds if a.rounds is not None else (QUICK_ROUNDS if q else DEFAULT_ROUNDS)
    a.mem_samples = a.mem_samples if a.mem_samples is not None else (QUICK_MEM_SAMPLES if q else DEFAULT_MEM_SAMPLES)
    a.restart_rounds = (a.restart_rounds if a.restart_rounds is not None
                        else (QUICK_RESTART_ROUNDS if q else DEFAULT_RESTART_ROUNDS))
    a.crashes = a.crashes if a.crashes is not None else (QUICK_CRASHES if q else DEFAULT_CRASHES)
    a.status_reps = (a.status_reps if a.status_reps is not None
                     else (QUICK_STATUS_REPS if q else DEFAULT_STATUS_REPS))
    a.mem_settle = a.mem_settle if a.mem_settle is not None else (0.3 if q else 0.5)
    try:
        a.mem_sizes = sorted({int(x) for x in a.mem_sizes.split(",") if x.strip()})
    except ValueError:
        ap.error("--mem-sizes takes a comma-separated list of numbers")
    if a.rounds < 0 or a.mem_samples < 0 or a.restart_rounds < 0 or a.crashes < 1 \
            or a.services < 1 or any(n < 1 or n > 500 for n in a.mem_sizes):
        ap.error("--rounds, --mem-samples and --restart-rounds must be >= 0, --crashes and "
                 "--services >= 1, --mem-sizes between 1 and 500")
    if a.status_reps < 0 or not 1 <= a.status_services <= 500:
        ap.error("--status-reps must be >= 0, --status-services between 1 and 500")
    if a.crash_after < 0.01 or a.settle < 0:
        ap.error("--crash-after must be >= 0.01 and --settle >= 0")
    return a


def status_meta(extra: dict) -> dict:
    """The status test's spawn floor (summarised) and s6-svstat probe."""
    out = dict(extra)
    floor = extra.get("spawn_floor")
    if floor and floor["samples_ns"]:
        out["spawn_floor"] = {**floor, "ns": summary([float(x) for x in floor["samples_ns"]])}
    return out


def main(argv: list[str]) -> int:
    a = parse_args(argv)
    check_environment()

    sups: list[Supervisor] = []
    ibex = ibex_binary(a.ibex, "the others")
    if ibex:
        sups.append(Supervisor("ibex", "ibex", ibex, None))
    sups = choose(sups + anchors(), a.supervisors, REFERENCE, bool(ibex),
                  "supervisor(s) in --supervisors")

    ensure_tools(sups, install=not a.no_install)
    sups = skip_unavailable(sups, REFERENCE, "s6 is the reference")
    # the restart test also runs s6 with readiness notification, its fastest setting
    restart_sups = list(sups)
    restart_sups.insert(restart_sups.index(next(s for s in sups if s.name == REFERENCE)) + 1, s6_ready())

    versions = {s.name: (ibex_version(s.binary) if s.kind == "ibex" else package_version(s.package))
                for s in sups}
    t_start = time.monotonic()
    cpu_start = cpu_times()
    failed: str | None = None
    status_extra: dict = {}

    def interrupted(signum, frame):
        raise KeyboardInterrupt
    # clean up (kill every supervisor and service) when told to stop
    signal.signal(signal.SIGTERM, interrupted)
    signal.signal(signal.SIGHUP, interrupted)
    td = tempfile.mkdtemp(prefix="ibex-sv-bench-")
    try:
        tdp = Path(td)
        os.chmod(td, 0o755)
        markers = tdp / "markers"
        markers.mkdir()
        service_bin, cc_cmd = compile_service(tdp, markers, round(a.crash_after * 1000))
        counter = iter(range(1_000_000))
        ctx = {
            "tmp": tdp,
            "workdir": lambda: tdp / f"run{next(counter):04d}",
            "markers": markers,
            "service": service_bin,
            "timeout": a.timeout,
            "settle": a.settle,
            "mem_settle": a.mem_settle,
            "crash_after": a.crash_after,
        }
        become_subreaper()
        try:
            if a.mem_samples and a.mem_sizes:
                jobs = [(s, n) for n in a.mem_sizes for s in sups]
                for rnd in range(a.mem_samples):
                    for s, n in rotate(jobs, rnd):
                        s.memory.setdefault(n, []).append(measure_memory(s, n, ctx))
                    log(f"memory sample {rnd + 1}/{a.mem_samples} done ({time.monotonic() - t_start:.0f} s)")
            if a.rounds and not a.quick:
                log(f"warm-up: one discarded start/stop per supervisor ({', '.join(s.name for s in sups)})")
                for s in sups:
                    measure_startstop(s, a.services, ctx)
            if a.rounds:
                for rnd in range(a.rounds):
                    for s in rotate(sups, rnd):
                        s.startstop.append(measure_startstop(s, a.services, ctx))
                    log(f"start/stop round {rnd + 1}/{a.rounds} done ({time.monotonic() - t_start:.0f} s)")
            for rnd in range(a.restart_rounds):
                for s in rotate(restart_sups, rnd):
                    s.restart.append(measure_restart(s, a.crashes, ctx))
                log(f"restart round {rnd + 1}/{a.restart_rounds} done ({time.monotonic() - t_start:.0f} s)")
            if a.status_reps:
                log(f"status: {a.status_services} services under each of "
                    f"{', '.join(s.name for s in sups)} at once, {a.status_reps} queries each")
                status_extra = measure_status(sups, a.status_services, a.status_reps,
                                              0 if a.quick else 1, ctx)
                log(f"status queries done ({time.monotonic() - t_start:.0f} s)")
        except BenchError as e:
            failed = str(e)
        except KeyboardInterrupt:
            failed = "interrupted"
    finally:
        try:
            kill_everything()
        except BenchError as e:
            log(f"warning: cleanup: {e}")
        for p in strays(td):
            log(f"warning: killing stray process {p} that still uses {td}")
            send_signal(p, signal.SIGKILL)
        if failed and failed != "interrupted":
            log(f"kept {td} (configurations and logs) for inspection")
        else:
            shutil.rmtree(td, ignore_errors=True)
    if failed:
        die(failed, 1)
    cpu_end = cpu_times()
    busy = ratio(cpu_end[0] - cpu_start[0], cpu_end[1] - cpu_start[1])

    all_sups = restart_sups
    res = analyse(all_sups, a.mem_sizes)
    targets = check_targets(res, a.mem_sizes)
    meta = {
        **machine_meta(),
        "rounds": a.rounds,
        "services": a.services,
        "mem_sizes": a.mem_sizes,
        "mem_samples": a.mem_samples,
        "restart_rounds": a.restart_rounds,
        "crashes": a.crashes,
        "crash_after_s": a.crash_after,
        "settle_s": a.settle,
        "mem_settle_s": a.mem_settle,
        "status_reps": a.status_reps,
        "status_services": a.status_services,
        "status": status_meta(status_extra),
        "quick": a.quick,
        "service_cc": describe_cc(cc_cmd, SERVICE_SRC),
        "versions": versions,
        "duration_s": round(time.monotonic() - t_start, 1),
        "machine_cpu_busy": None if busy is None else round(busy, 3),
        "reference": REFERENCE,
        "restart_reference": RESTART_REFERENCE,
        "targets": TARGETS,
    }
    return finish(markdown(res, meta, targets), a.json,
                  {"meta": meta, "supervisors": res, "targets": targets},
                  meta["duration_s"], targets, a.check)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
