#!/usr/bin/python3
"""PyTorch GPU peer for bench_attention's CUDA cases (issue 8), on the same shapes: batch 1, 32 heads,
d = 128, bfloat16, rotate_half (Half) RoPE with inv_freq = 10000^(-2i/d), ReRoPE window w = L/4,
L = 8192 and 16384.

Prefill (spec rope.md §6.2):
  - eager two-pass ReRoPE reference: a1 = (R_i q)(R_j k)ᵀ, a2 = (R_w q) kᵀ, select a1 where i − j < w,
    causal mask, float32 softmax, ·V — two L×L score matrices per head;
  - the same function under torch.compile;
  - two flex_attention passes (pass 1 masked to i − j < w, pass 2 to i − j ≥ w, both causal) merged by
    their log-sum-exp — the best a PyTorch user can do today;
  - SDPA (flash) for plain causal RoPE, alone and with the rotation.
Decode over a 32k-token cache (32 query heads over 8 kv heads): the dual-cache step in eager PyTorch
(rotated and raw keys, select, softmax, ·V), SDPA over a plain RoPE cache, and a device copy of the
dual cache's bytes (it reads and writes them: reading them once takes about half its time).

Timed with CUDA events (median of 20 after warm-up; torch_cuda_rows.median_ms); peak memory from
torch.cuda.max_memory_allocated. Flops count one causal product, 4·L²·d·heads/2, as bench_attention.
A correctness check at L = 2048 first prints the max abs difference of every variant to the eager
reference (the flex merge and the LSE base included).
"""
import math

import torch
import torch.nn.functional as F

from torch_cuda_rows import median_ms

HEADS, DIM = 32, 128


def tables(length, dtype):
    inv_freq = 1.0 / (10000 ** (torch.arange(0, DIM, 2, dtype=torch.float64, device="cuda") / DIM))
    angles = torch.arange(length, dtype=torch.float64, device="cuda")[:, None] * inv_freq[None, :]
    cos, sin = angles.cos(), angles.sin()
    # rotate_half layout: [cos, cos] over the two halves; float64 angles, then the storage type
    return torch.cat([cos, cos], -1).to(dtype), torch.cat([sin, sin], -1).to(dtype)


