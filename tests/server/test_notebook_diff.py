"""``GET runs/<a>/notebook-diff/<b>`` through a real Jupyter server: nbdime's ``{base, diff}``
for two runs' real snapshots, 404 JSON for a run without one, 400 for bad ids, 422 for a
snapshot that is not a notebook (never a 500)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.core.test_notebook_diff import BASE, REMOTE
from tests.server.test_api import assert_error, call
from tests.server.test_artifacts import new_run


def runs_with_snapshots(client: Any, seeded: dict[str, Any]) -> tuple[str, str]:
    """Two runs of the seeded project whose notebook snapshots differ by one code cell and one
    added markdown cell."""
    a = new_run(client, seeded, {"notebook/train.ipynb": BASE})
    b = new_run(client, seeded, {"notebook/train.ipynb": REMOTE})
    return a, b


async def test_the_diff_of_two_snapshots(jp_fetch, seeded, mlflow_client) -> None:
    a, b = runs_with_snapshots(mlflow_client, seeded)
    status, reply = await call(jp_fetch, "runs", a, "notebook-diff", b)
    assert status == 200
    assert reply["base_run_id"] == a and reply["remote_run_id"] == b
    assert reply["base"]["cells"][1]["source"].startswith("lr = 0.1")
    (cells,) = [e for e in reply["diff"] if e["key"] == "cells"]
    assert {e["op"] for e in cells["diff"]} == {"patch", "addrange"}


@pytest.mark.parametrize(
    ("first", "second", "expected", "code"),
    [
        ("{a}", "{bare}", 404, "not_found"),
        ("{bare}", "{a}", 404, "not_found"),
        ("{a}", "0123456789abcdef0123456789abcdef", 404, "not_found"),
        ("{a}", "not-a-run", 400, "bad_run_id"),
        ("zz", "{a}", 400, "bad_run_id"),
        ("{a}", "%2e%2e", 400, "bad_run_id"),
        ("{a}", "{broken}", 422, "bad_notebook"),
    ],
)
async def test_bad_requests(jp_fetch, seeded, mlflow_client, first, second, expected, code) -> None:
    a, _ = runs_with_snapshots(mlflow_client, seeded)
    ids = {
        "a": a,
        "bare": seeded["run_id"],  # artifacts, but no notebook snapshot
        "broken": new_run(mlflow_client, seeded, {"notebook/train.ipynb": "{not json"}),
    }
    status, reply = await call(
        jp_fetch, "runs", first.format(**ids), "notebook-diff", second.format(**ids)
    )
    assert_error(status, reply, expected)
    assert reply["error"] == code
