"""One decoder step of a ``lite_transformer`` as a pure tensor function (no dicts, no per-step growth).

``DecoderStep(model.decoder)`` snapshots the decoder's weights into fused matrices and computes,
for one new token per row, exactly what ``LiteTransformerDecoder`` computes incrementally (log
probabilities of the next token), from fixed-size state tensors:

API (shapes; L decoder layers, N rows = sentences x beam, Ns sentences, T capacity in target
steps, A / Cc channels of all attention / convolution branches of a layer, S source length, V vocab)::

    step = DecoderStep(model.decoder)
    memory = step.encoder_memory(encoder_out, encoder_padding_mask)   # enc_k, enc_v, enc_bias
    state = step.empty_state(rows=N, capacity=T)                      # self_k, self_v, conv
    lprobs, new_k, new_v, new_conv = step(tokens, t, *state.layers(), *memory_layers(memory))
    state.write(t, torch.stack(new_k), torch.stack(new_v), new_conv)

- ``tokens``: N int64, the previous token of each row (BOS = eos at t = 0); ``t``: int64 tensor
  of shape [1], the 0-based index of the step (the same for every row).
- ``self_k`` (L x N x Ha x d x T) and ``self_v`` (L x N x Ha x T x d): self-attention keys/values
  of steps < t, split into the Ha heads of d channels of the layer's attention branches, each in
  the layout its product reads (q @ K, probs @ V) so that no graph node transposes the history
  (slots >= t are ignored by a mask, so the tensors are preallocated and only grow when the caller
  extends them).
- ``conv``: per layer, (k - 1) x N x Cc, the last k - 1 inputs of the layer's causal convolutions
  (k = its longest kernel) as a ring: step s lives in slot s mod (k - 1), and slots not written yet
  are zeros, the inputs before the first token. Its size does not grow with T, so beam reordering
  copies k - 1 slots, not the whole history; the layer reads it whole, with its taps rotated onto
  the slots (a gather of k - 1 tap rows, not of the state). Slots come first, so that the rings of
  all layers are one tensor (reordered in one copy) whose per-layer parts are contiguous.
- ``enc_k`` (L x Ns x H x d x S) and ``enc_v`` (L x Ns x H x S x d): encoder-decoder keys/values,
  projected once per sentence (H heads of d = C / H channels); ``enc_bias``: Ns x 1 x 1 x S, 0 or
  -inf at source padding. The beam is N // Ns: rows ``[i * beam, (i + 1) * beam)`` belong to
  sentence i, and their queries are one beam x d matrix per sentence and head, so cross-attention
  is Ns x H products of that size (not N x H products of one row).
- Outputs: ``lprobs`` N x V (float32 log-softmax), and this step's entries for the state, per
  layer: ``new_k``/``new_v`` N x Ha x d and ``new_conv`` N x Cc, which the caller writes at slot t.
  The state and memory go in per layer too (views of the stacked tensors).

Every reshape inside the step has one free dimension (-1) and otherwise constant sizes, so the
exported graph carries no shape arithmetic: per-node overhead, not multiply-adds, is what a
decoder step of a small model costs on a CPU.

The step itself never writes into its inputs and has no data-dependent Python control flow, so
the same module runs eagerly, under ``torch.compile`` and exported to ONNX with the state as
explicit inputs and outputs. Beam reordering is the caller's: ``index_select`` of the state
along dim 1 (``ReorderBuffers.reorder``).
"""
import math
from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..modules import DynamicConv, LightweightConv
from ..modules.lsra import AttentionBranch, ConvBranch


class UnsupportedDecoder(ValueError):
    """A decoder the fast generator cannot run (fairseq's generator still can)."""


