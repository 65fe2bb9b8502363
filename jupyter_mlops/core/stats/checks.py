"""Statistical assumption checks before a model is trusted, each verdict in plain words.

Every statistic comes from the reference implementation (statsmodels, scipy, scikit-learn's
conventions) so a reader can reproduce it. Two guards keep the checks from crying wolf:

* Effect sizes. A test on a million rows rejects for departures nobody could care about, so a
  warn or fail needs both a small p-value and an effect large enough to matter (skewness,
  excess R² of an auxiliary regression, lag-1 autocorrelation, ...).
* Multiple testing. The residual checks share one alpha (Bonferroni), so a clean data set
  trips any of them with probability at most ``alpha``.

Tests with sample-size limits or super-linear cost (the residual checks, leakage) run on a
stated, seeded random subsample of large frames; the cheap ones (missing values, constants,
duplicates, class balance, multicollinearity) use every row.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..autolog import without_autolog
from . import classifier_checks, data_checks, residuals
from .reports import Report, json_safe, log_report, name_error
from .verdicts import Check, CheckError, is_numeric

CLASSIFICATION_MAX_CLASSES = 20  # an integer target with at most this many values is classes
ROWS_PER_CLASS = 5  # ... and at least this many rows per value on average (or two values)


@dataclass(repr=False)  # Report.__repr__ draws it
class CheckReport(Report):
    """The checks' verdicts; renders as a table in Jupyter and saves as ``checks/<name>.json``."""

    VIEW = "checks"

    name: str
    task: str
    target: str
    alpha: float
    checks: list[Check]
    skipped: list[dict[str, str]]
    info: dict[str, Any]

    @property
    def ok(self) -> bool:
        """No check failed (warnings are for a human to look at, not blockers)."""
        return not any(c.verdict == "fail" for c in self.checks)

    def counts(self) -> dict[str, int]:
        out = {"pass": 0, "warn": 0, "fail": 0}
        for c in self.checks:
            out[c.verdict] += 1
        return out

    def __getitem__(self, check_id: str) -> Check:
        for c in self.checks:
            if c.id == check_id:
                return c
        raise KeyError(check_id)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "ok": self.ok,
            "task": self.task,
            "target": self.target,
            "alpha": self.alpha,
            "counts": self.counts(),
            "checks": [c.to_dict() for c in self.checks],
            "skipped": self.skipped,
            **json_safe(self.info),
        }

    def to_frame(self) -> pd.DataFrame:
        rows = [
            {
                "id": c.id,
                "verdict": c.verdict,
                "columns": ", ".join(c.columns),
                "test": c.test,
                "statistic": c.statistic,
                "p_value": c.p_value,
                "threshold": c.threshold,
                "message": c.message,
            }
            for c in self.checks
        ]
        return pd.DataFrame(rows).set_index("id")


# -- entry point -----------------------------------------------------------------------------
@without_autolog
def check(
    df: pd.DataFrame,
    target: str,
    task: str | None = None,
    model: Any = None,
    alpha: float = 0.05,
    name: str | None = None,
) -> CheckReport:
    """Run the assumption checks on ``df`` for predicting ``target``; log them on an active run.

    ``model`` (fitted, with ``predict``) makes the residual checks use its residuals on ``df``
    without the target; without it, a regression's residual checks use an OLS fit of the
    target on the numeric features.
    """
    name = _check_inputs(df, target, task, model, alpha, name)
    df, target = df.set_axis([str(c) for c in df.columns], axis=1), str(target)
    task, why = _task(df[target], target, task)
    features, nested = _scalar_features(df, target)
    data = _labelled_rows(df, target)
    numeric = [c for c in features if is_numeric(df[c])]
    info: dict[str, Any] = {
        "n_rows": len(df),
        "n_labelled": len(data),
        "n_features": len(features),
        "task_reason": why,
    }
    checks, skipped, usable = data_checks.run(df, data, target, task, features, numeric)
    residual, not_run, detail = residuals.run(data, target, task, usable, features, model, alpha)
    checks += residual
    skipped += not_run + nested
    info.update(detail)
    report = CheckReport(name, task, target, alpha, checks, skipped, info)
    if task == "classification":  # separation, logit linearity, influence, calibration
        more, not_run, detail = classifier_checks.run(data, target, usable, features, model, alpha)
        report.checks += more
        report.skipped += not_run
        report.info.update(detail)
    _log_on_active_run(report)
    return report


def infer_task(y: pd.Series) -> tuple[str, str]:
    """classification or regression, and why, as a person would guess from the target."""
    if not is_numeric(y):
        return "classification", f"non-numeric target ({y.dtype})"
    values = y.dropna().to_numpy(dtype=float)
    n_unique, n = len(np.unique(values)), len(values)
    if not np.all(values == np.round(values)):
        return "regression", "numeric target with fractional values"
    if n_unique > CLASSIFICATION_MAX_CLASSES:
        return "regression", f"integer target with {n_unique:,} distinct values (over 20)"
    per_value = n / max(n_unique, 1)
    if n_unique > 2 and per_value < ROWS_PER_CLASS:
        return "regression", (
            f"integer target with {n_unique} distinct values in {n:,} rows ({per_value:.1f} "
            f"rows per value, under {ROWS_PER_CLASS}): a quantity, not classes"
        )
    return "classification", (
        f"integer target with {n_unique} distinct values, {per_value:,.0f} rows per value"
    )


