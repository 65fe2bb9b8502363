"""Exploratory data analysis: exact per-column statistics, correlations, target, warnings.

Every per-column figure is exact and equals pandas' own (mean, std, quantiles, unique counts,
missing). Speed comes from one sort per numeric column (quantiles, unique count, histogram and
zero count all read off the sorted values), columns profiled on threads (numpy releases the
GIL), correlations accumulated over row chunks (no copy of the frame) and duplicate rows found
by row hashes then confirmed exactly. Only Spearman correlations, the one O(n log n) pairwise
part, use a seeded random sample of large frames; the report says so.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ...errors import MlopsError
from ..autolog import without_autolog
from . import correlations
from .column_profile import column_stats, floats, ratio
from .correlations_wide import pearson_row, ranks, strongest_cramers, strongest_pearson
from .duplicates import duplicate_rows
from .eda_skipped import find_skipped
from .eda_warnings import HIGH_CORRELATION, find_warnings
from .reports import Report, json_safe, log_report, name_error

DEFAULT_SAMPLE = 200_000  # rows above which Spearman uses a random sample
SEED = 0
MAX_LEVELS = 100  # categorical columns with more levels are left out of pairwise associations
WIDE = 100  # columns of one measure beyond which the report keeps the strongest pairs only
TOP_PAIRS = 200  # pairs kept per measure on wide frames
# Cramér's V of a wide frame costs (all levels)^2 / 2 table cells, about 4e7 a second on a
# 2-core machine: 10,000 columns of 5 levels (1.25e9 cells) take ~30 s; beyond this budget
# (2,000 columns of 50 levels: 5e9 cells, ~90 s) it is left out and ``skipped`` says so
MAX_LEVEL_CELLS = 15 * 10**8


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
    stats, dup_count = _columns_and_duplicates(df, series)
    target = None if target is None else str(target)
    _check_target(target, stats)
    numeric = [c for c in series if stats[c]["kind"] == "numeric" and stats[c]["n_unique"] > 0]
    arrays = {c: _finite(floats(series[c]), stats[c]) for c in numeric}
    rows = _sample_rows(n_rows, sample)
    pearson, spearman, top = _numeric_correlations(arrays, stats, numeric, rows, target)
    codes = _level_codes(series, stats)
    cramers, top_v, left_out = _associations(codes, target)
    top.update(top_v)

    report: dict[str, Any] = {
        "name": name,
        "n_rows": int(n_rows),
        "n_columns": int(n_cols),
        "duplicate_rows": dup_count,
        "memory_bytes": int(df.memory_usage(deep=True).sum()),
        "missing_cells": int(sum(s["missing"] for s in stats.values())),
        "missing_fraction": ratio(sum(s["missing"] for s in stats.values()), n_rows * n_cols),
        "sample": None
        if rows is None or not numeric
        else {"rows": len(rows), "of": int(n_rows), "seed": SEED, "used_for": ["spearman"]},
        "columns": stats,
        "correlations": {"pearson": pearson, "spearman": spearman, "cramers_v": cramers},
        "correlations_top": top,
        "target": None,
    }
    if target is not None:
        varying = _varying(arrays, stats)
        if pearson is None and target in varying:  # wide: the target's row of the matrix only
            pearson = {target: pearson_row(varying, target)}
        report["target"] = correlations.target_summary(
            series, target, stats, pearson or {}, arrays, codes
        )
    report["skipped"] = find_skipped(report, MAX_LEVELS) + ([left_out] if left_out else [])
    report["warnings"] = find_warnings(report)
    report["elapsed_seconds"] = round(time.perf_counter() - started, 4)
    return json_safe(report)


def _columns_and_duplicates(
    df: pd.DataFrame, series: dict[str, pd.Series]
) -> tuple[dict[str, dict[str, Any]], int | None]:
    """Every column's profile, on threads, while the duplicate rows are counted alongside."""
    with ThreadPoolExecutor(max_workers=_workers()) as pool:
        duplicates = pool.submit(duplicate_rows, df)
        stats = dict(zip(series, pool.map(column_stats, series.values()), strict=True))
        return stats, duplicates.result()


def _finite(values: np.ndarray, stats: dict[str, Any]) -> np.ndarray:
    """The values with infinities as gaps: pandas' ``corr`` leaves them out the same way."""
    return np.where(np.isinf(values), np.nan, values) if stats["infinite"] else values


