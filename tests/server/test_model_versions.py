"""GET models/{name} (versions with their runs' names and metrics), GET
models/{name}/compare and the card's run status, through a real Jupyter server over a project
where ``seed_models`` promoted two versions of a scikit-learn pipeline."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import ENV_VARS, git, kernel_env
from tests.server.test_api import assert_error, call
from tests.ui.seed_models import MODEL, RUN_NAMES, seed


@pytest.fixture(scope="module")
def _promoted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    root = tmp_path_factory.mktemp("served") / "proj"
    root.mkdir()
    git(root, "init", "-q")
    git(root, "commit", "-q", "--allow-empty", "-m", "init")
    return root, seed(root, kernel_env())


@pytest.fixture
def promoted(_promoted, monkeypatch: pytest.MonkeyPatch) -> dict:
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    root, facts = _promoted
    return {**facts, "root": root}


@pytest.fixture
def jp_root_dir(promoted: dict) -> Path:  # the served project: the one seed_models promoted
    return promoted["root"]


async def test_versions_carry_run_name_metrics_and_owner(jp_fetch, promoted) -> None:
    status, reply = await call(jp_fetch, "models", MODEL)
    assert status == 200, reply
    rows = reply["rows"]
    assert [(r["version"], r["run_name"]) for r in rows] == [(2, RUN_NAMES[1]), (1, RUN_NAMES[0])]
    assert all(set(r["metrics"]) == {"r2", "mae"} and r["user"] for r in rows)


async def test_compare_answers_the_contract_differences(jp_fetch, promoted) -> None:
    status, reply = await call(jp_fetch, "models", MODEL, "compare", params={"a": "1", "b": "2"})
    assert status == 200, reply
    contract = reply["contract"]
    assert contract["added"] == ["sex"] and contract["changed"] == ["age"]
    (age,) = [c for c in contract["columns"] if c["name"] == "age"]
    assert {"what": "dtype", "a": "float64", "b": "int64"}.items() <= age["differences"][0].items()
    assert reply["a"]["run_name"] == RUN_NAMES[0] and reply["b"]["run_name"] == RUN_NAMES[1]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"a": "1"}, 400),
        ({}, 400),
        ({"a": "x", "b": "2"}, 400),
        ({"a": "1", "b": "-2"}, 400),
        ({"a": "1", "b": "1"}, 400),
        ({"a": "1", "b": "9" * 12}, 400),
        ({"a": "1", "b": "7"}, 404),
    ],
)
async def test_compare_bad_versions(jp_fetch, promoted, params, expected) -> None:
    status, reply = await call(jp_fetch, "models", MODEL, "compare", params=params)
    assert_error(status, reply, expected)


async def test_compare_unknown_or_bad_model(jp_fetch, promoted) -> None:
    status, reply = await call(jp_fetch, "models", "nope", "compare", params={"a": "1", "b": "2"})
    assert_error(status, reply, 404)
    bad = "x\x01y"
    status, reply = await call(jp_fetch, "models", bad, "compare", params={"a": "1", "b": "2"})
    assert_error(status, reply, 400)


async def test_card_answer_says_how_the_run_is_now(jp_fetch, promoted) -> None:
    status, reply = await call(jp_fetch, "models", MODEL, "versions", "2", "card")
    assert status == 200, reply
    assert reply["run"]["status"] == "FINISHED" and reply["run"]["name"] == RUN_NAMES[1]
    assert reply["run"]["id"] == promoted["runs"][1]
    assert "running" not in reply["markdown"].lower()
