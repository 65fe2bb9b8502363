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
input (a shared artifact store): ``load_reference`` parses JSON with a size limit and checks
its shape, reads Parquet with pyarrow (no pickle, no extension types), and says in one line
what is wrong, naming the model version.
"""

from __future__ import annotations

import functools
import json
import math
from dataclasses import dataclass, field
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
        raise ReferenceError("column names repeat as text (1 and '1'): no training reference")
    frame = X.set_axis(names, axis=1)
    order = np.random.default_rng(seed).permutation(len(frame))
    n_sample = min(max_rows, len(frame))
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
        sample, as_text, dropped = _sample_frame(frame.iloc[rows], columns)
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
            "as_text": as_text,
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

    out, as_text, dropped = {}, [], {}
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
                frame[name] = frame[name].map(_as_text)
                as_text.append(name)
    return frame, as_text, dropped


def _as_text(value: Any) -> Any:
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


# -- reading -------------------------------------------------------------------------------------
@dataclass
class Reference:
    """A promoted version's training reference: its profile, and its sample read when asked."""

    uri: str
    profile: dict[str, Any]
    sample_path: Path = field(repr=False)

    @property
    def columns(self) -> list[str]:
        """The training features profiled, in ``X``'s order."""
        return list(self.profile["columns"])

    @property
    def prediction_columns(self) -> list[str]:
        return list(self.profile["predictions"]["columns"])

    @functools.cached_property
    def sample(self) -> Any:
        """The sampled rows (features, then predictions) as a DataFrame, read on first use."""
        return read_sample(self.sample_path, self.uri, self.profile["sample"]["rows"])

    def features(self) -> Any:
        """The sample's feature columns: the reference frame ``drift`` takes."""
        return self.sample[[c for c in self.sample.columns if c not in self.prediction_columns]]

    def comparable(self, frame: Any) -> Any:
        """``frame`` (production inputs) prepared as the sample was: names as text, text cut
        at the same length, the same columns as text, so that ``drift`` compares like with like."""
        frame = frame.set_axis([str(c) for c in frame.columns], axis=1)
        as_text = set(self.profile["sample"]["as_text"])
        out = {}
        for name in frame.columns:
            s = cut_text(frame[name])
            if name in as_text:
                s = s.map(_as_text)
            out[name] = s
        import pandas as pd

        return pd.DataFrame(out, index=frame.index)


def load_reference(
    model_uri: str, *, tracking_uri: str | None = None, settings: Any = None
) -> Reference:
    """The training reference of ``models:/NAME@ALIAS`` or ``models:/NAME/VERSION``.

    Downloads only the artifact's ``reference/`` files. A version promoted before references
    were kept (or without ``X``) has none: a one-line ``ReferenceError`` says so (rebuilding one
    from the training data version the run recorded is ``monitor``'s, not done here).
    """
    from ..session import project_settings
    from . import load, models

    name, alias, version = load.parse_uri(model_uri)
    settings = settings or project_settings(tracking_uri)
    client = models.registry_client(settings)
    mv = load.registered_version(client, name, alias, version)
    uri = f"models:/{mv.name}/{mv.version}"
    folder = _download(client, mv, settings, uri)
    profile_path, sample_path = folder / "profile.json", folder / "sample.parquet"
    if not profile_path.is_file() and not sample_path.is_file():
        raise ReferenceError(no_reference(uri))
    return Reference(uri, read_profile(profile_path, uri), sample_path)


def no_reference(uri: str) -> str:
    """The one line for a version without a training reference (the hook ``monitor`` extends
    by rebuilding one from the run's DVC-recorded training data)."""
    return (
        f"{uri} has no training reference (promoted before references were kept, or without "
        "X): promote it again with X to keep one"
    )


def _download(client: Any, mv: Any, settings: Any, uri: str) -> Path:
    import tempfile

    import mlflow.artifacts
    from mlflow.exceptions import MlflowException

    from .. import store
    from . import models

    location = str(models.version_artifacts(client, mv, settings)).rstrip("/")
    folder = Path(tempfile.mkdtemp(prefix="mlops-reference-"))
    try:
        with store.quiet_logs("mlflow"), store.no_progress_bars():
            local = mlflow.artifacts.download_artifacts(
                artifact_uri=f"{location}/{tags.REFERENCE_FOLDER}",
                dst_path=str(folder),
                tracking_uri=settings.tracking_uri,
                registry_uri=settings.registry_uri,
            )
    except (MlflowException, OSError):
        raise ReferenceError(no_reference(uri)) from None
    local = Path(local)
    if local.is_symlink() or not local.is_dir():
        raise ReferenceError(no_reference(uri))
    return local


