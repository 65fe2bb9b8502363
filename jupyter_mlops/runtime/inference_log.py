"""The inference log: each prediction a model serves, in Parquet files written off the request path.

``InferenceLog(location, model_name, version).record(inputs, predictions, violations)`` only
queues the rows (a request handler must not wait on a disk); a background thread writes them in
batches (at ``batch_rows`` rows, after ``flush_seconds``, and at ``close`` or interpreter exit),
each batch as ONE complete Parquet file, hive-partitioned so ``pyarrow.dataset`` reads the
partitions as columns::

    <location>/<model name>/date=YYYY-MM-DD/version=<version>/part-<time>-<id>.parquet

``location`` is a folder or a URL pyarrow's filesystems open (``s3://``, ``gs://``, ``hdfs://``).
A local file is written under a temporary name starting with ``.`` (which readers skip) and
renamed; a remote object is written whole. Columns: the inputs (typed by
``inference_log_files.arrow_column``, the same in every batch), ``prediction`` (or
``prediction_<name>`` per column of a 2-D output), ``_mlops_ts`` (UTC), ``_mlops_request`` (one
id per ``record`` call) and ``_mlops_violations`` (the request's contract findings as JSON
``{"column": rows}``, on each of its rows: the contract counts rows per column, not which rows).

A location that cannot be written is one ``MlopsError`` at creation; a failure later (a full
disk) never reaches the request: the rows are counted as dropped and one warning says so. Each
live writer keeps a marker (``_writers/<host>-<pid>-<id>.json``: rows received, written,
dropped) removed on a clean close; a writer that starts and finds the marker of a dead process
on this host warns in one line of the rows that process received and never wrote.

This file and ``inference_log_files.py`` need the standard library, numpy, pandas and pyarrow
only: a promoted model ships a copy of both (the files module as ``<this copy's name>_files.py``)
and logs where jupyter-mlops is not installed.
"""

import atexit
import contextlib
import datetime as dt
import glob
import importlib
import json
import os
import queue
import socket
import threading
import time
import uuid
import warnings
from typing import Any
from urllib.parse import quote

import numpy as np
import pandas as pd

try:
    from .errors import InferenceLogWarning, MlopsError
except ImportError:  # a plain copy of this file, shipped with a packaged model
    try:  # the installed jupyter-mlops's classes: `except mlops.MlopsError` still catches ours
        _installed: Any = importlib.import_module("jupyter_mlops.runtime.errors")
    except ImportError:  # jupyter-mlops is not installed here
        _installed = None
    if hasattr(_installed, "MlopsError"):
        MlopsError = _installed.MlopsError
    else:

        class MlopsError(Exception):  # type: ignore[no-redef]
            """A mistake the user can fix: the message names the thing to change."""

    if hasattr(_installed, "InferenceLogWarning"):  # (an older jupyter-mlops has none)
        InferenceLogWarning = _installed.InferenceLogWarning
    else:

        class InferenceLogWarning(UserWarning):  # type: ignore[no-redef]
            """Rows the inference log did not write: a failed write, or a writer that died."""


def _beside(part: str) -> Any:
    """The module shipped beside a plain copy of this file as ``<its name>_<part>.py``."""
    import importlib.util
    import sys
    from pathlib import Path

    here = Path(__file__)
    name = f"{here.stem}_{part}"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, here.with_name(f"{name}.py"))
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


try:
    from . import inference_log_files as layout
except ImportError:  # a plain copy: its files module ships beside it
    layout = _beside("files")

LOG_ENV = "MLOPS_INFERENCE_LOG"  # a folder or URL: set, a loaded model logs there
NAME_ENV = "MLOPS_MODEL_NAME"  # the registered name, when settings.json does not say it
VERSION_ENV = "MLOPS_MODEL_VERSION"  # the registry's version (known only after registration)
BATCH_ROWS = 10_000
FLUSH_SECONDS = 10.0
MAX_PENDING_ROWS = 1_000_000  # beyond this the writer is not keeping up: rows are dropped
MARKERS = "_writers"
TICK = 0.2  # seconds between the thread's looks at the queue
MARK_SECONDS = 1.0  # the marker's counts are at most this old
_STOP = object()


