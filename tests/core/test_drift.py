"""Drift: planted shifts found and nothing else, numbers equal scipy's, odd frames, bad input."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

import jupyter_mlops as mlops
from jupyter_mlops.core.stats.drift import DriftError, compare
from jupyter_mlops.core.stats.drift_tests import psi

N = 3_000
PLANS = ["basic", "plus", "pro", "enterprise"]


def population(seed: int, n: int = N, shifted: bool = False) -> pd.DataFrame:
    """Seven columns; with ``shifted`` the mean of ``tenure`` (0.5 sd) and the mix of ``plan``."""
    rng = np.random.default_rng(seed)
    mix = [0.25, 0.25, 0.25, 0.25] if shifted else [0.4, 0.3, 0.2, 0.1]
    return pd.DataFrame(
        {
            "tenure": rng.normal(24 + (6 if shifted else 0), 12, n),  # sd 12: a 0.5 sd shift
            "income": rng.lognormal(10, 0.8, n),
            "visits": rng.poisson(3, n),
            "score": rng.uniform(0, 1, n),
            "plan": rng.choice(PLANS, n, p=mix),
            "region": rng.choice(["north", "south", "east", "west", "centre"], n),
            "active": rng.random(n) < 0.7,
        }
    )


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_exactly_the_shifted_columns_drift(seed: int) -> None:
    report = mlops.drift(population(seed), population(seed + 100, shifted=True))
    assert sorted(report.drifted) == ["plan", "tenure"]
    data = report.to_dict()
    assert data["columns"]["tenure"]["test"] == "ks+chi2"
    assert data["columns"]["plan"]["test"] == "chi2"
    for column in ("plan", "tenure"):
        r = data["columns"][column]
        assert r["p_value_adjusted"] < 0.05 and r["psi"] >= 0.1 and r["drifted"]
    assert "median moved" in data["columns"]["tenure"]["message"]
    assert "' went from " in data["columns"]["plan"]["message"]


def test_fresh_samples_of_one_population_rarely_drift() -> None:
    flagged = [
        len(mlops.drift(population(seed), population(seed + 1000)).drifted) for seed in range(8)
    ]
    assert max(flagged) <= 1, flagged
    assert sum(flagged) <= 2, flagged  # Holm keeps the family-wise error near alpha


def test_a_million_rows_do_not_flag_a_trivial_shift() -> None:
    rng = np.random.default_rng(0)
    n = 1_000_000
    ref = pd.DataFrame({"x": rng.normal(0, 1, n)})
    cur = pd.DataFrame({"x": rng.normal(0.02, 1, n)})  # significant, but 0.02 sd
    r = compare(ref, cur)["columns"]["x"]
    assert r["p_value_adjusted"] < 1e-6 and r["psi"] < 0.01
    assert r["verdict"] == "minor" and not r["drifted"]
    assert "too small to matter" in r["message"]


def test_ks_equals_scipy() -> None:
    from scipy.stats import ks_2samp

    rng = np.random.default_rng(4)
    ref = pd.DataFrame({"x": rng.normal(0, 1, 2_000), "k": rng.integers(0, 6, 2_000)})
    cur = pd.DataFrame({"x": rng.normal(0.1, 1, 1_500), "k": rng.integers(0, 7, 1_500)})
    cur.loc[::9, "x"] = np.nan  # missing values are left out of the test
    report = compare(ref, cur)
    for column in ("x", "k"):
        expected = ks_2samp(ref[column].dropna(), cur[column].dropna())
        got = report["columns"][column]
        assert got["statistic"] == pytest.approx(expected.statistic, rel=1e-12)
        assert got["tests"]["ks"]["p_value"] == pytest.approx(expected.pvalue, rel=1e-9)
        # the column's p-value: Bonferroni over KS and the chi-square on PSI's bins
        both = (expected.pvalue, got["tests"]["chi2"]["p_value"])
        assert got["p_value"] == pytest.approx(min(1.0, 2 * min(both)), rel=1e-12)


def test_ks_on_large_samples_matches_scipy_closely() -> None:
    """Above 100,000 values the statistic is scipy's and the p-value within 1% of it."""
    from scipy.stats import ks_2samp

    rng = np.random.default_rng(5)
    ref = pd.DataFrame({"x": rng.normal(0, 1, 150_000), "k": rng.integers(0, 40, 150_000)})
    cur = pd.DataFrame({"x": rng.normal(0.01, 1, 120_000), "k": rng.integers(0, 40, 120_000)})
    cur.loc[:2, "x"] = np.inf
    report = compare(ref, cur)
    for column in ("x", "k"):
        expected = ks_2samp(ref[column], cur[column])
        got = report["columns"][column]
        assert got["statistic"] == pytest.approx(expected.statistic, rel=1e-12)
        ks_p = got["tests"]["ks"]["p_value"]
        assert expected.pvalue > 1e-4 and ks_p == pytest.approx(expected.pvalue, rel=0.01)


