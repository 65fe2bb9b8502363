"""The inference log: the writer alone on real Parquet files read back with pyarrow, a real
SIGKILL, and a real promoted model loaded in a fresh process with MLOPS_INFERENCE_LOG set."""

from __future__ import annotations

import datetime as dt
import json
import os
import pickle
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

import jupyter_mlops as mlops
from jupyter_mlops.errors import MlopsError
from jupyter_mlops.runtime import inference_log as il
from tests.conftest import kernel_env
from tests.core import test_data_remote

s3_server = test_data_remote.s3_server  # moto's S3 server on 127.0.0.1, with a bucket


def today() -> str:
    """The UTC day a request recorded now is filed under: asked by each test when it records,
    never once at import (a suite that crosses midnight would expect yesterday)."""
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d")


def data_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and "_writers" not in p.parts)


def requests(seed: int = 0) -> list[pd.DataFrame]:
    """Batches whose dtypes vary as served input does: ints with and without nulls, categoricals
    with different levels, text with nulls, a boolean, a datetime."""
    rng = np.random.default_rng(seed)
    out = []
    for i, rows in enumerate([30, 1, 25, 40, 7]):
        count = rng.integers(0, 100, rows)
        out.append(
            pd.DataFrame(
                {
                    "count": count if i % 2 else pd.Series(count, dtype="Int64").where(count > 10),
                    "level": pd.Categorical(rng.choice(["a", "b", "c"][: i % 3 + 1], rows)),
                    "text": pd.Series(rng.choice(["x", "y", None], rows), dtype=object),
                    "flag": rng.random(rows) > 0.5,
                    "when": pd.Timestamp("2026-01-01")
                    + pd.to_timedelta(rng.integers(0, 9, rows), "D"),
                }
            )
        )
    return out


def test_batches_are_complete_files_partitioned_and_read_back_as_recorded(tmp_path):
    batches = requests()
    first_day = today()
    with il.InferenceLog(tmp_path, "credit", 3, batch_rows=50, flush_seconds=3600) as log:
        for i, frame in enumerate(batches):
            log.record(frame, np.arange(len(frame)) * 0.5, {"count": i} if i else None)
        assert log.written == 0  # nothing waited on the disk before the batch filled
    # 30+1+25 rows made the first batch, 40+7 the second (written at close)
    files = data_files(tmp_path)
    days = {first_day, today()}  # one day, unless midnight passed meanwhile
    parts = [f.relative_to(tmp_path).parts[:3] for f in files]
    assert len(parts) == 2 and all(p[1] in {f"date={d}" for d in days} for p in parts), parts
    assert [(p[0], p[2]) for p in parts] == [("credit", "version=3")] * 2
    assert all(f.name.startswith("part-") and f.suffix == ".parquet" for f in files)
    assert sorted(pq.read_metadata(f).num_rows for f in files) == [47, 56]
    assert not list((tmp_path / "credit" / "_writers").iterdir())  # a clean close

    table = il.dataset(str(tmp_path), "credit").to_table()
    got = table.to_pandas().sort_values("_mlops_ts", kind="stable").reset_index(drop=True)
    sent = pd.concat(batches, ignore_index=True)
    assert len(got) == len(sent) == 103
    assert str(table.schema.field("count").type) == "double"
    assert str(table.schema.field("level").type) == "string"
    assert str(table.schema.field("flag").type) == "bool"
    assert str(table.schema.field("when").type) == "timestamp[us, tz=UTC]"
    # the rows in request order: compare request by request
    got["_order"] = got.groupby("_mlops_request", sort=False).cumcount()
    first_ts = got.groupby("_mlops_request")["_mlops_ts"].transform("min")
    got = got.assign(_first=first_ts).sort_values(["_first", "_order"]).reset_index(drop=True)
    assert got["count"].tolist() == pytest.approx(
        sent["count"].astype("Float64").to_numpy(float, na_value=np.nan).tolist(), nan_ok=True
    )
    assert got["level"].tolist() == sent["level"].astype(str).tolist()
    assert (
        got["text"].astype(object).where(got["text"].notna(), None).tolist()
        == sent["text"].tolist()
    )
    assert got["flag"].tolist() == sent["flag"].tolist()
    assert (got["when"].dt.tz_localize(None) == sent["when"]).all()
    assert got["prediction"].tolist() == [j * 0.5 for f in batches for j in range(len(f))]
    assert got["_mlops_request"].nunique() == 5
    assert got["_mlops_violations"].tolist() == [
        json.dumps({"count": i} if i else {}) for i, f in enumerate(batches) for _ in range(len(f))
    ]
    assert set(got["date"]) <= days and len(set(got["date"])) == 1
    assert set(got["version"]) == {"3"}


