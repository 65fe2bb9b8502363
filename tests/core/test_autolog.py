"""Autologging: each fit in a run has a record of its own, and our own work is never a fit."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import jupyter_mlops as mlops
from jupyter_mlops.core import autolog, tracking
from jupyter_mlops.core.registry.promote import PromoteError
from tests.conftest import all_runs


@pytest.fixture(scope="module")
def cancer() -> tuple[pd.DataFrame, pd.Series]:
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    return (X - X.mean()) / X.std(), y  # scaled: lbfgs converges in a few iterations


def _children(client, parent_id: str) -> dict[str, object]:
    runs = [r for r in all_runs(client) if r.data.tags.get("mlflow.parentRunId") == parent_id]
    return {r.info.run_name: r for r in runs}


def test_each_candidate_is_a_child_run_with_its_own_params_and_metrics(
    project: Path, client, cancer
) -> None:
    X, y = cancer
    with mlops.track(experiment="candidates", run_name="compare") as run:
        lr = make_pipeline(StandardScaler(), LogisticRegression(C=0.1)).fit(X, y)
        rf = RandomForestClassifier(max_depth=6, random_state=0).fit(X, y)
        hgb = HistGradientBoostingClassifier(max_iter=20).fit(X, y)
        mlops.log(note="three tries")
    children = _children(client, run.run_id)
    assert sorted(children) == [
        "HistGradientBoostingClassifier max_iter=20",
        "LogisticRegression (Pipeline) C=0.1",
        "RandomForestClassifier max_depth=6",
    ]
    lr_run = children["LogisticRegression (Pipeline) C=0.1"]
    rf_run = children["RandomForestClassifier max_depth=6"]
    hgb_run = children["HistGradientBoostingClassifier max_iter=20"]
    for model, child in ((lr, lr_run), (rf, rf_run), (hgb, hgb_run)):
        assert child.info.status == "FINISHED"
        assert child.info.experiment_id == run.experiment_id
        assert child.data.metrics["training_score"] == pytest.approx(model.score(X, y), abs=0)
        assert child.data.tags["mlops.candidate"] == "true"
        assert child.data.tags["mlflow.source.name"] == run.code_tags["mlflow.source.name"]
    # no run mixes two models: each child holds its own estimator's params only
    assert lr_run.data.params["logisticregression__C"] == "0.1"
    assert "max_depth" not in lr_run.data.params
    assert rf_run.data.params["max_depth"] == "6" and "C" not in rf_run.data.params
    assert not any(k.endswith("__C") or k == "C" for k in rf_run.data.params)
    assert hgb_run.data.params["max_iter"] == "20" and "max_depth" in hgb_run.data.params
    assert hgb_run.data.params["max_depth"] == "None"  # its own default, not the forest's 6
    parent = client.get_run(run.run_id)
    assert parent.data.params == {"note": "three tries"}  # what the user logged, nothing else
    assert parent.data.metrics == {}
    # the run card lists them
    names = [c["label"] for c in run.info["candidates"]]
    assert names == [
        "LogisticRegression (Pipeline)",
        "RandomForestClassifier",
        "HistGradientBoostingClassifier",
    ]
    assert "RandomForestClassifier" in run._repr_html_() and "max_depth=6" in repr(run)


def test_runs_frame_shows_candidates_under_their_parent(project: Path, cancer) -> None:
    X, y = cancer
    with mlops.track(experiment="listed") as run:
        LogisticRegression(max_iter=5000).fit(X, y)
    frame = mlops.runs("listed")
    child = frame[frame["parent_run_id"] == run.run_id]
    assert list(child["model"]) == ["LogisticRegression"]
    assert child["metrics.training_score"].notna().all()
    parent = frame[frame["run_id"] == run.run_id]
    assert parent["model"].isna().all() and parent["parent_run_id"].isna().all()


def test_evaluation_and_our_own_work_record_no_fit(project: Path, client, cancer) -> None:
    X, y = cancer
    with mlops.track(experiment="quiet") as run:
        scores = cross_val_score(LogisticRegression(max_iter=5000), X, y, cv=3)
        model = LogisticRegression(max_iter=5000).fit(X, y)
        with autolog.paused():
            Ridge().fit(X, y)
        mlops.explain(model, X.head(60), y.head(60), n_repeats=2, sample=30, name="lr")
        mlops.check(X.assign(target=y), target="target", name="data")
        mlops.eda(X.head(200), name="frame")
    assert len(scores) == 3
    children = _children(client, run.run_id)
    assert list(children) == ["LogisticRegression max_iter=5000"]  # the one real candidate
    metrics = {k for r in all_runs(client) for k in r.data.metrics}
    # explain called the model's score many times: not one of them became a metric
    assert metrics == set(children["LogisticRegression max_iter=5000"].data.metrics)
    assert all(k.startswith("training_") for k in metrics)


def test_a_grid_search_is_one_candidate_with_its_best(project: Path, client, cancer) -> None:
    X, y = cancer
    with mlops.track(experiment="search") as run:
        GridSearchCV(LogisticRegression(max_iter=5000), {"C": [0.1, 1.0]}, cv=2).fit(X, y)
    (child,) = _children(client, run.run_id).values()
    assert child.info.run_name.startswith("GridSearchCV(LogisticRegression)")
    assert child.data.params["best_C"] in {"0.1", "1.0"}
    assert "estimator__C" not in child.data.params  # the seed's params are not the model's


def test_autolog_off_records_nothing(project: Path, client, cancer) -> None:
    X, y = cancer
    with mlops.track(experiment="off", autolog=False) as run:
        LogisticRegression(max_iter=5000).fit(X, y)
        with mlops.track(run_name="inner", autolog=True) as inner:
            Ridge().fit(X, y)
    assert _children(client, inner.run_id).keys() == {"Ridge"}
    assert list(_children(client, run.run_id)) == ["inner"]
    LogisticRegression(max_iter=5000).fit(X, y)  # no run: nothing
    assert len(all_runs(client)) == 3


def test_a_fit_does_not_wait_for_a_locked_store(project: Path, client, cancer) -> None:
    X, y = cancer
    with mlops.track(experiment="locked") as run:
        mlops.flush()
        db = sqlite3.connect(project / ".mlops" / "mlflow.db", timeout=0)
        db.execute("BEGIN EXCLUSIVE")  # another process holds the database
        try:
            model = Ridge(alpha=2.0).fit(X, y)
            candidate = autolog.candidate_of(model)
            assert candidate is not None and candidate.run_id is None  # queued, not written
            assert tracking.session.buffer.pending(run.run_id) >= 1
        finally:
            db.rollback()
            db.close()
    (child,) = _children(client, run.run_id).values()  # written once the store was free
    assert child.info.run_id == candidate.run_id
    assert child.data.params["alpha"] == "2.0"


def test_promote_describes_the_promoted_candidate(project: Path, client, cancer) -> None:
    X, y = cancer
    with mlops.track(experiment="promote", run_name="compare") as run:
        make_pipeline(StandardScaler(), LogisticRegression(C=0.1)).fit(X, y)
        rf = RandomForestClassifier(max_depth=6, n_estimators=20, random_state=0).fit(X, y)
        promoted = mlops.promote(rf, name="forest", X=X, y=y, alias="staging")
    children = _children(client, run.run_id)
    forest_run = children["RandomForestClassifier max_depth=6 n_estimators=20"]
    assert promoted.candidate_run_id == forest_run.info.run_id
    version = client.get_model_version("forest", promoted.version)
    assert version.run_id == forest_run.info.run_id  # linked to the record of its fit
    assert version.tags["mlops.run_id"] == run.run_id  # and to the notebook's run
    assert version.tags["mlops.model.class"].endswith("RandomForestClassifier")
    assert '"max_depth": "6"' in version.tags["mlops.model.params"]
    assert "C" not in version.tags["mlops.model.params"]
    logged = client.get_logged_model(promoted.model_id)
    assert logged.params["max_depth"] == "6" and "C" not in logged.params
    import mlflow

    folder = Path(mlflow.artifacts.download_artifacts(artifact_uri=logged.artifact_location))
    text = (folder / "MODEL_CARD.md").read_text()
    model_section = text.split("\n## Model\n", 1)[1].split("\n## ", 1)[0]
    assert forest_run.info.run_id in model_section
    assert "| `max_depth` | 6 |" in model_section
    assert f"| `training_score` | {rf.score(X, y):g} |" in model_section
    assert "`C`" not in text and "LogisticRegression" not in text


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda X, y: (RandomForestClassifier(), X, y), "RandomForestClassifier is not fitted"),
        (
            lambda X, y: (Ridge().fit(X, y), X.drop(columns=["mean radius"]), y),
            "missing 'mean radius'",
        ),
        (
            lambda X, y: (Ridge().fit(X, y), X.assign(extra=1.0), y),
            "not fitted on 'extra'",
        ),
        (lambda X, y: (Ridge().fit(X, y), X, y.head(10)), "y has 10 values but X has 569 rows"),
        (
            lambda X, y: (Ridge().fit(X.to_numpy(), y), X.to_numpy()[:, :3], y),
            "X has 3 columns but the model was fitted on 30",
        ),
    ],
)
def test_promote_refuses_mistakes_in_one_line_and_leaves_no_run(
    project: Path, client, cancer, make, match
) -> None:
    model, X, y = make(*cancer)
    with pytest.raises(PromoteError, match=match) as caught:
        mlops.promote(model, name="mistake", X=X, y=y)
    assert "\n" not in str(caught.value)
    assert all_runs(client) == []
    assert mlops.active_run() is None


def test_changed_params_name_every_step_of_a_pipeline() -> None:
    pipeline = make_pipeline(StandardScaler(with_mean=False), LogisticRegression(C=0.1))
    # what a version's mlops.model.params says: the get_params names of the whole object
    assert autolog.changed_params(pipeline) == {
        "standardscaler__with_mean": "False",
        "logisticregression__C": "0.1",
    }
    assert autolog.key_params(pipeline) == {"C": "0.1"}  # the model's, for the run's name
    assert autolog.changed_params(Ridge()) == {}
