"""``mlops.monitor`` (issue 20, acceptance 4): a real promoted pipeline in a real sqlite store,
its inference log written by the real writer the loaded model starts (MLOPS_INFERENCE_LOG set),
read back with pyarrow, judged window by window and recorded as real MLflow runs.

The writer stamps each request with the wall clock (``time.time()`` when the request is
recorded); to put requests in given days, ``time.time`` is patched while the model predicts
them, and the writer itself partitions and writes the files.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
import os
import textwrap
from pathlib import Path
from unittest import mock

import pandas as pd
import pyarrow as pa
import pytest

import jupyter_mlops as mlops
from jupyter_mlops.core import identity, tags
from jupyter_mlops.core.production import monitor_report
from jupyter_mlops.errors import MlopsError
from tests.conftest import ENV_VARS, client_for, git

NOTEBOOK = """
import numpy as np
import pandas as pd
import pyarrow as pa
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder

def shop_rows(n, seed, amount_mu=3.0, channels=(0.6, 0.3, 0.1)):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "amount": rng.lognormal(amount_mu, 0.5, n),
        "score": rng.normal(0, 1, n),
        "channel": rng.choice(["web", "shop", "phone"], n, p=list(channels)),
        "region": rng.choice(["north", "south"], n, p=[0.5, 0.5]),
    })

X = shop_rows(4000, 1)
noise = np.random.default_rng(2).normal(0, 0.1, len(X))
y = 0.5 * X["score"] + 4 * np.log(X["amount"]) + (X["channel"] == "web") + noise
encode = ColumnTransformer(
    [("cat", OneHotEncoder(handle_unknown="ignore"), ["channel", "region"])],
    remainder="passthrough",
)
model = make_pipeline(encode, Ridge()).fit(X, y)
"""

DAY1 = dt.datetime(2026, 11, 2, tzinfo=dt.timezone.utc)
DAY2 = DAY1 + dt.timedelta(days=1)
SINCE, UNTIL = "2026-11-02", "2026-11-05"  # day 1 unshifted, day 2 shifted, day 3 empty
REQUEST_ROWS = 200


def log_requests(loaded, frame: pd.DataFrame, day: dt.datetime) -> None:
    """``frame`` predicted in requests of REQUEST_ROWS rows, each stamped one minute apart in
    ``day`` (``time.time`` patched while the real writer records it)."""
    for i, start in enumerate(range(0, len(frame), REQUEST_ROWS)):
        stamp = (day + dt.timedelta(hours=1, minutes=i)).timestamp()
        with mock.patch("time.time", return_value=stamp):
            loaded.predict(frame.iloc[start : start + REQUEST_ROWS])


def build_project(root: Path, shell, name: str = "shop") -> dict:
    """A git project with ``name`` promoted (alias ``live``) and two days of logged requests
    (``log_two_days``)."""
    git(root, "init", "-q")
    (root / "README.md").write_text("demo\n")
    git(root, "add", "README.md")
    git(root, "commit", "-q", "-m", "init")
    shell.run_cell(textwrap.dedent(NOTEBOOK)).raise_error()
    X, model, rows = shell.user_ns["X"], shell.user_ns["model"], shell.user_ns["shop_rows"]
    mlops.promote(model, name, X=X, alias="live")
    return {"root": root, "X": X, **log_two_days(f"models:/{name}@live", rows)}


def log_two_days(uri: str, rows) -> dict:
    """Day 1 drawn as the training data was, day 2 with ``amount`` and ``channel`` shifted,
    each with one request holding 3 rows of a level never seen in training (``fax``), predicted
    by the promoted model loaded with its inference log on."""
    import mlflow.pyfunc

    from jupyter_mlops.config import resolve_settings
    from jupyter_mlops.core.production import target

    settings = resolve_settings()
    resolved = target.resolve(uri, settings)
    day1 = rows(4000, 11)
    day2 = rows(4000, 12, amount_mu=3.6, channels=(0.3, 0.3, 0.4))
    for day in (day1, day2):
        day.loc[[5, 6, 7], "channel"] = "fax"  # one request with 3 rows out of contract
    with mock.patch.dict(os.environ, resolved.log_env(settings)):
        loaded = mlflow.pyfunc.load_model(str(resolved.folder))
    log_requests(loaded, day1, DAY1)
    log_requests(loaded, day2, DAY2)
    loaded._model_impl.log.close()  # every queued request written
    return {"day1": day1, "day2": day2, "settings": settings}


_BUILT: dict = {}  # one promoted project per test session, shared by the monitor test modules


def shared_shop(tmp_path_factory, shell) -> dict:
    """The project of ``build_project``, built once per session (a promotion verifies in a
    fresh process: the costliest step); tests/cli and tests/magics use it too."""
    if "shop" not in _BUILT:
        root = tmp_path_factory.mktemp("monitor") / "proj"
        root.mkdir()
        with project_at(root):
            _BUILT["shop"] = build_project(root, shell)
    return _BUILT["shop"]


@pytest.fixture(scope="module")
def shop(tmp_path_factory, _shell):
    built = shared_shop(tmp_path_factory, _shell)
    with project_at(built["root"]):
        yield built


@contextlib.contextmanager
def project_at(root: Path):
    """``root`` as the working directory with no MLflow variable set, for a module's tests."""
    before = os.getcwd()
    saved = {k: os.environ.pop(k) for k in ENV_VARS if k in os.environ}
    os.chdir(root)
    try:
        yield root
    finally:
        os.chdir(before)
        os.environ.update(saved)


