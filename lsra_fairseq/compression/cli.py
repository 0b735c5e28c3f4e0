"""``lsra-compress``: prune, fine-tune with fixed masks, quantize to 8 bits, pack, report.

  lsra-compress prune CHECKPOINT --data DATA --out-dir DIR --loss-budget 0.05   (or --sparsity 0.6)
      sensitivity analysis -> DIR/masks.pt, DIR/pruned.pt (fp32, pruned), DIR/sensitivity.json
  fairseq-train ... --task translation_pruned --prune-masks DIR/masks.pt --finetune-from-model DIR/pruned.pt
      fine-tuning with the masks fixed (optionally --criterion label_smoothed_distillation)
  lsra-compress pack CHECKPOINT --masks DIR/masks.pt --out FILE [--scheme kmeans|linear]
      8-bit codes + codebooks or scales + bitmaps -> a compact file every fairseq tool loads
  lsra-compress report --original CHECKPOINT --compact FILE --out results/NAME.json [--before/--after JSON]
      size as the paper counts it, the real file sizes, sparsity per layer, BLEU before and after
"""
import argparse
import io
import json
import sys
from pathlib import Path
from typing import Dict, List, Tuple

import torch

from ..checkpoint_compat import CheckpointError
from .compact import CompactFormatError
from .masks import MasksError
from .sensitivity import DEFAULT_GRID


def _plugin():
    import lsra_fairseq.plugin  # noqa: F401  (registers the models; reads compact files)


def _plain_cfg(cfg):
    from omegaconf import OmegaConf

    return OmegaConf.to_container(cfg, resolve=True) if OmegaConf.is_config(cfg) else cfg


def earlier_sweep(path: Path, loss, parameters) -> Tuple[float, Dict[str, Dict[float, float]]]:
    """The sweep of an earlier ``prune`` run, if it measured this model on the same sentences."""
    earlier = json.loads(path.read_text())
    baseline = loss()
    if earlier["sentences"] != loss.sentences or abs(earlier["baseline_loss"] - baseline) > 1e-6 \
            or not set(parameters) <= set(earlier["rises"]):
        raise SystemExit(f"{path} measured another model or other sentences (baseline loss "
                         f"{earlier['baseline_loss']:.6f} on {earlier['sentences']} sentences; here {baseline:.6f} "
                         f"on {loss.sentences}): run the sweep again without --sweep-from")
    return baseline, {name: {float(s): r for s, r in earlier["rises"][name].items()} for name in parameters}


