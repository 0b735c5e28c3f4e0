"""``python -m benchmarks training``: training speed (target tokens per second) of
``lite_transformer_iwslt_de_en_160``, ``transformer_iwslt_de_en_128`` and fairseq's
``lightconv_iwslt_de_en`` at d = 160 (its default dynamic convolution) on identical batches of
real data (Multi30k De-En, ``--max-tokens`` batches as fairseq-train draws them).

One training step is what fairseq's trainer does per update on one CPU: the label-smoothed
cross-entropy forward, backward and an Adam step. The models take turns on the same batch, step
after step (interleaved), and each figure is a median over those steps, per thread count.
"""
import statistics
import time
from pathlib import Path
from typing import Dict, List, Sequence

import torch

from .harness import REPO, Report, markdown_table, torch_threads

# name -> (arch, extra model flags)
MODELS = {
    "lite_transformer_iwslt_de_en_160": ("lite_transformer_iwslt_de_en_160", ()),
    "transformer_iwslt_de_en_128": ("transformer_iwslt_de_en_128", ()),
    "lightconv_iwslt_de_en (d = 160)": ("lightconv_iwslt_de_en",
                                        ("--encoder-embed-dim", "160", "--decoder-embed-dim", "160")),
}
LITE, TRANSFORMER, LIGHTCONV = MODELS


def add_arguments(parser) -> None:
    group = parser.add_argument_group("training suite")
    group.add_argument("--train-data", type=Path, default=REPO / "data-bin" / "multi30k",
                       help="binarized translation data (lsra-prepare multi30k)")
    group.add_argument("--train-max-tokens", type=int, default=4096)
    group.add_argument("--train-batches", type=int, default=4, help="distinct batches, cycled")
    group.add_argument("--train-steps", type=int, default=8, help="timed steps per model and thread count")
    group.add_argument("--train-profile", action="store_true",
                       help="also profile one step of Lite-160 and Transformer-128 (top operators) at the first thread count")


def load_task_and_batches(data: Path, max_tokens: int, count: int):
    """fairseq's translation task on ``data`` and the first ``count`` training batches."""
    from fairseq import options, tasks

    from lsra_fairseq.commands import USER_DIR

    if not (data / "preparation.json").is_file():
        raise SystemExit(f"no prepared dataset at {data}: run `lsra-prepare multi30k --raw ...` or "
                         f"`make prepare-multi30k`, or pass the folder with --train-data")
    parser = options.get_training_parser()
    args = options.parse_args_and_arch(parser, [str(data), "--task", "translation", "--arch",
                                                "transformer_iwslt_de_en_128", "--user-dir", str(USER_DIR),
                                                "--max-tokens", str(max_tokens), "--seed", "1"])
    task = tasks.setup_task(args)
    task.load_dataset("train")
    iterator = task.get_batch_iterator(task.dataset("train"), max_tokens=max_tokens, seed=1,
                                       max_positions=(1024, 1024)).next_epoch_itr(shuffle=True)
    batches = [next(iterator) for _ in range(count)]
    return task, batches


def build_trainee(task, data: Path, arch: str, flags: Sequence[str], seed: int = 1):
    """Model, criterion and optimizer as fairseq-train builds them for ``arch`` (the arch's own
    dropout and regularisation), Adam at lr 5e-4."""
    from fairseq import options
    from fairseq.criterions.label_smoothed_cross_entropy import LabelSmoothedCrossEntropyCriterion

    from lsra_fairseq.commands import USER_DIR

    parser = options.get_training_parser()
    args = options.parse_args_and_arch(parser, [str(data), "--task", "translation", "--arch", arch,
                                                "--user-dir", str(USER_DIR), *flags])
    torch.manual_seed(seed)
    model = task.build_model(args).train()
    criterion = LabelSmoothedCrossEntropyCriterion(task, sentence_avg=False, label_smoothing=0.1)
    optimizer = torch.optim.Adam(model.parameters(), lr=5e-4, betas=(0.9, 0.98), foreach=True)
    return model, criterion, optimizer


