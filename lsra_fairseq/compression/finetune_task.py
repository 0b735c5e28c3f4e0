"""``translation_pruned``: fairseq's translation task that fine-tunes with fixed pruning masks.

The pruned weights are set to exactly zero before every forward pass (so a checkpoint loaded with
``--finetune-from-model`` or ``--restore-file`` starts pruned) and after every optimizer update (so
momentum and weight decay cannot revive them); saved checkpoints therefore hold exact zeros.

``--quantization-aware kmeans|linear`` adds straight-through quantization-aware fine-tuning: each
forward and backward pass runs on the weights as ``lsra-compress pack`` would quantize them, and
the gradient updates the float weights (k-means codebooks are warm-started from the previous step).
"""
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

import torch
from fairseq.dataclass import ChoiceEnum
from fairseq.tasks import register_task
from fairseq.tasks.translation import TranslationConfig, TranslationTask
from torch import Tensor, nn

from .masks import apply_masks, bind_masks, load_masks
from .quantization import quantize_kmeans, quantize_linear
from .schemes import quantization_schemes

QAT_ITERATIONS = 3  # Lloyd steps per update, from the previous update's codebook


@dataclass
class TranslationPrunedConfig(TranslationConfig):
    prune_masks: str = field(default="", metadata={"help": "masks file of `lsra-compress prune`"})
    quantization_aware: ChoiceEnum(["none", "kmeans", "linear"]) = field(
        default="none", metadata={"help": "straight-through quantization-aware fine-tuning with the "
                                          "scheme `lsra-compress pack --scheme` will use"})


@register_task("translation_pruned", dataclass=TranslationPrunedConfig)
class TranslationPrunedTask(TranslationTask):
    cfg: TranslationPrunedConfig

    def __init__(self, cfg, src_dict, tgt_dict):
        super().__init__(cfg, src_dict, tgt_dict)
        self.masked: Optional[List[Tuple[nn.Parameter, Tensor]]] = None
        self.qat: List[Tuple[nn.Parameter, str, Optional[Tensor]]] = []
        self.codebooks: Dict[int, Tensor] = {}  # k-means codebooks of the last update, by parameter

    def build_model(self, cfg, from_checkpoint=False):
        model = super().build_model(cfg, from_checkpoint)
        if self.masked is not None:
            return model  # fairseq-train builds the trained model first; the masks stay bound to it
        if not self.cfg.prune_masks:
            raise ValueError("--task translation_pruned needs --prune-masks FILE (from `lsra-compress prune`)")
        masks = load_masks(self.cfg.prune_masks)
        self.masked = bind_masks(masks, model)
        apply_masks(self.masked)
        scheme = str(self.cfg.quantization_aware)
        if scheme != "none":
            parameters = dict(model.named_parameters())
            self.qat = [(parameters[name], chosen, masks.get(name))
                        for name, chosen in quantization_schemes(model, scheme).items() if name in parameters]
        return model

    def _quantize_in_place(self) -> List[Tensor]:
        originals = []
        with torch.no_grad():
            for weight, scheme, mask in self.qat:
                originals.append(weight.detach().clone())
                if scheme == "kmeans":
                    q = quantize_kmeans(weight.float().cpu(), mask, init=self.codebooks.get(id(weight)),
                                        iterations=QAT_ITERATIONS if id(weight) in self.codebooks else 50)
                    self.codebooks[id(weight)] = q.table
                else:
                    q = quantize_linear(weight.float().cpu(), mask)
                weight.copy_(q.dequantize().to(weight))
        return originals

    def train_step(self, sample, model, criterion, optimizer, update_num, ignore_grad=False):
        apply_masks(self.masked)
        if not self.qat:
            return super().train_step(sample, model, criterion, optimizer, update_num, ignore_grad)
        originals = self._quantize_in_place()
        try:  # forward and backward on the quantized weights: the straight-through estimator
            return super().train_step(sample, model, criterion, optimizer, update_num, ignore_grad)
        finally:
            with torch.no_grad():
                for (weight, _, _), original in zip(self.qat, originals):
                    weight.copy_(original)

    def optimizer_step(self, optimizer, model, update_num):
        super().optimizer_step(optimizer, model, update_num)
        apply_masks(self.masked)
