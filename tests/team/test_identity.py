"""Who did what, on a shared server with MLflow's authentication: alice's run, fit, data
version, promotion and alias move record ``alice`` (the server's user, not the OS login), and
bob, who may only read what alice made, gets one line naming the permission he lacks in the
API, the magic and the CLI, with nothing changed on the server."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import pytest
import yaml
from IPython.core.error import UsageError
from pytest_jupyter.jupyter_server import *  # noqa: F403 - jp_fetch and the server, for the REST test

import jupyter_mlops as mlops
from jupyter_mlops.config import resolve_settings
from jupyter_mlops.core import identity, permissions, tags
from jupyter_mlops.core.registry import models
from tests.conftest import ENV_VARS, cli, git, write_notebook

from .conftest import PASSWORDS, TeamStack, admin_env

EXPERIMENT = "team-identity-alice"
MODEL = "bc"


@contextlib.contextmanager
def as_admin(stack: TeamStack):
    """The server's admin (who reads everything) for the block, to check what happened."""
    try:
        with admin_env(stack):
            from mlflow import MlflowClient

            yield MlflowClient(stack.tracking_uri, stack.tracking_uri)
    finally:
        identity.forget()


def every_run(client) -> list:
    from mlflow.entities import ViewType

    experiments = client.search_experiments(view_type=ViewType.ALL)
    ids = [e.experiment_id for e in experiments]
    return client.search_runs(ids, run_view_type=ViewType.ALL, max_results=5000)


@pytest.fixture(scope="module")
def alice(team_stack: TeamStack, tmp_path_factory: pytest.TempPathFactory):
    """Alice's journey, once: credentials in ``~/.mlflow/credentials`` only (so the login, not
    the environment, is what the OS would say), a tracked run with a fit, a DVC data version,
    a promotion with an alias, and an alias move through the API."""
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    root = tmp_path_factory.mktemp("alice") / "proj"
    root.mkdir()
    git(root, "init", "-q")
    (root / "README.md").write_text("demo\n")
    git(root, "add", "README.md")
    git(root, "commit", "-q", "-m", "init")
    home = tmp_path_factory.mktemp("alice-home")
    (home / ".mlflow").mkdir()
    (home / ".mlflow" / "credentials").write_text(
        f"[mlflow]\nmlflow_tracking_username = alice\n"
        f"mlflow_tracking_password = {PASSWORDS['alice']}\n"
    )
    X = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0, 4.0, 5.0], "b": [1.0, 0.0, 1.0, 0.0, 1.0, 0.0]})
    y = pd.Series([0, 0, 0, 1, 1, 1], name="y")
    X.assign(y=y).to_csv(root / "data.csv", index=False)
    with pytest.MonkeyPatch.context() as mp:
        for name in ENV_VARS:
            mp.delenv(name, raising=False)
        for key, value in team_stack.env("alice").items():
            if not key.startswith("MLFLOW_TRACKING_USER") and "PASSWORD" not in key:
                mp.setenv(key, value)
        mp.setenv("HOME", str(home))
        mp.chdir(root)
        identity.forget()
        login = identity.local_user().user
        with mlops.start_run(experiment=EXPERIMENT) as run:
            version = mlops.data.add("data.csv").versions[0]
            model = LogisticRegression().fit(X, y)  # autologged: a candidate child run
            mlops.log(auc=0.9)
            promoted = mlops.promote(model, MODEL, X=X, alias="staging")
        row = models.set_alias(MODEL, "candidate", 1, reason="first look")
        settings = resolve_settings(root)
    identity.forget()
    return {
        "root": root,
        "login": login,
        "run_id": run.run_id,
        "version": version,
        "promoted": promoted,
        "row": row,
        "settings": settings,
    }


