#!/usr/bin/env python3
"""Log throughput: ibex's log directories against s6-log, svlogd and supervisord.

One service (bench/lines.c) writes N lines of exactly 100 bytes (200 MB by
default) as fast as it can; each logger writes them into a rotating log
directory (10 MB files, 100 kept: enough to keep everything). In the same
invocation, interleaved round-robin:

  * ibex        `ibex init --root ROOT`, the writer a native service with
                `[Log] Console=no Directory=DIR MaxFileSize=10M MaxFiles=100`
  * ibex-s6-log `lines | ibex s6-log n100 s10000000 DIR`  (ibex's s6-log)
  * s6-log      `lines | s6-log n100 s10000000 DIR`        (Debian's s6; reference)
  * svlogd      `lines | svlogd DIR`, DIR/config `s10000000` `n100` (runit)
  * supervisord `stdout_logfile=DIR/writer.log`, `stdout_logfile_maxbytes=10MB`,
                `stdout_logfile_backups=100`

The writer writes 650 whole lines at a time, or (--chunk 4096) pieces of
4096 bytes that end anywhere in a line, as stdio's full buffering does on a
pipe. It first blocks on a FIFO; the harness opens it once the logger is up
and idle, so the time is the logger's throughput, not its start. Measured:

  * wall: from releasing the writer until the files in the directory hold
    all N x 100 bytes (polled every 2 ms; the pipe loggers' exit at end of
    input, with their final sync, is recorded apart as exit_s);
  * CPU: the logger process's on-CPU time over that interval
    (/proc/PID/schedstat);
  * memory: the logger's idle RSS before the writer starts and its peak
    (the last VmHWM seen); "extra" = peak - idle RSS;
  * verification: the archives in order, then `current`, must be exactly the
    writer's stream (line count, SHA-256 against the regenerated stream,
    every sequence number once and in order), and no file may end in the
    middle of a line (a line split across two files).

    sudo bench/log_throughput.py --ibex .build-release/ibex
    sudo bench/log_throughput.py --quick --json /tmp/log.json      # smoke test

Python 3.11 standard library only. Must run as root (as the other harnesses:
s6-log, svlogd and supervisord run as root, like in a container).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

# Run as root from a checkout: leave no root-owned bench/__pycache__ behind.
sys.dont_write_bytecode = True
from common import (BenchError, add_ibex_arguments, choose, compile_c, describe_cc, die,
                    finish, fmt_ratio, fmt_spread, get, ibex_binary, install_packages, log,
                    machine_meta, missing_packages, paired_ratio, paired_table, ratio, read_kib,
                    require_gcc, require_root, resolve_ibex_argument, rotate, send_signal,
                    skip_unavailable, summary, target, targets_table)
from supervisors import (SUPERVISOR_ENV, become_subreaper, ibex_version, kill_everything,
                         package_version, stop_new_system_supervisord, pids_running, strays)

BENCH_DIR = Path(__file__).resolve().parent
LINES_SRC = BENCH_DIR / "lines.c"
REFERENCE = "s6-log"
LINE = 100
BATCH = 650  # lines per write of bench/lines.c

DEFAULT_MB = 200
QUICK_MB = 30
DEFAULT_ROUNDS = 5
QUICK_ROUNDS = 1
FILE_SIZE = 10_000_000  # s6-log s10000000; ibex MaxFileSize=10M; supervisord 10MB
DEFAULT_KEEP = 100

TARGETS = {
    "throughput_ratio_min": 2.0,    # ibex's [Log] directory vs s6-log, MB/s
    "cpu_per_mb_ratio_max": 1.0,    # ibex's CPU per MB vs s6-log's
    "extra_memory_max_kib": 2048,   # ibex's peak RSS while logging minus its idle RSS
    "split_files_max": 0,           # files ending in the middle of a line
}


@dataclass
class Logger:
    name: str
    kind: str  # ibex | pipe | supervisord
    binary: str
    package: str | None
    argv: list[str] = field(default_factory=list)  # pipe loggers: the command, DIR appended
    runs: list[dict] = field(default_factory=list)

    def programs(self) -> tuple[str, ...]:
        return (self.binary,)


def loggers(ibex: str | None, keep: int) -> list[Logger]:
    script = [f"n{keep}", f"s{FILE_SIZE}"]
    out = []
    if ibex:
        out.append(Logger("ibex", "ibex", ibex, None))
        out.append(Logger("ibex-s6-log", "pipe", ibex, None, [ibex, "s6-log", *script]))
    out += [
        Logger("s6-log", "pipe", "/usr/bin/s6-log", "s6", ["/usr/bin/s6-log", *script]),
        Logger("svlogd", "svlogd", "/usr/bin/svlogd", "runit", ["/usr/bin/svlogd"]),
        Logger("supervisord", "supervisord", "/usr/bin/supervisord", "supervisor"),
    ]
    return out


# --------------------------------------------------------------------------
# the expected stream


class Expected:
    """The writer's stream, regenerated: its SHA-256 from any line to the end."""

    def __init__(self, n: int):
        self.n = n
        self.fill = [bytes([ord("a") + j % 26]) * (LINE - 12) + b"\n" for j in range(26)]
        self.cache: dict[int, str] = {}

    def lines(self, start: int, end: int) -> bytes:
        f = self.fill
        return b"".join(b"%010d " % i + f[i % 26] for i in range(start, end))

    def sha256_from(self, first: int) -> str:
        if first not in self.cache:
            h = hashlib.sha256()
            for i in range(first, self.n, 10 * BATCH):
                h.update(self.lines(i, min(self.n, i + 10 * BATCH)))
            self.cache[first] = h.hexdigest()
        return self.cache[first]


