"""Drift verdicts across columns: Holm-adjusted p-values, a verdict per column that needs
significance first and then grades its size by PSI, and a message in plain words.
"""

from __future__ import annotations

import math
from typing import Any

from .drift_tests import MIN_EXPECTED, MISSING, NEW, OTHER

PSI_DRIFT = 0.1  # PSI from which a significant shift is drift
PSI_MAJOR = 0.25  # PSI from which a significant shift is major
SHIFT_NOTE = 0.05  # a change in the missing share this large is named in the message
SPREAD_NOTE = 1.25  # a ratio of standard deviations beyond this (either way) is named too
CORRECTION = "holm"
TESTS = {"ks": "KS", "chi2": "chi-square", "ks+chi2": "KS and binned chi-square"}
VERDICTS = ("major", "drifted", "minor", "inconclusive", "stable", "skipped")


def adjust(columns: dict[str, dict[str, Any]]) -> None:
    """Holm-adjust the p-values of all tested columns together.

    Holm's step-down by hand (sorted p times m, m-1, ..., running maximum, capped at 1), equal
    to statsmodels' ``multipletests(method="holm")``, which calls ``gc.collect()`` on every
    call: 0.1 s or more per report in a notebook full of objects.
    """
    import numpy as np

    tested = [c for c, r in columns.items() if r["p_value"] is not None]
    for r in columns.values():
        r["p_value_adjusted"] = None
    if not tested:
        return
    p = np.array([columns[c]["p_value"] for c in tested], dtype="float64")
    order = np.argsort(p, kind="stable")
    m = len(p)
    adjusted = np.empty(m)
    adjusted[order] = np.minimum(np.maximum.accumulate(p[order] * np.arange(m, 0, -1)), 1.0)
    for column, value in zip(tested, adjusted, strict=True):
        columns[column]["p_value_adjusted"] = float(value)


def judge(column: str, r: dict[str, Any], alpha: float, label: bool = False) -> None:
    """Give one column's result its verdict, ``drifted`` flag and message (in place).

    A verdict other than stable needs a significant adjusted p-value; PSI then grades the size.
    Without significance, samples too small to tell a PSI of 0.25 from chance are inconclusive,
    and so are levels all too rare to test.
    """
    p = r["p_value_adjusted"]
    if p is not None and p < alpha:
        psi_value = r["psi"]
        verdict = (
            "major" if psi_value >= PSI_MAJOR else "drifted" if psi_value >= PSI_DRIFT else "minor"
        )
    elif r["psi_chance"] > PSI_MAJOR or (p is None and _several_levels(r)):
        verdict = "inconclusive"
    else:
        verdict = "stable"
    r["verdict"] = verdict
    r["drifted"] = verdict in ("major", "drifted")
    r["message"] = _message(column, r, alpha, label)


def _several_levels(r: dict[str, Any]) -> bool:
    return max(r.get("n_levels_reference", 0), r.get("n_levels_current", 0)) > 1


def small_note(
    inconclusive: list[str], n_reference: int, n_current: int, alpha: float
) -> str | None:
    """The report's sentence when some columns could not be judged for want of rows."""
    if not inconclusive:
        return None
    some = "1 column" if len(inconclusive) == 1 else f"{len(inconclusive):,} columns"
    return (
        f"{some} could not be judged: with {n_reference:,} reference and {n_current:,} current "
        f"rows, samples without any drift reach a PSI above {PSI_MAJOR} more often than alpha "
        f"({alpha:g}) for them, so no significant shift does not mean stable; compare more rows."
    )


def _message(column: str, r: dict[str, Any], alpha: float, label: bool) -> str:
    who = f"The target {column}" if label else column
    p, psi_text = r["p_value_adjusted"], f"PSI {r['psi']:.3f}"
    which = "p" if label else "adjusted p"
    if p is None:
        if _several_levels(r):
            return (
                f"{who} is not judged: each of its levels is too rare to test (under "
                f"{MIN_EXPECTED:g} expected rows a side), so they fold into one ({psi_text})."
            )
        return f"{who} has a single level in both frames, so there is nothing to test ({psi_text})."
    evidence = f"{_evidence(r)}, {which} {_p(p)}, {psi_text}"
    verdict = r["verdict"]
    if verdict in ("major", "drifted") and 1.0 in (r["missing_reference"], r["missing_current"]):
        side = "reference" if r["missing_reference"] == 1 else "current"
        return f"{who} has no values in the {side} frame ({evidence})."
    if verdict == "major":
        return f"{who} shifted strongly ({evidence}): {_change(r)}."
    if verdict == "drifted":
        return f"{who} drifted ({evidence}): {_change(r)}."
    if verdict == "minor":
        return (
            f"{who} changed only slightly: the difference is significant ({which} {_p(p)}) but "
            f"PSI {r['psi']:.3f} is under {PSI_DRIFT}, too small to matter."
        )
    if verdict == "inconclusive":
        return (
            f"{who} cannot be judged: no significant difference ({which} {_p(p)}, {psi_text}), "
            f"but samples this small reach a PSI of about {r['psi_chance']:.2f} or more by "
            f"chance alone (alpha {alpha:g}), so a major shift ({PSI_MAJOR}) could go unseen."
        )
    return f"{who} is stable: no significant difference ({which} {_p(p)}, {psi_text})."


def _evidence(r: dict[str, Any]) -> str:
    """The statistics behind the column's p-value, e.g. "KS 0.21, binned chi-square 35.2"."""
    tests = r.get("tests") or {}
    ks, chi2 = tests.get("ks") or {}, tests.get("chi2") or {}
    parts = []
    if ks.get("statistic") is not None:
        parts.append(f"KS {ks['statistic']:.3g}")
    if chi2:
        binned = "binned chi-square" if r["test"] == "ks+chi2" else "chi-square"
        parts.append(f"{binned} {chi2['statistic']:.3g}")
    return ", ".join(parts)


def _change(r: dict[str, Any]) -> str:
    """What moved, in plain words: the median, the biggest level share, the missing share."""
    parts = []
    if r["kind"] == "numeric":
        a, b = r["reference"]["median"], r["current"]["median"]
        if a is not None and b is not None:
            parts.append(f"the median moved from {a:.4g} to {b:.4g}")
        sa, sb = r["reference"].get("std"), r["current"].get("std")
        if sa and sb and math.isfinite(sa / sb) and not 1 / SPREAD_NOTE < sa / sb < SPREAD_NOTE:
            parts.append(f"the standard deviation went from {sa:.4g} to {sb:.4g}")
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
    inf_a, inf_b = r.get("infinite_reference", 0), r.get("infinite_current", 0)
    if inf_a or inf_b:
        parts.append(
            f"infinite values went from {_pct(inf_a)} to {_pct(inf_b)} (in the outer bins)"
        )
    a, b = r["missing_reference"], r["missing_current"]
    if abs(b - a) >= SHIFT_NOTE and not (parts and parts[0].startswith(MISSING)):
        parts.append(f"missing values went from {_pct(a)} to {_pct(b)}")
    return "; ".join(parts) or "the distributions differ"


def ordered(r: dict[str, Any]) -> dict[str, Any]:
    """The documented keys first, then the details."""
    keys = ("kind", "test", "statistic", "p_value", "p_value_adjusted", "psi", "verdict")
    head = {k: r[k] for k in (*keys, "drifted", "message")}
    return {**head, **{k: v for k, v in r.items() if k not in head}}


def _pct(share: float) -> str:
    return f"{share * 100:.1f}%"


def _p(p: float) -> str:
    return "< 0.001" if p < 0.001 else f"{p:.3f}"
