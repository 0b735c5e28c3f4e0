"""``lsra-table``: train and score every (model, seed) of a comparison table, resumably.

A table config (``examples/multi30k/table.yaml``) names budgets of roughly equal #MACs, the model
of each family at that budget (rows of the recipe's ``train.yaml``), the seeds, the shared
schedule and the test protocol. Every run trains through ``lsra-train`` into
``<runs>/<model>/seed<N>`` and is scored by ``lsra-evaluate`` into ``<results>/<model>-seed<N>.json``;
a run whose result file exists is skipped, and an interrupted training resumes from its
``checkpoint_last.pt``, so an interrupted table picks up where it stopped. Several processes may
run the same command side by side (e.g. one per core with ``OMP_NUM_THREADS=1``): each trains the
runs no other one holds (``run_lock``), and the last to finish writes the table.

``lsra-table select`` chooses the schedule once, on validation data only: it trains every
candidate schedule of the config at seed 1 for the models named in ``select.models`` and keeps the
one with the lowest mean best validation loss (``<results>/schedule.json``); ``lsra-table run``
then applies it to every model and seed.
"""
import argparse
import json
import shlex
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional

import yaml

from .. import training
from ..commands import as_flags
from ..evaluation import evaluate
from .plot import plot_table
from .run_lock import holder, holding
from .summary import summarize, write_summary

WAIT_SECONDS = 60  # how often ``select`` looks again at runs that other processes train


@dataclass(frozen=True)
class Run:
    """One training run of the table: a model row of train.yaml under one seed and schedule."""
    budget: str
    family: str
    model: str
    seed: int

    @property
    def name(self) -> str:
        return f"{self.model}-seed{self.seed}"


def read_table(path: Path) -> Dict:
    config = yaml.safe_load(path.read_text())
    missing = {"train_config", "seeds", "budgets", "schedules", "test_args"} - set(config)
    if missing:
        raise SystemExit(f"{path} lacks {', '.join(sorted(missing))}; see examples/multi30k/table.yaml")
    config["train_config"] = path.parent / config["train_config"]
    return config


def planned_runs(config: Dict, seeds: Optional[List[int]] = None) -> List[Run]:
    return [Run(budget, family, model, seed)
            for budget, families in config["budgets"].items()
            for family, model in families.items()
            for seed in (seeds or config["seeds"])]


def checkpoint_state(run_dir: Path) -> Dict:
    """The extra state of a run's ``checkpoint_last.pt`` (cumulative training time, best valid loss)."""
    from fairseq import checkpoint_utils

    import lsra_fairseq.plugin  # noqa: F401  (checkpoint loading on torch >= 2.6)

    state = checkpoint_utils.load_checkpoint_to_cpu(str(run_dir / "checkpoint_last.pt"))
    return {"train_seconds": round(state["extra_state"]["previous_training_time"], 1),
            "updates": state["optimizer_history"][-1]["num_updates"],
            "best_valid_loss": state["extra_state"].get("best")}


def train(config: Dict, run: Run, schedule: Dict, data: Path, run_dir: Path, train_args: str) -> Dict:
    """Trains ``run`` (resuming from checkpoint_last.pt if there is one); returns its checkpoint state."""
    status = training.main([str(config["train_config"]), run.model, "--data", str(data),
                            "--run-dir", str(run_dir), "--seed", str(run.seed),
                            *as_flags(schedule), *shlex.split(train_args)])
    if status:
        raise SystemExit(f"training {run.name} failed (exit status {status}); rerun the same command "
                         f"to resume it from {run_dir / 'checkpoint_last.pt'}")
    return checkpoint_state(run_dir)


def chosen_schedule(config: Dict, results: Path) -> Dict:
    """The schedule ``select`` chose; the config's first candidate if selection was not run."""
    record = results / "schedule.json"
    if record.is_file():
        name = json.loads(record.read_text())["chosen"]
    else:
        name = next(iter(config["schedules"]))
        print(f"no {record} (lsra-table select was not run): using the first schedule, {name!r}")
    if name not in config["schedules"]:
        raise SystemExit(f"{record} chose schedule {name!r}, which the table config no longer has; "
                         f"delete {record} and run lsra-table select again")
    return {"name": name, "flags": config["schedules"][name]}


