"""ROUGE as summarization papers report it: equal to rouge-score's own, averaged over examples,
with sentences split at standalone punctuation tokens (for rougeLsum)."""
import pytest

from lsra_fairseq.evaluation.rouge import rouge, split_sentences


def test_rouge_of_a_known_pair_matches_rouge_score_called_directly():
    from rouge_score import rouge_scorer

    hypothesis = "police say the man was arrested on friday . he denies the charges ."
    reference = "the man was arrested by police on friday . he was charged with theft ."
    ours = rouge([hypothesis], [reference])
    direct = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL", "rougeLsum"], use_stemmer=True).score(
        "the man was arrested by police on friday .\nhe was charged with theft .",
        "police say the man was arrested on friday .\nhe denies the charges .")
    for name in ("rouge1", "rouge2", "rougeL", "rougeLsum"):
        assert ours[name] == pytest.approx(100 * direct[name].fmeasure, abs=1e-9)
    # Summary-level LCS matches sentence by sentence: the order of the sentences does not matter.
    swapped = rouge(["he denies the charges . the man was arrested ."],
                    ["the man was arrested . he denies the charges ."])
    assert swapped["rougeLsum"] == pytest.approx(100) and swapped["rougeL"] < 70
    # By hand: 5 of 6 unigrams shared either way.
    assert rouge(["the cat sat on the mat"], ["the cat is on the mat"])["rouge1"] == pytest.approx(500 / 6)


def test_rouge_averages_over_examples():
    pairs = [("a b c", "a b c"), ("x y", "a b")]
    assert rouge(*zip(*pairs))["rouge1"] == pytest.approx(50.0)
    with pytest.raises(ValueError, match="2 hypotheses for 1 references"):
        rouge(["a", "b"], ["a"])


@pytest.mark.parametrize("text, sentences", [
    ("a b . c d ! e ?", ["a b .", "c d !", "e ?"]),
    ('he said : " go . " then left', ['he said : " go . "', "then left"]),
    ("the u.s. army left . ok", ["the u.s. army left .", "ok"]),
    ("no end", ["no end"]),
    ("", []),
])
def test_sentences_end_at_standalone_punctuation_tokens(text, sentences):
    assert split_sentences(text) == sentences
