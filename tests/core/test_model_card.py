"""The model card on real runs: facts read from a sqlite store, Markdown that names them."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import jupyter_mlops as mlops
from jupyter_mlops.core.registry.model_card import card_facts
from jupyter_mlops.display.model_card import NOT_RECORDED, render_model_card
from tests.conftest import git

UNESCAPED_PIPE = re.compile(r"(?<!\\)\|")


@pytest.fixture(scope="module")
def cancer():
    from sklearn.datasets import load_breast_cancer

    return load_breast_cancer(as_frame=True).frame.head(300)


def card(facts: dict, **kwargs) -> str:
    options = {"name": "cancer", "version": 3, "alias": "staging"}
    options["model_uri"] = "models:/cancer@staging"
    return render_model_card(facts, **{**options, **kwargs})


def section(text: str, title: str) -> str:
    """The body of one ``## title`` section."""
    body = text.split(f"\n## {title}\n", 1)[1]
    return body.split("\n## ", 1)[0]


def assert_tables_intact(text: str) -> None:
    """Every row of every table has as many cells as its header (no pipe leaked from a value)."""
    width = None
    for line in text.splitlines():
        if not line.startswith("|"):
            width = None
            continue
        cells = len(UNESCAPED_PIPE.findall(line))
        if width is None:
            width = cells
        assert cells == width, line


# -- a run with everything -------------------------------------------------------------------
def test_card_names_run_data_metrics_and_reports(project: Path, client, cancer) -> None:
    from sklearn.tree import DecisionTreeClassifier

    csv = project / "data" / "train.csv"
    csv.parent.mkdir()
    cancer.to_csv(csv, index=False)
    X, y = cancer.drop(columns="target"), cancer["target"]
    with mlops.track(experiment="cards", run_name="tree", autolog=False) as run:
        mlops.data.add("data/train.csv")
        mlops.log(accuracy=0.95, max_depth=3, criterion="gini")
        report = mlops.check(cancer, target="target", name="train")
        model = DecisionTreeClassifier(max_depth=3, random_state=0).fit(X, y)
        halves = mlops.drift(X.head(150), X.tail(150), name="halves")
        explanation = mlops.explain(model, X, y, n_repeats=2, name="tree")

    facts = card_facts(client, run.run_id)
    assert json.loads(json.dumps(facts)) == facts  # JSON-able as promised
    assert facts == card_facts(client, run.run_id)  # and read the same every time
    md5 = hashlib.md5(csv.read_bytes()).hexdigest()
    commit = git(project, "rev-parse", "HEAD")
    assert facts["run"]["id"] == run.run_id and facts["run"]["name"] == "tree"
    assert facts["run"]["experiment"] == "cards" and facts["run"]["status"] == "FINISHED"
    assert facts["git"]["commit"] == commit and facts["git"]["dirty"] is True  # the csv was new
    (data,) = facts["data"]
    assert (data["path"], data["md5"], data["rows"], data["columns"]) == (
        "data/train.csv",
        md5,
        300,
        31,
    )
    assert data["git_rev"] == commit and data["context"] == "training"
    assert facts["metrics"] == {"accuracy": 0.95, "max_depth": 3.0}
    assert facts["params"] == {"criterion": "gini"}
    assert facts["environment"]["python"] == "{}.{}.{}".format(*sys.version_info[:3])
    assert facts["environment"]["packages"]["mlflow"]

    (checks,) = facts["checks"]
    counts = report.counts()
    assert (checks["failed"], checks["warned"], checks["passed"]) == (
        counts["fail"],
        counts["warn"],
        counts["pass"],
    )
    assert checks["ok"] is report.ok and checks["error"] is None
    flagged = [c for c in report.checks if c.verdict != "pass"]
    assert flagged and {(i["id"], i["message"]) for i in checks["issues"]} == {
        (c.id, c.message) for c in flagged
    }
    (drift,) = facts["drift"]
    assert drift["drifted_count"] == len(drift["drifted"]) and drift["compared"] == 30
    frame = halves.to_frame()
    assert drift["inconclusive"] == list(frame.index[frame["verdict"] == "inconclusive"])
    assert {i["id"]: i["rows"] for i in checks["issues"]} == {
        c.id: [str(r) for r in c.rows[:5]] for c in flagged
    }
    (explained,) = facts["explain"]
    assert explained["top"] == explanation.features[:10] and explained["error"] is None

    training = {"rows": np.int64(300), "columns": X.columns, "target": "target"}  # an Index will do
    training["task"] = "classification"
    text = card(
        facts,
        description="Tumour classifier.",
        training=training,
        requirements=["mlflow==3.17.2", "scikit-learn==1.9.0"],
        contract_summary="30 numeric columns, ranges learned from 300 rows.",
    )
    assert text == card(
        facts,
        description="Tumour classifier.",
        training=training,
        requirements=["mlflow==3.17.2", "scikit-learn==1.9.0"],
        contract_summary="30 numeric columns, ranges learned from 300 rows.",
    )
    for expected in (
        "# Model card: cancer",
        "| Version | 3 |",
        "| Alias | `staging` |",
        "`models:/cancer@staging`",
        f"`{run.run_id}` (tree), finished",
        "| Experiment | cards (id ",
        f"| Git commit | `{commit}` |",
        "| Working tree | dirty",
        f"| `data/train.csv` | `{md5}` (DVC md5) | 300 rows x 31 cols | training |",
        "| `accuracy` | 0.95 |",
        "| `criterion` | gini |",
        f"**train** (`checks/train.json`): {counts['fail']} failed, {counts['warn']} warned",
        "`drift/halves.json`",
        f"| `{explanation.features[0]}` |",
        "Tumour classifier.",
        "| Rows | 300 |",
        "`mean radius`, `mean texture`",
        "30 numeric columns, ranges learned from 300 rows.",
        "mlflow==3.17.2",
        f"- Python: {facts['environment']['python']}",
    ):
        assert expected in text, expected
    for check in flagged:
        assert f"| `{check.id}` | {check.verdict} |" in text
        assert check.message in text
        if check.rows:  # the rows a check names are listed, so a reader can look them up
            assert "Rows: " + ", ".join(f"`{r}`" for r in check.rows[:5]) in text
    if drift["inconclusive"]:
        assert "too few rows to tell drift from chance in" in text
    assert NOT_RECORDED not in section(text, "Data versions")
    assert_tables_intact(text)


