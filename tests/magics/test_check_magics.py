"""%mlops check as a user runs it: in a real kernel inside a tracked run, and typos in a shell."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from IPython.core.error import UsageError

from tests.conftest import all_runs, execute_notebook, write_notebook


def test_check_renders_inline_and_is_logged(project: Path, client) -> None:
    notebook = write_notebook(
        project / "assumptions.ipynb",
        [
            "%load_ext jupyter_mlops",
            "from sklearn.datasets import load_diabetes\n"
            "from sklearn.linear_model import Ridge\n"
            "df = load_diabetes(as_frame=True).frame\n"
            "ridge = Ridge().fit(df.drop(columns='target'), df['target'])",
            "%mlops track start -e checks --no-autolog",
            "%mlops check df --target target",
            "%mlops check df --target target --model ridge --name ridge",
            "%mlops track stop",
        ],
    )
    nb = execute_notebook(notebook)
    (output,) = [o for o in nb.cells[3].outputs if o.output_type == "display_data"]
    html = output.data["text/html"]
    assert "homoscedasticity" in html and "<script" not in html
    assert "an OLS fit on the numeric features" in html
    assert "Checks 'df' for 'target' (regression)" in output.data["text/plain"]
    (model_output,) = [o for o in nb.cells[4].outputs if o.output_type == "display_data"]
    assert "the model&#x27;s predictions" in model_output.data["text/html"]

    (run,) = all_runs(client)
    assert run.info.status == "FINISHED"
    paths = {f.path for f in client.list_artifacts(run.info.run_id, "checks")}
    assert paths == {"checks/df.json", "checks/df.html", "checks/ridge.json", "checks/ridge.html"}
    local = Path(client.download_artifacts(run.info.run_id, "checks/df.json", str(project)))
    report = json.loads(local.read_text())
    assert report["task"] == "regression" and report["n_rows"] == 442
    assert run.data.tags["mlops.checks.df.failed"] == str(report["counts"]["fail"])
    assert run.data.tags["mlops.checks.ridge.ok"] in {"true", "false"}


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("%mlops check frame", "the following arguments are required: --target"),
        ("%mlops check nosuch --target a", "cannot evaluate 'nosuch'"),
        ("%mlops check frame --target nope", "no column named 'nope'"),
        ("%mlops check frame --target a --task forecast", "invalid choice: 'forecast'"),
        ("%mlops check frame --target a --alpha 2", "alpha must be a number between 0 and 1"),
        ("%mlops check frame --target a --model numbers", "must have a predict method"),
        ("%mlops check frame.iloc[:0] --target a", "non-empty DataFrame"),
        ("%mlops check frame --target s --task regression", "target 's' is not numeric"),
    ],
)
def test_check_mistakes_are_one_line(ip, capfd, line: str, message: str) -> None:
    import pandas as pd

    frame = pd.DataFrame({"a": [1.0, 2.5, 3.1, 4.7] * 10, "b": range(40), "s": ["x", "y"] * 20})
    ip.user_ns.update(frame=frame, numbers=[1, 2, 3])
    result = ip.run_cell(line)
    out, err = capfd.readouterr()
    output = out + err
    assert isinstance(result.error_in_exec, UsageError)
    assert message in output and "Traceback" not in output
    assert len([x for x in output.splitlines() if x.strip()]) == 1
