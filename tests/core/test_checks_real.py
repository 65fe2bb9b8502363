"""mlops.check on real regression data that ships with statsmodels: the task it infers, the
outliers a robust fit finds where OLS's own test is masked, the influential rows, and odd input.

Each expected verdict is the statistics literature's, cited where it is asserted.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy.stats import f as f_dist
from scipy.stats import t as student_t
from statsmodels.robust.resistant_linear_model import RLMDetSMM
from statsmodels.stats.outliers_influence import (
    OLSInfluence,
    outlier_test,
    variance_inflation_factor,
)

import jupyter_mlops as mlops
from jupyter_mlops.core.stats.checks import CheckError

RESIDUAL = {
    "linearity",
    "homoscedasticity",
    "residual_normality",
    "residual_independence",
    "outliers",
    "influence",
}


def load(name: str) -> pd.DataFrame:
    return getattr(sm.datasets, name).load_pandas().data


def skipped(report) -> dict[str, str]:
    return {s["id"]: s["reason"] for s in report.skipped}


def ols(frame: pd.DataFrame, target: str):
    exog = sm.add_constant(frame.drop(columns=target).to_numpy(dtype=float))
    return sm.OLS(frame[target].to_numpy(dtype=float), exog).fit(), exog


# -- task inference --------------------------------------------------------------------------
def test_longley_total_employment_is_a_regression_on_ill_conditioned_data() -> None:
    # Longley (1967, JASA 62:819) built this data set to expose ill-conditioning: GNP, its
    # deflator, population and year are nearly collinear (VIFs in the hundreds to thousands,
    # Belsley, Kuh & Welsch 1980, sec. 3.4). TOTEMP is employment: 16 distinct whole numbers
    # in 16 rows, a quantity, not 16 classes of one row each.
    frame = load("longley")
    report = mlops.check(frame, "TOTEMP")
    assert report.task == "regression"
    assert "16 distinct values in 16 rows" in report.info["task_reason"]
    collinear = report["multicollinearity"]
    assert collinear.verdict == "fail"
    exog = sm.add_constant(frame.drop(columns="TOTEMP").to_numpy())
    for i, column in enumerate(frame.columns.drop("TOTEMP"), start=1):
        expected = variance_inflation_factor(exog, i)
        assert np.isclose(collinear.effect[f"vif:{column}"], expected, rtol=1e-6)
    assert collinear.statistic > 1000 and "GNP" in collinear.columns
    # 16 rows cannot carry the residual tests of 6 regressors: each says so, none vanishes
    reasons = skipped(report)
    assert set(reasons) >= RESIDUAL and "only 16 complete rows" in reasons["linearity"]
    assert (
        "class_imbalance" in reasons and "applies to classification" in reasons["class_imbalance"]
    )
    assert "a quantity, not classes" in report.to_html()
    assert "a quantity, not classes" in repr(report)


def test_integer_targets_with_rows_per_value_stay_classes() -> None:
    # spector's GRADE is a 0/1 outcome (Spector & Mazzeo 1980, a probit example in Greene,
    # Econometric Analysis, table F14.1); anes96's PID is a 7-point party scale read as
    # categories (Rosenstone et al., ANES 1996): both are labels with many rows per value.
    grade = mlops.check(load("spector"), "GRADE")
    assert grade.task == "classification" and "2 distinct values" in grade.info["task_reason"]
    party = mlops.check(load("anes96"), "PID")
    assert party.task == "classification" and "7 distinct values" in party.info["task_reason"]
    assert "residual checks apply to regression" in skipped(party)["influence"]


# -- outliers and influence ------------------------------------------------------------------
def test_stackloss_outliers_masked_for_ols_are_found_by_the_robust_fit() -> None:
    # Brownlee's stack-loss data: observations 1, 3, 4 and 21 (0, 2, 3, 20 in the frame's
    # index) are outliers (Daniel & Wood 1980, ch. 5; Rousseeuw & Leroy 1987, p. 76, where
    # the least median of squares fit gives them standardized residuals beyond 2.5), yet
    # OLS's Bonferroni test flags none: together they pull the fit towards themselves.
    # The MM fit gives all four weight 0; judged against an OLS fit of the other 17 rows
    # (Hadi & Simonoff 1993, JASA 88:1264), 4 and 21 are outliers at the 1% family-wise level
    # and 1 and 3 are named after them as the rows the robust fit also rejects.
    frame = load("stackloss")
    report = mlops.check(frame, "STACKLOSS")
    assert report.task == "regression"
    assert "14 distinct values in 21 rows" in report.info["task_reason"]
    outliers = report["outliers"]
    assert outliers.verdict == "fail" and outliers.rows == ["3", "20", "2", "0"]
    assert outliers.effect["outlier_rows"] == 2 and outliers.effect["suspect_rows"] == 2
    assert "MM-estimate" in outliers.test
    fit, exog = ols(frame, "STACKLOSS")
    table = np.asarray(outlier_test(fit, method="bonf"))
    alpha_each = report.info["residual_alpha"]
    assert outliers.effect["ols_outlier_rows"] == np.sum(table[:, 2] < alpha_each) == 0  # masked
    y = frame["STACKLOSS"].to_numpy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mm = RLMDetSMM(y, exog).fit()
    rejected = np.flatnonzero(mm.weights == 0)
    assert rejected.tolist() == [0, 2, 3, 20]
    kept = np.setdiff1d(np.arange(21), rejected)
    clean = sm.OLS(y[kept], exog[kept]).fit()
    prediction = clean.get_prediction(exog[rejected])
    t = (y[rejected] - prediction.predicted_mean) / prediction.se_obs
    assert np.isclose(outliers.statistic, np.abs(t).max(), rtol=1e-8)
    assert np.round(t, 1).tolist() == [3.8, 4.3, 6.0, -5.6]  # the README quotes 6.0 and -5.6
    bonferroni = np.minimum(2 * student_t.sf(np.abs(t), clean.df_resid) * 21, 1)
    assert (bonferroni < alpha_each).tolist() == [False, False, True, True]  # rows 0, 2, 3, 20
    # no single row moves the fit far (largest Cook's distance 0.69 < F(4, 17) median 0.87)
    influence = report["influence"]
    assert influence.verdict == "pass"
    assert np.isclose(influence.statistic, OLSInfluence(fit).cooks_distance[0].max())
    assert np.isclose(influence.threshold, f_dist.ppf(0.5, 4, 17))
    assert "rows 3, 20, 2, 0" in report.to_html()


def test_statecrime_district_of_columbia_is_influential() -> None:
    # The District of Columbia is the high-leverage, high-influence point of these data: the
    # influence plot in statsmodels' regression-diagnostics example (statsmodels docs,
    # "Regression Plots") and Agresti & Finlay, Statistical Methods for the Social Sciences
    # (4th ed., sec. 14.5, the murder-rate regression), where dropping DC changes the fit.
    frame = load("statecrime")
    report = mlops.check(frame, "murder")
    influence = report["influence"]
    assert influence.verdict == "fail" and influence.rows == ["District of Columbia"]
    fit, _ = ols(frame, "murder")
    expected = OLSInfluence(fit)
    assert np.isclose(influence.statistic, expected.cooks_distance[0].max())  # 3.54
    assert np.isclose(influence.effect["max_leverage"], expected.hat_matrix_diag.max())  # 0.77
    assert (
        round(influence.statistic, 2) == 3.54 and round(influence.effect["max_leverage"], 2) == 0.77
    )
    assert "District of Columbia" in influence.message and not report.ok
    # its pull is on the coefficients, not a residual a robust fit finds out of line
    assert report["outliers"].verdict == "pass"


def test_fair_affairs_mass_at_zero_is_not_a_few_stray_rows() -> None:
    # Fair (1978, J. Political Economy 86:45) modelled affairs with a Tobit model because most
    # respondents report none: a mass point at zero. A robust fit of the rest leaves a third
    # of the rows far out, which is the target's distribution, not stray errors.
    report = mlops.check(load("fair"), "affairs")
    outliers = report["outliers"]
    assert outliers.verdict == "fail" and outliers.effect["outlier_rows"] == 2053  # 32%
    assert "too many to be stray errors" in outliers.message
    assert "M-estimate" in outliers.test  # 6,366 rows: the M-estimate on a 500-row sample


def test_clean_small_samples_raise_no_outlier_or_influence_alarm() -> None:
    # Under the null each data set alarms the outlier check with probability at most the
    # check's alpha, 0.01 (Bonferroni over rows): with 8 sets, P(2 or more alarms) <= 0.003.
    # Cook's distance above the F(6, 94) median needs a row that alone moves the fit to the
    # 50% confidence region's edge, which normal data essentially never give.
    alarms = 0
    for seed in range(8):
        rng = np.random.default_rng(seed)
        x = rng.normal(size=(100, 5))
        frame = pd.DataFrame(x, columns=[f"x{i}" for i in range(5)])
        frame["y"] = x @ np.array([1.0, 0.8, -0.6, 0.5, 0.3]) + rng.normal(size=100)
        report = mlops.check(frame, "y")
        assert "MM-estimate" in report["outliers"].test
        alarms += report["outliers"].verdict != "pass"
        assert report["influence"].verdict == "pass", report["influence"].message
    assert alarms <= 1  # (none, with these seeds)


def test_a_model_is_judged_without_ols_influence() -> None:
    from sklearn.linear_model import LinearRegression

    frame = load("statecrime")
    features = frame.drop(columns="murder")
    model = LinearRegression().fit(features, frame["murder"])
    report = mlops.check(frame, "murder", model=model)
    assert "influence" not in {c.id for c in report.checks}
    assert "run without model=" in skipped(report)["influence"]
    assert report["outliers"].test == "largest robust |z| of the residuals"


# -- odd input -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda f: f.assign(STACKLOSS=f["STACKLOSS"].replace(42.0, np.inf)),
         "target 'STACKLOSS' has 1 infinite value(s) (first at row 0)"),
        (lambda f: f.assign(STACKLOSS=pd.date_range("2020-01-01", periods=len(f))),
         "holds dates or durations"),
        (lambda f: f.assign(STACKLOSS=pd.to_timedelta(f["STACKLOSS"], unit="D")),
         "holds dates or durations"),
        (lambda f: f.assign(STACKLOSS=[[v] for v in f["STACKLOSS"]]),
         "holds lists, dicts, sets, tuples or arrays"),
    ],
)  # fmt: skip
def test_a_target_no_check_can_read_is_one_line(change, message: str) -> None:
    with pytest.raises(CheckError) as info:
        mlops.check(change(load("stackloss")), "STACKLOSS")
    assert message in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize(
    "cells",
    [
        lambda n: [[i, i + 1] for i in range(n)],
        lambda n: [{"plant": i} for i in range(n)],
        lambda n: [(i, i % 3) for i in range(n)],
    ],
    ids=["lists", "dicts", "tuples"],
)
def test_nested_cells_are_left_out_and_said_so(cells) -> None:
    frame = load("stackloss")
    frame["notes"] = pd.Series(cells(len(frame)), dtype=object)
    report = mlops.check(frame, "STACKLOSS")
    assert "notes" in skipped(report)["nested_columns"]
    assert set(report["outliers"].rows) == {"0", "2", "3", "20"}  # the rest still runs
    assert report["missing_values"].verdict == "pass"


def test_integer_column_labels() -> None:
    frame = load("stackloss").set_axis([0, 1, 2, 3], axis=1)  # STACKLOSS is column 0
    report = mlops.check(frame, 0)
    assert report.target == "0" and report.task == "regression"
    assert set(report["outliers"].rows) == {"0", "2", "3", "20"}


def test_a_constant_target_has_no_residuals_to_judge() -> None:
    frame = load("stackloss").assign(STACKLOSS=17.5)
    report = mlops.check(frame, "STACKLOSS", task="regression")
    assert not RESIDUAL & {c.id for c in report.checks}
    assert "the target is constant (17.5)" in skipped(report)["linearity"]
    assert report.ok


def test_an_exact_fit_is_not_judged_on_rounding_noise() -> None:
    # stack loss as an exact formula of the three inputs: RESET and White's test would
    # "reject" on residuals of size 1e-14; the report says why they were not run instead
    frame = load("stackloss")
    frame["STACKLOSS"] = (
        0.7 * frame["AIRFLOW"] + 1.3 * frame["WATERTEMP"] - 0.15 * frame["ACIDCONC"]
    )
    report = mlops.check(frame, "STACKLOSS")
    assert not RESIDUAL & {c.id for c in report.checks}
    assert "fit the target exactly" in skipped(report)["homoscedasticity"]

    from sklearn.linear_model import LinearRegression

    features = frame.drop(columns="STACKLOSS")
    model = LinearRegression().fit(features, frame["STACKLOSS"])
    by_model = mlops.check(frame, "STACKLOSS", model=model)
    assert "the model predicts the target exactly" in skipped(by_model)["linearity"]


def test_more_columns_than_rows_is_not_an_ols_fit() -> None:
    # 40 rows, 100 noise features: OLS interpolates and every VIF is infinite by arithmetic,
    # not by the data; only the sample size (0.4 rows per feature) is a real finding
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(40, 100)), columns=[f"x{i}" for i in range(100)])
    frame["y"] = frame["x0"] + rng.normal(size=40)
    report = mlops.check(frame, "y")
    flagged = {c.id: c.verdict for c in report.checks if c.verdict != "pass"}
    assert flagged == {"sample_size": "fail"}
    reasons = skipped(report)
    assert "as many coefficients as rows" in reasons["influence"]
    assert "100 numeric features" in reasons["multicollinearity"]
