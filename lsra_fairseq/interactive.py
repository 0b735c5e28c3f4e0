"""fairseq-interactive (with ``--user-dir``) that survives bad input lines.

fairseq-interactive ends the whole session when one input is longer than the model's positions
(``Size of sample #0 is invalid``), and translates an empty line as if it were a sentence. Its
``make_batches`` is wrapped here: an empty line or one longer than the model takes is skipped with
a warning that says why and what to do, words outside the dictionary are reported (they become
``<unk>``), and the session goes on with the next line. Output ids still number every input line.
"""
import logging
import sys

import torch

from .patching import install_once

logger = logging.getLogger(__name__)
INTERACTIVE_MODULE = "fairseq_cli.interactive"
SHOWN = 40  # characters of a line quoted in a warning


def source_limit(max_positions):
    """The longest source (tokens, end of sentence included) of fairseq's max_positions."""
    if isinstance(max_positions, (tuple, list)):
        max_positions = max_positions[0]
    return max_positions


def input_problem(line: str, tokens: torch.Tensor, limit, unk: int):
    """Why ``line`` cannot be translated (None when it can); unknown words are only reported."""
    quoted = line if len(line) <= SHOWN else line[:SHOWN] + "..."
    if not line.strip():
        return "empty input line: skipped (nothing to translate)"
    if limit is not None and len(tokens) > limit:
        return (f"input line {quoted!r} has {len(tokens)} tokens after tokenization and BPE, more than the "
                f"model's {limit} positions: skipped; split it into shorter sentences")
    unknown = int(tokens.eq(unk).sum())
    if unknown:
        logger.warning(f"input line {quoted!r}: {unknown} token(s) not in the model's dictionary are "
                       f"translated as <unk>; check the input's language, casing, --tokenizer and --bpe flags")
    return None


def checked_batches(make_batches):
    def wrapper(lines, cfg, task, max_positions, encode_fn):
        if cfg.generation.constraints:  # lines carry tab-separated constraints: fairseq's own path
            yield from make_batches(lines, cfg, task, max_positions, encode_fn)
            return
        tokens, _ = task.get_interactive_tokens_and_lengths(lines, encode_fn)
        unk, limit = task.source_dictionary.unk(), source_limit(max_positions)
        kept = []
        for i, (line, line_tokens) in enumerate(zip(lines, tokens)):
            problem = input_problem(line, line_tokens, limit, unk)
            if problem:
                logger.warning(problem)
            else:
                kept.append(i)
        if not kept:
            return
        positions = torch.tensor(kept)
        for batch in make_batches([lines[i] for i in kept], cfg, task, max_positions, encode_fn):
            yield batch._replace(ids=positions[batch.ids])
    return wrapper


def check_interactive_input() -> None:
    """Wraps make_batches of fairseq-interactive when it is the running program (a console script
    imports it as fairseq_cli.interactive, ``python -m`` runs it as __main__)."""
    for module in (sys.modules.get(INTERACTIVE_MODULE), sys.modules.get("__main__")):
        spec = getattr(module, "__spec__", None)
        if module is None or getattr(spec, "name", module.__name__) != INTERACTIVE_MODULE:
            continue
        install_once(module, "make_batches", checked_batches)
