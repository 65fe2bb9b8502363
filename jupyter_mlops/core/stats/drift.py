"""Data drift between a reference frame and a current one: a test, an effect size and a verdict.

Each column common to both frames gets a two-sample test (Kolmogorov-Smirnov for numbers,
chi-square of homogeneity for levels) and a population stability index (PSI). Two guards keep
the verdicts from crying wolf:

* Multiple testing. The p-values of all columns are adjusted together (Holm), so a frame with
  many columns and no drift flags any column with probability at most ``alpha``.
* Effect size. On large frames a test rejects for shifts nobody could care about, so a column
  only counts as drifted when its adjusted p-value is below ``alpha`` and its PSI is at least
  0.1. A PSI of 0.25 or more is a major shift whatever the test says (PSI also sees a change in
  missing values, which the KS test ignores).

PSI bins: the reference's deciles for numbers (the outer bins open-ended, so values beyond the
reference's range still count), the levels for the rest; rare levels are merged into one
"other" level so the chi-square test's expected counts are not tiny; missing values are a bin
of their own. Empty bins count as a share of 0.0001.
"""

from __future__ import annotations

import math
import numbers
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

import numpy as np
import pandas as pd

from ...errors import MlopsError
from ..autolog import without_autolog
from .reports import Report, json_safe, name_error

PSI_DRIFT = 0.1  # PSI from which a significant shift is drift
PSI_MAJOR = 0.25  # PSI from which a shift is major whatever the test says
EPS = 1e-4  # the share given to an empty bin, so PSI stays finite
DECILES = np.linspace(0.1, 0.9, 9)
MIN_EXPECTED = 5.0  # expected count a level needs in both frames to stay a level of its own
MAX_LEVELS = 50  # levels kept at most; the rarer ones join "other"
SCIPY_KS_MAX = 100_000  # values a side up to which the KS p-value is scipy's own
SHIFT_NOTE = 0.05  # a change in the missing share this large is named in the message
CORRECTION = "holm"

OTHER = "(other)"
NEW = "(new levels)"
MISSING = "(missing)"
TESTS = {"ks": "KS", "chi2": "chi-square"}
VERDICTS = ("major", "drifted", "minor", "stable", "skipped")


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
        keys += ["psi", "verdict", "drifted", "message"]
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
    """The report as a JSON-ready dict (keys in INTERFACE.md, plus the details of each column)."""
    started = time.perf_counter()
    name, target = _check_inputs(reference, current, target, alpha, name)
    ref = {str(c): reference.iloc[:, i] for i, c in enumerate(reference.columns)}
    cur = {str(c): current.iloc[:, i] for i, c in enumerate(current.columns)}
    common = [c for c in ref if c in cur]
    kinds = {c: _common_kind(c, ref[c], cur[c]) for c in common}
    skipped = {c: _SKIP_REASONS[k] for c, k in kinds.items() if k in _SKIP_REASONS}
    compared = [c for c in common if c not in skipped]

    workers = min(4, os.cpu_count() or 1)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = dict(
            zip(
                compared,
                pool.map(lambda c: _column(ref[c], cur[c], kinds[c]), compared),
                strict=True,
            )
        )
    for column, result in list(results.items()):
        if result is None:  # unhashable cells: no levels to count
            skipped[column] = "its values cannot be counted (unhashable cells such as lists)"
            del results[column]

    features = {c: r for c, r in results.items() if c != target}
    _adjust(features)
    for column, r in features.items():
        _verdict(column, r, alpha)
    features = {c: _ordered(r) for c, r in features.items()}
    report: dict[str, Any] = {
        "name": name,
        "n_reference": len(reference),
        "n_current": len(current),
        "alpha": float(alpha),
        "correction": CORRECTION,
        "thresholds": {"psi_drift": PSI_DRIFT, "psi_major": PSI_MAJOR, "epsilon": EPS},
        "columns": features,
        "drifted": [c for c, r in features.items() if r["drifted"]],
        "target": None,
        "only_reference": [c for c in ref if c not in cur],
        "only_current": [c for c in cur if c not in ref],
        "skipped": {c: reason for c, reason in skipped.items() if c != target},
    }
    if target is not None:
        if target in results:
            t = results[target]
            t["p_value_adjusted"] = t["p_value"]  # a family of one: nothing to adjust
            _verdict(target, t, alpha, label=True)
            report["target"] = {"column": target, **_ordered(t)}
        else:
            report["target"] = {"column": target, "verdict": "skipped", "drifted": False}
            report["target"]["message"] = f"{target} was not compared: {skipped[target]}."
    report["elapsed_seconds"] = round(time.perf_counter() - started, 4)
    return json_safe(report)


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
        repeated = sorted({c for c in names if names.count(c) > 1})
        if repeated:
            raise DriftError(
                f"column names must be unique; repeated in the {label}: {', '.join(repeated)}"
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
}


