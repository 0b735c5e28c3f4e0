"""#Params and #MACs of one built fairseq model, from a teacher-forced forward on a dummy sentence.

What is counted follows the paper's tables by default, each part switchable (:class:`Conventions`).
The parts the conventions treat specially are found by the names fairseq gives them in every
model: ``embed_tokens`` / ``embed_positions`` for the input embeddings (an ``nn.Embedding`` or an
``AdaptiveInput``), ``output_projection`` or ``adaptive_softmax`` for the decoder's output layer.
"""
from dataclasses import asdict, dataclass, fields
from typing import Dict, Iterator, List, Optional

import torch
from torch import nn

from .macs import count_macs

EMBEDDING_NAMES = ("embed_tokens", "embed_positions")
OUTPUT_NAMES = ("output_projection", "adaptive_softmax")


@dataclass(frozen=True)
class Conventions:
    """Defaults follow the paper's tables: parameters without the embedding tables but with an
    untied output matrix (tied ones are the embedding table itself); MACs of linears, attention
    products and convolution taps, without embedding lookups and without the final output
    projection."""

    embedding_params: bool = False  # count embedding tables (token and learned-position)
    output_params: bool = True  # count an output matrix that is not tied to an embedding
    embedding_macs: bool = False  # count work inside embedding modules (adaptive-input projections)
    output_macs: bool = False  # count the final output projection (or adaptive softmax)
    conv_taps: bool = True  # count convolution taps (the paper's own figures seem not to)

    @classmethod
    def names(cls):
        return [f.name for f in fields(cls)]

    def as_dict(self) -> dict:
        return asdict(self)

    def describe(self) -> str:
        """What was counted, in words, for the text reports."""
        with_ = lambda flag: "with" if flag else "without"  # noqa: E731
        return (f"#Params {with_(self.embedding_params)} embedding tables, "
                f"{with_(self.output_params)} an untied output matrix; #MACs "
                f"{with_(self.embedding_macs)} the embedding modules, "
                f"{with_(self.output_macs)} the output projection, "
                f"{with_(self.conv_taps)} convolution taps")


def token_counts(src_len: Optional[int], tgt_len: int) -> str:
    """How long the dummy sentence is; a language model (``src_len`` None) reads target tokens only."""
    return f"{tgt_len} tokens" if src_len is None else f"{src_len} source + {tgt_len} target tokens"


def millions(count: int) -> str:
    """3 or 4 significant digits in millions: 2.77M, 54.71M, 1337.8M."""
    return f"{count / 1e6:.2f}M" if count < 1e8 else f"{count / 1e6:.1f}M"


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

    ``conventions`` are the fields of :class:`Conventions` (the paper's by default). ``macs_by_kind``
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