def prune(args) -> int:
    _plugin()
    from fairseq import checkpoint_utils

    from .masks import embedding_parameter_names, magnitude_mask, prunable_parameters, save_masks
    from .sensitivity import choose_by_budget, choose_by_sparsity, overall_sparsity, sweep, with_sparsities
    from .validation import ValidationLoss

    if (args.loss_budget is None) == (args.sparsity is None):
        raise SystemExit("give exactly one of --loss-budget (validation loss rise, nats per token) "
                         "and --sparsity (target over the non-embedding weight matrices)")
    overrides = {"data": str(args.data)} if args.data else None
    models, _, task = checkpoint_utils.load_model_ensemble_and_task([str(args.checkpoint)], arg_overrides=overrides)
    model = models[0]
    loss = ValidationLoss(model, task, args.subset, args.max_tokens, args.max_sentences)
    embeddings = set(embedding_parameter_names(model))
    parameters = {name: p for name, p in prunable_parameters(model)
                  if args.embeddings or name not in embeddings}
    counted = [name for name in parameters if name not in embeddings]
    sizes = {name: p.numel() for name, p in parameters.items()}
    print(f"sensitivity of {len(parameters)} matrices on {loss.sentences} {args.subset} sentences "
          f"at sparsities {', '.join(f'{s:.0%}' for s in args.grid)}", flush=True)
    if args.sweep_from:
        baseline, rises = earlier_sweep(args.sweep_from, loss, parameters)
    else:
        baseline, rises = sweep(parameters, loss, args.grid, log=lambda line: print(line, flush=True))

    def combined(sparsities: Dict[str, float]) -> float:
        return with_sparsities(parameters, sparsities, loss) - baseline

    if args.loss_budget is not None:
        chosen = choose_by_budget(rises, sizes, args.loss_budget, combined)
    else:
        chosen = choose_by_sparsity(rises, args.sparsity, sizes, counted)
    rise = combined(chosen)
    masks = {name: magnitude_mask(parameters[name], s) for name, s in chosen.items() if s > 0}
    with torch.no_grad():
        for name, mask in masks.items():
            parameters[name].masked_fill_(~mask, 0.0)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    non_embedding = overall_sparsity({n: chosen[n] for n in counted}, sizes)
    save_masks(masks, args.out_dir / "masks.pt", source=str(args.checkpoint), sparsities=chosen)
    state = checkpoint_utils.load_checkpoint_to_cpu(str(args.checkpoint))
    state["model"] = model.state_dict()
    state["cfg"] = _plain_cfg(state["cfg"])
    state.pop("last_optimizer_state", None)
    checkpoint_utils.torch_persistent_save(state, str(args.out_dir / "pruned.pt"))
    summary = {"checkpoint": str(args.checkpoint), "subset": args.subset, "sentences": loss.sentences,
               "baseline_loss": baseline, "grid": list(args.grid), "loss_budget": args.loss_budget,
               "target_sparsity": args.sparsity, "loss_rise": rise, "sparsity_non_embedding": non_embedding,
               "sparsities": chosen, "rises": {n: {str(s): r for s, r in c.items()} for n, c in rises.items()}}
    (args.out_dir / "sensitivity.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(f"pruned {len(masks)} matrices: non-embedding sparsity {non_embedding:.1%}, validation loss "
          f"{baseline:.4f} -> {baseline + rise:.4f} ({rise:+.4f}); wrote masks.pt, pruned.pt, sensitivity.json "
          f"to {args.out_dir}")
    return 0


def _model_and_state(checkpoint: Path):
    _plugin()
    from fairseq import checkpoint_utils

    from ..builder import build_from_checkpoint

    model, _ = build_from_checkpoint(str(checkpoint))
    return model.eval(), checkpoint_utils.load_checkpoint_to_cpu(str(checkpoint))


def pack(args) -> int:
    from .compact import fairseq_meta, quantize_model, save_compact
    from .masks import bind_masks, load_masks
    from .schemes import quantization_schemes

    model, state = _model_and_state(args.checkpoint)
    masks = load_masks(args.masks) if args.masks else {}
    revived = sum(int(weight[~mask].ne(0).sum()) for weight, mask in bind_masks(masks, model))
    if revived:
        print(f"warning: {revived} weights the masks prune are not zero in {args.checkpoint} (it was not "
              f"fine-tuned with these masks?); they are dropped")
    compact = quantize_model(model, quantization_schemes(model, args.scheme), masks, fairseq_meta(state))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    save_compact(compact, args.out)
    print(f"wrote {args.out}: {args.out.stat().st_size:,} bytes ({args.scheme} 8-bit, "
          f"{len(masks)} pruned matrices)")
    return 0


def fp32_file_bytes(model, state) -> int:
    """Bytes of the fp32 checkpoint without optimizer state: what fairseq writes, minus the optimizer."""
    from .compact import fairseq_meta

    buffer = io.BytesIO()
    torch.save({**fairseq_meta(state), "model": model.state_dict()}, buffer)
    return len(buffer.getvalue())


def report(args) -> int:
    from .compact import read_compact
    from .masks import embedding_parameter_names
    from .report import write_report
    from .size import size_report

    model, state = _model_and_state(args.original)
    embeddings = set(embedding_parameter_names(model))
    counted = [name for name, _ in model.named_parameters() if name not in embeddings]
    size = size_report(read_compact(args.compact), counted)
    files = {"compact_file_bytes": args.compact.stat().st_size, "fp32_file_bytes": fp32_file_bytes(model, state),
             "original_file_bytes": args.original.stat().st_size}
    files["file_ratio"] = round(files["fp32_file_bytes"] / files["compact_file_bytes"], 3)
    bleu = {}
    for key, path in (("before", args.before), ("after", args.after)):
        if path:
            bleu[f"bleu_{key}"] = json.loads(path.read_text())["bleu"]
            bleu[f"bleu_{key}_result"] = str(path)
    if len(bleu) == 4:
        bleu["bleu_drop"] = round(bleu["bleu_before"] - bleu["bleu_after"], 2)
    sensitivity = json.loads(args.sensitivity.read_text()) if args.sensitivity else None
    result = {"original": str(args.original), "compact": str(args.compact), **bleu, **files,
              **{k: v for k, v in size.items() if k != "layers"}}
    if sensitivity:
        result["pruning"] = {k: sensitivity[k] for k in ("loss_budget", "target_sparsity", "baseline_loss",
                                                          "loss_rise", "sparsity_non_embedding")}
    result["commands"] = args.command or []
    paths = write_report(args.out, result, size["layers"])
    print(json.dumps({k: result[k] for k in ("compression_ratio", "compression_ratio_with_tables", "file_ratio")
                      + (("bleu_drop",) if "bleu_drop" in result else ())}), "->", ", ".join(map(str, paths)))
    return 0


