"""The EDA's warnings: what in a profile a person should act on, each in one plain sentence."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .column_profile import HIGH_CARDINALITY_SHARE

if TYPE_CHECKING:
    from collections.abc import Callable

# Warning thresholds, named so the docs and messages quote the same numbers.
HIGH_MISSING = 0.2
HIGH_CARDINALITY_LEVELS = 50
ID_SHARE = 0.95  # whole numbers nearly all distinct: an identifier, not a quantity
HIGH_CORRELATION = 0.95
SKEWED = 1.0
MANY_ZEROS = 0.5
IMBALANCED = 0.1


def find_warnings(report: dict[str, Any]) -> list[dict[str, Any]]:
    """The warnings of a profile (``report`` as ``eda.profile`` builds it, warnings aside)."""
    found: list[dict[str, Any]] = []

    def warn(code: str, columns: list[str], message: str) -> None:
        found.append({"code": code, "columns": columns, "message": message})

    n_rows = report["n_rows"]
    target = (report["target"] or {}).get("column")
    for name, s in report["columns"].items():
        _column_warnings(name, s, n_rows, name == target, warn)
    if report["duplicate_rows"]:
        d = report["duplicate_rows"]
        warn(
            "duplicate_rows",
            [],
            f"{d:,} rows ({_pct(d / n_rows)}) repeat an earlier row; they weigh twice in "
            "training and can leak between train and test splits: drop or explain them.",
        )
    for method, label in (("pearson", "Pearson r"), ("cramers_v", "Cramér's V")):
        for a, b, r in _strong_pairs(report, method, target):
            warn(
                "high_correlation",
                [a, b],
                f"{a} and {b} are almost interchangeable ({label} {r:.3f}); keep one, "
                "or combine them, to avoid unstable coefficients and importances.",
            )
        top = (report.get("correlations_top") or {}).get(method)
        if top:
            _unlisted_pairs(top, label, warn)
    if report["target"]:
        found += _target_warnings(report["target"])
    return found


def _strong_pairs(
    report: dict[str, Any], method: str, target: str | None
) -> list[tuple[str, str, float]]:
    """The pairs at or above the threshold: from the matrix, or a wide frame's kept pairs."""
    matrix = report["correlations"][method]
    if matrix is None:
        pairs = report["correlations_top"].get(method, {}).get("pairs", [])
        return [(a, b, r) for a, b, r in pairs if abs(r) >= HIGH_CORRELATION]
    names = [c for c in matrix if c != target]
    return [
        (a, b, matrix[a][b])
        for i, a in enumerate(names)
        for b in names[i + 1 :]
        if matrix[a].get(b) is not None and abs(matrix[a][b]) >= HIGH_CORRELATION
    ]


def _unlisted_pairs(top: dict[str, Any], label: str, warn: Callable) -> None:
    """One warning for a wide frame's strong pairs beyond the kept ones, naming their columns."""
    listed = sum(1 for _, _, r in top["pairs"] if abs(r) >= HIGH_CORRELATION)
    more = top["at_or_above_threshold"] - listed
    if more <= 0:
        return
    named = {c for a, b, r in top["pairs"] if abs(r) >= HIGH_CORRELATION for c in (a, b)}
    columns = [
        c
        for c, (_, r) in top["strongest_partner"].items()
        if abs(r) >= HIGH_CORRELATION and c not in named
    ]
    warn(
        "high_correlation",
        columns,
        f"{more:,} more pairs have {label} of {HIGH_CORRELATION} or more beyond the "
        f"{listed:,} named; each of these columns has such a partner (its strongest partner "
        "is in correlations_top): keep one of each group.",
    )


