"""%mlops explain as a user runs it: in a real kernel inside a tracked run, and typos in a shell."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from IPython.core.error import UsageError

from tests.conftest import all_runs, execute_notebook, write_notebook

MODEL = """\
import numpy as np, pandas as pd
from sklearn.compose import make_column_transformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
rng = np.random.default_rng(0)
n = 2000
X = pd.DataFrame({'tenure': rng.normal(size=n), 'calls': rng.normal(size=n),
                  'noise': rng.normal(size=n), 'plan': rng.choice(['basic', 'pro'], n)})
y = (2 * X['tenure'] + 0.5 * X['calls'] + (X['plan'] == 'pro') + rng.normal(size=n)) > 0
encode = make_column_transformer((OneHotEncoder(), ['plan']), remainder=StandardScaler())
model = make_pipeline(encode, LogisticRegression()).fit(X, y)"""


def test_explain_renders_inline_and_is_logged(project: Path, client) -> None:
    notebook = write_notebook(
        project / "why.ipynb",
        [
            "%load_ext jupyter_mlops",
            MODEL,
            "%mlops track start -e churn --no-autolog",
            "%mlops explain model X y --repeats 3 --name churn",
            "%mlops track stop",
        ],
    )
    nb = execute_notebook(notebook)
    (output,) = [o for o in nb.cells[3].outputs if o.output_type == "display_data"]
    html = output.data["text/html"]
    assert "mlops-explain" in html and "tenure" in html and "<script" not in html
    assert output.data["text/plain"].startswith(
        "Explanation 'churn': Pipeline (LogisticRegression) (classification)"
    )

    (run,) = all_runs(client)
    assert run.info.status == "FINISHED"
    paths = {f.path for f in client.list_artifacts(run.info.run_id, "explain")}
    assert paths == {"explain/churn.html", "explain/churn.json"}
    local = Path(client.download_artifacts(run.info.run_id, "explain/churn.json", str(project)))
    report = json.loads(local.read_text())
    assert next(iter(report["permutation"])) == "tenure" and report["n_repeats"] == 3
    assert set(report["permutation"]) == {"tenure", "calls", "noise", "plan"}
    assert report["shap"] is not None and next(iter(report["shap"])) == "tenure"
    assert run.data.tags["mlops.explain.churn.top"].startswith("tenure, ")


def test_explain_without_y_in_a_shell(ip) -> None:
    import numpy as np
    import pandas as pd
    from sklearn.linear_model import LinearRegression

    rng = np.random.default_rng(1)
    X = pd.DataFrame({"a": rng.normal(size=300), "b": rng.normal(size=300)})
    ip.user_ns.update(X=X, model=LinearRegression().fit(X, 3 * X["a"] + X["b"]))
    shown = []
    ip.display_pub.publish = lambda data, **kw: shown.append(data)  # what display() sends
    try:
        result = ip.run_cell("%mlops explain model X --sample 200 --scoring r2")
    finally:
        del ip.display_pub.publish
    assert result.error_in_exec is None
    (data,) = shown
    assert data["text/plain"].startswith("Explanation 'explain': LinearRegression (regression)")
    assert "against predictions on 200 rows" in data["text/plain"]
    assert "No y given" in data["text/html"]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("%mlops explain nosuch X", "cannot evaluate 'nosuch'"),
        ("%mlops explain model", "the following arguments are required: X"),
        ("%mlops explain model X y --repeats many", "invalid int value"),
        ("%mlops explain model X y --repeats 0", "n_repeats must be a whole number"),
        ("%mlops explain numbers X", "needs a predict method; list has none"),
        ("%mlops explain model X short", "y has 2 values but X has 3 rows"),
        ("%mlops explain model X y --scoring nope", "unknown scoring 'nope'"),
        ("%mlops explain model X y --name 'a b'", "invalid report name"),
    ],
)
def test_explain_mistakes_are_one_line(ip, capfd, line: str, message: str) -> None:
    import pandas as pd
    from sklearn.linear_model import LinearRegression

    X = pd.DataFrame({"a": [1.0, 2.0, 3.0]})
    ip.user_ns.update(
        X=X,
        y=[1.0, 2.0, 3.5],
        short=[1, 2],
        numbers=[1],
        model=LinearRegression().fit(X, [1, 2, 3]),
    )
    result = ip.run_cell(line)
    out, err = capfd.readouterr()
    output = out + err
    assert isinstance(result.error_in_exec, UsageError)
    assert message in output and "Traceback" not in output
    assert len([x for x in output.splitlines() if x.strip()]) == 1
