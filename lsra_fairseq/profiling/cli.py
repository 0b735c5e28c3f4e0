"""``lsra-profile``: #Params and #MACs (and optionally CPU latency) of a fairseq model.

    lsra-profile --arch NAME [--src-len N] [--tgt-len N] [--src-vocab N] [--tgt-vocab N] [model flags]
    lsra-profile --checkpoint PATH
    lsra-profile --paper          # the paper's Tables 1, 2, 4, 5: measured vs printed
"""
import argparse
import json
import statistics
import sys
import time
from typing import List, Optional

import torch
from torch import nn

from ..builder import build_from_arch, build_from_checkpoint
from ..checkpoint_compat import CheckpointError
from .counting import Conventions, dummy_tokens, is_encoder_decoder, millions, profile_model, token_counts
from .paper import JOINED_VOCAB, PAPER_ROWS, format_paper_table, measure_paper_rows, paper_vocab

# Options that --paper fixes itself (the paper's lengths and dictionaries).
MODEL_OPTIONS = ("src_len", "tgt_len", "src_vocab", "tgt_vocab", "latency", "repeats")


def positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {value}")
    return value


def greedy_decode(model: nn.Module, src_len: Optional[int], tgt_len: int) -> torch.Tensor:
    """One sentence (batch 1): the encoder reads ``src_len`` tokens, then the decoder emits
    ``tgt_len`` tokens one by one with its incremental state, as fairseq's generator does, taking
    the argmax of the normalised scores (no early stop at end-of-sentence, so every model decodes
    the same length)."""
    decoder_dict = model.decoder.dictionary
    encoder_out = None
    if src_len is not None:
        encoder_out = model.encoder(dummy_tokens(model.encoder.dictionary, src_len),
                                    src_lengths=torch.tensor([src_len]))
    tokens = torch.full((1, 1), decoder_dict.eos())
    state = {}
    for _ in range(tgt_len):
        out = model.decoder(tokens, encoder_out=encoder_out, incremental_state=state)
        scores = model.get_normalized_probs(out, log_probs=True)[:, -1]
        tokens = torch.cat([tokens, scores.argmax(-1, keepdim=True)], dim=1)
    return tokens


