"""One window judged: its logged inputs against the training reference with ``drift``'s own
rules, its predictions apart, its contract violations and row counts, and its verdict.

``drift`` compares values (its KS test reads them), so a window of many rows is compared
through a seeded uniform subsample of at most ``DRIFT_ROWS`` rows (said in ``drift_rows``);
row counts and violation rates are always over every row. Violations are logged per request
(``{"column": rows}`` JSON, repeated on each of the request's rows): each request is counted
once. The log is untrusted input: a violations cell that is not such JSON is counted as
unreadable, never evaluated, and a count is capped at its request's rows.
"""

from __future__ import annotations

import json
from typing import Any

DRIFT_ROWS = 200_000  # window rows compared by drift at most (a seeded uniform subsample)
SEED = 0
VERDICTS = ("drifted", "inconclusive", "stable", "empty")


def log_names(reference: Any, log_columns: list[str]) -> dict[str, str]:
    """Reference column -> its column in the log: the writer renames an input named like its
    own columns (``prediction``, ``_mlops_*``) to ``input_<name>``; a reference prediction
    column named apart from a feature (``_prediction``) is the log's ``prediction``."""
    present = set(log_columns)
    out: dict[str, str] = {}
    logged_predictions = {c for c in present if c == "prediction" or c.startswith("prediction_")}
    for name in reference.columns:
        reserved = name in logged_predictions or name.startswith("_mlops_")
        candidate = f"input_{name}" if reserved else name
        if candidate in present:
            out[name] = candidate
    for name in reference.prediction_columns:
        candidate = name.lstrip("_")
        if candidate in present:
            out[name] = candidate
    return out


def judge_window(
    window: Any, table: Any, rows: Any, reference: Any, names: dict[str, str], alpha: float = 0.05
) -> dict[str, Any]:
    """The report of one window: ``rows`` (numpy row numbers, possibly none) of ``table`` (the
    logged rows, Arrow)."""
    from ..stats.reports import json_safe

    out: dict[str, Any] = {
        "start": window.start_iso,
        "end": window.end_iso,
        "rows": len(rows),
        "requests": 0,
        "drift_rows": 0,
        "verdict": "empty",
        "drifted": [],
        "inconclusive": [],
        "prediction_drifted": False,
        "prediction_drift": None,
        "violation_rate": 0.0,
        "violations": {},
        "unreadable_violations": 0,
        "features": None,
    }
    if len(rows) == 0:
        return out
    out.update(violations(_rows(table, rows)))
    sampled = subsample(rows)
    out["drift_rows"] = len(sampled)
    wanted = list(dict.fromkeys(names.values()))
    frame = _rows(table.select(wanted), sampled).to_pandas(ignore_metadata=True)
    features = [c for c in reference.columns if c in names]
    current = reference.comparable(_take(frame, features, names))
    report = _drift(reference.features()[features], current, alpha, "inputs")
    out["features"] = report
    out["drifted"] = list(report["drifted"])
    out["inconclusive"] = list(report["inconclusive"])
    predictions = [c for c in reference.prediction_columns if c in names]
    if predictions:
        pred = _drift(
            reference.sample[predictions], _take(frame, predictions, names), alpha, "predictions"
        )
        out["prediction_drift"] = pred
        out["prediction_drifted"] = bool(pred["drifted"])
    if out["drifted"]:
        out["verdict"] = "drifted"
    elif out["inconclusive"]:
        out["verdict"] = "inconclusive"
    else:
        out["verdict"] = "stable"
    return json_safe(out)


def _rows(table: Any, rows: Any) -> Any:
    """``table``'s ``rows`` (all of them without a copy)."""
    if len(rows) == table.num_rows and (len(rows) == 0 or rows[-1] == len(rows) - 1):
        return table  # split's "every row" is 0..n-1 in order
    return table.take(rows)


def _take(frame: Any, columns: list[str], names: dict[str, str]) -> Any:
    """The window's columns under the reference's names."""
    return frame[[names[c] for c in columns]].set_axis(columns, axis=1)


def _drift(reference: Any, current: Any, alpha: float, name: str) -> dict[str, Any]:
    from ..stats.drift import compare

    return compare(reference, current, alpha=alpha, name=name)


def subsample(rows: Any, limit: int | None = None) -> Any:
    """At most ``limit`` (``DRIFT_ROWS``) of ``rows``: a seeded uniform sample, in order."""
    import numpy as np

    limit = DRIFT_ROWS if limit is None else limit
    if len(rows) <= limit:
        return rows
    return rows[np.sort(np.random.default_rng(SEED).choice(len(rows), limit, replace=False))]


def violations(table: Any) -> dict[str, Any]:
    """Violation rates per column (violating rows / window rows), the worst as
    ``violation_rate``, counting each request once (``table``: the window's logged rows)."""
    import pyarrow.compute as pc

    from ...runtime.inference_log_files import REQUEST, VIOLATIONS

    rows = table.num_rows
    if REQUEST not in table.column_names or VIOLATIONS not in table.column_names:
        return {"requests": 0, "violations": {}, "violation_rate": 0.0}
    requests = (
        table.select([REQUEST, VIOLATIONS])
        .group_by(REQUEST)
        .aggregate([(VIOLATIONS, "min"), (VIOLATIONS, "max"), (REQUEST, "count")])
    )
    cells, other = requests.column(f"{VIOLATIONS}_min"), requests.column(f"{VIOLATIONS}_max")
    # a request's rows carry one cell; one that does not is unreadable
    found = pc.or_kleene(pc.not_equal(cells, "{}"), pc.not_equal(cells, other))
    found = pc.fill_null(found, True)
    columns = [f"{VIOLATIONS}_min", f"{VIOLATIONS}_max", f"{REQUEST}_count"]
    kept = requests.filter(found).select(columns).to_pandas()  # requests with findings: few
    counts: dict[str, int] = {}
    unreadable = 0
    for cell, high, size in kept.itertuples(index=False, name=None):
        parsed = _counts(cell) if cell == high else None
        if parsed is None:
            unreadable += 1
            continue
        for column, n in parsed.items():  # capped at the request's rows
            counts[column] = counts.get(column, 0) + min(int(n), int(size))
    rates = {c: n / rows for c, n in sorted(counts.items(), key=lambda kv: -kv[1]) if n}
    return {
        "requests": requests.num_rows,
        "violations": {c: {"rows": counts[c], "rate": r} for c, r in rates.items()},
        "violation_rate": max(rates.values(), default=0.0),
        "unreadable_violations": unreadable,
    }


def _counts(cell: Any) -> dict[str, int] | None:
    """``{"column": rows}`` from one logged cell, or None when it is not that."""
    if cell is None or cell != cell:
        return {}
    if not isinstance(cell, str) or len(cell) > 1_000_000:
        return None
    try:
        parsed = json.loads(cell, parse_constant=_refuse)
    except (ValueError, RecursionError):
        return None
    if not isinstance(parsed, dict):
        return None
    out = {}
    for key, value in parsed.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            return None
        out[str(key)[:200]] = value
    return out


def _refuse(name: str) -> Any:
    raise ValueError(name)


__all__ = ["DRIFT_ROWS", "VERDICTS", "judge_window", "log_names", "subsample", "violations"]
