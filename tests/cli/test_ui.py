"""``jupyter mlops ui``: the real command over a real sqlite store, as a user starts and stops it.

Each test starts the console script in its own session (``start_cli``) and reads the process
tree with psutil: one serving process, no job runner or consumer, and none left after a signal.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import psutil
import pytest

from jupyter_mlops.core import processes
from jupyter_mlops.core.ui_server import UiServer
from jupyter_mlops.errors import MlopsError
from tests.conftest import cli, free_port, git, start_cli

STOPPED_WITHIN = 30.0  # a liveness bound for "eventually gone", not a speed claim


def ready_line(proc: subprocess.Popen) -> str:
    """The first line ``ui`` prints (it prints nothing before the UI answers)."""
    return proc.stdout.readline()


def get(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=10) as answer:
        return answer.status, answer.read()


def tree(pid: int) -> list[psutil.Process]:
    return psutil.Process(pid).children(recursive=True)


def running(proc: psutil.Process) -> bool:
    """Not gone, nor a zombie (this container's init may not reap orphans)."""
    try:
        return proc.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def listening(proc: psutil.Process, port: int) -> bool:
    try:
        connections = proc.net_connections(kind="inet")
    except psutil.NoSuchProcess:
        return False
    return any(c.status == psutil.CONN_LISTEN and c.laddr.port == port for c in connections)


def port_is_free(port: int) -> bool:
    """Whether the UI's port can be bound again, by the check ``ui`` itself makes first."""
    try:
        processes.check_port("127.0.0.1", port)
    except MlopsError:
        return False
    return True


def wait_gone(procs: list[psutil.Process], port: int) -> list[psutil.Process]:
    """The processes still running once all are gone and the port is free, or the bound passed."""
    deadline = time.monotonic() + STOPPED_WITHIN
    while time.monotonic() < deadline:
        left = [p for p in procs if running(p)]
        if not left and port_is_free(port):
            return []
        time.sleep(0.1)
    return [p for p in procs if running(p)]


def test_ui_answers_on_the_experiments_page_with_one_process_and_stops_whole_on_sigterm(
    project: Path, client
):
    # the store exists: the UI must read this one, and the run's artifact from its folder
    experiment = client.create_experiment("visible-in-the-ui")
    run = client.create_run(experiment)
    client.log_text(run.info.run_id, "recorded\n", "notes/what.txt")
    port = free_port()
    proc = start_cli("ui", "--port", str(port), cwd=project)
    try:
        line = ready_line(proc)
        # printed only once it answers: /health answers the moment the line is out
        assert get(f"http://127.0.0.1:{port}/health")[0] == 200
        url = f"http://127.0.0.1:{port}/#/experiments"
        assert line.strip() == f"MLflow UI for {project} at {url} (Ctrl-C stops it)"
        status, page = get(url)
        assert status == 200 and b"<title>MLflow</title>" in page
        status, body = get(
            f"http://127.0.0.1:{port}/ajax-api/2.0/mlflow/experiments/search?max_results=50"
        )
        names = {e["name"] for e in json.loads(body)["experiments"]}
        assert "visible-in-the-ui" in names
        status, body = get(
            f"http://127.0.0.1:{port}/get-artifact?path=notes/what.txt&run_uuid={run.info.run_id}"
        )
        assert (status, body) == (200, b"recorded\n")

        procs = tree(proc.pid)
        commands = [" ".join(p.cmdline()) for p in procs]
        assert len(procs) == 1, commands  # one worker: no supervisor, no job runner, no pool
        assert "jupyter_mlops.core.ui_worker" in commands[0]
        assert not [c for c in commands if "huey" in c or "job_runner" in c], commands
        assert [p for p in procs if listening(p, port)] == procs

        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=STOPPED_WITHIN) == 128 + signal.SIGTERM
        assert wait_gone(procs, port) == []
        _, err = proc.communicate()
        assert "Traceback" not in err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.mark.parametrize(
    "signum, code",
    [(signal.SIGINT, 130), (signal.SIGHUP, 129), (signal.SIGKILL, None)],
    ids=["SIGINT", "SIGHUP", "SIGKILL"],
)
def test_any_end_of_the_command_ends_the_server(module_project: Path, signum: int, code):
    """Ctrl-C, a closed terminal and a hard kill (then Linux tells the worker) alike."""
    port = free_port()
    proc = start_cli("ui", "--port", str(port), cwd=module_project)
    try:
        assert "MLflow UI for" in ready_line(proc)
        procs = tree(proc.pid)
        assert procs and all(running(p) for p in procs)
        proc.send_signal(signum)
        returned = proc.wait(timeout=STOPPED_WITHIN)
        assert returned == (code if code is not None else -signal.SIGKILL)
        assert wait_gone(procs, port) == []
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_a_port_in_use_is_one_line_and_a_non_zero_exit(module_project: Path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = cli("ui", "--port", str(port), cwd=module_project)
    assert done.returncode != 0
    assert done.stdout == ""
    assert done.stderr.strip().splitlines() == [
        f"jupyter mlops ui: port {port} on 127.0.0.1 is in use: stop what listens there or "
        "pick another with --port"
    ]


def test_a_server_that_ends_before_it_answers_is_one_line_with_its_reason(tmp_path: Path):
    """A store of a schema this MLflow does not know: the worker's own reason, nothing left."""
    root = tmp_path / "proj"
    (root / ".mlops").mkdir(parents=True)
    git(root, "init", "-q")
    import sqlite3

    conn = sqlite3.connect(root / ".mlops" / "mlflow.db")
    conn.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)")
    conn.execute("INSERT INTO alembic_version VALUES ('0123456789ab')")
    conn.commit()
    conn.close()
    port = free_port()
    done = cli("ui", "--port", str(port), cwd=root)
    assert done.returncode != 0
    assert done.stdout == ""
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("jupyter mlops ui: the MLflow UI stopped before it answered (exit 1)")
    assert "0123456789ab" in line
    assert port_is_free(port)


def test_the_address_shown_and_the_address_asked():
    """The page is the experiments list; a wildcard host is asked through the loopback."""
    shown = UiServer("sqlite:///x.db", "sqlite:///x.db", Path("/a"), host="::", port=5000)
    assert shown.url == "http://[::]:5000/#/experiments"
    assert shown.health_url == "http://[::1]:5000/health"
    local = UiServer("sqlite:///x.db", "sqlite:///x.db", Path("/a"), host="0.0.0.0", port=8)
    assert local.health_url == "http://127.0.0.1:8/health"
