"""Which backend runs the fast generator's decoder step fastest: the comparison behind its default.

Lite-160 (``lite_transformer_iwslt_de_en_160``) with random weights and the paper's IWSLT
dictionary sizes (8,848 / 6,632), one 25-token source sentence, every hypothesis forced to 30
tokens (``min_len = max_len_b = 30``), batch 1, beam 4 and greedy: fairseq's ``SequenceGenerator``
against ``FastGenerator`` on each backend, interleaved, medians; plus one decoder step alone
(beam 4 rows) per backend. ``torch.compile`` is left out by default (its first call compiles for
minutes on the 2-core machine): ``--backends-compile`` adds it.
"""
from typing import Dict

import torch

from .harness import Report, interleaved_medians, markdown_table, torch_threads

SOURCE_LENGTH, FORCED = 25, 30


def add_arguments(parser) -> None:
    group = parser.add_argument_group("generation-backends suite")
    group.add_argument("--backends-compile", action="store_true", help="also time torch.compile (slow to build)")


def _model():
    from lsra_fairseq.builder import DictionaryTask, build_registered_model

    torch.manual_seed(0)
    task = DictionaryTask(8848, 6632)
    return build_registered_model("lite_transformer_iwslt_de_en_160", task).eval(), task


def run(args) -> Report:
    from fairseq.sequence_generator import SequenceGenerator

    from lsra_fairseq.generation import FastGenerator, build_runner

    model, task = _model()
    src = torch.randint(4, 8000, (1, SOURCE_LENGTH))
    src[:, -1] = task.source_dictionary.eos()
    sample = {"net_input": {"src_tokens": src, "src_lengths": torch.tensor([SOURCE_LENGTH])}}
    variants = {"eager": ("eager", False), "onnx fp32": ("onnx", False), "onnx int8": ("onnx", True)}
    if getattr(args, "backends_compile", False):
        variants["compile"] = ("compile", False)
    rows, notes = [], []
    for threads in args.threads:
        with torch_threads(threads), torch.inference_mode():
            runners = {name: build_runner(model, backend, int8) for name, (backend, int8) in variants.items()}
            for beam in (4, 1):
                options = dict(beam_size=beam, min_len=FORCED, max_len_b=FORCED)
                reference = SequenceGenerator([model], task.target_dictionary, **options)
                fns = {"fairseq SequenceGenerator": lambda: reference.generate([model], sample)}
                for name, runner in runners.items():
                    generator = FastGenerator(runner, task.target_dictionary, **options)
                    fns[f"fast ({name})"] = (lambda g: lambda: g.generate([model], sample))(generator)
                medians = interleaved_medians(fns, repeats=args.repeats)
                base = medians["fairseq SequenceGenerator"]
                for name, seconds in medians.items():
                    rows.append({"what": "generation", "system": name, "beam": beam, "threads": threads,
                                 "ms_per_sentence": round(seconds * 1e3, 2), "sentences_per_s": round(1 / seconds, 1),
                                 "speedup_vs_fairseq": round(base / seconds, 2)})
            rows += _step_rows(runners, threads, args.repeats * 20)
    table = markdown_table(
        ["what", "system", "beam", "threads", "ms", "sent/s", "x fairseq"],
        [[r["what"], r["system"], r.get("beam", 4), r["threads"], r["ms_per_sentence"] if "ms_per_sentence" in r
          else r["ms_per_step"], r.get("sentences_per_s", ""), r.get("speedup_vs_fairseq", "")] for r in rows])
    text = (f"Lite-160, random weights, vocab 8848/6632, source {SOURCE_LENGTH} tokens, forced {FORCED} "
            f"target tokens, batch 1; wall-clock medians of {args.repeats} interleaved runs "
            f"(steps: {args.repeats * 20}); ms = per sentence (generation) or per step (step, 4 rows).\n\n"
            + table + ("\n\n" + "\n".join(notes) if notes else ""))
    return Report("generation-backends", rows, text,
                  settings={"arch": "lite_transformer_iwslt_de_en_160", "forced_tokens": FORCED,
                            "source_tokens": SOURCE_LENGTH, "batch": 1, "repeats": args.repeats})


def _step_rows(runners: Dict[str, object], threads: int, repeats: int):
    """One decoder step (4 rows, step 15 of a 31-step state) per backend."""
    src = torch.randint(4, 8000, (1, SOURCE_LENGTH))
    fns = {}
    for name, runner in runners.items():
        memory = runner.encode(src, torch.tensor([SOURCE_LENGTH]))
        state = runner.empty_state(4, FORCED + 1)
        tokens = torch.randint(4, 6000, (4,))
        fns[name] = (lambda r, s, m: lambda: r.step(tokens, 15, s, m))(runner, state, memory)
    medians = interleaved_medians(fns, repeats=repeats)
    base = medians.get("eager")
    return [{"what": "decoder step", "system": name, "threads": threads, "ms_per_step": round(s * 1e3, 3),
             "speedup_vs_fairseq": "", "speedup_vs_eager": round(base / s, 2) if base else None}
            for name, s in medians.items()]
