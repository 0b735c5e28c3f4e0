"""Small raw corpora in the official layouts, built from the shared (already tokenized) samples.

The shared training samples are Moses-tokenized (IWSLT also BPE'd); removing BPE and
Moses-detokenizing them gives raw-looking text to feed the pipelines, so the tests exercise every
step on real sentences, not the official raw archives themselves (which are not available here).
"""
import gzip
import tarfile
from pathlib import Path
from typing import Iterable, List

from sacremoses import MosesDetokenizer

from lsra_fairseq.preprocessing.lines import read_lines, write_lines

IWSLT_TESTS = ("TED.dev2010", "TEDX.dev2012", "TED.tst2010", "TED.tst2011", "TED.tst2012")


def detokenized(path: Path, lang: str, count: int, start: int = 0) -> List[str]:
    detokenizer = MosesDetokenizer(lang=lang)
    lines = list(read_lines(path))[start:start + count]
    return [detokenizer.detokenize(line.replace("@@ ", "").split()) for line in lines]


def segments(lines: Iterable[str]) -> str:
    """An IWSLT xml / WMT sgm document holding ``lines`` as <seg> elements."""
    body = "".join(f'<seg id="{i}"> {line} </seg>\n' for i, line in enumerate(lines, 1))
    return f'<refset>\n<doc docid="1">\n{body}</doc>\n</refset>\n'


def iwslt14_archive(shared: Path, folder: Path, train_pairs: int, test_per_file: int) -> Path:
    """``folder/de-en.tgz`` laid out like the IWSLT'14 archive (train.tags with talk metadata, xml tests)."""
    root = folder / "unpacked" / "de-en"
    for lang in ("de", "en"):
        text = detokenized(shared / "iwslt14-de-en" / "train-sample" / f"sample4200.train.{lang}", lang, train_pairs)
        talk = ["<url>http://www.ted.com/talks/a_talk.html</url>", "<keywords>talks, science</keywords>",
                "<speaker>A Speaker</speaker>", "<talkid>1</talkid>", "<title>A talk title</title>",
                "<description>What the talk is about.</description>"]
        write_lines(root / f"train.tags.de-en.{lang}", talk + text)
        test = detokenized(shared / "iwslt14-de-en" / "detok" / f"test.{lang}", lang,
                           test_per_file * len(IWSLT_TESTS))
        for i, name in enumerate(IWSLT_TESTS):
            (root / f"IWSLT14.{name}.de-en.{lang}.xml").write_text(
                segments(test[i * test_per_file:(i + 1) * test_per_file]), encoding="utf-8")
    archive = folder / "de-en.tgz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(root, arcname="de-en")
    return archive


def wmt_test_sgm(shared: Path, folder: Path, pair: str) -> None:
    """Links the official newstest2014 sgm files of ``pair`` ("deen" or "fren") into ``folder``."""
    for path in (shared / "wmt14" / "newstest2014-full-sgm").glob(f"newstest2014-{pair}-*.sgm"):
        (folder / path.name).symlink_to(path)


def split_into(folder: Path, names: List[str], lang: str, lines: List[str]) -> None:
    """Writes ``lines`` over the corpus files ``names`` (formatted with lang), in equal parts."""
    size = -(-len(lines) // len(names))
    for i, name in enumerate(names):
        path = folder / name.format(lang=lang)
        part = lines[i * size:(i + 1) * size]
        if path.suffix == ".gz":
            with gzip.open(path, "wt", encoding="utf-8") as f:
                f.writelines(line + "\n" for line in part)
        else:
            write_lines(path, part)
