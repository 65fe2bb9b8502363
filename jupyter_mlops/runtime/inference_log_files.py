"""What the inference log writes: one frame per batch with one Arrow type per column, and small
files on a local folder (os) or a URL (a pyarrow filesystem).

A copy ships beside the writer's copy in a promoted model's ``code/`` folder as
``<writer module>_files.py``; it needs the standard library, numpy, pandas and pyarrow only.
"""

import json
import os
import uuid
from typing import Any

import numpy as np
import pandas as pd

TS, REQUEST, VIOLATIONS = "_mlops_ts", "_mlops_request", "_mlops_violations"


def days(batch: list) -> dict:
    """The queued requests by their UTC day (``YYYY-MM-DD``), in order: a batch is written as one
    file per day it spans (usually one), and the day is read once per request, not per row."""
    import time

    by_day: dict = {}
    for item in batch:
        by_day.setdefault(time.strftime("%Y-%m-%d", time.gmtime(item[3])), []).append(item)
    return by_day


def log_table(batch: list) -> Any:
    """The queued requests as one Arrow table: the inputs (``arrow_column``'s types), the
    prediction column(s) and our own columns, built column by column over the whole batch (the
    thread shares the interpreter with the requests, so its work per request must stay small;
    our per-request columns are taken from one value per request, never a Python loop per row)."""
    import pyarrow as pa

    frames = [item[0] for item in batch]
    frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    names = [str(c) for c in frame.columns]
    sizes = np.array([len(f) for f in frames])
    outputs = [prediction_columns(item[1], len(item[0])) for item in batch]
    predicted = list(dict.fromkeys(name for out in outputs for name in out))
    ours: dict[str, Any] = {}
    for name in predicted:
        parts = [out.get(name, np.full(sizes[i], np.nan)) for i, out in enumerate(outputs)]
        values = np.concatenate(parts) if len(parts) > 1 else parts[0]
        ours[name] = arrow_column(pd.Series(values))
    per_request = np.repeat(np.arange(len(batch)), sizes)  # each row's request, by position
    micros = np.array([round(item[3] * 1_000_000) for item in batch], dtype="int64")
    ours[TS] = pa.array(micros[per_request], pa.timestamp("us", tz="UTC"))
    ours[REQUEST] = pa.array([item[4] for item in batch], pa.string()).take(per_request)
    counts = [json.dumps({str(k): int(v) for k, v in item[2].items()}) for item in batch]
    ours[VIOLATIONS] = pa.array(counts, pa.string()).take(per_request)
    clash = {c for c in names if c in ours or c.startswith("_mlops_")}
    arrays = [arrow_column(frame.iloc[:, i]) for i in range(len(names))]
    names = [f"input_{c}" if c in clash else c for c in names]
    return pa.Table.from_arrays([*arrays, *ours.values()], names=[*names, *ours])


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
    if isinstance(dtype, pd.CategoricalDtype):  # the levels as text, taken by code
        levels = pa.array([str(v) for v in dtype.categories], pa.string())
        codes = series.cat.codes.to_numpy()
        return levels.take(pa.array(codes, mask=codes < 0))
    values = series.astype(object)
    try:  # all text already: pyarrow converts it without a Python loop
        fast = pa.array(values, from_pandas=True)
        if pa.types.is_string(fast.type) or pa.types.is_large_string(fast.type):
            return fast.cast(pa.string())
    except (pa.ArrowException, TypeError, ValueError):
        pass
    return pa.array([None if _missing(v) else str(v) for v in values], pa.string())


def _missing(value: Any) -> bool:
    return value is None or (not isinstance(value, str) and bool(pd.isna(value)))


# small files: a local folder (os) or a URL (pyarrow's filesystems) ---------------------------


def shown(location: str) -> str:
    """``location`` fit for a message: a URL without its query or user part (they may hold
    keys)."""
    if "://" not in location:
        return location
    scheme, rest = location.split("://", 1)
    rest = rest.split("?", 1)[0].split("#", 1)[0]
    return f"{scheme}://{rest.rsplit('@', 1)[-1] if '@' in rest.split('/', 1)[0] else rest}"


def join(folder: str, name: str) -> str:
    return f"{folder}/{name}" if folder else name


def write_text(filesystem: Any, path: str, text: str) -> None:
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


def read_text(filesystem: Any, path: str) -> str:
    if filesystem is not None:
        with filesystem.open_input_stream(path) as f:
            return f.read().decode("utf-8")
    with open(path, encoding="utf-8") as f:
        return f.read()


def delete(filesystem: Any, path: str) -> None:
    if filesystem is not None:
        filesystem.delete_file(path)
    else:
        os.remove(path)


def listing(filesystem: Any, folder: str) -> list[str]:
    if filesystem is not None:
        from pyarrow import fs

        infos = filesystem.get_file_info(fs.FileSelector(folder, allow_not_found=True))
        return [i.path for i in infos if i.path.endswith(".json")]
    if not os.path.isdir(folder):
        return []
    return [os.path.join(folder, n) for n in sorted(os.listdir(folder)) if n.endswith(".json")]
