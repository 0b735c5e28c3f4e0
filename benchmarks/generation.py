"""Generation speed (issue #10): the fast Lite Transformer generator (fp32, int8, the exported
model) against fairseq-generate's SequenceGenerator on the same checkpoint and CTranslate2 on a
fairseq Transformer, in sentences/s, with BLEU beside each speed where the weights are trained.

Two regimes, on the test split of a prepared dataset (Multi30k test2016 by default):

- forced lengths: every hypothesis is forced to 30 tokens (``--min-len 30 --max-len-b 30``; 31
  decoder steps with the end of sentence), so every system does the same work whatever the
  weights: the paper's ``lite_transformer_iwslt_de_en_160`` and fairseq's
  ``transformer_iwslt_de_en_128`` with seeded random weights for the dataset's dictionaries;
- natural lengths: trained models decoding as they would (``--max-len-b 200``), the demo's Lite
  Transformer and a Transformer trained the same way, with tokenized BLEU (``lsra-evaluate``'s).

Every figure of one table cell group is measured side by side: for each search, batch size and
thread count, the systems' runs are interleaved and the median of ``--repeats`` is kept.

Bounding the run: ``--gen-batch1-sentences`` / ``--gen-sentences`` (sentences timed at batch 1 /
at larger batches), ``--gen-bleu-sentences``, ``--gen-regimes``, ``--gen-beams``,
``--gen-batch-sizes``, ``--gen-fast-variants``, ``--gen-no-export``, and ``--gen-quick`` for a
look in a few minutes. ``torch.compile`` (``compile:fp32``) is not in the default variants: it
compiles each new shape for minutes on a loaded 2-core machine.
"""
import json
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Dict, List, Optional

from .ctranslate2_baseline import CTranslate2, convert
from .fairseq_baseline import FairseqGenerate
from .exported_generation import ExportedModel, exported_systems
from .fast_generation import DEFAULT_VARIANTS, fast_systems, parse_variants
from .harness import REPO, Report, interleaved_medians, markdown_table
from .random_checkpoint import write_random_checkpoint
from .workload import Search, TranslationTestSet, remove_bpe

FORCED_LENGTH = 30
# (workload sizes) sentences timed at batch 1 / at larger batches, sentences scored for BLEU
FULL = {"batch1": 16, "batched": 128, "bleu": 0}
QUICK = {"batch1": 8, "batched": 64, "bleu": 200}


def add_arguments(parser) -> None:
    group = parser.add_argument_group("generation suite")
    group.add_argument("--gen-data", type=Path, default=REPO / "data-bin" / "multi30k",
                       help="prepared dataset whose test split is translated (default: data-bin/multi30k)")
    group.add_argument("--gen-work", type=Path, default=REPO / "runs" / "bench-generation",
                       help="folder for the random-weight checkpoints, conversions and exports")
    group.add_argument("--gen-regimes", default="forced,natural", help="forced and/or natural")
    group.add_argument("--gen-forced-lite", default="lite_transformer_iwslt_de_en_160",
                       help="forced regime's Lite Transformer: an arch (random weights) or a checkpoint")
    group.add_argument("--gen-forced-transformer", default="transformer_iwslt_de_en_128",
                       help="forced regime's Transformer: an arch (random weights) or a checkpoint")
    group.add_argument("--gen-lite", type=Path,
                       help="trained Lite Transformer checkpoint (default: the one "
                            "results/multi30k-lite_demo.json names, i.e. make demo's)")
    group.add_argument("--gen-transformer", type=Path,
                       help="trained Transformer checkpoint (default: the one "
                            "results/multi30k-transformer_demo.json names)")
    group.add_argument("--gen-fast-variants", default=DEFAULT_VARIANTS,
                       help="the fast generator's backend:precision pairs (backends: onnx = ONNX "
                            "Runtime, eager = PyTorch, compile = torch.compile's inductor; int8 with "
                            f"onnx only; default {DEFAULT_VARIANTS})")
    group.add_argument("--gen-no-export", action="store_true",
                       help="leave out the exported model (lsra-export's ONNX graphs and reference loop)")
    group.add_argument("--gen-natural-max-len-b", type=int, default=200,
                       help="--max-len-b in the natural regime (default: fairseq-generate's, 200)")
    group.add_argument("--gen-beams", default="4,1", help="beam sizes (1: greedy)")
    group.add_argument("--gen-batch-sizes", default="1,64", help="sentences per batch")
    group.add_argument("--gen-batch1-sentences", type=int,
                       help=f"sentences timed at batch 1 (default {FULL['batch1']}, --gen-quick {QUICK['batch1']})")
    group.add_argument("--gen-sentences", type=int,
                       help=f"sentences timed at the larger batch sizes (default {FULL['batched']}, "
                            f"--gen-quick {QUICK['batched']})")
    group.add_argument("--gen-bleu-sentences", type=int,
                       help="sentences translated once per system for BLEU in the natural regime "
                            f"(default: the whole split; --gen-quick {QUICK['bleu']})")
    group.add_argument("--gen-quick", action="store_true",
                       help="smaller workloads (a few minutes on 2 cores) for a quick look")


