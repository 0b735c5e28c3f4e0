"""A fairseq checkpoint of a registered arch with seeded random weights, for the forced-length
benchmarks: when every hypothesis is forced to the same length, the work does not depend on the
weights, so the paper's sizes can be timed without training them."""
from pathlib import Path
from typing import Sequence

import torch


def write_random_checkpoint(arch: str, data: Path, path: Path, seed: int = 1,
                            flags: Sequence[str] = ()) -> Path:
    """Builds ``arch`` (plus model ``flags``) for ``data``'s dictionaries as fairseq-train would,
    and saves it untrained in fairseq's checkpoint format (readable by fairseq-generate and by
    CTranslate2's converter)."""
    from fairseq import options, tasks
    from fairseq.dataclass.utils import convert_namespace_to_omegaconf
    from omegaconf import OmegaConf

    from lsra_fairseq.commands import USER_DIR

    parser = options.get_training_parser()
    args = options.parse_args_and_arch(parser, [str(data), "--task", "translation", "--arch", arch,
                                                "--user-dir", str(USER_DIR), "--seed", str(seed), *flags])
    cfg = convert_namespace_to_omegaconf(args)
    task = tasks.setup_task(cfg.task)
    torch.manual_seed(seed)
    model = task.build_model(cfg.model)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({
        "cfg": OmegaConf.to_container(cfg, resolve=True, enum_to_str=True), "args": None,
        "model": model.state_dict(),
        "optimizer_history": [{"criterion_name": None, "optimizer_name": None,
                               "lr_scheduler_state": {}, "num_updates": 0}],
        "extra_state": {"train_iterator": {"epoch": 0, "iterations_in_epoch": 0},
                        "random_weights": {"arch": arch, "seed": seed}},
        "last_optimizer_state": None,
    }, path)
    return path
