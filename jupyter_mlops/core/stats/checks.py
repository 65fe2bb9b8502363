"""Statistical assumption checks before a model is trusted, each verdict in plain words.

Every statistic comes from the reference implementation (statsmodels, scipy, scikit-learn's
conventions) so a reader can reproduce it. Two guards keep the checks from crying wolf:

* Effect sizes. A test on a million rows rejects for departures nobody could care about, so a
  warn or fail needs both a small p-value and an effect large enough to matter (skewness,
  excess R² of an auxiliary regression, lag-1 autocorrelation, ...).
* Multiple testing. The residual checks share one alpha (Bonferroni), so a clean data set
  trips any of them with probability at most ``alpha``.

Tests with sample-size limits or super-linear cost (the residual checks, leakage) run on a
stated, seeded random subsample of large frames; the cheap ones (missing values, constants,
duplicates, class balance, multicollinearity) use every row.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ...errors import MlopsError
from ..autolog import without_autolog
from .reports import Report, json_safe, name_error

RESIDUAL_SAMPLE = 10_000  # rows for the residual checks on large frames
LEAKAGE_SAMPLE = 200_000  # rows for the single-feature leakage models
LEAKAGE_BINS = 20
SEED = 0
CLASSIFICATION_MAX_CLASSES = 20  # an integer target with at most this many values is classes
RESIDUAL_CHECKS = ("linearity", "homoscedasticity", "residual_normality", "residual_independence")

MISSING_FAIL = 0.2
DUPLICATE_WARN = 0.01
IMBALANCE_WARN = 0.2  # minority share below this fraction of an even share (1/k) warns
IMBALANCE_FAIL = 0.02
LEAKAGE_WARN, LEAKAGE_FAIL = 0.9, 0.98
VIF_WARN, VIF_FAIL = 5.0, 10.0
ROWS_PER_FEATURE = 10
EXCESS_R2 = 0.01  # auxiliary-regression R² beyond chance that counts as a real effect
SKEW_WARN, KURTOSIS_WARN = 0.5, 1.0
AUTOCORR_WARN, AUTOCORR_FAIL = 0.1, 0.25  # |lag-1 autocorrelation| (|DW - 2| / 2)
OUTLIER_FAIL = 0.01


class CheckError(MlopsError):
    """Input the checks cannot run on; the message says why in one line."""


@dataclass
class Check:
    id: str
    verdict: str
    message: str
    test: str
    columns: list[str] = field(default_factory=list)
    statistic: float | None = None
    p_value: float | None = None
    threshold: float | None = None
    effect: dict[str, float | None] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return json_safe(
            {
                "id": self.id,
                "columns": self.columns,
                "statistic": self.statistic,
                "p_value": self.p_value,
                "threshold": self.threshold,
                "verdict": self.verdict,
                "message": self.message,
                "test": self.test,
                "effect": self.effect,
            }
        )


@dataclass(repr=False)  # Report.__repr__ draws it
class CheckReport(Report):
    """The checks' verdicts; renders as a table in Jupyter and saves as ``checks/<name>.json``."""

    VIEW = "checks"

    name: str
    task: str
    target: str
    alpha: float
    checks: list[Check]
    skipped: list[dict[str, str]]
    info: dict[str, Any]

    @property
    def ok(self) -> bool:
        """No check failed (warnings are for a human to look at, not blockers)."""
        return not any(c.verdict == "fail" for c in self.checks)

    def counts(self) -> dict[str, int]:
        out = {"pass": 0, "warn": 0, "fail": 0}
        for c in self.checks:
            out[c.verdict] += 1
        return out

    def __getitem__(self, check_id: str) -> Check:
        for c in self.checks:
            if c.id == check_id:
                return c
        raise KeyError(check_id)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "ok": self.ok,
            "task": self.task,
            "target": self.target,
            "alpha": self.alpha,
            "counts": self.counts(),
            "checks": [c.to_dict() for c in self.checks],
            "skipped": self.skipped,
            **json_safe(self.info),
        }

    def to_frame(self) -> pd.DataFrame:
        rows = [
            {
                "id": c.id,
                "verdict": c.verdict,
                "columns": ", ".join(c.columns),
                "test": c.test,
                "statistic": c.statistic,
                "p_value": c.p_value,
                "threshold": c.threshold,
                "message": c.message,
            }
            for c in self.checks
        ]
        return pd.DataFrame(rows).set_index("id")


