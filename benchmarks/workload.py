"""What every generation system is given: the same test sentences, read once from a binarized
dataset (``lsra-prepare``'s ``data-bin/<dataset>``) and cut into the same batches, and the same
search settings (fairseq-generate's flags)."""
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, List, Optional, Sequence, Tuple

import torch


@dataclass
class Batch:
    """One batch in every system's input form: fairseq's (ids with end-of-sentence, left-padded
    like fairseq's translation dataset) and CTranslate2's (BPE token strings)."""
    indices: List[int]  # positions in the test set
    src_tokens: torch.Tensor  # B x T, left-padded, end-of-sentence included
    src_lengths: torch.Tensor  # B
    src_pieces: List[List[str]]  # BPE tokens without end-of-sentence
    sources: List[torch.Tensor]  # the unpadded ids, end-of-sentence included


@dataclass(frozen=True)
class Search:
    """fairseq-generate's ``--beam``, ``--min-len``, ``--max-len-a/b`` and ``--lenpen``."""
    beam: int
    min_len: int = 1
    max_len_a: float = 0
    max_len_b: int = 200
    lenpen: float = 1.0

    @property
    def name(self) -> str:
        return "greedy" if self.beam == 1 else f"beam {self.beam}"

    def max_len(self, src_len: int) -> int:
        return int(self.max_len_a * src_len + self.max_len_b)


class TranslationTestSet:
    """Source ids and strings of a test split, and the references as fairseq-generate's ``T-``
    lines print them with ``--remove-bpe`` (tokenized BLEU is scored against those)."""

    def __init__(self, data: Path, subset: str = "test"):
        from fairseq.data import Dictionary, data_utils

        preparation = data / "preparation.json"
        if not preparation.is_file():
            raise SystemExit(f"no prepared dataset at {data} (no preparation.json): prepare it first, "
                             f"e.g. make prepare-multi30k, or pass the folder with --gen-data")
        langs = json.loads(preparation.read_text())
        self.source_lang, self.target_lang = langs["source_lang"], langs["target_lang"]
        self.src_dict = Dictionary.load(str(data / f"dict.{self.source_lang}.txt"))
        self.tgt_dict = Dictionary.load(str(data / f"dict.{self.target_lang}.txt"))
        prefix = data / f"{subset}.{self.source_lang}-{self.target_lang}"
        source = data_utils.load_indexed_dataset(f"{prefix}.{self.source_lang}", self.src_dict)
        target = data_utils.load_indexed_dataset(f"{prefix}.{self.target_lang}", self.tgt_dict)
        if source is None or target is None:
            raise SystemExit(f"no {subset} split in {data} ({prefix}.*.bin missing)")
        self.sources = [source[i] for i in range(len(source))]
        self.references = [self.tgt_dict.string(target[i], "subword_nmt", escape_unk=True)
                           for i in range(len(target))]

    def __len__(self) -> int:
        return len(self.sources)

    def batches(self, sentences: int, batch_size: int) -> List[Batch]:
        """The first ``sentences`` sentences, longest first (as fairseq batches by length), in
        batches of ``batch_size``."""
        chosen = sorted(range(min(sentences, len(self))), key=lambda i: -len(self.sources[i]))
        return [self._batch(chosen[start:start + batch_size]) for start in range(0, len(chosen), batch_size)]

    def _batch(self, indices: Sequence[int]) -> Batch:
        from fairseq.data import data_utils

        rows = [self.sources[i] for i in indices]
        tokens = data_utils.collate_tokens(rows, self.src_dict.pad(), self.src_dict.eos(), left_pad=True)
        pieces = [[self.src_dict[t] for t in row[:-1].tolist()] for row in rows]
        return Batch(list(indices), tokens, torch.tensor([len(r) for r in rows]), pieces, rows)


def remove_bpe(pieces: Sequence[str]) -> str:
    """A hypothesis as fairseq-generate's ``--remove-bpe`` prints it (subword-nmt's ``@@ ``)."""
    return (" ".join(pieces) + " ").replace("@@ ", "").rstrip()


def working_systems(builders: Sequence[Tuple[str, Callable[[], object]]], probe: Optional[Batch] = None
                    ) -> Tuple[List[object], List[Tuple[str, str]]]:
    """Builds each (label, builder): (the systems that run here, [(label, why not)] for the others).
    ``probe``, when given, is translated once by each system so that one failing at run time is
    caught before the timings, and reported in the tables instead of ending the run."""
    systems, failures = [], []
    for label, build in builders:
        try:
            built = build()
            if probe is not None:
                built.translate([probe], Search(1, max_len_b=3), 1)
        except Exception as e:  # noqa: BLE001  (any failure is reported in the tables)
            message = str(e).splitlines()[0] if str(e) else ""
            failures.append((label, f"{type(e).__name__}: {message}"))
        else:
            systems.append(built)
    return systems, failures
