"""A tracking server that is down, or goes away during a run: one line, and nothing lost.

The server is a real ``mlflow server`` on sqlite at a fixed port, which the tests stop and start
again at the same address (as an operator restarting it would).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

import jupyter_mlops as mlops
from jupyter_mlops.core.identity import ServerUnreachableError
from tests.conftest import free_port, kernel_env

# MLflow's HTTP layer gives up on a refused connection after about four minutes; "within a
# few seconds" is checked against a bound far below that and far above a probe's 5 s
PROMPT = 60.0


class Server:
    """``mlflow server`` on sqlite at one address, stopped and started by the test."""

    def __init__(self, home: Path) -> None:
        self.home, self.port = home, free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None
        self.artifacts = str(home / "artifacts")  # where the server keeps artifacts
        self.env = kernel_env()

    def start(self) -> None:
        log = (self.home / "server.log").open("a")
        command = [str(Path(sys.executable).parent / "mlflow"), "server"]
        command += ["--backend-store-uri", f"sqlite:///{self.home / 'server.db'}"]
        command += ["--artifacts-destination", self.artifacts]
        command += ["--host", "127.0.0.1", "--port", str(self.port), "--workers", "1"]
        self.proc = subprocess.Popen(  # a group of its own: the server and its workers stop
            command,
            cwd=self.home,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=self.env,
            start_new_session=True,
        )
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"{self.url}/health", timeout=2):
                    return
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError((self.home / "server.log").read_text()[-2000:]) from None
                time.sleep(0.3)

    def stop(self) -> None:
        """Stop the server and the workers it started (its process group), by force after 10 s."""
        if self.proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self.proc = None


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    found = Server(tmp_path_factory.mktemp("server-down"))
    yield found
    found.stop()


@pytest.fixture
def on_server(server: Server, project: Path, monkeypatch: pytest.MonkeyPatch) -> Server:
    from jupyter_mlops.core import identity

    monkeypatch.setenv("MLFLOW_TRACKING_URI", server.url)
    identity.forget()
    return server


def one_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) == 1, text
    return lines[0]


def test_a_server_that_is_down_is_one_line_within_seconds_everywhere(
    ip, capfd, on_server: Server
) -> None:
    on_server.stop()
    from jupyter_mlops.cli import main
    from jupyter_mlops.core import tracking

    capfd.readouterr()
    began = time.monotonic()
    result = ip.run_cell("%mlops track start -n never")
    assert not result.success
    line = one_line(capfd.readouterr().err)
    assert "is not answering" in line and on_server.url in line and "Traceback" not in line
    with pytest.raises(ServerUnreachableError, match="is not answering"):
        mlops.start_run(run_name="never either")
    assert main(["status"]) == 2
    line = one_line(capfd.readouterr().err)
    assert line.startswith("jupyter mlops status: the tracking server") and "answering" in line
    assert time.monotonic() - began < PROMPT
    assert tracking.session.stack == []
    assert ip.run_cell("21 * 2").result == 42  # the kernel answers


def test_a_run_whose_server_goes_away_ends_once_it_is_back(ip, capfd, on_server: Server) -> None:
    from mlflow import MlflowClient

    from jupyter_mlops.core import tracking

    on_server.start()
    assert ip.run_cell("%mlops track start -n outage").success
    run = tracking.session.active
    assert ip.run_cell("%mlops log before=1").success
    child = mlops.start_run(run_name="child", nested=True)
    mlops.log(inner=3)
    mlops.flush()
    on_server.stop()

    capfd.readouterr()
    began = time.monotonic()
    assert mlops.end_run() is child  # the Python API: the same, on the run it returns
    assert child.kept and "0 value(s)" in child.kept and "(FINISHED)" in child.kept
    assert "waiting" in repr(child) and tracking.session.active is run
    assert ip.run_cell("%mlops log during=2 --step 1").success
    assert ip.run_cell("import jupyter_mlops as mlops; mlops.log(loss=0.25, note='kept')").success
    assert ip.run_cell("%mlops track stop").success
    assert time.monotonic() - began < PROMPT
    line = one_line(capfd.readouterr().out)
    assert "is not answering" in line and "will be written when it is back" in line
    assert "3 value(s)" in line and "(FINISHED)" in line
    assert tracking.session.stack == [] and ip.run_cell("6 * 7").result == 42

    on_server.start()  # same address, same database
    client = MlflowClient(on_server.url)
    deadline = time.monotonic() + 300  # the buffer's writer finds the server back
    while client.get_run(run.run_id).info.status != "FINISHED":
        assert time.monotonic() < deadline, "the run's end was never written"
        time.sleep(1)
    while client.get_run(child.run_id).info.status != "FINISHED":
        assert time.monotonic() < deadline, "the child run's end was never written"
        time.sleep(1)
    assert client.get_run(child.run_id).data.metrics == {"inner": 3.0}
    found = client.get_run(run.run_id)
    assert found.data.metrics == {"before": 1.0, "during": 2.0, "loss": 0.25}
    assert found.data.params["note"] == "kept"
    history = client.get_metric_history(run.run_id, "during")
    assert [(m.value, m.step) for m in history] == [(2.0, 1)]
    cells = client.download_artifacts(run.run_id, "notebook/cells.py")
    assert "%mlops log during=2" in Path(cells).read_text()
    assert tracking.session.buffer.pending() == 0 and tracking.session.buffer.ends_pending() == 0
