import pytest

from .tiny_translation import tiny_run


@pytest.fixture(scope="session")
def tiny(shared_data, tmp_path_factory):
    """A Lite Transformer trained here on Multi30k pairs (see tiny_translation), with its run folder."""
    return tiny_run(shared_data, tmp_path_factory.mktemp("tiny_translation"))
