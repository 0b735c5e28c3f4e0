"""The whole pipeline through fairseq's own tools, on a slice of Multi30k (real sentences).

A tiny untrained model is saved as fairseq-train would; ``lsra-compress prune`` chooses sparsities on the
valid slice; fairseq-train fine-tunes with ``--task translation_pruned`` (with distillation and
quantization-aware steps) and its checkpoint keeps the pruned weights at exactly zero;
``lsra-compress pack`` writes the compact file, which fairseq-generate loads and translates with
exactly as with the dequantized weights saved as an ordinary checkpoint; ``report`` writes the JSON.
"""
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from fairseq import checkpoint_utils

import lsra_fairseq.plugin  # noqa: F401
from lsra_fairseq.compression import cli
from lsra_fairseq.compression.compact import CompactFormatError, load_compact_state
from lsra_fairseq.compression.masks import load_masks

from ..conftest import REPO

BIN = Path(sys.executable).parent
MODEL = ["--arch", "lite_transformer_iwslt_de_en_160", "--share-all-embeddings", "--encoder-embed-dim", "32",
         "--decoder-embed-dim", "32", "--encoder-ffn-embed-dim", "32", "--decoder-ffn-embed-dim", "32",
         "--encoder-layers", "1", "--decoder-layers", "1", "--encoder-kernel-size-list", "3",
         "--decoder-kernel-size-list", "3", "--encoder-branch-type", "attn:1:16:2,lightweight:default:16:2",
         "--decoder-branch-type", "attn:1:16:2,lightweight:default:16:2", "--decoder-attention-heads", "2"]
TRAIN = ["--user-dir", str(REPO / "user_dir"), "--optimizer", "adam", "--lr", "1e-3", "--max-tokens", "1000",
         "--criterion", "label_smoothed_cross_entropy", "--label-smoothing", "0.1", "--cpu", "--seed", "1",
         "--no-progress-bar", "--no-epoch-checkpoints", "--disable-validation", "--num-workers", "0"]


def compress(args):
    assert cli.main([str(a) for a in args]) == 0