def log_files(kind: str, d: Path) -> list[Path]:
    """The logger's files, oldest first."""
    if kind == "supervisord":
        base = d / "writer.log"
        backups = sorted((p for p in d.glob("writer.log.*") if p.suffix[1:].isdigit()),
                         key=lambda p: -int(p.suffix[1:]))
        return backups + ([base] if base.exists() else [])
    archives = sorted(p for p in d.iterdir() if p.name.startswith("@"))
    cur = d / "current"
    return archives + ([cur] if cur.exists() else [])


def dir_bytes(kind: str, d: Path) -> int:
    total = 0
    try:
        with os.scandir(d) as it:
            for e in it:
                if e.name.startswith("@") or e.name == "current" or e.name.startswith("writer.log"):
                    try:
                        total += e.stat(follow_symlinks=False).st_size
                    except FileNotFoundError:
                        pass  # rotated away between the listing and the stat
    except FileNotFoundError:
        pass
    return total


def verify(kind: str, d: Path, exp: Expected) -> dict:
    """Checks the directory against the writer's stream (see the module doc)."""
    files = log_files(kind, d)
    h = hashlib.sha256()
    total = lines = split = 0
    head = b""
    for p in files:
        data = p.read_bytes()
        if data and not data.endswith(b"\n"):
            split += 1
        if not head:
            head = data[:LINE]
        total += len(data)
        lines += data.count(b"\n")
        h.update(data)
    first = 0
    partial_head = False
    if head:
        try:
            first = int(head[:10])
            if head[10:11] != b" ":
                raise ValueError
        except ValueError:
            partial_head = True
    res = {"files": len(files), "bytes": total, "lines": lines, "split_files": split,
           "first_line": first, "sha256": h.hexdigest()}
    res["sha256_ok"] = not partial_head and res["sha256"] == exp.sha256_from(first)
    res["complete"] = res["sha256_ok"] and first == 0
    if not res["sha256_ok"]:
        res.update(diagnose(files, exp.n))
    return res


