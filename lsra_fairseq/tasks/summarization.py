"""``lsra_summarization``: abstractive summarization as the paper ran CNN-DailyMail (Table 4).

fairseq's translation task plus what the paper's pipeline needs on top of it:

- sources truncated to a fixed length (``--source-length``, default 1000 tokens);
- the paper's generation settings (beam 4, length penalty 2.0, min length 55, max length 140, no
  repeated trigrams) as the defaults of fairseq-generate / fairseq-interactive, with n-gram
  blocking that works (``ngram_block``: fairseq's own blocks nothing without its CUDA extension);
- ROUGE-1/2/L F1 (``rouge-score``) as a validation metric (``--eval-rouge``), so that
  ``--best-checkpoint-metric rougeLsum --maximize-best-checkpoint-metric`` keeps the best model.
"""
import logging
import os
from argparse import Namespace
from dataclasses import dataclass, field
from functools import partial
from typing import Dict, List, Optional

import torch
from fairseq import metrics, utils
from fairseq.dataclass import ChoiceEnum
from fairseq.dataclass.configs import GenerationConfig
from fairseq.tasks import register_task
from fairseq.tasks.translation import TranslationConfig, TranslationTask
from omegaconf import DictConfig, OmegaConf

from ..evaluation.rouge import ROUGE_TYPES, rouge_sums
from ..modules.ngram_block import fix_ngram_blocking

logger = logging.getLogger(__name__)

# The paper's generation settings for CNN-DailyMail (its experimental setup, Table 4): beam 4,
# lenpen 2.0, min length 55, max length 140, no repeated trigrams. examples/cnndm/recipe.mk spells
# them out for lsra-evaluate, so that the recorded command shows them.
PAPER_GENERATION = {"beam": 4, "lenpen": 2.0, "min_len": 55, "max_len_a": 0.0, "max_len_b": 140,
                    "no_repeat_ngram_size": 3}
FAIRSEQ_GENERATION = {name: GenerationConfig.__dataclass_fields__[name].default for name in PAPER_GENERATION}
GenerationDefaults = ChoiceEnum(["paper", "fairseq"])


@dataclass
class SummarizationConfig(TranslationConfig):
    source_length: int = field(
        default=1000, metadata={"help": "keep the first N tokens of every source (BPE units, end of "
                                        "sentence included; sets --truncate-source and "
                                        "--max-source-positions N); 0 keeps whole sources"})
    generation_defaults: GenerationDefaults = field(
        default="paper", metadata={"help": "paper: generation options left at fairseq's default take "
                                           "the paper's values (beam 4, lenpen 2.0, min-len 55, "
                                           "max-len-b 140, no-repeat-ngram-size 3); fairseq: keep "
                                           "fairseq's defaults"})
    eval_rouge: bool = field(
        default=False, metadata={"help": "validation: generate summaries with the paper's settings and "
                                         "log ROUGE-1/2/L F1 (rouge1, rouge2, rougeL, rougeLsum)"})
    eval_rouge_remove_bpe: Optional[str] = field(
        default="subword_nmt", metadata={"help": "BPE to remove before scoring (fairseq --post-process)"})
    eval_rouge_print_samples: bool = field(default=False, metadata={"help": "log a summary per batch"})


def _as_dict(args) -> Dict:
    if isinstance(args, DictConfig):
        return OmegaConf.to_container(args, resolve=True)
    return dict(vars(args))


def with_paper_generation(args) -> Namespace:
    """Generation options with the paper's values wherever ``args`` holds fairseq's default."""
    values = _as_dict(args)
    for name, paper in PAPER_GENERATION.items():
        if values.get(name, FAIRSEQ_GENERATION[name]) == FAIRSEQ_GENERATION[name]:
            values[name] = paper
    return Namespace(**values)


def check_data_dir(data: str) -> None:
    """Stops early, naming what is missing, when ``data`` is not a binarized summarization dataset."""
    path = utils.split_paths(data)[0] if data else ""
    if not path or not os.path.isdir(path):
        raise FileNotFoundError(f"summarization data folder {path!r} does not exist; binarize the data "
                                f"first (make prepare-cnndm)")
    if not any(name.startswith("dict.") and name.endswith(".txt") for name in os.listdir(path)):
        raise FileNotFoundError(f"{path} holds no dict.<lang>.txt: it is not a fairseq-preprocess output "
                                f"folder (make prepare-cnndm)")