@dataclass
class Contender:
    """A system decoding one model: what the tables name, and its translate function."""
    model: str
    system: str
    precision: str
    translator: object  # .translate(batches, search, threads) -> token lists
    weights: str = ""

    @property
    def key(self) -> str:
        return f"{self.model} | {self.system} | {self.precision}"


@dataclass
class Unavailable:
    """A system that could not run here, with the reason (shown as a row of the tables)."""
    model: str
    system: str
    reason: str


def run(args) -> Report:
    regimes = [r for r in args.gen_regimes.split(",") if r]
    unknown = set(regimes) - {"forced", "natural"}
    if unknown:
        raise SystemExit(f"--gen-regimes: unknown regime {', '.join(sorted(unknown))} (forced, natural)")
    sizes = {**(QUICK if args.gen_quick else FULL),
             **{k: v for k, v in (("batch1", args.gen_batch1_sentences), ("batched", args.gen_sentences),
                                   ("bleu", args.gen_bleu_sentences)) if v is not None}}
    beams = [int(b) for b in args.gen_beams.split(",")]
    batch_sizes = [int(b) for b in args.gen_batch_sizes.split(",")]
    test_set = TranslationTestSet(args.gen_data)
    trained = trained_checkpoints(args) if "natural" in regimes else {}
    rows, sections, acceptance_rows = [], [], []
    for regime in regimes:
        if regime == "forced":
            lite = model_checkpoint(args.gen_forced_lite, args)
            transformer = model_checkpoint(args.gen_forced_transformer, args)
            searches = [Search(b, min_len=FORCED_LENGTH, max_len_b=FORCED_LENGTH) for b in beams]
        else:
            lite, transformer = trained["lite"], trained["transformer"]
            searches = [Search(b, max_len_b=args.gen_natural_max_len_b) for b in beams]
        contenders, unavailable = build_contenders(regime, lite, transformer, args, test_set.batches(1, 1)[0])
        bleu = measure_bleu(contenders, test_set, searches, sizes["bleu"]) if regime == "natural" else {}
        regime_rows = time_contenders(regime, contenders, test_set, searches, batch_sizes, sizes, args)
        for row in regime_rows:
            row.update(bleu.get((row["model"], row["system"], row["precision"], row["search"]), {}))
        rows += regime_rows + [{"regime": regime, "model": u.model, "system": u.system,
                                "unavailable": u.reason} for u in unavailable]
        sections.append(regime_section(regime, regime_rows, unavailable, args.threads, searches, batch_sizes,
                                       [lite, transformer]))
        acceptance_rows += acceptance(regime, regime_rows, bleu)
    settings = {"data": relative(args.gen_data), "regimes": regimes, "beams": beams,
                "batch_sizes": batch_sizes, "threads": args.threads, "repeats": args.repeats,
                "sentences": sizes, "forced_length": FORCED_LENGTH}
    intro = introduction(settings, test_set)
    table = markdown_table(["regime", "check (issue #10)", "target", "measured", "verdict"], acceptance_rows)
    markdown = f"{intro}\n\n## Acceptance\n\n{table}\n\n" + "\n\n".join(sections)
    return Report("generation", rows, markdown, settings)