def _varying(arrays: dict[str, np.ndarray], stats: dict[str, dict[str, Any]]) -> dict:
    """The numeric columns with at least two distinct finite values (r is defined for them)."""
    return {
        c: a
        for c, a in arrays.items()
        if stats[c]["n_unique"] > 1
        and (
            not stats[c]["infinite"] or np.nanmax(a, initial=-np.inf) > np.nanmin(a, initial=np.inf)
        )
    }


def _numeric_correlations(
    arrays: dict[str, np.ndarray],
    stats: dict[str, dict[str, Any]],
    numeric: list[str],
    rows: np.ndarray | None,
    target: str | None,
) -> tuple[dict | None, dict | None, dict[str, Any]]:
    """Pearson on every row and Spearman on ``rows`` (the sample), over ``numeric`` columns:
    whole matrices up to ``WIDE`` columns, the strongest pairs beyond (without the target,
    whose relationships the target section holds)."""
    varying = _varying(arrays, stats)
    wide = len(varying) > WIDE
    if wide:
        varying = {c: a for c, a in varying.items() if c != target}
    if wide:
        pearson = strongest_pearson(varying, TOP_PAIRS, HIGH_CORRELATION)
        spearman = strongest_pearson(ranks(varying, rows), TOP_PAIRS, HIGH_CORRELATION)
        return None, None, {"pearson": pearson, "spearman": spearman}
    with ThreadPoolExecutor(max_workers=_workers()) as pool:
        full = pool.submit(correlations.pearson_matrix, varying)
        ranked = pool.map(  # overlaps the Pearson sums
            correlations.average_ranks,
            (a if rows is None else a[rows] for a in varying.values()),
        )
        ranked_columns = dict(zip(varying, ranked, strict=True))
        pearson = full.result()
    pearson = correlations.with_constants(pearson, numeric)
    spearman = correlations.with_constants(correlations.pearson_matrix(ranked_columns), numeric)
    return pearson, spearman, {}


def _associations(
    codes: dict[str, np.ndarray], target: str | None
) -> tuple[dict | None, dict[str, Any], dict[str, Any] | None]:
    """Cramér's V of the categorical columns: the matrix up to ``WIDE`` columns, the strongest
    pairs beyond (without the target), or nothing and why when the tables are too many."""
    if len(codes) <= WIDE:
        return correlations.cramers_matrix(codes), {}, None
    codes = {c: v for c, v in codes.items() if c != target}
    levels = sum(int(v.max()) + 1 for v in codes.values())
    if levels * levels // 2 > MAX_LEVEL_CELLS:  # every pair's table: minutes of arithmetic
        return (
            None,
            {},
            {
                "what": "cramers_v matrix",
                "columns": list(codes),
                "reason": f"{len(codes):,} categorical columns with {levels:,} levels in all make "
                f"{levels * levels // 2:,} table cells over all pairs, minutes of arithmetic: "
                "Cramér's V was left out; profile fewer columns or group levels to have it.",
            },
        )
    return None, {"cramers_v": strongest_cramers(codes, TOP_PAIRS, HIGH_CORRELATION)}, None


def _level_codes(
    series: dict[str, pd.Series], stats: dict[str, dict[str, Any]]
) -> dict[str, np.ndarray]:
    """Factorized codes of the categorical and boolean columns with 2 to ``MAX_LEVELS`` levels."""
    levels = [
        c
        for c, s in stats.items()
        if s["kind"] in ("categorical", "boolean") and 2 <= s["n_unique"] <= MAX_LEVELS
    ]
    return {c: pd.factorize(series[c], use_na_sentinel=True)[0] for c in levels}


def _workers() -> int:
    return min(4, os.cpu_count() or 1)


# -- input -----------------------------------------------------------------------------------
def _check_target(target: str | None, stats: dict[str, dict[str, Any]]) -> None:
    """A target must hold values that can be counted: numbers, labels, flags."""
    if target is None or stats[target]["kind"] != "other":
        return
    types = ", ".join(t for t, _ in stats[target]["value_types"]) or "unknown"
    raise EdaError(
        f"the target {target!r} holds {types} values, which cannot be counted or compared; "
        "choose a column of numbers or labels"
    )


def _check_inputs(df: Any, target: str | None, sample: int | None, name: str | None) -> str:
    if not isinstance(df, pd.DataFrame):
        raise EdaError(f"eda needs a pandas DataFrame, not {type(df).__name__}")
    names = [str(c) for c in df.columns]
    repeated = sorted(c for c, n in Counter(names).items() if n > 1)
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


# -- logging ---------------------------------------------------------------------------------
def _log_on_active_run(report: EdaReport) -> None:
    log_report(
        "eda",
        report.name,
        report.to_json(),
        report.to_html(full_page=True),
        {"warnings": str(len(report.warnings))},
    )