def safe_name(text: Any, what: str) -> str:
    """``text`` as one path segment: percent-encoded, so no separator or ``..`` survives, and
    two different names never share a folder."""
    if not isinstance(text, str) or not text.strip() or len(text) > 255:
        raise MlopsError(f"{what} {text!r} cannot name an inference log folder: give 1-255 chars")
    encoded = quote(text, safe="-_.")
    return "%2E" + encoded[1:] if encoded.startswith(".") else encoded


def partitioning() -> Any:
    """How to read the log's partitions: ``date`` and ``version`` as strings, never guessed."""
    import pyarrow as pa
    import pyarrow.dataset as ds

    return ds.partitioning(
        pa.schema([("date", pa.string()), ("version", pa.string())]), flavor="hive"
    )


def dataset(location: str, model_name: str) -> Any:
    """The logged rows of ``model_name`` as one ``pyarrow.dataset`` (schemas of all files
    unified, so a column absent from early batches reads as nulls there)."""
    import pyarrow as pa
    import pyarrow.dataset as ds

    filesystem, root = _filesystem(location)
    folder = layout.join(root, safe_name(model_name, "model name"))
    found = ds.dataset(folder, filesystem=filesystem, format="parquet", partitioning=partitioning())
    schemas = [f.physical_schema for f in found.get_fragments()]
    if not schemas:
        return found
    schema = pa.unify_schemas(schemas)
    schema = schema.append(pa.field("date", pa.string())).append(pa.field("version", pa.string()))
    return ds.dataset(
        folder, schema=schema, filesystem=filesystem, format="parquet", partitioning=partitioning()
    )


