"""Timing and reporting shared by every benchmark suite."""
import json
import os
import platform
import random
import shlex
import statistics
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence

import torch

REPO = Path(__file__).resolve().parents[1]


@contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Runs the block with ``n`` intra-op threads, then restores the previous count."""
    previous = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def median_seconds(fn: Callable[[], Any], repeats: int = 5, warmup: int = 1) -> float:
    """Median wall time of ``repeats`` calls of ``fn`` after ``warmup`` untimed ones."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def interleaved_medians(fns: Dict[str, Callable[[], Any]], repeats: int = 5,
                        warmup: int = 1) -> Dict[str, float]:
    """Median seconds of each function, the runs interleaved (a, b, c, c, a, b, ...) so that a
    burst of load from elsewhere on the machine hits every contender alike. Each round runs them in
    a new order (seeded), so no contender always follows the same one and pays for what that one
    left behind: evicted caches, memory handed back to the system and faulted in again."""
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    times: Dict[str, List[float]] = {name: [] for name in fns}
    order = random.Random(0)
    for _ in range(repeats):
        for name in order.sample(list(fns), len(fns)):
            start = time.perf_counter()
            fns[name]()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(ts) for name, ts in times.items()}


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(map(str, header)) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(map(str, row)) + " |" for row in rows]
    return "\n".join(lines)


@dataclass
class Report:
    """What one suite measured: rows for the JSON, Markdown for people, notes on the conditions."""
    name: str
    rows: List[Dict[str, Any]]
    markdown: str
    settings: Dict[str, Any] = field(default_factory=dict)

    def write(self, results_dir: Path, command: Sequence[str]) -> List[Path]:
        """Writes ``bench-<name>.json`` and ``bench-<name>.md``, with the command relative to the
        checkout and the machine it ran on."""
        results_dir.mkdir(parents=True, exist_ok=True)
        machine = {"python": platform.python_version(), "torch": torch.__version__,
                   "cpu": platform.processor() or platform.machine(),
                   "cores": _cores()}
        record = {"suite": self.name, "command": shlex.join(command), "machine": machine,
                  "date": time.strftime("%Y-%m-%d %H:%M:%S"), "settings": self.settings,
                  "rows": self.rows}
        json_path = results_dir / f"bench-{self.name}.json"
        md_path = results_dir / f"bench-{self.name}.md"
        json_path.write_text(json.dumps(record, indent=2) + "\n")
        md_path.write_text(f"# Benchmark: {self.name}\n\nCommand: `{shlex.join(command)}`\n\n"
                           f"{self.markdown}\n")
        return [json_path, md_path]


def _cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def relative_command(argv: Optional[Sequence[str]] = None) -> List[str]:
    """The benchmark command line (``argv``, default this process's) as a user would type it
    from the checkout."""
    return ["python", "-m", "benchmarks", *(sys.argv[1:] if argv is None else argv)]