def test_card_names_the_rows_a_check_flags_and_inconclusive_columns(project: Path, client) -> None:
    import pandas as pd

    rng = np.random.default_rng(0)
    x = rng.normal(size=200)
    y = 2 * x + rng.normal(size=200) * 0.5
    y[17] += 15  # one planted outlier: the outliers check names its row
    frame = pd.DataFrame({"x": x, "y": y}, index=[f"r{i}" for i in range(200)])
    small = {side: pd.DataFrame({"x": rng.normal(size=12)}) for side in ("a", "b")}
    with mlops.track(experiment="rows", autolog=False) as run:
        report = mlops.check(frame, target="y", name="fit")
        few = mlops.drift(small["a"], small["b"], name="few")
    (outliers,) = [c for c in report.checks if c.id == "outliers"]
    assert outliers.rows == ["r17"] and few.to_frame()["verdict"].tolist() == ["inconclusive"]
    facts = card_facts(client, run.run_id)
    assert {i["id"]: i["rows"] for i in facts["checks"][0]["issues"]}["outliers"] == ["r17"]
    assert facts["drift"][0]["inconclusive"] == ["x"]
    text = card(facts)
    assert "Rows: `r17`." in text
    assert "too few rows to tell drift from chance in `x` (inconclusive)" in text
    assert_tables_intact(text)


