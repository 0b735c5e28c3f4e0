"""Loading a trained ``lite_transformer`` checkpoint with its task (dictionaries), with clear errors."""
from pathlib import Path
from typing import Optional, Tuple


def load_lite_transformer(checkpoint: Path, data: Optional[Path] = None) -> Tuple[object, object]:
    """(model in eval mode, fairseq task) from a fairseq checkpoint; ``data`` overrides the folder
    holding the dictionaries (``dict.<lang>.txt``) recorded in the checkpoint."""
    import lsra_fairseq.plugin  # noqa: F401  (registers the models)
    from fairseq import checkpoint_utils

    from ..models.lite_transformer import LiteTransformerModel

    checkpoint = Path(checkpoint)
    if not checkpoint.is_file():
        raise SystemExit(f"checkpoint {checkpoint} not found: give the .pt file of a trained run "
                         f"(e.g. runs/multi30k/lite_demo/checkpoint_best.pt)")
    overrides = {"data": str(data)} if data is not None else {}
    try:
        models, _, task = checkpoint_utils.load_model_ensemble_and_task([str(checkpoint)], arg_overrides=overrides)
    except FileNotFoundError as e:
        raise SystemExit(f"{checkpoint}: the dictionaries are missing ({e}); pass --data with the "
                         f"folder holding dict.<src>.txt and dict.<tgt>.txt (e.g. data-bin/multi30k)") from None
    model = models[0]
    if not isinstance(model, LiteTransformerModel):
        raise SystemExit(f"{checkpoint} holds a {type(model).__name__}; this tool takes lite_transformer "
                         f"translation models")
    return model.eval(), task
