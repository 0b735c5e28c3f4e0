"""Registers lsra-fairseq with fairseq: models, architectures, tasks, and checkpoint loading on torch >= 2.6."""
from .checkpoint_compat import allow_fairseq_checkpoints, explain_checkpoint_errors

allow_fairseq_checkpoints()
explain_checkpoint_errors()

from .numpy_compat import provide_numpy_compat_long  # noqa: E402

provide_numpy_compat_long()

from . import models  # noqa: E402,F401  (registers models and architectures)
from . import tasks  # noqa: E402,F401  (registers tasks)
