"""One JSON file per evaluated run under ``results/``, so every reported figure keeps its command."""
import json
import sys
import time
from pathlib import Path
from typing import Any, Dict, Optional, Sequence

from ..commands import recorded_command


def write_result(results_dir: str, dataset: str, model: str, metrics: Dict[str, Any],
                 command: Optional[Sequence[str]] = None, **fields: Any) -> Path:
    """Writes ``results/<dataset>-<model>.json`` (overwriting an earlier run of the same pair).

    ``command`` defaults to this process's own command line; paths inside the checkout are
    recorded relative to it.
    """
    record = {"dataset": dataset, "model": model, **fields, **metrics,
              "command": recorded_command(command if command is not None else sys.argv),
              "date": time.strftime("%Y-%m-%d %H:%M:%S")}
    path = Path(results_dir) / f"{dataset}-{model}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=2) + "\n")
    return path
