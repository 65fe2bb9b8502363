"""What the team tier's journey files share: alice's project (a git repository whose store is
the stack's server), a kernel that carries a user's credentials, the stack's secrets, and the
moto bucket's keys."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import nbformat
import pytest

from tests.conftest import ENV_VARS, git, kernel_env

from .conftest import PASSWORDS, TeamStack

DVC = str(Path(sys.executable).parent / "dvc")


def alice_project(stack: TeamStack, root: Path) -> Iterator[Path]:
    """``root`` as a fresh git repository and the working directory, this process being
    ``alice`` on the stack, for the module that uses it; runs left open are ended."""
    root.mkdir(parents=True, exist_ok=True)
    git(root, "init", "-q")
    (root / "README.md").write_text("team journeys\n")
    git(root, "add", "README.md")
    git(root, "commit", "-q", "-m", "init")
    with pytest.MonkeyPatch.context() as patch:
        for name in ENV_VARS:
            patch.delenv(name, raising=False)
        stack.use(patch, "alice")
        patch.chdir(root)
        yield root
        from jupyter_mlops.core import tracking

        for run in reversed(list(tracking.session.stack)):
            tracking.end_run("KILLED", run=run, log_notebook=False)
        tracking.session.user_ns = None


def user_env(stack: TeamStack, user: str, notebook: Path | None = None) -> dict[str, str]:
    """A child process's environment as ``user``'s shell holds it (``kernel_env`` drops
    MLflow's variables from this process's; the stack's come back in)."""
    return {**kernel_env(notebook), **stack.env(user)}


def execute_as(stack: TeamStack, user: str, path: Path) -> nbformat.NotebookNode:
    """Execute a notebook in a real kernel as Jupyter would, ``user``'s credentials in its
    environment."""
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    NotebookClient(
        nb,
        kernel_name="python3",
        timeout=300,
        resources={"metadata": {"path": str(path.parent)}},
    ).execute(env=user_env(stack, user, path))
    return nb


def outputs_text(nb: nbformat.NotebookNode) -> str:
    """Everything the notebook's cells showed, as one text."""
    parts = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            parts.append(str(output.get("text", "")))
            parts.extend(str(v) for v in output.get("data", {}).values())
            parts.extend([str(output.get("evalue", "")), *output.get("traceback", [])])
    return "\n".join(parts)


def secrets(stack: TeamStack) -> list[str]:
    """Every password of the stack: the users', the admin's, PostgreSQL's."""
    return [*PASSWORDS.values(), stack.admin[1], urlsplit(stack.pg_uri).password or ""]


def assert_no_secret(stack: TeamStack, *texts: str) -> None:
    found = [s for s in secrets(stack) if any(s in text for text in texts)]
    assert found == [], "a password of the stack was shown or recorded"


def assert_runs_hold_no_secret(stack: TeamStack) -> None:
    """No run on the server holds a password in its params or tags (read as the admin)."""
    from mlflow import MlflowClient
    from mlflow.entities import ViewType

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLFLOW_TRACKING_USERNAME", stack.admin[0])
        patch.setenv("MLFLOW_TRACKING_PASSWORD", stack.admin[1])
        client = MlflowClient(stack.tracking_uri, stack.tracking_uri)
        ids = [e.experiment_id for e in client.search_experiments(view_type=ViewType.ALL)]
        runs = client.search_runs(ids, max_results=5000, run_view_type=ViewType.ALL)
    assert runs
    texts = [f"{r.data.params} {r.data.tags}" for r in runs]
    assert_no_secret(stack, *texts)


def bucket_keys(stack: TeamStack, bucket: str) -> list[str]:
    """Every object key in a bucket of the stack's S3-compatible store."""
    import boto3

    s3 = boto3.client(
        "s3",
        endpoint_url=stack.s3_endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="us-east-1",
    )
    keys: list[str] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        keys += [o["Key"] for o in page.get("Contents", [])]
    return keys


def dvc(root: Path, stack: TeamStack, *args: str) -> None:
    """The DVC command line, as alice configures a remote."""
    subprocess.run(
        [DVC, *args], cwd=root, check=True, capture_output=True, env=user_env(stack, "alice")
    )


def runs_of(client, experiment: str) -> list:
    """Every run of an experiment on the server."""
    found = client.get_experiment_by_name(experiment)
    assert found is not None, f"no experiment {experiment!r} on the server"
    return client.search_runs([found.experiment_id], max_results=1000)


def assert_alices(runs: list) -> None:
    """Each run was recorded as alice, the user the server authenticated."""
    assert runs and all(r.data.tags["mlflow.user"] == "alice" for r in runs)
    assert all(r.info.user_id == "alice" for r in runs)


def sweep_runs(client, experiment: str) -> tuple:
    """(the sweep's parent run, its children by alpha), nothing else in the experiment."""
    runs = runs_of(client, experiment)
    (parent,) = [r for r in runs if r.data.tags.get("mlops.runner") == "jupyter-mlops sweep"]
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
    assert len(children) == len(runs) - 1  # nothing else was recorded
    assert_alices(runs)
    return parent, sorted(children, key=lambda r: float(r.data.params["alpha"]))


def check_sweep(stack: TeamStack, client, out, experiment: str, workers: str) -> None:
    """A two-point sweep of ``alpha`` in 0.5,3 went through, as alice, on ``workers``."""
    assert out.returncode == 0, out.stdout + out.stderr
    assert_no_secret(stack, out.stdout, out.stderr)
    parent, children = sweep_runs(client, experiment)
    assert parent.info.status == "FINISHED"
    assert parent.data.tags["mlops.sweep.workers"] == workers
    assert [c.info.status for c in children] == ["FINISHED", "FINISHED"]
    assert [c.data.metrics["score"] for c in children] == [5.0, 30.0]
    assert [c.data.params["kind"] for c in children] == ["grid", "grid"]
    # the points ran in processes of their own (the pool's or the Dask workers')
    sweeper = parent.data.tags["mlops.process.pid"]
    assert all(c.data.tags["mlops.process.pid"] != sweeper for c in children)


# a notebook with a parameters cell, for `jupyter mlops run` and sweeps
SWEPT_CELLS = [
    "alpha = 0.1",
    "%load_ext jupyter_mlops",
    "import jupyter_mlops as mlops\nmlops.log(score=alpha * 10, kind='grid')",
]


def swept_project(stack: TeamStack, root: Path) -> Iterator[Path]:
    """``alice_project`` holding ``train.ipynb`` (``SWEPT_CELLS``)."""
    from tests.conftest import write_notebook

    for project in alice_project(stack, root):
        write_notebook(project / "train.ipynb", SWEPT_CELLS, tags={0: ["parameters"]})
        yield project
