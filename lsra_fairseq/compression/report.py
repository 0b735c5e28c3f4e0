"""The compression report: ``results/<name>.json`` (every figure and the commands) and a Markdown
table beside it (sizes, BLEU, sparsity per layer)."""
import json
import time
from pathlib import Path
from typing import Dict, List, Tuple


def _markdown(result: Dict, layers: List[Dict]) -> str:
    kib = lambda n: f"{n / 1024:,.1f} KiB"  # noqa: E731
    lines = ["# Compression report", "",
             f"`{result['original']}` -> `{result['compact']}`", "",
             "| | value |", "|---|---|",
             f"| non-embedding parameters | {result['non_embedding_params']:,} "
             f"({result['kept_params']:,} kept, sparsity {result['sparsity']:.1%}) |",
             f"| size as the paper counts it (fp32 -> compressed) | {kib(result['fp32_bytes'])} -> "
             f"{kib(result['compressed_bytes'])}: **{result['compression_ratio']}x** "
             f"({result['quantization_ratio']}x quantization x {result['pruning_ratio']}x pruning) |",
             f"| with codebooks and scales | {kib(result['compressed_bytes_with_tables'])}: "
             f"{result['compression_ratio_with_tables']}x |",
             f"| file: fp32 without optimizer state -> compact | {kib(result['fp32_file_bytes'])} -> "
             f"{kib(result['compact_file_bytes'])}: **{result['file_ratio']}x** |"]
    if "bleu_drop" in result:
        lines.append(f"| BLEU before -> after | {result['bleu_before']} -> {result['bleu_after']} "
                     f"(drop {result['bleu_drop']}) |")
    lines += ["", "| tensor | weights | sparsity | scheme |", "|---|---|---|---|"]
    lines += [f"| {layer['name']} | {layer['weights']:,} | {layer['sparsity']:.0%} | {layer['scheme']} |"
              for layer in layers if layer["weights"] >= 1024]
    lines += ["", "Tensors under 1,024 weights (biases, norms, convolution taps) are 8-bit linear, unpruned.", "",
              "Commands:", "", "```bash", *result["commands"], "```", ""]
    return "\n".join(lines)


def write_report(path: Path, result: Dict, layers: List[Dict]) -> Tuple[Path, Path]:
    record = {**result, "layers": layers, "date": time.strftime("%Y-%m-%d %H:%M:%S")}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=2) + "\n")
    markdown = path.with_suffix(".md")
    markdown.write_text(_markdown(result, layers))
    return path, markdown