# -- entry point -----------------------------------------------------------------------------
@without_autolog
def check(
    df: pd.DataFrame,
    target: str,
    task: str | None = None,
    model: Any = None,
    alpha: float = 0.05,
    name: str | None = None,
) -> CheckReport:
    """Run the assumption checks on ``df`` for predicting ``target``; log them on an active run.

    ``model`` (fitted, with ``predict``) makes the residual checks use its residuals on ``df``
    without the target; without it, a regression's residual checks use an OLS fit of the
    target on the numeric features.
    """
    name = _check_inputs(df, target, task, model, alpha, name)
    y_all = df[target]
    task, why = (task, "given") if task else infer_task(y_all)
    if task == "regression" and not _is_numeric(y_all):
        raise CheckError(
            f"target {target!r} is not numeric ({y_all.dtype}): use task='classification' or "
            "encode it as numbers"
        )
    features = [str(c) for c in df.columns if str(c) != target]
    labelled = y_all.notna().to_numpy()
    data = df.loc[labelled] if not labelled.all() else df
    if len(data) < 3:
        raise CheckError(f"target {target!r} has {len(data)} non-missing values; need at least 3")

    numeric = [c for c in features if _is_numeric(df[c])]
    checks: list[Check] = []
    skipped: list[dict[str, str]] = []
    info: dict[str, Any] = {
        "n_rows": len(df),
        "n_labelled": len(data),
        "n_features": len(features),
        "task_reason": why,
    }
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
    if len(usable) >= 2:
        checks.append(_multicollinearity(data, usable))
    else:
        skipped.append(
            {
                "id": "multicollinearity",
                "reason": "needs at least two non-constant numeric features",
            }
        )
    residual, reason, detail = _residual_checks(data, target, task, usable, features, model, alpha)
    checks += residual
    info.update(detail)
    if reason:
        skipped += [{"id": cid, "reason": reason} for cid in (*RESIDUAL_CHECKS, "outliers")]
    report = CheckReport(name, task, target, alpha, checks, skipped, info)
    _log_on_active_run(report)
    return report


def infer_task(y: pd.Series) -> tuple[str, str]:
    """classification or regression, and why, as a person would guess from the target."""
    if not _is_numeric(y):
        return "classification", f"non-numeric target ({y.dtype})"
    values = y.dropna().to_numpy(dtype=float)
    n_unique = len(np.unique(values))
    if n_unique <= CLASSIFICATION_MAX_CLASSES and np.all(values == np.round(values)):
        return "classification", f"integer target with {n_unique} distinct values"
    return "regression", "numeric target"


# -- input -----------------------------------------------------------------------------------
def _check_inputs(
    df: Any, target: Any, task: str | None, model: Any, alpha: Any, name: str | None
) -> str:
    if not isinstance(df, pd.DataFrame):
        raise CheckError(f"check needs a pandas DataFrame, not {type(df).__name__}")
    if df.empty or len(df) == 0:
        raise CheckError("check needs a non-empty DataFrame (it has no rows or no columns)")
    names = [str(c) for c in df.columns]
    repeated = sorted({c for c in names if names.count(c) > 1})
    if repeated:
        raise CheckError(f"column names must be unique; repeated: {', '.join(repeated)}")
    if target is None or str(target) not in names:
        raise CheckError(f"no column named {target!r} to use as the target")
    if task not in (None, "classification", "regression"):
        raise CheckError(f"task must be 'classification' or 'regression', not {task!r}")
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0 < alpha < 1:
        raise CheckError(f"alpha must be a number between 0 and 1, not {alpha!r}")
    if model is not None and not callable(getattr(model, "predict", None)):
        raise CheckError(f"model must have a predict method; {type(model).__name__} has none")
    name = "checks" if name is None else str(name)
    problem = name_error(name, "checks")
    if problem:
        raise CheckError(problem)
    return name