class DecoderState(NamedTuple):
    """The preallocated per-row state of a decoding batch (see the module docstring)."""
    self_k: Tensor
    self_v: Tensor
    conv: Tensor  # the layers' rings one after another: sum of ring_sizes x N x Cc
    ring_sizes: Tuple[int, ...]  # k - 1 per layer

    def layers(self) -> Tuple[Tuple[Tensor, ...], Tuple[Tensor, ...], Tuple[Tensor, ...]]:
        """Per-layer views (what ``DecoderStep`` takes)."""
        return self.self_k.unbind(0), self.self_v.unbind(0), self.conv.split(self.ring_sizes)

    def ring_slots(self, t: int) -> List[Optional[int]]:
        """Where step t's conv input goes in ``conv``, per layer (None: the layer has no ring)."""
        slots, start = [], 0
        for size in self.ring_sizes:
            slots.append(start + t % size if size else None)
            start += size
        return slots

    def write(self, t: int, new_k: Tensor, new_v: Tensor, new_conv: Sequence[Tensor]) -> None:
        """Stores step t's entries (``DecoderStep``'s last three outputs; keys and values stacked
        over layers, conv inputs per layer)."""
        self.self_k[..., t] = new_k
        self.self_v[..., t, :] = new_v
        for slot, new in zip(self.ring_slots(t), new_conv):
            if slot is not None:
                self.conv[slot] = new

    @property
    def capacity(self) -> int:
        return self.self_k.size(-1)

    def extended(self, capacity: int) -> "DecoderState":
        """The same state with room for ``capacity`` steps (new slots zero): callers start small
        and grow, so attention and beam reordering cost what has been decoded, not the maximum."""
        extra = capacity - self.capacity
        return DecoderState(F.pad(self.self_k, (0, extra)), F.pad(self.self_v, (0, 0, 0, extra)), self.conv,
                            self.ring_sizes)


class ReorderBuffers:
    """Beam reordering of a ``DecoderState`` into reused memory: two sets of buffers, written in
    turn, so the state being read is in the other set (or in neither). A new state every step costs
    more in page faults than in copying: 35 against 7 ms for the 45 MB of Lite-160 at 256 rows.
    The views into the buffers are kept while the shape stays, since at 4 rows building them costs
    more than the copies. Each call's result replaces the state passed in, which the next call
    overwrites; one instance serves one search (one model, one batch)."""

    def __init__(self):
        self._flats: Tuple[Dict[int, Tensor], ...] = ({}, {})
        self._views: List[Tuple[tuple, DecoderState]] = [((), None), ((), None)]
        self._turn = 0

    def reorder(self, state: DecoderState, order: Tensor) -> DecoderState:
        """Rows ``order`` of ``state`` (beam reordering, finished sentences dropped). Slots not
        written yet are zeros and stay zeros."""
        turn, self._turn = self._turn, self._turn ^ 1
        key = (order.numel(), state.capacity)
        if self._views[turn][0] != key:
            self._views[turn] = key, self._views_for(turn, state, order.numel())
        out = self._views[turn][1]
        for x, rows in zip(state[:3], out[:3]):
            torch.index_select(x, 1, order, out=rows)
        return out

    def _views_for(self, turn: int, state: DecoderState, rows: int) -> DecoderState:
        flats, views = self._flats[turn], []
        for i, x in enumerate(state[:3]):
            shape = (x.size(0), rows, *x.shape[2:])
            size = math.prod(shape)
            if i not in flats or flats[i].numel() < size:
                flats[i] = x.new_empty(size)
            views.append(flats[i][:size].view(shape))
        return DecoderState(*views, state.ring_sizes)


def ring_rotation(t: Tensor, size: int) -> Tensor:
    """The age rank (oldest first) of the step that slot s of a ring of ``size`` slots holds at
    step t, (s - t) mod size: the row of the taps that slot meets."""
    return (torch.arange(size) + t * (size - 1)) % size


class _Branch(NamedTuple):
    """Where one LSRA branch's channels live in the fused tensors of its layer."""
    kind: str  # "attn", "lightweight" or "dynamic"
    heads: int
    dim: int
    offset: int  # in the layer's attention (A) or convolution (Cc) channels
    kernel: int = 0
    glu: bool = False
    weight_softmax: bool = True
    head_offset: int = 0  # attention: its first head among the layer's Ha heads


def _part(x: Tensor, dim: int, start: int, size: int) -> Tensor:
    """``x.narrow(dim, start, size)``, or ``x`` itself where that is all of it (no graph node)."""
    return x if start == 0 and size == x.size(dim) else x.narrow(dim, start, size)


