"""mlops.check on classification targets: separation, linearity of the logit, influence and
calibration, on data sets that ship with statsmodels and scikit-learn (no network), with the
verdicts the literature gives, planted violations, clean data, and odd input."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats

import jupyter_mlops as mlops
from jupyter_mlops.core.stats import classifier_checks
from jupyter_mlops.core.stats.calibration import hosmer_lemeshow, reliability_table, spiegelhalter
from jupyter_mlops.core.stats.checks import CheckError

CLASSIFIER_IDS = ("separation", "logit_linearity", "logit_influence", "calibration", "brier_score")
SPECTOR = ["GPA", "TUCE", "PSI"]


def close(a: float | None, b: float, rel: float = 1e-7) -> bool:
    return a is not None and math.isclose(a, float(b), rel_tol=rel, abs_tol=1e-12)


def spector() -> pd.DataFrame:
    return sm.datasets.spector.load_pandas().data


def iris() -> pd.DataFrame:
    from sklearn.datasets import load_iris

    return load_iris(as_frame=True).frame


def logistic(seed: int, n: int, kind: str = "clean") -> pd.DataFrame:
    """Five standard-normal features, y drawn from a logistic model (clean), or with a bend."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 5))
    eta = x @ np.array([1.0, 0.8, -0.6, 0.5, 0.3])
    if kind == "square":  # a U-shaped bend in x0 on top of the linear effect
        eta = eta + 0.6 * (x[:, 0] ** 2 - 1)
    if kind == "log":  # the logit is linear in log(x0), x0 lognormal
        x[:, 0] = rng.lognormal(size=n)
        eta = 1.5 * np.log(x[:, 0]) + x[:, 1:] @ np.array([0.8, -0.6, 0.5, 0.3])
    frame = pd.DataFrame(x, columns=[f"x{i}" for i in range(5)])
    frame["y"] = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(int)
    return frame


def run(frame: pd.DataFrame, model=None):
    """The classifier checks alone (the data checks have their own tests)."""
    features = [c for c in frame.columns if c != "y"]
    return classifier_checks.run(frame, "y", features, features, model, 0.05)


# -- real data: the verdicts the literature gives --------------------------------------------
def test_spector_has_the_logit_greene_reports_and_no_alarm() -> None:
    # Spector & Mazzeo (1980); Greene, Econometric Analysis (5th ed. 2003), ch. 21, Table 21.1:
    # the logit of GRADE on GPA, TUCE and PSI has finite estimates (GPA 2.826, TUCE 0.095, PSI
    # 2.379: the MLE exists, so the classes are not separated), log-likelihood -12.89 against
    # -20.59 for the constant alone, i.e. McFadden's pseudo R² 0.374.
    report = mlops.check(spector(), "GRADE")
    assert report.task == "classification"
    assert report["separation"].verdict == "pass"
    assert close(report.info["logit_pseudo_r2"], 0.374, rel=2e-3)
    assert report.info["logit_features"] == SPECTOR and report.info["classifier_rows"] == 32
    # 32 rows: Box-Tidwell's LR is 2.1 on 2 df (p 0.35); Cook's distance at most 0.34 and
    # |DFBETAS| at most 0.92, under the cut-offs of 0.86 (F median) and 1
    for cid in CLASSIFIER_IDS:
        assert report[cid].verdict == "pass", report[cid].message
    # on 32 rows Hosmer-Lemeshow uses 3 groups of about 10 rows, not ten of 3
    assert report["calibration"].effect["df"] == 1 and len(report.info["reliability"]) == 3


def test_box_tidwell_and_influence_equal_statsmodels_by_hand() -> None:
    frame = spector()
    report = mlops.check(frame, "GRADE")
    exog = sm.add_constant(frame[SPECTOR].to_numpy(), has_constant="add")
    y = frame["GRADE"].to_numpy()
    base = sm.Logit(y, exog).fit(disp=0)
    terms = [frame[c].to_numpy() * np.log(frame[c].to_numpy()) for c in ("GPA", "TUCE")]
    augmented = sm.Logit(y, np.column_stack([exog, *terms])).fit(disp=0)  # PSI is 0/1: a level
    lr = 2 * (augmented.llf - base.llf)
    assert close(report["logit_linearity"].statistic, lr, rel=1e-6)
    assert close(report["logit_linearity"].p_value, stats.chi2.sf(lr, 2), rel=1e-5)
    influence = sm.GLM(y, exog, family=sm.families.Binomial()).fit().get_influence()
    assert close(report["logit_influence"].statistic, influence.cooks_distance[0].max(), rel=1e-5)
    dfbetas = np.abs(influence.dfbetas).max()
    # (our GLM starts from the Logit's estimates: the two converge within 1e-5)
    assert close(report["logit_influence"].effect["max_abs_dfbetas"], dfbetas, rel=1e-4)
    assert close(report["logit_influence"].threshold, stats.f.ppf(0.5, 4, 28))


