"""The demo's recipe end to end at small size: lsra-prepare -> lsra-train -> lsra-evaluate -> JSON."""
import json
import shutil

import torch

from lsra_fairseq.evaluation import evaluate
from lsra_fairseq.preprocessing import pipeline
from lsra_fairseq import training

from ..conftest import REPO
from .test_configs import make_dry_run

SMALL = ["--encoder-layers", "1", "--decoder-layers", "1", "--encoder-kernel-size-list", "3",
         "--decoder-kernel-size-list", "3"]


def params_of_checkpoint(path):
    """#Params as the paper counts them, from the checkpoint's tensors: all but the embedding
    tables, and the output matrix only when it is not tied to one."""
    checkpoint = torch.load(path, weights_only=True)
    model_cfg = checkpoint["cfg"]["model"]
    tied = model_cfg["share_all_embeddings"] or model_cfg["share_decoder_input_output_embed"]
    left_out = (".embed_tokens.", ".embed_positions.") + ((".output_projection.",) if tied else ())
    return sum(t.numel() for key, t in checkpoint["model"].items()
               if t.is_floating_point() and not any(part in key for part in left_out))


def test_prepare_train_and_test_write_a_result(shared_data, tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    for path in (shared_data / "multi30k" / "raw").iterdir():  # the first 200 lines of every file
        lines = path.read_text(encoding="utf-8").splitlines(keepends=True)[:200]
        (raw / path.name).write_text("".join(lines), encoding="utf-8")
    data, run = tmp_path / "data-bin", tmp_path / "run"
    assert pipeline.main(["multi30k", "--raw", str(raw), "--work", str(tmp_path / "work"),
                          "--dest", str(data), "--bpe-merges", "300", "--workers", "1"]) == 0

    assert training.main([str(REPO / "examples/multi30k/train.yaml"), "lite_demo", "--data", str(data),
                          "--run-dir", str(run), "--cpu", "--max-epoch", "2", "--max-tokens", "1024",
                          *SMALL]) == 0
    assert {"checkpoint1.pt", "checkpoint2.pt", "train.log", "train_command.txt"} <= {p.name for p in run.iterdir()}

    # short outputs keep the untrained model's beam search quick
    assert evaluate.main([str(data), str(run), "--dataset", "multi30k", "--model", "tiny",
                          "--average-last", "2", "--results", str(tmp_path / "results"), "--cpu",
                          "--max-len-a", "0", "--max-len-b", "3"]) == 0
    result = json.loads((tmp_path / "results" / "multi30k-tiny.json").read_text())
    assert result["averaged"] == ["checkpoint1.pt", "checkpoint2.pt"]
    assert result["sentences"] == 200  # no sentence lost to fairseq's batch-size rounding
    assert {"bleu", "sacrebleu", "params", "macs", "checkpoint", "command", "generate_command"} <= set(result)
    assert result["params"] == params_of_checkpoint(run / "average_last2.pt")
    shutil.rmtree(run)


def test_demo_prepares_from_the_local_copy_when_there_and_downloads_otherwise(tmp_path):
    raw = tmp_path / "data" / "multi30k" / "raw"
    raw.mkdir(parents=True)
    assert f"lsra-prepare multi30k --work data/multi30k --dest data-bin/multi30k --raw {raw}" in \
        make_dry_run("demo", f"SHARED={tmp_path}")
    without = make_dry_run("demo", f"SHARED={tmp_path / 'none'}")
    assert "lsra-prepare multi30k --work data/multi30k --dest data-bin/multi30k" in without
    assert "--raw" not in without
    assert f"--raw {tmp_path}/own" in make_dry_run("demo", f"SHARED={tmp_path}", f"MULTI30K={tmp_path}/own")