# -- input -----------------------------------------------------------------------------------
def _check_inputs(
    df: Any, target: Any, task: str | None, model: Any, alpha: Any, name: str | None
) -> str:
    if not isinstance(df, pd.DataFrame):
        raise CheckError(f"check needs a pandas DataFrame, not {type(df).__name__}")
    if df.empty or len(df) == 0:
        raise CheckError("check needs a non-empty DataFrame (it has no rows or no columns)")
    names = [str(c) for c in df.columns]
    repeated = sorted(c for c, count in Counter(names).items() if count > 1)
    if repeated:
        raise CheckError(f"column names must be unique; repeated: {', '.join(repeated)}")
    if target is None or str(target) not in names:
        raise CheckError(f"no column named {target!r} to use as the target")
    if task not in (None, "classification", "regression"):
        raise CheckError(f"task must be 'classification' or 'regression', not {task!r}")
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0 < alpha < 1:
        raise CheckError(f"alpha must be a number between 0 and 1, not {alpha!r}")
    if model is not None and not callable(getattr(model, "predict", None)):
        raise CheckError(f"model must have a predict method; {type(model).__name__} has none")
    name = "checks" if name is None else str(name)
    problem = name_error(name, "checks")
    if problem:
        raise CheckError(problem)
    return name


def _task(y: pd.Series, target: str, task: str | None) -> tuple[str, str]:
    """The task (given or inferred) and why; a regression needs a numeric target."""
    _target_values(y, target)
    task, why = (task, "given") if task else infer_task(y)
    if task == "regression" and not is_numeric(y):
        raise CheckError(
            f"target {target!r} is not numeric ({y.dtype}): use task='classification' or "
            "encode it as numbers"
        )
    return task, why


def _target_values(y: pd.Series, target: str) -> None:
    """Targets no check can read: times, nested cells, infinities (each a one-line error)."""
    kind = y.dtype.kind
    if kind in "mM" or isinstance(y.dtype, pd.PeriodDtype):
        raise CheckError(
            f"target {target!r} holds dates or durations ({y.dtype}): convert it to a number "
            "(e.g. days since a start date) for regression, or to labels for classification"
        )
    if _nested(y):
        raise CheckError(
            f"target {target!r} holds lists, dicts, sets, tuples or arrays: give one scalar "
            "value (a number or a label) per row"
        )
    if is_numeric(y):
        values = y.to_numpy(dtype=float, na_value=np.nan)
        infinite = np.flatnonzero(np.isinf(values))
        if len(infinite):
            raise CheckError(
                f"target {target!r} has {len(infinite):,} infinite value(s) (first at row "
                f"{y.index[infinite[0]]!r}): replace them with NaN (unlabelled) or a finite value"
            )


def _nested(s: pd.Series) -> bool:
    """Whether a column's cells hold containers (lists, dicts, tuples, ...) not scalars."""
    if s.dtype != object:
        return False
    return bool(s.map(lambda v: isinstance(v, (list, dict, set, tuple, np.ndarray))).any())


def _scalar_features(df: pd.DataFrame, target: str) -> tuple[list[str], list[dict[str, str]]]:
    """The feature columns the checks read, and a note on the ones left out (nested cells)."""
    features = [c for c in df.columns if c != target]
    nested = [c for c in features if _nested(df[c])]
    if not nested:
        return features, []
    shown = ", ".join(nested[:5]) + (", ..." if len(nested) > 5 else "")
    note = {
        "id": "nested_columns",
        "reason": f"{len(nested)} column(s) hold lists, dicts, sets, tuples or arrays ({shown}) "
        "and are left out of every check; expand them into scalar columns to check them",
    }
    return [c for c in features if c not in nested], [note]


def _labelled_rows(df: pd.DataFrame, target: str) -> pd.DataFrame:
    """The rows with a target value: what every check but the whole-frame ones reads."""
    labelled = df[target].notna().to_numpy()
    data = df.loc[labelled] if not labelled.all() else df
    if len(data) < 3:
        raise CheckError(f"target {target!r} has {len(data)} non-missing values; need at least 3")
    return data


# -- logging ---------------------------------------------------------------------------------
def _log_on_active_run(report: CheckReport) -> None:
    counts = report.counts()
    log_report(
        "checks",
        report.name,
        report.to_json(),
        report.to_html(full_page=True),
        {
            "failed": str(counts["fail"]),
            "warned": str(counts["warn"]),
            "passed": str(counts["pass"]),
            "ok": str(report.ok).lower(),
        },
    )
