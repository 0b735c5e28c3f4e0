"""ROUGE-1/2/L F1 for summaries (CNN-DailyMail, the paper's Table 4), with Google's ``rouge-score``.

Scores are the mean F1 over examples, x100, with Porter stemming (ROUGE-1.5.5's ``-m``, what
summarization papers report). ``rouge-score``'s tokenizer lowercases and keeps only letters and
digits. Two ROUGE-L variants are reported: ``rougeL`` (one LCS over the whole summary) and
``rougeLsum`` (summary-level LCS over sentences, ROUGE-1.5.5's ROUGE-L on sentence-split files,
the figure summarization papers, this one included, call ROUGE-L). Sentences end at a standalone
``.``, ``!`` or ``?`` token (and the closing quotes after it): the CNN-DM text here is tokenized.
"""
import re
from typing import Dict, List, Sequence

ROUGE_TYPES = ("rouge1", "rouge2", "rougeL", "rougeLsum")
SENTENCE_END = re.compile(r"(?<=\s[.!?])((?:\s+(?:''|\"|'|`+|\)))*)\s+")


def split_sentences(text: str) -> List[str]:
    """Sentences of a tokenized text: each ends at a ``.``/``!``/``?`` token and any closing quotes."""
    text = " ".join(text.split())
    return [s for s in SENTENCE_END.sub(lambda m: m.group(1) + "\n", " " + text).strip().split("\n") if s]


def scorer():
    # Imported when first used: rouge-score loads nltk (about 3 s), and every fairseq command
    # imports this module through the lsra_summarization task.
    from rouge_score import rouge_scorer

    return rouge_scorer.RougeScorer(list(ROUGE_TYPES), use_stemmer=True)


def rouge_sums(hypotheses: Sequence[str], references: Sequence[str]) -> Dict[str, float]:
    """The sum over examples of each ROUGE F1 (a fraction), for averaging across batches."""
    if len(hypotheses) != len(references):
        raise ValueError(f"{len(hypotheses)} hypotheses for {len(references)} references")
    score = scorer().score
    sums = dict.fromkeys(ROUGE_TYPES, 0.0)
    for hypothesis, reference in zip(hypotheses, references):
        # rouge-score's rougeLsum takes sentences separated by newlines; the other types ignore them.
        scores = score("\n".join(split_sentences(reference)), "\n".join(split_sentences(hypothesis)))
        for name in ROUGE_TYPES:
            sums[name] += scores[name].fmeasure
    return sums


def rouge(hypotheses: Sequence[str], references: Sequence[str]) -> Dict[str, float]:
    """Mean ROUGE F1 x 100 of each type over the examples."""
    sums = rouge_sums(hypotheses, references)
    return {name: 100 * total / max(len(hypotheses), 1) for name, total in sums.items()}

