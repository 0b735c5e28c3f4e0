"""How the time convolutions are computed: three algorithms with the same result, chosen by shape.

out[t] = sum_j taps[t, j] * x[t + j - padding_l] (zeros outside the sequence), per head, over
time-major inputs (T x B x C). Lightweight taps are H x k (shared by all positions), dynamic taps
T x B x H x k. On CPU a depthwise ``conv1d`` or an unfolded k-deep contraction leaves the matrix
units idle, so for training the taps become band matrices and the work is done by ``bmm``:

- ``band``: one T x T band matrix (per head, or per sentence and head for dynamic taps) times the
  whole sequence; the fastest while T is a few kernels long (for the fused dynamic convolution,
  whose blocks read their inputs in place, while T fits one block), and quadratic in T.
- ``blocked``: the sequence cut into blocks of ``L`` positions; each block's outputs are an
  L x (L + k - 1) band matrix times the block's inputs and the k - 1 inputs after it, so work and
  memory grow linearly with T (about ``(L + k - 1) / k`` times the taps' multiply-adds).
- ``direct``: the textbook k taps per position (a depthwise ``conv1d`` or an unfolded
  contraction). It runs under a dispatch mode that inspects operators (the MAC counter of
  ``lsra_fairseq.profiling``), so what such a mode sees are the convolution's own multiply-adds.
"""
import math
from typing import Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.utils._python_dispatch import is_in_torch_dispatch_mode

from .dropout import scaled_keep_mask

ALGORITHMS = ("direct", "band", "blocked")

# From side-by-side runs on a quiet machine (C = 256, 4 heads, 2048 tokens a batch, forward+backward,
# 1 thread): the band's T-deep product beats the blocked one's S-deep product (S = L + k - 1) up to
# about 2.5 S, e.g. at T = 128 for k = 31 (dynamic 1.10x fairseq's best against the blocked 1.02x)
# but not at T = 192, nor at T = 128 for k = 3 or 15; beyond, its T x T work and memory take over.
BAND_MAX_DEPTH_RATIO = 2.5
BAND_MIN_LENGTH = 64


def block_length(kernel_size: int) -> int:
    """Blocks of at least 32 positions keep the products large; at least k - 1 lets a block's
    window reach only into the next block."""
    return max(32, kernel_size - 1)


def band_max_length(kernel_size: int, in_place_blocks: bool = False) -> int:
    """The longest sequence the band algorithm takes for k taps (see BAND_MAX_DEPTH_RATIO). Blocks
    that read their inputs in place (the fused dynamic convolution's: no copied windows) win as
    soon as a sequence holds two of them: forward+backward at T = 64 / 96 / 128, k = 31, 2048 tokens,
    1 thread, 22.6 / 24.2 / 26.9 ms against the band's 23.5 / 27.9 / 32.1 ms."""
    if in_place_blocks:
        return block_length(kernel_size)
    depth = block_length(kernel_size) + kernel_size - 1
    return max(int(BAND_MAX_DEPTH_RATIO * depth), BAND_MIN_LENGTH)


def choose_algorithm(length: int, kernel_size: int, in_place_blocks: bool = False) -> str:
    """The algorithm for a T-long sequence and k taps (see the module docstring)."""
    if is_in_torch_dispatch_mode(include_infra_modes=False):
        return "direct"
    if length <= band_max_length(kernel_size, in_place_blocks):
        return "band"
    return "blocked"


class _BandMatrix(torch.autograd.Function):
    """The skew trick: rows of k taps, each followed by L zeros, re-read as rows one shorter put
    row t's taps at columns t .. t + k - 1. The backward reads the taps' gradients back out of the
    same layout (one zero-filled buffer each way, where autograd through a pad and views takes two)."""

    @staticmethod
    def forward(ctx, rows: Tensor, offset: int, width: int) -> Tensor:
        ctx.geometry = rows.shape, offset, width
        return _skewed(rows.new_zeros(rows.shape[:-1] + (rows.shape[-2] + rows.shape[-1],)), rows, offset, width)

    @staticmethod
    def backward(ctx, grad: Tensor):
        shape, offset, width = ctx.geometry
        buffer = grad.new_zeros(shape[:-1] + (shape[-2] + shape[-1],))
        _skewed(buffer, None, offset, width).copy_(grad)
        return buffer[..., : shape[-1]], None, None


