"""lsra-export: the ONNX graphs decode like the PyTorch model, without fairseq or torch; int8 stays close.

The exported fp32 model's greedy output equals fairseq's SequenceGenerator on 24 validation
sentences (scores within 1e-4); the export folder's ort_decode.py runs with torch, fairseq and
lsra_fairseq made unimportable; int8 log-probabilities stay within 0.5 (max) / 0.06 (mean) of fp32."""
import subprocess
import sys

import numpy as np
import pytest
import torch
from fairseq.data import data_utils
from fairseq.sequence_generator import SequenceGenerator

from lsra_fairseq.builder import build_registered_model
from lsra_fairseq.export.cli import main as export_main
from lsra_fairseq.export.encoder import EncoderMemory
from lsra_fairseq.export.ort_decode import OrtTranslator
from lsra_fairseq.export.decoder_step import DecoderStep

from ..models.test_lite_transformer import perturb_biases_and_norms, tiny_model

# int8 vs float32 log-probabilities of the same step, teacher-forced along the float32 translation
# (measured on this model: max 0.26, mean 0.034, chosen token 0.097).
INT8_MAX_ABS, INT8_MEAN_ABS, INT8_CHOSEN_ABS = 0.5, 0.06, 0.2


@pytest.fixture(scope="module")
def exports(tiny, tmp_path_factory):
    root = tmp_path_factory.mktemp("exports")
    for name, flags in (("fp32", []), ("int8", ["--int8"])):
        assert export_main([str(tiny.checkpoint), str(root / name), "--data", str(tiny.data), *flags]) == 0
    return root


@pytest.mark.parametrize("conv", ["lightweight", "dynamic"])
@pytest.mark.parametrize("variant", [{}, {"encoder_normalize_before": True, "encoder_glu": True},
                                     {"official_padding": True}])
def test_export_encoder_equals_the_model_encoder(conv, variant):
    model = tiny_model(build_registered_model, conv, variant.pop("encoder_glu", False), **variant)
    perturb_biases_and_norms(model)
    src = torch.randint(4, 30, (3, 9))
    src[1, :3] = src[2, :8] = 1  # left padding, one source of a single token
    expected = model.encoder(src, src.ne(1).sum(1))["encoder_out"][0]
    with torch.no_grad():
        got = EncoderMemory(model, DecoderStep(model.decoder)).encoder_out(src)
    real = src.ne(1).t().unsqueeze(-1)
    assert torch.allclose(got.masked_fill(~real, 0), expected.masked_fill(~real, 0), atol=1e-5)


def test_exported_greedy_equals_the_pytorch_model(tiny, exports, one_thread):
    lines = tiny.val_de[:24]
    translator = OrtTranslator(exports / "fp32")
    exported = translator.greedy([translator.encode_line(line) for line in lines])
    src_dict, tgt_dict = tiny.task.source_dictionary, tiny.task.target_dictionary
    src = data_utils.collate_tokens([src_dict.encode_line(l, add_if_not_exist=False).long() for l in lines],
                                    src_dict.pad(), left_pad=True)
    sample = {"net_input": {"src_tokens": src, "src_lengths": src.ne(src_dict.pad()).sum(1)}}
    reference = SequenceGenerator([tiny.model], tgt_dict, beam_size=1).generate([tiny.model], sample)
    for (tokens, score), hypos in zip(exported, reference):
        assert tokens == hypos[0]["tokens"].tolist()
        assert abs(score - float(hypos[0]["score"])) < 1e-4
    assert len({tuple(tokens) for tokens, _ in exported}) > len(lines) // 2, "the test model is degenerate"


def test_reference_loop_runs_without_torch_fairseq_or_this_package(tiny, exports):
    # The export folder's own ort_decode.py, with torch, fairseq and lsra_fairseq made unimportable.
    script = ("import sys, runpy; sys.modules.update(torch=None, fairseq=None, lsra_fairseq=None); "
              f"sys.argv = ['ort_decode.py', {str(exports / 'fp32')!r}]; "
              f"runpy.run_path({str(exports / 'fp32' / 'ort_decode.py')!r}, run_name='__main__')")
    lines = tiny.val_de[:3] + ["ein mann xyzzyq ."]
    result = subprocess.run([sys.executable, "-c", script], input="\n".join(lines) + "\n", capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    translator = OrtTranslator(exports / "fp32")
    expected = [translator.words(translator.greedy([translator.encode_line(l)])[0][0]) for l in lines]
    assert result.stdout.splitlines() == expected


def test_int8_log_probabilities_stay_close_to_float32(tiny, exports, one_thread):
    fp32, int8 = OrtTranslator(exports / "fp32"), OrtTranslator(exports / "int8")
    assert int8.config["int8"] and not fp32.config["int8"]
    c = fp32.config
    diffs, chosen = [], []
    for line in tiny.val_de[:10]:
        src = fp32.encode_line(line)[None]
        tokens, _ = fp32.greedy([src[0]])[0]
        runs = []
        for translator in (fp32, int8):
            memory = translator.encoder.run(None, {"src_tokens": src})
            T = len(tokens)
            state = translator.empty_state(1, T)
            steps = []
            for t, previous in enumerate([c["bos"]] + tokens[:-1]):
                steps.append(translator.run_step(np.array([previous]), t, state, memory)[0])
            runs.append(np.stack(steps))
        diffs.append(np.abs(runs[0] - runs[1]))
        chosen.append(np.abs(runs[0] - runs[1])[np.arange(len(tokens)), tokens])
    diffs, chosen = np.concatenate(diffs), np.concatenate(chosen)
    assert diffs.max() <= INT8_MAX_ABS and diffs.mean() <= INT8_MEAN_ABS and chosen.max() <= INT8_CHOSEN_ABS, \
        (diffs.max(), diffs.mean(), chosen.max())
    assert diffs.max() > 0  # the int8 graphs do compute differently
