"""Importing official language-model checkpoints (``transformer_lm_multibranch_v2``) into
``lite_transformer_lm``, checked by value.

There is no official LM fixture, so the official state dict is written here from the official
layout alone: the translation decoder's naming (``../shared/fixtures/official-lite-transformer``)
without encoder attention, plus fairseq 0.8's ``AdaptiveInput`` / ``AdaptiveSoftmax`` (tied
weights and projections, as the paper's model) and their buffers. Nothing is taken from our model's
keys. The imported model's log-probabilities are compared with a reference forward written from
the official model's description (pre-norm LSRA blocks: attention on the first half of the
channels, causal dynamic convolution with GLU on the second; sqrt(d)-scaled adaptive input plus
sinusoidal positions; a final LayerNorm unless ``no_decoder_final_norm``; the adaptive softmax).
"""
import math

import pytest
import torch
import torch.nn.functional as F
from fairseq import checkpoint_utils
from fairseq.tasks.language_modeling import LanguageModelingConfig, LanguageModelingTask

from lsra_fairseq.builder import DictionaryTask
from lsra_fairseq.conversion import import_official

from ..modules.test_convolution import direct_convolution
from .test_official_import import save_official

pytestmark = pytest.mark.usefixtures("one_thread")  # small models, shared CPUs
VOCAB, DIM, LAYERS, KERNELS, CUTOFFS, FACTOR, PAD = 60, 32, 2, [3, 7], [20, 40], 4, 1
HALF, HEADS = DIM // 2, 4  # branches attn:1:16:4 + dynamic:default:16:4
# args as the official code saves them after its LM architecture defaults (a tiny model).
OFFICIAL_LM_ARGS = dict(
    arch="transformer_lm_multibranch_v2", task="language_modeling", data="data-bin/wikitext-103",
    activation_fn="relu", dropout=0.1, attention_dropout=0.0, activation_dropout=0.0, relu_dropout=0.0,
    weight_dropout=0.0, decoder_embed_dim=DIM, decoder_ffn_embed_dim=DIM, decoder_input_dim=DIM,
    decoder_output_dim=DIM, decoder_layers=LAYERS, decoder_attention_heads=8, decoder_normalize_before=True,
    no_decoder_final_norm=False, decoder_learned_pos=False, no_token_positional_embeddings=False,
    character_embeddings=False, decoder_branch_type=[f"attn:1:{HALF}:{HEADS}", f"dynamic:default:{HALF}:{HEADS}"],
    decoder_kernel_size_list=KERNELS, decoder_glu=True, conv_linear=True, weight_softmax=True,
    adaptive_input=True, adaptive_input_factor=FACTOR, adaptive_input_cutoff=",".join(map(str, CUTOFFS)),
    adaptive_softmax_cutoff=",".join(map(str, CUTOFFS)), adaptive_softmax_dropout=0.0,
    adaptive_softmax_factor=FACTOR, tie_adaptive_weights=True, tie_adaptive_proj=True,
    share_decoder_input_output_embed=False, tokens_per_sample=64, max_target_positions=64,
    sample_break_mode="none", add_bos_token=False)

