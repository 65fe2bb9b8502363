"""The MLflow store behind a project: creating it safely, and talking to it without losing writes.

The embedded default is a sqlite file that several kernels may write at once. MLflow creates the
schema on first use without a lock and leaves sqlite in rollback-journal mode, where readers block
writers. Here the first use is serialised with a file lock, the database is switched to WAL
(readers never block the single writer), and writes that still meet a busy database are retried.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import random
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from ..config import Settings
from ..errors import MlopsError
from . import permissions
from .redact import redact_url

if TYPE_CHECKING:
    from mlflow import MlflowClient

T = TypeVar("T")

_ready: set[str] = set()
_ready_lock = threading.Lock()
_TRANSIENT = re.compile(r"database is locked|database table is locked|busy", re.IGNORECASE)


def is_transient(exc: BaseException) -> bool:
    """True for errors a retry can cure: sqlite contention, a server briefly unreachable."""
    text = f"{type(exc).__name__}: {exc}"
    if _TRANSIENT.search(text):
        return True
    return isinstance(exc, ConnectionError | TimeoutError)


def with_retry(
    fn: Callable[[], T], *, attempts: int = 8, base_delay: float = 0.05, max_delay: float = 1.0
) -> T:
    """Call ``fn``; on a transient error wait (exponential backoff with jitter) and call again."""
    for attempt in range(attempts):
        try:
            return fn()
        except Exception as exc:
            if attempt == attempts - 1 or not is_transient(exc):
                raise
            delay = min(base_delay * 2**attempt, max_delay)
            time.sleep(delay * (0.5 + random.random()))
    raise AssertionError("unreachable")


def prepare(settings: Settings) -> None:
    """Make the project's store ready: folders, schema, WAL. Cheap after the first call."""
    key = f"{settings.tracking_uri}|{settings.registry_uri}"
    if key in _ready:
        return
    with _ready_lock:
        if key in _ready:
            return
        db = settings.sqlite_path
        if db is not None:
            _prepare_sqlite(settings, db)
        _ready.add(key)


def _prepare_sqlite(settings: Settings, db) -> None:
    from filelock import FileLock

    db.parent.mkdir(parents=True, exist_ok=True)
    if settings.is_default_store:
        ignore = settings.store_dir / ".gitignore"
        if not ignore.exists():
            ignore.write_text("# jupyter-mlops store: tracking database and artifacts\n*\n")
    with FileLock(str(db) + ".lock", timeout=120):
        conn = sqlite3.connect(db, timeout=30)
        try:
            mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
            if mode.lower() != "wal":
                conn.execute("PRAGMA journal_mode=WAL")
        finally:
            conn.close()
        # before this process opens MLflow's engine: a connection reads the statistics when it
        # opens, and one already open keeps planning without them
        refresh_planner_stats(db)
        # Creating the client's store runs MLflow's schema migrations; under the lock only one
        # process does it, the others find the tables there.
        with quiet_logs("mlflow.store.db.utils", "alembic"):
            client(settings).search_experiments(max_results=1)


def refresh_planner_stats(db: Path) -> bool:
    """ANALYZE the store when it has no table statistics or its runs have more than doubled
    since; whether it did.

    Without statistics SQLite plans MLflow's search ordered by a metric as a nested scan of
    every run against every value of that metric: 4.5 s for the first page at 10,000 runs,
    50 ms once analyzed; the ANALYZE of that store takes 24 ms. A connection reads the
    statistics when it opens: run this before opening MLflow's engine."""
    conn = sqlite3.connect(db, timeout=30)
    try:
        try:
            runs = conn.execute("SELECT count(*) FROM runs").fetchone()[0]
        except sqlite3.OperationalError:  # a new store: MLflow has not made its tables yet
            return False
        try:
            row = conn.execute("SELECT stat FROM sqlite_stat1 WHERE tbl = 'runs'").fetchone()
        except sqlite3.OperationalError:  # no sqlite_stat1: never analyzed
            row = None
        known = int(str(row[0]).split()[0]) if row else -1
        if known >= 0 and runs <= 2 * max(known, 50):
            return False
        conn.execute("ANALYZE")
        conn.commit()
        return True
    finally:
        conn.close()


