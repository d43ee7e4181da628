"""Sort-based reference maps a PyTorch user would write, shared by the CPU and GPU peers."""
import torch


def sparsemax(z):
    """Sort-based sparsemax (Martins & Astudillo 2016)."""
    zs, _ = torch.sort(z, dim=-1, descending=True)
    k = torch.arange(1, z.shape[-1] + 1, device=z.device, dtype=z.dtype)
    cs = zs.cumsum(dim=-1)
    kz = (1 + k * zs > cs).sum(dim=-1, keepdim=True)
    tau = (cs.gather(-1, kz - 1) - 1) / kz
    return (z - tau).clamp(min=0)


def entmax15(z):
    """Sort-based exact entmax-1.5 (Peters et al. 2019, as the entmax package)."""
    z = (z - z.max(dim=-1, keepdim=True).values) / 2
    zs, _ = torch.sort(z, dim=-1, descending=True)
    k = torch.arange(1, z.shape[-1] + 1, device=z.device, dtype=z.dtype)
    mean = zs.cumsum(dim=-1) / k
    mean_sq = (zs * zs).cumsum(dim=-1) / k
    delta = (1 - k * (mean_sq - mean * mean)) / k
    tau = mean - delta.clamp(min=0).sqrt()
    support = (tau <= zs).sum(dim=-1, keepdim=True)
    return (z - tau.gather(-1, support - 1)).clamp(min=0) ** 2