def diagnose(files: list[Path], n: int) -> dict:
    """Line by line, for a stream that is not the writer's: how many lines are
    whole and right, out of order, duplicated, missing, or damaged."""
    seen = bytearray(n)
    good = bad = out_of_order = dup = 0
    last = -1
    fill = [bytes([ord("a") + j % 26]) * (LINE - 12) for j in range(26)]
    tail = b""
    for p in files:
        data = tail + p.read_bytes()
        parts = data.split(b"\n")
        tail = parts.pop()
        for line in parts:
            try:
                i = int(line[:10])
                ok = len(line) == LINE - 1 and line[10:11] == b" " and 0 <= i < n \
                    and line[11:] == fill[i % 26]
            except ValueError:
                ok = False
            if not ok:
                bad += 1
                continue
            good += 1
            if seen[i]:
                dup += 1
            seen[i] = 1
            if i <= last:
                out_of_order += 1
            last = i
    if tail:
        bad += 1
    return {"good_lines": good, "bad_lines": bad, "out_of_order": out_of_order,
            "duplicates": dup, "missing": n - sum(seen)}


# --------------------------------------------------------------------------
# running one logger


def schedstat_ns(pid: int) -> int:
    with open(f"/proc/{pid}/schedstat") as f:
        return int(f.read().split()[0])


def wait_fifo_reader(go: str, deadline: float, alive) -> int:
    """Opens the FIFO for writing once the writer has opened it for reading."""
    while True:
        try:
            return os.open(go, os.O_WRONLY | os.O_NONBLOCK)
        except OSError as e:
            if e.errno != 6:  # ENXIO: no reader yet
                raise
        alive()
        if time.monotonic() > deadline:
            raise BenchError("the writer did not start within the timeout")
        time.sleep(0.005)


def spawn(argv: list[str], stdin: int | str, stdout: int | str, env: dict | None = None) -> int:
    actions = []
    for fd, target_ in ((0, stdin), (1, stdout), (2, stdout)):
        if isinstance(target_, str):
            actions.append((os.POSIX_SPAWN_OPEN, fd, target_,
                            os.O_RDONLY if fd == 0 else os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644))
        else:
            actions.append((os.POSIX_SPAWN_DUP2, target_, fd))
    return os.posix_spawn(argv[0], argv, env or SUPERVISOR_ENV, file_actions=actions,
                          setsid=True, setsigdef=(signal.SIGPIPE, signal.SIGXFSZ), setsigmask=())


def configure(lg: Logger, work: Path, logdir: Path, lines_bin: Path, n: int, go: Path,
              keep: int, chunk: int) -> list[str]:
    """Writes the supervisors' configuration; returns the command to start."""
    writer = f"{lines_bin} {n} {go} pause {chunk}"
    if lg.kind == "ibex":
        units = work / "root" / "etc" / "ibex" / "services"
        units.mkdir(parents=True)
        (units / "writer.service").write_text(
            f"[Service]\nExecStart={writer}\nRestart=no\n\n"
            f"[Log]\nConsole=no\nDirectory={logdir}\nMaxFileSize=10M\nMaxFiles={keep}\n")
        return [lg.binary, "init", "--root", str(work / "root")]
    if lg.kind == "supervisord":
        conf = work / "supervisord.conf"
        conf.write_text("\n".join([
            "[supervisord]", "nodaemon=true", "logfile=/dev/null", "logfile_maxbytes=0",
            f"pidfile={work / 'supervisord.pid'}", f"childlogdir={work}", "",
            "[program:writer]", f"command={writer}", "autostart=true", "autorestart=false",
            "startsecs=0", f"stdout_logfile={logdir / 'writer.log'}",
            "stdout_logfile_maxbytes=10MB", f"stdout_logfile_backups={keep}",
            "stderr_logfile=NONE", ""]))
        logdir.mkdir()
        return [lg.binary, "-n", "-c", str(conf)]
    raise AssertionError(lg.kind)