def _kind(s: pd.Series) -> str:
    """numeric, boolean, categorical, datetime, or empty (no values: adopts the other side's)."""
    dtype = s.dtype
    if s.count() == 0:
        return "empty"
    if pd.api.types.is_bool_dtype(dtype):
        return "boolean"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "datetime"
    if pd.api.types.is_timedelta64_dtype(dtype):
        return "numeric"
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
    return "categorical"


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


# -- per column ------------------------------------------------------------------------------
def _column(ref: pd.Series, cur: pd.Series, kind: str) -> dict[str, Any] | None:
    if kind == "numeric":
        return _numeric(_floats(ref), _floats(cur))
    levels = _levels(ref, cur)
    return None if levels is None else {**levels, "kind": kind}


def _floats(s: pd.Series) -> np.ndarray:
    if pd.api.types.is_timedelta64_dtype(s.dtype):
        s = s.dt.total_seconds()
    if s.dtype == np.float64:
        return s.to_numpy()
    return s.to_numpy(dtype="float64", na_value=np.nan)


def _numeric(ref: np.ndarray, cur: np.ndarray) -> dict[str, Any]:
    # sorted once: the KS statistic, the deciles and the bin counts all read sorted values
    r, c = np.sort(ref[~np.isnan(ref)]), np.sort(cur[~np.isnan(cur)])
    statistic = p_value = None
    if len(r) and len(c):
        statistic, p_value = ks(r, c, presorted=True)
    finite = r[np.searchsorted(r, -np.inf, "right") : np.searchsorted(r, np.inf, "left")]
    edges = np.unique(np.quantile(finite, DECILES)) if len(finite) else np.array([])
    ref_counts = _binned(r, edges, len(ref) - len(r))
    cur_counts = _binned(c, edges, len(cur) - len(c))
    labels = _bin_labels(edges)
    if ref_counts[-1] == 0 and cur_counts[-1] == 0:  # no missing values: no missing bin
        ref_counts, cur_counts = ref_counts[:-1], cur_counts[:-1]
    else:
        labels.append(MISSING)
    return {
        "kind": "numeric",
        "test": "ks",
        "statistic": statistic,
        "p_value": p_value,
        "psi": psi(ref_counts, cur_counts),
        "missing_reference": _share(len(ref) - len(r), len(ref)),
        "missing_current": _share(len(cur) - len(c), len(cur)),
        "reference": _summary(r),
        "current": _summary(c),
        "bins": _bins(labels, ref_counts, cur_counts),
    }


def ks(reference: np.ndarray, current: np.ndarray, presorted: bool = False) -> tuple[float, float]:
    """Two-sample Kolmogorov-Smirnov statistic and p-value.

    Up to 100,000 values a side this is scipy's ``ks_2samp`` (exact p for small samples).
    Above, scipy's p-value costs up to half a second per column (an exact one-sample sum over
    hundreds of thousands of terms), so the same statistic gets the limiting Kolmogorov
    distribution with Stephens' finite-sample correction, within 0.3% of scipy's for p-values
    from 0.001 to 0.5.
    """
    if max(len(reference), len(current)) <= SCIPY_KS_MAX:
        from scipy.stats import ks_2samp

        result = ks_2samp(reference, current)
        return float(result.statistic), float(result.pvalue)
    from scipy.stats import kstwobign

    a, b = (reference, current) if presorted else (np.sort(reference), np.sort(current))
    n, m = len(a), len(b)
    # both empirical CDFs at every observed value (right-continuous; ties counted)
    d_at_a = np.abs(_right_ranks(a) / n - np.searchsorted(b, a, "right") / m).max()
    d_at_b = np.abs(np.searchsorted(a, b, "right") / n - _right_ranks(b) / m).max()
    d = float(max(d_at_a, d_at_b))
    en = math.sqrt(n * m / (n + m))
    p = float(kstwobign.sf((en + 0.12 + 0.11 / en) * d))
    return d, min(max(p, 0.0), 1.0)


