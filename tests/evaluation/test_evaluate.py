"""lsra-evaluate: which checkpoint it scores, the error when there is none, and how the dataset
picks the metric and its options."""
import pytest

from lsra_fairseq.evaluation import evaluate
from lsra_fairseq.evaluation.evaluate import choose_checkpoint, generate


def test_a_run_stopped_within_its_first_epoch_is_tested_on_its_last_checkpoint(tmp_path, capsys):
    (tmp_path / "checkpoint_last.pt").touch()
    assert choose_checkpoint(tmp_path, 3) == {"checkpoint": str(tmp_path / "checkpoint_last.pt")}
    assert "no epoch checkpoint" in capsys.readouterr().out


def test_without_averaging_the_best_checkpoint_is_tested(tmp_path):
    (tmp_path / "checkpoint_best.pt").touch()
    assert choose_checkpoint(tmp_path, 0) == {"checkpoint": str(tmp_path / "checkpoint_best.pt")}


@pytest.mark.parametrize("average_last", [0, 3])
def test_a_run_that_was_never_trained_is_named_with_the_fix(tmp_path, average_last):
    with pytest.raises(SystemExit, match=r"no checkpoint at .*missing.*train the model first"):
        choose_checkpoint(tmp_path / "missing", average_last)


def test_a_failed_generate_stops_with_its_exit_status(tmp_path):
    (tmp_path / "checkpoint_best.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(SystemExit, match="fairseq-generate failed with exit status [1-9]"):
        generate(tmp_path / "no-data", str(tmp_path / "checkpoint_best.pt"), tmp_path / "generate-test.txt",
                 "test", 4, 1.0, 8, ["--cpu"])


@pytest.mark.parametrize("dataset, scoring", [
    ("iwslt14", evaluate.TRANSLATION), ("my-corpus", evaluate.TRANSLATION),
    ("cnndm", evaluate.SCORINGS["cnndm"]), ("wikitext103", evaluate.SCORINGS["wikitext103"]),
    ("wikitext-103", evaluate.SCORINGS["wikitext103"])])
def test_the_dataset_picks_the_metric_and_its_options(dataset, scoring):
    chosen, args, extra = evaluate.parse_arguments(["data", "run", "--dataset", dataset, "--model", "m",
                                                    "--cpu", "--max-len-b", "3"])
    assert chosen is scoring and args.dataset == dataset.replace("-103", "103")
    assert extra == ["--cpu", "--max-len-b", "3"]  # left for fairseq
    if scoring is evaluate.SCORINGS["wikitext103"]:
        assert (args.subsets, args.context_window, args.tokens_per_sample) == (["valid", "test"], 2560, 3072)
        assert not hasattr(args, "beam")
    else:
        assert (args.subset, args.beam, args.lenpen, args.batch_size) == ("test", 4, 1.0, None)
        assert hasattr(args, "compound_split") == (scoring is evaluate.TRANSLATION)


def test_translation_options_are_fairseq_flags_for_a_language_model():
    _, args, extra = evaluate.parse_arguments(["data", "run", "--dataset", "wikitext103", "--model", "m",
                                               "--beam", "4", "--max-tokens", "64"])
    assert extra == ["--beam", "4"] and args.max_tokens == 64


def test_a_context_window_that_fills_the_block_is_refused(tmp_path):
    with pytest.raises(SystemExit, match="--context-window 64 must be below --tokens-per-sample 64"):
        evaluate.main([str(tmp_path), str(tmp_path), "--dataset", "wikitext103", "--model", "m",
                       "--context-window", "64", "--tokens-per-sample", "64"])
