"""Run locks: one holder at a time, released however the holder ends, never stale."""
import subprocess
import sys
import time

from lsra_fairseq.experiments.run_lock import holder, holding

HOLD_IN_ANOTHER_PROCESS = """
import sys, time
from pathlib import Path
from lsra_fairseq.experiments.run_lock import holding
with holding(Path(sys.argv[1])) as mine:
    print("held" if mine else "refused", flush=True)
    time.sleep(60)
"""


def test_a_run_has_one_holder_at_a_time(tmp_path):
    run_dir = tmp_path / "lite" / "seed1"
    with holding(run_dir) as first:
        with holding(run_dir) as second:
            assert first and not second
    with holding(run_dir) as again:
        assert again


def test_a_lock_goes_with_its_process_however_it_ends(tmp_path):
    run_dir = tmp_path / "run"
    other = subprocess.Popen([sys.executable, "-c", HOLD_IN_ANOTHER_PROCESS, str(run_dir)],
                             stdout=subprocess.PIPE, text=True)
    try:
        assert other.stdout.readline().strip() == "held"
        with holding(run_dir) as mine:
            assert not mine
        assert holder(run_dir) == f"process {other.pid}"
    finally:
        other.kill()  # no clean-up code runs: the kernel drops the lock
        other.wait()
    deadline = time.time() + 10
    while True:
        with holding(run_dir) as mine:
            if mine or time.time() > deadline:
                break
        time.sleep(0.1)
    assert mine