def _is_numeric(s: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype)


# -- data checks (every row) -----------------------------------------------------------------
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
        if _is_numeric(s):
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
    from .eda import _duplicate_rows as count_duplicates

    count = count_duplicates(df)
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
    for c in features:
        codes = _bin_codes(sample[c], fold)
        if task == "regression":
            score = _crossfit_r2(codes, y_values, fold)
            rho = _spearman(sample[c], y_values, y_ranks)
            scores[c] = max(score, rho * rho)
        else:
            scores[c] = _crossfit_accuracy_gain(codes, y_codes, fold)
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


def _bin_codes(s: pd.Series, fold: np.ndarray) -> np.ndarray:
    """Lookup-table keys for one feature: quantile bins learned on fold A, or category codes."""
    if _is_numeric(s):
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
    if not _is_numeric(s):
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


def _multicollinearity(data: pd.DataFrame, numeric: list[str]) -> Check:
    """Variance inflation factors, as statsmodels' ``variance_inflation_factor`` with an
    intercept: the diagonal of the inverse correlation matrix (one pass over the rows)."""
    matrix = data[numeric].to_numpy(dtype=float, na_value=np.nan)
    matrix = matrix[np.isfinite(matrix).all(axis=1)]
    vifs = vif(matrix) if len(matrix) > len(numeric) else np.full(len(numeric), np.inf)
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


# -- residual checks (regression; seeded sample of large frames) -----------------------------
def _residual_checks(
    data: pd.DataFrame,
    target: str,
    task: str,
    numeric: list[str],
    features: list[str],
    model: Any,
    alpha: float,
) -> tuple[list[Check], str | None, dict[str, Any]]:
    if task != "regression":
        return [], "residual checks apply to regression", {}
    if model is None and not numeric:
        return [], "no numeric features for an OLS fit; pass model= to check its residuals", {}
    columns = numeric if model is None else features
    complete = data[[*columns, target]].notna().all(axis=1).to_numpy()
    if model is None:
        values = data[numeric].to_numpy(dtype=float, na_value=np.nan)
        complete = complete & np.isfinite(values).all(axis=1)
    rows = np.flatnonzero(complete)
    if len(rows) < max(20, len(columns) + 5):
        return [], f"only {len(rows)} complete rows; residual checks need more", {}
    rng = np.random.default_rng(SEED)
    sampled = len(rows) > RESIDUAL_SAMPLE
    chosen = np.sort(rng.choice(rows, RESIDUAL_SAMPLE, replace=False)) if sampled else rows
    block = rows[:RESIDUAL_SAMPLE]  # consecutive rows: independence is about row order
    alpha_each = alpha / (len(RESIDUAL_CHECKS) + 1)
    info: dict[str, Any] = {
        "residuals_from": "model" if model is not None else "ols",
        "residual_rows": len(chosen),
        "residual_sample": bool(sampled),
        "residual_seed": SEED,
        "residual_alpha": alpha_each,
    }
    y = data[target].to_numpy(dtype=float)
    if model is None:
        import statsmodels.api as sm

        matrix = data[numeric].to_numpy(dtype=float)
        keep = _independent_columns(matrix[chosen])
        info["ols_features"] = [numeric[i] for i in keep]
        exog = sm.add_constant(matrix[chosen][:, keep], has_constant="add")
        fit = sm.OLS(y[chosen], exog).fit()
        resid, fitted = fit.resid, fit.fittedvalues
        block_exog = sm.add_constant(matrix[block][:, keep], has_constant="add")
        block_resid = y[block] - block_exog @ fit.params
        info["ols_r2"] = float(fit.rsquared)
        checks = [
            _linearity_ols(fit, alpha_each),
            _homoscedasticity(resid, exog, alpha_each),
            _normality(resid, alpha_each),
            _independence(block_resid, alpha_each),
            _outliers_ols(fit, alpha_each),
        ]
    else:
        try:
            fitted = np.asarray(model.predict(data.iloc[chosen][features]), dtype=float).ravel()
            block_fitted = np.asarray(
                model.predict(data.iloc[block][features]), dtype=float
            ).ravel()
        except Exception as exc:  # the user's model: any failure is theirs to read
            text = " ".join(str(exc).split()) or type(exc).__name__
            raise CheckError(f"model.predict on the features failed: {text}") from None
        resid = y[chosen] - fitted
        checks = [
            _linearity_model(resid, fitted, alpha_each),
            _homoscedasticity(resid, _fitted_exog(fitted), alpha_each, on_fitted=True),
            _normality(resid, alpha_each),
            _independence(y[block] - block_fitted, alpha_each),
            _outliers_robust(resid, alpha_each),
        ]
    return checks, None, info


