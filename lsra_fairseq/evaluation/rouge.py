"""ROUGE-1/2/L F1 for summaries, with Google's ``rouge-score`` package (spec §4: CNN-DailyMail).

Scores are the mean F1 over examples, x100, with Porter stemming (ROUGE-1.5.5's ``-m``, what
summarization papers report). ``rouge-score``'s tokenizer lowercases and keeps only letters and
digits. Two ROUGE-L variants are reported: ``rougeL`` (one LCS over the whole summary) and
``rougeLsum`` (summary-level LCS over sentences, ROUGE-1.5.5's ROUGE-L on sentence-split files,
the figure summarization papers, this one included, call ROUGE-L). Sentences end at a standalone
``.``, ``!`` or ``?`` token (and the closing quotes after it): the CNN-DM text here is tokenized.

``python -m lsra_fairseq.evaluation.rouge DATA RUN_DIR --dataset cnndm --model NAME`` takes the
run's best (or averaged) checkpoint, runs fairseq-generate on the test set with the paper's settings
(beam 4, lenpen 2.0, min length 55, max length 140, no repeated trigrams; BPE removed), scores the
summaries against ``DATA/test.reference`` and writes ``results/<dataset>-<model>.json``.
"""
import re
import sys
from pathlib import Path
from typing import Dict, List, Sequence

from .results import write_result

ROUGE_TYPES = ("rouge1", "rouge2", "rougeL", "rougeLsum")
SENTENCE_END = re.compile(r"(?<=\s[.!?])((?:\s+(?:''|\"|'|`+|\)))*)\s+")


def split_sentences(text: str) -> List[str]:
    """Sentences of a tokenized text: each ends at a ``.``/``!``/``?`` token and any closing quotes."""
    text = " ".join(text.split())
    return [s for s in SENTENCE_END.sub(lambda m: m.group(1) + "\n", " " + text).strip().split("\n") if s]


def scorer():
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


def evaluate(args, extra: List[str]) -> Path:
    """Checkpoint -> fairseq-generate with the paper's settings -> ROUGE -> result JSON."""
    from ..tasks.summarization import PAPER_GENERATION
    from .bleu import read_generate_output
    from .evaluate import choose_checkpoint, generate, read_references

    chosen = choose_checkpoint(args.run_dir, args.average_last)
    output = args.run_dir / f"generate-{args.subset}.txt"
    # The paper's settings spelled out, so that the recorded command shows them.
    settings = ["--task", "lsra_summarization"]
    for name, value in PAPER_GENERATION.items():
        if name not in ("beam", "lenpen"):
            settings += [f"--{name.replace('_', '-')}", str(value)]
    command = generate(args.data, chosen["checkpoint"], output, args.subset, PAPER_GENERATION["beam"],
                       PAPER_GENERATION["lenpen"], args.batch_size, settings + extra)
    hypotheses, references = read_generate_output(output)
    reference_file = args.data / f"{args.subset}.reference"
    if reference_file.is_file():  # the BPE-free summaries, without fairseq's <unk>
        references = read_references(reference_file, hypotheses, output, "summaries")
    metrics = {name: round(value, 2) for name, value in rouge(hypotheses, references).items()}
    print(f"{args.dataset} {args.model} {args.subset} ({len(hypotheses)} summaries): "
          + " | ".join(f"{name} {value:.2f}" for name, value in metrics.items()))
    path = write_result(args.results, args.dataset, args.model, metrics, subset=args.subset,
                        command=["python", "-m", "lsra_fairseq.evaluation.rouge", *args.argv],
                        examples=len(hypotheses), generate_command=command, **chosen)
    print(f"wrote {path}")
    return path


def main(argv=None) -> int:
    from .evaluate import run_parser

    parser = run_parser(__doc__.splitlines()[0], "binarized dataset (make prepare-cnndm)", 32)
    argv = sys.argv[1:] if argv is None else list(argv)
    args, extra = parser.parse_known_args(argv)  # the rest goes to fairseq-generate (e.g. --cpu)
    args.argv = argv
    evaluate(args, extra)
    return 0


if __name__ == "__main__":
    sys.exit(main())
