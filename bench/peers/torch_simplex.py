#!/usr/bin/python3
"""PyTorch CPU peer for bench_simplex: softmax, sort-based sparsemax and bisection entmax-1.5 on the
same [1024, 32000] float32 logits (a raw file written by bench/run.sh). Prints median milliseconds.

usage: /usr/bin/python3 bench/peers/torch_simplex.py LOGITS_FILE
"""
import sys

import os

import numpy as np
import torch

from timing import median_ms

torch.set_num_threads(len(os.sched_getaffinity(0)))  # the cores we may use, as our OpenMP kernels


def sparsemax_sort(z):
    """Sort-based sparsemax along the last dim (Martins & Astudillo 2016)."""
    u, _ = torch.sort(z, dim=-1, descending=True)
    cssv = u.cumsum(dim=-1) - 1
    k = torch.arange(1, z.shape[-1] + 1, dtype=z.dtype)
    support = (u - cssv / k) > 0
    rho = support.sum(dim=-1, keepdim=True)
    tau = cssv.gather(-1, rho - 1) / rho.to(z.dtype)
    return torch.clamp(z - tau, min=0)


def entmax_bisect(z, alpha=1.5, n_iter=50):
    """Bisection entmax as in the `entmax` package: X = (α−1)z, bracket [max X − 1, max X − n^{1−α}]."""
    x = (alpha - 1) * z
    max_x, _ = x.max(dim=-1, keepdim=True)
    lo = max_x - 1
    hi = max_x - (1.0 / z.shape[-1]) ** (alpha - 1)
    d = hi - lo
    for _ in range(n_iter):
        d = d / 2
        mid = lo + d
        p = torch.clamp(x - mid, min=0) ** (1 / (alpha - 1))
        mass = p.sum(dim=-1, keepdim=True) - 1
        lo = torch.where(mass >= 0, mid, lo)
    p = torch.clamp(x - lo, min=0) ** (1 / (alpha - 1))
    return p / p.sum(dim=-1, keepdim=True)




def main():
    z = torch.from_numpy(np.fromfile(sys.argv[1], dtype=np.float32).reshape(1024, 32000))
    gb = 2 * z.numel() * 4 / 1e9
    print(f"PyTorch {torch.__version__} CPU, {torch.get_num_threads()} threads, [1024, 32000] float32")
    for name, fn, reps in [("torch.softmax", lambda: torch.softmax(z, dim=-1), 20),
                           ("sort-based sparsemax", lambda: sparsemax_sort(z), 3),
                           ("bisection entmax-1.5 (50 it)", lambda: entmax_bisect(z), 2)]:
        ms = median_ms(fn, reps)
        print(f"  {name:30s} {ms:10.2f} ms  {gb / (ms / 1e3):7.2f} GB/s")


if __name__ == "__main__":
    main()
