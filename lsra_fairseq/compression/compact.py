"""The compact checkpoint: int8 codes with their codebooks or scales, bitmaps for pruned tensors.

Layout: a fixed header (magic, format version, payload length, SHA-256 of the payload), then the
payload: an LZMA-compressed ``torch.save`` of plain containers and integer/float tensors, read back
with ``weights_only=True``. The header lets a reader refuse a truncated, corrupted or foreign file
before unpickling anything. The payload keeps what fairseq needs to rebuild the model (``cfg``,
``optimizer_history`` without optimizer state, ``extra_state``) and every tensor of the model once;
tied tensors (shared embeddings) are stored once and named as aliases.
"""
import hashlib
import io
import lzma
import pickle
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Optional

import numpy as np
import torch
from torch import Tensor

from .quantization import QuantizedTensor, quantize

MAGIC = b"LSRACPT\n"
VERSION = 1
HEADER = struct.Struct("<8sHQ32s")  # magic, version, payload bytes, sha256(payload)
# Fields of the task config that belong to fine-tuning only (the masks task), dropped on packing.
TRAINING_TASKS = {"translation_pruned": "translation"}


class CompactFormatError(RuntimeError):
    """A file that is not a complete compact checkpoint of a version this code reads."""


@dataclass
class CompactModel:
    """A model's tensors, each quantized or kept as it is, plus what fairseq needs to rebuild it."""
    tensors: Dict[str, object]  # name -> QuantizedTensor or Tensor
    aliases: Dict[str, str]  # tied name -> the name it is stored under
    meta: Dict  # cfg, optimizer_history, extra_state

    def state_dict(self) -> Dict[str, Tensor]:
        """The dense (dequantized) state dict, tied names sharing one tensor."""
        dense = {name: t.dequantize() if isinstance(t, QuantizedTensor) else t for name, t in self.tensors.items()}
        dense.update({alias: dense[name] for alias, name in self.aliases.items()})
        return dense


def quantize_model(model: torch.nn.Module, schemes: Dict[str, str], masks: Optional[Dict[str, Tensor]] = None,
                   meta: Optional[Dict] = None) -> CompactModel:
    """Quantizes the tensors named in ``schemes`` (masked where ``masks`` has an entry with a pruned
    weight); everything else in the state dict is kept as it is."""
    masks = masks or {}
    state = model.state_dict(keep_vars=False)
    stored, tensors, aliases = {}, {}, {}
    for name, tensor in state.items():
        key = (tensor.data_ptr(), tuple(tensor.shape), tensor.dtype) if tensor.numel() else None
        if key in stored:
            aliases[name] = stored[key]
            continue
        if key is not None:
            stored[key] = name
        if name in schemes:
            mask = masks.get(name)
            mask = None if mask is None or bool(mask.all()) else mask.bool()
            tensors[name] = quantize(tensor.detach().cpu(), schemes[name], mask)
        else:
            tensors[name] = tensor.detach().cpu().clone()
    return CompactModel(tensors, aliases, dict(meta or {}))


def fairseq_meta(state: Dict) -> Dict:
    """What fairseq's loader needs besides the weights: the config (the plain translation task in
    place of the fine-tuning one) and the optimizer history without optimizer state."""
    from omegaconf import OmegaConf

    cfg = state["cfg"]
    cfg = OmegaConf.to_container(cfg, resolve=True) if OmegaConf.is_config(cfg) else dict(cfg)
    task = dict(cfg.get("task") or {})
    if task.get("_name") in TRAINING_TASKS:
        from .finetune_task import TranslationPrunedConfig
        from fairseq.tasks.translation import TranslationConfig

        own = set(TranslationPrunedConfig.__dataclass_fields__) - set(TranslationConfig.__dataclass_fields__)
        task = {k: v for k, v in task.items() if k not in own}
        task["_name"] = TRAINING_TASKS[cfg["task"]["_name"]]
        cfg["task"] = task
    history = [{k: v for k, v in h.items() if k != "optimizer"} for h in state.get("optimizer_history") or []]
    history = history or [{"criterion_name": "none", "optimizer_name": "none", "lr_scheduler_state": {},
                           "num_updates": 0}]  # fairseq's upgrade step reads the last entry
    extra = state.get("extra_state") or {}
    return {"cfg": cfg, "optimizer_history": history,
            "extra_state": {k: extra[k] for k in ("epoch", "train_iterator") if k in extra}}


