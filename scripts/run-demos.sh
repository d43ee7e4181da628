#!/usr/bin/env bash
# The main job: installs what is missing, builds, and runs every derivation demo, printing their
# tables; CSVs and plots go to out/demos/. Exits non-zero if any demo misses its tolerance.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release -j "$(nproc)" --target probspace-demo
build/release/demos/probspace-demo run all --out out/demos
