"""The core journeys through the team stack, as ``alice``: version data on the S3 remote and
promote a model trained on it, load it from a fresh clone with nothing but the server's address,
and ``bob`` reading what he may and refused what he may not. (Tracking from a kernel and batch
runs: test_journeys_batch.py; Dask: test_journeys_dask.py; the panel: panel/.)"""

from __future__ import annotations

import pickle
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import jupyter_mlops as mlops
from tests.conftest import git, kernel_env
from tests.core.test_data import md5, wine_csv

from .conftest import TeamStack
from .journeys import (
    alice_project,
    assert_no_secret,
    assert_runs_hold_no_secret,
    bucket_keys,
    dvc,
)

MODEL = "wine-team"


@pytest.fixture(scope="module")
def root(team_stack: TeamStack, tmp_path_factory: pytest.TempPathFactory):
    yield from alice_project(team_stack, tmp_path_factory.mktemp("journeys") / "proj")


@pytest.fixture(scope="module")
def client(team_stack: TeamStack, root: Path):
    """A client on the server, as alice (the environment ``root`` set)."""
    from mlflow import MlflowClient

    return MlflowClient(team_stack.tracking_uri, team_stack.tracking_uri)


@dataclass
class Promoted:
    run_id: str
    csv_md5: str
    X: pd.DataFrame
    predictions: np.ndarray
    version: str


@pytest.fixture(scope="module")
def promoted(team_stack: TeamStack, root: Path) -> Promoted:
    """wine versioned with DVC, pushed to ``s3://mlops-data/journeys`` (the remote named in the
    committed config, the keys in the environment), and a model trained on it promoted."""
    csv = wine_csv(root)
    dvc(root, team_stack, "init", "-q")
    dvc(root, team_stack, "remote", "add", "-d", "team", "s3://mlops-data/journeys")
    dvc(root, team_stack, "remote", "modify", "team", "endpointurl", team_stack.s3_endpoint)
    git(root, "add", ".dvc")
    git(root, "commit", "-qm", "the team's DVC remote")
    from sklearn.linear_model import LogisticRegression

    with mlops.track(experiment="team-wine", run_name="train", autolog=False) as run:
        mlops.data.add("data/x.csv", message="wine v1")
        git(root, "commit", "-qm", "wine v1")
        assert mlops.data.push() == 1
        frame = pd.read_csv(csv)
        X, y = frame.drop(columns="target"), frame["target"]
        model = LogisticRegression(max_iter=5000).fit(X, y)
        mlops.log(acc=model.score(X, y))
        result = mlops.promote(model, MODEL, X=X, y=y, alias="staging")
    return Promoted(run.run_id, md5(csv), X, model.predict(X), str(result.version))


def test_data_pushed_to_s3_and_the_model_promoted_on_the_server(
    team_stack: TeamStack, root: Path, client, promoted: Promoted
) -> None:
    digest = promoted.csv_md5
    keys = bucket_keys(team_stack, "mlops-data")
    assert f"journeys/files/md5/{digest[:2]}/{digest[2:]}" in keys
    assert mlops.data.status().paths == {"data/x.csv": "in sync"}

    run = client.get_run(promoted.run_id)
    assert run.info.status == "FINISHED" and run.data.tags["mlflow.user"] == "alice"
    assert run.data.tags["mlops.data.data/x.csv"] == digest
    assert [i.dataset.digest for i in run.inputs.dataset_inputs] == [digest]

    version = client.get_model_version_by_alias(MODEL, "staging")
    assert version.version == promoted.version and version.run_id == promoted.run_id
    assert version.user_id in ("alice", None, "")  # the server fills it, or leaves it out
    files = [k for k in bucket_keys(team_stack, "mlops-artifacts") if "MLmodel" in k]
    assert files, "the promoted model's files are in the artifacts bucket"


LOAD = """
import pickle, sys
import pandas as pd
import jupyter_mlops as mlops
uri, sample, out = sys.argv[1:4]
model = mlops.load_model(uri)
with open(out, "wb") as f:
    pickle.dump(model.predict(pd.read_pickle(sample)), f)
"""


def test_a_clone_pulls_the_data_and_loads_the_model_with_only_the_server(
    team_stack: TeamStack, root: Path, promoted: Promoted, tmp_path: Path, monkeypatch
) -> None:
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(root), str(clone))
    assert not (clone / "data" / "x.csv").exists()
    monkeypatch.chdir(clone)
    pulled = mlops.data.pull()  # the S3 keys from the environment, the remote from git
    assert pulled
    assert md5(clone / "data" / "x.csv") == promoted.csv_md5

    # a fresh process with the server's address and alice's credentials, and nothing else:
    # no S3 keys (the server proxies the artifacts), no project config
    sample, out = tmp_path / "X.pkl", tmp_path / "out.pkl"
    promoted.X.to_pickle(sample)
    env = {k: v for k, v in kernel_env().items() if not k.startswith(("AWS_", "MLFLOW_S3"))}
    env.update({k: team_stack.env("alice")[k] for k in ("MLFLOW_TRACKING_URI",)})
    env["MLFLOW_TRACKING_USERNAME"] = "alice"
    env["MLFLOW_TRACKING_PASSWORD"] = team_stack.env("alice")["MLFLOW_TRACKING_PASSWORD"]
    done = subprocess.run(
        [sys.executable, "-c", LOAD, f"models:/{MODEL}@staging", str(sample), str(out)],
        cwd=clone,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert_no_secret(team_stack, done.stdout, done.stderr)
    assert np.array_equal(pickle.loads(out.read_bytes()), promoted.predictions)
    assert not (clone / ".mlops" / "mlflow.db").exists()
    assert not (clone / ".mlops").exists() or not any((clone / ".mlops").glob("*.db"))


def test_bob_reads_alices_runs_and_model_but_cannot_log_into_her_experiment(
    team_stack: TeamStack, root: Path, client, promoted: Promoted, monkeypatch, capfd
) -> None:
    from mlflow import MlflowClient

    experiment = client.get_experiment_by_name("team-wine")
    before = client.search_runs([experiment.experiment_id])
    team_stack.use(monkeypatch, "bob")
    as_bob = MlflowClient(team_stack.tracking_uri, team_stack.tracking_uri)
    assert as_bob.get_run(promoted.run_id).data.metrics["acc"] > 0.9
    model = mlops.load_model(f"models:/{MODEL}@staging")
    assert np.array_equal(model.predict(promoted.X), promoted.predictions)

    def log_as_bob() -> None:
        with mlops.track(experiment="team-wine", run_name="bob's", autolog=False):
            mlops.log(acc=0.1)

    with pytest.raises(Exception) as info:
        log_as_bob()
    if isinstance(info.value, mlops.MlopsError):
        assert "\n" not in str(info.value)
    assert mlops.active_run() is None
    monkeypatch.undo()  # alice again, to look
    from jupyter_mlops.core import identity

    identity.forget()
    after = client.search_runs([experiment.experiment_id])
    assert [r.info.run_id for r in after] == [r.info.run_id for r in before]
    shown = capfd.readouterr()
    assert_no_secret(team_stack, shown.out, shown.err, str(info.value))


def test_no_run_on_the_server_records_a_password(team_stack: TeamStack, root: Path) -> None:
    assert_runs_hold_no_secret(team_stack)
