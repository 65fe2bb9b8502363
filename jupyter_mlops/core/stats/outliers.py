"""The outlier check: rows whose residual is far outside the spread of a robust fit.

An OLS fit is pulled towards its outliers, so a few of them together can hide each other
(masking): on the stack-loss data, OLS's Bonferroni test finds none of the four rows the
literature names. The residuals here are from a robust fit instead. On small fits (at most
``MM_MAX_ROWS`` rows and ``MM_MAX_PARAMS`` coefficients), where masking does its harm, it is
statsmodels' MM-estimator (``RLMDetSMM``: an S-estimate with a 50% breakdown point, then a
Tukey-biweight M-step with 95% efficiency), which costs about half a second whatever the size;
beyond them, a Huber-started biweight M-estimate (``RLM``) on at most ``ROBUST_SAMPLE`` seeded
rows, which resists outliers in the target but not a cluster of high-leverage rows. Every row of
the residual sample is then judged by its residual over the fit's scale, with a Bonferroni test
over the rows.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from .verdicts import SEED, Check, row_labels

ROBUST_SAMPLE = 500  # rows the M-estimate is fitted on
MM_MAX_ROWS, MM_MAX_PARAMS = 500, 9  # fits up to this size (with the intercept) get the MM
OUTLIER_FAIL = 0.01  # share of outlying rows above which the check fails
REJECT = 4.685  # robust scales beyond which the biweight (95% efficiency) gives weight 0
NOT_STRAY = 0.1  # a share above this is the residuals' shape (a heavy tail, a mass point)


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


def robust_fit(y: np.ndarray, exog: np.ndarray) -> tuple[np.ndarray, float, str]:
    """Coefficients and residual scale of a robust fit of ``y`` on ``exog`` (with its
    constant), and the fit's name: the MM-estimate on small fits, else the M-estimate on a
    seeded sample of at most ``ROBUST_SAMPLE`` rows."""
    import statsmodels.api as sm

    small = len(y) <= MM_MAX_ROWS and exog.shape[1] <= MM_MAX_PARAMS
    if len(y) > ROBUST_SAMPLE:
        rows = np.sort(np.random.default_rng(SEED).choice(len(y), ROBUST_SAMPLE, replace=False))
        y, exog = y[rows], exog[rows]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence chatter; the scale is checked below
        if small:
            from statsmodels.robust.resistant_linear_model import RLMDetSMM

            try:
                mm = RLMDetSMM(y, exog).fit()
                if np.isfinite(mm.scale) and mm.scale > 0:
                    return np.asarray(mm.params), float(mm.scale), "MM-estimate"
            except (np.linalg.LinAlgError, ValueError, ZeroDivisionError):
                pass  # a degenerate half-sample (e.g. binary features): the M-estimate below
        huber = sm.RLM(y, exog, M=sm.robust.norms.HuberT()).fit()
        biweight = sm.RLM(y, exog, M=sm.robust.norms.TukeyBiweight()).fit(
            start_params=huber.params, update_scale=True
        )
    return np.asarray(biweight.params), float(biweight.scale), "biweight M-estimate"


def outliers_robust_fit(
    y: np.ndarray, exog: np.ndarray, labels: Any, alpha_each: float, ols_fit: Any
) -> Check:
    """Rows that do not fit the clean majority, named by label; OLS's own Bonferroni test
    (``outlier_test``) is reported alongside in ``effect``.

    The robust fit picks the clean rows (residual under ``REJECT`` robust scales, where its
    biweight gives weight 0); OLS on them gives every row a t statistic: the externally
    studentized residual for a clean row, the prediction residual for the others, each exact
    under normal errors. A Bonferroni bound over all rows keeps clean data quiet (a robust
    scale alone is biased low in small samples: at 30 rows its normal Bonferroni test alarmed
    on 69% of clean sets). This is the clean-subset outlier test of Hadi & Simonoff (1993).
    """
    from scipy.stats import t as student_t

    params, scale, fit_name = robust_fit(y, exog)
    with np.errstate(divide="ignore", invalid="ignore"):
        rejected = ~(np.abs(y - exog @ params) <= REJECT * scale)
    if np.sum(~rejected) < exog.shape[1] + 3:  # the robust fit kept too little to refit on
        rejected[:] = False
    t, df = _clean_subset_t(y, exog, ~rejected)
    bonf = np.minimum(2 * student_t.sf(np.abs(t), df) * len(t), 1.0)
    student, bonf_ols = studentized_residuals(ols_fit)
    what = f"clean-subset t from a robust {fit_name}, Bonferroni over rows"
    check = _judge(np.abs(t), bonf, rejected, labels, alpha_each, what)
    check.test = f"largest |t| of a row against the rows a robust {fit_name} keeps"
    check.effect.update(
        {
            "robust_scale": scale,
            "robust_rejected_rows": float(rejected.sum()),
            "ols_max_studentized": float(np.nanmax(np.abs(student))),
            "ols_bonferroni_p": float(np.nanmin(bonf_ols)),
            "ols_outlier_rows": float(np.sum(bonf_ols < alpha_each)),
        }
    )
    return check


def _clean_subset_t(y: np.ndarray, exog: np.ndarray, clean: np.ndarray) -> Any:
    """Each row's t against an OLS fit on the ``clean`` rows, and its degrees of freedom."""
    xc, yc = exog[clean], y[clean]
    m, p = xc.shape
    inverse = np.linalg.pinv(xc.T @ xc)
    resid = y - exog @ (inverse @ (xc.T @ yc))
    hat = np.einsum("ij,jk,ik->i", exog, inverse, exog)
    ssr = float(np.sum(resid[clean] ** 2))
    t = np.empty(len(y))
    with np.errstate(divide="ignore", invalid="ignore"):
        inside = np.clip(1 - hat[clean], 1e-12, None)
        s2_without = (ssr - resid[clean] ** 2 / inside) / (m - p - 1)
        t[clean] = resid[clean] / np.sqrt(np.clip(s2_without, 0, None) * inside)
        t[~clean] = resid[~clean] / np.sqrt(ssr / (m - p) * (1 + hat[~clean]))
    t = np.where(np.isnan(t), 0.0, t)  # 0/0: an exact fit of the clean rows, and on it
    return t, np.where(clean, m - p - 1, m - p)


