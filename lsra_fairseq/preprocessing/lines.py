"""Line-oriented file helpers shared by the preprocessing steps."""
import gzip
import os
from functools import partial
from multiprocessing import Pool
from pathlib import Path
from typing import Callable, Iterable, Iterator, Optional

from tqdm import tqdm

BATCH_LINES = 100_000  # lines handed to the worker pool at a time: bounded memory on 36M-line corpora


def default_workers(workers: Optional[int] = None) -> int:
    """``workers`` if given, else every core (``--workers`` left out)."""
    return workers or os.cpu_count() or 1


def open_text(path: Path, mode: str = "rt"):
    """Opens UTF-8 text, gzip-compressed when the name ends in .gz (giga-fren ships that way)."""
    opener = gzip.open if str(path).endswith(".gz") else open
    return opener(path, mode, encoding="utf-8", newline="\n")


def read_lines(path: Path) -> Iterator[str]:
    with open_text(path) as f:
        for line in f:
            yield line.rstrip("\n")


def count_lines(path: Path) -> int:
    with open_text(path) as f:
        return sum(1 for _ in f)


def write_lines(path: Path, lines: Iterable[str]) -> int:
    """Writes through a temporary name, so an interrupted step never leaves a complete-looking file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial_path = path.with_name(path.name + ".part")
    count = 0
    with open_text(partial_path, "wt") as f:
        for line in lines:
            f.write(line + "\n")
            count += 1
    partial_path.replace(path)
    return count


def _apply_batch(function: Callable[[str], str], batch):
    return [function(line) for line in batch]


def _batches(lines: Iterable[str], size: int) -> Iterator[list]:
    batch = []
    for line in lines:
        batch.append(line)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def map_lines(function: Callable[[str], str], lines: Iterable[str], total: Optional[int] = None,
              desc: str = "", workers: Optional[int] = None) -> Iterator[str]:
    """``function`` over every line, in order, on ``workers`` processes, with a progress bar.

    ``function`` must be picklable (a module-level function or a partial of one).
    """
    workers = default_workers(workers)
    chunk = max(1, BATCH_LINES // (workers * 4))
    with tqdm(total=total, desc=desc, unit=" lines", mininterval=2, disable=None) as bar:
        if workers == 1:
            for line in lines:
                bar.update()
                yield function(line)
            return
        with Pool(workers) as pool:
            for batch in _batches(lines, BATCH_LINES):
                pieces = [batch[i:i + chunk] for i in range(0, len(batch), chunk)]
                for done in pool.imap(partial(_apply_batch, function), pieces):
                    bar.update(len(done))
                    yield from done
