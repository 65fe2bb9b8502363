"""Unattended journeys through the team stack, as ``alice``: ``jupyter mlops run``, a sweep on
the process pool and on a real Dask scheduler with two workers, and segments fitted on Dask,
all recording into the authenticated server (parent and child runs, user alice)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from sklearn.linear_model import Ridge

import jupyter_mlops as mlops
from tests.cli.test_sweep import _stop_tree
from tests.conftest import cli, free_port, write_notebook
from tests.core.test_segments import stores

from .conftest import TeamStack
from .journeys import alice_project, assert_no_secret, assert_runs_hold_no_secret, user_env

CELLS = [
    "alpha = 0.1",
    "%load_ext jupyter_mlops",
    "import jupyter_mlops as mlops\nmlops.log(score=alpha * 10, kind='grid')",
]


@pytest.fixture(scope="module")
def root(team_stack: TeamStack, tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("batch") / "proj"
    for project in alice_project(team_stack, root):
        write_notebook(project / "train.ipynb", CELLS, tags={0: ["parameters"]})
        yield project


@pytest.fixture(scope="module")
def client(team_stack: TeamStack, root: Path):
    from mlflow import MlflowClient

    return MlflowClient(team_stack.tracking_uri)


@pytest.fixture(scope="module")
def dask_cluster(team_stack: TeamStack, root: Path, tmp_path_factory: pytest.TempPathFactory):
    """A real scheduler and two single-threaded workers, started from alice's shell (so the
    kernels her points run in carry her credentials, not the sweeping process's)."""
    from distributed import Client

    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    dask = str(Path(sys.executable).parent / "dask")
    home = tmp_path_factory.mktemp("dask")
    log = (home / "dask.log").open("w")
    commands = [
        [dask, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
        [dask, "worker", address, "--nworkers", "2", "--nthreads", "1", "--no-dashboard"],
    ]
    commands[1] += ["--local-directory", str(home / "workers")]
    procs = []
    try:
        for command in commands:
            procs.append(
                subprocess.Popen(
                    command,
                    cwd=root,
                    env=user_env(team_stack, "alice"),
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
        with Client(address, timeout=60, set_as_default=False) as dask_client:
            dask_client.wait_for_workers(2, timeout=60)
        yield address
    finally:
        for proc in reversed(procs):
            _stop_tree(proc.pid)
        log.close()


def runs_of(client, experiment: str) -> list:
    found = client.get_experiment_by_name(experiment)
    assert found is not None, f"no experiment {experiment!r} on the server"
    return client.search_runs([found.experiment_id], max_results=1000)


def assert_alices(runs: list) -> None:
    assert runs and all(r.data.tags["mlflow.user"] == "alice" for r in runs)
    assert all(r.info.user_id == "alice" for r in runs)


def test_a_batch_run_records_into_the_server(team_stack: TeamStack, root: Path, client) -> None:
    out = cli(
        "run", "train.ipynb", "-p", "alpha", "2", "-e", "team-batch", cwd=root,
        env=team_stack.env("alice"),
    )  # fmt: skip
    assert out.returncode == 0, out.stdout + out.stderr
    assert_no_secret(team_stack, out.stdout, out.stderr)
    (run,) = runs_of(client, "team-batch")
    assert run.info.status == "FINISHED"
    assert run.data.metrics["score"] == 20.0 and run.data.params["alpha"] == "2"
    assert run.data.tags["mlops.runner"] == "jupyter-mlops run"
    assert_alices([run])
    assert run.info.run_id in out.stdout
    assert not (root / ".mlops" / "mlflow.db").exists()


def sweep_runs(client, experiment: str) -> tuple:
    runs = runs_of(client, experiment)
    (parent,) = [r for r in runs if r.data.tags.get("mlops.runner") == "jupyter-mlops sweep"]
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
    assert len(children) == len(runs) - 1  # nothing else was recorded
    assert_alices(runs)
    return parent, sorted(children, key=lambda r: float(r.data.params["alpha"]))


@pytest.mark.parametrize("where", ["pool", "dask"])
def test_a_sweep_records_parent_and_children_into_the_server(
    team_stack: TeamStack, root: Path, client, where: str, request
) -> None:
    experiment = f"team-sweep-{where}"
    if where == "pool":
        workers, expected = ["--workers", "2"], "2 local processes"
    else:
        address = request.getfixturevalue("dask_cluster")
        workers, expected = ["--dask", address], f"Dask cluster at {address}"
    args = ["sweep", "train.ipynb", "-p", "alpha", "0.5,3", "-e", experiment, *workers]
    out = cli(*args, cwd=root, env=team_stack.env("alice"))
    assert out.returncode == 0, out.stdout + out.stderr
    assert_no_secret(team_stack, out.stdout, out.stderr)
    parent, children = sweep_runs(client, experiment)
    assert parent.info.status == "FINISHED"
    assert parent.data.tags["mlops.sweep.workers"] == expected
    assert [c.info.status for c in children] == ["FINISHED", "FINISHED"]
    assert [c.data.metrics["score"] for c in children] == [5.0, 30.0]
    assert [c.data.params["kind"] for c in children] == ["grid", "grid"]
    # the points ran in processes of their own (the pool's or the Dask workers')
    sweeper = parent.data.tags["mlops.process.pid"]
    assert all(c.data.tags["mlops.process.pid"] != sweeper for c in children)


def test_segments_fitted_on_dask_become_child_runs_on_the_server(
    team_stack: TeamStack, root: Path, client, dask_cluster: str
) -> None:
    frame = stores(n=4, rows=40)
    with mlops.track(experiment="team-segments", run_name="stores", autolog=False) as run:
        family = mlops.fit_segments(frame, "store", "sales", Ridge(), dask=dask_cluster, cv=2)
    assert family.backend_ == f"Dask cluster at {dask_cluster}"
    runs = runs_of(client, "team-segments")
    (parent,) = [r for r in runs if r.info.run_id == run.run_id]
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == run.run_id]
    assert parent.info.status == "FINISHED"
    assert len(children) == len(family.models) == 4
    assert all(c.info.status == "FINISHED" for c in children)
    assert_alices([parent, *children])


def test_no_batch_run_records_a_password(team_stack: TeamStack, root: Path) -> None:
    assert_runs_hold_no_secret(team_stack)
