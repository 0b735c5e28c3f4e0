"""Checkpoint averaging: the averaged parameters are the mean of the inputs'."""
import pytest
import torch
from fairseq import checkpoint_utils

from lsra_fairseq.evaluation.averaging import average_checkpoints, last_epoch_checkpoints, main


def fake_checkpoint(path, seed):
    """A checkpoint in fairseq's layout (what load_checkpoint_to_cpu reads), with random tensors."""
    generator = torch.Generator().manual_seed(seed)
    state = {"model": {"encoder.w": torch.randn(3, 4, generator=generator),
                       "decoder.b": torch.randn(5, generator=generator).half()},
             "cfg": {"model": {"_name": "lite_transformer"}, "common": {"seed": seed}},
             "optimizer_history": [{"criterion_name": "c", "optimizer_name": "adam",
                                    "lr_scheduler_state": {"best": 1.0}, "num_updates": seed}],
             "extra_state": {"epoch": seed}}
    checkpoint_utils.torch_persistent_save(state, str(path))
    return state["model"]


def test_averaged_parameters_are_the_mean_of_the_inputs(tmp_path):
    models = [fake_checkpoint(tmp_path / f"checkpoint{i}.pt", i) for i in (1, 2, 3)]
    averaged = average_checkpoints([tmp_path / f"checkpoint{i}.pt" for i in (1, 2, 3)])
    for name in models[0]:
        mean = torch.stack([m[name].double() for m in models]).mean(0)
        assert averaged["model"][name].dtype == models[0][name].dtype
        torch.testing.assert_close(averaged["model"][name].double(), mean.to(models[0][name].dtype).double())
    assert averaged["extra_state"]["epoch"] == 3 and isinstance(averaged["cfg"], dict)


def test_last_epoch_checkpoints_are_picked_by_epoch_number(tmp_path):
    for name in ["checkpoint_best.pt", "checkpoint_last.pt", "checkpoint3_900.pt"] + \
            [f"checkpoint{i}.pt" for i in range(1, 13)]:
        (tmp_path / name).touch()
    assert [p.name for p in last_epoch_checkpoints(tmp_path, 10)] == [f"checkpoint{i}.pt" for i in range(3, 13)]
    assert len(last_epoch_checkpoints(tmp_path, 20)) == 12  # all there are, with a note
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError):
        last_epoch_checkpoints(tmp_path / "empty", 1)


def test_command_line_averages_a_run_folder(tmp_path):
    for i in (1, 2, 3):
        fake_checkpoint(tmp_path / f"checkpoint{i}.pt", i)
    assert main(["--inputs", str(tmp_path), "--num-epoch-checkpoints", "2", "--output", str(tmp_path / "avg.pt")]) == 0
    averaged = checkpoint_utils.load_checkpoint_to_cpu(str(tmp_path / "avg.pt"))
    expected = average_checkpoints([tmp_path / "checkpoint2.pt", tmp_path / "checkpoint3.pt"])
    torch.testing.assert_close(averaged["model"]["encoder.w"], expected["model"]["encoder.w"])
