"""The WikiText-103 recipe on a slice of WikiText-2 (a real LM corpus), end to end through make:
prepare (local copy), train a small lite_transformer_lm on CPU, fairseq-eval-lm perplexity with a
context window; the perplexity must beat the test slice's unigram perplexity. Then sampling and
beam search with fairseq-interactive (incremental decoding)."""
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ..conftest import REPO

# 1,500 training lines (~88K tokens), 200 valid and 200 test lines (~12K tokens each).
CHECKPOINT = Path("runs", "wikitext103", "lite_lm_tiny_cpu", "checkpoint_best.pt")  # below the work folder
SLICE = {"train": ("wiki.train.tokens.article-shuffled", 1500), "valid": ("wiki.valid.tokens", 200),
         "test": ("wiki.test.tokens", 200)}


def make(target: str, **variables) -> str:
    """``make TARGET VAR=value ...`` in the repository, with this interpreter; returns its output."""
    command = ["make", "-s", "-C", str(REPO), target, f"PY={sys.executable}",
               *(f"{name}={value}" for name, value in variables.items())]
    # One thread per process: the tiny models gain nothing from more, and the CPUs are shared.
    result = subprocess.run(command, capture_output=True, text=True, timeout=600,
                            env=dict(os.environ, OMP_NUM_THREADS="1"))
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"make {target} failed:\n{output[-4000:]}"
    return output


@pytest.fixture(scope="module")
def lm_run(shared_data, tmp_path_factory):
    work = tmp_path_factory.mktemp("wikitext")
    raw = work / "raw"
    raw.mkdir()
    for split, (name, lines) in SLICE.items():
        with open(shared_data / "wikitext-2" / name, encoding="utf-8") as f:
            (raw / f"wiki.{split}.tokens").write_text("".join(next(f) for _ in range(lines)), encoding="utf-8")
    paths = dict(WORK_DIR=work / "data", DATA_BIN=work / "bin", RUNS=work / "runs", RESULTS=work / "results")
    make("prepare-wikitext103", RAW=raw, WORKERS=1, **paths)
    train_log = make("train-wikitext103", MODEL="lite_lm_tiny_cpu", TRAIN_ARGS="--update-freq 1 --cpu", **paths)
    eval_log = make("test-model-wikitext103", MODEL="lite_lm_tiny_cpu", WT103_CONTEXT_WINDOW=32,
                    WT103_TOKENS_PER_SAMPLE=64, TEST_ARGS="--cpu", **paths)
    return work, train_log, eval_log


def binarized_tokens(data_bin: Path, split: str):
    """(all tokens of a binarized split in order, the dictionary's size)."""
    from fairseq.data import Dictionary, data_utils

    dictionary = Dictionary.load(str(data_bin / "dict.txt"))
    dataset = data_utils.load_indexed_dataset(str(data_bin / split), dictionary)
    return np.concatenate([dataset[i].numpy() for i in range(len(dataset))]), len(dictionary)


def test_trained_lm_beats_the_unigram_perplexity_of_the_test_set(lm_run):
    work, _, eval_log = lm_run
    result = json.loads((work / "results" / "wikitext103-lite_lm_tiny_cpu.json").read_text())
    # The unigram model: training-slice counts over the model's own dictionary (add-one smoothing,
    # so that no symbol has probability 0), scored on the same binarized test tokens eval-lm reads.
    data_bin = work / "bin" / "wikitext103"
    (train, vocab), (test, _) = binarized_tokens(data_bin, "train"), binarized_tokens(data_bin, "test")
    counts = np.bincount(train, minlength=vocab)
    unigram = float(np.exp(-np.log((counts[test] + 1) / (counts.sum() + vocab)).mean()))
    evaluated = [int(n.replace(",", "")) for n in re.findall(r"Evaluated ([\d,]+) tokens", eval_log)]
    assert evaluated[-1] == len(test)  # eval-lm scored every test token, as the unigram model did
    print(f"test perplexity {result['test_ppl']} (valid {result['valid_ppl']}), unigram {unigram:.1f}")
    assert result["test_ppl"] < unigram
    assert result["context_window"] == 32 and "--context-window 32" in result["eval_lm_commands"]["test"]


def test_training_used_the_lm_with_adaptive_input_and_softmax(lm_run):
    import torch

    work, train_log, _ = lm_run
    assert "LiteTransformerLanguageModel" in train_log and "AdaptiveLoss" in train_log
    model_cfg = torch.load(work / CHECKPOINT, weights_only=True)["cfg"]["model"]
    assert model_cfg["_name"] == "lite_transformer_lm" and model_cfg["adaptive_input"]
    assert model_cfg["tie_adaptive_weights"] and model_cfg["decoder_layers"] == 2


@pytest.mark.usefixtures("one_thread")
@pytest.mark.parametrize("search", [["--sampling", "--sampling-topk", "10", "--beam", "1", "--seed", "1"],
                                    ["--beam", "4", "--nbest", "2"]])
def test_interactive_continues_a_prompt(lm_run, search, capsys):
    """fairseq-interactive (run in this process to save a start-up) samples or beam-searches."""
    from fairseq import distributed_utils, options
    from fairseq.dataclass.utils import convert_namespace_to_omegaconf
    from fairseq_cli import interactive

    work, _, _ = lm_run
    prompts = work / "prompts.txt"
    prompts.write_text("the game was\nin the first\n")
    args = options.parse_args_and_arch(options.get_interactive_generation_parser(), input_args=[
        str(work / "bin" / "wikitext103"), "--user-dir", str(REPO / "user_dir"), "--task", "language_modeling",
        "--path", str(work / CHECKPOINT), "--input", str(prompts), "--max-len-b", "12",
        "--cpu", *search])
    capsys.readouterr()
    distributed_utils.call_main(convert_namespace_to_omegaconf(args), interactive.main)
    hypotheses = re.findall(r"^H-(\d+)\t\S+\t(.*)$", capsys.readouterr().out, flags=re.M)
    assert len(hypotheses) == 2 * args.nbest
    for index, text in hypotheses:
        prompt = ("the game was", "in the first")[int(index)]
        assert text.startswith(prompt) and len(text.split()) > len(prompt.split())

