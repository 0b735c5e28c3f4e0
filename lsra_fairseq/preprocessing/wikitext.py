"""WikiText-103 (or -2) for language modeling: the word-level ``.tokens`` files, binarized as is.

``lsra-prepare wikitext103`` (``make prepare-wikitext103``), as fairseq's
``examples/language_model/prepare-wikitext-103.sh``, which the paper's language model used (Table
5): no further tokenization, one dictionary from the training split (``fairseq-preprocess
--only-source``). The files come from a local copy (``--raw``: a folder holding
``wiki.{train,valid,test}.tokens``, directly or under ``wikitext-103/``, or the release's zip) or
else from the official address.
"""
import shutil
import subprocess
from pathlib import Path
from typing import Dict, Optional

from ..commands import fairseq_command
from .lines import default_workers
from .sources import PreparationError, check_local_copy, download, extract

SPLITS = ("train", "valid", "test")
URL = "https://wikitext.smerity.com/wikitext-103-v1.zip"
NOTE = ("WikiText-103 (Merity et al. 2016) was first published at "
        "https://s3.amazonaws.com/research.metamind.io/wikitext/wikitext-103-v1.zip; the Hugging Face "
        "dataset Salesforce/wikitext (config wikitext-103-v1) holds the same text. Any copy with "
        "wiki.train.tokens, wiki.valid.tokens and wiki.test.tokens will do.")


def find_tokens(folder: Path) -> Optional[Dict[str, Path]]:
    """``{split: path}`` when ``folder`` (or a ``wikitext-*`` folder inside it) has all three files."""
    for root in [folder, *sorted(folder.glob("wikitext-*"))]:
        files = {split: root / f"wiki.{split}.tokens" for split in SPLITS}
        if all(path.is_file() for path in files.values()):
            return files
    return None


def locate(work: Path, raw: Optional[Path]) -> Dict[str, Path]:
    """The three ``.tokens`` files: in the local copy, extracted before, or from the release's zip."""
    archive = None
    if check_local_copy(raw) is not None:
        if raw.is_dir():
            found = find_tokens(raw)
            if found is not None:
                return found
            zips = sorted(raw.glob("wikitext-*.zip"))
            if not zips:
                raise PreparationError(f"{raw} holds neither wiki.{{train,valid,test}}.tokens nor a "
                                       f"wikitext-*.zip")
            archive = zips[0]
        else:
            archive = raw
    if find_tokens(work) is None:
        extract(archive or download(URL, work / Path(URL).name, NOTE), work)
    found = find_tokens(work)
    if found is None:
        raise PreparationError(f"no wiki.{{train,valid,test}}.tokens in {archive or URL}")
    return found


def binarize_lm(files: Dict[str, Path], dest: Path, workers: Optional[int] = None) -> None:
    command = fairseq_command("preprocess", "--only-source", "--trainpref", files["train"],
                              "--validpref", files["valid"], "--testpref", files["test"], "--destdir", dest,
                              "--workers", default_workers(workers))
    subprocess.run(command, check=True)


def prepare(work: Path, dest: Path, raw: Optional[Path] = None, workers: Optional[int] = None) -> Path:
    work.mkdir(parents=True, exist_ok=True)
    files = locate(work, raw)
    if (dest / "dict.txt").is_file() and (dest / "test.bin").is_file():
        print(f"[wikitext103] {dest} is binarized already; delete it to prepare again")
        return dest
    scratch = dest.with_name(dest.name + ".part")
    shutil.rmtree(scratch, ignore_errors=True)
    binarize_lm(files, scratch, workers)
    shutil.rmtree(dest, ignore_errors=True)
    scratch.replace(dest)
    print(f"[wikitext103] ready: {dest}")
    return dest

