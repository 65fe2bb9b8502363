"""The data checks: what is wrong with the rows and columns themselves, before any model.

Missing values, constant features, duplicate rows, class balance, sample size and
multicollinearity use every row; target leakage (single-feature models, cross-fitted) uses a
stated, seeded random subsample of large frames.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from .duplicates import duplicate_rows
from .verdicts import SEED, Check, is_numeric

LEAKAGE_SAMPLE = 200_000  # rows for the single-feature leakage models
LEAKAGE_BINS = 20
MISSING_FAIL = 0.2
DUPLICATE_WARN = 0.01
IMBALANCE_WARN = 0.2  # minority share below this fraction of an even share (1/k) warns
IMBALANCE_FAIL = 0.02
LEAKAGE_WARN, LEAKAGE_FAIL = 0.9, 0.98
VIF_WARN, VIF_FAIL = 5.0, 10.0
ROWS_PER_FEATURE = 10
FEATURE_BLOCK = 256  # numeric columns binned and ranked together in the leakage check


def run(
    df: pd.DataFrame,
    data: pd.DataFrame,
    target: str,
    task: str,
    features: list[str],
    numeric: list[str],
) -> tuple[list[Check], list[dict[str, str]], list[str]]:
    """Every data check that applies, in the report's order; the ones skipped and why; and the
    numeric features that vary (the regressors the residual checks may use).

    ``df`` is the whole frame, ``data`` its rows with a target value.
    """
    checks: list[Check] = []
    skipped: list[dict[str, str]] = []
    checks.append(_missing_values(df))
    constant = _constant_features(df, features)
    checks.append(constant)
    checks.append(_duplicate_rows(df))
    if task == "classification":
        checks.append(_class_imbalance(data[target]))
    else:
        skipped.append({"id": "class_imbalance", "reason": "applies to classification"})
    checks.append(_sample_size(data, target, task, numeric))
    if features:
        checks.append(_target_leakage(data, target, features, task))
    else:
        skipped.append({"id": "target_leakage", "reason": "no feature columns"})
    usable = [c for c in numeric if c not in constant.columns]
    collinear = _multicollinearity(data, usable) if len(usable) >= 2 else None
    if collinear is not None:
        checks.append(collinear)
    elif len(usable) >= 2:
        skipped.append(
            {
                "id": "multicollinearity",
                "reason": f"{len(usable):,} numeric features and no more complete rows: every "
                "feature is then an exact combination of the others in the sample, whatever "
                "the population, so variance inflation factors say nothing",
            }
        )
    else:
        skipped.append(
            {
                "id": "multicollinearity",
                "reason": "needs at least two non-constant numeric features",
            }
        )
    return checks, skipped, usable


def _missing_values(df: pd.DataFrame) -> Check:
    shares = df.isna().mean()
    shares = shares[shares > 0].sort_values(ascending=False)
    if shares.empty:
        return Check(
            "missing_values",
            "pass",
            "No missing values.",
            "share of missing cells",
            [],
            0.0,
            threshold=MISSING_FAIL,
        )
    worst, share = str(shares.index[0]), float(shares.iloc[0])
    verdict = "fail" if share > MISSING_FAIL else "warn"
    message = (
        f"{len(shares)} column(s) have missing values, {worst} the most ({share:.1%}): most "
        "estimators reject NaN, so impute them (and consider a missing-indicator) or drop "
        "the rows, and check whether missingness depends on the target."
    )
    return Check(
        "missing_values",
        verdict,
        message,
        "share of missing cells",
        [str(c) for c in shares.index],
        share,
        threshold=MISSING_FAIL,
    )


def _constant_features(df: pd.DataFrame, features: list[str]) -> Check:
    constant = []
    for c in features:
        s = df[c]
        if is_numeric(s):
            values = s.to_numpy(dtype=float, na_value=np.nan)
            with np.errstate(invalid="ignore"):
                lo, hi = np.nanmin(values) if np.isfinite(values).any() else 0, np.nanmax(values)
            if not np.isfinite(values).any() or lo == hi:
                constant.append(c)
        elif s.nunique(dropna=True) <= 1:
            constant.append(c)
    if not constant:
        return Check(
            "constant_feature",
            "pass",
            "Every feature takes more than one value.",
            "features with a single value",
            [],
            0.0,
            threshold=0,
        )
    message = (
        f"{len(constant)} feature(s) take a single value ({', '.join(constant[:5])}): they "
        "carry no information and make linear fits singular; drop them."
    )
    return Check(
        "constant_feature",
        "warn",
        message,
        "features with a single value",
        constant,
        float(len(constant)),
        threshold=0,
    )


def _duplicate_rows(df: pd.DataFrame) -> Check:
    count = duplicate_rows(df)
    if count is None:
        return Check(
            "duplicate_rows",
            "pass",
            "Rows hold unhashable values; duplicates not counted.",
            "share of duplicate rows",
            [],
            None,
            threshold=DUPLICATE_WARN,
        )
    share = count / len(df)
    verdict = "warn" if share >= DUPLICATE_WARN else "pass"
    if count == 0:
        message = "No duplicate rows."
    elif verdict == "warn":
        message = (
            f"{count:,} rows ({share:.1%}) repeat an earlier row: duplicates leak between "
            "train and test splits and overweight those rows; drop them unless they are real "
            "repeated observations."
        )
    else:
        message = f"{count:,} duplicate rows ({share:.2%}), too few to matter."
    return Check(
        "duplicate_rows",
        verdict,
        message,
        "share of duplicate rows",
        [],
        share,
        threshold=DUPLICATE_WARN,
        effect={"duplicate_rows": float(count)},
    )


def _label(value: Any) -> str:
    """A class label as a person would write it (``1``, not ``np.int64(1)``)."""
    return repr(value.item() if isinstance(value, np.generic) else value)


def _class_imbalance(y: pd.Series) -> Check:
    counts = y.value_counts(dropna=True)
    k = len(counts)
    if k < 2:
        return Check(
            "class_imbalance",
            "fail",
            f"The target has one class ({_label(counts.index[0])}): there is nothing to learn.",
            "minority class share",
            [str(y.name)],
            1.0,
            threshold=None,
        )
    share = float(counts.iloc[-1] / counts.sum())
    minority = counts.index[-1]
    even = 1 / k
    warn_at, fail_at = IMBALANCE_WARN * even, IMBALANCE_FAIL * even
    verdict = "fail" if share < fail_at else "warn" if share < warn_at else "pass"
    if verdict == "pass":
        message = f"The smallest of {k} classes ({_label(minority)}) has {share:.1%} of the rows."
    else:
        message = (
            f"Class {_label(minority)} has only {share:.1%} of the rows "
            f"({int(counts.iloc[-1]):,}): accuracy will look good while that class is missed; "
            "use stratified splits, class weights or resampling, and judge the model by "
            "recall or PR-AUC per class."
        )
    return Check(
        "class_imbalance",
        verdict,
        message,
        "minority class share",
        [str(y.name)],
        share,
        threshold=warn_at,
        effect={"n_classes": float(k)},
    )


def _sample_size(data: pd.DataFrame, target: str, task: str, numeric: list[str]) -> Check:
    p = max(data.shape[1] - 1, 1)
    if task == "classification":
        n = int(data[target].value_counts().min())
        what = "rows of the smallest class per feature"
    else:
        n = len(data)
        what = "rows per feature"
    ratio = n / p
    verdict = "fail" if ratio < 1 else "warn" if ratio < ROWS_PER_FEATURE else "pass"
    if verdict == "pass":
        message = f"{ratio:,.1f} {what}: enough to estimate a model of this size."
    else:
        message = (
            f"Only {ratio:.1f} {what} (rule of thumb: at least {ROWS_PER_FEATURE}): the model "
            "will overfit; collect more data, drop features or regularise strongly."
        )
    return Check("sample_size", verdict, message, what, [], ratio, threshold=ROWS_PER_FEATURE)


def _target_leakage(data: pd.DataFrame, target: str, features: list[str], task: str) -> Check:
    """Single-feature predictive power, cross-fitted so that an ID column cannot fake it.

    Each feature alone predicts the target through a lookup table (quantile bins for numbers,
    levels for categories) fitted on one half of the rows and scored on the other, and back.
    For regression the score is the out-of-fold R² (or Spearman's rho², which sees a leaked
    monotone copy exactly); for classification, the accuracy gained over always guessing the
    majority class, as a share of what could be gained.
    """
    rng = np.random.default_rng(SEED)
    n = len(data)
    rows = np.sort(rng.choice(n, LEAKAGE_SAMPLE, replace=False)) if n > LEAKAGE_SAMPLE else None
    sample = data.iloc[rows] if rows is not None else data
    y = sample[target]
    if task == "regression":
        from scipy.stats import rankdata

        y_codes = None
        y_values = y.to_numpy(dtype=float)
        y_ranks = rankdata(y_values)
    else:
        y_codes, _ = pd.factorize(y, use_na_sentinel=True)
        y_values = y_ranks = None
    fold = rng.permutation(len(sample)) % 2 == 0
    scores: dict[str, float] = {}
    for c, codes, rho in _feature_codes(sample, features, fold, y_ranks):
        if task == "regression":
            score = _crossfit_r2(codes, y_values, fold)
            if rho is None:
                rho = _spearman(sample[c], y_values, y_ranks)
            scores[c] = max(score, rho * rho)
        else:
            scores[c] = _crossfit_accuracy_gain(codes, y_codes, fold)
    scores = {c: scores[c] for c in features}  # ties keep the frame's column order
    ranked = sorted(scores.items(), key=lambda kv: -kv[1])
    best, score = ranked[0]
    leaks = [c for c, s in ranked if s >= LEAKAGE_WARN]
    verdict = "fail" if score >= LEAKAGE_FAIL else "warn" if score >= LEAKAGE_WARN else "pass"
    measure = "out-of-fold R²" if task == "regression" else "accuracy gain over the majority class"
    if verdict == "pass":
        message = (
            f"No single feature predicts {target} suspiciously well (best: {best}, "
            f"{measure} {score:.2f})."
        )
    else:
        message = (
            f"{best} alone predicts {target} almost perfectly ({measure} {score:.3f}): check "
            "that it is known before the target is and is not derived from it, or the model "
            "will fail in production."
        )
    used = len(sample)
    return Check(
        "target_leakage",
        verdict,
        message,
        f"single-feature {measure}",
        leaks,
        score,
        threshold=LEAKAGE_WARN,
        effect={"rows_used": float(used), **{f"score:{c}": s for c, s in ranked[:10]}},
    )


def _feature_codes(
    sample: pd.DataFrame, features: list[str], fold: np.ndarray, y_ranks: np.ndarray | None
) -> Any:
    """(feature, lookup keys, Spearman's rho or None) for each feature; complete numeric
    columns in blocks (one quantile and one rank call per block, not per column: wide frames)."""
    complete = []
    for c in features:
        if is_numeric(sample[c]) and not sample[c].hasnans:
            complete.append(c)
        else:
            yield c, _bin_codes(sample[c], fold), None
    qs = np.linspace(0, 1, LEAKAGE_BINS + 1)[1:-1]
    for start in range(0, len(complete), FEATURE_BLOCK):
        names = complete[start : start + FEATURE_BLOCK]
        block = sample[names].to_numpy(dtype=float)
        if not np.isfinite(block).all():  # infinities: column by column, as above
            for c in names:
                yield c, _bin_codes(sample[c], fold), None
            continue
        all_edges = np.quantile(block[fold], qs, axis=0) if fold.any() else None
        rhos = _spearman_block(block, y_ranks) if y_ranks is not None else None
        for j, c in enumerate(names):
            if all_edges is None:
                codes = np.zeros(len(block), dtype=int)
            else:
                codes = np.searchsorted(np.unique(all_edges[:, j]), block[:, j], side="right")
            yield c, codes, None if rhos is None else float(rhos[j])


def _spearman_block(block: np.ndarray, y_ranks: np.ndarray) -> np.ndarray:
    """Spearman's rho of each column of ``block`` (finite values) with the ranked target, as
    scipy's ``spearmanr``; 0 for a constant column."""
    from scipy.stats import rankdata

    ranks = rankdata(block, axis=0)
    ranks -= ranks.mean(axis=0)
    centred_y = y_ranks - y_ranks.mean()
    norms = np.sqrt(np.einsum("ij,ij->j", ranks, ranks)) * np.sqrt(centred_y @ centred_y)
    with np.errstate(invalid="ignore", divide="ignore"):
        rho = (centred_y @ ranks) / norms
    return np.where(np.isfinite(rho), np.clip(rho, -1.0, 1.0), 0.0)


def _bin_codes(s: pd.Series, fold: np.ndarray) -> np.ndarray:
    """Lookup-table keys for one feature: quantile bins learned on fold A, or category codes."""
    if is_numeric(s):
        values = s.to_numpy(dtype=float, na_value=np.nan)
        finite = np.isfinite(values)
        train = values[fold & finite]
        if train.size == 0:
            return np.where(finite, 0, 1)
        edges = np.unique(np.quantile(train, np.linspace(0, 1, LEAKAGE_BINS + 1)[1:-1]))
        codes = np.searchsorted(edges, values, side="right")
        return np.where(finite, codes, len(edges) + 1)
    codes, _ = pd.factorize(s, use_na_sentinel=True)
    return np.where(codes < 0, codes.max() + 1, codes)


def _crossfit_r2(codes: np.ndarray, y: np.ndarray, fold: np.ndarray) -> float:
    pred = np.empty_like(y)
    for fit in (fold, ~fold):
        size = int(codes.max()) + 1
        sums = np.bincount(codes[fit], weights=y[fit], minlength=size)
        counts = np.bincount(codes[fit], minlength=size)
        fallback = y[fit].mean()
        means = np.where(counts > 0, sums / np.maximum(counts, 1), fallback)
        pred[~fit] = means[codes[~fit]]
    total = float(np.sum((y - y.mean()) ** 2))
    return max(0.0, 1 - float(np.sum((y - pred) ** 2)) / total) if total > 0 else 0.0


def _crossfit_accuracy_gain(codes: np.ndarray, y: np.ndarray, fold: np.ndarray) -> float:
    known = y >= 0
    codes, y, fold = codes[known], y[known], fold[known]
    n_classes = int(y.max()) + 1
    size = int(codes.max()) + 1
    correct = 0
    for fit in (fold, ~fold):
        table = np.zeros((size, n_classes))
        np.add.at(table, (codes[fit], y[fit]), 1)
        majority = int(np.bincount(y[fit], minlength=n_classes).argmax())
        guess = np.where(table.sum(axis=1) > 0, table.argmax(axis=1), majority)
        correct += int(np.sum(guess[codes[~fit]] == y[~fit]))
    accuracy = correct / len(y)
    base = float(np.bincount(y, minlength=n_classes).max() / len(y))
    return max(0.0, (accuracy - base) / (1 - base)) if base < 1 else 0.0


def _spearman(s: pd.Series, y: np.ndarray, y_ranks: np.ndarray) -> float:
    """Spearman's rho as scipy's ``spearmanr``, ranking the target once for all features."""
    if not is_numeric(s):
        return 0.0
    from scipy.stats import rankdata, spearmanr

    x = s.to_numpy(dtype=float, na_value=np.nan)
    ok = np.isfinite(x) & np.isfinite(y)
    if ok.sum() < 3 or np.ptp(x[ok]) == 0:
        return 0.0
    if ok.all():
        with np.errstate(invalid="ignore", divide="ignore"):
            rho = np.corrcoef(rankdata(x), y_ranks)[0, 1]
    else:
        rho = spearmanr(x[ok], y[ok]).statistic
    return 0.0 if not np.isfinite(rho) else float(rho)


def _multicollinearity(data: pd.DataFrame, numeric: list[str]) -> Check | None:
    """Variance inflation factors, as statsmodels' ``variance_inflation_factor`` with an
    intercept: the diagonal of the inverse correlation matrix (one pass over the rows); None
    when there are no more complete rows than features (every VIF is then infinite)."""
    matrix = data[numeric].to_numpy(dtype=float, na_value=np.nan)
    matrix = matrix[np.isfinite(matrix).all(axis=1)]
    if len(matrix) <= len(numeric):
        return None
    vifs = vif(matrix)
    order = np.argsort(-vifs)
    worst = float(vifs[order[0]])
    flagged = [numeric[i] for i in order if vifs[i] >= VIF_WARN]
    verdict = "fail" if worst >= VIF_FAIL else "warn" if worst >= VIF_WARN else "pass"
    shown = "infinite" if math.isinf(worst) else f"{worst:.1f}"
    if verdict == "pass":
        message = f"Features are not collinear (largest VIF {shown}, {numeric[order[0]]})."
    else:
        message = (
            f"{', '.join(flagged[:5])} are nearly linear combinations of other features "
            f"(largest VIF {shown}): coefficients and their importances are unstable; drop or "
            "combine them, or regularise."
        )
    return Check(
        "multicollinearity",
        verdict,
        message,
        "variance inflation factor (VIF)",
        flagged,
        worst,
        threshold=VIF_WARN,
        effect={f"vif:{numeric[i]}": float(vifs[i]) for i in order[:10]},
    )


def vif(matrix: np.ndarray) -> np.ndarray:
    """VIF of each column of ``matrix`` (rows x features), regressing on the others with an
    intercept; infinite for columns in an exact linear dependency."""
    centred = matrix - matrix.mean(axis=0)
    scale = np.sqrt(np.einsum("ij,ij->j", centred, centred))
    scale[scale == 0] = 1.0
    corr = (centred.T @ centred) / np.outer(scale, scale)
    eigval, eigvec = np.linalg.eigh(corr)
    tiny = eigval <= eigval.max() * 1e-12
    if tiny.any():  # an exact dependency: columns that take part in it have infinite VIF
        involved = np.abs(eigvec[:, tiny]).max(axis=1) > 1e-6
        safe = np.where(tiny, np.inf, eigval)
        out = np.einsum("ij,j,ij->i", eigvec, 1 / safe, eigvec)
        out[involved] = np.inf
        return out
    return np.einsum("ij,j,ij->i", eigvec, 1 / eigval, eigvec)
