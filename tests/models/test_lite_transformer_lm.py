"""The lite_transformer_lm model: paper size, incremental decoding, causality, adaptive input/softmax."""
import pytest
import torch

from lsra_fairseq.builder import DictionaryTask
from lsra_fairseq.models.lite_transformer_lm import LM_PAPER_CONFIGS
from lsra_fairseq.profiling import Conventions, count_params

from .test_lite_transformer import perturb_biases_and_norms

pytestmark = pytest.mark.usefixtures("one_thread")

VOCAB = 60
TINY_LM = dict(decoder_embed_dim=32, decoder_ffn_embed_dim=48, decoder_layers=3,
               decoder_kernel_size_list="3,5,9", decoder_glu=True,
               decoder_branch_type="attn:1:16:4,dynamic:default:16:4",
               dropout=0.0, attention_dropout=0.0, weight_dropout=0.0)
ADAPTIVE = dict(adaptive_input=True, adaptive_input_cutoff="20,40", adaptive_input_factor=2,
                adaptive_softmax_cutoff="20,40", adaptive_softmax_factor=2, tie_adaptive_weights=True,
                tie_adaptive_proj=True)
VARIANTS = {"plain": {}, "adaptive-tied": ADAPTIVE,
            "adaptive-untied": dict(ADAPTIVE, tie_adaptive_weights=False, tie_adaptive_proj=False)}


def tiny_lm(build_model, variant="adaptive-tied", **overrides):
    torch.manual_seed(0)
    model = build_model("lite_transformer_lm", DictionaryTask(VOCAB, joined=True),
                        **dict(TINY_LM, **VARIANTS[variant], **overrides))
    return model.eval()


def log_probs(model, tokens, **kwargs):
    out = model(tokens, **kwargs)
    return model.get_normalized_probs(out, log_probs=True)


def test_wiki103_arch_has_the_papers_size_and_configuration(build_model):
    # WikiText-103's fairseq dictionary: 267,744 symbols.
    model = build_model("lite_transformer_lm_wiki103", DictionaryTask(267744, joined=True))
    # #Params without the word representation: the adaptive input and the tied adaptive softmax.
    params = count_params(model, Conventions(output_params=False))
    assert round(params / 1e6, 1) == 37.2, f"{params / 1e6:.3f}M"
    decoder = model.decoder
    # Pre-norm blocks; as the official WikiText-103 model, no LayerNorm after the last one.
    assert len(decoder.layers) == 12 and decoder.layer_norm is None
    assert all(layer.normalize_before and layer.encoder_attn is None for layer in decoder.layers)
    kernels = [layer.self_attn.branches[1].conv.kernel_size for layer in decoder.layers]
    assert kernels == [15, 15, 31, 31, 31, 31, 63, 63, 63, 63, 63, 63]
    head, band0 = decoder.adaptive_softmax.head, decoder.embed_tokens.embeddings[0][0]
    assert head.word_proj.weight is band0.weight  # tied adaptive softmax
    assert decoder.adaptive_softmax.cutoff == [20000, 60000, 267744]


def test_command_line_value_wins_over_arch_default(build_model):
    model = build_model("lite_transformer_lm_wiki103", DictionaryTask(267744, joined=True),
                        decoder_layers=2, decoder_embed_dim=64, decoder_ffn_embed_dim=64,
                        decoder_branch_type="attn:1:32:4,dynamic:default:32:4")
    assert len(model.decoder.layers) == 2 and model.decoder.embed_tokens.embedding_dim == 64


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_incremental_decoding_equals_full_forward(variant, build_model):
    model = tiny_lm(build_model, variant)
    perturb_biases_and_norms(model)
    torch.manual_seed(1)
    tokens = torch.randint(4, VOCAB, (3, 11))
    state, steps, order = {}, [], torch.arange(3)
    with torch.no_grad():
        for t in range(tokens.size(1)):
            if t == 6:  # a beam step: hypotheses are reordered (and duplicated)
                new_order = torch.tensor([1, 1, 0])
                model.decoder.reorder_incremental_state_scripting(state, new_order)
                tokens, order = tokens[new_order], order[new_order]
                steps = [s[new_order] for s in steps]
            steps.append(log_probs(model, tokens[:, :t + 1], incremental_state=state)[:, -1])
        full = log_probs(model, tokens)
    assert (torch.stack(steps, 1) - full).abs().max() <= 1e-4


@pytest.mark.parametrize("variant", ["plain", "adaptive-tied"])
def test_lm_is_causal(variant, build_model):
    model = tiny_lm(build_model, variant)
    perturb_biases_and_norms(model)
    torch.manual_seed(2)
    tokens = torch.randint(4, VOCAB, (2, 12))
    with torch.no_grad():
        base = log_probs(model, tokens)
        for t in range(11):
            changed = tokens.clone()
            changed[:, t + 1] = 4 + (changed[:, t + 1] - 3) % (VOCAB - 4)
            out = log_probs(model, changed)
            # Not bit-exact: AdaptiveInput embeds each band's tokens as one batch, whose size changes.
            assert (out[:, :t + 1] - base[:, :t + 1]).abs().max() <= 1e-5
            assert (out[:, t + 1] - base[:, t + 1]).abs().max() > 1e-3


