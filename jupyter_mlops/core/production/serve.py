"""``jupyter mlops serve``: MLflow's own scoring server for one verified registered version.

The server is MLflow's (``mlflow.pyfunc.scoring_server``: ``/ping``, ``/health``, ``/version``,
``/invocations`` with ``dataframe_split``, ``dataframe_records``, ``instances``, ``inputs``, CSV
or Parquet) under uvicorn, as ``mlflow models serve`` runs it; ``serve_app.create_app`` adds only
short, inert error answers. The model is resolved and its files verified here, once, before
anything starts, and every check a user can fix (the URI, the port, the log's location) is one
line before the server exists. The model itself logs its requests: the shipped runtime reads
``Target.log_env`` (the registered name and version number, the log's location), so the log is
the same under ``mlflow models serve`` with ``MLOPS_INFERENCE_LOG`` set.

uvicorn runs in a child process of its own process group (Ctrl-C in a terminal reaches it once,
through us): SIGINT and SIGTERM are forwarded, the child ends gracefully and each worker's
inference log writes its last batch; on Linux the child is also told to stop if we die.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ...errors import MlopsError
from ..processes import check_port, stop_with_parent
from . import target as targets

if TYPE_CHECKING:
    from ...config import Settings

MODEL_ENV = "MLOPS_SERVE_MODEL"  # the verified folder the app factory loads
APP = "jupyter_mlops.core.production.serve_app:create_app"
DEFAULT_HOST, DEFAULT_PORT = "127.0.0.1", 5001
START_SECONDS = 300.0  # a large model may take a while to unpickle


@dataclass(frozen=True)
class Serving:
    """What ``serve`` starts: the resolved version, where it listens, where it logs (or None)."""

    target: targets.Target
    host: str
    port: int
    workers: int
    log_location: str | None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def command(self) -> list[str]:
        """uvicorn on our app factory, in this interpreter (so in this environment)."""
        return [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            APP,
            "--host",
            self.host,
            "--port",
            str(self.port),
            "--workers",
            str(self.workers),
        ]

    def environment(self, settings: Settings) -> dict[str, str]:
        """Ours, plus the model's folder and what its runtime reads to log."""
        env = dict(os.environ)
        env.update(self.target.log_env(settings, enabled=self.log_location is not None))
        env[MODEL_ENV] = str(self.target.folder)
        return env


def prepare(
    uri: str,
    settings: Settings,
    *,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    workers: int = 1,
    log: bool = True,
) -> Serving:
    """Every check a user can fix, each one ``MlopsError`` line, before a server starts: the
    numbers, the port (free on that host), the model (resolved and verified) and the log's
    location (writable; a writer that died earlier is reported now)."""
    if workers < 1:
        raise MlopsError(f"--workers must be 1 or more, not {workers}")
    check_port(host, port)
    target = targets.resolve(uri, settings)
    location = settings.inference_log_location if log else None
    if location is not None:
        check_log(location, target)
    return Serving(target=target, host=host, port=port, workers=workers, log_location=location)


def check_log(location: str, target: targets.Target) -> None:
    """Open and close the model's writer here, as each worker will: a location we cannot
    write is one line, and a writer that died earlier is reported once, at start-up."""
    import logging
    import warnings

    from ...runtime.inference_log import InferenceLog, InferenceLogWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", InferenceLogWarning)
        try:
            InferenceLog(location, target.name, target.version).close()
        except MlopsError as exc:
            raise MlopsError(f"{exc}; or serve with --no-log") from None
    for found in caught:  # a crash's loss: one line (the CLI's "warning:"), said before serving
        if issubclass(found.category, InferenceLogWarning):
            logging.getLogger(__name__).warning(str(found.message))
        else:
            warnings.warn_explicit(found.message, found.category, found.filename, found.lineno)


def run(
    serving: Serving,
    settings: Settings,
    *,
    on_ready: Callable[[Serving], None] | None = None,
) -> int:
    """Run the server until it ends or we get SIGINT/SIGTERM (forwarded to it); ``on_ready``
    once ``/ping`` answers. Returns 0 for a server we stopped, else its exit code."""
    child = subprocess.Popen(
        serving.command(),
        env=serving.environment(settings),
        start_new_session=True,  # Ctrl-C in the terminal reaches uvicorn once: through us
        preexec_fn=stop_with_parent if sys.platform.startswith("linux") else None,
    )
    stopping: list[int] = []

    def forward(signum: int, frame: object) -> None:
        stopping.append(signum)
        if child.poll() is None:
            child.send_signal(signum)

    previous = {s: signal.signal(s, forward) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        if _wait_ready(serving, child) and on_ready is not None and not stopping:
            on_ready(serving)
        code = child.wait()
    finally:
        if child.poll() is None:  # an error of ours: the server does not outlive us
            child.terminate()
            child.wait()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        _remove_download(serving.target.folder)
    return 0 if stopping else code


def _wait_ready(serving: Serving, child: subprocess.Popen) -> bool:
    """Whether ``/ping`` answered before the child ended (or ``START_SECONDS`` passed)."""
    deadline = time.monotonic() + START_SECONDS
    url = f"{serving.url}/ping"
    while child.poll() is None and time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                if answer.status == 200:
                    return True
        except OSError:
            pass
        time.sleep(0.2)
    return False


def _remove_download(folder: Path) -> None:
    """The private copy ``target.resolve`` made (``mlops-model-*``): the server was its user."""
    for candidate in (folder, *folder.parents):
        if candidate.name.startswith("mlops-model-"):
            shutil.rmtree(candidate, ignore_errors=True)
            return