def run_once(lg: Logger, lines_bin: Path, n: int, base: Path, keep: int, chunk: int,
             settle: float, timeout: float, exp: Expected) -> dict:
    work = Path(tempfile.mkdtemp(prefix=f"{lg.name}-", dir=base))
    logdir = work / "log"
    go = work / "go"
    os.mkfifo(go)
    out = str(work / "output")
    expected_bytes = n * LINE
    pids: list[int] = []
    try:
        if lg.kind in ("pipe", "svlogd"):
            if lg.kind == "svlogd":
                logdir.mkdir()
                (logdir / "config").write_text(f"s{FILE_SIZE}\nn{keep}\n")
            r, w = os.pipe()
            try:
                writer = spawn([str(lines_bin), str(n), str(go), "exit", str(chunk)], "/dev/null", w)
                pids.append(writer)
                logger = spawn(lg.argv + [str(logdir)], r, out)
                pids.append(logger)
            finally:
                os.close(r)
                os.close(w)
        else:
            argv = configure(lg, work, logdir, lines_bin, n, go, keep, chunk)
            logger = spawn(argv, "/dev/null", out)
            pids.append(logger)

        def alive():
            pid, status = os.waitpid(logger, os.WNOHANG)
            if pid:
                pids.remove(logger)
                raise BenchError(f"{lg.name} exited early ({status:#x}): "
                                 f"{Path(out).read_text(errors='replace')[-2000:]}")

        fd = wait_fifo_reader(str(go), time.monotonic() + timeout, alive)
        time.sleep(settle)  # the logger is idle, waiting for input
        idle = read_kib(f"/proc/{logger}/status", ("VmRSS", "VmHWM"))
        cpu0 = schedstat_ns(logger)
        t0 = time.monotonic_ns()
        os.write(fd, b"g")
        os.close(fd)
        deadline = time.monotonic() + timeout
        # The end: every byte is in the directory's files. The peak RSS of a pipe logger
        # is the last VmHWM seen before it exits (its ru_maxrss would be the spawning
        # Python's: posix_spawn's vfork shares that memory until the exec, and exec keeps
        # the high-water mark).
        peak = idle["VmHWM"]
        while dir_bytes(lg.kind, logdir) < expected_bytes:
            if time.monotonic() > deadline:
                raise BenchError(f"{lg.name}: only {dir_bytes(lg.kind, logdir)} of "
                                 f"{expected_bytes} bytes within {timeout:g} s")
            alive()
            peak = read_kib(f"/proc/{logger}/status", ("VmHWM",)).get("VmHWM", peak)
            time.sleep(0.002)
        t1 = time.monotonic_ns()
        cpu1 = schedstat_ns(logger)
        peak = read_kib(f"/proc/{logger}/status", ("VmHWM",)).get("VmHWM", peak)
        exit_s = None
        if lg.kind in ("pipe", "svlogd"):
            # end of input: the logger flushes, syncs and exits
            _, status = os.waitpid(logger, 0)
            exit_s = (time.monotonic_ns() - t0) / 1e9
            pids.remove(logger)
            os.waitpid(writer, 0)
            pids.remove(writer)
            if status != 0:
                raise BenchError(f"{lg.name} exited with status {status:#x}: "
                                 f"{Path(out).read_text(errors='replace')[-2000:]}")
        else:
            kill_everything(logger)
            pids.clear()
        v = verify(lg.kind, logdir, exp)
        wall = (t1 - t0) / 1e9
        cpu = (cpu1 - cpu0) / 1e9
        mb = v["bytes"] / 1e6
        return {"wall_s": wall, "exit_s": exit_s, "cpu_s": cpu, "mb_per_s": expected_bytes / 1e6 / wall,
                "cpu_s_per_100mb": cpu / (expected_bytes / 1e8), "bytes_written_mb": mb,
                "idle_rss_kib": idle["VmRSS"], "idle_hwm_kib": idle["VmHWM"],
                "peak_rss_kib": peak, "extra_kib": peak - idle["VmRSS"], "verify": v}
    finally:
        for p in pids:
            send_signal(p, signal.SIGKILL)
        try:
            kill_everything()
        except BenchError as e:
            log(f"warning: {e}")
        shutil.rmtree(work, ignore_errors=True)


