"""A real Jupyter server (pytest-jupyter) with the extension loaded, rooted in a seeded project.

The project (git repository, sqlite store with experiments, runs, a metric history and a
registered model) is seeded once per session and copied for each test, so tests may write.
"""

from __future__ import annotations

import math
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from pytest_jupyter.jupyter_server import *  # noqa: F403 - the fixtures, for this folder only

from tests.conftest import ENV_VARS, client_for, git

MANY_RUNS = 250
_LOCATIONS = (
    ("experiments", "artifact_location"),
    ("runs", "artifact_uri"),
    ("model_versions", "source"),
    ("model_versions", "storage_location"),
    ("logged_models", "artifact_location"),
)


def _seed(root: Path) -> dict[str, Any]:
    from mlflow.entities import Metric, Param, RunTag

    from jupyter_mlops.config import resolve_settings
    from jupyter_mlops.core import store

    settings = resolve_settings(root, environ={})  # the project's own store, whatever the env
    store.prepare(settings)
    client = store.client(settings)
    churn = store.experiment_id(settings, "churn")
    many = store.experiment_id(settings, "many")
    store.experiment_id(settings, "empty")

    trained = client.create_run(churn, run_name="lr", tags={"dataset": "churn_v3"})
    rid = trained.info.run_id
    t0 = 1_700_000_000_000
    metrics = [Metric("loss", 1.0 / (step + 1), t0 + step, step) for step in range(10)]
    metrics += [Metric("auc", 0.91, t0, 0), Metric("odd", math.nan, 0, 0)]
    client.log_batch(
        rid,
        metrics=metrics,
        params=[Param("alpha", "0.1"), Param("solver", "lbfgs")],
        tags=[RunTag("mlflow.source.name", "train.ipynb"), RunTag("mlflow.internal", "x")],
    )
    client.log_text(rid, "hello", "notes/readme.txt")
    client.log_text(rid, "{}", "summary.json")
    client.set_terminated(rid)
    other = client.create_run(churn, run_name="rf").info.run_id
    client.log_metric(other, "auc", 0.88)
    client.set_terminated(other)

    for index in range(MANY_RUNS):
        # explicit start times: pages are ordered by start time, ties broken by run id
        client.create_run(many, start_time=t0 + index % 7)

    client.create_registered_model("churn")
    for _ in range(2):
        source = f"{trained.info.artifact_uri}/model"
        client.create_model_version("churn", source=source, run_id=rid)
    client.set_registered_model_alias("churn", "staging", "1")
    return {"experiments": {"churn": churn, "many": many}, "run_id": rid, "other_run_id": other}


@pytest.fixture(scope="session")
def _seeded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    root = tmp_path_factory.mktemp("seed") / "proj"
    root.mkdir()
    git(root, "init", "-q")
    (root / "README.md").write_text("demo\n")
    (root / "data.csv").write_text("a,b\n1,2\n3,4\n")
    git(root, "add", "README.md")
    git(root, "commit", "-q", "-m", "init")
    facts = _seed(root)
    conn = sqlite3.connect(root / ".mlops" / "mlflow.db")
    try:  # everything in the main file, so a copy of the folder is a consistent store
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    return root, facts


@pytest.fixture
def seeded(_seeded, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Facts about the copy of the seeded project the server serves (ids, root)."""
    template, facts = _seeded
    root = tmp_path / "proj"
    shutil.copytree(template, root, symlinks=True)
    # the copy's artifacts are its own: the card route reads only under the served store's
    # artifact root, as a moved project's store would be repointed
    conn = sqlite3.connect(root / ".mlops" / "mlflow.db")
    try:
        with conn:
            for table, column in _LOCATIONS:
                conn.execute(
                    f"UPDATE {table} SET {column} = replace({column}, ?, ?)",
                    (str(template), str(root)),
                )
    finally:
        conn.close()
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    return {**facts, "root": root}


@pytest.fixture
def jp_root_dir(seeded: dict[str, Any]) -> Path:
    return seeded["root"]


@pytest.fixture
def jp_server_config() -> dict[str, Any]:
    return {
        "ServerApp": {
            "jpserver_extensions": {"jupyter_mlops": True, "jupyter_server_terminals": False},
            "allow_unauthenticated_access": False,
        }
    }


@pytest.fixture
def mlflow_client(seeded: dict[str, Any]):
    """A client on the served copy's store, to check what the API wrote."""
    return client_for(seeded["root"])
