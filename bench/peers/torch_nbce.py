#!/usr/bin/python3
"""PyTorch CPU peer for bench_nbce: the reference NBCE step of spec nbce.md §8 (log_softmax, top-p
by sort + cumsum, partial entropy, min-entropy selection, merge, log_softmax) on the same raw
float32 logits files that bench/run.sh writes. Prints median milliseconds per step.

usage: /usr/bin/python3 bench/peers/torch_nbce.py DIR
"""
import os
import sys

import numpy as np
import torch

from timing import median_ms

torch.set_num_threads(len(os.sched_getaffinity(0)))  # the cores we may use, as our OpenMP kernels


def top_p_truncate(l, top_p):
    """§3: keep rank r iff the mass before it is < top_p; removed entries become -inf."""
    sorted_l, idx = torch.sort(l, dim=-1, descending=True)
    p = sorted_l.exp()
    before = p.cumsum(dim=-1) - p
    sorted_l = sorted_l.masked_fill(before >= top_p, float("-inf"))
    return torch.empty_like(l).scatter_(-1, idx, sorted_l)


def nbce_step(z, beta=0.25, top_p=0.95):
    l = torch.log_softmax(z, dim=-1)
    if top_p is not None:
        l = top_p_truncate(l, top_p)
    h = -(l.exp() * l.clamp(-100, 0)).sum(dim=-1)
    k = int(torch.argmin(h[1:])) + 1
    s = torch.where(l[0] > -100, (1 + beta) * l[k] - beta * l[0], l[k])
    return torch.log_softmax(s, dim=-1), k




def main():
    print(f"PyTorch {torch.__version__} CPU, {torch.get_num_threads()} threads, float32, min-entropy, beta 0.25")
    for rows, vocab in [(17, 32000), (65, 152064)]:
        z = torch.from_numpy(np.fromfile(f"{sys.argv[1]}/logits_{rows}x{vocab}.f32", dtype=np.float32).reshape(rows, vocab))
        gb = z.numel() * 4 / 1e9
        for label, top_p, reps in [("top-p 0.95", 0.95, 5), ("no truncation", None, 10)]:
            ms = median_ms(lambda: nbce_step(z, top_p=top_p), reps)
            print(f"  NBCE step [{rows}, {vocab}] {label:14s} {ms:9.2f} ms  {gb / (ms / 1e3):7.2f} GB/s")


if __name__ == "__main__":
    main()