# -- a run with nothing ------------------------------------------------------------------------
def test_bare_run_says_not_recorded(project: Path, client) -> None:
    with mlops.track(experiment="bare", autolog=False) as run:
        pass
    text = card(card_facts(client, run.run_id), version=None, alias=None, model_uri=None)
    for title in (
        "Description",
        "Training data",
        "Data versions",
        "Model",
        "Run metrics",
        "Run parameters",
    ):
        assert NOT_RECORDED in section(text, title).lower(), title
    for title in ("Assumption checks", "Drift", "Explanations", "Input contract"):
        assert NOT_RECORDED in section(text, title).lower(), title
    assert "| Version | not recorded |" in text and "| Alias | not recorded |" in text
    assert f"`{run.run_id}`" in text and "| Git commit | `" in text  # the project has git
    assert "Model requirements:\n\nNot recorded." in text

    # a run made outside jupyter-mlops: no git, no environment, no notebook
    exp = client.create_experiment("foreign")
    foreign = client.create_run(exp).info.run_id
    client.set_terminated(foreign)
    facts = card_facts(client, foreign)
    assert facts["git"] == {} and facts["data"] == [] and facts["checks"] == []
    text = card(facts)
    assert "| Git commit | not recorded |" in text and "| Notebook | not recorded |" in text
    assert "- Python: not recorded" in text and "- Packages at training time: not recorded" in text

    # no run at all (promote without one): still a card
    empty = card({}, training=None)
    assert "| Run | not recorded |" in empty and "| Experiment | not recorded |" in empty
    assert_tables_intact(empty)


# -- awkward values --------------------------------------------------------------------------
def test_pipes_newlines_and_long_lists_keep_tables_whole(project: Path, client) -> None:
    params = {f"p{i:03d}": f"v{i}" for i in range(120)}
    metrics = {f"m{i:02d}": i / 7 for i in range(60)}
    with mlops.track(
        experiment="a|b", run_name="x | y", autolog=False, description="line one\nline | two"
    ) as run:
        mlops.log(formula="y ~ a | b", note="two\nlines", **params, **metrics)
    facts = card_facts(client, run.run_id)
    columns = [f"col|{i}" for i in range(80)]
    text = card(
        facts, name="n|m", version="1|2", training={"rows": 10, "columns": columns, "target": "t|u"}
    )
    assert_tables_intact(text)
    assert "| `formula` | y \\~ a \\| b |" in text and "| `note` | two lines |" in text
    assert "(x \\| y), finished" in text and "| Experiment | a\\|b (id " in text
    # prose keeps its lines, as text: no Markdown in it takes effect (a pipe starts no table)
    assert "line one\nline \\| two" in section(text, "Description")
    assert "... and 72 more params." in text  # 122 params, 50 shown
    assert "... and 10 more metrics." in text
    assert "`col\\|49` and 30 more." in text and "`col\\|50`" not in text
    assert "| `m01` | 0.142857 |" in text


def test_unreadable_report_is_named_not_fatal(project: Path, client) -> None:
    with mlops.track(experiment="broken", autolog=False) as run:
        pass
    client.log_text(run.run_id, "{not json", "checks/bad.json")
    client.set_tag(run.run_id, "mlops.checks.bad.failed", "2")
    client.set_tag(run.run_id, "mlops.checks.gone.warned", "1")  # tag without its artifact
    client.set_tag(run.run_id, "mlops.explain.lost.top", "a, b")
    facts = card_facts(client, run.run_id)
    bad, gone = facts["checks"]
    assert (bad["name"], bad["failed"]) == ("bad", 2) and "checks/bad.json" in bad["error"]
    assert (gone["name"], gone["warned"]) == ("gone", 1) and "checks/gone.json" in gone["error"]
    (lost,) = facts["explain"]
    assert lost["top"] == ["a", "b"] and lost["error"]
    text = card(facts)
    assert text.count("The report is unreadable: checks/") == 2
    assert "top features `a`, `b`" in section(text, "Explanations")


def test_import_does_not_load_mlflow() -> None:
    code = (
        "import sys, jupyter_mlops.core.registry.model_card\n"
        "assert 'mlflow' not in sys.modules and 'pandas' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
