"""Choosing per-matrix sparsities from the sensitivity curves."""
import pytest
import torch
from torch import nn

from lsra_fairseq.compression.sensitivity import (allocation_sequence, choose_by_budget, choose_by_sparsity, sweep,
                                                  with_sparsities)

RISES = {"a": {0.5: 0.01, 0.7: 0.02, 0.9: 0.30},  # robust
         "b": {0.5: 0.05, 0.7: 0.20, 0.9: 0.60},  # sensitive
         "c": {0.5: 0.00, 0.7: 0.50, 0.9: 0.01}}  # not monotone
SIZES = {"a": 100, "b": 100, "c": 100}


def test_sparsity_grows_where_the_loss_rises_least_per_pruned_weight():
    sequence = allocation_sequence(RISES, SIZES)
    assert sequence[:6] == [{"a": 0.0, "b": 0.0, "c": 0.0}, {"a": 0.0, "b": 0.0, "c": 0.5},
                            {"a": 0.5, "b": 0.0, "c": 0.5}, {"a": 0.7, "b": 0.0, "c": 0.5},
                            {"a": 0.7, "b": 0.5, "c": 0.5}, {"a": 0.7, "b": 0.7, "c": 0.5}]
    assert sequence[-1] == {"a": 0.9, "b": 0.9, "c": 0.9} and len(sequence) == 10
    # A large matrix prunes many weights for its rise: it goes before the small robust one.
    assert allocation_sequence(RISES, {**SIZES, "b": 10000})[2] == {"a": 0.0, "b": 0.5, "c": 0.5}


def test_budget_bounds_the_loss_of_all_matrices_pruned_together():
    calls = []

    def combined(sparsities):  # rises add up, as a stand-in for the model
        calls.append(sparsities)
        return sum(RISES[n][s] for n, s in sparsities.items() if s)

    chosen = choose_by_budget(RISES, SIZES, 0.08, combined)
    assert chosen == {"a": 0.7, "b": 0.5, "c": 0.5} and combined(chosen) <= 0.08
    assert len(calls) <= 5  # a bisection, not a scan
    assert choose_by_budget(RISES, SIZES, -1.0, combined) == {"a": 0.0, "b": 0.0, "c": 0.0}


def test_target_sparsity_picks_the_first_choice_that_reaches_it():
    assert choose_by_sparsity(RISES, 0.55, SIZES, ["a", "b", "c"]) == {"a": 0.7, "b": 0.5, "c": 0.5}
    with pytest.raises(ValueError, match="lower --sparsity"):
        choose_by_sparsity(RISES, 0.95, SIZES, ["a", "b", "c"])


def test_sweep_prunes_one_matrix_at_a_time_and_restores_it():
    torch.manual_seed(0)
    layers = nn.ModuleDict({"big": nn.Linear(8, 8), "small": nn.Linear(8, 8)})
    with torch.no_grad():
        layers["small"].weight.mul_(0.01)
    parameters = {name: layer.weight for name, layer in layers.items()}
    before = {name: p.detach().clone() for name, p in parameters.items()}
    x = torch.randn(16, 8)
    with torch.no_grad():
        target = layers["big"](x) + layers["small"](x) + 0.1 * torch.randn(16, 8)
    loss = lambda: float((layers["big"](x) + layers["small"](x) - target).pow(2).mean())  # noqa: E731
    baseline, rises = sweep(parameters, loss, (0.5, 0.9), log=lambda _: None)
    assert baseline == loss()
    assert all(torch.equal(p, before[n]) for n, p in parameters.items())
    assert rises["small"][0.9] < rises["big"][0.5]
    assert with_sparsities(parameters, {"big": 0.5, "small": 0.0}, loss) == baseline + rises["big"][0.5]