def test_calibration_statistics_equal_direct_computations() -> None:
    from sklearn.metrics import brier_score_loss

    rng = np.random.default_rng(4)
    p = rng.uniform(0.02, 0.98, 400)
    y = (rng.random(400) < p**1.5).astype(float)  # miscalibrated: events rarer than p says
    z, p_value, brier, expected = spiegelhalter(p, y)
    assert close(brier, brier_score_loss(y, p)) and close(expected, np.mean(p * (1 - p)))
    by_formula = np.sum((y - p) * (1 - 2 * p)) / np.sqrt(np.sum((1 - 2 * p) ** 2 * p * (1 - p)))
    assert close(z, by_formula) and close(p_value, 2 * stats.norm.sf(abs(by_formula)))
    groups = pd.qcut(pd.Series(p).rank(method="first"), 10, labels=False)
    table = reliability_table(p, y)
    frame = pd.DataFrame({"p": p, "y": y, "g": groups}).groupby("g")
    observed, expected_n, n = frame["y"].sum(), frame["p"].sum(), frame.size()
    c_hat = np.sum((observed - expected_n) ** 2 / (expected_n * (1 - expected_n / n)))
    statistic, hl_p, df = hosmer_lemeshow(p, y, table, in_sample=True)
    assert close(statistic, c_hat) and df == 8 and close(hl_p, stats.chi2.sf(c_hat, 8))
    assert [row["rows"] for row in table] == n.tolist()


def test_iris_setosa_is_completely_separated_by_the_petals() -> None:
    # Fisher (1936); the data set's description (UCI, and scikit-learn's load_iris().DESCR):
    # "One class is linearly separable from the other 2" - setosa, split by petal length (and
    # width) alone; a logistic MLE of setosa vs the rest does not exist (Albert & Anderson 1984).
    frame = iris()
    frame["setosa"] = (frame.pop("target") == 0).astype(int)
    report = mlops.check(frame, "setosa")
    separation = report["separation"]
    assert separation.verdict == "fail" and separation.effect["complete"] == 1
    assert {"petal length (cm)", "petal width (cm)"} <= set(separation.columns)
    assert "complete separation" in separation.message and "Firth" in separation.message
    skipped = {s["id"]: s["reason"] for s in report.skipped}
    for cid in ("logit_linearity", "logit_influence", "calibration", "brier_score"):
        assert "separat" in skipped[cid]


def test_iris_versicolor_and_virginica_are_not_separated() -> None:
    # The same description: "the latter are NOT linearly separable from each other" (Fisher
    # 1936; the discriminant misclassifies 3 of these 100 flowers).
    frame = iris()
    frame = frame[frame["target"] > 0].copy()
    frame["virginica"] = (frame.pop("target") == 2).astype(int)
    report = mlops.check(frame, "virginica")
    assert report["separation"].verdict == "pass"
    assert report["calibration"].verdict == "pass" and report["brier_score"].verdict == "pass"


def test_fair_affairs_large_sample_no_separation_no_influential_row() -> None:
    # Fair (1978), as in statsmodels' discrete-choice example (the logit of affairs > 0 on all
    # eight features has finite estimates); with 6,366 rows no single row moves the fit: one
    # row's Cook's distance is of order p/n.
    frame = sm.datasets.fair.load_pandas().data
    frame["affair"] = (frame.pop("affairs") > 0).astype(int)
    report = mlops.check(frame, "affair")
    assert report["separation"].verdict == "pass"
    influence = report["logit_influence"]
    assert influence.verdict == "pass" and influence.statistic < 0.01
    assert not report.info["classifier_sample"] and report.info["classifier_rows"] == 6366


