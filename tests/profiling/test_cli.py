"""``lsra-profile --arch`` / ``--checkpoint``: any fairseq model, clear errors, optional latency."""
import argparse
import json

import pytest

from lsra_fairseq.builder import DictionaryTask
from lsra_fairseq.profiling import cli
from lsra_fairseq.profiling.paper import PAPER_ROWS, TABLE_2

from ..test_builder import save_checkpoint

SMALL = dict(encoder_embed_dim=32, decoder_embed_dim=32, encoder_ffn_embed_dim=32,
             decoder_ffn_embed_dim=32, encoder_layers=2, decoder_layers=2)
LITE = dict(SMALL, encoder_kernel_size_list="3,5", decoder_kernel_size_list="3,5")
TINY = [item for name, value in LITE.items() for item in ("--" + name.replace("_", "-"), str(value))]


def lite_figures(src_len, tgt_len, tgt_vocab, output_macs=False):
    """#Params / #MACs of ``lite_transformer_base`` with LITE, by hand: d = ffn = 32, 2 + 2 layers
    with kernels 3 and 5, the default split (attn 16 + dynamic 16, 4 heads each, no GLU), 8
    encoder-decoder heads (heads do not change the counts), an untied output matrix."""
    d, h, S, T = 32, 16, src_len, tgt_len
    params = macs = 0
    for k in (3, 5):
        # LSRA: attention q/k/v/out; conv linear1 and linear2, kernel predictor (h -> 4 heads x k).
        lsra = 4 * (h * h + h) + 2 * (h * h + h) + h * 4 * k
        ffn, cross, norm = 2 * d * d + 2 * d, 4 * (d * d + d), 2 * d
        params += (lsra + ffn + 2 * norm) + (lsra + cross + ffn + 3 * norm)  # encoder + decoder layer
        for n in (S, T):  # the encoder layer on S tokens, the decoder's self-branches on T tokens
            macs += 4 * n * h * h + 2 * n * n * h  # attention projections, QK^T and AV
            macs += 2 * n * h * h + n * h * 4 * k + n * h * k  # linear1/2, kernel predictor, taps
            macs += 2 * n * d * d  # FFN
        macs += 2 * T * d * d + 2 * S * d * d + 2 * T * S * d  # cross attention: q/out, k/v, products
    params += tgt_vocab * d  # the untied output matrix
    return params, macs + (T * d * tgt_vocab if output_macs else 0)


def transformer_figures(src_len, tgt_len, tgt_vocab):
    """fairseq's ``transformer`` with SMALL: d = ffn = 32, 2 + 2 layers, an untied output matrix."""
    d, S, T = 32, src_len, tgt_len
    attention, ffn, norm = 4 * (d * d + d), 2 * d * d + 2 * d, 2 * d
    params = 2 * (attention + ffn + 2 * norm) + 2 * (2 * attention + ffn + 3 * norm) + tgt_vocab * d
    encoder = 4 * S * d * d + 2 * S * S * d + 2 * S * d * d
    decoder = 4 * T * d * d + 2 * T * T * d + 2 * T * d * d + 2 * S * d * d + 2 * T * S * d + 2 * T * d * d
    return params, 2 * encoder + 2 * decoder


def run_json(capsys, *argv):
    assert cli.main([*argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_fairseqs_own_transformer_base(capsys):
    """Transformer base with shared embeddings (the paper's WMT setting): 44.1M, 1.33G (Table 2)."""
    result = run_json(capsys, "--arch", "transformer_wmt_en_de", "--share-all-embeddings",
                      "--src-vocab", "100")
    assert result["arch"] == "transformer_wmt_en_de" and result["model_class"] == "TransformerModel"
    paper = next(row for row in PAPER_ROWS if row.table == TABLE_2 and row.arch == "transformer_wmt_en_de")
    assert paper.params.matches(result["params"]) and paper.macs.matches(result["macs"])
    assert (result["src_vocab"], result["tgt_vocab"]) == (100, 100)


def test_model_flags_lengths_and_conventions_reach_the_count(capsys):
    argv = ["--arch", "lite_transformer_base", *TINY, "--src-vocab", "60", "--tgt-vocab", "50",
            "--src-len", "12", "--tgt-len", "9", "--output-macs"]
    result = run_json(capsys, *argv)
    assert (result["params"], result["macs"]) == lite_figures(12, 9, 50, output_macs=True)
    assert (result["src_len"], result["tgt_len"]) == (12, 9)
    assert result["conventions"]["output_macs"] is True


def test_text_report_says_what_was_counted(capsys):
    assert cli.main(["--arch", "lite_transformer_base", *TINY, "--src-vocab", "60"]) == 0
    out = capsys.readouterr().out
    assert "#Params" in out and "#MACs" in out
    assert ("counted: 30 source + 30 target tokens, teacher-forced, batch 1; #Params without embedding "
            "tables, with an untied output matrix; #MACs without the embedding modules, without the "
            "output projection, with convolution taps") in out


def test_latency_is_measured_on_request(capsys):
    result = run_json(capsys, "--arch", "lite_transformer_base", *TINY, "--src-vocab", "60",
                      "--src-len", "5", "--tgt-len", "4", "--latency", "--repeats", "1")
    assert result["latency_ms"] > 0 and result["threads"] == 1


@pytest.mark.parametrize("arch, options, saved_cfg, figures", [
    # A dataclass model's config is saved as a dict, a legacy arch's as its argparse namespace.
    ("lite_transformer_base", LITE, {"_name": "lite_transformer", **LITE}, lite_figures),
    ("transformer", SMALL, argparse.Namespace(_name="transformer", arch="transformer", **SMALL),
     transformer_figures),
])
def test_checkpoint_is_rebuilt_from_its_config(capsys, tmp_path, build_model, arch, options, saved_cfg,
                                               figures):
    model = build_model(arch, DictionaryTask(60, 50), **options)
    save_checkpoint(model, saved_cfg, tmp_path / "checkpoint.pt")
    result = run_json(capsys, "--checkpoint", str(tmp_path / "checkpoint.pt"))
    assert (result["src_vocab"], result["tgt_vocab"]) == (60, 50)
    assert (result["params"], result["macs"]) == figures(30, 30, 50)


@pytest.mark.parametrize("argv, message", [
    (["--arch", "no_such_arch"], "unknown arch 'no_such_arch'"),
    (["--checkpoint", "/no/such/checkpoint.pt"], "checkpoint '/no/such/checkpoint.pt' not found"),
    (["--checkpoint", "x.pt", "--encoder-layers", "2"], "model flags need --arch"),
    (["--arch", "lite_transformer_base", "--encoder-layerz", "2"], "unrecognized arguments: --encoder-layerz"),
    (["--arch", "lite_transformer_base", "--src-len", "0"], "must be a positive integer"),
])
def test_bad_input_stops_early_with_a_clear_message(capsys, argv, message):
    with pytest.raises(SystemExit) as stop:
        cli.main(argv)
    assert stop.value.code == 2 and message in capsys.readouterr().err
