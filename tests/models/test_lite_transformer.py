"""The lite_transformer model: registry, paper sizes, incremental decoding, causality, padding."""
import argparse
import re

import pytest
import torch
from fairseq.models import ARCH_CONFIG_REGISTRY

from lsra_fairseq.builder import DictionaryTask
from lsra_fairseq.models.architectures import PAPER_CONFIGS
from lsra_fairseq.modules import BranchSpecError
from lsra_fairseq.profiling import count_params

from ..modules.test_conv_branch import BranchCalls, branch_weights, check_official_leak

# The paper's #Params (Tables 1, 2 and 4), without the embedding tables (IWSLT counts its untied
# output matrix).
PAPER_PARAMS = {
    "lite_transformer_iwslt_de_en_160": 2.8e6, "lite_transformer_iwslt_de_en_240": 5.4e6,
    "lite_transformer_iwslt_de_en_320": 8.9e6, "lite_transformer_wmt_en_de_200": 2.9e6,
    "lite_transformer_wmt_en_de_408": 11.7e6, "lite_transformer_wmt_en_de_496": 17.3e6,
    "lite_transformer_wmt_en_fr_200": 2.9e6, "lite_transformer_wmt_en_fr_408": 11.7e6,
    "lite_transformer_wmt_en_fr_496": 17.3e6, "lite_transformer_cnndm_496": 17.3e6,
}


def paper_task(arch):
    # IWSLT'14 De-En dictionaries (the official preprocessing): de 8848, en 6632; WMT/CNN-DM: one
    # joined dictionary.
    return DictionaryTask(8848, 6632) if "iwslt" in arch else DictionaryTask(32768, joined=True)


@pytest.mark.parametrize("arch", sorted(PAPER_CONFIGS))
def test_paper_architectures_build_with_paper_sizes(arch, build_model):
    model = build_model(arch, paper_task(arch))
    params = count_params(model)
    # The paper prints one decimal in millions: the figure must round to it.
    assert abs(params - PAPER_PARAMS[arch]) <= 0.05e6, f"{arch}: {params / 1e6:.3f}M"
    shared = model.decoder.output_projection.weight is model.decoder.embed_tokens.weight
    assert shared == ("iwslt" not in arch)


# The paper's dropout / attention dropout / weight dropout per configuration (its training
# settings; the official code's configs), written out here, not read from PAPER_CONFIGS.
PAPER_DROPOUTS = {
    "lite_transformer_iwslt_de_en_160": dict(dropout=0.2, attention_dropout=0.0, weight_dropout=0.1),
    "lite_transformer_iwslt_de_en_240": dict(dropout=0.2, attention_dropout=0.0, weight_dropout=0.1),
    "lite_transformer_iwslt_de_en_320": dict(dropout=0.2, attention_dropout=0.0, weight_dropout=0.1),
    "lite_transformer_wmt_en_de_200": dict(dropout=0.04, attention_dropout=0.03, weight_dropout=0.03),
    "lite_transformer_wmt_en_de_408": dict(dropout=0.08, attention_dropout=0.06, weight_dropout=0.06),
    "lite_transformer_wmt_en_de_496": dict(dropout=0.1, attention_dropout=0.08, weight_dropout=0.08),
    "lite_transformer_wmt_en_fr_200": dict(dropout=0.04, attention_dropout=0.03, weight_dropout=0.03),
    "lite_transformer_wmt_en_fr_408": dict(dropout=0.08, attention_dropout=0.07, weight_dropout=0.07),
    "lite_transformer_wmt_en_fr_496": dict(dropout=0.1, attention_dropout=0.08, weight_dropout=0.08),
    "lite_transformer_cnndm_496": dict(dropout=0.15, attention_dropout=0.1, weight_dropout=0.1),
}


@pytest.mark.parametrize("arch", sorted(PAPER_CONFIGS))
def test_paper_architectures_set_the_papers_dropouts(arch, build_model):
    """Each rate lands in its own option (a table row could swap two of them unseen), and reaches
    the modules that apply it (the layers take them by keyword)."""
    args = argparse.Namespace()
    ARCH_CONFIG_REGISTRY[arch](args)
    rates = PAPER_DROPOUTS[arch]
    assert {name: getattr(args, name) for name in rates} == rates
    model = build_model(arch, DictionaryTask(50, 40) if "iwslt" in arch else DictionaryTask(50, joined=True))
    for stack in (model.encoder, model.decoder):
        layer = stack.layers[0]
        attention, conv = layer.self_attn.branches
        assert (stack.dropout, layer.dropout) == (rates["dropout"], rates["dropout"])
        assert attention.dropout == rates["attention_dropout"]
        assert conv.conv.weight_dropout == rates["weight_dropout"]
    assert model.decoder.layers[0].encoder_attn.dropout == rates["attention_dropout"]


