"""BLEU against #MACs, one line per model family with error bars over seeds (the paper's kind of figure)."""
from collections import defaultdict
from pathlib import Path
from typing import Dict

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402


def plot_table(summary: Dict, path: Path) -> Path:
    families = defaultdict(list)
    for row in summary["rows"]:
        families[row["family"]].append(row)
    figure, axes = plt.subplots(figsize=(6, 4))
    for family, rows in sorted(families.items()):
        rows.sort(key=lambda row: row["macs"])
        axes.errorbar([row["macs"] / 1e6 for row in rows], [row["bleu"]["mean"] for row in rows],
                      yerr=[row["bleu"]["std"] for row in rows], marker="o", capsize=3, label=family)
    axes.set_xlabel("#MACs (M, 30 + 30 tokens)")
    axes.set_ylabel("test2016 BLEU (mean ± std over seeds)")
    axes.set_title("Multi30k De-En")
    axes.grid(alpha=0.3)
    axes.legend()
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return path
