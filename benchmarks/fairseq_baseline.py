"""fairseq-generate's decoding, in process: the task's ``SequenceGenerator`` built from the same
flags fairseq-generate passes it, on the batches every system gets (start-up and data loading,
which fairseq-generate adds, are left out of the timings)."""
import argparse
from pathlib import Path
from typing import List

import torch

from .harness import torch_threads
from .workload import Batch, Search


def load_fairseq_model(checkpoint: Path, data: Path):
    """(model in eval mode, its task) from a fairseq checkpoint, its dictionaries read from ``data``."""
    import lsra_fairseq.plugin  # noqa: F401  (registers the archs)
    from fairseq import checkpoint_utils

    models, _, task = checkpoint_utils.load_model_ensemble_and_task([str(checkpoint)],
                                                                    arg_overrides={"data": str(data)})
    return models[0].eval(), task


class FairseqGenerate:
    """One checkpoint decoded by fairseq's SequenceGenerator."""
    system = "fairseq-generate"
    precision = "fp32"

    def __init__(self, checkpoint: Path, data: Path):
        self.model, self.task = load_fairseq_model(checkpoint, data)
        self._generators = {}

    def generator(self, search: Search):
        if search not in self._generators:
            flags = argparse.Namespace(beam=search.beam, min_len=search.min_len, max_len_a=search.max_len_a,
                                       max_len_b=search.max_len_b, lenpen=search.lenpen)
            self._generators[search] = self.task.build_generator([self.model], flags)
        return self._generators[search]

    def translate(self, batches: List[Batch], search: Search, threads: int) -> List[List[str]]:
        generator, tgt_dict = self.generator(search), self.task.target_dictionary
        out = []
        with torch_threads(threads), torch.inference_mode():
            for batch in batches:
                sample = {"net_input": {"src_tokens": batch.src_tokens, "src_lengths": batch.src_lengths}}
                for hypos in self.task.inference_step(generator, [self.model], sample):
                    out.append(tgt_dict.string(hypos[0]["tokens"]).split())
        return out