def _skewed(buffer: Tensor, rows: Optional[Tensor], offset: int, width: int) -> Tensor:
    """The band view of ``buffer`` (..., L, L + k), after writing ``rows`` into its first k columns."""
    L, k = buffer.shape[-2], buffer.shape[-1] - buffer.shape[-2]
    if rows is not None:
        buffer[..., :k] = rows
    flat = buffer.flatten(-2)[..., : L * (L + k - 1)]
    return flat.unflatten(-1, (L, L + k - 1)).narrow(-1, offset, width)


def band_matrix(rows: Tensor, offset: int, width: int) -> Tensor:
    """Taps ``rows`` (..., L, k) -> band (..., L, width) with band[t, s] = rows[t, s + offset - t]
    where 0 <= s + offset - t < k, else 0 (``offset + width <= L + k - 1``)."""
    return _BandMatrix.apply(rows, offset, width)


def _check(algorithm: Optional[str], length: int, kernel_size: int, in_place_blocks: bool = False) -> str:
    algorithm = algorithm or choose_algorithm(length, kernel_size, in_place_blocks)
    if algorithm not in ALGORITHMS:
        raise ValueError(f"unknown convolution algorithm {algorithm!r}; use one of {', '.join(ALGORITHMS)}")
    return algorithm


def _pad_time(x: Tensor, left: int, right: int) -> Tensor:
    return F.pad(x, (0, 0) * (x.dim() - 1) + (left, right))


def lightweight_convolution(x: Tensor, taps: Tensor, padding_l: int,
                            algorithm: Optional[str] = None) -> Tensor:
    """x: T x B x C, taps: H x k (one kernel per head) -> T x B x C."""
    T, B, C = x.shape
    H, k = taps.shape
    R = C // H
    algorithm = _check(algorithm, T, k)
    if algorithm == "direct":
        padded = _pad_time(x, padding_l, k - 1 - padding_l).permute(1, 2, 0)  # B x C x (T + k - 1)
        per_channel = taps.repeat_interleave(R, dim=0).unsqueeze(1)  # C x 1 x k
        return F.conv1d(padded, per_channel, groups=C).permute(2, 0, 1)
    if algorithm == "band":
        band = band_matrix(taps.unsqueeze(1).expand(H, T, k), padding_l, T)  # H x T x T
        heads = x.reshape(T, B, H, R).permute(2, 0, 1, 3).reshape(H, T, B * R)
        out = torch.bmm(band, heads)
        return out.view(H, T, B, R).permute(1, 2, 0, 3).reshape(T, B, C)
    # blocked: rows = positions in a block, columns = (block, sentence, channel of the head)
    L = block_length(k)
    N = math.ceil(T / L)
    band = band_matrix(taps.unsqueeze(1).expand(H, L, k), 0, L + k - 1)  # H x L x (L + k - 1)
    padded = _pad_time(x, padding_l, (N + 1) * L - T - padding_l)
    blocks = padded.view(N + 1, L, B, H, R).permute(3, 1, 0, 2, 4).reshape(H, L, (N + 1) * B * R)
    own = torch.bmm(band[..., :L], blocks[..., : N * B * R])
    out = torch.baddbmm(own, band[..., L:], blocks[:, : k - 1, B * R:])  # the next block's head
    return out.view(H, L, N, B, R).permute(2, 1, 3, 0, 4).reshape(N * L, B, C)[:T]