def _right_ranks(v: np.ndarray) -> np.ndarray:
    """``np.searchsorted(v, v, "right")`` for sorted ``v``, in one linear pass."""
    starts = np.flatnonzero(v[1:] != v[:-1]) + 1  # where a new value begins
    ends = np.append(starts, len(v))  # one past the last copy of each distinct value
    run = np.zeros(len(v), dtype=np.int64)
    run[starts] = 1
    return ends[np.cumsum(run)]


def _binned(sorted_values: np.ndarray, edges: np.ndarray, missing: int) -> np.ndarray:
    """Counts in the bins (-inf, e1], (e1, e2], ..., (ek, inf), then the missing count."""
    ends = np.searchsorted(sorted_values, edges, "right")  # values <= each edge
    counts = np.diff(np.concatenate([[0], ends, [len(sorted_values)]]))
    return np.append(counts, missing)


def _bin_labels(edges: Any) -> list[str]:
    e = [f"{x:.4g}" for x in edges]
    if not e:
        return ["all values"]
    return [f"≤ {e[0]}", *(f"{a} to {b}" for a, b in pairwise(e)), f"> {e[-1]}"]


@np.errstate(invalid="ignore", over="ignore")
def _summary(values: np.ndarray) -> dict[str, float | None]:
    if len(values) == 0:
        return {"mean": None, "median": None}
    return {"mean": float(np.mean(values)), "median": float(np.median(values))}


def _levels(ref: pd.Series, cur: pd.Series) -> dict[str, Any] | None:
    """Chi-square and PSI over the levels; None when the cells cannot be counted (lists)."""
    from scipy.stats import chi2_contingency

    n_r = len(ref)
    try:  # one factorize over both frames: the levels line up without an index join
        codes, uniques = pd.factorize(pd.concat([ref, cur], ignore_index=True))
    except TypeError:  # unhashable cells
        return None
    ref_codes, cur_codes = codes[:n_r], codes[n_r:]
    k = len(uniques)
    r_counts = np.bincount(ref_codes[ref_codes >= 0], minlength=k)
    c_counts = np.bincount(cur_codes[cur_codes >= 0], minlength=k)
    names = np.asarray(uniques, dtype=object)
    is_new = (r_counts == 0) & (c_counts > 0)
    new_rows = int(c_counts[is_new].sum())
    missing_r, missing_c = int((ref_codes < 0).sum()), int((cur_codes < 0).sum())
    if missing_r or missing_c:
        names = np.append(names, np.array([MISSING], dtype=object))
        r_counts = np.append(r_counts, missing_r)
        c_counts = np.append(c_counts, missing_c)
    labels, r_counts, c_counts, merged = _merge_rare(names, r_counts, c_counts, n_r, len(cur))
    statistic = p_value = None
    if len(labels) >= 2:
        result = chi2_contingency(np.array([r_counts, c_counts]))
        statistic, p_value = float(result.statistic), float(result.pvalue)
    return {
        "test": "chi2",
        "statistic": statistic,
        "p_value": p_value,
        "psi": psi(r_counts, c_counts),
        "missing_reference": _share(missing_r, n_r),
        "missing_current": _share(missing_c, len(cur)),
        "n_levels_reference": int((r_counts[: len(uniques)] > 0).sum()),
        "n_levels_current": int((c_counts[: len(uniques)] > 0).sum()),
        "new_levels": int(is_new.sum()),
        "new_levels_share": _share(new_rows, len(cur)),
        "merged_levels": merged,
        "bins": _bins(labels, r_counts, c_counts),
    }