def train_step(model, criterion, optimizer, sample) -> None:
    optimizer.zero_grad(set_to_none=True)
    loss, _, _ = criterion(model, sample)
    loss.backward()
    optimizer.step()


def time_steps(trainees: Dict, batches: List, steps: int) -> Dict[str, List[float]]:
    """Seconds of each step, the models taking turns on the same batch; one warm-up step each."""
    for trainee in trainees.values():
        train_step(*trainee, batches[0])
    seconds: Dict[str, List[float]] = {name: [] for name in trainees}
    for step in range(steps):
        sample = batches[step % len(batches)]
        for name, trainee in trainees.items():
            start = time.perf_counter()
            train_step(*trainee, sample)
            seconds[name].append(time.perf_counter() - start)
    return seconds


def profile_step(trainee, sample, rows: int = 10) -> str:
    from torch.profiler import profile

    train_step(*trainee, sample)
    with profile() as prof:
        train_step(*trainee, sample)
    return prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=rows)


def run(args) -> Report:
    task, batches = load_task_and_batches(args.train_data, args.train_max_tokens, args.train_batches)
    tokens = [int(b["ntokens"]) for b in batches]
    sentences = [int(b["nsentences"]) for b in batches]
    trainees = {name: build_trainee(task, args.train_data, arch, flags) for name, (arch, flags) in MODELS.items()}
    rows, table, profiles = [], [], []
    for threads in args.threads:
        with torch_threads(threads):
            seconds = time_steps(trainees, batches, args.train_steps)
            if args.train_profile and threads == args.threads[0]:
                profiles += [f"{name}, {threads} thread(s), one step:\n\n```\n{profile_step(trainees[name], batches[0])}```"
                             for name in (LITE, TRANSFORMER)]
        step_tokens = [tokens[s % len(batches)] for s in range(args.train_steps)]
        rate = {name: statistics.median(n / s for n, s in zip(step_tokens, ts)) for name, ts in seconds.items()}
        ratio = {other: statistics.median(a / b for a, b in zip(seconds[other], seconds[LITE]))
                 for other in (TRANSFORMER, LIGHTCONV)}
        for name in MODELS:
            row = {"model": name, "threads": threads, "target_tokens_per_s": rate[name],
                   "step_seconds": seconds[name]}
            if name != LITE:
                row["lite_speedup"] = ratio[name]
            rows.append(row)
            table.append([name, threads, f"{rate[name]:,.0f}",
                          f"{statistics.median(seconds[name]) * 1e3:.0f}",
                          "" if name == LITE else f"**{ratio[name]:.2f}x**"])
        print(f"training threads={threads} done", flush=True)
    header = ["model", "threads", "target tokens/s", "median step (ms)", "Lite-160 speed-up (its step time / Lite's)"]
    data_name = args.train_data.relative_to(REPO) if args.train_data.is_relative_to(REPO) else args.train_data.name
    intro = (f"Data: {data_name} train split, {len(batches)} batches of --max-tokens {args.train_max_tokens} "
             f"(on average {statistics.mean(tokens):,.0f} target tokens, {statistics.mean(sentences):.0f} "
             f"sentences), cycled; {args.train_steps} timed steps per model and thread count, the models "
             f"taking turns on each batch; label-smoothed cross-entropy (0.1), backward, Adam step. "
             f"Tokens/s are medians over the steps; speed-ups are medians of the per-step time ratios.\n\n")
    markdown = intro + markdown_table(header, table)
    if profiles:
        markdown += "\n\nProfiles (torch.profiler, top operators by self CPU time):\n\n" + "\n\n".join(profiles)
    settings = {"max_tokens": args.train_max_tokens, "batches": len(batches), "steps": args.train_steps,
                "threads": args.threads, "target_tokens_per_batch": tokens, "sentences_per_batch": sentences,
                "models": {name: {"arch": arch, "flags": list(flags)} for name, (arch, flags) in MODELS.items()}}
    return Report("training", rows, markdown, settings)