def _column_warnings(
    name: str, s: dict[str, Any], n_rows: int, is_target: bool, warn: Callable
) -> None:
    non_missing = n_rows - s["missing"]
    if n_rows and not non_missing:
        warn(
            "high_missing",
            [name],
            f"{name} is entirely missing; it carries no information: drop it.",
        )
        return
    if s["missing_fraction"] >= HIGH_MISSING:
        warn(
            "high_missing",
            [name],
            f"{name} is {_pct(s['missing_fraction'])} missing; impute it (with a missing "
            "indicator) or drop it, and check whether missingness depends on the target.",
        )
    if s["kind"] == "other":
        types = ", ".join(f"{t} ({c:,})" for t, c in s["value_types"])
        warn(
            "nested_values",
            [name],
            f"{name} holds values that cannot be counted or compared ({types}); models need "
            "flat columns: expand it into columns or encode it.",
        )
        return
    if s["kind"] == "numeric" and s["infinite"]:
        warn(
            "infinite_values",
            [name],
            f"{name} has {s['infinite']:,} infinite values; most models fail on them: "
            "replace or clip them.",
        )
    if non_missing and s["n_unique"] <= 1:
        value = s["top"][0][0] if s.get("top") else s.get("min")
        warn(
            "constant",
            [name],
            f"{name} has a single value ({value}); it carries no information: drop it.",
        )
        return
    kind = s["kind"]
    if not is_target and non_missing > HIGH_CARDINALITY_LEVELS:
        unique_share = s["n_unique"] / non_missing
        id_like_number = kind == "numeric" and s.get("integer") and unique_share >= ID_SHARE
        many_levels = (
            kind == "categorical"
            and s["n_unique"] > HIGH_CARDINALITY_LEVELS
            and unique_share > HIGH_CARDINALITY_SHARE
        )
        if id_like_number or many_levels:
            warn(
                "high_cardinality",
                [name],
                f"{name} has {s['n_unique']:,} distinct values ({_pct(unique_share)} of rows), "
                "like an identifier; a model memorises it instead of learning: drop it or "
                "group its levels.",
            )
    if s.get("mixed_types"):
        types = ", ".join(f"{t} ({c:,})" for t, c in s.get("value_types", []))
        warn(
            "mixed_types",
            [name],
            f"{name} mixes value types ({types or 'e.g. numbers and strings'}); fix its "
            "parsing before modelling.",
        )
    if kind == "numeric" and s["n_unique"] > 2:
        _numeric_warnings(name, s, non_missing, warn)


def _numeric_warnings(name: str, s: dict[str, Any], non_missing: int, warn: Callable) -> None:
    """What the values of a varying numeric column need before modelling."""
    if s["skew"] is not None and abs(s["skew"]) >= SKEWED:
        warn(
            "skewed",
            [name],
            f"{name} is strongly skewed (skewness {s['skew']:.2f}); a log or rank transform "
            "helps linear models and distance-based methods.",
        )
    if non_missing and s["zeros"] / non_missing >= MANY_ZEROS:
        warn(
            "many_zeros",
            [name],
            f"{name} is zero in {_pct(s['zeros'] / non_missing)} of rows; check whether zero "
            "means 'missing', and consider a zero indicator.",
        )


def _target_warnings(target: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    column = target["column"]
    classes = target.get("classes") or []
    total = sum(c for _, c in classes)
    if len(classes) >= 2 and total:
        value, smallest = classes[-1]
        share = smallest / total
        if share < IMBALANCED:
            found.append(
                {
                    "code": "imbalanced_target",
                    "columns": [column],
                    "message": f"{column} is imbalanced: class {value!r} is only {_pct(share)} "
                    "of rows; use stratified splits, class weights and metrics such as "
                    "balanced accuracy or PR-AUC rather than accuracy.",
                }
            )
    for feature, rel in target["relationships"].items():
        if abs(rel["value"]) >= HIGH_CORRELATION:
            found.append(
                {
                    "code": "target_leakage",
                    "columns": [feature, column],
                    "message": f"{feature} almost determines {column} ({rel['measure']} "
                    f"{rel['value']:.3f}); check that it is known before the target is, or it "
                    "leaks the answer.",
                }
            )
    return found


def _pct(share: float) -> str:
    return f"{share * 100:.1f}%"
