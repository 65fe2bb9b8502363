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
        matrix = report["correlations"][method]
        names = [c for c in matrix if c != target]
        for i, a in enumerate(names):
            for b in names[i + 1 :]:
                r = matrix[a].get(b)
                if r is not None and abs(r) >= HIGH_CORRELATION:
                    warn(
                        "high_correlation",
                        [a, b],
                        f"{a} and {b} are almost interchangeable ({label} {r:.3f}); keep one, "
                        "or combine them, to avoid unstable coefficients and importances.",
                    )
    if report["target"]:
        found += _target_warnings(report["target"])
    return found


def _column_warnings(
    name: str, s: dict[str, Any], n_rows: int, is_target: bool, warn: Callable
) -> None:
    non_missing = n_rows - s["missing"]
    if s["missing_fraction"] >= HIGH_MISSING:
        warn(
            "high_missing",
            [name],
            f"{name} is {_pct(s['missing_fraction'])} missing; impute it (with a missing "
            "indicator) or drop it, and check whether missingness depends on the target.",
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
        warn(
            "mixed_types",
            [name],
            f"{name} mixes value types (e.g. numbers and strings); fix its parsing before "
            "modelling.",
        )
    if kind == "numeric" and s["n_unique"] > 2:
        _numeric_warnings(name, s, non_missing, warn)


def _numeric_warnings(name: str, s: dict[str, Any], non_missing: int, warn: Callable) -> None:
    """What the values of a varying numeric column need before modelling."""
    if s["infinite"]:
        warn(
            "infinite_values",
            [name],
            f"{name} has {s['infinite']:,} infinite values; most models fail on them: "
            "replace or clip them.",
        )
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
