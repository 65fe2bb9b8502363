"""Shared fixtures: a real git project in a temp dir, a real IPython shell, real kernels."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import nbformat
import pytest

# every `mlflow server` a test starts inherits this: without it each one also starts MLflow's
# job runner and seven task consumers (its GenAI jobs, which nothing here uses), each importing
# MLflow: about 17 s of CPU per server, on a suite that is CPU-bound
os.environ.setdefault("MLFLOW_SERVER_ENABLE_JOB_EXECUTION", "false")

ENV_VARS = (
    "MLFLOW_TRACKING_URI",
    "MLFLOW_REGISTRY_URI",
    "MLFLOW_EXPERIMENT_NAME",
    "MLFLOW_RUN_ID",
    "JUPYTER_MLOPS_RUN_ID",
    "JPY_SESSION_NAME",
    "MLFLOW_TRACKING_USERNAME",
    "MLFLOW_TRACKING_PASSWORD",
    "MLFLOW_TRACKING_TOKEN",
)


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.email=t@example.com", "-c", "user.name=t", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh git repository with one commit, as the working directory."""
    root = tmp_path / "proj"
    root.mkdir()
    git(root, "init", "-q")
    (root / "README.md").write_text("demo\n")
    git(root, "add", "README.md")
    git(root, "commit", "-q", "-m", "init")
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(root)
    yield root
    from jupyter_mlops.core import tracking

    # leave no run open for the next test
    for run in reversed(list(tracking.session.stack)):
        tracking.end_run("KILLED", run=run, log_notebook=False)
    tracking.session.user_ns = None


def client_for(root: Path):
    from mlflow import MlflowClient

    uri = f"sqlite:///{(root / '.mlops' / 'mlflow.db').as_posix()}"
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


@pytest.fixture
def client(project: Path):
    return client_for(project)


@pytest.fixture(scope="module")
def module_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One git repository (and store) for a whole test file, where creating a store's tables
    for each test would cost seconds: each test uses names of its own in it."""
    root = tmp_path_factory.mktemp("module-project")
    git(root, "init", "-q")
    git(root, "commit", "-q", "--allow-empty", "-m", "init")
    return root


@pytest.fixture
def module_project(module_root: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``module_root`` as the working directory, MLflow's variables unset (as ``project``)."""
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(module_root)
    return module_root


def audit_runs(client, name: str) -> list:
    """The alias history's runs of model ``name`` (``registry-audit/<name>``), any status."""
    from jupyter_mlops.core import tags

    experiment = client.get_experiment_by_name(tags.audit_experiment(name))
    if experiment is None:
        return []
    return client.search_runs([experiment.experiment_id], max_results=1000)


def all_runs(client, *, audit: bool = False) -> list:
    """Every run in the store, but the alias history's (runs of ``registry-audit/<model>``, one
    per alias move: read them with ``mlops.alias_history``) unless ``audit``."""
    from mlflow.entities import ViewType

    ids = [e.experiment_id for e in client.search_experiments(view_type=ViewType.ALL)]
    runs = client.search_runs(ids, max_results=1000) if ids else []
    return runs if audit else [r for r in runs if r.data.tags.get("mlops.audit") != "alias"]


def run_and_children(client) -> tuple:
    """The one top-level run in the store, and every other run (its children and theirs)."""
    runs = all_runs(client)
    (top,) = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    return top, [r for r in runs if r is not top]


@pytest.fixture(scope="session")
def _shell():
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "jupyter_mlops")
    return shell


@pytest.fixture
def ip(_shell, project: Path):
    """A real IPython shell with the extension loaded, working in ``project``."""
    from jupyter_mlops.core import tracking

    _shell.user_ns["__vsc_ipynb_file__"] = None
    tracking.session.user_ns = _shell.user_ns
    yield _shell
    _shell.run_line_magic("config", "MLOpsMagics.autolog = None")


def write_notebook(path: Path, cells: list[str], tags: dict[int, list[str]] | None = None) -> Path:
    nb = nbformat.v4.new_notebook()
    for index, source in enumerate(cells):
        cell = nbformat.v4.new_code_cell(source)
        if tags and index in tags:
            cell.metadata["tags"] = tags[index]
        nb.cells.append(cell)
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, path)
    return path


def kernel_env(notebook: Path | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ENV_VARS and k != "PYTEST_CURRENT_TEST"}
    env["PYTHONWARNINGS"] = "ignore"
    if notebook is not None:
        env["JPY_SESSION_NAME"] = str(notebook)
    return env


def execute_notebook(path: Path, allow_errors: bool = False):
    """Execute a notebook in a real kernel as Jupyter would (JPY_SESSION_NAME set)."""
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    NotebookClient(
        nb,
        kernel_name="python3",
        timeout=300,
        allow_errors=allow_errors,
        resources={"metadata": {"path": str(path.parent)}},
    ).execute(env=kernel_env(path))
    return nb


