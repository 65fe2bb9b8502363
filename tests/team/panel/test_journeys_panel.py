"""The panel's REST routes through a real Jupyter server whose environment points at the team
stack as ``alice``: runs, a run's details, models, a model's versions and history, and an alias
moved from the panel (recorded as the Jupyter user), all answered from the server's data."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import jupyter_mlops as mlops
from tests.server.test_api import call
from tests.server.test_history import login

from ..conftest import TeamStack
from ..journeys import alice_project, assert_no_secret

MODEL = "panel-team"


@pytest.fixture(scope="module")
def seeded(team_stack: TeamStack, tmp_path_factory: pytest.TempPathFactory):
    """alice's project, one finished run of hers with a metric history, params and an artifact,
    and a model of two versions, ``staging`` on version 1: written through the server."""
    from mlflow import MlflowClient

    for root in alice_project(team_stack, tmp_path_factory.mktemp("panel") / "proj"):
        client = MlflowClient(team_stack.tracking_uri, team_stack.tracking_uri)
        with mlops.track(
            experiment="team-panel", run_name="lr", tags={"dataset": "wine_v1"}, autolog=False
        ) as run:
            for step in range(5):
                mlops.log(step=step, loss=1.0 / (step + 1))
            mlops.log(alpha="0.1")
            mlops.flush()
            client.log_text(run.run_id, "hello", "notes/readme.txt")
        rid = run.run_id
        experiment = client.get_run(rid).info.experiment_id
        artifact_uri = client.get_run(rid).info.artifact_uri
        client.create_registered_model(MODEL)
        for _ in range(2):
            client.create_model_version(MODEL, source=f"{artifact_uri}/notes", run_id=rid)
        client.set_registered_model_alias(MODEL, "staging", "1")
        yield {"root": root, "experiment_id": experiment, "run_id": rid, "client": client}


@pytest.fixture
def jp_root_dir(seeded: dict[str, Any], team_stack: TeamStack, monkeypatch) -> Path:
    """The served project; the Jupyter server starts after this, alice's environment set."""
    team_stack.use(monkeypatch, "alice")
    return seeded["root"]


async def test_the_panel_reads_the_stack(jp_fetch, seeded, team_stack: TeamStack) -> None:
    status, reply = await call(jp_fetch, "status")
    assert status == 200 and reply["tracking_uri"] == team_stack.tracking_uri
    answers = [reply]

    status, reply = await call(jp_fetch, "runs", params={"experiment_id": seeded["experiment_id"]})
    assert status == 200, reply
    (row,) = reply["runs"]
    assert row["run_id"] == seeded["run_id"] and row["status"] == "FINISHED"
    assert row["metrics"]["loss"] == 0.2 and row["params"] == {"alpha": "0.1"}
    assert row["tags"]["dataset"] == "wine_v1"
    answers.append(reply)

    status, reply = await call(jp_fetch, "runs", seeded["run_id"])
    assert status == 200, reply
    assert reply["tags"]["mlflow.user"] == "alice"
    assert "notes" in [a["path"] for a in reply["artifacts"]]
    answers.append(reply)

    status, reply = await call(jp_fetch, "runs", seeded["run_id"], "metrics", "loss")
    assert status == 200 and [p["step"] for p in reply["history"]] == list(range(5))

    status, reply = await call(jp_fetch, "models")
    assert status == 200, reply
    rows = {r["name"]: r for r in reply["rows"]}
    assert rows[MODEL]["latest_version"] == 2 and rows[MODEL]["aliases"] == {"staging": 1}
    status, reply = await call(jp_fetch, "models", MODEL)
    assert status == 200 and [(r["version"], r["aliases"]) for r in reply["rows"]] == [
        (2, []),
        (1, ["staging"]),
    ]
    status, reply = await call(jp_fetch, "models", MODEL, "history")
    assert status == 200, reply
    (outside,) = reply["rows"]  # set with a plain client: the history says so
    assert (outside["alias"], outside["version"]) == ("staging", 1)
    answers.append(reply)
    assert_no_secret(team_stack, *(str(a) for a in answers))


async def test_an_alias_moved_from_the_panel_as_the_jupyter_user(
    jp_fetch, seeded, team_stack: TeamStack
) -> None:
    user, cookie = await login(jp_fetch)
    body = {"alias": "staging", "version": 2, "reason": "v2 on the team stack"}
    status, row = await call(
        jp_fetch, "models", MODEL, "aliases", method="POST", body=body, headers=cookie
    )
    assert status == 200 and row["version"] == 2 and row["aliases"] == ["staging"], row
    client = seeded["client"]
    assert client.get_registered_model(MODEL).aliases["staging"] == "2"

    status, reply = await call(jp_fetch, "models", MODEL, "history")
    assert status == 200, reply
    moved = reply["rows"][-1]
    assert (moved["alias"], moved["previous"], moved["version"]) == ("staging", 1, 2)
    assert (moved["user"], moved["via"], moved["reason"]) == (user, "rest", "v2 on the team stack")
    # the move's record is a run on the server, written with alice's credentials
    from jupyter_mlops.core import tags

    audit = client.get_experiment_by_name(tags.audit_experiment(MODEL))
    runs = client.search_runs([audit.experiment_id], order_by=["attributes.start_time DESC"])
    assert runs, "the move is recorded on the server"
    # both are true and both are kept: the Jupyter user asked, the server authenticated alice
    record = runs[0].data.tags
    assert user != "alice"
    assert record[tags.AUDIT_USER] == user and record[tags.MLFLOW_USER] == "alice"
    assert record[tags.AUDIT_SERVER_USER] == "alice"
    assert_no_secret(team_stack, str(reply), str(row))
