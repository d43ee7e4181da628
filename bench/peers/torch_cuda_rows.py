#!/usr/bin/python3
"""PyTorch GPU peer for bench_inference, on the same shapes: torch.softmax / log_softmax, sort-based
sparsemax and entmax-1.5 (the entmax package's algorithm), the softmax backward (autograd) over
[4096, 32000] float32 and bfloat16, a device copy of the same bytes; the NBCE step of spec nbce.md §8
(torch_nbce.nbce_step, eager) at (65, 152064) with top-p 0.95 and (257, 152064) without; and the
HF-style RoPE apply (x·cos + rotate_half(x)·sin, written back into x) on [4096 tokens, 32 heads, 128].
Timed with CUDA events (median of 50). Prints milliseconds and GB/s of the bytes read and written,
as bench_inference counts them.
"""
import statistics

import torch

from reference_maps import entmax15, sparsemax
from torch_nbce import nbce_step


def median_ms(fn, repeats=50):
    for _ in range(5):
        fn()
    times = []
    for _ in range(repeats):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        torch.cuda.synchronize()
        times.append(start.elapsed_time(end))
    return statistics.median(times)


def main():
    print(f"PyTorch {torch.__version__}, {torch.cuda.get_device_name()}")
    g = torch.Generator(device="cuda").manual_seed(0)
    for dtype in (torch.float32, torch.bfloat16):
        z = (2.5 * torch.randn(4096, 32000, device="cuda", generator=g)).to(dtype)
        read_write = z.numel() * (z.element_size() + 4)
        zf = z.float()
        for name, fn in [("copy (clone)", lambda: z.clone()),
                         ("torch.softmax", lambda: torch.softmax(z, dim=-1, dtype=torch.float32)),
                         ("torch.log_softmax", lambda: torch.log_softmax(z, dim=-1, dtype=torch.float32)),
                         ("sparsemax (sort)", lambda: sparsemax(zf)),
                         ("entmax-1.5 (sort)", lambda: entmax15(zf))]:
            ms = median_ms(fn)
            nbytes = 2 * z.numel() * z.element_size() if name.startswith("copy") else read_write
            print(f"  {str(dtype):15s} {name:18s} {ms:8.3f} ms  {nbytes / ms / 1e6:8.1f} GB/s")

    z = 2.5 * torch.randn(4096, 32000, device="cuda", generator=g)
    p = torch.softmax(z, dim=-1)
    ms = median_ms(lambda: torch._softmax_backward_data(z, p, -1, torch.float32))
    print(f"  {str(torch.float32):15s} {'softmax backward':18s} {ms:8.3f} ms  {3 * z.numel() * 4 / ms / 1e6:8.1f} GB/s")

    for dtype in (torch.float32, torch.bfloat16):
        for rows, vocab, top_p in [(65, 152064, 0.95), (257, 152064, None)]:
            z = (2.5 * torch.randn(rows, vocab, device="cuda", generator=g)).to(dtype)
            # the reference pipeline computes in float32: bfloat16 logits are widened first
            step = lambda: nbce_step(z if dtype == torch.float32 else z.float(), top_p=top_p)
            ms = median_ms(step)
            label = f"NBCE step {'top-p' if top_p else 'no trunc.'} [{rows}, {vocab}]"
            nbytes = rows * vocab * (4 if dtype == torch.float32 else 2)
            print(f"  {str(dtype):15s} {label:18s} {ms:8.3f} ms  {nbytes / ms / 1e6:8.1f} GB/s")

    tokens, heads, dim, length = 4096, 32, 128, 8192
    inv_freq = 1.0 / (10000 ** (torch.arange(0, dim, 2, dtype=torch.float64, device="cuda") / dim))
    angles = torch.arange(length, dtype=torch.float64, device="cuda")[:, None] * inv_freq[None, :]
    cos_t, sin_t = angles.cos().float(), angles.sin().float()
    positions = torch.arange(tokens, device="cuda")
    for dtype in (torch.float32, torch.bfloat16):
        x = torch.randn(tokens, heads, dim, device="cuda", generator=g).to(dtype)

        def rope():
            c = torch.cat([cos_t[positions], cos_t[positions]], dim=-1)[:, None, :].to(dtype)
            s = torch.cat([sin_t[positions], sin_t[positions]], dim=-1)[:, None, :].to(dtype)
            rotated = torch.cat([-x[..., dim // 2:], x[..., : dim // 2]], dim=-1)
            x.copy_(x * c + rotated * s)

        ms = median_ms(rope)
        print(f"  {str(dtype):15s} {'RoPE apply (HF)':18s} {ms:8.3f} ms  {2 * x.numel() * x.element_size() / ms / 1e6:8.1f} GB/s")


if __name__ == "__main__":
    main()