def cli(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """The console script, as a user runs it."""
    exe = Path(sys.executable).parent / "jupyter-mlops"
    return subprocess.run(
        [str(exe), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**kernel_env(), **(env or {})},
        timeout=600,
    )


def start_cli(*args: str, cwd: Path) -> subprocess.Popen:
    """The console script started as a terminal's foreground job (its own process group, the
    default Ctrl-C action), for a test that interrupts or kills it while it runs."""
    import signal

    exe = Path(sys.executable).parent / "jupyter-mlops"
    return subprocess.Popen(
        [str(exe), *args],
        cwd=cwd,
        env=kernel_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory):
    """A real ``mlflow server`` process on 127.0.0.1 (the remote path)."""
    import time
    import urllib.request

    home = tmp_path_factory.mktemp("mlflow-server")
    port = free_port()
    exe = Path(sys.executable).parent / "mlflow"
    log = (home / "server.log").open("w")
    proc = subprocess.Popen(
        [
            str(exe),
            "server",
            "--backend-store-uri",
            f"sqlite:///{home / 'server.db'}",
            "--artifacts-destination",
            str(home / "artifacts"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
        ],
        cwd=home,
        stdout=log,
        stderr=subprocess.STDOUT,
        env=kernel_env(),
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 90
    while True:
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                if response.status == 200:
                    break
        except OSError:
            pass
        if proc.poll() is not None or time.time() > deadline:
            proc.kill()
            raise RuntimeError(f"mlflow server did not start: {(home / 'server.log').read_text()}")
        time.sleep(0.3)
    yield url
    stop(proc)
    log.close()


def start_moto(home: Path) -> tuple[str, subprocess.Popen]:
    """moto's S3-compatible server on 127.0.0.1 (its log in ``home``): its URL and process, once
    it answers. The caller stops it (``stop``)."""
    import time
    import urllib.request

    port = free_port()
    log = home / "moto.log"
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"{url}/moto-api/", timeout=1)
            return url, proc
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError(f"moto_server did not start (see {log})") from None
            time.sleep(0.2)


def stop(proc: subprocess.Popen, timeout: float = 20) -> None:
    """End a server a test started: politely, then by force if it does not go in time."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# The test files that take longest (minutes each: many kernels, a server, a fresh venv), run
# first. pytest-xdist's --dist loadfile hands files to workers in collection order; one of these
# left for last would keep one worker busy while the other idles, so they go first and the short
# files fill in around them (longest first, as in LPT scheduling). Measured with --durations.
SLOW_FIRST = (
    "tests/cli/test_sweep.py",
    "tests/team/test_identity.py",
    "tests/team/test_journeys_dask.py",
    "tests/ui/test_extension_lists.py",
    "tests/core/test_promote.py",
    "tests/cli/test_reproduce.py",
    "tests/team/test_journeys.py",
    "tests/cli/test_retrain.py",
    "tests/cli/test_score.py",
    "tests/cli/test_cli.py",
    "tests/team/test_journeys_batch.py",
    "tests/team/panel/test_journeys_panel.py",
    "tests/ui/test_panel.py",
    "tests/cli/test_serve.py",
    "tests/team/test_bad_input.py",
    "tests/team/test_bench_team.py",
    "tests/core/test_gate.py",
    "tests/core/test_inference_log.py",
    "tests/cli/test_retrain_server.py",
    "tests/core/test_server_down.py",
    "tests/core/test_reliability.py",
    "tests/cli/test_ui.py",
    "tests/ui/test_report_overflow.py",
)


class _TeamTogether:
    """Under ``--dist loadfile``, every file of ``tests/team/`` goes to one worker, as one unit:
    the team stack (PostgreSQL, the S3 server, ``mlflow server``) is a session fixture, so files
    spread over both workers started it twice. A plugin registered only where pytest-xdist is
    (``scripts/test-pythons.sh`` runs pytest without it)."""

    @staticmethod
    def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
        if config.getoption("dist") != "loadfile":
            return None
        from xdist.scheduler import LoadFileScheduling

        class Scheduling(LoadFileScheduling):
            def _split_scope(self, nodeid: str) -> str:
                scope = super()._split_scope(nodeid)
                return "tests/team" if scope.startswith("tests/team/") else scope

        return Scheduling(config, log)


def pytest_configure(config: pytest.Config) -> None:
    # pytest-xdist would otherwise reorder files by their number of tests (most first), which
    # says nothing of how long they take; SLOW_FIRST's order is the one that keeps both busy
    if hasattr(config.option, "loadscopereorder"):
        config.option.loadscopereorder = False
    if config.pluginmanager.hasplugin("xdist"):
        config.pluginmanager.register(_TeamTogether(), "jupyter-mlops-team-together")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    rank = {path: i for i, path in enumerate(SLOW_FIRST)}
    root = Path(str(config.rootpath))

    def key(item: pytest.Item) -> int:
        try:
            path = Path(str(item.path)).relative_to(root).as_posix()
        except ValueError:
            return len(rank)
        return rank.get(path, len(rank))

    items.sort(key=key)  # stable: each file's tests keep their order and stay together
