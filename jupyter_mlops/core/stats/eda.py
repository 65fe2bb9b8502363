"""Exploratory data analysis: exact per-column statistics, correlations, target, warnings.

Every per-column figure is exact and equals pandas' own (mean, std, quantiles, unique counts,
missing). Speed comes from one sort per numeric column (quantiles, unique count, histogram and
zero count all read off the sorted values), columns profiled on threads (numpy releases the
GIL), correlations accumulated over row chunks (no copy of the frame) and duplicate rows found
by row hashes then confirmed exactly. Only Spearman correlations, the one O(n log n) pairwise
part, use a seeded random sample of large frames; the report says so.
"""

from __future__ import annotations

import math
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ...errors import MlopsError
from ..autolog import without_autolog
from .reports import Report, json_safe, name_error

if TYPE_CHECKING:
    from collections.abc import Callable

DEFAULT_SAMPLE = 200_000  # rows above which Spearman uses a random sample
SEED = 0
TOP = 10
BINS = 30
MAX_LEVELS = 100  # categorical columns with more levels are left out of pairwise associations
CHUNK = 1 << 16

# Warning thresholds, named so the docs and messages quote the same numbers.
HIGH_MISSING = 0.2
HIGH_CARDINALITY_LEVELS = 50
HIGH_CARDINALITY_SHARE = 0.5
ID_SHARE = 0.95  # whole numbers nearly all distinct: an identifier, not a quantity
HIGH_CORRELATION = 0.95
SKEWED = 1.0
MANY_ZEROS = 0.5
IMBALANCED = 0.1
CLASSIFICATION_MAX_CLASSES = 20


class EdaError(MlopsError):
    """Bad input to ``eda``: one line saying what to change."""


@dataclass(repr=False)  # Report.__repr__ draws it
class EdaReport(Report):
    """A profile of one DataFrame: renders itself in Jupyter; ``.to_dict()`` for code."""

    VIEW = "eda"

    data: dict[str, Any]

    @property
    def name(self) -> str:
        return self.data["name"]

    @property
    def warnings(self) -> list[dict[str, Any]]:
        return self.data["warnings"]

    def to_dict(self) -> dict[str, Any]:
        return self.data

    def widget(self) -> Any:
        """The same report as an ipywidgets ``Tab`` (for a live kernel)."""
        from ...display import eda as view

        return view.widget(self.data)


@without_autolog
def eda(
    df: pd.DataFrame,
    target: str | None = None,
    sample: int | None = None,
    name: str | None = None,
) -> EdaReport:
    """Profile ``df`` (with ``target``'s relationships when given); log it on the active run.

    ``sample`` caps the rows used for Spearman correlations (default 200,000); everything
    else is computed on every row. With a run active the report is logged as
    ``eda/<name>.html`` and ``eda/<name>.json``.
    """
    report = EdaReport(profile(df, target=target, sample=sample, name=name))
    _log_on_active_run(report)
    return report


