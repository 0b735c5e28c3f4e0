"""The MAC counter against hand-computed counts of single modules, exactly and by kind."""
import pytest
import torch
from torch import nn

from lsra_fairseq.modules import ConvBranch, DynamicConv, LightweightConv, MultiheadAttention
from lsra_fairseq.profiling import count_macs

T, S, B = 7, 5, 3  # target length, source length, batch


def macs_of(module, *inputs, **kwargs):
    return count_macs(lambda: module.eval()(*inputs, **kwargs))


def kinds(linear=0, attention=0, convolution=0):
    return {"linear": linear, "attention": attention, "convolution": convolution}


@pytest.mark.parametrize("shape", [(T, B, 16), (B, 16)])
@pytest.mark.parametrize("bias", [True, False])
def test_linear(shape, bias):
    x = torch.randn(*shape)
    assert macs_of(nn.Linear(16, 24, bias=bias), x) == kinds(linear=x.numel() // 16 * 16 * 24)


@pytest.mark.parametrize("need_weights", [False, True])  # fused attention and explicit QK^T / AV
def test_our_attention_self_and_encoder_decoder(need_weights):
    d = 16
    attn = MultiheadAttention(embed_dim=d, heads=4)
    x, memory = torch.randn(T, B, d), torch.randn(S, B, d)
    # q, k, v and out projections over T; QK^T and AV over T x T (causal still computes the square).
    assert macs_of(attn, x, causal=True, need_weights=need_weights) == kinds(
        linear=B * 4 * T * d * d, attention=B * 2 * T * T * d)
    # k and v projections over the S source positions; QK^T and AV over T x S.
    assert macs_of(attn, x, memory, need_weights=need_weights) == kinds(
        linear=B * (2 * T * d * d + 2 * S * d * d), attention=B * 2 * T * S * d)


def test_fairseq_attention_fused_path_is_counted():
    from fairseq.modules import MultiheadAttention as FairseqAttention

    d = 16
    attn = FairseqAttention(d, 4, self_attention=True)
    cross = FairseqAttention(d, 4, kdim=8, vdim=8, encoder_decoder_attention=True)
    ran = []
    for module in (attn.q_proj, cross.q_proj):
        module.register_forward_hook(lambda *_: ran.append(module))
    x, memory = torch.randn(T, B, d), torch.randn(S, B, 8)
    assert macs_of(attn, x, x, x) == kinds(linear=B * 4 * T * d * d, attention=B * 2 * T * T * d)
    assert macs_of(cross, x, memory, memory) == kinds(
        linear=B * (2 * T * d * d + 2 * S * 8 * d), attention=B * 2 * T * S * d)
    assert not ran  # the fused path bypasses the Linear modules: hooks on them would count nothing


@pytest.mark.parametrize("k, padding_l", [(3, 1), (5, 4), (7, 3)])
def test_lightweight_convolution_taps(k, padding_l):
    C = 16
    # Each output position takes k taps per channel; the H x k kernel is shared, not multiplied.
    conv = LightweightConv(channels=C, kernel_size=k, heads=4, padding_l=padding_l)
    assert macs_of(conv, torch.randn(T, B, C)) == kinds(convolution=T * B * C * k)


@pytest.mark.parametrize("k, padding_l", [(3, 1), (5, 4), (7, 3)])
def test_dynamic_convolution_predictor_and_taps(k, padding_l):
    C, H = 16, 4
    conv = DynamicConv(channels=C, kernel_size=k, heads=H, padding_l=padding_l)
    # The kernel predictor Linear(C -> H * k) at every position, then k taps per channel.
    assert macs_of(conv, torch.randn(T, B, C)) == kinds(linear=T * B * C * H * k, convolution=T * B * C * k)


@pytest.mark.parametrize("glu", [False, True])
def test_conv_branch_counts_its_linears(glu):
    C, k = 16, 5
    branch = ConvBranch(kind="lightweight", dim=C, kernel_size=k, heads=4, causal=True, glu=glu)
    linear1 = C * (2 * C if glu else C)
    assert macs_of(branch, torch.randn(T, B, C)) == kinds(linear=T * B * (linear1 + C * C),
                                                          convolution=T * B * C * k)


def test_work_inside_excluded_modules_is_left_out():
    inner, outer = nn.Linear(8, 8), nn.Linear(8, 4)
    model = nn.Sequential(inner, outer)
    x = torch.randn(T, 8)
    assert count_macs(lambda: model(x), excluded=[inner]) == kinds(linear=T * 8 * 4)
    assert count_macs(lambda: model(x)) == kinds(linear=T * (8 * 8 + 8 * 4))  # hooks removed afterwards