def test_alices_records_name_alice_not_the_login(team_stack: TeamStack, alice) -> None:
    assert alice["login"] != "alice"  # the OS would have said root (or whoever runs the tests)
    with as_admin(team_stack) as client:
        runs = every_run(client)
        top = client.get_run(alice["run_id"])
        mv = client.get_model_version(MODEL, alice["promoted"].version)
        audit = client.get_experiment_by_name(tags.audit_experiment(MODEL))
        moves = client.search_runs([audit.experiment_id])
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == alice["run_id"]]
    assert children, "the fit's candidate run"
    for recorded in [top, *children]:
        assert recorded.data.tags[tags.MLFLOW_USER] == "alice"
        assert recorded.info.user_id == "alice"
    # the data version: on the run's dataset input and in the .dvc file's meta
    assert alice["version"].user == "alice"
    (dataset,) = top.inputs.dataset_inputs
    assert json.loads(dataset.dataset.source)["versioned_by"] == "alice"
    dvc = yaml.safe_load((alice["root"] / "data.csv.dvc").read_text())
    assert dvc["meta"]["versioned_by"] == "alice"
    # the promotion: on the version, on its card, and in the panel's row
    assert mv.tags[tags.PROMOTED_BY] == "alice"
    assert alice["row"]["user"] == "alice"
    # the alias moves (promotion's and the API's): history runs and rows name alice
    assert len(moves) == 2
    for move in moves:
        assert move.data.tags[tags.AUDIT_USER] == "alice"
        assert move.data.tags[tags.MLFLOW_USER] == "alice"
        assert tags.AUDIT_SERVER_USER not in move.data.tags


def test_the_panel_rows_and_the_card_name_the_owner(team_stack: TeamStack, alice, monkeypatch):
    from jupyter_mlops.core import runs, store

    team_stack.use(monkeypatch, "bob")  # bob may read: he sees who made what
    client = store.client(alice["settings"])
    assert runs.run_row(client.get_run(alice["run_id"]))["user"] == "alice"
    table = models.models(MODEL, settings=alice["settings"])
    assert {row["user"] for row in table.rows} == {"alice"}
    mv = models.model_version(client, MODEL, int(alice["promoted"].version))
    card = models.card_bytes(client, mv, alice["settings"], "card", 1_000_000).decode()
    assert "| Promoted by | alice |" in card


# -- bob may only read --------------------------------------------------------------------------
def alias_line(stack: TeamStack) -> str:
    return (
        f"permission denied: 'bob' may not move aliases of registered model '{MODEL}' on "
        f"{stack.tracking_uri} (needs EDIT on it; 'bob' has READ)"
    )


def run_line(stack: TeamStack) -> str:
    return (
        f"permission denied: 'bob' may not create runs in experiment '{EXPERIMENT}' on "
        f"{stack.tracking_uri} (needs EDIT on it; 'bob' has READ)"
    )


def server_state(stack: TeamStack) -> tuple:
    """Every run (with its status) and the model's aliases and versions."""
    with as_admin(stack) as client:
        runs = sorted((r.info.run_id, r.info.status) for r in every_run(client))
        model = client.get_registered_model(MODEL)
        versions = len(client.search_model_versions(f"name='{MODEL}'"))
    return runs, dict(model.aliases), versions


@pytest.fixture
def bob(team_stack: TeamStack, alice, project: Path, monkeypatch: pytest.MonkeyPatch):
    """Bob in a project of his own, and what the server holds before he tries anything."""
    team_stack.use(monkeypatch, "bob")
    before = server_state(team_stack)
    yield project
    assert server_state(team_stack) == before, "a refusal changed nothing on the server"


def test_bobs_refusals_are_one_line_in_the_api(team_stack: TeamStack, bob) -> None:
    with pytest.raises(permissions.PermissionDeniedError) as moved:
        models.set_alias(MODEL, "staging", 1, reason="mine now")
    assert str(moved.value) == alias_line(team_stack)
    assert moved.value.needs == "EDIT"
    with pytest.raises(permissions.PermissionDeniedError) as started:
        mlops.start_run(experiment=EXPERIMENT)
    assert str(started.value) == run_line(team_stack)
    for line in (str(moved.value), str(started.value)):
        assert PASSWORDS["bob"] not in line and "\n" not in line


def test_bobs_refusals_are_one_line_in_the_magic(team_stack: TeamStack, bob, ip) -> None:
    with pytest.raises(UsageError) as moved:
        ip.run_line_magic("mlops", f"alias {MODEL} staging 1")
    assert str(moved.value) == alias_line(team_stack)
    with pytest.raises(UsageError) as started:
        ip.run_line_magic("mlops", f"track start -e {EXPERIMENT}")
    assert str(started.value) == run_line(team_stack)


