"""The regression-residual diagnostics: linearity (RESET), homoscedasticity (White), normality
(D'Agostino-Pearson, Jarque-Bera), independence (Durbin-Watson, Ljung-Box), outliers (a robust
fit, ``outliers``) and influence (leverage and Cook's distance, ``influence``).

The residuals are a given model's on the features, or an OLS fit's of the target on the numeric
features. The five tests share one alpha (Bonferroni), and each needs an effect large enough
to matter besides a small p-value; influence is judged by yardsticks, not a test, and spends
none of it. Large frames use a stated, seeded random subsample; independence reads a block of
consecutive rows, since it is about row order. Where the residuals cannot say anything (a
constant target, an exact fit, an OLS fit with as many coefficients as rows), the checks are
skipped with the reason.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .influence import influence
from .outliers import outliers_of_model, outliers_robust_fit
from .verdicts import SEED, Check, CheckError

RESIDUAL_SAMPLE = 10_000  # rows for the residual checks on large frames
RESIDUAL_CHECKS = (
    "linearity",
    "homoscedasticity",
    "residual_normality",
    "residual_independence",
    "outliers",
    "influence",
)
TESTS = 5  # the checks above that are tests and share alpha (all but influence)
EXACT_FIT_R2 = 1 - 1e-10  # R² this close to 1: the residuals are rounding noise
EXCESS_R2 = 0.01  # auxiliary-regression R² beyond chance that counts as a real effect
SKEW_WARN, KURTOSIS_WARN = 0.5, 1.0
AUTOCORR_WARN, AUTOCORR_FAIL = 0.1, 0.25  # |lag-1 autocorrelation| (|DW - 2| / 2)


def run(
    data: pd.DataFrame,
    target: str,
    task: str,
    numeric: list[str],
    features: list[str],
    model: Any,
    alpha: float,
) -> tuple[list[Check], list[dict[str, str]], dict[str, Any]]:
    """The residual checks, the ones skipped and why, and what the report says of their fit.

    ``numeric`` are the regressors of the OLS fit (used when ``model`` is None); ``features``
    are what ``model.predict`` is given.
    """
    reason = _not_applicable(data, target, task, numeric, model)
    if reason:
        return [], _skip(RESIDUAL_CHECKS, reason), {}
    columns = numeric if model is None else features
    rows = _complete_rows(data, target, columns, numeric, model)
    reason = _too_few_rows(len(rows), len(columns), model)
    if reason:
        return [], _skip(RESIDUAL_CHECKS, reason), {}
    chosen, block, sampled = _sample(rows)
    alpha_each = alpha / TESTS
    info: dict[str, Any] = {
        "residuals_from": "model" if model is not None else "ols",
        "residual_rows": len(chosen),
        "residual_sample": bool(sampled),
        "residual_seed": SEED,
        "residual_alpha": alpha_each,
    }
    y = data[target].to_numpy(dtype=float)
    try:
        if model is None:
            checks = _ols_checks(data, numeric, y, chosen, block, alpha_each, info)
            skipped = []
        else:
            checks = _model_checks(data, features, model, y, chosen, block, alpha_each)
            skipped = _skip(
                ["influence"],
                "leverage and Cook's distance belong to an OLS fit; run without model= to see "
                "them for the linear fit on the numeric features",
            )
    except _NothingToCheck as exc:
        return [], _skip(RESIDUAL_CHECKS, str(exc)), {}
    return checks, skipped, info


class _NothingToCheck(Exception):
    """The fit leaves residuals that cannot say anything (an exact fit); the message says why."""


def _skip(ids: Any, reason: str) -> list[dict[str, str]]:
    return [{"id": cid, "reason": reason} for cid in ids]


def _not_applicable(
    data: pd.DataFrame, target: str, task: str, numeric: list[str], model: Any
) -> str | None:
    if task != "regression":
        return "residual checks apply to regression"
    if model is None and not numeric:
        return "no numeric features for an OLS fit; pass model= to check its residuals"
    y = data[target].to_numpy(dtype=float)
    if np.ptp(y) == 0:
        return (
            f"the target is constant ({y[0]:g}): there is nothing to fit, so no residuals to check"
        )
    return None


def _too_few_rows(n: int, p: int, model: Any) -> str | None:
    """Why ``n`` complete rows cannot carry the residual checks of ``p`` regressors, if so."""
    if model is None and n <= p + 1:
        return (
            f"{p:,} numeric features for {n:,} complete rows: an OLS fit with as many "
            "coefficients as rows passes through every point, so its residuals say nothing; "
            "pass model= to check a fitted model's residuals"
        )
    needed = max(20, 2 * p + 10) if model is None else max(20, p + 5)
    if n < needed:
        per = " (and 2 per feature plus 10 for White's test)" if model is None else ""
        return f"only {n:,} complete rows; the residual checks need {needed:,}{per}"
    return None


def _complete_rows(
    data: pd.DataFrame, target: str, columns: list[str], numeric: list[str], model: Any
) -> np.ndarray:
    """Positions of the rows with every value the fit needs (finite numbers for OLS)."""
    complete = data[[*columns, target]].notna().all(axis=1).to_numpy()
    if model is None:
        values = data[numeric].to_numpy(dtype=float, na_value=np.nan)
        complete = complete & np.isfinite(values).all(axis=1)
    return np.flatnonzero(complete)


def _sample(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, bool]:
    """The seeded sample the fit uses, the consecutive block independence reads, and whether
    the rows were sampled."""
    rng = np.random.default_rng(SEED)
    sampled = len(rows) > RESIDUAL_SAMPLE
    chosen = np.sort(rng.choice(rows, RESIDUAL_SAMPLE, replace=False)) if sampled else rows
    block = rows[:RESIDUAL_SAMPLE]  # consecutive rows: independence is about row order
    return chosen, block, sampled


def _ols_checks(
    data: pd.DataFrame,
    numeric: list[str],
    y: np.ndarray,
    chosen: np.ndarray,
    block: np.ndarray,
    alpha_each: float,
    info: dict[str, Any],
) -> list[Check]:
    """The checks on an OLS fit of the target on the numeric features (``info`` gets the fit)."""
    import statsmodels.api as sm

    matrix = data[numeric].to_numpy(dtype=float)
    keep = _independent_columns(matrix[chosen])
    info["ols_features"] = [numeric[i] for i in keep]
    exog = sm.add_constant(matrix[chosen][:, keep], has_constant="add")
    fit = sm.OLS(y[chosen], exog).fit()
    resid = fit.resid
    block_exog = sm.add_constant(matrix[block][:, keep], has_constant="add")
    block_resid = y[block] - block_exog @ fit.params
    info["ols_r2"] = float(fit.rsquared)
    _exact_fit_guard(resid, y[chosen], "the numeric features fit the target exactly")
    labels = data.index[chosen]
    return [
        _linearity_ols(fit, alpha_each),
        _homoscedasticity(resid, exog, alpha_each),
        _normality(resid, alpha_each),
        _independence(block_resid, alpha_each),
        outliers_robust_fit(y[chosen], exog, labels, alpha_each, fit),
        influence(fit, labels),
    ]


def _model_checks(
    data: pd.DataFrame,
    features: list[str],
    model: Any,
    y: np.ndarray,
    chosen: np.ndarray,
    block: np.ndarray,
    alpha_each: float,
) -> list[Check]:
    """The checks on the residuals of the user's model."""
    try:
        fitted = np.asarray(model.predict(data.iloc[chosen][features]), dtype=float).ravel()
        block_fitted = np.asarray(model.predict(data.iloc[block][features]), dtype=float).ravel()
    except Exception as exc:  # the user's model: any failure is theirs to read
        text = " ".join(str(exc).split()) or type(exc).__name__
        raise CheckError(f"model.predict on the features failed: {text}") from None
    resid = y[chosen] - fitted
    _exact_fit_guard(resid, y[chosen], "the model predicts the target exactly")
    return [
        _linearity_model(resid, fitted, alpha_each),
        _homoscedasticity(resid, _fitted_exog(fitted), alpha_each, on_fitted=True),
        _normality(resid, alpha_each),
        _independence(y[block] - block_fitted, alpha_each),
        outliers_of_model(resid, data.index[chosen], alpha_each),
    ]


def _exact_fit_guard(resid: np.ndarray, y: np.ndarray, what: str) -> None:
    """Raise when the residuals are rounding noise: every test on them would judge noise."""
    total = float(np.sum((y - y.mean()) ** 2))
    r2 = 1 - float(np.sum(resid**2)) / total if total > 0 else 1.0
    if r2 >= EXACT_FIT_R2:
        raise _NothingToCheck(
            f"{what} (R² = 1 to 10 digits): the residuals are rounding noise, so no residual "
            "check can say anything; check the features for a copy or formula of the target"
        )


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