BANDS = list(zip([0] + CUTOFFS, CUTOFFS + [VOCAB]))  # (first id, end) of each adaptive band
BAND_DIMS = [DIM // FACTOR ** i for i in range(len(BANDS))]


def official_lm_layout(final_norm=True):
    """Key -> shape of the official LM's own tensors (tied copies are listed separately)."""
    layout = {"decoder.version": (1,), "decoder.embed_positions._float_tensor": (1,),
              "decoder.embed_tokens._float_tensor": (1,)}
    for i, ((start, end), dim) in enumerate(zip(BANDS, BAND_DIMS)):
        layout[f"decoder.embed_tokens.embeddings.{i}.0.weight"] = (end - start, dim)  # band embedding
        layout[f"decoder.embed_tokens.embeddings.{i}.1.weight"] = (DIM, dim)  # its projection to d
    for n, kernel in enumerate(KERNELS):
        layer = f"decoder.layers.{n}."
        for proj in ("q", "k", "v", "out"):
            layout.update({f"{layer}self_attn.branches.0.{proj}_proj.weight": (HALF, HALF),
                           f"{layer}self_attn.branches.0.{proj}_proj.bias": (HALF,)})
        layout.update({
            f"{layer}self_attn.branches.1.weight_linear.weight": (HEADS * kernel, HALF),
            f"{layer}self_attn.branches.1.linear1.weight": (2 * HALF, HALF),  # GLU
            f"{layer}self_attn.branches.1.linear1.bias": (2 * HALF,),
            f"{layer}self_attn.branches.1.linear2.weight": (HALF, HALF),
            f"{layer}self_attn.branches.1.linear2.bias": (HALF,),
            f"{layer}fc1.weight": (DIM, DIM), f"{layer}fc1.bias": (DIM,),
            f"{layer}fc2.weight": (DIM, DIM), f"{layer}fc2.bias": (DIM,)})
        for norm in ("self_attn_layer_norm", "final_layer_norm"):
            layout.update({f"{layer}{norm}.weight": (DIM,), f"{layer}{norm}.bias": (DIM,)})
    if final_norm:
        layout.update({"decoder.layer_norm.weight": (DIM,), "decoder.layer_norm.bias": (DIM,)})
    layout.update({"decoder.adaptive_softmax.version": (1,), "decoder.adaptive_softmax.head._float_tensor": (1,),
                   "decoder.adaptive_softmax.head.class_proj.weight": (len(BANDS) - 1, DIM)})
    return layout


# Tied tensors of the adaptive softmax -> the adaptive-input tensor they are (tie_adaptive_weights,
# tie_adaptive_proj): the head's words are band 0's embedding, each tail is its band's projection
# (applied transposed) and embedding.
TIES = {"decoder.adaptive_softmax.head.word_proj.weight": "decoder.embed_tokens.embeddings.0.0.weight",
        **{f"decoder.adaptive_softmax.tail.{i}.0.weight": f"decoder.embed_tokens.embeddings.{i + 1}.1.weight"
           for i in range(len(BANDS) - 1)},
        **{f"decoder.adaptive_softmax.tail.{i}.2.weight": f"decoder.embed_tokens.embeddings.{i + 1}.0.weight"
           for i in range(len(BANDS) - 1)}}


def official_lm_weights(final_norm=True):
    generator = torch.Generator().manual_seed(1)
    weights = {key: 0.5 * torch.randn(shape, generator=generator) for key, shape in official_lm_layout(final_norm).items()}
    for key in weights:
        if key.endswith("norm.weight"):
            weights[key] += 1.0
    weights["decoder.version"] = torch.tensor([3.0])
    weights["decoder.adaptive_softmax.version"] = torch.tensor([1])
    return dict(weights, **{tied: weights[source] for tied, source in TIES.items()})


def sinusoidal_positions(length):
    """fairseq's sinusoidal table (sin half, cos half) at positions pad+1 .. pad+length."""
    half = DIM // 2
    frequencies = torch.exp(torch.arange(half) * -(math.log(10000) / (half - 1)))
    angles = torch.arange(PAD + 1, PAD + 1 + length).float()[:, None] * frequencies[None]
    return torch.cat([angles.sin(), angles.cos()], dim=1)


def reference_log_probs(w, tokens, final_norm=True):
    """The official LM's forward, by hand, on its own tensors (eval mode, no padding)."""
    B, T = tokens.shape
    x = torch.zeros(B, T, DIM)
    for i, (start, end) in enumerate(BANDS):  # adaptive input
        band = (tokens >= start) & (tokens < end)
        x[band] = w[f"decoder.embed_tokens.embeddings.{i}.0.weight"][tokens[band] - start] \
            @ w[f"decoder.embed_tokens.embeddings.{i}.1.weight"].t()
    x = (math.sqrt(DIM) * x + sinusoidal_positions(T)).transpose(0, 1)  # T x B x C
    causal = torch.ones(T, T, dtype=torch.bool).tril()
    for n, kernel in enumerate(KERNELS):
        p = lambda name: w[f"decoder.layers.{n}.{name}"]  # noqa: E731
        h = F.layer_norm(x, (DIM,), p("self_attn_layer_norm.weight"), p("self_attn_layer_norm.bias"))
        a, c = h[..., :HALF], h[..., HALF:]
        q, k, v = (F.linear(a, p(f"self_attn.branches.0.{n_}_proj.weight"), p(f"self_attn.branches.0.{n_}_proj.bias"))
                   .view(T, B, HEADS, -1).permute(1, 2, 0, 3) for n_ in "qkv")
        scores = (q * (HALF // HEADS) ** -0.5) @ k.transpose(-1, -2)
        a = (scores.masked_fill(~causal, float("-inf")).softmax(-1) @ v).permute(2, 0, 1, 3).reshape(T, B, HALF)
        a = F.linear(a, p("self_attn.branches.0.out_proj.weight"), p("self_attn.branches.0.out_proj.bias"))
        c = F.glu(F.linear(c, p("self_attn.branches.1.linear1.weight"), p("self_attn.branches.1.linear1.bias")), -1)
        taps = F.linear(c, p("self_attn.branches.1.weight_linear.weight")).view(T, B, HEADS, kernel).softmax(-1)
        c = direct_convolution(c, taps, kernel - 1)  # causal
        c = F.linear(c, p("self_attn.branches.1.linear2.weight"), p("self_attn.branches.1.linear2.bias"))
        x = x + torch.cat([a, c], dim=-1)
        h = F.layer_norm(x, (DIM,), p("final_layer_norm.weight"), p("final_layer_norm.bias"))
        x = x + F.linear(F.relu(F.linear(h, p("fc1.weight"), p("fc1.bias"))), p("fc2.weight"), p("fc2.bias"))
    if final_norm:
        x = F.layer_norm(x, (DIM,), w["decoder.layer_norm.weight"], w["decoder.layer_norm.bias"])
    x = x.transpose(0, 1)  # B x T x C
    # Adaptive softmax: the head scores band 0's words and one cluster per tail band.
    head = torch.cat([x @ w["decoder.adaptive_softmax.head.word_proj.weight"].t(),
                      x @ w["decoder.adaptive_softmax.head.class_proj.weight"].t()], dim=-1).log_softmax(-1)
    parts = [head[..., :CUTOFFS[0]]]
    for i in range(len(BANDS) - 1):
        projected = x @ w[f"decoder.adaptive_softmax.tail.{i}.0.weight"]  # the tied projection, transposed
        words = (projected @ w[f"decoder.adaptive_softmax.tail.{i}.2.weight"].t()).log_softmax(-1)
        parts.append(words + head[..., CUTOFFS[0] + i, None])
    return torch.cat(parts, dim=-1)


def imported_lm(tmp_path, final_norm):
    weights = official_lm_weights(final_norm)
    save_official(tmp_path / "official.pt", dict(OFFICIAL_LM_ARGS, no_decoder_final_norm=not final_norm), weights)
    import_official(tmp_path / "official.pt", tmp_path / "ours.pt")
    task = LanguageModelingTask(LanguageModelingConfig(), DictionaryTask(VOCAB, joined=True).dictionary)
    (model,), cfg = checkpoint_utils.load_model_ensemble([str(tmp_path / "ours.pt")], task=task)
    return weights, model.eval(), cfg


@pytest.mark.parametrize("final_norm", [True, False], ids=["final-norm", "released-no-final-norm"])
def test_imported_lm_computes_the_official_forward(tmp_path, final_norm):
    weights, model, cfg = imported_lm(tmp_path, final_norm)
    assert cfg.model._name == "lite_transformer_lm" and cfg.task._name == "language_modeling"
    assert cfg.model.no_decoder_final_norm == (not final_norm)
    torch.manual_seed(2)
    tokens = torch.randint(4, VOCAB, (2, 10))
    assert all(((tokens >= start) & (tokens < end)).any() for start, end in BANDS)  # every band is read
    with torch.no_grad():
        ours = model.get_normalized_probs(model(tokens), log_probs=True)
        expected = reference_log_probs(weights, tokens, final_norm)
    assert torch.allclose(expected.exp().sum(-1), torch.ones(2, 10), atol=1e-5)  # a distribution
    torch.testing.assert_close(ours, expected, atol=1e-5, rtol=1e-5)  # log-probs down to about -50