@pytest.mark.parametrize("variant", ["plain", "adaptive-tied"])
@pytest.mark.parametrize("left_pad", [True, False])
def test_padding_does_not_change_a_sequence(variant, left_pad, build_model):
    """Sequences of 9, 5 and 2 tokens in one batch score as each alone. Right padding follows the
    real tokens, which a causal model never reads; left padding precedes them, so only the padding
    masks (attention keys, convolution inputs) keep it out."""
    model = tiny_lm(build_model, variant)
    perturb_biases_and_norms(model)
    torch.manual_seed(3)
    lengths, width = [9, 5, 2], 9
    rows = [torch.randint(4, VOCAB, (n,)) for n in lengths]
    tokens = torch.full((len(rows), width), 1)  # pad
    real = [slice(width - n, None) if left_pad else slice(0, n) for n in lengths]
    for i, row in enumerate(rows):
        tokens[i, real[i]] = row
    with torch.no_grad():
        padded = log_probs(model, tokens)
        for i, row in enumerate(rows):
            alone = log_probs(model, row.unsqueeze(0))[0]
            assert (padded[i, real[i]] - alone).abs().max() <= 1e-5, i


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_adaptive_and_plain_paths_train(variant, build_model):
    from fairseq.criterions.adaptive_loss import AdaptiveLoss
    from fairseq.criterions.cross_entropy import CrossEntropyCriterion

    model = tiny_lm(build_model, variant).train()
    task = DictionaryTask(VOCAB, joined=True)
    criterion = (AdaptiveLoss(task, sentence_avg=False) if variant != "plain"
                 else CrossEntropyCriterion(task, sentence_avg=False))
    torch.manual_seed(4)
    # A learnable stream: every sequence counts up through the vocabulary (frequent and rare bands).
    start = torch.randint(4, VOCAB, (8, 1))
    stream = 4 + (start - 4 + torch.arange(17)) % (VOCAB - 4)
    sample = {"net_input": {"src_tokens": stream[:, :-1].contiguous()}, "target": stream[:, 1:].contiguous(),
              "ntokens": stream[:, 1:].numel()}
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(30):
        loss, sample_size, _ = criterion(model, sample)
        optimizer.zero_grad()
        (loss / sample_size).backward()
        optimizer.step()
        losses.append(loss.item() / sample_size)
    assert losses[-1] < 0.5 * losses[0], losses
    if variant != "plain":  # every adaptive band received gradient
        for band in model.decoder.embed_tokens.embeddings:
            assert band[0].weight.grad is not None and band[0].weight.grad.abs().sum() > 0


@pytest.mark.parametrize("overrides, message", [
    (dict(ADAPTIVE, adaptive_input_cutoff="20,80", adaptive_softmax_cutoff="20,80"), "dictionary size"),
    (dict(ADAPTIVE, adaptive_softmax_cutoff="20,30"), "equal cutoffs"),
    (dict(ADAPTIVE, adaptive_softmax_factor=4), "equal factors"),
    (dict(adaptive_input=True), "needs --adaptive-input-cutoff"),
    (dict(adaptive_softmax_cutoff="20,40", share_decoder_input_output_embed=True), "--tie-adaptive-weights"),
    (dict(adaptive_softmax_cutoff="20,40", tie_adaptive_weights=True), "needs --adaptive-input"),
])
def test_bad_adaptive_options_fail_at_build(overrides, message, build_model):
    options = dict(TINY_LM, **overrides)
    with pytest.raises(ValueError, match=message):
        build_model("lite_transformer_lm", DictionaryTask(VOCAB, joined=True), **options)


# The paper's WikiText-103 LM (Table 5; the official code's kernel sizes), written out here (not
# read from LM_PAPER_CONFIGS).
WIKI103_PAPER_OPTIONS = {
    "decoder_embed_dim": 896, "decoder_ffn_embed_dim": 896, "decoder_layers": 12,
    "decoder_kernel_size_list": "15,15,31,31,31,31,63,63,63,63,63,63",
    "decoder_branch_type": "attn:1:448:4,dynamic:default:448:4", "decoder_glu": True,
    "dropout": 0.21, "attention_dropout": 0.14, "weight_dropout": 0.14,
    "adaptive_input": True, "adaptive_input_cutoff": "20000,60000", "adaptive_input_factor": 4,
    "adaptive_softmax_cutoff": "20000,60000", "adaptive_softmax_factor": 4,
    "tie_adaptive_weights": True, "tie_adaptive_proj": True,
}


def test_lm_arch_sets_the_papers_options_through_fairseqs_parser(tmp_path):
    """What ``fairseq-train --task language_modeling --arch lite_transformer_lm_wiki103`` parses:
    the arch function fills every paper option, and a flag given on the command line still wins."""
    from fairseq import options
    from fairseq.models import ARCH_MODEL_NAME_REGISTRY

    assert all(ARCH_MODEL_NAME_REGISTRY[name] == "lite_transformer_lm" for name in LM_PAPER_CONFIGS)
    parser = options.get_training_parser()
    args = options.parse_args_and_arch(parser, [str(tmp_path), "--task", "language_modeling",
                                                "--arch", "lite_transformer_lm_wiki103", "--dropout", "0.3"])
    parsed = {name: getattr(args, name, None) for name in WIKI103_PAPER_OPTIONS}
    assert parsed == dict(WIKI103_PAPER_OPTIONS, dropout=0.3)
