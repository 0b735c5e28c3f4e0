"""The fast generator (``lsra_fairseq.generation``: ``FastGenerator`` on a step runner) as
benchmark systems, one per variant (backend, precision). A variant that cannot be imported, built
or run here becomes a reason shown in the tables instead of stopping the suite: the baselines are
still worth measuring."""
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import torch

from .fairseq_baseline import load_fairseq_model
from .harness import torch_threads
from .workload import Batch, Search, working_systems

# backend:precision, as build_runner takes them (int8 runs through ONNX Runtime only)
DEFAULT_VARIANTS = "onnx:fp32,onnx:int8,eager:fp32"


class FastGeneration:
    """A checkpoint decoded by ``FastGenerator``; a runner per thread count, since a runner takes
    its thread count when it is built."""

    def __init__(self, checkpoint: Path, data: Path, backend: str, precision: str):
        self.model, task = load_fairseq_model(checkpoint, data)
        self.tgt_dict = task.target_dictionary
        self.backend, self.precision = backend, precision
        self.system = f"fast generator ({backend})"
        self._runners: Dict[int, object] = {}
        self._generators = {}

    def generator(self, search: Search, threads: int):
        from lsra_fairseq.generation import FastGenerator, build_runner

        if threads not in self._runners:
            with torch_threads(threads):
                self._runners[threads] = build_runner(self.model, self.backend, int8=self.precision == "int8")
        key = (search, threads)
        if key not in self._generators:
            self._generators[key] = FastGenerator(
                self._runners[threads], self.tgt_dict, beam_size=search.beam, max_len_a=search.max_len_a,
                max_len_b=search.max_len_b, min_len=search.min_len, len_penalty=search.lenpen)
        return self._generators[key]

    def translate(self, batches: List[Batch], search: Search, threads: int) -> List[List[str]]:
        generator, out = self.generator(search, threads), []
        with torch_threads(threads), torch.inference_mode():
            for batch in batches:
                for hypos in generator.translate(batch.src_tokens, batch.src_lengths):
                    out.append(self.tgt_dict.string(hypos[0]["tokens"]).split())
        return out


def parse_variants(text: str) -> List[Tuple[str, str]]:
    variants = [tuple(v.split(":")) for v in text.split(",") if v]
    bad = [":".join(v) for v in variants if len(v) != 2 or v[1] not in ("fp32", "int8")]
    if bad:
        raise SystemExit(f"--gen-fast-variants: {', '.join(bad)} is not backend:precision "
                         f"(e.g. {DEFAULT_VARIANTS})")
    return variants


def fast_systems(checkpoint: Path, data: Path, variants: Sequence[Tuple[str, str]],
                 probe: Optional[Batch] = None) -> Tuple[List[FastGeneration], List[Tuple[str, str]]]:
    """(the variants that run here, [(variant, why not)] for the others)."""
    return working_systems([(f"fast generator ({backend}) {precision}",
                             lambda b=backend, p=precision: FastGeneration(checkpoint, data, b, p))
                            for backend, precision in variants], probe)
