"""Retraining through a real `mlflow server` (acceptance 5): the champion's run, the re-runs,
the challengers, the gate's decisions (passed, then refused), the promotion guard and the
alias history all live on the server, and the project's embedded store is never created."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from mlflow import MlflowClient
from sklearn.linear_model import LogisticRegression

import jupyter_mlops as mlops
from jupyter_mlops.errors import MlopsError
from tests.cli.test_retrain import TRAIN, _frame
from tests.conftest import ENV_VARS, cli, git, write_notebook


def test_retrain_through_a_server_moves_the_alias_and_records_the_history(
    tmp_path: Path, mlflow_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "proj"
    root.mkdir()
    git(root, "init", "-q")
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(root)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server)
    env = {"MLFLOW_TRACKING_URI": mlflow_server}
    name = f"bc-{uuid.uuid4().hex[:6]}"  # the server is shared with other tests
    frame = _frame()
    (root / "data").mkdir()
    frame.iloc[:60].to_csv(root / "data" / "train.csv", index=False)
    frame.iloc[400:].to_csv(root / "holdout.csv", index=False)
    mlops.data.add("data/train.csv")
    write_notebook(
        root / "train.ipynb", [c.replace("'bc'", repr(name)) for c in TRAIN], {0: ["parameters"]}
    )
    git(root, "add", "train.ipynb")
    git(root, "commit", "-q", "-m", "train on data v1")
    out = cli("run", "train.ipynb", cwd=root, env=env)
    assert out.returncode == 0, out.stdout + out.stderr
    mlops.set_alias(name, "champion", 1, reason="first model")
    frame.iloc[100:400].to_csv(root / "data" / "train.csv", index=False)
    mlops.data.add("data/train.csv")
    git(root, "commit", "-q", "-m", "data v2")

    out = cli("retrain", f"{name}@champion", "--eval", "holdout.csv", "--target", "y",
              cwd=root, env=env)  # fmt: skip
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.strip().splitlines()[-1].startswith("gate passed: accuracy: challenger v2 ")
    assert "View run" not in out.stdout  # MLflow's links to the server stay out of the answer
    client = MlflowClient(mlflow_server, registry_uri=mlflow_server)
    assert str(client.get_model_version_by_alias(name, "champion").version) == "2"
    challenger = client.get_model_version(name, "2")
    rerun = client.get_run(challenger.tags["mlops.run_id"])
    assert rerun.data.tags["mlops.runner"] == "jupyter-mlops retrain"
    assert rerun.data.tags["mlops.retrain.of"] == f"models:/{name}/1"
    dvc_md5 = (root / "data" / "train.csv.dvc").read_text().split("md5: ")[1].split()[0]
    assert rerun.data.tags["mlops.data.data/train.csv"] == dvc_md5  # the new data version
    assert json.loads(challenger.tags["mlops.gate.decision"])["result"] == "passed"

    # a parameter that ruins the model: the gate on the server refuses, exit 3, the alias stays
    out = cli("retrain", f"{name}@champion", "-p", "shuffle_labels", "True", "--eval",
              "holdout.csv", "--target", "y", cwd=root, env=env)  # fmt: skip
    assert out.returncode == 3, out.stdout + out.stderr
    line = out.stdout.strip().splitlines()[-1]
    assert line.startswith("gate refused: accuracy: challenger v3 ") and "stays at v2" in line
    assert str(client.get_model_version_by_alias(name, "champion").version) == "2"

    # the promotion guard on the server: a run whose checks failed, refused, then forced
    data = _frame().iloc[:200]
    X, y = data.drop(columns="y"), data["y"]
    with mlops.start_run(run_name="checks failed"):
        assert mlops.check(data.assign(leak=y), "y").counts()["fail"] >= 1
        model = LogisticRegression(max_iter=5000).fit(X, y)
        with pytest.raises(MlopsError, match="alias 'champion' is protected"):
            mlops.promote(model, name, X=X, alias="champion")
        forced = mlops.promote(model, name, X=X, alias="champion", force=True, reason="drill")
    assert str(client.get_model_version_by_alias(name, "champion").version) == forced.version

    history = mlops.alias_history(name)
    assert history["via"].tolist() == ["api", "retrain", "retrain", "promote"]
    assert history["version"].tolist() == [1, 2, 2, int(forced.version)]
    assert history["moved"].tolist() == [True, True, False, True]
    assert history["reason"].iloc[0] == "first model" and history["reason"].iloc[3] == "drill"
    assert history["forced"].tolist() == [False, False, False, True]
    assert [g["result"] for g in history["gate"].iloc[1:3]] == ["passed", "refused"]
    printed = cli("models", name, "--history", "--json", cwd=root, env=env)
    assert printed.returncode == 0, printed.stderr
    rows = json.loads(printed.stdout)["rows"]
    assert [(r["version"], r["via"], r["user"]) for r in rows] == list(
        zip(history["version"], history["via"], history["user"], strict=True)
    )
    assert not (root / ".mlops" / "mlflow.db").exists()  # nothing went to an embedded store
