"""Drift verdicts across columns: Holm-adjusted p-values, a verdict per column that needs
both significance and a PSI large enough to matter, and a message in plain words.
"""

from __future__ import annotations

from typing import Any

from .drift_tests import MISSING, NEW, OTHER

PSI_DRIFT = 0.1  # PSI from which a significant shift is drift
PSI_MAJOR = 0.25  # PSI from which a shift is major whatever the test says
SHIFT_NOTE = 0.05  # a change in the missing share this large is named in the message
CORRECTION = "holm"
TESTS = {"ks": "KS", "chi2": "chi-square"}
VERDICTS = ("major", "drifted", "minor", "stable", "skipped")


def adjust(columns: dict[str, dict[str, Any]]) -> None:
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


def judge(column: str, r: dict[str, Any], alpha: float, label: bool = False) -> None:
    """Give one column's result its verdict, ``drifted`` flag and message (in place)."""
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


def ordered(r: dict[str, Any]) -> dict[str, Any]:
    """The documented keys first, then the details."""
    keys = ("kind", "test", "statistic", "p_value", "p_value_adjusted", "psi", "verdict")
    head = {k: r[k] for k in (*keys, "drifted", "message")}
    return {**head, **{k: v for k, v in r.items() if k not in head}}


def _pct(share: float) -> str:
    return f"{share * 100:.1f}%"


def _p(p: float) -> str:
    return "< 0.001" if p < 0.001 else f"{p:.3f}"
