"""fairseq's incremental-state protocol in pure PyTorch.

fairseq's generators keep one dict for the whole decoder and every module stores its cache under
``"<module uuid>.<key>"``. Implementing the same protocol here keeps ``lsra_fairseq.modules`` free
of fairseq while the modules still decode step by step inside ``fairseq-generate``.
"""
import uuid
from typing import Dict, Optional

from torch import Tensor

IncrementalState = Dict[str, Dict[str, Optional[Tensor]]]


class IncrementalStateMixin:
    """Gives a module a private slot in a shared incremental-state dict."""

    def init_incremental_state(self) -> None:
        self._incremental_state_id = str(uuid.uuid4())

    def _state_key(self, key: str) -> str:
        if not hasattr(self, "_incremental_state_id"):
            self.init_incremental_state()
        return f"{self._incremental_state_id}.{key}"

    def get_incremental_state(self, incremental_state: Optional[IncrementalState], key: str):
        if incremental_state is None:
            return None
        return incremental_state.get(self._state_key(key))

    def set_incremental_state(self, incremental_state: Optional[IncrementalState], key: str, value):
        if incremental_state is not None:
            incremental_state[self._state_key(key)] = value
        return incremental_state

    def reorder_cached_tensors(self, incremental_state: IncrementalState, key: str, new_order: Tensor,
                               batch_dim: int) -> None:
        """Follows a beam reorder: every cached tensor is re-indexed along its batch dimension."""
        cache = self.get_incremental_state(incremental_state, key)
        if cache is None:
            return
        reordered = {name: None if t is None else t.index_select(batch_dim, new_order)
                     for name, t in cache.items()}
        self.set_incremental_state(incremental_state, key, reordered)
