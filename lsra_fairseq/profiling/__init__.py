"""#Params and #MACs of fairseq models under the paper's counting conventions (``lsra-profile``).

``profile_model(model, src_len=30, tgt_len=30, **conventions)`` is what other code calls to put the
figures next to its results; ``macs`` counts the operators, ``counting`` decides what is counted,
``paper`` holds the paper's tables and ``cli`` is the command.
"""
from .counting import Conventions, count_params, profile_model
from .macs import count_macs

__all__ = ["Conventions", "count_macs", "count_params", "profile_model"]
