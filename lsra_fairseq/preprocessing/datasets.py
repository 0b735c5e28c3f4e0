"""The translation datasets the recipes prepare, as one table (the paper's Tables 1 and 2, and the
recipes it used).

IWSLT'14 follows fairseq's prepare-iwslt14.sh; WMT'14 En-Fr follows fairseq's
prepare-wmt14en2fr.sh; WMT'14 En-De uses the corpora of the paper's WMT16 data (europarl v7,
commoncrawl, news-commentary v11; valid newstest2013, test newstest2014) with fairseq's WMT
preprocessing, without aggressive hyphen splitting so that hyphenated compounds stay whole and are
split at scoring time as the paper does; Multi30k follows the dataset's own task1-tokenize.sh.
"""
from dataclasses import dataclass, field
from typing import Dict, Optional, Tuple

from .clean import CleanSettings
from .moses import MosesSettings
from .sources import Archive, Corpus


@dataclass(frozen=True)
class DatasetSettings:
    name: str
    src: str
    tgt: str
    moses: MosesSettings
    bpe_merges: int
    joined_dictionary: bool
    # split -> corpus files concatenated in order; a missing "valid" is cut from train
    splits: Dict[str, Tuple[Corpus, ...]] = field(default_factory=dict)
    valid_every: Optional[int] = None  # valid = every n-th training pair (1-based n, 2n, ...)
    clean: Optional[CleanSettings] = None


IWSLT14 = Archive(
    "de-en.tgz", "http://dl.fbaipublicfiles.com/fairseq/data/iwslt14/de-en.tgz",
    note="The original WIT3 address (https://wit3.fbk.eu/archive/2014-01/texts/de/en/de-en.tgz) is "
         "gone. fairseq mirrors the archive at the address above; WIT3's page for the release, "
         "https://wit3.fbk.eu/2014-01, links the whole 2014-01 release (a Google Drive archive whose "
         "texts/de/en/de-en.tgz is this file). Either de-en.tgz or its extracted de-en/ folder will do.")


def _iwslt_test(name: str) -> Corpus:
    return Corpus(IWSLT14, f"de-en/IWSLT14.{name}.de-en.{{lang}}.xml", "segments")


def _statmt(filename: str, path: str) -> Archive:
    return Archive(filename, f"http://{path}/{filename}")


EUROPARL_V7 = _statmt("training-parallel-europarl-v7.tgz", "statmt.org/wmt13")
COMMONCRAWL = _statmt("training-parallel-commoncrawl.tgz", "statmt.org/wmt13")
UN = _statmt("training-parallel-un.tgz", "statmt.org/wmt13")
NEWS_COMMENTARY_V9 = _statmt("training-parallel-nc-v9.tgz", "statmt.org/wmt14")
NEWS_COMMENTARY_V11 = _statmt("training-parallel-nc-v11.tgz", "data.statmt.org/wmt16/translation-task")
GIGA_FREN = _statmt("training-giga-fren.tar", "statmt.org/wmt10")
WMT_DEV = _statmt("dev.tgz", "data.statmt.org/wmt17/translation-task")
WMT14_TEST = _statmt("test-full.tgz", "statmt.org/wmt14")


def _multi30k(split: str) -> Corpus:
    archive = Archive(f"{split}.{{lang}}.gz",
                      f"https://github.com/multi30k/dataset/raw/master/data/task1/raw/{split}.{{lang}}.gz")
    return Corpus(archive, f"{split}.{{lang}}")


WMT_CLEAN = CleanSettings(ratio=1.5, min_len=1, max_len=250, stage="bpe")

DATASETS = {
    d.name: d for d in [
        DatasetSettings(
            "iwslt14", "de", "en", MosesSettings(lowercase="after"), bpe_merges=10000,
            joined_dictionary=False, valid_every=23,
            clean=CleanSettings(ratio=1.5, min_len=1, max_len=175, stage="tok"),
            splits={"train": (Corpus(IWSLT14, "de-en/train.tags.de-en.{lang}", "tags"),),
                    "test": tuple(_iwslt_test(name) for name in (
                        "TED.dev2010", "TEDX.dev2012", "TED.tst2010", "TED.tst2011", "TED.tst2012"))}),
        DatasetSettings(
            "wmt14-en-de", "en", "de", MosesSettings(normalize_punctuation=True), bpe_merges=32000,
            joined_dictionary=True, clean=WMT_CLEAN,
            splits={"train": (Corpus(EUROPARL_V7, "training/europarl-v7.de-en.{lang}"),
                              Corpus(COMMONCRAWL, "commoncrawl.de-en.{lang}"),
                              Corpus(NEWS_COMMENTARY_V11,
                                     "training-parallel-nc-v11/news-commentary-v11.de-en.{lang}")),
                    "valid": (Corpus(WMT_DEV, "dev/newstest2013.{lang}"),),
                    "test": (Corpus(WMT14_TEST, "test-full/newstest2014-deen-{role}.{lang}.sgm",
                                    "segments"),)}),
        DatasetSettings(
            "wmt14-en-fr", "en", "fr", MosesSettings(normalize_punctuation=True, aggressive_dash=True),
            bpe_merges=40000, joined_dictionary=True, valid_every=1333, clean=WMT_CLEAN,
            splits={"train": (Corpus(EUROPARL_V7, "training/europarl-v7.fr-en.{lang}"),
                              Corpus(COMMONCRAWL, "commoncrawl.fr-en.{lang}"),
                              Corpus(UN, "un/undoc.2000.fr-en.{lang}"),
                              Corpus(NEWS_COMMENTARY_V9, "training/news-commentary-v9.fr-en.{lang}"),
                              Corpus(GIGA_FREN, "giga-fren.release2.fixed.{lang}.gz")),
                    "test": (Corpus(WMT14_TEST, "test-full/newstest2014-fren-{role}.{lang}.sgm",
                                    "segments"),)}),
        DatasetSettings(
            "multi30k", "de", "en", MosesSettings(normalize_punctuation=True, lowercase="before"),
            bpe_merges=4000, joined_dictionary=True,
            splits={"train": (_multi30k("train"),), "valid": (_multi30k("val"),),
                    "test": (_multi30k("test_2016_flickr"),)}),
    ]
}

# Other spellings users type for a dataset name (lsra-prepare and lsra-evaluate accept both).
DATASET_ALIASES = {"wikitext-103": "wikitext103"}  # the corpus's own spelling
