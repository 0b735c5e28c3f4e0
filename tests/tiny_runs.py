"""Tiny synthetic datasets and fairseq-train runs for the tests that need real training steps.

The data are text files that fairseq reads with ``--dataset-impl raw`` (no binarization step):
a translation pair where the target is the source reversed, and the same words as an LM corpus.
"""
import random
import re
import subprocess
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import torch

from lsra_fairseq.commands import fairseq_command

WORDS = [f"w{i}" for i in range(40)]
# A small LSRA translation model: both branch kinds, a GLU side, every dropout off (runs compare
# exactly: dropout masks depend on how a step splits its batches).
TINY_LSRA = [
    "--arch", "lite_transformer_base", "--encoder-layers", "1", "--decoder-layers", "1",
    "--encoder-embed-dim", "32", "--decoder-embed-dim", "32", "--encoder-ffn-embed-dim", "32",
    "--decoder-ffn-embed-dim", "32", "--encoder-branch-type", "attn:1:16:2,lightweight:default:16:2",
    "--decoder-branch-type", "attn:1:16:2,dynamic:default:16:2", "--encoder-kernel-size-list", "3",
    "--decoder-kernel-size-list", "3", "--decoder-glu", "--decoder-attention-heads", "2",
    "--dropout", "0", "--attention-dropout", "0", "--weight-dropout", "0", "--share-all-embeddings",
]
LABEL_SMOOTHING = ["--criterion", "label_smoothed_cross_entropy", "--label-smoothing", "0.1"]
TRAINING = ["--optimizer", "adam", "--lr", "0.002", "--lr-scheduler", "inverse_sqrt", "--warmup-updates", "4",
            "--cpu",
            "--dataset-impl", "raw", "--log-format", "simple", "--log-interval", "1", "--no-progress-bar",
            "--seed", "3", "--disable-validation", "--num-workers", "0"]


def sentences(count: int, seed: int, low: int = 3, high: int = 9) -> List[str]:
    rng = random.Random(seed)
    return [" ".join(rng.choice(WORDS) for _ in range(rng.randint(low, high))) for _ in range(count)]


def write_dictionary(path: Path, lines: Sequence[str]) -> None:
    counts: Dict[str, int] = {}
    for line in lines:
        for word in line.split():
            counts[word] = counts.get(word, 0) + 1
    path.write_text("".join(f"{w} {c}\n" for w, c in sorted(counts.items(), key=lambda x: (-x[1], x[0]))))


def translation_data(folder: Path, train: int = 96, seed: int = 0) -> Path:
    """src-tgt raw text (train, valid, test), the target the source reversed; one joined dictionary."""
    folder.mkdir(parents=True, exist_ok=True)
    splits = {"train": sentences(train, seed), "valid": sentences(8, seed + 1), "test": sentences(8, seed + 2)}
    for split, lines in splits.items():
        (folder / f"{split}.src-tgt.src").write_text("".join(l + "\n" for l in lines))
        (folder / f"{split}.src-tgt.tgt").write_text("".join(" ".join(l.split()[::-1]) + "\n" for l in lines))
    for lang in ("src", "tgt"):
        write_dictionary(folder / f"dict.{lang}.txt", WORDS)
    return folder


def lm_data(folder: Path, seed: int = 0) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for split, count in (("train", 64), ("valid", 8), ("test", 8)):
        (folder / split).write_text("".join(l + "\n" for l in sentences(count, seed + len(split))))
    write_dictionary(folder / "dict.txt", WORDS)
    return folder


def run_train(data: Path, save_dir: Path, *flags: str, timeout: int = 300, check: bool = True,
              launcher: Sequence[str] = (), env: Optional[Dict[str, str]] = None) -> subprocess.CompletedProcess:
    """fairseq-train (``python -m fairseq_cli.train ... --user-dir user_dir``) on the tiny data;
    a ``launcher`` (e.g. torchrun's command line) takes the place of ``python``."""
    command = fairseq_command("train", data, *flags, "--save-dir", save_dir)
    if launcher:
        command = [*launcher, *command[1:]]
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env)
    if check:
        assert result.returncode == 0, f"fairseq-train failed:\n{(result.stdout + result.stderr)[-3000:]}"
    return result


def update_losses(log: str) -> List[float]:
    """The training loss of every update (``--log-interval 1``)."""
    return [float(x) for x in re.findall(r"epoch \d+:\s+\d+ / \d+ loss=([\d.]+)", log)]


def parameters(checkpoint: Path) -> Dict[str, torch.Tensor]:
    return torch.load(checkpoint, map_location="cpu", weights_only=True)["model"]


def max_difference(a: Dict[str, torch.Tensor], b: Dict[str, torch.Tensor]) -> float:
    assert a.keys() == b.keys()
    return max((a[k].double() - b[k].double()).abs().max().item() for k in a)


