"""Synthetic data sets with one planted assumption violation each, and clean ones.

Shared by ``tests/core/test_checks.py`` and ``benchmarks/bench_checks.py``: every generator
is seeded, so a detection rate is a fact about the code, not about luck.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd

BETA = np.array([1.0, 0.8, -0.6, 0.5, 0.3])

# planted violation -> the check that must flag it
VIOLATIONS = {
    "heteroscedastic": "homoscedasticity",  # noise sd grows with |x0|
    "skewed": "residual_normality",  # exponential noise
    "ar1": "residual_independence",  # AR(1) errors, phi = 0.6
    "squared": "linearity",  # y depends on x0²
    "collinear": "multicollinearity",  # x5 = x1 + x2 + small noise
    "leak": "target_leakage",  # a noisy copy of the target
    "imbalanced": "class_imbalance",  # 97/3 classes
}
CLEAN = ("clean_regression", "clean_classification")


def features(rng: np.random.Generator, n: int) -> pd.DataFrame:
    return pd.DataFrame(rng.normal(size=(n, len(BETA))), columns=[f"x{i}" for i in range(5)])


def regression(kind: str, seed: int, n: int = 1000) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = features(rng, n)
    x = df.to_numpy()
    noise = rng.normal(size=n)
    if kind == "heteroscedastic":
        noise = noise * (0.2 + np.abs(x[:, 0]))
    elif kind == "skewed":
        noise = rng.exponential(size=n) - 1
    elif kind == "ar1":
        innovations = noise
        noise = np.empty(n)
        noise[0] = innovations[0]
        for t in range(1, n):
            noise[t] = 0.6 * noise[t - 1] + innovations[t]
    y = x @ BETA + noise
    if kind == "squared":
        y = y + x[:, 0] ** 2
    if kind == "collinear":
        df["x5"] = df["x1"] + df["x2"] + rng.normal(scale=0.05, size=n)
    if kind == "leak":
        df["leak"] = y + rng.normal(scale=0.05 * y.std(), size=n)
    df["y"] = y
    return df


def classification(kind: str, seed: int, n: int = 1000) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = features(rng, n)
    score = df.to_numpy() @ BETA + rng.logistic(size=n)
    positive_share = 0.03 if kind == "imbalanced" else 0.5
    df["y"] = (score > np.quantile(score, 1 - positive_share)).astype(int)
    return df


def planted(kind: str, seed: int, n: int = 1000) -> pd.DataFrame:
    if kind in ("imbalanced", "clean_classification"):
        return classification(kind, seed, n)
    return regression(kind, seed, n)


def battery(seeds: range, n: int = 1000) -> Iterator[tuple[str, int, pd.DataFrame, str | None]]:
    """(kind, seed, frame with target "y", the check that must flag it or None when clean)."""
    for seed in seeds:
        for kind, check_id in VIOLATIONS.items():
            yield kind, seed, planted(kind, seed, n), check_id
        for kind in CLEAN:
            yield kind, seed, planted(kind, seed, n), None


def score(seeds: range, n: int = 1000) -> dict[str, object]:
    """Run ``mlops.check`` over the battery: detection and false-alarm rates, and misses."""
    from jupyter_mlops.core.stats.checks import check

    detected = planted_total = alarms = clean_total = 0
    misses: list[str] = []
    false_alarms: list[str] = []
    for kind, seed, frame, check_id in battery(seeds, n):
        report = check(frame, "y")
        flagged = {c.id for c in report.checks if c.verdict != "pass"}
        if check_id is None:
            clean_total += 1
            if flagged:
                alarms += 1
                false_alarms.append(f"{kind}/{seed}: {', '.join(sorted(flagged))}")
        else:
            planted_total += 1
            if check_id in flagged:
                detected += 1
            else:
                misses.append(f"{kind}/{seed}")
    return {
        "detection_rate": detected / planted_total,
        "false_alarm_rate": alarms / clean_total,
        "planted": planted_total,
        "clean": clean_total,
        "misses": misses,
        "false_alarms": false_alarms,
    }
