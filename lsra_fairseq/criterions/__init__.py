"""fairseq criterions for the paper's pipelines (registered on import)."""
from .distillation import LabelSmoothedDistillationConfig, LabelSmoothedDistillationCriterion

__all__ = ["LabelSmoothedDistillationConfig", "LabelSmoothedDistillationCriterion"]
