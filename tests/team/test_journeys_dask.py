"""Journeys through the team stack on a real Dask scheduler with two workers, as ``alice``: a
sweep whose points run in the workers' kernels, and segments fitted there, recording into the
authenticated server (parent and child runs, user alice)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from sklearn.linear_model import Ridge

import jupyter_mlops as mlops
from tests.cli.test_sweep import _stop_tree
from tests.conftest import cli, free_port
from tests.core.test_segments import stores

from .conftest import TeamStack
from .journeys import (
    assert_alices,
    assert_runs_hold_no_secret,
    check_sweep,
    runs_of,
    swept_project,
    user_env,
)


@pytest.fixture(scope="module")
def root(team_stack: TeamStack, tmp_path_factory: pytest.TempPathFactory):
    yield from swept_project(team_stack, tmp_path_factory.mktemp("dask") / "proj")


@pytest.fixture(scope="module")
def client(team_stack: TeamStack, root: Path):
    """A client on the server, as alice (the environment ``root`` set)."""
    from mlflow import MlflowClient

    return MlflowClient(team_stack.tracking_uri, team_stack.tracking_uri)


@pytest.fixture(scope="module")
def dask_cluster(team_stack: TeamStack, root: Path, tmp_path_factory: pytest.TempPathFactory):
    """A real scheduler and two single-threaded workers, started from alice's shell: the
    kernels her points run in carry her own credentials (a sweep never sends them)."""
    from distributed import Client

    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    dask = str(Path(sys.executable).parent / "dask")
    home = tmp_path_factory.mktemp("dask-cluster")
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


def test_a_sweep_on_dask_records_into_the_server(
    team_stack: TeamStack, root: Path, client, dask_cluster: str
) -> None:
    args = ["sweep", "train.ipynb", "-p", "alpha", "0.5,3", "-e", "team-sweep-dask"]
    out = cli(*args, "--dask", dask_cluster, cwd=root, env=team_stack.env("alice"))
    check_sweep(team_stack, client, out, "team-sweep-dask", f"Dask cluster at {dask_cluster}")


def test_segments_fitted_on_dask_become_child_runs_on_the_server(
    team_stack: TeamStack, root: Path, client, dask_cluster: str
) -> None:
    frame = stores(n=2, rows=40)
    with mlops.track(experiment="team-segments", run_name="stores", autolog=False) as run:
        family = mlops.fit_segments(frame, "store", "sales", Ridge(), dask=dask_cluster, cv=2)
    assert family.backend_ == f"Dask cluster at {dask_cluster}"
    runs = runs_of(client, "team-segments")
    (parent,) = [r for r in runs if r.info.run_id == run.run_id]
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == run.run_id]
    assert parent.info.status == "FINISHED"
    assert len(children) == len(family.models) == 2
    assert all(c.info.status == "FINISHED" for c in children)
    assert_alices([parent, *children])


def test_no_run_on_dask_records_a_password(team_stack: TeamStack, root: Path, dask_cluster) -> None:
    assert_runs_hold_no_secret(team_stack)
