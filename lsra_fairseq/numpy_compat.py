"""Lets fairseq 0.12's datasets run under NumPy 2, which removed ``numpy.compat``.

fairseq uses ``np.compat.long`` (NumPy 1's alias of Python ``int``) in ``TokenBlockDataset`` with
``--sample-break-mode eos`` (what ``fairseq-interactive`` builds for a language model) and in
``LanguagePairDataset`` with ``--num-batch-buckets``. Nothing else in ``numpy.compat`` is used, so
only that alias is provided, and only where NumPy lacks the module.
"""
import types

import numpy as np


def provide_numpy_compat_long() -> None:
    try:
        np.compat  # noqa: B018  (NumPy 1 has it; NumPy 2 raises AttributeError)
    except AttributeError:
        np.compat = types.SimpleNamespace(long=np.int64)
