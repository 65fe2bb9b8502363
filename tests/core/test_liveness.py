"""A run whose process died is marked KILLED by the next tracking call."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import jupyter_mlops as mlops
from jupyter_mlops.core.liveness import owner_alive
from tests.conftest import all_runs, kernel_env

DIES = textwrap.dedent(
    """
    import os, signal
    import jupyter_mlops as mlops
    run = mlops.start_run(experiment="doomed", autolog=False)
    mlops.log(x=1)
    mlops.flush()
    print(run.run_id, flush=True)
    os.kill(os.getpid(), signal.SIGKILL)
    """
)

ENDS_WITHOUT_STOP = textwrap.dedent(
    """
    import jupyter_mlops as mlops
    run = mlops.start_run(experiment="script", autolog=False)
    mlops.log(x=2)
    print(run.run_id, flush=True)
    """
)


def test_sigkilled_process_run_is_killed_by_next_call(project: Path, client) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", DIES], cwd=project, env=kernel_env(), capture_output=True, text=True
    )
    assert proc.returncode == -9
    run_id = proc.stdout.strip()
    assert client.get_run(run_id).info.status == "RUNNING"  # left dangling by the kill
    with mlops.track(experiment="next"):
        pass
    stored = client.get_run(run_id)
    assert stored.info.status == "KILLED"
    assert "is gone" in stored.data.tags["mlops.killed_reason"]
    assert stored.data.metrics["x"] == 1  # data logged before the kill is kept


def test_script_that_exits_with_a_run_open_flushes_and_finishes(project: Path, client) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", ENDS_WITHOUT_STOP],
        cwd=project,
        env=kernel_env(),
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    stored = client.get_run(proc.stdout.strip())
    assert stored.info.status == "FINISHED"
    assert stored.data.metrics["x"] == 2  # queued value flushed at exit
    assert len(all_runs(client)) == 1


def test_live_process_is_not_reaped(project: Path) -> None:
    import os

    import psutil

    me = psutil.Process(os.getpid())
    assert owner_alive(me.pid, me.create_time())
    assert not owner_alive(me.pid, me.create_time() - 100)  # same pid, another process