def _independent_columns(matrix: np.ndarray) -> list[int]:
    """Columns that are not exact linear combinations of others (QR with pivoting): the fit's
    residuals are the same, and statsmodels does not have to fit a singular design."""
    from scipy.linalg import qr

    centred = matrix - matrix.mean(axis=0)
    _, r, pivots = qr(centred, mode="economic", pivoting=True)
    diagonal = np.abs(np.diag(r))
    rank = int(np.sum(diagonal > diagonal[0] * 1e-10)) if diagonal.size and diagonal[0] else 0
    return sorted(pivots[:rank].tolist())


def _fitted_exog(fitted: np.ndarray) -> np.ndarray:
    return np.column_stack([np.ones_like(fitted), fitted])


def _partial_r2(f_value: float, df_num: float, df_denom: float) -> float:
    return f_value * df_num / (f_value * df_num + df_denom) if f_value > 0 else 0.0


def _linearity_verdict(p: float, effect: float, alpha_each: float) -> str:
    if p >= alpha_each or effect < EXCESS_R2:
        return "pass"
    return "fail" if effect >= 5 * EXCESS_R2 else "warn"


def _linearity_message(verdict: str, effect: float) -> str:
    if verdict == "pass":
        return "The residuals show no curvature the linear fit missed."
    return (
        f"Powers of the fitted values explain {effect:.1%} of the residual variance: a "
        "curve or interaction is missing; add squared terms, splines or interactions, or use "
        "a non-linear model."
    )


def _linearity_ols(fit: Any, alpha_each: float) -> Check:
    from statsmodels.stats.diagnostic import linear_reset

    result = linear_reset(fit, power=3, test_type="fitted", use_f=True)
    f_value, p = float(np.squeeze(result.fvalue)), float(result.pvalue)
    effect = _partial_r2(f_value, float(result.df_num), float(result.df_denom))
    verdict = _linearity_verdict(p, effect, alpha_each)
    return Check(
        "linearity",
        verdict,
        _linearity_message(verdict, effect),
        "Ramsey RESET F (powers 2-3)",
        [],
        f_value,
        p,
        alpha_each,
        {"partial_r2": effect},
    )


def _linearity_model(resid: np.ndarray, fitted: np.ndarray, alpha_each: float) -> Check:
    """RESET's idea on any model: do powers of its predictions still explain its residuals?"""
    import statsmodels.api as sm

    scaled = (fitted - fitted.mean()) / (fitted.std() or 1.0)
    exog = np.column_stack([np.ones_like(scaled), scaled, scaled**2, scaled**3])
    aux = sm.OLS(resid, exog).fit()
    f_value, p = float(aux.fvalue), float(aux.f_pvalue)
    effect = _partial_r2(f_value, aux.df_model, aux.df_resid)
    verdict = _linearity_verdict(p, effect, alpha_each)
    return Check(
        "linearity",
        verdict,
        _linearity_message(verdict, effect),
        "F test of residuals on powers 1-3 of the predictions",
        [],
        f_value,
        p,
        alpha_each,
        {"partial_r2": effect},
    )


