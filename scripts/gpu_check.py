"""GPU check: a few fp16 and AMP training updates of a small LSRA model through fairseq-train, then
fairseq-generate with the trained checkpoint, and the same model's forward on GPU vs CPU.

Run it from the repository root on a machine with a CUDA GPU (nothing else needs one):

    .venv/bin/python scripts/gpu_check.py [--out results/gpu-check.json] [--updates 20]

It exits 0 when every check holds, 1 when one fails, 2 when no GPU is visible. It uses the tests'
tiny synthetic data (tests/tiny_runs.py: the target is the source reversed), so it needs no download.
"""
import argparse
import json
import math
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from lsra_fairseq.commands import fairseq_command  # noqa: E402
from tests.tiny_runs import LABEL_SMOOTHING, TINY_LSRA, translation_data, update_losses  # noqa: E402

TRAIN = ["--task", "translation", *TINY_LSRA, *LABEL_SMOOTHING, "--dropout", "0.1", "--optimizer", "adam",
         "--lr", "0.002", "--lr-scheduler", "inverse_sqrt", "--warmup-updates", "5", "--max-tokens", "400",
         "--dataset-impl", "raw", "--log-format", "simple", "--log-interval", "1", "--no-progress-bar",
         "--seed", "3", "--disable-validation", "--no-epoch-checkpoints"]
PRECISIONS = {"fp16": ["--fp16"], "amp": ["--amp"]}


def run(command, timeout=600):
    started = time.time()
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    return result.returncode, result.stdout + result.stderr, time.time() - started


def check_training(data, work, precision, updates):
    save_dir = work / precision
    status, log, seconds = run(fairseq_command("train", data, *TRAIN, *PRECISIONS[precision],
                                               "--max-update", str(updates), "--save-dir", save_dir))
    losses = update_losses(log)
    ok = (status == 0 and len(losses) == updates and all(math.isfinite(x) for x in losses)
          and losses[-1] < losses[0])
    return {"ok": ok, "status": status, "losses": losses, "seconds": round(seconds, 1),
            "log_tail": None if ok else log[-2000:]}, save_dir / "checkpoint_last.pt"


def check_generation(data, checkpoint):
    status, log, seconds = run(fairseq_command(
        "generate", data, "--path", checkpoint, "--dataset-impl", "raw", "-s", "src", "-t", "tgt", "--fp16",
        "--beam", "4", "--max-len-b", "12", "--batch-size", "8", "--gen-subset", "test",
        "--required-batch-size-multiple", "1"))
    hypotheses = len(re.findall(r"^H-\d+\t", log, flags=re.M))
    bleu = re.search(r"BLEU4? = ([\d.]+)", log)
    ok = status == 0 and hypotheses == 8 and bleu is not None
    return {"ok": ok, "status": status, "hypotheses": hypotheses, "bleu": bleu and float(bleu.group(1)),
            "seconds": round(seconds, 1), "log_tail": None if ok else log[-2000:]}


def check_gpu_matches_cpu(checkpoint):
    """The trained model's fp32 logits on GPU and CPU for the same batch."""
    from lsra_fairseq.builder import build_from_checkpoint

    model, _ = build_from_checkpoint(str(checkpoint))  # the saved config, weights loaded strictly
    model = model.float().eval()
    vocab = model.encoder.embed_tokens.num_embeddings
    generator = torch.Generator().manual_seed(0)
    src = torch.randint(4, vocab, (3, 9), generator=generator)
    prev = torch.randint(4, vocab, (3, 7), generator=generator)
    lengths = torch.full((3,), 9)
    with torch.no_grad():
        cpu = model(src, lengths, prev)[0]
        gpu = model.cuda()(src.cuda(), lengths.cuda(), prev.cuda())[0].cpu()
    difference = (cpu - gpu).abs().max().item()
    return {"ok": difference <= 1e-3, "max_abs_difference": difference}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "results" / "gpu-check.json")
    parser.add_argument("--updates", type=int, default=20)
    args = parser.parse_args(argv)
    if not torch.cuda.is_available():
        print("no CUDA GPU visible: nothing checked (run this on a GPU machine)", file=sys.stderr)
        return 2
    report = {"command": "python scripts/gpu_check.py", "device": torch.cuda.get_device_name(0),
              "torch": torch.__version__, "checks": {}}
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        data = translation_data(work / "data")
        checkpoints = {}
        for precision in PRECISIONS:
            report["checks"][f"train {precision}"], checkpoints[precision] = check_training(
                data, work, precision, args.updates)
        if report["checks"]["train fp16"]["ok"]:
            report["checks"]["generate fp16"] = check_generation(data, checkpoints["fp16"])
            report["checks"]["gpu vs cpu logits"] = check_gpu_matches_cpu(checkpoints["fp16"])
    report["ok"] = all(check["ok"] for check in report["checks"].values()) and len(report["checks"]) == 4
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    for name, check in report["checks"].items():
        print(f"{'ok  ' if check['ok'] else 'FAIL'} {name}")
    print(f"{'all checks hold' if report['ok'] else 'a check failed'}; report: {args.out}")
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