def test_two_dimensional_predictions_get_a_column_each(tmp_path):
    frame = pd.DataFrame({"x": [1.0, 2.0]})
    with il.InferenceLog(tmp_path, "multi", "2") as log:
        log.record(frame, pd.DataFrame({"no": [0.2, 0.7], "yes": [0.8, 0.3]}))
        log.record(frame, np.array([[1, 2], [3, 4]]))
    got = il.dataset(str(tmp_path), "multi").to_table().to_pandas()
    assert got["prediction_no"].dropna().tolist() == [0.2, 0.7]
    assert got["prediction_1"].dropna().tolist() == [2.0, 4.0]
    assert str(il.dataset(str(tmp_path), "multi").schema.field("prediction_no").type) == "double"


def test_names_become_one_safe_folder(tmp_path):
    assert il.safe_name("../..", "model name") == "%2E.%2F.."
    assert il.safe_name("a/b\\c", "model name") == "a%2Fb%5Cc"
    root = tmp_path / "log"
    with il.InferenceLog(str(root), "../../escaped", "1/../..") as log:
        log.record(pd.DataFrame({"x": [1.0]}), [1.0])
    assert [p.name for p in tmp_path.iterdir()] == ["log"]  # nothing escaped the root
    (model,) = root.iterdir()
    assert model.name == "%2E.%2F..%2Fescaped"
    (file,) = data_files(root)
    assert file.parent.name == "version=1%2F..%2F.."
    got = il.dataset(str(root), "../../escaped").to_table().to_pandas()
    assert got["version"].tolist() == ["1/../.."]  # the partition reads back as given
    for bad in ["", "   ", None]:
        with pytest.raises(MlopsError, match="cannot name an inference log folder"):
            il.InferenceLog(str(root), bad, "1")


def test_a_location_that_cannot_be_written_is_one_line_at_creation(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(MlopsError) as caught:
        il.InferenceLog(str(blocker / "log"), "m", "1")
    message = str(caught.value)
    assert "\n" not in message and message.startswith(f"the inference log at {blocker / 'log'}")
    assert "MLOPS_INFERENCE_LOG" in message
    assert blocker.read_text() == "not a folder" and list(tmp_path.iterdir()) == [blocker]


def test_a_failed_write_later_drops_and_counts_the_rows_once_and_serving_goes_on(tmp_path):
    log = il.InferenceLog(str(tmp_path), "full", "1", flush_seconds=3600)
    day = today()
    (tmp_path / "full" / f"date={day}").write_text("in the way")  # the write will fail
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0]})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        log.record(frame, [1, 2, 3])
        log.flush()
        log.record(frame, [1, 2, 3])
        log.flush()
    lost = [w for w in caught if w.category is il.InferenceLogWarning]
    assert len(lost) == 1 and "lost rows" in str(lost[0].message)
    assert (log.received, log.written, log.dropped) == (6, 0, 6)
    (marker,) = (tmp_path / "full" / "_writers").iterdir()
    assert json.loads(marker.read_text())["dropped"] == 6
    (tmp_path / "full" / f"date={day}").unlink()  # space again: the next batch is written
    log.record(frame, [1, 2, 3])
    log.close()
    assert (log.received, log.written, log.dropped) == (9, 3, 6)
    assert len(data_files(tmp_path)) == 1


