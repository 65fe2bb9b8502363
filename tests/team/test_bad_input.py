"""Bad input on the team's services: wrong credentials are one line, and nothing is created."""

from __future__ import annotations

from pathlib import Path

import pytest

from jupyter_mlops.core import identity

from .conftest import TeamStack

WRONG = "not-alices-Pass-9876"


def test_a_wrong_password_is_one_line_from_the_magic_and_the_cli_and_creates_nothing(
    team_stack: TeamStack, ip, capfd, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlflow import MlflowClient

    from jupyter_mlops.cli import main
    from jupyter_mlops.core import tracking

    team_stack.use(monkeypatch, "alice")
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", WRONG)
    identity.forget()
    capfd.readouterr()
    assert not ip.run_cell("%mlops track start -e wrong-password -n never").success
    assert main(["status"]) == 2
    err = [line for line in capfd.readouterr().err.splitlines() if line.strip()]
    assert len(err) == 2, err
    magic, cli = err
    for line in (magic, cli):
        assert "refused the credentials" in line and "'alice'" in line
        assert WRONG not in line and "Traceback" not in line
    assert cli.startswith("jupyter mlops status: ")
    assert tracking.session.stack == []

    team_stack.use(monkeypatch, "alice")  # the right password: nothing was created
    uri = team_stack.tracking_uri
    assert MlflowClient(uri, uri).get_experiment_by_name("wrong-password") is None