def monitoring_runs(client, name: str = "shop") -> list:
    experiment = client.get_experiment_by_name(tags.monitoring_experiment(name))
    if experiment is None:
        return []
    found = client.search_runs([experiment.experiment_id], max_results=1000)
    return sorted(found, key=lambda r: (r.data.tags[tags.MONITOR_WINDOW_START], r.info.start_time))


def test_a_shifted_day_flags_exactly_its_two_columns_and_is_recorded_run_by_run(shop):
    client = client_for(shop["root"])
    before = len(monitoring_runs(client))
    report = mlops.monitor("shop@live", since=SINCE, until=UNTIL)
    unshifted, shifted, empty = report.windows
    assert [w["start"] for w in report.windows] == [
        "2026-11-02T00:00:00Z",
        "2026-11-03T00:00:00Z",
        "2026-11-04T00:00:00Z",
    ]
    assert report.data["uri"] == "models:/shop/1"  # the alias resolved once, to a number
    # the unshifted day flags nothing; the shifted one exactly amount and channel
    assert unshifted["verdict"] == "stable" and unshifted["drifted"] == []
    assert shifted["verdict"] == "drifted" and sorted(shifted["drifted"]) == ["amount", "channel"]
    assert {c for c, r in shifted["features"]["columns"].items() if r["drifted"]} == {
        "amount",
        "channel",
    }
    assert report.drifted == ["amount", "channel"] and report.exit_code == 3
    # the predictions are judged apart: they moved with amount, and are no input column
    assert shifted["prediction_drifted"] and not unshifted["prediction_drifted"]
    assert "prediction" not in shifted["drifted"]
    assert list(shifted["prediction_drift"]["columns"]) == ["prediction"]
    # an empty window is empty, not stable
    assert empty["verdict"] == "empty" and empty["rows"] == 0 and empty["features"] is None
    # rows and requests; 3 violating rows of one 200-row request: 3 rows, not 3 x 200
    assert [w["rows"] for w in report.windows] == [4000, 4000, 0]
    assert unshifted["requests"] == 20 and unshifted["drift_rows"] == 4000
    assert unshifted["violations"] == {"channel": {"rows": 3, "rate": 3 / 4000}}
    assert unshifted["violation_rate"] == 3 / 4000
    assert shifted["violations"]["channel"]["rows"] == 3
    over = int((shop["day2"]["amount"] > shop["X"]["amount"].max()).sum())
    assert shifted["violations"]["amount"]["rows"] == over > 3
    assert shifted["violation_rate"] == over / 4000

    # the terminal text: one line per window and a summary
    text = repr(report).splitlines()
    assert "stable" in text[1] and "drifted: amount, channel" in text[2] and "empty" in text[3]
    assert text[-1].startswith("drifted: 2 input columns drifted (amount, channel)")

    # the records: one FINISHED run per window with the names the panel reads
    assert len(monitoring_runs(client)) == before + 3
    runs = [client.get_run(w["run_id"]) for w in report.windows]
    assert [r.info.status for r in runs] == ["FINISHED"] * 3
    t = [r.data.tags for r in runs]
    assert {x[tags.MONITOR_RUN] for x in t} == {"true"}
    assert {x[tags.MLFLOW_USER] for x in t} == {identity.local_user().user}  # who judged them
    assert {(x[tags.MONITOR_MODEL], x[tags.MONITOR_VERSION]) for x in t} == {("shop", "1")}
    assert [x[tags.MONITOR_VERDICT] for x in t] == ["stable", "drifted", "empty"]
    assert [json.loads(x[tags.MONITOR_DRIFTED]) for x in t] == [[], ["amount", "channel"], []]
    assert [x[tags.MONITOR_PREDICTION_DRIFTED] for x in t] == ["false", "true", "false"]
    assert t[1][tags.MONITOR_WINDOW_END] == "2026-11-04T00:00:00Z"
    m = [r.data.metrics for r in runs]
    assert [x[tags.MONITOR_ROWS] for x in m] == [4000, 4000, 0]
    assert [x[tags.MONITOR_DRIFTED_COUNT] for x in m] == [0, 2, 0]
    assert m[0][tags.MONITOR_VIOLATION_RATE] == 3 / 4000
    assert [x[tags.MONITOR_DRIFT_ROWS] for x in m] == [4000, 4000, 0]
    paths = {f.path for f in client.list_artifacts(runs[1].info.run_id, "monitor")}
    assert paths == {f"{tags.MONITOR_REPORT}.json", f"{tags.MONITOR_REPORT}.html"}
    folder = shop["root"] / "downloaded"
    local = client.download_artifacts(runs[1].info.run_id, "monitor", str(folder))
    page = json.loads((Path(local) / "drift.json").read_text())
    assert [w["start"] for w in page["windows"]] == ["2026-11-03T00:00:00Z"]
    assert page["windows"][0]["drifted"] == ["amount", "channel"]
    html = (Path(local) / "drift.html").read_text()
    assert "<script" not in html and "amount" in html and "Contract violations" in html

    # the panel's reader (monitor_history, the REST route's) reads them as written
    from jupyter_mlops.core.production.monitor_history import monitoring_history

    history = monitoring_history(shop["settings"], "shop", 1)
    mine = [w for w in history["windows"] if w["run_id"] in {r.info.run_id for r in runs}]
    assert [(w["verdict"], w["drifted"], w["rows"], w["problems"]) for w in mine] == [
        ("stable", [], 4000, []),
        ("drifted", ["amount", "channel"], 4000, []),
        ("empty", [], 0, []),
    ]
    assert mine[1]["prediction_drifted"] is True and mine[1]["start"] == "2026-11-03T00:00:00+00:00"

    # again: new runs beside the old (a record of each judgement), none without record
    again = mlops.monitor("shop/1", since="2026-11-03", until="2026-11-04", record=False)
    assert [w["drifted"] for w in again.windows] == [["amount", "channel"]]
    assert "run_id" not in again.windows[0] and len(monitoring_runs(client)) == before + 3
    mlops.monitor("shop", since="2026-11-03T00:00:00Z", until="2026-11-04")  # latest version
    runs = monitoring_runs(client)
    assert len(runs) == before + 4
    same = [r for r in runs if r.data.tags[tags.MONITOR_WINDOW_START] == "2026-11-03T00:00:00Z"]
    assert len(same) >= 2 and {r.data.tags[tags.MONITOR_VERDICT] for r in same} == {"drifted"}


