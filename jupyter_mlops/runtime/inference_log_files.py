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
