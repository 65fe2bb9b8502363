"""mlops.check: known answers against statsmodels/scipy, planted violations, bad input, logging."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats
from statsmodels.stats.diagnostic import acorr_ljungbox, het_white, linear_reset
from statsmodels.stats.outliers_influence import outlier_test, variance_inflation_factor
from statsmodels.stats.stattools import durbin_watson, jarque_bera

import jupyter_mlops as mlops
from jupyter_mlops.core.stats.checks import CheckError
from jupyter_mlops.core.stats.data_checks import _spearman
from jupyter_mlops.core.stats.outliers import studentized_residuals
from jupyter_mlops.core.stats.residuals import _normality
from tests.conftest import all_runs
from tests.planted import VIOLATIONS, planted, regression, score

FEATURES = ["x0", "x1", "x2", "x3", "x4"]


def close(a: float | None, b: float, rel: float = 1e-9) -> bool:
    return a is not None and math.isclose(a, float(b), rel_tol=rel, abs_tol=1e-12)


def ols(frame: pd.DataFrame, columns: list[str] = FEATURES):
    exog = sm.add_constant(frame[columns].to_numpy(dtype=float), has_constant="add")
    return sm.OLS(frame["y"].to_numpy(dtype=float), exog).fit(), exog


# -- known answers ---------------------------------------------------------------------------
def test_residual_statistics_equal_statsmodels_and_scipy() -> None:
    frame = regression("heteroscedastic", seed=3, n=600)
    report = mlops.check(frame, "y", task="regression")
    fit, exog = ols(frame)
    assert report.info["residual_rows"] == 600 and not report.info["residual_sample"]

    reset = linear_reset(fit, power=3, test_type="fitted", use_f=True)
    assert close(report["linearity"].statistic, np.squeeze(reset.fvalue))
    assert close(report["linearity"].p_value, reset.pvalue)

    lm, lm_p, _, _ = het_white(fit.resid, exog)
    assert close(report["homoscedasticity"].statistic, lm)
    assert close(report["homoscedasticity"].p_value, lm_p)

    k2, k2_p = stats.normaltest(fit.resid)
    jb, jb_p, skew, kurtosis = jarque_bera(fit.resid)
    normality = report["residual_normality"]
    assert close(normality.statistic, k2) and close(normality.p_value, k2_p)
    assert close(normality.effect["jarque_bera"], jb) and close(normality.effect["skew"], skew)
    assert close(normality.effect["jarque_bera_p"], jb_p)
    assert close(normality.effect["excess_kurtosis"], kurtosis - 3)

    independence = report["residual_independence"]
    box = acorr_ljungbox(fit.resid, lags=[10], return_df=True)
    assert close(independence.statistic, durbin_watson(fit.resid), rel=1e-7)
    assert close(independence.p_value, box["lb_pvalue"].iloc[0], rel=1e-6)

    table = np.asarray(outlier_test(fit, method="bonf"))  # OLS's own test, reported alongside
    outliers = report["outliers"]
    assert close(outliers.effect["ols_max_studentized"], np.abs(table[:, 0]).max(), rel=1e-7)
    assert close(outliers.effect["ols_bonferroni_p"], table[:, 2].min(), rel=1e-6)


def test_studentized_residuals_equal_statsmodels_row_by_row() -> None:
    fit, _ = ols(regression("skewed", seed=1, n=300))
    student, bonf = studentized_residuals(fit)
    table = np.asarray(outlier_test(fit, method="bonf"))
    np.testing.assert_allclose(student, table[:, 0], rtol=1e-8)
    np.testing.assert_allclose(bonf, table[:, 2], rtol=1e-8)


def test_vif_equals_statsmodels_including_an_exact_dependency() -> None:
    frame = regression("collinear", seed=0, n=500)
    columns = [*FEATURES, "x5"]
    report = mlops.check(frame, "y")
    exog = sm.add_constant(frame[columns].to_numpy(dtype=float))
    for i, column in enumerate(columns, start=1):
        expected = variance_inflation_factor(exog, i)
        assert close(report["multicollinearity"].effect[f"vif:{column}"], expected, rel=1e-6)
    assert report["multicollinearity"].verdict == "fail"
    assert set(report["multicollinearity"].columns) == {"x1", "x2", "x5"}

    frame["x6"] = frame["x3"] - 2 * frame["x4"]  # exact: VIF is infinite, JSON says null
    exact = mlops.check(frame, "y")["multicollinearity"]
    assert exact.statistic == math.inf and {"x3", "x4", "x6"} <= set(exact.columns)
    assert "infinite" in exact.message
    assert json.loads(mlops.check(frame, "y").to_json())  # strict JSON despite the infinity


def test_data_checks_count_what_pandas_counts() -> None:
    rng = np.random.default_rng(5)
    frame = planted("clean_classification", seed=5, n=400)
    frame.loc[rng.choice(400, 30, replace=False), "x1"] = np.nan
    frame = pd.concat([frame, frame.iloc[:12]], ignore_index=True)
    frame["const"] = 7.0
    frame["city"] = pd.Series(rng.choice(["a", "b"], len(frame)), dtype="string")
    report = mlops.check(frame, "y")
    assert close(report["missing_values"].statistic, frame.isna().mean().max())
    assert report["missing_values"].columns == ["x1"]
    assert close(report["duplicate_rows"].statistic, frame.duplicated().mean())
    assert report["duplicate_rows"].verdict == "warn"
    assert report["constant_feature"].columns == ["const"]
    shares = frame["y"].value_counts(normalize=True)
    assert close(report["class_imbalance"].statistic, shares.min())
    x = frame["x0"].to_numpy()
    y = frame["y"].to_numpy(dtype=float)
    rho = _spearman(frame["x0"], y, stats.rankdata(y))
    assert close(rho, stats.spearmanr(x, y).statistic)


# -- planted violations ----------------------------------------------------------------------
def test_planted_violations_are_caught_and_clean_data_passes() -> None:
    result = score(range(10))  # 70 planted violations, 20 clean data sets
    assert result["detection_rate"] >= 0.95, result["misses"]
    assert result["false_alarm_rate"] <= 0.10, result["false_alarms"]


@pytest.mark.parametrize("kind", list(VIOLATIONS))
def test_each_planted_violation_names_its_check(kind: str) -> None:
    report = mlops.check(planted(kind, seed=42), "y")
    flagged = {c.id: c for c in report.checks if c.verdict != "pass"}
    assert VIOLATIONS[kind] in flagged
    if kind == "leak":
        assert flagged["target_leakage"].columns == ["leak"]
        assert flagged["target_leakage"].verdict == "fail"


def test_a_large_clean_frame_is_sampled_and_not_flagged() -> None:
    frame = regression("clean", seed=9, n=300_000)
    report = mlops.check(frame, "y")
    assert report.ok and report.counts()["warn"] == 0, report
    assert report.info["residual_sample"] and report.info["residual_rows"] == 10_000
    assert "random sample of 10,000 rows" in report.to_html()


def test_huge_sample_trivial_departure_passes_with_effect_guard() -> None:
    # t-distributed noise with 30 df: K² rejects at 300k rows, but the tails barely differ
    rng = np.random.default_rng(2)
    residuals = rng.standard_t(30, size=300_000)
    check = _normality(residuals, 0.01)
    assert check.p_value < 0.01 and check.verdict == "pass"
    assert "too small to matter" in check.message


def test_model_residuals_instead_of_ols() -> None:
    from sklearn.linear_model import LinearRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import PolynomialFeatures

    frame = planted("squared", seed=4)
    X, y = frame[FEATURES], frame["y"]
    straight = LinearRegression().fit(X, y)
    curved = make_pipeline(PolynomialFeatures(2), LinearRegression()).fit(X, y)
    missed = mlops.check(frame, "y", model=straight)
    assert missed.info["residuals_from"] == "model"
    assert missed["linearity"].verdict != "pass"
    assert mlops.check(frame, "y", model=curved)["linearity"].verdict == "pass"


def test_classification_skips_residual_checks_and_says_why() -> None:
    report = mlops.check(planted("clean_classification", seed=0), "y")
    assert report.task == "classification" and report.info["task_reason"].startswith("integer")
    skipped = {s["id"]: s["reason"] for s in report.skipped}
    assert skipped["linearity"] == "residual checks apply to regression"
    assert {c.id for c in report.checks} >= {"class_imbalance", "target_leakage"}


def test_categorical_copy_of_a_class_label_is_leakage() -> None:
    frame = planted("clean_classification", seed=1)
    frame["label_text"] = frame["y"].map({0: "no", 1: "yes"}).astype("string")
    frame["y"] = frame["y"].map({0: "stay", 1: "churn"})
    report = mlops.check(frame, "y")
    assert report["target_leakage"].verdict == "fail"
    assert report["target_leakage"].columns == ["label_text"]


# -- results, messages, input ----------------------------------------------------------------
def test_result_shape_and_one_sentence_messages() -> None:
    report = mlops.check(planted("heteroscedastic", seed=0), "y", name="h")
    data = json.loads(report.to_json())
    assert {"ok", "checks"} <= set(data) and data["ok"] is report.ok
    assert data["ok"] is False  # White's test fails this one
    ids = [c["id"] for c in data["checks"]]
    assert {"missing_values", "constant_feature", "duplicate_rows", "target_leakage"} <= set(ids)
    assert {"multicollinearity", "linearity", "homoscedasticity", "residual_normality"} <= set(ids)
    assert {"residual_independence", "outliers"} <= set(ids)
    for c in data["checks"]:
        assert {"id", "columns", "statistic", "p_value", "threshold", "verdict", "message"} <= set(
            c
        )
        assert c["verdict"] in {"pass", "warn", "fail"}
        message = c["message"]
        assert message.endswith(".") and "\n" not in message
        assert not re.search(r"[.!?]\s+[A-Z]", message), message  # one sentence
    frame = report.to_frame()
    assert list(frame.index) == ids and frame.loc["homoscedasticity", "verdict"] == "fail"
    html = report.to_html()
    assert "<script" not in html and "homoscedasticity" in html
    text = repr(report)
    assert f"{report.counts()['fail']} fail" in text and "homoscedasticity" in text


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda f: mlops.check(f, "nope"), "no column named 'nope'"),
        (lambda f: mlops.check(f.iloc[:0], "y"), "non-empty DataFrame"),
        (lambda f: mlops.check(f.assign(y=f["x0"].astype(str)), "y", task="regression"),
         "target 'y' is not numeric"),
        (lambda f: mlops.check(f, "y", alpha=1.5), "alpha must be a number between 0 and 1"),
        (lambda f: mlops.check(f, "y", task="forecast"), "task must be"),
        (lambda f: mlops.check(f, "y", model=object()), "must have a predict method"),
        (lambda f: mlops.check([1, 2], "y"), "needs a pandas DataFrame, not list"),
        (lambda f: mlops.check(f, "y", name="a/b"), "invalid report name"),
    ],
)  # fmt: skip
def test_bad_input_is_one_line(call, message: str) -> None:
    frame = planted("clean_regression", seed=0, n=50)
    with pytest.raises(CheckError) as info:
        call(frame)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_a_model_that_cannot_predict_is_one_line() -> None:
    from sklearn.linear_model import LinearRegression

    frame = planted("clean_regression", seed=0, n=80)
    model = LinearRegression().fit(frame[["x0", "x1"]], frame["y"])  # trained on fewer columns
    with pytest.raises(CheckError, match=r"model\.predict on the features failed"):
        mlops.check(frame, "y", model=model)


def test_logged_on_the_active_run(project: Path, client) -> None:
    frame = planted("ar1", seed=0)
    with mlops.track(experiment="checks", autolog=False):
        report = mlops.check(frame, "y", name="ar")
    (run,) = all_runs(client)
    paths = {f.path for f in client.list_artifacts(run.info.run_id, "checks")}
    assert paths == {"checks/ar.json", "checks/ar.html"}
    local = Path(client.download_artifacts(run.info.run_id, "checks/ar.json", str(project)))
    assert json.loads(local.read_text())["counts"] == report.counts()
    tags = run.data.tags
    assert tags["mlops.checks.ar.failed"] == str(report.counts()["fail"]) != "0"
    assert tags["mlops.checks.ar.ok"] == "false"
