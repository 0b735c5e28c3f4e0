"""#Params and #MACs of one built model, from a real teacher-forced forward on a dummy sentence."""
from typing import Dict, Optional

import torch
from torch import nn

from .conventions import Conventions
from .macs import count_macs
from .model_parts import (dummy_tokens, embedding_modules, is_encoder_decoder, output_modules,
                          parameters_of)


def count_params(model: nn.Module, conventions: Conventions = Conventions()) -> int:
    """Parameters, each tensor once however often it is tied."""
    excluded = set()
    if not conventions.embedding_params:
        excluded |= {id(p) for p in parameters_of(embedding_modules(model))}
    if not conventions.output_params:
        excluded |= {id(p) for p in parameters_of(output_modules(model))}
    return sum(p.numel() for p in model.parameters() if id(p) not in excluded)


def teacher_forced_forward(model: nn.Module, src_len: Optional[int], tgt_len: int):
    """A callable running the model on one dummy sentence; an LM reads ``tgt_len`` tokens only."""
    decoder_dict = model.decoder.dictionary
    prev_output_tokens = dummy_tokens(decoder_dict, tgt_len, first=decoder_dict.eos())
    if src_len is None:
        return lambda: model.decoder(prev_output_tokens)
    src_tokens = dummy_tokens(model.encoder.dictionary, src_len)
    src_lengths = torch.tensor([src_len])
    return lambda: model(src_tokens, src_lengths, prev_output_tokens)


def count_model_macs(model: nn.Module, src_len: Optional[int], tgt_len: int,
                     conventions: Conventions = Conventions()) -> Dict[str, int]:
    """MACs by kind (see ``macs``), without the embedding or output modules the conventions leave out."""
    excluded = []
    if not conventions.embedding_macs:
        excluded += embedding_modules(model)
    if not conventions.output_macs:
        excluded += output_modules(model)
    was_training = model.training
    model.eval()
    try:
        return count_macs(teacher_forced_forward(model, src_len, tgt_len), excluded)
    finally:
        model.train(was_training)


def profile_model(model: nn.Module, src_len: int = 30, tgt_len: int = 30, **conventions) -> dict:
    """``{"params", "macs", "macs_by_kind", "src_len", "tgt_len", "conventions"}`` of a fairseq model.

    ``conventions`` are the fields of :class:`Conventions` (the spec's by default). ``macs_by_kind``
    splits what ran into linear / attention / convolution, convolution taps included even when
    ``conv_taps=False`` leaves them out of ``macs``. A decoder-only model (language model) is run
    on ``tgt_len`` tokens and reports ``src_len`` as None.
    """
    unknown = set(conventions) - set(Conventions.names())
    if unknown:
        raise TypeError(f"unknown counting conventions {sorted(unknown)}; known: {Conventions.names()}")
    rules = Conventions(**conventions)
    src_len = src_len if is_encoder_decoder(model) else None
    by_kind = count_model_macs(model, src_len, tgt_len, rules)
    macs = sum(n for kind, n in by_kind.items() if kind != "convolution" or rules.conv_taps)
    return {"params": count_params(model, rules), "macs": macs, "macs_by_kind": by_kind,
            "src_len": src_len, "tgt_len": tgt_len, "conventions": rules.as_dict()}