def profile(
    df: pd.DataFrame,
    target: str | None = None,
    sample: int | None = None,
    name: str | None = None,
) -> dict[str, Any]:
    """The report as a JSON-ready dict (keys documented in INTERFACE.md)."""
    started = time.perf_counter()
    name = _check_inputs(df, target, sample, name)
    n_rows, n_cols = df.shape
    series = {str(c): df.iloc[:, i] for i, c in enumerate(df.columns)}  # names may be ints
    columns = list(series)
    workers = min(4, os.cpu_count() or 1)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        duplicates = pool.submit(_duplicate_rows, df)
        stats = dict(zip(columns, pool.map(_column, series.values()), strict=True))
        dup_count = duplicates.result()
    kinds = {c: s["kind"] for c, s in stats.items()}
    numeric = [c for c in columns if kinds[c] == "numeric" and stats[c]["n_unique"] > 0]
    arrays = {c: _floats(series[c]) for c in numeric}
    varying = [c for c in numeric if stats[c]["n_unique"] > 1]  # constants: r undefined

    rows = _sample_rows(n_rows, sample)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        full = pool.submit(_pearson, {c: arrays[c] for c in varying})  # overlaps the ranking
        ranked = pool.map(_ranks, (arrays[c] if rows is None else arrays[c][rows] for c in varying))
        ranks = dict(zip(varying, ranked, strict=True))
        pearson = _with_constants(full.result(), numeric)
    spearman = _with_constants(_pearson(ranks), numeric)
    levels = [
        c
        for c in columns
        if kinds[c] in ("categorical", "boolean") and 2 <= stats[c]["n_unique"] <= MAX_LEVELS
    ]
    codes = {c: pd.factorize(series[c], use_na_sentinel=True)[0] for c in levels}
    cramers = _cramers_matrix(codes)

    report: dict[str, Any] = {
        "name": name,
        "n_rows": int(n_rows),
        "n_columns": int(n_cols),
        "duplicate_rows": dup_count,
        "memory_bytes": int(df.memory_usage(deep=True).sum()),
        "missing_cells": int(sum(s["missing"] for s in stats.values())),
        "missing_fraction": _ratio(sum(s["missing"] for s in stats.values()), n_rows * n_cols),
        "sample": None
        if rows is None or not numeric
        else {"rows": len(rows), "of": int(n_rows), "seed": SEED, "used_for": ["spearman"]},
        "columns": stats,
        "correlations": {"pearson": pearson, "spearman": spearman, "cramers_v": cramers},
        "target": None,
    }
    if target is not None:
        report["target"] = _target(series, str(target), stats, pearson, arrays, codes)
    report["warnings"] = _warnings(report)
    report["elapsed_seconds"] = round(time.perf_counter() - started, 4)
    return json_safe(report)


# -- input -----------------------------------------------------------------------------------
def _check_inputs(df: Any, target: str | None, sample: int | None, name: str | None) -> str:
    if not isinstance(df, pd.DataFrame):
        raise EdaError(f"eda needs a pandas DataFrame, not {type(df).__name__}")
    names = [str(c) for c in df.columns]
    repeated = sorted({c for c in names if names.count(c) > 1})
    if repeated:
        raise EdaError(f"column names must be unique; repeated: {', '.join(repeated)}")
    if target is not None and str(target) not in names:
        raise EdaError(f"no column named {target!r} to use as the target")
    if sample is not None and (isinstance(sample, bool) or not isinstance(sample, int)):
        raise EdaError(f"sample must be a number of rows, not {sample!r}")
    if sample is not None and sample < 10:
        raise EdaError(f"sample must be at least 10 rows, not {sample}")
    name = "data" if name is None else str(name)
    problem = name_error(name, "eda")
    if problem:
        raise EdaError(problem)
    return name


def _sample_rows(n_rows: int, sample: int | None) -> np.ndarray | None:
    size = DEFAULT_SAMPLE if sample is None else sample
    if n_rows <= size:
        return None
    rng = np.random.default_rng(SEED)
    return np.sort(rng.choice(n_rows, size=size, replace=False))


# -- per column ------------------------------------------------------------------------------
def _kind(s: pd.Series) -> str:
    dtype = s.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return "boolean"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "datetime"
    if isinstance(dtype, pd.CategoricalDtype):
        return "categorical"
    if pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_complex_dtype(dtype):
        return "numeric"
    if pd.api.types.is_object_dtype(dtype):
        inferred = pd.api.types.infer_dtype(s, skipna=True)
        if inferred == "boolean":
            return "boolean"
        if inferred in ("floating", "integer", "mixed-integer-float", "decimal"):
            return "numeric"
        if inferred in ("datetime", "datetime64", "date"):
            return "datetime"
    return "categorical"  # strings; "text" is decided once the values are known


def _column(s: pd.Series) -> dict[str, Any]:
    kind = _kind(s)
    missing = int(s.isna().sum())
    n = len(s)
    base = {
        "kind": kind,
        "dtype": str(s.dtype),
        "missing": missing,
        "missing_fraction": _ratio(missing, n),
    }
    if kind == "numeric":
        return {**base, **_numeric(_floats(s), s.dtype)}
    if kind == "datetime":
        return {**base, **_datetime(s)}
    return {**base, **_levels(s, kind)}


