"""Several processes logging into one new default store at once lose nothing."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

from tests.conftest import all_runs, client_for, kernel_env

WORKER = textwrap.dedent(
    """
    import sys, time
    import jupyter_mlops as mlops
    start_at = float(sys.argv[1])
    import mlflow  # import before the barrier so the processes really overlap
    while time.time() < start_at:
        time.sleep(0.005)
    with mlops.track(experiment="concurrent", run_name=sys.argv[2], autolog=False):
        for i in range(250):
            mlops.log(value=float(i), step=i)
    """
)


def test_four_processes_250_metrics_each(project: Path) -> None:
    assert not (project / ".mlops").exists()  # the store is created by the racing processes
    script = project / "worker.py"
    script.write_text(WORKER)
    start_at = f"{time.time() + 8:.3f}"
    procs = [
        subprocess.Popen(
            [sys.executable, str(script), start_at, f"w{i}"],
            cwd=project,
            env=kernel_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(4)
    ]
    outputs = [p.communicate(timeout=300) for p in procs]
    for proc, (_, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err
        assert "locked" not in err
    client = client_for(project)
    runs = all_runs(client)
    assert sorted(r.info.run_name for r in runs) == ["w0", "w1", "w2", "w3"]
    total = 0
    for run in runs:
        assert run.info.status == "FINISHED"
        history = client.get_metric_history(run.info.run_id, "value")
        assert sorted(h.step for h in history) == list(range(250))
        total += len(history)
    assert total == 1000
