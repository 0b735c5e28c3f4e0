"""Registers lsra-fairseq with fairseq: models, architectures, and checkpoint loading on torch >= 2.6."""
from .checkpoint_compat import allow_fairseq_checkpoints

allow_fairseq_checkpoints()

from . import models  # noqa: E402,F401  (registers models and architectures)
