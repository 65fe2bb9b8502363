"""``jupyter mlops ui``: MLflow's own UI over the project's sqlite store, small and owned.

``mlflow ui`` alone imports MLflow twice before it answers (its command, then uvicorn), starts
four uvicorn workers and MLflow's job execution (a job runner and its huey consumers, for GenAI
jobs a project store never queues), and a SIGTERM to whoever started it leaves it serving. Here
one process, ``ui_worker``, serves MLflow's app in one uvicorn worker with job execution off, in
a process group of its own that ``processes.stop_group`` ends whole, whatever ends us (on Linux
the kernel sends it SIGTERM when we die, even by SIGKILL). The UI is ready when ``/health``
answers; its address is the experiments list (``/#/experiments``: the UI routes by the URL's
fragment; its own home is the GenAI overview).
"""

from __future__ import annotations

import collections
import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import MlopsError
from . import processes
from .redact import redact_text, redact_url

if TYPE_CHECKING:
    from ..config import Settings

DEFAULT_HOST, DEFAULT_PORT = "127.0.0.1", 5000
START_SECONDS = 120.0  # a cold machine imports MLflow twice before the UI answers
STOP_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGTERM", "SIGINT", "SIGHUP") if hasattr(signal, name)
)
WORKER = "jupyter_mlops.core.ui_worker"
_WILDCARDS = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}
_ERROR_LINE = re.compile(r"error|exception|denied|cannot|can't|failed", re.IGNORECASE)


@dataclass(frozen=True)
class UiServer:
    """Where the UI listens and what it reads: the project's store and artifact folder."""

    tracking_uri: str
    registry_uri: str
    artifact_root: Path
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT

    @property
    def url(self) -> str:
        """The experiments list, the page to open (MLflow's own home is its GenAI overview)."""
        return f"{self._base(self.host)}/#/experiments"

    def _base(self, host: str) -> str:
        return f"http://[{host}]:{self.port}" if ":" in host else f"http://{host}:{self.port}"

    @property
    def health_url(self) -> str:
        """``/health`` through the loopback address when the UI listens on every address."""
        return f"{self._base(_WILDCARDS.get(self.host, self.host))}/health"

    def command(self) -> list[str]:
        """``ui_worker`` in this interpreter (so in this environment)."""
        return [
            sys.executable,
            "-m",
            WORKER,
            self.host,
            str(self.port),
            self.tracking_uri,
            self.registry_uri,
            self.artifact_root.as_uri(),
        ]

    def environment(self) -> dict[str, str]:
        """Ours, without MLflow's variables between its own processes (``_MLFLOW_...``): the
        worker sets those it needs, and one inherited (a URL prefix, another store) would
        change what it serves."""
        return {k: v for k, v in os.environ.items() if not k.startswith("_MLFLOW_")}


def prepare(settings: Settings, *, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> UiServer:
    """Every check a user can fix, each one ``MlopsError`` line, before anything starts: a
    sqlite store (a server elsewhere has its own UI), the address free, the store usable."""
    db = settings.sqlite_path
    if db is None or settings.artifact_root is None:
        raise MlopsError(
            f"the tracking store is {redact_url(settings.tracking_uri)}: open its own UI there"
        )
    processes.check_port(host, port)
    if not _has_schema(db):
        from . import store

        store.prepare(settings)  # a new store: its tables, made once under the store's lock
    return UiServer(
        settings.tracking_uri, settings.registry_uri, settings.artifact_root, host=host, port=port
    )


def _has_schema(db: Path) -> bool:
    """Whether MLflow made its tables in ``db`` (then the server checks their version itself,
    and this process need not import MLflow: two seconds of the start)."""
    if not db.is_file():
        return False
    try:
        conn = sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True, timeout=30)
        try:
            found = conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'"
            ).fetchone()
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise MlopsError(f"{db} is not a store this can open ({exc})") from None
    return found is not None


def run(
    ui: UiServer,
    *,
    on_ready: Callable[[UiServer], None] | None = None,
    on_output: Callable[[str], None] | None = None,
) -> int:
    """Serve until the UI ends or we get SIGTERM, SIGINT or SIGHUP, which stop its whole
    process group; ``on_ready`` once ``/health`` answers, ``on_output`` with each line the
    server writes after that (before it, its start-up chatter is kept for a failure's line).
    Returns 128 + the signal's number for a UI we stopped, else its exit code. A UI that ends
    before it answers is one ``MlopsError`` line: its exit code and its last error line."""
    child = subprocess.Popen(
        ui.command(),
        env=ui.environment(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
        start_new_session=True,  # Ctrl-C in the terminal reaches MLflow once: through us
        preexec_fn=processes.stop_with_parent if sys.platform.startswith("linux") else None,
    )
    output = _Output(child, on_output)
    stopping: list[int] = []

    def stop(signum: int, frame: object) -> None:
        stopping.append(signum)
        output.forward = False  # the server's goodbye lines are not news
        processes.signal_group(child.pid, signal.SIGTERM)

    previous = {s: signal.signal(s, stop) for s in STOP_SIGNALS}
    try:
        ready = _wait_ready(ui, child, stopping)
        if not stopping:
            if not ready:
                raise MlopsError(_failure(child, output))
            output.forward = True
            if on_ready is not None:
                on_ready(ui)
        code = child.wait()
    finally:
        processes.stop_group(child)  # whatever happened, nothing of it serves on
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        output.join()
    return 128 + stopping[0] if stopping else code


def _wait_ready(ui: UiServer, child: subprocess.Popen, stopping: list[int]) -> bool:
    """Whether ``/health`` answered 200 before the child ended, a stop came or
    ``START_SECONDS`` passed."""
    deadline = time.monotonic() + START_SECONDS
    while child.poll() is None and not stopping and time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(ui.health_url, timeout=2) as answer:
                if answer.status == 200:
                    return True
        except OSError:
            pass
        time.sleep(0.1)
    return False


def _failure(child: subprocess.Popen, output: _Output) -> str:
    """One line for a UI that never answered: how it ended and the line that says why."""
    if child.poll() is None:
        head = f"the MLflow UI did not answer within {START_SECONDS:.0f} s"
    else:
        output.join()  # its last words, all of them
        head = f"the MLflow UI stopped before it answered (exit {child.returncode})"
    lines = [line.strip() for line in output.tail if line.strip()]
    errors = [line for line in lines if _ERROR_LINE.search(line)]
    why = (errors or lines or [""])[-1]
    why = re.sub(r"^(ERROR|CRITICAL):\s+", "", why)  # uvicorn's level prefix
    return f"{head}: {redact_text(why)}" if why else head


class _Output:
    """The child's merged stdout and stderr, read on a thread of its own (a full pipe would
    stall the server): the last lines kept, and passed on once ``forward`` is set."""

    def __init__(self, child: subprocess.Popen, on_output: Callable[[str], None] | None):
        self.tail: collections.deque[str] = collections.deque(maxlen=40)
        self.forward = False
        self._on_output = on_output
        self._thread = threading.Thread(target=self._read, args=(child,), daemon=True)
        self._thread.start()

    def _read(self, child: subprocess.Popen) -> None:
        for line in child.stdout:
            self.tail.append(line)
            if self.forward and self._on_output is not None:
                self._on_output(line.rstrip("\n"))

    def join(self) -> None:
        self._thread.join(timeout=5)
