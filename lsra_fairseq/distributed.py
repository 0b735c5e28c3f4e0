"""fairseq's distributed data parallel training on CPU processes (the gloo backend).

fairseq 0.12 sets up distributed training for GPUs only: it spawns ``min(cuda devices, world
size)`` processes (none on a CPU machine), asserts the world size fits the GPU count, takes the
device id modulo the GPU count under ``torchrun`` (a division by zero), hands PyTorch's DDP a
device id for a model on the CPU, and gathers ``all_gather_list`` through a CUDA buffer. This
module adapts exactly those places for CPU runs, so that

    fairseq-train DATA --user-dir user_dir --cpu --distributed-world-size 2 ...
    torchrun --nproc_per_node 2 $(which fairseq-train) DATA --user-dir user_dir --cpu ...

train with fairseq's own trainer over gloo. A run is a CPU run when it says ``--cpu`` or the
machine has no CUDA; every other run (and every collective on an NCCL group, a model on a GPU)
goes to fairseq's code unchanged. Multi-node CPU runs use ``torchrun`` (its environment variables
carry the ranks); Slurm is left to fairseq, which assumes GPUs.
"""
import functools
import logging
import os
import socket

import torch
import torch.distributed as dist

from .patching import install_once

logger = logging.getLogger(__name__)

CPU_BACKEND = "gloo"
TORCHRUN_VARIABLES = ("MASTER_ADDR", "MASTER_PORT", "WORLD_SIZE", "RANK")


def is_cpu_run(cfg) -> bool:
    return not cfg.common.tpu and (cfg.common.cpu or not torch.cuda.is_available())


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("localhost", 0))
        return probe.getsockname()[1]


def launched_by_torchrun() -> bool:
    return all(name in os.environ for name in TORCHRUN_VARIABLES)


def prepare_cpu_run(cfg) -> bool:
    """Fills fairseq's distributed settings for CPU processes; False when the run is not distributed.

    Under torchrun the environment gives rank and world size (fairseq would read them only when
    --distributed-world-size was also given, and then divide by the GPU count); otherwise the
    processes are spawned on this machine, one per --distributed-world-size.
    """
    setting = cfg.distributed_training
    if setting.distributed_init_method is None:
        if launched_by_torchrun():
            setting.distributed_init_method = "env://"
            setting.distributed_world_size = int(os.environ["WORLD_SIZE"])
            setting.distributed_rank = int(os.environ["RANK"])
            setting.device_id = int(os.environ.get("LOCAL_RANK", 0))
            setting.distributed_no_spawn = True
        elif setting.distributed_world_size > 1:
            port = setting.distributed_port if setting.distributed_port > 0 else free_port()
            setting.distributed_init_method = f"tcp://localhost:{port}"
        else:
            return False
    if setting.distributed_world_size <= 1:
        return False
    if setting.distributed_backend != CPU_BACKEND:
        logger.info(f"CPU processes communicate over {CPU_BACKEND}, not {setting.distributed_backend}")
        setting.distributed_backend = CPU_BACKEND
    return True


def call_main(fairseq_call_main, cfg, main, **kwargs):
    """fairseq's ``call_main``, with CPU processes started as it starts GPU ones."""
    from fairseq.distributed import utils as distributed_utils

    if not is_cpu_run(cfg) or not prepare_cpu_run(cfg):
        return fairseq_call_main(cfg, main, **kwargs)
    setting = cfg.distributed_training
    if setting.distributed_no_spawn:
        return distributed_utils.distributed_main(setting.device_id, main, cfg, kwargs)
    kwargs["start_rank"] = setting.distributed_rank
    setting.distributed_rank = None  # distributed_main numbers the spawned processes
    logger.info(f"spawning {setting.distributed_world_size} CPU processes ({setting.distributed_init_method})")
    torch.multiprocessing.spawn(fn=distributed_utils.distributed_main, args=(main, cfg, kwargs),
                                nprocs=setting.distributed_world_size, join=True)


def all_gather_list(fairseq_all_gather_list, data, group=None, max_size=16384):
    """fairseq's ``all_gather_list`` on a gloo group: pickled objects gathered on the CPU."""
    from fairseq.distributed import utils as distributed_utils

    if group is None:
        group = distributed_utils.get_global_group()
    if not isinstance(group, dist.ProcessGroup) or dist.get_backend(group) != CPU_BACKEND:
        return fairseq_all_gather_list(data, group=group, max_size=max_size)
    from fairseq import utils

    gathered = [None] * dist.get_world_size(group=group)
    dist.all_gather_object(gathered, utils.move_to_cpu(data), group=group)
    return gathered


def data_parallel(torch_ddp, module, device_ids=None, output_device=None, **kwargs):
    """PyTorch's DDP as fairseq builds it, without the device id it passes for a model on the CPU
    (which PyTorch refuses)."""
    if all(p.device.type == "cpu" for p in module.parameters()):
        device_ids = output_device = None
    return torch_ddp(module, device_ids=device_ids, output_device=output_device, **kwargs)


def adapt_fairseq_for_cpu_processes() -> None:
    """Installs the three adaptations: process start, gathering, DDP wrapping. Each is called with
    fairseq's own function first."""
    from fairseq.distributed import utils as distributed_utils
    from fairseq.models import distributed_fairseq_model

    for owner, name, adapted in ((distributed_utils, "call_main", call_main),
                                 (distributed_utils, "all_gather_list", all_gather_list),
                                 (distributed_fairseq_model, "DistributedDataParallel", data_parallel)):
        install_once(owner, name, lambda fairseq_function: functools.partial(adapted, fairseq_function))
