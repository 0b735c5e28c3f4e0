"""Step runners: the encoder plus ``DecoderStep``, run by PyTorch (eager or compiled) or ONNX Runtime.

A runner owns everything the search needs from the model: ``encode`` (source batch -> encoder
memory), ``empty_state``, ``step`` (one decoder step, state written in place) and
``select_sentences`` (finished sentences leave the memory); the state is backend-independent, so
the search reorders it itself (``ReorderBuffers``).
``build_runner(model, backend, int8)`` picks one; ONNX Runtime is the default, chosen by
measurement (``results/bench-generation-backends.md``). Runners use ``torch.get_num_threads()`` threads
as set when they are built.
"""
import tempfile
from pathlib import Path
from typing import Tuple

import torch
from torch import Tensor

from ..export.decoder_step import DecoderState, DecoderStep, memory_layers
from ..export.int8 import quantize_graph
from ..export.onnx_export import export_graphs, step_input_names

Memory = Tuple[Tensor, Tensor, Tensor]
BACKENDS = ("onnx", "eager", "compile")
DEFAULT_BACKEND = "onnx"


class _Runner:
    """What every backend shares: the state layout and its bookkeeping."""

    def __init__(self, model):
        model.eval()
        self.decoder_step = DecoderStep(model.decoder)
        self.vocab_size = self.decoder_step.vocab_size
        self.max_positions = min(self.decoder_step.max_positions, model.max_decoder_positions())
        self._steps = [torch.tensor([t]) for t in range(self.max_positions + 1)]

    def empty_state(self, rows: int, capacity: int) -> DecoderState:
        return self.decoder_step.empty_state(rows, capacity)

    @staticmethod
    def select_sentences(memory: Memory, keep: Tensor) -> Memory:
        enc_k, enc_v, enc_bias = memory
        return enc_k.index_select(1, keep), enc_v.index_select(1, keep), enc_bias.index_select(0, keep)


class TorchRunner(_Runner):
    """The model's own encoder and a ``DecoderStep``, eager or through ``torch.compile`` (inductor)."""

    def __init__(self, model, compile: bool = False):
        super().__init__(model)
        self.encoder = model.encoder
        self._step_fn = torch.compile(self.decoder_step, dynamic=True) if compile else self.decoder_step

    def encode(self, src_tokens: Tensor, src_lengths: Tensor) -> Memory:
        out = self.encoder(src_tokens, src_lengths)
        return self.decoder_step.encoder_memory(out["encoder_out"][0], out["encoder_padding_mask"][0])

    def step(self, tokens: Tensor, t: int, state: DecoderState, memory: Memory) -> Tuple[Tensor, DecoderState]:
        lprobs, new_k, new_v, new_conv = self._step_fn(tokens, self._steps[t], *state.layers(),
                                                       *memory_layers(memory))
        state.write(t, torch.stack(new_k), torch.stack(new_v), new_conv)
        return lprobs, state


class OnnxRunner(_Runner):
    """The exported graphs (``lsra_fairseq.export``) in ONNX Runtime, float32 or int8."""

    def __init__(self, model, int8: bool = False, graphs_dir: Path = None):
        import onnxruntime  # heavy, and only this backend needs it

        super().__init__(model)
        self._tmp = None
        if graphs_dir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="lsra-onnx-")
            graphs_dir = Path(self._tmp.name)
        paths = export_graphs(model, Path(graphs_dir))
        if int8:
            for path in paths.values():
                quantize_graph(path, path)
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = torch.get_num_threads()
        options.inter_op_num_threads = 1
        session = lambda path: onnxruntime.InferenceSession(  # noqa: E731
            str(path), options, providers=["CPUExecutionProvider"])
        self.encoder_session, self.step_session = session(paths["encoder"]), session(paths["decoder_step"])
        self._step_inputs = step_input_names(len(self.decoder_step.layers))  # in DecoderStep's order
        self._graph_inputs = {x.name for x in self.step_session.get_inputs()}
        self._layers = len(self.decoder_step.layers)
        self._steps_np = [t.numpy() for t in self._steps]
        self._memory, self._memory_feeds = None, []

    def encode(self, src_tokens: Tensor, src_lengths: Tensor) -> Memory:
        outputs = self.encoder_session.run(None, {"src_tokens": src_tokens.numpy()})
        return tuple(torch.from_numpy(x) for x in outputs)

    def step(self, tokens: Tensor, t: int, state: DecoderState, memory: Memory) -> Tuple[Tensor, DecoderState]:
        k, v, conv = (x.numpy() for x in state[:3])  # views: ORT reads the layers and we write the new slots in place
        rings = [x.numpy() for x in state.conv.split(state.ring_sizes)]
        values = [tokens.contiguous().numpy(), self._steps_np[t], *k, *v, *rings, *self._memory_arrays(memory)]
        outputs = self.step_session.run(None, {name: value for name, value in zip(self._step_inputs, values)
                                               if name in self._graph_inputs})
        L = self._layers
        for i, slot in enumerate(state.ring_slots(t)):
            k[i, ..., t], v[i, ..., t, :] = outputs[1 + i], outputs[1 + L + i]
            if slot is not None:
                conv[slot] = outputs[1 + 2 * L + i]
        return torch.from_numpy(outputs[0]), state

    def _memory_arrays(self, memory: Memory):
        """The step's per-layer memory inputs, converted once per memory (it changes only when
        sentences leave the batch)."""
        if self._memory is not memory:
            enc_k, enc_v, enc_bias = (x.numpy() for x in memory)
            self._memory, self._memory_feeds = memory, [*enc_k, *enc_v, enc_bias]
        return self._memory_feeds


def build_runner(model, backend: str = DEFAULT_BACKEND, int8: bool = False):
    """A runner for ``model``: ``onnx`` (ONNX Runtime, float32 or int8), ``eager`` or ``compile``."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    if int8 and backend != "onnx":
        raise ValueError("int8 runs through ONNX Runtime's integer kernels: use backend 'onnx' with int8")
    if backend == "onnx":
        return OnnxRunner(model, int8=int8)
    return TorchRunner(model, compile=backend == "compile")


def StepRunner(model, backend: str = "eager", int8: bool = False):  # noqa: N802 (kept for callers)
    """``build_runner`` with the eager backend by default (cheap to build: tests, debugging)."""
    return build_runner(model, backend, int8)