def test_since_and_until_cut_the_windows_and_an_hour_window_counts_its_rows(shop):
    report = mlops.monitor(
        "shop@live",
        since="2026-11-02T01:05",
        until="2026-11-02T03:00+00:00",
        window="1h",
        record=False,
    )
    # requests are one minute apart from 01:00: 01:05..01:19 are 15 requests, 02:00.. none
    assert [(w["start"], w["end"], w["rows"]) for w in report.windows] == [
        ("2026-11-02T01:05:00Z", "2026-11-02T02:00:00Z", 15 * REQUEST_ROWS),
        ("2026-11-02T02:00:00Z", "2026-11-02T03:00:00Z", 0),
    ]
    assert report.verdict in ("stable", "inconclusive") and report.exit_code == 0
    # default since: the first logged row's day; default until: now
    whole = mlops.monitor("shop@live", window="7d", record=False)
    assert whole.windows[0]["start"] == "2026-11-02T00:00:00Z"
    assert sum(w["rows"] for w in whole.windows) == 8000


def test_a_large_window_is_compared_through_a_seeded_sample_said_in_drift_rows(shop, monkeypatch):
    monkeypatch.setattr(monitor_report, "DRIFT_ROWS", 1000)
    one = mlops.monitor("shop@live", since=SINCE, until="2026-11-03", record=False)
    two = mlops.monitor("shop@live", since=SINCE, until="2026-11-03", record=False)
    (w,) = one.windows
    assert w["rows"] == 4000 and w["drift_rows"] == 1000
    assert w["features"]["n_current"] == 1000 and w["violation_rate"] == 3 / 4000
    assert w["features"] == two.windows[0]["features"] | {
        "elapsed_seconds": w["features"]["elapsed_seconds"]
    }