CRASH = """
import glob, json, os, signal, sys, time
import numpy as np, pandas as pd
from jupyter_mlops.runtime.inference_log import InferenceLog
root = sys.argv[1]
log = InferenceLog(root, "crashy", "1", batch_rows=100, flush_seconds=3600)
X = pd.DataFrame({"x": np.arange(50.0)})
for i in range(5):
    log.record(X.assign(i=i), X["x"].to_numpy() * 2)
deadline = time.time() + 60
while time.time() < deadline:  # two batches written, the marker has seen the fifth request
    (marker,) = glob.glob(os.path.join(root, "crashy", "_writers", "*.json"))
    state = json.load(open(marker))
    if state["written"] == 200 and state["received"] == 250:
        break
    time.sleep(0.05)
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_a_killed_writer_loses_only_its_unwritten_batch_and_the_next_one_says_so(tmp_path):
    done = subprocess.run(
        [sys.executable, "-c", CRASH, str(tmp_path)], env=kernel_env(), timeout=120
    )
    assert done.returncode == -9
    files = data_files(tmp_path)
    assert len(files) == 2 and all(not f.name.startswith(".") for f in files)
    assert sum(pq.read_table(f).num_rows for f in files) == 200  # complete, readable
    got = il.dataset(str(tmp_path), "crashy").to_table().to_pandas()
    assert sorted(got["i"].unique()) == [0.0, 1.0, 2.0, 3.0]
    assert (got["prediction"] == got["x"] * 2).all()
    (marker,) = (tmp_path / "crashy" / "_writers").iterdir()
    dead = json.loads(marker.read_text())["pid"]
    half = files[0].parent / f".part-cut.parquet.{dead}.tmp"  # as if killed mid-write
    half.write_bytes(b"PAR1 and no more")
    with pytest.warns(il.InferenceLogWarning, match="ended without closing: 50 rows") as caught:
        log = il.InferenceLog(str(tmp_path), "crashy", "1")
    assert len(caught) == 1 and "\n" not in str(caught[0].message)
    log.close()
    assert not list((tmp_path / "crashy" / "_writers").iterdir())  # the dead marker is gone
    assert not half.exists() and data_files(tmp_path) == files
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        il.InferenceLog(str(tmp_path), "crashy", "1").close()  # said once, not every start


NOTEBOOK = """
import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

X, y = load_breast_cancer(return_X_y=True, as_frame=True)
X = X.iloc[:, :5]
X["size"] = pd.Categorical(np.where(X["mean radius"] > 15, "large", "small"))
encode = ColumnTransformer(
    [("size", OneHotEncoder(handle_unknown="ignore"), ["size"])], remainder=StandardScaler()
)
model = make_pipeline(encode, LogisticRegression(max_iter=5000)).fit(X, y)
"""

SERVED = """
import os, pickle, sys, warnings
import mlflow, pandas as pd
uri, sample, out = sys.argv[1:4]
X = pd.read_pickle(sample)
model = mlflow.pyfunc.load_model(uri)
odd = X.head(3).copy()
odd["size"] = odd["size"].astype(str)  # JSON and CSV clients send text
odd.loc[odd.index[0], "mean radius"] = 1e6
odd.loc[odd.index[1], "size"] = "gigantic"
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    result = {"whole": model.predict(X), "odd": model.predict(odd)}
result["one"] = [model.predict(X.iloc[[i]])[0] for i in range(5)]
try:  # refused by the contract: not logged
    model.predict(X.drop(columns=["size"]))
except Exception as exc:
    result["missing"] = type(exc).__name__
model.predict(X.head(2), params={"method": "predict_proba"})  # not logged
result["writer"] = type(model._model_impl.log).__module__
os.environ["MLOPS_INFERENCE_LOG"] = os.path.abspath(sample) + "/log"  # under a file
try:
    mlflow.pyfunc.load_model(uri)
except Exception as exc:
    result["unwritable"] = f"{type(exc).__name__}: {exc}"
with open(out, "wb") as f:
    pickle.dump(result, f)
