#!/usr/bin/env python3
"""Benchmark ibex against other PID-1 inits (tini, dumb-init, catatonit).

Every init runs as PID 1 of a fresh PID namespace
(`unshare --pid --fork --mount-proc`), all in the same invocation:

  * orphan reaping: bench/orphans.c creates N orphans and measures how long
    until PID 1 has reaped them all (wall) and how much CPU PID 1 burned doing
    it (from /proc/1/schedstat);
  * idle memory: VmRSS / Pss / private memory of the init while it supervises
    `sleep 1000`;
  * binary size (and whether the binary is static / stripped).

Runs are interleaved round-robin across inits so that slow drifts of the
machine (thermal, other load, page cache) hit every init equally.

    sudo bench/run.py --ibex .build-release/ibex
    sudo bench/run.py --quick --json /tmp/bench.json      # smoke test

Python 3.11 standard library only.  Must run as root.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shlex
import shutil
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
ORPHANS_SRC = BENCH_DIR / "orphans.c"
UNSHARE = ["unshare", "--pid", "--fork", "--mount-proc"]

DEFAULT_RUNS = 15
DEFAULT_ORPHANS = 5000
QUICK_RUNS = 3
QUICK_ORPHANS = 1000
DEFAULT_IBEX_PREFIX = "{ibex} run --"
REFERENCE = "tini"
MIB = 1024 * 1024

# Targets for ibex (ratios are relative to REFERENCE).
TARGETS = {
    "reap_wall_ratio_max": 1.00,
    "init_cpu_ratio_max": 0.85,
    "idle_rss_ratio_max": 1.00,
    "stripped_static_size_max": 1 * MIB,
}


@dataclass
class Init:
    name: str
    binary: str  # the file that is exec'd as PID 1
    prefix: list[str]  # command prefix placed before PROGRAM ARGS...
    package: str | None = None  # Debian package providing it (anchors)
    reap: list[dict] = field(default_factory=list)
    memory: list[dict] = field(default_factory=list)


def anchors() -> list[Init]:
    return [
        Init("tini", "/usr/bin/tini", ["/usr/bin/tini", "--"], "tini"),
        Init("tini-static", "/usr/bin/tini-static", ["/usr/bin/tini-static", "--"], "tini"),
        Init("dumb-init", "/usr/bin/dumb-init", ["/usr/bin/dumb-init"], "dumb-init"),
        Init("catatonit", "/usr/bin/catatonit", ["/usr/bin/catatonit", "--"], "catatonit"),
    ]


class BenchError(Exception):
    pass


def die(msg: str, code: int = 2) -> "None":
    print(f"bench: error: {msg}", file=sys.stderr)
    sys.exit(code)


def log(msg: str) -> None:
    print(f"bench: {msg}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------
# environment


def check_environment() -> None:
    if os.geteuid() != 0:
        die("must run as root (creating PID namespaces and reading another "
            "process's schedstat/smaps need it); try: sudo " + " ".join(map(shlex.quote, sys.argv)))
    if shutil.which("unshare") is None:
        die("`unshare` (util-linux) not found in PATH")
    try:
        r = subprocess.run(UNSHARE + ["true"], capture_output=True, text=True, timeout=30)
    except subprocess.TimeoutExpired:
        die("`unshare --pid --fork --mount-proc true` timed out")
    if r.returncode != 0:
        die("creating a PID namespace is not permitted here "
            f"(`{' '.join(UNSHARE)} true` exited {r.returncode}: {r.stderr.strip()}); "
            "a container needs CAP_SYS_ADMIN / --privileged for this benchmark")


def apt_install(packages: list[str]) -> None:
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    cmd = ["apt-get", "install", "-y", "--no-install-recommends", *packages]
    log("installing missing packages: " + " ".join(cmd))
    # apt's chatter goes to stderr: stdout is reserved for the report
    if subprocess.run(cmd, env=env, stdout=sys.stderr).returncode == 0:
        return
    log("apt-get install failed; running apt-get update and retrying")
    subprocess.run(["apt-get", "update"], env=env, stdout=sys.stderr)
    if subprocess.run(cmd, env=env, stdout=sys.stderr).returncode != 0:
        log("warning: apt-get install failed")


def ensure_tools(inits: list[Init], install: bool) -> None:
    missing_pkgs = sorted({i.package for i in inits if i.package and not os.access(i.binary, os.X_OK)})
    if shutil.which("gcc") is None:
        missing_pkgs += ["gcc", "libc6-dev"]
    if missing_pkgs and install and os.geteuid() == 0 and shutil.which("apt-get"):
        apt_install(missing_pkgs)
    if shutil.which("gcc") is None:
        die("gcc not found (needed to build bench/orphans.c); install gcc")


def compile_orphans(outdir: Path) -> tuple[Path, list[str]]:
    out = outdir / "orphans"
    base = ["gcc", "-O2", "-Wall", "-Wextra", "-o", str(out), str(ORPHANS_SRC)]
    # A static workload forks faster (smaller page tables, no ld.so), which
    # puts more pressure on PID 1; fall back to dynamic if libc.a is missing.
    for extra in (["-static"], []):
        cmd = base[:2] + extra + base[2:]
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode == 0:
            if r.stderr.strip():
                log("warning: compiler output for orphans.c:\n" + r.stderr.rstrip())
            return out, cmd
        last = r
    die(f"compiling {ORPHANS_SRC} failed:\n{last.stderr}", 1)
    raise AssertionError


# --------------------------------------------------------------------------
# process helpers


def children_of(pid: int) -> list[int]:
    kids: list[int] = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                kids += [int(x) for x in f.read().split()]
        return kids
    except FileNotFoundError:
        if not os.path.exists(f"/proc/{pid}"):
            return []
    # Kernel without CONFIG_PROC_CHILDREN: scan /proc for the parent pid.
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    s = f.read()
            except OSError:
                continue
            if int(s[s.rindex(")") + 2:].split()[1]) == pid:
                kids.append(int(d))
    return kids


def kill_namespace(p: subprocess.Popen) -> None:
    """SIGKILL the namespace's PID 1 (the kernel then kills every process in
    the namespace), then reap the unshare process."""
    for init_pid in children_of(p.pid):
        try:
            os.kill(init_pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    try:
        p.wait(timeout=10)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()


# --------------------------------------------------------------------------
# measurements


def run_reap(init: Init, orphans_bin: Path, n: int, timeout: int) -> dict:
    cmd = UNSHARE + init.prefix + [str(orphans_bin), str(n), str(timeout)]
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    try:
        out, err = p.communicate(timeout=timeout + 30)
    except subprocess.TimeoutExpired:
        kill_namespace(p)
        p.communicate()
        raise BenchError(f"{init.name}: orphan run did not finish in {timeout + 30} s")
    lines = [l for l in out.splitlines() if l.startswith("{")]
    if p.returncode != 0 or not lines:
        raise BenchError(f"{init.name}: `{shlex.join(cmd)}` exited {p.returncode}\n"
                         f"stdout: {out.strip()}\nstderr: {err.strip()}")
    res = json.loads(lines[-1])
    if res.get("orphans") != n:
        raise BenchError(f"{init.name}: expected {n} orphans, workload reported {res}")
    if res.get("init_cpu_ns", 0) <= 0:
        raise BenchError(f"{init.name}: init_cpu_ns is {res.get('init_cpu_ns')} "
                         "(is /proc/<pid>/schedstat available?)")
    return res


def read_kib(path: str, keys: tuple[str, ...]) -> dict[str, int]:
    vals: dict[str, int] = {}
    with open(path) as f:
        for line in f:
            k, _, rest = line.partition(":")
            if k in keys:
                vals[k] = int(rest.split()[0])  # kB
    return vals


def idle_memory(init: Init, settle: float) -> dict:
    p = subprocess.Popen(UNSHARE + init.prefix + ["sleep", "1000"], stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    want = os.path.realpath(init.binary)
    try:
        deadline = time.monotonic() + 10
        init_pid = None
        while True:
            if p.poll() is not None:
                raise BenchError(f"{init.name}: idle run exited early ({p.returncode}): "
                                 f"{p.stderr.read().strip()}")
            kids = children_of(p.pid)
            if kids:
                try:
                    exe = os.path.realpath(os.readlink(f"/proc/{kids[0]}/exe"))
                except OSError:
                    exe = None
                # exec'd into the init, and the init has started `sleep`
                if exe == want and children_of(kids[0]):
                    init_pid = kids[0]
                    break
            if time.monotonic() > deadline:
                raise BenchError(f"{init.name}: init did not start `sleep` within 10 s")
            time.sleep(0.01)
        time.sleep(settle)
        st = read_kib(f"/proc/{init_pid}/status", ("VmRSS", "VmHWM", "RssAnon", "RssFile"))
        ro = read_kib(f"/proc/{init_pid}/smaps_rollup",
                      ("Rss", "Pss", "Private_Clean", "Private_Dirty"))
        return {
            "rss_kib": st["VmRSS"],
            "hwm_kib": st.get("VmHWM"),
            "rss_anon_kib": st.get("RssAnon"),
            "rss_file_kib": st.get("RssFile"),
            "pss_kib": ro["Pss"],
            "uss_kib": ro.get("Private_Clean", 0) + ro.get("Private_Dirty", 0),
        }
    finally:
        kill_namespace(p)


def elf_is_static(path: str) -> bool | None:
    """True if the ELF file has no PT_INTERP (static or static-pie)."""
    try:
        with open(path, "rb") as f:
            h = f.read(64)
            if h[:4] != b"\x7fELF":
                return None
            is64, end = h[4] == 2, "<" if h[5] == 1 else ">"
            if is64:
                phoff, = struct.unpack_from(end + "Q", h, 32)
                phentsize, phnum = struct.unpack_from(end + "HH", h, 54)
            else:
                phoff, = struct.unpack_from(end + "I", h, 28)
                phentsize, phnum = struct.unpack_from(end + "HH", h, 42)
            f.seek(phoff)
            ph = f.read(phentsize * phnum)
        for i in range(phnum):
            if struct.unpack_from(end + "I", ph, i * phentsize)[0] == 3:  # PT_INTERP
                return False
        return True
    except (OSError, struct.error):
        return None


def binary_info(path: str) -> dict:
    info: dict = {"path": path, "size": os.stat(path).st_size}
    desc = None
    if shutil.which("file"):
        r = subprocess.run(["file", "-L", "-b", path], capture_output=True, text=True)
        if r.returncode == 0:
            desc = r.stdout.strip()
    info["file"] = desc
    if desc and ("statically linked" in desc or "static-pie linked" in desc):
        info["static"] = True
    elif desc and "dynamically linked" in desc:
        info["static"] = False
    else:
        info["static"] = elf_is_static(path)
    info["stripped_size"] = None
    if shutil.which("strip"):
        with tempfile.TemporaryDirectory() as td:
            out = os.path.join(td, "s")
            r = subprocess.run(["strip", "-o", out, path], capture_output=True)
            if r.returncode == 0:
                info["stripped_size"] = os.stat(out).st_size
    if info["stripped_size"] is not None:
        info["stripped"] = info["stripped_size"] == info["size"]
    elif desc:
        info["stripped"] = "not stripped" not in desc
    else:
        info["stripped"] = None
    return info


# --------------------------------------------------------------------------
# statistics / report


def summary(xs: list[float]) -> dict:
    xs = sorted(xs)
    q = statistics.quantiles(xs, n=4, method="inclusive") if len(xs) > 1 else [xs[0]] * 3
    return {"median": statistics.median(xs), "min": xs[0], "max": xs[-1],
            "p25": q[0], "p75": q[2], "n": len(xs)}


def ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or b == 0:
        return None
    return a / b


def fmt_ratio(r: float | None) -> str:
    return "–" if r is None else f"{r:.2f}x"


def fmt_spread(s: dict) -> str:
    # half the inter-quartile range, relative to the median
    if s["median"] == 0:
        return ""
    return f" ±{(s['p75'] - s['p25']) / 2 / s['median'] * 100:.0f}%"


def fmt_size(n: int | None) -> str:
    if n is None:
        return "–"
    return f"{n / 1024:,.0f} KiB" if n < MIB else f"{n / MIB:.2f} MiB"


def analyse(inits: list[Init], sizes: dict[str, dict]) -> dict:
    res: dict = {}
    for i in inits:
        r: dict = {"prefix": i.prefix, "binary": sizes.get(i.name)}
        if i.reap:
            r["reap"] = {k: summary([s[k] for s in i.reap])
                         for k in ("wall_ns", "init_cpu_ns", "fork_ns", "drain_ns", "init_sched_count")}
            r["reap"]["samples"] = i.reap
        if i.memory:
            r["memory"] = {k: summary([float(s[k]) for s in i.memory])
                           for k in ("rss_kib", "pss_kib", "uss_kib")}
            r["memory"]["samples"] = i.memory
        res[i.name] = r
    ref = res.get(REFERENCE, {})
    for name, r in res.items():
        def med(x: dict, *path: str) -> float | None:
            for p in path:
                x = x.get(p) if isinstance(x, dict) else None
            return x
        r["ratios_vs_tini"] = {
            "reap_wall": ratio(med(r, "reap", "wall_ns", "median"), med(ref, "reap", "wall_ns", "median")),
            "init_cpu": ratio(med(r, "reap", "init_cpu_ns", "median"), med(ref, "reap", "init_cpu_ns", "median")),
            "idle_rss": ratio(med(r, "memory", "rss_kib", "median"), med(ref, "memory", "rss_kib", "median")),
            "idle_pss": ratio(med(r, "memory", "pss_kib", "median"), med(ref, "memory", "pss_kib", "median")),
            "binary_size": ratio(med(r, "binary", "size"), med(ref, "binary", "size")),
        }
        # Cross-check that is robust against slow drift of the machine: the
        # median over rounds of (this init / tini) measured in the same round.
        if "reap" in r and "reap" in ref:
            pairs = list(zip(r["reap"]["samples"], ref["reap"]["samples"]))
            r["paired_ratios_vs_tini"] = {
                k: statistics.median(a[k] / b[k] for a, b in pairs if b[k])
                for k in ("wall_ns", "init_cpu_ns")
            }
    return res


def check_targets(res: dict) -> dict | None:
    r = res.get("ibex")
    if not r:
        return None
    rt = r["ratios_vs_tini"]
    b = r.get("binary") or {}
    size = b.get("stripped_size") or b.get("size")

    def t(value, limit, ok):
        return {"value": value, "limit": limit, "pass": bool(ok)}

    return {
        "reap_wall_ratio": t(rt["reap_wall"], TARGETS["reap_wall_ratio_max"],
                             rt["reap_wall"] is not None and rt["reap_wall"] <= TARGETS["reap_wall_ratio_max"]),
        "init_cpu_ratio": t(rt["init_cpu"], TARGETS["init_cpu_ratio_max"],
                            rt["init_cpu"] is not None and rt["init_cpu"] <= TARGETS["init_cpu_ratio_max"]),
        "idle_rss_ratio": t(rt["idle_rss"], TARGETS["idle_rss_ratio_max"],
                            rt["idle_rss"] is not None and rt["idle_rss"] <= TARGETS["idle_rss_ratio_max"]),
        "stripped_static_size": t(size, TARGETS["stripped_static_size_max"],
                                  size is not None and b.get("static") is True
                                  and size <= TARGETS["stripped_static_size_max"]),
    }


def markdown(res: dict, meta: dict, targets: dict | None) -> str:
    L: list[str] = []
    L.append(f"## Init benchmark ({meta['orphans']} orphans x {meta['runs']} runs, "
             f"interleaved; idle memory median of {meta['mem_samples']})")
    L.append("")
    L.append(f"kernel {meta['kernel']}, {meta['cpus']} CPUs, workload `{meta['workload_cc']}`; "
             f"ratios relative to {REFERENCE}; ± is half the IQR")
    L.append("")
    L.append("| init | reap wall (ms) | x tini | init CPU (ms) | x tini | drain (µs) "
             "| idle RSS (KiB) | x tini | idle PSS (KiB) | binary | x tini | linkage |")
    L.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for name, r in res.items():
        rt = r["ratios_vs_tini"]
        b = r.get("binary") or {}
        if "reap" in r:
            w, c, d = r["reap"]["wall_ns"], r["reap"]["init_cpu_ns"], r["reap"]["drain_ns"]
            wall = f"{w['median'] / 1e6:.1f}{fmt_spread(w)}"
            cpu = f"{c['median'] / 1e6:.2f}{fmt_spread(c)}"
            drain = f"{d['median'] / 1e3:.0f}"
        else:
            wall = cpu = drain = "–"
        if "memory" in r:
            rss = f"{r['memory']['rss_kib']['median']:,.0f}"
            pss = f"{r['memory']['pss_kib']['median']:,.0f}"
        else:
            rss = pss = "–"
        link = "?" if b.get("static") is None else ("static" if b["static"] else "dynamic")
        if b.get("stripped") is False:
            link += f", unstripped (stripped {fmt_size(b.get('stripped_size'))})"
        L.append(f"| {name} | {wall} | {fmt_ratio(rt['reap_wall'])} | {cpu} | {fmt_ratio(rt['init_cpu'])} "
                 f"| {drain} | {rss} | {fmt_ratio(rt['idle_rss'])} | {pss} "
                 f"| {fmt_size(b.get('size'))} | {fmt_ratio(rt['binary_size'])} | {link} |")
    L.append("")
    L.append("Dynamic binaries' sizes exclude the shared libraries they load.")
    paired = {n: r["paired_ratios_vs_tini"] for n, r in res.items() if "paired_ratios_vs_tini" in r}
    if paired:
        L.append("")
        L.append("Cross-check, median over rounds of the same-round ratio init/tini:")
        L.append("")
        L.append("| init | reap wall x tini (paired) | init CPU x tini (paired) |")
        L.append("|---|---:|---:|")
        for n, p in paired.items():
            L.append(f"| {n} | {p['wall_ns']:.2f}x | {p['init_cpu_ns']:.2f}x |")
    if targets:
        L.append("")
        L.append("### ibex targets")
        L.append("")
        L.append("| target | value | limit | result |")
        L.append("|---|---:|---:|---|")
        def r3(x: float | None) -> str:
            return "–" if x is None else f"{x:.3f}x"

        b = res["ibex"].get("binary") or {}
        linkage = {True: "", False: " (dynamic!)", None: " (linkage unknown)"}[b.get("static")]
        names = {
            "reap_wall_ratio": ("reap wall time vs tini", r3, fmt_ratio),
            "init_cpu_ratio": ("init CPU vs tini", r3, fmt_ratio),
            "idle_rss_ratio": ("idle RSS vs tini", r3, fmt_ratio),
            "stripped_static_size": ("stripped static binary",
                                     lambda v: fmt_size(v) + linkage, fmt_size),
        }
        for k, t in targets.items():
            label, fv, fl = names[k]
            L.append(f"| {label} | {fv(t['value'])} | ≤ {fl(t['limit'])} | "
                     f"{'PASS' if t['pass'] else 'FAIL'} |")
    elif "ibex" not in res:
        L.append("")
        L.append("(ibex not benchmarked: pass --ibex PATH or set IBEX=PATH)")
    return "\n".join(L)


# --------------------------------------------------------------------------
# main


def parse_args(argv: list[str]) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        description="Compare ibex with tini, dumb-init and catatonit as PID 1 of a fresh "
                    "PID namespace (orphan reaping time and CPU, idle memory, binary size). "
                    "Run as root.")
    ap.add_argument("ibex_pos", nargs="?", metavar="IBEX",
                    help="path to the ibex binary (same as --ibex; default: $IBEX)")
    ap.add_argument("--ibex", help="path to the ibex binary (default: $IBEX)")
    # Hidden: command prefix template for the ibex row, {ibex} is replaced by
    # the binary path.  Lets another init stand in for ibex, e.g.
    #   --ibex /usr/bin/tini --ibex-prefix '{ibex} --'
    ap.add_argument("--ibex-prefix", default=os.environ.get("IBEX_PREFIX", DEFAULT_IBEX_PREFIX),
                    help=argparse.SUPPRESS)
    ap.add_argument("--runs", type=int, help=f"orphan runs per init (default {DEFAULT_RUNS}, "
                                             f"--quick: {QUICK_RUNS})")
    ap.add_argument("--orphans", type=int, help=f"orphans per run (default {DEFAULT_ORPHANS}, "
                                                f"--quick: {QUICK_ORPHANS})")
    ap.add_argument("--mem-samples", type=int, help="idle-memory samples per init (default 3, --quick: 1)")
    ap.add_argument("--settle", type=float, default=0.5,
                    help="seconds to let the idle init settle before reading memory (default 0.5)")
    ap.add_argument("--inits", help="comma-separated subset of inits to run "
                                    "(ibex,tini,tini-static,dumb-init,catatonit); tini is always included")
    ap.add_argument("--json", metavar="PATH", help="also write full results (all samples) as JSON")
    ap.add_argument("--quick", action="store_true", help="few short runs: a smoke test, not a measurement")
    ap.add_argument("--timeout", type=int, default=60, help="per-run reap timeout in seconds (default 60)")
    ap.add_argument("--no-install", action="store_true",
                    help="do not apt-get install missing tini/dumb-init/catatonit")
    ap.add_argument("--check", action="store_true",
                    help="exit 3 if ibex misses one of its targets")
    a = ap.parse_args(argv)
    if a.ibex and a.ibex_pos and a.ibex != a.ibex_pos:
        ap.error("ibex path given twice (positional and --ibex)")
    a.ibex = a.ibex or a.ibex_pos or os.environ.get("IBEX") or None
    a.runs = a.runs if a.runs is not None else (QUICK_RUNS if a.quick else DEFAULT_RUNS)
    a.orphans = a.orphans if a.orphans is not None else (QUICK_ORPHANS if a.quick else DEFAULT_ORPHANS)
    a.mem_samples = a.mem_samples if a.mem_samples is not None else (1 if a.quick else 3)
    if a.runs < 1 or a.orphans < 1 or a.mem_samples < 1:
        ap.error("--runs, --orphans and --mem-samples must be >= 1")
    return a


def main(argv: list[str]) -> int:
    a = parse_args(argv)
    check_environment()

    inits: list[Init] = []
    if a.ibex:
        ibex = os.path.abspath(a.ibex)
        if not (os.path.isfile(ibex) and os.access(ibex, os.X_OK)):
            die(f"ibex binary {ibex!r} does not exist or is not executable")
        prefix = [t.replace("{ibex}", ibex) for t in shlex.split(a.ibex_prefix)]
        inits.append(Init("ibex", ibex, prefix))
        if a.ibex_prefix != DEFAULT_IBEX_PREFIX:
            log(f"ibex row uses custom prefix: {shlex.join(prefix)}")
    else:
        log("no ibex binary given (--ibex PATH or IBEX=PATH): benchmarking the anchors only")
    inits += anchors()
    if a.inits:
        wanted = {s.strip() for s in a.inits.split(",") if s.strip()} | {REFERENCE}
        unknown = wanted - {i.name for i in inits} - ({"ibex"} if not a.ibex else set())
        if unknown:
            die(f"unknown init(s) in --inits: {', '.join(sorted(unknown))}")
        inits = [i for i in inits if i.name in wanted]

    ensure_tools(inits, install=not a.no_install)
    for i in list(inits):
        if not os.access(i.binary, os.X_OK):
            if i.name == REFERENCE:
                die(f"{i.binary} is missing and could not be installed; it is the reference init")
            log(f"warning: {i.binary} missing; skipping {i.name}")
            inits.remove(i)

    sizes = {i.name: binary_info(i.binary) for i in inits}
    t_start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="ibex-bench-") as td:
        orphans_bin, cc_cmd = compile_orphans(Path(td))
        # the namespace's init must be able to exec it
        os.chmod(td, 0o755)
        try:
            log(f"warm-up: one discarded run per init ({', '.join(i.name for i in inits)})")
            for i in inits:
                run_reap(i, orphans_bin, a.orphans, a.timeout)
            for rnd in range(a.runs):
                k = rnd % len(inits)  # rotate who goes first each round
                order = inits[k:] + inits[:k]
                for i in order:
                    i.reap.append(run_reap(i, orphans_bin, a.orphans, a.timeout))
                log(f"round {rnd + 1}/{a.runs} done ({time.monotonic() - t_start:.0f} s)")
            for rnd in range(a.mem_samples):
                k = rnd % len(inits)
                for i in inits[k:] + inits[:k]:
                    i.memory.append(idle_memory(i, a.settle))
            log(f"idle memory: {a.mem_samples} sample(s) per init done")
        except BenchError as e:
            die(str(e), 1)

    res = analyse(inits, sizes)
    targets = check_targets(res)
    meta = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "kernel": platform.release(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "runs": a.runs,
        "orphans": a.orphans,
        "mem_samples": a.mem_samples,
        "settle_s": a.settle,
        "quick": a.quick,
        "workload_cc": " ".join(cc_cmd[:-3] + cc_cmd[-1:]).replace(str(ORPHANS_SRC), "orphans.c"),
        "duration_s": round(time.monotonic() - t_start, 1),
        "reference": REFERENCE,
        "targets": TARGETS,
    }
    print(markdown(res, meta, targets))
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"meta": meta, "inits": res, "targets": targets}, f, indent=2)
            f.write("\n")
        log(f"wrote {a.json}")
    log(f"total {meta['duration_s']} s")
    if a.check and targets and not all(t["pass"] for t in targets.values()):
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
