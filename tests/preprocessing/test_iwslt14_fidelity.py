"""Real-data fidelity: the IWSLT'14 pipeline on the official detokenized valid/test text gives the
official Moses-tokenized, lowercased files, and the official BPE codes give the official BPE files.

At most 1% of the lines of each of the four files may differ (measured: 0.51-0.73%, printed by the
tests); the BPE step alone, on the official tokenized text, must match every line."""
import pytest

from lsra_fairseq.preprocessing.bpe import segment
from lsra_fairseq.preprocessing.datasets import DATASETS
from lsra_fairseq.preprocessing.lines import read_lines
from lsra_fairseq.preprocessing.moses import tokenize
from lsra_fairseq.preprocessing.sources import read_corpus

from .raw_corpora import segments

FILES = [(split, lang) for split in ("valid", "test") for lang in ("de", "en")]


def mismatch_rate(ours, official):
    ours, official = list(ours), list(read_lines(official))
    assert len(ours) == len(official)
    return sum(a != b for a, b in zip(ours, official)) / len(official)


@pytest.fixture(scope="module")
def tokenized(shared_data, tmp_path_factory):
    """Our tokenization of detok/{split}.{lang}, read as the <seg> lines of an IWSLT xml file."""
    folder, moses = tmp_path_factory.mktemp("iwslt14"), DATASETS["iwslt14"].moses
    result = {}
    for split, lang in FILES:
        lines = list(read_lines(shared_data / "iwslt14-de-en" / "detok" / f"{split}.{lang}"))
        xml = folder / f"{split}.{lang}.xml"
        xml.write_text(segments(lines), encoding="utf-8")
        result[split, lang] = [tokenize(line, lang, moses) for line in read_corpus(xml, "segments")]
    return result


@pytest.mark.parametrize("split, lang", FILES)
def test_tokenization_reproduces_official_tok_lc(tokenized, shared_data, split, lang, capsys):
    rate = mismatch_rate(tokenized[split, lang], shared_data / "iwslt14-de-en" / "tok-lc" / f"{split}.{lang}")
    with capsys.disabled():
        print(f" [tok-lc {split}.{lang}: {rate:.2%} of lines differ]", end="")
    assert rate <= 0.01


@pytest.mark.parametrize("split, lang", FILES)
def test_official_bpe_codes_reproduce_bpe10k(tokenized, shared_data, split, lang, capsys):
    codes = str(shared_data / "iwslt14-de-en" / "bpe10k" / "code")
    ours = (segment(line, codes) for line in tokenized[split, lang])
    rate = mismatch_rate(ours, shared_data / "iwslt14-de-en" / "bpe10k" / f"{split}.{lang}")
    with capsys.disabled():
        print(f" [bpe10k {split}.{lang}, from our tokenization: {rate:.2%} of lines differ]", end="")
    assert rate <= 0.01


@pytest.mark.parametrize("split, lang", FILES)
def test_bpe_step_reproduces_bpe10k_exactly_on_official_tok_lc(shared_data, split, lang):
    """The BPE step alone, on the official tokenized text: every line as the official bpe10k."""
    root = shared_data / "iwslt14-de-en"
    codes = str(root / "bpe10k" / "code")
    ours = [segment(line, codes) for line in read_lines(root / "tok-lc" / f"{split}.{lang}")]
    official = list(read_lines(root / "bpe10k" / f"{split}.{lang}"))
    assert len(ours) == len(official)
    differing = [(i, a, b) for i, (a, b) in enumerate(zip(ours, official)) if a != b]
    assert not differing, f"{len(differing)} lines differ, e.g. {differing[:3]}"
