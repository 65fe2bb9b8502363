"""%mlops eda as a user runs it: in a real kernel inside a tracked run, and typos in a shell."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from IPython.core.error import UsageError

from tests.conftest import all_runs, execute_notebook, write_notebook


def test_eda_renders_inline_and_is_logged(project: Path, client) -> None:
    notebook = write_notebook(
        project / "explore.ipynb",
        [
            "%load_ext jupyter_mlops",
            "from sklearn.datasets import load_breast_cancer\n"
            "df = load_breast_cancer(as_frame=True).frame",
            "%mlops track start -e eda --no-autolog",
            "%mlops eda df --target target --name X",
            "%mlops track stop",
        ],
    )
    nb = execute_notebook(notebook)
    (output,) = [o for o in nb.cells[3].outputs if o.output_type == "display_data"]
    html = output.data["text/html"]
    assert "mean radius" in html and "<svg" in html and "<script" not in html
    assert "X" in output.data["text/plain"]

    (run,) = all_runs(client)
    assert run.info.status == "FINISHED"
    paths = {f.path for f in client.list_artifacts(run.info.run_id, "eda")}
    assert paths == {"eda/X.html", "eda/X.json"}
    local = Path(client.download_artifacts(run.info.run_id, "eda/X.json", str(project)))
    report = json.loads(local.read_text())
    assert report["n_rows"] == 569 and report["target"]["task"] == "classification"
    assert report["target"]["classes"] == [[1, 357], [0, 212]]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("%mlops eda nosuch", "cannot evaluate 'nosuch'"),
        ("%mlops eda frame --target nope", "no column named 'nope'"),
        ("%mlops eda frame --sample many", "invalid int value"),
        ("%mlops eda numbers", "needs a pandas DataFrame, not list"),
        ("%mlops eda frame --name 'a b'", "invalid report name"),
    ],
)
def test_eda_mistakes_are_one_line(ip, capfd, line: str, message: str) -> None:
    import pandas as pd

    ip.user_ns.update(frame=pd.DataFrame({"a": [1, 2, 3]}), numbers=[1, 2, 3])
    result = ip.run_cell(line)
    out, err = capfd.readouterr()
    output = out + err
    assert isinstance(result.error_in_exec, UsageError)
    assert message in output and "Traceback" not in output
    assert len([x for x in output.splitlines() if x.strip()]) == 1