def _grid(text: str) -> List[float]:
    values = [float(v) for v in text.split(",") if v]
    if not values or any(not 0 < v < 1 for v in values):
        raise argparse.ArgumentTypeError(f"--grid wants sparsities in (0, 1), comma-separated: {text!r}")
    return sorted(values)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="lsra-compress", description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="\n".join(__doc__.splitlines()[1:]))
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads (default 1: these small models run faster on one thread "
                             "when other processes share the cores)")
    commands = parser.add_subparsers(dest="command_name", required=True)

    p = commands.add_parser("prune", help="sensitivity analysis -> per-matrix sparsities, masks, pruned checkpoint")
    p.add_argument("checkpoint", type=Path)
    p.add_argument("--data", type=Path, help="binarized dataset (default: the checkpoint's)")
    p.add_argument("--out-dir", type=Path, required=True)
    p.add_argument("--loss-budget", type=float, help="allowed rise of the validation loss (nats per token) "
                                                     "with every matrix pruned, before fine-tuning")
    p.add_argument("--sparsity", type=float, help="instead: target sparsity of the non-embedding matrices")
    p.add_argument("--grid", type=_grid, default=list(DEFAULT_GRID),
                   help="sparsities each matrix is tried at (default 0.3,...,0.9)")
    p.add_argument("--no-embeddings", dest="embeddings", action="store_false",
                   help="leave the embedding tables unpruned (they are not in the paper's size, but in the file)")
    p.add_argument("--sweep-from", type=Path, help="reuse the sweep of an earlier run's sensitivity.json "
                                                   "(same model and sentences) to choose with another budget")
    p.add_argument("--subset", default="valid")
    p.add_argument("--max-tokens", type=int, default=4096)
    p.add_argument("--max-sentences", type=int, help="measure on the first N sentences (speed)")
    p.set_defaults(run=prune)

    p = commands.add_parser("pack", help="quantize to 8 bits and write the compact checkpoint")
    p.add_argument("checkpoint", type=Path)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--masks", type=Path, help="masks.pt of `prune`: store those matrices sparse")
    p.add_argument("--scheme", choices=("kmeans", "linear"), default="kmeans",
                   help="weight matrices: per-tensor k-means (256 centroids) or linear per-channel")
    p.set_defaults(run=pack)

    p = commands.add_parser("report", help="sizes, sparsity per layer, BLEU before and after -> JSON + Markdown")
    p.add_argument("--original", type=Path, required=True, help="the fp32 checkpoint compression started from")
    p.add_argument("--compact", type=Path, required=True)
    p.add_argument("--before", type=Path, help="lsra-evaluate result JSON of the original")
    p.add_argument("--after", type=Path, help="lsra-evaluate result JSON of the compact checkpoint")
    p.add_argument("--sensitivity", type=Path, help="sensitivity.json of `prune`")
    p.add_argument("--command", action="append", help="a command of the pipeline, recorded in the JSON")
    p.add_argument("--out", type=Path, required=True, help="results/NAME.json (NAME.md is written beside it)")
    p.set_defaults(run=report)

    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    try:
        return args.run(args)
    except (CompactFormatError, MasksError, CheckpointError, FileNotFoundError) as e:
        raise SystemExit(f"lsra-compress {args.command_name}: {e}")


if __name__ == "__main__":
    sys.exit(main())
