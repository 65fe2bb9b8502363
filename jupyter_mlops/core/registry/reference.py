"""The training reference kept with a promoted model: what ``monitor`` compares production with.

At promotion the training features ``X`` (and the model's predictions on them) are summarised
into the artifact's ``reference/`` folder, beside the model, never loaded by it:

* ``profile.json``: per column its kind (``column_profile.column_kind``'s, plus "other" for
  cells that cannot be counted), null rate, and for numbers the bins ``drift`` uses for PSI and
  its binned chi-square (``drift_tests.decile_edges``, the outer bins open-ended) with their
  counts over all of ``X``; for levels the most frequent levels with counts and the rest as
  one "other" count. The same for the prediction column(s).
* ``sample.parquet``: a seeded uniform sample of at most 10,000 rows of ``X`` with their
  predictions. ``drift`` needs values (its KS test reads them), so ``monitor`` calls
  ``drift(reference.features(), reference.comparable(window))`` with it directly.

Size is bounded whatever ``X`` is: a text cell or level name is cut at ``TEXT_CHARS``
characters, at most ``LEVEL_BUDGET`` levels are listed across all columns, and the sample has
fewer rows when its Parquet file would pass ``SAMPLE_BYTES``. A stored reference is untrusted
input (a shared artifact store): ``reference_load.load_reference`` checks its files against the
digests recorded on the version, parses JSON with a size limit and checks
its shape, reads Parquet with pyarrow (no pickle, no extension types), and says in one line
what is wrong, naming the model version (``reference_load``).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from ...errors import MlopsError
from .. import tags

FORMAT = 1
MAX_ROWS = 10_000  # rows of the sample at most
TEXT_CHARS = 200  # a text cell of the sample, a level's name in the profile, cut at this length
MAX_LEVELS = 50  # levels listed per column at most (drift's own MAX_LEVELS)
LEVEL_BUDGET = 20_000  # levels listed across all columns (a wide frame lists fewer per column)
SAMPLE_BYTES = 6 * 2**20  # the sample's Parquet file at most
PROFILE_BYTES = 16 * 2**20  # a profile.json above this is refused when read
PILOT_ROWS = 500  # rows written first to learn a sample row's size in Parquet
PREDICTION = "prediction"
NOT_COUNTABLE = "its cells cannot be counted or stored as Parquet (lists, dicts, objects)"


class ReferenceError(MlopsError):
    """A training reference that cannot be read: one line naming the model version."""


# -- building ------------------------------------------------------------------------------------
def build_reference(
    X: Any, predictions: Any, seed: int = 0, max_rows: int = MAX_ROWS
) -> dict[str, bytes]:
    """``{"profile.json": ..., "sample.parquet": ...}`` for training frame ``X``.

    ``predictions`` are the model's predictions on every row of ``X`` (profiled over all of
    them), or a callable predicting a frame of rows, called on the sample only (the predictions'
    profile then says it covers the sample's rows).
    """
    import numpy as np
    import pandas as pd

    X = pd.DataFrame(X)
    names = [str(c) for c in X.columns]
    if len(set(names)) != len(names):
        raise ReferenceError("its column names repeat as text (1 and '1')")
    frame = X.set_axis(names, axis=1)
    n_sample = min(max_rows, len(frame))
    # seeded, uniform, shuffled: any prefix is a uniform sample too; O(rows kept), not O(len(X))
    order = np.random.default_rng(seed).choice(len(frame), n_sample, replace=False)
    per_column = max(1, min(MAX_LEVELS, LEVEL_BUDGET // max(1, len(names))))
    columns = {c: profile_column(frame[c], per_column) for c in names}

    def predicted(rows: Any) -> Any:
        return predictions(X.iloc[rows]) if callable(predictions) else None

    full = None if callable(predictions) else _prediction_frame(predictions, names)
    if n_sample > PILOT_ROWS:  # rows that fit the byte budget, from a pilot's bytes per row
        pilot, _, _ = _sample_frame(frame.iloc[np.sort(order[:PILOT_ROWS])], columns)
        per_row = len(_parquet(pilot)) / PILOT_ROWS
        n_sample = max(1, min(n_sample, int(0.9 * SAMPLE_BYTES / per_row)))
    while True:
        rows = np.sort(order[:n_sample])
        sample_predictions = _prediction_frame(predicted(rows), names) if full is None else None
        if full is not None:
            sample_predictions = full.iloc[rows].reset_index(drop=True)
        sample, texts, dropped = _sample_frame(frame.iloc[rows], columns)
        sample = pd.concat([sample, sample_predictions], axis=1)
        parquet = _parquet(sample)
        if len(parquet) <= SAMPLE_BYTES or n_sample == 1:
            break  # else a smaller sample: a prefix of the same seeded permutation
        n_sample = max(1, int(n_sample * SAMPLE_BYTES / len(parquet) * 0.9))
    profiled = full if full is not None else sample_predictions
    profile = {
        "format": FORMAT,
        "rows": len(frame),
        "columns": columns,
        "predictions": {
            "columns": list(profiled.columns),
            "rows": len(profiled),
            "over": "training" if full is not None else "sample",
            "profile": {c: profile_column(profiled[c], MAX_LEVELS) for c in profiled.columns},
        },
        "sample": {
            "file": Path(tags.REFERENCE_SAMPLE).name,
            "rows": len(sample),
            "seed": int(seed),
            "text_chars": TEXT_CHARS,
            "as_text": texts,
            "dropped": dropped,
        },
        "binning": "drift's: the deciles of the finite values, the outer bins open-ended",
    }
    text = json.dumps(profile, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    return {Path(tags.REFERENCE_PROFILE).name: text.encode("utf-8"), "sample.parquet": parquet}


def write_reference(
    folder: Path, X: Any, predictions: Any, seed: int = 0, max_rows: int = MAX_ROWS
) -> dict[str, Any]:
    """Write ``reference/`` into the model folder; return its summary for the model card."""
    files = build_reference(X, predictions, seed=seed, max_rows=max_rows)
    target = folder / tags.REFERENCE_FOLDER
    target.mkdir()
    for name, data in files.items():
        (target / name).write_bytes(data)
    profile = json.loads(files[Path(tags.REFERENCE_PROFILE).name])
    return summary(profile)


def summary(profile: dict[str, Any]) -> dict[str, Any]:
    """What the model card says of a reference: rows sampled, columns profiled."""
    return {
        "rows": profile["rows"],
        "sampled": profile["sample"]["rows"],
        "columns": len(profile["columns"]),
        "predictions": len(profile["predictions"]["columns"]),
    }


def profile_column(s: Any, max_levels: int = MAX_LEVELS) -> dict[str, Any]:
    """One column's kind, null rate, and its bins (numbers) or top levels (the rest)."""
    from ..stats.column_profile import column_kind

    n, nulls = len(s), int(s.isna().sum())
    out: dict[str, Any] = {
        "kind": column_kind(s),
        "dtype": str(s.dtype)[:TEXT_CHARS],
        "nulls": nulls,
        "null_rate": nulls / n if n else 0.0,
    }
    if out["kind"] == "numeric":
        return {**out, **_numeric_bins(s)}
    if out["kind"] == "datetime":
        present = s.dropna()
        out["min"] = str(present.min()) if len(present) else None
        out["max"] = str(present.max()) if len(present) else None
        return out
    try:
        return {**out, **_levels(s, max_levels)}
    except TypeError:  # unhashable cells: nothing to count
        return {**out, "kind": "other"}


def _numeric_bins(s: Any) -> dict[str, Any]:
    import numpy as np

    from ..stats.column_profile import floats
    from ..stats.drift_tests import binned_counts, decile_edges

    values = floats(s)
    present = np.sort(values[~np.isnan(values)])
    edges = decile_edges(present)
    counts = binned_counts(present, edges, 0)[:-1]
    finite = present[np.isfinite(present)]
    return {
        "edges": [float(e) for e in edges],
        "counts": [int(c) for c in counts],
        "min": float(finite[0]) if len(finite) else None,
        "max": float(finite[-1]) if len(finite) else None,
    }


def _levels(s: Any, max_levels: int) -> dict[str, Any]:
    """Level counts as ``drift`` counts them (``pd.factorize``: unhashable cells raise
    TypeError, where ``value_counts`` would count lists)."""
    import numpy as np
    import pandas as pd

    codes, uniques = pd.factorize(s)
    counts = np.bincount(codes[codes >= 0], minlength=len(uniques))
    order = np.argsort(-counts, kind="stable")
    top = order[:max_levels]
    return {
        "n_levels": len(uniques),
        "levels": [[_label(uniques[i]), int(counts[i])] for i in top],
        "other": int(counts[order[max_levels:]].sum()),
    }


def _label(value: Any) -> Any:
    """A level as JSON: a number or boolean as it is, anything else as text cut short."""
    import numpy as np

    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool) or (isinstance(value, int) and abs(value) < 2**53):
        return value
    if isinstance(value, float) and math.isfinite(value):
        return value
    return str(value)[:TEXT_CHARS]