def _floats(s: pd.Series) -> np.ndarray:
    """float64 values with NaN for missing; a view for float64 columns, no copy."""
    if s.dtype == np.float64:
        return s.to_numpy()
    return s.to_numpy(dtype="float64", na_value=np.nan)


@np.errstate(invalid="ignore", over="ignore")  # infinities give NaN moments, as in pandas
def _numeric(values: np.ndarray, dtype: Any) -> dict[str, Any]:
    nan = np.isnan(values)
    v = np.sort(values[~nan] if nan.any() else values)  # one sort: order statistics for free
    n = len(v)
    out: dict[str, Any] = {"n_unique": int(n and 1 + np.count_nonzero(v[1:] != v[:-1]))}
    if n == 0:
        keys = ("mean", "std", "min", "p25", "median", "p75", "max", "skew")
        return {**out, **dict.fromkeys(keys), "zeros": 0, "infinite": 0, "histogram": _hist([])}
    lo, hi = np.searchsorted(v, -np.inf, "right"), np.searchsorted(v, np.inf, "left")
    finite = v[lo:hi]
    # same moments as pandas' nanops: mean, then centred sums (ddof=1, adjusted skew)
    mean = v.sum() / n
    centred = v - mean
    squared = centred * centred
    m2 = squared.sum()
    m3 = float(np.dot(squared, centred)) if n > 2 else math.nan
    std = math.sqrt(m2 / (n - 1)) if n > 1 else math.nan
    if abs(m2) < 1e-14:
        m2 = 0.0
    # undefined for a constant column (pandas 3 says NaN too)
    skew = math.nan if n < 3 or m2 == 0 else (n * (n - 1) ** 0.5 / (n - 2)) * (m3 / m2**1.5)
    p25, median, p75 = _sorted_quantiles(v, (0.25, 0.5, 0.75))
    zeros = int(np.searchsorted(v, 0, "right") - np.searchsorted(v, 0, "left"))
    integer = np.issubdtype(dtype, np.integer) if isinstance(dtype, np.dtype) else False
    return {
        **out,
        "mean": float(mean),
        "std": std,
        "min": float(v[0]),
        "p25": float(p25),
        "median": float(median),
        "p75": float(p75),
        "max": float(v[-1]),
        "skew": float(skew),
        "zeros": zeros,
        "infinite": int(n - len(finite)),
        "integer": bool(integer or (len(finite) and np.array_equal(finite, np.floor(finite)))),
        "histogram": _hist(finite, integer_bins=integer),
    }


def _sorted_quantiles(v: np.ndarray, qs: tuple[float, ...]) -> list[float]:
    """Quantiles of sorted values, interpolated linearly as pandas and numpy do by default;
    ``np.quantile`` would partition the already sorted array again."""
    out = []
    for q in qs:
        position = q * (len(v) - 1)
        below = math.floor(position)
        above = min(below + 1, len(v) - 1)
        fraction = position - below
        low, high = float(v[below]), float(v[above])
        # numpy's formula (lerp from the nearer end), so the result matches to the last bit
        value = (
            low + (high - low) * fraction
            if fraction < 0.5
            else high - (high - low) * (1 - fraction)
        )
        out.append(value if low != high else low)
    return out


def _hist(sorted_values: Any, integer_bins: bool = False) -> dict[str, list]:
    """Histogram of already-sorted finite values (np.histogram's bins: the last one closed)."""
    v = np.asarray(sorted_values, dtype="float64")
    if len(v) == 0:
        return {"edges": [], "counts": []}
    lo, hi = float(v[0]), float(v[-1])
    if lo == hi:
        edges = np.array([lo - 0.5, lo + 0.5])
    elif integer_bins and hi - lo < BINS:
        edges = np.arange(lo, hi + 2) - 0.5  # one bar per integer value
    else:
        edges = np.linspace(lo, hi, BINS + 1)
    inner = np.searchsorted(v, edges[1:-1], "left")
    counts = np.diff(np.concatenate([[0], inner, [len(v)]]))
    return {"edges": edges.tolist(), "counts": counts.tolist()}


