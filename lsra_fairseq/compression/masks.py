"""Fine-grained (per-weight) magnitude pruning masks, and the file that carries them.

A mask is a bool tensor, True where the weight is kept. The masks file records which model it was
made for (parameter names and shapes), so fine-tuning or packing another model stops with a clear
error instead of silently pruning the wrong weights.
"""
from pathlib import Path
from typing import Dict, Iterable, List, Tuple

import torch
from torch import Tensor, nn

MASKS_FORMAT = "lsra-prune-masks"
MASKS_VERSION = 1


class MasksError(ValueError):
    """A masks file that does not fit the model, or is not a masks file."""


def magnitude_mask(weight: Tensor, sparsity: float) -> Tensor:
    """Keeps the largest-magnitude ``1 - sparsity`` of the weights (ties broken by position)."""
    if not 0 <= sparsity < 1:
        raise ValueError(f"sparsity {sparsity} outside [0, 1)")
    pruned = int(round(sparsity * weight.numel()))
    mask = torch.ones(weight.numel(), dtype=torch.bool)
    if pruned:
        mask[weight.detach().abs().reshape(-1).argsort(stable=True)[:pruned]] = False
    return mask.reshape(weight.shape)


def prunable_parameters(model: nn.Module) -> List[Tuple[str, nn.Parameter]]:
    """The weight matrices of Linear and Embedding modules, each once (tied weights share a name)."""
    seen, found = set(), []
    for module_name, module in model.named_modules():
        if isinstance(module, (nn.Linear, nn.Embedding)) and id(module.weight) not in seen:
            seen.add(id(module.weight))
            found.append((f"{module_name}.weight" if module_name else "weight", module.weight))
    return found


def embedding_parameter_names(model: nn.Module) -> List[str]:
    """Names of the embedding tables, which the paper's size leaves out (the output matrix, tied to one, too)."""
    tables = {id(m.weight) for m in model.modules() if isinstance(m, nn.Embedding)}
    return [name for name, p in model.named_parameters(remove_duplicate=False) if id(p) in tables]


def apply_masks(parameters: Iterable[Tuple[Tensor, Tensor]]) -> None:
    """Sets the pruned weights to exactly +0.0, in place."""
    with torch.no_grad():
        for weight, mask in parameters:
            weight.masked_fill_(~mask.to(weight.device), 0.0)


def save_masks(masks: Dict[str, Tensor], path: Path, **info) -> Path:
    torch.save({"format": MASKS_FORMAT, "version": MASKS_VERSION, "masks": masks, "info": info}, str(path))
    return path


def load_masks(path: Path) -> Dict[str, Tensor]:
    path = Path(path)
    if not path.is_file():
        raise MasksError(f"masks file {path} does not exist; write one with `lsra-compress prune`")
    try:
        saved = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as e:  # truncated, foreign, or not a torch file at all
        raise MasksError(f"{path} cannot be read as a masks file ({e}); write it again with "
                         f"`lsra-compress prune`") from e
    if not isinstance(saved, dict) or saved.get("format") != MASKS_FORMAT:
        raise MasksError(f"{path} is not a masks file of `lsra-compress prune`")
    if saved["version"] > MASKS_VERSION:
        raise MasksError(f"{path} has masks format version {saved['version']}; this lsra-fairseq reads "
                         f"up to {MASKS_VERSION}: update lsra-fairseq")
    return saved["masks"]


def bind_masks(masks: Dict[str, Tensor], model: nn.Module) -> List[Tuple[nn.Parameter, Tensor]]:
    """(parameter, mask) pairs; names or shapes that do not match the model stop here."""
    parameters = dict(model.named_parameters(remove_duplicate=False))
    missing = [name for name in masks if name not in parameters]
    if missing:
        raise MasksError(f"the masks name parameters the model does not have: {', '.join(missing[:5])}"
                         f"{' ...' if len(missing) > 5 else ''}; they were made for another model")
    wrong = [f"{name} {tuple(mask.shape)} vs {tuple(parameters[name].shape)}"
             for name, mask in masks.items() if mask.shape != parameters[name].shape]
    if wrong:
        raise MasksError(f"mask shapes do not match the model: {'; '.join(wrong[:5])}")
    return [(parameters[name], mask.bool()) for name, mask in masks.items()]


def sparsity(masks: Dict[str, Tensor]) -> float:
    total = sum(m.numel() for m in masks.values())
    return 1 - sum(int(m.sum()) for m in masks.values()) / total if total else 0.0
