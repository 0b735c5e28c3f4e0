"""``lsra-prepare DATASET``: every dataset of the recipes, from its raw text to fairseq binaries.

``PREPARATIONS`` is the table of datasets: translation (one ``DatasetSettings`` row of
``datasets.DATASETS`` each), CNN-DailyMail summarization (``cnndm``) and WikiText-103 language
modeling (``wikitext103``). Each preparation records its finished steps under ``<work>/.done/``; a
rerun skips them, so an interrupted preparation resumes where it stopped (delete the work folder
to start over).
"""
import argparse
import sys
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Callable, Optional

from . import cnndm, translation, wikitext
from .datasets import DATASET_ALIASES, DATASETS
from .sources import PreparationError


@dataclass(frozen=True)
class Preparation:
    """How one dataset is made: ``prepare(work, dest, raw, workers[, bpe_merges])`` -> ``dest``."""
    prepare: Callable[..., Path]
    bpe_merges: Optional[int]  # the paper's number of BPE merges; None: word-level, no BPE


PREPARATIONS = {
    **{name: Preparation(partial(translation.prepare, settings), settings.bpe_merges)
       for name, settings in DATASETS.items()},
    "cnndm": Preparation(cnndm.prepare, cnndm.BPE_MERGES),
    "wikitext103": Preparation(wikitext.prepare, None),
}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dataset", choices=sorted([*PREPARATIONS, *DATASET_ALIASES]))
    parser.add_argument("--raw", type=Path, help="a local copy of the raw corpora (archives or extracted "
                                                  "files); needed for cnndm, which cannot be downloaded")
    parser.add_argument("--work", type=Path, help="intermediate files (default data/DATASET)")
    parser.add_argument("--dest", type=Path, help="binarized dataset (default data-bin/DATASET)")
    parser.add_argument("--workers", type=int, help="processes for tokenization, BPE and binarizing "
                                                    "(default: all cores)")
    parser.add_argument("--bpe-merges", type=int, help="override the dataset's number of BPE merges")
    args = parser.parse_args(argv)
    dataset = DATASET_ALIASES.get(args.dataset, args.dataset)
    preparation = PREPARATIONS[dataset]
    options = {}
    if preparation.bpe_merges is None:
        if args.bpe_merges:
            parser.error(f"{dataset} is word-level: it takes no --bpe-merges")
    else:
        options["bpe_merges"] = args.bpe_merges or preparation.bpe_merges
    try:
        preparation.prepare(args.work or Path("data") / dataset, args.dest or Path("data-bin") / dataset,
                            args.raw, args.workers, **options)
    except PreparationError as error:
        print(f"lsra-prepare {dataset}: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
