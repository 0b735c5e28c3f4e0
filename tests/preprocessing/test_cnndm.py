"""lsra-prepare cnndm reads the common distributions of CNN-DailyMail: See et al.'s story files with
their url lists, .source/.target line files, and the text of See et al.'s chunked files."""
import gzip
import hashlib

import pytest

from lsra_fairseq.preprocessing import cnndm, pipeline
from lsra_fairseq.preprocessing.sources import PreparationError

STORY = """\
LONDON, England (CNN) -- A man was arrested on Friday after a chase through the city.

Police said he had stolen a car

@highlight

Man arrested after a chase through London

@highlight

Police say he "stole a car."
"""


def write_stories(root, stories):
    """See et al.'s layout: stories named by the SHA1 of their url, and the split's url list."""
    (root / "url_lists").mkdir(parents=True)
    for split in ("train", "val", "test"):
        urls = []
        for i, (source, text) in enumerate(stories):
            url = f"http://www.{source}.com/{split}/story{i}.html"
            urls.append(url)
            folder = root / source / "stories"
            folder.mkdir(parents=True, exist_ok=True)
            (folder / (hashlib.sha1(url.encode()).hexdigest() + ".story")).write_text(text, encoding="utf-8")
        (root / "url_lists" / f"all_{split}.txt").write_text("\n".join(urls) + "\n")


def test_story_files_become_lowercased_tokenized_pairs(tmp_path):
    raw = tmp_path / "raw"
    write_stories(raw, [("cnn", STORY), ("dailymail", "@highlight\n\nno article here\n")])
    assert cnndm.detect(raw) == ("stories", {})
    cnndm.write_split("stories", raw, tmp_path / "work", {}, "valid", workers=1)
    article = (tmp_path / "work" / "text" / "valid.source").read_text().splitlines()
    summary = (tmp_path / "work" / "text" / "valid.target").read_text().splitlines()
    assert len(article) == len(summary) == 1  # the story without an article is dropped
    assert article[0].startswith("london , england ( cnn ) -- a man was arrested on friday")
    assert article[0].endswith("police said he had stolen a car .")  # See et al.'s added period
    assert summary[0] == 'man arrested after a chase through london . police say he " stole a car . "'


def test_missing_url_lists_or_stories_are_named(tmp_path):
    raw = tmp_path / "raw"
    write_stories(raw, [("cnn", STORY), ("dailymail", STORY)])
    (raw / "url_lists" / "all_test.txt").unlink()
    with pytest.raises(PreparationError, match="all_test.txt is missing"):
        list(cnndm.story_split(raw, tmp_path / "work", "test"))
    (raw / "url_lists" / "all_val.txt").write_text("http://www.cnn.com/missing.html\n")
    with pytest.raises(PreparationError, match="is not in the story folders"):
        list(cnndm.story_split(raw, tmp_path / "work", "valid"))


def test_source_target_line_files_are_moses_tokenized_with_case_kept(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    for split in ("train", "val", "test"):
        (raw / f"{split}.source").write_text("The U.S. team won, again.\n\n")
        (raw / f"{split}.target").write_text("U.S. wins (again).\nA summary.\n")
    fmt, files = cnndm.detect(raw)
    assert fmt == "lines" and files["valid"][0].name == "val.source"
    cnndm.write_split(fmt, raw, tmp_path / "work", files, "valid", workers=1)
    assert (tmp_path / "work" / "text" / "valid.source").read_text() == "The U.S. team won , again .\n"
    assert (tmp_path / "work" / "text" / "valid.target").read_text() == "U.S. wins ( again ) .\n"


def test_chunked_text_keeps_tokens_and_drops_sentence_tags(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    for split in ("train", "val", "test"):
        with gzip.open(raw / f"{split}.article.txt.gz", "wt") as f:
            f.write("an article , tokenized .\n")
        (raw / f"{split}.abstract.txt").write_text("<s> first sentence . </s> <s> second one </s>\n")
    fmt, files = cnndm.detect(raw)
    assert fmt == "abisee"
    cnndm.write_split(fmt, raw, tmp_path / "work", files, "test", workers=1)
    assert (tmp_path / "work" / "text" / "test.target").read_text() == "first sentence . second one\n"


def test_an_unknown_or_incomplete_copy_is_a_clear_error(tmp_path, capsys):
    assert pipeline.main(["cnndm", "--raw", str(tmp_path / "missing"), "--work", str(tmp_path / "w"),
                          "--dest", str(tmp_path / "b")]) == 1
    error = capsys.readouterr().err
    assert "cnn_stories.tgz" in error and "RAW=" in error  # says what to fetch and where to put it
    (tmp_path / "partial").mkdir()
    (tmp_path / "partial" / "train.source").write_text("a\n")
    (tmp_path / "partial" / "train.target").write_text("b\n")
    with pytest.raises(PreparationError, match=r"lines files for \['train'\] but not for \['valid', 'test'\]"):
        cnndm.detect(tmp_path / "partial")
