"""Multi-head attention with fairseq's parameter layout and incremental decoding cache.

Parameters are ``q_proj``, ``k_proj``, ``v_proj`` and ``out_proj`` as in fairseq's
``MultiheadAttention``, so checkpoints map one to one. The forward pass uses PyTorch's fused
``scaled_dot_product_attention`` unless attention weights are asked for.
"""
from typing import Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .incremental_state import IncrementalState, IncrementalStateMixin


def _projections(x: Tensor, *projections: nn.Linear) -> Tuple[Tensor, ...]:
    """Several Linear layers of one input as one matrix product (their weights stacked): one
    larger product, and one input gradient instead of a sum of several."""
    weight = torch.cat([p.weight for p in projections])
    bias = torch.cat([p.bias for p in projections])
    return F.linear(x, weight, bias).split([p.out_features for p in projections], dim=-1)


class MultiheadAttention(nn.Module, IncrementalStateMixin):
    """Self- or encoder-decoder attention over time-major inputs (T x B x C)."""

    def __init__(self, *, embed_dim: int, heads: int, kdim: Optional[int] = None, dropout: float = 0.0):
        super().__init__()
        if embed_dim % heads:
            raise ValueError(f"{heads} attention heads do not divide the dim {embed_dim}")
        kdim = kdim or embed_dim
        self.embed_dim, self.heads, self.dropout = embed_dim, heads, dropout
        self.q_proj = nn.Linear(embed_dim, embed_dim)
        self.k_proj = nn.Linear(kdim, embed_dim)
        self.v_proj = nn.Linear(kdim, embed_dim)
        self.out_proj = nn.Linear(embed_dim, embed_dim)
        gain = 2 ** -0.5  # fairseq's init for q/k/v when their input dims match
        for proj in (self.q_proj, self.k_proj, self.v_proj):
            nn.init.xavier_uniform_(proj.weight, gain=gain if kdim == embed_dim else 1.0)
        nn.init.xavier_uniform_(self.out_proj.weight)
        nn.init.zeros_(self.out_proj.bias)
        self.init_incremental_state()

    def _heads(self, x: Tensor) -> Tensor:
        """T x B x C -> B x H x T x C/H."""
        T, B, _ = x.shape
        return x.view(T, B, self.heads, -1).permute(1, 2, 0, 3)

    def forward(
        self,
        query: Tensor,
        key_value: Optional[Tensor] = None,
        key_padding_mask: Optional[Tensor] = None,
        causal: bool = False,
        incremental_state: Optional[IncrementalState] = None,
        static_kv: bool = False,
        need_weights: bool = False,
    ) -> Tuple[Tensor, Optional[Tensor]]:
        """Attends ``query`` to ``key_value`` (itself when None).

        ``key_padding_mask`` is B x S, True at padding. With ``incremental_state`` a self-attention
        appends the new step's keys/values to its cache, and an encoder-decoder attention
        (``static_kv``) projects the encoder output once and reuses it.
        """
        T, B, C = query.shape
        cache = self.get_incremental_state(incremental_state, "attn_state")
        if static_kv and cache is not None:
            q = self._heads(self.q_proj(query))
            k, v = cache["k"], cache["v"]
        else:
            if key_value is None:
                q, k, v = (self._heads(p) for p in _projections(query, self.q_proj, self.k_proj, self.v_proj))
            else:
                q = self._heads(self.q_proj(query))
                k, v = (self._heads(p) for p in _projections(key_value, self.k_proj, self.v_proj))
            if cache is not None:  # self-attention step: extend the cache
                k, v = torch.cat([cache["k"], k], dim=2), torch.cat([cache["v"], v], dim=2)
        if incremental_state is not None:
            if static_kv and cache is not None:
                key_padding_mask = cache["mask"]
            elif not static_kv:
                key_padding_mask = None  # decoding steps are never padding
            self.set_incremental_state(incremental_state, "attn_state",
                                       {"k": k, "v": v, "mask": key_padding_mask})
            causal = False  # one new step attends to everything cached so far
        S = k.size(2)
        attn_mask = None
        if key_padding_mask is not None:
            attn_mask = ~key_padding_mask.view(B, 1, 1, S)
        if causal:
            allowed = torch.ones(T, S, dtype=torch.bool, device=query.device).tril(S - T)
            attn_mask = allowed if attn_mask is None else attn_mask & allowed
        dropout = self.dropout if self.training else 0.0
        if need_weights:
            scores = (q * q.size(-1) ** -0.5) @ k.transpose(-1, -2)
            if attn_mask is not None:
                scores = scores.masked_fill(~attn_mask, float("-inf"))
            probs = F.softmax(scores, dim=-1, dtype=torch.float32).type_as(scores)
            out = F.dropout(probs, dropout, self.training) @ v
            weights = probs.mean(dim=1)  # B x T x S, averaged over heads
        else:
            out = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask, dropout_p=dropout)
            weights = None
        out = out.permute(2, 0, 1, 3).reshape(T, B, C)
        return self.out_proj(out), weights

    def reorder_incremental_state(self, incremental_state: IncrementalState, new_order: Tensor) -> None:
        self.reorder_cached_tensors(incremental_state, "attn_state", new_order, batch_dim=0)
