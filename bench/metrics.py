#!/usr/bin/env python3
"""One Prometheus scrape of 100 services: `ibex serve-metrics` against Debian's
`prometheus-process-exporter` over the same 100 processes.

ibex init runs as PID 1 of a new pid namespace (unshare --pid --fork
--mount-proc) with 100 services, service k running `sleep 10000kkk` (one
process each, every one with a distinct command line), plus metrics.service:
`ibex serve-metrics --listen 127.0.0.1:PORT`, which reads ibex's snapshot over
the control socket and /proc for the services' CPU, memory and process count.

process-exporter (Debian's prometheus-process-exporter) runs beside it with
`-procfs /proc` and a configuration that makes one group per service from the
same command lines (`sleep (?P<k>10000\\d\\d\\d)` -> name k): 100 groups of one
process, the same question ibex answers (per-service CPU, memory, process count).
Its per-thread and smaps extras are switched off (-threads=false
-gather-smaps=false), which only makes it cheaper.

Each round scrapes each server once (in alternating order) with a fresh
connection, `GET /metrics` with Prometheus's Accept header, and measures:

  * the wall time from connect to the last byte of the answer;
  * the CPU (user + system, from /proc/PID/stat) each server process used,
    and for ibex also PID 1's (the snapshot it answers): summed over all
    rounds, divided by the rounds (clock ticks are 10 ms: per scrape only the
    average over many scrapes means anything).

    sudo bench/metrics.py --ibex .build-release/ibex [--rounds 300] [--json out.json]
    sudo bench/metrics.py --quick --ibex .build-release/ibex   # smoke test

Python 3.11 standard library only. Must run as root (pid namespace).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.dont_write_bytecode = True
from common import (BenchError, add_ibex_arguments, die, finish, fmt_ratio, fmt_spread, ibex_binary, install_packages,
                    log, machine_meta, require_root, resolve_ibex_argument, summary)

SERVICES = 100
ROUNDS = 300
QUICK_ROUNDS = 20
EXPORTER = "/usr/bin/prometheus-process-exporter"
ACCEPT = ("application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,"
          "text/plain;version=0.0.4;q=0.5,*/*;q=0.1")
TARGETS = {"wall_ratio_max": 0.25, "wall_ms_max": 5.0}
TICK_MS = 1000 / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def scrape(port: int) -> tuple[float, bytes]:
    """One GET /metrics on a fresh connection: seconds from connect to the end, and the body."""
    start = time.perf_counter()
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(f"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAccept: {ACCEPT}\r\n"
                  "Connection: close\r\n\r\n".encode())
        chunks = []
        while True:
            b = s.recv(1 << 20)
            if not b:
                break
            chunks.append(b)
    elapsed = time.perf_counter() - start
    data = b"".join(chunks)
    head, _, body = data.partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 200"):
        raise BenchError(f"scrape of port {port}: {head[:80]!r}")
    return elapsed, body


def cpu_ms(pid: int) -> float:
    """utime + stime of a process, in ms."""
    text = Path(f"/proc/{pid}/stat").read_text()
    fields = text[text.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) * TICK_MS


def children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def find(root: int, predicate) -> int | None:
    """A descendant of `root` whose cmdline satisfies `predicate`."""
    todo = [root]
    while todo:
        pid = todo.pop()
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if predicate(argv):
            return pid
        todo += children(pid)
    return None


def wait_for(condition, timeout: float, what: str):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise BenchError(f"timed out waiting for {what}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_ibex_arguments(ap)
    ap.add_argument("--rounds", type=int, default=ROUNDS)
    ap.add_argument("--services", type=int, default=SERVICES)
    ap.add_argument("--quick", action="store_true", help=f"{QUICK_ROUNDS} rounds")
    ap.add_argument("--json", metavar="FILE")
    ap.add_argument("--check", action="store_true", help="exit 3 when ibex misses a target")
    ap.add_argument("--no-install", action="store_true", help="do not apt-get install prometheus-process-exporter")
    a = ap.parse_args()
    resolve_ibex_argument(ap, a)
    require_root("ibex runs as PID 1 of a new pid namespace")
    ibex = ibex_binary(a.ibex, "serve-metrics")
    if ibex is None:
        die("no ibex binary: pass --ibex PATH (scripts/build-release.sh prints it)")
    if not Path(EXPORTER).exists() and not install_packages(["prometheus-process-exporter"], not a.no_install):
        die("prometheus-process-exporter is missing (apt-get install prometheus-process-exporter)")
    rounds = QUICK_ROUNDS if a.quick else a.rounds
    started = time.monotonic()

    work = Path(tempfile.mkdtemp(prefix="ibex-bench-metrics-"))
    os.chmod(work, 0o755)
    services = work / "etc/ibex/services"
    services.mkdir(parents=True)
    for k in range(1, a.services + 1):
        (services / f"svc{k:03d}.service").write_text(f"[Service]\nExecStart=/bin/sleep 10000{k:03d}\n")
    ibex_port, exporter_port = free_port(), free_port()
    (services / "metrics.service").write_text(
        f"[Service]\nExecStart={ibex} serve-metrics --listen 127.0.0.1:{ibex_port} --root {work}\n")
    config = work / "process-exporter.yml"
    config.write_text("process_names:\n  - name: \"{{.Matches.k}}\"\n    cmdline:\n"
                      "      - 'sleep (?P<k>10000\\d\\d\\d)'\n")

    procs: list[subprocess.Popen] = []
    ibex_pid = None
    try:
        init = subprocess.Popen(["unshare", "--pid", "--fork", "--mount-proc", ibex, "init", "--root", str(work)],
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(init)
        ibex_pid = wait_for(lambda: (children(init.pid) or [None])[0], 10, "ibex init")
        server_pid = wait_for(lambda: find(ibex_pid, lambda argv: b"serve-metrics" in argv), 30, "serve-metrics")
        wait_for(lambda: len([p for p in children(ibex_pid)
                              if Path(f"/proc/{p}/cmdline").read_bytes().startswith(b"/bin/sleep")]) == a.services,
                 30, f"{a.services} services")
        exporter = subprocess.Popen([EXPORTER, "-config.path", str(config), "-procfs", "/proc", "-threads=false",
                                     "-gather-smaps=false", "-web.listen-address", f"127.0.0.1:{exporter_port}"],
                                    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(exporter)

        def ready(port: int, needle: bytes):
            try:
                return needle in scrape(port)[1]
            except (OSError, BenchError):
                return False
        wait_for(lambda: ready(ibex_port, b'ibex_service_up{service="svc100"} 1'), 30, "serve-metrics' first scrape")
        wait_for(lambda: ready(exporter_port, b'groupname="10000100"'), 30, "process-exporter's first scrape")
        _, ibex_body = scrape(ibex_port)
        _, exporter_body = scrape(exporter_port)
        ibex_series = sum(1 for line in ibex_body.split(b"\n") if line and not line.startswith(b"#"))
        exporter_groups = exporter_body.count(b'namedprocess_namegroup_num_procs{groupname=')
        exporter_series = sum(1 for line in exporter_body.split(b"\n") if line and not line.startswith(b"#"))
        if exporter_groups != a.services:
            raise BenchError(f"process-exporter sees {exporter_groups} groups, not {a.services}")

        log(f"{rounds} rounds: ibex (pid {ibex_pid}, serve-metrics {server_pid}) and process-exporter ({exporter.pid})")
        walls: dict[str, list[float]] = {"ibex": [], "process-exporter": []}
        cpu_before = {"ibex": cpu_ms(ibex_pid), "serve-metrics": cpu_ms(server_pid), "process-exporter": cpu_ms(exporter.pid)}
        for r in range(rounds):
            order = [("ibex", ibex_port), ("process-exporter", exporter_port)]
            if r % 2:
                order.reverse()
            for name, port in order:
                walls[name].append(scrape(port)[0] * 1000)
        cpu = {name: (cpu_ms(pid) - cpu_before[name]) / rounds
               for name, pid in [("ibex", ibex_pid), ("serve-metrics", server_pid), ("process-exporter", exporter.pid)]}
    finally:
        # unshare does not pass SIGTERM on: ibex (PID 1 of the namespace) gets it directly.
        if ibex_pid:
            os.kill(ibex_pid, signal.SIGTERM)
        for p in reversed(procs):
            p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(work, ignore_errors=True)

    ibex_wall, exporter_wall = summary(walls["ibex"]), summary(walls["process-exporter"])
    wall_ratio = ibex_wall["median"] / exporter_wall["median"]
    ibex_cpu = cpu["ibex"] + cpu["serve-metrics"]
    results = {
        "services": a.services, "rounds": rounds,
        "wall_ms": {"ibex": ibex_wall, "process-exporter": exporter_wall},
        "cpu_ms_per_scrape": cpu,
        "series": {"ibex": ibex_series, "process-exporter": exporter_series},
        "bytes": {"ibex": len(ibex_body), "process-exporter": len(exporter_body)},
        "targets": {
            "wall_ratio": {"value": wall_ratio, "limit": TARGETS["wall_ratio_max"], "pass": wall_ratio <= TARGETS["wall_ratio_max"]},
            "wall_ms": {"value": ibex_wall["median"], "limit": TARGETS["wall_ms_max"],
                        "pass": ibex_wall["median"] <= TARGETS["wall_ms_max"]},
        },
    }
    lines = [
        f"## One scrape of {a.services} services: ibex serve-metrics against prometheus-process-exporter",
        "",
        f"{rounds} rounds, one scrape of each per round (alternating order), fresh connection each.",
        "",
        "| server | scrape wall (ms, median) | p25-p75 | x exporter | CPU per scrape (ms) | series | bytes |",
        "|---|---:|---:|---:|---:|---:|---:|",
        f"| **ibex serve-metrics** | **{ibex_wall['median']:.2f}**{fmt_spread(ibex_wall)} | "
        f"{ibex_wall['p25']:.2f}-{ibex_wall['p75']:.2f} | **{fmt_ratio(wall_ratio)}** | "
        f"{ibex_cpu:.2f} (PID 1 {cpu['ibex']:.2f} + server {cpu['serve-metrics']:.2f}) | {ibex_series} | {len(ibex_body)} |",
        f"| process-exporter 0.7.10 | {exporter_wall['median']:.2f}{fmt_spread(exporter_wall)} | "
        f"{exporter_wall['p25']:.2f}-{exporter_wall['p75']:.2f} | 1.00x | {cpu['process-exporter']:.2f} | "
        f"{exporter_series} | {len(exporter_body)} |",
        "",
        f"Targets: scrape <= {TARGETS['wall_ratio_max']}x process-exporter's: "
        f"{'met' if results['targets']['wall_ratio']['pass'] else 'NOT met'} ({wall_ratio:.2f}x); "
        f"<= {TARGETS['wall_ms_max']} ms: {'met' if results['targets']['wall_ms']['pass'] else 'NOT met'} "
        f"({ibex_wall['median']:.2f} ms).",
    ]
    sys.exit(finish("\n".join(lines) + "\n", a.json, {"meta": machine_meta(), "results": results},
                    round(time.monotonic() - started, 1), results["targets"], a.check))


if __name__ == "__main__":
    try:
        main()
    except BenchError as e:
        die(str(e), 1)
