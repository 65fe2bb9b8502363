"""What the EDA did not compute, for which columns, and why: nothing vanishes silently."""

from __future__ import annotations

from typing import Any

REASONS = {
    "other": (
        "distinct values, top values and associations",
        "its cells hold {types} values, which cannot be counted or compared; expand them into "
        "flat columns to profile them",
    ),
    "empty": ("statistics and correlations", "the column has no values"),
    "constant": ("correlations", "a single value: a correlation with it is undefined"),
    "infinite": (
        "infinite values in correlations",
        "infinities are left out of Pearson and Spearman, as pandas' corr does",
    ),
    "levels": (
        "Cramér's V",
        "more than {max_levels} levels: a contingency table that large says little",
    ),
    "text": ("correlations", "free text: no association is measured"),
    "datetime": (
        "correlations",
        "dates are not correlated; derive numbers from them (e.g. age, weekday) to relate them",
    ),
}


def find_skipped(report: dict[str, Any], max_levels: int) -> list[dict[str, Any]]:
    """Each part of the profile left out, as {what, columns, reason}, columns grouped by reason."""
    groups: dict[str, list[str]] = {}
    types: dict[str, None] = {}
    for name, s in report["columns"].items():
        reason = _reason(s, max_levels)
        if reason:
            groups.setdefault(reason, []).append(name)
        if reason == "other":
            types.update(dict.fromkeys(t for t, _ in s["value_types"]))
    found = []
    for reason, columns in groups.items():
        what, why = REASONS[reason]
        why = why.format(types=" and ".join(types) or "unknown", max_levels=max_levels)
        found.append({"what": what, "columns": columns, "reason": why + "."})
    if report["duplicate_rows"] is None:
        found.append(
            {
                "what": "duplicate rows",
                "columns": groups.get("other", []),
                "reason": "rows holding lists, dicts or other unhashable cells cannot be "
                "compared, so duplicate rows were not counted.",
            }
        )
    for method, top in (report.get("correlations_top") or {}).items():
        found.append({"what": f"{method} matrix", "columns": [], "reason": cut_note(method, top)})
    return found


def cut_note(method: str, top: dict[str, Any]) -> str:
    """One sentence saying how a wide frame's matrix was cut and what was kept."""
    label = {"pearson": "Pearson r", "spearman": "Spearman rho", "cramers_v": "Cramér's V"}
    return (
        f"{top['columns']:,} columns make {top['pairs_total']:,} pairs, too many to keep or "
        f"show; kept the {len(top['pairs']):,} strongest {label.get(method, method)} pairs, "
        f"the count at or above {top['threshold']} ({top['at_or_above_threshold']:,}) and "
        "each column's strongest partner (the target's relationships are in its section)."
    )


def _reason(s: dict[str, Any], max_levels: int) -> str | None:
    kind = s["kind"]
    if kind == "other":
        return "other"
    if s["n_unique"] == 0:
        return "empty"
    if s["n_unique"] == 1:
        return "constant"
    if kind == "numeric":
        return "infinite" if s.get("infinite") else None
    if kind in ("text", "datetime"):
        return kind
    if kind == "categorical" and s["n_unique"] > max_levels:
        return "levels"
    return None
