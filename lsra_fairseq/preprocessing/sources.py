"""Where the raw corpora come from: download, or a local copy, then the text inside.

A corpus file is looked up, in order: in the user's local copy (``RAW=path``; at its path inside
the archive or directly in that folder), among files already extracted under the work folder, as
an archive in the local copy or the work folder (extracted then), and finally downloaded from
its official address. Nothing is ever written into the local copy.
"""
import gzip
import re
import shutil
import tarfile
import urllib.error
import urllib.request
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Optional

from tqdm import tqdm

from .lines import read_lines


class PreparationError(RuntimeError):
    """A problem the user fixes (a missing or broken download); printed without a traceback."""


@dataclass(frozen=True)
class Archive:
    filename: str  # both may contain {lang} and {role}, see Corpus
    url: str
    note: str = ""  # where to get it when the address above no longer works


@dataclass(frozen=True)
class Corpus:
    """One text file of a split, ``member`` being its path inside ``archive``.

    ``member`` and ``archive.filename`` may name ``{lang}`` and ``{role}`` (``src`` for the source
    language, ``ref`` for the target, as in WMT's sgm file names). ``form`` says how to read it:
    ``plain`` text, IWSLT ``tags`` (train.tags.*) or ``segments`` (``<seg>`` lines of xml/sgm).
    """

    archive: Archive
    member: str
    form: str = "plain"

    def resolve(self, lang: str, role: str):
        """(member, archive file name, archive url) for one language."""
        return tuple(text.format(lang=lang, role=role)
                     for text in (self.member, self.archive.filename, self.archive.url))


def check_local_copy(raw: Optional[Path]) -> Optional[Path]:
    """``raw`` (the user's local copy, or None), stopping here when it names nothing on disk."""
    if raw is not None and not raw.exists():
        raise PreparationError(f"the local copy {raw} does not exist")
    return raw


class Sources:
    """Finds corpus files for one dataset; ``raw`` is the user's local copy, ``orig`` our work folder."""

    def __init__(self, orig: Path, raw: Optional[Path] = None):
        self.orig, self.raw = orig, check_local_copy(raw)

    def _candidates(self, member: str):
        name = Path(member).name
        for root in filter(None, (self.raw, self.orig)):
            yield root / member
            yield root / name

    def locate(self, corpus: Corpus, lang: str, role: str) -> Path:
        member, archive_name, url = corpus.resolve(lang, role)
        for path in self._candidates(member):
            if path.is_file():
                return path
        archive = self._archive(archive_name, url, corpus.archive.note)
        extract(archive, self.orig, member)
        for path in self._candidates(member):
            if path.is_file():
                return path
        raise PreparationError(f"{archive} does not contain {member}: is it the right file?")

    def _archive(self, filename: str, url: str, note: str) -> Path:
        for root in filter(None, (self.raw, self.orig)):
            if (root / filename).is_file():
                return root / filename
        return download(url, self.orig / filename, note, self.raw)


def _missing(url: str, target: Path, why: str, note: str, raw: Optional[Path]) -> PreparationError:
    where = f"into {raw} (the RAW folder) or {target.parent}" if raw else f"at {target}"
    lines = [f"could not get {target.name}: {why}",
             f"Fetch {url} yourself and put it {where}, then run this again."]
    if note:
        lines.append(note)
    return PreparationError("\n".join(lines))


def download(url: str, target: Path, note: str = "", raw: Optional[Path] = None) -> Path:
    """Downloads to ``target`` through a ``.part`` file, checking the size the server announced."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial_path = target.with_name(target.name + ".part")
    print(f"downloading {url}")
    try:
        with urllib.request.urlopen(url, timeout=60) as response, open(partial_path, "wb") as out:
            size = int(response.headers.get("Content-Length") or 0) or None
            with tqdm(total=size, unit="B", unit_scale=True, desc=target.name, disable=None) as bar:
                while chunk := response.read(1 << 20):
                    out.write(chunk)
                    bar.update(len(chunk))
    except (urllib.error.URLError, OSError, ValueError) as error:
        partial_path.unlink(missing_ok=True)
        raise _missing(url, target, f"download failed ({error})", note, raw) from None
    if size is not None and partial_path.stat().st_size != size:
        got = partial_path.stat().st_size
        partial_path.unlink()
        raise _missing(url, target, f"download truncated ({got} of {size} bytes)", note, raw)
    partial_path.replace(target)
    return target


def extract(archive: Path, into: Path, member: str = "") -> None:
    """Unpacks a .tgz/.tar/.zip archive or a single .gz file into ``into``; a damaged file stops here.

    ``member`` is the wanted file's path inside the archive: the name a single .gz unpacks to
    (archives keep their own names, so they need none).

    Unpacking goes to a scratch folder first, so an interrupted run leaves no half-written file
    that a later run would take for complete.
    """
    scratch = into / f".extracting-{archive.name}"
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    print(f"extracting {archive}")
    try:
        if archive.name.endswith((".tgz", ".tar.gz", ".tar")):
            with tarfile.open(archive) as tar:
                tar.extractall(scratch, filter="data")
        elif archive.name.endswith(".zip"):
            with zipfile.ZipFile(archive) as zf:
                zf.extractall(scratch)
        elif archive.name.endswith(".gz"):
            with gzip.open(archive, "rb") as src, open(scratch / Path(member).name, "wb") as out:
                shutil.copyfileobj(src, out)
        else:
            raise PreparationError(f"do not know how to unpack {archive}")
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, zlib.error, gzip.BadGzipFile) as error:
        shutil.rmtree(scratch, ignore_errors=True)
        raise PreparationError(
            f"{archive} is damaged or truncated ({error}).\n"
            f"Delete it and run this again to download it anew, or replace it with a complete copy.") from None
    for path in sorted(scratch.rglob("*")):  # merged file by file: archives share folders ("training/")
        if path.is_file():
            destination = into / path.relative_to(scratch)
            destination.parent.mkdir(parents=True, exist_ok=True)
            path.replace(destination)
    shutil.rmtree(scratch)


# fairseq's prepare-iwslt14.sh drops these metadata lines of train.tags.* and keeps the text of
# <title> and <description>.
TAG_LINES = ("<url>", "<talkid>", "<keywords>")
TAGS = re.compile(r"</?(title|description)>")
SEGMENT = re.compile(r'<seg id="?[0-9]*"?>\s*(.*?)\s*</seg>')


def read_corpus(path: Path, form: str) -> Iterator[str]:
    """The text lines of one corpus file, as the recipes' shell pipelines extracted them."""
    if form == "plain":
        yield from read_lines(path)
    elif form == "tags":
        for line in read_lines(path):
            if not any(tag in line for tag in TAG_LINES):
                yield TAGS.sub("", line)
    elif form == "segments":
        for line in read_lines(path):
            match = SEGMENT.search(line)
            if match:
                yield match.group(1).replace("\u2019", "'")
    else:
        raise ValueError(f"unknown corpus form {form!r}")
