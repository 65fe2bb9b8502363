"""The same tracking against a real `mlflow server` process over HTTP."""

from __future__ import annotations

from pathlib import Path

import pytest
from mlflow import MlflowClient

import jupyter_mlops as mlops
from tests.conftest import cli, write_notebook


def test_track_against_a_server(project: Path, mlflow_server: str) -> None:
    with mlops.track(experiment="remote", tracking_uri=mlflow_server, autolog=False) as run:
        for step in range(50):
            mlops.log(m=float(step), step=step)
        mlops.log(kind="server")
    client = MlflowClient(mlflow_server, registry_uri=mlflow_server)
    stored = client.get_run(run.run_id)
    assert stored.info.status == "FINISHED"
    assert sorted(m.step for m in client.get_metric_history(run.run_id, "m")) == list(range(50))
    assert stored.data.params == {"kind": "server"}
    assert stored.info.artifact_uri.startswith("mlflow-artifacts:")  # the server decides
    assert not (project / ".mlops").exists()  # nothing written to the embedded store


def test_failed_block_against_a_server(project: Path, mlflow_server: str) -> None:
    with pytest.raises(KeyError), mlops.track(experiment="remote", tracking_uri=mlflow_server):
        raise KeyError("missing column")
    client = MlflowClient(mlflow_server, registry_uri=mlflow_server)
    stored = client.get_run(mlops.runs("remote", tracking_uri=mlflow_server).run_id[0])
    assert stored.info.status == "FAILED"
    text = Path(client.download_artifacts(stored.info.run_id, "error/traceback.txt")).read_text()
    assert "missing column" in text


def test_batch_run_against_a_server_from_env(project: Path, mlflow_server: str) -> None:
    notebook = write_notebook(
        project / "batch_remote.ipynb",
        ["%load_ext jupyter_mlops", "%mlops track start", "%mlops log seen=1", "%mlops track stop"],
    )
    out = cli("run", str(notebook), cwd=project, env={"MLFLOW_TRACKING_URI": mlflow_server})
    assert out.returncode == 0, out.stdout + out.stderr
    client = MlflowClient(mlflow_server, registry_uri=mlflow_server)
    run = client.search_runs([client.get_experiment_by_name("batch_remote").experiment_id])[0]
    assert run.info.status == "FINISHED" and run.data.metrics == {"seen": 1.0}
    names = {a.path for a in client.list_artifacts(run.info.run_id, "notebook")}
    assert {"notebook/batch_remote.ipynb", "notebook/batch_remote.html"} <= names
