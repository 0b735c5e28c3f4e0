"""What a checkpoint read by fairseq (with this plugin loaded) must be, said before fairseq trips.

fairseq reads any dict and fails later, deep inside (``KeyError``s in its config upgrade, an
unknown arch while building). These checks name what the file is instead and the command that
handles it: a foreign file, an official Lite Transformer checkpoint (fairseq 0.8, to be imported
first), or a model of a plugin that is not loaded (``--user-dir``).
"""
from argparse import Namespace
from typing import Any, Optional

OFFICIAL_ARCH_PREFIXES = ("transformer_multibranch_v2", "transformer_lm_multibranch_v2")
# Globals that only official (fairseq 0.8) checkpoints pickle: its meters and model module.
OFFICIAL_GLOBAL_PREFIXES = ("fairseq.meters.", "fairseq.models.transformer_multibranch_v2.")
IMPORT_HINT = "convert it first: lsra-import-official {path} converted.pt, then use converted.pt"
UNSAFE_HINT = ("if you trust the file and whoever wrote it, rerun with TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1 "
               "(PyTorch then unpickles it fully, running any code it holds)")


def official_global(refused: str) -> bool:
    return refused.startswith(OFFICIAL_GLOBAL_PREFIXES)


def model_name(state: dict) -> Optional[str]:
    """The model or arch name a fairseq checkpoint was saved with (cfg, else argparse args)."""
    cfg = state.get("cfg")
    model = cfg.get("model") if hasattr(cfg, "get") else None
    name = model.get("_name") if hasattr(model, "get") else None
    args = state.get("args")
    if name is None and isinstance(args, Namespace):
        name = getattr(args, "arch", None)
    return name if isinstance(name, str) else None


def check_checkpoint(path, state: Any) -> Optional[str]:
    """None for a checkpoint fairseq can use with the registered models, else what is wrong and
    what to do."""
    if not isinstance(state, dict) or not any(key in state for key in ("model", "cfg", "args")):
        kind = (f"a dict with keys {sorted(map(str, state))[:8]}" if isinstance(state, dict)
                else f"a {type(state).__name__}")
        return (f"{path} is not a fairseq checkpoint (it holds {kind}, no 'model' / 'cfg'); "
                f"pass a checkpoint written by fairseq-train or lsra-import-official")
    name = model_name(state)
    if name is None:
        return None
    if name.startswith(OFFICIAL_ARCH_PREFIXES):
        return (f"{path} is an official Lite Transformer checkpoint (fairseq 0.8, arch {name}), which "
                f"current fairseq cannot load; " + IMPORT_HINT.format(path=path))
    from fairseq.models import ARCH_MODEL_REGISTRY, MODEL_REGISTRY

    if name not in ARCH_MODEL_REGISTRY and name not in MODEL_REGISTRY:
        return (f"{path} holds a model {name!r} that is not registered with fairseq: load the plugin "
                f"that defines it with --user-dir (for lsra-fairseq's models: --user-dir user_dir)")
    return None
