"""Measured CPU time of greedy decoding, to set beside the MAC count.

One sentence (batch 1): the encoder reads ``src_len`` tokens, then the decoder emits ``tgt_len``
tokens one by one with its incremental state, as fairseq's generator does, taking the argmax of
the normalised scores (no early stop at end-of-sentence, so every model decodes the same length).
Unlike #MACs, this includes everything that runs: embeddings, the output projection, softmax.
"""
import statistics
import time
from typing import Optional

import torch
from torch import nn

from .model_parts import dummy_tokens


def greedy_decode(model: nn.Module, src_len: Optional[int], tgt_len: int) -> torch.Tensor:
    decoder_dict = model.decoder.dictionary
    encoder_out = None
    if src_len is not None:
        encoder_out = model.encoder(dummy_tokens(model.encoder.dictionary, src_len),
                                    src_lengths=torch.tensor([src_len]))
    tokens = torch.full((1, 1), decoder_dict.eos())
    state = {}
    for _ in range(tgt_len):
        out = model.decoder(tokens, encoder_out=encoder_out, incremental_state=state)
        scores = model.get_normalized_probs(out, log_probs=True)[:, -1]
        tokens = torch.cat([tokens, scores.argmax(-1, keepdim=True)], dim=1)
    return tokens


def latency_ms(model: nn.Module, src_len: Optional[int], tgt_len: int, repeats: int = 5) -> float:
    """Median wall time of ``repeats`` greedy decodes after one warm-up, in milliseconds."""
    model.eval()
    times = []
    with torch.no_grad():
        for run in range(repeats + 1):
            start = time.perf_counter()
            greedy_decode(model, src_len, tgt_len)
            if run:
                times.append(1000 * (time.perf_counter() - start))
    return statistics.median(times)
