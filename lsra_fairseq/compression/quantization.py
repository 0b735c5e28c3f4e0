"""8-bit weight quantization: per-tensor k-means (a 256-entry codebook) and linear per-channel.

k-means follows Deep Compression (Han et al. 2016): centroids start spread linearly over the
weights' range (which keeps the rare large weights representable) and Lloyd's iterations move them
to the mean of the weights they code. Weights are scalars, so one Lloyd step is a sort-free
``bucketize`` against the midpoints of the sorted centroids: exact, fast enough to re-run at every
update of quantization-aware fine-tuning, and warm-startable from the previous codebook.

Linear quantization is symmetric int8 with one scale per output channel (row): |w - q| <= scale/2.

A mask (pruning) selects the weights that are coded; the others are exactly zero on decoding.
"""
from dataclasses import dataclass
from typing import Optional, Tuple

import torch
from torch import Tensor

SCHEMES = ("kmeans", "linear")
KMEANS_CENTROIDS = 256
LINEAR_LEVELS = 127  # int8 codes in [-127, 127]: symmetric, so zero is exact


@dataclass
class QuantizedTensor:
    """The codes of the kept weights (flattened, in row-major order) and how to decode them.

    ``table`` is the k-means codebook (float32, at most 256 entries, ``codes`` uint8 index it) or the
    linear scales (float32, one per channel, ``codes`` int8). ``mask`` is None for a dense tensor.
    """
    scheme: str
    shape: Tuple[int, ...]
    codes: Tensor
    table: Tensor
    mask: Optional[Tensor] = None

    def dequantize(self) -> Tensor:
        if self.scheme == "kmeans":
            values = self.table[self.codes.long()]
        else:
            channel = _channel_index(self.shape, self.mask)
            values = self.codes.float() * self.table[channel]
        if self.mask is None:
            return values.reshape(self.shape)
        dense = torch.zeros(self.shape, dtype=values.dtype)
        dense[self.mask] = values
        return dense


def _channel_index(shape: Tuple[int, ...], mask: Optional[Tensor]) -> Tensor:
    """The channel (row; one channel for a 1-D tensor) of every coded weight, in coding order."""
    rows = shape[0] if len(shape) > 1 else 1
    per_row = int(torch.tensor(shape[1:]).prod()) if len(shape) > 1 else shape[0]
    index = torch.arange(rows).repeat_interleave(per_row)
    return index if mask is None else index[mask.reshape(-1)]


def nearest_centroid(values: Tensor, centroids: Tensor) -> Tensor:
    """Index of the nearest of the ascending ``centroids`` for each value."""
    return torch.bucketize(values, (centroids[1:] + centroids[:-1]) / 2)


def kmeans_1d(values: Tensor, k: int = KMEANS_CENTROIDS, iterations: int = 50,
              init: Optional[Tensor] = None) -> Tuple[Tensor, Tensor]:
    """(codes, ascending centroids) of Lloyd's k-means on scalars, from a linear or given start.

    On sorted values every cluster is a run, so one iteration is a ``searchsorted`` of the k - 1
    midpoints and differences of a prefix sum: O(k log n) instead of O(n) per step.
    """
    values = values.reshape(-1).float()
    distinct = torch.unique(values)
    if distinct.numel() <= k:  # every value is its own centroid: lossless
        return nearest_centroid(values, distinct), distinct
    ordered = values.double().sort().values
    prefix = torch.cat([ordered.new_zeros(1), ordered.cumsum(0)])
    centroids = (init.double().sort().values if init is not None
                 else torch.linspace(float(ordered[0]), float(ordered[-1]), k, dtype=torch.float64))
    for _ in range(iterations):
        # Cluster j holds ordered[ends[j]:ends[j + 1]] (ties at a midpoint go to the lower cluster,
        # as in nearest_centroid).
        midpoints = (centroids[1:] + centroids[:-1]) / 2
        ends = torch.cat([ordered.new_zeros(1, dtype=torch.long),
                          torch.searchsorted(ordered, midpoints, right=True),
                          torch.tensor([ordered.numel()])])
        counts = ends[1:] - ends[:-1]
        sums = prefix[ends[1:]] - prefix[ends[:-1]]
        updated = torch.where(counts > 0, sums / counts.clamp(min=1), centroids).sort().values
        if torch.equal(updated, centroids):
            break
        centroids = updated
    centroids = centroids.float()
    return nearest_centroid(values, centroids), centroids


def _kept(tensor: Tensor, mask: Optional[Tensor]) -> Tensor:
    if mask is not None and mask.shape != tensor.shape:
        raise ValueError(f"mask of shape {tuple(mask.shape)} for a tensor of shape {tuple(tensor.shape)}")
    return tensor.reshape(-1) if mask is None else tensor[mask]


def quantize_kmeans(tensor: Tensor, mask: Optional[Tensor] = None, init: Optional[Tensor] = None,
                    iterations: int = 50) -> QuantizedTensor:
    codes, centroids = kmeans_1d(_kept(tensor.detach(), mask), init=init, iterations=iterations)
    return QuantizedTensor("kmeans", tuple(tensor.shape), codes.to(torch.uint8), centroids, mask)


def quantize_linear(tensor: Tensor, mask: Optional[Tensor] = None) -> QuantizedTensor:
    """Symmetric int8, one scale per row (per tensor for 1-D tensors); all-zero rows get scale 1."""
    weights = tensor.detach().float()
    rows = weights.reshape(weights.shape[0], -1) if weights.dim() > 1 else weights.reshape(1, -1)
    scales = rows.abs().amax(dim=1) / LINEAR_LEVELS
    scales = torch.where(scales > 0, scales, torch.ones_like(scales))
    kept = _kept(weights, mask)
    codes = torch.round(kept / scales[_channel_index(tuple(tensor.shape), mask)])
    return QuantizedTensor("linear", tuple(tensor.shape), codes.clamp(-LINEAR_LEVELS, LINEAR_LEVELS)
                           .to(torch.int8), scales, mask)


def quantize(tensor: Tensor, scheme: str, mask: Optional[Tensor] = None) -> QuantizedTensor:
    if scheme == "kmeans":
        return quantize_kmeans(tensor, mask)
    if scheme == "linear":
        return quantize_linear(tensor, mask)
    raise ValueError(f"unknown quantization scheme {scheme!r}; use one of {', '.join(SCHEMES)}")
