"""Counts the multiply-accumulates of the matrix-like operators that actually run.

The counter sits below every module, at PyTorch's dispatcher, so it sees the linears, the
attention products QK^T and AV (fused ``scaled_dot_product_attention`` included), convolutions
and the batched products of a dynamic convolution whatever module issued them: fairseq's fused
attention path, which never calls its projection ``Linear`` modules, is counted as well. Softmax,
normalisation, activations and additions are not multiply-accumulates of a matrix product and are
left out, as the paper does.

Each count is sorted by kind, from the operator and the innermost module running it:

- ``linear``: a product with a weight matrix (``nn.Linear``, fused attention projections, the
  dynamic convolution's kernel predictor);
- ``convolution``: the taps of a convolution (anything run directly by a module with a
  ``kernel_size``, or a convolution operator);
- ``attention``: the other products of two activations, QK^T and AV.
"""
import math
from collections import Counter
from contextlib import contextmanager
from typing import Callable, Dict, Iterable, Iterator, List, Optional

import torch
from torch import nn
from torch.nn.modules.module import register_module_forward_hook, register_module_forward_pre_hook
from torch.utils._python_dispatch import TorchDispatchMode

aten = torch.ops.aten
KINDS = ("linear", "attention", "convolution")


def _matmul(a: torch.Tensor, b: torch.Tensor) -> int:
    """(..., n, k) @ (..., k, m) or (n, k) @ (k,): each element of ``a`` meets m columns of ``b``."""
    return a.numel() * (b.shape[-1] if b.dim() > 1 else 1)


def _convolution(x, w, bias, stride, padding, dilation, transposed, output_padding, groups, *_,
                 out=None) -> int:
    """Each output element gathers (each input element, when transposed, scatters) one tap per
    kernel element and channel of its group: w is (C_out, C_in / groups, *kernel), or
    (C_in, C_out / groups, *kernel) when transposed."""
    return (x.numel() if transposed else out.numel()) * math.prod(w.shape[1:])


def _attention(q, k, v, *_, out=None) -> int:
    """QK^T (L x S per head, E deep) plus AV (L x Ev per head, S deep)."""
    batch_heads = q.numel() // (q.shape[-2] * q.shape[-1])
    return batch_heads * q.shape[-2] * k.shape[-2] * (q.shape[-1] + v.shape[-1])


_WEIGHT_PRODUCTS = {
    "mm": lambda a, b, out=None: _matmul(a, b),
    "mv": lambda a, b, out=None: _matmul(a, b),
    "dot": lambda a, b, out=None: _matmul(a, b),
    "addmm": lambda c, a, b, *_, out=None: _matmul(a, b),
    "_addmm_activation": lambda c, a, b, *_, out=None: _matmul(a, b),
    "addmv": lambda c, a, b, *_, out=None: _matmul(a, b),
}
_ACTIVATION_PRODUCTS = {
    "bmm": lambda a, b, out=None: _matmul(a, b),
    "baddbmm": lambda c, a, b, *_, out=None: _matmul(a, b),
    "_scaled_dot_product_flash_attention_for_cpu": _attention,
    "_scaled_dot_product_flash_attention": _attention,
    "_scaled_dot_product_efficient_attention": _attention,
    "_scaled_dot_product_cudnn_attention": _attention,
    "_scaled_dot_product_fused_attention_overrideable": _attention,
}
_CONVOLUTIONS = {"convolution": _convolution, "_convolution": _convolution}


def _by_packet(formulas: dict, kind: str) -> dict:
    """Keyed by operator packet (overloads share a formula); operators this build lacks are skipped."""
    return {getattr(aten, name): (f, kind) for name, f in formulas.items() if hasattr(aten, name)}


FORMULAS = {**_by_packet(_WEIGHT_PRODUCTS, "linear"), **_by_packet(_ACTIVATION_PRODUCTS, "attention"),
            **_by_packet(_CONVOLUTIONS, "convolution")}


def kind_of(op_kind: str, module: Optional[nn.Module]) -> str:
    """The operator's kind, unless its innermost module says otherwise (see the module docstring)."""
    if isinstance(module, nn.Linear):
        return "linear"
    if hasattr(module, "kernel_size"):
        return "convolution"
    return op_kind


class MacCounter(TorchDispatchMode):
    """Adds up the MACs of every counted operator run while active, by kind, except inside
    ``excluded`` modules (e.g. embeddings and the output projection)."""

    def __init__(self, excluded: Iterable[nn.Module] = ()):
        super().__init__()
        self.macs: Dict[str, int] = Counter({kind: 0 for kind in KINDS})
        self._excluded = {id(m) for m in excluded}
        self._running: List[nn.Module] = []  # the modules whose forward is under way, outermost first

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        formula = FORMULAS.get(func.overloadpacket)
        if formula is not None and not any(id(m) in self._excluded for m in self._running):
            count, op_kind = formula
            module = self._running[-1] if self._running else None
            self.macs[kind_of(op_kind, module)] += count(*args, out=out[0] if isinstance(out, tuple) else out)
        return out

    @contextmanager
    def tracking_modules(self) -> Iterator[None]:
        def enter(module, inputs):
            self._running.append(module)

        def leave(module, inputs, output):  # returns None: the output stays as it is
            self._running.pop()

        pre, post = register_module_forward_pre_hook(enter), register_module_forward_hook(leave)
        try:
            yield
        finally:
            pre.remove()
            post.remove()


@contextmanager
def one_thread() -> Iterator[None]:
    """A dummy sentence is far too small to share out: extra threads only wait on each other (the
    count is the same; the run is ~15x faster on a busy 2-core machine)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def count_macs(run: Callable[[], object], excluded: Iterable[nn.Module] = ()) -> Dict[str, int]:
    """MACs by kind of one call of ``run`` (without gradients), leaving out what runs inside
    ``excluded``."""
    counter = MacCounter(excluded)
    with torch.no_grad(), one_thread(), counter.tracking_modules(), counter:
        run()
    return dict(counter.macs)
