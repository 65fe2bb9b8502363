"""The identity a shared server authenticated is the one every run records."""

from __future__ import annotations

from pathlib import Path

import pytest

import jupyter_mlops as mlops
from jupyter_mlops.config import resolve_settings
from jupyter_mlops.core import identity

from .conftest import TeamStack


def test_a_run_records_the_server_user_not_the_login(
    team_stack: TeamStack, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlflow import MlflowClient

    team_stack.use(monkeypatch, "alice")
    with mlops.start_run(experiment="team-identity") as run:
        mlops.log(auc=0.9)
    got = MlflowClient(team_stack.tracking_uri, team_stack.tracking_uri).get_run(run.run_id)
    assert got.data.tags["mlflow.user"] == "alice"
    assert got.info.user_id == "alice"
    assert got.data.metrics["auc"] == 0.9


def test_wrong_credentials_are_one_line_without_the_secret(
    team_stack: TeamStack, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    team_stack.use(monkeypatch, "bob")
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", "not-bobs-password")
    identity.forget()
    with pytest.raises(identity.CredentialsRefusedError) as info:
        identity.identity(resolve_settings())
    line = str(info.value)
    assert "\n" not in line and "not-bobs-password" not in line
    assert "'bob'" in line and team_stack.tracking_uri in line