def _prediction_frame(predictions: Any, names: list[str]) -> Any:
    """Predictions as a frame of ``prediction`` (or ``prediction_<i>`` / ``_<column>``) columns,
    named apart from the features."""
    import numpy as np
    import pandas as pd

    stem = PREDICTION
    while stem in names or any(n.startswith(f"{stem}_") for n in names):
        stem = f"_{stem}"
    if isinstance(predictions, pd.DataFrame):
        out = predictions.set_axis([f"{stem}_{c}" for c in predictions.columns], axis=1)
        return out.reset_index(drop=True)
    if isinstance(predictions, pd.Series):
        predictions = predictions.to_numpy()
    values = np.asarray(predictions)
    if values.ndim == 1:
        return pd.DataFrame({stem: values})
    values = values.reshape(len(values), -1)
    return pd.DataFrame({f"{stem}_{i}": values[:, i] for i in range(values.shape[1])})


def _sample_frame(
    rows: Any, columns: dict[str, dict[str, Any]]
) -> tuple[Any, list[str], dict[str, str]]:
    """The sampled rows as Parquet can hold them: text cut at ``TEXT_CHARS``, mixed-type
    columns as text (named in ``as_text``), uncountable ones dropped (with why)."""
    import pandas as pd
    import pyarrow as pa

    out, texts, dropped = {}, [], {}
    for name in rows.columns:
        if columns[name]["kind"] == "other":
            dropped[name] = NOT_COUNTABLE
        else:
            out[name] = cut_text(rows[name].reset_index(drop=True))
    frame = pd.DataFrame(out, index=range(len(rows)))
    try:
        pa.Table.from_pandas(frame, preserve_index=False)
    except (pa.ArrowException, TypeError, ValueError):  # find the columns Arrow refuses
        for name in frame.columns:
            try:
                pa.Table.from_pandas(frame[[name]], preserve_index=False)
            except (pa.ArrowException, TypeError, ValueError):
                frame[name] = frame[name].map(as_text)
                texts.append(name)
    return frame, texts, dropped


def as_text(value: Any) -> Any:
    """A cell of a column Parquet cannot hold as it is: its text, cut short (missing stays)."""
    return value if value is None or value != value else str(value)[:TEXT_CHARS]


def cut_text(s: Any) -> Any:
    """A column with its text cells cut at ``TEXT_CHARS`` characters (others as they are)."""
    import pandas as pd

    if isinstance(s.dtype, pd.CategoricalDtype):
        cats = s.cat.categories
        if cats.dtype == object and any(isinstance(c, str) and len(c) > TEXT_CHARS for c in cats):
            s = s.astype(object)
        else:
            return s
    if s.dtype == object or pd.api.types.is_string_dtype(s.dtype):
        return s.map(lambda v: v[:TEXT_CHARS] if isinstance(v, str) else v)
    return s


def _parquet(frame: Any) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    sink = pa.BufferOutputStream()
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), sink, compression="zstd")
    return sink.getvalue().to_pybytes()


__all__ = [
    "ReferenceError",
    "as_text",
    "build_reference",
    "cut_text",
    "profile_column",
    "write_reference",
]
