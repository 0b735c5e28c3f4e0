"""Shared test fixtures: the read-only data beside the clone, and plugin registration."""
import os
from pathlib import Path

import pytest

from lsra_fairseq.profiling import macs
from lsra_fairseq.profiling.builder import build_registered_model

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("LSRA_SHARED", REPO.parent / "shared"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    path = SHARED / "data"
    if not path.is_dir():
        pytest.fail(f"shared data not found at {path}; set LSRA_SHARED to the folder holding data/")
    return path


@pytest.fixture
def build_model():
    return build_registered_model


@pytest.fixture
def one_thread():
    """Small models run faster on one thread, and the CPUs are shared with other processes."""
    with macs.one_thread():
        yield
