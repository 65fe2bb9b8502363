"""Correlations between the columns (Pearson, Spearman, Cramér's V) and each column's
relationship with the target (Pearson, the correlation ratio or Cramér's V, as the kinds allow).

Pearson is accumulated over row chunks (no copy of the frame); Spearman is Pearson on ranks.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from .column_profile import HIGH_CARDINALITY_SHARE, jsonable

CHUNK = 1 << 16
CLASSIFICATION_MAX_CLASSES = 20


@np.errstate(invalid="ignore", over="ignore")
def pearson_matrix(arrays: dict[str, np.ndarray]) -> dict[str, dict[str, float | None]]:
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


def with_constants(
    matrix: dict[str, dict[str, float | None]], names: list[str]
) -> dict[str, dict[str, float | None]]:
    """The full matrix over ``names``, None wherever a column has no variance (as pandas' NaN)."""
    return {a: {b: matrix.get(a, {}).get(b) for b in names} for a in names}


def average_ranks(values: np.ndarray) -> np.ndarray:
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


def cramers_matrix(codes: dict[str, np.ndarray]) -> dict[str, dict[str, float | None]]:
    """Cramér's V of every pair of categorical columns (given as factorized codes)."""
    names = list(codes)
    out: dict[str, dict[str, float | None]] = {a: {} for a in names}
    for i, a in enumerate(names):
        out[a][a] = 1.0
        for b in names[i + 1 :]:
            out[a][b] = out[b][a] = cramers_v(codes[a], codes[b])
    return out


def _contingency(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    valid = (a >= 0) & (b >= 0)
    a, b = a[valid], b[valid]
    if len(a) == 0:
        return np.zeros((0, 0))
    ka, kb = int(a.max()) + 1, int(b.max()) + 1
    table = np.bincount(a * kb + b, minlength=ka * kb).reshape(ka, kb)
    return table[table.sum(axis=1) > 0][:, table.sum(axis=0) > 0]


def cramers_v(a: np.ndarray, b: np.ndarray) -> float | None:
    """Cramér's V of two factorized columns (-1: missing) over the rows where both are present,
    by scipy's ``association``; None when either has fewer than two levels there."""
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


# -- with the target --------------------------------------------------------------------------
def _task(stats: dict[str, Any]) -> str:
    if stats["kind"] != "numeric":
        return "classification"
    few = stats["n_unique"] <= CLASSIFICATION_MAX_CLASSES
    return "classification" if stats.get("integer") and few else "regression"


def target_summary(
    series: dict[str, pd.Series],
    target: str,
    stats: dict[str, dict[str, Any]],
    pearson: dict[str, dict[str, float | None]],
    arrays: dict[str, np.ndarray],
    codes: dict[str, np.ndarray],
) -> dict[str, Any]:
    """The target's section of the profile: its task, its classes or histogram, and how
    strongly each other column relates to it, strongest first."""
    info = stats[target]
    task = _task(info)
    out: dict[str, Any] = {"column": target, "task": task}
    classes = None
    if task == "classification":
        counts = series[target].value_counts(dropna=True, sort=True)
        out["classes"] = [[jsonable(k), int(c)] for k, c in counts.items()]
        classes = codes.get(target)
        if classes is None:
            classes = pd.factorize(series[target], use_na_sentinel=True)[0]
    else:
        out["histogram"] = info["histogram"]
    relationships: dict[str, dict[str, Any]] = {}
    for column, column_stats in stats.items():
        if column == target or column_stats["kind"] in ("datetime", "text", "other"):
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
    return "cramers_v", cramers_v(groups, classes)


def _num(value: Any) -> float | None:
    value = float(value)
    return None if math.isnan(value) or math.isinf(value) else value
