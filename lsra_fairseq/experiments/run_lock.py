"""A lock per training run, so that several ``lsra-table`` processes can share one table: on a
machine with N cores, N single-thread processes finish a table about N times sooner than one, and
each trains only the runs no other process holds.

The lock is the kernel's (``flock`` on a file in the run's folder): it goes with the process that
holds it, however that process ends, so there is never a stale lock to clear by hand.
"""
import fcntl
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

LOCK_NAME = "lsra-table.lock"


@contextmanager
def holding(run_dir: Path) -> Iterator[bool]:
    """Yields True with ``run_dir`` locked for this process until the block ends, False when
    another process holds it (the lock file then names that process)."""
    run_dir.mkdir(parents=True, exist_ok=True)
    with open(run_dir / LOCK_NAME, "a+") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        lock.truncate(0)
        lock.write(f"{os.getpid()}\n")
        lock.flush()
        try:
            yield True
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def holder(run_dir: Path) -> str:
    """Who holds ``run_dir`` (for messages): the process id its lock file names."""
    try:
        return f"process {(run_dir / LOCK_NAME).read_text().strip()}"
    except OSError:
        return "another process"
