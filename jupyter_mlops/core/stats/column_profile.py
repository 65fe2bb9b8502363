"""One column's profile: its kind, missing values, and exact statistics equal to pandas' own.

Numbers are sorted once, and the quantiles, unique count, histogram and zero count all read off
the sorted values; levels are counted once. Columns are profiled on threads (numpy releases the
GIL), so everything here works on one column and shares nothing.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

TOP = 10
BINS = 30
HIGH_CARDINALITY_SHARE = 0.5  # more distinct values than this share of rows: an identifier


def column_kind(s: pd.Series) -> str:
    """What a column holds, for choosing its statistics: boolean, datetime, categorical or
    numeric (``drift`` reads kinds the same way)."""
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


def column_stats(s: pd.Series) -> dict[str, Any]:
    """The profile of one column: kind, dtype, missing values and the statistics of its kind."""
    kind = column_kind(s)
    missing = int(s.isna().sum())
    n = len(s)
    base = {
        "kind": kind,
        "dtype": str(s.dtype),
        "missing": missing,
        "missing_fraction": ratio(missing, n),
    }
    if kind == "numeric":
        return {**base, **_numeric(floats(s), s.dtype)}
    if kind == "datetime":
        dates = _datetime(s)
        if dates is not None:
            return {**base, **dates}
        base["kind"] = kind = "categorical"  # dates pandas cannot hold: profiled as labels
    try:
        return {**base, **_levels(s, kind)}
    except TypeError:  # unhashable cells (lists, dicts, sets, arrays): nothing to count
        return {**base, "kind": "other", "n_unique": None, "value_types": value_types(s)}


def value_types(s: pd.Series, most: int = 5) -> list[list[Any]]:
    """The Python types of the non-missing cells, most common first, as [[type, count], ...]."""
    counts = s.dropna().map(lambda v: type(v).__name__).value_counts()
    return [[str(k), int(c)] for k, c in counts.head(most).items()]


def floats(s: pd.Series) -> np.ndarray:
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
    types: list[list[Any]] = []
    objects = kind != "boolean" and pd.api.types.is_object_dtype(s.dtype)
    # pandas says "mixed" for one type it does not name too (tuples, lists): count them
    if objects and pd.api.types.infer_dtype(s, skipna=True).startswith("mixed"):
        types = value_types(s)
        s.nunique()  # TypeError for unhashable cells, which value_counts would hide
    counts = s.value_counts(dropna=True, sort=True)
    n_unique = len(counts)
    non_missing = len(s) - int(s.isna().sum())
    out: dict[str, Any] = {
        "n_unique": n_unique,
        "top": [[jsonable(k), int(c)] for k, c in counts.head(TOP).items()],
    }
    if objects:
        out["mixed_types"] = len(types) > 1
        if types:
            out["value_types"] = types
    many = n_unique > HIGH_CARDINALITY_SHARE * non_missing
    if kind == "categorical" and many and not isinstance(s.dtype, pd.CategoricalDtype):
        valid = s.dropna()
        lengths = valid.astype("str").str.len()
        mean_length = float(lengths.mean()) if non_missing else 0.0
        if mean_length >= 30:
            out["mean_length"] = mean_length
            return {**out, "kind": "text"}
    return out


def _datetime(s: pd.Series) -> dict[str, Any] | None:
    """Dates: range, top values, histogram; time zones kept, mixed ones shown in UTC. None when
    pandas cannot hold the values as dates (outside 1677-2262 at nanoseconds, for one)."""
    note = None
    try:
        values = pd.to_datetime(s)
    except (ValueError, TypeError, OverflowError):
        try:  # several time zones in one column: one instant each, in UTC
            values = pd.to_datetime(s, utc=True)
        except (ValueError, TypeError, OverflowError):
            return None
        note = "mixed time zones, shown in UTC"
    valid = values.dropna()
    counts = valid.value_counts(sort=True)
    out: dict[str, Any] = {
        "n_unique": len(counts),
        "top": [[k.isoformat(), int(c)] for k, c in counts.head(TOP).items()],
    }
    zone = getattr(values.dt, "tz", None)
    if zone is not None:
        out["time_zone"] = note or str(zone)
    if len(valid) == 0:
        return {**out, "min": None, "max": None, "histogram": _hist([])}
    instants = valid.dt.tz_convert(None) if zone is not None else valid  # UTC, naive
    ns = np.sort(instants.to_numpy().astype("datetime64[ns]").astype("int64")).astype("float64")
    hist = _hist(ns)
    edges = [pd.Timestamp(int(e)) for e in hist["edges"]]
    if zone is not None:
        edges = [e.tz_localize("UTC").tz_convert(zone) for e in edges]
    hist["edges"] = [e.isoformat() for e in edges]
    first, last = valid.min().isoformat(), valid.max().isoformat()
    return {**out, "min": first, "max": last, "histogram": hist}


def ratio(part: float, whole: float) -> float:
    """``part / whole`` as a float, 0.0 for an empty whole (a frame without rows)."""
    return float(part / whole) if whole else 0.0


def jsonable(value: Any) -> Any:
    """A level as JSON can hold it: numpy scalars unwrapped, dates in ISO form, NaN as text."""
    if isinstance(value, (np.generic,)):
        value = value.item()
    if isinstance(value, (pd.Timestamp,)):
        return value.isoformat()
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return str(value)
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)