def test_bobs_refusal_is_one_line_in_the_cli(team_stack: TeamStack, bob) -> None:
    out = cli("alias", MODEL, "staging", "1", cwd=bob, env=team_stack.env("bob"))
    assert out.returncode == 2
    assert out.stderr == f"jupyter mlops alias: {alias_line(team_stack)}\n"
    assert out.stdout == ""
    write_notebook(bob / "train.ipynb", ["x = 1"])
    out = cli("run", "train.ipynb", "-e", EXPERIMENT, cwd=bob, env=team_stack.env("bob"))
    assert out.returncode == 2, out.stderr
    assert f"jupyter mlops run: {run_line(team_stack)}" in out.stderr.splitlines()
    assert "Traceback" not in out.stderr + out.stdout


def test_a_refusal_is_never_retried(team_stack: TeamStack, bob, monkeypatch) -> None:
    from jupyter_mlops.core import store

    calls = []
    client = store.client(resolve_settings(bob))
    real = client.raw.set_registered_model_alias

    def counted(*args, **kwargs):
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(client.raw, "set_registered_model_alias", counted)
    with pytest.raises(permissions.PermissionDeniedError):
        client.set_registered_model_alias(MODEL, "staging", "1")
    assert len(calls) == 1


# -- the REST API, as the panel calls it ---------------------------------------------------------
@pytest.fixture
def jp_root_dir(bob: Path) -> Path:
    return bob


@pytest.fixture
def jp_server_config(bob: Path) -> dict:
    """The extension in a server whose environment (set by ``bob`` before the app starts)
    points at the stack with bob's credentials."""
    return {
        "ServerApp": {
            "jpserver_extensions": {"jupyter_mlops": True, "jupyter_server_terminals": False},
            "allow_unauthenticated_access": False,
        }
    }


def test_bobs_alias_move_over_rest_is_a_403_with_the_line(
    team_stack: TeamStack, alice, jp_fetch, jp_asyncio_loop
) -> None:
    # a plain test on the fixtures' loop: pytest-jupyter's async support is a conftest hook,
    # and this folder's conftest is the team tier's, shared with other test files
    def fetch(*parts: str, **kwargs):
        return jp_asyncio_loop.run_until_complete(jp_fetch(*parts, raise_error=False, **kwargs))

    body = json.dumps({"alias": "staging", "version": 1, "reason": "mine now"})
    response = fetch("mlops", "api", "models", MODEL, "aliases", method="POST", body=body)
    assert response.code == 403, response.body
    reply = json.loads(response.body)
    assert reply == {"error": "permission_denied", "message": alias_line(team_stack)}
    # bob reads: the versions' rows name who promoted them
    response = fetch("mlops", "api", "models", MODEL)
    assert response.code == 200, response.body
    rows = json.loads(response.body)["rows"]
    assert [r["user"] for r in rows] == ["alice"]


# -- credentials ---------------------------------------------------------------------------------
def test_no_password_is_recorded_anywhere_on_the_server(
    team_stack: TeamStack, alice, tmp_path: Path
) -> None:
    """Every run's params, tags and text artifacts, and every version's tags and card, after
    alice's journey: her password appears nowhere."""
    import mlflow.artifacts

    secret = PASSWORDS["alice"]
    scanned = 0

    def scan(folder: Path) -> None:
        nonlocal scanned
        for path in folder.rglob("*"):
            if path.is_file() and path.stat().st_size < 5_000_000:
                assert secret.encode() not in path.read_bytes(), path
                scanned += 1

    with as_admin(team_stack) as client:
        runs = every_run(client)
        assert len(runs) >= 4
        for run in runs:
            for value in [*run.data.params.values(), *run.data.tags.values()]:
                assert secret not in value
            for dataset in run.inputs.dataset_inputs:
                assert secret not in dataset.dataset.source
            where = tmp_path / run.info.run_id
            where.mkdir()
            scan(Path(client.download_artifacts(run.info.run_id, "", str(where))))
        for mv in client.search_model_versions(f"name='{MODEL}'"):
            assert all(secret not in v for v in mv.tags.values())
            where = tmp_path / f"v{mv.version}"
            scan(
                Path(
                    mlflow.artifacts.download_artifacts(
                        mv.source, dst_path=str(where), tracking_uri=team_stack.tracking_uri
                    )
                )
            )
    assert scanned > 10
