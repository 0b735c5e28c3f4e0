"""NoRepeatNGramBlock bans exactly the tokens that would repeat an n-gram (checked by brute force)."""
import pytest
import torch

from lsra_fairseq.modules.ngram_block import NoRepeatNGramBlock


def brute_force_banned(row, n):
    banned = set()
    for i in range(len(row) - n + 1):
        if n == 1 or row[i:i + n - 1] == row[len(row) - n + 1:]:
            banned.add(row[i + n - 1])
    return banned


@pytest.mark.parametrize("n", [1, 2, 3])
def test_ngram_block_bans_exactly_the_repeating_tokens(n):
    torch.manual_seed(0)
    tokens = torch.randint(4, 8, (6, 20))  # a small vocabulary: many repeats
    step = 11
    lprobs = torch.zeros(6, 10)
    NoRepeatNGramBlock(n)(tokens, lprobs, bsz=3, beam_size=2, step=step)
    for r in range(6):
        expected = brute_force_banned(tokens[r, :step + 1].tolist(), n)
        assert set(torch.nonzero(lprobs[r].isinf()).flatten().tolist()) == expected
