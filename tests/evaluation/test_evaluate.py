"""Which checkpoint the test target scores."""
from lsra_fairseq.evaluation.evaluate import choose_checkpoint


def test_a_run_stopped_within_its_first_epoch_is_tested_on_its_last_checkpoint(tmp_path, capsys):
    (tmp_path / "checkpoint_last.pt").touch()
    assert choose_checkpoint(tmp_path, 3) == {"checkpoint": str(tmp_path / "checkpoint_last.pt")}
    assert "no epoch checkpoint" in capsys.readouterr().out


def test_without_averaging_the_best_checkpoint_is_tested(tmp_path):
    assert choose_checkpoint(tmp_path, 0) == {"checkpoint": str(tmp_path / "checkpoint_best.pt")}
