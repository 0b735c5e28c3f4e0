"""``label_smoothed_distillation``: word-level knowledge distillation (Kim & Rush 2016) for
fine-tuning a compressed student against the uncompressed teacher.

loss = (1 - w) * label-smoothed cross-entropy + w * T^2 * KL(teacher_T || student_T), summed over
the target tokens, where ``_T`` is the softmax of the logits divided by the temperature T (Hinton
et al. 2015; the T^2 keeps the gradient scale independent of T). With a teacher equal to the
student the KL term is zero, so the loss is (1 - w) times the label-smoothed loss.
"""
import math
from dataclasses import dataclass, field

import torch
from fairseq.criterions import register_criterion
from fairseq.criterions.label_smoothed_cross_entropy import (LabelSmoothedCrossEntropyCriterion,
                                                             LabelSmoothedCrossEntropyCriterionConfig)
from fairseq.logging import metrics


@dataclass
class LabelSmoothedDistillationConfig(LabelSmoothedCrossEntropyCriterionConfig):
    teacher_path: str = field(default="", metadata={"help": "checkpoint of the teacher (e.g. the model "
                                                            "before pruning); any file fairseq-generate loads"})
    distill_weight: float = field(default=0.5, metadata={"help": "weight w of the teacher term, in [0, 1]"})
    distill_temperature: float = field(default=1.0, metadata={"help": "softmax temperature T of both sides"})


def load_teacher(path: str, task):
    """The teacher model, built from its own config with the task's dictionaries.

    It is built with ``fairseq.models.build_model``, not ``task.build_model``: the masks task binds
    its masks to the model it builds, which must stay the student.
    """
    from fairseq import checkpoint_utils, models

    state = checkpoint_utils.load_checkpoint_to_cpu(path)
    teacher = models.build_model(state["cfg"].model, task, from_checkpoint=True)
    teacher.load_state_dict(state["model"], strict=True, model_cfg=state["cfg"].model)
    return teacher


@register_criterion("label_smoothed_distillation", dataclass=LabelSmoothedDistillationConfig)
class LabelSmoothedDistillationCriterion(LabelSmoothedCrossEntropyCriterion):
    def __init__(self, task, sentence_avg, label_smoothing, ignore_prefix_size=0, report_accuracy=False,
                 teacher_path="", distill_weight=0.5, distill_temperature=1.0, teacher=None):
        super().__init__(task, sentence_avg, label_smoothing, ignore_prefix_size, report_accuracy)
        if not 0 <= distill_weight <= 1:
            raise ValueError(f"--distill-weight {distill_weight} is outside [0, 1]")
        if distill_temperature <= 0:
            raise ValueError(f"--distill-temperature {distill_temperature} must be positive")
        if teacher is None:
            if not teacher_path:
                raise ValueError("--criterion label_smoothed_distillation needs --teacher-path CHECKPOINT")
            teacher = load_teacher(teacher_path, task)
        teacher.eval().requires_grad_(False)
        # Kept out of the module tree: the teacher must not reach the optimizer or the checkpoints.
        self._teacher = (teacher,)
        self.weight, self.temperature = distill_weight, distill_temperature

    @property
    def teacher(self):
        return self._teacher[0]

    def _tempered_lprobs(self, model, net_output):
        lprobs = model.get_normalized_probs((net_output[0] / self.temperature, *net_output[1:]), log_probs=True)
        if self.ignore_prefix_size > 0:
            lprobs = lprobs[:, self.ignore_prefix_size:, :]
        return lprobs.reshape(-1, lprobs.size(-1))

    def distillation_loss(self, model, net_output, sample, reduce=True):
        """T^2 * KL(teacher || student) per target token (summed when ``reduce``), padding excluded."""
        reference = next(model.parameters())
        if next(self.teacher.parameters()).device != reference.device:
            self.teacher.to(reference.device)
        with torch.no_grad():
            teacher_output = self.teacher(**sample["net_input"])
            teacher_lprobs = self._tempered_lprobs(self.teacher, teacher_output).to(reference.dtype)
        student_lprobs = self._tempered_lprobs(model, net_output)
        if teacher_lprobs.shape != student_lprobs.shape:
            raise ValueError(f"teacher outputs {teacher_lprobs.size(-1)} classes, the student "
                             f"{student_lprobs.size(-1)}: they need the same target dictionary")
        kl = (teacher_lprobs.exp() * (teacher_lprobs - student_lprobs)).sum(-1) * self.temperature ** 2
        target = model.get_targets(sample, net_output)[:, self.ignore_prefix_size:].reshape(-1)
        kl = kl.masked_fill(target.eq(self.padding_idx), 0.0)
        return kl.sum() if reduce else kl

    def forward(self, model, sample, reduce=True):
        net_output = model(**sample["net_input"])
        smoothed, nll_loss = self.compute_loss(model, net_output, sample, reduce=reduce)
        if not reduce:
            smoothed = smoothed.reshape(-1)
        distill = self.distillation_loss(model, net_output, sample, reduce=reduce)
        loss = (1 - self.weight) * smoothed + self.weight * distill
        sample_size = sample["target"].size(0) if self.sentence_avg else sample["ntokens"]
        logging_output = {"loss": loss.data, "nll_loss": nll_loss.data, "distill_loss": distill.data,
                          "ntokens": sample["ntokens"], "nsentences": sample["target"].size(0),
                          "sample_size": sample_size}
        if self.report_accuracy:
            n_correct, total = self.compute_accuracy(model, net_output, sample)
            logging_output.update(n_correct=n_correct.item(), total=total.item())
        return loss, sample_size, logging_output

    @classmethod
    def reduce_metrics(cls, logging_outputs) -> None:
        super().reduce_metrics(logging_outputs)
        distill = sum(log.get("distill_loss", 0) for log in logging_outputs)
        sample_size = sum(log.get("sample_size", 0) for log in logging_outputs)
        metrics.log_scalar("distill_loss", distill / sample_size / math.log(2), sample_size, round=3)