def test_chi_square_equals_scipy_on_the_same_counts() -> None:
    from scipy.stats import chi2_contingency

    rng = np.random.default_rng(6)
    ref = pd.DataFrame({"plan": rng.choice(PLANS, 2_000, p=[0.4, 0.3, 0.2, 0.1])})
    cur = pd.DataFrame({"plan": rng.choice(PLANS, 1_000, p=[0.35, 0.3, 0.2, 0.15])})
    table = pd.concat([ref["plan"].value_counts(), cur["plan"].value_counts()], axis=1)
    expected = chi2_contingency(table.to_numpy().T)
    got = compare(ref, cur)["columns"]["plan"]
    assert got["statistic"] == pytest.approx(expected.statistic, rel=1e-12)
    assert got["p_value"] == pytest.approx(expected.pvalue, rel=1e-9)
    assert got["merged_levels"] == 0


def test_rare_levels_are_merged_and_new_levels_named() -> None:
    from scipy.stats import chi2_contingency

    new = [f"n{i}" for i in range(6) for _ in range(3)]  # six unseen levels, three rows each
    ref = pd.Series(["a"] * 500 + ["b"] * 300 + ["r1"] * 4 + ["r2"] * 3 + ["r3"] * 4)
    cur = pd.Series(["a"] * 400 + ["b"] * 350 + ["r1"] * 1 + ["big_new"] * 30 + new)
    got = compare(pd.DataFrame({"c": ref}), pd.DataFrame({"c": cur}))["columns"]["c"]
    # a frequent new level stays a level of its own; rare ones are folded, seen apart from new
    assert got["bins"]["labels"] == ["a", "b", "big_new", "(other)", "(new levels)"]
    assert got["merged_levels"] == 9
    assert got["new_levels"] == 7 and got["new_levels_share"] == pytest.approx(48 / 799)
    counts = np.array([[500, 300, 0, 11, 0], [400, 350, 30, 1, 18]])
    expected = chi2_contingency(counts)
    assert got["statistic"] == pytest.approx(expected.statistic, rel=1e-12)
    assert got["p_value"] == pytest.approx(expected.pvalue, rel=1e-9)
    assert got["psi"] == pytest.approx(psi(counts[0], counts[1]), rel=1e-12)
    assert "7 levels are new (6.0% of current rows)" in got["message"]


def hand_psi(p: list[float], q: list[float]) -> float:
    total = 0.0
    for a, b in zip(p, q, strict=True):
        a, b = a or 1e-4, b or 1e-4
        total += (b - a) * math.log(b / a)
    return total