def relative(path: Path) -> str:
    path = Path(path).resolve()
    return str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path)


def model_checkpoint(arch_or_path: str, args) -> Dict:
    """{"name", "checkpoint", "weights"}: a checkpoint as given, or a random-weight one of an arch."""
    if Path(arch_or_path).suffix == ".pt":
        if not Path(arch_or_path).is_file():
            raise SystemExit(f"no checkpoint at {arch_or_path}")
        return {"name": Path(arch_or_path).stem, "checkpoint": Path(arch_or_path), "weights": "as given"}
    path = write_random_checkpoint(arch_or_path, args.gen_data, args.gen_work / "random" / f"{arch_or_path}.pt")
    return {"name": arch_or_path, "checkpoint": path, "weights": "random (seed 1)"}


def trained_checkpoints(args) -> Dict[str, Dict]:
    """The natural regime's two trained models; a missing one stops here, before any timing."""
    chosen = {}
    for role, given, model in (("lite", args.gen_lite, "lite_demo"), ("transformer", args.gen_transformer,
                                                                      "transformer_demo")):
        result = REPO / "results" / f"multi30k-{model}.json"
        if given is None and result.is_file():
            given = REPO / json.loads(result.read_text())["checkpoint"]
        if given is None or not Path(given).is_file():
            raise SystemExit(
                f"natural regime: no trained {role} checkpoint ({given or result} missing); train and test "
                f"it first (make train DATASET=multi30k MODEL={model} TRAIN_ARGS='--cpu --max-epoch 5' && "
                f"make test-model DATASET=multi30k MODEL={model} TEST_ARGS=--cpu), pass --gen-{role} PATH, "
                f"or run --gen-regimes forced")
        chosen[role] = {"name": model, "checkpoint": Path(given), "weights": f"trained ({relative(given)})"}
    return chosen


def build_contenders(regime: str, lite: Dict, transformer: Dict, args, probe):
    work = args.gen_work / regime
    contenders = [Contender(m["name"], "fairseq-generate", "fp32", FairseqGenerate(m["checkpoint"], args.gen_data),
                            m["weights"]) for m in (lite, transformer)]
    unavailable = []
    fast, failures = fast_systems(lite["checkpoint"], args.gen_data, parse_variants(args.gen_fast_variants), probe)
    contenders += [Contender(lite["name"], s.system, s.precision, s, lite["weights"]) for s in fast]
    unavailable += [Unavailable(lite["name"], variant, reason) for variant, reason in failures]
    if not args.gen_no_export:
        exported, failures = exported_systems(lite["checkpoint"], args.gen_data, work / lite["name"], probe)
        contenders += [Contender(lite["name"], s.system, s.precision, s, lite["weights"]) for s in exported]
        unavailable += [Unavailable(lite["name"], variant, reason) for variant, reason in failures]
    try:
        ct2_dir = convert(transformer["checkpoint"], args.gen_data, work / f"{transformer['name']}.ct2")
    except ImportError as e:
        unavailable.append(Unavailable(transformer["name"], "CTranslate2",
                                       f"not installed ({e}): pip install -e '.[bench]'"))
    else:
        contenders += [Contender(transformer["name"], "CTranslate2", p, CTranslate2(ct2_dir, p),
                                 transformer["weights"]) for p in ("fp32", "int8")]
    return contenders, unavailable


def supports(contender: Contender, search: Search) -> bool:
    """Whether the system can run ``search`` (the exported model's reference loop is greedy only)."""
    check = getattr(contender.translator, "supports", None)
    return check is None or check(search)


def translate_all(contender: Contender, batches, search: Search, threads: int) -> List[List[str]]:
    return contender.translator.translate(batches, search, threads)


