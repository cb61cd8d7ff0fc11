#!/usr/bin/env python3
"""Wall time of ibex-audit against hadolint and checkov on the same files, in the same run.

usage: bench/audit/run.py [--runs N] [--binary PATH]

Measures (median of N runs, default 3):
  * one ibex-audit run over all fixtures, and over the Dockerfiles alone;
  * one hadolint run over the same Dockerfiles;
  * one checkov run over the same Dockerfiles and Kubernetes manifests (checkov has no compose
    support, so compose files are ibex-only);
  * per-file start-up: each tool started on one small Dockerfile (ibex-audit and hadolint 20
    times, checkov 3 times).
Prints a Markdown table with the ratios. Builds the release ibex-audit first unless --binary.
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIXTURES = os.path.join(ROOT, "Tests", "IbexAuditTests", "Fixtures")
SMALL = os.path.join("dockerfile", "df-001-nonroot.neg.Dockerfile")


def timed(command, runs, cwd=FIXTURES):
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def files(suffixes, directory=""):
    found = []
    for base, _, names in os.walk(os.path.join(FIXTURES, directory)):
        for name in names:
            if any(name.endswith(s) for s in suffixes):
                found.append(os.path.relpath(os.path.join(base, name), FIXTURES))
    return sorted(found)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--binary")
    args = parser.parse_args()

    binary = args.binary
    if not binary:
        subprocess.run(["swift", "build", "-c", "release", "--product", "ibex-audit", "--scratch-path", ".build-audit"],
                       cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
        binary = os.path.join(ROOT, ".build-audit", "release", "ibex-audit")
    hadolint = shutil.which("hadolint")
    checkov = shutil.which("checkov")
    if not hadolint or not checkov:
        sys.exit("bench/audit/run.py: hadolint and checkov are needed; run scripts/install-python-tools.sh")

    dockerfiles = files(["Dockerfile"])
    manifests = files([".yaml", ".yml", ".json"], "kubernetes")
    everything = files(["Dockerfile", ".yaml", ".yml", ".json"])
    ibex = [binary, "--format", "json", "--fail-on", "never", "--profile", "strict"]
    checkov_args = ["--framework", "dockerfile", "kubernetes", "--skip-download", "--quiet", "-o", "json"]

    rows = []
    ibex_all = timed(ibex + ["."], args.runs)
    ibex_df = timed(ibex + dockerfiles, args.runs)
    hl_df = timed([hadolint, "--no-fail", "-f", "json"] + dockerfiles, args.runs)
    ibex_ck = timed(ibex + dockerfiles + manifests, args.runs)
    ck = timed([checkov, "-d", "."] + checkov_args, args.runs)
    ibex_one = timed(ibex + [SMALL], 20)
    hl_one = timed([hadolint, "--no-fail", SMALL], 20)
    ck_one = timed([checkov, "-f", SMALL] + checkov_args, min(args.runs, 3))

    ms = lambda s: f"{s * 1000:.0f} ms"
    print(f"fixtures: {len(everything)} files ({len(dockerfiles)} Dockerfiles, {len(manifests)} Kubernetes, "
          f"{len(everything) - len(dockerfiles) - len(manifests)} compose), median of {args.runs} runs, {os.cpu_count()} CPUs\n")
    print("| measurement | ibex-audit | other tool | ratio (other / ibex) |")
    print("|---|---|---|---|")
    print(f"| all {len(everything)} fixtures, one run | {ms(ibex_all)} | - | - |")
    print(f"| {len(dockerfiles)} Dockerfiles vs hadolint | {ms(ibex_df)} | {ms(hl_df)} | {hl_df / ibex_df:.1f}x |")
    print(f"| {len(dockerfiles) + len(manifests)} Dockerfiles + manifests vs checkov | {ms(ibex_ck)} | {ms(ck)} | {ck / ibex_ck:.1f}x |")
    print(f"| start-up on one file vs hadolint | {ms(ibex_one)} | {ms(hl_one)} | {hl_one / ibex_one:.1f}x |")
    print(f"| start-up on one file vs checkov | {ms(ibex_one)} | {ms(ck_one)} | {ck_one / ibex_one:.1f}x |")


if __name__ == "__main__":
    main()
