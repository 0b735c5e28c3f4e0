"""Shared test fixtures: the read-only data beside the clone, and plugin registration."""
import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("LSRA_SHARED", REPO.parent / "shared"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    path = SHARED / "data"
    if not path.is_dir():
        pytest.fail(f"shared data not found at {path}; set LSRA_SHARED to the folder holding data/")
    return path


class DictionaryTask:
    """The two dictionaries a translation model is built from, without data on disk."""

    def __init__(self, src_vocab: int, tgt_vocab: int = None, joined: bool = False):
        from fairseq.data import Dictionary

        def dictionary(size):
            d = Dictionary()
            for i in range(size - len(d)):
                d.add_symbol(f"w{i}")
            return d

        self.source_dictionary = dictionary(src_vocab)
        self.target_dictionary = self.source_dictionary if joined else dictionary(tgt_vocab or src_vocab)


def build_registered_model(arch: str, task: DictionaryTask, **overrides):
    """Builds ``arch`` through fairseq's registry, as fairseq-train does after parsing flags."""
    from argparse import Namespace

    import lsra_fairseq.plugin  # noqa: F401
    from fairseq import models

    args = Namespace(_name=arch, arch=arch, **overrides)
    return models.build_model(args, task)


@pytest.fixture
def build_model():
    return build_registered_model
