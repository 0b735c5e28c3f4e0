import pytest

from ..generation.tiny_translation import tiny_run


@pytest.fixture(scope="session")
def tiny(shared_data, tmp_path_factory):
    """The small trained Lite Transformer of tests/generation (built once per session)."""
    return tiny_run(shared_data, tmp_path_factory.mktemp("tiny_translation"))
