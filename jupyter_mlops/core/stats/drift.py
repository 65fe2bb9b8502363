"""Data drift between a reference frame and a current one: a test, an effect size and a verdict.

Each column common to both frames gets a p-value (numbers: Kolmogorov-Smirnov and a chi-square
test on PSI's bins, Bonferroni-combined; levels: chi-square of homogeneity) and a population
stability index (PSI). Two guards keep the verdicts from crying wolf:

* Every flag needs a significant test. The p-values of all columns are adjusted together
  (Holm), so a frame with no drift flags any column with probability at most ``alpha``, at
  every sample size. PSI alone never flags: its spread without drift grows as the samples
  shrink (about chi-square(bins - 1) * (1/n1 + 1/n2)), so no fixed cut-off can hold.
* Effect size. On large frames a test rejects for shifts nobody could care about, so PSI grades
  a significant shift: major from 0.25, drifted from 0.1, below that minor. A column with no
  significant shift whose samples are too small to tell a PSI of 0.25 from chance is
  "inconclusive", not "stable".

PSI bins: the reference's deciles for numbers (the outer bins open-ended, so values beyond the
reference's range still count), the levels for the rest; rare levels are merged into one
"other" level so the chi-square test's expected counts are not tiny; missing values are a bin
of their own. Empty bins count as a share of 0.0001.
"""

from __future__ import annotations

import numbers
import os
import time
import warnings
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pandas as pd

from ...errors import MlopsError
from ..autolog import without_autolog
from .column_profile import column_kind
from .drift_tests import EPS, column_drift
from .drift_verdict import CORRECTION, PSI_DRIFT, PSI_MAJOR, adjust, judge, ordered, small_note
from .reports import Report, json_safe, log_report, name_error


class DriftError(MlopsError):
    """Bad input to ``drift``: one line saying what to change."""


@dataclass(repr=False)  # Report.__repr__ draws it
class DriftReport(Report):
    """Drift per column between two frames: renders itself in Jupyter; ``.to_dict()`` for code."""

    VIEW = "drift"

    data: dict[str, Any]

    @property
    def name(self) -> str:
        return self.data["name"]

    @property
    def drifted(self) -> list[str]:
        """Names of the drifted feature columns (the target is reported apart)."""
        return self.data["drifted"]

    def to_dict(self) -> dict[str, Any]:
        return self.data

    def to_frame(self) -> pd.DataFrame:
        """One row per compared column (the target last, with role ``target``)."""
        rows = [{"column": c, "role": "feature", **r} for c, r in self.data["columns"].items()]
        target = self.data.get("target")
        if target:
            rows.append({"column": target["column"], "role": "target", **target})
        keys = ["column", "role", "kind", "test", "statistic", "p_value", "p_value_adjusted"]
        keys += ["psi", "psi_chance", "verdict", "drifted", "message"]
        frame = pd.DataFrame([{k: r.get(k) for k in keys} for r in rows], columns=keys)
        return frame.set_index("column")


@without_autolog
def drift(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    target: str | None = None,
    alpha: float = 0.05,
    name: str | None = None,
) -> DriftReport:
    """Compare ``current`` with ``reference`` column by column; log the report on the active run.

    ``target`` names the label column: its own shift (label drift) is reported apart and not
    counted among the drifted columns. With a run active the report is logged as
    ``drift/<name>.json`` and ``drift/<name>.html`` with the tag ``mlops.drift.<name>.drifted``.
    """
    report = DriftReport(compare(reference, current, target=target, alpha=alpha, name=name))
    _log_on_active_run(report)
    return report


def compare(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    target: str | None = None,
    alpha: float = 0.05,
    name: str | None = None,
) -> dict[str, Any]:
    """The report as a JSON-ready dict (keys in the README's Drift section, and details)."""
    started = time.perf_counter()
    name, target = _check_inputs(reference, current, target, alpha, name)
    ref = {str(c): reference.iloc[:, i] for i, c in enumerate(reference.columns)}
    cur = {str(c): current.iloc[:, i] for i, c in enumerate(current.columns)}
    kinds, skipped = _kinds(ref, cur)
    results = _column_results(ref, cur, kinds, skipped, alpha)
    features = _judged_features({c: r for c, r in results.items() if c != target}, alpha)
    inconclusive = [c for c, r in features.items() if r["verdict"] == "inconclusive"]
    report: dict[str, Any] = {
        "name": name,
        "n_reference": len(reference),
        "n_current": len(current),
        "alpha": float(alpha),
        "correction": CORRECTION,
        "thresholds": {"psi_drift": PSI_DRIFT, "psi_major": PSI_MAJOR, "epsilon": EPS},
        "columns": features,
        "drifted": [c for c, r in features.items() if r["drifted"]],
        "inconclusive": inconclusive,
        "sample_note": small_note(inconclusive, len(reference), len(current), alpha),
        "target": None,
        "only_reference": [c for c in ref if c not in cur],
        "only_current": [c for c in cur if c not in ref],
        "skipped": {c: reason for c, reason in skipped.items() if c != target},
    }
    if target is not None:
        report["target"] = _target(target, results, skipped, alpha)
    report["elapsed_seconds"] = round(time.perf_counter() - started, 4)
    return json_safe(report)


