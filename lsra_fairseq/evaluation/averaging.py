"""Checkpoint averaging on top of fairseq's checkpoint utilities.

fairseq's ``scripts/average_checkpoints.py`` is not part of the wheel. The paper averages the last
10 epoch checkpoints for IWSLT (its Table 1); the averaged file is an ordinary fairseq checkpoint (the
newest input's state with the mean parameters) that fairseq-generate and fairseq-interactive load.
"""
import argparse
import sys
from pathlib import Path
from typing import Dict, List, Sequence

from omegaconf import OmegaConf


def last_epoch_checkpoints(run_dir: Path, count: int) -> List[Path]:
    """The ``count`` newest ``checkpoint<epoch>.pt`` of a run, oldest first (fewer if fewer exist)."""
    from fairseq import checkpoint_utils

    newest_first = checkpoint_utils.checkpoint_paths(str(run_dir), pattern=r"checkpoint(\d+)\.pt")
    if not newest_first:
        raise FileNotFoundError(f"no epoch checkpoints (checkpoint<N>.pt) in {run_dir}")
    if len(newest_first) < count:
        print(f"averaging the {len(newest_first)} epoch checkpoints of {run_dir} (asked for the last {count})")
    return [Path(path) for path in reversed(newest_first[:count])]


def average_checkpoints(paths: Sequence[Path]) -> Dict:
    """The last checkpoint's state with every model tensor replaced by the mean over ``paths``."""
    from fairseq import checkpoint_utils

    import lsra_fairseq.plugin  # noqa: F401  (checkpoint loading on torch >= 2.6)

    sums, state = None, None
    for path in paths:
        state = checkpoint_utils.load_checkpoint_to_cpu(str(path))
        model = state["model"]
        if sums is None:
            sums = {name: tensor.double() for name, tensor in model.items()}
        elif model.keys() != sums.keys():
            raise ValueError(f"{path} holds other parameters than {paths[0]}")
        else:
            for name, tensor in model.items():
                sums[name] += tensor.double()
    state["model"] = {name: (total / len(paths)).to(state["model"][name].dtype) for name, total in sums.items()}
    if OmegaConf.is_config(state.get("cfg")):  # saved as plain containers, as fairseq's trainer does
        state["cfg"] = OmegaConf.to_container(state["cfg"], resolve=True)
    return state


def save_average(paths: Sequence[Path], output: Path) -> Path:
    from fairseq import checkpoint_utils

    checkpoint_utils.torch_persistent_save(average_checkpoints(paths), str(output))
    return output


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Average fairseq checkpoints (mean of every parameter).")
    parser.add_argument("--inputs", nargs="+", type=Path, required=True,
                        help="checkpoint files, or one run folder with --num-epoch-checkpoints")
    parser.add_argument("--num-epoch-checkpoints", type=int, help="average the last N epoch checkpoints")
    parser.add_argument("--output", type=Path, required=True)
    args = parser.parse_args(argv)
    paths = (last_epoch_checkpoints(args.inputs[0], args.num_epoch_checkpoints)
             if args.num_epoch_checkpoints else args.inputs)
    save_average(paths, args.output)
    print(f"averaged {len(paths)} checkpoints ({', '.join(p.name for p in paths)}) into {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