def rotate_half(x):
    return torch.cat([-x[..., DIM // 2:], x[..., : DIM // 2]], dim=-1)


def rope(x, cos, sin):
    """x [B, H, L, d] rotated by table rows cos/sin [L, d] (or [1, d] broadcast: one position)."""
    return x * cos + rotate_half(x) * sin


def rerope_eager(q, k, v, cos, sin, window):
    """The blog's two-pass ReRoPE prefill: two full score matrices, select, causal softmax."""
    length = q.shape[-2]
    scale = 1.0 / math.sqrt(DIM)
    q1, k1 = rope(q, cos[:length], sin[:length]), rope(k, cos[:length], sin[:length])
    q2 = rope(q, cos[window:window + 1], sin[window:window + 1])  # every query at position w, keys raw
    a1 = (q1 @ k1.transpose(-1, -2)).float() * scale
    a2 = (q2 @ k.transpose(-1, -2)).float() * scale
    i = torch.arange(length, device="cuda")[:, None]
    j = torch.arange(length, device="cuda")[None, :]
    a = torch.where(i - j < window, a1, a2).masked_fill(j > i, float("-inf"))
    return (torch.softmax(a, dim=-1).to(v.dtype) @ v)


def flex_pipeline(length, window):
    """Returns run(q, k, v, cos, sin): two flex_attention passes merged by log-sum-exp, and the block
    masks' build time (not timed with the run; they depend on L and w only)."""
    from torch.nn.attention.flex_attention import create_block_mask, flex_attention

    flex = torch.compile(flex_attention, dynamic=False)

    def near(b, h, qi, kj):
        return (kj <= qi) & (qi - kj < window)

    def far(b, h, qi, kj):
        return (kj <= qi) & (qi - kj >= window)

    near_mask = create_block_mask(near, None, None, length, length, device="cuda")
    far_mask = create_block_mask(far, None, None, length, length, device="cuda")

    def with_lse(q, k, v, block_mask):
        try:
            from torch.nn.attention.flex_attention import AuxRequest
        except ImportError:  # older releases: return_lse
            return flex(q, k, v, block_mask=block_mask, return_lse=True)
        out, aux = flex(q, k, v, block_mask=block_mask, return_aux=AuxRequest(lse=True))
        return out, aux.lse

    def run(q, k, v, cos, sin):
        q1, k1 = rope(q, cos[:length], sin[:length]), rope(k, cos[:length], sin[:length])
        q2 = rope(q, cos[window:window + 1], sin[window:window + 1])
        out1, lse1 = with_lse(q1, k1, v, near_mask)
        out2, lse2 = with_lse(q2, k, v, far_mask)
        # Rows i < w have no pass-2 key: lse2 = −inf, weight 0 (out2 may be 0 or NaN there).
        lse1, lse2 = lse1.float(), lse2.float()
        lse = torch.logaddexp(lse1, lse2)
        w1 = torch.exp(lse1 - lse)[..., None]
        w2 = torch.where(torch.isneginf(lse2), 0.0, torch.exp(lse2 - lse))[..., None]
        out2 = torch.nan_to_num(out2.float(), nan=0.0)
        return (out1.float() * w1 + out2 * w2).to(q.dtype)

    return run


def inputs(length, generator):
    shape = (1, HEADS, length, DIM)
    return [torch.randn(shape, device="cuda", dtype=torch.bfloat16, generator=generator) for _ in range(3)]


def peak_gb(fn):
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    base = torch.cuda.memory_allocated()
    fn()
    torch.cuda.synchronize()
    return (torch.cuda.max_memory_allocated() - base) / 1e9


def report(name, length, fn, repeats=20):
    flops = 4.0 * length * length * DIM * HEADS / 2
    try:
        ms = median_ms(fn, repeats)
        gb = peak_gb(fn)
        print(f"  L={length:6d} {name:34s} {ms:9.3f} ms  {flops / ms / 1e9:8.1f} TFLOP/s  peak +{gb:6.2f} GB")
    except torch.cuda.OutOfMemoryError:
        torch.cuda.empty_cache()
        print(f"  L={length:6d} {name:34s} out of memory")
    except Exception as error:  # e.g. flex_attention or torch.compile unavailable in this build
        print(f"  L={length:6d} {name:34s} failed: {type(error).__name__}: {error}")


def check(generator):
    length, window = 2048, 512
    q, k, v = inputs(length, generator)
    cos, sin = tables(length + 1, torch.bfloat16)
    want = rerope_eager(q, k, v, cos, sin, window).float()
    print(f"  check at L={length}, w={window}: max abs difference to the eager two-pass reference")
    try:
        got = flex_pipeline(length, window)(q, k, v, cos, sin).float()
        print(f"    flex_attention two-pass LSE merge  {(got - want).abs().max().item():.3e}")
    except Exception as error:
        print(f"    flex_attention two-pass LSE merge  failed: {type(error).__name__}: {error}")
    # w ≥ L: ReRoPE is plain RoPE, so the reference must equal SDPA.
    plain = rerope_eager(q, k, v, cos, sin, length).float()
    q1, k1 = rope(q, cos[:length], sin[:length]), rope(k, cos[:length], sin[:length])
    sdpa = F.scaled_dot_product_attention(q1, k1, v, is_causal=True).float()
    print(f"    SDPA vs the reference at w = L      {(sdpa - plain).abs().max().item():.3e}")


def prefill(generator):
    for length in (8192, 16384):
        window = length // 4
        q, k, v = inputs(length, generator)
        cos, sin = tables(length + 1, torch.bfloat16)
        report("eager two-pass ReRoPE (w = L/4)", length, lambda: rerope_eager(q, k, v, cos, sin, window), repeats=5)
        torch.cuda.empty_cache()
        compiled = torch.compile(rerope_eager)
        report("compiled two-pass ReRoPE", length, lambda: compiled(q, k, v, cos, sin, window), repeats=5)
        torch.cuda.empty_cache()
        try:
            flex_run = flex_pipeline(length, window)
            report("flex_attention 2 passes + LSE merge", length, lambda: flex_run(q, k, v, cos, sin))
        except Exception as error:
            print(f"  L={length:6d} flex_attention unavailable: {type(error).__name__}: {error}")
        q1, k1 = rope(q, cos[:length], sin[:length]), rope(k, cos[:length], sin[:length])
        report("SDPA causal (RoPE applied before)", length, lambda: F.scaled_dot_product_attention(q1, k1, v, is_causal=True))
        report("RoPE + SDPA causal", length,
               lambda: F.scaled_dot_product_attention(rope(q, cos[:length], sin[:length]),
                                                      rope(k, cos[:length], sin[:length]), v, is_causal=True))
        del q, k, v, q1, k1
        torch.cuda.empty_cache()


def decode(generator):
    tokens, kv_heads, window = 32768, 8, 1024
    group = HEADS // kv_heads
    cos, sin = tables(tokens + window + 1, torch.bfloat16)
    k_raw = torch.randn((1, kv_heads, tokens, DIM), device="cuda", dtype=torch.bfloat16, generator=generator)
    v = torch.randn_like(k_raw)
    k1 = rope(k_raw, cos[:tokens], sin[:tokens])  # the dual cache: rotated keys and raw keys (ReRoPE)
    q = torch.randn((1, HEADS, 1, DIM), device="cuda", dtype=torch.bfloat16, generator=generator)
    i = tokens - 1
    scale = 1.0 / math.sqrt(DIM)
    far = (i - torch.arange(tokens, device="cuda")) >= window

    def dual_cache_step():
        q1 = rope(q, cos[i:i + 1], sin[i:i + 1]).view(1, kv_heads, group, DIM)
        q2 = rope(q, cos[window:window + 1], sin[window:window + 1]).view(1, kv_heads, group, DIM)
        s1 = (q1 @ k1.transpose(-1, -2)).float()
        s2 = (q2 @ k_raw.transpose(-1, -2)).float()
        p = torch.softmax(torch.where(far, s2, s1) * scale, dim=-1).to(v.dtype)
        return (p @ v).view(1, HEADS, 1, DIM)

    def sdpa_step():
        return F.scaled_dot_product_attention(rope(q, cos[i:i + 1], sin[i:i + 1]), k1, v, enable_gqa=True)

    cache_bytes = 3 * k_raw.numel() * k_raw.element_size()
    flat = torch.empty(cache_bytes // 2, device="cuda", dtype=torch.bfloat16)
    for name, fn, nbytes in [("dual-cache ReRoPE step (eager)", dual_cache_step, cache_bytes),
                             ("SDPA step over a RoPE cache", sdpa_step, 2 * k_raw.numel() * k_raw.element_size()),
                             ("device copy of the dual cache", lambda: flat.clone(), 2 * cache_bytes)]:
        ms = median_ms(fn, 50)
        print(f"  decode {tokens} tokens {name:32s} {ms * 1e3:9.1f} us  {nbytes / ms / 1e6:8.1f} GB/s")


def main():
    print(f"PyTorch {torch.__version__}, {torch.cuda.get_device_name()}")
    generator = torch.Generator(device="cuda").manual_seed(0)
    check(generator)
    prefill(generator)
    decode(generator)


if __name__ == "__main__":
    main()