def select(config: Dict, args) -> Dict:
    """Trains each candidate schedule at seed 1 and keeps the lowest mean best validation loss.
    Runs that other processes hold are waited for, then read (a finished run resumes at its end)."""
    pending = [(name, model) for name in config["schedules"] for model in config["select"]["models"]]
    run_dir = {job: args.runs / "select" / job[0] / job[1] for job in pending}
    best, told = {}, ""
    while pending:
        held = []
        for name, model in pending:
            with holding(run_dir[name, model]) as mine:
                if not mine:
                    held.append((name, model))
                    continue
                state = train(config, Run("select", "", model, 1), config["schedules"][name], args.data,
                              run_dir[name, model], args.train_args)
                best[name, model] = state["best_valid_loss"]
        if held:
            message = (f"waiting for {len(held)} selection run(s) that other processes train: "
                       + ", ".join(f"{n}/{m} ({holder(run_dir[n, m])})" for n, m in held))
            if message != told:  # once, not every minute
                print(message, flush=True)
                told = message
            time.sleep(WAIT_SECONDS)
        pending = held
    losses = {}
    for name in config["schedules"]:
        per_model = {model: best[name, model] for model in config["select"]["models"]}
        losses[name] = {"models": per_model, "mean": sum(per_model.values()) / len(per_model)}
        print(f"schedule {name}: mean best valid loss {losses[name]['mean']:.3f}")
    chosen = min(losses, key=lambda n: losses[n]["mean"])
    record = {"chosen": chosen, "valid_loss": losses, "command": shlex.join(["lsra-table", *sys.argv[1:]])}
    args.results.mkdir(parents=True, exist_ok=True)
    (args.results / "schedule.json").write_text(json.dumps(record, indent=2) + "\n")
    print(f"chose schedule {chosen!r} -> {args.results / 'schedule.json'}")
    return record


def run_all(config: Dict, args) -> Optional[List[Dict]]:
    """Every planned run that has no result yet and no other process holds: train, then score with
    the recipe's test target. Returns every run's record once all are done; None while other
    processes still train some (the last of them to finish then writes the table)."""
    schedule = chosen_schedule(config, args.results)
    runs = planned_runs(config, args.seeds)
    result = {run: args.results / f"multi30k-{run.name}.json" for run in runs}
    done = [run.name for run in runs if result[run].is_file()]
    if done:
        print(f"done: {', '.join(done)}")
    while True:  # again after training: a run another process gave up meanwhile is free to take
        trained, elsewhere = False, []
        for run in runs:
            if result[run].is_file():
                continue
            run_dir = args.runs / run.model / f"seed{run.seed}"
            with holding(run_dir) as mine:
                if not mine:
                    elsewhere.append(f"{run.name} ({holder(run_dir)})")
                    continue
                if result[run].is_file():  # finished by another process since the check above
                    continue
                train_and_score(config, run, schedule, args, run_dir, result[run])
                trained = True
        if not elsewhere:
            return [json.loads(result[run].read_text()) for run in runs]
        if not trained:
            print(f"{len(elsewhere)} run(s) are being trained by other processes: {', '.join(elsewhere)}; "
                  f"the last of them to finish writes the table")
            return None


def train_and_score(config: Dict, run: Run, schedule: Dict, args, run_dir: Path, result: Path) -> None:
    """Trains ``run`` and writes its result file: the test score with the training record."""
    state = train(config, run, schedule["flags"], args.data, run_dir, args.train_args)
    evaluate.main([str(args.data), str(run_dir), "--dataset", "multi30k", "--model", run.name,
                   "--results", str(args.results), *shlex.split(config["test_args"]),
                   *shlex.split(args.test_args)])
    record = json.loads(result.read_text())
    record.update(state, budget=run.budget, family=run.family, seed=run.seed,
                  base_model=run.model, schedule=schedule["name"])
    result.write_text(json.dumps(record, indent=2) + "\n")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["select", "run"],
                        help="select: choose the schedule on valid; run: train and score every run")
    parser.add_argument("config", type=Path, help="a table config, e.g. examples/multi30k/table.yaml")
    parser.add_argument("--data", type=Path, required=True, help="binarized dataset (data-bin/multi30k)")
    parser.add_argument("--runs", type=Path, required=True, help="checkpoints go under this folder")
    parser.add_argument("--results", type=Path, required=True, help="result files, table and plot")
    parser.add_argument("--seeds", type=int, nargs="+", help="override the config's seeds")
    parser.add_argument("--train-args", default="", help="more fairseq-train flags, e.g. '--cpu'")
    parser.add_argument("--test-args", default="", help="more lsra-evaluate flags, e.g. '--cpu'")
    args = parser.parse_args(argv)
    config = read_table(args.config)
    if args.command == "select":
        select(config, args)
        return 0
    records = run_all(config, args)
    if records is None:
        return 0
    summary = summarize(records)
    for path in write_summary(summary, args.results / "table", shlex.join(["lsra-table", *sys.argv[1:]])):
        print(f"wrote {path}")
    print(f"wrote {plot_table(summary, args.results / 'table.png')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
