"""The O(T x k) convolutions against a direct loop, fairseq's TBC modules, and a memory bound."""
import subprocess
import sys

import pytest
import torch

from lsra_fairseq.modules import DynamicConv, LightweightConv

T, B, C, H, K = 11, 3, 16, 4, 5


def direct_convolution(x, taps, padding_l):
    """out[t] = sum_j taps[t, j] * x[t + j - padding_l], with zeros outside the sequence."""
    T, B, C = x.shape
    heads, k = taps.shape[-2:]
    out = torch.zeros_like(x)
    for t in range(T):
        for j in range(k):
            s = t + j - padding_l
            if 0 <= s < T:
                out[t] += (x[s].view(B, heads, -1) * taps[t, :, :, j, None]).reshape(B, C)
    return out


def taps_of(conv, x):
    if isinstance(conv, LightweightConv):
        return torch.softmax(conv.weight, -1).expand(x.size(0), x.size(1), -1, -1)
    return torch.softmax(conv.weight_linear(x).view(*x.shape[:2], conv.heads, -1), -1)


@pytest.mark.parametrize("cls", [LightweightConv, DynamicConv])
@pytest.mark.parametrize("padding_l", [K // 2, K - 1])
def test_matches_direct_convolution(cls, padding_l):
    torch.manual_seed(0)
    conv = cls(C, K, H, padding_l).eval()
    x = torch.randn(T, B, C)
    expected = direct_convolution(x, taps_of(conv, x), padding_l)
    torch.testing.assert_close(conv(x), expected, atol=1e-6, rtol=0)


@pytest.mark.parametrize("cls", [LightweightConv, DynamicConv])
@pytest.mark.parametrize("length", [3, 11])  # shorter and longer than the kernel
def test_incremental_equals_full_causal_forward(cls, length):
    torch.manual_seed(1)
    conv = cls(C, K, H, K - 1).eval()
    x = torch.randn(length, B, C)
    state = {}
    steps = torch.cat([conv(x[t:t + 1], state) for t in range(length)])
    torch.testing.assert_close(steps, conv(x), atol=1e-6, rtol=0)


def test_weight_dropout_drops_taps_in_training_only():
    conv = LightweightConv(C, K, H, K // 2, weight_dropout=0.5)
    x = torch.randn(T, B, C)
    conv.eval()
    torch.testing.assert_close(conv(x), conv(x))
    conv.train()
    torch.manual_seed(0)
    assert not torch.allclose(conv(x), conv.eval()(x))


def test_matches_fairseq_tbc_modules():
    from fairseq.modules import DynamicConv1dTBC, LightweightConv1dTBC

    torch.manual_seed(2)
    x = torch.randn(T, B, C)
    for padding_l in (K // 2, K - 1):
        ours = LightweightConv(C, K, H, padding_l).eval()
        theirs = LightweightConv1dTBC(C, K, padding_l, H, weight_softmax=True).eval()
        theirs.weight.data.copy_(ours.weight.data.view_as(theirs.weight))
        torch.testing.assert_close(ours(x), theirs(x), atol=1e-6, rtol=0)

        ours = DynamicConv(C, K, H, padding_l).eval()
        theirs = DynamicConv1dTBC(C, K, padding_l, H, weight_softmax=True).eval()
        theirs.weight_linear.weight.data.copy_(ours.weight_linear.weight.data)
        for unfold in (False, True):
            torch.testing.assert_close(ours(x), theirs(x, unfold=unfold), atol=1e-6, rtol=0)


PEAK_MEMORY_SCRIPT = """
import resource, sys, torch
from lsra_fairseq.modules import {cls}
torch.set_num_threads(1)
conv = {cls}(64, 31, 4, 15).eval()
x = torch.randn(int(sys.argv[1]), 4, 64)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
with torch.no_grad():
    conv(x)
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before)
"""


@pytest.mark.parametrize("cls", ["LightweightConv", "DynamicConv"])
def test_peak_memory_grows_linearly_with_length(cls):
    """No T x T band matrix: the forward's peak memory at T=4096 is at most 5x that at T=1024.

    Each length runs in a fresh process, so the peak resident size is that forward's alone.
    """
    def peak_kib(length):
        out = subprocess.run([sys.executable, "-c", PEAK_MEMORY_SCRIPT.format(cls=cls), str(length)],
                             check=True, capture_output=True, text=True)
        return max(int(out.stdout.strip()), 1)

    short, long = peak_kib(1024), peak_kib(4096)
    assert long <= 5 * short, f"peak memory {short} KiB at T=1024 but {long} KiB at T=4096"
