"""The inference log: each prediction a model serves, in Parquet files written off the request path.

``InferenceLog(location, model_name, version).record(inputs, predictions, violations)`` only
queues the rows (a request handler must not wait on a disk); a background thread writes them in
batches (at ``batch_rows`` rows, after ``flush_seconds``, and at ``close`` or interpreter exit),
each batch as ONE complete Parquet file, hive-partitioned so ``pyarrow.dataset`` reads the
partitions as columns::

    <location>/<model name>/date=YYYY-MM-DD/version=<version>/part-<time>-<id>.parquet

``location`` is a folder or a URL pyarrow's filesystems open (``s3://``, ``gs://``, ``hdfs://``).
A local file is written under a temporary name starting with ``.`` (which readers skip) and
renamed; a remote object is written whole. Columns: the inputs (see ``arrow_column`` for the
types, the same in every batch), ``prediction`` (or ``prediction_<name>`` per column of a 2-D
output), ``_mlops_ts`` (UTC), ``_mlops_request`` (one id per ``record`` call) and
``_mlops_violations`` (the request's contract findings as JSON ``{"column": rows}``, on each of
its rows: the contract counts rows per column, not which rows).

A location that cannot be written is one ``MlopsError`` at creation; a failure later (a full
disk) never reaches the request: the rows are counted as dropped and one warning says so. Each
live writer keeps a marker (``_writers/<host>-<pid>-<id>.json``: rows received, written,
dropped) removed on a clean close; a writer that starts and finds the marker of a dead process
on this host warns in one line of the rows that process received and never wrote.

This file needs the standard library, numpy, pandas and pyarrow only: a promoted model ships a
copy and logs where jupyter-mlops is not installed.
"""

import atexit
import contextlib
import datetime as dt
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
    from .errors import MlopsError
except ImportError:  # a plain copy of this file, shipped with a packaged model
    try:
        MlopsError = importlib.import_module("jupyter_mlops.runtime.errors").MlopsError
    except ImportError:  # jupyter-mlops is not installed here

        class MlopsError(Exception):  # type: ignore[no-redef]
            """A mistake the user can fix: the message names the thing to change."""


LOG_ENV = "MLOPS_INFERENCE_LOG"  # a folder or URL: set, a loaded model logs there
NAME_ENV = "MLOPS_MODEL_NAME"  # the registered name, when settings.json does not say it
VERSION_ENV = "MLOPS_MODEL_VERSION"  # the registry's version (known only after registration)
BATCH_ROWS = 10_000
FLUSH_SECONDS = 10.0
MAX_PENDING_ROWS = 1_000_000  # beyond this the writer is not keeping up: rows are dropped
MARKERS = "_writers"
TS, REQUEST, VIOLATIONS = "_mlops_ts", "_mlops_request", "_mlops_violations"
_STOP = object()


