"""The exported model (``lsra-export``: ONNX graphs) decoded by its own reference loop, which uses
only numpy and ONNX Runtime (``ort_decode.OrtTranslator``, greedy only), float32 and int8. A
variant that cannot be exported or run here becomes a reason shown in the tables."""
from pathlib import Path
from typing import List, Optional, Tuple

from .workload import Batch, Search, working_systems

PRECISIONS = ("fp32", "int8")


class ExportedModel:
    """One export folder; a translator (ONNX Runtime sessions) per thread count."""
    system = "exported (ONNX Runtime loop)"

    def __init__(self, checkpoint: Path, data: Path, folder: Path, precision: str):
        from lsra_fairseq.export.checkpoint import load_lite_transformer
        from lsra_fairseq.export.onnx_export import export_model

        model, task = load_lite_transformer(checkpoint, data)
        export_model(model, task, folder, int8=precision == "int8")
        self.folder, self.precision = folder, precision
        self._translators = {}

    @staticmethod
    def supports(search: Search) -> bool:
        return search.beam == 1

    def translator(self, threads: int):
        from lsra_fairseq.export.ort_decode import OrtTranslator

        if threads not in self._translators:
            self._translators[threads] = OrtTranslator(self.folder, threads)
        return self._translators[threads]

    def translate(self, batches: List[Batch], search: Search, threads: int) -> List[List[str]]:
        translator, out = self.translator(threads), []
        words = translator.config["target_words"]
        for batch in batches:
            sources = [row.numpy() for row in batch.sources]
            for ids, _ in translator.greedy(sources, search.max_len_a, search.max_len_b, search.min_len):
                out.append([words[i] for i in ids[:-1]])  # without the end of sentence
        return out


def exported_systems(checkpoint: Path, data: Path, work: Path, probe: Optional[Batch] = None
                     ) -> Tuple[List[ExportedModel], List[Tuple[str, str]]]:
    """(the exports that run here, [(variant, why not)] for the others)."""
    return working_systems([(f"{ExportedModel.system} {precision}",
                             lambda p=precision: ExportedModel(checkpoint, data, work / f"onnx-{p}", p))
                            for precision in PRECISIONS], probe)
