"""monitoring_history over a real sqlite store: the windows monitor records, read back as
untrusted input (issue 20, the panel's health view)."""

from __future__ import annotations

import json
import math
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from jupyter_mlops.config import resolve_settings
from jupyter_mlops.core.production import monitor_history
from jupyter_mlops.core.production.monitor_history import monitoring_history
from jupyter_mlops.errors import MlopsError, NotFoundError
from tests.conftest import ENV_VARS, client_for
from tests.monitoring_runs import T0, write_window

ODD = 'it\'s "odd" 100%'


@pytest.fixture(scope="module")
def _template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project whose registry holds churn v1, v2 and ODD v1 (made once, copied per test)."""
    from jupyter_mlops.core import store as store_

    root = tmp_path_factory.mktemp("history") / "proj"
    root.mkdir()
    store_.prepare(resolve_settings(root, environ={}))
    client = client_for(root)
    run = client.create_run(client.create_experiment("training"))
    for name, count in (("churn", 2), (ODD, 1)):
        client.create_registered_model(name)
        for _ in range(count):
            client.create_model_version(name, f"{run.info.artifact_uri}/model", run.info.run_id)
    conn = sqlite3.connect(root / ".mlops" / "mlflow.db")
    try:  # everything in the main file, so a copy of the folder is a consistent store
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    return root


@pytest.fixture
def store(_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, Any]:
    """Settings and client of a copy of the template project."""
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    root = tmp_path / "proj"
    shutil.copytree(_template, root)
    return resolve_settings(root, environ={}), client_for(root)


def test_a_version_never_monitored_has_no_windows(store) -> None:
    settings, _ = store
    history = monitoring_history(settings, "churn", 1)
    assert history == {
        "name": "churn",
        "version": 1,
        "experiment_id": None,
        "windows": [],
        "last": None,
        "truncated": False,
    }


def test_windows_of_the_version_oldest_first(store) -> None:
    settings, client = store
    # recorded newest window first: the order comes from the window start, not the record
    drifted = write_window(
        client,
        "churn",
        1,
        "2026-03-02T00:00:00+00:00",
        end="2026-03-03T00:00:00+00:00",
        verdict="drifted",
        drifted=["age", "plan"],
        rows=1200,
        violation_rate=0.125,
    )
    stable = write_window(
        client, "churn", 1, "2026-03-01T00:00:00Z", end="2026-03-02T00:00:00Z", rows=1000
    )
    write_window(client, "churn", 2, "2026-03-01T00:00:00+00:00", verdict="drifted", drifted=["x"])
    # in churn's experiment but recorded for another model: not churn's window
    write_window(client, "churn", 1, "2026-03-04T00:00:00+00:00", mlops__monitor__model="other")
    deleted = write_window(client, "churn", 1, "2026-03-05T00:00:00+00:00")
    client.delete_run(deleted)

    history = monitoring_history(settings, "churn", "1")
    exp = client.get_experiment_by_name("monitoring/churn")
    assert history["experiment_id"] == exp.experiment_id and history["truncated"] is False
    assert [w["run_id"] for w in history["windows"]] == [stable, drifted]
    first, last = history["windows"]
    assert history["last"] == last
    assert first["verdict"] == "stable" and first["drifted"] == [] and first["drifted_count"] == 0
    assert first["start"] == "2026-03-01T00:00:00+00:00" and first["rows"] == 1000
    assert last == {
        "run_id": drifted,
        "start": "2026-03-02T00:00:00+00:00",
        "end": "2026-03-03T00:00:00+00:00",
        "verdict": "drifted",
        "rows": 1200,
        "violation_rate": 0.125,
        "drifted": ["age", "plan"],
        "drifted_count": 2,
        "prediction_drifted": False,
        "problems": [],
    }
    assert monitoring_history(settings, "churn", 2)["last"]["drifted"] == ["x"]


def test_ties_on_window_start_follow_the_run_start(store) -> None:
    settings, client = store
    later = write_window(client, ODD, 1, "2026-03-01T00:00:00+00:00", run_start=T0 + 5)
    earlier = write_window(client, ODD, 1, "2026-03-01T00:00:00+00:00", run_start=T0)
    history = monitoring_history(settings, ODD, 1)
    assert [w["run_id"] for w in history["windows"]] == [earlier, later]


def test_every_page_is_read_and_the_newest_windows_kept(store, monkeypatch) -> None:
    settings, client = store
    monkeypatch.setattr(monitor_history, "PAGE", 3)
    ids = [
        write_window(client, "churn", 1, f"2026-03-{day:02d}T00:00:00+00:00", run_start=T0 - day)
        for day in range(1, 9)
    ]
    every = monitoring_history(settings, "churn", 1)
    assert [w["run_id"] for w in every["windows"]] == ids and every["truncated"] is False
    newest = monitoring_history(settings, "churn", 1, limit=5)
    assert [w["run_id"] for w in newest["windows"]] == ids[-5:] and newest["truncated"] is True
    assert newest["last"]["run_id"] == ids[-1]


def test_values_a_shared_store_may_hold_are_read_as_far_as_they_can_be(store) -> None:
    settings, client = store
    odd = {
        "not json": "age, plan",
        "an object": '{"age": 1}',
        "not text": json.dumps(["age", 3, None, ["plan"]]),
        "nested": "[" * 3000 + "]" * 3000,
        "huge": json.dumps([f"{'c' * 40}{i:03d}" for i in range(150)]),  # under MLflow's 8000
    }
    ids = {}
    for day, (label, value) in enumerate(odd.items(), start=1):
        ids[label] = write_window(client, "churn", 1, f"2026-04-{day:02d}", drifted=value)
    ids["bad values"] = write_window(
        client,
        "churn",
        1,
        "yesterday",
        verdict="<b>drifted</b>",
        drifted=["<img src=x onerror=alert(1)>"],
        rows=math.nan,
        violation_rate=7.0,
        mlops__monitor__prediction_drifted="maybe",
    )
    ids["missing"] = write_window(
        client, "churn", 1, "2026-05-01T00:00:00+02:00", rows=None, violation_rate=None
    )
    windows = {w["run_id"]: w for w in monitoring_history(settings, "churn", 1)["windows"]}
    assert set(windows) == set(ids.values())  # every window is shown
    by = {label: windows[run_id] for label, run_id in ids.items()}
    for label in ("not json", "an object", "nested"):
        assert by[label]["drifted"] == [] and by[label]["drifted_count"] is None, label
        assert by[label]["problems"] == [  # and monitor always logs the count
            "the drifted columns are not a JSON list",
            "the metric drifted_columns is missing",
        ], label
        assert by[label]["rows"] == 500 and by[label]["verdict"] == "stable", label
    assert by["not text"]["drifted"] == ["age"] and by["not text"]["drifted_count"] == 1
    assert by["not text"]["problems"][0] == "3 drifted column name(s) are not text"
    huge = by["huge"]
    assert len(huge["drifted"]) == 50 and huge["drifted_count"] == 150
    assert all(len(n) == 43 for n in huge["drifted"])  # shorter than the cut: whole
    assert huge["problems"][0] == "150 drifted columns listed; the first 50 are shown"
    bad = by["bad values"]
    assert bad["drifted"] == ["<img src=x onerror=alert(1)>"]  # a name, kept as text
    assert bad["verdict"] is None and bad["start"] is None and bad["rows"] is None
    assert bad["violation_rate"] is None and bad["prediction_drifted"] is None
    assert set(bad["problems"]) == {
        "the window start is not an ISO 8601 time",
        "the window end is not an ISO 8601 time",
        "the verdict is missing or not one monitor writes",
        "prediction_drifted is missing or not true/false",
        "the metric rows is not a finite number",
        "violation_rate is not between 0 and 1",
    }
    missing = by["missing"]
    assert missing["start"] == "2026-04-30T22:00:00+00:00"  # read as UTC
    assert missing["rows"] is None and missing["violation_rate"] is None
    assert "the metric rows is missing" in missing["problems"]
    assert json.dumps(list(windows.values()), allow_nan=False)  # JSON as the server sends it


def test_a_cut_name_and_a_naive_time(store) -> None:
    settings, client = store
    write_window(client, "churn", 1, "2026-03-01T12:00:00", drifted=["n" * 400])
    (only,) = monitoring_history(settings, "churn", 1)["windows"]
    assert only["drifted"] == ["n" * 250] and only["drifted_count"] == 1
    assert only["start"] == "2026-03-01T12:00:00+00:00"


def test_unknown_or_malformed_names_are_one_line(store) -> None:
    settings, _ = store
    for name, version, limit, error in [
        ("nope", 1, 100, NotFoundError),
        ("churn", 3, 100, NotFoundError),
        ("churn", "two", 100, MlopsError),
        ("churn", 0, 100, MlopsError),
        ("a/b", 1, 100, MlopsError),
        ("churn", 1, 0, MlopsError),
        ("churn", 1, 1001, MlopsError),
    ]:
        with pytest.raises(error) as caught:
            monitoring_history(settings, name, version, limit=limit)
        assert "\n" not in str(caught.value) and str(caught.value), (name, version, limit)
        if error is MlopsError:
            assert not isinstance(caught.value, NotFoundError), (name, version, limit)


def test_the_filter_quotes_dotted_tag_keys() -> None:
    assert monitor_history.version_filter(3) == (
        "tags.`mlops.monitor` = 'true' AND tags.`mlops.monitor.version` = '3'"
    )
