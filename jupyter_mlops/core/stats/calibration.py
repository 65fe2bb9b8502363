"""Calibration of predicted probabilities for a binary target: do events happen as often as
the probabilities say?

Two tests, each with an effect size besides its p-value so a big sample's trivial departure
passes: Hosmer-Lemeshow's C-hat over groups of predicted risk (effect: the mean gap between
observed and predicted rates, weighted by group size) and Spiegelhalter's z on the Brier score
(effect: the Brier score's excess over what calibrated probabilities would score, relative to
that expectation). Neither test is in statsmodels or scipy, so both are written here from the
papers (Hosmer & Lemeshow 1980; Spiegelhalter 1986), with scipy's chi-square and normal tails.
"""

from __future__ import annotations

import numpy as np

from .verdicts import Check

HL_GROUPS = 10  # the usual deciles of risk
HL_ROWS_PER_GROUP = 10  # fewer groups on small samples, so each holds about this many rows
GAP_WARN, GAP_FAIL = 0.02, 0.05  # mean |observed - predicted| over the risk groups
EXCESS_WARN, EXCESS_FAIL = 0.1, 0.25  # Brier score over its calibrated expectation, relative


def reliability_table(p: np.ndarray, y: np.ndarray) -> list[dict[str, float]]:
    """Rows sorted by predicted probability, split into (up to) ten groups of equal size: each
    group's rows, probability range, mean predicted probability and observed event rate."""
    groups = max(3, min(HL_GROUPS, len(p) // HL_ROWS_PER_GROUP))
    order = np.argsort(p, kind="stable")
    table = []
    for i, rows in enumerate(np.array_split(order, groups), start=1):
        table.append(
            {
                "group": float(i),
                "rows": float(len(rows)),
                "p_min": float(p[rows].min()),
                "p_max": float(p[rows].max()),
                "mean_predicted": float(p[rows].mean()),
                "observed_rate": float(y[rows].mean()),
            }
        )
    return table


def hosmer_lemeshow(
    p: np.ndarray, y: np.ndarray, table: list[dict[str, float]], in_sample: bool
) -> tuple[float, float, float]:
    """C-hat, its p-value and degrees of freedom: groups - 2 for a logistic fit on these rows
    (Hosmer & Lemeshow 1980), groups for probabilities from a model fitted elsewhere (Hosmer,
    Lemeshow & Sturdivant 2013, ch. 5, external validation)."""
    from scipy.stats import chi2

    statistic = 0.0
    for row in table:
        n, predicted = row["rows"], row["mean_predicted"]
        expected, observed = n * predicted, n * row["observed_rate"]
        variance = expected * (1 - predicted)
        if variance > 0:
            statistic += (observed - expected) ** 2 / variance
        elif observed != expected:  # probabilities of exactly 0 or 1 that were wrong
            statistic = np.inf
    df = len(table) - 2 if in_sample else len(table)
    return float(statistic), float(chi2.sf(statistic, df)), float(df)


def spiegelhalter(p: np.ndarray, y: np.ndarray) -> tuple[float, float, float, float]:
    """Spiegelhalter's (1986) z for the Brier score, its two-sided p-value, the Brier score and
    its expectation were the probabilities calibrated (the mean of p(1 - p))."""
    from scipy.stats import norm

    brier = float(np.mean((y - p) ** 2))
    expected = float(np.mean(p * (1 - p)))
    numerator = float(np.sum((y - p) * (1 - 2 * p)))
    variance = float(np.sum((1 - 2 * p) ** 2 * p * (1 - p)))
    if variance > 0:
        z = numerator / np.sqrt(variance)
    else:  # every probability is 0, 1/2 or 1: z is 0 when they are right, else infinite
        z = 0.0 if abs(numerator) < 1e-12 else np.copysign(np.inf, numerator)
    return float(z), float(2 * norm.sf(abs(z))), brier, expected


def _graded(p_value: float, effect: float, alpha_each: float, warn: float, fail: float) -> str:
    if p_value >= alpha_each or effect < warn:
        return "pass"
    return "fail" if effect >= fail else "warn"


def calibration_checks(
    p: np.ndarray, y: np.ndarray, alpha_each: float, source: str
) -> tuple[list[Check], list[dict[str, float]]]:
    """The Hosmer-Lemeshow and Brier (Spiegelhalter) checks, and the reliability table.

    ``source`` is "logit" (a logistic fit on these rows) or "model" (the user's model).
    """
    table = reliability_table(p, y)
    statistic, p_hl, df = hosmer_lemeshow(p, y, table, in_sample=source == "logit")
    weights = np.array([row["rows"] for row in table]) / len(p)
    gaps = np.array([row["observed_rate"] - row["mean_predicted"] for row in table])
    gap = float(np.sum(weights * np.abs(gaps)))
    verdict = _graded(p_hl, gap, alpha_each, GAP_WARN, GAP_FAIL)
    what = "the logistic fit's" if source == "logit" else "the model's"
    if verdict == "pass":
        message = f"Events happen about as often as {what} probabilities say" + (
            f" (a gap of {gap:.1%} is too small to matter)." if p_hl < alpha_each else "."
        )
    else:
        worst = table[int(np.argmax(np.abs(gaps)))]
        message = (
            f"{what.capitalize()} probabilities are off by {gap:.1%} on average over the risk "
            f"groups (group {int(worst['group'])}: predicted {worst['mean_predicted']:.1%}, "
            f"observed {worst['observed_rate']:.1%}): do not read them as probabilities; "
            "recalibrate (Platt or isotonic, e.g. scikit-learn's CalibratedClassifierCV)."
        )
    hl = Check(
        "calibration",
        verdict,
        message,
        f"Hosmer-Lemeshow C-hat ({len(table)} groups, {df:.0f} df)",
        [],
        statistic,
        p_hl,
        alpha_each,
        {"mean_abs_gap": gap, "max_abs_gap": float(np.max(np.abs(gaps))), "df": df},
    )
    return [hl, _brier(p, y, alpha_each, what)], table


def _brier(p: np.ndarray, y: np.ndarray, alpha_each: float, what: str) -> Check:
    z, p_value, brier, expected = spiegelhalter(p, y)
    excess = (brier - expected) / expected if expected > 0 else (np.inf if brier > 0 else 0.0)
    verdict = _graded(p_value, abs(excess), alpha_each, EXCESS_WARN, EXCESS_FAIL)
    if verdict == "pass":
        message = (
            f"The Brier score ({brier:.3f}) is what calibrated probabilities would score "
            f"({expected:.3f})."
        )
    else:
        direction = "over" if excess > 0 else "under"
        by = f"{abs(excess):.0%} {direction}" if np.isfinite(excess) else "every one is 0 or 1"
        message = (
            f"The Brier score is {brier:.3f} where calibrated probabilities would score "
            f"{expected:.3f} ({by}): {what} probabilities are "
            f"{direction}confident; recalibrate them (Platt or isotonic) before using them as "
            "risks."
        )
    return Check(
        "brier_score",
        verdict,
        message,
        "Spiegelhalter's z on the Brier score",
        [],
        z,
        p_value,
        alpha_each,
        {"brier": brier, "expected_brier": expected, "relative_excess": float(excess)},
    )