def test_naive_bayes_is_poorly_calibrated_and_logistic_regression_is_not() -> None:
    # Niculescu-Mizil & Caruana (2005), "Predicting good probabilities with supervised
    # learning", ICML, sections 4-5: naive Bayes pushes probabilities to 0 and 1
    # (overconfident), logistic regression predicts well-calibrated probabilities.
    from sklearn.datasets import load_breast_cancer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split
    from sklearn.naive_bayes import GaussianNB
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    frame = load_breast_cancer(as_frame=True).frame
    train, test = train_test_split(frame, test_size=0.5, random_state=0, stratify=frame.target)
    features = [c for c in frame.columns if c != "target"]
    bayes = GaussianNB().fit(train[features], train["target"])
    report = mlops.check(test, "target", model=bayes)
    assert report.info["calibration_from"] == "model"
    brier = report["brier_score"]
    assert brier.verdict == "fail" and "overconfident" in brier.message
    assert report["calibration"].verdict in ("warn", "fail")
    logit = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    report = mlops.check(test, "target", model=logit.fit(train[features], train["target"]))
    assert report["brier_score"].verdict == "pass" and report["calibration"].verdict == "pass"
    # 285 rows, 30 features: the classes are completely separable, which is the data's fact
    # (an unpenalized logistic fit on these rows diverges), not the model's: a warning, since
    # no single feature splits them and a penalized fit (the model's) is the remedy
    assert report["separation"].verdict == "warn"
    assert "A combination of" in report["separation"].message
    assert "Reliability" in report.to_html() and len(report.info["reliability"]) == 10


# -- planted violations and clean data -------------------------------------------------------
def test_planted_quasi_complete_separation_names_the_feature() -> None:
    # A level seen with one class only: quasi-complete separation (Albert & Anderson 1984);
    # the MLE of its coefficient is infinite.
    frame = spector()
    frame["honours"] = 0.0
    frame.loc[frame.index[frame["GRADE"] == 1][:4], "honours"] = 1.0
    separation = mlops.check(frame, "GRADE")["separation"]
    assert separation.verdict == "warn" and separation.columns == ["honours"]
    assert "quasi-complete" in separation.message and separation.effect["complete"] == 0


def test_a_decimal_slip_in_spector_is_an_influential_row() -> None:
    # GPA 2.66 typed as 26.6 in a student without an A: the one row drags the GPA coefficient
    frame = spector()
    frame.index = [f"student {i + 1}" for i in range(len(frame))]
    frame.loc["student 1", "GPA"] = 26.6
    influence = mlops.check(frame, "GRADE")["logit_influence"]
    assert influence.verdict == "warn" and influence.columns == []
    assert influence.rows == ["student 1"]
    assert influence.effect["max_abs_dfbetas"] > 10 and "student 1" in influence.message


@pytest.mark.parametrize("kind", ["square", "log"])
def test_planted_bends_in_the_logit_are_flagged(kind: str) -> None:
    # 10 seeds of 1,000 rows; over 100 seeds every one was flagged, with x0 named
    for seed in range(10):
        checks, _, _ = run(logistic(seed, 1000, kind))
        linearity = next(c for c in checks if c.id == "logit_linearity")
        assert linearity.verdict != "pass", (seed, linearity.message)
        assert linearity.columns[0] == "x0"


def test_clean_logistic_data_rarely_alarms() -> None:
    # Three tests share alpha 0.05 by Bonferroni, and separation and influence have cut-offs a
    # clean fit of 500 rows does not reach, so a clean data set alarms with probability at most
    # 0.05 (4.0% over 200 seeds). With 60 seeds, at most 7 alarms: were the rate 0.05,
    # P(8 or more) = 0.0098 (binomial), so this fails by chance about once in a hundred runs.
    alarms = []
    for seed in range(60):
        checks, skipped, info = run(logistic(1000 + seed, 500))
        assert not skipped and {c.id for c in checks} == set(CLASSIFIER_IDS)
        flagged = [c.id for c in checks if c.verdict != "pass"]
        if flagged:
            alarms.append((seed, flagged))
    assert len(alarms) <= 7, alarms
    assert math.isclose(info["classifier_alpha"], 0.05 / 3)


def test_large_frames_use_a_stated_seeded_sample_named_by_index_labels() -> None:
    frame = logistic(7, 30_000)
    frame.index = [f"r{i}" for i in range(len(frame))]
    first = mlops.check(frame, "y")
    assert first.info["classifier_sample"] and first.info["classifier_rows"] == 10_000
    assert first.info["classifier_seed"] == 0
    assert "random sample of 10,000 rows (seed 0)" in first.to_html()
    again = mlops.check(frame, "y")
    assert [c.to_dict() for c in first.checks] == [c.to_dict() for c in again.checks]
    assert first["separation"].verdict == "pass"