def outliers_of_model(resid: np.ndarray, labels: Any, alpha_each: float) -> Check:
    """A given model's residuals judged by their median and MAD (robust z-scores)."""
    from scipy.stats import median_abs_deviation

    scale = median_abs_deviation(resid, scale="normal") or float(np.std(resid)) or 1.0
    from scipy.stats import norm

    size = np.abs(resid - np.median(resid)) / scale
    bonf = np.minimum(2 * norm.sf(size) * len(size), 1.0)
    what = "robust z-score of the residuals, Bonferroni over rows"
    check = _judge(size, bonf, np.zeros(len(size), bool), labels, alpha_each, what)
    check.test = "largest robust |z| of the residuals"
    return check


def _judge(
    size: np.ndarray,
    bonf: np.ndarray,
    rejected: np.ndarray,
    labels: Any,
    alpha_each: float,
    what: str,
) -> Check:
    """The verdict on the rows whose Bonferroni p-value is under ``alpha_each``; when there
    are some, the other rows the robust fit ``rejected`` are named after them as suspects."""
    flagged = np.flatnonzero(bonf < alpha_each)
    flagged = flagged[np.argsort(-size[flagged])]
    count, n = len(flagged), len(size)
    suspects = np.flatnonzero(rejected & (bonf >= alpha_each)) if count else flagged[:0]
    suspects = suspects[np.argsort(-size[suspects])]
    rows = row_labels(labels, np.concatenate([flagged, suspects]))
    if count == 0:
        verdict, message = "pass", f"No outlying residuals ({what})."
    else:
        verdict = "fail" if count / n > OUTLIER_FAIL else "warn"
        shown = ", ".join(rows[: min(count, 10)]) + (", ..." if count > 10 else "")
        if count / n > NOT_STRAY:
            message = (
                f"{count:,} of {n:,} rows ({count / n:.0%}) have residuals far outside the "
                f"spread of the rest ({what}), too many to be stray errors: the residuals have "
                "a heavy tail or a mass point (e.g. many zeros), so model the target's "
                "distribution (a count, hurdle or quantile model) rather than dropping rows."
            )
        else:
            also = row_labels(labels, suspects, limit=10)
            besides = (
                f", and the robust fit also gives no weight to row(s) {', '.join(also)}"
                if len(suspects)
                else ""
            )
            message = (
                f"{count:,} of {n:,} rows have outlying residuals ({what}; rows {shown})"
                f"{besides}: check them for data errors; if they are real, use a robust loss "
                "(Huber) or model them."
            )
    return Check(
        "outliers",
        verdict,
        message,
        "",
        [],
        float(size.max()),
        float(bonf.min()),
        alpha_each,
        {"outlier_rows": float(count), "suspect_rows": float(len(suspects))},
        rows,
    )
