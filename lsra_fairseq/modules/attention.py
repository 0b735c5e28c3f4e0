"""Multi-head attention with fairseq's parameter layout and incremental decoding cache.

Parameters are ``q_proj``, ``k_proj``, ``v_proj`` and ``out_proj`` as in fairseq's
``MultiheadAttention``, so checkpoints map one to one. The forward pass uses PyTorch's fused
``scaled_dot_product_attention``, except where explicit products are faster (training on short
sequences on CPU, see ``EXPLICIT_MAX_SCORES``) or the attention weights are asked for.
"""
from typing import Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .dropout import dropout
from .incremental_state import IncrementalState, IncrementalStateMixin

# On CPU the fused kernel's backward pays a fixed cost per sentence and head that explicit batched
# products (QK^T, softmax, AV) avoid while the T x S scores are small. Side by side, forward+backward,
# 4 heads, 4,096 tokens a batch: at T = S = 16 explicit products are 1.2x (1 thread) and 2.0x
# (2 threads) faster, at 24 1.05x / 1.3x, at 32-48 the two trade places, at 128 the fused kernel
# is 1.3-1.9x faster (and its memory stays linear in S). Forward only (decoding, validation), the
# fused kernel is 6-13% faster at every size tried, so the explicit path is for training.
EXPLICIT_MAX_SCORES = 24 * 24


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
        weights = None
        if need_weights or (q.requires_grad and q.device.type == "cpu" and T * S <= EXPLICIT_MAX_SCORES):
            out, probs = self._explicit_attention(q, k, v, attn_mask)
            if need_weights:
                weights = probs.mean(dim=1)  # B x T x S, averaged over heads
        else:
            out = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask,
                                                 dropout_p=self.dropout if self.training else 0.0)
        out = out.permute(2, 0, 1, 3).reshape(T, B, C)
        return self.out_proj(out), weights

    def _explicit_attention(self, q: Tensor, k: Tensor, v: Tensor,
                            attn_mask: Optional[Tensor]) -> Tuple[Tensor, Tensor]:
        """softmax(QK^T / sqrt(d)) V as batched products over (sentence, head) -> the output
        (B x H x T x d) and the probabilities (B x H x T x S), before dropout."""
        B, H, T, d = q.shape
        S = k.size(2)
        scores = torch.bmm(q.flatten(0, 1), k.flatten(0, 1).transpose(1, 2)).mul_(d ** -0.5).view(B, H, T, S)
        if attn_mask is not None:
            scores.masked_fill_(~attn_mask, float("-inf"))
        probs = F.softmax(scores, dim=-1, dtype=torch.float32).type_as(scores)
        dropped = dropout(probs, self.dropout, self.training)
        return torch.bmm(dropped.view(B * H, T, S), v.flatten(0, 1)).view(B, H, T, d), probs

    def reorder_incremental_state(self, incremental_state: IncrementalState, new_order: Tensor) -> None:
        self.reorder_cached_tensors(incremental_state, "attn_state", new_order, batch_dim=0)
