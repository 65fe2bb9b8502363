"""Batch run data in memory and write it to MLflow in the background.

A single ``log_metric`` to sqlite costs milliseconds; a cell that logs in a loop should not pay
that per value. Values are queued here (microseconds) and written with ``log_batch`` by a daemon
thread every ``interval`` seconds or as soon as a batch is full. ``flush`` writes everything now.

MLflow's own asynchronous logging drops a batch when the write fails; this buffer keeps it and
tries again, so a busy database or a restarting server loses nothing. Values MLflow refuses for
good (a parameter re-logged with another value) are dropped one by one and reported.

Runs can be queued too (``add_run``): autologging records each fit as a child run of its own
without the fit waiting for the store to create it.
"""

from __future__ import annotations

import contextlib
import re
import threading
import time
import warnings
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from . import tags as names
from .reachability import client_answers, is_http
from .store import is_transient, with_retry

# log_batch limits of the MLflow REST API
_MAX_METRICS, _MAX_PARAMS, _MAX_TAGS, _MAX_TOTAL = 1000, 100, 100, 1000
# how MLflow's HTTP layer says the server did not answer (it wraps requests' errors in text)
_AWAY = re.compile(
    r"max retries exceeded|failed to establish a new connection|connection refused|"
    r"connection aborted|read timed out|remotedisconnected",
    re.IGNORECASE,
)


def server_away(exc: BaseException) -> bool:
    """Whether ``exc`` (or what it wraps) says the store's server did not answer: the values
    are kept for when it is back, never dropped as refused."""
    seen: BaseException | None = exc
    for _ in range(5):
        if seen is None:
            return False
        if isinstance(seen, ConnectionError | TimeoutError) or _AWAY.search(str(seen)):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _keep(exc: BaseException) -> bool:
    return is_transient(exc) or server_away(exc)


def _uri(client: Any) -> str:
    return str(getattr(client, "tracking_uri", "") or "")


class LoggingError(RuntimeError):
    """Values could not be written to the store (they are kept and retried)."""


@dataclass
class _Pending:
    metrics: list[tuple[str, float, int, int]] = field(default_factory=list)
    params: list[tuple[str, str]] = field(default_factory=list)
    tags: list[tuple[str, str]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.metrics) + len(self.params) + len(self.tags)

    def prepend(self, other: _Pending) -> None:
        self.metrics[:0] = other.metrics
        self.params[:0] = other.params
        self.tags[:0] = other.tags


@dataclass(eq=False)
class NewRun:
    """A finished run to create, with everything it holds (a candidate fit, say).

    ``run_id`` is set once the store has created it; the steps done are remembered, so a retry
    after a transient failure neither creates the run twice nor logs its values twice.
    """

    experiment_id: str
    name: str
    tags: dict[str, str]
    params: list[tuple[str, str]]
    metrics: list[tuple[str, float, int, int]]
    start_ms: int
    end_ms: int
    status: str = "FINISHED"
    run_id: str | None = None
    _rest: _Pending | None = field(default=None, repr=False)  # values not yet written

    @property
    def parent_run_id(self) -> str | None:
        return self.tags.get(names.MLFLOW_PARENT_RUN_ID)


