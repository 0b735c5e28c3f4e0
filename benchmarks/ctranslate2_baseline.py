"""CTranslate2, the baseline a user would deploy a fairseq Transformer with: the checkpoint
converted by its fairseq converter (``ct2-fairseq-converter``'s Python API), run at float32 or
int8 with a fixed number of threads."""
from pathlib import Path
from typing import Dict, List, Tuple

from .workload import Batch, Search


def convert(checkpoint: Path, data: Path, output: Path) -> Path:
    """The CTranslate2 model of a fairseq Transformer checkpoint, converted anew each run (seconds)
    into ``output`` (float32 weights; int8 is chosen when loading). CTranslate2 converts transformer-family models only: a Lite Transformer stops here."""
    import ctranslate2.converters

    from lsra_fairseq.commands import USER_DIR

    return Path(ctranslate2.converters.FairseqConverter(str(checkpoint), str(data), user_dir=str(USER_DIR))
                .convert(str(output), force=True))


class CTranslate2:
    """One converted model at one compute type; a translator per thread count (intra-op threads,
    one translation at a time)."""
    system = "CTranslate2"

    def __init__(self, model_dir: Path, precision: str):
        self.model_dir, self.precision = model_dir, precision
        self._translators: Dict[int, object] = {}

    def translator(self, threads: int):
        import ctranslate2

        if threads not in self._translators:
            compute_type = {"fp32": "float32", "int8": "int8"}[self.precision]
            self._translators[threads] = ctranslate2.Translator(
                str(self.model_dir), device="cpu", compute_type=compute_type, inter_threads=1,
                intra_threads=threads)
        return self._translators[threads]

    @staticmethod
    def lengths(search: Search, batch: Batch) -> Tuple[int, int]:
        """(min, max) decoding length for fairseq's ``min_len`` / ``max_len``: CTranslate2 counts
        the end-of-sentence step, fairseq does not, so both run the same number of decoder steps
        (a hypothesis forced to 30 tokens takes 31 steps in either)."""
        return search.min_len, search.max_len(int(batch.src_lengths.max())) + 1

    def translate(self, batches: List[Batch], search: Search, threads: int) -> List[List[str]]:
        translator, out = self.translator(threads), []
        for batch in batches:
            min_len, max_len = self.lengths(search, batch)
            results = translator.translate_batch(
                batch.src_pieces, beam_size=search.beam, length_penalty=search.lenpen,
                min_decoding_length=min_len, max_decoding_length=max_len)
            out.extend(r.hypotheses[0] for r in results)
        return out
