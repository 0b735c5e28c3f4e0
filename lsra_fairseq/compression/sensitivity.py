"""Sensitivity analysis: prune each weight matrix alone, see what the validation loss does, and
choose per-matrix sparsities (Han et al. 2015, "Learning both weights and connections").

Every matrix is magnitude-pruned alone at each sparsity of a grid and the rise of the validation
loss recorded. The choice then raises sparsities one grid step at a time, always where the next
step costs the least loss rise per weight it prunes (so large insensitive matrices go first), which
gives a sequence of choices of growing sparsity. ``choose_by_budget`` takes the sparsest choice of
that sequence that, all matrices pruned together, raises the loss by at most the user's budget;
``choose_by_sparsity`` the first that reaches a target sparsity.
"""
from typing import Callable, Dict, List, Sequence, Tuple

import torch
from torch import nn

from .masks import magnitude_mask

DEFAULT_GRID = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


def with_sparsities(parameters: Dict[str, nn.Parameter], sparsities: Dict[str, float],
                    measure: Callable[[], float]) -> float:
    """``measure()`` with the given matrices magnitude-pruned, the weights restored afterwards."""
    originals = {name: parameters[name].detach().clone() for name, s in sparsities.items() if s > 0}
    try:
        with torch.no_grad():
            for name, original in originals.items():
                parameters[name].masked_fill_(~magnitude_mask(original, sparsities[name]), 0.0)
        return measure()
    finally:
        with torch.no_grad():
            for name, original in originals.items():
                parameters[name].copy_(original)


def sweep(parameters: Dict[str, nn.Parameter], measure: Callable[[], float], grid: Sequence[float] = DEFAULT_GRID,
          log: Callable[[str], None] = print) -> Tuple[float, Dict[str, Dict[float, float]]]:
    """(baseline loss, {matrix: {sparsity: loss rise}}), each matrix pruned alone."""
    baseline = measure()
    rises = {}
    for name in parameters:
        rises[name] = {s: with_sparsities(parameters, {name: s}, measure) - baseline for s in grid}
        log(f"{name}: " + " ".join(f"{s:.0%} {rise:+.4f}" for s, rise in rises[name].items()))
    return baseline, rises


def allocation_sequence(rises: Dict[str, Dict[float, float]], sizes: Dict[str, int]) -> List[Dict[str, float]]:
    """Choices of growing sparsity, from nothing pruned: each raises one matrix by one grid step, the
    step with the least loss rise per newly pruned weight (a rise below zero counts as zero)."""
    current = {name: 0.0 for name in rises}
    rise_at = lambda name, s: rises[name][s] if s else 0.0  # noqa: E731
    sequence = [dict(current)]
    while True:
        steps = []
        for name, curve in rises.items():
            higher = [s for s in sorted(curve) if s > current[name]]
            if higher:
                cost = max(curve[higher[0]] - rise_at(name, current[name]), 0.0)
                steps.append((cost / ((higher[0] - current[name]) * sizes[name]), name, higher[0]))
        if not steps:
            return sequence
        _, name, sparsity = min(steps)
        current[name] = sparsity
        sequence.append(dict(current))


def overall_sparsity(sparsities: Dict[str, float], sizes: Dict[str, int]) -> float:
    total = sum(sizes[name] for name in sparsities)
    return sum(sparsities[name] * sizes[name] for name in sparsities) / total


def choose_by_budget(rises, sizes: Dict[str, int], budget: float,
                     combined: Callable[[Dict[str, float]], float]) -> Dict[str, float]:
    """The sparsest choice whose sparsities, applied together, raise the loss by at most ``budget``.

    ``combined(sparsities)`` is the loss rise of the model with all of them applied; it grows along
    the sequence, so a bisection needs few evaluations.
    """
    sequence = allocation_sequence(rises, sizes)
    lo, hi = 0, len(sequence) - 1  # sequence[lo] is the sparsest known to fit (nothing pruned fits)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if combined(sequence[mid]) <= budget:
            lo = mid
        else:
            hi = mid - 1
    return sequence[lo]


def choose_by_sparsity(rises, target: float, sizes: Dict[str, int], counted: Sequence[str]) -> Dict[str, float]:
    """The first choice of the sequence that reaches ``target`` over the ``counted`` matrices."""
    for chosen in allocation_sequence(rises, sizes):
        if overall_sparsity({n: chosen[n] for n in counted}, sizes) >= target:
            return chosen
    raise ValueError(f"the grid's highest sparsity does not reach {target:.0%}; lower --sparsity or extend "
                     f"--grid")
