"""``lsra-translate``: fairseq-interactive's flags and output, decoded by the fast generator.

Reads sentences from stdin and prints fairseq-interactive's S-/H-/D-/P- lines (``--plain``: only
the detokenized translation, one line per input line). Tokenizer and BPE come from fairseq's own
builders (``--tokenizer moses --bpe subword_nmt --bpe-codes ...``). A line longer than the model's
source positions is truncated with a warning on stderr (skipped with
``--skip-invalid-size-inputs-valid-test``); unknown words become ``<unk>``; an empty line is
translated like any other, as fairseq-interactive does.
"""
import math
import sys
from typing import Iterator, List

import torch

from .runners import BACKENDS, DEFAULT_BACKEND, build_runner
from .search import FastGenerator


def _parser():
    from fairseq import options

    parser = options.get_interactive_generation_parser()
    group = parser.add_argument_group("lsra-translate")
    group.add_argument("--plain", action="store_true", help="print only the detokenized best translation")
    group.add_argument("--fast-backend", choices=BACKENDS, default=DEFAULT_BACKEND,
                       help=f"runs the decoder step (default: {DEFAULT_BACKEND}, ONNX Runtime)")
    group.add_argument("--int8", action="store_true", help="int8 weights and matrix products (ONNX Runtime)")
    group.add_argument("--threads", type=int, help="CPU threads (default: PyTorch's)")
    return parser


def _chunks(lines: Iterator[str], size: int) -> Iterator[List[str]]:
    chunk = []
    for line in lines:
        chunk.append(line.rstrip("\r\n"))
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def main(argv=None) -> int:
    import lsra_fairseq.plugin  # noqa: F401  (registers the models)
    from fairseq import checkpoint_utils, options, tasks, utils
    from fairseq.data import data_utils
    from fairseq.dataclass.utils import convert_namespace_to_omegaconf

    args = options.parse_args_and_arch(_parser(), argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    cfg = convert_namespace_to_omegaconf(args)
    utils.import_user_module(cfg.common)
    task = tasks.setup_task(cfg.task)
    models, _ = checkpoint_utils.load_model_ensemble(utils.split_paths(cfg.common_eval.path),
                                                     arg_overrides=eval(cfg.common_eval.model_overrides), task=task)
    if len(models) != 1:
        raise SystemExit("lsra-translate decodes one model; fairseq-interactive takes ensembles")
    model = models[0].eval()
    src_dict, tgt_dict = task.source_dictionary, task.target_dictionary
    if getattr(cfg.generation, "replace_unk", None):
        raise SystemExit("--replace-unk needs alignments, which the fast generator does not compute; "
                         "use fairseq-interactive for it")
    try:
        generator = FastGenerator.from_args(build_runner(model, args.fast_backend, args.int8), tgt_dict,
                                            cfg.generation)
    except ValueError as e:
        raise SystemExit(f"lsra-translate: {e}") from None
    tokenizer, bpe = task.build_tokenizer(cfg.tokenizer), task.build_bpe(cfg.bpe)

    def encode(text: str) -> str:
        text = tokenizer.encode(text) if tokenizer is not None else text
        return bpe.encode(text) if bpe is not None else text

    def decode(text: str) -> str:
        text = bpe.decode(text) if bpe is not None else text
        return tokenizer.decode(text) if tokenizer is not None else text

    max_source = model.encoder.max_positions()
    batch_size = cfg.dataset.batch_size or 1
    buffer_size = max(cfg.interactive.buffer_size, batch_size)
    post_process = cfg.common_eval.post_process
    next_id = 0
    for chunk in _chunks(sys.stdin, buffer_size):
        items = []
        for line in chunk:
            tokens = src_dict.encode_line(encode(line), add_if_not_exist=False).long()
            if tokens.numel() > max_source:
                action = "skipped" if cfg.dataset.skip_invalid_size_inputs_valid_test else "truncated"
                print(f"lsra-translate: warning: input {next_id} has {tokens.numel()} tokens, the model takes "
                      f"at most {max_source}; {action}", file=sys.stderr, flush=True)
                tokens = None if action == "skipped" else torch.cat([tokens[:max_source - 1], tokens[-1:]])
            items.append((next_id, tokens))
            next_id += 1
        valid = [(i, t) for i, t in items if t is not None]
        for start in range(0, len(valid), batch_size):
            batch = valid[start:start + batch_size]
            src = data_utils.collate_tokens([t for _, t in batch], src_dict.pad(), left_pad=True)
            hypos = generator.translate(src, src.ne(src_dict.pad()).sum(1))
            for (id_, tokens), sentence in zip(batch, hypos):
                _print(id_, src_dict.string(tokens, post_process), sentence[:cfg.generation.nbest], tgt_dict,
                       post_process, decode, args.plain)
        sys.stdout.flush()
    return 0


def _print(id_, src_str, hypos, tgt_dict, post_process, decode, plain: bool) -> None:
    from fairseq import utils

    if not plain:
        print(f"S-{id_}\t{src_str}")
    for hypo in hypos:
        _, hypo_str, _ = utils.post_process_prediction(
            hypo_tokens=hypo["tokens"].int(), src_str=src_str, alignment=None, align_dict=None,
            tgt_dict=tgt_dict, remove_bpe=post_process)
        detok = decode(hypo_str)
        if plain:
            print(detok)
            return
        score = float(hypo["score"]) / math.log(2)  # base 2, as fairseq-interactive prints
        print(f"H-{id_}\t{score}\t{hypo_str}")
        print(f"D-{id_}\t{score}\t{detok}")
        print("P-{}\t{}".format(id_, " ".join(f"{x:.4f}" for x in (hypo["positional_scores"] / math.log(2)).tolist())))


if __name__ == "__main__":
    sys.exit(main())
