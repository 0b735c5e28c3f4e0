"""Errors that already say what is wrong and what to do end a fairseq command with that line alone.

fairseq's tools let every exception print its full traceback. For the errors this plugin raises
with a complete message (a checkpoint that cannot be used, an impossible branch layout, an
official checkpoint given where ours is expected) the traceback only hides the message, so they
print as ``<tool>: error: <message>`` (exit status 1, as before). Any other exception is untouched.
"""
import sys
from pathlib import Path

from .checkpoint_compat import CheckpointError
from .conversion.official_args import OfficialCheckpointError
from .modules.branch_spec import BranchSpecError
from .patching import install_once

EXPLAINED = (CheckpointError, OfficialCheckpointError, BranchSpecError)


def _explaining(previous):
    def excepthook(kind, error, traceback):
        if issubclass(kind, EXPLAINED):
            sys.stderr.write(f"{Path(sys.argv[0]).name}: error: {error}\n")
        else:
            previous(kind, error, traceback)
    return excepthook


def print_explained_errors_alone() -> None:
    install_once(sys, "excepthook", _explaining)