"""


def test_a_promoted_model_logs_its_predictions_from_a_fresh_process(ip, project, tmp_path):
    ip.run_cell(textwrap.dedent(NOTEBOOK)).raise_error()
    X, model = ip.user_ns["X"], ip.user_ns["model"]
    mlops.promote(model, "ilog", X=X, alias="staging")
    where = tmp_path / "elsewhere"
    where.mkdir()
    X.to_pickle(where / "X.pkl")
    env = kernel_env()
    env["MLFLOW_TRACKING_URI"] = f"sqlite:///{(project / '.mlops' / 'mlflow.db').as_posix()}"
    env["MLOPS_INFERENCE_LOG"] = str(tmp_path / "log")
    done = subprocess.run(
        [sys.executable, "-I", "-B", "-c", SERVED, "models:/ilog@staging", "X.pkl", "out.pkl"],
        cwd=where,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    got = pickle.loads((where / "out.pkl").read_bytes())
    assert got["writer"].startswith("mlops_inference_log_")  # the artifact's own copy
    # a location the server cannot write: one line when the model loads, not per request
    assert got["unwritable"].startswith("MlopsError: the inference log at ")
    assert "is not writable" in got["unwritable"] and "\n" not in got["unwritable"]
    expected = model.predict(X)
    assert np.array_equal(got["whole"], expected)  # predictions unchanged by the log
    assert np.array_equal(got["one"], expected[:5])

    log = il.dataset(str(tmp_path / "log"), "ilog").to_table().to_pandas()
    assert len(log) == len(X) + 3 + 5
    (version,) = set(log["version"])
    assert version.startswith("uuid-")  # no MLOPS_MODEL_VERSION: MLflow's model_uuid
    whole = log.groupby("_mlops_request").filter(lambda g: len(g) == len(X))
    assert whole["prediction"].tolist() == expected.astype(float).tolist()
    assert whole["mean radius"].tolist() == X["mean radius"].tolist()
    assert whole["size"].tolist() == X["size"].astype(str).tolist()
    assert set(whole["_mlops_violations"]) == {"{}"}
    odd = log.groupby("_mlops_request").filter(lambda g: len(g) == 3)
    assert json.loads(odd["_mlops_violations"].iloc[0]) == {"mean radius": 1, "size": 1}
    assert odd["mean radius"].iloc[0] == 1e6 and odd["size"].iloc[1] == "gigantic"
    assert odd["prediction"].tolist() == got["odd"].astype(float).tolist()
    assert got["missing"] == "ContractError"
    assert log.groupby("_mlops_request").ngroups == 7  # neither the refused call nor proba


def test_an_s3_url_gets_whole_objects_and_an_unreachable_bucket_is_one_line(s3_server, monkeypatch):
    url, s3 = s3_server
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    port = url.rsplit(":", 1)[1]
    query = f"endpoint_override=127.0.0.1:{port}&scheme=http&region=us-east-1"
    location = f"s3://mlops-data/inference?{query}"
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0], "kind": pd.Categorical(["a", "b", "a"])})
    first_day = today()
    with il.InferenceLog(location, "remote", "4", batch_rows=3) as log:
        log.record(frame, [0, 1, 0], {"x": 1})
        log.record(frame.head(1), [1])
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="mlops-data")["Contents"]]
    data = [k for k in keys if k.startswith("inference/remote/") and not k.endswith("/")]
    assert len(data) == 2 and all(k.endswith(".parquet") for k in data)  # the marker is gone
    days = {first_day, today()}  # one day, unless midnight passed meanwhile
    assert all(any(f"/date={d}/version=4/part-" in k for d in days) for k in data), data
    got = il.dataset(location, "remote").to_table().to_pandas()
    assert sorted(got["x"]) == [1.0, 1.0, 2.0, 3.0] and set(got["kind"]) == {"a", "b"}
    missing = f"s3://no-such-bucket/inference?{query}"
    with pytest.raises(MlopsError) as caught:
        il.InferenceLog(missing, "remote", "4")
    message = str(caught.value)
    assert "\n" not in message and message.startswith("the inference log at s3://no-such-bucket/")
    assert "is not writable" in message and "endpoint_override" not in message  # no query shown


def test_a_forked_worker_writes_its_own_rows_once(tmp_path):
    log = il.InferenceLog(str(tmp_path), "forked", "1", flush_seconds=3600)
    log.record(pd.DataFrame({"who": ["parent"] * 2}), [0, 0])  # queued, not yet written
    pid = os.fork()
    if pid == 0:  # a server's worker after the model was loaded
        try:
            log.record(pd.DataFrame({"who": ["child"] * 3}), [1, 1, 1])
            log.close()
        finally:
            os._exit(0)
    assert os.waitpid(pid, 0)[1] == 0
    log.record(pd.DataFrame({"who": ["parent"]}), [0])
    log.close()
    got = il.dataset(str(tmp_path), "forked").to_table().to_pandas()
    assert sorted(got["who"]) == ["child"] * 3 + ["parent"] * 3  # nothing twice, nothing lost
    assert not list((tmp_path / "forked" / "_writers").iterdir())


TERMINATED = """
import os, signal, sys
import pandas as pd
from jupyter_mlops.runtime.inference_log import InferenceLog
log = InferenceLog(sys.argv[1], "stopped", "1", flush_seconds=3600)
log.record(pd.DataFrame({"x": [1.0, 2.0]}), [0, 1])
signal.raise_signal(signal.SIGTERM)  # as uvicorn re-raises it after a graceful shutdown
print("still running")
"""


def test_a_server_stopped_by_sigterm_writes_its_last_batch(tmp_path):
    done = subprocess.run(
        [sys.executable, "-c", TERMINATED, str(tmp_path)],
        env=kernel_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == -15 and "still running" not in done.stdout  # it still ends
    got = il.dataset(str(tmp_path), "stopped").to_table().to_pandas()
    assert got["x"].tolist() == [1.0, 2.0]
    assert not list((tmp_path / "stopped" / "_writers").iterdir())  # a clean end: no warning
