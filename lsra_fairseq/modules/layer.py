"""One LSRA block: LSRA self-branch, optional encoder-decoder attention, FFN.

The same block serves the encoder (symmetric convolution), the translation decoder (causal, with
encoder attention) and the language model (causal, pre-norm, no encoder attention).
"""
from typing import Callable, List, Optional, Tuple

import torch.nn.functional as F
from torch import Tensor, nn

from .attention import MultiheadAttention
from .branch_spec import BranchSpec
from .dropout import dropout
from .incremental_state import IncrementalState
from .lsra import LongShortRangeAttention, xavier_linear


class LSRALayer(nn.Module):
    """``kernel_size`` is the layer's entry of the kernel-size list (for ``default`` conv branches);
    ``encoder_attention_heads`` 0 leaves out the encoder-decoder attention."""

    def __init__(self, *, embed_dim: int, ffn_dim: int, branches: List[BranchSpec], kernel_size: int,
                 causal: bool, glu: bool, encoder_attention_heads: int = 0,
                 normalize_before: bool = False, dropout: float = 0.1, attention_dropout: float = 0.0,
                 activation_dropout: float = 0.0, weight_dropout: float = 0.0,
                 weight_softmax: bool = True, conv_linear: bool = True,
                 mask_before_linear: bool = False):
        super().__init__()
        self.normalize_before = normalize_before
        self.dropout, self.activation_dropout = dropout, activation_dropout
        self.self_attn = LongShortRangeAttention(
            branches=branches, layer_kernel=kernel_size, causal=causal, glu=glu, conv_linear=conv_linear,
            weight_softmax=weight_softmax, weight_dropout=weight_dropout,
            attention_dropout=attention_dropout, mask_before_linear=mask_before_linear)
        self.self_attn_layer_norm = nn.LayerNorm(embed_dim)
        if encoder_attention_heads:
            self.encoder_attn = MultiheadAttention(embed_dim=embed_dim, heads=encoder_attention_heads,
                                                   dropout=attention_dropout)
            self.encoder_attn_layer_norm = nn.LayerNorm(embed_dim)
        else:
            self.encoder_attn = self.encoder_attn_layer_norm = None
        self.fc1 = xavier_linear(embed_dim, ffn_dim)
        self.fc2 = xavier_linear(ffn_dim, embed_dim)
        self.final_layer_norm = nn.LayerNorm(embed_dim)

    def _residual(self, x: Tensor, norm: nn.LayerNorm, sublayer: Callable[[Tensor], Tensor]) -> Tensor:
        """Pre-norm: x + f(norm(x)); post-norm: norm(x + f(x)); dropout on f's output."""
        y = sublayer(norm(x) if self.normalize_before else x)
        x = x + dropout(y, self.dropout, self.training)
        return x if self.normalize_before else norm(x)

    def _ffn(self, x: Tensor) -> Tensor:
        x = dropout(F.relu(self.fc1(x)), self.activation_dropout, self.training)
        return self.fc2(x)

    def forward(self, x: Tensor, padding_mask: Optional[Tensor] = None,
                encoder_out: Optional[Tensor] = None, encoder_padding_mask: Optional[Tensor] = None,
                incremental_state: Optional[IncrementalState] = None,
                need_attn: bool = False) -> Tuple[Tensor, Optional[Tensor]]:
        """x: T x B x C; padding_mask: B x T (True at padding). Returns the output and, with
        ``need_attn``, the encoder attention weights (B x T x S, averaged over heads)."""
        x = self._residual(x, self.self_attn_layer_norm,
                           lambda h: self.self_attn(h, padding_mask, incremental_state))
        attn = None
        if self.encoder_attn is not None:
            def cross(h: Tensor) -> Tensor:
                nonlocal attn
                h, attn = self.encoder_attn(h, encoder_out, encoder_padding_mask,
                                            incremental_state=incremental_state, static_kv=True,
                                            need_weights=need_attn)
                return h
            x = self._residual(x, self.encoder_attn_layer_norm, cross)
        x = self._residual(x, self.final_layer_norm, self._ffn)
        return x, attn
