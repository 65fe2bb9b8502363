"""Whether a tracking server answers, asked quickly; and ending a run while it does not.

MLflow's HTTP layer retries a refused connection for about four minutes before it gives up, so
a cell or a command that meets a server that is down looks hung. Starting a run, ending one and
the CLI's commands that read the store ask first, once, without retries and within
``identity.PROBE_TIMEOUT``, and a server that does not answer is one line
(``ServerUnreachableError``). A run ended while its server is away is not lost: its queued
values, its notebook and its end wait in the log buffer (``buffer.py``), which writes them, in
order, once the server answers again at the same address.
"""

from __future__ import annotations

import shutil
import tempfile
import time
import traceback
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ..config import Settings
from ..errors import MlopsError
from . import tags
from .identity import PROBE_TIMEOUT, ServerUnreachableError, identity
from .redact import redact_text, redact_url

if TYPE_CHECKING:
    from .buffer import LogBuffer
    from .tracking import Run

HEALTH_PATH = "/health"  # answered by every ``mlflow server``, without authentication


def is_http(uri: str | None) -> bool:
    """Whether ``uri`` names an HTTP(S) server (the only stores that can be "not answering")."""
    return urlsplit(str(uri or "")).scheme.lower() in ("http", "https")


def answers(uri: str) -> bool:
    """Whether the server at ``uri`` answers at all (any HTTP status), within PROBE_TIMEOUT and
    without retries; a store that is not a server always does."""
    if not is_http(uri):
        return True
    return _reason(uri) is None


def check(settings: Settings) -> None:
    """Raise ``ServerUnreachableError`` when the project's tracking server does not answer, or
    ``CredentialsRefusedError`` when it refuses our credentials (``identity.identity``, asked
    once per process): one line each, no secret, before anything is created. Returns at once
    for an embedded store."""
    uri = settings.tracking_uri
    if not is_http(uri):
        return
    reason = _reason(uri)
    if reason is not None:
        raise ServerUnreachableError(
            f"the tracking server {redact_url(uri)} is not answering ({reason}); "
            "nothing was sent to it"
        )
    identity(settings)


def _reason(uri: str) -> str | None:
    """None when the server answered, else why not in a few words."""
    from mlflow.utils.credentials import get_default_host_creds
    from mlflow.utils.rest_utils import http_request

    try:
        http_request(
            get_default_host_creds(uri), HEALTH_PATH, "GET", max_retries=0, timeout=PROBE_TIMEOUT
        )
    except Exception as exc:  # requests' ConnectionError, Timeout, MLflow's wrapping of them
        text = str(exc).lower()
        for known in ("connection refused", "timed out", "name or service not known"):
            if known in text:
                return known
        return "no answer"
    return None


def client_answers(client: Any) -> bool:
    """``answers`` for the store an ``MlflowClient`` (or ``RetryingClient``) writes to."""
    return answers(str(getattr(client, "tracking_uri", "") or ""))


# -- ending a run while its server is away ------------------------------------------------------
def end_steps(
    run: Run, error: BaseException | None, log_notebook: bool, buffer: LogBuffer
) -> list[Callable[[], Any]]:
    """The writes that end a run besides its status, in order: the error's summary (queued as a
    tag) and traceback, the cells the kernel ran and the notebook as saved now."""
    client = run.client
    steps: list[Callable[[], Any]] = []
    if error is not None:
        text = "".join(traceback.format_exception(type(error), error, error.__traceback__))
        summary = f"{type(error).__name__}: {error}".strip()[:5000]
        buffer.add(client, run.run_id, tags=[(tags.ERROR, summary)])
        steps.append(lambda: client.log_text(run.run_id, text, tags.ERROR_ARTIFACT))
    if log_notebook:
        steps += _notebook_steps(client, run)
    return steps


def write_end_files(
    run: Run, error: BaseException | None, log_notebook: bool, buffer: LogBuffer
) -> None:
    """Write ``end_steps`` now. An artifact store that fails (a bucket that does not exist, a
    full disk behind the server) is one warning line, kept on the run as a tag, and the run
    still ends: MLflow's retries are bounded here (``store.few_http_retries``) so the cell
    waits seconds, not minutes. A refusal (``MlopsError``: permission, credentials) is raised."""
    from .store import few_http_retries

    with few_http_retries():
        for step in end_steps(run, error, log_notebook, buffer):
            try:
                step()
            except MlopsError:
                raise
            except Exception as exc:
                reason = " ".join(str(exc).split())[:300]
                line = (
                    f"run {run.name!r} ends without its error and notebook files: the tracking "
                    f"server {redact_url(run.settings.tracking_uri)} could not store them "
                    f"({redact_text(reason)})"
                )
                buffer.add(run.client, run.run_id, tags=[(tags.ARTIFACTS_ERROR, line[:5000])])
                warnings.warn(line, stacklevel=3)
                return  # the next file would meet the same store


def end_later(
    run: Run, status: str, error: BaseException | None, log_notebook: bool, buffer: LogBuffer
) -> str:
    """Queue everything ``end_run`` would write (the error, the cells, the notebook as saved
    now, the end itself) behind the run's queued values; return the one line to show.

    Nothing here talks to the server: MLflow's active run is forgotten locally, and the buffer
    writes the rest when the server answers again."""
    client = run.client
    kept = buffer.pending(run.run_id)
    steps = end_steps(run, error, log_notebook, buffer)
    ended = int(time.time() * 1000)
    steps.append(lambda: client.set_terminated(run.run_id, status, end_time=ended))
    buffer.add_end(client, run.run_id, steps)
    _forget_fluent(run.run_id)
    return (
        f"the tracking server {redact_url(run.settings.tracking_uri)} is not answering: "
        f"{kept} value(s) and the end ({status}) of run {run.name!r} are kept and will be "
        "written when it is back"
    )


def _notebook_steps(client: Any, run: Run) -> list[Callable[[], Any]]:
    """The cells the kernel ran and a copy of the notebook as saved now (it may change before
    the server is back: the record is of the notebook at the run's end)."""
    steps: list[Callable[[], Any]] = []
    if run.cells:
        blocks = []
        for count, source in run.cells:
            label = count if count is not None else " "
            blocks.append(f"# In[{label}]:\n{source.rstrip()}\n")
        text = "\n\n".join(blocks)
        steps.append(lambda: client.log_text(run.run_id, text, tags.CELLS_ARTIFACT))
    if run.notebook is not None and run.notebook.is_file():
        copy = Path(tempfile.mkdtemp(prefix="mlops-end-")) / run.notebook.name
        shutil.copyfile(run.notebook, copy)

        def log_copy() -> None:
            client.log_artifact(run.run_id, str(copy), tags.NOTEBOOK_FOLDER)
            shutil.rmtree(copy.parent, ignore_errors=True)

        steps.append(log_copy)
    return steps


def _forget_fluent(run_id: str) -> None:
    """Take the run off MLflow's active-run stack without the server call ``mlflow.end_run``
    makes (which would retry for minutes against a server that is down)."""
    from mlflow.environment_variables import MLFLOW_RUN_ID
    from mlflow.tracking import fluent

    stack = fluent._active_run_stack.get()
    if stack and stack[-1].info.run_id == run_id:
        stack.pop()
        MLFLOW_RUN_ID.unset()