@contextlib.contextmanager
def quiet_logs(*loggers: str):
    """Hide a library's INFO chatter (MLflow creating a schema, DVC's console hints)."""
    saved = [(logging.getLogger(n), logging.getLogger(n).level) for n in loggers]
    for logger, _ in saved:
        logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        for logger, level in saved:
            logger.setLevel(level)


@contextlib.contextmanager
def _unless_chosen(key: str, value: str) -> Iterator[None]:
    """``os.environ[key] = value`` for the block, unless the user set ``key`` themselves."""
    if key in os.environ:  # the user chose; respect it
        yield
        return
    os.environ[key] = value
    try:
        yield
    finally:
        os.environ.pop(key, None)


def no_run_links() -> contextlib.AbstractContextManager[None]:
    """MLflow prints "View run ... at: <server URL>" on stdout when a run on a server ends: two
    lines in a cell's output or a command's one-line answer for a record the user did not
    start (an alias move), and the URL is the server's as configured. Off unless the user
    chose (``MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT``)."""
    return _unless_chosen("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true")


def no_progress_bars() -> contextlib.AbstractContextManager[None]:
    """MLflow draws a progress bar per download (fourteen lines in a notebook for one model's
    small files); off unless the user chose otherwise (``MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR``)."""
    return _unless_chosen("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")


