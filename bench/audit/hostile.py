#!/usr/bin/env python3
"""Cost of ibex-audit on hostile inputs (issue 12, items 12 and 13): throughput and peak memory.

usage: bench/audit/hostile.py [--binary PATH] [--scale MB] [--json FILE]

For each kind of input, generated at three sizes (scale/4, scale/2 and scale MB, default 4),
runs ibex-audit once and reports wall and CPU time, MB per CPU second and peak RSS per input MB.
Linear cost shows as a steady MB/s and RSS per MB across the three sizes (the "growth" column is
the CPU time ratio of the largest to the middle size: about 2 when linear, 4 when quadratic). Each run is bounded
(60 s, 4 GiB of address space), so an old quadratic binary is reported as "> 60 s" or
"> 4 GiB" instead of taking the machine down. Also runs the YAML alias bomb (a few hundred
bytes) once.

Kinds: env (ENV lines), run (RUN lines), long (one RUN line), continued (one RUN continued over
many lines), comments (ibex-ignore comments above RUN lines), compose (services with merge keys).
Builds the release ibex-audit first unless --binary.
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TIMEOUT = 60
ADDRESS_SPACE = 4 << 30


def env_lines(size):
    lines, total, i = ["FROM alpine:3.20\n"], 0, 0
    while total < size:
        line = f"ENV VARIABLE_{i}=value_{i}_$VARIABLE_{max(i - 1, 0)}\n"
        lines.append(line)
        total += len(line)
        i += 1
    return "".join(lines) + "USER 10001\n", "Dockerfile"


def run_lines(size):
    lines, total, i = ["FROM alpine:3.20\n"], 0, 0
    while total < size:
        line = f"RUN apk add --no-cache pkg{i} && wget -O- https://example.com/{i} | sh\n"
        lines.append(line)
        total += len(line)
        i += 1
    return "".join(lines), "Dockerfile"


def long_line(size):
    return "FROM alpine:3.20\nRUN echo " + "x" * size + "\n", "Dockerfile"


def continued(size):
    lines, total, i = ["FROM alpine:3.20\nRUN true \\\n"], 0, 0
    while total < size:
        line = f" && apt-get install -y pkg{i} \\\n"
        lines.append(line)
        total += len(line)
        i += 1
    return "".join(lines) + " && true\n", "Dockerfile"


def comments(size):
    lines, total, i = ["FROM alpine:3.20\n"], 0, 0
    while total < size:
        chunk = "# ibex-ignore IBX-DF-029 -- piped on purpose\n" * 20 + f"RUN curl https://example.com/{i} | sh\n"
        lines.append(chunk)
        total += len(chunk)
        i += 1
    return "".join(lines), "Dockerfile"


def compose(size):
    lines, total, i = ["x-defaults: &defaults\n  restart: always\n  read_only: true\n  cap_drop: [ALL]\nservices:\n"], 0, 0
    while total < size:
        chunk = f"  s{i}:\n    <<: *defaults\n    image: nginx:1.27\n    environment:\n      A: '{i}'\n"
        lines.append(chunk)
        total += len(chunk)
        i += 1
    return "".join(lines), "compose.yaml"


def alias_bomb(levels=9, fan_out=9):
    lines = ["l0: &l0 [" + ",".join(['"lol"'] * fan_out) + "]"]
    for level in range(1, levels + 1):
        lines.append(f"l{level}: &l{level} [" + ",".join([f"*l{level - 1}"] * fan_out) + "]")
    return "\n".join(lines) + "\n", "compose.yaml"


KINDS = {"env": env_lines, "run": run_lines, "long": long_line, "continued": continued, "comments": comments, "compose": compose}


def limit():
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))


def supports_limit(binary):
    """Binaries from before the fix have no --max-file-size."""
    return "--max-file-size" in subprocess.run([binary, "--help"], capture_output=True, text=True).stdout


def measure(binary, text, name):
    """(seconds, peak RSS in bytes, exit status or a reason it was stopped, CPU seconds)."""
    with tempfile.TemporaryDirectory(prefix="ibex-hostile-") as directory:
        with open(os.path.join(directory, name), "w") as f:
            f.write(text)
        start = time.perf_counter()
        options = ["--max-file-size", "64"] if supports_limit(binary) else []
        process = subprocess.Popen([binary, *options, "--fail-on", "never", name], cwd=directory,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, preexec_fn=limit)
        status = None
        while status is None:
            pid, raw, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                status = os.waitstatus_to_exitcode(raw)
                break
            if time.perf_counter() - start > TIMEOUT:
                process.kill()
                _, raw, usage = os.wait4(process.pid, 0)
                status = f"> {TIMEOUT} s"
                break
            time.sleep(0.01)
        elapsed = time.perf_counter() - start
        if isinstance(status, int) and status < 0 or status == 134 or status == 133:
            status = f"killed ({status}; > 4 GiB?)"
        # CPU time as well: on a loaded machine the wall time mostly measures the wait for a core.
        return elapsed, usage.ru_maxrss * 1024, status, usage.ru_utime + usage.ru_stime


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary")
    parser.add_argument("--scale", type=float, default=4.0, help="largest input in MB (default 4)")
    parser.add_argument("--json")
    args = parser.parse_args()
    binary = args.binary
    if not binary:
        out = subprocess.run(["swift", "build", "-c", "release", "--product", "ibex-audit", "--show-bin-path"],
                             cwd=ROOT, check=True, capture_output=True, text=True).stdout.strip()
        subprocess.run(["swift", "build", "-c", "release", "--product", "ibex-audit"], cwd=ROOT, check=True)
        binary = os.path.join(out, "ibex-audit")
    results = []
    print(f"ibex-audit: {binary}")
    print(f"| input | size MB | wall s | CPU s | MB per CPU s | peak RSS MB | RSS MB per input MB | CPU growth | exit |")
    print(f"|---|---:|---:|---:|---:|---:|---:|---:|---|")
    for kind, generate in KINDS.items():
        times = []
        for fraction in (0.25, 0.5, 1.0):
            size = int(args.scale * fraction * 1_000_000)
            text, name = generate(size)
            megabytes = len(text.encode()) / 1e6
            seconds, rss, status, cpu = measure(binary, text, name)
            times.append(max(cpu, 1e-3))
            growth = f"{times[-1] / times[-2]:.1f}x" if len(times) == 3 else ""
            row = {"input": kind, "megabytes": round(megabytes, 3), "seconds": round(seconds, 3), "cpu_seconds": round(cpu, 3),
                   "mb_per_cpu_second": round(megabytes / max(cpu, 1e-3), 4), "peak_rss_mb": round(rss / 1e6, 1),
                   "rss_per_input_mb": round(rss / 1e6 / megabytes, 1), "exit": status}
            results.append(row)
            print(f"| {kind} | {megabytes:.2f} | {seconds:.2f} | {cpu:.2f} | {megabytes / max(cpu, 1e-3):.3g} | {rss / 1e6:.0f} | "
                  f"{rss / 1e6 / megabytes:.0f} | {growth} | {status} |", flush=True)
    text, name = alias_bomb()
    seconds, rss, status, cpu = measure(binary, text, name)
    results.append({"input": "alias-bomb", "bytes": len(text), "seconds": round(seconds, 3), "cpu_seconds": round(cpu, 3),
                    "peak_rss_mb": round(rss / 1e6, 1), "exit": status})
    print(f"| alias bomb ({len(text)} bytes) | - | {seconds:.2f} | {cpu:.2f} | - | {rss / 1e6:.0f} | - | | {status} |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    sys.exit(main())
