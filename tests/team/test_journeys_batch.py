"""Journeys through the team stack from kernels, as ``alice``: a notebook tracked in a real
IPython kernel (its artifacts landing in the S3 bucket behind the server), ``jupyter mlops run``
and a sweep on the process pool, all recording into the authenticated server as alice."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import cli, write_notebook

from .conftest import TeamStack
from .journeys import (
    assert_alices,
    assert_no_secret,
    assert_runs_hold_no_secret,
    bucket_keys,
    check_sweep,
    execute_as,
    outputs_text,
    runs_of,
    swept_project,
)

KERNEL_CELLS = [
    "%load_ext jupyter_mlops",
    "%mlops track start -e team-kernel -n from-kernel --tag team=yes",
    "from sklearn.datasets import load_breast_cancer\n"
    "from sklearn.linear_model import LogisticRegression\n"
    "X, y = load_breast_cancer(return_X_y=True)\n"
    "X = X[:, :5]\n"
    "model = LogisticRegression(max_iter=5000).fit(X, y)",
    "import jupyter_mlops as mlops\nmlops.log(acc=model.score(X, y), solver='lbfgs')",
    "%mlops log x=1.5",
    "%mlops track stop",
]


@pytest.fixture(scope="module")
def root(team_stack: TeamStack, tmp_path_factory: pytest.TempPathFactory):
    yield from swept_project(team_stack, tmp_path_factory.mktemp("batch") / "proj")


@pytest.fixture(scope="module")
def client(team_stack: TeamStack, root: Path):
    """A client on the server, as alice (the environment ``root`` set)."""
    from mlflow import MlflowClient

    return MlflowClient(team_stack.tracking_uri, team_stack.tracking_uri)


def test_a_kernel_tracks_through_the_server_and_the_artifacts_land_in_s3(
    team_stack: TeamStack, root: Path, client
) -> None:
    notebook = write_notebook(root / "analysis.ipynb", KERNEL_CELLS)
    nb = execute_as(team_stack, "alice", notebook)
    assert_no_secret(team_stack, outputs_text(nb))
    assert not (root / ".mlops" / "mlflow.db").exists()  # nothing went to an embedded store

    runs = runs_of(client, "team-kernel")
    (run,) = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    (fit,) = [r for r in runs if r is not run]  # the autologged fit, a child run
    assert run.info.status == "FINISHED" and run.info.run_name == "from-kernel"
    assert 0.8 < run.data.metrics["acc"] <= 1.0 and run.data.metrics["x"] == 1.5
    assert run.data.params["solver"] == "lbfgs" and run.data.tags["team"] == "yes"
    assert_alices([run, fit])
    assert fit.data.tags["mlflow.parentRunId"] == run.info.run_id

    # the notebook's snapshot went through the server's proxy into the artifacts bucket
    assert run.info.artifact_uri.startswith("mlflow-artifacts:")
    paths = {a.path for a in client.list_artifacts(run.info.run_id, "notebook")}
    assert paths == {"notebook/analysis.ipynb", "notebook/cells.py"}
    keys = [k for k in bucket_keys(team_stack, "mlops-artifacts") if run.info.run_id in k]
    assert {k.rsplit("/", 2)[-2] + "/" + k.rsplit("/", 1)[-1] for k in keys} >= paths
    assert all(k.startswith(f"{run.info.experiment_id}/{run.info.run_id}/") for k in keys)


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


def test_a_sweep_on_the_process_pool_records_into_the_server(
    team_stack: TeamStack, root: Path, client
) -> None:
    args = ["sweep", "train.ipynb", "-p", "alpha", "0.5,3", "-e", "team-sweep-pool"]
    out = cli(*args, "--workers", "2", cwd=root, env=team_stack.env("alice"))
    check_sweep(team_stack, client, out, "team-sweep-pool", "2 local processes")


def test_no_batch_run_records_a_password(team_stack: TeamStack, root: Path) -> None:
    assert_runs_hold_no_secret(team_stack)