class InferenceLogWarning(UserWarning):
    """Rows the inference log did not write: a failed write, or a writer that died."""


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
    folder = _join(root, safe_name(model_name, "model name"))
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
        self.folder = _join(root, folder_name)
        self._probe()
        self._report_dead_writers()
        self._lock = threading.Lock()
        self._closed = False
        self._start()
        atexit.register(self.close)

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
        except Exception as exc:  # the prediction is served whatever happens to its log
            self._warn_once(f"{type(exc).__name__}: {exc}")

    def flush(self, timeout: float = 60.0) -> None:
        """Write what is queued now and wait for it (tests, and ``score`` between chunks)."""
        done = threading.Event()
        self._queue.put(done)
        done.wait(timeout)

    def close(self) -> None:
        """Write what is queued, stop the thread, remove the marker (a clean end)."""
        if self._closed or os.getpid() != self._pid:
            return
        self._closed = True
        self._queue.put(_STOP)
        self._thread.join()
        with contextlib.suppress(OSError):
            _delete(self._fs, self._marker)
        atexit.unregister(self.close)

    def __enter__(self) -> "InferenceLog":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # the background thread ------------------------------------------------------------------

    def _start(self) -> None:
        self._pid = os.getpid()
        self.received = self.written = self.dropped = 0
        self._warned = False
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        name = f"{_host()}-{self._pid}-{uuid.uuid4().hex[:8]}.json"
        self._marker = _join(_join(self.folder, MARKERS), name)
        self._started = _now().isoformat(timespec="seconds")
        self._marked: tuple = ()
        self._mark()
        self._thread = threading.Thread(target=self._run, name="mlops-inference-log", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        batch: list = []
        rows, deadline = 0, 0.0
        while True:
            wait = 1.0 if not batch else min(1.0, max(0.0, deadline - time.monotonic()))
            try:
                item = self._queue.get(timeout=wait)
            except queue.Empty:
                item = None
            if isinstance(item, tuple):
                if not batch:
                    deadline = time.monotonic() + self.flush_seconds
                batch.append(item)
                rows += len(item[0])
            stop = item is _STOP
            if batch and (
                stop
                or isinstance(item, threading.Event)
                or rows >= self.batch_rows
                or time.monotonic() >= deadline
            ):
                self._write(batch, rows)
                batch, rows = [], 0
            if isinstance(item, threading.Event):
                item.set()
            if stop:
                return
            if item is None or not self._queue.qsize():
                self._mark()

    def _write(self, batch: list, rows: int) -> None:
        try:
            frame = log_frame(batch)
            for day, part in frame.groupby(frame[TS].dt.strftime("%Y-%m-%d"), sort=True):
                self._put(day, arrow_table(part))
            with self._lock:
                self.written += rows
        except Exception as exc:  # a full disk, a lost bucket: counted, said once, not raised
            with self._lock:
                self.dropped += rows
            self._warn_once(f"{type(exc).__name__}: {exc}")
        self._mark()

    def _put(self, day: str, table: Any) -> None:
        import pyarrow.parquet as pq

        folder = _join(_join(self.folder, f"date={day}"), f"version={self._version}")
        name = f"part-{_now().strftime('%Y%m%dT%H%M%S%fZ')}-{uuid.uuid4().hex[:12]}.parquet"
        if self._fs is not None:  # an object store: the object appears whole or not at all
            self._fs.create_dir(folder, recursive=True)
            with self._fs.open_output_stream(_join(folder, name)) as out:
                pq.write_table(table, out)
            return
        os.makedirs(folder, exist_ok=True)
        temporary = os.path.join(folder, f".{name}.tmp")
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
            f"the inference log at {self.location} lost rows ({reason}); predictions are still "
            f"served, dropped rows are counted in {self._marker}",
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
            _write_text(self._fs, self._marker, json.dumps(state))
            self._marked = counts
        except OSError:
            pass  # the next flush tries again; the data files are what matters

    def _probe(self) -> None:
        """Create the folder and a probe file once: a location this process cannot write is one
        line now, not a failure per request later."""
        probe = _join(self.folder, f".probe-{uuid.uuid4().hex}")
        try:
            _write_text(self._fs, probe, "")
            _delete(self._fs, probe)
        except Exception as exc:
            reason = getattr(exc, "strerror", None) or str(exc).splitlines()[0]
            raise MlopsError(
                f"the inference log at {self.location} is not writable ({reason}): set "
                f"{LOG_ENV} to a folder or URL this process can write, or unset it"
            ) from None

    def _report_dead_writers(self) -> None:
        """One warning for the writers on this host that died without closing."""
        for path in _listing(self._fs, _join(self.folder, MARKERS)):
            try:
                state = json.loads(_read_text(self._fs, path))
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
                _delete(self._fs, path)


# the rows, as the log stores them ----------------------------------------------------------------


def log_frame(batch: list) -> pd.DataFrame:
    """The queued requests as one frame: inputs, prediction column(s) and our own columns
    (built column by column over the whole batch: the thread shares the interpreter with the
    requests, so its work per request must stay small)."""
    frames = [item[0] for item in batch]
    frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    frame = frame.reset_index(drop=True)
    frame.columns = [str(c) for c in frame.columns]
    sizes = [len(f) for f in frames]
    outputs = [prediction_columns(item[1], len(item[0])) for item in batch]
    names = list(dict.fromkeys(name for out in outputs for name in out))
    columns: dict[str, Any] = {}
    for name in names:
        parts = [out.get(name, np.full(sizes[i], np.nan)) for i, out in enumerate(outputs)]
        columns[name] = np.concatenate(parts) if len(parts) > 1 else parts[0]
    stamps = np.repeat(np.array([item[3] for item in batch]), sizes)
    columns[TS] = pd.to_datetime(stamps, unit="s", utc=True)
    columns[REQUEST] = np.repeat(np.array([item[4] for item in batch], object), sizes)
    counts = [json.dumps({str(k): int(v) for k, v in item[2].items()}) for item in batch]
    columns[VIOLATIONS] = np.repeat(np.array(counts, object), sizes)
    clash = [c for c in frame.columns if c in columns or c.startswith("_mlops_")]
    frame = frame.rename(columns={c: f"input_{c}" for c in clash})
    return pd.concat([frame, pd.DataFrame(columns, index=frame.index)], axis=1)


def prediction_columns(predictions: Any, rows: int) -> dict[str, Any]:
    """``prediction``, or ``prediction_<column>`` for each column of a 2-D output."""
    if isinstance(predictions, pd.DataFrame):
        return {f"prediction_{c}": predictions[c].to_numpy() for c in predictions.columns}
    values = np.asarray(predictions)
    if values.ndim == 2 and values.shape[1] == 1:
        values = values[:, 0]
    if values.ndim == 2:
        return {f"prediction_{i}": values[:, i] for i in range(values.shape[1])}
    return {"prediction": values.reshape(rows) if values.size == rows else values}


def arrow_table(frame: pd.DataFrame) -> Any:
    """``frame`` with every column typed by ``arrow_column``."""
    import pyarrow as pa

    arrays = [arrow_column(frame[name]) for name in frame.columns]
    return pa.Table.from_arrays(arrays, names=[str(c) for c in frame.columns])


def arrow_column(series: pd.Series) -> Any:
    """One rule, so a column has the same type in every batch: booleans stay booleans, other
    numbers are float64 (an integer column with nulls in one batch and none in the next would
    otherwise change type), datetimes are UTC timestamps (naive ones taken as UTC), and
    everything else (text, categoricals, mixed objects) is text; nulls stay nulls."""
    import pyarrow as pa

    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return pa.array(series.astype("boolean").to_numpy(object, na_value=None), pa.bool_())
    if pd.api.types.is_numeric_dtype(dtype):
        values = series.to_numpy("float64", na_value=np.nan)
        return pa.array(values, pa.float64(), from_pandas=True)
    if pd.api.types.is_datetime64_any_dtype(dtype):
        stamps = pd.to_datetime(series, utc=True).dt.as_unit("us")
        return pa.array(stamps, pa.timestamp("us", tz="UTC"))
    values = series.astype(object)
    return pa.array([None if _missing(v) else str(v) for v in values], pa.string())


def _missing(value: Any) -> bool:
    return value is None or (not isinstance(value, str) and bool(pd.isna(value)))


# where the files go: a local folder (os) or a URL (pyarrow's filesystems) ------------------------


def _filesystem(location: str) -> tuple[Any, str]:
    if "://" in location and not location.startswith("file://"):
        from pyarrow import fs

        try:
            filesystem, path = fs.FileSystem.from_uri(location)
        except Exception as exc:
            raise MlopsError(
                f"the inference log at {location} cannot be opened ({str(exc).splitlines()[0]}): "
                f"set {LOG_ENV} to a folder or a URL such as s3://bucket/prefix"
            ) from None
        return filesystem, path.rstrip("/")
    path = location.removeprefix("file://")
    return None, os.path.abspath(os.path.expanduser(path))


def _join(folder: str, name: str) -> str:
    return f"{folder}/{name}" if folder else name


def _write_text(filesystem: Any, path: str, text: str) -> None:
    parent = path.rsplit("/", 1)[0]
    if filesystem is not None:
        filesystem.create_dir(parent, recursive=True)
        with filesystem.open_output_stream(path) as out:
            out.write(text.encode("utf-8"))
        return
    os.makedirs(parent, exist_ok=True)
    temporary = f"{path}.{uuid.uuid4().hex[:8]}.tmp"
    with open(temporary, "w", encoding="utf-8") as out:
        out.write(text)
    os.replace(temporary, path)


def _read_text(filesystem: Any, path: str) -> str:
    if filesystem is not None:
        with filesystem.open_input_stream(path) as f:
            return f.read().decode("utf-8")
    with open(path, encoding="utf-8") as f:
        return f.read()


def _delete(filesystem: Any, path: str) -> None:
    if filesystem is not None:
        filesystem.delete_file(path)
    else:
        os.remove(path)


def _listing(filesystem: Any, folder: str) -> list[str]:
    if filesystem is not None:
        from pyarrow import fs

        infos = filesystem.get_file_info(fs.FileSelector(folder, allow_not_found=True))
        return [i.path for i in infos if i.path.endswith(".json")]
    if not os.path.isdir(folder):
        return []
    return [os.path.join(folder, n) for n in sorted(os.listdir(folder)) if n.endswith(".json")]


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
