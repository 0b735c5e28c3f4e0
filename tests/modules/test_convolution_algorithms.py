"""Every algorithm the shape-based choice can pick computes the reference convolution, forward
and backward; the fused dynamic path and the cheaper dropout keep the same distribution."""
import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode

from lsra_fairseq.modules import DynamicConv, LightweightConv
from lsra_fairseq.modules.convolution_algorithms import (
    ALGORITHMS, band_max_length, block_length, choose_algorithm, dynamic_convolution, lightweight_convolution,
    predicted_dynamic_convolution)
from lsra_fairseq.modules.dropout import dropout, keep_mask


def reference(x, taps, padding_l):
    """out[t] = sum_j taps[t, j] * x[t + j - padding_l] per head, one shifted copy of x per tap."""
    T, B, C = x.shape
    H, k = taps.shape[-2:]
    taps = taps.expand(T, B, H, k)
    padded = torch.cat([x.new_zeros(padding_l, B, C), x, x.new_zeros(k - 1 - padding_l, B, C)])
    return sum(taps[..., j, None] * padded[j:j + T].view(T, B, H, -1) for j in range(k)).view(T, B, C)


# (T, B, C, H, k): one block and many, a length that is no multiple of the block, kernels longer
# than the sequence and longer than a block, even and unit kernels.
SHAPES = [(1, 2, 8, 2, 3), (5, 3, 8, 4, 5), (11, 2, 16, 4, 31), (70, 2, 8, 2, 3), (97, 2, 8, 4, 2),
          (40, 1, 4, 1, 40), (33, 2, 4, 2, 1)]


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("kind", ["lightweight", "dynamic"])
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_algorithm_matches_reference_forward_and_backward(algorithm, kind, shape):
    T, B, C, H, k = shape
    torch.manual_seed(0)
    x = torch.randn(T, B, C, dtype=torch.float64, requires_grad=True)
    taps = torch.randn(H, k, dtype=torch.float64) if kind == "lightweight" else \
        torch.randn(T, B, H, k, dtype=torch.float64)
    taps.requires_grad_()
    run = lightweight_convolution if kind == "lightweight" else dynamic_convolution
    for padding_l in sorted({0, k // 2, k - 1}):
        expected = reference(x, taps, padding_l)
        out = run(x, taps, padding_l, algorithm)
        torch.testing.assert_close(out, expected, atol=1e-10, rtol=0)
        grad = torch.randn_like(out)
        torch.testing.assert_close(torch.autograd.grad(out, (x, taps), grad),
                                   torch.autograd.grad(expected, (x, taps), grad), atol=1e-10, rtol=0)


def test_choice_reaches_every_algorithm_and_stays_linear():
    assert choose_algorithm(16, 31) == "band"
    assert choose_algorithm(128, 31) == "band"  # measured: the band is the faster one here
    assert choose_algorithm(192, 31) == "blocked"
    assert choose_algorithm(128, 3) == "blocked"
    assert choose_algorithm(2048, 31) == "blocked"
    # The band's T x T memory only while T is a few kernels or blocks long.
    assert all(choose_algorithm(T, k) == "blocked" for k in (3, 31, 63)
               for T in (band_max_length(k) + 1, 4 * (block_length(k) + k), 10_000))
    assert all(choose_algorithm(band_max_length(k), k) == "band" for k in (3, 31, 63))
    # The fused dynamic convolution's blocks read their inputs in place: one band per block.
    assert choose_algorithm(32, 31, in_place_blocks=True) == "band"
    assert all(choose_algorithm(T, 31, in_place_blocks=True) == "blocked" for T in (33, 128, 2048))

    class Observer(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            return func(*args, **(kwargs or {}))

    with Observer():  # an operator counter sees the convolution's own k taps per position
        assert choose_algorithm(16, 31) == "direct"


def test_unknown_algorithm_is_named():
    with pytest.raises(ValueError, match="unknown convolution algorithm 'fft'"):
        lightweight_convolution(torch.randn(4, 1, 4), torch.randn(2, 3), 1, "fft")


def test_blocks_reach_only_the_next_block():
    assert all(block_length(k) >= k - 1 for k in (1, 3, 31, 32, 33, 100))


@pytest.mark.parametrize("softmax", [True, False])
@pytest.mark.parametrize("padding", ["left", "centre", "causal"])
@pytest.mark.parametrize("algorithm", ["band", "blocked"])
# T = 3 and 1 with k = 5 centred: the band is a view of the taps; blocks of 32 rows (k = 5) cut
# T = 70 into 32 + 32 + 6, blocks of 39 (k = 40, longer than a block) cut T = 90 into 39 + 39 + 12.
@pytest.mark.parametrize("T,k", [(70, 5), (9, 5), (3, 5), (1, 5), (90, 40)])
def test_fused_dynamic_path_matches_taps_then_convolution(softmax, padding, algorithm, T, k):
    B, C, H = 3, 8, 2
    padding_l = {"left": 0, "centre": k // 2, "causal": k - 1}[padding]
    torch.manual_seed(1)
    conv = DynamicConv(channels=C, kernel_size=k, heads=H, padding_l=padding_l, weight_softmax=softmax,
                       weight_dropout=0.3).train()
    x = torch.randn(T, B, C, requires_grad=True)
    weight = conv.weight_linear.weight
    torch.manual_seed(7)  # the same random stream draws the same DropConnect mask
    fused = predicted_dynamic_convolution(x, weight, padding_l, H, softmax, 0.3, True, algorithm)
    torch.manual_seed(7)
    taps = conv.normalize_taps(conv.weight_linear(x).view(T, B, H, k))
    expected = dynamic_convolution(x, taps, padding_l, "direct")
    torch.testing.assert_close(fused, expected, atol=1e-5, rtol=1e-5)
    grad = torch.randn_like(fused)
    torch.testing.assert_close(torch.autograd.grad(fused, (x, weight), grad),
                               torch.autograd.grad(expected, (x, weight), grad), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("T", [20, 70])  # one band each; the fused dynamic path in three blocks
def test_modules_use_the_chosen_algorithm_and_agree_with_direct(T):
    """The modules' default path equals the direct algorithm, forward and backward."""
    torch.manual_seed(2)
    x = torch.randn(T, 3, 16, requires_grad=True)
    for cls in (LightweightConv, DynamicConv):
        conv = cls(channels=16, kernel_size=7, heads=4, padding_l=3).train()
        taps = conv.normalize_taps(conv.weight if cls is LightweightConv else
                                   conv.weight_linear(x).view(T, 3, 4, 7))
        run = lightweight_convolution if cls is LightweightConv else dynamic_convolution
        out, expected = conv(x), run(x, taps, 3, "direct")
        torch.testing.assert_close(out, expected, atol=1e-5, rtol=1e-5)
        grad = torch.randn_like(out)
        torch.testing.assert_close(torch.autograd.grad(out, (x, *conv.parameters()), grad),
                                   torch.autograd.grad(expected, (x, *conv.parameters()), grad),
                                   atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("p", [0.1, 0.5, 0.9])
def test_dropout_keeps_each_element_with_probability_1_minus_p(p):
    torch.manual_seed(3)
    n = 400_000
    kept = keep_mask(torch.Size([n]), p, torch.device("cpu")).double()
    # Binomial(n, 1 - p): 5 standard deviations either side.
    assert abs(kept.mean().item() - (1 - p)) < 5 * ((p * (1 - p) / n) ** 0.5)
    # Neighbours (the two halves of one 64-bit draw, and the next draw) are uncorrelated.
    for lag in (1, 2):
        a, b = kept[:-lag] - kept.mean(), kept[lag:] - kept.mean()
        assert abs((a * b).mean().item()) < 5 * p * (1 - p) / n ** 0.5
    x = torch.randn(n, requires_grad=True)
    y = dropout(x, p, True)
    survivors = y != 0
    torch.testing.assert_close(y[survivors], x[survivors] / (1 - p))
    y.backward(torch.ones(n))
    torch.testing.assert_close(x.grad, survivors.double().float() / (1 - p))


def test_dropout_masks_follow_torch_seed():
    """The numpy generator is seeded from torch's, so torch.manual_seed (and fairseq's saved RNG
    state, on resume) decides every mask."""
    shape = torch.Size([64, 33])
    torch.manual_seed(4)
    first = [keep_mask(shape, 0.3, torch.device("cpu")) for _ in range(2)]
    torch.manual_seed(4)
    again = [keep_mask(shape, 0.3, torch.device("cpu")) for _ in range(2)]
    assert all(torch.equal(a, b) for a, b in zip(first, again))
    assert not torch.equal(first[0], first[1])


def test_dropout_is_identity_in_eval_and_rejects_bad_p():
    x = torch.randn(10)
    assert dropout(x, 0.3, False) is x and dropout(x, 0.0, True) is x
    assert torch.equal(dropout(x, 1.0, True), torch.zeros(10))
    with pytest.raises(ValueError, match="between 0 and 1"):
        dropout(x, 1.5, True)
