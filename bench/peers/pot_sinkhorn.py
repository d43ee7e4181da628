#!/usr/bin/python3
"""POT peer for bench_sinkhorn: ot.bregman.sinkhorn_log and ot.sinkhorn (kernel scaling, NumPy/BLAS)
on the same a, b, C (float64 files written by bench/run.sh) and ε = 0.01, from u = v = 1. The time
per iteration is (t(20 + ITERATIONS) − t(20))/ITERATIONS, medians over repetitions, so the setup
(K = e^{−C/ε}, the plan) is left out as in bench_sinkhorn; the marginal error ‖P1 − a‖₁ + ‖Pᵀ1 − b‖₁
of the plan after 20 iterations is printed for comparison at equal accuracy.

usage: /usr/bin/python3 bench/peers/pot_sinkhorn.py DIR
"""
import sys
import warnings

import numpy as np
import ot

from timing import median_ms

warnings.filterwarnings("ignore", message="Sinkhorn did not converge")

EPSILON = 0.01
ITERATIONS = 40


def load(directory, n):
    a = np.fromfile(f"{directory}/ot_{n}_a.f64")
    b = np.fromfile(f"{directory}/ot_{n}_b.f64")
    c = np.fromfile(f"{directory}/ot_{n}_C.f64").reshape(n, n)
    return a, b, c



def main():
    print(f"POT {ot.__version__}, NumPy {np.__version__}, float64, eps {EPSILON}, per iteration over {ITERATIONS} extra iterations")
    for n in (1000, 2000):
        a, b, c = load(sys.argv[1], n)
        for name, fn, repeats in [("sinkhorn_log", ot.bregman.sinkhorn_log, 3),
                                  ("sinkhorn (kernel scaling)", ot.sinkhorn, 7)]:
            def run(iterations):
                return fn(a, b, c, EPSILON, numItermax=iterations, stopThr=0.0)
            ms = (median_ms(lambda: run(20 + ITERATIONS), repeats) - median_ms(lambda: run(20), repeats)) / ITERATIONS
            plan = run(20)
            err = np.abs(plan.sum(1) - a).sum() + np.abs(plan.sum(0) - b).sum()
            print(f"  n = m = {n}  {name:26s} {ms:8.3f} ms/iteration   marginal error {err:.6e}")


if __name__ == "__main__":
    main()