def _homoscedasticity(
    resid: np.ndarray, exog: np.ndarray, alpha_each: float, on_fitted: bool = False
) -> Check:
    """White's test: squared residuals on the regressors, their squares (and cross products
    while the auxiliary regression stays small), which sees variance that grows with |x|."""
    from statsmodels.stats.diagnostic import het_white

    k = exog.shape[1] - 1
    cross = k * (k + 1) / 2 + k <= len(resid) / 10
    lm, p, _, _ = het_white(resid, exog, interaction_terms=cross)
    df_aux = (k * (k + 1) / 2 + k) if cross else 2 * k
    excess = (float(lm) - df_aux) / len(resid)  # auxiliary R² beyond what chance gives
    if p >= alpha_each or excess < EXCESS_R2:
        verdict = "pass"
        message = "The residual spread does not change with the features."
    else:
        verdict = "fail" if excess >= 5 * EXCESS_R2 else "warn"
        message = (
            f"The residual variance changes with the {'predictions' if on_fitted else 'features'}"
            f" (White's test explains {excess:.1%} of the squared residuals beyond chance): "
            "standard errors and intervals are wrong; use robust (HC) errors, transform the "
            "target (e.g. log) or model the variance."
        )
    name = "White's test LM" + ("" if cross else " (squares, no cross products)")
    if on_fitted:
        name = "White's test LM on the predictions"
    return Check(
        "homoscedasticity",
        verdict,
        message,
        name,
        [],
        float(lm),
        float(p),
        alpha_each,
        {"excess_r2": excess},
    )


def _normality(resid: np.ndarray, alpha_each: float) -> Check:
    """D'Agostino-Pearson K², judged by skewness and kurtosis so a big sample's trivial
    departure passes; Jarque-Bera reported alongside."""
    from scipy.stats import normaltest
    from statsmodels.stats.stattools import jarque_bera

    k2, p = normaltest(resid)
    jb, jb_p, skew, kurtosis = jarque_bera(resid)
    excess = float(kurtosis) - 3
    big = abs(float(skew)) >= SKEW_WARN or abs(excess) >= KURTOSIS_WARN
    if p < alpha_each and big:
        verdict = "warn"
        message = (
            f"The residuals are not normal (skew {float(skew):.2f}, excess kurtosis "
            f"{excess:.2f}): p-values and intervals of a linear model are off; transform the "
            "target, or use intervals that do not assume normality (bootstrap, quantiles)."
        )
    else:
        verdict = "pass"
        message = "The residuals are close enough to normal" + (
            " (a departure too small to matter)." if p < alpha_each else "."
        )
    return Check(
        "residual_normality",
        verdict,
        message,
        "D'Agostino-Pearson K²",
        [],
        float(k2),
        float(p),
        alpha_each,
        {
            "skew": float(skew),
            "excess_kurtosis": excess,
            "jarque_bera": float(jb),
            "jarque_bera_p": float(jb_p),
        },
    )