@pytest.mark.parametrize(
    ("model", "kwargs", "needle"),
    [
        ("nope", {}, "no registered model"),
        ("shop/7", {}, "has no version 7"),
        ("shop@gone", {}, "has no alias 'gone'"),
        ("shop", {"window": "2w"}, "window '2w' is not a number of hours or days"),
        ("shop", {"window": "0h"}, "window '0h'"),
        ("shop", {"since": "yesterday"}, "--since 'yesterday' is not an ISO 8601"),
        ("shop", {"since": "2026-11-05", "until": "2026-11-02"}, "is not after --since"),
        ("shop", {"since": "2020-01-01", "window": "1h"}, "more than 1,000"),
        ("", {}, "monitor needs a registered model"),
    ],
)
def test_bad_input_is_one_line(shop, model, kwargs, needle):
    with pytest.raises(MlopsError) as caught:
        mlops.monitor(model, record=False, **kwargs)
    message = str(caught.value)
    assert needle in message and "\n" not in message


def test_no_log_is_one_line(shop, tmp_path):
    settings = dataclasses.replace(shop["settings"], inference_log=str(tmp_path / "nothing"))
    with pytest.raises(MlopsError) as caught:
        mlops.monitor("shop@live", settings=settings, record=False)
    message = str(caught.value)
    assert message.startswith("no inference log of models:/shop/1 at ") and "\n" not in message
    # a writer started and wrote nothing yet: its marker only, no Parquet file
    (tmp_path / "nothing" / "shop" / "_writers").mkdir(parents=True)
    (tmp_path / "nothing" / "shop" / "_writers" / "h-1-x.json").write_text("{}")
    with pytest.raises(MlopsError) as caught:
        mlops.monitor("shop@live", since=SINCE, settings=settings, record=False)
    assert str(caught.value).startswith("the inference log at ")
    assert "has no rows of models:/shop/1" in str(caught.value)


def test_violations_count_each_request_once_and_never_trust_a_cell():
    cells = {
        "a": '{"x": 2}',  # 2 of 5 rows
        "b": '{"x": 1, "y": 9}',  # y claims 9 of 3 rows: capped at 3
        "c": "{}",
        "d": '__import__("os").system("echo pwned")',  # not JSON: unreadable, never run
        "e": '{"x": NaN}',
    }
    sizes = {"a": 5, "b": 3, "c": 10, "d": 1, "e": 1}
    rows = [(r, cells[r]) for r, n in sizes.items() for _ in range(n)]
    frame = pd.DataFrame(rows, columns=["_mlops_request", "_mlops_violations"])
    out = monitor_report.violations(pa.Table.from_pandas(frame, preserve_index=False))
    assert out["requests"] == 5 and out["unreadable_violations"] == 2
    assert out["violations"] == {
        "x": {"rows": 3, "rate": 3 / 20},
        "y": {"rows": 3, "rate": 3 / 20},
    }
    assert out["violation_rate"] == 3 / 20


def test_load_reference_leaves_no_download_behind(shop, tmp_path, monkeypatch):
    import tempfile

    from jupyter_mlops.core.registry.reference_load import load_reference

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    reference = load_reference("models:/shop@live", settings=shop["settings"])
    assert len(reference.sample) == 4000 and list(tmp_path.iterdir()) == []