def test_every_paper_architecture_has_its_dropouts_written_out():
    assert set(PAPER_DROPOUTS) == set(PAPER_CONFIGS)


def test_command_line_value_wins_over_arch_default(build_model):
    model = build_model("lite_transformer_iwslt_de_en_160", DictionaryTask(50, 40), encoder_layers=2)
    assert len(model.encoder.layers) == 2 and len(model.decoder.layers) == 6


TINY = dict(encoder_embed_dim=32, decoder_embed_dim=32, encoder_ffn_embed_dim=48,
            decoder_ffn_embed_dim=48, encoder_layers=2, decoder_layers=2,
            encoder_kernel_size_list="3,5", decoder_kernel_size_list="3,5", decoder_attention_heads=4,
            dropout=0.0, attention_dropout=0.0, weight_dropout=0.0)


def tiny_model(build_model, conv, glu, **overrides):
    options = dict(TINY, encoder_branch_type=f"attn:1:16:4,{conv}:default:16:4",
                   decoder_branch_type=f"attn:1:16:2,{conv}:default:8:2,{conv}:7:8:4",
                   encoder_glu=glu, decoder_glu=glu, **overrides)
    torch.manual_seed(0)
    return build_model("lite_transformer_base", DictionaryTask(30, 25), **options).eval()


def perturb_biases_and_norms(model):
    """At init every bias is 0 and every LayerNorm is (1, 0), which would hide a padding leak."""
    torch.manual_seed(3)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("bias") or "layer_norm" in name:
                p.copy_(torch.randn_like(p) * 0.5 + (1.0 if name.endswith("weight") else 0.0))


def batch(lengths, vocab=30, pad=1, eos=2, left_pad=True):
    torch.manual_seed(4)
    rows = [torch.cat([torch.randint(4, vocab, (n - 1,)), torch.tensor([eos])]) for n in lengths]
    out = torch.full((len(rows), max(lengths)), pad)
    for i, r in enumerate(rows):
        if left_pad:
            out[i, -len(r):] = r
        else:
            out[i, :len(r)] = r
    return out, torch.tensor(lengths)


# A beam search of 4 hypotheses over 3 sentences, as fairseq's generator runs it: before step 0 the
# encoder output is expanded to the beams (sentence 2 twice), then the hypotheses are reordered
# (and duplicated) along with the incremental state and the encoder output.
BEAM_ORDERS = {0: [2, 0, 1, 2], 3: [2, 1, 3, 0], 6: [3, 0, 1, 1]}


@pytest.mark.parametrize("conv, glu", [("lightweight", False), ("dynamic", True)])
def test_incremental_decoding_follows_beam_reorders(conv, glu, build_model):
    """Each hypothesis, decoded step by step through the reorders, scores as its sentence decoded
    alone: the encoder output and its padding mask (sentences of 7, 5 and 3 tokens, left-padded)
    must move with the hypotheses, as must every cached key, value and convolution buffer."""
    model = tiny_model(build_model, conv, glu)
    perturb_biases_and_norms(model)
    src, src_lengths = batch([7, 5, 3])
    torch.manual_seed(5)
    prev = torch.cat([torch.full((4, 1), 2), torch.randint(4, 25, (4, 8))], dim=1)
    sentence = torch.arange(len(src_lengths))
    state, steps = {}, []
    with torch.no_grad():
        encoder_out = model.encoder(src, src_lengths)
        for t in range(prev.size(1)):
            if t in BEAM_ORDERS:
                new_order = torch.tensor(BEAM_ORDERS[t])
                encoder_out = model.encoder.reorder_encoder_out(encoder_out, new_order)
                sentence = sentence[new_order]
                if t:
                    model.decoder.reorder_incremental_state_scripting(state, new_order)
                    prev, steps = prev[new_order], [s[new_order] for s in steps]
            steps.append(model.decoder(prev[:, :t + 1], encoder_out, incremental_state=state)[0][:, -1])
        decoded = torch.stack(steps, 1)
        for i, s in enumerate(sentence.tolist()):
            tokens = src[s][src[s].ne(1)].unsqueeze(0)
            alone = model(tokens, src_lengths[s:s + 1], prev[i:i + 1])[0][0]
            assert (decoded[i] - alone).abs().max() <= 1e-5, (i, s)
    assert sentence.tolist() == [2, 1, 0, 0]  # the reorders really moved and duplicated sentences


