"""Finding raw corpora: local copies, archives, and clear messages when a download is missing or broken."""
import pytest

from lsra_fairseq.preprocessing.datasets import DATASETS
from lsra_fairseq.preprocessing.sources import Archive, Corpus, PreparationError, Sources, read_corpus

# Nothing listens on port 9 of this machine: the download fails at once.
UNREACHABLE = Archive("de-en.tgz", "http://127.0.0.1:9/de-en.tgz", note="Ask WIT3 for it.")


def test_missing_download_says_what_to_fetch_and_where(tmp_path):
    corpus = Corpus(UNREACHABLE, "de-en/train.tags.de-en.{lang}", "tags")
    with pytest.raises(PreparationError) as error:
        Sources(tmp_path / "orig").locate(corpus, "de", "src")
    message = str(error.value)
    assert "http://127.0.0.1:9/de-en.tgz" in message and str(tmp_path / "orig" / "de-en.tgz") in message
    assert "Ask WIT3 for it." in message


def test_truncated_archive_is_reported(tmp_path, shared_data):
    from .raw_corpora import iwslt14_archive

    archive = iwslt14_archive(shared_data, tmp_path, train_pairs=5, test_per_file=1)
    data = archive.read_bytes()
    archive.write_bytes(data[: len(data) // 2])
    with pytest.raises(PreparationError, match="damaged or truncated"):
        Sources(tmp_path / "orig", raw=tmp_path).locate(DATASETS["iwslt14"].splits["train"][0], "de", "src")
    assert not list((tmp_path / "orig").glob("**/train.tags.de-en.de"))  # nothing half-extracted left


def test_local_copy_is_found_flat_or_in_archive_layout(tmp_path):
    (tmp_path / "de-en").mkdir()
    (tmp_path / "de-en" / "train.tags.de-en.de").write_text("x\n")
    (tmp_path / "newstest2014-deen-ref.de.sgm").write_text("x\n")
    sources = Sources(tmp_path / "orig", raw=tmp_path)
    assert sources.locate(DATASETS["iwslt14"].splits["train"][0], "de", "src").parent.name == "de-en"
    test = DATASETS["wmt14-en-de"].splits["test"][0]
    assert sources.locate(test, "de", "ref").name == "newstest2014-deen-ref.de.sgm"


def test_corpus_forms(tmp_path):
    tags = tmp_path / "train.tags"
    tags.write_text("<url>u</url>\n<talkid>1</talkid>\n<title>A title</title>\nText.\n", encoding="utf-8")
    assert list(read_corpus(tags, "tags")) == ["A title", "Text."]
    sgm = tmp_path / "test.sgm"
    sgm.write_text('<doc>\n<seg id="1"> It\u2019s here. </seg>\n<p>\n<seg id="2">Two</seg>\n</doc>\n', encoding="utf-8")
    assert list(read_corpus(sgm, "segments")) == ["It's here.", "Two"]
