"""Exact resume: fairseq-train killed with SIGKILL in the middle of an epoch resumes from
checkpoint_last.pt (written every few updates by --save-interval-updates) and ends with the
parameters of a run that was never interrupted; the same seed gives the same loss curve.

Dropout stays on: fairseq seeds every update with seed + update number, so a resumed run draws
the same masks. The killed run is given a larger --max-update so that it is surely still
training when it is killed (the inverse-sqrt schedule does not depend on it).
"""
import os
import re
import signal
import subprocess

import pytest

from lsra_fairseq.commands import fairseq_command

from ..tiny_runs import (LABEL_SMOOTHING, TINY_LSRA, TRAINING, max_difference, parameters, run_train,
                         translation_data, update_losses)

MAX_UPDATE = 16
RUN = [*TINY_LSRA, *TRAINING, *LABEL_SMOOTHING, "--task", "translation", "--dropout", "0.1",
       "--max-tokens", "200", "--save-interval-updates", "3", "--no-epoch-checkpoints"]
ONE_THREAD = {**os.environ, "OMP_NUM_THREADS": "1"}  # the same arithmetic in every run


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return translation_data(tmp_path_factory.mktemp("resume") / "data")


def train_until_killed(data, save_dir, after_update):
    """Runs fairseq-train and SIGKILLs it once it has logged ``after_update`` updates."""
    command = fairseq_command("train", data, *RUN, "--max-update", "1000", "--save-dir", save_dir)
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               env=ONE_THREAD)
    log = []
    try:
        for line in process.stdout:
            log.append(line)
            if len(update_losses(line)) and int(re.search(r"num_updates=(\d+)", line).group(1)) >= after_update:
                process.send_signal(signal.SIGKILL)
                break
    finally:
        process.kill()
        process.wait(timeout=60)
    assert process.returncode == -signal.SIGKILL, "".join(log)[-3000:]
    return "".join(log)


@pytest.mark.slow
def test_killed_run_resumes_to_the_parameters_of_an_uninterrupted_one(data, tmp_path):
    # 96 pairs make 5 batches of at most 200 tokens: an epoch is 5 updates, saves every 3. The
    # uninterrupted run goes on meanwhile.
    reference_run = subprocess.Popen(
        fairseq_command("train", data, *RUN, "--max-update", str(MAX_UPDATE), "--save-dir", tmp_path / "reference"),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=ONE_THREAD)
    killed_log = train_until_killed(data, tmp_path / "killed", after_update=8)
    reference_log = reference_run.communicate(timeout=600)[0]
    assert reference_run.returncode == 0, reference_log[-3000:]
    reference_losses = update_losses(reference_log)
    assert len(reference_losses) == MAX_UPDATE

    killed_losses = update_losses(killed_log)
    # the same seed, the same loss curve
    assert killed_losses == reference_losses[:len(killed_losses)]

    resumed = run_train(data, tmp_path / "killed", *RUN, "--max-update", str(MAX_UPDATE), env=ONE_THREAD)
    loaded = re.search(r"Loaded checkpoint \S+checkpoint_last\.pt \(epoch (\d+) @ (\d+) updates\)", resumed.stdout)
    assert loaded, resumed.stdout[-3000:]
    epoch, updates = map(int, loaded.groups())
    # mid-epoch of a later epoch (where fairseq alone would cut other batches: lsra_fairseq.resume),
    # and the progress made after that checkpoint was lost
    assert epoch >= 2 and updates % 5 != 0 and updates < len(killed_losses)
    resumed_losses = update_losses(resumed.stdout)
    assert resumed_losses == reference_losses[updates:]
    final = parameters(tmp_path / "killed" / "checkpoint_last.pt")
    assert max_difference(final, parameters(tmp_path / "reference" / "checkpoint_last.pt")) == 0.0