# -- what does not apply, and odd input ------------------------------------------------------
def test_multiclass_targets_say_the_checks_apply_to_two_classes() -> None:
    # anes96's party identification has seven levels (0 strong Democrat ... 6 strong Republican)
    frame = sm.datasets.anes96.load_pandas().data
    report = mlops.check(frame, "PID", task="classification")
    skipped = {s["id"]: s["reason"] for s in report.skipped}
    for cid in CLASSIFIER_IDS:
        assert cid not in [c.id for c in report.checks]
        assert "binary target" in skipped[cid] and "7 classes" in skipped[cid]


def test_text_and_boolean_targets_model_their_second_class() -> None:
    frame = spector()
    frame["GRADE"] = frame["GRADE"].map({0.0: "no", 1.0: "yes"})
    report = mlops.check(frame, "GRADE")
    assert report.info["positive_class"] == "yes" and report["separation"].verdict == "pass"
    frame["GRADE"] = frame["GRADE"] == "yes"
    assert mlops.check(frame, "GRADE").info["positive_class"] == "True"


def test_models_without_probabilities_or_with_broken_ones() -> None:
    from sklearn.linear_model import LogisticRegression
    from sklearn.svm import LinearSVC

    frame = spector()
    x, y = frame[SPECTOR], frame["GRADE"]
    report = mlops.check(frame, "GRADE", model=LinearSVC().fit(x, y))
    assert report.info["calibration_from"] == "logit"  # the logistic fit's are still checked
    assert any("no predict_proba" in s["reason"] for s in report.skipped)

    class Broken:
        def predict(self, x):
            return np.zeros(len(x))

        def predict_proba(self, x):
            raise ValueError("features\n were renamed")

    one_line = r"^model\.predict_proba on the features failed: features were renamed$"
    with pytest.raises(CheckError, match=one_line):
        mlops.check(frame, "GRADE", model=Broken())
    other = LogisticRegression().fit(x, y.map({0.0: "a", 1.0: "b"}))
    with pytest.raises(CheckError, match="do not include the target's class"):
        mlops.check(frame, "GRADE", model=other)

    class Scores(Broken):
        def predict_proba(self, x):
            return np.column_stack([np.zeros(len(x)), np.full(len(x), 3.0)])

    with pytest.raises(CheckError, match=r"not probabilities in \[0, 1\]"):
        mlops.check(frame, "GRADE", model=Scores())


def test_degenerate_frames_skip_with_a_reason() -> None:
    few = spector().iloc[:15]
    skipped = {s["id"]: s["reason"] for s in mlops.check(few, "GRADE").skipped}
    assert "only 15 complete rows" in skipped["separation"]

    words = spector()
    for c in SPECTOR:
        words[c] = words[c].astype(str)
    skipped = {s["id"]: s["reason"] for s in mlops.check(words, "GRADE").skipped}
    assert "no numeric features" in skipped["logit_linearity"]
    assert "no probabilities" in skipped["calibration"]

    wide = pd.DataFrame(np.random.default_rng(0).normal(size=(300, 201)))
    wide.columns = [f"f{i}" for i in range(201)]
    wide["y"] = np.arange(300) % 2
    checks, skipped, _ = classifier_checks.run(wide, "y", list(wide.columns[:-1]), [], None, 0.05)
    assert not checks and "at most 200" in skipped[0]["reason"]


def test_collinear_and_infinite_features_do_not_break_the_fit() -> None:
    frame = spector()
    frame["GPA_TUCE"] = frame["GPA"] + frame["TUCE"]  # an exact combination: dropped
    frame.loc[3, "TUCE"] = np.inf  # a row the fit cannot read: left out
    checks, skipped, info = run(frame.rename(columns={"GRADE": "y"}))
    assert len(info["logit_features"]) == 3 and info["classifier_rows"] == 31
    assert {c.id for c in checks} == set(CLASSIFIER_IDS) and not skipped


def test_the_units_of_a_feature_do_not_change_the_verdicts() -> None:
    # GPA in units of 1e-9 (or 1e9) is the same logistic model with a rescaled coefficient;
    # unscaled, statsmodels' Newton steps do not converge on it in 200 iterations
    plain = mlops.check(spector(), "GRADE")
    for factor in (1e-9, 1e9):
        frame = spector()
        frame["GPA"] = frame["GPA"] * factor
        scaled = mlops.check(frame, "GRADE")
        for cid in CLASSIFIER_IDS:
            assert scaled[cid].verdict == plain[cid].verdict
            if plain[cid].statistic:
                assert close(scaled[cid].statistic, plain[cid].statistic, rel=1e-4)


