"""Checkpoint loading for fairseq on current PyTorch.

1. Since torch 2.6, ``torch.load`` uses the restricted (weights-only) unpickler by default, which
   refuses the ``argparse.Namespace`` that fairseq's argparse-era models pickle into every
   checkpoint. Rather than turning safe loading off, we allowlist exactly that global.
2. fairseq lets a truncated or foreign file fail deep inside torch's zip reader. We re-raise such
   failures as one error that names the file and says what to do.
3. A file that loads is checked (``checkpoint_checks``): foreign, official (fairseq 0.8) or of a
   plugin that is not loaded gets an error naming the command that handles it.
"""
import argparse
import functools
import pickle
import re
import zipfile

import torch

from .checkpoint_checks import IMPORT_HINT, UNSAFE_HINT, check_checkpoint, official_global
from .patching import install_once

# What fairseq writes into a checkpoint besides tensors and plain containers.
FAIRSEQ_CHECKPOINT_GLOBALS = [argparse.Namespace]


class CheckpointError(RuntimeError):
    """A checkpoint file that cannot be read."""


def allow_fairseq_checkpoints() -> None:
    add_safe_globals = getattr(torch.serialization, "add_safe_globals", None)
    if add_safe_globals is not None:  # torch < 2.4 has no restricted unpickler to configure
        add_safe_globals(FAIRSEQ_CHECKPOINT_GLOBALS)


def _explained(load):
    @functools.wraps(load)
    def load_checkpoint_to_cpu(path, *args, **kwargs):
        try:
            state = load(path, *args, **kwargs)
        except FileNotFoundError as e:
            raise CheckpointError(f"checkpoint {path} does not exist; check --path / --restore-file") from e
        except pickle.UnpicklingError as e:
            refused = re.search(r"GLOBAL ([\w.]+)", str(e))
            if refused and official_global(refused.group(1)):
                raise CheckpointError(f"checkpoint {path} is an official Lite Transformer checkpoint "
                                      f"(fairseq 0.8: it holds {refused.group(1)}); "
                                      + IMPORT_HINT.format(path=path)) from None
            if refused:
                raise CheckpointError(
                    f"checkpoint {path} holds objects that safe loading refuses ({refused.group(1)}; only "
                    f"tensors, containers and {', '.join(g.__name__ for g in FAIRSEQ_CHECKPOINT_GLOBALS)} are "
                    f"allowed): it is not a fairseq checkpoint, or was written by other code; "
                    f"{UNSAFE_HINT}") from None
            raise CheckpointError(f"checkpoint {path} cannot be read (its pickle data is damaged); the file is "
                                  f"truncated or not a PyTorch checkpoint. Copy it again, or resume from an "
                                  f"earlier one with --restore-file checkpointN.pt") from None
        except (RuntimeError, EOFError, zipfile.BadZipFile) as e:
            raise CheckpointError(
                f"checkpoint {path} cannot be read ({e}); the file is truncated or not a PyTorch "
                f"checkpoint. Copy it again, or resume from an earlier one with "
                f"--restore-file checkpointN.pt") from e
        except Exception:  # fairseq's upgrade of what it read failed: say what the file is, if we can
            problem = check_checkpoint(path, torch.load(path, map_location="cpu", weights_only=True))
            if problem:
                raise CheckpointError(problem) from None
            raise
        problem = check_checkpoint(path, state)
        if problem:
            raise CheckpointError(problem)
        return state
    return load_checkpoint_to_cpu


def explain_checkpoint_errors() -> None:
    """Wraps fairseq's single checkpoint reader (used by training, generation and evaluation)."""
    from fairseq import checkpoint_utils

    install_once(checkpoint_utils, "load_checkpoint_to_cpu", _explained)
