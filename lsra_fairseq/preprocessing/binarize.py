"""fairseq-preprocess with the paper's dictionary options (separate for IWSLT, joined for WMT)."""
import subprocess
from pathlib import Path
from typing import Optional

from ..commands import fairseq_command
from .lines import default_workers


def binarize(src: str, tgt: str, text_dir: Path, destdir: Path, joined_dictionary: bool,
             workers: Optional[int] = None) -> None:
    """Binarizes ``text_dir/{train,valid,test}.{src,tgt}`` into ``destdir``."""
    command = fairseq_command("preprocess", "--source-lang", src, "--target-lang", tgt,
                              "--trainpref", text_dir / "train", "--validpref", text_dir / "valid",
                              "--testpref", text_dir / "test", "--destdir", destdir,
                              "--workers", default_workers(workers))
    if joined_dictionary:
        command.append("--joined-dictionary")
    subprocess.run(command, check=True)
