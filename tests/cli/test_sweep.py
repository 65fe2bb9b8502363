"""`jupyter mlops sweep` as a user runs it: the console script, a spawned process pool, a real
Dask scheduler and workers, the project's sqlite store."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from tests.conftest import all_runs, cli, free_port, kernel_env, write_notebook

CELLS = [
    "alpha = 0.1",
    "%load_ext jupyter_mlops",
    "import jupyter_mlops as mlops\nmlops.log(score=alpha * 10)",
]
FAILS_AT_ONE = [*CELLS, "if alpha == 1:\n    raise ValueError('bad alpha')"]


def parent_and_children(client) -> tuple:
    runs = all_runs(client)
    (parent,) = [r for r in runs if r.data.tags.get("mlops.runner") == "jupyter-mlops sweep"]
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
    assert len(children) == len(runs) - 1  # nothing else was recorded
    return parent, sorted(children, key=lambda r: float(r.data.params["alpha"]))


def test_grid_runs_as_children_of_one_parent(project: Path, client) -> None:
    write_notebook(project / "train.ipynb", CELLS, tags={0: ["parameters"]})
    out = cli("sweep", "train.ipynb", "-p", "alpha", "0.1,1,10", "--workers", "2", cwd=project)
    assert out.returncode == 0, out.stdout + out.stderr
    parent, children = parent_and_children(client)
    assert [c.data.params["alpha"] for c in children] == ["0.1", "1", "10"]
    assert [c.info.status for c in children] == ["FINISHED"] * 3
    assert [c.data.metrics["score"] for c in children] == [1.0, 10.0, 100.0]
    assert [c.info.run_name for c in children] == [
        "train alpha=0.1",
        "train alpha=1",
        "train alpha=10",
    ]
    assert {c.info.experiment_id for c in children} == {parent.info.experiment_id}
    assert client.get_experiment(parent.info.experiment_id).name == "train"

    assert parent.info.status == "FINISHED" and parent.info.run_name == "train sweep"
    assert parent.data.params == {"sweep.alpha": "[0.1, 1, 10]"}
    tags = parent.data.tags
    assert (tags["mlops.sweep.size"], tags["mlops.sweep.failed"]) == ("3", "0")
    assert tags["mlops.sweep.workers"] == "2 local processes"
    assert "mlops.error" not in tags

    run_id = parent.info.run_id
    summary = json.loads(Path(client.download_artifacts(run_id, "sweep/summary.json")).read_text())
    assert summary["grid"] == {"alpha": [0.1, 1, 10]} and summary["failed"] == 0
    by_run = {c["run_id"]: c for c in summary["children"]}
    assert set(by_run) == {c.info.run_id for c in children}
    assert all(c["status"] == "FINISHED" and c["error"] is None for c in by_run.values())
    table = Path(client.download_artifacts(run_id, "sweep/summary.csv")).read_text()
    rows = list(csv.DictReader(io.StringIO(table)))
    assert [(r["alpha"], r["status"], float(r["score"])) for r in rows] == [
        ("0.1", "FINISHED", 1.0),
        ("1", "FINISHED", 10.0),
        ("10", "FINISHED", 100.0),
    ]

    assert run_id in out.stdout and "FINISHED" in out.stdout
    table_lines = [line.split() for line in out.stdout.splitlines()]
    assert ["alpha", "status", "score", "run"] in table_lines
    assert ["10", "FINISHED", "100", children[2].info.run_id] in table_lines
    assert "3/3" in out.stderr  # the progress bar


def test_a_failing_point_fails_its_child_and_the_parent_only(project: Path, client) -> None:
    write_notebook(project / "train.ipynb", FAILS_AT_ONE, tags={0: ["parameters"]})
    out = cli("sweep", "train.ipynb", "-p", "alpha", "0.1,1,10", "-e", "grid", cwd=project)
    assert out.returncode == 1, out.stdout + out.stderr
    parent, children = parent_and_children(client)
    assert [c.info.status for c in children] == ["FINISHED", "FAILED", "FINISHED"]
    assert children[2].data.metrics["score"] == 100.0  # the others ran to the end
    bad = children[1]
    assert "ValueError: bad alpha" in bad.data.tags["mlops.error"]
    assert client.get_experiment(parent.info.experiment_id).name == "grid"
    assert parent.info.status == "FAILED"
    assert parent.data.tags["mlops.error"] == "1 of 3 runs failed"
    assert parent.data.tags["mlops.sweep.failed"] == "1"
    assert parent.data.tags["mlops.sweep.workers"] == "2 local processes"  # one per CPU here
    # the output names the failing child: its parameters, its run and what went wrong
    (line,) = [line for line in out.stdout.splitlines() if "bad alpha" in line]
    assert "FAILED alpha=1" in line and bad.info.run_id in line
    assert "(1 failed)" in out.stdout and parent.info.run_id in out.stdout


@pytest.fixture
def dask_cluster(project: Path, tmp_path: Path):
    """A real scheduler and two single-threaded workers, from the venv's ``dask`` command."""
    from distributed import Client

    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    dask = str(Path(sys.executable).parent / "dask")
    log = (tmp_path / "dask.log").open("w")
    scratch = str(tmp_path / "dask-workers")
    commands = [
        [dask, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
        [dask, "worker", address, "--nworkers", "2", "--nthreads", "1", "--no-dashboard"],
    ]
    commands[1] += ["--local-directory", scratch]
    procs = []
    try:
        for command in commands:
            procs.append(
                subprocess.Popen(
                    command, cwd=project, env=kernel_env(), stdout=log, stderr=subprocess.STDOUT
                )
            )
        with Client(address, timeout=60, set_as_default=False) as client:
            client.wait_for_workers(2, timeout=60)
        yield address
    finally:
        for proc in reversed(procs):
            _stop_tree(proc.pid)
        log.close()


def _stop_tree(pid: int) -> None:
    try:
        root = psutil.Process(pid)
        tree = [*root.children(recursive=True), root]
    except psutil.NoSuchProcess:
        return
    for proc in tree:
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.terminate()
    _, alive = psutil.wait_procs(tree, timeout=15)
    for proc in alive:
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.kill()


def test_the_grid_on_a_dask_cluster(project: Path, client, dask_cluster: str) -> None:
    write_notebook(project / "train.ipynb", CELLS, tags={0: ["parameters"]})
    out = cli(
        "sweep", "train.ipynb", "-p", "alpha", "0.1,1,10", "--dask", dask_cluster, cwd=project
    )
    assert out.returncode == 0, out.stdout + out.stderr
    parent, children = parent_and_children(client)
    assert [c.data.params["alpha"] for c in children] == ["0.1", "1", "10"]
    assert [c.info.status for c in children] == ["FINISHED"] * 3
    assert [c.data.metrics["score"] for c in children] == [1.0, 10.0, 100.0]
    assert parent.info.status == "FINISHED"
    assert parent.data.tags["mlops.sweep.workers"] == f"Dask cluster at {dask_cluster}"
    # the points ran in the Dask workers' processes, not in the sweeping one
    sweeper_pid = parent.data.tags["mlops.process.pid"]
    assert all(c.data.tags["mlops.process.pid"] != sweeper_pid for c in children)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-p", "not-an-identifier", "1,2"], "parameter name 'not-an-identifier' is not a Python"),
        (["-p", "alpha", " "], "-p alpha: no values given"),
        (["-p", "alpha", "1,,2"], "an empty value in '1,,2'"),
        (["-p", "alpha", "1", "--dask", "tcp://127.0.0.1:{port}"], "cannot reach the Dask"),
    ],
)
def test_mistakes_are_one_line_and_record_nothing(project: Path, args: list, message: str) -> None:
    write_notebook(project / "train.ipynb", CELLS, tags={0: ["parameters"]})
    args = [a.format(port=free_port()) for a in args]
    out = cli("sweep", "train.ipynb", *args, cwd=project)
    assert out.returncode == 2
    assert len(out.stderr.strip().splitlines()) == 1, out.stderr
    assert message in out.stderr and "Traceback" not in out.stderr
    assert not (project / ".mlops").exists()  # refused before the store was touched


