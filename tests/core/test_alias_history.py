"""The alias history over a real sqlite store: moves recorded by promote and set_alias, read back
by alias_history and alias_at; moves made outside jupyter-mlops; garbage written by others;
moves the registry refuses; the text and HTML tables of rows from an untrusted store."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from html.parser import HTMLParser
from pathlib import Path

import pytest

from jupyter_mlops.core import tags
from jupyter_mlops.core.registry.alias_history import (
    COLUMNS,
    alias_at,
    alias_history,
    history,
    history_rows,
)
from jupyter_mlops.core.registry.alias_moves import (
    MAX_REASON,
    current_user,
    move_alias,
    record_decision,
)
from jupyter_mlops.core.registry.models import set_alias
from jupyter_mlops.core.session import project_settings
from jupyter_mlops.display.alias_history import history_html, history_text
from jupyter_mlops.errors import MlopsError
from tests.conftest import audit_runs, client_for
from tests.core.test_models import log_model, register

HOSTILE = "<img src=x onerror=alert(1)> \x1b[31mred\x1b[0m \u202eevil"


@pytest.fixture
def project(module_project: Path) -> Path:
    """One project for the file (``module_project``); each test registers its own names."""
    return module_project


def iris_promoted(name: str, alias: str | None):
    """A real promotion of a scikit-learn classifier on iris (the packaged pyfunc, verified)."""
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    import jupyter_mlops as mlops

    X, y = load_iris(return_X_y=True, as_frame=True)
    return mlops.promote(LogisticRegression(max_iter=500).fit(X, y), name, X=X, alias=alias)


def test_promote_then_set_alias_are_two_rows_and_alias_at_reads_them(project: Path, client) -> None:
    first = iris_promoted("iris", "champion")
    _, info = log_model()
    register(info, "iris")  # version 2
    set_alias("iris", "champion", 2, reason="recall up on the new month", user="alice")

    frame = alias_history("iris")
    assert list(frame.columns) == list(COLUMNS) and len(frame) == 2
    assert frame["alias"].tolist() == ["champion", "champion"]
    assert frame["previous"].tolist()[1] == 1 and frame["previous"].isna().tolist() == [True, False]
    assert frame["version"].tolist() == [1, 2]
    assert frame["user"].tolist() == [current_user(), "alice"]
    assert frame["via"].tolist() == ["promote", "api"]
    assert frame["reason"].tolist() == ["", "recall up on the new month"]
    assert frame["note"].tolist() == ["", ""] and frame["moved"].tolist() == [True, True]
    assert str(frame["time"].dt.tz) == "UTC" and frame["time"].is_monotonic_increasing
    (promoting,) = [r for r in audit_runs(client, "iris") if r.info.run_id == frame["run_id"][0]]
    assert promoting.data.tags[tags.AUDIT_SOURCE_RUN] == first.run_id

    t1, t2 = frame["time"][0].to_pydatetime(), frame["time"][1].to_pydatetime()
    between = t1 + (t2 - t1) / 2
    assert alias_at("iris", "champion", between) == 1
    assert alias_at("iris", "champion", t1 - timedelta(seconds=1)) is None
    assert alias_at("iris", "champion", t2) == 2  # the move's own time: it had moved
    assert alias_at("iris", "champion", t2.timestamp() + 1) == 2  # a Unix timestamp
    assert alias_at("iris", "champion", int(t1.timestamp()) - 1) is None
    assert alias_at("iris", "champion", between.isoformat()) == 1  # ISO text with offset
    assert alias_at("iris", "champion", between.strftime("%Y-%m-%dT%H:%M:%S.%fZ")) == 1
    assert alias_at("iris", "staging", t2) is None  # an alias never set
    # a naive datetime is UTC, not the machine's local time (9 hours off here)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TZ", "Asia/Tokyo")
        time.tzset()
        try:
            assert time.localtime(0).tm_hour == 9
            assert alias_at("iris", "champion", between.replace(tzinfo=None)) == 1
            assert alias_at("iris", "champion", between.replace(tzinfo=None).isoformat()) == 1
        finally:
            mp.undo()
            time.tzset()
    with pytest.raises(MlopsError, match="is not a time"):
        alias_at("iris", "champion", "1 October")


def test_a_move_outside_jupyter_mlops_is_a_row_and_the_next_recorded_move_notes_the_gap(
    project: Path, client
) -> None:
    _, info = log_model()
    register(info, "churn", 3)
    set_alias("churn", "champion", 1, reason="first")
    client.set_registered_model_alias("churn", "champion", "2")  # MLflow's own client: no record

    rows, truncated = history_rows(project_settings(), "churn")
    assert not truncated and len(rows) == 2
    outside = rows[1]
    assert (outside["time"], outside["previous"], outside["version"]) == (None, 1, 2)
    assert outside["run_id"] is None and outside["user"] == "" and outside["via"] == ""
    assert outside["note"] == (
        "the registry gives 'champion' version 2, not version 1 as the history last recorded: "
        "moved outside jupyter-mlops, time unknown"
    )

    now = datetime.now(timezone.utc)
    with pytest.raises(MlopsError) as caught:  # v1 or v2: when it moved was not recorded
        alias_at("churn", "champion", now)
    assert str(caught.value) == (
        f"alias 'champion' of 'churn' was moved from version 1 to version 2 outside "
        f"jupyter-mlops after {rows[0]['time']}, at a time not recorded: at "
        f"{now.isoformat()} it held version 1 or version 2"
    )

    set_alias("churn", "champion", 3, reason="after the hotfix")
    rows, _ = history_rows(project_settings(), "churn")
    assert [(r["previous"], r["version"], r["reason"]) for r in rows] == [
        (None, 1, "first"),
        (2, 3, "after the hotfix"),  # the registry's previous version, as it was
    ]
    assert rows[0]["note"] == ""
    assert rows[1]["note"] == (
        "the alias held version 2 here, not version 1 as the history last recorded: a move "
        "between was made outside jupyter-mlops"
    )
    assert "outside jupyter-mlops" in history_text(history("churn").to_dict())
    t1, t2 = (datetime.fromisoformat(r["time"]) for r in rows)
    assert alias_at("churn", "champion", t1 - timedelta(seconds=1)) is None
    assert alias_at("churn", "champion", t1) == 1  # the recorded move, before anything else
    assert alias_at("churn", "champion", t2) == 3
    with pytest.raises(MlopsError, match=r"between .* it held version 1 or version 2$"):
        alias_at("churn", "champion", t1 + (t2 - t1) / 2)


def test_history_runs_with_garbage_tags_are_read_with_those_fields_empty(
    project: Path, client
) -> None:
    _, info = log_model()
    register(info, "fraud")
    set_alias("fraud", "staging", 1, reason="a real move")
    experiment = client.get_experiment_by_name(tags.audit_experiment("fraud")).experiment_id
    garbage = [
        {  # another user's hand-written run
            tags.AUDIT_VERSION: "\u00b2",  # a digit to str.isdigit, not to int()
            tags.AUDIT_PREVIOUS: "three",
            tags.AUDIT_TIME: "yesterday at noon",
            tags.AUDIT_REASON: "x" * 7000,
            tags.AUDIT_GATE: "{not json",
            tags.AUDIT_MOVED: "yes",
        },
        {tags.AUDIT_TIME: "2026-10-01T12:00:00", tags.AUDIT_GATE: "[" * 5000},  # naive; deep
        {tags.AUDIT_VERSION: "99999999999", tags.AUDIT_GATE: '{"challenger_score": NaN}'},
        {tags.AUDIT_GATE: '["a list"]', tags.AUDIT_FORCED: "maybe"},
    ]
    for extra in garbage:
        run = client.create_run(
            experiment,
            tags={
                tags.AUDIT_RUN: "alias",
                tags.AUDIT_MODEL: "fraud",
                tags.AUDIT_ALIAS: "staging",
                **extra,
            },
        )
        client.set_terminated(run.info.run_id, "FINISHED")

    rows, _ = history_rows(project_settings(), "fraud")
    real = [r for r in rows if r["reason"] == "a real move"]
    assert len(real) == 1 and real[0]["version"] == 1
    odd = [r for r in rows if r["run_id"] and r is not real[0]]
    assert len(odd) == 4
    for row in odd:
        assert row["time"] is None and row["version"] is None and row["gate"] is None
        assert row["forced"] is False
    (long,) = [r for r in odd if r["reason"]]
    assert long["reason"] == "x" * MAX_REASON and long["previous"] is None
    assert long["moved"] is False  # "yes" is not what move_alias writes
    frame = alias_history("fraud")
    assert frame["run_id"].tolist() == [r["run_id"] for r in rows]
    assert frame["version"].isna().sum() >= 4
    text = history_text(history("fraud").to_dict())
    assert text.count("unknown") >= 4 and "x" * 100 not in text  # a cell is cut short
    assert alias_at("fraud", "staging", datetime.now(timezone.utc)) == 1


def test_a_move_the_registry_refuses_leaves_a_failed_run_the_history_leaves_out(
    project: Path, client
) -> None:
    from mlflow.exceptions import MlflowException

    _, info = log_model()
    register(info, "spam", 2)
    set_alias("spam", "champion", 1)
    client.delete_model_version("spam", "2")  # deleted between the check and the move
    settings = project_settings()
    with pytest.raises(MlflowException):
        move_alias(client, settings, "spam", "champion", 2, reason="too late", via="api")
    runs = audit_runs(client, "spam")
    (failed,) = [r for r in runs if r.info.status == "FAILED"]
    assert failed.data.tags[tags.AUDIT_VERSION] == "2"
    assert failed.data.tags[tags.AUDIT_ERROR]  # the registry's reason
    rows, _ = history_rows(settings, "spam")
    assert [(r["version"], r["note"]) for r in rows] == [(1, "")]
    assert {a: int(v) for a, v in client.get_registered_model("spam").aliases.items()} == {
        "champion": 1
    }


def test_set_alias_refuses_an_empty_reason_before_recording_anything(project: Path, client) -> None:
    _, info = log_model()
    register(info, "empty")
    for reason in ("", "   \n "):
        with pytest.raises(MlopsError, match="a reason cannot be empty"):
            set_alias("empty", "champion", 1, reason=reason)
    assert audit_runs(client, "empty") == []
    assert client.get_registered_model("empty").aliases == {}


class Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: set[str] = set()
        self.attributes: set[str] = set()
        self.text = ""

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self.tags.add(tag)
        self.attributes |= {name for name, _ in attrs}

    def handle_data(self, data: str) -> None:
        self.text += data


def test_hostile_values_print_and_render_as_the_text_they_are(project: Path, client) -> None:
    _, info = log_model()
    register(info, "hostile", 2)
    set_alias("hostile", "champion", 1, reason=HOSTILE, user="<b>mallory</b>\x1b]0;pwned\x07")
    set_alias("hostile", "champion", 2, reason="short")
    table = history("hostile").to_dict()
    assert table["rows"][0]["reason"] == " ".join(HOSTILE.split())

    text = history_text(table)
    assert "\x1b" not in text and "\x07" not in text and "\u202e" not in text
    assert "<img src=x onerror=alert(1)> \\x1b[31mred\\x1b[0m \\u202eevil" in text
    assert "<b>mallory</b>\\x1b]0;pwned\\x07" in text
    assert len(text.splitlines()) == 4  # title, header, two rows: nothing broke a line

    page = history_html(table)
    parsed = Tags()
    parsed.feed(page)
    assert parsed.tags == {"div", "style", "h3", "table", "thead", "tbody", "tr", "th", "td"}
    assert parsed.attributes == {"class"}  # no src, href, onerror, style from the store
    assert "<img src=x onerror=alert(1)> \\x1b[31mred\\x1b[0m \\u202eevil" in parsed.text
    assert "<b>mallory</b>" in parsed.text and "\x1b" not in page


def test_a_gate_row_shows_its_result_and_both_scores(project: Path, client) -> None:
    _, info = log_model()
    register(info, "gated", 2)
    set_alias("gated", "champion", 1)
    decision = {  # as core.production.gate records it (GateResult.decision())
        "result": "passed",
        "scoring": "accuracy",
        "challenger": 2,
        "champion": 1,
        "challenger_score": 0.9561,
        "champion_score": 0.9473,
        "tolerance": 0.0,
        "reasons": [],
    }
    move_alias(
        client,
        project_settings(),
        "gated",
        "champion",
        2,
        reason="checks failed on a flaky test",
        via="gate",
        forced=True,
        gate=decision,
    )
    record_decision(
        client,
        project_settings(),
        "gated",
        "champion",
        gate={
            "result": "refused",
            "scoring": "<i>f1</i>",
            "challenger_score": 0.5,
            "champion_score": 0.9,
        },
    )
    rows = history("gated").rows
    assert [(r["previous"], r["version"], r["moved"], r["via"]) for r in rows] == [
        (None, 1, True, "api"),
        (1, 2, True, "gate"),
        (2, 2, False, "gate"),
    ]
    assert rows[1]["gate"] == decision and rows[1]["forced"] is True
    lines = history_text(history("gated").to_dict()).splitlines()
    assert lines[1].split()[-2:] == ["gate", "forced"]
    assert "v1 -> v2" in lines[3] and "passed: accuracy v2 0.9561 vs v1 0.9473" in lines[3]
    assert lines[3].rstrip().endswith("forced")
    assert "v2 stays" in lines[4] and "refused: <i>f1</i> 0.5000 vs 0.9000" in lines[4]
    cut = history_text({**history("gated").to_dict(), "truncated": True}).splitlines()[0]
    assert cut == (
        "Alias history of 'gated': 2 moves and 1 refusal, oldest first (the newest only: the "
        "history is longer)"
    )
    page = history_html(history("gated").to_dict())
    assert "refused: &lt;i&gt;f1&lt;/i&gt; 0.5000 vs 0.9000" in page and "<i>" not in page


def test_the_history_on_a_real_mlflow_server(project: Path, mlflow_server: str) -> None:
    """A shared server: the moves, a move by a plain client, and the CLI reading them back."""
    import json

    import mlflow
    import mlflow.sklearn
    from mlflow import MlflowClient
    from sklearn.linear_model import LogisticRegression

    import jupyter_mlops as mlops
    from tests.conftest import cli

    model = LogisticRegression().fit([[0.0], [1.0], [2.0], [3.0]], [0, 0, 1, 1])
    with mlops.track(experiment="remote-history", tracking_uri=mlflow_server, autolog=False):
        info = mlflow.sklearn.log_model(model, name="m", pip_requirements=["scikit-learn"])
    client = MlflowClient(mlflow_server, registry_uri=mlflow_server)
    client.create_registered_model("served")
    for _ in range(2):
        client.create_model_version("served", info.model_uri, model_id=info.model_id)
    set_alias("served", "champion", 1, reason="first", tracking_uri=mlflow_server)
    set_alias("served", "champion", 2, reason="second", tracking_uri=mlflow_server)
    client.set_registered_model_alias("served", "champion", "1")  # outside jupyter-mlops

    found = history("served", tracking_uri=mlflow_server)
    assert [(r["previous"], r["version"], r["reason"], r["via"]) for r in found.rows] == [
        (None, 1, "first", "api"),
        (1, 2, "second", "api"),
        (2, 1, "", ""),
    ]
    assert "outside jupyter-mlops" in found.rows[2]["note"]
    t1, t2 = (datetime.fromisoformat(r["time"]) for r in found.rows[:2])
    assert alias_at("served", "champion", t1 + (t2 - t1) / 2, tracking_uri=mlflow_server) == 1
    assert client.get_experiment_by_name(tags.audit_experiment("served")) is not None
    embedded = client_for(project)  # nothing of it in the embedded store
    assert embedded.get_experiment_by_name(tags.audit_experiment("served")) is None

    out = cli(
        "models",
        "served",
        "--history",
        "--json",
        cwd=project,
        env={"MLFLOW_TRACKING_URI": mlflow_server},
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["rows"] == found.rows


def test_alias_at_before_a_history_that_begins_with_the_alias_set(project: Path, client) -> None:
    _, info = log_model()
    register(info, "pre", 2)
    client.set_registered_model_alias("pre", "champion", "1")  # before any recorded move
    set_alias("pre", "champion", 2, reason="first recorded")
    (row,) = history("pre").rows
    assert (row["previous"], row["version"], row["note"]) == (1, 2, "")
    moment = datetime.fromisoformat(row["time"]) - timedelta(days=1)
    with pytest.raises(MlopsError) as caught:
        alias_at("pre", "champion", moment)
    assert str(caught.value) == (
        f"alias 'champion' of 'pre' already held version 1 when its history begins "
        f"({row['time']}): which version held it at {moment.isoformat()} was not recorded"
    )
    assert alias_at("pre", "champion", row["time"]) == 2