def measure_bleu(contenders: List[Contender], test_set: TranslationTestSet, searches: List[Search],
                 sentences: int) -> Dict:
    """Tokenized BLEU (lsra-evaluate's) of every contender's translations at batch 64, one thread."""
    from lsra_fairseq.evaluation.bleu import tokenized_bleu

    n = sentences or len(test_set)
    batches = test_set.batches(n, 64)
    order = [i for b in batches for i in b.indices]
    refs = [test_set.references[i] for i in order]
    scores = {}
    for search in searches:
        fairseq = {}  # model -> fairseq-generate's hypotheses (contenders list it first)
        for c in contenders:
            if not supports(c, search):
                continue
            hyps = [remove_bpe(h) for h in translate_all(c, batches, search, 1)]
            fairseq.setdefault(c.model, hyps)
            same = sum(a == b for a, b in zip(hyps, fairseq[c.model])) / len(hyps)
            scores[(c.model, c.system, c.precision, search.name)] = {
                "bleu": round(tokenized_bleu(hyps, refs).score, 2), "bleu_sentences": len(hyps),
                "same_as_fairseq": round(same, 3)}
    return scores


def time_contenders(regime, contenders, test_set, searches, batch_sizes, sizes, args) -> List[Dict]:
    rows = []
    for search in searches:
        for batch_size in batch_sizes:
            n = min(sizes["batch1"] if batch_size == 1 else sizes["batched"], len(test_set))
            batches = test_set.batches(n, batch_size)
            for threads in args.threads:
                fns = {c.key: partial(translate_all, c, batches, search, threads)
                       for c in contenders if supports(c, search)}
                print(f"[generation] {regime}, {search.name}, batch {batch_size}, {threads} thread(s), "
                      f"{n} sentences: {len(fns)} systems x {args.repeats} runs", flush=True)
                seconds = interleaved_medians(fns, repeats=args.repeats)
                for c in contenders:
                    if c.key not in seconds:
                        continue
                    rows.append({"regime": regime, "model": c.model, "weights": c.weights, "system": c.system,
                                 "precision": c.precision, "search": search.name, "beam": search.beam,
                                 "batch_size": batch_size, "threads": threads, "sentences": n,
                                 "seconds": round(seconds[c.key], 4),
                                 "sentences_per_s": round(n / seconds[c.key], 2)})
    for row in rows:  # speed-up over fairseq-generate on the same model, same cell
        base = find(rows, row, model=row["model"], system="fairseq-generate")
        row["vs_fairseq"] = round(row["sentences_per_s"] / base["sentences_per_s"], 2) if base else None
    return rows


def find(rows: List[Dict], like: Dict, **fields) -> Optional[Dict]:
    """The row of the same regime, search, batch size and threads as ``like`` with ``fields``."""
    same = ("regime", "search", "batch_size", "threads")
    for row in rows:
        if all(row[k] == like[k] for k in same) and all(row.get(k) == v for k, v in fields.items()):
            return row
    return None


def is_ours(system: str) -> bool:
    """The fast generator's variants and the exported model (issue #10's "fast generator")."""
    return system.startswith(("fast generator", ExportedModel.system))


def acceptance(regime: str, rows: List[Dict], bleu: Dict) -> List[List[str]]:
    """Issue #10's targets, for each fast-generator variant (1 thread)."""
    fast = [r for r in rows if is_ours(r["system"]) and r["threads"] == 1]
    lines = []

    def ratio_line(row, other, what, target):
        if other is None:
            return
        ratio = row["sentences_per_s"] / other["sentences_per_s"]
        what = what.format(model=other["model"])
        lines.append([regime, f"{row['model']} {row['system']} {row['precision']} vs {what}, {row['search']}, batch "
                      f"{row['batch_size']}, 1 thread", f">= {target}x", f"{ratio:.2f}x "
                      f"({row['sentences_per_s']:g} vs {other['sentences_per_s']:g} sent/s)",
                      "holds" if ratio >= target else f"missed by {(1 - ratio / target) * 100:.0f}%"])

    for row in fast:
        if row["beam"] == 4 and row["batch_size"] == 1:
            ratio_line(row, find(rows, row, system="CTranslate2", precision="int8"), "CTranslate2 int8 ({model})", 1.0)
            ratio_line(row, find(rows, row, model=row["model"], system="fairseq-generate"),
                       "fairseq-generate", 5.0)
        elif row["batch_size"] > 1:
            ratio_line(row, find(rows, row, system="CTranslate2", precision="fp32"), "CTranslate2 fp32 ({model})", 1.0)
    for (model, system, precision, search), score in bleu.items():
        fp32 = bleu.get((model, system, "fp32", search))
        if is_ours(system) and precision == "int8" and fp32:
            change = score["bleu"] - fp32["bleu"]
            lines.append([regime, f"{model} {system} int8 BLEU change vs fp32, {search} ({score['bleu_sentences']} "
                          f"sentences)", ">= -0.3", f"{change:+.2f} ({score['bleu']} vs {fp32['bleu']})",
                          "holds" if change >= -0.3 else f"missed by {-0.3 - change:.2f}"])
    if not lines:
        lines.append([regime, "fast generator", "", "not measured (not available)", "missing"])
    return lines


