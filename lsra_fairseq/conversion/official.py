"""``lsra-import-official``: official Lite Transformer checkpoints (fairseq 0.8) as current ones.

An official checkpoint is a dict with ``args`` (an ``argparse.Namespace``), ``model`` (the state
dict), optimizer state and the trainer's ``extra_state``. It is read with torch's safe unpickler,
which admits besides tensors and containers only the Namespace and, by name, the official weight
initialiser that IWSLT configs leave in ``args.ffn_init`` and fairseq 0.8's training meters
(``official_meters``: inert stand-ins); any other object is refused unread. The result is an ordinary current
fairseq checkpoint (``cfg`` + ``model``) of our ``lite_transformer`` (``lite_transformer_lm`` for
language models); translation models get ``official_padding``, so they compute what the official
code computes.
"""
import argparse
import re
import shlex
from argparse import Namespace
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import torch
from fairseq.dataclass import FairseqDataclass
from fairseq.dataclass.configs import FairseqConfig
from fairseq.models import MODEL_DATACLASS_REGISTRY, build_model
from fairseq.tasks.language_modeling import LanguageModelingConfig
from fairseq.tasks.translation import TranslationConfig
from omegaconf import OmegaConf

from ..builder import DictionaryTask
from ..checkpoint_compat import allow_fairseq_checkpoints
from ..commands import as_flags
from ..models.lite_transformer import LiteTransformerConfig
from ..models.lite_transformer_lm import LiteTransformerLMConfig
from .official_args import (LM_TASK_FIELDS, TRANSLATION_TASK_FIELDS, OfficialCheckpointError, lm_options,
                            official_task, task_options, translation_options)
from .official_meters import STAND_INS
from .official_weights import map_state_dict

# Official weight initialisers that checkpoints pickle by name inside ``args``.
OFFICIAL_INITIALISERS = ("fairseq.models.transformer_multibranch_v2.ratio_xavier_uniform_",)


def official_initialiser(tensor):
    """Stands in for an official initialiser found in ``args``: it only initialised training, and
    an imported model starts from its trained weights, so it is never called."""
    raise RuntimeError("the official weight initialiser is not available; imported models start "
                       "from their trained weights")


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def load_official(path) -> Dict[str, Any]:
    """Reads a file with the safe unpickler; errors say why it is not a readable checkpoint."""
    allow_fairseq_checkpoints()  # the Namespace, allowed for good as the plugin does
    # Scoped: leaving the context removes these entries again (so the Namespace must not be one).
    initialisers = [(official_initialiser, name) for name in OFFICIAL_INITIALISERS]
    try:
        with torch.serialization.safe_globals(initialisers + STAND_INS):
            return torch.load(path, map_location="cpu", weights_only=True)
    except OSError as e:
        raise OfficialCheckpointError(f"{path}: {e.strerror or e}") from None
    except Exception as e:  # torch.load reports damaged files with many exception types
        refused = re.search(r"GLOBAL ([\w.]+)", str(e)) if "Weights only load failed" in str(e) else None
        if refused:
            raise OfficialCheckpointError(
                f"{path} holds {refused.group(1)}, which no official Lite Transformer checkpoint "
                f"holds, so it was not unpickled") from None
        raise OfficialCheckpointError(f"{path} is not a readable PyTorch checkpoint (truncated or "
                                      f"corrupt?): {type(e).__name__}: {_first_line(e)}") from None


def check_official(state: Any) -> Tuple[Namespace, Dict[str, torch.Tensor]]:
    """The ``args`` and state dict of an official checkpoint, or an error saying what it is instead."""
    if not isinstance(state, dict):
        raise OfficialCheckpointError(f"the file holds a {type(state).__name__}, not a checkpoint dict")
    args = state.get("args")
    if args is None:
        if state.get("cfg") is not None:
            raise OfficialCheckpointError(
                "this is a current fairseq checkpoint ('cfg', no 'args'), not an official Lite "
                "Transformer one (fairseq 0.8); current checkpoints load without import")
        raise OfficialCheckpointError(f"the checkpoint has no 'args' (keys: {sorted(state)})")
    if not isinstance(args, Namespace):
        raise OfficialCheckpointError(f"'args' is a {type(args).__name__}, not an argparse.Namespace")
    weights = state.get("model")
    if not isinstance(weights, dict) or not all(isinstance(t, torch.Tensor) for t in weights.values()):
        raise OfficialCheckpointError("'model' is not a state dict (a dict of tensors)")
    return args, weights


def table_rows(weights: Dict[str, torch.Tensor], key: str) -> int:
    if key not in weights:
        raise OfficialCheckpointError(f"the state dict lacks {key}")
    return weights[key].size(0)


def vocabulary_size(weights: Dict[str, torch.Tensor]) -> int:
    """The LM's dictionary size: the rows of its embedding, or of all its adaptive-input bands."""
    bands = [t for key, t in weights.items()
             if re.fullmatch(r"decoder\.embed_tokens\.embeddings\.\d+\.0\.weight", key)]
    return sum(t.size(0) for t in bands) if bands else table_rows(weights, "decoder.embed_tokens.weight")


def translation_parts(args: Namespace, weights: Dict[str, torch.Tensor]):
    """Model config, task config, and dictionaries of the checkpoint's sizes (official checkpoints
    hold no dictionaries; the real ones come with the data directory, as usual)."""
    options = translation_options(args)
    task_cfg = TranslationConfig(**task_options(args, TRANSLATION_TASK_FIELDS))
    joined = options["share_all_embeddings"]
    dictionaries = DictionaryTask(table_rows(weights, "encoder.embed_tokens.weight"),
                                  None if joined else table_rows(weights, "decoder.embed_tokens.weight"),
                                  joined=joined)
    return LiteTransformerConfig(**options), task_cfg, dictionaries