class InferenceLog:
    """A model's inference log: ``record`` queues, a background thread writes batches."""

    def __init__(
        self,
        location: str,
        model_name: str,
        version: Any,
        *,
        batch_rows: int = BATCH_ROWS,
        flush_seconds: float = FLUSH_SECONDS,
        max_pending_rows: int = MAX_PENDING_ROWS,
    ) -> None:
        self.location = str(location)
        self.model_name, self.version = model_name, str(version)
        folder_name = safe_name(model_name, "model name")
        self._version = safe_name(self.version, "model version")
        self.batch_rows, self.flush_seconds = int(batch_rows), float(flush_seconds)
        self.max_pending_rows = int(max_pending_rows)
        self._fs, root = _filesystem(self.location)
        self.folder = layout.join(root, folder_name)
        try:
            importlib.import_module("pyarrow.parquet")
        except ImportError:
            raise MlopsError(
                f"the inference log needs pyarrow, which this environment lacks: install it "
                f"(pip install pyarrow) or unset {LOG_ENV}"
            ) from None
        self._probe()
        self._report_dead_writers()
        self._closed = False
        self._start()
        atexit.register(self.close)
        _close_on_sigterm(self)

    # the request path -----------------------------------------------------------------------

    def record(self, inputs: Any, predictions: Any, violations: dict | None = None) -> None:
        """Queue one request's rows; never raises, never waits on the disk."""
        try:
            if self._closed:
                return
            if os.getpid() != self._pid:  # a forked worker: its own thread and marker
                self._start()
            frame = inputs if isinstance(inputs, pd.DataFrame) else pd.DataFrame(inputs)
            rows = len(frame)
            with self._lock:
                if self.received - self.written - self.dropped + rows > self.max_pending_rows:
                    self.dropped += rows
                    full = True
                else:
                    self.received += rows
                    full = False
            if full:
                self._warn_once(f"the writer is {self.max_pending_rows:,} rows behind")
                return
            item = (
                frame.copy(),
                predictions.copy() if hasattr(predictions, "copy") else np.array(predictions),
                dict(violations or {}),
                time.time(),
                uuid.uuid4().hex,
            )
            self._queue.put(item)
            if self.received - self.written - self.dropped >= self.batch_rows:
                self._wake.set()
        except Exception as exc:  # the prediction is served whatever happens to its log
            self._warn_once(f"{type(exc).__name__}: {exc}")

    def flush(self, timeout: float = 60.0) -> None:
        """Write what is queued now and wait for it (tests, and ``score`` between chunks)."""
        done = threading.Event()
        self._queue.put(done)
        self._wake.set()
        done.wait(timeout)

    def close(self, timeout: float | None = None) -> None:
        """Write what is queued, stop the thread, remove the marker (a clean end)."""
        if self._closed or os.getpid() != self._pid:
            return
        self._closed = True
        self._queue.put(_STOP)
        self._wake.set()
        self._thread.join(timeout)
        with contextlib.suppress(ValueError):
            _OPEN.remove(self)
        if self._thread.is_alive():  # still writing: the marker says what may be lost
            return
        with contextlib.suppress(OSError):
            layout.delete(self._fs, self._marker)
        atexit.unregister(self.close)

    def __enter__(self) -> "InferenceLog":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # the background thread ------------------------------------------------------------------

    def _start(self) -> None:
        """A thread, a queue, a lock and a marker of this process's own (again in a forked
        child: the parent's thread is not there, and its queued rows are the parent's to write)."""
        self._pid = os.getpid()
        self._lock = threading.Lock()
        self.received = self.written = self.dropped = 0
        self._warned = False
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._wake = threading.Event()
        name = f"{_host()}-{self._pid}-{uuid.uuid4().hex[:8]}.json"
        self._marker = layout.join(layout.join(self.folder, MARKERS), name)
        self._started = _now().isoformat(timespec="seconds")
        self._marked: tuple = ()
        self._mark()
        self._thread = threading.Thread(target=self._run, name="mlops-inference-log", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        """Wake every ``TICK`` seconds (or when woken: a full batch, ``flush``, ``close``) and
        drain the queue; ``record`` never wakes it per request, so requests do not pay for a
        thread switch each."""
        batch: list = []
        rows, deadline, marked = 0, 0.0, 0.0
        while True:
            self._wake.wait(TICK)
            self._wake.clear()
            stop, waiters = False, []
            while True:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is _STOP:
                    stop = True
                elif isinstance(item, threading.Event):
                    waiters.append(item)
                else:
                    if not batch:
                        deadline = time.monotonic() + self.flush_seconds
                    batch.append(item)
                    rows += len(item[0])
                    if rows >= self.batch_rows:
                        self._write(batch, rows)
                        batch, rows = [], 0
            if batch and (stop or waiters or time.monotonic() >= deadline):
                self._write(batch, rows)
                batch, rows = [], 0
            for waiter in waiters:
                waiter.set()
            if stop:
                return
            if time.monotonic() - marked >= MARK_SECONDS:  # what a crash now would lose
                self._mark()
                marked = time.monotonic()

    def _write(self, batch: list, rows: int) -> None:
        try:
            for day, items in layout.days(batch).items():
                self._put(day, layout.log_table(items))
            with self._lock:
                self.written += rows
        except Exception as exc:  # a full disk, a lost bucket: counted, said once, not raised
            with self._lock:
                self.dropped += rows
            self._warn_once(f"{type(exc).__name__}: {exc}")
        self._mark()

    def _put(self, day: str, table: Any) -> None:
        import pyarrow.parquet as pq

        folder = layout.join(layout.join(self.folder, f"date={day}"), f"version={self._version}")
        name = f"part-{_now().strftime('%Y%m%dT%H%M%S%fZ')}-{uuid.uuid4().hex[:12]}.parquet"
        if self._fs is not None:  # an object store: the object appears whole or not at all
            self._fs.create_dir(folder, recursive=True)
            with self._fs.open_output_stream(layout.join(folder, name)) as out:
                pq.write_table(table, out)
            return
        os.makedirs(folder, exist_ok=True)
        temporary = os.path.join(folder, f".{name}.{self._pid}.tmp")  # the pid: see below
        try:
            with open(temporary, "wb") as out:
                pq.write_table(table, out)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, os.path.join(folder, name))
        finally:
            if os.path.exists(temporary):
                os.remove(temporary)

    def _warn_once(self, reason: str) -> None:
        if self._warned:
            return
        self._warned = True
        warnings.warn(
            f"the inference log at {layout.shown(self.location)} lost rows ({reason}); "
            f"predictions are still served, dropped rows are counted in {self._marker}",
            InferenceLogWarning,
            stacklevel=2,
        )

    # the marker: what a crash would lose ----------------------------------------------------

    def _mark(self) -> None:
        with self._lock:
            counts = (self.received, self.written, self.dropped)
        if counts == self._marked:
            return
        state = {
            "pid": self._pid,
            "host": _host(),
            "started": self._started,
            "updated": _now().isoformat(timespec="seconds"),
            "received": counts[0],
            "written": counts[1],
            "dropped": counts[2],
        }
        try:
            layout.write_text(self._fs, self._marker, json.dumps(state))
            self._marked = counts
        except OSError:
            pass  # the next flush tries again; the data files are what matters

    def _probe(self) -> None:
        """Create the folder and a probe file once: a location this process cannot write is one
        line now, not a failure per request later."""
        probe = layout.join(self.folder, f".probe-{uuid.uuid4().hex}")
        try:
            layout.write_text(self._fs, probe, "")
            layout.delete(self._fs, probe)
        except Exception as exc:
            reason = getattr(exc, "strerror", None) or str(exc).splitlines()[0]
            raise MlopsError(
                f"the inference log at {layout.shown(self.location)} is not writable ({reason}): "
                f"set {LOG_ENV} to a folder or URL this process can write, or unset it"
            ) from None

    def _report_dead_writers(self) -> None:
        """One warning for the writers on this host that died without closing."""
        for path in layout.listing(self._fs, layout.join(self.folder, MARKERS)):
            try:
                state = json.loads(layout.read_text(self._fs, path))
            except (OSError, ValueError):
                continue
            if state.get("host") != _host() or _alive(state.get("pid")):
                continue
            unwritten = state["received"] - state["written"] - state["dropped"]
            warnings.warn(
                f"the inference log writer of process {state['pid']} (started "
                f"{state['started']}) ended without closing: {unwritten:,} rows it had received "
                f"by {state['updated']} were never written, and any received after then (at most "
                f"one batch) were lost too",
                InferenceLogWarning,
                stacklevel=3,
            )
            with contextlib.suppress(OSError):
                layout.delete(self._fs, path)
            if self._fs is None:  # a file it was writing when it died: never data, now gone
                pattern = os.path.join(self.folder, "date=*", "version=*", f".*.{state['pid']}.tmp")
                for half in glob.glob(pattern):
                    with contextlib.suppress(OSError):
                        os.remove(half)


