"""The conv branch's padding order against an independent reference of both orders.

The official code zeroes padded positions *before* ``linear1`` (then GLU, then the convolution, and
no re-masking), so ``linear1``'s bias sits in the padded slots and leaks into the real tokens the
kernel reaches; ours zeroes them right before the convolution. The reference below is written from
that description alone, on raw weights under the official names, with a direct loop for the
convolution, so it checks ``mask_before_linear`` (``official_padding``) by value, not only "differs".
"""
import pytest
import torch
import torch.nn.functional as F

from lsra_fairseq.modules import ConvBranch

from .test_convolution import direct_convolution

T, B, C, H = 9, 3, 16, 4
REFERENCE_TOLERANCE = 1e-6


def reference_branch(weights, x, padding_mask, heads, kernel_size, padding_l, glu, official):
    """The conv branch by hand. ``weights``: ``linear1.{weight,bias}``, ``linear2.{weight,bias}`` and
    ``weight`` (lightweight taps, any shape holding H x K) or ``weight_linear.weight`` (dynamic).
    ``official``: zero the padding before ``linear1`` (the official order) instead of after it."""
    pad = padding_mask.t().unsqueeze(-1)  # T x B x 1
    h = x.masked_fill(pad, 0.0) if official else x
    h = F.linear(h, weights["linear1.weight"], weights["linear1.bias"])
    if glu:
        h = F.glu(h, dim=-1)
    if not official:
        h = h.masked_fill(pad, 0.0)
    if "weight_linear.weight" in weights:
        logits = F.linear(h, weights["weight_linear.weight"]).view(*h.shape[:2], heads, kernel_size)
    else:
        logits = weights["weight"].reshape(heads, kernel_size).expand(*h.shape[:2], -1, -1)
    h = direct_convolution(h, torch.softmax(logits, dim=-1), padding_l)
    return F.linear(h, weights["linear2.weight"], weights["linear2.bias"])


def leaking_positions(padding_mask, reach_left, reach_right):
    """B x T, True at the real positions whose window (``reach_left`` before, ``reach_right`` after)
    covers a padded slot."""
    pad = padding_mask.float().unsqueeze(1)  # B x 1 x T
    window = torch.ones(1, 1, reach_left + reach_right + 1)
    covered = F.conv1d(F.pad(pad, (reach_left, reach_right)), window).squeeze(1) > 0
    return covered & ~padding_mask


def branch_weights(branch):
    """Our branch's tensors under the official names (the convolution's live one module deeper)."""
    return {key.replace("conv.", ""): t.detach() for key, t in branch.state_dict().items()}


def padding(lengths, length, left):
    positions = torch.arange(length).expand(len(lengths), -1)
    lengths = torch.tensor(lengths).unsqueeze(1)
    return positions < length - lengths if left else positions >= lengths


@pytest.mark.parametrize("kind, glu", [("lightweight", False), ("dynamic", True)])
@pytest.mark.parametrize("kernel_size, causal", [(5, False), (3, True), (7, False)])
@pytest.mark.parametrize("left", [True, False])
def test_both_padding_orders_match_the_reference(kind, glu, kernel_size, causal, left):
    torch.manual_seed(0)
    padding_mask = padding([9, 6, 2], T, left)
    x = torch.randn(T, B, C)
    padding_l = kernel_size - 1 if causal else kernel_size // 2
    outputs = {}
    for official in (False, True):
        torch.manual_seed(1)
        branch = ConvBranch(kind=kind, dim=C, kernel_size=kernel_size, heads=H, causal=causal, glu=glu,
                            mask_before_linear=official).eval()
        with torch.no_grad():
            branch.linear1.bias.normal_()  # at init it is zero, which hides the leak
            branch.linear2.bias.normal_()
            ours = branch(x, padding_mask)
        expected = reference_branch(branch_weights(branch), x, padding_mask, H, kernel_size, padding_l,
                                    glu, official)
        torch.testing.assert_close(ours, expected, atol=REFERENCE_TOLERANCE, rtol=0)
        outputs[official] = ours
    # The leak: exactly the real positions whose window reaches the padding, and only those.
    leak = (outputs[True] - outputs[False]).abs().amax(dim=-1).t()  # B x T
    expected_leak = leaking_positions(padding_mask, padding_l, kernel_size - 1 - padding_l)
    real = ~padding_mask
    assert expected_leak.any() == (left or not causal)  # a causal window never reaches right padding
    assert (leak[expected_leak] > 1e-3).all(), leak
    assert (leak[real & ~expected_leak] <= REFERENCE_TOLERANCE).all(), leak


class BranchCalls:
    """Records every ``ConvBranch`` call under ``module``: (name, input, padding mask, output)."""

    def __init__(self, module):
        self.module, self.calls, self.handles = module, [], []

    def __enter__(self):
        for name, branch in self.module.named_modules():
            if isinstance(branch, ConvBranch):
                self.handles.append(branch.register_forward_hook(
                    lambda m, args, out, name=name: self.calls.append((name, args[0], args[1], out))))
        return self.calls

    def __exit__(self, *exc):
        for handle in self.handles:
            handle.remove()


def check_official_leak(calls, describe):
    """Each recorded call computes the official order (the reference, to 1e-6), and its output
    differs from the masked order's exactly at the real positions within reach of the padding.
    ``describe(name)`` gives (weights under official names, heads, kernel size, padding_l, glu)."""
    leaked = 0
    for name, x, padding_mask, out in calls:
        weights, heads, kernel_size, padding_l, glu = describe(name)
        official = reference_branch(weights, x, padding_mask, heads, kernel_size, padding_l, glu, True)
        masked = reference_branch(weights, x, padding_mask, heads, kernel_size, padding_l, glu, False)
        torch.testing.assert_close(out, official, atol=REFERENCE_TOLERANCE, rtol=0, msg=name)
        leak = (official - masked).abs().amax(dim=-1).t()
        reach = leaking_positions(padding_mask, padding_l, kernel_size - 1 - padding_l)
        assert (leak[reach] > 1e-3).all(), (name, leak)
        assert (leak[~padding_mask & ~reach] <= REFERENCE_TOLERANCE).all(), (name, leak)
        leaked += int(reach.sum())
    return leaked
