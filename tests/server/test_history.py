"""GET models/{name}/history and POST models/{name}/aliases with a reason, through a real
Jupyter server over the served project's sqlite store: the history the panel shows is the one
``history_rows`` reads, and a move made over REST records the Jupyter user and ``via`` rest."""

from __future__ import annotations

import json

import pytest

from jupyter_mlops.config import resolve_settings
from jupyter_mlops.core.registry.alias_history import history_rows
from tests.server.test_api import API, assert_error, call

XSS = '<img src=x onerror=alert(1)><script>alert("r")</script>'


async def login(jp_fetch) -> tuple[str, dict[str, str]]:
    """The username Jupyter gives this session and the login cookie that keeps it: a shared
    token names no user, so each request without the cookie is a new anonymous user (as a
    browser's first request is, the cookie then keeps one user for the session)."""
    response = await jp_fetch("api", "me")
    cookie = response.headers["Set-Cookie"].split(";", 1)[0]
    return json.loads(response.body)["identity"]["username"], {"Cookie": cookie}


def staging(mlflow_client) -> int:
    return int(mlflow_client.get_registered_model("churn").aliases["staging"])


async def test_history_is_history_rows_and_records_the_jupyter_user(
    jp_fetch, seeded, mlflow_client
) -> None:
    # the seed set staging to v1 with a plain client: the history says it was moved outside
    status, reply = await call(jp_fetch, "models", "churn", "history")
    assert status == 200, reply
    assert reply["truncated"] is False and len(reply["rows"]) == 1
    outside = reply["rows"][0]
    assert (outside["alias"], outside["version"], outside["time"]) == ("staging", 1, None)
    assert outside["note"] == (
        "the registry gives 'staging' version 1, not no version as the history last "
        "recorded: moved outside jupyter-mlops, time unknown"
    )

    user, cookie = await login(jp_fetch)
    assert user
    body = {"alias": "staging", "version": 2, "reason": "better AUC on the March holdout"}
    status, row = await call(
        jp_fetch, "models", "churn", "aliases", method="POST", body=body, headers=cookie
    )
    assert status == 200 and row["aliases"] == ["staging"], row
    body = {"alias": "champion", "version": 1}
    status, _ = await call(
        jp_fetch, "models", "churn", "aliases", method="POST", body=body, headers=cookie
    )
    assert status == 200

    status, reply = await call(jp_fetch, "models", "churn", "history")
    assert status == 200, reply
    rows, truncated = history_rows(resolve_settings(seeded["root"], environ={}), "churn")
    assert reply == {"name": "churn", "rows": rows, "truncated": truncated}
    moved = [
        (r["alias"], r["previous"], r["version"], r["user"], r["via"], r["reason"], r["note"])
        for r in reply["rows"]
    ]
    assert moved == [
        ("staging", 1, 2, user, "rest", "better AUC on the March holdout", ""),
        ("champion", None, 1, user, "rest", "", ""),
    ]
    assert all(r["time"].endswith("+00:00") and r["moved"] for r in reply["rows"])
    assert reply["rows"][0]["time"] < reply["rows"][1]["time"]
    assert staging(mlflow_client) == 2


async def test_a_reason_holding_html_is_answered_as_json_text(jp_fetch) -> None:
    body = {"alias": "staging", "version": 2, "reason": XSS}
    status, _ = await call(jp_fetch, "models", "churn", "aliases", method="POST", body=body)
    assert status == 200
    response = await jp_fetch(*API, "models", "churn", "history")
    assert response.headers["Content-Type"].startswith("application/json")
    rows = json.loads(response.body)["rows"]
    assert [r["reason"] for r in rows if r["run_id"]] == [XSS]


@pytest.mark.parametrize(
    ("body", "why"),
    [
        ({"alias": "staging", "version": 2, "reason": "x" * 2001}, "at most 2000"),
        ({"alias": "staging", "version": 2, "reason": 42}, "is text"),
        ({"alias": "staging", "version": 2, "reason": ["why"]}, "is text"),
        ({"alias": "staging", "version": 2, "reason": "a\x00b"}, "control character"),
        ({"alias": "staging", "version": 2, "reason": "a\ud800b"}, "lone surrogate"),
    ],
)
async def test_a_bad_reason_is_400_and_moves_nothing(jp_fetch, mlflow_client, body, why) -> None:
    status, reply = await call(jp_fetch, "models", "churn", "aliases", method="POST", body=body)
    assert_error(status, reply, 400)
    assert why in reply["message"], reply
    assert staging(mlflow_client) == 1
    assert mlflow_client.get_experiment_by_name("registry-audit/churn") is None


async def test_a_reason_of_2000_characters_is_kept_whole(jp_fetch) -> None:
    reason = "r" * 2000
    body = {"alias": "staging", "version": 2, "reason": reason}
    status, _ = await call(jp_fetch, "models", "churn", "aliases", method="POST", body=body)
    assert status == 200
    _, reply = await call(jp_fetch, "models", "churn", "history")
    assert reply["rows"][0]["reason"] == reason


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("nope", 404),
        ("a:b", 400),
        (" ", 400),
        ("x" * 300, 400),
        ("a\x01b", 400),
    ],
)
async def test_bad_names(jp_fetch, seeded, name, expected) -> None:
    status, reply = await call(jp_fetch, "models", name, "history")
    assert_error(status, reply, expected)
    if name == "nope":
        assert reply["message"] == "no registered model named 'nope'; registered: churn"
    # nothing of the server's side: no path, no store URI
    assert str(seeded["root"]) not in reply["message"] and "sqlite" not in reply["message"]


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_unauthenticated_requests_are_refused(jp_fetch, mlflow_client, method) -> None:
    route = ("history",) if method == "GET" else ("aliases",)
    body = {"alias": "staging", "version": 2, "reason": "no token"} if method == "POST" else None
    status, reply = await call(
        jp_fetch, "models", "churn", *route, method=method, body=body, headers={"Authorization": ""}
    )
    assert status == 403 and reply["error"] == "forbidden", reply
    assert "rows" not in reply
    assert staging(mlflow_client) == 1
