"""The comparison table: mean and spread over seeds per model, and Lite minus Transformer per budget."""
import json
import math
import statistics
from collections import defaultdict
from pathlib import Path
from typing import Dict, List, Sequence


def _mean_std(values: Sequence[float]) -> Dict[str, float]:
    return {"mean": round(statistics.fmean(values), 2),
            "std": round(statistics.stdev(values), 2) if len(values) > 1 else 0.0}


def summarize(records: List[Dict]) -> Dict:
    """Groups the per-run results by model; compares each budget's Lite with its Transformer.

    The difference's spread is the standard error of a difference of two independent means,
    sqrt(s_a^2 / n_a + s_b^2 / n_b), since the seeds of different models are independent runs.
    """
    groups = defaultdict(list)
    for record in records:
        groups[(record["budget"], record["family"], record["base_model"])].append(record)
    rows = []
    for (budget, family, model), runs in groups.items():
        rows.append({"budget": budget, "family": family, "model": model, "seeds": [r["seed"] for r in runs],
                     "params": runs[0]["params"], "macs": runs[0]["macs"],
                     "bleu": _mean_std([r["bleu"] for r in runs]),
                     "sacrebleu": _mean_std([r["sacrebleu"] for r in runs]),
                     "updates": max(r["updates"] for r in runs),
                     "train_seconds": round(statistics.fmean(r["train_seconds"] for r in runs), 1),
                     "bleu_per_seed": [r["bleu"] for r in runs]})
    comparisons = []
    for budget in dict.fromkeys(row["budget"] for row in rows):
        by_family = {row["family"]: row for row in rows if row["budget"] == budget}
        if {"lite", "transformer"} <= set(by_family):
            lite, transformer = by_family["lite"], by_family["transformer"]
            spread = math.sqrt(lite["bleu"]["std"] ** 2 / len(lite["seeds"])
                               + transformer["bleu"]["std"] ** 2 / len(transformer["seeds"]))
            comparisons.append({"budget": budget, "lite": lite["model"], "transformer": transformer["model"],
                                "bleu_difference": round(lite["bleu"]["mean"] - transformer["bleu"]["mean"], 2),
                                "standard_error": round(spread, 2)})
    return {"rows": rows, "lite_minus_transformer": comparisons}


def markdown(summary: Dict) -> str:
    lines = ["| budget | family | model | #Params | #MACs | BLEU (mean ± std) | sacreBLEU | seeds | updates | train time |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for row in summary["rows"]:
        lines.append(f"| {row['budget']} | {row['family']} | `{row['model']}` | {row['params'] / 1e6:.2f}M "
                     f"| {row['macs'] / 1e6:.1f}M | {row['bleu']['mean']:.2f} ± {row['bleu']['std']:.2f} "
                     f"| {row['sacrebleu']['mean']:.2f} ± {row['sacrebleu']['std']:.2f} | {len(row['seeds'])} "
                     f"| {row['updates']} | {row['train_seconds'] / 60:.1f} min |")
    for c in summary["lite_minus_transformer"]:
        lines.append(f"\nLite - Transformer at the {c['budget']} budget (`{c['lite']}` - `{c['transformer']}`): "
                     f"{c['bleu_difference']:+.2f} BLEU ± {c['standard_error']:.2f} (standard error over seeds)")
    return "\n".join(lines) + "\n"


def write_summary(summary: Dict, stem: Path, command: str) -> List[Path]:
    """``<stem>.json`` and ``<stem>.md``, each with the command that made them."""
    stem.parent.mkdir(parents=True, exist_ok=True)
    json_path, md_path = stem.with_suffix(".json"), stem.with_suffix(".md")
    json_path.write_text(json.dumps({**summary, "command": command}, indent=2) + "\n")
    md_path.write_text(f"Command: `{command}`\n\n{markdown(summary)}")
    return [json_path, md_path]
