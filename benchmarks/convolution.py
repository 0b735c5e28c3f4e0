"""``python -m benchmarks convolution``: our lightweight and dynamic convolutions against fairseq's
``LightweightConv1dTBC`` / ``DynamicConv1dTBC`` in each of their paths (expanded band matrix,
unfolded windows), forward and forward+backward in training mode, and the peak memory of one
forward+backward.

Every contender gets the same input and the same taps; times are interleaved medians per thread
count, and "speed-up" is fairseq's faster path divided by ours (above 1: ours is faster).
"""
import json
import os
import subprocess
import sys
from typing import Callable, Dict, List

import torch

from lsra_fairseq.modules import DynamicConv, LightweightConv
from lsra_fairseq.modules.convolution_algorithms import choose_algorithm

from .harness import REPO, Report, interleaved_medians, markdown_table, torch_threads

CONVOLUTIONS = {"lightweight": LightweightConv, "dynamic": DynamicConv}
FAIRSEQ_PATHS = ("expanded", "unfold")
OUR_ALGORITHMS = ("band", "blocked")


def add_arguments(parser) -> None:
    group = parser.add_argument_group("convolution suite")
    group.add_argument("--conv-lengths", default="16,30,128,512,2048", help="sequence lengths T")
    group.add_argument("--conv-tokens", type=int, default=2048,
                       help="tokens per batch: B = max(1, tokens // T)")
    group.add_argument("--conv-channels", type=int, default=256)
    group.add_argument("--conv-heads", type=int, default=4)
    group.add_argument("--conv-kernel", type=int, default=31)
    group.add_argument("--conv-no-memory", action="store_true", help="skip the peak-memory runs")


