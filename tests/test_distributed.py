"""fairseq's distributed data parallel training on CPU processes (``lsra_fairseq.distributed``).

The fast tests check each adaptation in this process (a one-process gloo group): fairseq's own
functions fail there without it. The slow ones (``make test-slow``) train a small LSRA model with
2 gloo processes through fairseq-train, spawned by fairseq or started by torchrun, and compare it
with 1 process and ``--update-freq 2``: an update sees the same batches, so the parameters agree.
"""
import argparse
import sys

import pytest
import torch
import torch.distributed as dist
from omegaconf import OmegaConf

import lsra_fairseq.plugin  # noqa: F401  (installs the adaptations)
from lsra_fairseq import distributed
from lsra_fairseq.builder import DictionaryTask, build_registered_model, parse_model_flags

from .tiny_runs import (LABEL_SMOOTHING, TINY_LSRA, TRAINING, max_difference, parameters, run_train,
                        translation_data, update_losses)

TOLERANCE = 1e-5  # the bound


@pytest.fixture
def gloo_group():
    """A one-process gloo group, as a CPU run of fairseq has it (removed afterwards)."""
    from fairseq.distributed import utils as distributed_utils

    dist.init_process_group("gloo", init_method=f"tcp://localhost:{distributed.free_port()}", rank=0,
                            world_size=1)
    yield distributed_utils.get_global_group()
    if hasattr(distributed_utils.get_global_group, "_global_group"):
        del distributed_utils.get_global_group._global_group
    dist.destroy_process_group()


def test_all_gather_list_on_a_gloo_group_gathers_on_the_cpu(gloo_group):
    from fairseq.distributed import utils as distributed_utils

    data = [{"loss": torch.tensor(2.5), "ntokens": 7}]
    gathered = distributed_utils.all_gather_list(data, group=gloo_group)
    assert gathered == [[{"loss": torch.tensor(2.5), "ntokens": 7}]]
    # fairseq's own needs CUDA for the same call
    fairseq_all_gather_list = distributed_utils.all_gather_list.args[0]
    with pytest.raises((RuntimeError, AssertionError, TypeError)):
        fairseq_all_gather_list(data, group=gloo_group)


def test_pytorch_ddp_wraps_a_model_on_the_cpu(gloo_group):
    from fairseq.models import DistributedFairseqModel

    model = build_registered_model("lite_transformer_base", DictionaryTask(44, joined=True),
                                   **parse_model_flags("lite_transformer_base", TINY_LSRA[2:]))
    args = argparse.Namespace(tpu=False, ddp_backend="pytorch_ddp", device_id=0, broadcast_buffers=False,
                              bucket_cap_mb=25, find_unused_parameters=False, gradient_as_bucket_view=False,
                              ddp_comm_hook="none")
    wrapped = DistributedFairseqModel(args, model, gloo_group, torch.device("cpu"))
    assert isinstance(wrapped.module, torch.nn.parallel.DistributedDataParallel)


def cfg_for(argv):
    from fairseq import options
    from fairseq.dataclass.utils import convert_namespace_to_omegaconf

    args = options.parse_args_and_arch(options.get_training_parser(), ["data", "--task", "translation", *argv])
    cfg = convert_namespace_to_omegaconf(args)
    OmegaConf.set_struct(cfg, False)
    return cfg


def test_torchrun_environment_gives_ranks_without_gpus(monkeypatch):
    monkeypatch.setenv("MASTER_ADDR", "localhost")
    monkeypatch.setenv("MASTER_PORT", "29500")
    monkeypatch.setenv("WORLD_SIZE", "4")
    monkeypatch.setenv("RANK", "3")
    monkeypatch.setenv("LOCAL_RANK", "1")
    cfg = cfg_for(["--arch", "lite_transformer_base", "--cpu"])
    assert distributed.prepare_cpu_run(cfg)
    setting = cfg.distributed_training
    assert (setting.distributed_init_method, setting.distributed_world_size, setting.distributed_rank,
            setting.device_id, setting.distributed_no_spawn, setting.distributed_backend) == (
        "env://", 4, 3, 1, True, "gloo")


def test_single_process_runs_are_left_to_fairseq(monkeypatch):
    for name in distributed.TORCHRUN_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    cfg = cfg_for(["--arch", "lite_transformer_base", "--cpu"])
    assert not distributed.prepare_cpu_run(cfg)
    assert cfg.distributed_training.distributed_init_method is None


def test_gpu_runs_are_left_to_fairseq(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    calls = []
    cfg = cfg_for(["--arch", "lite_transformer_base", "--distributed-world-size", "2"])
    distributed.call_main(lambda *args, **kwargs: calls.append(args), cfg, print)
    assert len(calls) == 1 and cfg.distributed_training.distributed_init_method is None
    assert cfg.distributed_training.distributed_backend == "nccl"


@pytest.fixture(scope="module")
def tiny_translation(tmp_path_factory):
    return translation_data(tmp_path_factory.mktemp("distributed") / "data")


RUN = [*TINY_LSRA, *TRAINING, *LABEL_SMOOTHING, "--task", "translation", "--max-tokens", "200",
       "--max-update", "4", "--no-epoch-checkpoints"]


@pytest.fixture(scope="module")
def one_process(tiny_translation):
    save_dir = tiny_translation.parent / "one-process"
    result = run_train(tiny_translation, save_dir, *RUN, "--update-freq", "2")
    return parameters(save_dir / "checkpoint_last.pt"), update_losses(result.stdout + result.stderr)


TORCHRUN = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port"]


@pytest.mark.slow
@pytest.mark.parametrize("launcher", ["fairseq spawn", "torchrun"])
def test_two_gloo_processes_compute_what_update_freq_2_computes(launcher, tiny_translation, one_process):
    save_dir = tiny_translation.parent / launcher.replace(" ", "-")
    if launcher == "torchrun":
        result = run_train(tiny_translation, save_dir, *RUN, timeout=600,
                           launcher=[*TORCHRUN, str(distributed.free_port())])
    else:
        result = run_train(tiny_translation, save_dir, *RUN, "--distributed-world-size", "2", timeout=600)
    log = result.stdout + result.stderr
    assert "distributed init (rank 1)" in log, log[-3000:]
    ours, losses = parameters(save_dir / "checkpoint_last.pt"), update_losses(log)
    reference, reference_losses = one_process
    assert len(losses) == len(reference_losses) == 4
    assert losses == pytest.approx(reference_losses, abs=2e-3)  # printed with 3 decimals
    assert max_difference(ours, reference) <= TOLERANCE
