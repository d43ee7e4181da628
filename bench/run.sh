#!/usr/bin/env bash
# One command for the simplex benchmarks and their PyTorch CPU peer, on the same logits:
#   bash bench/run.sh [extra Google Benchmark flags]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --peers
cmake --preset release >/dev/null
cmake --build --preset release --target bench_simplex -j "$(nproc)"
mkdir -p out/bench
logits=out/bench/logits_1024x32000.f32
[[ -f $logits ]] || /usr/bin/python3 -c "
import numpy as np
np.random.default_rng(0).standard_normal((1024, 32000), dtype=np.float32).tofile('$logits')"
nproc; grep -m1 'model name' /proc/cpuinfo
PROBSPACE_LOGITS_FILE=$logits build/release/bench/bench_simplex --benchmark_repetitions=3 \
  --benchmark_report_aggregates_only=true --benchmark_min_time=0.2 "$@" | grep -E "median|^Run|^---|^Bench"
/usr/bin/python3 bench/peers/torch_simplex.py "$logits"
