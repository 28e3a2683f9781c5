#!/usr/bin/env bash
# Installs the Debian packages simkit needs when they are missing. As root it installs them;
# otherwise it prints the command to run and fails. Usage: setup-system.sh [extra packages...]
set -euo pipefail
required=(libfaiss-dev libopenblas-dev libdnnl-dev cmake g++ patchelf)
wanted=("${required[@]}" "$@")
missing=()
for pkg in "${wanted[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "simkit: missing Debian packages: ${missing[*]}" >&2
  echo "  fix: sudo apt-get install -y ${missing[*]}" >&2
  exit 2
fi
echo "simkit: installing Debian packages: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
