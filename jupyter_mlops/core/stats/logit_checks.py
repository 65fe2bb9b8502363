"""The checks on a logistic regression of a binary target on the numeric features:
separation, linearity of the logit (Box-Tidwell) and influential rows (Cook's distance).

Separation (Albert & Anderson 1984) is when a feature, or a combination of features, splits
the classes: completely (every row) or quasi-completely (with ties at the boundary). The
maximum-likelihood estimate then does not exist, and statsmodels 0.15 only says the fit did not
converge, so the check is the linear program of Konis (2007, R's ``detectseparation``) solved
with scipy's HiGHS, with a look at each feature alone to name the one that does it.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from .verdicts import Check

DELTA_P_WARN, DELTA_P_FAIL = 0.01, 0.03  # mean |change in fitted probability| (Box-Tidwell)
MIN_DISTINCT = 3  # a feature with fewer values is a level, not a curve to test
TOLERANCE = 1e-7


def logit_checks(
    data: pd.DataFrame, columns: list[str], y: np.ndarray, chosen: np.ndarray, alpha_each: float
) -> tuple[list[Check], np.ndarray | None, list[dict[str, str]], dict[str, Any]]:
    """The three checks, the logistic fit's probabilities (None when the MLE does not exist),
    the checks skipped and why, and the fit's facts for the report."""
    x = data[columns].to_numpy(dtype=float)[chosen]
    keep = independent_columns(x)
    names = [columns[i] for i in keep]
    scale = x[:, keep].std(axis=0)
    x = x[:, keep] / np.where(scale > 0, scale, 1.0)  # same fit, well scaled (1e-9 or 1e9)
    info: dict[str, Any] = {"logit_features": names, "logit_fit": "separated"}
    separation = _separation(x, y, names)
    if separation.verdict != "pass":
        why = "the classes are separated, so the logistic fit these checks read does not exist"
        skipped = [{"id": cid, "reason": why} for cid in ("logit_linearity", "logit_influence")]
        return [separation], None, skipped, info
    import statsmodels.api as sm

    exog = sm.add_constant(x, has_constant="add")
    base = _fit(y, exog)
    if base is None or not base.mle_retvals.get("converged", True):
        info["logit_fit"] = "did not converge"
        why = "the logistic fit did not converge in 200 iterations, so there is no fit to read"
        skipped = [{"id": cid, "reason": why} for cid in ("logit_linearity", "logit_influence")]
        return [separation], None, skipped, info
    info["logit_fit"] = "converged"
    info["logit_pseudo_r2"] = float(base.prsquared)
    checks = [separation]
    skipped: list[dict[str, str]] = []
    linearity = _box_tidwell(x, y, exog, base, names, alpha_each)
    if isinstance(linearity, Check):
        checks.append(linearity)
    else:
        skipped.append({"id": "logit_linearity", "reason": linearity})
    checks.append(_influence(y, exog, base, data.index[chosen]))
    return checks, np.asarray(base.predict(exog), dtype=float), skipped, info


def independent_columns(matrix: np.ndarray) -> list[int]:
    """Columns that are not exact linear combinations of others (QR with pivoting), so the
    logistic fit is not singular; the fit's probabilities are the same."""
    from scipy.linalg import qr

    centred = matrix - matrix.mean(axis=0)
    _, r, pivots = qr(centred, mode="economic", pivoting=True)
    diagonal = np.abs(np.diag(r))
    rank = int(np.sum(diagonal > diagonal[0] * 1e-10)) if diagonal.size and diagonal[0] else 0
    return sorted(pivots[:rank].tolist())


def _fit(y: np.ndarray, exog: np.ndarray) -> Any:
    import statsmodels.api as sm

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence is judged by the separation check
        try:
            return sm.Logit(y, exog).fit(disp=0, maxiter=200)
        except np.linalg.LinAlgError:  # a singular design the QR step did not catch
            return None


