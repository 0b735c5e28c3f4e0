"""Translation corpora: raw text -> Moses tokens -> cleaning -> joint BPE -> fairseq binaries.

One ``DatasetSettings`` row of ``datasets.DATASETS`` says what to do. Layout: ``<work>/orig``
downloads and extracted archives, ``<work>/tok`` tokenized text, ``<work>/bpe`` BPE codes and
segmented text; ``<dest>`` the binarized dataset plus the BPE ``code``, the untokenized test text
``test.raw.<lang>`` (sacreBLEU's reference) and ``preparation.json`` (what the evaluation needs
to know about the text).
"""
import dataclasses
import json
import shutil
from functools import partial
from itertools import chain
from pathlib import Path
from typing import Optional

from .binarize import binarize
from .bpe import apply_bpe, learn_joint_bpe
from .clean import clean_corpus
from .datasets import DatasetSettings
from .lines import map_lines, open_text, read_lines, write_lines
from .moses import tokenize
from .sources import PreparationError, Sources, read_corpus
from .steps import Steps


def prepare(settings: DatasetSettings, work: Path, dest: Path, raw: Optional[Path] = None,
            workers: Optional[int] = None, bpe_merges: Optional[int] = None) -> Path:
    """Runs the steps of ``settings`` that have not run yet; returns ``dest``.

    Order (fairseq's recipes, which the paper used): tokenize each split; clean before BPE (IWSLT);
    cut valid from train (IWSLT, En-Fr); learn joint BPE on train; apply it; clean after BPE (WMT);
    binarize.
    """
    src, tgt = settings.src, settings.tgt
    langs, roles = (src, tgt), {src: "src", tgt: "ref"}
    sources = Sources(work / "orig", raw)
    tok, bpe = work / "tok", work / "bpe"
    steps = Steps(work, settings.name)

    def tokenize_split(split: str):
        corpora = settings.splits[split]
        counts = {}
        for lang in langs:
            paths = [sources.locate(corpus, lang, roles[lang]) for corpus in corpora]

            def text():
                return chain.from_iterable(read_corpus(p, c.form) for p, c in zip(paths, corpora))
            total = None  # the progress bar's; the corpora are not read an extra time to count them
            if split == "test":  # untokenized, for sacreBLEU
                total = write_lines(work / "text" / f"test.{lang}", text())
            lines = map_lines(partial(tokenize, lang=lang, settings=settings.moses), text(),
                              total=total, desc=f"tokenize {split}.{lang}", workers=workers)
            counts[lang] = write_lines(tok / f"{split}.{lang}", lines)
        if len(set(counts.values())) != 1:
            raise PreparationError(f"{split}: the languages have different line counts {counts}; "
                                   f"are the corpus files complete and from the same release?")

    def pair(folder: Path, prefix: str):
        return tuple(folder / f"{prefix}.{lang}" for lang in langs)

    for split in settings.splits:
        steps.run(f"tokenize-{split}", partial(tokenize_split, split))

    clean = settings.clean
    train = "train"
    if clean and clean.stage == "tok":
        steps.run("clean-train", lambda: clean_corpus(pair(tok, "train"), pair(tok, "train.clean"), clean))
        train = "train.clean"
    if settings.valid_every:
        steps.run("cut-valid", lambda: cut_valid(pair(tok, train), settings.valid_every, tok))
        train = "train.rest"

    codes = bpe / "code"
    merges = bpe_merges or settings.bpe_merges
    steps.run("learn-bpe", lambda: learn_joint_bpe(pair(tok, train), codes, merges, bpe / "train.joint", workers))
    after_bpe = ".all" if clean and clean.stage == "bpe" else ""
    for split, prefix in (("train", train), ("valid", "valid"), ("test", "test")):
        suffix = after_bpe if split != "test" else ""
        for lang in langs:
            steps.run(f"apply-bpe-{split}.{lang}", partial(
                apply_bpe, codes, tok / f"{prefix}.{lang}", bpe / f"{split}{suffix}.{lang}", workers))
    if after_bpe:
        for split in ("train", "valid"):
            steps.run(f"clean-{split}", partial(clean_corpus, pair(bpe, split + after_bpe), pair(bpe, split), clean))

    def finish():
        binarize(src, tgt, bpe, dest, settings.joined_dictionary, workers)
        shutil.copyfile(codes, dest / "code")
        for lang in langs:
            shutil.copyfile(work / "text" / f"test.{lang}", dest / f"test.raw.{lang}")
        summary = {"dataset": settings.name, "source_lang": src, "target_lang": tgt,
                   "bpe_merges": merges, "moses": dataclasses.asdict(settings.moses)}
        (dest / "preparation.json").write_text(json.dumps(summary, indent=2) + "\n")
    steps.run("binarize", finish)
    print(f"[{settings.name}] ready: {dest}")
    return dest


def cut_valid(inputs, every: int, folder: Path) -> None:
    """Every ``every``-th pair (1-based) becomes valid, the rest train (the recipes' awk split)."""
    for path in inputs:
        lang = path.suffix[1:]
        with open_text(folder / f"valid.{lang}", "wt") as valid, \
                open_text(folder / f"train.rest.{lang}", "wt") as rest:
            for i, line in enumerate(read_lines(path), 1):
                (rest if i % every else valid).write(line + "\n")
