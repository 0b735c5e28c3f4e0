"""Word-level distillation: the loss mixes label-smoothed CE with T^2 KL(teacher_T || student_T)."""
import copy

import pytest
import torch
import torch.nn.functional as F
from fairseq.criterions.label_smoothed_cross_entropy import LabelSmoothedCrossEntropyCriterion

import lsra_fairseq.plugin  # noqa: F401
from lsra_fairseq.criterions import LabelSmoothedDistillationCriterion

from ..compression.tiny import batch, tiny_model

pytestmark = pytest.mark.usefixtures("one_thread")


def criterion(task, teacher, weight, temperature):
    return LabelSmoothedDistillationCriterion(task, False, 0.1, distill_weight=weight,
                                              distill_temperature=temperature, teacher=teacher)


def test_teacher_equal_to_student_at_temperature_1_leaves_the_weighted_smoothed_loss():
    student, task = tiny_model()
    student.eval()
    sample = batch(task)
    smoothed, _, _ = LabelSmoothedCrossEntropyCriterion(task, False, 0.1)(student, sample)
    loss, sample_size, log = criterion(task, copy.deepcopy(student), 0.3, 1.0)(student, sample)
    assert float(log["distill_loss"]) == pytest.approx(0.0, abs=1e-5)
    assert float(loss) == pytest.approx(0.7 * float(smoothed), rel=1e-6)
    assert sample_size == sample["ntokens"]
    student.zero_grad()
    loss, _, _ = criterion(task, copy.deepcopy(student), 1.0, 1.0)(student, sample)
    loss.backward()  # the teacher term alone: at its minimum, so no gradient
    assert max(float(p.grad.abs().max()) for p in student.parameters() if p.grad is not None) < 1e-5


def test_the_teacher_term_is_t_squared_kl_of_the_tempered_distributions():
    student, task = tiny_model(seed=0)
    teacher, _ = tiny_model(seed=1)
    student.eval()
    sample = batch(task)
    distill = criterion(task, teacher, 0.5, 2.0)
    _, _, log = distill(student, sample)
    with torch.no_grad():
        s = F.log_softmax(student(**sample["net_input"])[0] / 2.0, dim=-1)
        t = F.log_softmax(teacher.eval()(**sample["net_input"])[0] / 2.0, dim=-1)
    expected = 4.0 * F.kl_div(s.reshape(-1, s.size(-1)), t.reshape(-1, t.size(-1)), log_target=True,
                              reduction="sum")
    assert float(log["distill_loss"]) == pytest.approx(float(expected), rel=1e-5)
    assert float(expected) > 0.1
    assert not list(distill.parameters())  # the teacher stays out of the optimizer and the checkpoint


def test_padding_is_not_distilled():
    student, task = tiny_model(seed=0)
    teacher, _ = tiny_model(seed=1)
    student.eval()
    sample = batch(task)
    per_token = criterion(task, teacher, 0.5, 1.0).distillation_loss(
        student, student(**sample["net_input"]), sample, reduce=False)
    sample["target"][:, :2] = task.target_dictionary.pad()
    padded = criterion(task, teacher, 0.5, 1.0).distillation_loss(
        student, student(**sample["net_input"]), sample, reduce=False).reshape(3, -1)
    assert padded[:, :2].eq(0).all() and torch.allclose(padded[:, 2:], per_token.reshape(3, -1)[:, 2:])


def test_bad_settings_are_refused():
    student, task = tiny_model()
    with pytest.raises(ValueError, match="needs --teacher-path"):
        LabelSmoothedDistillationCriterion(task, False, 0.1)
    with pytest.raises(ValueError, match="outside"):
        criterion(task, student, 1.5, 1.0)
    with pytest.raises(ValueError, match="positive"):
        criterion(task, student, 0.5, 0.0)