def latency_ms(model: nn.Module, src_len: Optional[int], tgt_len: int, repeats: int = 5) -> float:
    """Median CPU wall time of ``repeats`` greedy decodes after one warm-up, in milliseconds, to set
    beside the MAC count. Unlike #MACs, this includes everything that runs: embeddings, the output
    projection, softmax."""
    model.eval()
    times = []
    with torch.no_grad():
        for run in range(repeats + 1):
            start = time.perf_counter()
            greedy_decode(model, src_len, tgt_len)
            if run:
                times.append(1000 * (time.perf_counter() - start))
    return statistics.median(times)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lsra-profile", allow_abbrev=False,
        description="Counts #Params and #MACs of any fairseq model by running it on a dummy sentence "
                    "(teacher-forced) and adding up the multiply-accumulates of the matrix products, "
                    "attention products and convolutions that actually run. Flags this tool does not "
                    "know are passed to the model, as fairseq-train would (--arch only).")
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--arch", help="a registered fairseq arch (lsra_fairseq's and fairseq's own)")
    what.add_argument("--checkpoint", help="a fairseq checkpoint; its saved config builds the model")
    what.add_argument("--paper", action="store_true",
                      help="measure every row of the paper's Tables 1, 2, 4, 5 and compare; exits 1 "
                           "when a row is more than 3%% off")
    parser.add_argument("--src-len", type=positive_int, default=30, help="source tokens (default 30)")
    parser.add_argument("--tgt-len", type=positive_int, default=30,
                        help="target tokens, teacher-forced; a language model reads only these (default 30)")
    parser.add_argument("--src-vocab", type=positive_int,
                        help="source dictionary size (default: the paper's for its archs, else 32768)")
    parser.add_argument("--tgt-vocab", type=positive_int,
                        help="target dictionary size (default: --src-vocab; equal sizes build one "
                             "joined dictionary)")
    rules = parser.add_argument_group("counting conventions (defaults: those of the paper's tables)")
    rules.add_argument("--embedding-params", action="store_true",
                       help="count the embedding tables in #Params")
    rules.add_argument("--no-output-params", dest="output_params", action="store_false",
                       help="leave an untied output matrix out of #Params")
    rules.add_argument("--embedding-macs", action="store_true",
                       help="count MACs inside the embedding modules (adaptive-input projections)")
    rules.add_argument("--output-macs", action="store_true",
                       help="count the MACs of the final output projection (or adaptive softmax)")
    rules.add_argument("--no-conv-taps", dest="conv_taps", action="store_false",
                       help="leave convolution taps out of #MACs (the paper's own figures match best "
                            "so, see the README)")
    parser.add_argument("--latency", action="store_true",
                        help="also measure CPU milliseconds per sentence (batch 1, greedy, same lengths)")
    parser.add_argument("--repeats", type=positive_int, default=5, help="timed decodes (median; default 5)")
    parser.add_argument("--threads", type=positive_int, default=1,
                        help="CPU threads for torch (default 1: steady timings on a shared machine)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    return parser


def check_paper_options(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    given = [name for name in MODEL_OPTIONS if getattr(args, name) != parser.get_default(name)]
    if given:
        flags = ", ".join("--" + name.replace("_", "-") for name in given)
        parser.error(f"--paper uses the paper's own lengths and dictionaries; drop {flags}")


def load_model(args: argparse.Namespace, model_flags: List[str]):
    """The model and its arch name, from --arch (with model flags) or --checkpoint."""
    if args.checkpoint:
        return build_from_checkpoint(args.checkpoint, args.src_vocab, args.tgt_vocab)
    src_vocab, tgt_vocab = paper_vocab(args.arch) or JOINED_VOCAB
    src_vocab = args.src_vocab or src_vocab
    tgt_vocab = args.tgt_vocab or args.src_vocab or tgt_vocab
    return build_from_arch(args.arch, model_flags, src_vocab, tgt_vocab), args.arch


def conventions_of(args: argparse.Namespace) -> Conventions:
    return Conventions(**{name: getattr(args, name) for name in Conventions.names()})


def profile_report(model, arch: str, args: argparse.Namespace) -> dict:
    result = {"arch": arch, "model_class": type(model).__name__,
              **profile_model(model, args.src_len, args.tgt_len, **conventions_of(args).as_dict()),
              "src_vocab": len(model.encoder.dictionary) if is_encoder_decoder(model) else None,
              "tgt_vocab": len(model.decoder.dictionary)}
    if args.latency:
        result.update(latency_ms=latency_ms(model, result["src_len"], args.tgt_len, args.repeats),
                      threads=torch.get_num_threads())
    return result


def format_report(result: dict) -> str:
    vocab = (f"target dictionary {result['tgt_vocab']}" if result["src_vocab"] is None else
             f"dictionaries: source {result['src_vocab']}, target {result['tgt_vocab']}")
    lines = [f"{result['arch']} ({result['model_class']}), {vocab}",
             f"#Params  {result['params']:>13,}  ({millions(result['params'])})",
             f"#MACs    {result['macs']:>13,}  ({millions(result['macs'])})",
             "  ran: " + ", ".join(f"{kind} {millions(n)}" for kind, n in result["macs_by_kind"].items())]
    if "latency_ms" in result:
        lines.append(f"latency  {result['latency_ms']:.1f} ms per sentence (greedy, batch 1, CPU, "
                     f"{result['threads']} thread(s))")
    lines.append(f"counted: {token_counts(result['src_len'], result['tgt_len'])}, teacher-forced, "
                 f"batch 1; {Conventions(**result['conventions']).describe()}")
    return "\n".join(lines)


def main(argv: Optional[List[str]] = None) -> int:
    parser = build_parser()
    args, model_flags = parser.parse_known_args(argv)
    if model_flags and not args.arch:
        parser.error(f"unrecognized arguments: {' '.join(model_flags)} (model flags need --arch)")
    torch.set_num_threads(args.threads)
    if args.paper:
        check_paper_options(parser, args)
        results = measure_paper_rows(PAPER_ROWS, conventions_of(args))
        print(json.dumps(results, indent=2) if args.json
              else format_paper_table(PAPER_ROWS, results, conventions_of(args)))
        return 0 if all(r["ok"] for r in results) else 1
    try:
        model, arch = load_model(args, model_flags)
    except (ValueError, FileNotFoundError, CheckpointError) as error:
        parser.error(str(error))
    result = profile_report(model, arch, args)
    print(json.dumps(result, indent=2) if args.json else format_report(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