# --------------------------------------------------------------------------
# report


def analyse(lgs: list[Logger]) -> dict:
    res: dict = {}
    for lg in lgs:
        s = lg.runs
        r = {k: summary([x[k] for x in s]) for k in
             ("wall_s", "cpu_s", "mb_per_s", "cpu_s_per_100mb", "idle_rss_kib", "peak_rss_kib",
              "extra_kib")}
        vs = [x["verify"] for x in s]
        r["verified"] = {
            "runs": len(vs),
            "complete": sum(v["complete"] for v in vs),
            "sha256_ok": sum(v["sha256_ok"] for v in vs),
            "split_files_max": max(v["split_files"] for v in vs),
            "lines_min": min(v["lines"] for v in vs),
            "files_median": statistics.median(v["files"] for v in vs),
        }
        r["samples"] = s
        res[lg.name] = r
    ref = res.get(REFERENCE)
    for name, r in res.items():
        r["ratios_vs_s6_log"] = {
            "throughput": ratio(r["mb_per_s"]["median"], get(ref, "mb_per_s", "median")),
            "cpu_per_mb": ratio(r["cpu_s_per_100mb"]["median"], get(ref, "cpu_s_per_100mb", "median")),
        }
        if ref and name != REFERENCE:
            r["paired_ratios_vs_s6_log"] = {
                "mb_per_s": paired_ratio(r["samples"], ref["samples"], "mb_per_s"),
                "cpu_s_per_100mb": paired_ratio(r["samples"], ref["samples"], "cpu_s_per_100mb"),
            }
    return res


def check_targets(res: dict) -> dict | None:
    r = res.get("ibex")
    if not r:
        return None
    rt = r["ratios_vs_s6_log"]
    v = r["verified"]
    thr = rt["throughput"]
    return {
        "throughput": {**target(thr, TARGETS["throughput_ratio_min"],
                                thr is not None and thr >= TARGETS["throughput_ratio_min"]), "op": "≥"},
        "cpu_per_mb": target(rt["cpu_per_mb"], TARGETS["cpu_per_mb_ratio_max"],
                             rt["cpu_per_mb"] is not None and rt["cpu_per_mb"] <= TARGETS["cpu_per_mb_ratio_max"]),
        "extra_memory": target(r["extra_kib"]["max"], TARGETS["extra_memory_max_kib"],
                               r["extra_kib"]["max"] <= TARGETS["extra_memory_max_kib"]),
        "split_files": target(v["split_files_max"], TARGETS["split_files_max"],
                              v["split_files_max"] <= TARGETS["split_files_max"]),
        "verified": {**target(v["sha256_ok"], v["runs"], v["sha256_ok"] == v["runs"]), "op": "="},
    }


def fmt_kib(v) -> str:
    return "–" if v is None else f"{v:,.0f} KiB"