def _merge_rare(
    names: np.ndarray, r: np.ndarray, c: np.ndarray, n_r: int, n_c: int
) -> tuple[list[Any], np.ndarray, np.ndarray, int]:
    """Fold levels whose expected count is under 5 in either frame into "other" levels.

    Rare levels the reference never had go to a "(new levels)" bucket of their own, so a
    column whose current values are all unseen still shows as a change. Returns the labels,
    the two count rows and how many levels were folded.
    """
    total = r + c
    order = np.argsort(-total, kind="stable")
    expected = total * (min(n_r, n_c) / (n_r + n_c))  # the smaller of the two expected counts
    keep = [int(i) for i in order[expected[order] >= MIN_EXPECTED][:MAX_LEVELS]]
    rest = np.ones(len(total), dtype=bool)
    rest[keep] = False
    old = [int(i) for i in order[rest[order] & (r[order] > 0)]]
    new = [int(i) for i in order[rest[order] & (r[order] == 0)]]

    def small(bucket: list[int]) -> bool:
        return bool(bucket) and float(expected[bucket].sum()) < MIN_EXPECTED

    if small(new):
        old, new = old + new, []
    while small(old) and len(keep) > 1:
        old.append(keep.pop())  # "other" itself too small: fold the smallest kept level in
    labels = [_jsonable(names[i]) for i in keep]
    r_out, c_out = [int(r[i]) for i in keep], [int(c[i]) for i in keep]
    for bucket, label in ((old, OTHER), (new, NEW)):
        if bucket:
            labels.append(_jsonable(names[bucket[0]]) if len(bucket) == 1 else label)
            r_out.append(int(r[bucket].sum()))
            c_out.append(int(c[bucket].sum()))
    merged = sum(len(b) for b in (old, new) if len(b) > 1)
    return labels, np.array(r_out, dtype="int64"), np.array(c_out, dtype="int64"), merged


def psi(reference_counts: Any, current_counts: Any) -> float:
    """Population stability index of two count vectors over the same bins.

    ``sum((q - p) * ln(q / p))`` with ``p``, ``q`` the reference and current shares; an empty
    bin's share counts as 0.0001 so the index stays finite.
    """
    r = np.asarray(reference_counts, dtype="float64")
    c = np.asarray(current_counts, dtype="float64")
    if r.sum() == 0 or c.sum() == 0:
        return 0.0
    p, q = r / r.sum(), c / c.sum()
    p, q = np.where(p == 0, EPS, p), np.where(q == 0, EPS, q)
    return float(np.sum((q - p) * np.log(q / p)))


def _bins(labels: list[Any], r: np.ndarray, c: np.ndarray) -> dict[str, list]:
    rt, ct = max(int(r.sum()), 1), max(int(c.sum()), 1)
    return {
        "labels": list(labels),
        "reference": [float(x) / rt for x in r],
        "current": [float(x) / ct for x in c],
    }


# -- across columns --------------------------------------------------------------------------
def _adjust(columns: dict[str, dict[str, Any]]) -> None:
    """Holm-adjust the p-values of all tested columns together."""
    tested = [c for c, r in columns.items() if r["p_value"] is not None]
    for r in columns.values():
        r["p_value_adjusted"] = None
    if not tested:
        return
    from statsmodels.stats.multitest import multipletests

    adjusted = multipletests([columns[c]["p_value"] for c in tested], method=CORRECTION)[1]
    for column, p in zip(tested, adjusted, strict=True):
        columns[column]["p_value_adjusted"] = float(p)


def _verdict(column: str, r: dict[str, Any], alpha: float, label: bool = False) -> None:
    p = r["p_value_adjusted"]
    significant = p is not None and p < alpha
    if r["psi"] >= PSI_MAJOR:
        verdict = "major"
    elif significant and r["psi"] >= PSI_DRIFT:
        verdict = "drifted"
    elif significant:
        verdict = "minor"
    else:
        verdict = "stable"
    r["verdict"] = verdict
    r["drifted"] = verdict in ("major", "drifted")
    r["message"] = _message(column, r, alpha, label)


