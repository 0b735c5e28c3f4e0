"""Long-Short Range Attention: attention and convolution branches on separate channel slices."""
from typing import List, Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .attention import MultiheadAttention
from .branch_spec import BranchSpec, resolve_kernel
from .convolution import DynamicConv, LightweightConv
from .incremental_state import IncrementalState

CONVOLUTIONS = {"lightweight": LightweightConv, "dynamic": DynamicConv}


def xavier_linear(in_features: int, out_features: int, bias: bool = True) -> nn.Linear:
    layer = nn.Linear(in_features, out_features, bias)
    nn.init.xavier_uniform_(layer.weight)
    if bias:
        nn.init.zeros_(layer.bias)
    return layer


class ConvBranch(nn.Module):
    """``Linear(c -> c)`` (or ``c -> 2c`` + GLU) -> convolution -> ``Linear(c -> c)``.

    Padded positions are zeroed after the input Linear/GLU, right before the convolution, so no
    bias reaches real tokens through the padding (``mask_before_linear`` restores the official
    code's order, which lets it leak, for imported checkpoints).
    """

    def __init__(self, *, kind: str, dim: int, kernel_size: int, heads: int, causal: bool, glu: bool,
                 conv_linear: bool = True, weight_softmax: bool = True, weight_dropout: float = 0.0,
                 mask_before_linear: bool = False):
        super().__init__()
        self.glu = glu
        self.mask_before_linear = mask_before_linear
        self.linear1 = xavier_linear(dim, 2 * dim if glu else dim) if conv_linear or glu else None
        padding_l = kernel_size - 1 if causal else kernel_size // 2
        self.conv = CONVOLUTIONS[kind](channels=dim, kernel_size=kernel_size, heads=heads, padding_l=padding_l,
                                       weight_softmax=weight_softmax, weight_dropout=weight_dropout)
        self.linear2 = xavier_linear(dim, dim) if conv_linear else None

    def forward(self, x: Tensor, padding_mask: Optional[Tensor] = None,
                incremental_state: Optional[IncrementalState] = None) -> Tensor:
        pad = None if padding_mask is None else padding_mask.t().unsqueeze(-1)  # T x B x 1
        if pad is not None and self.mask_before_linear:
            x = x.masked_fill(pad, 0.0)
        if self.linear1 is not None:
            x = self.linear1(x)
        if self.glu:
            x = F.glu(x, dim=-1)
        if pad is not None and not self.mask_before_linear:
            x = x.masked_fill(pad, 0.0)
        x = self.conv(x, incremental_state)
        return x if self.linear2 is None else self.linear2(x)


class AttentionBranch(MultiheadAttention):
    """Self-attention on one channel slice (causal in the decoder)."""

    def __init__(self, *, dim: int, heads: int, causal: bool, dropout: float = 0.0):
        super().__init__(embed_dim=dim, heads=heads, dropout=dropout)
        self.causal = causal

    def forward(self, x: Tensor, padding_mask: Optional[Tensor] = None,
                incremental_state: Optional[IncrementalState] = None) -> Tensor:
        return super().forward(x, key_padding_mask=padding_mask, causal=self.causal,
                               incremental_state=incremental_state)[0]


class LongShortRangeAttention(nn.Module):
    """Splits the channels across branches, runs them side by side, and concatenates the outputs."""

    def __init__(self, *, branches: List[BranchSpec], layer_kernel: int, causal: bool, glu: bool,
                 conv_linear: bool = True, weight_softmax: bool = True, weight_dropout: float = 0.0,
                 attention_dropout: float = 0.0, mask_before_linear: bool = False):
        super().__init__()
        self.dims = [b.dim for b in branches]
        self.branches = nn.ModuleList(
            ConvBranch(kind=b.type, dim=b.dim, kernel_size=resolve_kernel(b, layer_kernel, causal),
                       heads=b.heads, causal=causal, glu=glu, conv_linear=conv_linear,
                       weight_softmax=weight_softmax, weight_dropout=weight_dropout,
                       mask_before_linear=mask_before_linear)
            if b.is_conv else AttentionBranch(dim=b.dim, heads=b.heads, causal=causal, dropout=attention_dropout)
            for b in branches)

    def forward(self, x: Tensor, padding_mask: Optional[Tensor] = None,
                incremental_state: Optional[IncrementalState] = None) -> Tensor:
        slices = torch.split(x, self.dims, dim=-1)
        return torch.cat([branch(s, padding_mask, incremental_state)
                          for branch, s in zip(self.branches, slices)], dim=-1)
