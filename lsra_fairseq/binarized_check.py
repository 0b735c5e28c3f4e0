"""A binarized data folder checked before fairseq-train reads it (lsra-train, the recipes).

fairseq memory-maps each ``<split>.<pair>.<lang>.{idx,bin}`` and fails deep inside numpy on a
file that was cut short, and trains on nothing (or stops in a batch sampler) when a split is empty
or one side of a pair has other sentences than the other. Each problem is reported with the file
and the fix: prepare the data again.
"""
from pathlib import Path
from typing import List

import numpy as np

PREPARE = "prepare the data again (make prepare-<dataset>, or lsra-prepare)"


def _split_files(folder: Path) -> List[Path]:
    return sorted(folder.glob("*.idx"))


def sentence_sizes(index: Path) -> np.ndarray:
    """Token counts of every sentence in a fairseq mmap index, checked against its .bin file."""
    from fairseq.data.indexed_dataset import MMapIndexedDataset

    binary = index.with_suffix(".bin")
    if not binary.is_file():
        raise SystemExit(f"{index} has no {binary.name} beside it: {PREPARE}")
    try:
        meta = MMapIndexedDataset.Index(str(index))
        sizes, pointers, item = np.array(meta.sizes), np.array(meta._pointers), meta.dtype().itemsize
    except (AssertionError, ValueError, OSError, KeyError, TypeError) as e:
        raise SystemExit(f"{index} is not a fairseq index or is truncated ({e or type(e).__name__}): {PREPARE}")
    needed = int(pointers[-1] + sizes[-1] * item) if len(sizes) else 0
    if binary.stat().st_size < needed:
        raise SystemExit(f"{binary} is truncated ({binary.stat().st_size} of {needed} bytes): {PREPARE}")
    return sizes


def check_binarized(folder: Path) -> None:
    """Stops with a clear message on a truncated, empty or misaligned split of ``folder``."""
    counts = {}
    for index in _split_files(folder):
        sizes = sentence_sizes(index)
        prefix, lang = index.stem.rsplit(".", 1) if index.stem.count(".") >= 2 else (index.stem, "")
        if prefix.startswith("train") and len(sizes) == 0:
            raise SystemExit(f"{index} holds no sentences: the training data is empty; {PREPARE}")
        counts.setdefault(prefix, {})[lang] = len(sizes)
    for prefix, per_lang in counts.items():
        if len(set(per_lang.values())) > 1:
            raise SystemExit(f"{folder}: the sides of {prefix} have different sentence counts {per_lang} "
                             f"(misaligned files); {PREPARE}")