@register_task("lsra_summarization", dataclass=SummarizationConfig)
class SummarizationTask(TranslationTask):
    cfg: SummarizationConfig

    @classmethod
    def setup_task(cls, cfg: SummarizationConfig, **kwargs):
        check_data_dir(cfg.data)
        return super().setup_task(cfg, **kwargs)

    def __init__(self, cfg: SummarizationConfig, src_dict, tgt_dict):
        super().__init__(cfg, src_dict, tgt_dict)
        if cfg.source_length > 0:
            # fairseq's pair loader cuts sources to max_source_positions (EOS kept) under truncate_source.
            cfg.truncate_source = True
            cfg.max_source_positions = cfg.source_length

    def build_dataset_for_inference(self, src_tokens, src_lengths, constraints=None):
        """fairseq-interactive: sources truncated as in training."""
        n = self.cfg.source_length
        if n > 0:
            eos = self.src_dict.eos()
            src_tokens = [t if len(t) <= n else torch.cat([t[:n - 1], t.new_tensor([eos])]) for t in src_tokens]
            src_lengths = [len(t) for t in src_tokens]
        return super().build_dataset_for_inference(src_tokens, src_lengths, constraints)

    def build_generator(self, models, args, seq_gen_cls=None, extra_gen_cls_kwargs=None,
                        prefix_allowed_tokens_fn=None):
        if self.cfg.generation_defaults == "paper":
            args = with_paper_generation(args)
            logger.info("summarization generation: " + ", ".join(
                f"{name} {getattr(args, name)}" for name in PAPER_GENERATION))
        generator = super().build_generator(models, args, seq_gen_cls, extra_gen_cls_kwargs,
                                            prefix_allowed_tokens_fn=prefix_allowed_tokens_fn)
        return fix_ngram_blocking(generator)

    def build_model(self, cfg, from_checkpoint=False):
        model = super().build_model(cfg, from_checkpoint)
        if self.cfg.eval_rouge:
            self.rouge_generator = self.build_generator([model], Namespace(**PAPER_GENERATION))
        return model

    def summaries(self, generator, sample, model):
        """(hypotheses, references) of a batch, BPE removed; <unk> never matches a reference."""
        def decode(tokens, unk):
            return self.tgt_dict.string(tokens.int().cpu(), self.cfg.eval_rouge_remove_bpe, unk_string=unk)

        output = self.inference_step(generator, [model], sample, prefix_tokens=None)
        hypotheses = [decode(hypos[0]["tokens"], "UNKNOWNTOKENINHYP") for hypos in output]
        references = [decode(utils.strip_pad(target, self.tgt_dict.pad()), "UNKNOWNTOKENINREF")
                      for target in sample["target"]]
        if self.cfg.eval_rouge_print_samples and hypotheses:
            logger.info("example summary: " + hypotheses[0])
            logger.info("example reference: " + references[0])
        return hypotheses, references

    def valid_step(self, sample, model, criterion):
        loss, sample_size, logging_output = super().valid_step(sample, model, criterion)
        if self.cfg.eval_rouge:
            hypotheses, references = self.summaries(self.rouge_generator, sample, model)
            logging_output["_rouge_count"] = len(hypotheses)
            for name, total in rouge_sums(hypotheses, references).items():
                logging_output[f"_{name}_sum"] = total
        return loss, sample_size, logging_output

    def reduce_metrics(self, logging_outputs, criterion):
        super().reduce_metrics(logging_outputs, criterion)
        if not self.cfg.eval_rouge:
            return
        count = sum(log.get("_rouge_count", 0) for log in logging_outputs)
        if count == 0:
            return
        metrics.log_scalar("_rouge_count", count)
        for name in ROUGE_TYPES:
            metrics.log_scalar(f"_{name}_sum", sum(log.get(f"_{name}_sum", 0.0) for log in logging_outputs))
            metrics.log_derived(name, partial(_mean_rouge, name))


def _mean_rouge(name: str, meters) -> float:
    return round(100 * meters[f"_{name}_sum"].sum / meters["_rouge_count"].sum, 2)


__all__: List[str] = ["SummarizationConfig", "SummarizationTask", "PAPER_GENERATION"]
