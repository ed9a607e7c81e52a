#!/usr/bin/env bash
# Installs what Stockade needs on a fresh Debian machine: the lab's Debian tools and a Python venv.
# Idempotent and quick when everything is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

# chromium renders the report in a test; fonts-liberation is only its recommendation, and we install without those.
# qemu-system-x86, qemu-utils and e2fsprogs (mkfs.ext4 -d) make the lab's VM hosts (`stockade lab up --vm`).
DEBIAN_PACKAGES=(debootstrap systemd-container apt-cacher-ng openssh-client iproute2 nftables util-linux chromium
                 fonts-liberation qemu-system-x86 qemu-utils e2fsprogs)
missing=()
for package in "${DEBIAN_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  [ "$(id -u)" -eq 0 ] || { echo "setup: installing ${missing[*]} needs root" >&2; exit 2; }
  echo "setup: installing Debian packages: ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null
  apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi

PYTHON=${PYTHON:-python3}
"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
  || { echo "setup: Python >= 3.11 is required ($PYTHON is $("$PYTHON" --version))" >&2; exit 2; }
stamp=.venv/.stockade-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "setup: creating the Python environment in .venv" >&2
  [ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e '.[dev]'
  touch "$stamp"
fi

# compliance-trestle proves in the tests that the OSCAL output loads; it pins paramiko and cryptography
# versions that collide with Stockade's, so it lives in a venv of its own (only the tests use it).
TRESTLE_VERSION=5.2.0
trestle_stamp=.venv-trestle/.installed-$TRESTLE_VERSION
if [ ! -f "$trestle_stamp" ]; then
  echo "setup: creating .venv-trestle (compliance-trestle $TRESTLE_VERSION, for the OSCAL test)" >&2
  rm -rf .venv-trestle
  "$PYTHON" -m venv .venv-trestle
  .venv-trestle/bin/python -m pip install -q "compliance-trestle==$TRESTLE_VERSION"
  touch "$trestle_stamp"
fi
