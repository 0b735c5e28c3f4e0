"""A ``lite_transformer`` as two ONNX graphs: the encoder (with its K/V projection) and one decoder step.

ONNX for ONNX Runtime because it is the runtime measured fastest here for the step (see
``results/bench-generation-backends.md``), it runs on phones and edge boxes (ORT mobile, ARM builds)
without Python, and it brings int8 (``quantize_dynamic``: int8 weights per output channel,
integer matrix products at run time). The graphs are traced with PyTorch's TorchScript exporter
(seconds; the dynamo exporter takes about a minute for the same graph), then simplified by
onnxscript's optimizer (about half the nodes).

Files written to the output folder: ``encoder.onnx``, ``decoder_step.onnx`` (their inputs and
outputs are the tensors of ``lsra_fairseq.export.decoder_step``), ``config.json`` (special
tokens, shapes, dictionaries), and ``ort_decode.py``, the reference decoding loop.
"""
import json
import logging
import shutil
import warnings
from pathlib import Path
from typing import Dict, List, Tuple

import torch
from .decoder_step import DecoderStep, memory_layers
from .encoder import EncoderMemory
from .int8 import quantize_graph

ENCODER_INPUTS, ENCODER_OUTPUTS = ["src_tokens"], ["enc_k", "enc_v", "enc_bias"]
OPSET = 17
# The step's per-layer tensors and their dynamic axes; graph names are "<name>.<layer>".
STEP_STATE_AXES = {"self_k": {0: "rows", 3: "capacity"}, "self_v": {0: "rows", 2: "capacity"},
                   "conv": {1: "rows"}, "enc_k": {0: "sentences", 3: "src_len"},
                   "enc_v": {0: "sentences", 2: "src_len"}}
STEP_OUTPUT_AXES = {"new_k": {0: "rows"}, "new_v": {0: "rows"}, "new_conv": {0: "rows"}}


def _step_axes(layers: int) -> Tuple[Dict[str, dict], Dict[str, dict]]:
    """Input and output names of the decoder step graph, in order, with their dynamic axes."""
    per_layer = lambda axes: {f"{name}.{i}": dims for name, dims in axes.items() for i in range(layers)}  # noqa: E731
    inputs = {"tokens": {0: "rows"}, "t": {}, **per_layer(STEP_STATE_AXES),
              "enc_bias": {0: "sentences", 3: "src_len"}}
    return inputs, {"lprobs": {0: "rows"}, **per_layer(STEP_OUTPUT_AXES)}


def step_input_names(layers: int) -> List[str]:
    """The decoder step graph's inputs in ``DecoderStep``'s order. The exporter drops an input the
    graph never reads (the empty ring of a layer whose kernel is 1), so callers feed by name."""
    return list(_step_axes(layers)[0])


def _example(model, step: DecoderStep, rows: int = 2, capacity: int = 5, src_len: int = 7):
    src = torch.full((1, src_len), step.padding_idx + 2, dtype=torch.long)
    src[0, -1] = model.encoder.dictionary.eos()
    memory = EncoderMemory(model, step)(src)
    state = step.empty_state(rows, capacity)
    tokens = torch.full((rows,), model.decoder.dictionary.eos(), dtype=torch.long)
    return src, (tokens, torch.tensor([1]), *state.layers(), *memory_layers(memory))


def export_graphs(model, out_dir: Path) -> Dict[str, Path]:
    """Writes ``encoder.onnx`` and ``decoder_step.onnx`` (float32) for ``model`` into ``out_dir``."""
    import onnx
    import onnxscript.optimizer

    # Importing fairseq leaves the root logger at DEBUG, and onnxscript's optimizer and its IR
    # library log every pass and folded constant at DEBUG: thousands of lines on stderr per graph.
    for name in ("onnx_ir", "onnxscript"):
        logging.getLogger(name).setLevel(logging.INFO)
    out_dir.mkdir(parents=True, exist_ok=True)
    model.eval()
    step = DecoderStep(model.decoder)
    src, step_args = _example(model, step)
    paths = {"encoder": out_dir / "encoder.onnx", "decoder_step": out_dir / "decoder_step.onnx"}
    step_inputs, step_outputs = _step_axes(len(step.layers))
    encoder_axes = {"src_tokens": {0: "sentences", 1: "src_len"}, "enc_k": {1: "sentences", 4: "src_len"},
                    "enc_v": {1: "sentences", 3: "src_len"}, "enc_bias": {0: "sentences", 3: "src_len"}}
    graphs = {"encoder": (EncoderMemory(model, step), (src,), ENCODER_INPUTS, ENCODER_OUTPUTS, encoder_axes),
              "decoder_step": (step, step_args, list(step_inputs), list(step_outputs),
                               {**step_inputs, **step_outputs})}
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation and tracer warnings
        for name, (module, args, inputs, outputs, axes) in graphs.items():
            torch.onnx.export(module, args, str(paths[name]), dynamo=False, input_names=inputs,
                              output_names=outputs, dynamic_axes={k: v for k, v in axes.items() if v},
                              opset_version=OPSET)
            onnx.save(onnxscript.optimizer.optimize(onnx.load(str(paths[name]))), str(paths[name]))
    return paths


def write_config(model, task, out_dir: Path, int8: bool) -> Path:
    """``config.json``: what the reference loop needs besides the graphs."""
    step = DecoderStep(model.decoder)
    tgt, src = task.target_dictionary, task.source_dictionary
    config = {
        "format": "lsra-fairseq onnx export 4",
        "int8": int8, "bos": tgt.eos(), "eos": tgt.eos(), "pad": tgt.pad(), "unk": tgt.unk(),
        "src_eos": src.eos(), "src_pad": src.pad(), "src_unk": src.unk(),
        "layers": len(step.layers), "attn_heads": step.attn_heads, "head_dim": step.head_dim,
        "conv_dim": step.conv_dim, "step_inputs": step_input_names(len(step.layers)),
        "ring_sizes": step.ring_sizes, "max_positions": min(step.max_positions, model.max_decoder_positions()),
        "max_source_positions": model.encoder.max_positions(),
        "source_words": list(src.symbols), "target_words": list(tgt.symbols),
    }
    path = out_dir / "config.json"
    path.write_text(json.dumps(config, ensure_ascii=False))
    return path


def export_model(model, task, out_dir: Path, int8: bool = False) -> Dict[str, Path]:
    """The whole artefact: graphs (int8 when asked), ``config.json`` and ``ort_decode.py``."""
    out_dir = Path(out_dir)
    paths = export_graphs(model, out_dir)
    if int8:
        for path in paths.values():
            quantize_graph(path, path)
    paths["config"] = write_config(model, task, out_dir, int8)
    paths["decoder"] = out_dir / "ort_decode.py"
    shutil.copyfile(Path(__file__).with_name("ort_decode.py"), paths["decoder"])
    return paths
