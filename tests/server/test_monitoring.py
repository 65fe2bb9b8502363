"""GET models/{name}/versions/{version}/monitoring through a real Jupyter server: a version's
health as the panel reads it, from monitoring runs in the served project's sqlite store."""

from __future__ import annotations

import math

import pytest

from tests.monitoring_runs import write_window
from tests.server.test_api import assert_error, call

XSS = "<img src=x onerror=alert(1)>"


async def test_a_version_never_monitored_answers_no_windows(jp_fetch, seeded) -> None:
    status, reply = await call(jp_fetch, "models", "churn", "versions", "1", "monitoring")
    assert status == 200, reply
    assert reply == {
        "name": "churn",
        "version": 1,
        "experiment_id": None,
        "windows": [],
        "last": None,
        "truncated": False,
    }


async def test_windows_oldest_first_and_the_last_one(jp_fetch, mlflow_client) -> None:
    drifted = write_window(
        mlflow_client,
        "churn",
        2,
        "2026-03-02T00:00:00+00:00",
        end="2026-03-03T00:00:00+00:00",
        verdict="drifted",
        drifted=["age", "plan", XSS],
        rows=1200,
        violation_rate=0.125,
    )
    stable = write_window(mlflow_client, "churn", 2, "2026-03-01T00:00:00+00:00", rows=1000)
    odd = write_window(mlflow_client, "churn", 2, "2026-02-28", drifted="{", rows=math.nan)
    write_window(mlflow_client, "churn", 1, "2026-03-09T00:00:00+00:00")  # another version
    status, reply = await call(jp_fetch, "models", "churn", "versions", "2", "monitoring")
    assert status == 200, reply
    experiment = mlflow_client.get_experiment_by_name("monitoring/churn")
    assert reply["experiment_id"] == experiment.experiment_id
    assert [w["run_id"] for w in reply["windows"]] == [odd, stable, drifted]
    last = reply["last"]
    assert last["run_id"] == drifted and last["verdict"] == "drifted"
    assert last["drifted"] == ["age", "plan", XSS] and last["drifted_count"] == 3
    assert last["violation_rate"] == 0.125 and last["rows"] == 1200
    assert last["start"] == "2026-03-02T00:00:00+00:00" and last["problems"] == []
    first = reply["windows"][0]  # NaN rows and a drifted tag that is not JSON: still shown
    assert first["rows"] is None and first["drifted"] == [] and first["verdict"] == "stable"
    assert "the drifted columns are not a JSON list" in first["problems"]
    status, reply = await call(
        jp_fetch, "models", "churn", "versions", "2", "monitoring", params={"limit": "1"}
    )
    assert status == 200 and [w["run_id"] for w in reply["windows"]] == [drifted]
    assert reply["truncated"] is True


@pytest.mark.parametrize(
    ("name", "version", "params", "expected", "code"),
    [
        ("nope", "1", None, 404, "not_found"),
        ("churn", "9", None, 404, "not_found"),
        ("churn", "0", None, 400, "bad_parameter"),
        ("churn", "two", None, 400, "bad_parameter"),
        ("churn", "9" * 5_000, None, 400, "bad_parameter"),
        ("x" * 5_000, "1", None, 400, "bad_request"),
        ("churn", "1", {"limit": "0"}, 400, "bad_parameter"),
        ("churn", "1", {"limit": "1001"}, 400, "bad_parameter"),
        ("churn", "1", {"limit": "ten"}, 400, "bad_parameter"),
    ],
)
async def test_bad_monitoring_reads(jp_fetch, seeded, name, version, params, expected, code):
    parts = ("models", name, "versions", version, "monitoring")
    status, reply = await call(jp_fetch, *parts, params=params)
    assert_error(status, reply, expected)
    assert reply["error"] == code, reply
