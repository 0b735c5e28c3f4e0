"""``lsra-table`` at tiny size: schedule selection on valid, every run scored, resume, table and plot;
processes sharing one table."""
import json
from contextlib import ExitStack
from pathlib import Path
from types import SimpleNamespace

import yaml

from lsra_fairseq.experiments import table
from lsra_fairseq.experiments.run_lock import holding

from ..conftest import REPO

# One layer each side and two updates: the pipeline, not the models, is under test.
TRAIN_ARGS = "--cpu --max-update 2 --max-tokens 1024 --encoder-layers 1 --decoder-layers 1"
TEST_ARGS = "--cpu --max-len-a 0 --max-len-b 3"


def test_table_selects_runs_resumes_and_plots(small_multi30k, tmp_path):
    config = tmp_path / "table.yaml"
    config.write_text(yaml.safe_dump({
        "train_config": str(REPO / "examples/multi30k/train.yaml"), "seeds": [1],
        "budgets": {"small": {"lite": "lite_demo", "transformer": "transformer_128"}},
        "schedules": {"slow": {"lr": 1e-5, "warmup-updates": 1}, "fast": {"lr": 2e-3, "warmup-updates": 1}},
        "select": {"models": ["lite_demo"]},
        "test_args": "--average-last 3 --beam 2"}))
    runs, results = tmp_path / "runs", tmp_path / "results"
    common = [str(config), "--data", str(small_multi30k), "--runs", str(runs), "--results", str(results),
              "--train-args", TRAIN_ARGS, "--test-args", TEST_ARGS]

    assert table.main(["select", *common]) == 0
    schedule = json.loads((results / "schedule.json").read_text())
    losses = {name: entry["mean"] for name, entry in schedule["valid_loss"].items()}
    assert set(losses) == {"slow", "fast"} and schedule["chosen"] == min(losses, key=losses.get)
    assert losses["fast"] < losses["slow"]  # two updates at lr 2e-3 beat two at 1e-5

    assert table.main(["run", *common]) == 0
    lite, transformer = (results / "multi30k-lite_demo-seed1.json", results / "multi30k-transformer_128-seed1.json")
    for path, family in ((lite, "lite"), (transformer, "transformer")):
        record = json.loads(path.read_text())
        assert record["family"] == family and record["seed"] == 1 and record["schedule"] == schedule["chosen"]
        assert record["updates"] == 2 and record["train_seconds"] > 0 and record["sentences"] == 200
    summary = json.loads((results / "table.json").read_text())
    assert [row["model"] for row in summary["rows"]] == ["lite_demo", "transformer_128"]
    lite_bleu, transformer_bleu = (json.loads(p.read_text())["bleu"] for p in (lite, transformer))
    assert summary["lite_minus_transformer"][0]["bleu_difference"] == round(lite_bleu - transformer_bleu, 2)
    assert "| small | lite | `lite_demo` |" in (results / "table.md").read_text()
    assert (results / "table.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    # An interrupted table: the finished run is kept, the missing one is scored again.
    kept = transformer.stat().st_mtime_ns
    lite.unlink()
    assert table.main(["run", *common]) == 0
    assert lite.is_file() and transformer.stat().st_mtime_ns == kept


def test_processes_share_a_table_each_training_the_runs_no_other_holds(tmp_path, monkeypatch):
    """Training and scoring faked: which runs a process takes, waits for, and leaves to others."""
    config_path = tmp_path / "table.yaml"
    config_path.write_text(yaml.safe_dump({
        "train_config": str(REPO / "examples/multi30k/train.yaml"), "seeds": [1, 2],
        "budgets": {"small": {"lite": "lite_demo", "transformer": "transformer_demo"}},
        "schedules": {"a": {"lr": 1e-3}, "b": {"lr": 2e-3}}, "select": {"models": ["lite_demo"]},
        "test_args": ""}))
    config = table.read_table(config_path)
    args = SimpleNamespace(runs=tmp_path / "runs", results=tmp_path / "results", data=tmp_path, seeds=None,
                           train_args="", test_args="")
    trained = []

    def fake_train(config, run, schedule, data, run_dir, train_args):
        trained.append(str(run_dir.relative_to(args.runs)))
        return {"train_seconds": 1.0, "updates": 2, "best_valid_loss": 3.0 - schedule["lr"] * 100}

    def fake_evaluate(argv):
        name, results = argv[argv.index("--model") + 1], Path(argv[argv.index("--results") + 1])
        (results / f"multi30k-{name}.json").write_text(json.dumps({"bleu": 30.0}))

    monkeypatch.setattr(table, "train", fake_train)
    monkeypatch.setattr(table.evaluate, "main", fake_evaluate)

    # select: a run another process holds is waited for, then read once it is free.
    with ExitStack() as other_process:
        assert other_process.enter_context(holding(args.runs / "select" / "a" / "lite_demo"))
        monkeypatch.setattr(table.time, "sleep", lambda seconds: other_process.close())
        assert table.select(config, args)["chosen"] == "b"
    assert trained == ["select/b/lite_demo", "select/a/lite_demo"]

    # run: the held run is left to its holder, the table to whichever process finishes last.
    trained.clear()
    with holding(args.runs / "transformer_demo" / "seed1") as other_process:
        assert other_process and table.run_all(config, args) is None
    assert trained == ["lite_demo/seed1", "lite_demo/seed2", "transformer_demo/seed2"]
    trained.clear()
    records = table.run_all(config, args)
    assert trained == ["transformer_demo/seed1"] and len(records) == 4
    assert all(r["schedule"] == "b" and r["updates"] == 2 for r in records)
