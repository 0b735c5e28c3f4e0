"""Moses settings of the recipes: Multi30k's official tokenization, sentence casing, hyphen splitting."""
import pytest

from lsra_fairseq.preprocessing.datasets import DATASETS
from lsra_fairseq.preprocessing.lines import read_lines
from lsra_fairseq.preprocessing.moses import MosesSettings, sentence_case, tokenize


@pytest.mark.parametrize("split", ["val", "test_2016_flickr"])
@pytest.mark.parametrize("lang", ["de", "en"])
def test_multi30k_pipeline_reproduces_official_tokenization(shared_data, split, lang):
    raw = read_lines(shared_data / "multi30k" / "raw" / f"{split}.{lang}")
    official = list(read_lines(shared_data / "multi30k" / "tok" / f"{split}.lc.norm.tok.{lang}"))
    ours = [tokenize(line, lang, DATASETS["multi30k"].moses) for line in raw]
    assert sum(a != b for a, b in zip(ours, official)) <= 0.01 * len(official)


def test_sentence_case_only_touches_lowercased_lines():
    assert sentence_case('er sagte: "dr. no kommt." dann ging er.') == 'Er sagte: "Dr. No kommt." Dann ging er.'
    assert sentence_case("Cased text. stays as it is.") == "Cased text. stays as it is."


def test_lowercased_input_splits_sentence_periods_as_the_cased_original_does():
    settings = MosesSettings(lowercase="after")
    cased = tokenize("I came from a privileged background. I was lucky.", "en", settings)
    assert tokenize("i came from a privileged background. i was lucky.", "en", settings) == cased
    assert cased == "i came from a privileged background . i was lucky ."


def test_aggressive_hyphen_splitting_and_escaping():
    line = "The state-of-the-art model isn't cheap."
    assert tokenize(line, "en", MosesSettings()) == "The state-of-the-art model isn &apos;t cheap ."
    assert "state @-@ of @-@ the @-@ art" in tokenize(line, "en", MosesSettings(aggressive_dash=True))
