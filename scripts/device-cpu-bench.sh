#!/usr/bin/env bash
# CPU benchmarks on the (quiet) device machine, pinned to 2 cores like the dev VM: the NBCE step and
# the inference kernels against their PyTorch CPU peers, and the simplex projection at n = 1e7 (one
# core). Carry .deps/debs.
set -euo pipefail
cd "$(dirname "$0")/.."
P=$PWD/.deps/root
mkdir -p "$P" out/bench
for f in .deps/debs/*.deb; do dpkg -x "$f" "$P"; done
export LD_LIBRARY_PATH=$P/usr/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}
cmake -S . -B build/cpu -G Ninja -DCMAKE_BUILD_TYPE=Release -DPROBSPACE_SOLVERS=OFF -DPROBSPACE_DEMOS=OFF \
  -DPROBSPACE_TESTS=OFF -DPROBSPACE_CUDA=OFF -DPROBSPACE_WERROR=OFF \
  -DCMAKE_PREFIX_PATH="$P/usr;$P/usr/lib/x86_64-linux-gnu/cmake;$P/usr/share/eigen3/cmake" >/dev/null
cmake --build build/cpu -j "$(nproc)" --target bench_nbce bench_simplex bench_inference >/dev/null
lscpu | grep -m1 'Model name'
for shape in 17x32000 65x152064; do
  python3 -c "
import numpy as np
r, v = map(int, '$shape'.split('x'))
(2.5 * np.random.default_rng(1).standard_normal((r, v))).astype(np.float32).tofile('out/bench/logits_$shape.f32')"
done
gb=(--benchmark_repetitions=5 --benchmark_report_aggregates_only=true --benchmark_min_time=0.3)
OMP_NUM_THREADS=2 PROBSPACE_NBCE_LOGITS_DIR=out/bench taskset -c 0,1 build/cpu/bench/bench_nbce "${gb[@]}" | grep -E "median"
taskset -c 0,1 python3 bench/peers/torch_nbce.py out/bench
OMP_NUM_THREADS=1 taskset -c 2 build/cpu/bench/bench_simplex "${gb[@]}" \
  --benchmark_filter='BM_Projection/[12]/[012]/10000000|BM_Memcpy/10000000' | grep -E "median"
OMP_NUM_THREADS=2 taskset -c 0,1 build/cpu/bench/bench_inference "${gb[@]}" --benchmark_filter='>/0' | grep -E "median"
(cd bench/peers && taskset -c 0,1 python3 torch_cpu_rows.py)
