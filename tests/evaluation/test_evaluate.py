"""Which checkpoint the test target scores, and the error when there is none."""
import pytest

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