def _kinds(
    ref: dict[str, pd.Series], cur: dict[str, pd.Series]
) -> tuple[dict[str, str], dict[str, str]]:
    """The kind of every common column, and the columns skipped for their kind, with why."""
    kinds = {c: _common_kind(c, ref[c], cur[c]) for c in ref if c in cur}
    skipped = {c: _SKIP_REASONS[k] for c, k in kinds.items() if k in _SKIP_REASONS}
    return kinds, skipped


def _column_results(
    ref: dict[str, pd.Series],
    cur: dict[str, pd.Series],
    kinds: dict[str, str],
    skipped: dict[str, str],
    alpha: float,
) -> dict[str, dict[str, Any]]:
    """Every comparable column's tests and PSI, on threads; uncountable ones join ``skipped``."""
    compared = [c for c in kinds if c not in skipped]
    with warnings.catch_warnings(), ThreadPoolExecutor(min(4, os.cpu_count() or 1)) as pool:
        # scipy falls back from the exact KS p-value to the asymptotic one on some tied samples
        # and warns; the p-value it returns is the right one to report
        warnings.filterwarnings("ignore", "ks_2samp: Exact calculation", RuntimeWarning)
        results = dict(
            zip(
                compared,
                pool.map(lambda c: column_drift(ref[c], cur[c], kinds[c], alpha), compared),
                strict=True,
            )
        )
    for column, result in list(results.items()):
        if isinstance(result, str):  # no levels to count, and why
            skipped[column] = result
            del results[column]
    return results


def _judged_features(features: dict[str, dict[str, Any]], alpha: float) -> dict[str, Any]:
    """The feature columns' results with adjusted p-values, verdicts and messages."""
    adjust(features)
    for column, r in features.items():
        judge(column, r, alpha)
    return {c: ordered(r) for c, r in features.items()}


def _target(
    target: str, results: dict[str, dict[str, Any]], skipped: dict[str, str], alpha: float
) -> dict[str, Any]:
    """The target's own shift (label drift), judged apart from the features."""
    if target not in results:
        out: dict[str, Any] = {"column": target, "verdict": "skipped", "drifted": False}
        out["message"] = f"{target} was not compared: {skipped[target]}."
        return out
    t = results[target]
    t["p_value_adjusted"] = t["p_value"]  # a family of one: nothing to adjust
    judge(target, t, alpha, label=True)
    return {"column": target, **ordered(t)}


# -- input -----------------------------------------------------------------------------------
def _check_inputs(
    reference: Any, current: Any, target: Any, alpha: Any, name: Any
) -> tuple[str, str | None]:
    for label, frame in (("reference", reference), ("current", current)):
        if not isinstance(frame, pd.DataFrame):
            raise DriftError(
                f"drift needs pandas DataFrames; the {label} is a {type(frame).__name__}"
            )
        names = [str(c) for c in frame.columns]
        repeated = sorted(c for c, k in Counter(names).items() if k > 1)  # list.count: n²
        if repeated:
            raise DriftError(
                f"column names must be unique as text (1 and '1' are the same name); "
                f"repeated in the {label}: {', '.join(repeated)}"
            )
        if len(frame) == 0 or frame.shape[1] == 0:
            raise DriftError(f"the {label} frame is empty ({frame.shape[0]} x {frame.shape[1]})")
    ref_names = {str(c) for c in reference.columns}
    cur_names = {str(c) for c in current.columns}
    if not ref_names & cur_names:
        raise DriftError("the reference and current frames have no column in common")
    if target is not None:
        target = str(target)
        missing = [
            lbl for lbl, n in (("reference", ref_names), ("current", cur_names)) if target not in n
        ]
        if missing:
            raise DriftError(
                f"no column named {target!r} in the {' and '.join(missing)} "
                f"frame{'s' if len(missing) == 2 else ''}"
            )
    if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real) or not 0 < alpha < 1:
        raise DriftError(f"alpha must be a number between 0 and 1 (exclusive), not {alpha!r}")
    name = "drift" if name is None else str(name)
    problem = name_error(name, "drift")
    if problem:
        raise DriftError(problem)
    return name, target


_SKIP_REASONS = {
    "datetime": "dates are not compared: a current window is later than its reference by design",
    "empty": "it has no values in either frame",
    "complex": "complex numbers are not compared: they have no order for a KS test or deciles",
}


def _kind(s: pd.Series) -> str:
    """The profile's kind (``column_profile.column_kind``), with what drift reads apart: an
    all-missing column is "empty" (it adopts the other side's kind), durations are numeric."""
    if s.count() == 0:
        return "empty"
    if pd.api.types.is_timedelta64_dtype(s.dtype):
        return "numeric"
    if isinstance(s.dtype, pd.PeriodDtype):
        return "datetime"
    if pd.api.types.is_complex_dtype(s.dtype):
        return "complex"
    return column_kind(s)


def _common_kind(column: str, ref: pd.Series, cur: pd.Series) -> str:
    a, b = _kind(ref), _kind(cur)
    if a == "empty" or b == "empty":
        return b if a == "empty" else a  # both empty: "empty", which is skipped
    if a == b:
        return a
    if {a, b} == {"boolean", "categorical"}:
        return "categorical"
    raise DriftError(
        f"column {column!r} is {a} in the reference but {b} in the current frame; "
        "give it the same type in both"
    )


# -- logging ---------------------------------------------------------------------------------
def _log_on_active_run(report: DriftReport) -> None:
    log_report(
        "drift",
        report.name,
        report.to_json(),
        report.to_html(full_page=True),
        {"drifted": str(len(report.drifted))},
    )
