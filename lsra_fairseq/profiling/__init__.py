"""#Params and #MACs of fairseq models under the paper's counting conventions (``lsra-profile``).

``profile_model(model, src_len=30, tgt_len=30, **conventions)`` is what other code calls to put the
figures next to its results; the counting itself lives in ``macs`` (operators) and ``profile``.
"""
from .conventions import Conventions
from .macs import count_macs
from .profile import count_params, profile_model

__all__ = ["Conventions", "count_macs", "count_params", "profile_model"]