def test_psi_equals_a_hand_computation() -> None:
    assert psi([50, 50], [25, 75]) == pytest.approx(
        (0.25 - 0.5) * math.log(0.25 / 0.5) + (0.75 - 0.5) * math.log(0.75 / 0.5), rel=1e-12
    )
    rng = np.random.default_rng(8)
    ref = rng.normal(0, 1, 1_000)
    cur = np.concatenate([rng.normal(0.3, 1.2, 900), [50.0, -50.0], np.full(98, np.nan)])
    got = compare(pd.DataFrame({"x": ref}), pd.DataFrame({"x": cur}))["columns"]["x"]
    edges = np.quantile(ref, [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9])

    def shares(values: np.ndarray) -> list[float]:
        counts = [0] * 11  # ten bins, the outer ones open-ended, then missing values
        for v in values:
            if np.isnan(v):
                counts[10] += 1
            else:
                counts[sum(v > e for e in edges)] += 1
        return [c / len(values) for c in counts]

    assert got["psi"] == pytest.approx(hand_psi(shares(ref), shares(cur)), rel=1e-12)
    assert got["bins"]["labels"][0] == f"≤ {edges[0]:.4g}" and got["bins"]["labels"][-1] == (
        "(missing)"
    )
    assert got["bins"]["reference"][-1] == 0 and got["bins"]["current"][-1] == 0.098

    levels = compare(
        pd.DataFrame({"c": ["a"] * 60 + ["b"] * 40}), pd.DataFrame({"c": ["a"] * 30 + ["b"] * 70})
    )["columns"]["c"]
    assert levels["psi"] == pytest.approx(hand_psi([0.6, 0.4], [0.3, 0.7]), rel=1e-12)


def test_holm_adjustment_equals_statsmodels() -> None:
    from statsmodels.stats.multitest import multipletests

    report = compare(population(11), population(12, shifted=True))
    raw = [r["p_value"] for r in report["columns"].values()]
    expected = multipletests(raw, method="holm")[1]
    got = [r["p_value_adjusted"] for r in report["columns"].values()]
    assert got == pytest.approx(list(expected), rel=1e-12)
    assert report["correction"] == "holm" and report["alpha"] == 0.05


def test_target_drift_is_reported_apart() -> None:
    ref, cur = population(21), population(22)
    rng = np.random.default_rng(0)
    ref["churned"] = rng.random(N) < 0.1
    cur["churned"] = rng.random(N) < 0.3
    report = mlops.drift(ref, cur, target="churned").to_dict()
    assert "churned" not in report["columns"] and "churned" not in report["drifted"]
    target = report["target"]
    assert target["column"] == "churned" and target["drifted"] and target["test"] == "chi2"
    assert target["message"].startswith("The target churned drifted")
    assert target["p_value_adjusted"] == target["p_value"]


@pytest.mark.parametrize("strings", ["str", "object", "category"])
def test_string_dtypes_and_odd_columns(strings: str) -> None:
    ref, cur = population(31), population(32)
    for frame in (ref, cur):
        frame["plan"] = frame["plan"].astype(strings)
        frame["nullable"] = pd.array(np.arange(N) % 7, dtype="Int64")
        frame.loc[::5, "nullable"] = pd.NA
        frame["when"] = pd.date_range("2024-01-01", periods=N, freq="h")
        frame[3] = 1.5  # a constant with a non-string name
    ref["empty"] = np.nan
    cur["empty"] = None
    ref["lists"] = cur["lists"] = [[i % 3] for i in range(N)]  # unhashable: cannot be counted
    ref["gone"] = np.random.default_rng(0).normal(size=N)
    cur["gone"] = np.nan  # every value missing now
    ref["old"] = 1
    cur["new"] = "x"
    cur.loc[::3, "plan"] = None  # a third missing: a shift the chi-square sees as a level
    report = compare(ref, cur)
    columns = report["columns"]
    assert columns["nullable"]["kind"] == "numeric" and columns["nullable"]["verdict"] == "stable"
    assert columns["3"]["psi"] == 0 and columns["3"]["p_value"] == pytest.approx(1.0)
    assert columns["plan"]["drifted"] and columns["plan"]["message"].endswith(
        "(missing) went from 0.0% to 33.3% of rows."
    )
    assert set(report["skipped"]) == {"when", "empty", "lists"}
    assert "unhashable" in report["skipped"]["lists"]
    gone = columns["gone"]  # KS has nothing to read; the chi-square on the bins sees it all
    assert gone["tests"]["ks"]["p_value"] is None and gone["p_value"] < 1e-100
    assert gone["verdict"] == "major" and gone["drifted"]
    assert gone["message"].startswith("gone has no values in the current frame (binned chi-")
    assert report["only_reference"] == ["old"] and report["only_current"] == ["new"]
    json.dumps(report, allow_nan=False)


