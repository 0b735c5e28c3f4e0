"""Models built without data on disk: from an arch name and model flags, or from a checkpoint."""
import argparse

import pytest
import torch

from lsra_fairseq.builder import (DictionaryTask, build_from_arch, build_from_checkpoint, make_task,
                                  parse_model_flags, registered_model_class)

TINY = dict(encoder_embed_dim=16, decoder_embed_dim=16, encoder_ffn_embed_dim=16, decoder_ffn_embed_dim=16,
            encoder_layers=1, decoder_layers=1, encoder_attention_heads=2, decoder_attention_heads=2)


def save_checkpoint(model, model_cfg, path):
    """What fairseq-train writes, reduced to what loading needs."""
    torch.save({"cfg": {"model": model_cfg}, "args": None, "model": model.state_dict(),
                "optimizer_history": [{"criterion_name": None, "optimizer_name": None,
                                       "lr_scheduler_state": {}, "num_updates": 0}],
                "extra_state": {"train_iterator": None}}, path)


def test_equal_sizes_build_one_joined_dictionary():
    joined, separate = make_task(40, 40), make_task(40, 30)
    assert joined.source_dictionary is joined.target_dictionary and len(joined.source_dictionary) == 40
    assert (len(separate.source_dictionary), len(separate.target_dictionary)) == (40, 30)
    assert separate.dictionary is separate.target_dictionary  # the name language-modeling tasks use


def test_model_flags_not_given_stay_absent():
    assert parse_model_flags("lite_transformer_base", ["--encoder-layers", "3"]) == {"encoder_layers": 3}


def test_model_flags_and_dictionary_sizes_reach_the_model():
    flags = [item for name, value in TINY.items() for item in ("--" + name.replace("_", "-"), str(value))]
    model = build_from_arch("transformer", flags, src_vocab=60, tgt_vocab=50)
    assert len(model.encoder.layers) == 1 and model.encoder.embed_tokens.embedding_dim == 16
    assert (len(model.encoder.dictionary), len(model.decoder.dictionary)) == (60, 50)


def test_unknown_arch_is_refused_by_name():
    with pytest.raises(ValueError, match="unknown arch 'no_such_arch': not registered"):
        registered_model_class("no_such_arch")


def test_checkpoint_is_rebuilt_with_its_weights_and_dictionary_sizes(tmp_path, build_model):
    model = build_model("transformer", DictionaryTask(60, 50), **TINY)
    path = tmp_path / "checkpoint.pt"
    save_checkpoint(model, argparse.Namespace(_name="transformer", arch="transformer", **TINY), path)
    rebuilt, arch = build_from_checkpoint(str(path))
    assert arch == "transformer"
    assert (len(rebuilt.encoder.dictionary), len(rebuilt.decoder.dictionary)) == (60, 50)
    saved = model.state_dict()
    assert all(torch.equal(tensor, saved[key]) for key, tensor in rebuilt.state_dict().items())


def test_missing_checkpoint_is_named():
    with pytest.raises(FileNotFoundError, match="checkpoint '/no/such/checkpoint.pt' not found"):
        build_from_checkpoint("/no/such/checkpoint.pt")
