"""Fine-tuning with fixed masks: pruned weights stay exactly zero through optimizer updates."""
import pytest
import torch
from fairseq.criterions.label_smoothed_cross_entropy import LabelSmoothedCrossEntropyCriterion
from fairseq.tasks.translation import TranslationTask

import lsra_fairseq.plugin  # noqa: F401
from lsra_fairseq.compression.finetune_task import TranslationPrunedConfig, TranslationPrunedTask
from lsra_fairseq.compression.masks import (MasksError, bind_masks, load_masks, magnitude_mask,
                                            prunable_parameters, save_masks)

from .tiny import batch, model_args, tiny_model


def test_magnitude_mask_keeps_the_largest_weights():
    weight = torch.tensor([[0.1, -3.0, 0.2], [2.0, -0.05, 1.0]])
    assert magnitude_mask(weight, 0.5).tolist() == [[False, True, False], [True, False, True]]
    assert int(magnitude_mask(torch.randn(64, 64), 0.7).sum()) == round(0.3 * 64 * 64)


@pytest.fixture
def masks_file(tmp_path):
    model, _ = tiny_model()
    masks = {name: magnitude_mask(p, 0.6) for name, p in prunable_parameters(model)}
    return save_masks(masks, tmp_path / "masks.pt"), model.state_dict()


class Adam(torch.optim.Adam):
    """Adam with the ``backward`` fairseq's optimizers add."""

    def backward(self, loss):
        loss.backward()


def train(task, model, updates: int):
    """``updates`` Adam updates (with weight decay) through the task's train_step and optimizer_step."""
    criterion = LabelSmoothedCrossEntropyCriterion(task, False, 0.1)
    optimizer = Adam(model.parameters(), lr=1e-2, weight_decay=0.1)
    for update in range(updates):
        optimizer.zero_grad()
        task.train_step(batch(task, seed=update), model, criterion, optimizer, update)
        task.optimizer_step(optimizer, model, update)
        yield update


def pruned_task(masks_path, **options):
    _, dictionaries = tiny_model()
    cfg = TranslationPrunedConfig(prune_masks=str(masks_path), **options)
    return TranslationPrunedTask(cfg, dictionaries.source_dictionary, dictionaries.target_dictionary)


@pytest.mark.parametrize("qat", ["none", "kmeans", "linear"])
def test_pruned_weights_stay_exactly_zero_after_every_update(masks_file, qat):
    path, unpruned = masks_file
    task = pruned_task(path, quantization_aware=qat)
    model = task.build_model(model_args())
    model.load_state_dict(unpruned)  # as --finetune-from-model does after the task built the model
    pairs = bind_masks(load_masks(path), model)
    start = [weight.detach().clone() for weight, _ in pairs]
    for _ in train(task, model, 4):
        for weight, mask in pairs:
            assert weight[~mask].eq(0).all() and not torch.signbit(weight[~mask]).any()  # +0.0 exactly
    moved = sum(int((weight[mask] != before[mask]).sum()) for (weight, mask), before in zip(pairs, start))
    assert moved > 0.9 * sum(int(mask.sum()) for _, mask in pairs)  # the kept weights did train


def test_without_the_masks_task_pruned_weights_do_not_stay_zero(masks_file):
    path, unpruned = masks_file
    _, dictionaries = tiny_model()
    task = TranslationTask(TranslationPrunedConfig(), dictionaries.source_dictionary, dictionaries.target_dictionary)
    model = task.build_model(model_args())
    pairs = bind_masks(load_masks(path), model)
    with torch.no_grad():
        for weight, mask in pairs:
            weight.masked_fill_(~mask, 0.0)
    list(train(task, model, 2))
    assert any(weight[~mask].ne(0).any() for weight, mask in pairs)


def test_quantization_aware_step_trains_the_float_weights(masks_file):
    path, unpruned = masks_file
    task = pruned_task(path, quantization_aware="kmeans")
    model = task.build_model(model_args())
    list(train(task, model, 1))
    weight = model.encoder.layers[0].fc1.weight
    assert weight.unique().numel() > 256  # the float weights are kept between steps, not their codes


def test_masks_that_do_not_fit_are_refused(tmp_path, masks_file):
    path, _ = masks_file
    masks = load_masks(path)
    model, _ = tiny_model()
    wrong = {"encoder.layers.0.fc1.weight": torch.ones(3, 3, dtype=torch.bool)}
    with pytest.raises(MasksError, match="shapes do not match"):
        bind_masks(wrong, model)
    with pytest.raises(MasksError, match="made for another model"):
        bind_masks({"encoder.layers.7.fc1.weight": masks["encoder.layers.0.fc1.weight"]}, model)
    foreign = tmp_path / "foreign.pt"
    torch.save({"model": {}}, foreign)
    with pytest.raises(MasksError, match="not a masks file"):
        load_masks(foreign)
    with pytest.raises(ValueError, match="needs --prune-masks"):
        pruned_task("").build_model(model_args())
