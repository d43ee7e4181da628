#!/usr/bin/env bash
# One command per module's benchmarks and their PyTorch CPU peer, on the same logits:
#   bash bench/run.sh [simplex|nbce|sinkhorn|rope|embedding|solvers|attention|inference|all] [extra Google Benchmark flags]
# (inference: every inference kernel on the CPU, and on the GPU when there is one, beside PyTorch)
set -euo pipefail
cd "$(dirname "$0")/.."
module=${1:-all}
[[ $# -gt 0 ]] && shift
scripts/install-deps.sh --peers
cmake --preset release >/dev/null
mkdir -p out/bench
nproc; grep -m1 'model name' /proc/cpuinfo
gbench=(--benchmark_repetitions=3 --benchmark_report_aggregates_only=true --benchmark_min_time=0.2)

if [[ $module == simplex || $module == all ]]; then
  cmake --build --preset release --target bench_simplex -j "$(nproc)"
  logits=out/bench/logits_1024x32000.f32
  [[ -f $logits ]] || /usr/bin/python3 -c "
import numpy as np
np.random.default_rng(0).standard_normal((1024, 32000), dtype=np.float32).tofile('$logits')"
  PROBSPACE_LOGITS_FILE=$logits build/release/bench/bench_simplex "${gbench[@]}" "$@" | grep -E "median|^Run|^---|^Bench"
  /usr/bin/python3 bench/peers/torch_simplex.py "$logits"
fi

if [[ $module == nbce || $module == all ]]; then
  cmake --build --preset release --target bench_nbce -j "$(nproc)"
  for shape in 17x32000 65x152064; do
    f=out/bench/logits_$shape.f32
    [[ -f $f ]] || /usr/bin/python3 -c "
import numpy as np
r, v = map(int, '$shape'.split('x'))
(2.5 * np.random.default_rng(1).standard_normal((r, v))).astype(np.float32).tofile('$f')"
  done
  PROBSPACE_NBCE_LOGITS_DIR=out/bench build/release/bench/bench_nbce "${gbench[@]}" "$@" | grep -E "median|^Run|^---|^Bench"
  /usr/bin/python3 bench/peers/torch_nbce.py out/bench
fi

if [[ $module == sinkhorn || $module == all ]]; then
  cmake --build --preset release --target bench_sinkhorn -j "$(nproc)"
  for n in 1000 2000; do
    [[ -f out/bench/ot_${n}_C.f64 ]] || /usr/bin/python3 -c "
import numpy as np
n = $n
rng = np.random.default_rng(n)
x, y = rng.random((n, 2)), rng.random((n, 2))
a, b = 0.5 + rng.random(n), 0.5 + rng.random(n)
(a / a.sum()).tofile(f'out/bench/ot_{n}_a.f64')
(b / b.sum()).tofile(f'out/bench/ot_{n}_b.f64')
((x[:, None, :] - y[None, :, :]) ** 2).sum(-1).tofile(f'out/bench/ot_{n}_C.f64')"
  done
  # Passive OpenMP waiting: spinning threads lose whole time slices when the cores are shared.
  OMP_WAIT_POLICY=passive PROBSPACE_OT_DIR=out/bench build/release/bench/bench_sinkhorn --benchmark_repetitions=7 \
    --benchmark_report_aggregates_only=true "$@" | grep -E "median|^Run|^---|^Bench"
  /usr/bin/python3 bench/peers/pot_sinkhorn.py out/bench
fi

if [[ $module == inference || $module == all ]]; then
  cmake --build --preset release --target bench_inference -j "$(nproc)"
  build/release/bench/bench_inference "${gbench[@]}" "$@" | grep -E "median|^Run|^---|^Bench"
  (cd bench/peers && /usr/bin/python3 torch_cpu_rows.py)
  if /usr/bin/python3 -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)" 2>/dev/null; then
    (cd bench/peers && /usr/bin/python3 torch_cuda_rows.py)
  fi
fi

# Modules whose benchmark has no external peer (the peer runs inside the binary, or there is none).
for m in rope embedding solvers attention; do
  if [[ $module == "$m" || $module == all ]]; then
    cmake --build --preset release --target "bench_$m" -j "$(nproc)"
    "build/release/bench/bench_$m" "${gbench[@]}" "$@" | grep -E "median|^Run|^---|^Bench"
  fi
done

# The CUDA attention cases' peer (bench_attention ran above): PyTorch on the same shapes.
if [[ $module == attention || $module == all ]]; then
  if /usr/bin/python3 -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)" 2>/dev/null; then
    (cd bench/peers && /usr/bin/python3 torch_attention.py)
  fi
fi
