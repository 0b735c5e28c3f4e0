"""Fast generation for ``lite_transformer`` models.

``lsra_fairseq.export.decoder_step.DecoderStep`` (one decoder step as a pure tensor function, the
form every runner runs); ``runners.build_runner``: encoder + step in ONNX Runtime (default, float32 or
int8), PyTorch eager or ``torch.compile``; ``search.FastGenerator``: fairseq
``SequenceGenerator`` semantics on top::

    runner = build_runner(model, backend="onnx", int8=False)   # threads: torch.get_num_threads()
    generator = FastGenerator(runner, tgt_dict, beam_size=4, max_len_b=200, len_penalty=1.0)
    hypos = generator.translate(src_tokens, src_lengths)   # or generator.generate(models, sample)
"""
from .runners import BACKENDS, DEFAULT_BACKEND, StepRunner, build_runner
from .search import FastGenerator

__all__ = ["BACKENDS", "DEFAULT_BACKEND", "FastGenerator", "StepRunner", "build_runner"]
