"""fairseq's command-line tools as subprocess commands, with this plugin registered."""
import os
import shlex
import sys
from pathlib import Path
from typing import Dict, List, Sequence

# The --user-dir shim beside the package (fairseq imports a user dir by its folder).
USER_DIR = Path(__file__).resolve().parents[1] / "user_dir"
CHECKOUT = USER_DIR.parent


def recorded_command(command: Sequence) -> str:
    """A command as results files record it: paths inside the checkout relative to it, so the
    record reads the same on every machine (and can be rerun from the checkout)."""
    return shlex.join(map(str, command)).replace(f"{CHECKOUT}{os.sep}", "")


def fairseq_command(tool: str, *args: str) -> List[str]:
    """``fairseq-<tool> args --user-dir user_dir`` run by this interpreter (no PATH lookup)."""
    return [sys.executable, "-m", f"fairseq_cli.{tool}", *map(str, args), "--user-dir", str(USER_DIR)]


def as_flags(options: Dict) -> List[str]:
    """Command-line flags from {flag name: value}: True is a bare flag, False and None leave it out."""
    flags = []
    for key, value in options.items():
        if value is False or value is None:
            continue
        flags.append(f"--{key}")
        if value is not True:
            flags.append(str(value))
    return flags
