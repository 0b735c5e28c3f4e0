"""``--no-repeat-ngram-size`` that works: fairseq 0.12's Python n-gram blocker blocks nothing.

Without its CUDA extension (not built for CPU installs such as ours), fairseq's ``NGramRepeatBlock``
compares the last n-1 slots of the whole preallocated token buffer, which are still padding, with
the generated prefix; it never finds a match, so repeated n-grams go through (fairseq issue #5206).
``NoRepeatNGramBlock`` takes its place in a ``SequenceGenerator`` and looks at the generated tokens only.
"""
import math

from torch import Tensor, nn


class NoRepeatNGramBlock(nn.Module):
    def __init__(self, no_repeat_ngram_size: int):
        super().__init__()
        self.no_repeat_ngram_size = no_repeat_ngram_size

    def forward(self, tokens: Tensor, lprobs: Tensor, bsz: int, beam_size: int, step: int) -> Tensor:
        """Sets to -inf the score of every token that would repeat an n-gram of its hypothesis.

        tokens: (bsz * beam) x buffer, positions 0..step filled; lprobs: (bsz * beam) x vocab, the
        scores of the token at position step + 1 (changed in place, as fairseq's blocker does).
        """
        n = self.no_repeat_ngram_size
        generated = tokens[:, :step + 1]
        if generated.size(1) < n:
            return lprobs
        ngrams = generated.unfold(1, n, 1)  # rows x windows x n: every n-gram generated so far
        prefix = generated[:, generated.size(1) - (n - 1):]  # what the next token would extend
        repeats = (ngrams[:, :, :n - 1] == prefix.unsqueeze(1)).all(-1)
        rows, windows = repeats.nonzero(as_tuple=True)
        lprobs[rows, ngrams[rows, windows, n - 1]] = -math.inf
        return lprobs


def fix_ngram_blocking(generator):
    """Replaces a generator's fairseq n-gram blocker (if it has one) by ``NoRepeatNGramBlock``."""
    blocker = getattr(generator, "repeat_ngram_blocker", None)
    if blocker is not None:
        generator.repeat_ngram_blocker = NoRepeatNGramBlock(blocker.no_repeat_ngram_size)
    return generator
