"""8-bit quantization: at most 256 values, each weight coded by its nearest centroid, errors bounded."""
import pytest
import torch

from lsra_fairseq.compression.quantization import quantize, quantize_kmeans, quantize_linear


def nearest_grid_mse(values, grid):
    return ((values[:, None] - grid[None, :]).abs().min(dim=1).values ** 2).mean()


def test_kmeans_has_at_most_256_values_each_weight_at_its_nearest_centroid():
    torch.manual_seed(0)
    weight = torch.randn(96, 80) * torch.rand(96, 1)  # rows of different scales: a non-uniform distribution
    q = quantize_kmeans(weight)
    restored = q.dequantize()
    assert q.codes.dtype == torch.uint8 and q.table.numel() == 256
    assert restored.unique().numel() <= 256
    error = (restored - weight).abs().reshape(-1)
    best = (weight.reshape(-1, 1) - q.table.reshape(1, -1)).abs().min(dim=1).values
    assert torch.allclose(error, best, atol=1e-7)
    # Lloyd's iterations start from the 256-level linear grid and never raise its squared error.
    linear_grid = torch.linspace(float(weight.min()), float(weight.max()), 256)
    assert ((restored - weight) ** 2).mean() < nearest_grid_mse(weight.reshape(-1), linear_grid)
    assert error.max() <= float((q.table[1:] - q.table[:-1]).max()) / 2 + 1e-7


def test_kmeans_is_lossless_for_few_distinct_values():
    weight = torch.tensor([[0.5, -0.25, 0.5], [3.0, 0.0, -0.25]])
    assert torch.equal(quantize_kmeans(weight).dequantize(), weight)


def test_linear_per_channel_error_within_half_a_step_of_each_row():
    torch.manual_seed(1)
    weight = torch.randn(16, 50) * torch.logspace(-3, 1, 16).reshape(-1, 1)
    q = quantize_linear(weight)
    assert q.codes.dtype == torch.int8 and int(q.codes.abs().max()) <= 127 and q.table.shape == (16,)
    step = weight.abs().amax(dim=1, keepdim=True) / 127
    assert ((q.dequantize() - weight).abs() <= step / 2 + 1e-7).all()
    # The smallest row keeps its own scale: a per-tensor scale would err by up to ~0.1 there.
    assert (q.dequantize()[0] - weight[0]).abs().max() < 1e-4


@pytest.mark.parametrize("scheme", ["kmeans", "linear"])
def test_masked_weights_decode_to_exact_zero_and_only_kept_ones_are_coded(scheme):
    torch.manual_seed(2)
    weight = torch.randn(32, 24)
    mask = torch.rand(32, 24) > 0.7
    q = quantize(weight, scheme, mask)
    restored = q.dequantize()
    assert q.codes.numel() == int(mask.sum())
    assert torch.equal(restored[~mask], torch.zeros(int((~mask).sum())))
    assert (restored[mask] - weight[mask]).abs().max() < 0.05


def test_unknown_scheme_is_refused():
    with pytest.raises(ValueError, match="kmeans, linear"):
        quantize(torch.ones(2, 2), "int4")
