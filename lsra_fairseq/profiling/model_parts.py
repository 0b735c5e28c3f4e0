"""Finds, in any fairseq model, the parts the counting conventions treat specially.

fairseq names them the same way in every model: ``embed_tokens`` / ``embed_positions`` for the
input embeddings (an ``nn.Embedding`` or an ``AdaptiveInput``), ``output_projection`` or
``adaptive_softmax`` for the decoder's output layer.
"""
from typing import Iterator, List, Optional

import torch
from torch import nn

EMBEDDING_NAMES = ("embed_tokens", "embed_positions")
OUTPUT_NAMES = ("output_projection", "adaptive_softmax")


def _named(model: nn.Module, names) -> Iterator[nn.Module]:
    for name, module in model.named_modules():
        if name.rsplit(".", 1)[-1] in names:
            yield module


def embedding_modules(model: nn.Module) -> List[nn.Module]:
    """Input embeddings, plus any other ``nn.Embedding`` (e.g. learned positions elsewhere)."""
    found = list(_named(model, EMBEDDING_NAMES))
    return found + [m for m in model.modules() if isinstance(m, nn.Embedding) and m not in found]


def output_modules(model: nn.Module) -> List[nn.Module]:
    return list(_named(model, OUTPUT_NAMES))


def parameters_of(modules) -> List[torch.Tensor]:
    return [p for m in modules for p in m.parameters()]


def is_encoder_decoder(model: nn.Module) -> bool:
    """Encoder-decoder models take a source; decoder-only ones (language models) do not."""
    from fairseq.models import FairseqEncoderDecoderModel  # here: importing the package stays light

    if isinstance(model, FairseqEncoderDecoderModel):
        return True
    if getattr(model, "decoder", None) is not None and getattr(model, "encoder", None) is None:
        return False
    raise TypeError(f"{type(model).__name__}: only fairseq encoder-decoder and decoder-only "
                    f"models can be profiled")


def dummy_tokens(dictionary, length: int, first: Optional[int] = None) -> torch.Tensor:
    """1 x length ordinary words (the most frequent ones, lowest ids), optionally led by ``first``."""
    words = len(dictionary) - dictionary.nspecial
    tokens = dictionary.nspecial + torch.arange(length) % words
    if first is not None:
        tokens[0] = first
    return tokens.unsqueeze(0)
