"""CNN-DailyMail for summarization: any common distribution -> tokens -> joint BPE -> fairseq binaries.

``lsra-prepare cnndm --raw DIR`` (``make prepare-cnndm RAW=DIR``). Accepted local copies (the
articles cannot be downloaded by a script, see ``NOTE``):

- ``lines``: ``{train,val|valid,test}.source`` / ``.target``, one example per line (fairseq's BART
  ``cnn_dm``, Hugging Face exports): untokenized text, Moses-tokenized here, case kept.
- ``abisee``: ``{train,val,test}.article.txt[.gz]`` / ``.abstract.txt[.gz]``, the text of See et al.'s
  ``chunked/*.bin`` (already PTB-tokenized and lowercased; abstract sentences wrapped in
  ``<s> ... </s>``, which are dropped).
- ``stories``: See et al.'s raw story files: ``cnn/stories/*.story`` and ``dailymail/stories/*.story``
  (or ``cnn_stories.tgz`` / ``dailymail_stories.tgz``) with ``url_lists/all_{train,val,test}.txt``
  for the split. Processed as See et al. describe: ``@highlight`` lines form the summary, a period
  is added to lines that end without punctuation, Moses tokenization (their PTB tokenizer is Java),
  lowercasing.

Examples with an empty article or summary are dropped (some CNN stories have no text). Sources are
kept whole here; the ``lsra_summarization`` task truncates them (``--source-length``, default 1000).
Output: ``<dest>`` = fairseq binaries with one joined dictionary (``source``/``target`` as the
languages), the BPE ``code``, ``test.reference`` (tokenized test summaries, BPE-free, for ROUGE)
and ``preparation.json``.
"""
import hashlib
import json
import shutil
from functools import partial
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Tuple

from .binarize import binarize
from .bpe import apply_bpe, learn_joint_bpe
from .lines import map_lines, open_text, read_lines, write_lines
from .moses import tokenizer
from .sources import PreparationError, extract
from .steps import Steps

SPLITS = ("train", "valid", "test")
SPLIT_NAMES = {"train": ("train",), "valid": ("val", "valid", "validation"), "test": ("test",)}
LANGS = ("source", "target")
BPE_MERGES = 30000
NOTE = """\
CNN-DailyMail cannot be downloaded by a script. Put one of these into a folder and name it
(make prepare-cnndm RAW=folder, or lsra-prepare cnndm --raw folder):
  - the story archives cnn_stories.tgz and dailymail_stories.tgz (https://cs.nyu.edu/~kcho/DMQA/)
    or their cnn/ and dailymail/ folders, plus url_lists/ from https://github.com/abisee/cnn-dailymail;
  - train/val/test .source and .target line files (fairseq's BART README, examples/bart);
  - {train,val,test}.article.txt / .abstract.txt (the text of See et al.'s chunked .bin files)."""
# See et al.: a line that ends in none of these gets " ." (so highlights read as sentences).
END_TOKENS = (".", "!", "?", "...", "'", "`", '"', "\u2019", "\u201d", ")")


def _find(raw: Path, names, suffixes) -> Optional[Path]:
    for name in names:
        for suffix in suffixes:
            if (raw / f"{name}{suffix}").is_file():
                return raw / f"{name}{suffix}"
    return None


def detect(raw: Path) -> Tuple[str, Dict[str, Tuple[Path, Path]]]:
    """(format, {split: (article file, summary file)}) of a local copy; stories have no files here."""
    for fmt, (article, summary) in (("lines", (".source", ".target")),
                                    ("abisee", (".article.txt", ".abstract.txt"))):
        files = {}
        for split in SPLITS:
            pair = tuple(_find(raw, SPLIT_NAMES[split], (suffix, suffix + ".gz")) for suffix in (article, summary))
            if all(pair):
                files[split] = pair
        if len(files) == len(SPLITS):
            return fmt, files
        if files:
            missing = [s for s in SPLITS if s not in files]
            raise PreparationError(f"{raw} has {fmt} files for {sorted(files)} but not for {missing}")
    if (raw / "url_lists").is_dir() or any((raw / f"{n}_stories.tgz").is_file() for n in ("cnn", "dailymail")):
        return "stories", {}
    raise PreparationError(f"{raw} holds no CNN-DailyMail distribution this recipe knows.\n{NOTE}")


def strip_sentence_tags(abstract: str) -> str:
    """See et al.'s abstract ``<s> a . </s> <s> b . </s>`` -> ``a . b .``"""
    return " ".join(t for t in abstract.split() if t not in ("<s>", "</s>"))


def fix_missing_period(line: str) -> str:
    if not line or line.startswith("@highlight") or line.endswith(END_TOKENS):
        return line
    return line + " ."


def read_story(path: Path) -> Tuple[str, str]:
    """(article, summary) of one ``.story`` file: paragraphs before the first ``@highlight``, then
    each ``@highlight``'s text as a summary sentence."""
    article: List[str] = []
    highlights: List[str] = []
    next_is_highlight = False
    for line in path.read_text(encoding="utf-8").splitlines():
        line = fix_missing_period(line.strip())
        if not line:
            continue
        if line.startswith("@highlight"):
            next_is_highlight = True
        elif next_is_highlight:
            highlights.append(line)
            next_is_highlight = False
        else:
            article.append(line)
    return " ".join(article), " ".join(highlights)


