"""``lsra-export CHECKPOINT OUTDIR [--int8]``: a trained Lite Transformer as ONNX graphs for devices.

Writes ``encoder.onnx``, ``decoder_step.onnx``, ``config.json`` and ``ort_decode.py`` (a greedy
decoding loop that needs only numpy and onnxruntime) into OUTDIR.
"""
import argparse
import sys
from pathlib import Path

from .decoder_step import UnsupportedDecoder
from .checkpoint import load_lite_transformer
from .onnx_export import export_model


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="lsra-export", description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint", type=Path, help="fairseq checkpoint of a lite_transformer model")
    parser.add_argument("outdir", type=Path, help="folder to write the export into")
    parser.add_argument("--int8", action="store_true",
                        help="int8 weights per output channel for every Linear (ONNX Runtime dynamic quantization)")
    parser.add_argument("--data", type=Path, help="folder with the dictionaries, if not where the checkpoint says")
    args = parser.parse_args(argv)
    model, task = load_lite_transformer(args.checkpoint, args.data)
    try:
        paths = export_model(model, task, args.outdir, int8=args.int8)
    except UnsupportedDecoder as e:
        raise SystemExit(f"{args.checkpoint}: cannot export this model: {e}") from None
    for path in paths.values():
        print(path)
    print(f"greedy decoding: python {paths['decoder']} {args.outdir} < source.txt")
    return 0


if __name__ == "__main__":
    sys.exit(main())
