"""A small Lite Transformer trained here in seconds on real Multi30k pairs, saved as a fairseq run.

Word-level (lowercased, punctuation split), 2,000 short pairs, a few hundred updates: enough for
translations that end on their own and differ between sentences, so search bugs show. Built once
per test session (generation and export tests share it).
"""
import re
from dataclasses import dataclass
from pathlib import Path
from typing import List

import torch

from ..conftest import REPO

ARCH = ["--arch", "lite_transformer_iwslt_de_en_160", "--encoder-embed-dim", "48", "--decoder-embed-dim", "48",
        "--encoder-ffn-embed-dim", "64", "--decoder-ffn-embed-dim", "64", "--encoder-layers", "2",
        "--decoder-layers", "2", "--encoder-kernel-size-list", "3,5", "--decoder-kernel-size-list", "3,7",
        "--encoder-branch-type", "attn:1:24:4,lightweight:default:24:4",
        "--decoder-branch-type", "attn:1:24:4,lightweight:default:12:2,dynamic:5:12:2",
        "--decoder-glu", "--decoder-attention-heads", "4", "--dropout", "0.0"]
UPDATES = 160


@dataclass
class TinyRun:
    data: Path  # holds dict.de.txt / dict.en.txt
    checkpoint: Path
    model: torch.nn.Module
    task: object
    val_de: List[str]  # tokenized validation sentences (source side)


def tokenize(line: str) -> str:
    return " ".join(re.findall(r"\w+|[^\w\s]", line.lower()))


_CACHE = {}


def tiny_run(shared_data: Path, root: Path) -> TinyRun:
    if "run" not in _CACHE:
        _CACHE["run"] = _train(shared_data / "multi30k" / "raw", root)
    return _CACHE["run"]


def _train(raw: Path, root: Path) -> TinyRun:
    from fairseq import options, tasks
    from fairseq.data import Dictionary, data_utils
    from fairseq.dataclass.utils import convert_namespace_to_omegaconf
    from omegaconf import OmegaConf

    pairs = [(tokenize(d), tokenize(e)) for d, e in zip(
        (raw / "train.de").read_text(encoding="utf-8").splitlines()[:6000],
        (raw / "train.en").read_text(encoding="utf-8").splitlines()[:6000])]
    pairs = [(d, e) for d, e in pairs if len(d.split()) <= 10 and len(e.split()) <= 10][:2000]
    for side, lang in enumerate(("de", "en")):
        dictionary = Dictionary()
        for pair in pairs:
            dictionary.encode_line(pair[side], add_if_not_exist=True)
        dictionary.finalize(threshold=3)
        dictionary.save(str(root / f"dict.{lang}.txt"))
    parser = options.get_training_parser()
    args = options.parse_args_and_arch(parser, [str(root), "--task", "translation", "-s", "de", "-t", "en",
                                                "--user-dir", str(REPO / "user_dir"), "--cpu", *ARCH])
    cfg = convert_namespace_to_omegaconf(args)
    task = tasks.setup_task(cfg.task)
    torch.manual_seed(1)
    model = task.build_model(cfg.model)
    src_dict, tgt_dict = task.source_dictionary, task.target_dictionary
    data = [(src_dict.encode_line(d, add_if_not_exist=False).long(),
             tgt_dict.encode_line(e, add_if_not_exist=False).long()) for d, e in pairs]
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    generator = torch.Generator().manual_seed(0)
    model.train()
    for _ in range(UPDATES):
        batch = [data[i] for i in torch.randint(len(data), (64,), generator=generator).tolist()]
        src = data_utils.collate_tokens([s for s, _ in batch], src_dict.pad(), left_pad=True)
        target = data_utils.collate_tokens([t for _, t in batch], tgt_dict.pad())
        prev = data_utils.collate_tokens([t for _, t in batch], tgt_dict.pad(), tgt_dict.eos(),
                                         move_eos_to_beginning=True)
        logits, _ = model(src, src.ne(src_dict.pad()).sum(1), prev)
        loss = torch.nn.functional.cross_entropy(logits.view(-1, logits.size(-1)), target.view(-1),
                                                 ignore_index=tgt_dict.pad())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
    checkpoint = root / "checkpoint_tiny.pt"
    torch.save({"cfg": OmegaConf.to_container(cfg, resolve=True, enum_to_str=True), "args": None,
                "model": model.state_dict(), "extra_state": {}, "last_optimizer_state": None,
                "optimizer_history": [{"criterion_name": "CrossEntropyCriterion", "optimizer_name": "Adam",
                                       "lr_scheduler_state": {}, "num_updates": UPDATES}]}, checkpoint)
    val = [tokenize(line) for line in (raw / "val.de").read_text(encoding="utf-8").splitlines()[:40]]
    return TinyRun(root, checkpoint, model, task, val)
