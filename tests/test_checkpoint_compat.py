"""fairseq checkpoints load under torch's safe unpickler once the plugin is imported; nothing else does."""
import argparse
import pickle

import pytest
import torch

import lsra_fairseq.plugin  # noqa: F401  (allowlists what fairseq checkpoints hold)


class NotAFairseqObject:
    pass


def test_legacy_checkpoint_with_argparse_namespace_loads_safely(tmp_path):
    path = tmp_path / "legacy.pt"
    torch.save({"args": argparse.Namespace(arch="transformer", lr=[5e-4]), "model": {"w": torch.ones(2)},
                "optimizer_history": [{"criterion_name": "CrossEntropyCriterion"}]}, path)
    state = torch.load(path)  # what fairseq's checkpoint_utils calls: weights_only by default
    assert state["args"].arch == "transformer" and torch.equal(state["model"]["w"], torch.ones(2))


def test_safe_loading_still_refuses_other_globals(tmp_path):
    path = tmp_path / "other.pt"
    torch.save({"payload": NotAFairseqObject()}, path)
    with pytest.raises(pickle.UnpicklingError, match="NotAFairseqObject"):
        torch.load(path)


def test_truncated_or_foreign_checkpoint_gives_an_error_naming_the_file(tmp_path):
    from fairseq import checkpoint_utils

    from lsra_fairseq.checkpoint_compat import CheckpointError

    good = tmp_path / "checkpoint_last.pt"
    torch.save({"model": {"w": torch.ones(1000)}}, good)
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(good.read_bytes()[:1500])
    with pytest.raises(CheckpointError, match=r"truncated\.pt cannot be read .*truncated.*--restore-file"):
        checkpoint_utils.load_checkpoint_to_cpu(str(truncated))

    foreign = tmp_path / "foreign.pt"
    torch.save({"payload": NotAFairseqObject()}, foreign)
    with pytest.raises(CheckpointError, match=r"foreign\.pt holds objects that safe loading refuses"):
        checkpoint_utils.load_checkpoint_to_cpu(str(foreign))

    with pytest.raises(CheckpointError, match=r"missing\.pt does not exist"):
        checkpoint_utils.load_checkpoint_to_cpu(str(tmp_path / "missing.pt"))
