"""`jupyter mlops models` and `jupyter mlops alias` as a user runs them: the console script in a
real project over its sqlite store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from jupyter_mlops.core.registry.alias_history import alias_history, history
from jupyter_mlops.core.registry.models import models
from tests.conftest import audit_runs, cli
from tests.core.test_models import log_model, register

HOSTILE = "<img src=x onerror=alert(1)> \x1b[31mred\x1b[0m"


@pytest.fixture
def project(module_project: Path) -> Path:
    """One project for the file (``module_project``); each test registers its own names."""
    return module_project


def audit_count(client, name: str) -> int:
    return len(audit_runs(client, name))


def test_alias_moves_and_the_history_printed_is_alias_history(project: Path, client) -> None:
    from jupyter_mlops.core.registry.models import set_alias

    _, info = log_model()
    register(info, "iris", 2)
    set_alias("iris", "champion", 1, reason="first champion")  # the API: via api
    out = cli("alias", "iris", "champion", "2", "--reason", HOSTILE, cwd=project)
    assert out.returncode == 0, out.stderr
    assert out.stdout == "alias 'champion' of iris: version 1 -> 2 (recorded)\n"
    assert client.get_model_version_by_alias("iris", "champion").version in (2, "2")

    frame = alias_history("iris")
    assert frame["via"].tolist() == ["api", "cli"]
    assert frame["reason"].tolist() == ["first champion", HOSTILE]

    printed = cli("models", "iris", "--history", "--json", cwd=project)
    assert printed.returncode == 0, printed.stderr
    data = json.loads(printed.stdout)
    assert set(data) == {"name", "rows", "truncated"}
    assert data["name"] == "iris" and data["truncated"] is False
    assert data["rows"] == history("iris").rows  # exactly history_rows
    assert [r["run_id"] for r in data["rows"]] == frame["run_id"].tolist()  # same rows, order
    assert [(r["previous"], r["version"], r["user"], r["reason"]) for r in data["rows"]] == [
        (None, 1, frame["user"][0], "first champion"),
        (1, 2, frame["user"][1], HOSTILE),
    ]
    assert [r["time"] for r in data["rows"]] == [t.isoformat() for t in frame["time"]]

    table = cli("models", "iris", "--history", cwd=project)
    assert table.returncode == 0, table.stderr
    assert table.stdout == repr(history("iris")) + "\n"  # the same table as the magic's
    lines = table.stdout.splitlines()
    assert lines[0] == "Alias history of 'iris': 2 moves, oldest first"
    assert lines[1].split() == ["time", "(UTC)", "alias", "move", "user", "via", "reason"]
    assert "none -> v1" in lines[2] and "first champion" in lines[2] and " api " in lines[2]
    assert "v1 -> v2" in lines[3] and " cli " in lines[3]
    assert "\x1b" not in table.stdout  # the store's escape sequence printed as text
    assert "<img src=x onerror=alert(1)> \\x1b[31mred\\x1b[0m" in lines[3]


def test_models_lists_models_and_versions_as_the_api_does(project: Path, client) -> None:
    _, info = log_model()
    register(info, "churn", 2)
    client.set_registered_model_alias("churn", "staging", "2")
    client.update_registered_model("churn", "\x1b[2J\x1b[31mwiped")  # another user wrote it
    out = cli("models", cwd=project)
    assert out.returncode == 0, out.stderr
    assert out.stdout == repr(models()) + "\n"
    assert "\x1b" not in out.stdout and "\\x1b[2J\\x1b[31mwiped" in out.stdout
    out = cli("models", "churn", "--json", cwd=project)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == models("churn").to_dict()


BAD = [
    (
        ("alias", "rsoe", "champion", "2"),
        "jupyter mlops alias: no registered model named 'rsoe' (did you mean 'rose'?); "
        "registered: ",  # then the names, this file's other models among them
    ),
    (("alias", "rose", "champion", "9"), "model 'rose' has no version 9; versions: 1, 2"),
    (("alias", "rose", "v2", "2"), "alias 'v2' is reserved by MLflow (it means version 2)"),
    (("alias", "rose", "champion", "2", "--reason", "  "), "a reason cannot be empty"),
    (("models", "--history"), "jupyter mlops models: --history needs NAME"),
]


def test_bad_input_is_one_line_and_nothing_is_recorded(project: Path, client) -> None:
    from jupyter_mlops.core.registry.models import set_alias

    _, info = log_model()
    register(info, "rose", 2)
    set_alias("rose", "champion", 1)
    for args, message in BAD:
        out = cli(*args, cwd=project)
        assert out.returncode == 2 and out.stdout == "", args
        assert message in out.stderr and out.stderr.startswith(f"jupyter mlops {args[0]}: ")
        assert len(out.stderr.splitlines()) == 1 and "Traceback" not in out.stderr
        if "registered: " in message:
            assert "rose" in out.stderr.split("registered: ")[1].strip().split(", ")
    assert audit_count(client, "rose") == 1  # no history run but set_alias's own
    assert client.get_model_version_by_alias("rose", "champion").version in (1, "1")
