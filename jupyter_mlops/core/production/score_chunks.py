"""One file scored chunk by chunk, in this process or in a Dask worker: the contract, the model,
the prediction columns, the inference log kept at most one chunk behind.

The model is loaded by MLflow's pyfunc loader from the verified folder (``target.resolve``), with
the environment its shipped runtime reads at load (``Target.log_env``: the log's location, the
registered name and version) set only for the load. Each chunk is checked against the model's
contract here first, so that input the model cannot use is one line naming the column and the
chunk's rows, and so that the rows with values the training data never had are counted for the
whole file; the model checks it again (that is what a promoted model does), logs the chunk and
predicts.
"""

from __future__ import annotations

import os
import threading
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ...errors import MlopsError
from . import score_io, target

CONTRACT_FILE = "contract.json"  # beside MLmodel in a promoted artifact
PREDICTION = "prediction"
STALLED_SECONDS = 120.0  # a log writer that wrote nothing for this long is not waited for
_LOAD_LOCK = threading.Lock()  # the environment is the process's: one load at a time
_CACHE_LOCK = threading.Lock()  # a worker's threads share its one loaded model
_LOADED: dict[tuple, Any] = {}  # a Dask worker loads each model once


@dataclass
class Scoring:
    """A loaded model ready to score: the pyfunc model, its contract (None for a model promoted
    without ``X``) and its inference log writer (None with logging off)."""

    model: Any
    contract: Any
    log: Any


@dataclass
class FileResult:
    """What scoring one file did: rows, chunks, flagged rows per column, distinct warnings."""

    rows: int = 0
    chunks: int = 0
    violations: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    logged: bool = True  # False: logging was asked for and the model has no writer

    def add(self, other: FileResult) -> None:
        self.logged = self.logged and other.logged
        self.rows += other.rows
        self.chunks += other.chunks
        for column, rows in other.violations.items():
            self.violations[column] = self.violations.get(column, 0) + rows
        self.notes += [n for n in other.notes if n not in self.notes]


def load(folder: str | Path, env: dict[str, str]) -> Scoring:
    """The model in ``folder`` loaded with ``env`` applied to ``os.environ`` for the load only
    (the shipped loader reads the log's location, name and version then); the environment is
    restored afterwards, whatever happens."""
    import mlflow.pyfunc

    from ...runtime.contract import Contract

    with _LOAD_LOCK:
        saved = {k: os.environ.get(k) for k in env}
        try:
            os.environ.update(env)
            model = mlflow.pyfunc.load_model(str(folder))
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
    path = Path(folder) / CONTRACT_FILE
    contract = Contract.load(path) if path.exists() else None
    # MLflow keeps the object our loader returned (runtime/loader.py's PromotedModel, whose
    # ``log`` is the writer it started) as ``_model_impl``; a model not promoted by us has none
    log = getattr(getattr(model, "_model_impl", None), "log", None)
    return Scoring(model, contract, log)


def unlogged(scoring: Scoring, env: dict[str, str]) -> str | None:
    """Why no row will be logged although a location was given (a version promoted before
    promoted models logged), so that the summary never names a log that holds nothing."""
    if env.get(target.LOG_ENV) and scoring.log is None:
        return (
            "this version was promoted before promoted models logged their predictions: "
            "nothing was written to the inference log"
        )
    return None


def load_once(folder: str, env: dict[str, str]) -> Scoring:
    """``load``, kept per process: a Dask worker scoring many files loads the model once. Only
    the latest model is kept (a new ``score`` downloads a new folder); the one it replaces has
    its log closed, so its rows are written."""
    key = (folder, tuple(sorted(env.items())))
    with _CACHE_LOCK:
        if key not in _LOADED:
            for old in _LOADED.values():
                if old.log is not None:
                    old.log.close()
            _LOADED.clear()
            _LOADED[key] = load(folder, env)
        return _LOADED[key]


def score_file(
    scoring: Scoring,
    source: Path,
    dest: Path,
    kind: str,
    chunksize: int,
    *,
    shown: str | None = None,
    step: Any = None,
) -> FileResult:
    """Score ``source`` into ``dest`` (renamed into place at the end); ``step(rows)`` after each
    chunk (the progress bar). A chunk the contract refuses is an ``MlopsError`` naming the file
    and its rows; nothing is left at ``dest`` then."""
    specs = {s.name: s for s in scoring.contract.columns} if scoring.contract else {}
    result = FileResult()
    writer = score_io.Writer(dest, kind)
    try:
        for table in score_io.batches(source, kind, chunksize):
            first = result.rows
            csv_specs = specs if kind == "csv" else None
            predictions, counts, notes = predict_chunk(scoring, table, csv_specs, first, shown)
            writer.write(with_predictions(table, predictions, first == 0))
            result.rows += table.num_rows
            result.chunks += 1
            for column, rows in counts.items():
                result.violations[column] = result.violations.get(column, 0) + rows
            result.notes += [n for n in notes if n not in result.notes]
            if first == 0 and specs:
                unused = [n for n in table.column_names if n not in specs]
                if unused:
                    result.notes.append(f"passed through, not read by the model: {unused}")
            keep_up(scoring.log, chunksize)
            if step is not None:
                step(table.num_rows)
        writer.commit()
    except Exception as exc:
        writer.discard()
        if isinstance(exc, MlopsError) or not is_read_error(exc):
            raise
        found = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise MlopsError(
            f"{shown or source}: cannot read on from row {result.rows:,} ({found})"
        ) from None
    except BaseException:  # Ctrl-C: no output either
        writer.discard()
        raise
    return result