def language_model_parts(args: Namespace, weights: Dict[str, torch.Tensor]):
    task_cfg = LanguageModelingConfig(**task_options(args, LM_TASK_FIELDS))
    dictionaries = DictionaryTask(vocabulary_size(weights), joined=True)
    return LiteTransformerLMConfig(**lm_options(args)), task_cfg, dictionaries


# official task -> (our model, how to build its parts)
CONVERSIONS = {"translation": ("lite_transformer", translation_parts),
               "language_modeling": ("lite_transformer_lm", language_model_parts)}


def fairseq_config(model: FairseqDataclass, model_name: str, task: FairseqDataclass,
                   task_name: str) -> Dict[str, Any]:
    """A complete current fairseq configuration as plain containers (what fairseq-train saves)."""
    model._name, task._name = model_name, task_name
    cfg = OmegaConf.structured(FairseqConfig)
    cfg.model, cfg.task = model, task
    return OmegaConf.to_container(cfg, resolve=True, enum_to_str=True)


def convert_official(state: Any) -> Tuple[Dict[str, Any], torch.nn.Module]:
    """The configuration and the loaded model of an official checkpoint (already read)."""
    args, weights = check_official(state)
    task_name = official_task(args)  # or an error: not a Lite Transformer architecture
    model_name, parts = CONVERSIONS[task_name]
    try:
        model_cfg, task_cfg, dictionaries = parts(args, weights)
        cfg = fairseq_config(model_cfg, model_name, task_cfg, task_name)
        model = build_model(OmegaConf.create(cfg["model"]), dictionaries)
    except OfficialCheckpointError:
        raise
    except ValueError as e:  # includes BranchSpecError and OmegaConf's validation errors
        raise OfficialCheckpointError(f"the official args describe a model we cannot build: {e}") from None
    model.load_state_dict(map_state_dict(weights, model), strict=True)
    return cfg, model


def import_official(in_path, out_path) -> Dict[str, Any]:
    """Converts the official checkpoint ``in_path`` and writes ours to ``out_path``.

    Returns what the command line reports: the official arch, the tensor count, the options.
    The optimizer state stays behind: fine-tuning starts a fresh optimizer.
    """
    state = load_official(in_path)
    try:
        cfg, model = convert_official(state)
    except OfficialCheckpointError as e:
        raise OfficialCheckpointError(f"{in_path}: {e}") from None
    history = state.get("optimizer_history") or [{}]
    num_updates = history[-1].get("num_updates", 0) if isinstance(history[-1], dict) else 0
    model_state = model.state_dict()
    torch.save({
        "cfg": cfg, "args": None, "model": model_state,
        "optimizer_history": [{"criterion_name": None, "optimizer_name": None,
                               "lr_scheduler_state": {}, "num_updates": num_updates}],
        "extra_state": {"train_iterator": {"epoch": 1, "iterations_in_epoch": 0},
                        "imported_from": {"file": Path(in_path).name, "arch": state["args"].arch}},
        "last_optimizer_state": None,
    }, out_path)
    return {"arch": state["args"].arch, "tensors": len(model_state), "model": cfg["model"],
            "task": cfg["task"]}


def model_flags(model_cfg: Dict[str, Any]) -> List[str]:
    """The fairseq-train flags (``--arch <our model>`` + options) that build this model."""
    defaults = MODEL_DATACLASS_REGISTRY[model_cfg["_name"]]()
    changed = {name.replace("_", "-"): value for name, value in model_cfg.items()
               if not name.startswith("_") and value != getattr(defaults, name)}
    return ["--arch", model_cfg["_name"], *as_flags(changed)]


def usage(output: str, summary: Dict[str, Any]) -> List[str]:
    """Command lines that use the imported checkpoint (DATA: the user's binarized data)."""
    task = summary["task"]
    common = ["--user-dir", "user_dir", "--path", output]
    if task["_name"] == "translation":
        use = ["fairseq-generate", "DATA", *common, "-s", task["source_lang"], "-t", task["target_lang"],
               "--beam", "4", "--remove-bpe"]
    else:
        use = ["fairseq-eval-lm", "DATA", *common, "--tokens-per-sample", str(task["tokens_per_sample"])]
    tune = ["fairseq-train", "DATA", "--user-dir", "user_dir", "--task", task["_name"],
            "--finetune-from-model", output, *model_flags(summary["model"])]
    return [shlex.join(use), shlex.join(tune)]


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(
        prog="lsra-import-official",
        description="Convert an official Lite Transformer checkpoint (mit-han-lab/lite-transformer, "
                    "fairseq 0.8) into an lsra-fairseq checkpoint for current fairseq.")
    parser.add_argument("official", help="official checkpoint (.pt)")
    parser.add_argument("output", help="where to write the converted checkpoint")
    options = parser.parse_args(argv)
    if Path(options.official).resolve() == Path(options.output).resolve():
        parser.error("the output would overwrite the official checkpoint; choose another path")
    try:
        summary = import_official(options.official, options.output)
    except OfficialCheckpointError as e:
        parser.exit(2, f"{parser.prog}: error: {e}\n")
    print(f"imported {summary['arch']} -> {options.output} ({summary['model']['_name']}, "
          f"{summary['tensors']} tensors; optimizer state left behind)")
    use, tune = usage(options.output, summary)
    print(f"use:       {use}\nfine-tune: {tune}")
