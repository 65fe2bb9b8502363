"""The gate and the promotion guard, on real promoted models in the embedded sqlite store
(acceptance 2, 4 and 6 of the retraining issue; 5, a real ``mlflow server``, is
``tests/cli/test_retrain_server.py``).

Three versions of one model, promoted once per store: v1 the champion (a logistic regression
on 150 rows), v2 trained on shuffled labels, v3 the same pipeline on 400 rows. The guard's
test promotes from a run whose assumption checks failed (a feature that is the label: the
leakage check fails). Each gate test points ``champion`` back at v1 first.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import jupyter_mlops as mlops
from jupyter_mlops.core import tags
from jupyter_mlops.errors import MlopsError
from tests.conftest import ENV_VARS, cli, client_for, git

FEATURES = 8


def pipeline(C: float = 1.0):
    return make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=500))


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """The project and the three promoted versions, in the embedded store (the gate, the guard
    and the history through a real server: ``tests/cli/test_retrain_server.py``)."""
    root = tmp_path_factory.mktemp("gate") / "proj"
    root.mkdir()
    git(root, "init", "-q")
    (root / "README.md").write_text("demo\n")
    git(root, "add", "README.md")
    git(root, "commit", "-q", "-m", "init")
    patch = pytest.MonkeyPatch()
    for name in ENV_VARS:
        patch.delenv(name, raising=False)
    patch.chdir(root)
    data = load_breast_cancer(as_frame=True)
    X, y = data.data.iloc[:, :FEATURES], data.target.rename("y")
    name = "cancer"
    shuffled = np.random.default_rng(0).permutation(y.iloc[:400].to_numpy())
    try:
        with mlops.start_run(run_name="champion"):
            mlops.promote(
                pipeline().fit(X.iloc[:150], y.iloc[:150]), name, X=X.iloc[:150], alias="champion"
            )
        with mlops.start_run(run_name="shuffled"):
            mlops.promote(pipeline().fit(X.iloc[:400], shuffled), name, X=X.iloc[:400])
        with mlops.start_run(run_name="more rows"):
            mlops.promote(pipeline().fit(X.iloc[:400], y.iloc[:400]), name, X=X.iloc[:400])
        holdout = root / "holdout.csv"
        X.iloc[400:].assign(y=y.iloc[400:]).to_csv(holdout, index=False)
        yield {
            "root": root,
            "name": name,
            "holdout": holdout,
            "X": X,
            "y": y,
        }
    finally:
        patch.undo()


@pytest.fixture
def champion_v1(models):
    """``champion`` at v1 again, the working dir and store as the module set them."""
    patch = pytest.MonkeyPatch()
    patch.chdir(models["root"])
    mlops.set_alias(models["name"], "champion", 1, reason="test setup")
    yield models
    patch.undo()


def client(models):
    return client_for(models["root"])


def champion_now(models) -> int:
    return int(client(models).get_registered_model(models["name"]).aliases["champion"])


def history_len(models) -> int:
    return len(mlops.alias_history(models["name"]))


def uri(models, version: int | str) -> str:
    return f"models:/{models['name']}/{version}"


def test_a_challenger_at_least_as_good_passes_and_takes_the_alias(champion_v1) -> None:
    m = champion_v1
    before = history_len(m)
    result = mlops.gate(uri(m, 3), f"models:/{m['name']}@champion", eval=m["holdout"], target="y")
    assert result.passed and result.moved and result.exit_code == 0, result.line()
    assert result.scoring == "accuracy"  # a classifier's usual score
    assert result.challenger_score >= result.champion_score
    # the scores are the registered models' own on the holdout, recomputed here
    from sklearn.metrics import accuracy_score

    holdout = pd.read_csv(m["holdout"])
    X, y = holdout.drop(columns="y"), holdout["y"]
    loaded = mlops.load_model(uri(m, 3))
    assert result.challenger_score == pytest.approx(accuracy_score(y, loaded.predict(X)))
    assert champion_now(m) == 3
    version = client(m).get_model_version(m["name"], "3")
    assert version.tags[tags.GATE_RESULT] == "passed"
    decision = json.loads(version.tags[tags.GATE_DECISION])
    assert decision["challenger_score"] == pytest.approx(result.challenger_score)
    assert decision["champion_score"] == pytest.approx(result.champion_score)
    assert decision["eval"]["rows"] == len(holdout) and len(decision["eval"]["sha256"]) == 64
    assert version.tags[tags.GATE_CHAMPION] == uri(m, 1)
    history = mlops.alias_history(m["name"])
    assert len(history) == before + 1
    last = history.iloc[-1]
    assert (last.alias, last.previous, last.version, last.moved) == ("champion", 1, 3, True)
    assert last.gate["result"] == "passed" and last.via == "api"
    assert last.gate["challenger_score"] == pytest.approx(result.challenger_score)


def test_a_worse_challenger_is_refused_and_the_alias_stays(champion_v1) -> None:
    m = champion_v1
    before = history_len(m)
    result = mlops.gate(uri(m, 2), f"models:/{m['name']}@champion", eval=m["holdout"], target="y")
    assert not result.passed and not result.moved and result.exit_code == 3
    line = result.line()
    assert "\n" not in line and line.startswith("gate refused: accuracy: ")
    assert f"challenger v2 {result.challenger_score:.4f}" in line
    assert f"champion v1 {result.champion_score:.4f}" in line
    assert "below the champion's" in line and "stays at v1" in line
    assert champion_now(m) == 1
    assert client(m).get_model_version(m["name"], "2").tags[tags.GATE_RESULT] == "refused"
    history = mlops.alias_history(m["name"])
    assert len(history) == before + 1  # the refusal is in the history, as a decision
    last = history.iloc[-1]
    assert (last.previous, last.version, bool(last.moved)) == (1, 1, False)
    assert last.gate["result"] == "refused"
    # the moves, not the decisions, say who held the alias
    assert mlops.alias_at(m["name"], "champion", pd.Timestamp.now(tz="UTC").to_pydatetime()) == 1


def test_a_contract_that_refuses_the_evaluation_data_is_a_reason(champion_v1, tmp_path) -> None:
    m = champion_v1
    holdout = pd.read_csv(m["holdout"]).drop(columns=[m["X"].columns[0]])
    result = mlops.gate(uri(m, 3), f"models:/{m['name']}@champion", eval=holdout, target="y")
    assert result.exit_code == 3 and result.challenger_score is None
    assert any(
        r.startswith("the challenger's contract refuses the evaluation data")
        and m["X"].columns[0] in r
        for r in result.reasons
    ), result.reasons
    assert champion_now(m) == 1


def test_force_moves_the_alias_and_is_recorded_as_forced(champion_v1) -> None:
    m = champion_v1
    with pytest.raises(MlopsError, match="--force needs --reason"):
        mlops.gate(uri(m, 2), f"models:/{m['name']}@champion", eval=m["holdout"], target="y",
                   force=True)  # fmt: skip
    assert champion_now(m) == 1
    result = mlops.gate(
        uri(m, 2),
        f"models:/{m['name']}@champion",
        eval=m["holdout"],
        target="y",
        force=True,
        reason="incident 42: roll forward",
    )
    assert result.forced and result.moved and result.exit_code == 0
    assert result.line().startswith("gate forced: ") and "would have refused" in result.line()
    assert champion_now(m) == 2
    last = mlops.alias_history(m["name"]).iloc[-1]
    assert (bool(last.forced), last.reason, last.version) == (True, "incident 42: roll forward", 2)
    assert last.gate["result"] == "forced"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"target": "label"}, "the evaluation data has no column 'label' to score against"),
        ({"scoring": "acurracy"}, "no scikit-learn scorer named 'acurracy' (did you mean accuracy"),
        ({"champion": "@nope"}, "alias 'nope'"),
        ({"eval": "missing.csv"}, "no evaluation file 'missing.csv'"),
        ({"eval": "holdout.txt"}, "evaluation data is a .csv or .parquet file"),
        ({"tolerance": -0.1}, "the tolerance is a number from 0"),
        ({"challenger": 1}, "the challenger is the champion"),
    ],
)
def test_bad_input_is_one_line_and_nothing_is_recorded_or_moved(
    champion_v1, change, message
) -> None:
    m = champion_v1
    before = history_len(m)
    tags_before = client(m).get_model_version(m["name"], "3").tags
    arguments = {
        "challenger": uri(m, 3),
        "champion": f"models:/{m['name']}@champion",
        "eval": str(m["holdout"]),
        "target": "y",
    }
    if "champion" in change:
        change = {"champion": f"models:/{m['name']}{change['champion']}"}
    if change.get("challenger") == 1:
        change = {"challenger": uri(m, 1)}
    arguments.update(change)
    with pytest.raises(MlopsError) as caught:
        mlops.gate(arguments.pop("challenger"), arguments.pop("champion"), **arguments)
    assert message in str(caught.value) and "\n" not in str(caught.value)
    assert history_len(m) == before and champion_now(m) == 1
    assert client(m).get_model_version(m["name"], "3").tags == tags_before


def test_the_cli_exits_3_with_one_line_and_2_for_a_usage_error(champion_v1) -> None:
    m = champion_v1
    champion = f"models:/{m['name']}@champion"
    refused = cli("gate", uri(m, 2), champion, "--eval", "holdout.csv", "--target", "y",
                  cwd=m["root"])  # fmt: skip
    assert refused.returncode == 3, refused.stderr
    (line,) = refused.stdout.strip().splitlines()
    assert line.startswith("gate refused: accuracy: challenger v2 ") and "stays at v1" in line
    bad = cli("gate", uri(m, 3), champion, "--eval", "holdout.csv", "--target", "y",
              "--scoring", "nope", cwd=m["root"])  # fmt: skip
    assert bad.returncode == 2
    assert bad.stderr.strip().startswith("jupyter mlops gate: no scikit-learn scorer named 'nope'")
    assert len(bad.stderr.strip().splitlines()) == 1
    assert champion_now(m) == 1
    last = mlops.alias_history(m["name"]).iloc[-1]
    assert last.via == "cli" and not last.moved


# -- the promotion guard -----------------------------------------------------------------------
def test_the_guard_refuses_a_protected_alias_for_a_run_whose_checks_failed(models) -> None:
    m = models
    patch = pytest.MonkeyPatch()
    patch.chdir(m["root"])
    try:
        X, y = m["X"].iloc[:300], m["y"].iloc[:300]
        versions = len(client(m).search_model_versions(f"name = '{m['name']}'"))
        with mlops.start_run(run_name="guarded") as run:
            report = mlops.check(X.assign(y=y, leak=y), "y")
            assert report.counts()["fail"] >= 1  # the leakage check: a feature that is the label
            model = pipeline().fit(X, y)
            with pytest.raises(MlopsError) as caught:
                mlops.promote(model, m["name"], X=X, alias="production")
            message = str(caught.value)
            assert message.startswith("not registered: alias 'production' is protected")
            assert run.run_id in message and "\n" not in message
            assert f"run {run.run_id} recorded failed checks 'checks' (" in message
            assert message.endswith("or give --force --reason TEXT")
            assert len(client(m).search_model_versions(f"name = '{m['name']}'")) == versions
            # an alias nobody protects is set as before
            staging = mlops.promote(model, m["name"], X=X, alias="staging")
            # and the gate refuses the version whatever its score: its run's checks failed
            gated = mlops.gate(
                staging.uri, f"models:/{m['name']}/1", eval=m["holdout"], target="y", tolerance=1
            )
            assert gated.exit_code == 3 and not gated.moved and gated.alias is None
            assert gated.challenger_score >= gated.champion_score - 1  # the score would pass
            assert any(r.startswith("its run's checks failed: ") for r in gated.reasons)
            assert "checks failed" in gated.line()
            forced = mlops.promote(
                model, m["name"], X=X, alias="production", force=True, reason="audit sign-off 7"
            )
        assert int(forced.version) == int(staging.version) + 1
        aliases = client(m).get_registered_model(m["name"]).aliases
        assert int(aliases["production"]) == int(forced.version)
        last = mlops.alias_history(m["name"]).iloc[-1]
        assert (last.alias, bool(last.forced), last.reason) == (
            "production",
            True,
            "audit sign-off 7",
        )
        assert last.via == "promote"
    finally:
        patch.undo()


def test_protected_aliases_come_from_pyproject(project) -> None:
    """The setting names which aliases are guarded: ``live`` here, and ``champion`` not."""
    (project / "pyproject.toml").write_text('[tool.jupyter-mlops]\nprotected_aliases = ["live"]\n')
    data = load_breast_cancer(as_frame=True)
    X, y = data.data.iloc[:300, :FEATURES], data.target.iloc[:300].rename("y")
    with mlops.start_run(run_name="guarded by config"):
        mlops.check(X.assign(y=y, leak=y), "y")
        model = pipeline().fit(X, y)
        with pytest.raises(MlopsError, match="alias 'live' is protected"):
            mlops.promote(model, "configured", X=X, alias="live")
        done = mlops.promote(model, "configured", X=X, alias="champion")
    assert done.version == "1" and done.alias == "champion"
    (project / "pyproject.toml").write_text('[tool.jupyter-mlops]\nprotected_aliases = "live"\n')
    with pytest.raises(MlopsError, match="protected_aliases must be a list of alias names"):
        mlops.resolve_settings(project)


def test_force_without_reason_is_refused_before_anything_is_built(models) -> None:
    versions = len(client(models).search_model_versions(f"name = '{models['name']}'"))
    with pytest.raises(MlopsError, match="--force needs --reason"):
        mlops.promote(pipeline(), models["name"], alias="champion", force=True)
    assert len(client(models).search_model_versions(f"name = '{models['name']}'")) == versions
