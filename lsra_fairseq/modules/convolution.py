"""Lightweight and dynamic convolutions over time-major (T x B x C) inputs, memory linear in T.

Both convolutions share channel groups across ``heads`` (channel ``c`` uses head ``c // (C/H)``),
softmax-normalise their k taps, and apply DropConnect to the normalised taps, as fairseq's
``LightweightConv1dTBC`` / ``DynamicConv1dTBC`` do. The full forward picks its algorithm by shape
(``convolution_algorithms``): a band-matrix product while the sequence is short, a blocked one
whose work and memory grow linearly with the length beyond.

``padding_l`` places the kernel: ``k // 2`` is symmetric (encoder), ``k - 1`` is causal (decoder).
A causal convolution can decode step by step from a buffer of its last ``k - 1`` inputs; taps that
fall before the first token see zeros, exactly as in the full forward.
"""
from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .convolution_algorithms import (choose_algorithm, dynamic_convolution, lightweight_convolution,
                                     predicted_dynamic_convolution)
from .dropout import dropout
from .incremental_state import IncrementalState, IncrementalStateMixin


class _TimeConvolution(nn.Module, IncrementalStateMixin):
    """What both convolutions share: geometry, tap normalisation and the decoding buffer."""

    # Whether the training path's blocks read their inputs in place, which moves the band/blocked
    # choice (``choose_algorithm``); only the dynamic convolution's fused path does.
    in_place_blocks = False

    def __init__(self, *, channels: int, kernel_size: int, heads: int, padding_l: int,
                 weight_softmax: bool = True, weight_dropout: float = 0.0):
        super().__init__()
        if channels % heads:
            raise ValueError(f"{heads} heads do not divide {channels} channels")
        if not 0 <= padding_l < kernel_size:
            raise ValueError(f"padding_l={padding_l} must lie in [0, kernel_size={kernel_size})")
        self.channels, self.kernel_size, self.heads = channels, kernel_size, heads
        self.padding_l = padding_l
        self.weight_softmax = weight_softmax
        self.weight_dropout = weight_dropout
        self.init_incremental_state()
        self.build_kernel()

    def build_kernel(self) -> None:
        """Creates the parameters the taps come from (each convolution its own)."""
        raise NotImplementedError

    @property
    def causal(self) -> bool:
        return self.padding_l == self.kernel_size - 1

    def normalize_taps(self, taps: Tensor) -> Tensor:
        if self.weight_softmax:
            taps = F.softmax(taps, dim=-1, dtype=torch.float32).type_as(taps)
        return dropout(taps, self.weight_dropout, self.training)

    def window(self, x: Tensor, incremental_state: IncrementalState) -> Tensor:
        """The last k inputs (k x B x C) for one decoding step; updates the buffer."""
        if not self.causal:
            raise RuntimeError("incremental decoding needs a causal convolution (padding_l = k - 1)")
        if x.size(0) != 1:
            raise RuntimeError(f"incremental decoding takes one step at a time, got {x.size(0)}")
        cache = self.get_incremental_state(incremental_state, "conv_buffer")
        if cache is None:
            buffer = x.new_zeros(self.kernel_size - 1, x.size(1), x.size(2))
        else:
            buffer = cache["buffer"]
        window = torch.cat([buffer, x], dim=0)
        self.set_incremental_state(incremental_state, "conv_buffer", {"buffer": window[1:]})
        return window

    def reorder_incremental_state(self, incremental_state: IncrementalState, new_order: Tensor) -> None:
        self.reorder_cached_tensors(incremental_state, "conv_buffer", new_order, batch_dim=1)

    def extra_repr(self) -> str:
        return (f"{self.channels}, kernel_size={self.kernel_size}, heads={self.heads}, "
                f"padding_l={self.padding_l}, weight_softmax={self.weight_softmax}, "
                f"weight_dropout={self.weight_dropout}")


class LightweightConv(_TimeConvolution):
    """One kernel of k taps per head, shared by all positions (a depthwise convolution)."""

    def build_kernel(self) -> None:
        self.weight = nn.Parameter(torch.empty(self.heads, self.kernel_size))
        nn.init.xavier_uniform_(self.weight)

    def forward(self, x: Tensor, incremental_state: Optional[IncrementalState] = None) -> Tensor:
        taps = self.normalize_taps(self.weight)  # H x k
        if incremental_state is not None:
            per_channel = taps.repeat_interleave(self.channels // self.heads, dim=0)  # C x k
            window = self.window(x, incremental_state)  # k x B x C
            return torch.einsum("kbc,ck->bc", window, per_channel).unsqueeze(0)
        return lightweight_convolution(x, taps, self.padding_l)


class DynamicConv(_TimeConvolution):
    """Kernels predicted at every position from the input by ``Linear(C -> H * k)`` (no bias)."""

    in_place_blocks = True  # float32 training runs predicted_dynamic_convolution

    def build_kernel(self) -> None:
        self.weight_linear = nn.Linear(self.channels, self.heads * self.kernel_size, bias=False)
        nn.init.xavier_uniform_(self.weight_linear.weight)

    def forward(self, x: Tensor, incremental_state: Optional[IncrementalState] = None) -> Tensor:
        T, B, C = x.shape
        H, K = self.heads, self.kernel_size
        algorithm = choose_algorithm(T, K, self.in_place_blocks)
        if incremental_state is None and x.dtype == torch.float32 and algorithm != "direct":
            return predicted_dynamic_convolution(x, self.weight_linear.weight, self.padding_l, H,
                                                 self.weight_softmax, self.weight_dropout, self.training,
                                                 algorithm)
        taps = self.normalize_taps(self.weight_linear(x).view(T, B, H, K))
        if incremental_state is not None:
            window = self.window(x, incremental_state).view(K, B, H, C // H)
            return torch.einsum("kbhr,bhk->bhr", window, taps[0]).reshape(1, B, C)
        return dynamic_convolution(x, taps, self.padding_l)