def test_ctrl_c_stops_the_workers_and_ends_the_parent_killed(project: Path, client) -> None:
    write_notebook(
        project / "slow.ipynb",
        ["alpha = 0", "import time\ntime.sleep(120)"],
        tags={0: ["parameters"]},
    )
    exe = Path(sys.executable).parent / "jupyter-mlops"
    proc = subprocess.Popen(
        [str(exe), "sweep", "slow.ipynb", "-p", "alpha", "1,2,3,4", "--workers", "2"],
        cwd=project,
        env=kernel_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, as a terminal's foreground job
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        deadline = time.time() + 90
        while True:  # both workers are inside a notebook
            running = [r for r in _runs_or_none(client) if r.info.status == "RUNNING"]
            if len(running) == 3 or time.time() > deadline:
                break
            time.sleep(0.5)
        assert len(running) == 3, "the sweep never got two points running"
        descendants = psutil.Process(proc.pid).children(recursive=True)
        started = time.time()
        os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            _stop_tree(proc.pid)
    assert time.time() - started < 20
    assert proc.returncode == 130, err
    assert "jupyter mlops sweep: interrupted" in err
    parent, children = parent_and_children(client)
    assert parent.info.status == "KILLED"
    assert len(children) == 2  # the points not started never ran
    assert [c.info.status for c in children] == ["KILLED", "KILLED"]
    assert {c.data.tags["mlops.killed_reason"] for c in children} == {"the sweep was interrupted"}
    time.sleep(1)
    assert not [p for p in descendants if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]


def _runs_or_none(client) -> list:
    try:
        return all_runs(client)
    except Exception:  # the sweep has not created the store yet
        return []
