"""``lsra-train CONFIG MODEL``: fairseq-train with a recipe's YAML hyperparameters.

A recipe config (``examples/<dataset>/train.yaml``) holds the fairseq-train flags shared by its
models (``fairseq:``), each model's own flags (``models:``) and the batch the paper's updates saw
(``tokens_per_update``), optionally on top of a ``base:`` config. The update frequency follows
from the number of GPUs so that every update still sees that many tokens. Flags given after the
known options go to fairseq-train unchanged and win over the config (e.g. ``--cpu``,
``--max-update 100``, ``--stop-time-hours 0.2``).
"""
import argparse
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import yaml

from .binarized_check import check_binarized
from .commands import as_flags, fairseq_command


def read_config(path: Path) -> Dict:
    """A recipe config; ``base: other.yaml`` (relative to it) supplies what it leaves out.

    ``fairseq`` flags merge (the config's own win); ``models`` and ``tokens_per_update`` replace.
    """
    config = yaml.safe_load(path.read_text())
    if "base" not in config:
        return config
    base = read_config(path.parent / config.pop("base"))
    return {**base, **config, "fairseq": {**base.get("fairseq", {}), **config.get("fairseq", {})}}


def load_config(path: Path, model: str) -> Tuple[Dict, int]:
    """The flags for ``model`` (shared ones first, the model's own override them) and tokens per update."""
    config = read_config(path)
    models = config.get("models", {})
    if model not in models:
        raise SystemExit(f"{path} has no model {model!r}; it has: {', '.join(models)}")
    return {**config.get("fairseq", {}), **(models[model] or {})}, int(config["tokens_per_update"])


def batch_split(tokens_per_update: int, max_tokens: int, gpus: int) -> Tuple[int, int]:
    """(max tokens per GPU batch, update frequency) so that an update sees ~tokens_per_update tokens."""
    if max_tokens * gpus >= tokens_per_update:
        return tokens_per_update // gpus, 1
    return max_tokens, round(tokens_per_update / (max_tokens * gpus))


def gpu_count(extra: List[str]) -> int:
    if "--cpu" in extra:
        return 1
    import torch
    return max(1, torch.cuda.device_count())


def train_command(config: Path, model: str, data: Path, run_dir: Path, extra: List[str],
                  gpus: Optional[int] = None, max_tokens: Optional[int] = None) -> List[str]:
    options, tokens_per_update = load_config(config, model)
    gpus = gpus or gpu_count(extra)
    options["max-tokens"], options["update-freq"] = batch_split(
        tokens_per_update, max_tokens or int(options.get("max-tokens", tokens_per_update)), gpus)
    print(f"{gpus} process(es) x {options['max-tokens']} tokens x update-freq {options['update-freq']}"
          f" = {gpus * options['max-tokens'] * options['update-freq']} tokens per update"
          f" (the config asks for {tokens_per_update})")
    return fairseq_command("train", data, *as_flags(options), "--save-dir", run_dir,
                           "--log-file", run_dir / "train.log", *extra)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config", type=Path, help="examples/<dataset>/train.yaml")
    parser.add_argument("model", help="a key of the config's models: section")
    parser.add_argument("--data", type=Path, required=True, help="binarized dataset (data-bin/<dataset>)")
    parser.add_argument("--run-dir", type=Path, required=True, help="checkpoints and train.log go here")
    parser.add_argument("--gpus", type=int, help="default: the visible GPUs (1 with --cpu)")
    parser.add_argument("--max-tokens", type=int, help="tokens per GPU batch (the update frequency adapts)")
    args, extra = parser.parse_known_args(argv)
    if not any(args.data.glob("dict*.txt")):
        raise SystemExit(f"no binarized dataset at {args.data} (no dict*.txt in it): prepare it first, "
                         f"e.g. make prepare-<dataset>")
    check_binarized(args.data)
    command = train_command(args.config, args.model, args.data, args.run_dir, extra, args.gpus, args.max_tokens)
    args.run_dir.mkdir(parents=True, exist_ok=True)
    (args.run_dir / "train_command.txt").write_text(shlex.join(command) + "\n")
    print(shlex.join(command), flush=True)
    return subprocess.run(command).returncode


if __name__ == "__main__":
    sys.exit(main())