def is_read_error(exc: BaseException) -> bool:
    """A file pyarrow cannot read on (a malformed CSV line, a corrupt page, a vanished file)."""
    import pyarrow as pa

    return isinstance(exc, (pa.ArrowException, OSError))


def predict_chunk(
    scoring: Scoring, table: Any, csv_specs: dict | None, first: int, shown: str | None
) -> tuple[Any, dict[str, int], list[str]]:
    """(predictions, rows flagged per column, other warnings' texts) for one chunk; a CSV
    chunk's model columns are read as numbers first (``csv_specs``: the contract's columns)."""
    import pyarrow as pa

    from ...runtime.contract import ContractError

    counts: dict[str, int] = {}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            if scoring.contract is not None:  # only what the model reads becomes pandas
                names = [c.name for c in scoring.contract.columns]
                table = table.select([n for n in table.column_names if n in names])
            frame = (score_io.typed(table, csv_specs) if csv_specs else table).to_pandas()
            if scoring.contract is not None:
                frame, counts = scoring.contract.validate_counted(frame, on_violation="warn")
            predictions = scoring.model.predict(frame)
        except (ContractError, MlopsError) as exc:
            last = first + table.num_rows - 1
            where = f"{shown}: " if shown else ""
            raise MlopsError(f"{where}rows {first:,}-{last:,}: {exc}") from None
        except (pa.ArrowException, ValueError, TypeError) as exc:
            last = first + table.num_rows - 1
            raise MlopsError(
                f"{shown or 'input'}: rows {first:,}-{last:,} cannot be scored: "
                f"{str(exc).strip().splitlines()[0] or type(exc).__name__}"
            ) from None
    # the values the training data never had are counted; any other warning is said once
    notes = [
        str(w.message).splitlines()[0]
        for w in caught
        if w.category.__name__ != "ContractWarning"
        and not issubclass(w.category, (DeprecationWarning, FutureWarning))
    ]
    return predictions, counts, notes


def prediction_columns(predictions: Any, rows: int) -> dict[str, Any]:
    """``prediction``, or ``prediction_<column>`` for each column of a 2-D output (the names the
    inference log uses)."""
    import numpy as np
    import pandas as pd

    if isinstance(predictions, pd.DataFrame):
        return {f"{PREDICTION}_{c}": predictions[c].to_numpy() for c in predictions.columns}
    if isinstance(predictions, pd.Series):
        return {PREDICTION: predictions.to_numpy()}
    values = np.asarray(predictions)
    if values.ndim == 2 and values.shape[1] == 1:
        values = values[:, 0]
    if values.ndim == 2:
        return {f"{PREDICTION}_{i}": values[:, i] for i in range(values.shape[1])}
    if values.ndim != 1 or len(values) != rows:
        raise MlopsError(f"the model returned {values.shape} predictions for {rows} rows")
    return {PREDICTION: values}


def with_predictions(table: Any, predictions: Any, check: bool) -> Any:
    """The chunk as read, with the prediction column(s) appended. A prediction column whose
    name the input already has is refused (a suffix would let a reader take the wrong one)."""
    import pyarrow as pa

    columns = prediction_columns(predictions, table.num_rows)
    if check:
        clash = [name for name in columns if name in table.column_names]
        if clash:
            raise MlopsError(
                f"the input already has a column {clash[0]!r}, which score adds: rename or drop "
                f"it in the input"
            )
    for name, values in columns.items():
        table = table.append_column(name, pa.array(values))
    return table


def keep_up(log: Any, chunksize: int) -> None:
    """Wait while the inference log holds more than one chunk and one of its batches not yet
    written (it writes once it holds a batch, ``batch_rows``): what the log keeps in memory stays
    bounded by the chunk size, and no row is dropped for being behind."""
    if log is None:
        return
    limit = chunksize + int(getattr(log, "batch_rows", 0))
    stalled, done = time.monotonic(), log.written + log.dropped
    while log.received - log.written - log.dropped > limit:
        if log.written + log.dropped != done:
            stalled, done = time.monotonic(), log.written + log.dropped
        elif time.monotonic() - stalled > STALLED_SECONDS:
            return  # the writer is stuck: its own warning and marker say what it lost
        time.sleep(0.005)


def score_file_task(task: dict[str, Any]) -> dict[str, Any]:
    """One file on a Dask worker: load the verified model once per worker process, score the
    file into the temporary output folder, write its log rows before answering."""
    scoring = load_once(task["folder"], task["env"])
    result = score_file(
        scoring,
        Path(task["source"]),
        Path(task["dest"]),
        "parquet",
        task["chunksize"],
        shown=task["shown"],
    )
    if scoring.log is not None:
        scoring.log.flush()
    return {
        "logged": unlogged(scoring, task["env"]) is None,
        "rows": result.rows,
        "chunks": result.chunks,
        "violations": result.violations,
        "notes": result.notes,
        "pid": os.getpid(),
    }
