"""``lsra-evaluate``: a trained run -> its averaged or best checkpoint -> the dataset's metric -> JSON.

``lsra-evaluate DATA RUN_DIR --dataset NAME --model MODEL`` scores the run the way the paper scored
that dataset; ``SCORINGS`` is the table of datasets:

- translation (``iwslt14``, ``wmt14-en-de``, ``wmt14-en-fr``, ``multi30k``; also any name not in the
  table): fairseq-generate, tokenized BLEU and sacreBLEU (``bleu``), and #Params / #MACs counted as
  the paper counts them (a 30-token source and target, ``lsra_fairseq.profiling``);
- summarization (``cnndm``, the paper's Table 4): fairseq-generate with the ``lsra_summarization``
  task, whose defaults are the paper's generation settings; ROUGE-1/2/L F1 (``rouge``) against
  ``DATA/test.reference``;
- language modeling (``wikitext103``, Table 5): fairseq-eval-lm perplexity on valid and test, every
  token after a context window (``perplexity``).

Writes ``<run>/generate-<subset>.txt`` (fairseq-generate's output) and
``<results>/<dataset>-<model>.json`` with the metrics, the checkpoint and the commands that made them.
Flags this tool does not know go on to fairseq-generate or fairseq-eval-lm (e.g. ``--cpu``).
"""
import argparse
import json
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, List, Tuple

from ..builder import build_from_checkpoint
from ..commands import fairseq_command, recorded_command
from ..generation.generate_file import generate_to_file
from ..preprocessing.datasets import DATASET_ALIASES
from ..profiling import profile_model
from .averaging import last_epoch_checkpoints, save_average
from .bleu import detokenized_sacrebleu, read_generate_output, tokenized_bleu
from .perplexity import PAPER_CONTEXT_WINDOW, PAPER_TOKENS_PER_SAMPLE, perplexities
from .results import write_result
from .rouge import rouge


def choose_checkpoint(run_dir: Path, average_last: int) -> Dict:
    """The averaged last epochs (written beside them) or, with ``average_last`` 0, the best checkpoint.

    A run with no epoch checkpoint yet (stopped by a time limit in its first epoch) falls back to
    its last checkpoint. A run with no checkpoint at all stops here, before fairseq is started.
    """
    chosen = run_dir / "checkpoint_best.pt"
    if average_last:
        try:
            inputs = last_epoch_checkpoints(run_dir, average_last)
        except FileNotFoundError:  # no run yet, or a time limit stopped it within its first epoch
            chosen = run_dir / "checkpoint_last.pt"
            print(f"no epoch checkpoint in {run_dir} to average: testing {chosen.name}")
        else:
            output = save_average(inputs, run_dir / f"average_last{average_last}.pt")
            return {"checkpoint": str(output), "averaged": [p.name for p in inputs]}
    if not chosen.is_file():
        raise SystemExit(f"no checkpoint at {chosen}: train the model first "
                         f"(make train DATASET=... MODEL=... writes runs/<dataset>/<model>/)")
    return {"checkpoint": str(chosen)}


def generate(data: Path, checkpoint: str, output: Path, subset: str, beam: int, lenpen: float,
             batch_size: int, extra: List[str], fast: str = "", int8: bool = False) -> str:
    # --required-batch-size-multiple 1: with fairseq's default of 8, batch_by_size drops the last
    # batch when its size is not a multiple of 8, and those sentences go unscored (fairseq #5036).
    command = fairseq_command("generate", data, "--path", checkpoint, "--gen-subset", subset,
                              "--beam", beam, "--lenpen", lenpen, "--remove-bpe", "--batch-size", batch_size,
                              "--required-batch-size-multiple", 1, *extra)
    if fast:  # the same flags, decoded by lsra_fairseq.generation's fast generator
        return generate_to_file(command[3:], output, fast, int8)
    print(shlex.join(command), flush=True)
    with open(output, "w", encoding="utf-8") as out:
        status = subprocess.run(command, stdout=out).returncode
    if status:
        raise SystemExit(f"fairseq-generate failed with exit status {status}; its error is printed above")
    return recorded_command(command)


