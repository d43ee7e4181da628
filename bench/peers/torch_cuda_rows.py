#!/usr/bin/python3
"""PyTorch GPU peer for bench_inference: torch.softmax / log_softmax over [4096, 32000] float32 and
bfloat16 on the GPU, and a device copy of the same bytes, timed with CUDA events (median of 50).
Prints milliseconds and GB/s of (read + write) bytes, as bench_inference counts them.
"""
import statistics

import torch


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
        for name, fn in [("copy (clone)", lambda: z.clone()),
                         ("torch.softmax", lambda: torch.softmax(z, dim=-1, dtype=torch.float32)),
                         ("torch.log_softmax", lambda: torch.log_softmax(z, dim=-1, dtype=torch.float32))]:
            ms = median_ms(fn)
            nbytes = 2 * z.numel() * z.element_size() if name.startswith("copy") else read_write
            print(f"  {str(dtype):15s} {name:18s} {ms:8.3f} ms  {nbytes / ms / 1e6:8.1f} GB/s")


if __name__ == "__main__":
    main()
