"""End to end on real data: Multi30k De-En through fairseq's own command-line tools.

A small subset is Moses-tokenized (sacremoses), BPE'd (subword-nmt), binarized, then used by
fairseq-train (2 epochs), fairseq-generate, fairseq-interactive, fairseq-hydra-train and a resumed
fairseq-train, all with ``--user-dir user_dir`` and nothing else from this package.
"""
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from ..conftest import REPO

BIN = Path(sys.executable).parent
USER_DIR = str(REPO / "user_dir")
TINY_MODEL = [
    "--arch", "lite_transformer_iwslt_de_en_160", "--encoder-embed-dim", "64", "--decoder-embed-dim", "64",
    "--encoder-ffn-embed-dim", "64", "--decoder-ffn-embed-dim", "64", "--encoder-layers", "2",
    "--decoder-layers", "2", "--encoder-kernel-size-list", "3,5", "--decoder-kernel-size-list", "3,5",
    "--encoder-branch-type", "attn:1:32:4,lightweight:default:32:4",
    "--decoder-branch-type", "attn:1:32:4,dynamic:default:32:4", "--decoder-glu", "--dropout", "0.1",
]
TRAINING = ["--optimizer", "adam", "--lr", "1e-3", "--lr-scheduler", "inverse_sqrt", "--warmup-updates", "30",
            "--criterion", "label_smoothed_cross_entropy", "--label-smoothing", "0.1",
            "--max-tokens", "2000", "--cpu", "--log-format", "simple", "--no-progress-bar", "--seed", "1"]


def run(tool, *args, stdin=None):
    result = subprocess.run([str(BIN / tool), *map(str, args)], input=stdin, capture_output=True,
                            text=True, timeout=600)
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"{tool} failed:\n{output[-3000:]}"
    return output


@pytest.fixture(scope="module")
def multi30k(shared_data, tmp_path_factory):
    """1,200 training pairs, 100 valid and 100 test pairs, binarized with a joined dictionary."""
    from sacremoses import MosesTokenizer
    from subword_nmt.apply_bpe import BPE
    from subword_nmt.learn_bpe import learn_bpe

    raw, work = shared_data / "multi30k" / "raw", tmp_path_factory.mktemp("multi30k")
    splits = {"train": ("train", 1200), "valid": ("val", 100), "test": ("test_2016_flickr", 100)}
    for lang in ("de", "en"):
        tokenizer = MosesTokenizer(lang=lang)
        for split, (name, size) in splits.items():
            lines = (raw / f"{name}.{lang}").read_text(encoding="utf-8").splitlines()[:size]
            (work / f"tok.{split}.{lang}").write_text(
                "".join(tokenizer.tokenize(l, escape=False, return_str=True) + "\n" for l in lines))
    with open(work / "codes", "w") as codes:
        learn_bpe((work / "tok.train.de").read_text().splitlines() + (work / "tok.train.en").read_text().splitlines(),
                  codes, num_symbols=800)
    with open(work / "codes") as codes:
        bpe = BPE(codes)
    for split in splits:
        for lang in ("de", "en"):
            lines = (work / f"tok.{split}.{lang}").read_text().splitlines()
            (work / f"bpe.{split}.{lang}").write_text("".join(bpe.process_line(l) + "\n" for l in lines))
    run("fairseq-preprocess", "--source-lang", "de", "--target-lang", "en", "--joined-dictionary",
        "--trainpref", work / "bpe.train", "--validpref", work / "bpe.valid", "--testpref", work / "bpe.test",
        "--destdir", work / "bin", "--workers", "1")
    return work


@pytest.fixture(scope="module")
def trained(multi30k):
    save_dir = multi30k / "checkpoints"
    log = run("fairseq-train", multi30k / "bin", "--user-dir", USER_DIR, "--task", "translation",
              *TINY_MODEL, "--share-all-embeddings", *TRAINING, "--max-epoch", "2", "--save-dir", save_dir)
    return save_dir, log


def epoch_losses(log):
    return [float(x) for x in re.findall(r"\| train \| epoch \d+ \| loss ([\d.]+)", log)]