def model_size(checkpoint: str) -> Dict[str, int]:
    """#Params and #MACs of the checkpoint's model, counted as the paper does (30+30 tokens)."""
    model, _ = build_from_checkpoint(checkpoint)
    profile = profile_model(model.eval(), src_len=30, tgt_len=30)
    return {"params": profile["params"], "macs": profile["macs"]}


def read_references(reference: Path, hypotheses: List[str], output: Path, what: str) -> List[str]:
    """The lines of ``reference``, one for each hypothesis of ``output``; a different count stops here."""
    references = reference.read_text(encoding="utf-8").splitlines()
    if len(references) != len(hypotheses):
        raise SystemExit(f"{output} has {len(hypotheses)} {what}, {reference} has {len(references)}")
    return references


def evaluate_translation(args, extra: List[str]) -> Path:
    """fairseq-generate -> tokenized BLEU and sacreBLEU, #Params and #MACs."""
    chosen = choose_checkpoint(args.run_dir, args.average_last)
    output = args.run_dir / f"generate-{args.subset}.txt"
    generate_command = generate(args.data, chosen["checkpoint"], output, args.subset, args.beam, args.lenpen,
                                args.batch_size or 128, extra, args.fast and args.fast_backend, args.int8)
    hyps, refs = read_generate_output(output)
    metrics = {"bleu": round(tokenized_bleu(hyps, refs, args.compound_split).score, 2),
               "compound_split": args.compound_split, "beam": args.beam, "lenpen": args.lenpen,
               "subset": args.subset, "sentences": len(hyps)}
    preparation = json.loads((args.data / "preparation.json").read_text())
    reference = args.data / f"{args.subset}.raw.{preparation['target_lang']}"
    if reference.exists():
        references = read_references(reference, hyps, output, "translations")
        score, signature = detokenized_sacrebleu(hyps, references,
                                                 preparation["target_lang"],
                                                 lowercase=preparation["moses"]["lowercase"] is not None)
        metrics.update(sacrebleu=round(score, 2), sacrebleu_signature=signature)
    metrics.update(model_size(chosen["checkpoint"]))
    path = write_result(args.results, args.dataset, args.model, metrics, generate_command=generate_command,
                        **chosen)
    print(f"{args.dataset} {args.model}: BLEU {metrics['bleu']}"
          f"{' (compound split)' if args.compound_split else ''}, sacreBLEU {metrics.get('sacrebleu')}"
          f" on {args.subset} ({len(hyps)} sentences) -> {path}")
    return path


def evaluate_summarization(args, extra: List[str]) -> Path:
    """fairseq-generate with the ``lsra_summarization`` task -> ROUGE against the BPE-free summaries."""
    chosen = choose_checkpoint(args.run_dir, args.average_last)
    output = args.run_dir / f"generate-{args.subset}.txt"
    command = generate(args.data, chosen["checkpoint"], output, args.subset, args.beam, args.lenpen,
                       args.batch_size or 32, ["--task", "lsra_summarization", *extra])
    hypotheses, references = read_generate_output(output)
    reference_file = args.data / f"{args.subset}.reference"
    if reference_file.is_file():  # the BPE-free summaries, without fairseq's <unk>
        references = read_references(reference_file, hypotheses, output, "summaries")
    metrics = {name: round(value, 2) for name, value in rouge(hypotheses, references).items()}
    print(f"{args.dataset} {args.model} {args.subset} ({len(hypotheses)} summaries): "
          + " | ".join(f"{name} {value:.2f}" for name, value in metrics.items()))
    path = write_result(args.results, args.dataset, args.model, metrics, subset=args.subset,
                        examples=len(hypotheses), generate_command=command, **chosen)
    print(f"wrote {path}")
    return path


