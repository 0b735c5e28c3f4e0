"""Dropout with cheaper random numbers, the same distribution.

On CPU ``F.dropout`` draws one Bernoulli variate per element (``bernoulli_``), after the matrix
products the largest cost of a small model's training step. Here each element is kept when a
uniform 32-bit integer lies at or above ``round(p * 2^32)``: the integers are the two halves of
uniform 64-bit draws (``random_`` over the whole int64 range, the generator's native width), about
5x cheaper per element. Each element is still kept independently with probability 1 - p (to within
2^-32, finer than the 2^-24 of a float32 uniform) and scaled by 1 / (1 - p); only the stream of
random numbers differs from ``F.dropout``'s for the same seed.
"""
import torch
from torch import Tensor


def keep_mask(shape: torch.Size, p: float, device: torch.device) -> Tensor:
    """Booleans of ``shape``, each True with probability 1 - p, independently."""
    count = max(1, shape.numel())
    words = torch.empty((count + 1) // 2, dtype=torch.int64, device=device).random_(-2 ** 63, None)
    halves = words.view(torch.int32)[:count].view(shape)
    return halves >= min(round(p * 2 ** 32) - 2 ** 31, 2 ** 31 - 1)


def masked_scale(x: Tensor, keep: Tensor, scale: float) -> Tensor:
    """x * keep * scale in one pass (the kernel PyTorch's own dropout backward runs)."""
    return torch.ops.aten.native_dropout_backward(x, keep, scale)


class _Dropout(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: Tensor, p: float) -> Tensor:
        keep = keep_mask(x.shape, p, x.device)
        ctx.save_for_backward(keep)
        ctx.scale = 1.0 / (1.0 - p)
        return masked_scale(x, keep, ctx.scale)

    @staticmethod
    def backward(ctx, grad: Tensor):
        (keep,) = ctx.saved_tensors
        return masked_scale(grad, keep, ctx.scale), None


def dropout(x: Tensor, p: float, training: bool) -> Tensor:
    """``F.dropout(x, p, training)`` (not in place), with the cheaper random numbers above."""
    if not training or p == 0.0:
        return x
    if not 0.0 <= p < 1.0:
        if p == 1.0:
            return x * 0.0
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    return _Dropout.apply(x, p)
