"""A history longer than ``alias_history`` reads: the newest moves are the ones kept, so the
registry's aliases agree with the last rows (no false "moved outside" note) and ``alias_at``
refuses a time before the rows it read rather than answer from a partial past."""

from __future__ import annotations

from pathlib import Path

import pytest

from jupyter_mlops.core.registry import alias_history, models
from jupyter_mlops.core.session import project_settings
from jupyter_mlops.errors import MlopsError
from tests.conftest import client_for


def test_a_truncated_history_keeps_the_newest_moves(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = project_settings()
    models.registry_client(settings)  # the store, created
    client = client_for(project)
    client.create_registered_model("churn")
    run = client.create_run(client.create_experiment("train"))
    for _ in range(2):
        client.create_model_version(
            "churn", source=f"{run.info.artifact_uri}/m", run_id=run.info.run_id
        )
    versions = [1, 2, 1, 2, 1, 2]
    for index, version in enumerate(versions):
        models.set_alias("churn", "champion", version, reason=f"move {index}", settings=settings)
    full, truncated = alias_history.history_rows(settings, "churn")
    assert not truncated and [r["reason"] for r in full] == [f"move {i}" for i in range(6)]

    monkeypatch.setattr(alias_history, "PAGE", 2)
    monkeypatch.setattr(alias_history, "MAX_SCANNED", 4)
    rows, truncated = alias_history.history_rows(settings, "churn")
    assert truncated
    assert [r["reason"] for r in rows] == ["move 2", "move 3", "move 4", "move 5"]
    assert [r["note"] for r in rows] == [""] * 4  # the registry agrees with the last move
    assert alias_history.alias_at("churn", "champion", full[4]["time"], settings=settings) == 1
    with pytest.raises(MlopsError, match="was not recorded"):
        alias_history.alias_at("churn", "champion", full[1]["time"], settings=settings)