def read_profile(path: Path, uri: str) -> dict[str, Any]:
    """``profile.json`` parsed within limits and checked for the shape we write."""
    if path.is_symlink() or not path.is_file():
        raise ReferenceError(f"{uri}: {tags.REFERENCE_PROFILE} is missing from the artifact")
    size = path.stat().st_size
    if size > PROFILE_BYTES:
        raise ReferenceError(
            f"{uri}: {tags.REFERENCE_PROFILE} has {size:,} bytes, more than a reference writes "
            f"({PROFILE_BYTES:,} at most): not read"
        )
    try:
        profile = json.loads(path.read_bytes().decode("utf-8"), parse_constant=_no_constant)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise ReferenceError(f"{uri}: {tags.REFERENCE_PROFILE} is not valid JSON") from None
    problem = _shape_problem(profile)
    if problem:
        raise ReferenceError(f"{uri}: {tags.REFERENCE_PROFILE} is not a reference ({problem})")
    return profile


def _no_constant(name: str) -> Any:
    raise ValueError(name)


def _shape_problem(profile: Any) -> str | None:
    """What is wrong with a parsed profile, or None: the keys and types we write, nothing more."""
    if not isinstance(profile, dict) or profile.get("format") != FORMAT:
        return f"no format {FORMAT}"
    columns, predictions, sample = (profile.get(k) for k in ("columns", "predictions", "sample"))
    if not isinstance(columns, dict) or not isinstance(predictions, dict):
        return "no columns"
    if not isinstance(sample, dict) or not _count(sample.get("rows")):
        return "no sample row count"
    if not isinstance(sample.get("as_text"), list):
        return "no list of the sample's text columns"
    if not isinstance(predictions.get("columns"), list):
        return "no prediction columns"
    for name, column in [*columns.items(), *(predictions.get("profile") or {}).items()]:
        problem = _column_problem(column)
        if problem:
            return f"column {str(name)[:40]!r}: {problem}"
    return None


def _column_problem(column: Any) -> str | None:
    if not isinstance(column, dict):
        return "not an object"
    if column.get("kind") not in ("numeric", "categorical", "boolean", "datetime", "other"):
        return "unknown kind"
    rate = column.get("null_rate")
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 <= rate <= 1:
        return "null rate not in [0, 1]"
    for level in column.get("levels", []):
        if not (isinstance(level, list) and len(level) == 2 and _count(level[1])):
            return "a level is not [label, count]"
        label = level[0]
        if isinstance(label, str) and len(label) > TEXT_CHARS:
            return f"a level name longer than {TEXT_CHARS} characters"
        if not isinstance(label, (str, int, float, bool)):
            return "a level name is not text or a number"
    if len(column.get("levels", [])) > MAX_LEVELS:
        return f"more than {MAX_LEVELS} levels"
    if column["kind"] == "numeric":
        edges, counts = column.get("edges"), column.get("counts")
        if (
            not isinstance(edges, list)
            or not isinstance(counts, list)
            or not all(isinstance(e, (int, float)) and not isinstance(e, bool) for e in edges)
            or not all(_count(c) for c in counts)
            or len(counts) != len(edges) + 1
        ):
            return "bins are not numbers with one count more than edges"
    return None


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def read_sample(path: Path, uri: str, rows: int) -> Any:
    """``sample.parquet`` read with pyarrow: plain Arrow types only, no pandas metadata."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    if path.is_symlink() or not path.is_file():
        raise ReferenceError(f"{uri}: {tags.REFERENCE_SAMPLE} is missing from the artifact")
    if path.stat().st_size > 2 * SAMPLE_BYTES:
        raise ReferenceError(f"{uri}: {tags.REFERENCE_SAMPLE} is larger than a reference writes")
    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError):
        raise ReferenceError(
            f"{uri}: {tags.REFERENCE_SAMPLE} is not a readable Parquet file"
        ) from None
    if table.num_rows != rows or any(isinstance(t, pa.ExtensionType) for t in table.schema.types):
        raise ReferenceError(
            f"{uri}: {tags.REFERENCE_SAMPLE} is not the sample its profile describes"
        )
    return table.to_pandas(ignore_metadata=True)


__all__ = ["Reference", "ReferenceError", "build_reference", "load_reference"]
