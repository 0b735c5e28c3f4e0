"""The O(T x k) convolutions against a direct loop, fairseq's TBC modules, and a memory bound."""
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
    conv = cls(channels=C, kernel_size=K, heads=H, padding_l=padding_l).eval()
    x = torch.randn(T, B, C)
    expected = direct_convolution(x, taps_of(conv, x), padding_l)
    torch.testing.assert_close(conv(x), expected, atol=1e-6, rtol=0)


@pytest.mark.parametrize("cls", [LightweightConv, DynamicConv])
@pytest.mark.parametrize("length", [3, 11])  # shorter and longer than the kernel
def test_incremental_equals_full_causal_forward(cls, length):
    torch.manual_seed(1)
    conv = cls(channels=C, kernel_size=K, heads=H, padding_l=K - 1).eval()
    x = torch.randn(length, B, C)
    state = {}
    steps = torch.cat([conv(x[t:t + 1], state) for t in range(length)])
    torch.testing.assert_close(steps, conv(x), atol=1e-6, rtol=0)


@pytest.mark.parametrize("cls", [LightweightConv, DynamicConv])
def test_weight_dropout_drops_whole_taps_in_training_only(cls):
    """DropConnect acts on the normalised taps. An impulse at t0 makes out[t, b, c] the tap
    t0 + padding_l - t of channel c's head, so every output is either dropped (0) or that tap
    scaled by 1/(1-p), and all channels of a head agree (they share the tap); dropout on the
    output or on the input would zero channels independently."""
    p, t0 = 0.5, T // 2
    torch.manual_seed(0)
    conv = cls(channels=C, kernel_size=K, heads=H, padding_l=K // 2, weight_dropout=p)
    x = torch.zeros(T, B, C)
    x[t0] = 1.0
    conv.eval()
    undropped = conv(x)
    torch.testing.assert_close(undropped, direct_convolution(x, taps_of(conv, x), K // 2), atol=1e-6, rtol=0)
    conv.train()
    torch.manual_seed(1)
    dropped = conv(x)
    reached = undropped.abs() > 0  # the k positions the impulse reaches
    assert reached.any(dim=-1).sum() == K * B
    kept = (dropped - undropped / (1 - p)).abs() <= 1e-6
    assert ((dropped == 0) | kept).all()
    assert (dropped[reached] == 0).any() and kept[reached].any()
    per_head = dropped.view(T, B, H, C // H)
    assert torch.equal(per_head.amax(-1), per_head.amin(-1))  # one draw per tap, not per channel
    if cls is LightweightConv:  # one kernel for every sentence of the batch
        assert torch.equal(dropped, dropped[:, :1].expand_as(dropped))


def test_matches_fairseq_tbc_modules():
    from fairseq.modules import DynamicConv1dTBC, LightweightConv1dTBC

    torch.manual_seed(2)
    x = torch.randn(T, B, C)
    for padding_l in (K // 2, K - 1):
        ours = LightweightConv(channels=C, kernel_size=K, heads=H, padding_l=padding_l).eval()
        theirs = LightweightConv1dTBC(C, K, padding_l, H, weight_softmax=True).eval()
        theirs.weight.data.copy_(ours.weight.data.view_as(theirs.weight))
        torch.testing.assert_close(ours(x), theirs(x), atol=1e-6, rtol=0)

        ours = DynamicConv(channels=C, kernel_size=K, heads=H, padding_l=padding_l).eval()
        theirs = DynamicConv1dTBC(C, K, padding_l, H, weight_softmax=True).eval()
        theirs.weight_linear.weight.data.copy_(ours.weight_linear.weight.data)
        for unfold in (False, True):
            torch.testing.assert_close(ours(x), theirs(x, unfold=unfold), atol=1e-6, rtol=0)


def largest_allocation(run):
    """The largest single allocation (in float32 elements) made while ``run`` runs, as PyTorch's
    profiler records every allocation of every operator, forward and backward. (Not a dispatch
    mode: the convolutions switch to their textbook algorithm under one, for the MAC counter.)"""
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU], profile_memory=True) as prof:
        run()
    return max(max(event.self_cpu_memory_usage, 0) for event in prof.events()) // 4


# Long enough that a T x T band matrix per head (fairseq's "expanded" mode: B * H * T^2 elements)
# is 8x the k-wide windows of every position and channel (T * B * C * k elements), and that the
# convolutions take their algorithm for long sequences.
LONG_T, LONG_B, LONG_C, LONG_H, LONG_K = 1024, 2, 16, 4, 31
WINDOWS = LONG_T * LONG_B * LONG_C * LONG_K
LINEAR_BOUND = 2 * WINDOWS  # two copies of the windows at most (0.51 copies measured)


def forward_and_backward(conv, x):
    x = x.clone().requires_grad_()
    conv(x).square().sum().backward()


@pytest.mark.parametrize("cls", [LightweightConv, DynamicConv])
@pytest.mark.parametrize("padding_l", [LONG_K // 2, LONG_K - 1])
def test_memory_is_linear_in_length(cls, padding_l):
    """No tensor of a forward (inference) or of a forward + backward (training, DropConnect on)
    holds more than twice T x B x C x k elements: nothing quadratic in T is ever built."""
    torch.manual_seed(3)
    x = torch.randn(LONG_T, LONG_B, LONG_C)
    conv = cls(channels=LONG_C, kernel_size=LONG_K, heads=LONG_H, padding_l=padding_l,
               weight_dropout=0.1)
    with torch.no_grad():
        inference = largest_allocation(lambda: conv.eval()(x))
    training = largest_allocation(lambda: forward_and_backward(conv.train(), x))
    assert max(inference, training) <= LINEAR_BOUND, (inference, training, WINDOWS)
    assert training >= LONG_T * LONG_B * LONG_C  # the counter saw the tensors of the run


@pytest.mark.parametrize("name", ["LightweightConv1dTBC", "DynamicConv1dTBC"])
def test_memory_bound_flags_a_band_matrix(name):
    """The control: fairseq's expanded mode builds a B*H x T x T band matrix, which the bound above
    flags."""
    from fairseq import modules

    conv = getattr(modules, name)(LONG_C, LONG_K, LONG_K // 2, LONG_H, weight_softmax=True).eval()
    x = torch.randn(LONG_T, LONG_B, LONG_C)
    with torch.no_grad():
        largest = largest_allocation(lambda: conv(x, unfold=False))
    assert largest >= LONG_B * LONG_H * LONG_T ** 2 > LINEAR_BOUND
