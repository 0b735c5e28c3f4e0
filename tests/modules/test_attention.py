"""Both attention kernels (explicit products for short sequences, the fused one beyond) give the
same outputs and gradients: self-attention with padding, causal, encoder-decoder, and a decoding step."""
import pytest
import torch

from lsra_fairseq.modules import MultiheadAttention, attention

T, S, B, C = 6, 5, 3, 16


def use_path(monkeypatch, path):
    """Forces the fused kernel or the explicit products for every size these tests use."""
    monkeypatch.setattr(attention, "EXPLICIT_MAX_SCORES", 0 if path == "fused" else T * T)


def run(monkeypatch, path, module, *args, **kwargs):
    use_path(monkeypatch, path)
    inputs = [a.detach().requires_grad_() if torch.is_tensor(a) and a.is_floating_point() else a for a in args]
    out, _ = module(*inputs, **kwargs)
    wrt = [*module.parameters(), *(a for a in inputs if torch.is_tensor(a) and a.requires_grad)]
    return out, torch.autograd.grad(out.square().sum(), wrt)


@pytest.mark.parametrize("case", ["padded self", "causal self", "encoder-decoder"])
def test_explicit_and_fused_attention_agree(monkeypatch, case):
    torch.manual_seed(0)
    module = MultiheadAttention(embed_dim=C, heads=4).train()  # dropout 0: deterministic
    x, memory = torch.randn(T, B, C), torch.randn(S, B, C)
    padding = torch.zeros(B, S if case == "encoder-decoder" else T, dtype=torch.bool)
    padding[0, -2:] = True
    args = {"padded self": (x, None, padding), "causal self": (x,),
            "encoder-decoder": (x, memory, padding)}[case]
    kwargs = {"causal": True} if case == "causal self" else {}
    fused, explicit = (run(monkeypatch, path, module, *args, **kwargs) for path in ("fused", "explicit"))
    torch.testing.assert_close(explicit[0], fused[0], atol=1e-6, rtol=1e-5)
    for a, b in zip(explicit[1], fused[1]):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)


def test_explicit_and_fused_agree_while_decoding(monkeypatch):
    torch.manual_seed(1)
    module = MultiheadAttention(embed_dim=C, heads=4).eval()
    steps = torch.randn(T, B, C)
    outputs = {}
    for path in ("fused", "explicit"):
        use_path(monkeypatch, path)
        state = {}
        outputs[path] = torch.cat([module(steps[t:t + 1], incremental_state=state)[0] for t in range(T)])
    torch.testing.assert_close(outputs["explicit"], outputs["fused"], atol=1e-6, rtol=1e-5)
    full, _ = module(steps, causal=True)
    torch.testing.assert_close(outputs["explicit"], full, atol=1e-6, rtol=1e-5)


def test_explicit_dropout_drops_attention_weights_in_training_only():
    torch.manual_seed(2)
    module = MultiheadAttention(embed_dim=C, heads=4, dropout=0.5)
    x = torch.randn(T, B, C)
    assert torch.equal(module.eval()(x)[0], module(x)[0])
    assert not torch.allclose(module.train()(x)[0], module.eval()(x)[0])