def few_http_retries() -> contextlib.AbstractContextManager[None]:
    """MLflow retries a failing HTTP request for about four minutes (seven tries, doubling
    waits): a cell writing a run's files to a server whose artifact store fails would hang that
    long. Two tries for the block, unless the user chose (``MLFLOW_HTTP_REQUEST_MAX_RETRIES``);
    what fails is said in one line by the caller, and values queued meanwhile stay queued."""
    return _unless_chosen("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "2")


class RetryingClient:
    """An ``MlflowClient`` whose every public method retries transient errors (``with_retry``).

    A server's refusal (403, 401) becomes ``permissions.translate``'s one line, here too.
    Retries live here, once, the way MLflow's own HTTP layer retries in one place: callers
    write ``client.get_run(run_id)``, never a retry loop of their own. Attributes that are not
    methods pass through; ``raw`` is the client itself, for a call that must not repeat
    (``refusals`` words its refusal the same way).
    """

    __slots__ = ("raw",)

    def __init__(self, raw: MlflowClient) -> None:
        self.raw = raw

    def __getattr__(self, name: str) -> Any:
        value = getattr(self.raw, name)
        if name.startswith("_") or not callable(value):
            return value

        raw = self.raw

        @functools.wraps(value)
        def retried(*args: Any, **kwargs: Any) -> Any:
            try:
                return with_retry(lambda: value(*args, **kwargs))
            except Exception as exc:
                if not permissions.is_refusal(exc):
                    raise
                # a server's 403/401, never retried: one line naming who, what and the
                # permission it needs (permissions.py)
                raise permissions.translate(exc, raw, name, args, kwargs) from None

        return retried

    def __repr__(self) -> str:
        return f"RetryingClient({self.raw.tracking_uri!r})"


@contextlib.contextmanager
def refusals(client: MlflowClient | RetryingClient, method: str, *args: Any, **kwargs: Any):
    """Around a call on ``client.raw`` (one that must not repeat): a server's refusal of
    ``method(*args, **kwargs)`` as ``RetryingClient`` words it."""
    try:
        yield
    except Exception as exc:
        if not permissions.is_refusal(exc):
            raise
        raw = client.raw if isinstance(client, RetryingClient) else client
        raise permissions.translate(exc, raw, method, args, kwargs) from None


def retrying(raw: MlflowClient | RetryingClient) -> RetryingClient:
    """``raw`` behind the project's retry rule (a ``RetryingClient`` is returned as it is)."""
    return raw if isinstance(raw, RetryingClient) else RetryingClient(raw)


def client(settings: Settings) -> RetryingClient:
    """An ``MlflowClient`` bound to the project's URIs (thread-safe, unlike the fluent API),
    whose calls retry transient errors (``RetryingClient``)."""
    from mlflow import MlflowClient

    return RetryingClient(
        MlflowClient(tracking_uri=settings.tracking_uri, registry_uri=settings.registry_uri)
    )


def experiment_id(settings: Settings, name: str) -> str:
    """Id of experiment ``name``, created (with artifacts under the project store) if missing."""
    from mlflow.exceptions import MlflowException

    prepare(settings)
    c = client(settings)
    found = c.get_experiment_by_name(name)
    if found is not None:
        if found.lifecycle_stage == "deleted":
            c.restore_experiment(found.experiment_id)
        return found.experiment_id
    location = None
    if settings.artifact_root is not None:
        location = (settings.artifact_root / _slug(name)).as_uri()
    try:
        return c.create_experiment(name, artifact_location=location)
    except MlflowException as exc:
        if "RESOURCE_ALREADY_EXISTS" not in str(exc.error_code) and "already exists" not in str(
            exc
        ):
            raise
        # another kernel created it between our look-up and our create
        return c.get_experiment_by_name(name).experiment_id


def _slug(name: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.")
    return slug or "experiment"


# -- where a store's artifacts may be read ----------------------------------------------------
_RUN_ID = re.compile(r"^[0-9a-fA-F]{8,64}$")
_LOGGED_MODEL = re.compile(r"^m-[0-9a-fA-F]{8,64}(/|$)")  # MLflow 3 logged model ids


class ForeignArtifactsError(MlopsError):
    """An artifact location the configured store does not serve itself (``kind`` says what)."""

    def __init__(self, location: str, kind: str) -> None:
        super().__init__(f"{redact_url(location)} is not in this store's artifacts ({kind})")
        self.kind = kind


def inside(root: Path, candidate: Path) -> Path | None:
    """``candidate`` with its symlinks followed, when that is ``root`` (already resolved) or
    inside it; else None (a symlink loop included)."""
    try:
        real = candidate.resolve()
    except (OSError, RuntimeError):  # RuntimeError: a symlink loop
        return None
    return real if real == root or root in real.parents else None


def own_artifacts(
    location: str, settings: Settings, client: MlflowClient | RetryingClient
) -> str | Path:
    """``location`` (a run's, a logged model's or a version's artifact location, as the store
    names it) when the configured store serves it itself: a folder under a sqlite store's
    artifact root (a real ``Path``, symlinks followed), or an ``mlflow-artifacts:`` URI proxied
    by the configured tracking server. ``runs:/`` and ``models:/m-...`` are resolved against
    ``client`` first.

    A shared store is untrusted input: MLflow would follow any other location (another host,
    with ``MLFLOW_TRACKING_TOKEN`` as a bearer token; a file anywhere on this machine), so any
    other is a ``ForeignArtifactsError`` and nothing is sent there.
    """
    from urllib.parse import urlsplit

    from mlflow.utils.file_utils import local_file_uri_to_path

    original, client = location, retrying(client)
    for _ in range(3):
        parts = urlsplit(location)
        scheme, path = parts.scheme.lower(), parts.path.lstrip("/")
        if scheme == "runs" and not parts.netloc and _RUN_ID.match(path.split("/")[0]):
            run_id, _, sub = path.partition("/")
            base = client.get_run(run_id).info.artifact_uri
            location = f"{base.rstrip('/')}/{sub}" if sub else base
        elif scheme == "models" and not parts.netloc and _LOGGED_MODEL.match(path):
            model_id = path.split("/")[0]
            location = client.get_logged_model(model_id).artifact_location
        else:
            break
    parts = urlsplit(location)  # what runs:/ and models:/ led to (at most 3 steps)
    scheme, path = parts.scheme.lower(), parts.path.lstrip("/")
    tracking = urlsplit(settings.tracking_uri)
    if scheme == "mlflow-artifacts" and tracking.scheme.lower() in ("http", "https"):
        netloc = parts.netloc.rsplit("@", 1)[-1].lower()
        own = tracking.netloc.rsplit("@", 1)[-1].lower()
        if netloc in ("", own) and ".." not in path.split("/"):
            return location
    root = settings.artifact_root
    if root is not None and scheme in ("", "file") and parts.netloc in ("", "localhost"):
        folder = Path(local_file_uri_to_path(location))
        with contextlib.suppress(OSError, RuntimeError):  # RuntimeError: a symlink loop
            real = inside(root.resolve(), folder) if folder.is_absolute() else None
            if real is not None:
                return real
    if scheme in ("", "file"):
        kind = f"a file outside the store's artifact root {root}" if root else "a local file"
    else:
        kind = f"{scheme}://{parts.hostname or ''}" if parts.hostname else f"scheme {scheme!r}"
    raise ForeignArtifactsError(original, kind)