def test_missing_values_alone_are_a_major_shift() -> None:
    """KS reads only the values present; the chi-square on PSI's bins (missing values a bin)
    is the test that sees a change in the missing share."""
    rng = np.random.default_rng(1)
    ref = pd.DataFrame({"x": rng.normal(size=2_000)})
    cur = pd.DataFrame({"x": np.where(rng.random(2_000) < 0.4, np.nan, rng.normal(size=2_000))})
    r = compare(ref, cur)["columns"]["x"]
    assert r["tests"]["ks"]["p_value"] > 0.05 and r["tests"]["chi2"]["p_value"] < 1e-100
    assert r["verdict"] == "major" and r["drifted"] and r["p_value_adjusted"] < 1e-100
    assert "missing values went from 0.0% to" in r["message"]


def test_report_object() -> None:
    report = mlops.drift(population(41), population(42, shifted=True), name="weekly")
    frame = report.to_frame()
    assert list(frame.index) == list(report.to_dict()["columns"])
    assert frame.loc["tenure", "drifted"] and frame.loc["tenure", "test"] == "ks+chi2"
    assert frame.loc["region", "verdict"] == "stable"
    assert json.loads(report.to_json()) == report.to_dict()
    text = repr(report)
    assert text.startswith("Drift report 'weekly': 2 of 7 columns drifted")
    assert len(text.splitlines()) == 3
    assert "mlops-drift" in report._repr_html_()


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: mlops.drift([1, 2], pd.DataFrame({"a": [1]})), "the reference is a list"),
        (lambda: mlops.drift(pd.DataFrame({"a": [1]}), {"a": [1]}), "the current is a dict"),
        (lambda: mlops.drift(pd.DataFrame({"a": []}), pd.DataFrame({"a": [1]})), "is empty"),
        (
            lambda: mlops.drift(pd.DataFrame({"a": [1]}), pd.DataFrame({"b": [1]})),
            "no column in common",
        ),
        (
            lambda: mlops.drift(pd.DataFrame({"a": [1]}), pd.DataFrame({"a": [1]}), target="y"),
            "no column named 'y' in the reference and current frames",
        ),
        (
            lambda: mlops.drift(pd.DataFrame({"a": [1]}), pd.DataFrame({"a": [1]}), alpha=1.5),
            "alpha must be a number between 0 and 1",
        ),
        (
            lambda: mlops.drift(pd.DataFrame({"a": [1.0]}), pd.DataFrame({"a": ["x"]})),
            "'a' is numeric in the reference but categorical in the current frame",
        ),
        (
            lambda: mlops.drift(pd.DataFrame({"a": [1]}), pd.DataFrame({"a": [1]}), name="a b"),
            "invalid report name",
        ),
        (
            lambda: mlops.drift(pd.DataFrame([[1, 2]], columns=["a", "a"]), pd.DataFrame()),
            "repeated in the reference: a",
        ),
    ],
)
def test_bad_input_is_one_line(call, message: str) -> None:
    with pytest.raises(DriftError, match=message) as info:
        call()
    assert "\n" not in str(info.value)


def test_report_inside_a_run_is_logged(project, client) -> None:
    with mlops.track(experiment="drift", autolog=False) as run:
        report = mlops.drift(population(51), population(52, shifted=True), name="june")
    artifacts = {f.path for f in client.list_artifacts(run.run_id, "drift")}
    assert artifacts == {"drift/june.html", "drift/june.json"}
    client.download_artifacts(run.run_id, "drift", str(project / "out"))
    logged = json.loads((project / "out" / "drift" / "june.json").read_text())
    assert logged == report.to_dict()
    page = (project / "out" / "drift" / "june.html").read_text()
    assert page.startswith("<!DOCTYPE html>") and "tenure" in page
    assert "<script" not in page and "http://" not in page and "https://" not in page
    assert client.get_run(run.run_id).data.tags["mlops.drift.june.drifted"] == "2"
