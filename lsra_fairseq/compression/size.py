"""Model size as the paper counts it (non-embedding parameters x bits) and what the file holds.

Per tensor: 8 bits per coded weight, plus, for a pruned tensor, its sparse index (a bitmap, one bit
per weight, which beats relative indices at the sparsities chosen here); a tensor kept as it is
counts its own bits. The paper's figures leave out the codebooks and scales (for its 11M-parameter
model they are noise: 8-bit weights are exactly 4x); ``*_with_tables`` counts them too, which on a
small model is not noise.
"""
from typing import Dict, Iterable

from .compact import CompactModel
from .quantization import QuantizedTensor

CODE_BITS = 8
FP32_BITS = 32


def tensor_bits(tensor) -> Dict[str, int]:
    if not isinstance(tensor, QuantizedTensor):
        return {"weights": tensor.numel(), "kept": tensor.numel(), "codes": 0, "index": 0,
                "tables": 0, "raw": tensor.numel() * tensor.element_size() * 8}
    weights = 1
    for n in tensor.shape:
        weights *= n
    return {"weights": weights, "kept": tensor.codes.numel(), "codes": tensor.codes.numel() * CODE_BITS,
            "index": weights if tensor.mask is not None else 0,
            "tables": tensor.table.numel() * tensor.table.element_size() * 8, "raw": 0}


def size_report(compact: CompactModel, counted: Iterable[str]) -> Dict:
    """Totals over the ``counted`` tensors (the non-embedding parameters), and per-tensor sparsity."""
    totals = dict.fromkeys(("weights", "kept", "codes", "index", "tables", "raw"), 0)
    layers = []
    for name in counted:
        bits = tensor_bits(compact.tensors[name])
        for key, value in bits.items():
            totals[key] += value
        layers.append({"name": name, "weights": bits["weights"],
                       "sparsity": round(1 - bits["kept"] / bits["weights"], 4) if bits["weights"] else 0.0,
                       "scheme": getattr(compact.tensors[name], "scheme", "fp32")})
    fp32 = totals["weights"] * FP32_BITS
    paper = totals["codes"] + totals["index"] + totals["raw"]
    with_tables = paper + totals["tables"]
    quantized_dense = totals["weights"] * CODE_BITS
    return {
        "non_embedding_params": totals["weights"],
        "kept_params": totals["kept"],
        "sparsity": round(1 - totals["kept"] / totals["weights"], 4),
        "fp32_bytes": fp32 // 8,
        "compressed_bytes": paper / 8,
        "compressed_bytes_with_tables": with_tables / 8,
        "compression_ratio": round(fp32 / paper, 3),
        "compression_ratio_with_tables": round(fp32 / with_tables, 3),
        "quantization_ratio": round(fp32 / quantized_dense, 3),
        "pruning_ratio": round(quantized_dense / paper, 3),
        "bits": totals,
        "layers": layers,
    }