def regime_section(regime, rows, unavailable, threads, searches, batch_sizes, models) -> str:
    title = {"forced": f"Forced lengths ({FORCED_LENGTH} tokens per hypothesis)",
             "natural": "Natural lengths, trained models"}[regime]
    cells = [(s.name, b) for s in searches for b in batch_sizes]
    header = ["model", "system", "precision"] + [f"{s}, batch {b}" for s, b in cells]
    if regime == "natural":
        header += [f"BLEU {s.name}" for s in searches]
    described = "; ".join(f"`{m['name']}`: {m['weights']}" for m in models)
    parts = [f"## {title}\n\nModels: {described}. Figures: sentences/s (speed-up over fairseq-generate "
             f"on the same model)."]
    systems = sorted({(r["model"], r["system"], r["precision"]) for r in rows},
                     key=lambda k: ([m["name"] for m in models].index(k[0]), k[1] != "fairseq-generate", k[1:]))
    for n in threads:
        table = []
        for model, system, precision in systems:
            mine = [r for r in rows if r["threads"] == n and (r["model"], r["system"], r["precision"]) ==
                    (model, system, precision)]
            line = [model, system, precision]
            for search, batch in cells:
                cell = next((r for r in mine if r["search"] == search and r["batch_size"] == batch), None)
                line.append("-" if cell is None else f"{cell['sentences_per_s']:g} ({cell['vs_fairseq']:g}x)")
            if regime == "natural":
                for s in searches:
                    cell = next((r for r in mine if r["search"] == s.name and "bleu" in r), None)
                    line.append("-" if cell is None else f"{cell['bleu']:.2f}")
            table.append(line)
        for u in unavailable:
            table.append([u.model, u.system, "", f"not available: {u.reason}"] + [""] * (len(header) - 4))
        parts.append(f"### {n} thread{'s' if n > 1 else ''}\n\n" + markdown_table(header, table))
    return "\n\n".join(parts)


def introduction(settings: Dict, test_set: TranslationTestSet) -> str:
    sizes = settings["sentences"]
    return (f"Test split of `{settings['data']}` ({len(test_set)} sentences, {test_set.source_lang}-"
            f"{test_set.target_lang}), the same batches for every system (longest sources first). Timed: "
            f"the first {sizes['batch1']} sentences at batch 1, the first {sizes['batched']} at larger "
            f"batches; each figure is the median of {settings['repeats']} runs interleaved with the other "
            f"systems' runs of the same cell (one warm-up run each), threads fixed as stated (torch "
            f"intra-op threads; CTranslate2 intra_threads, one translation at a time). fairseq-generate is "
            f"its SequenceGenerator in process (no start-up or data loading). Forced lengths: "
            f"`--min-len {FORCED_LENGTH} --max-len-b {FORCED_LENGTH}` (CTranslate2: the same number of "
            f"decoder steps). BLEU: tokenized, as lsra-evaluate computes it, batch 64, 1 thread, on "
            f"{'all' if not sizes['bleu'] else 'the first ' + str(sizes['bleu'])} sentences.")
