"""Builds any registered fairseq model without data on disk: from an arch name or a checkpoint.

Only the dictionary sizes matter to the model, so a dummy task holding two dictionaries of the
requested sizes stands in for fairseq's translation or language-modeling task.
"""
import argparse
from pathlib import Path
from typing import Optional, Sequence, Tuple

from torch import nn


class DictionaryTask:
    """The two dictionaries a model is built from, without data on disk."""

    def __init__(self, src_vocab: int, tgt_vocab: Optional[int] = None, joined: bool = False):
        from fairseq.data import Dictionary

        def dictionary(size):
            d = Dictionary()
            for i in range(size - len(d)):
                d.add_symbol(f"w{i}")
            return d

        self.source_dictionary = dictionary(src_vocab)
        self.target_dictionary = self.source_dictionary if joined else dictionary(tgt_vocab or src_vocab)
        self.dictionary = self.target_dictionary  # language-modeling tasks name it so


def registered_model_class(arch: str) -> type:
    """The model class fairseq registered ``arch`` for; a clear error for an unknown arch."""
    import lsra_fairseq.plugin  # noqa: F401
    from fairseq.models import ARCH_MODEL_REGISTRY

    if arch not in ARCH_MODEL_REGISTRY:
        raise ValueError(f"unknown arch {arch!r}: not registered with fairseq (this tool loads the "
                         f"lsra_fairseq plugin; a third-party arch needs its own plugin imported)")
    return ARCH_MODEL_REGISTRY[arch]


def build_registered_model(arch: str, task: DictionaryTask, **overrides) -> nn.Module:
    """Builds ``arch`` through fairseq's registry, as fairseq-train does after parsing flags."""
    from fairseq import models

    registered_model_class(arch)
    args = argparse.Namespace(_name=arch, arch=arch, **overrides)
    return models.build_model(args, task)


def make_task(src_vocab: int, tgt_vocab: int) -> DictionaryTask:
    """Equal sizes give one joined dictionary, which suits shared and separate embeddings alike."""
    return DictionaryTask(src_vocab, tgt_vocab, joined=src_vocab == tgt_vocab)


def parse_model_flags(arch: str, flags: Sequence[str]) -> dict:
    """Parses fairseq model flags (``--encoder-layers 3``) the way fairseq-train does for ``arch``.

    Flags not given stay absent, so the arch's own defaults fill them.
    """
    model_class = registered_model_class(arch)
    parser = argparse.ArgumentParser(prog=f"lsra-profile --arch {arch}", usage="%(prog)s [model flags]",
                                     add_help=False, argument_default=argparse.SUPPRESS)
    model_class.add_args(parser)
    return vars(parser.parse_args(list(flags)))


def build_from_arch(arch: str, flags: Sequence[str] = (), src_vocab: int = 32768,
                    tgt_vocab: Optional[int] = None) -> nn.Module:
    overrides = parse_model_flags(arch, flags)
    return build_registered_model(arch, make_task(src_vocab, tgt_vocab or src_vocab), **overrides)


def _checkpoint_vocab_sizes(state: dict) -> Tuple[Optional[int], Optional[int]]:
    """Dictionary sizes read from the embedding tables (None where the model has no plain table)."""
    weights = state["model"]
    size = lambda key: weights[key].shape[0] if key in weights else None  # noqa: E731
    return size("encoder.embed_tokens.weight"), size("decoder.embed_tokens.weight")


def build_from_checkpoint(path: str, src_vocab: Optional[int] = None,
                          tgt_vocab: Optional[int] = None) -> Tuple[nn.Module, str]:
    """Rebuilds a checkpoint's model with its saved config and loads its weights (strictly).

    Dictionary sizes come from the checkpoint's embedding tables unless given. Returns the model
    and its arch name.
    """
    if not Path(path).is_file():
        raise FileNotFoundError(f"checkpoint {path!r} not found")
    import lsra_fairseq.plugin  # noqa: F401
    from fairseq import checkpoint_utils, models

    from .checkpoint_compat import allow_fairseq_checkpoints

    allow_fairseq_checkpoints()  # idempotent: whatever changed torch's allowlist since the plugin import
    state = checkpoint_utils.load_checkpoint_to_cpu(path)
    cfg = state["cfg"]["model"]
    saved_src, saved_tgt = _checkpoint_vocab_sizes(state)
    src_vocab, tgt_vocab = src_vocab or saved_src or saved_tgt, tgt_vocab or saved_tgt or saved_src
    if src_vocab is None or tgt_vocab is None:
        raise ValueError(f"{path}: cannot read the dictionary sizes from the checkpoint (no plain "
                         f"embedding table); give --src-vocab and --tgt-vocab")
    model = models.build_model(cfg, make_task(src_vocab, tgt_vocab), from_checkpoint=True)
    model.load_state_dict(state["model"], strict=True)
    arch = getattr(cfg, "arch", None) or getattr(cfg, "_name", "?")
    return model, arch
