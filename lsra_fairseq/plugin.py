"""Registers lsra-fairseq with fairseq: models, architectures, and checkpoint loading on torch >= 2.6."""
from .checkpoint_compat import allow_fairseq_checkpoints, explain_checkpoint_errors

allow_fairseq_checkpoints()
explain_checkpoint_errors()

from . import models  # noqa: E402,F401  (registers models and architectures)