# -- separation ------------------------------------------------------------------------------
def separation_direction(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Konis's linear program: a direction b (intercept first, on standardized features) with
    (2y - 1)(b0 + x b) >= 0 on every row and > 0 on some, and those margins; None when there is
    none, i.e. the logistic MLE exists."""
    from scipy.optimize import linprog

    scale = x.std(axis=0)
    z = (x - x.mean(axis=0)) / np.where(scale > 0, scale, 1.0)
    signed = np.column_stack([np.ones(len(y)), z]) * (2 * y - 1)[:, None]
    result = linprog(
        -signed.sum(axis=0),
        A_ub=-signed,
        b_ub=np.zeros(len(y)),
        bounds=[(-1, 1)] * signed.shape[1],
        method="highs",
    )
    if result.status != 0 or -result.fun <= TOLERANCE * len(y):
        return None
    direction = np.asarray(result.x)
    return direction, signed @ direction


def completely_separated(x: np.ndarray, y: np.ndarray) -> bool:
    """Whether some direction puts every row strictly on its class's side: margins of at least
    one are feasible exactly when margins above zero are (the direction can be scaled)."""
    from scipy.optimize import linprog

    scale = x.std(axis=0)
    z = (x - x.mean(axis=0)) / np.where(scale > 0, scale, 1.0)
    signed = np.column_stack([np.ones(len(y)), z]) * (2 * y - 1)[:, None]
    result = linprog(
        np.zeros(signed.shape[1]),
        A_ub=-signed,
        b_ub=-np.ones(len(y)),
        bounds=[(None, None)] * signed.shape[1],
        method="highs",
    )
    return result.status == 0


def _single_feature(x: np.ndarray, y: np.ndarray, names: list[str]) -> list[tuple[str, str]]:
    """Features that alone split the classes: (name, 'complete' or 'quasi-complete')."""
    found = []
    for j, name in enumerate(names):
        zero, one = x[y == 0, j], x[y == 1, j]
        low, high = (zero, one) if zero.max() <= one.min() else (one, zero)
        if low.max() < high.min():
            found.append((name, "complete"))
        elif low.max() == high.min() and low.min() < high.max():  # touching, not constant
            found.append((name, "quasi-complete"))
    return found


def _separation(x: np.ndarray, y: np.ndarray, names: list[str]) -> Check:
    test = "Konis linear program for separation (scipy HiGHS)"
    if y.min() == y.max():
        return Check("separation", "fail", "Only one class in the rows checked.", test)
    found = separation_direction(x, y)
    if found is None:
        message = (
            "No feature or combination of features splits the classes: the logistic fit exists."
        )
        return Check("separation", "pass", message, test, [], 0.0, None, None)
    direction, margins = found
    complete = completely_separated(x, y)
    perfect = len(y) if complete else int(np.sum(margins > TOLERANCE))
    alone = _single_feature(x, y, names)
    if alone:
        columns = [name for name, _ in alone]
        what = ", ".join(f"{name} ({kind})" for name, kind in alone)
        split = (
            f"{what} alone splits the classes"
            if len(alone) == 1
            else f"{what} each split the classes alone"
        )
    else:
        weights = np.abs(direction[1:])
        columns = [names[j] for j in np.argsort(-weights) if weights[j] > 1e-6]
        more = f" and {len(columns) - 6} more" if len(columns) > 6 else ""
        split = f"A combination of {', '.join(columns[:6])}{more} splits the classes"
    advice = (
        "check the feature for leakage, merge its levels, or use a penalized fit"
        if alone
        else "use fewer features or a penalized fit"
    )
    kind = "complete" if complete else "quasi-complete"
    message = (
        f"{split} ({kind} separation, {perfect:,} of {len(y):,} rows predicted with certainty):"
        " a logistic regression's coefficients run to infinity and its p-values mean nothing; "
        f"{advice} (Firth, or L2 as scikit-learn's default)."
    )
    # One feature splitting the classes alone is a leak or a coding error to fix (fail); a
    # combination of many is the data's geometry, common with p large next to n, which a
    # penalized fit handles (warn: the unpenalized diagnostics cannot run, the model may be fine).
    return Check(
        "separation",
        "fail" if complete and alone else "warn",
        message,
        test,
        columns,
        float(perfect),
        None,
        None,
        {"rows_predicted_with_certainty": float(perfect), "complete": float(complete)},
    )


# -- linearity of the logit ------------------------------------------------------------------
def _box_tidwell(
    x: np.ndarray, y: np.ndarray, exog: np.ndarray, base: Any, names: list[str], alpha_each: float
) -> Check | str:
    """Box-Tidwell: add x ln x for each continuous feature and test the terms together by the
    likelihood ratio; the effect is how far the augmented fit moves the probabilities.

    Each feature is divided by its standard deviation first (x ln x of a rescaled x spans the
    same terms with x, so the test is unchanged, and the fit stays well scaled); features with
    values <= 0 are shifted to start at 1, since the test needs positive values."""
    from scipy.stats import chi2

    continuous = [j for j in range(x.shape[1]) if len(np.unique(x[:, j])) >= MIN_DISTINCT]
    if not continuous:
        return f"no numeric feature with at least {MIN_DISTINCT} distinct values"
    terms = []
    for j in continuous:
        v = x[:, j] / x[:, j].std()
        if v.min() <= 0:
            v = v - v.min() + 1
        terms.append(v * np.log(v))
    augmented_exog = np.column_stack([exog, *terms])
    augmented = _fit(y, augmented_exog)
    if augmented is None or not augmented.mle_retvals.get("converged", True):
        return "the logistic fit with the Box-Tidwell terms did not converge"
    lr = max(0.0, 2 * float(augmented.llf - base.llf))
    df = len(continuous)
    p = float(chi2.sf(lr, df))
    delta = float(np.mean(np.abs(augmented.predict(augmented_exog) - base.predict(exog))))
    wald = np.asarray(augmented.pvalues)[exog.shape[1] :]
    culprits = [names[continuous[i]] for i in np.argsort(wald) if wald[i] < alpha_each]
    if p >= alpha_each or delta < DELTA_P_WARN:
        verdict = "pass"
        message = "The logit is linear in the continuous features" + (
            f" (a bend that moves probabilities by {delta:.1%} on average is too small to matter)."
            if p < alpha_each
            else "."
        )
    else:
        verdict = "fail" if delta >= DELTA_P_FAIL else "warn"
        which = ", ".join(culprits[:6]) or "the continuous features"
        message = (
            f"The logit bends in {which} (letting it bend moves the probabilities by "
            f"{delta:.1%} on average): add a transform (log, splines, fractional polynomials) "
            "or bins of those features to a logistic model."
        )
    return Check(
        "logit_linearity",
        verdict,
        message,
        f"Box-Tidwell likelihood ratio ({df} x ln x terms)",
        culprits,
        lr,
        p,
        alpha_each,
        {"mean_abs_delta_p": delta, "df": float(df)},
    )


# -- influence -------------------------------------------------------------------------------
def _influence(y: np.ndarray, exog: np.ndarray, base: Any, labels: pd.Index) -> Check:
    """statsmodels' GLM influence (Pregibon's one-step approximations): a row is influential
    when its Cook's distance passes the median of F(p, n - p), as far as the fit's 50%
    confidence region (Cook & Weisberg 1982), or when it moves a coefficient by more than one
    standard error (|DFBETAS| > 1, Belsley, Kuh & Welsch 1980)."""
    import statsmodels.api as sm
    from scipy.stats import f as f_dist

    # rows fitted at probability 0 or 1 in floating point have no leverage, and would make
    # statsmodels divide by their zero variance: they get zero, the rest are refitted
    fitted = np.asarray(base.predict(exog), dtype=float)
    inside = (fitted > 1e-10) & (fitted < 1 - 1e-10)
    cooks, dfbetas = np.zeros(len(y)), np.zeros(len(y))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = sm.GLM(y[inside], exog[inside], family=sm.families.Binomial())
        influence = model.fit(start_params=base.params).get_influence()
        cooks[inside] = np.asarray(influence.cooks_distance[0], dtype=float)
        dfbetas[inside] = np.abs(np.asarray(influence.dfbetas, dtype=float)).max(axis=1)
    k, n = exog.shape[1], len(y)
    threshold = float(f_dist.ppf(0.5, k, n - k))
    order = np.argsort(-np.maximum(cooks / threshold, dfbetas))
    rows = [str(labels[i]) for i in order if cooks[i] > threshold or dfbetas[i] > 1]
    if not rows:
        verdict = "pass"
        message = (
            f"No row moves the logistic fit much (largest Cook's distance {cooks.max():.2f}, "
            f"largest |DFBETAS| {dfbetas.max():.2f})."
        )
    else:
        verdict = "warn"
        shown = ", ".join(rows[:5]) + (f" and {len(rows) - 5:,} more" if len(rows) > 5 else "")
        message = (
            f"{len(rows):,} row(s) move the logistic fit on their own (rows {shown}; Cook's "
            f"distance up to {cooks.max():.2f}, a coefficient moved by up to "
            f"{dfbetas.max():.1f} standard errors): check them for errors, and refit without "
            "them to see which conclusions change."
        )
    return Check(
        "logit_influence",
        verdict,
        message,
        "Cook's distance and DFBETAS (statsmodels GLM influence)",
        [],
        float(cooks.max()),
        None,
        threshold,
        {"influential_rows": float(len(rows)), "max_abs_dfbetas": float(dfbetas.max())},
        rows[:50],  # by the frame's own index labels, as the regression influence check
    )