def _message(column: str, r: dict[str, Any], alpha: float, label: bool) -> str:
    who = f"The target {column}" if label else column
    test, p, psi_text = TESTS[r["test"]], r["p_value_adjusted"], f"PSI {r['psi']:.3f}"
    which = "p" if label else "adjusted p"
    if p is None:
        if r["missing_reference"] == 1 or r["missing_current"] == 1:
            side = "reference" if r["missing_reference"] == 1 else "current"
            verdict = "a major shift" if r["verdict"] == "major" else "no shift"
            return (
                f"{who} has no values in the {side} frame, so no test applies; {psi_text} "
                f"says {verdict}."
            )
        return f"{who} has a single level in both frames, so there is nothing to test ({psi_text})."
    evidence = f"{test} {r['statistic']:.3g}, {which} {_p(p)}, {psi_text}"
    change = _change(r)
    verdict = r["verdict"]
    if verdict == "major" and p < alpha:
        return f"{who} shifted strongly ({evidence}): {change}."
    if verdict == "major" and abs(r["missing_current"] - r["missing_reference"]) >= SHIFT_NOTE:
        return (
            f"{who} shifted strongly by PSI ({r['psi']:.3f} ≥ {PSI_MAJOR}): {change}; the values "
            f"present do not differ significantly ({test}, {which} {_p(p)})."
        )
    if verdict == "major":
        return (
            f"{who} shifted strongly by PSI ({r['psi']:.3f} ≥ {PSI_MAJOR}) although the {test} "
            f"test is not significant ({which} {_p(p)}): {change}; with few rows PSI is noisy, "
            "so look before acting."
        )
    if verdict == "drifted":
        return f"{who} drifted ({evidence}): {change}."
    if verdict == "minor":
        return (
            f"{who} changed only slightly: the difference is significant ({which} {_p(p)}) but "
            f"PSI {r['psi']:.3f} is under {PSI_DRIFT}, too small to matter."
        )
    return f"{who} is stable: no significant difference ({which} {_p(p)}, {psi_text})."


def _change(r: dict[str, Any]) -> str:
    """What moved, in plain words: the median, the biggest level share, the missing share."""
    parts = []
    if r["kind"] == "numeric":
        a, b = r["reference"]["median"], r["current"]["median"]
        if a is not None and b is not None:
            parts.append(f"the median moved from {a:.4g} to {b:.4g}")
    else:
        bins = r["bins"]
        moves = [
            (abs(q - p), label, p, q)
            for label, p, q in zip(bins["labels"], bins["reference"], bins["current"], strict=True)
        ]
        _, level, p, q = max(moves, key=lambda move: move[0])
        shown = level if level in (OTHER, NEW, MISSING) else repr(level)
        parts.append(f"{shown} went from {_pct(p)} to {_pct(q)} of rows")
        new = r.get("new_levels")
        if new:
            are = "level is" if new == 1 else "levels are"
            parts.append(f"{new:,} {are} new ({_pct(r['new_levels_share'])} of current rows)")
    a, b = r["missing_reference"], r["missing_current"]
    if abs(b - a) >= SHIFT_NOTE and not (parts and parts[0].startswith(MISSING)):
        parts.append(f"missing values went from {_pct(a)} to {_pct(b)}")
    return "; ".join(parts) or "the distributions differ"


def _ordered(r: dict[str, Any]) -> dict[str, Any]:
    """The documented keys first, then the details."""
    keys = ("kind", "test", "statistic", "p_value", "p_value_adjusted", "psi", "verdict")
    head = {k: r[k] for k in (*keys, "drifted", "message")}
    return {**head, **{k: v for k, v in r.items() if k not in head}}


# -- logging ---------------------------------------------------------------------------------
def _log_on_active_run(report: DriftReport) -> None:
    from .reports import log_report

    log_report(
        "drift",
        report.name,
        report.to_json(),
        report.to_html(full_page=True),
        {f"mlops.drift.{report.name}.drifted": str(len(report.drifted))},
    )


# -- helpers ---------------------------------------------------------------------------------
def _share(part: int, whole: int) -> float:
    return float(part / whole) if whole else 0.0


def _pct(share: float) -> str:
    return f"{share * 100:.1f}%"


def _p(p: float) -> str:
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return str(value)
