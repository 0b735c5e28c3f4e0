"""``lsra-evaluate``: a trained run -> averaged or best checkpoint -> fairseq-generate -> BLEU -> JSON.

Writes ``<run>/generate-<subset>.txt`` (fairseq-generate's output) and
``<results>/<dataset>-<model>.json`` with the checkpoint, #Params and #MACs (spec §5 conventions,
from ``lsra_fairseq.profiling``), tokenized BLEU and sacreBLEU, and the commands that produced them.
"""
import argparse
import json
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Dict, List

from ..commands import fairseq_command, recorded_command
from .averaging import last_epoch_checkpoints, save_average
from .bleu import detokenized_sacrebleu, read_generate_output, tokenized_bleu
from .results import write_result


def choose_checkpoint(run_dir: Path, average_last: int) -> Dict:
    """The averaged last epochs (written beside them) or, with ``average_last`` 0, the best checkpoint.

    A run with no epoch checkpoint yet (stopped by a time limit in its first epoch) falls back to
    its last checkpoint. A run with no checkpoint at all stops here, before fairseq is started.
    """
    chosen = run_dir / "checkpoint_best.pt"
    if average_last:
        try:
            inputs = last_epoch_checkpoints(run_dir, average_last)
        except FileNotFoundError:  # no run yet, or a time limit stopped it within its first epoch
            chosen = run_dir / "checkpoint_last.pt"
            print(f"no epoch checkpoint in {run_dir} to average: testing {chosen.name}")
        else:
            output = save_average(inputs, run_dir / f"average_last{average_last}.pt")
            return {"checkpoint": str(output), "averaged": [p.name for p in inputs]}
    if not chosen.is_file():
        raise SystemExit(f"no checkpoint at {chosen}: train the model first "
                         f"(make train DATASET=... MODEL=... writes runs/<dataset>/<model>/)")
    return {"checkpoint": str(chosen)}


def generate(data: Path, checkpoint: str, output: Path, subset: str, beam: int, lenpen: float,
             batch_size: int, extra: List[str], fast: str = "", int8: bool = False) -> str:
    # --required-batch-size-multiple 1: with fairseq's default of 8, batch_by_size drops the last
    # batch when its size is not a multiple of 8, and those sentences go unscored (fairseq #5036).
    command = fairseq_command("generate", data, "--path", checkpoint, "--gen-subset", subset,
                              "--beam", beam, "--lenpen", lenpen, "--remove-bpe", "--batch-size", batch_size,
                              "--required-batch-size-multiple", 1, *extra)
    if fast:  # the same flags, decoded by lsra_fairseq.generation's fast generator
        from ..generation.generate_file import generate_to_file

        return generate_to_file(command[3:], output, fast, int8)
    print(shlex.join(command), flush=True)
    with open(output, "w", encoding="utf-8") as out:
        status = subprocess.run(command, stdout=out).returncode
    if status:
        raise SystemExit(f"fairseq-generate failed with exit status {status}; its error is printed above")
    return recorded_command(command)


def model_size(checkpoint: str) -> Dict[str, int]:
    """#Params and #MACs of the checkpoint's model, counted as the paper does (30+30 tokens)."""
    from ..profiling import profile_model
    from ..profiling.builder import build_from_checkpoint

    model, _ = build_from_checkpoint(checkpoint)
    profile = profile_model(model.eval(), src_len=30, tgt_len=30)
    return {"params": profile["params"], "macs": profile["macs"]}


def read_references(reference: Path, hypotheses: List[str], output: Path, what: str) -> List[str]:
    """The lines of ``reference``, one for each hypothesis of ``output``; a different count stops here."""
    references = reference.read_text(encoding="utf-8").splitlines()
    if len(references) != len(hypotheses):
        raise SystemExit(f"{output} has {len(hypotheses)} {what}, {reference} has {len(references)}")
    return references


def evaluate(args, extra: List[str]) -> Path:
    chosen = choose_checkpoint(args.run_dir, args.average_last)
    output = args.run_dir / f"generate-{args.subset}.txt"
    generate_command = generate(args.data, chosen["checkpoint"], output, args.subset, args.beam,
                                args.lenpen, args.batch_size, extra, args.fast and args.fast_backend, args.int8)
    hyps, refs = read_generate_output(output)
    metrics = {"bleu": round(tokenized_bleu(hyps, refs, args.compound_split).score, 2),
               "compound_split": args.compound_split, "beam": args.beam, "lenpen": args.lenpen,
               "subset": args.subset, "sentences": len(hyps)}
    preparation = json.loads((args.data / "preparation.json").read_text())
    reference = args.data / f"{args.subset}.raw.{preparation['target_lang']}"
    if reference.exists():
        references = read_references(reference, hyps, output, "translations")
        score, signature = detokenized_sacrebleu(hyps, references,
                                                 preparation["target_lang"],
                                                 lowercase=preparation["moses"]["lowercase"] is not None)
        metrics.update(sacrebleu=round(score, 2), sacrebleu_signature=signature)
    metrics.update(model_size(chosen["checkpoint"]))
    path = write_result(args.results, args.dataset, args.model, metrics, generate_command=generate_command,
                        **chosen)
    print(f"{args.dataset} {args.model}: BLEU {metrics['bleu']}"
          f"{' (compound split)' if args.compound_split else ''}, sacreBLEU {metrics.get('sacrebleu')}"
          f" on {args.subset} ({len(hyps)} sentences) -> {path}")
    return path


def run_parser(description: str, data_help: str, batch_size: int) -> argparse.ArgumentParser:
    """The arguments every test target takes: a dataset, a training run, where results go."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("data", type=Path, help=data_help)
    parser.add_argument("run_dir", type=Path, help="the training run's checkpoint folder")
    parser.add_argument("--dataset", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--average-last", type=int, default=0,
                        help="average the last N epoch checkpoints (0: use checkpoint_best.pt)")
    parser.add_argument("--subset", default="test")
    parser.add_argument("--batch-size", type=int, default=batch_size)
    parser.add_argument("--results", type=Path, default=Path("results"))
    return parser


def main(argv=None) -> int:
    parser = run_parser(__doc__.splitlines()[0], "binarized dataset from lsra-prepare (data-bin/<dataset>)", 128)
    parser.add_argument("--beam", type=int, default=4)
    parser.add_argument("--lenpen", type=float, default=1.0)
    parser.add_argument("--compound-split", action="store_true", help="split x-y compounds before BLEU (En-De)")
    parser.add_argument("--fast", action="store_true",
                        help="decode with lsra_fairseq's fast generator instead of fairseq-generate")
    parser.add_argument("--fast-backend", default="onnx", choices=["onnx", "eager", "compile"])
    parser.add_argument("--int8", action="store_true", help="with --fast: int8 weights and products")
    args, extra = parser.parse_known_args(argv)  # the rest goes to fairseq-generate (e.g. --cpu)
    evaluate(args, extra)
    return 0


if __name__ == "__main__":
    sys.exit(main())
