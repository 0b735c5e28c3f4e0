"""Lets every fairseq tool load a compact checkpoint wherever it takes a normal one.

fairseq reads checkpoints through one function, ``checkpoint_utils.load_checkpoint_to_cpu``
(training, generation, interactive, evaluation). We wrap it: a file that starts with the compact
magic is decoded to dense weights, then goes through the same config and upgrade steps fairseq
applies to a ``torch.load``-ed state; any other file goes to fairseq's reader unchanged.
"""
import functools

from ..patching import install_once
from .compact import is_compact, load_compact_state


def _reading_compact(load):
    @functools.wraps(load)
    def load_checkpoint_to_cpu(path, arg_overrides=None, load_on_all_ranks=False):
        from fairseq import checkpoint_utils
        from fairseq.dataclass.utils import overwrite_args_by_name
        from fairseq.file_io import PathManager
        from omegaconf import OmegaConf

        local_path = PathManager.get_local_path(path)
        if not is_compact(local_path):
            return load(path, arg_overrides, load_on_all_ranks)
        state = load_compact_state(local_path)
        state["cfg"] = OmegaConf.create(state["cfg"], flags={"allow_objects": True})
        if arg_overrides is not None:
            overwrite_args_by_name(state["cfg"], arg_overrides)
        return checkpoint_utils._upgrade_state_dict(state)

    return load_checkpoint_to_cpu


def read_compact_checkpoints() -> None:
    from fairseq import checkpoint_utils

    install_once(checkpoint_utils, "load_checkpoint_to_cpu", _reading_compact)