def test_train_two_epochs_loss_goes_down(trained):
    save_dir, log = trained
    losses = epoch_losses(log)
    assert len(losses) == 2 and losses[1] < losses[0], losses
    checkpoint = torch.load(save_dir / "checkpoint_last.pt", weights_only=True)  # safe loading works
    assert checkpoint["cfg"]["model"]["_name"] == "lite_transformer_iwslt_de_en_160"
    assert checkpoint["cfg"]["model"]["encoder_layers"] == 2  # the flag beat the arch default


def test_generate_prints_bleu_on_every_test_sentence(multi30k, trained):
    save_dir, _ = trained
    # fairseq drops a last batch whose size is not a multiple of --required-batch-size-multiple
    # (default 8), i.e. 4 of these 100 sentences; evaluation must see all of them.
    out = run("fairseq-generate", multi30k / "bin", "--user-dir", USER_DIR, "--path",
              save_dir / "checkpoint_last.pt", "--beam", "4", "--remove-bpe", "--cpu", "--max-tokens", "4000",
              "--required-batch-size-multiple", "1", "--max-len-a", "1.2", "--max-len-b", "10")
    assert re.search(r"BLEU4? = [\d.]+", out), out[-2000:]
    assert len(re.findall(r"^H-\d+\t", out, flags=re.M)) == 100


def test_interactive_with_moses_and_subword_nmt(multi30k, trained):
    save_dir, _ = trained
    sentences = "Ein Mann fährt Fahrrad.\nZwei Hunde spielen im Schnee.\n"
    out = run("fairseq-interactive", multi30k / "bin", "--user-dir", USER_DIR, "--path",
              save_dir / "checkpoint_last.pt", "--tokenizer", "moses", "--bpe", "subword_nmt",
              "--bpe-codes", multi30k / "codes", "--source-lang", "de", "--target-lang", "en",
              "--beam", "2", "--max-len-b", "20", "--cpu", stdin=sentences)
    assert re.findall(r"^S-\d+\t(.*)$", out, flags=re.M)[0] == "Ein Mann fährt Fahrrad ."
    assert len(re.findall(r"^D-\d+\t", out, flags=re.M)) == 2


def test_resume_from_checkpoint_last(multi30k, trained):
    save_dir, _ = trained
    log = run("fairseq-train", multi30k / "bin", "--user-dir", USER_DIR, "--task", "translation",
              *TINY_MODEL, "--share-all-embeddings", *TRAINING, "--max-epoch", "3", "--save-dir", save_dir)
    assert re.search(r"Loaded checkpoint \S+checkpoint_last\.pt \(epoch 3 @ \d+ updates\)", log), log[-2000:]
    assert "begin training epoch 3" in log and "begin training epoch 1" not in log


def test_generate_loads_fairseq_legacy_checkpoint_through_the_plugin(multi30k):
    """fairseq's own argparse-era models (e.g. the Transformer baselines) pickle an
    argparse.Namespace into their checkpoints, which torch >= 2.6 refuses without the plugin."""
    save_dir = multi30k / "transformer-checkpoints"
    run("fairseq-train", multi30k / "bin", "--task", "translation", "--arch", "transformer", "--encoder-layers", "1",
        "--decoder-layers", "1", "--encoder-embed-dim", "32", "--decoder-embed-dim", "32",
        "--encoder-ffn-embed-dim", "32", "--decoder-ffn-embed-dim", "32", *TRAINING, "--max-update", "2",
        "--save-dir", save_dir)
    out = run("fairseq-generate", multi30k / "bin", "--user-dir", USER_DIR, "--path", save_dir / "checkpoint_last.pt",
              "--beam", "1", "--max-len-b", "5", "--cpu", "--max-tokens", "4000")
    assert re.search(r"BLEU4? = [\d.]+", out), out[-2000:]


def test_hydra_train_with_example_config(multi30k):
    save_dir = multi30k / "hydra-checkpoints"
    run("fairseq-hydra-train", "--config-dir", REPO / "examples" / "multi30k", "--config-name", "lite_tiny_cpu",
        f"task.data={multi30k / 'bin'}", f"common.user_dir={USER_DIR}", f"checkpoint.save_dir={save_dir}",
        "optimization.max_epoch=1", f"hydra.run.dir={multi30k / 'hydra-outputs'}")
    model_cfg = torch.load(save_dir / "checkpoint_last.pt", weights_only=True)["cfg"]["model"]
    assert model_cfg["_name"] == "lite_transformer" and model_cfg["encoder_layers"] == 2
