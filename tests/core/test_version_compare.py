"""Two promoted versions of a scikit-learn pipeline on a bundled data set, read back: the
versions list names their runs and metrics, the comparison shows the data contract's added
column and changed dtype, a tampered contract is not read, and a card written while its run was
still going does not say "running" once it has ended."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from jupyter_mlops.config import resolve_settings
from jupyter_mlops.core.registry.models import models
from jupyter_mlops.core.registry.version_compare import (
    column_differences,
    compare_versions,
    contract_diff,
)
from jupyter_mlops.errors import MlopsError, NotFoundError
from tests.conftest import client_for, git, kernel_env
from tests.ui.seed_models import ALIAS, MODEL, RUN_NAMES, seed


@pytest.fixture(scope="module")
def promoted(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A git project with the two versions ``seed_models`` promotes (a real sqlite store)."""
    root = tmp_path_factory.mktemp("versions")
    git(root, "init", "-q")
    git(root, "commit", "-q", "--allow-empty", "-m", "init")
    facts = seed(root, kernel_env())
    return {**facts, "root": root, "settings": resolve_settings(root, environ={})}


def test_versions_name_their_runs_metrics_and_owner(promoted) -> None:
    rows = models(MODEL, settings=promoted["settings"]).rows
    assert [r["version"] for r in rows] == [2, 1]
    assert [r["run_name"] for r in rows] == [RUN_NAMES[1], RUN_NAMES[0]]
    assert [r["run_id"] for r in rows] == promoted["runs"][::-1]
    for row in rows:
        assert set(row["metrics"]) == {"r2", "mae"}, row["metrics"]
        assert 0 < row["metrics"]["r2"] < 1 and row["metrics"]["mae"] > 0
        assert row["user"]  # who promoted it
    assert rows[0]["metrics"]["r2"] > rows[1]["metrics"]["r2"]  # a column more fits better
    assert rows[0]["aliases"] == [ALIAS]


def test_compare_shows_the_added_column_and_the_changed_dtype(promoted) -> None:
    found = compare_versions(MODEL, 1, "2", settings=promoted["settings"])
    json.dumps(found, allow_nan=False)  # plain JSON
    assert (found["a"]["version"], found["b"]["version"]) == (1, 2)
    assert (found["a"]["run_name"], found["b"]["run_name"]) == RUN_NAMES
    assert found["a"]["run_status"] == found["b"]["run_status"] == "FINISHED"
    assert (found["a"]["columns"], found["b"]["columns"]) == (3, 4)
    params = {p["key"]: p for p in found["params"]}
    assert params["alpha"]["a"] == "1.0" and params["alpha"]["b"] == "0.5"
    assert params["alpha"]["change"] == "changed"
    metrics = {m["key"]: m["change"] for m in found["metrics"]}
    assert metrics == {"r2": "changed", "mae": "changed"}

    contract = found["contract"]
    assert contract["compared"] is True and contract["problems"] == {"a": None, "b": None}
    assert contract["added"] == ["sex"] and contract["removed"] == []
    assert contract["changed"] == ["age"]
    columns = {c["name"]: c for c in contract["columns"]}
    assert [c["name"] for c in contract["columns"]] == ["age", "bmi", "bp", "sex"]
    assert columns["bmi"]["change"] == "same" and columns["bmi"]["differences"] == []
    assert columns["sex"]["b"]["categories"] == ["female", "male"]
    what = {d["what"]: d for d in columns["age"]["differences"]}
    assert (what["dtype"]["a"], what["dtype"]["b"]) == ("float64", "int64")
    assert what["dtype"]["text"] == "dtype: float64 → int64"
    assert what["range"]["text"] == "range: -0.1072 … 0.1107 → 39 … 61"  # floats, then years

    back = compare_versions(MODEL, 2, 1, settings=promoted["settings"])["contract"]
    assert back["removed"] == ["sex"] and back["added"] == []