def build(kind: str, contender: str, channels: int, heads: int, kernel: int, seed: int = 0):
    """One contender as a callable ``x -> output`` in training mode (the taps' DropConnect off, so
    every contender computes the same numbers)."""
    torch.manual_seed(seed)
    ours = CONVOLUTIONS[kind](channels=channels, kernel_size=kernel, heads=heads,
                              padding_l=kernel // 2).train()
    if not contender.startswith("fairseq"):
        if contender == "ours":
            return ours, ours
        from lsra_fairseq.modules import convolution_algorithms as algorithms
        algorithm = contender.split(" ")[1]

        def forced(x):  # what the module runs (the dynamic one fused with its predictor), by name
            if kind == "lightweight":
                return algorithms.lightweight_convolution(x, ours.normalize_taps(ours.weight),
                                                          ours.padding_l, algorithm)
            return algorithms.predicted_dynamic_convolution(
                x, ours.weight_linear.weight, ours.padding_l, heads, ours.weight_softmax,
                ours.weight_dropout, ours.training, algorithm)
        return ours, forced
    from fairseq.modules import DynamicConv1dTBC, LightweightConv1dTBC

    if kind == "lightweight":
        theirs = LightweightConv1dTBC(channels, kernel, kernel // 2, heads, weight_softmax=True).train()
        theirs.weight.data.copy_(ours.weight.data.view_as(theirs.weight))
    else:
        theirs = DynamicConv1dTBC(channels, kernel, kernel // 2, heads, weight_softmax=True).train()
        theirs.weight_linear.weight.data.copy_(ours.weight_linear.weight.data)
    unfold = contender.endswith("unfold")
    return theirs, lambda x: theirs(x, unfold=unfold)


def contenders() -> List[str]:
    return ["ours", *(f"ours {a}" for a in OUR_ALGORITHMS), *(f"fairseq {p}" for p in FAIRSEQ_PATHS)]


def _step(module, fn: Callable, x: torch.Tensor, backward: bool) -> Callable[[], None]:
    grad = torch.randn_like(x)

    def run():
        if backward:
            module.zero_grad(set_to_none=True)
            x.grad = None
            fn(x).backward(grad)
        else:
            fn(x)
    return run


def time_length(kind: str, T: int, B: int, args) -> Dict[str, Dict[str, float]]:
    """{"forward" | "forward+backward": {contender: seconds}} at one thread count (the caller's)."""
    x = torch.randn(T, B, args.conv_channels, requires_grad=True)
    built = {c: build(kind, c, args.conv_channels, args.conv_heads, args.conv_kernel) for c in contenders()}
    reference = built["fairseq expanded"][1](x)
    for name, (_, fn) in built.items():  # the same numbers, or the timing compares nothing
        torch.testing.assert_close(fn(x), reference, atol=1e-4, rtol=1e-4, msg=f"{kind} {name} differs")
    return {mode: interleaved_medians({c: _step(m, fn, x, mode != "forward") for c, (m, fn) in built.items()},
                                      repeats=args.repeats)
            for mode in ("forward", "forward+backward")}


PEAK_SCRIPT = """
import json, sys, torch
from benchmarks.convolution import build, _step
kind, contender, T, B, C, H, K = json.loads(sys.argv[1])
torch.set_num_threads(1)
module, fn = build(kind, contender, C, H, K)
x = torch.randn(T, B, C, requires_grad=True)
step = _step(module, fn, x, backward=True)

def status(field):
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith(field))

step()  # first-call set-up (kernels' own buffers) is not the step's
before = status("VmRSS:")
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")  # resets the peak resident size (VmHWM) to the current one
step()
print(status("VmHWM:") - before)
"""


def peak_mib(kind: str, contender: str, T: int, B: int, args) -> float:
    """Growth of the peak resident memory over one forward+backward after a warm-up one, in a
    fresh process (Linux: the peak is reset right before the step; a fixed mmap threshold makes
    every large tensor its own mapping, returned when freed, so the warm-up hides nothing)."""
    spec = json.dumps([kind, contender, T, B, args.conv_channels, args.conv_heads, args.conv_kernel])
    env = {**os.environ, "MALLOC_MMAP_THRESHOLD_": "65536"}
    out = subprocess.run([sys.executable, "-c", PEAK_SCRIPT, spec], cwd=REPO, check=True,
                         capture_output=True, text=True, env=env)
    return int(out.stdout.strip().splitlines()[-1]) / 1024


def run(args) -> Report:
    lengths = [int(t) for t in args.conv_lengths.split(",")]
    rows, tables = [], []
    for kind in CONVOLUTIONS:
        for T in lengths:
            B = max(1, args.conv_tokens // T)
            algorithm = choose_algorithm(T, args.conv_kernel, CONVOLUTIONS[kind].in_place_blocks)
            memory = {} if args.conv_no_memory else {
                c: peak_mib(kind, c, T, B, args) for c in ("ours", *(f"fairseq {p}" for p in FAIRSEQ_PATHS))}
            for threads in args.threads:
                with torch_threads(threads):
                    timed = time_length(kind, T, B, args)
                for mode, seconds in timed.items():
                    best = min(FAIRSEQ_PATHS, key=lambda p: seconds[f"fairseq {p}"])
                    rows.append({"convolution": kind, "T": T, "B": B, "threads": threads, "mode": mode,
                                 "algorithm": algorithm, "ms": {c: s * 1e3 for c, s in seconds.items()},
                                 "fairseq_best": best,
                                 "speedup_vs_fairseq_best": seconds[f"fairseq {best}"] / seconds["ours"],
                                 "peak_mib_forward_backward": memory or None})
                print(f"convolution {kind} T={T} B={B} threads={threads} done", flush=True)
    header = ["conv", "T x B", "threads", "mode", "ours (algorithm)", "ours band", "ours blocked",
              "fairseq expanded", "fairseq unfold", "speed-up vs fairseq's best"]
    table = [[r["convolution"], f"{r['T']} x {r['B']}", r["threads"], r["mode"],
              f"{r['ms']['ours']:.2f} ({r['algorithm']})",
              *(f"{r['ms'][c]:.2f}" for c in ("ours band", "ours blocked", "fairseq expanded", "fairseq unfold")),
              f"**{r['speedup_vs_fairseq_best']:.2f}x** ({r['fairseq_best']})"] for r in rows]
    tables.append("Times in ms (medians of interleaved runs).\n\n" + markdown_table(header, table))
    if not args.conv_no_memory:
        seen, mem_rows = set(), []
        for r in rows:
            key = (r["convolution"], r["T"])
            if key not in seen:
                seen.add(key)
                m = r["peak_mib_forward_backward"]
                mem_rows.append([r["convolution"], f"{r['T']} x {r['B']}",
                                 *(f"{m[c]:.1f}" for c in ("ours", "fairseq expanded", "fairseq unfold"))])
        tables.append("Peak memory growth of one forward+backward (MiB, fresh process, 1 thread):\n\n"
                      + markdown_table(["conv", "T x B", "ours", "fairseq expanded", "fairseq unfold"], mem_rows))
    settings = {"channels": args.conv_channels, "heads": args.conv_heads, "kernel": args.conv_kernel,
                "tokens_per_batch": args.conv_tokens, "repeats": args.repeats, "threads": args.threads,
                "training_mode": True, "weight_dropout": 0.0}
    intro = (f"C = {args.conv_channels}, {args.conv_heads} heads, k = {args.conv_kernel}, symmetric padding, "
             f"B = max(1, {args.conv_tokens} // T), training mode, threads as stated; "
             f"{args.repeats} interleaved repeats per figure.\n\n")
    return Report("convolution", rows, intro + "\n\n".join(tables), settings)
