"""``jupyter mlops serve``: a real promoted pipeline (a numeric and a categorical column) served
by the console script as a real subprocess, real HTTP requests from this process, the inference
log read back with pyarrow; and the same artifact under plain ``mlflow models serve`` in a
virtual environment where jupyter-mlops cannot be imported (acceptance 1, 2 and the serve cases
of 6 of issue 20)."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from jupyter_mlops.runtime import inference_log as il
from tests.conftest import cli, free_port, git, kernel_env, start_cli, stop

PROMOTE = """
import numpy as np, pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
import jupyter_mlops as mlops

X, y = load_breast_cancer(return_X_y=True, as_frame=True)
X = X.iloc[:, :5]
X["size"] = pd.Categorical(np.where(X["mean radius"] > 15, "large", "small"))
encode = ColumnTransformer(
    [("size", OneHotEncoder(handle_unknown="ignore"), ["size"])], remainder=StandardScaler()
)
model = make_pipeline(encode, LogisticRegression(max_iter=5000)).fit(X, y)
mlops.promote(model, "served", X=X, alias="prod")
odd = X.head(3).copy()
odd["size"] = odd["size"].astype(str)
odd.loc[odd.index[0], "mean radius"] = 1e6  # out of range
odd.loc[odd.index[1], "size"] = "gigantic"  # an unseen level
X.to_pickle("X.pkl")
odd.to_pickle("odd.pkl")
np.save("expected.npy", model.predict(X))
np.save("expected_odd.npy", model.predict(odd))
"""


@pytest.fixture(scope="module")
def promoted(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A project with ``models:/served@prod`` (version 1), promoted in a process of its own;
    the frames and the notebook model's own predictions on them."""
    root = tmp_path_factory.mktemp("serve") / "proj"
    root.mkdir()
    git(root, "init", "-q")
    (root / "README.md").write_text("demo\n")
    git(root, "add", "README.md")
    git(root, "commit", "-q", "-m", "init")
    (root / "promote.py").write_text(PROMOTE)
    done = subprocess.run(
        [sys.executable, "promote.py"], cwd=root, env=kernel_env(), capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return {
        "root": root,
        "X": pd.read_pickle(root / "X.pkl"),
        "odd": pd.read_pickle(root / "odd.pkl"),
        "expected": np.load(root / "expected.npy"),
        "expected_odd": np.load(root / "expected_odd.npy"),
    }


MISSING = {  # the answer to a request without the column "size", ours and plain MLflow's
    "error_code": "INVALID_PARAMETER_VALUE",
    "message": "missing column the model was trained on: size",
    "sqlstate": "KAM00",
    "error_class": "INVALID_PARAMETER_VALUE",
    "columns": ["size"],
}


def wait_ready(url: str, proc: subprocess.Popen, seconds: float = 120) -> None:
    deadline = time.time() + seconds
    while time.time() < deadline and proc.poll() is None:
        try:
            with urllib.request.urlopen(f"{url}/ping", timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    stop(proc)
    raise AssertionError(f"the server did not answer: {proc.communicate()}")


@pytest.fixture(scope="module")
def ours(promoted: dict):
    """``jupyter mlops serve models:/served@prod --workers 2`` on a free port, after a writer
    of this model died without closing (its marker left, 20 rows received and not written)."""
    markers = promoted["root"] / ".mlops" / "inference" / "served" / "_writers"
    markers.mkdir(parents=True)
    dead = {"pid": 2**22 + 1, "host": socket.gethostname(), "started": "2026-01-01T00:00:00"}
    dead.update(updated="2026-01-01T00:01:00", received=120, written=100, dropped=0)
    (markers / "dead.json").write_text(json.dumps(dead))
    port = free_port()
    proc = start_cli(
        "serve", "models:/served@prod", "--port", str(port), "--workers", "2", cwd=promoted["root"]
    )
    url = f"http://127.0.0.1:{port}"
    wait_ready(url, proc)
    said = ready_line(proc)
    yield {"url": url, "proc": proc, "port": port, "said": said}
    stop(proc)


def post(url: str, body: bytes | str, content_type: str | None = "application/json"):
    """(status, parsed JSON answer, raw bytes) of ``POST url/invocations``."""
    data = body.encode() if isinstance(body, str) else body
    request = urllib.request.Request(f"{url}/invocations", data=data, method="POST")
    if content_type is not None:
        request.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            raw = answer.read()
            return answer.status, json.loads(raw), raw
    except urllib.error.HTTPError as error:
        raw = error.read()
        return error.code, json.loads(raw), raw


def ready_line(proc: subprocess.Popen) -> str:
    """The line serve prints once its own /ping answered (uvicorn's access log shares stdout)."""
    for line in proc.stdout:
        if line.startswith("Serving "):
            return line
    return ""


def descendants(pid: int) -> list[int]:
    """The processes under ``pid`` (Linux's /proc), children first."""
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            found += [int(child), *descendants(int(child))]
    return found


def alive(pid: int) -> bool:
    """Running: not gone, nor a zombie (this container's init may not reap orphans)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def split(frame: pd.DataFrame) -> str:
    """``dataframe_split`` with Python's exact float text (pandas' to_json rounds to 10 digits)."""
    values = frame.astype(object).to_numpy().tolist()
    return json.dumps({"dataframe_split": {"columns": list(frame.columns), "data": values}})


def records(frame: pd.DataFrame) -> str:
    return json.dumps({"dataframe_records": frame.astype(object).to_dict(orient="records")})


def logged(location: Path) -> pd.DataFrame:
    return il.dataset(str(location), "served").to_table().to_pandas()


# acceptance 1 ----------------------------------------------------------------------------------


def test_split_records_and_csv_get_exactly_the_notebook_models_predictions(promoted, ours):
    X, expected = promoted["X"], promoted["expected"].tolist()
    for body, kind in [(split(X), None), (records(X), None), (X.to_csv(index=False), "text/csv")]:
        status, answer, _ = post(ours["url"], body, kind or "application/json")
        assert status == 200 and answer == {"predictions": expected}, (kind, answer)


def test_a_request_without_a_column_is_a_short_400_naming_it(promoted, ours):
    big = pd.concat([promoted["X"]] * 18, ignore_index=True).drop(columns=["size"])
    assert len(big) > 10_000
    status, answer, raw = post(ours["url"], split(big))
    assert status == 400
    assert answer == MISSING
    assert len(raw) < 400  # not 10,000 rows echoed back


def test_out_of_range_and_unseen_values_are_served(promoted, ours):
    status, answer, _ = post(ours["url"], split(promoted["odd"]))
    assert status == 200 and answer["predictions"] == promoted["expected_odd"].tolist()


def test_bad_requests_are_inert_4xx_json_never_500(promoted, ours):
    row = promoted["X"].head(1).astype(object)
    row.loc[row.index[0], "mean radius"] = "<img src=x onerror=alert(1)>"
    cases = [
        ("{not json", "application/json"),
        ("", "application/json"),
        ('{"dataframe_split": 3}', "application/json"),
        ('{"nothing": []}', "application/json"),
        ("a,b\n1,2", "text/plain"),
        (split(promoted["X"].head(2)), None),  # no content type: MLflow's own app answers 500
        (split(row), "application/json"),
    ]
    for body, kind in cases:
        status, answer, raw = post(ours["url"], body, kind)
        assert 400 <= status < 500, (body, status, answer)
        assert set(answer) >= {"error_code", "message"} and "stack_trace" not in answer
        assert b"<" not in raw and b">" not in raw and len(answer["message"]) <= 500
    assert "alert(1)" in answer["message"]  # said, escaped: \u003cimg ...


def test_stopped_by_sigterm_the_log_holds_the_served_rows_under_the_version_number(promoted, ours):
    X, odd = promoted["X"], promoted["odd"]
    head = X.head(7)
    assert post(ours["url"], split(head))[0] == 200
    assert post(ours["url"], split(odd))[0] == 200
    proc = ours["proc"]
    children = descendants(proc.pid)
    assert len(children) >= 3  # uvicorn's supervisor, its two workers (and a helper)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err[-2000:]
    url = ours["url"]
    said = ours["said"] + out
    assert said.count(f"Serving models:/served@prod = models:/served/1 at {url}/invocations") == 1
    folder = promoted["root"] / ".mlops" / "inference"
    log = logged(folder)
    assert set(log["version"]) == {"1"}
    assert (folder / "served").glob("date=*/version=1/*.parquet")
    by_request = dict(list(log.groupby("_mlops_request")))
    mine = [
        g for g in by_request.values() if len(g) == 7 and g["_mlops_violations"].iloc[0] == "{}"
    ]
    assert any(
        g["mean radius"].tolist() == head["mean radius"].tolist()
        and g["prediction"].tolist() == promoted["expected"][:7].astype(float).tolist()
        for g in mine
    )
    flagged = [g for g in by_request.values() if g["_mlops_violations"].iloc[0] != "{}"]
    assert flagged  # the odd request, served and counted
    for g in flagged:
        assert json.loads(g["_mlops_violations"].iloc[0]) == {"mean radius": 1, "size": 1}
        assert g["prediction"].tolist() == promoted["expected_odd"].astype(float).tolist()
        assert g["size"].tolist()[1] == "gigantic"
    assert not list((folder / "served" / "_writers").iterdir())  # each worker ended cleanly
    assert not re.search(r"Traceback", err)
    said = [line for line in err.splitlines() if "ended without closing" in line]
    assert said == [
        f"jupyter mlops serve: warning: the inference log writer of process {2**22 + 1} "
        "(started 2026-01-01T00:00:00) ended without closing: 20 rows it had received by "
        "2026-01-01T00:01:00 were never written, and any received after then (at most one "
        "batch) were lost too"
    ]  # said once, at start-up, by serve (the workers find the marker gone)
    assert not [pid for pid in children if alive(pid)]  # none outlives it


# acceptance 2: plain `mlflow models serve`, where jupyter-mlops cannot be imported ---------------


@pytest.fixture(scope="module")
def bare_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new virtual environment that sees this one's packages through a plain path line in a
    ``.pth`` file (whose own ``.pth`` files, the editable jupyter-mlops among them, are not
    processed), with a ``uvicorn`` command, which ``mlflow models serve`` runs from the PATH."""
    venv = tmp_path_factory.mktemp("bare") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    (site,) = (venv / "lib").glob("python3*/site-packages")
    (site / "shared.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    python = venv / "bin" / "python"
    uvicorn = venv / "bin" / "uvicorn"
    uvicorn.write_text(f"#!{python}\nfrom uvicorn.main import main\nmain()\n")
    uvicorn.chmod(0o755)
    return python


def bare_env(python: Path, **extra: str) -> dict[str, str]:
    return {"PATH": f"{python.parent}:/usr/bin:/bin", "HOME": str(python.parents[2]), **extra}


def test_plain_mlflow_models_serve_without_jupyter_mlops_answers_and_logs_the_same(
    promoted, bare_python, tmp_path
):
    from jupyter_mlops.config import resolve_settings
    from jupyter_mlops.core.production import target

    verified = target.resolve("models:/served/1", resolve_settings(promoted["root"])).folder
    folder = str(tmp_path / "model")
    shutil.copytree(verified, folder)
    shutil.rmtree(next(p for p in verified.parents if p.name.startswith("mlops-model-")))
    env = bare_env(bare_python, MLOPS_INFERENCE_LOG=str(tmp_path / "log"))
    probe = subprocess.run(
        [str(bare_python), "-c", "import mlflow, uvicorn; import jupyter_mlops"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert "No module named 'jupyter_mlops'" in probe.stderr  # mlflow and uvicorn import
    port = free_port()
    proc = subprocess.Popen(
        [
            str(bare_python),
            "-m",
            "mlflow",
            "models",
            "serve",
            "-m",
            folder,
            "--env-manager",
            "local",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url, proc)
        X = promoted["X"]
        status, answer, _ = post(url, split(X))
        assert status == 200 and answer == {"predictions": promoted["expected"].tolist()}
        status, answer, _ = post(url, split(X.drop(columns=["size"])))
        assert status == 400 and answer == MISSING  # the same answer as ours
    finally:  # as a terminal's Ctrl-C or a container's stop: the whole group
        os.killpg(proc.pid, signal.SIGTERM)
        proc.communicate(timeout=60)
    log = logged(tmp_path / "log")
    uuid = re.search(r"^model_uuid: (\S+)", (Path(folder) / "MLmodel").read_text(), re.M)[1]
    assert set(log["version"]) == {f"uuid-{uuid}"}  # MLflow's id of exactly this artifact
    assert log["prediction"].tolist() == promoted["expected"].astype(float).tolist()
    assert log["size"].tolist() == X["size"].astype(str).tolist()


# bad input: one line, exit 2, nothing started or written ----------------------------------------


def one_line_exit_2(done: subprocess.CompletedProcess, *expected: str) -> str:
    assert done.returncode == 2, done.stderr
    line = done.stderr.strip()
    assert line.startswith("jupyter mlops serve: ") and "\n" not in line, line
    for text in expected:
        assert text in line
    return line


def test_an_unknown_model_uri_is_one_line(promoted):
    done = cli("serve", "models:/nowhere@prod", cwd=promoted["root"])
    one_line_exit_2(done, "no registered model named 'nowhere'; registered: served")
    done = cli("serve", "models:/served/7", cwd=promoted["root"])
    one_line_exit_2(done, "model 'served' has no version 7")
    one_line_exit_2(cli("serve", "served", cwd=promoted["root"]), "models:/NAME@ALIAS")


def test_a_port_in_use_is_one_line_before_the_model_loads(promoted):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = cli("serve", "models:/served@prod", "--port", str(port), cwd=promoted["root"])
    one_line_exit_2(done, f"port {port} on 127.0.0.1 is in use", "--port")


def test_a_log_folder_that_cannot_be_written_is_one_line_and_nothing_is_written(promoted, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder\n")
    env = {"MLOPS_INFERENCE_LOG": str(blocker / "log")}
    done = cli(
        "serve", "models:/served@prod", "--port", str(free_port()), cwd=promoted["root"], env=env
    )
    one_line_exit_2(done, "is not writable", "--no-log")
    assert blocker.read_text() == "not a folder\n" and list(tmp_path.iterdir()) == [blocker]


@pytest.fixture
def serve_cli(promoted):
    """Starts ``jupyter mlops serve ARGS`` in the promoted project; whatever a failed test left
    running (serve and every process under it) is ended at teardown."""
    started = []

    def start(*args: str) -> subprocess.Popen:
        started.append(start_cli("serve", *args, cwd=promoted["root"]))
        return started[-1]

    yield start
    for proc in started:
        tree = descendants(proc.pid) if proc.poll() is None else []
        stop(proc)
        for pid in tree:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def test_ctrl_c_with_no_log_stops_cleanly_and_writes_nothing(
    promoted, serve_cli, tmp_path, monkeypatch
):
    monkeypatch.setenv("MLOPS_INFERENCE_LOG", str(tmp_path / "log"))
    port = free_port()
    proc = serve_cli("models:/served/1", "--port", str(port), "--no-log")
    url = f"http://127.0.0.1:{port}"
    wait_ready(url, proc)
    said = ready_line(proc)
    assert said.startswith(f"Serving models:/served/1 at {url}/invocations (inference log: off")
    assert post(url, split(promoted["X"].head(3)))[1] == {
        "predictions": promoted["expected"][:3].tolist()
    }
    children = descendants(proc.pid)
    proc.send_signal(signal.SIGINT)  # what a terminal's Ctrl-C sends serve
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0 and "Traceback" not in err, err[-2000:]
    assert not [pid for pid in children if alive(pid)]
    assert not (tmp_path / "log").exists()


def test_the_contract_error_of_a_loaded_model_is_also_mlflows_and_still_ours(promoted):
    import pickle

    import mlflow.pyfunc
    from mlflow.exceptions import MlflowException

    from jupyter_mlops.config import resolve_settings
    from jupyter_mlops.core.production import target
    from jupyter_mlops.errors import MlopsError

    verified = target.resolve("models:/served/1", resolve_settings(promoted["root"])).folder
    try:
        model = mlflow.pyfunc.load_model(str(verified))
        with pytest.raises(MlopsError) as caught:
            model.predict(promoted["X"].drop(columns=["size", "mean area"]))
    finally:
        shutil.rmtree(next(p for p in verified.parents if p.name.startswith("mlops-model-")))
    error = caught.value
    assert type(error).__name__ == "ContractError" and isinstance(error, MlflowException)
    assert str(error) == "missing columns the model was trained on: mean area, size"
    assert error.get_http_status_code() == 400
    assert json.loads(error.serialize_as_json())["columns"] == ["mean area", "size"]
    error.message = "Failed to predict data '<the whole frame>'"  # what MLflow's server does
    assert error.message == str(error) and "whole frame" not in error.serialize_as_json()
    again = pickle.loads(pickle.dumps(error))
    assert isinstance(again, MlopsError) and str(again) == str(error)


def test_a_killed_serve_takes_its_server_with_it(serve_cli):
    port = free_port()
    proc = serve_cli("models:/served/1", "--port", str(port), "--no-log")
    wait_ready(f"http://127.0.0.1:{port}", proc)
    children = descendants(proc.pid)
    assert children
    proc.kill()  # SIGKILL: serve forwards nothing; the kernel tells its child (Linux)
    proc.communicate(timeout=30)
    deadline = time.time() + 30
    while [pid for pid in children if alive(pid)] and time.time() < deadline:
        time.sleep(0.2)
    assert not [pid for pid in children if alive(pid)]
    with socket.socket() as again:  # nothing listens there any more (as uvicorn binds)
        again.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        again.bind(("127.0.0.1", port))
