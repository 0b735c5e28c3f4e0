"""Whole models: the count follows the closed-form formula of the architecture for any configuration,
and each counting convention moves it by exactly the part it names."""
import pytest

from lsra_fairseq.builder import DictionaryTask
from lsra_fairseq.profiling import profile_model

SRC_VOCAB, TGT_VOCAB = 50, 40


def lite_model(build_model, d, conv, glu, kernels, ffn=24):
    branches = f"attn:1:{d // 2}:2,{conv}:default:{d // 2}:2"
    side = dict(embed_dim=d, ffn_embed_dim=ffn, layers=len(kernels), branch_type=branches,
                kernel_size_list=",".join(map(str, kernels)), glu=glu)
    options = {f"{s}_{name}": value for s in ("encoder", "decoder") for name, value in side.items()}
    return build_model("lite_transformer_base", DictionaryTask(SRC_VOCAB, TGT_VOCAB),
                       decoder_attention_heads=4, **options)


def lite_macs(d, conv, glu, kernels, S, T, ffn=24, heads=2):
    """LSRA: attention on d/2 channels, conv branch Linear(c -> c or 2c) -> conv -> Linear(c -> c)
    on the other d/2, FFN d -> ffn -> d; a dynamic conv also predicts H x k taps per position."""
    a = c = d // 2
    taps_per_position = c * (1 + heads) if conv == "dynamic" else c  # (predictor +) taps, per kernel tap

    def block(L, k):
        linears = 4 * a * a + c * c * (2 if glu else 1) + c * c + 2 * d * ffn
        return L * linears + 2 * L * L * a + L * taps_per_position * k

    cross_attention = 2 * T * d * d + 2 * S * d * d + 2 * T * S * d
    return sum(block(S, k) + block(T, k) + cross_attention for k in kernels)


@pytest.mark.parametrize("conv, glu, d, kernels, S, T", [
    ("lightweight", False, 32, (3, 5), 30, 30),
    ("lightweight", False, 48, (3, 5), 30, 30),  # wider
    ("lightweight", False, 32, (7, 9, 11), 30, 30),  # longer kernels, one more layer
    ("lightweight", False, 32, (3, 5), 11, 17),  # other lengths
    ("dynamic", True, 32, (3, 5), 30, 30),
    ("dynamic", True, 32, (7, 9), 13, 8),
    ("dynamic", False, 40, (3, 5), 30, 30),
])
def test_lite_transformer_macs_follow_the_formula(build_model, conv, glu, d, kernels, S, T):
    model = lite_model(build_model, d, conv, glu, kernels)
    assert profile_model(model, S, T)["macs"] == lite_macs(d, conv, glu, kernels, S, T)


def transformer_macs(d, ffn, layers, S, T):
    encoder = S * (4 * d * d + 2 * d * ffn) + 2 * S * S * d
    decoder = T * (6 * d * d + 2 * d * ffn) + 2 * S * d * d + 2 * T * T * d + 2 * T * S * d
    return layers * (encoder + decoder)


@pytest.mark.parametrize("d, ffn, S, T", [(32, 64, 30, 30), (48, 64, 30, 30), (32, 64, 9, 21)])
def test_fairseq_transformer_macs_follow_the_formula(build_model, d, ffn, S, T):
    side = dict(embed_dim=d, ffn_embed_dim=ffn, layers=2, attention_heads=4)
    options = {f"{s}_{name}": value for s in ("encoder", "decoder") for name, value in side.items()}
    model = build_model("transformer", DictionaryTask(SRC_VOCAB, TGT_VOCAB), **options)
    assert profile_model(model, S, T)["macs"] == transformer_macs(d, ffn, 2, S, T)


def test_conventions_move_the_counts_by_the_part_they_name(build_model):
    d = 32
    model = lite_model(build_model, d, "lightweight", False, (3, 5))  # untied output matrix
    paper = profile_model(model)
    everything = sum(p.numel() for p in model.parameters())
    tables = (SRC_VOCAB + TGT_VOCAB) * d
    assert paper["params"] == everything - tables
    assert profile_model(model, embedding_params=True)["params"] == everything
    assert profile_model(model, output_params=False)["params"] == everything - tables - TGT_VOCAB * d
    assert profile_model(model, output_macs=True)["macs"] == paper["macs"] + 30 * d * TGT_VOCAB
    assert profile_model(model, embedding_macs=True)["macs"] == paper["macs"]  # lookups: no MACs
    taps = (30 + 30) * (d // 2) * (3 + 5)  # both sides, the conv branch's d/2 channels, kernels 3 and 5
    assert paper["macs_by_kind"]["convolution"] == taps
    assert profile_model(model, conv_taps=False)["macs"] == paper["macs"] - taps
    assert paper["conventions"] == {"embedding_params": False, "output_params": True,
                                    "embedding_macs": False, "output_macs": False, "conv_taps": True}


def test_tied_output_matrix_is_the_embedding_table(build_model):
    d = 32
    model = build_model("transformer_wmt_128", DictionaryTask(SRC_VOCAB, joined=True),
                        encoder_embed_dim=d, decoder_embed_dim=d)
    everything = sum(p.numel() for p in model.parameters())
    assert profile_model(model)["params"] == everything - SRC_VOCAB * d
    assert profile_model(model, output_params=False)["params"] == everything - SRC_VOCAB * d


def test_unknown_convention_is_refused(build_model):
    model = lite_model(build_model, 32, "lightweight", False, (3, 5))
    with pytest.raises(TypeError, match="embedding_parms"):
        profile_model(model, embedding_parms=True)


def test_language_model_reads_target_tokens_only(build_model):
    """Decoder-only: T tokens, no encoder-decoder attention; adaptive input's band projections are
    embedding work (--embedding-macs)."""
    d, T, vocab = 32, 12, 100
    model = build_model("lite_transformer_lm", DictionaryTask(vocab, joined=True),
                        decoder_embed_dim=d, decoder_ffn_embed_dim=d, decoder_layers=2,
                        decoder_branch_type="attn:1:16:2,dynamic:default:16:2",
                        decoder_kernel_size_list="3,5", decoder_glu=True, adaptive_input=True,
                        adaptive_input_cutoff="20,60", adaptive_softmax_cutoff="20,60",
                        tie_adaptive_weights=True, tie_adaptive_proj=True)
    result = profile_model(model, src_len=30, tgt_len=T)
    c = a = d // 2
    block = lambda k: T * (4 * a * a + 2 * c * c + c * c + 2 * d * d + c * (1 + 2) * k) + 2 * T * T * a  # noqa: E731
    assert result["src_len"] is None
    assert result["macs"] == block(3) + block(5)
    # The dummy words are the most frequent ones (band 0: a d x d projection).
    assert profile_model(model, tgt_len=T, embedding_macs=True)["macs"] == result["macs"] + T * d * d
