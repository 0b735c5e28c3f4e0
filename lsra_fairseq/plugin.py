"""Registers lsra-fairseq with fairseq: models, architectures, tasks, and checkpoint loading on torch >= 2.6."""
from .checkpoint_compat import allow_fairseq_checkpoints, explain_checkpoint_errors

allow_fairseq_checkpoints()
explain_checkpoint_errors()

from .numpy_compat import provide_numpy_compat_long  # noqa: E402

provide_numpy_compat_long()

from .distributed import adapt_fairseq_for_cpu_processes  # noqa: E402

adapt_fairseq_for_cpu_processes()  # fairseq's DDP on CPU processes (gloo); GPU runs unchanged

from .resume import resume_with_first_epoch_batches  # noqa: E402

resume_with_first_epoch_batches()  # a run resumed in epoch E > 1 trains on the batches it left

from .interactive import check_interactive_input  # noqa: E402

check_interactive_input()  # fairseq-interactive skips empty / over-long lines with a warning

from .clear_errors import print_explained_errors_alone  # noqa: E402

print_explained_errors_alone()  # our errors end a fairseq tool with their message, no traceback

from . import models  # noqa: E402,F401  (registers models and architectures)
from . import tasks  # noqa: E402,F401  (registers tasks)
from . import criterions  # noqa: E402,F401  (registers criterions)
from .compression import read_compact_checkpoints  # noqa: E402  (registers translation_pruned)

read_compact_checkpoints()  # compact files of `lsra-compress pack` load like any checkpoint