class LogBuffer:
    """Per-run queues of metrics, params and tags, drained by one background writer."""

    def __init__(self, interval: float = 1.0, flush_attempts: int = 10) -> None:
        self.interval = interval
        self.flush_attempts = flush_attempts
        self.refused: list[str] = []
        self._pending: dict[str, _Pending] = defaultdict(_Pending)
        self._clients: dict[str, Any] = {}
        self._inflight: dict[str, int] = defaultdict(int)  # taken, not yet written
        self._new_runs: list[tuple[Any, NewRun]] = []  # created before the values of others
        # runs ended while their server was away: (client, run id, writes left, in order)
        self._ends: list[tuple[Any, str, list[Callable[[], Any]]]] = []
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    # -- producer side: must stay cheap -------------------------------------------------------
    def add(
        self,
        client: Any,
        run_id: str,
        metrics: list[tuple[str, float, int, int]] = (),
        params: list[tuple[str, str]] = (),
        tags: list[tuple[str, str]] = (),
    ) -> None:
        with self._lock:
            self._clients[run_id] = client
            pending = self._pending[run_id]
            pending.metrics.extend(metrics)
            pending.params.extend(params)
            pending.tags.extend(tags)
            full = len(pending) >= _MAX_TOTAL
        if self._thread is None or not self._thread.is_alive():
            self._start()
        if full:
            self._wake.set()

    def add_run(self, client: Any, run: NewRun) -> None:
        """Queue a whole run; the writer creates it, logs its values and ends it."""
        with self._lock:
            self._new_runs.append((client, run))
        if self._thread is None or not self._thread.is_alive():
            self._start()
        self._wake.set()

    def add_end(self, client: Any, run_id: str, steps: list[Callable[[], Any]]) -> None:
        """Queue a run's end (``reachability.end_later``): ``steps`` run once, in order, after
        the run's queued values are written."""
        with self._lock:
            self._ends.append((client, run_id, list(steps)))
        if self._thread is None or not self._thread.is_alive():
            self._start()

    def ends_pending(self) -> int:
        """Runs whose end waits for their server."""
        with self._lock:
            return len(self._ends)

    def _usable(self, client: Any) -> bool:
        """Whether a write to ``client``'s store can be tried now. A server is asked first,
        once, quickly (``reachability``): a write meeting a server that went away would spend
        MLflow's minutes of retries holding the writer, and a found server is written to at
        once, not after the rest of a retry schedule."""
        return not is_http(_uri(client)) or client_answers(client)

    def pending(self, run_id: str | None = None) -> int:
        """Values (and queued runs) not yet stored, queued or being written."""
        with self._lock:
            runs = sum(1 for _, r in self._new_runs if run_id in (None, r.parent_run_id))
            if run_id is not None:
                return runs + len(self._pending.get(run_id, ())) + self._inflight.get(run_id, 0)
            values = sum(len(p) for p in self._pending.values()) + sum(self._inflight.values())
            return runs + values

    # -- writer side ----------------------------------------------------------------------------
    def flush(self, run_id: str | None = None) -> None:
        """Write what is queued (for one run, or all) now; raise ``LoggingError`` if the store
        stays unreachable, keeping the values for a later flush."""
        self._create_runs(run_id, retry=True)
        with self._lock:
            run_ids = [run_id] if run_id is not None else list(self._pending)
        for rid in run_ids:
            client = self._clients.get(rid)
            if client is not None and len(self._pending.get(rid, ())) and not self._usable(client):
                raise LoggingError(
                    f"the tracking server is not answering: {self.pending(rid)} value(s) kept"
                )
            self._drain(rid, retry=True)
        if run_id is None:
            self._write_ends()

    def _start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="jupyter-mlops-log", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while True:
            self._wake.wait(self.interval)
            self._wake.clear()
            with contextlib.suppress(LoggingError):
                self._create_runs(None, retry=False)
            with self._lock:
                run_ids = [rid for rid, p in self._pending.items() if len(p)]
            for rid in run_ids:
                # on failure the values are kept; the next round (or a flush) tries again
                if not self._usable(self._clients.get(rid)):
                    continue
                with contextlib.suppress(LoggingError):
                    self._drain(rid, retry=False)
            with contextlib.suppress(LoggingError):
                self._write_ends()

    def _write_ends(self) -> None:
        """Write the queued ends whose run has nothing else waiting, oldest first."""
        with self._write_lock:
            with self._lock:
                ends = list(self._ends)
            for end in ends:
                client, run_id, steps = end
                if self.pending(run_id) or not self._usable(client):
                    continue
                while steps:
                    try:
                        steps[0]()
                    except Exception as exc:
                        if _keep(exc):
                            raise LoggingError(f"could not end run {run_id} yet: {exc}") from exc
                        message = f"MLflow refused part of run {run_id}'s end: {_first_line(exc)}"
                        self.refused.append(message)
                        warnings.warn(message, stacklevel=2)
                    steps.pop(0)
                with self._lock:
                    self._ends.remove(end)

    def _create_runs(self, parent_run_id: str | None, retry: bool) -> None:
        """Create the queued runs (all, or the children of one run), oldest first."""
        with self._write_lock:
            while True:
                with self._lock:
                    found = next(
                        (
                            (client, r)
                            for client, r in self._new_runs
                            if parent_run_id in (None, r.parent_run_id)
                        ),
                        None,
                    )
                if found is None:
                    return
                client, run = found
                if not self._usable(client):
                    raise LoggingError(f"the tracking server is not answering: {run.name!r} kept")
                try:
                    attempts = self.flush_attempts if retry else 1
                    _retried(lambda c=client, r=run: write_run(c, r), attempts)
                except Exception as exc:
                    if _keep(exc):
                        raise LoggingError(
                            f"could not record run {run.name!r} in the store yet: {exc}"
                        ) from exc
                    message = f"MLflow refused run {run.name!r}: {_first_line(exc)}"
                    self.refused.append(message)
                    warnings.warn(message, stacklevel=2)
                with self._lock:
                    self._new_runs.remove(found)

    def _take(self, run_id: str) -> tuple[Any, _Pending]:
        with self._lock:
            taken = self._pending.pop(run_id, _Pending())
            self._inflight[run_id] += len(taken)
            return self._clients.get(run_id), taken

    def _restore(self, run_id: str, items: _Pending) -> None:
        with self._lock:
            self._pending[run_id].prepend(items)
            self._inflight[run_id] -= len(items)

    def _done(self, run_id: str, count: int) -> None:
        with self._lock:
            self._inflight[run_id] -= count

    def _drain(self, run_id: str, retry: bool) -> None:
        with self._write_lock:
            client, items = self._take(run_id)
            while len(items):
                chunk = _split_chunk(items)
                size = len(chunk)
                try:
                    attempts = self.flush_attempts if retry else 1
                    _retried(lambda c=chunk: _write(client, run_id, c), attempts)
                except Exception as exc:
                    if not _keep(exc):
                        self._write_one_by_one(client, run_id, chunk)
                        self._done(run_id, size)
                        continue
                    chunk.prepend(items)  # chunk first: order is kept
                    self._restore(run_id, chunk)
                    raise LoggingError(
                        f"could not write {len(chunk)} values to the store yet: {exc}"
                    ) from exc
                self._done(run_id, size)

    def _write_one_by_one(self, client: Any, run_id: str, chunk: _Pending) -> None:
        singles = (
            [_Pending(metrics=[m]) for m in chunk.metrics]
            + [_Pending(params=[p]) for p in chunk.params]
            + [_Pending(tags=[t]) for t in chunk.tags]
        )
        for single in singles:
            try:
                _retried(lambda s=single: _write(client, run_id, s))
            except Exception as exc:
                what = (single.metrics or single.params or single.tags)[0][0]
                message = f"MLflow refused {what!r} on run {run_id}: {_first_line(exc)}"
                self.refused.append(message)
                warnings.warn(message, stacklevel=2)


