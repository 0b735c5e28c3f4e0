"""Named preparation steps that run once: a stamp under ``<work>/.done/`` marks each finished one,
so an interrupted preparation resumes after its last finished step."""
from pathlib import Path
from typing import Callable


class Steps:
    def __init__(self, work: Path, label: str):
        self.stamps, self.label = work / ".done", label

    def run(self, name: str, action: Callable[[], object]) -> None:
        stamp = self.stamps / name
        if stamp.exists():
            print(f"[{self.label}] {name}: done before, skipped")
            return
        print(f"[{self.label}] {name}", flush=True)
        action()
        stamp.parent.mkdir(parents=True, exist_ok=True)
        stamp.touch()
