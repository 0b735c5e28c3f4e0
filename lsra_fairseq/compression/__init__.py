"""Compression for deployment (the paper's 8-bit quantization and fine-grained pruning).

``lsra-compress prune`` (sensitivity analysis, masks), the ``translation_pruned`` task (fine-tuning
with fixed masks, optional quantization-aware), ``lsra-compress pack`` (8-bit codes in a compact
checkpoint that fairseq's tools load through the plugin) and ``lsra-compress report``.
"""
from . import finetune_task  # noqa: F401  (registers the translation_pruned task)
from .checkpoint_hook import read_compact_checkpoints
from .compact import CompactFormatError, CompactModel, quantize_model, read_compact, save_compact
from .quantization import QuantizedTensor, quantize

__all__ = ["CompactFormatError", "CompactModel", "QuantizedTensor", "quantize", "quantize_model",
           "read_compact", "read_compact_checkpoints", "save_compact"]