def _independence(resid: np.ndarray, alpha_each: float) -> Check:
    """Durbin-Watson for lag-1 correlation in row order, Ljung-Box's p-value over 10 lags."""
    from statsmodels.stats.diagnostic import acorr_ljungbox
    from statsmodels.stats.stattools import durbin_watson

    dw = float(durbin_watson(resid))
    lags = int(min(10, max(1, len(resid) // 5)))
    box = acorr_ljungbox(resid, lags=[lags], return_df=True)
    p = float(box["lb_pvalue"].iloc[0])
    rho = 1 - dw / 2
    if p >= alpha_each or abs(rho) < AUTOCORR_WARN:
        verdict = "pass"
        message = "Residuals of neighbouring rows are not correlated."
    else:
        verdict = "fail" if abs(rho) >= AUTOCORR_FAIL else "warn"
        message = (
            f"Residuals of neighbouring rows are correlated (lag-1 about {rho:.2f}, "
            f"Durbin-Watson {dw:.2f}): if rows are in time order, the model misses a trend or "
            "lag; add lagged features and validate on later rows, not random splits."
        )
    return Check(
        "residual_independence",
        verdict,
        message,
        "Durbin-Watson (Ljung-Box p)",
        [],
        dw,
        p,
        alpha_each,
        {
            "lag1_autocorrelation": rho,
            "ljung_box": float(box["lb_stat"].iloc[0]),
            "ljung_box_lags": float(lags),
        },
    )


def _outlier_verdict(count: int, n: int) -> str:
    if count == 0:
        return "pass"
    return "fail" if count / n > OUTLIER_FAIL else "warn"


def _outlier_message(verdict: str, count: int, n: int, what: str) -> str:
    if verdict == "pass":
        return f"No outlying residuals ({what})."
    return (
        f"{count:,} of {n:,} rows have outlying residuals ({what}): check them for data "
        "errors; if they are real, use a robust loss (Huber) or model them."
    )


def studentized_residuals(fit: Any) -> tuple[np.ndarray, np.ndarray]:
    """Externally studentized residuals and their Bonferroni p-values, as statsmodels'
    ``outlier_test(method="bonf")``, but in closed form: statsmodels refits once per row."""
    from scipy.stats import t as student_t

    hat = fit.get_influence().hat_matrix_diag
    resid = np.asarray(fit.resid, dtype=float)
    n, df_resid = len(resid), float(fit.df_resid)
    leverage = np.clip(1 - hat, 1e-12, None)
    sigma2_without = (np.sum(resid**2) - resid**2 / leverage) / (df_resid - 1)
    studentized = resid / np.sqrt(np.clip(sigma2_without, 1e-300, None) * leverage)
    p_one = 2 * student_t.sf(np.abs(studentized), df_resid - 1)
    return studentized, np.minimum(p_one * n, 1.0)


def _outliers_ols(fit: Any, alpha_each: float) -> Check:
    student, bonf = studentized_residuals(fit)
    count = int(np.sum(bonf < alpha_each))
    n = len(bonf)
    verdict = _outlier_verdict(count, n)
    what = "Bonferroni test on externally studentized residuals"
    return Check(
        "outliers",
        verdict,
        _outlier_message(verdict, count, n, what),
        "largest |studentized residual|",
        [],
        float(np.nanmax(np.abs(student))),
        float(np.nanmin(bonf)),
        alpha_each,
        {"outlier_rows": float(count)},
    )


def _outliers_robust(resid: np.ndarray, alpha_each: float) -> Check:
    from scipy.stats import median_abs_deviation, norm

    scale = median_abs_deviation(resid, scale="normal") or float(np.std(resid)) or 1.0
    z = np.abs(resid - np.median(resid)) / scale
    bonf = np.minimum(2 * norm.sf(z) * len(z), 1.0)
    count = int(np.sum(bonf < alpha_each))
    verdict = _outlier_verdict(count, len(z))
    what = "robust z-score of the residuals, Bonferroni over rows"
    return Check(
        "outliers",
        verdict,
        _outlier_message(verdict, count, len(z), what),
        "largest robust |z| of the residuals",
        [],
        float(z.max()),
        float(bonf.min()),
        alpha_each,
        {"outlier_rows": float(count)},
    )


# -- logging ---------------------------------------------------------------------------------
def _log_on_active_run(report: CheckReport) -> None:
    from .reports import log_report

    counts = report.counts()
    prefix = f"mlops.checks.{report.name}"
    log_report(
        "checks",
        report.name,
        report.to_json(),
        report.to_html(full_page=True),
        {
            f"{prefix}.failed": str(counts["fail"]),
            f"{prefix}.warned": str(counts["warn"]),
            f"{prefix}.passed": str(counts["pass"]),
            f"{prefix}.ok": str(report.ok).lower(),
        },
    )