def _longest_kernel(lsra) -> int:
    """The longest convolution kernel among an LSRA layer's branches (1 without any)."""
    return max([b.conv.kernel_size for b in lsra.branches if isinstance(b, ConvBranch)], default=1)


def _linear_from(weight: Tensor, bias: Tensor) -> nn.Linear:
    layer = nn.Linear(weight.size(1), weight.size(0), bias=True)
    with torch.no_grad():
        layer.weight.copy_(weight)
        layer.bias.copy_(bias)
    return layer.requires_grad_(False)


def _weight_and_bias(linear, dim: int, out_dim: int) -> Tuple[Tensor, Tensor]:
    """A branch Linear's parameters, or the identity where the branch has none (no conv linear)."""
    if linear is None:
        return torch.eye(dim), torch.zeros(dim)
    bias = linear.bias if linear.bias is not None else torch.zeros(out_dim)
    return linear.weight.detach(), bias.detach()


class _Layer(nn.Module):
    """One decoder layer's weights, fused: every branch's input Linear in one block-diagonal
    matrix (q | k | v | conv input), every branch's output Linear in another."""

    def __init__(self, layer, attn_dim: int, conv_dim: int, head_dim: int):
        super().__init__()
        lsra = layer.self_attn
        C = sum(lsra.dims)
        self.normalize_before = layer.normalize_before
        self.attn_dim, self.conv_dim, self.head_dim = attn_dim, conv_dim, head_dim
        branches: List[_Branch] = []
        conv_in_dim = sum(2 * dim if b.glu else dim
                          for b, dim in zip(lsra.branches, lsra.dims) if isinstance(b, ConvBranch))
        w_in = torch.zeros(3 * attn_dim + conv_in_dim, C)
        b_in = torch.zeros(3 * attn_dim + conv_in_dim)
        w_out, b_out = torch.zeros(C, C), torch.zeros(C)
        a_off = c_off = cin_off = x_off = 0
        dynamic = []
        for branch, dim in zip(lsra.branches, lsra.dims):
            cols = slice(x_off, x_off + dim)
            if isinstance(branch, AttentionBranch):
                scale = (dim // branch.heads) ** -0.5
                for i, (proj, factor) in enumerate(((branch.q_proj, scale), (branch.k_proj, 1.0),
                                                    (branch.v_proj, 1.0))):
                    rows = slice(i * attn_dim + a_off, i * attn_dim + a_off + dim)
                    w_in[rows, cols] = proj.weight.detach() * factor
                    b_in[rows] = proj.bias.detach() * factor
                w_out[cols, a_off:a_off + dim] = branch.out_proj.weight.detach()
                b_out[cols] = branch.out_proj.bias.detach()
                branches.append(_Branch("attn", branch.heads, dim, a_off, head_offset=a_off // head_dim))
                a_off += dim
            elif isinstance(branch, ConvBranch):
                conv = branch.conv
                width = 2 * dim if branch.glu else dim
                w, b = _weight_and_bias(branch.linear1, dim, width)
                rows = slice(3 * attn_dim + cin_off, 3 * attn_dim + cin_off + width)
                w_in[rows, cols], b_in[rows] = w, b
                w, b = _weight_and_bias(branch.linear2, dim, dim)
                w_out[cols, attn_dim + c_off:attn_dim + c_off + dim], b_out[cols] = w, b
                kind = "dynamic" if isinstance(conv, DynamicConv) else "lightweight"
                if not isinstance(conv, (DynamicConv, LightweightConv)):
                    raise UnsupportedDecoder(f"unknown convolution {type(conv).__name__}")
                if not conv.causal:
                    raise UnsupportedDecoder("the decoder's convolutions must be causal")
                branches.append(_Branch(kind, conv.heads, dim, c_off, conv.kernel_size, branch.glu,
                                        conv.weight_softmax))
                if kind == "dynamic":
                    dynamic.append(conv.weight_linear.weight.detach().clone())
                c_off += dim
                cin_off += width
            else:
                raise UnsupportedDecoder(f"unknown LSRA branch {type(branch).__name__}")
            x_off += dim
        self.branches = branches
        self.in_sizes = [attn_dim, attn_dim, attn_dim, conv_in_dim]
        self.kernel = _longest_kernel(lsra)
        self.in_proj = _linear_from(w_in, b_in)
        # The output Linear reads [attention contexts | conv outputs], i.e. the state's channel order.
        self.out_proj = _linear_from(w_out, b_out)
        self.dynamic_taps = nn.ParameterList(nn.Parameter(w, requires_grad=False) for w in dynamic)
        # Lightweight taps do not depend on the input: normalised once, right-aligned in K slots.
        taps = torch.zeros(conv_dim, self.kernel)  # stored K x 1 x Cc: slots first, like the ring
        for branch, b in zip([x for x in lsra.branches if isinstance(x, ConvBranch)],
                             [x for x in branches if x.kind != "attn"]):
            if b.kind == "lightweight":
                per_head = branch.conv.normalize_taps(branch.conv.weight.detach())
                taps[b.offset:b.offset + b.dim, self.kernel - b.kernel:] = \
                    per_head.repeat_interleave(b.dim // b.heads, dim=0)
        self.register_buffer("static_taps", taps.t().unsqueeze(1).contiguous(), persistent=False)
        self.self_norm = layer.self_attn_layer_norm
        enc = layer.encoder_attn
        if enc is None:
            raise UnsupportedDecoder("the decoder has no encoder-decoder attention (a language model)")
        self.enc_heads, self.enc_head_dim = enc.heads, enc.embed_dim // enc.heads
        enc_scale = (enc.embed_dim // enc.heads) ** -0.5
        self.enc_q = _linear_from(enc.q_proj.weight.detach() * enc_scale, enc.q_proj.bias.detach() * enc_scale)
        self.enc_out = enc.out_proj
        self.enc_k_proj, self.enc_v_proj = enc.k_proj, enc.v_proj
        self.enc_norm = layer.encoder_attn_layer_norm
        self.fc1, self.fc2 = layer.fc1, layer.fc2
        self.final_norm = layer.final_layer_norm

    def _residual(self, x: Tensor, norm: nn.LayerNorm, sublayer) -> Tuple[Tensor, tuple]:
        y, extra = sublayer(norm(x) if self.normalize_before else x)
        x = x + y
        return (x if self.normalize_before else norm(x)), extra

    def _self_branches(self, h: Tensor, hist_bias: Tensor, self_k: Tensor, self_v: Tensor, conv: Tensor,
                       rotation: Tensor) -> Tuple[Tensor, tuple]:
        A, d = self.attn_dim, self.head_dim
        q, k_new, v_new, conv_in = self.in_proj(h).split(self.in_sizes, dim=-1)
        contexts, conv_new_parts = [], []
        cin = 0
        for b in self.branches:
            if b.kind == "attn":
                qb, kn = (_part(x, 1, b.offset, b.dim).reshape(-1, b.heads, 1, d) for x in (q, k_new))
                vn = _part(v_new, 1, b.offset, b.dim).reshape(-1, b.heads, 1, d)
                kb, vb = (_part(x, 1, b.head_offset, b.heads) for x in (self_k, self_v))  # N x H x d x T, N x H x T x d
                scores = torch.cat([torch.matmul(qb, kb) + hist_bias, (qb * kn).sum(-1, keepdim=True)], dim=-1)
                probs = torch.softmax(scores, dim=-1)  # N x H x 1 x (T + 1)
                ctx = torch.matmul(probs[..., :-1], vb) + probs[..., -1:] * vn
                contexts.append(ctx.reshape(-1, b.dim))
            else:
                width = 2 * b.dim if b.glu else b.dim
                u = _part(conv_in, 1, cin, width)
                cin += width
                conv_new_parts.append(F.glu(u, dim=-1) if b.glu else u)
        u = torch.cat(conv_new_parts, dim=-1) if len(conv_new_parts) > 1 else conv_new_parts[0]
        # The last k inputs of every conv channel: k - 1 from the state, then this step's.
        taps = self._taps(u)
        out = u * taps[-1]
        if self.kernel > 1:
            out = out + (conv * taps[:-1].index_select(0, rotation)).sum(0)  # the k - 1 before
        ctx_all = torch.cat(contexts + [out], dim=-1)
        new_k, new_v = (x.reshape(-1, A // d, d) for x in (k_new, v_new))
        return self.out_proj(ctx_all), (new_k, new_v, u)

    def _taps(self, u: Tensor) -> Tensor:
        """Per-channel taps of this step, time first (K x 1 x Cc, or K x N x Cc with a dynamic branch)."""
        dynamic = [b for b in self.branches if b.kind == "dynamic"]
        if not dynamic:
            return self.static_taps
        taps = self.static_taps.expand(-1, u.size(0), -1)
        parts, start = [], 0
        for b, weight in zip(dynamic, self.dynamic_taps):
            if b.offset > start:
                parts.append(taps[..., start:b.offset])
            logits = F.linear(_part(u, 1, b.offset, b.dim), weight).view(-1, b.heads, 1, b.kernel)
            if b.weight_softmax:
                logits = torch.softmax(logits, dim=-1)
            per_channel = logits.expand(-1, b.heads, b.dim // b.heads, b.kernel).reshape(-1, b.dim, b.kernel)
            per_channel = per_channel.permute(2, 0, 1)  # k x N x dim
            if b.kernel < self.kernel:
                per_channel = F.pad(per_channel, (0, 0, 0, 0, self.kernel - b.kernel, 0))
            parts.append(per_channel)
            start = b.offset + b.dim
        if start < self.conv_dim:
            parts.append(taps[..., start:])
        return torch.cat(parts, dim=-1) if len(parts) > 1 else parts[0]

    def _cross(self, h: Tensor, enc_k: Tensor, enc_v: Tensor, enc_bias: Tensor, sentences) -> Tuple[Tensor, tuple]:
        q = self.enc_q(h).reshape(sentences, -1, self.enc_heads, self.enc_head_dim).transpose(1, 2)  # Ns x H x beam x d
        probs = torch.softmax(torch.matmul(q, enc_k) + enc_bias, dim=-1)  # Ns x H x beam x S
        ctx = torch.matmul(probs, enc_v).transpose(1, 2)  # Ns x beam x H x d
        return self.enc_out(ctx.reshape(-1, self.enc_heads * self.enc_head_dim)), ()

    def forward(self, x, hist_bias, self_k, self_v, conv, rotation, enc_k, enc_v, enc_bias, sentences):
        x, new = self._residual(x, self.self_norm, lambda h: self._self_branches(
            h, hist_bias, self_k, self_v, conv, rotation))
        x, _ = self._residual(x, self.enc_norm, lambda h: self._cross(h, enc_k, enc_v, enc_bias, sentences))
        x, _ = self._residual(x, self.final_norm, lambda h: (self.fc2(F.relu(self.fc1(h))), ()))
        return x, new


class DecoderStep(nn.Module):
    """The decoder of a ``lite_transformer`` as one step function (see the module docstring)."""

    def __init__(self, decoder):
        super().__init__()
        if getattr(decoder, "adaptive_softmax", None) is not None or decoder.output_projection is None:
            raise UnsupportedDecoder("the fast generator needs a plain output projection "
                                     "(no adaptive softmax)")
        if not isinstance(decoder.embed_tokens, nn.Embedding):
            raise UnsupportedDecoder("the fast generator needs a plain token embedding (no adaptive input)")
        first = decoder.layers[0].self_attn
        attention = [b for b in first.branches if isinstance(b, AttentionBranch)]
        self.attn_dim = sum(d for b, d in zip(first.branches, first.dims) if isinstance(b, AttentionBranch))
        self.conv_dim = sum(first.dims) - self.attn_dim
        if not self.attn_dim or not self.conv_dim:
            raise UnsupportedDecoder("the fast generator needs at least one attention and one "
                                     "convolution branch in the decoder layers")
        head_dims = {b.embed_dim // b.heads for b in attention}
        if len(head_dims) > 1:
            raise UnsupportedDecoder(f"the decoder's attention branches have heads of {sorted(head_dims)} "
                                     f"channels; the fast generator needs one head size")
        self.head_dim = head_dims.pop()
        self.attn_heads = self.attn_dim // self.head_dim
        self.layers = nn.ModuleList(_Layer(layer, self.attn_dim, self.conv_dim, self.head_dim)
                                    for layer in decoder.layers)
        self.ring_sizes = tuple(layer.kernel - 1 for layer in self.layers)  # each layer's ring: k - 1 slots
        self.embed_tokens = decoder.embed_tokens
        self.embed_scale = decoder.embed_scale
        self.padding_idx = decoder.padding_idx
        self.max_positions = decoder.max_positions()
        dummy = torch.full((1, self.max_positions), self.padding_idx + 1, dtype=torch.long)
        positions = decoder.embed_positions(dummy)[0].detach()  # row t: the position of step t
        self.register_buffer("positions", positions, persistent=False)
        self.layer_norm = decoder.layer_norm
        self.output_projection = decoder.output_projection
        for p in self.parameters():
            p.requires_grad_(False)
        self.eval()

    @property
    def vocab_size(self) -> int:
        return self.output_projection.out_features

    def encoder_memory(self, encoder_out: Tensor, encoder_padding_mask: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
        """Encoder output (S x Ns x C, the encoder's ``encoder_out``) and padding mask (Ns x S) ->
        ``enc_k`` (L x Ns x H x d x S), ``enc_v`` (L x Ns x H x S x d), ``enc_bias`` (Ns x 1 x 1 x S)."""
        S, Ns, C = encoder_out.shape
        x = encoder_out.transpose(0, 1)
        heads = lambda proj, H: proj(x).view(Ns, S, H, C // H).transpose(1, 2)  # noqa: E731  Ns x H x S x d
        enc_k = torch.stack([heads(layer.enc_k_proj, layer.enc_heads).transpose(-1, -2) for layer in self.layers])
        enc_v = torch.stack([heads(layer.enc_v_proj, layer.enc_heads) for layer in self.layers])
        bias = torch.zeros(encoder_padding_mask.shape, dtype=x.dtype).masked_fill(
            encoder_padding_mask, float("-inf"))
        return enc_k.contiguous(), enc_v.contiguous(), bias[:, None, None, :]

    def empty_state(self, rows: int, capacity: int) -> DecoderState:
        """Zeroed state for ``rows`` rows and ``capacity`` steps."""
        L = len(self.layers)
        k = torch.zeros(L, rows, self.attn_heads, self.head_dim, capacity)
        v = torch.zeros(L, rows, self.attn_heads, capacity, self.head_dim)
        return DecoderState(k, v, torch.zeros(sum(self.ring_sizes), rows, self.conv_dim), self.ring_sizes)

    def forward(self, tokens: Tensor, t: Tensor, self_k: Sequence[Tensor], self_v: Sequence[Tensor],
                conv: Sequence[Tensor], enc_k: Sequence[Tensor], enc_v: Sequence[Tensor], enc_bias: Tensor):
        """The state and memory come per layer (``DecoderState.layers``, ``memory_layers``): separate
        graph inputs cost no copy, where indexing one stacked tensor copies it in the graph."""
        x = self.embed_scale * self.embed_tokens(tokens) + self.positions.index_select(0, t)
        T = self_k[0].size(-1)
        hist_bias = torch.zeros(T).masked_fill(torch.arange(T) >= t, float("-inf"))  # steps < t
        rotations = {size: ring_rotation(t, size) for size in set(self.ring_sizes) if size}  # once per ring size
        sentences = enc_bias.size(0)
        new_k, new_v, new_conv = [], [], []
        for i, layer in enumerate(self.layers):
            x, (k, v, u) = layer(x, hist_bias, self_k[i], self_v[i], conv[i], rotations.get(layer.kernel - 1),
                                 enc_k[i], enc_v[i], enc_bias, sentences)
            new_k.append(k)
            new_v.append(v)
            new_conv.append(u)
        if self.layer_norm is not None:
            x = self.layer_norm(x)
        lprobs = torch.log_softmax(self.output_projection(x).float(), dim=-1)
        return lprobs, tuple(new_k), tuple(new_v), tuple(new_conv)


def memory_layers(memory: Tuple[Tensor, Tensor, Tensor]) -> Tuple[Tuple[Tensor, ...], Tuple[Tensor, ...], Tensor]:
    """``encoder_memory``'s stacked keys/values as the per-layer views ``DecoderStep`` takes."""
    enc_k, enc_v, enc_bias = memory
    return enc_k.unbind(0), enc_v.unbind(0), enc_bias