def test_more_features_than_rows_say_how_many_rows_are_needed() -> None:
    wide = pd.DataFrame(np.random.default_rng(0).normal(size=(40, 50)))
    wide.columns = [f"f{i}" for i in range(50)]
    wide["y"] = np.arange(40) % 2
    skipped = {s["id"]: s["reason"] for s in mlops.check(wide, "y").skipped}
    assert skipped["separation"] == (
        "only 40 complete rows; the logistic diagnostics need at least 55 (50 numeric features + 5)"
    )


class Softmax:
    """A model that knows the true class probabilities of ``three_classes``, sharpened by
    ``temperature`` < 1 (overconfident) or left as they are (calibrated)."""

    classes_ = np.array(["c", "a", "b"])  # not the target's sorted order, on purpose

    def __init__(self, temperature: float = 1.0) -> None:
        self.temperature = temperature

    def predict(self, x: pd.DataFrame) -> np.ndarray:
        return self.classes_[self.predict_proba(x).argmax(axis=1)]

    def predict_proba(self, x: pd.DataFrame) -> np.ndarray:
        logits = x[["x0", "x1"]].to_numpy() @ np.array([[0.0, 1.0, -1.0], [0.0, -0.5, 1.0]])
        logits = logits / self.temperature
        e = np.exp(logits - logits.max(axis=1, keepdims=True))
        return (e / e.sum(axis=1, keepdims=True))[:, [2, 0, 1]]  # columns c, a, b


def three_classes(seed: int, n: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(rng.normal(size=(n, 2)), columns=["x0", "x1"])
    proba = Softmax().predict_proba(frame)[:, [1, 2, 0]]  # a, b, c
    u = rng.random(n)[:, None]
    frame["y"] = np.array(["a", "b", "c"])[(u > proba.cumsum(axis=1)).sum(axis=1)]
    return frame


def test_a_multiclass_model_is_calibrated_one_class_against_the_rest() -> None:
    frame = three_classes(0, 3000)
    calibrated = mlops.check(frame, "y", model=Softmax())
    # each class against the rest, 2 tests per class share alpha: 0.05 / 6
    assert math.isclose(calibrated.info["classifier_alpha"], 0.05 / 6)
    assert calibrated["calibration"].verdict == "pass"
    assert calibrated["brier_score"].verdict == "pass"
    skipped = {s["id"]: s["reason"] for s in calibrated.skipped}
    assert "binary target" in skipped["separation"] and "3 classes" in skipped["separation"]
    sharpened = mlops.check(frame, "y", model=Softmax(temperature=0.4))
    assert sharpened["brier_score"].verdict == "fail"
    assert "overconfident" in sharpened["brier_score"].message
    assert sharpened["calibration"].verdict != "pass"
    assert sharpened["calibration"].message.startswith("Class ")
    assert "against the rest" in sharpened.to_html()


def test_a_model_fitted_on_integer_labels_reads_a_float_target() -> None:
    from sklearn.linear_model import LogisticRegression

    frame = spector()  # GRADE is 0.0 / 1.0; the model learnt 0 / 1
    model = LogisticRegression().fit(frame[SPECTOR], frame["GRADE"].astype(int))
    report = mlops.check(frame, "GRADE", model=model)
    assert report.info["calibration_from"] == "model"
    assert report["calibration"].p_value is not None
    assert json.loads(report.to_json())["reliability"][0]["group"] == 1


def test_probabilities_of_exactly_0_and_1_that_are_wrong_fail_in_strict_json() -> None:
    frame = pd.DataFrame({"x": np.arange(100.0), "y": (np.arange(100) % 3 == 0).astype(int)})

    class Hard:
        classes_ = np.array([0, 1])

        def predict(self, x):
            return (x["x"] > 50).astype(int)

        def predict_proba(self, x):
            p = (x["x"] > 50).to_numpy(dtype=float)
            return np.column_stack([1 - p, p])

    report = mlops.check(frame, "y", model=Hard())
    assert report["calibration"].verdict == "fail" and report["brier_score"].verdict == "fail"
    assert "every one is 0 or 1" in report["brier_score"].message
    payload = json.loads(report.to_json())  # the infinite statistics are null, not Infinity
    assert [c["statistic"] for c in payload["checks"] if c["id"] == "brier_score"] == [None]
