"""Moses ``clean-corpus-n.perl`` for a parallel corpus: length limits and a length ratio.

sacremoses has no counterpart. Lengths are in space-separated tokens, after collapsing runs of
whitespace (which the output keeps collapsed), as in the Perl script.
"""
from dataclasses import dataclass
from pathlib import Path
from typing import Tuple

from .lines import open_text, read_lines


@dataclass(frozen=True)
class CleanSettings:
    ratio: float  # drop a pair when one side is more than `ratio` times longer than the other
    min_len: int
    max_len: int
    stage: str  # "tok" (before BPE, IWSLT) or "bpe" (after BPE, the WMT recipes)


def keep_pair(src: str, tgt: str, settings: CleanSettings) -> bool:
    n_src, n_tgt = len(src.split()), len(tgt.split())
    if not (settings.min_len <= n_src <= settings.max_len and settings.min_len <= n_tgt <= settings.max_len):
        return False
    return n_src / n_tgt <= settings.ratio and n_tgt / n_src <= settings.ratio


def clean_corpus(inputs: Tuple[Path, Path], outputs: Tuple[Path, Path], settings: CleanSettings) -> int:
    """Filters the line pairs of ``inputs`` into ``outputs``; returns the number of pairs kept."""
    total = kept = 0
    with open_text(outputs[0], "wt") as out_src, open_text(outputs[1], "wt") as out_tgt:
        for src, tgt in zip(read_lines(inputs[0]), read_lines(inputs[1]), strict=True):
            total += 1
            src, tgt = " ".join(src.split()), " ".join(tgt.split())
            if keep_pair(src, tgt, settings):
                kept += 1
                out_src.write(src + "\n")
                out_tgt.write(tgt + "\n")
    print(f"clean {inputs[0].stem}: kept {kept} of {total} pairs")
    return kept