def story_split(raw: Path, work: Path, split: str) -> Iterator[Tuple[str, str]]:
    """The (article, summary) pairs of a split, in the order of See et al.'s url list."""
    for name in ("cnn", "dailymail"):
        if not (raw / name / "stories").is_dir() and not (work / name / "stories").is_dir():
            archive = raw / f"{name}_stories.tgz"
            if not archive.is_file():
                raise PreparationError(f"neither {raw / name / 'stories'} nor {archive} exists.\n{NOTE}")
            extract(archive, work, f"{name}/stories")
    url_list = raw / "url_lists" / f"all_{SPLIT_NAMES[split][0]}.txt"
    if not url_list.is_file():
        raise PreparationError(f"{url_list} is missing: See et al.'s split comes from url_lists/ of "
                               f"https://github.com/abisee/cnn-dailymail")
    for url in read_lines(url_list):
        if not url.strip():
            continue
        name = hashlib.sha1(url.strip().encode("utf-8")).hexdigest() + ".story"
        candidates = [root / source / "stories" / name for root in (raw, work) for source in ("cnn", "dailymail")]
        found = next((p for p in candidates if p.is_file()), None)
        if found is None:
            raise PreparationError(f"story {name} ({url.strip()}) of {url_list.name} is not in the story folders")
        yield read_story(found)


def moses(line: str, lowercase: bool = False) -> str:
    """Moses tokens without XML escaping (``&quot;`` would become a word "quot" for ROUGE)."""
    tokens = tokenizer("en").tokenize(line, escape=False, return_str=True)
    return tokens.lower() if lowercase else tokens


def pairs(fmt: str, raw: Path, work: Path, files, split: str) -> Iterator[Tuple[str, str]]:
    if fmt == "stories":
        yield from story_split(raw, work, split)
        return
    article_file, summary_file = files[split]
    for article, summary in zip(read_lines(article_file), read_lines(summary_file), strict=True):
        yield (article, strip_sentence_tags(summary)) if fmt == "abisee" else (article, summary)


def write_split(fmt: str, raw: Path, work: Path, files, split: str, workers: Optional[int]) -> None:
    """``work/text/{split}.source`` / ``.target``: one tokenized example per line (streamed)."""
    text = work / "text"
    text.mkdir(parents=True, exist_ok=True)
    suffix = "" if fmt == "abisee" else ".untokenized"
    kept = dropped = 0
    with open_text(text / f"{split}.source{suffix}", "wt") as articles, \
            open_text(text / f"{split}.target{suffix}", "wt") as summaries:
        for article, summary in pairs(fmt, raw, work, files, split):
            article, summary = " ".join(article.split()), " ".join(summary.split())
            if not article or not summary:
                dropped += 1
                continue
            kept += 1
            articles.write(article + "\n")
            summaries.write(summary + "\n")
    if suffix:  # raw text: Moses tokens (stories are lowercased, as See et al. did)
        tokenize = partial(moses, lowercase=fmt == "stories")
        for lang in LANGS:
            untokenized = text / f"{split}.{lang}{suffix}"
            write_lines(text / f"{split}.{lang}", map_lines(tokenize, read_lines(untokenized), total=kept,
                                                            desc=f"tokenize {split}.{lang}", workers=workers))
            untokenized.unlink()
    print(f"[cnndm] {split}: {kept} examples" + (f", {dropped} dropped (empty article or summary)" if dropped else ""))


def prepare(work: Path, dest: Path, raw: Optional[Path] = None, workers: Optional[int] = None,
            bpe_merges: int = BPE_MERGES) -> Path:
    if raw is None:
        raise PreparationError(f"no local copy of CNN-DailyMail given.\n{NOTE}")
    if not raw.is_dir():
        raise PreparationError(f"the local copy {raw} is not a folder.\n{NOTE}")
    fmt, files = detect(raw)
    print(f"[cnndm] {raw}: {fmt} format")
    steps = Steps(work, "cnndm")
    text, bpe = work / "text", work / "bpe"
    for split in SPLITS:
        steps.run(f"text-{split}", partial(write_split, fmt, raw, work, files, split, workers))
    codes = bpe / "code"
    steps.run("learn-bpe", lambda: learn_joint_bpe([text / "train.source", text / "train.target"], codes,
                                                   bpe_merges, bpe / "train.joint"))
    for split in SPLITS:
        for lang in LANGS:
            steps.run(f"apply-bpe-{split}.{lang}",
                      partial(apply_bpe, codes, text / f"{split}.{lang}", bpe / f"{split}.{lang}", workers))

    def finish():
        binarize("source", "target", bpe, dest, joined_dictionary=True, workers=workers)
        shutil.copyfile(codes, dest / "code")
        shutil.copyfile(text / "test.target", dest / "test.reference")
        summary = {"dataset": "cnndm", "format": str(fmt), "source_lang": "source", "target_lang": "target",
                   "bpe_merges": bpe_merges, "joined_dictionary": True}
        (dest / "preparation.json").write_text(json.dumps(summary, indent=2) + "\n")
    steps.run("binarize", finish)
    print(f"[cnndm] ready: {dest}")
    return dest

