"""Which scheme quantizes which tensor of a model.

The weight matrices (Linear and Embedding weights) take the chosen scheme. The small tensors
(biases, LayerNorm, convolution taps) always take linear 8-bit: a 256-entry k-means codebook would
be larger than most of them.
"""
from typing import Dict

from torch import nn

from .masks import prunable_parameters
from .quantization import SCHEMES


def quantization_schemes(model: nn.Module, scheme: str) -> Dict[str, str]:
    """Parameter name -> scheme, for every floating-point parameter (tied ones under their first name)."""
    if scheme not in SCHEMES:
        raise ValueError(f"unknown quantization scheme {scheme!r}; use one of {', '.join(SCHEMES)}")
    matrices = {name for name, _ in prunable_parameters(model)}
    return {name: scheme if name in matrices else "linear"
            for name, p in model.named_parameters() if p.is_floating_point()}
