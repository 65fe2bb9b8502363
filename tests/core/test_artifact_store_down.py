"""A tracking server whose artifact store fails (its S3 bucket does not exist): the run still
ends, in seconds, and says in one line which files it could not keep."""

from __future__ import annotations

import time
import warnings
from pathlib import Path

import pytest

import jupyter_mlops as mlops
from jupyter_mlops.core import tags
from tests.conftest import kernel_env, start_moto, stop, write_notebook

from .test_server_down import PROMPT, Server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    """``mlflow server`` whose artifacts go to a bucket of moto's S3 server that was never made."""
    home = tmp_path_factory.mktemp("artifacts-down")
    s3, moto = start_moto(home)
    found = Server(home)
    found.artifacts = "s3://no-such-bucket/mlflow"
    found.env = {
        **kernel_env(),
        "MLFLOW_S3_ENDPOINT_URL": s3,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    found.start()
    yield found
    found.stop()
    stop(moto)


def test_a_run_ends_in_seconds_and_says_which_files_it_could_not_keep(
    server: Server, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlflow import MlflowClient

    monkeypatch.setenv("MLFLOW_TRACKING_URI", server.url)
    notebook = write_notebook(project / "train.ipynb", ["x = 1"])
    run = mlops.start_run(experiment="artifacts-down", run_name="fit")
    run.notebook = notebook  # as a kernel's run knows its notebook
    mlops.log(auc=0.91)
    started = time.monotonic()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        mlops.end_run()
    took = time.monotonic() - started
    assert took < PROMPT, f"ending took {took:.0f} s: MLflow's minutes of retries were not bounded"
    lines = [str(w.message) for w in caught if "could not store them" in str(w.message)]
    assert len(lines) == 1 and "\n" not in lines[0], [str(w.message) for w in caught]
    start = "run 'fit' ends without its error and notebook files: the tracking server "
    assert lines[0].startswith(f"{start}{server.url} could not store them (")
    got = MlflowClient(server.url).get_run(run.run_id)
    assert got.info.status == "FINISHED"
    assert got.data.metrics["auc"] == 0.91
    assert got.data.tags[tags.ARTIFACTS_ERROR] == lines[0]
