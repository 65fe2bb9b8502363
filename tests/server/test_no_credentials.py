"""Issue 16: credentials in a git remote, a DVC remote or the tracking URI are never recorded in
the store, written into a model card, answered by the REST API or printed by status.

One project, as a user would have it: an origin carrying a token, a DVC remote carrying a
password and a signature, a real ``mlflow server`` reached through a URI with a user and token.
A run is tracked (with a DVC input) and a model promoted; then every place is searched.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import cli, git

GIT_TOKEN, SECRET2 = "TOKEN0git7", "SECRET2q"
DVC_PASSWORD, DVC_SIG = "DVCPASS3x", "SIG4dvcx"
TRACKING_TOKEN = "TRACK5tok"
SECRETS = (GIT_TOKEN, SECRET2, DVC_PASSWORD, DVC_SIG, TRACKING_TOKEN)
ORIGIN = f"https://user:{GIT_TOKEN}@git.example/org/repo.git?access_token={SECRET2}"
DVC_REMOTE = f"https://dvcuser:{DVC_PASSWORD}@dvc.example/store?sig={DVC_SIG}&sv=2024"


def assert_clean(where: str, value: Any) -> None:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    leaked = [s for s in SECRETS if s in text]
    assert not leaked, f"{where} shows {leaked}: {text[:2000]}"


async def get(jp_fetch, *parts: str, **params: str) -> Any:
    response = await jp_fetch("mlops", "api", *parts, params=params or None, method="GET")
    assert response.code == 200
    return json.loads(response.body)


async def test_no_credentials_in_store_card_rest_or_status(
    jp_fetch, seeded, mlflow_server: str, _shell, capfd, monkeypatch
) -> None:
    import mlflow
    import pandas as pd
    from mlflow import MlflowClient
    from sklearn.linear_model import LinearRegression

    import jupyter_mlops as mlops
    from jupyter_mlops.core import tracking

    root: Path = seeded["root"]
    git(root, "remote", "add", "origin", ORIGIN)
    dvc = str(Path(sys.executable).parent / "dvc")
    subprocess.run([dvc, "init", "-q"], cwd=root, check=True)
    subprocess.run([dvc, "remote", "add", "-d", "shared", DVC_REMOTE], cwd=root, check=True)
    scheme, rest = mlflow_server.split("://")
    tracking_uri = f"{scheme}://mlops:{TRACKING_TOKEN}@{rest}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", tracking_uri)
    monkeypatch.chdir(root)
    try:
        with mlops.track(experiment="leaks", run_name="fit", autolog=False) as run:
            mlops.data.add("data.csv")
            mlops.log(alpha=0.1)
            X = pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]})
            y = 2 * X["x"] + 1
            promoted = mlops.promote(LinearRegression().fit(X, y), name="leaky", X=X, y=y)
        # the magic and the CLI status, as a user runs them
        tracking.session.user_ns = _shell.user_ns
        capfd.readouterr()
        assert _shell.run_cell("%mlops status").success
        magic_out = capfd.readouterr().out
    finally:
        tracking.session.user_ns = None
        mlflow.set_tracking_uri(None)  # which also drops MLFLOW_TRACKING_URI when it was set
    monkeypatch.setenv("MLFLOW_TRACKING_URI", tracking_uri)  # the server resolves it below
    assert "127.0.0.1" in magic_out  # the store is shown, without its user and token
    assert_clean("%mlops status", magic_out)
    out = cli("status", cwd=root, env={"MLFLOW_TRACKING_URI": tracking_uri})
    assert out.returncode == 0 and "127.0.0.1" in out.stdout, out.stdout + out.stderr
    assert_clean("jupyter mlops status", out.stdout + out.stderr)
    assert_clean("the run card", run._repr_html_() + repr(run))

    # the store: every run's tags, params and inputs (the promotion's own runs too)
    client = MlflowClient(mlflow_server, registry_uri=mlflow_server)
    experiment = client.get_experiment_by_name("leaks").experiment_id
    stored = client.search_runs([experiment])
    assert stored
    for found in stored:
        inputs = [(d.dataset.name, d.dataset.source) for d in found.inputs.dataset_inputs]
        assert_clean(f"run {found.info.run_name}", [found.data.tags, found.data.params, inputs])
    fit = client.get_run(run.run_id)
    assert fit.data.tags["mlflow.source.git.repoURL"] == "https://git.example/org/repo.git"
    (source,) = [json.loads(d.dataset.source) for d in fit.inputs.dataset_inputs]
    assert source["remote"] == "https://dvc.example/store?sv=2024"

    # the card that travels with the model
    mv = client.get_model_version("leaky", str(promoted.version))
    card = Path(
        mlflow.artifacts.download_artifacts(
            f"models:/leaky/{mv.version}/MODEL_CARD.md", tracking_uri=mlflow_server
        )
    ).read_text()
    assert "https://git.example/org/repo.git" in card and "dvc.example/store" in card
    assert_clean("MODEL_CARD.md", card)

    # the REST API the panel reads (the server resolves the same environment)
    status = await get(jp_fetch, "status")
    assert status["tracking_uri"] == mlflow_server
    answers = {"status": status, "data": await get(jp_fetch, "data")}
    answers["runs"] = await get(jp_fetch, "runs", experiment_id=experiment)
    for row in answers["runs"]["runs"]:
        answers[row["run_id"]] = await get(jp_fetch, "runs", row["run_id"])
    answers["card"] = await get(jp_fetch, "models", "leaky", "versions", str(mv.version), "card")
    answers["models"] = await get(jp_fetch, "models")
    assert answers[run.run_id]["tags"]["mlflow.source.git.repoURL"].endswith("/org/repo.git")
    assert "dvc.example/store" in answers[run.run_id]["inputs"][0]["source"]
    for name, answer in answers.items():
        assert_clean(f"GET {name}", answer)


@pytest.mark.parametrize(
    ("tag", "stored"),
    [
        ("mlflow.source.git.repoURL", f"https://u:{GIT_TOKEN}@h/r.git?private_token={SECRET2}"),
        ("note", f"pushed to s3://b/k?X-Amz-Signature={DVC_SIG}&X-Amz-Credential={DVC_PASSWORD}"),
    ],
)
async def test_runs_recorded_elsewhere_are_shown_without_credentials(
    jp_fetch, seeded, mlflow_client, tag: str, stored: str
) -> None:
    # a shared store holds runs that older versions or other tools wrote: shown, not leaked
    run_id = seeded["run_id"]
    mlflow_client.set_tag(run_id, tag, stored)
    mlflow_client.log_param(run_id, f"url_{tag}", stored)
    detail = await get(jp_fetch, "runs", run_id)
    assert detail["tags"][tag].startswith(("https://h/r.git", "pushed to s3://b/k"))
    assert_clean("GET run", detail)
    rows = await get(jp_fetch, "runs", experiment_id=seeded["experiments"]["churn"])
    assert_clean("GET runs", rows)
