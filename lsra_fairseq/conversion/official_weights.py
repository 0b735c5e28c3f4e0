"""Official state-dict keys -> ours, with every tensor accounted for.

One table says where each official tensor goes. The mapping is strict in both directions: a
source tensor that lands nowhere, a target tensor left unfilled, a target filled twice or a shape
that does not fit is an error naming the keys, so no weight is silently dropped or invented.
Tied target tensors (shared embeddings) may be filled by several official copies, which must agree.
"""
import re
from typing import Dict, List, Optional

from torch import Tensor, nn

from .official_args import OfficialCheckpointError

# (official key pattern, our key template); the first matching row wins. A template of None marks
# a buffer that carries no weights and that our modules recompute (fairseq 0.8's state-dict version
# markers and the sinusoidal-position caches).
KEY_MAP = [
    (r"^(encoder|decoder)\.version$", None),
    (r"^(encoder|decoder)\.embed_positions\.(_float_tensor|weights)$", None),
    (r"^decoder\.embed_out$", r"decoder.output_projection.weight"),
    # Conv branches: the convolution's own weights live one module deeper in ours. Early official
    # checkpoints spell "branches" as "branchs".
    (r"^(.*)\.branche?s\.(\d+)\.(weight|weight_linear\.weight)$", r"\1.branches.\2.conv.\3"),
    (r"^(.*)\.branche?s\.(\d+)\.(.*)$", r"\1.branches.\2.\3"),
    (r"^(.*)$", r"\1"),
]
_COMPILED = [(re.compile(pattern), template) for pattern, template in KEY_MAP]
MAX_LISTED = 10


def our_key(official_key: str) -> Optional[str]:
    for pattern, template in _COMPILED:
        match = pattern.match(official_key)
        if match:
            return None if template is None else match.expand(template)
    raise AssertionError("the last KEY_MAP row matches every key")


def fit_shape(tensor: Tensor, shape) -> Optional[Tensor]:
    """The tensor in ``shape``, when they differ at most by singleton dims (the lightweight taps are
    H x 1 x K officially, H x K here; dropping a size-1 dim never reorders data), else None."""
    if tuple(tensor.shape) == tuple(shape):
        return tensor
    if [d for d in tensor.shape if d != 1] == [d for d in shape if d != 1]:
        return tensor.reshape(shape)
    return None


def _listing(what: str, items: List[str]) -> str:
    shown = "; ".join(items[:MAX_LISTED])
    more = f"; and {len(items) - MAX_LISTED} more" if len(items) > MAX_LISTED else ""
    return f"{len(items)} {what}: {shown}{more}"


def map_state_dict(official: Dict[str, Tensor], model: nn.Module) -> Dict[str, Tensor]:
    """Our state dict for ``model`` from the official one, or an error listing every mismatch."""
    targets = model.state_dict(keep_vars=True)
    filled: Dict[int, Tensor] = {}  # id of a target tensor (shared by its tied names) -> value
    filled_keys, mismatched = set(), set()
    problems = {"unused official tensors": [], "target tensors filled twice": [],
                "shape mismatches": [], "tied copies that differ": []}
    for key, tensor in official.items():
        target_key = our_key(key)
        if target_key is None:
            continue
        if target_key not in targets:
            problems["unused official tensors"].append(f"{key} {tuple(tensor.shape)}")
            continue
        if target_key in filled_keys:
            problems["target tensors filled twice"].append(f"{target_key} (again from {key})")
            continue
        target = targets[target_key]
        value = fit_shape(tensor, target.shape)
        if value is None:
            problems["shape mismatches"].append(
                f"{key} {tuple(tensor.shape)} -> {target_key} {tuple(target.shape)}")
            mismatched.add(target_key)
            continue
        filled_keys.add(target_key)
        tied = filled.setdefault(id(target), value)
        if tied is not value and not tied.to(value.dtype).equal(value):
            problems["tied copies that differ"].append(f"{key} -> {target_key}")
    missing = [f"{key} {tuple(t.shape)}" for key, t in targets.items()
               if id(t) not in filled and key not in mismatched]
    listed = [_listing(what, items) for what, items in problems.items() if items]
    if missing:
        listed.append(_listing("model tensors with no official source", missing))
    if listed:
        raise OfficialCheckpointError("the official weights do not fit the model their args "
                                      "describe: " + " | ".join(listed))
    return {key: filled[id(t)] for key, t in targets.items()}