def dynamic_convolution(x: Tensor, taps: Tensor, padding_l: int,
                        algorithm: Optional[str] = None) -> Tensor:
    """x: T x B x C, taps: T x B x H x k (one kernel per position and head) -> T x B x C."""
    T, B, C = x.shape
    H, k = taps.shape[-2:]
    R = C // H
    algorithm = _check(algorithm, T, k)
    if algorithm == "direct":
        # A strided view of the k-wide windows; the contraction copies them (O(T x k x C)).
        windows = _pad_time(x, padding_l, k - 1 - padding_l).unfold(0, k, 1).reshape(T, B, H, R, k)
        return torch.einsum("tbhrk,tbhk->tbhr", windows, taps).reshape(T, B, C)
    if algorithm == "band":
        band = band_matrix(taps.permute(1, 2, 0, 3), padding_l, T).flatten(0, 1)  # BH x T x T
        out = torch.bmm(band, x.reshape(T, B * H, R).transpose(0, 1))  # BH x T x R
        return out.transpose(0, 1).reshape(T, B, C)
    L = block_length(k)
    N = math.ceil(T / L)
    S = L + k - 1
    rows = _pad_time(taps, 0, N * L - T).view(N, L, B, H, k).permute(2, 3, 0, 1, 4)  # B H N L k
    band = band_matrix(rows, 0, S).flatten(0, 2)  # BHN x L x S
    heads = x.reshape(T, B, H, R).permute(1, 2, 0, 3)  # B x H x T x R
    windows = F.pad(heads, (0, 0, padding_l, N * L + k - 1 - T - padding_l)).unfold(2, S, L)
    windows = windows.transpose(-1, -2).reshape(B * H * N, S, R)
    out = torch.bmm(band, windows).view(B, H, N * L, R)[:, :, :T]
    return out.permute(2, 0, 1, 3).reshape(T, B, C)


def _interleaved_band(buffer: Tensor, rows: Tuple[int, int], offset: int, width: int) -> Tensor:
    """The (B * H) x (r1 - r0) x width bands of rows [r0, r1) held in ``buffer`` (T x B x H x W,
    taps in the first k columns): rows of one band are B * H * W elements apart in memory, and each
    row's view starts one element earlier than the row above, the skew trick on interleaved rows.
    With W = k + (r1 - r0), columns outside a row's taps read the zeros that end that row or the
    one before; with W = k (the taps themselves) every column must fall inside the kernel
    (``band_is_dense``)."""
    T, B, H, W = buffer.shape
    r0, r1 = rows
    return buffer.as_strided((B * H, r1 - r0, width), (W, B * H * W - 1, 1),
                             buffer.storage_offset() + r0 * B * H * W + offset)


def band_is_dense(length: int, kernel_size: int, padding_l: int) -> bool:
    """Whether every entry of the T x T band is a tap (the kernel reaches every other position):
    then the band is a view of the taps, with no zero-padded buffer to fill either way."""
    return length - 1 <= min(padding_l, kernel_size - 1 - padding_l)


def _row_blocks(length: int, rows: int, kernel_size: int, padding_l: int):
    """(rows [r0, r1), the inputs [lo, hi) they read, the band's first tap column) of each block of
    ``rows`` output positions; one block covering the sequence is the band algorithm."""
    for r0 in range(0, length, rows):
        r1 = min(length, r0 + rows)
        lo, hi = max(0, r0 - padding_l), min(length, r1 - 1 + kernel_size - padding_l)
        yield (r0, r1), lo, hi, lo - r0 + padding_l


