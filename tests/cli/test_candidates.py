"""A batch-run notebook that tries three models and promotes one: every record describes one
model (statsmodels' ``fair`` survey, 6,366 rows, as a user would)."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat

from tests.conftest import all_runs, cli, run_and_children, write_notebook

CELLS = [
    "%load_ext jupyter_mlops",
    "%mlops track start -n three-candidates",  # names the runner's run
    "import jupyter_mlops as mlops\n"
    "import statsmodels.api as sm\n"
    "fair = sm.datasets.fair.load_pandas().data\n"
    "X = fair.drop(columns=['affairs'])\n"
    "y = (fair['affairs'] > 0).astype(int)",
    "from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier\n"
    "from sklearn.linear_model import LogisticRegression\n"
    "from sklearn.pipeline import make_pipeline\n"
    "from sklearn.preprocessing import StandardScaler\n"
    "lr = make_pipeline(StandardScaler(), LogisticRegression(C=0.1)).fit(X, y)\n"
    "rf = RandomForestClassifier(max_depth=6, n_estimators=50, random_state=0).fit(X, y)\n"
    "hgb = HistGradientBoostingClassifier(max_iter=50, random_state=0).fit(X, y)",
    "mlops.log(score_lr=lr.score(X, y), score_rf=rf.score(X, y), score_hgb=hgb.score(X, y))",
    "report = mlops.explain(rf, X.sample(300, random_state=0), y.sample(300, random_state=0),"
    " n_repeats=2, name='forest')",
    "%mlops promote rf --name affairs --X X --y y --alias staging",
]


def test_three_candidates_one_promoted_every_record_true(project: Path, client) -> None:
    write_notebook(project / "affairs.ipynb", CELLS)
    out = cli("run", "affairs.ipynb", "-e", "fair", "-o", "out.ipynb", cwd=project)
    assert out.returncode == 0, out.stdout + out.stderr

    runs = all_runs(client)
    (parent,) = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    assert parent.info.run_name == "three-candidates"  # `track start -n` named the batch run
    children = {r.info.run_name: r for r in runs if r is not parent}
    assert sorted(children) == [
        "HistGradientBoostingClassifier max_iter=50",
        "LogisticRegression (Pipeline) C=0.1",
        "RandomForestClassifier max_depth=6 n_estimators=50",
    ]
    scores = parent.data.metrics
    expected = {
        "LogisticRegression (Pipeline) C=0.1": ("score_lr", "logisticregression__C", "0.1"),
        "RandomForestClassifier max_depth=6 n_estimators=50": ("score_rf", "max_depth", "6"),
        "HistGradientBoostingClassifier max_iter=50": ("score_hgb", "max_iter", "50"),
    }
    for name, (score, param, value) in expected.items():
        child = children[name]
        assert child.data.tags["mlflow.parentRunId"] == parent.info.run_id
        assert child.data.params[param] == value
        # the training score is that estimator's own est.score(X, y), as the notebook saw it
        assert child.data.metrics["training_score"] == scores[score]
    assert "max_depth" not in children["LogisticRegression (Pipeline) C=0.1"].data.params
    forest = children["RandomForestClassifier max_depth=6 n_estimators=50"]
    assert not [k for k in forest.data.params if k == "C" or k.endswith("__C")]
    # explain added no metric to any run: the parent has what the notebook logged, the
    # children their training metrics, nothing else
    assert set(scores) == {"score_lr", "score_rf", "score_hgb"}
    for child in children.values():
        assert all(k.startswith("training_") for k in child.data.metrics)
    assert not [r for r in runs if any("permuted" in k for k in r.data.metrics)]

    version = client.get_model_version_by_alias("affairs", "staging")
    assert version.run_id == forest.info.run_id
    assert json.loads(version.tags["mlops.model.params"]) == {
        "max_depth": "6",
        "n_estimators": "50",
        "random_state": "0",
    }
    import mlflow

    logged = client.get_logged_model(version.source.removeprefix("models:/"))
    folder = mlflow.artifacts.download_artifacts(artifact_uri=logged.artifact_location)
    text = (Path(folder) / "MODEL_CARD.md").read_text()
    assert "| `max_depth` | 6 |" in text and "| `n_estimators` | 50 |" in text
    assert "`C`" not in text and "LogisticRegression" not in text

    # the fits printed no warnings into the notebook (MLflow's autolog used to, per fit)
    executed = nbformat.read(project / "out.ipynb", 4)
    streams = [o for o in executed.cells[3].outputs if o.get("name") == "stderr"]
    assert streams == []


def test_a_notebook_with_no_tracking_call_records_its_fits(project: Path, client) -> None:
    # the whole notebook is the batch run: the runner loads the extension at kernel start
    cells = [
        "from sklearn.datasets import load_diabetes\n"
        "from sklearn.linear_model import Ridge\n"
        "X, y = load_diabetes(return_X_y=True)\n"
        "score = Ridge(alpha=0.5).fit(X, y).score(X, y)\n"
        "print(repr(score))",
    ]
    write_notebook(project / "plain.ipynb", cells)
    out = cli("run", "plain.ipynb", "-o", "out.ipynb", cwd=project)
    assert out.returncode == 0, out.stdout + out.stderr
    parent, (fit,) = run_and_children(client)
    assert fit.info.run_name == "Ridge alpha=0.5"
    assert fit.data.tags["mlflow.parentRunId"] == parent.info.run_id
    printed = nbformat.read(project / "out.ipynb", 4).cells[0].outputs[0]["text"]
    assert fit.data.metrics["training_score"] == float(printed)


def test_autolog_false_in_pyproject_records_no_fit_in_a_batch_run(project: Path, client) -> None:
    (project / "pyproject.toml").write_text("[tool.jupyter-mlops]\nautolog = false\n")
    cells = [
        "from sklearn.datasets import load_diabetes\n"
        "from sklearn.linear_model import Ridge\n"
        "Ridge().fit(*load_diabetes(return_X_y=True))",
    ]
    write_notebook(project / "off.ipynb", cells)
    out = cli("run", "off.ipynb", cwd=project)
    assert out.returncode == 0, out.stdout + out.stderr
    assert [r.info.run_name for r in all_runs(client)] == ["off"]


def test_track_blocks_in_a_batch_run_are_children_of_the_batch_run(project: Path, client) -> None:
    cells = [
        "import jupyter_mlops as mlops\n"
        "from sklearn.datasets import load_diabetes\n"
        "from sklearn.linear_model import Lasso, Ridge\n"
        "X, y = load_diabetes(return_X_y=True)",
        "for model in (Ridge(alpha=2.0), Lasso(alpha=0.1)):\n"
        "    with mlops.track(run_name=type(model).__name__):\n"
        "        model.fit(X, y)\n"
        "        mlops.log(r2=model.score(X, y))",
        "mlops.log(done=1)",
    ]
    write_notebook(project / "loop.ipynb", cells)
    out = cli("run", "loop.ipynb", "-n", "batch", cwd=project)
    assert out.returncode == 0, out.stdout + out.stderr
    runs = all_runs(client)
    (parent,) = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    assert parent.info.run_name == "batch" and parent.info.status == "FINISHED"
    assert parent.data.metrics == {"done": 1.0}
    tries = {
        r.info.run_name: r
        for r in runs
        if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id
    }
    assert sorted(tries) == ["Lasso", "Ridge"]
    for name, run in tries.items():
        assert run.info.status == "FINISHED"
        (fit,) = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == run.info.run_id]
        assert fit.info.run_name.startswith(name)
        assert fit.data.metrics["training_score"] == run.data.metrics["r2"]
