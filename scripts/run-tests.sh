#!/usr/bin/env bash
# Installs what is missing, builds (release preset) what the test suite needs and runs it.
#   scripts/run-tests.sh          release build + ctest
#   scripts/run-tests.sh asan     the same under AddressSanitizer + UBSan
set -euo pipefail
cd "$(dirname "$0")/.."
preset="${1:-release}"
scripts/install-deps.sh
cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset" -j "$(nproc)" --target probspace_tests
ctest --preset "$preset"