class _PredictedDynamicConvolution(torch.autograd.Function):
    """The dynamic convolution's band and blocked algorithms with its kernel predictor, in one
    piece: ``Linear(C -> H * k)``, softmax, DropConnect, then per block of output rows one product
    of its band (contiguous, saved for the backward) with the inputs it reads, a strided view of x.
    Done by hand, the taps go into the band buffer in their own T x B x H order, no copy of x is
    made either way, and the backward adds the predictor's input gradient onto the bands' in the
    same matrix product (``addmm_``)."""

    @staticmethod
    def forward(ctx, x: Tensor, weight: Tensor, padding_l: int, heads: int, softmax: bool,
                weight_dropout: float, training: bool, rows: int) -> Tensor:
        T, B, C = x.shape
        H, k, R = heads, weight.shape[0] // heads, C // heads
        taps = F.linear(x, weight).view(T, B, H, k)
        if softmax:
            taps = torch.softmax(taps, dim=-1)
        mask = scaled_keep_mask(taps.shape, weight_dropout, taps) if training and weight_dropout else None
        buffer = taps if mask is None else taps * mask
        if not (rows >= T and band_is_dense(T, k, padding_l)):
            buffer = F.pad(buffer, (0, min(rows, T)))  # zeros after each row's taps
        inputs = x.reshape(T, B * H, R)
        out = x.new_empty(T, B * H, R)
        bands = []
        for (r0, r1), lo, hi, offset in _row_blocks(T, rows, k, padding_l):
            # A contiguous band costs less than what the interleaved view's scattered rows cost
            # the two products that read it, and it is smaller than the buffer it comes from.
            bands.append(_interleaved_band(buffer, (r0, r1), offset, hi - lo).contiguous())
            out[r0:r1].transpose(0, 1).copy_(torch.bmm(bands[-1], inputs[lo:hi].transpose(0, 1)))
        ctx.save_for_backward(x, weight, taps if softmax else None, mask, *bands)
        ctx.geometry = padding_l, heads, rows, buffer.shape[-1]
        return out.view(T, B, C)

    @staticmethod
    def backward(ctx, grad: Tensor):
        x, weight, taps, mask, *bands = ctx.saved_tensors
        padding_l, H, rows, width = ctx.geometry
        T, B, C = x.shape
        k, R = weight.shape[0] // H, C // H
        inputs = x.reshape(T, B * H, R)
        grads = grad.reshape(T, B * H, R)
        grad_x = x.new_empty(T, B * H, R)
        grad_buffer = x.new_zeros(T, B, H, width)
        written = 0  # blocks read overlapping inputs in order: add onto [lo, written), copy beyond
        for band, ((r0, r1), lo, hi, offset) in zip(bands, _row_blocks(T, rows, k, padding_l)):
            block = grads[r0:r1].transpose(0, 1)
            part = torch.bmm(band.transpose(1, 2), block).transpose(0, 1)
            grad_x[lo:written] += part[:written - lo]
            grad_x[written:hi] = part[written - lo:]
            written = hi
            _interleaved_band(grad_buffer, (r0, r1), offset, hi - lo).copy_(
                torch.bmm(block, inputs[lo:hi].permute(1, 2, 0)))
        grad_taps = grad_buffer[..., :k]
        if mask is not None:
            grad_taps = grad_taps * mask
        if taps is not None:
            grad_taps = torch._softmax_backward_data(grad_taps.contiguous(), taps, -1, taps.dtype)
        grad_taps = grad_taps.reshape(T * B, H * k)
        grad_weight = grad_taps.t().mm(x.reshape(T * B, C))
        grad_x = grad_x.view(T * B, C).addmm_(grad_taps, weight)
        return grad_x.view(T, B, C), grad_weight, None, None, None, None, None, None


def predicted_dynamic_convolution(x: Tensor, weight: Tensor, padding_l: int, heads: int,
                                  softmax: bool, weight_dropout: float, training: bool,
                                  algorithm: Optional[str] = None) -> Tensor:
    """The band or blocked algorithm of a dynamic convolution from its predictor's ``weight``
    (H * k x C): what ``dynamic_convolution(x, taps, padding_l, algorithm)`` computes from the taps
    ``dropout(softmax(x @ weight.T))``, float32 only."""
    T, k = x.size(0), weight.size(0) // heads
    algorithm = _check(algorithm, T, k, in_place_blocks=True)
    if algorithm == "direct":
        raise ValueError("the fused dynamic convolution runs the band or blocked algorithm, not direct")
    rows = T if algorithm == "band" else block_length(k)
    return _PredictedDynamicConvolution.apply(x, weight, padding_l, heads, softmax, weight_dropout,
                                              training, rows)