def _retried(write: Callable[[], None], attempts: int | None = None) -> None:
    """A write of the buffer's own (several client calls that remember their steps), tried
    ``attempts`` times on transient errors (``store.with_retry``'s default when None); one
    attempt is a plain call."""
    if attempts == 1:
        write()
        return
    options = {} if attempts is None else {"attempts": attempts}
    with_retry(write, **options)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _split_chunk(items: _Pending) -> _Pending:
    """Remove and return the next chunk within log_batch limits."""
    n_params = min(len(items.params), _MAX_PARAMS)
    n_tags = min(len(items.tags), _MAX_TAGS)
    n_metrics = min(len(items.metrics), _MAX_METRICS, _MAX_TOTAL - n_params - n_tags)
    chunk = _Pending(
        metrics=items.metrics[:n_metrics],
        params=items.params[:n_params],
        tags=items.tags[:n_tags],
    )
    del items.metrics[:n_metrics], items.params[:n_params], items.tags[:n_tags]
    return chunk


def _write(client: Any, run_id: str, chunk: _Pending) -> None:
    from mlflow.entities import Metric, Param, RunTag

    client.log_batch(
        run_id,
        metrics=[Metric(k, v, ts, step) for k, v, ts, step in chunk.metrics],
        params=[Param(k, v) for k, v in chunk.params],
        tags=[RunTag(k, v) for k, v in chunk.tags],
        synchronous=True,
    )


def write_run(client: Any, run: NewRun) -> None:
    """Create ``run``, log its values and end it; each step once, however often retried."""
    if run.run_id is None:
        created = client.create_run(
            run.experiment_id, start_time=run.start_ms, tags=run.tags, run_name=run.name
        )
        run.run_id = created.info.run_id
    if run._rest is None:
        run._rest = _Pending(metrics=list(run.metrics), params=list(run.params))
    while len(run._rest):
        chunk = _split_chunk(run._rest)
        try:
            _write(client, run.run_id, chunk)
        except Exception:
            run._rest.prepend(chunk)
            raise
    client.set_terminated(run.run_id, run.status, end_time=run.end_ms)


def now_ms() -> int:
    return int(time.time() * 1000)