@pytest.mark.parametrize(
    ("a", "b", "error", "text"),
    [
        (1, 1, MlopsError, "two different versions"),
        ("x", 2, MlopsError, "whole number"),
        (0, 2, MlopsError, "whole number"),
        (1, 9, NotFoundError, "has no version 9"),
    ],
)
def test_bad_versions_are_one_line(promoted, a, b, error, text) -> None:
    with pytest.raises(error, match=text) as raised:
        compare_versions(MODEL, a, b, settings=promoted["settings"])
    assert "\n" not in str(raised.value)


def test_unknown_model_is_not_found(promoted) -> None:
    with pytest.raises(NotFoundError, match="diabetis"):
        compare_versions("diabetis", 1, 2, settings=promoted["settings"])


def test_a_contract_changed_after_promotion_is_not_read(promoted, tmp_path: Path) -> None:
    from jupyter_mlops.core.registry.models import logged_model_id

    client = client_for(promoted["root"])
    model_id = logged_model_id(client.get_model_version(MODEL, "2"))
    folder = Path(client.get_logged_model(model_id).artifact_location.removeprefix("file://"))
    contract = folder / "contract.json"
    original = contract.read_bytes()
    try:
        data = json.loads(original)
        data["columns"] = data["columns"][:1]  # someone with write access to the store
        contract.write_text(json.dumps(data))
        found = compare_versions(MODEL, 1, 2, settings=promoted["settings"])
    finally:
        contract.write_bytes(original)
    problems = found["contract"]["problems"]
    assert problems["a"] is None
    assert problems["b"] == (
        f"models:/{MODEL}/2: contract.json was modified after promotion (its sha256 differs "
        "from the one recorded on the version): not read"
    )
    assert found["contract"]["compared"] is False and found["contract"]["columns"] == []
    assert found["metrics"]  # the rest of the comparison still answers


def test_column_differences_name_range_categories_and_required() -> None:
    a = {"name": "c", "family": "string", "dtype": "str", "null_rate": 0.0, "categories": ["x"]}
    b = {**a, "null_rate": 0.1, "categories": ["x", "y"]}
    found = {d["what"]: d["text"] for d in column_differences(a, b)}
    assert found == {
        "categories": "categories: added 'y'",
        "required": "required: required → optional",
    }
    n = {"name": "n", "family": "number", "dtype": "float64", "null_rate": 0.0, "min": 0, "max": 1}
    assert column_differences(n, {**n, "max": 2})[0]["text"] == "range: 0 … 1 → 0 … 2"
    assert contract_diff(None, {"columns": []})["compared"] is False


def test_the_card_of_a_finished_run_does_not_say_running(promoted) -> None:
    """Promoted inside ``track``: the card is written while the run is RUNNING; the run ended
    long before anyone reads the card."""
    from jupyter_mlops.server.service import MlopsService

    client = client_for(promoted["root"])
    assert client.get_run(promoted["runs"][0]).info.status == "FINISHED"
    card = MlopsService(promoted["root"]).model_card(MODEL, 1)
    (run_row,) = [line for line in card["markdown"].splitlines() if line.startswith("| Run |")]
    assert promoted["runs"][0] in run_row and RUN_NAMES[0] in run_row
    assert "running" not in card["markdown"].lower() and "running" not in card["html"].lower()
    assert card["run"] == {
        "id": promoted["runs"][0],
        "name": RUN_NAMES[0],
        "status": "FINISHED",
        "end_time": client.get_run(promoted["runs"][0]).info.end_time,
        "card_says_running": False,
    }


def test_an_older_card_that_says_running_is_recognised() -> None:
    from jupyter_mlops.core.registry.version_runs import card_says_running

    older = "| Model | m |\n| Run | `0123abcd` (fit), running |\n| Experiment | e |\n"
    assert card_says_running(older)
    assert not card_says_running(older.replace(", running", ", finished"))
    assert not card_says_running("| Notebook | `running.ipynb`, running |\n")
