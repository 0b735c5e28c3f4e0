"""``lsra-profile`` sets torch's thread count for its process; tests calling it give it back."""
import pytest
import torch


@pytest.fixture(autouse=True)
def keep_torch_threads():
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)
