"""Language-model perplexity with fairseq-eval-lm, as the paper scored WikiText-103 (Table 5).

Every token is scored after a context window of 2,560 tokens: blocks of ``tokens_per_sample -
context_window`` new tokens, each after the ``context_window`` tokens before it, so that every
block fits the model's positions. fairseq-eval-lm runs in this process.
"""
import shlex
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

from ..commands import USER_DIR

PAPER_CONTEXT_WINDOW = 2560
PAPER_TOKENS_PER_SAMPLE = 3072


def eval_lm_args(data: Path, checkpoint: str, subset: str, context_window: int, tokens_per_sample: int,
                 max_tokens: int, extra: Sequence[str] = ()) -> List[str]:
    """fairseq-eval-lm's arguments for one subset."""
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


def perplexities(data: Path, checkpoint: str, subsets: Sequence[str], context_window: int,
                 tokens_per_sample: int, max_tokens: int,
                 extra: Sequence[str] = ()) -> Tuple[Dict[str, float], Dict[str, str]]:
    """({<subset>_ppl, <subset>_loss_base2}, {subset: the eval-lm command}) of every subset."""
    metrics, commands = {}, {}
    for subset in subsets:
        args = eval_lm_args(data, checkpoint, subset, context_window, tokens_per_sample, max_tokens, extra)
        commands[subset] = shlex.join(["fairseq-eval-lm", *args])
        print(commands[subset], flush=True)
        result = run_eval_lm(args)
        metrics[f"{subset}_ppl"] = round(float(result["perplexity"]), 2)
        metrics[f"{subset}_loss_base2"] = round(float(result["loss"]), 4)
    return metrics, commands