def _levels(s: pd.Series, kind: str) -> dict[str, Any]:
    counts = s.value_counts(dropna=True, sort=True)
    n_unique = len(counts)
    non_missing = len(s) - int(s.isna().sum())
    out: dict[str, Any] = {
        "n_unique": n_unique,
        "top": [[_jsonable(k), int(c)] for k, c in counts.head(TOP).items()],
    }
    if kind != "boolean" and pd.api.types.is_object_dtype(s.dtype):
        inferred = pd.api.types.infer_dtype(s, skipna=True)
        out["mixed_types"] = inferred.startswith("mixed")
    many = n_unique > HIGH_CARDINALITY_SHARE * non_missing
    if kind == "categorical" and many and not isinstance(s.dtype, pd.CategoricalDtype):
        valid = s.dropna()
        lengths = valid.astype("str").str.len()
        mean_length = float(lengths.mean()) if non_missing else 0.0
        if mean_length >= 30:
            out["mean_length"] = mean_length
            return {**out, "kind": "text"}
    return out


def _datetime(s: pd.Series) -> dict[str, Any]:
    values = pd.to_datetime(s)
    valid = values.dropna()
    counts = valid.value_counts(sort=True)
    out: dict[str, Any] = {
        "n_unique": len(counts),
        "top": [[k.isoformat(), int(c)] for k, c in counts.head(TOP).items()],
    }
    if len(valid) == 0:
        return {**out, "min": None, "max": None, "histogram": _hist([])}
    ns = np.sort(valid.to_numpy().astype("datetime64[ns]").astype("int64")).astype("float64")
    hist = _hist(ns)
    hist["edges"] = [pd.Timestamp(int(e)).isoformat() for e in hist["edges"]]
    first, last = valid.min().isoformat(), valid.max().isoformat()
    return {**out, "min": first, "max": last, "histogram": hist}


# -- whole frame -----------------------------------------------------------------------------
def _duplicate_rows(df: pd.DataFrame) -> int | None:
    """Rows equal to an earlier row, exactly as ``df.duplicated().sum()``.

    Row hashes find the candidates in one vectorised pass; pandas then compares only rows whose
    hash repeats, so a hash collision can never be counted as a duplicate.
    """
    if len(df) < 2 or df.shape[1] == 0:
        return 0
    try:
        hashes = pd.util.hash_pandas_object(df, index=False)
    except TypeError:  # unhashable cells (lists, dicts): pandas cannot compare them either
        return None
    candidates = hashes.duplicated(keep=False).to_numpy()
    if not candidates.any():
        return 0
    return int(df[candidates].duplicated().sum())


@np.errstate(invalid="ignore", over="ignore")
def _pearson(arrays: dict[str, np.ndarray]) -> dict[str, dict[str, float | None]]:
    """Pairwise-complete Pearson correlations (as ``DataFrame.corr``), summed over row chunks.

    Columns are centred on their mean first, so the sums do not lose precision.
    """
    names = list(arrays)
    k = len(names)
    if k == 0:
        return {}
    n = len(next(iter(arrays.values())))
    means = np.array([np.nanmean(a) if np.any(~np.isnan(a)) else 0.0 for a in arrays.values()])
    count = np.zeros((k, k))
    sums = np.zeros((k, k))  # sums[a, b]: sum of a over rows where b is present too
    squares = np.zeros((k, k))
    products = np.zeros((k, k))
    # Only columns with gaps need masks: where b has none, "rows where b is present" is every
    # row, and the sums over them are plain column sums (one k x k product instead of four).
    gappy = np.array([i for i, a in enumerate(arrays.values()) if np.isnan(a).any()], dtype=int)
    buffer = np.empty((min(CHUNK, n), k), order="F")  # column-major: each column one copy
    squared = np.empty_like(buffer)
    for start in range(0, n, CHUNK):
        block = buffer[: min(CHUNK, n - start)]
        for j, values in enumerate(arrays.values()):
            np.subtract(values[start : start + len(block)], means[j], out=block[:, j])
        present_n = np.full(k, float(len(block)))
        if gappy.size:
            part = block[:, gappy]
            present = ~np.isnan(part)
            mask = present.astype("float64")
            block[:, gappy] = np.where(present, part, 0.0)
            present_n[gappy] = mask.sum(axis=0)
        products += block.T @ block
        np.multiply(block, block, out=squared[: len(block)])
        squares_now = squared[: len(block)]
        add_count = np.repeat(present_n[:, None], k, axis=1)
        add_sums = np.repeat(block.sum(axis=0)[:, None], k, axis=1)
        add_squares = np.repeat(squares_now.sum(axis=0)[:, None], k, axis=1)
        if gappy.size:
            pairs = np.tile(present_n[gappy], (k, 1))
            pairs[gappy] = mask.T @ mask
            add_count[:, gappy] = pairs
            add_sums[:, gappy] = block.T @ mask
            add_squares[:, gappy] = squares_now.T @ mask
        count += add_count
        sums += add_sums
        squares += add_squares
    with np.errstate(divide="ignore", invalid="ignore"):
        cov = products - sums * sums.T / count
        var_a = squares - sums**2 / count
        r = cov / np.sqrt(var_a * var_a.T)
    r = np.clip(r, -1.0, 1.0)
    r[count < 2] = np.nan
    return {a: {b: _num(r[i, j]) for j, b in enumerate(names)} for i, a in enumerate(names)}


