"""lsra-prepare's translation pipeline on small raw corpora in the official layouts: IWSLT'14
(trained on with fairseq-train), WMT'14 En-De and En-Fr (with the official newstest2014 sgm files).

IWSLT'14: a de-en.tgz laid out like the official archive, 400 training pairs with talk metadata
lines and 10 lines in each of the five test xml files; metadata dropped, cleaning, valid = every
23rd pair, separate dictionaries, a rerun skips finished steps. WMT'14 En-De: 300 training pairs
as the three corpora, 100 validation pairs standing in for newstest2013 (not available here).
WMT'14 En-Fr: 500 newstest2014 pairs standing in for the five training corpora (one gzipped like
giga-fren; no En-Fr training text is available), valid = every 10th pair instead of every 1333rd."""
import dataclasses
import subprocess

import pytest

from lsra_fairseq.commands import fairseq_command
from lsra_fairseq.preprocessing.datasets import DATASETS
from lsra_fairseq.preprocessing.lines import count_lines, read_lines
from lsra_fairseq.preprocessing.translation import prepare

from .raw_corpora import IWSLT_TESTS, detokenized, iwslt14_archive, split_into, wmt_test_sgm

TRAIN_PAIRS, TEST_PER_FILE = 400, 10


@pytest.fixture(scope="module")
def iwslt14(shared_data, tmp_path_factory):
    folder = tmp_path_factory.mktemp("iwslt14")
    raw = folder / "raw"
    raw.mkdir()
    iwslt14_archive(shared_data, raw, TRAIN_PAIRS, TEST_PER_FILE)
    (raw / "unpacked").rename(folder / "unpacked")  # the local copy holds only de-en.tgz
    work, dest = folder / "work", folder / "bin"
    prepare(DATASETS["iwslt14"], work, dest, raw=raw, workers=2, bpe_merges=1000)
    return work, dest, raw


def test_iwslt14_follows_fairseq_recipe(iwslt14):
    work, dest, _ = iwslt14
    tok = work / "tok"
    assert not any("<url>" in line or "<talkid>" in line for line in read_lines(tok / "train.de"))
    assert "a talk title" in set(read_lines(tok / "train.en"))  # <title> text kept, lowercased
    cleaned = count_lines(tok / "train.clean.de")
    assert count_lines(tok / "valid.de") == cleaned // 23  # every 23rd cleaned pair
    assert count_lines(tok / "train.rest.de") == cleaned - cleaned // 23
    assert count_lines(dest / "test.raw.en") == TEST_PER_FILE * len(IWSLT_TESTS)
    assert (dest / "dict.de.txt").read_text() != (dest / "dict.en.txt").read_text()  # separate dictionaries
    assert all(line == line.lower() for line in read_lines(work / "bpe" / "train.en"))


def test_iwslt14_rerun_skips_finished_steps(iwslt14, capsys):
    work, dest, raw = iwslt14
    prepare(DATASETS["iwslt14"], work, dest, raw=raw, workers=1, bpe_merges=1000)
    out = capsys.readouterr().out
    assert "tokenize-train: done before" in out and "binarize: done before" in out


def test_fairseq_train_trains_the_paper_iwslt_model_on_it(iwslt14):
    _, dest, _ = iwslt14
    command = fairseq_command(
        "train", dest, "--arch", "lite_transformer_iwslt_de_en_160", "--task", "translation",
        "--optimizer", "adam", "--lr", "5e-4", "--criterion", "label_smoothed_cross_entropy",
        "--label-smoothing", "0.1", "--max-tokens", "512", "--max-update", "1", "--cpu",
        "--no-progress-bar", "--no-save", "--disable-validation")
    log = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    assert "num_updates 1 " in log and "done training" in log


def wmt_raw(shared, folder, pair, corpora, lines):
    """Training corpora ``corpora`` filled with ``lines[lang]``, newstest2014 sgm for the test."""
    folder.mkdir()
    for lang, text in lines.items():
        split_into(folder, corpora, lang, text)
    wmt_test_sgm(shared, folder, pair)
    return folder


def test_wmt14_en_de(shared_data, tmp_path):
    toy = shared_data / "wmt14" / "opennmt-toy-ende"
    train = {"en": detokenized(toy / "src-train.txt", "en", 300), "de": detokenized(toy / "tgt-train.txt", "de", 300)}
    raw = wmt_raw(shared_data, tmp_path / "raw", "deen", ["europarl-v7.de-en.{lang}", "commoncrawl.de-en.{lang}",
                                                           "news-commentary-v11.de-en.{lang}"], train)
    # no newstest2013 here: 100 pairs of the toy data's newstest2012-like validation set stand in
    split_into(raw, ["newstest2013.{lang}"], "en", detokenized(toy / "src-val.txt", "en", 100))
    split_into(raw, ["newstest2013.{lang}"], "de", detokenized(toy / "tgt-val.txt", "de", 100))
    work, dest = tmp_path / "work", tmp_path / "bin"
    prepare(DATASETS["wmt14-en-de"], work, dest, raw=raw, workers=2, bpe_merges=500)

    assert count_lines(dest / "test.raw.de") == 3003 and count_lines(work / "bpe" / "test.en") == 3003
    assert (dest / "dict.en.txt").read_text() == (dest / "dict.de.txt").read_text()  # joined dictionary
    assert not any("@-@" in line for line in read_lines(work / "tok" / "train.de"))  # no -a for En-De
    assert any("-" in line for line in read_lines(work / "tok" / "test.de"))
    for src, tgt in zip(read_lines(work / "bpe" / "train.en"), read_lines(work / "bpe" / "train.de")):
        n, m = len(src.split()), len(tgt.split())
        assert 1 <= n <= 250 and 1 <= m <= 250 and n / m <= 1.5 and m / n <= 1.5


def test_wmt14_en_fr(shared_data, tmp_path):
    # No En-Fr training sample exists here: newstest2014 pairs stand in for the five training corpora.
    test = shared_data / "wmt14" / "newstest2014-txt"
    train = {lang: list(read_lines(test / f"newstest2014.fren.{lang}"))[:500] for lang in ("en", "fr")}
    raw = wmt_raw(shared_data, tmp_path / "raw", "fren",
                  ["europarl-v7.fr-en.{lang}", "commoncrawl.fr-en.{lang}", "undoc.2000.fr-en.{lang}",
                   "news-commentary-v9.fr-en.{lang}", "giga-fren.release2.fixed.{lang}.gz"], train)
    settings = dataclasses.replace(DATASETS["wmt14-en-fr"], valid_every=10)  # 1333 needs a bigger corpus
    work, dest = tmp_path / "work", tmp_path / "bin"
    prepare(settings, work, dest, raw=raw, workers=2, bpe_merges=500)

    assert count_lines(work / "tok" / "valid.en") == 50 and count_lines(work / "tok" / "train.rest.fr") == 450
    assert any("@-@" in line for line in read_lines(work / "tok" / "train.fr"))  # aggressive hyphen splitting
    assert count_lines(dest / "test.raw.fr") == 3003
    assert (dest / "dict.en.txt").read_text() == (dest / "dict.fr.txt").read_text()
