"""Shared test fixtures: the read-only data beside the clone, and plugin registration."""
import os
from pathlib import Path

import pytest

from lsra_fairseq.builder import build_registered_model
from lsra_fairseq.profiling import macs

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("LSRA_SHARED", REPO.parent / "shared"))


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: minutes of training; `make test-slow` runs them, `make test` not")


def require_shared(path: Path) -> Path:
    """Skips the calling test when the shared data is absent, so a clone anywhere runs `make test`."""
    if not path.exists():
        pytest.skip(f"needs the shared data: {path} not found; set LSRA_SHARED to the folder holding "
                    "data/ and fixtures/")
    return path


@pytest.fixture(scope="session")
def shared_data() -> Path:
    return require_shared(SHARED / "data")


@pytest.fixture
def build_model():
    return build_registered_model


@pytest.fixture
def one_thread():
    """Small models run faster on one thread, and the CPUs are shared with other processes."""
    with macs.one_thread():
        yield


@pytest.fixture(scope="session")
def small_multi30k(shared_data, tmp_path_factory) -> Path:
    """The Multi30k recipe's binaries for the first 200 lines of every raw file (BPE 300 merges)."""
    from lsra_fairseq.preprocessing import pipeline

    root = tmp_path_factory.mktemp("small_multi30k")
    raw = root / "raw"
    raw.mkdir()
    for path in (shared_data / "multi30k" / "raw").iterdir():
        lines = path.read_text(encoding="utf-8").splitlines(keepends=True)[:200]
        (raw / path.name).write_text("".join(lines), encoding="utf-8")
    data = root / "data-bin"
    assert pipeline.main(["multi30k", "--raw", str(raw), "--work", str(root / "work"),
                          "--dest", str(data), "--bpe-merges", "300", "--workers", "1"]) == 0
    return data