# a server stopped by SIGTERM --------------------------------------------------------------------

_OPEN: list = []  # this process's open writers
_PREVIOUS: dict = {}  # the SIGTERM handler ours replaced


def _close_on_sigterm(log: InferenceLog) -> None:
    """Write the last batch when the server is stopped by SIGTERM too: uvicorn (under ``mlflow
    models serve``) shuts down gracefully and then re-raises the signal with the handler found at
    start, whose default action ends the process without running ``atexit``."""
    import signal

    _OPEN.append(log)
    if _PREVIOUS or threading.current_thread() is not threading.main_thread():
        return
    with contextlib.suppress(ValueError, OSError, AttributeError):
        previous = signal.getsignal(signal.SIGTERM)
        if previous in (signal.SIG_IGN, None):
            return  # the process outlives SIGTERM: nothing ends here
        signal.signal(signal.SIGTERM, _on_sigterm)
        _PREVIOUS["handler"] = previous


def _on_sigterm(signum: int, frame: Any) -> None:
    import signal

    previous = _PREVIOUS.get("handler")
    if callable(previous):  # someone else decides whether the process ends: write, keep open
        for log in list(_OPEN):
            log.flush(timeout=30)
        previous(signum, frame)
        return
    for log in list(_OPEN):
        log.close(timeout=30)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.raise_signal(signal.SIGTERM)


# the location: a local folder, or a URL opened by pyarrow ---------------------------------------


def _filesystem(location: str) -> tuple[Any, str]:
    if "://" in location and not location.startswith("file://"):
        from pyarrow import fs

        try:
            filesystem, path = fs.FileSystem.from_uri(location)
        except Exception as exc:
            reason = str(exc).splitlines()[0]
            raise MlopsError(
                f"the inference log at {layout.shown(location)} cannot be opened ({reason}): "
                f"set {LOG_ENV} to a folder or a URL such as s3://bucket/prefix"
            ) from None
        return filesystem, path.rstrip("/")
    path = location.removeprefix("file://")
    return None, os.path.abspath(os.path.expanduser(path))


def _host() -> str:
    return socket.gethostname()


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _alive(pid: Any) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True
