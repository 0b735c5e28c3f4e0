"""The fast generator against fairseq's SequenceGenerator: same hypotheses, scores within 1e-4.

In padded batches, for every option the fast path implements: beam and greedy, length penalty,
--max-len-a/b, --min-len, --unkpen, --no-repeat-ngram-size, --nbest."""
import pytest
import torch
from fairseq.data import data_utils
from fairseq.sequence_generator import SequenceGenerator

from lsra_fairseq.builder import DictionaryTask, build_registered_model
from lsra_fairseq.generation import FastGenerator, StepRunner, build_runner, search
from lsra_fairseq.modules.ngram_block import fix_ngram_blocking

from ..models.test_lite_transformer import TINY

SCORE_TOLERANCE = 1e-4


def batch(tiny, lines):
    src_dict = tiny.task.source_dictionary
    tokens = [src_dict.encode_line(line, add_if_not_exist=False).long() for line in lines]
    src = data_utils.collate_tokens(tokens, src_dict.pad(), left_pad=True)  # fairseq's source padding
    return {"net_input": {"src_tokens": src, "src_lengths": src.ne(src_dict.pad()).sum(1)}}


def assert_same(reference, fast):
    assert len(reference) == len(fast)
    for ref_hypos, fast_hypos in zip(reference, fast):
        assert len(ref_hypos) == len(fast_hypos)
        for ref, hyp in zip(ref_hypos, fast_hypos):
            assert torch.equal(ref["tokens"], hyp["tokens"]), (ref["tokens"], hyp["tokens"])
            assert abs(float(ref["score"]) - float(hyp["score"])) <= SCORE_TOLERANCE
            assert torch.allclose(ref["positional_scores"], hyp["positional_scores"], atol=SCORE_TOLERANCE, rtol=0)


def both(tiny, sample, **options):
    model, tgt_dict = tiny.model, tiny.task.target_dictionary
    reference = fix_ngram_blocking(SequenceGenerator([model], tgt_dict, **options)).generate([model], sample)
    fast = FastGenerator(StepRunner(model), tgt_dict, **options).generate([model], sample)
    return reference, fast


SETTINGS = {
    "greedy": dict(beam_size=1),
    "beam4": dict(beam_size=4),
    "beam4-lenpen0.6": dict(beam_size=4, len_penalty=0.6),
    "beam4-unkpen-ngram": dict(beam_size=4, unk_penalty=0.5, no_repeat_ngram_size=2),
    "beam3-min-len": dict(beam_size=3, min_len=9, max_len_a=1.2, max_len_b=3),
    "beam4-max-len": dict(beam_size=4, max_len_b=4),
    "greedy-max-len": dict(beam_size=1, max_len_b=3),
}


@pytest.mark.parametrize("setting", sorted(SETTINGS))
def test_hypotheses_and_scores_equal_fairseq(tiny, one_thread, setting):
    # 12 sentences of 5 to 40 words in batches of 6: padding, and sentences finishing at different steps.
    lines = tiny.val_de[:12]
    for start in (0, 6):
        reference, fast = both(tiny, batch(tiny, lines[start:start + 6]), **SETTINGS[setting])
        assert_same(reference, fast)
    lengths = {len(h[0]["tokens"]) for h in fast}
    if "max-len" not in setting:
        assert len(lengths) > 1, "every translation has the same length: the test model is degenerate"


def test_nbest_two_and_all_beam_hypotheses(tiny, one_thread):
    sample = batch(tiny, tiny.val_de[12:18])
    reference, fast = both(tiny, sample, beam_size=4)
    assert_same(reference, fast)  # all 4 finalized hypotheses, in fairseq's order
    assert_same([h[:2] for h in reference], [h[:2] for h in fast])
    assert any(not torch.equal(h[0]["tokens"], h[1]["tokens"]) for h in fast)


@pytest.mark.parametrize("beam", [1, 4])
def test_a_state_that_grows_while_decoding_changes_nothing(tiny, one_thread, monkeypatch, beam):
    # Room for 2 steps at first: every translation outgrows it, several times (2, 4, 8, ...).
    monkeypatch.setattr(search, "INITIAL_CAPACITY", 2)
    reference, fast = both(tiny, batch(tiny, tiny.val_de[:6]), beam_size=beam)
    assert max(len(h[0]["tokens"]) for h in fast) > 4
    assert_same(reference, fast)


def test_a_decoder_layer_of_kernel_1_runs_exported(one_thread):
    """A layer of kernel 1 keeps no conv inputs, so the exported step has no input for its empty
    ring: the runner feeds the graph by name."""
    torch.manual_seed(0)
    task = DictionaryTask(30, 25)
    model = build_registered_model("lite_transformer_base", task, **dict(TINY, decoder_kernel_size_list="1,3")).eval()
    src = torch.randint(4, 25, (2, 6))
    src[:, -1] = task.source_dictionary.eos()
    sample = {"net_input": {"src_tokens": src, "src_lengths": torch.full((2,), 6)}}
    options = dict(beam_size=2, max_len_b=8)
    reference = SequenceGenerator([model], task.target_dictionary, **options).generate([model], sample)
    fast = FastGenerator(build_runner(model, "onnx"), task.target_dictionary, **options).generate([model], sample)
    assert_same(reference, fast)


class WrongLengthPenalty(FastGenerator):
    """Normalizes by the length without eos: the comparison must notice."""

    def _finalize(self, step, bbsz_idx, eos_scores, *args, **kwargs):
        if step > 0:
            eos_scores = eos_scores * ((step + 1) / step) ** self.len_penalty
        return super()._finalize(step, bbsz_idx, eos_scores, *args, **kwargs)


def test_comparison_catches_a_wrong_length_penalty(tiny, one_thread):
    sample = batch(tiny, tiny.val_de[:6])
    model, tgt_dict = tiny.model, tiny.task.target_dictionary
    reference = SequenceGenerator([model], tgt_dict, beam_size=4).generate([model], sample)
    wrong = WrongLengthPenalty(StepRunner(model), tgt_dict, beam_size=4).generate([model], sample)
    with pytest.raises(AssertionError):
        assert_same(reference, wrong)


def test_min_len_above_max_len_is_a_clear_error(tiny):
    generator = FastGenerator(StepRunner(tiny.model), tiny.task.target_dictionary, min_len=10, max_len_b=5)
    with pytest.raises(ValueError, match="min_len 10 is larger than max_len 5"):
        generator.generate([tiny.model], batch(tiny, tiny.val_de[:1]))