@pytest.mark.parametrize("conv, glu", [("lightweight", False), ("dynamic", True)])
def test_decoder_is_causal(conv, glu, build_model):
    model = tiny_model(build_model, conv, glu)
    perturb_biases_and_norms(model)
    src, lengths = batch([6, 6])
    prev = torch.randint(4, 25, (2, 9))
    base = model(src, lengths, prev)[0]
    for t in range(8):
        changed = prev.clone()
        changed[:, t + 1] = 4 + (changed[:, t + 1] - 3) % 21
        out = model(src, lengths, changed)[0]
        assert torch.equal(out[:, :t + 1], base[:, :t + 1])
        assert not torch.allclose(out[:, t + 1], base[:, t + 1])


@pytest.mark.parametrize("conv, glu", [("lightweight", False), ("dynamic", True)])
@pytest.mark.parametrize("left_pad", [True, False])
def test_padding_does_not_change_a_sentence(conv, glu, left_pad, build_model):
    model = tiny_model(build_model, conv, glu)
    perturb_biases_and_norms(model)
    src, lengths = batch([9, 4, 6], left_pad=left_pad)
    prev = torch.randint(4, 25, (3, 5))
    padded_enc = model.encoder(src, lengths)["encoder_out"][0]
    padded_logits = model(src, lengths, prev)[0]
    for i, n in enumerate(lengths.tolist()):
        tokens = src[i][src[i].ne(1)].unsqueeze(0)
        alone_enc = model.encoder(tokens, lengths[i:i + 1])["encoder_out"][0][:, 0]
        real = slice(src.size(1) - n, None) if left_pad else slice(0, n)
        assert (padded_enc[real, i] - alone_enc).abs().max() <= 1e-5
        alone_logits = model(tokens, lengths[i:i + 1], prev[i:i + 1])[0][0]
        assert (padded_logits[i] - alone_logits).abs().max() <= 1e-5


def test_official_padding_option_leaks_bias_as_the_official_code_does(build_model):
    model = tiny_model(build_model, "dynamic", True, official_padding=True)
    perturb_biases_and_norms(model)
    src, lengths = batch([9, 4])
    tokens = src[1][src[1].ne(1)].unsqueeze(0)
    padded = model.encoder(src, lengths)["encoder_out"][0][-4:, 1]
    alone = model.encoder(tokens, lengths[1:])["encoder_out"][0][:, 0]
    assert (padded - alone).abs().max() > 1e-3


@pytest.mark.parametrize("conv, glu", [("lightweight", False), ("dynamic", True)])
def test_official_padding_option_computes_the_official_order(conv, glu, build_model):
    """Inside the model, every encoder conv branch with ``official_padding`` matches the reference
    of the official order (to 1e-6), and its leak is confined to the k//2 positions next to the
    padding."""
    model = tiny_model(build_model, conv, glu, official_padding=True)
    perturb_biases_and_norms(model)
    src, lengths = batch([9, 4, 6])
    modules = dict(model.encoder.named_modules())
    kernels = [int(k) for k in TINY["encoder_kernel_size_list"].split(",")]

    def describe(name):  # the encoder's conv branch: "...:default:16:4" (tiny_model), symmetric
        kernel_size = kernels[int(re.fullmatch(r"layers\.(\d+)\.self_attn\.branches\.1", name).group(1))]
        return branch_weights(modules[name]), 4, kernel_size, kernel_size // 2, glu

    with torch.no_grad(), BranchCalls(model.encoder) as calls:
        model.encoder(src, lengths)
    assert len(calls) == len(kernels)
    assert check_official_leak(calls, describe) > 0


@pytest.mark.parametrize("overrides, offending", [
    (dict(encoder_branch_type="attn:1:16:4,lightweight:default:8:4"), "24"),
    (dict(decoder_branch_type="attn:1:16:3,dynamic:default:16:4"), "3 heads"),
    (dict(encoder_branch_type="attn:1:16:4,sparse:default:16:4"), "'sparse'"),
    (dict(encoder_kernel_size_list="3"), r"\[3\] has 1 entries for 2 layers"),
    (dict(encoder_kernel_size_list="3,4"), "kernel size 4"),
])
def test_bad_configuration_fails_at_build_naming_the_value(overrides, offending, build_model):
    options = dict(TINY, **overrides)
    options.setdefault("encoder_branch_type", "attn:1:16:4,lightweight:default:16:4")
    with pytest.raises(BranchSpecError, match=offending):
        build_model("lite_transformer_base", DictionaryTask(30, 25), **options)
