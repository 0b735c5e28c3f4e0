"""A tiny Lite Transformer with a joined dictionary and shared embeddings, and batches for it."""
import argparse

import torch

from lsra_fairseq.builder import DictionaryTask, build_registered_model

ARCH = "lite_transformer_iwslt_de_en_160"
MODEL_FLAGS = dict(encoder_embed_dim=32, decoder_embed_dim=32, encoder_ffn_embed_dim=32, decoder_ffn_embed_dim=32,
                   encoder_layers=1, decoder_layers=1, encoder_kernel_size_list="3", decoder_kernel_size_list="3",
                   encoder_branch_type="attn:1:16:2,lightweight:default:16:2",
                   decoder_branch_type="attn:1:16:2,lightweight:default:16:2", decoder_attention_heads=2,
                   share_all_embeddings=True, dropout=0.0, attention_dropout=0.0, weight_dropout=0.0)
VOCAB = 40


def model_args() -> argparse.Namespace:
    return argparse.Namespace(_name=ARCH, arch=ARCH, **MODEL_FLAGS)


def tiny_model(seed: int = 0):
    torch.manual_seed(seed)
    task = DictionaryTask(VOCAB, joined=True)
    return build_registered_model(ARCH, task, **MODEL_FLAGS), task


def batch(task, sentences: int = 3, length: int = 6, seed: int = 0):
    """A translation batch as fairseq's collater makes it (no padding, eos last)."""
    generator = torch.Generator().manual_seed(seed)
    dictionary = task.target_dictionary
    words = lambda: torch.randint(dictionary.nspecial, len(dictionary), (sentences, length),  # noqa: E731
                                  generator=generator)
    source, target = words(), words()
    source[:, -1] = target[:, -1] = dictionary.eos()
    previous = torch.cat([target.new_full((sentences, 1), dictionary.eos()), target[:, :-1]], dim=1)
    return {"id": torch.arange(sentences), "nsentences": sentences, "ntokens": target.numel(), "target": target,
            "net_input": {"src_tokens": source, "src_lengths": torch.full((sentences,), length),
                          "prev_output_tokens": previous}}
