"""BLEU as the paper computes it, and sacreBLEU beside it.

Tokenized BLEU-4 is scored on fairseq-generate's hypotheses and references (BPE removed, Moses
tokens), like fairseq's score.py / multi-bleu.perl: no smoothing. For WMT'14 En-De, hyphenated
compounds are split on both sides first (``x-y`` -> ``x ##AT##-##AT## y``), the protocol of the
paper and of the Transformer papers before it. sacreBLEU scores the Moses-detokenized hypotheses
against the untokenized test text, so the figure compares across tokenizations.
"""
import re
from pathlib import Path
from typing import List, Sequence, Tuple

import sacrebleu
from sacrebleu.metrics.bleu import BLEUScore
from sacremoses import MosesDetokenizer

COMPOUND = re.compile(r"(\S)-(\S)")


def read_generate_output(path: Path) -> Tuple[List[str], List[str]]:
    """(hypotheses, references) from fairseq-generate's output, in the order of the test set."""
    hyps, refs = {}, {}
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        tag, _, rest = line.partition("-")
        if tag in ("H", "T") and rest[:1].isdigit():
            fields = rest.split("\t")
            index = int(fields[0])
            if tag == "H":
                hyps[index] = fields[2] if len(fields) > 2 else ""
            else:
                refs[index] = fields[1] if len(fields) > 1 else ""
    if hyps.keys() != refs.keys():
        raise ValueError(f"{path}: hypotheses and references do not match up")
    order = sorted(hyps)
    return [hyps[i] for i in order], [refs[i] for i in order]


def compound_split(line: str) -> str:
    return COMPOUND.sub(r"\1 ##AT##-##AT## \2", line)


def tokenized_bleu(hyps: Sequence[str], refs: Sequence[str], split_compounds: bool = False) -> BLEUScore:
    if split_compounds:
        hyps, refs = [compound_split(h) for h in hyps], [compound_split(r) for r in refs]
    return sacrebleu.corpus_bleu(list(hyps), [list(refs)], tokenize="none", smooth_method="none", force=True)


def detokenized_sacrebleu(hyps: Sequence[str], references: Sequence[str], lang: str,
                          lowercase: bool = False) -> Tuple[float, str]:
    """(score, signature) of Moses-detokenized ``hyps`` against untokenized ``references``."""
    detokenizer = MosesDetokenizer(lang=lang)
    detok = [detokenizer.detokenize(h.split()) for h in hyps]
    metric = sacrebleu.BLEU(lowercase=lowercase)
    return metric.corpus_score(detok, [list(references)]).score, str(metric.get_signature())
