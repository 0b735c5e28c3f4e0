"""Language-model perplexity with fairseq-eval-lm, on each subset, written as one result JSON.

``python -m lsra_fairseq.evaluation.perplexity DATA --path CKPT --dataset wikitext103 --model NAME``
runs fairseq's own eval-lm (in this process) on valid and test with the paper's protocol (spec §4:
every token is scored with a context window of 2,560 tokens) and writes
``results/<dataset>-<model>.json`` with both perplexities and the exact eval-lm commands.
"""
import argparse
import shlex
import sys
from pathlib import Path
from typing import Dict, List, Sequence

from ..commands import USER_DIR
from .results import write_result

PAPER_CONTEXT_WINDOW = 2560
PAPER_TOKENS_PER_SAMPLE = 3072


def eval_lm_args(data: Path, checkpoint: Path, subset: str, context_window: int, tokens_per_sample: int,
                 max_tokens: int, extra: Sequence[str] = ()) -> List[str]:
    """fairseq-eval-lm's arguments: blocks of ``tokens_per_sample - context_window`` new tokens, each
    scored after the ``context_window`` tokens before it (so every block fits the model's positions)."""
    return [str(data), "--user-dir", str(USER_DIR), "--path", str(checkpoint), "--gen-subset", subset,
            "--sample-break-mode", "none", "--tokens-per-sample", str(tokens_per_sample),
            "--context-window", str(context_window), "--max-tokens", str(max_tokens),
            "--softmax-batch", "1024", *extra]


def run_eval_lm(args: Sequence[str]) -> Dict[str, float]:
    """fairseq-eval-lm ``args`` in this process; returns its ``loss`` (base 2) and ``perplexity``."""
    from fairseq import options
    from fairseq.dataclass.utils import convert_namespace_to_omegaconf
    from fairseq_cli import eval_lm

    parsed = options.parse_args_and_arch(options.get_eval_lm_parser(), input_args=list(args))
    return eval_lm.main(convert_namespace_to_omegaconf(parsed))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path, help="binarized dataset (fairseq-preprocess --only-source)")
    parser.add_argument("--path", type=Path, required=True, help="checkpoint to evaluate")
    parser.add_argument("--subsets", nargs="+", default=["valid", "test"])
    parser.add_argument("--context-window", type=int, default=PAPER_CONTEXT_WINDOW)
    parser.add_argument("--tokens-per-sample", type=int, default=PAPER_TOKENS_PER_SAMPLE,
                        help="context + new tokens per block; at most the model's positions")
    parser.add_argument("--max-tokens", type=int, default=PAPER_TOKENS_PER_SAMPLE)
    parser.add_argument("--results", default="results")
    parser.add_argument("--dataset", required=True)
    parser.add_argument("--model", required=True)
    argv = sys.argv[1:] if argv is None else list(argv)
    args, extra = parser.parse_known_args(argv)
    if args.context_window >= args.tokens_per_sample:
        parser.error(f"--context-window {args.context_window} must be below --tokens-per-sample "
                     f"{args.tokens_per_sample} (each block scores tokens_per_sample - context_window "
                     f"new tokens)")
    if not args.path.is_file():
        parser.error(f"no checkpoint at {args.path}; train first (make train DATASET={args.dataset})")
    metrics, commands = {}, {}
    for subset in args.subsets:
        eval_args = eval_lm_args(args.data, args.path, subset, args.context_window, args.tokens_per_sample,
                                 args.max_tokens, extra)
        commands[subset] = shlex.join(["fairseq-eval-lm", *eval_args])
        print(commands[subset], flush=True)
        result = run_eval_lm(eval_args)
        metrics[f"{subset}_ppl"] = round(float(result["perplexity"]), 2)
        metrics[f"{subset}_loss_base2"] = round(float(result["loss"]), 4)
    path = write_result(args.results, args.dataset, args.model, metrics,
                        command=["python", "-m", "lsra_fairseq.evaluation.perplexity", *argv],
                        checkpoint=str(args.path), context_window=args.context_window,
                        eval_lm_commands=commands)
    print(" | ".join(f"{subset} perplexity {metrics[f'{subset}_ppl']:.2f}" for subset in args.subsets))
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
