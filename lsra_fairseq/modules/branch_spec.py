"""Parsing and validation of LSRA branch specs (``type:kernel:dim:heads``).

Errors are raised while the model is built, before any data is read, and name the offending value.
"""
from dataclasses import dataclass
from typing import List, Optional, Sequence, Union

BRANCH_TYPES = ("attn", "lightweight", "dynamic")


class BranchSpecError(ValueError):
    """A branch spec or kernel-size list that cannot build a model."""


@dataclass(frozen=True)
class BranchSpec:
    type: str
    kernel_size: Optional[int]  # None for attention, resolved per layer for "default"
    dim: int
    heads: int

    @property
    def is_conv(self) -> bool:
        return self.type != "attn"

    def __str__(self) -> str:
        kernel = "default" if self.kernel_size is None else self.kernel_size
        return f"{self.type}:{kernel}:{self.dim}:{self.heads}"


def _parse_int(text: str, what: str, spec: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise BranchSpecError(f"branch spec {spec!r}: {what} {text!r} is not an integer") from None
    if value <= 0:
        raise BranchSpecError(f"branch spec {spec!r}: {what} must be positive, got {value}")
    return value


def parse_branch(spec: str) -> BranchSpec:
    """Parses one ``type:kernel:dim:heads`` string; ``kernel`` may be ``default``."""
    parts = [p.strip() for p in spec.split(":")]
    if len(parts) != 4:
        raise BranchSpecError(
            f"branch spec {spec!r} must have the form type:kernel:dim:heads, "
            f"e.g. 'attn:1:80:4' or 'lightweight:default:80:4'")
    kind, kernel, dim, heads = parts
    if kind not in BRANCH_TYPES:
        raise BranchSpecError(
            f"branch spec {spec!r}: unknown branch type {kind!r}; use one of {', '.join(BRANCH_TYPES)}")
    kernel_size = None if kind == "attn" or kernel == "default" else _parse_int(kernel, "kernel", spec)
    return BranchSpec(kind, kernel_size, _parse_int(dim, "dim", spec), _parse_int(heads, "heads", spec))


def parse_branches(specs: Union[str, Sequence[str]], embed_dim: int) -> List[BranchSpec]:
    """Parses a list of branch specs (or one comma-separated string) and checks it fits ``embed_dim``."""
    if isinstance(specs, str):
        specs = [s for s in specs.split(",") if s.strip()]
    if not specs:
        raise BranchSpecError("at least one LSRA branch is required, e.g. 'attn:1:80:4,lightweight:default:80:4'")
    branches = [parse_branch(s) for s in specs]
    for b in branches:
        if b.dim % b.heads:
            raise BranchSpecError(
                f"branch {str(b)!r}: {b.heads} heads do not divide its dim {b.dim}; "
                f"choose heads that divide {b.dim}")
    total = sum(b.dim for b in branches)
    if total != embed_dim:
        raise BranchSpecError(
            f"branch dims {' + '.join(str(b.dim) for b in branches)} = {total} do not add up to the "
            f"embed dim {embed_dim} (branches: {', '.join(map(str, branches))}); give dims that sum to "
            f"{embed_dim}, e.g. 'attn:1:{embed_dim // 2}:4,lightweight:default:{embed_dim - embed_dim // 2}:4'")
    return branches


def check_kernel_sizes(kernel_sizes: Sequence[int], num_layers: int, causal: bool, where: str) -> List[int]:
    """Checks a per-layer kernel-size list; symmetric (non-causal) convolutions need odd kernels."""
    kernel_sizes = [int(k) for k in kernel_sizes]
    if len(kernel_sizes) < num_layers:
        raise BranchSpecError(
            f"{where} kernel-size list {kernel_sizes} has {len(kernel_sizes)} entries for "
            f"{num_layers} layers; give one kernel size per layer")
    for k in kernel_sizes[:num_layers]:
        if k <= 0:
            raise BranchSpecError(f"{where} kernel size {k} in {kernel_sizes} must be positive")
        if not causal and k % 2 == 0:
            raise BranchSpecError(
                f"{where} kernel size {k} in {kernel_sizes} is even: a symmetric (encoder) convolution "
                f"needs an odd kernel size")
    return kernel_sizes[:num_layers]


def resolve_kernel(branch: BranchSpec, layer_kernel: int, causal: bool) -> int:
    """The kernel size a conv branch uses in a layer (``default`` = the layer's list entry)."""
    k = layer_kernel if branch.kernel_size is None else branch.kernel_size
    if not causal and k % 2 == 0:
        raise BranchSpecError(
            f"branch {str(branch)!r}: kernel size {k} is even; a symmetric (encoder) convolution needs "
            f"an odd kernel size")
    return k