def _with_constants(
    matrix: dict[str, dict[str, float | None]], names: list[str]
) -> dict[str, dict[str, float | None]]:
    """The full matrix over ``names``, None wherever a column has no variance (as pandas' NaN)."""
    return {a: {b: matrix.get(a, {}).get(b) for b in names} for a in names}


def _ranks(values: np.ndarray) -> np.ndarray:
    """Average ranks with NaN kept, as ``Series.rank()``; numpy's sort releases the GIL, so
    columns rank in parallel threads."""
    out = np.full(len(values), np.nan)
    present = ~np.isnan(values)
    x = values[present]
    if x.size == 0:
        return out
    order = np.argsort(x)
    ordered = x[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    ends = np.r_[starts[1:], len(ordered)]
    average = (starts + ends + 1) / 2  # 1-based ranks start+1 .. end, averaged
    ranks = np.empty(len(x))
    ranks[order] = np.repeat(average, ends - starts)
    out[present] = ranks
    return out


def _cramers_matrix(codes: dict[str, np.ndarray]) -> dict[str, dict[str, float | None]]:
    names = list(codes)
    out: dict[str, dict[str, float | None]] = {a: {} for a in names}
    for i, a in enumerate(names):
        out[a][a] = 1.0
        for b in names[i + 1 :]:
            out[a][b] = out[b][a] = _cramers_v(codes[a], codes[b])
    return out


def _contingency(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    valid = (a >= 0) & (b >= 0)
    a, b = a[valid], b[valid]
    if len(a) == 0:
        return np.zeros((0, 0))
    ka, kb = int(a.max()) + 1, int(b.max()) + 1
    table = np.bincount(a * kb + b, minlength=ka * kb).reshape(ka, kb)
    return table[table.sum(axis=1) > 0][:, table.sum(axis=0) > 0]


def _cramers_v(a: np.ndarray, b: np.ndarray) -> float | None:
    table = _contingency(a, b)
    if min(table.shape) < 2:
        return None
    from scipy.stats.contingency import association

    return _num(association(table, method="cramer"))


def _correlation_ratio(values: np.ndarray, groups: np.ndarray) -> float | None:
    """How much of ``values``' variance the groups explain (eta, 0..1)."""
    valid = ~np.isnan(values) & (groups >= 0)
    values, groups = values[valid], groups[valid]
    if len(values) < 2:
        return None
    total = values.var() * len(values)
    if total <= 1e-12 * len(values) * (values.mean() ** 2 + 1e-300):  # constant up to rounding
        return None
    counts = np.bincount(groups)
    sums = np.bincount(groups, weights=values)
    present = counts > 0
    means = sums[present] / counts[present]
    between = float(np.sum(counts[present] * (means - values.mean()) ** 2))
    return _num(math.sqrt(min(between / total, 1.0)))


# -- target ----------------------------------------------------------------------------------
def _task(stats: dict[str, Any]) -> str:
    if stats["kind"] != "numeric":
        return "classification"
    few = stats["n_unique"] <= CLASSIFICATION_MAX_CLASSES
    return "classification" if stats.get("integer") and few else "regression"


def _target(
    series: dict[str, pd.Series],
    target: str,
    stats: dict[str, dict[str, Any]],
    pearson: dict[str, dict[str, float | None]],
    arrays: dict[str, np.ndarray],
    codes: dict[str, np.ndarray],
) -> dict[str, Any]:
    info = stats[target]
    task = _task(info)
    out: dict[str, Any] = {"column": target, "task": task}
    classes = None
    if task == "classification":
        counts = series[target].value_counts(dropna=True, sort=True)
        out["classes"] = [[_jsonable(k), int(c)] for k, c in counts.items()]
        classes = codes.get(target)
        if classes is None:
            classes = pd.factorize(series[target], use_na_sentinel=True)[0]
    else:
        out["histogram"] = info["histogram"]
    relationships: dict[str, dict[str, Any]] = {}
    for column, column_stats in stats.items():
        if column == target or column_stats["kind"] in ("datetime", "text"):
            continue
        if column_stats["n_unique"] <= 1:
            continue  # a constant explains nothing (rounding could say otherwise)
        measure, value = _relationship(
            series[column], column, column_stats, task, target, pearson, arrays, codes, classes
        )
        if value is not None:
            relationships[column] = {"measure": measure, "value": value}
    out["relationships"] = dict(sorted(relationships.items(), key=lambda kv: -abs(kv[1]["value"])))
    return out


def _relationship(
    s: pd.Series,
    column: str,
    stats: dict[str, Any],
    task: str,
    target: str,
    pearson: dict[str, dict[str, float | None]],
    arrays: dict[str, np.ndarray],
    codes: dict[str, np.ndarray],
    classes: np.ndarray | None,
) -> tuple[str, float | None]:
    numeric = stats["kind"] == "numeric"
    if not numeric and stats["n_unique"] > HIGH_CARDINALITY_SHARE * max(len(s), 1):
        return "", None  # an identifier explains everything and means nothing
    groups = codes.get(column)
    if groups is None and not numeric:
        groups = pd.factorize(s, use_na_sentinel=True)[0]
    if task == "regression":
        if numeric:
            return "pearson", pearson.get(target, {}).get(column)
        if target not in arrays:
            return "", None
        return "correlation_ratio", _correlation_ratio(arrays[target], groups)
    if classes is None or (numeric and column not in arrays):
        return "", None
    if numeric:
        return "correlation_ratio", _correlation_ratio(arrays[column], classes)
    return "cramers_v", _cramers_v(groups, classes)


# -- warnings --------------------------------------------------------------------------------
def _warnings(report: dict[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []

    def warn(code: str, columns: list[str], message: str) -> None:
        found.append({"code": code, "columns": columns, "message": message})

    n_rows = report["n_rows"]
    target = (report["target"] or {}).get("column")
    for name, s in report["columns"].items():
        _column_warnings(name, s, n_rows, name == target, warn)
    if report["duplicate_rows"]:
        d = report["duplicate_rows"]
        warn(
            "duplicate_rows",
            [],
            f"{d:,} rows ({_pct(d / n_rows)}) repeat an earlier row; they weigh twice in "
            "training and can leak between train and test splits: drop or explain them.",
        )
    for method, label in (("pearson", "Pearson r"), ("cramers_v", "Cramér's V")):
        matrix = report["correlations"][method]
        names = [c for c in matrix if c != target]
        for i, a in enumerate(names):
            for b in names[i + 1 :]:
                r = matrix[a].get(b)
                if r is not None and abs(r) >= HIGH_CORRELATION:
                    warn(
                        "high_correlation",
                        [a, b],
                        f"{a} and {b} are almost interchangeable ({label} {r:.3f}); keep one, "
                        "or combine them, to avoid unstable coefficients and importances.",
                    )
    if report["target"]:
        found += _target_warnings(report["target"])
    return found


def _column_warnings(
    name: str, s: dict[str, Any], n_rows: int, is_target: bool, warn: Callable
) -> None:
    non_missing = n_rows - s["missing"]
    if s["missing_fraction"] >= HIGH_MISSING:
        warn(
            "high_missing",
            [name],
            f"{name} is {_pct(s['missing_fraction'])} missing; impute it (with a missing "
            "indicator) or drop it, and check whether missingness depends on the target.",
        )
    if non_missing and s["n_unique"] <= 1:
        value = s["top"][0][0] if s.get("top") else s.get("min")
        warn(
            "constant",
            [name],
            f"{name} has a single value ({value}); it carries no information: drop it.",
        )
        return
    kind = s["kind"]
    if not is_target and non_missing > HIGH_CARDINALITY_LEVELS:
        unique_share = s["n_unique"] / non_missing
        id_like_number = kind == "numeric" and s.get("integer") and unique_share >= ID_SHARE
        many_levels = (
            kind == "categorical"
            and s["n_unique"] > HIGH_CARDINALITY_LEVELS
            and unique_share > HIGH_CARDINALITY_SHARE
        )
        if id_like_number or many_levels:
            warn(
                "high_cardinality",
                [name],
                f"{name} has {s['n_unique']:,} distinct values ({_pct(unique_share)} of rows), "
                "like an identifier; a model memorises it instead of learning: drop it or "
                "group its levels.",
            )
    if s.get("mixed_types"):
        warn(
            "mixed_types",
            [name],
            f"{name} mixes value types (e.g. numbers and strings); fix its parsing before "
            "modelling.",
        )
    if kind != "numeric" or s["n_unique"] <= 2:
        return
    if s["infinite"]:
        warn(
            "infinite_values",
            [name],
            f"{name} has {s['infinite']:,} infinite values; most models fail on them: "
            "replace or clip them.",
        )
    if s["skew"] is not None and abs(s["skew"]) >= SKEWED:
        warn(
            "skewed",
            [name],
            f"{name} is strongly skewed (skewness {s['skew']:.2f}); a log or rank transform "
            "helps linear models and distance-based methods.",
        )
    if non_missing and s["zeros"] / non_missing >= MANY_ZEROS:
        warn(
            "many_zeros",
            [name],
            f"{name} is zero in {_pct(s['zeros'] / non_missing)} of rows; check whether zero "
            "means 'missing', and consider a zero indicator.",
        )


def _target_warnings(target: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    column = target["column"]
    classes = target.get("classes") or []
    total = sum(c for _, c in classes)
    if len(classes) >= 2 and total:
        value, smallest = classes[-1]
        share = smallest / total
        if share < IMBALANCED:
            found.append(
                {
                    "code": "imbalanced_target",
                    "columns": [column],
                    "message": f"{column} is imbalanced: class {value!r} is only {_pct(share)} "
                    "of rows; use stratified splits, class weights and metrics such as "
                    "balanced accuracy or PR-AUC rather than accuracy.",
                }
            )
    for feature, rel in target["relationships"].items():
        if abs(rel["value"]) >= HIGH_CORRELATION:
            found.append(
                {
                    "code": "target_leakage",
                    "columns": [feature, column],
                    "message": f"{feature} almost determines {column} ({rel['measure']} "
                    f"{rel['value']:.3f}); check that it is known before the target is, or it "
                    "leaks the answer.",
                }
            )
    return found


# -- logging ---------------------------------------------------------------------------------
def _log_on_active_run(report: EdaReport) -> None:
    from .reports import log_report

    log_report(
        "eda",
        report.name,
        report.to_json(),
        report.to_html(full_page=True),
        {f"mlops.eda.{report.name}.warnings": str(len(report.warnings))},
    )


# -- helpers ---------------------------------------------------------------------------------
def _ratio(part: float, whole: float) -> float:
    return float(part / whole) if whole else 0.0


def _pct(share: float) -> str:
    return f"{share * 100:.1f}%"


def _num(value: Any) -> float | None:
    value = float(value)
    return None if math.isnan(value) or math.isinf(value) else value


def _jsonable(value: Any) -> Any:
    if isinstance(value, (np.generic,)):
        value = value.item()
    if isinstance(value, (pd.Timestamp,)):
        return value.isoformat()
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return str(value)
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)
