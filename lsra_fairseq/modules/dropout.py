"""Dropout with cheaper random numbers, the same distribution.

On CPU ``F.dropout`` draws one Bernoulli variate per element (``bernoulli_``), after the matrix
products the largest cost of a small model's training step. Here each element is kept when a
uniform 32-bit integer lies at or above ``round(p * 2^32)``: the integers are the halves of uniform
64-bit words, on CPU from numpy's SFC64 generator (seeded by one draw from torch's generator, so
``torch.manual_seed`` and fairseq's saved RNG state still decide them), elsewhere from ``random_``
on the device. On CPU the mask costs a third of ``bernoulli_``'s and two thirds of torch's own
``random_`` (side by side, 655k elements, 1 and 2 threads). Each element is still kept
independently with probability 1 - p (to within 2^-32, finer than the 2^-24 of a float32 uniform)
and scaled by 1 / (1 - p); only the stream of random numbers differs from ``F.dropout``'s.

The kept elements and the scale are held as one float mask, so the forward and the backward are a
single multiplication each (a boolean mask costs a type conversion and a second pass).
"""
import numpy as np
import torch
from torch import Tensor


def _uniform_words(count: int, device: torch.device) -> Tensor:
    """``count`` uniform 32-bit integers (int32)."""
    words = (count + 1) // 2
    if device.type == "cpu":
        seed = int(torch.empty((), dtype=torch.int64).random_())
        bits = torch.from_numpy(np.random.SFC64(seed).random_raw(words).view(np.int32))
    else:
        bits = torch.empty(words, dtype=torch.int64, device=device).random_(-2 ** 63, None).view(torch.int32)
    return bits[:count]


def keep_mask(shape: torch.Size, p: float, device: torch.device) -> Tensor:
    """Booleans of ``shape``, each True with probability 1 - p, independently."""
    halves = _uniform_words(shape.numel(), device).view(shape)
    return halves >= min(round(p * 2 ** 32) - 2 ** 31, 2 ** 31 - 1)


def scaled_keep_mask(shape: torch.Size, p: float, like: Tensor) -> Tensor:
    """``keep_mask`` as ``like``'s dtype, kept elements 1 / (1 - p): dropout is ``x * mask``."""
    return keep_mask(shape, p, like.device).to(like.dtype).mul_(1.0 / (1.0 - p))


class _Dropout(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: Tensor, p: float) -> Tensor:
        mask = scaled_keep_mask(x.shape, p, x)
        ctx.save_for_backward(mask)
        return x * mask

    @staticmethod
    def backward(ctx, grad: Tensor):
        (mask,) = ctx.saved_tensors
        return grad * mask, None


def dropout(x: Tensor, p: float, training: bool) -> Tensor:
    """``F.dropout(x, p, training)`` (not in place), with the cheaper random numbers above."""
    if not training or p == 0.0:
        return x
    if not 0.0 <= p < 1.0:
        if p == 1.0:
            return x * 0.0
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    return _Dropout.apply(x, p)