def markdown(res: dict, meta: dict, targets: dict | None) -> str:
    L = [f"## Log throughput ({meta['mb']} MB of 100-byte lines, {meta['keep']} files of "
         f"10 MB kept, {meta['rounds']} rounds, interleaved; writes of "
         f"{meta['chunk'] or '650 whole lines = 65,000'} bytes)", "",
         f"kernel {meta['kernel']}, {meta['cpus']} CPUs, log files on {meta['fs']}; writer "
         f"`{meta['writer_cc']}`; ratios relative to {REFERENCE}; ± is half the IQR", "",
         "| logger | MB/s | x s6-log | CPU s / 100 MB | x s6-log | idle RSS | peak RSS | extra "
         "| files | verified | split files |",
         "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|"]
    for name, r in res.items():
        rt = r["ratios_vs_s6_log"]
        v = r["verified"]
        ok = (f"{v['sha256_ok']}/{v['runs']} exact" if v["sha256_ok"] == v["runs"]
              else f"**{v['runs'] - v['sha256_ok']}/{v['runs']} wrong**")
        L.append(f"| {name} | {r['mb_per_s']['median']:.0f}{fmt_spread(r['mb_per_s'])} "
                 f"| {fmt_ratio(rt['throughput'])} "
                 f"| {r['cpu_s_per_100mb']['median']:.3f}{fmt_spread(r['cpu_s_per_100mb'])} "
                 f"| {fmt_ratio(rt['cpu_per_mb'])} | {fmt_kib(r['idle_rss_kib']['median'])} "
                 f"| {fmt_kib(r['peak_rss_kib']['median'])} | {fmt_kib(r['extra_kib']['median'])} "
                 f"| {v['files_median']:.0f} | {ok} | {v['split_files_max']} |")
    L += ["", "MB/s: N x 100 bytes over the wall time from releasing the writer to the last byte "
          "in the directory. CPU: the logger process only (not the writer). extra: peak RSS "
          "minus idle RSS. verified: the files in order are byte for byte the writer's stream "
          "(SHA-256). split files: files that end in the middle of a line (most in one run)."]
    L += paired_table(res, "paired_ratios_vs_s6_log", "logger", REFERENCE,
                      [("MB/s", "mb_per_s"), ("CPU/MB", "cpu_s_per_100mb")])
    labels = {
        "throughput": ("throughput vs s6-log", fmt_ratio, fmt_ratio),
        "cpu_per_mb": ("CPU per MB vs s6-log", fmt_ratio, fmt_ratio),
        "extra_memory": ("extra memory while logging (max)", fmt_kib, fmt_kib),
        "split_files": ("files ending mid-line", str, str),
        "verified": ("runs with the exact stream", str, str),
    }
    L += targets_table(res, targets, labels)
    return "\n".join(L)


# --------------------------------------------------------------------------
# main


def fs_type(path: Path) -> str:
    """The file system of `path` (findmnt names ext4 where stat -f says ext2/ext3)."""
    for cmd in (["findmnt", "-n", "-o", "FSTYPE", "-T", str(path)], ["stat", "-f", "-c", "%T", str(path)]):
        try:
            r = subprocess.run(cmd, capture_output=True, text=True)
        except OSError:
            continue
        if r.returncode == 0 and r.stdout.strip():
            return r.stdout.strip()
    return "?"


def parse_args(argv: list[str]) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        description="Log throughput of ibex's log directories (and of its s6-log) against "
                    "Debian's s6-log, runit's svlogd and supervisord, with every line checked. "
                    "Run as root.")
    add_ibex_arguments(ap)
    ap.add_argument("--mb", type=int, help=f"megabytes (10^6) written per run (default {DEFAULT_MB}, "
                                          f"--quick: {QUICK_MB})")
    ap.add_argument("--rounds", type=int, help=f"runs per logger (default {DEFAULT_ROUNDS}, "
                                              f"--quick: {QUICK_ROUNDS})")
    ap.add_argument("--keep", type=int, default=DEFAULT_KEEP,
                    help=f"archives kept (n / MaxFiles / backups; default {DEFAULT_KEEP}: all)")
    ap.add_argument("--chunk", type=int, default=0,
                    help="bytes per write of the writer (default 0: 650 whole lines, 65,000 "
                         "bytes; 4096: what stdio's full buffering writes into a pipe, pieces "
                         "that end anywhere in a line)")
    ap.add_argument("--dir", help="where the log directories go (default: a temporary directory "
                                  "under $TMPDIR; e.g. /dev/shm to leave the disk out)")
    ap.add_argument("--loggers", help="comma-separated subset (ibex,ibex-s6-log,s6-log,svlogd,"
                                      "supervisord); s6-log is always included")
    ap.add_argument("--settle", type=float, default=0.2,
                    help="seconds the logger idles before the writer starts (default 0.2)")
    ap.add_argument("--timeout", type=float, default=120, help="seconds per run (default 120)")
    ap.add_argument("--json", metavar="PATH", help="also write full results (all samples) as JSON")
    ap.add_argument("--quick", action="store_true", help="one small run each: a smoke test")
    ap.add_argument("--no-install", action="store_true", help="do not apt-get install missing packages")
    ap.add_argument("--check", action="store_true", help="exit 3 if ibex misses one of its targets")
    a = ap.parse_args(argv)
    resolve_ibex_argument(ap, a)
    a.mb = a.mb if a.mb is not None else (QUICK_MB if a.quick else DEFAULT_MB)
    a.rounds = a.rounds if a.rounds is not None else (QUICK_ROUNDS if a.quick else DEFAULT_ROUNDS)
    if a.mb < 1 or a.rounds < 1 or a.keep < 1 or a.chunk < 0:
        ap.error("--mb, --rounds and --keep must be >= 1, --chunk >= 0")
    return a


