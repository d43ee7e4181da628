#!/usr/bin/env bash
# Installs the Debian 12 packages probspace needs, only those missing. Idempotent; run as root.
#   scripts/install-deps.sh          build + test + demo dependencies
#   scripts/install-deps.sh --peers  also the benchmark peers (PyTorch CPU, numpy, POT)
set -euo pipefail

packages=(g++ cmake ninja-build pkg-config
          libeigen3-dev libboost-math-dev libceres-dev libgtest-dev libgmock-dev libbenchmark-dev
          gnuplot-nox)
if [[ "${1:-}" == "--peers" ]]; then
  packages+=(python3 python3-numpy python3-torch python3-pot)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  exit 0
fi
echo "install-deps: installing ${missing[*]}"
if [[ $(id -u) -ne 0 ]]; then
  echo "install-deps: need root (apt-get) for: ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
