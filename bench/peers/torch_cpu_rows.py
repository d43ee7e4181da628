#!/usr/bin/python3
"""PyTorch CPU peer for bench_inference's CPU cases, same shapes and byte counts: softmax,
log_softmax, sort-based sparsemax and entmax-1.5, the softmax backward over [1024, 32000] float32
(softmax also from bfloat16), the NBCE step of spec nbce.md §8 at (65, 152064) with top-p 0.95 and
(257, 152064) without, and the HF-style RoPE apply on [4096, 32, 128]. Prints median ms and GB/s.
"""
import os

import torch

from reference_maps import entmax15, sparsemax
from timing import median_ms
from torch_nbce import nbce_step

torch.set_num_threads(len(os.sched_getaffinity(0)))  # the cores we may use, as our OpenMP kernels


def report(label, ms, nbytes):
    print(f"  {label:40s} {ms:9.3f} ms  {nbytes / ms / 1e6:8.2f} GB/s")


def main():
    print(f"PyTorch {torch.__version__} CPU, {torch.get_num_threads()} threads")
    g = torch.Generator().manual_seed(0)
    z = 2.5 * torch.randn(1024, 32000, generator=g)
    rw = z.numel() * 8
    for label, fn in [("softmax float32 [1024, 32000]", lambda: torch.softmax(z, dim=-1)),
                      ("log_softmax float32 [1024, 32000]", lambda: torch.log_softmax(z, dim=-1)),
                      ("sparsemax (sort) float32 [1024, 32000]", lambda: sparsemax(z)),
                      ("entmax-1.5 (sort) float32 [1024, 32000]", lambda: entmax15(z))]:
        report(label, median_ms(fn, 5), rw)
    zb = z.to(torch.bfloat16)
    report("softmax bfloat16 [1024, 32000]", median_ms(lambda: torch.softmax(zb, dim=-1, dtype=torch.float32), 5),
           z.numel() * 6)
    p = torch.softmax(z, dim=-1)
    report("softmax backward float32 [1024, 32000]",
           median_ms(lambda: torch._softmax_backward_data(z, p, -1, torch.float32), 5), z.numel() * 12)
    for rows, vocab, top_p in [(65, 152064, 0.95), (257, 152064, None)]:
        logits = 2.5 * torch.randn(rows, vocab, generator=g)
        label = f"NBCE step {'top-p 0.95' if top_p else 'no truncation'} [{rows}, {vocab}]"
        report(label, median_ms(lambda: nbce_step(logits, top_p=top_p), 3), logits.numel() * 4)
    tokens, heads, dim = 4096, 32, 128
    inv_freq = 1.0 / (10000 ** (torch.arange(0, dim, 2, dtype=torch.float64) / dim))
    angles = torch.arange(tokens, dtype=torch.float64)[:, None] * inv_freq[None, :]
    c = torch.cat([angles.cos(), angles.cos()], dim=-1).float()[:, None, :]
    s = torch.cat([angles.sin(), angles.sin()], dim=-1).float()[:, None, :]
    x = torch.randn(tokens, heads, dim, generator=g)

    def rope():
        rotated = torch.cat([-x[..., dim // 2:], x[..., : dim // 2]], dim=-1)
        x.copy_(x * c + rotated * s)

    report("RoPE apply (HF) float32 [4096, 32, 128]", median_ms(rope, 5), 2 * x.numel() * 4)


if __name__ == "__main__":
    main()
