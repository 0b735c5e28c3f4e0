"""The encoder as one traceable function of source tokens -> the decoder step's encoder memory.

It computes what ``LiteTransformerEncoder`` computes (checked by the tests against the model's
own encoder) from the modules' weights and attributes, with the textbook convolution (a sum of k
shifted products): the training
algorithms of ``lsra_fairseq.modules`` (band matrices, custom autograd functions) do not trace.
"""
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .decoder_step import DecoderStep
from ..modules import DynamicConv
from ..modules.lsra import AttentionBranch


def _attention(attn, x: Tensor, padding_mask: Tensor) -> Tensor:
    """Self-attention over T x B x C with a B x S padding mask (True at padding)."""
    T, B, C = x.shape
    heads = lambda y: y.view(T, B, attn.heads, -1).permute(1, 2, 0, 3)  # noqa: E731
    q, k, v = heads(attn.q_proj(x)), heads(attn.k_proj(x)), heads(attn.v_proj(x))
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=~padding_mask.view(B, 1, 1, T))
    return attn.out_proj(out.permute(2, 0, 1, 3).reshape(T, B, C))


def _convolution(conv, x: Tensor) -> Tensor:
    T, B, C = x.shape
    H, K = conv.heads, conv.kernel_size
    # Zeros around the time axis (a time-axis F.pad does not export).
    left, right = x[:1].expand(conv.padding_l, B, C), x[:1].expand(K - 1 - conv.padding_l, B, C)
    padded = torch.cat([torch.zeros_like(left), x, torch.zeros_like(right)])
    if isinstance(conv, DynamicConv):
        taps = conv.normalize_taps(conv.weight_linear(x).view(T, B, H, K))
        # k shifted views of the input, one per tap (unfold or conv1d with traced shapes do not export).
        heads = padded.view(-1, B, H, C // H)
        out = sum(heads[j:j + T] * taps[..., j:j + 1] for j in range(K))
        return out.reshape(T, B, C)
    per_channel = conv.normalize_taps(conv.weight).repeat_interleave(C // H, dim=0)  # C x k
    return sum(padded[j:j + T] * per_channel[:, j] for j in range(K))


def _conv_branch(branch, x: Tensor, padding_mask: Tensor) -> Tensor:
    pad = padding_mask.t().unsqueeze(-1)
    if branch.mask_before_linear:
        x = x.masked_fill(pad, 0.0)
    if branch.linear1 is not None:
        x = branch.linear1(x)
    if branch.glu:
        x = F.glu(x, dim=-1)
    if not branch.mask_before_linear:
        x = x.masked_fill(pad, 0.0)
    x = _convolution(branch.conv, x)
    return x if branch.linear2 is None else branch.linear2(x)


def _lsra(lsra, x: Tensor, padding_mask: Tensor) -> Tensor:
    outputs = [_attention(b, s, padding_mask) if isinstance(b, AttentionBranch) else _conv_branch(b, s, padding_mask)
               for b, s in zip(lsra.branches, torch.split(x, lsra.dims, dim=-1))]
    return torch.cat(outputs, dim=-1)


def _layer(layer, x: Tensor, padding_mask: Tensor) -> Tensor:
    def residual(x, norm, sublayer):
        y = sublayer(norm(x) if layer.normalize_before else x)
        return x + y if layer.normalize_before else norm(x + y)
    x = residual(x, layer.self_attn_layer_norm, lambda h: _lsra(layer.self_attn, h, padding_mask))
    return residual(x, layer.final_layer_norm, lambda h: layer.fc2(F.relu(layer.fc1(h))))


class EncoderMemory(nn.Module):
    """Source tokens (Ns x S, fairseq's left padding) -> ``enc_k``, ``enc_v``, ``enc_bias``."""

    def __init__(self, model, step: DecoderStep):
        super().__init__()
        self.encoder, self.step = model.encoder, step

    def encoder_out(self, src_tokens: Tensor) -> Tensor:
        """The encoder's ``encoder_out`` (S x Ns x C)."""
        encoder = self.encoder
        padding_mask = src_tokens.eq(encoder.padding_idx)
        x = encoder.embed(src_tokens).masked_fill(padding_mask.t().unsqueeze(-1), 0.0)
        for layer in encoder.layers:
            x = _layer(layer, x, padding_mask)
        return x if encoder.layer_norm is None else encoder.layer_norm(x)

    def forward(self, src_tokens: Tensor):
        return self.step.encoder_memory(self.encoder_out(src_tokens), src_tokens.eq(self.encoder.padding_idx))
