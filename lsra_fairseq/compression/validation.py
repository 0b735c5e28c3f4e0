"""Validation loss of a translation model: what the sensitivity analysis measures pruning against.

The batches are built once and kept, so each of the many evaluations of a sweep costs one forward
pass over them (no dropout, no gradients).
"""
from typing import Optional

import torch
import torch.nn.functional as F


class ValidationLoss:
    """Mean NLL per target token (nats) of ``model`` on a subset of the task's data."""

    def __init__(self, model, task, subset: str = "valid", max_tokens: int = 4096,
                 max_sentences: Optional[int] = None):
        task.load_dataset(subset, combine=False, epoch=1)
        dataset = task.dataset(subset)
        iterator = task.get_batch_iterator(
            dataset=dataset, max_tokens=max_tokens, max_positions=model.max_positions(),
            ignore_invalid_inputs=True, seed=1, required_batch_size_multiple=1)
        self.batches = []
        sentences = 0
        for batch in iterator.next_epoch_itr(shuffle=False):
            if max_sentences is not None and sentences >= max_sentences:
                break
            self.batches.append(batch)
            sentences += batch["nsentences"]
        self.sentences = sentences
        self.model = model.eval()
        self.padding_idx = task.target_dictionary.pad()

    @torch.inference_mode()
    def __call__(self) -> float:
        total, tokens = 0.0, 0
        for batch in self.batches:
            output = self.model(**batch["net_input"])
            lprobs = self.model.get_normalized_probs(output, log_probs=True)
            target = batch["target"]
            total += float(F.nll_loss(lprobs.reshape(-1, lprobs.size(-1)), target.reshape(-1),
                                      ignore_index=self.padding_idx, reduction="sum"))
            tokens += int(target.ne(self.padding_idx).sum())
        return total / tokens