def main(argv: list[str]) -> int:
    a = parse_args(argv)
    require_root("running loggers and supervisors as root, as in a container, and reading their /proc")
    ibex = ibex_binary(a.ibex, "the others")
    lgs = choose(loggers(ibex, a.keep), a.loggers, REFERENCE, bool(ibex), "logger(s) in --loggers")
    missing = missing_packages(lgs)
    before = pids_running((), ("supervisord",)) if "supervisor" in missing else set()
    if install_packages(missing, not a.no_install) and "supervisor" in missing:
        stop_new_system_supervisord(before)
    require_gcc(LINES_SRC)
    lgs = skip_unavailable(lgs, REFERENCE, "s6-log is the reference")
    versions = {lg.name: (ibex_version(lg.binary) if lg.binary == ibex else package_version(lg.package))
                for lg in lgs}

    n = a.mb * 1_000_000 // LINE
    exp = Expected(n)
    t_start = time.monotonic()
    base = Path(tempfile.mkdtemp(prefix="ibex-log-bench-", dir=a.dir)).resolve()
    os.chmod(base, 0o755)
    failed = None
    try:
        lines_bin = base / "lines"
        cc = compile_c(LINES_SRC, lines_bin)
        log(f"expected stream: {n} lines, sha256 {exp.sha256_from(0)[:16]}...")
        become_subreaper()
        for rnd in range(a.rounds):
            for lg in rotate(lgs, rnd):
                r = run_once(lg, lines_bin, n, base, a.keep, a.chunk, a.settle, a.timeout, exp)
                lg.runs.append(r)
                v = r["verify"]
                log(f"round {rnd + 1}: {lg.name}: {r['mb_per_s']:.0f} MB/s, cpu {r['cpu_s']:.3f} s, "
                    f"peak {r['peak_rss_kib']} KiB, {v['lines']} lines, "
                    f"{'exact' if v['sha256_ok'] else 'WRONG'}, {v['split_files']} split")
    except BenchError as e:
        failed = str(e)
    except KeyboardInterrupt:
        failed = "interrupted"
    finally:
        for p in strays(str(base)):
            send_signal(p, signal.SIGKILL)
        fs = fs_type(base)
        shutil.rmtree(base, ignore_errors=True)
    if failed:
        die(failed, 1)

    res = analyse(lgs)
    targets = check_targets(res)
    meta = {**machine_meta(), "mb": a.mb, "lines": n, "rounds": a.rounds, "keep": a.keep,
            "file_size": FILE_SIZE, "fs": fs, "chunk": a.chunk, "quick": a.quick, "versions": versions,
            "writer_cc": describe_cc(cc, LINES_SRC),
            "duration_s": round(time.monotonic() - t_start, 1), "reference": REFERENCE,
            "targets": TARGETS}
    return finish(markdown(res, meta, targets), a.json, {"meta": meta, "loggers": res, "targets": targets},
                  meta["duration_s"], targets, a.check)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
