"""Lets fairseq load its own checkpoints under torch >= 2.6, where ``torch.load`` is safe by default.

fairseq calls ``torch.load`` without ``weights_only``; since torch 2.6 that means the restricted
unpickler, which refuses the few non-tensor objects a fairseq checkpoint holds. Rather than turning
safe loading off, we allowlist exactly those globals.
"""
import argparse

import torch

# What fairseq writes into a checkpoint besides tensors and plain containers.
FAIRSEQ_CHECKPOINT_GLOBALS = [argparse.Namespace]


def allow_fairseq_checkpoints() -> None:
    add_safe_globals = getattr(torch.serialization, "add_safe_globals", None)
    if add_safe_globals is not None:  # torch < 2.4 has no restricted unpickler to configure
        add_safe_globals(FAIRSEQ_CHECKPOINT_GLOBALS)