def run(tool, *args):
    result = subprocess.run([str(BIN / tool), *map(str, args)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"{tool} failed:\n{(result.stdout + result.stderr)[-3000:]}"
    return result.stdout


@pytest.fixture(scope="module")
def data(shared_data, tmp_path_factory):
    tok, work = shared_data / "multi30k" / "tok", tmp_path_factory.mktemp("compress")
    for split, name, size in (("train", "train", 400), ("valid", "val", 40), ("test", "test_2016_flickr", 12)):
        for lang in ("de", "en"):
            lines = (tok / f"{name}.lc.norm.tok.{lang}").read_text(encoding="utf-8").splitlines()[:size]
            (work / f"{split}.{lang}").write_text("\n".join(lines) + "\n", encoding="utf-8")
    run("fairseq-preprocess", "--source-lang", "de", "--target-lang", "en", "--joined-dictionary",
        "--trainpref", work / "train", "--validpref", work / "valid", "--testpref", work / "test",
        "--destdir", work / "bin", "--workers", "1")
    save_untrained(work / "bin", work / "base.pt")
    return work


def save_untrained(data, path):
    """A checkpoint of an untrained model with the config fairseq-train would save for these flags."""
    from fairseq import options, tasks
    from fairseq.dataclass.utils import convert_namespace_to_omegaconf
    from omegaconf import OmegaConf

    cfg = convert_namespace_to_omegaconf(
        options.parse_args_and_arch(options.get_training_parser(), [str(data), *MODEL, *TRAIN]))
    torch.manual_seed(1)
    model = tasks.setup_task(cfg.task).build_model(cfg.model)
    checkpoint_utils.torch_persistent_save(
        {"cfg": OmegaConf.to_container(cfg, resolve=True), "model": model.state_dict(), "extra_state": {"epoch": 1},
         "optimizer_history": [{"criterion_name": "LabelSmoothedCrossEntropyCriterion", "num_updates": 0,
                                "optimizer_name": "FairseqAdam", "lr_scheduler_state": {}}]}, str(path))


@pytest.fixture(scope="module")
def pipeline(data):
    out = data / "compress"
    compress(["prune", data / "base.pt", "--data", data / "bin", "--out-dir", out,
              "--sparsity", "0.5", "--grid", "0.5,0.8", "--max-sentences", "20"])
    run("fairseq-train", data / "bin", *MODEL, *TRAIN, "--max-update", "3", "--save-dir", out / "finetune",
        "--task", "translation_pruned", "--prune-masks", out / "masks.pt", "--quantization-aware", "kmeans",
        "--finetune-from-model", out / "pruned.pt", "--criterion", "label_smoothed_distillation",
        "--teacher-path", data / "base.pt", "--distill-temperature", "2")
    compress(["pack", out / "finetune" / "checkpoint_last.pt", "--masks", out / "masks.pt",
              "--out", out / "model.compact.pt"])
    return out


def test_fairseq_train_keeps_pruned_weights_at_zero(pipeline):
    masks = load_masks(pipeline / "masks.pt")
    tuned = checkpoint_utils.load_checkpoint_to_cpu(str(pipeline / "finetune" / "checkpoint_last.pt"))
    pruned = checkpoint_utils.load_checkpoint_to_cpu(str(pipeline / "pruned.pt"))
    assert tuned["optimizer_history"][-1]["num_updates"] == 3
    assert sum(int((~m).sum()) for m in masks.values()) > 0
    for name, mask in masks.items():
        assert tuned["model"][name][~mask].eq(0).all(), name
    changed = sum(int(tuned["model"][n][m].ne(pruned["model"][n][m]).sum()) for n, m in masks.items())
    assert changed > 0.9 * sum(int(m.sum()) for m in masks.values())


def hypotheses(output):
    return [line for line in output.splitlines() if re.match(r"^H-\d+\t", line)]


def test_fairseq_generate_translates_with_the_compact_file_as_with_its_dequantized_weights(pipeline, data):
    state = load_compact_state(pipeline / "model.compact.pt")
    checkpoint_utils.torch_persistent_save(state, str(pipeline / "dequantized.pt"))
    outputs = [hypotheses(run("fairseq-generate", data / "bin", "--user-dir", REPO / "user_dir", "--path", path,
                              "--beam", "2", "--cpu", "--batch-size", "16", "--required-batch-size-multiple", "1",
                              "--max-len-a", "0", "--max-len-b", "8"))
               for path in (pipeline / "model.compact.pt", pipeline / "dequantized.pt")]
    assert len(outputs[0]) == 12 and outputs[0] == outputs[1]
    assert (pipeline / "model.compact.pt").stat().st_size < (pipeline / "dequantized.pt").stat().st_size / 2


def test_report_has_the_figures(pipeline, data, tmp_path):
    compress(["report", "--original", data / "base.pt", "--compact",
              pipeline / "model.compact.pt", "--sensitivity", pipeline / "sensitivity.json",
              "--out", tmp_path / "report.json", "--command", "make compress"])
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["sparsity"] >= 0.45 and report["commands"] == ["make compress"]
    assert report["compression_ratio"] == pytest.approx(report["quantization_ratio"] * report["pruning_ratio"],
                                                        rel=1e-2)
    assert report["file_ratio"] > 1 and (tmp_path / "report.md").exists()


def test_fairseqs_model_loader_refuses_a_truncated_compact_file(pipeline, data, tmp_path):
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes((pipeline / "model.compact.pt").read_bytes()[:1000])
    with pytest.raises(CompactFormatError, match=f"compact checkpoint {truncated} is truncated"):
        checkpoint_utils.load_model_ensemble_and_task([str(truncated)])  # as fairseq-generate loads --path
