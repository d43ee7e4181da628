#!/usr/bin/env bash
# On the GPU device machine (no network, no Debian packages): unpack the carried .deb archives of
# Eigen, Boost, GoogleTest and Google Benchmark into .deps/root, build probspace with CUDA (no
# solvers, no Ceres), run the CUDA and inference tests and the inference benchmark with its PyTorch
# peer; `device-run.sh attention` instead runs the attention tests under compute-sanitizer, the CUDA
# attention benchmarks and their PyTorch peer (bench/peers/torch_attention.py). Here, first: (cd .deps/debs && apt-get download libeigen3-dev libboost1.74-dev
# libboost-math1.74-dev libgtest-dev libbenchmark-dev libbenchmark1debian); carry `.deps/debs`.
set -euo pipefail
cd "$(dirname "$0")/.."
P=$PWD/.deps/root
mkdir -p "$P"
for f in .deps/debs/*.deb; do dpkg -x "$f" "$P"; done
export LD_LIBRARY_PATH=$P/usr/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
cmake -S . -B build/device -G Ninja -DCMAKE_BUILD_TYPE=Release -DPROBSPACE_SOLVERS=OFF -DPROBSPACE_DEMOS=OFF \
  -DPROBSPACE_CUDA=ON -DPROBSPACE_NATIVE=ON -DPROBSPACE_WERROR=OFF \
  -DCMAKE_PREFIX_PATH="$P/usr;$P/usr/lib/x86_64-linux-gnu/cmake;$P/usr/share/eigen3/cmake" >/dev/null
mode=${1:-}
targets=(test_cuda test_inference bench_inference)
[[ $mode == attention ]] && targets=(test_cuda test_inference bench_attention)
cmake --build build/device -j "$(nproc)" --target "${targets[@]}"
# a failing or hanging test is reported and the run goes on to the benchmarks
timeout 300 build/device/tests/test_cuda || echo "test_cuda FAILED (rc $?)"
timeout 300 build/device/tests/test_inference || echo "test_inference FAILED (rc $?)"
if [[ $mode != attention ]]; then
  build/device/bench/bench_inference --benchmark_filter='>/1/' --benchmark_repetitions=3 --benchmark_report_aggregates_only=true | grep -E "median|Benchmark"
  python3 bench/peers/torch_cuda_rows.py
else
  timeout 300 compute-sanitizer --error-exitcode 1 build/device/tests/test_cuda --gtest_filter='*ttention*' 2>&1 | tail -25 || echo "compute-sanitizer FAILED"
  build/device/bench/bench_attention --benchmark_filter='Cuda' --benchmark_repetitions=3 \
    --benchmark_report_aggregates_only=true | grep -E "median|Benchmark" || echo "bench_attention FAILED"
  (cd bench/peers && python3 torch_attention.py)
fi
