"""Explanations: a planted signal ranked, scikit-learn's numbers, SHAP adding up, bad input."""

from __future__ import annotations

import json
import sys

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import make_column_transformer
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
from sklearn.inspection import permutation_importance
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

import jupyter_mlops as mlops
from jupyter_mlops.core.stats.explain import ExplainError

N = 1_000


def planted(seed: int = 0, n: int = N) -> tuple[pd.DataFrame, pd.Series]:
    """y depends strongly on x1, weakly on x2 and not at all on x3."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"x1": rng.normal(size=n), "x2": rng.normal(size=n), "x3": rng.normal(size=n)})
    y = pd.Series(3 * X["x1"] + 0.7 * X["x2"] + rng.normal(0, 0.5, n), name="y")
    return X, y


def with_category(seed: int = 0, n: int = N) -> tuple[pd.DataFrame, pd.Series]:
    X, y = planted(seed, n)
    rng = np.random.default_rng(seed + 1)
    X["plan"] = rng.choice(["basic", "plus", "pro"], n)
    return X, y + np.where(X["plan"] == "pro", 2.0, 0.0)


def pipeline(estimator):
    encode = make_column_transformer(
        (OneHotEncoder(handle_unknown="ignore"), ["plan"]), remainder=StandardScaler()
    )
    return make_pipeline(encode, estimator)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_planted_signal_is_ranked(seed: int) -> None:
    X, y = planted(seed)
    for model in (LinearRegression(), RandomForestRegressor(n_estimators=50, random_state=0)):
        report = mlops.explain(model.fit(X, y), X, y).to_dict()
        importance = report["permutation"]
        assert list(importance) == ["x1", "x2", "x3"], (type(model).__name__, importance)
        assert importance["x1"]["mean"] > 5 * importance["x2"]["mean"]
        assert abs(importance["x3"]["mean"]) < 0.05
        assert report["shap"] is not None and max(report["shap"], key=report["shap"].get) == "x1"


def test_importances_equal_scikit_learn() -> None:
    X, y = planted(3)
    model = RandomForestRegressor(n_estimators=30, random_state=0).fit(X, y)
    for scoring in (None, "neg_mean_absolute_error"):
        report = mlops.explain(model, X, y, n_repeats=4, scoring=scoring, random_state=7)
        expected = permutation_importance(model, X, y, n_repeats=4, scoring=scoring, random_state=7)
        got = report.to_dict()["permutation"]
        for i, feature in enumerate(X.columns):
            assert got[feature]["mean"] == pytest.approx(expected.importances_mean[i], rel=1e-12)
            assert got[feature]["std"] == pytest.approx(expected.importances_std[i], rel=1e-12)
    data = mlops.explain(model, X, y).to_dict()
    assert data["baseline_score"] == pytest.approx(model.score(X, y), rel=1e-12)
    assert data["scoring"] == "r2 (the model's score method)" and data["scored_against"] == "y"
    assert data["sample"] is None and data["n_rows_used"] == N


def test_without_y_the_model_is_scored_against_itself() -> None:
    X, y = planted(4)
    model = LogisticRegression().fit(X, y > 0)
    report = mlops.explain(model, X, random_state=1).to_dict()
    expected = permutation_importance(
        model, X, model.predict(X), scoring="accuracy", n_repeats=5, random_state=1
    )
    assert [v["mean"] for v in report["permutation"].values()] == pytest.approx(
        sorted(expected.importances_mean, reverse=True), rel=1e-12
    )
    assert report["baseline_score"] == 1.0 and report["scoring"] == "accuracy"
    assert report["scored_against"] == "predictions" and report["task"] == "classification"
    assert report["notes"][0].startswith("No y given: each importance is how much the model's")


def test_large_inputs_use_a_stated_seeded_sample() -> None:
    X, y = planted(5, n=7_000)
    model = LinearRegression().fit(X, y)
    report = mlops.explain(model, X, y, random_state=3).to_dict()
    assert report["n_rows"] == 7_000 and report["n_rows_used"] == 5_000
    assert report["sample"] == {"rows": 5_000, "of": 7_000, "seed": 3}
    assert "random sample of 5,000 of 7,000 rows (seed 3)" in report["notes"][-1]
    rows = np.sort(np.random.default_rng(3).choice(7_000, 5_000, replace=False))
    expected = permutation_importance(model, X.iloc[rows], y.iloc[rows], random_state=3)
    assert report["permutation"]["x1"]["mean"] == pytest.approx(expected.importances_mean[0])
    assert mlops.explain(model, X, y, sample=500).to_dict()["n_rows_used"] == 500


def test_shap_adds_up_for_linear_and_tree_models() -> None:
    X, y = planted(6)
    for model in (LinearRegression(), RandomForestRegressor(n_estimators=40, random_state=0)):
        model.fit(X, y)
        report = mlops.explain(model, X, y)
        values = report.shap_values
        assert values.shape == (200, 3) and list(values.columns) == ["x1", "x2", "x3"]
        total = values.sum(axis=1).to_numpy() + report.shap_base_values
        assert total == pytest.approx(model.predict(report.shap_rows), abs=1e-5)
        shap = report.to_dict()["shap"]
        assert list(shap) == ["x1", "x2", "x3"]
        assert shap["x1"] == pytest.approx(np.abs(values["x1"]).mean())
        assert "200 rows against a background of 100" in report.to_dict()["shap_note"]


def test_shap_for_a_classifier_explains_the_positive_class() -> None:
    X, y = planted(7)
    model = RandomForestClassifier(n_estimators=40, random_state=0).fit(X, y > 0)
    report = mlops.explain(model, X, y > 0)
    total = report.shap_values.sum(axis=1).to_numpy() + report.shap_base_values
    assert total == pytest.approx(model.predict_proba(report.shap_rows)[:, 1], abs=1e-6)
    assert "for class True" in report.to_dict()["shap_note"]


def test_pipeline_on_a_frame_with_a_category() -> None:
    X, y = with_category(8)
    model = pipeline(LinearRegression()).fit(X, y)
    report = mlops.explain(model, X, y)
    data = report.to_dict()
    assert set(data["permutation"]) == {"x1", "x2", "x3", "plan"}  # raw columns, not one-hot
    assert next(iter(data["permutation"])) == "x1" and list(data["permutation"])[-1] == "x3"
    assert data["model"] == "Pipeline (LinearRegression)"
    assert data["shap_explainer"] == "PermutationExplainer"
    assert next(iter(data["shap"])) == "x1"
    total = report.shap_values.sum(axis=1).to_numpy() + report.shap_base_values
    assert total == pytest.approx(model.predict(report.shap_rows), abs=1e-6)

    classifier = pipeline(LogisticRegression()).fit(X, y > 1)
    data = mlops.explain(classifier, X).to_dict()
    assert data["task"] == "classification" and data["shap"] is not None
    assert "predicted probability of class True" in data["shap_note"]


def test_a_model_with_only_predict_is_explained() -> None:
    X, y = planted(9)

    class Formula:
        def predict(self, frame):
            return 3 * np.asarray(frame)[:, 0]

    data = mlops.explain(Formula(), X, y).to_dict()
    assert next(iter(data["permutation"])) == "x1" and data["permutation"]["x3"]["mean"] == 0
    assert data["scoring"] == "r2" and data["task"] == "regression"


def test_without_shap_or_when_shap_fails_there_is_a_one_line_note(monkeypatch) -> None:
    X, y = planted(10)
    model = LinearRegression().fit(X, y)
    monkeypatch.setitem(sys.modules, "shap", None)  # import shap raises ImportError
    data = mlops.explain(model, X, y).to_dict()
    assert data["shap"] is None and data["permutation"]
    assert data["shap_note"] == (
        "shap is not installed: pip install 'jupyter-mlops[shap]' for SHAP values."
    )
    monkeypatch.undo()

    class Labels:  # predicts strings and has no predict_proba: nothing numeric to explain
        def predict(self, frame):
            return np.where(np.asarray(frame)[:, 0] > 0, "yes", "no")

    report = mlops.explain(Labels(), X)
    data = report.to_dict()
    assert data["shap"] is None and report.shap_values is None
    assert data["shap_note"].startswith("shap failed: ") and "\n" not in data["shap_note"]
    assert next(iter(data["permutation"])) == "x1"


def test_numpy_input_report_object_and_strict_json() -> None:
    X, y = planted(11)
    model = LinearRegression().fit(X.to_numpy(), y.to_numpy())
    report = mlops.explain(model, X.to_numpy(), y.to_numpy(), name="arrays")
    assert report.features == ["x0", "x1", "x2"]
    frame = report.to_frame()
    assert list(frame.columns) == ["importance_mean", "importance_std", "shap_mean_abs"]
    assert frame.index[0] == "x0" and frame.loc["x0", "shap_mean_abs"] > 0
    assert json.loads(report.to_json()) == report.to_dict()
    text = repr(report)
    assert text.startswith("Explanation 'arrays': LinearRegression (regression)")
    assert text.splitlines()[1].startswith("  x0: ")
    assert "mlops-explain" in report._repr_html_()


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda X, y, m: mlops.explain(object(), X), "needs a predict method; object has none"),
        (lambda X, y, m: mlops.explain(m, X["x1"]), "X must be 2-D .* not a Series"),
        (lambda X, y, m: mlops.explain(m, np.ones(5)), r"its shape is \(5,\)"),
        (lambda X, y, m: mlops.explain(m, X.iloc[:0]), r"X is empty \(0 rows x 3 columns\)"),
        (lambda X, y, m: mlops.explain(m, X, y[:10]), "y has 10 values but X has 1000 rows"),
        (lambda X, y, m: mlops.explain(m, X, y, n_repeats=0), "n_repeats must be a whole number"),
        (lambda X, y, m: mlops.explain(m, X, y, scoring="nope"), "unknown scoring 'nope'"),
        (lambda X, y, m: mlops.explain(m, X, y, name="a/b"), "invalid report name"),
        (lambda X, y, m: mlops.explain(m, [[1, 2], [3]]), "rows differ in length"),
    ],
)
def test_bad_input_is_one_line(call, message: str) -> None:
    X, y = planted(12)
    model = LinearRegression().fit(X, y)
    with pytest.raises(ExplainError, match=message) as info:
        call(X, y, model)
    assert "\n" not in str(info.value)


def test_report_inside_a_run_is_logged(project, client) -> None:
    X, y = planted(13)
    model = LinearRegression().fit(X, y)
    with mlops.track(experiment="explain", autolog=False) as run:
        report = mlops.explain(model, X, y, name="lr")
    artifacts = {f.path for f in client.list_artifacts(run.run_id, "explain")}
    assert artifacts == {"explain/lr.html", "explain/lr.json"}
    client.download_artifacts(run.run_id, "explain", str(project / "out"))
    assert json.loads((project / "out" / "explain" / "lr.json").read_text()) == report.to_dict()
    page = (project / "out" / "explain" / "lr.html").read_text()
    assert page.startswith("<!DOCTYPE html>") and "<script" not in page and "https://" not in page
    assert client.get_run(run.run_id).data.tags["mlops.explain.lr.top"] == "x1, x2, x3"
