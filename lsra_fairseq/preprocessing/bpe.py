"""Joint BPE with subword-nmt: learned on the source and target training text together."""
import codecs
from functools import lru_cache, partial
from pathlib import Path
from typing import Iterable, Optional

from subword_nmt.apply_bpe import BPE
from subword_nmt.learn_bpe import learn_bpe

from .lines import count_lines, default_workers, map_lines, open_text, read_lines, write_lines


def learn_joint_bpe(train_files: Iterable[Path], codes: Path, merges: int, work_file: Path,
                    workers: Optional[int] = None) -> None:
    """Learns ``merges`` operations on the concatenation of ``train_files`` (fairseq's recipes)."""
    write_lines(work_file, (line for path in train_files for line in read_lines(path)))
    partial_codes = codes.with_name(codes.name + ".part")
    with open_text(work_file) as infile, open_text(partial_codes, "wt") as outfile:
        learn_bpe(infile, outfile, merges, num_workers=default_workers(workers))  # shows its own progress bar
    partial_codes.replace(codes)
    work_file.unlink()


@lru_cache(maxsize=2)
def _bpe(codes: str) -> BPE:
    with codecs.open(codes, encoding="utf-8") as f:
        return BPE(f)


def segment(line: str, codes: str) -> str:
    return _bpe(codes).process_line(line)


def apply_bpe(codes: Path, source: Path, target: Path, workers: Optional[int] = None) -> None:
    lines = map_lines(partial(segment, codes=str(codes)), read_lines(source), total=count_lines(source),
                      desc=f"BPE {source.name}", workers=workers)
    write_lines(target, lines)