def evaluate_language_model(args, extra: List[str]) -> Path:
    """fairseq-eval-lm on each subset -> perplexity and loss (base 2)."""
    if args.context_window >= args.tokens_per_sample:
        raise SystemExit(f"--context-window {args.context_window} must be below --tokens-per-sample "
                         f"{args.tokens_per_sample} (each block scores tokens_per_sample - context_window "
                         f"new tokens)")
    chosen = choose_checkpoint(args.run_dir, args.average_last)
    metrics, commands = perplexities(args.data, chosen["checkpoint"], args.subsets, args.context_window,
                                     args.tokens_per_sample, args.max_tokens, extra)
    path = write_result(args.results, args.dataset, args.model, metrics, **chosen,
                        context_window=args.context_window, eval_lm_commands=commands)
    print(" | ".join(f"{subset} perplexity {metrics[f'{subset}_ppl']:.2f}" for subset in args.subsets))
    print(f"wrote {path}")
    return path


def generation_options(group) -> None:
    """translation and summarization (fairseq-generate)"""
    group.add_argument("--subset", default="test")
    group.add_argument("--beam", type=int, default=4)
    group.add_argument("--lenpen", type=float, default=1.0,
                       help="summarization: the task turns fairseq's default 1.0 into the paper's 2.0")
    group.add_argument("--batch-size", type=int, help="default 128 for translation, 32 for summarization")


def translation_options(group) -> None:
    """translation"""
    group.add_argument("--compound-split", action="store_true", help="split x-y compounds before BLEU (En-De)")
    group.add_argument("--fast", action="store_true",
                       help="decode with lsra_fairseq's fast generator instead of fairseq-generate")
    group.add_argument("--fast-backend", default="onnx", choices=["onnx", "eager", "compile"])
    group.add_argument("--int8", action="store_true", help="with --fast: int8 weights and products")


def language_model_options(group) -> None:
    """language modeling (fairseq-eval-lm)"""
    group.add_argument("--subsets", nargs="+", default=["valid", "test"])
    group.add_argument("--context-window", type=int, default=PAPER_CONTEXT_WINDOW)
    group.add_argument("--tokens-per-sample", type=int, default=PAPER_TOKENS_PER_SAMPLE,
                       help="context + new tokens per block; at most the model's positions")
    group.add_argument("--max-tokens", type=int, default=PAPER_TOKENS_PER_SAMPLE)


@dataclass(frozen=True)
class Scoring:
    """How a kind of dataset is scored: ``evaluate(args, extra)`` and the option groups it reads."""
    evaluate: Callable[[argparse.Namespace, List[str]], Path]
    options: Tuple[Callable, ...]


TRANSLATION = Scoring(evaluate_translation, (generation_options, translation_options))
SCORINGS = {  # every other dataset: TRANSLATION
    "cnndm": Scoring(evaluate_summarization, (generation_options,)),
    "wikitext103": Scoring(evaluate_language_model, (language_model_options,)),
}


def parse_arguments(argv: List[str]) -> Tuple[Scoring, argparse.Namespace, List[str]]:
    """(the dataset's scoring, its arguments, the flags left for fairseq). The dataset decides
    which options exist; without one, ``--help`` lists them all."""
    first = argparse.ArgumentParser(add_help=False)
    first.add_argument("--dataset")
    dataset = first.parse_known_args(argv)[0].dataset
    scoring = SCORINGS.get(DATASET_ALIASES.get(dataset, dataset), TRANSLATION)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path, help="the binarized dataset (lsra-prepare DATASET: data-bin/DATASET)")
    parser.add_argument("run_dir", type=Path, help="the training run's checkpoint folder")
    parser.add_argument("--dataset", required=True, help="picks the metric (cnndm: ROUGE, wikitext103: "
                                                         "perplexity, any other: BLEU); names the result file")
    parser.add_argument("--model", required=True)
    parser.add_argument("--average-last", type=int, default=0,
                        help="average the last N epoch checkpoints (0: use checkpoint_best.pt)")
    parser.add_argument("--results", type=Path, default=Path("results"))
    groups = scoring.options if dataset else (generation_options, translation_options, language_model_options)
    for options in groups:
        options(parser.add_argument_group(options.__doc__))
    args, extra = parser.parse_known_args(argv)
    args.dataset = DATASET_ALIASES.get(args.dataset, args.dataset)
    return scoring, args, extra


def main(argv=None) -> int:
    scoring, args, extra = parse_arguments(sys.argv[1:] if argv is None else list(argv))
    scoring.evaluate(args, extra)
    return 0


if __name__ == "__main__":
    sys.exit(main())