def _entry(tensor) -> Dict:
    if not isinstance(tensor, QuantizedTensor):
        return {"scheme": "raw", "tensor": tensor}
    entry = {"scheme": tensor.scheme, "shape": list(tensor.shape), "codes": tensor.codes, "table": tensor.table}
    if tensor.mask is not None:
        entry["mask_bits"] = torch.from_numpy(np.packbits(tensor.mask.reshape(-1).numpy()))
    return entry


def _tensor(name: str, entry: Dict):
    if entry["scheme"] == "raw":
        return entry["tensor"]
    shape = tuple(entry["shape"])
    mask = None
    if "mask_bits" in entry:
        count = int(np.prod(shape))
        mask = torch.from_numpy(np.unpackbits(entry["mask_bits"].numpy(), count=count).astype(bool)).reshape(shape)
    quantized = QuantizedTensor(entry["scheme"], shape, entry["codes"], entry["table"], mask)
    coded = int(mask.sum()) if mask is not None else int(np.prod(shape))
    if quantized.codes.numel() != coded:
        raise CompactFormatError(f"tensor {name}: {quantized.codes.numel()} codes for {coded} kept weights")
    return quantized


def save_compact(compact: CompactModel, path: Path) -> Path:
    buffer = io.BytesIO()
    torch.save({**compact.meta, "tensors": {n: _entry(t) for n, t in compact.tensors.items()},
                "aliases": compact.aliases}, buffer)
    payload = lzma.compress(buffer.getvalue(), preset=9 | lzma.PRESET_EXTREME)
    with open(path, "wb") as out:
        out.write(HEADER.pack(MAGIC, VERSION, len(payload), hashlib.sha256(payload).digest()))
        out.write(payload)
    return Path(path)


def is_compact(path) -> bool:
    try:
        with open(path, "rb") as f:
            return f.read(len(MAGIC)) == MAGIC
    except OSError:
        return False


def read_compact(path) -> CompactModel:
    """Reads and checks a compact checkpoint; anything but a complete one of a known version is refused."""
    data = Path(path).read_bytes()
    if data[:len(MAGIC)] != MAGIC:
        raise CompactFormatError(f"{path} is not a compact checkpoint of `lsra-compress pack` (it does not "
                                 f"start with {MAGIC!r}); give a file that `lsra-compress pack` wrote")
    if len(data) < HEADER.size:
        raise CompactFormatError(f"compact checkpoint {path} is truncated ({len(data)} bytes, shorter than "
                                 f"its header); copy it again or re-run `lsra-compress pack`")
    _, version, length, digest = HEADER.unpack_from(data)
    if version > VERSION:
        raise CompactFormatError(f"{path} is compact format version {version}; this lsra-fairseq reads up "
                                 f"to version {VERSION}: update lsra-fairseq")
    payload = data[HEADER.size:]
    if len(payload) != length:
        raise CompactFormatError(f"compact checkpoint {path} is {'truncated' if len(payload) < length else 'too long'}"
                                 f": {len(payload)} payload bytes, its header says {length}; copy it again or "
                                 f"re-run `lsra-compress pack`")
    if hashlib.sha256(payload).digest() != digest:
        raise CompactFormatError(f"compact checkpoint {path} is corrupted (its checksum does not match); copy "
                                 f"it again or re-run `lsra-compress pack`")
    try:
        content = torch.load(io.BytesIO(lzma.decompress(payload)), map_location="cpu", weights_only=True)
    except (lzma.LZMAError, RuntimeError, pickle.UnpicklingError) as e:  # a valid checksum of a bad payload
        raise CompactFormatError(f"compact checkpoint {path} cannot be decoded ({e}); re-run "
                                 f"`lsra-compress pack`") from e
    tensors = {name: _tensor(name, entry) for name, entry in content.pop("tensors").items()}
    aliases = content.pop("aliases")
    return CompactModel(tensors, aliases, content)


def load_compact_state(path) -> Dict:
    """A fairseq checkpoint state (dense weights) from a compact file, before fairseq's own upgrades."""
    compact = read_compact(path)
    return {**compact.meta, "model": compact.state_dict(), "last_optimizer_state": None}
