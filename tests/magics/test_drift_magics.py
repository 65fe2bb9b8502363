"""%mlops drift as a user runs it: in a real kernel inside a tracked run, and typos in a shell."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from IPython.core.error import UsageError

from tests.conftest import all_runs, execute_notebook, write_notebook

DATA = """\
import numpy as np, pandas as pd
rng = np.random.default_rng(0)
def frame(shift, n=3000):
    mix = [[0.6, 0.3, 0.1], [0.3, 0.3, 0.4]][shift]
    return pd.DataFrame({
        'tenure': rng.normal(24 + 6 * shift, 12, n),
        'income': rng.lognormal(10, 0.8, n),
        'plan': rng.choice(['basic', 'plus', 'pro'], n, p=mix),
        'region': rng.choice(['north', 'south'], n),
        'churned': rng.random(n) < 0.2 + 0.2 * shift,
    })
ref, cur = frame(0), frame(1)"""


def test_drift_renders_inline_and_is_logged(project: Path, client) -> None:
    notebook = write_notebook(
        project / "monitor.ipynb",
        [
            "%load_ext jupyter_mlops",
            DATA,
            "%mlops track start -e monitoring --no-autolog",
            "%mlops drift ref cur --target churned --name weekly",
            "%mlops track stop",
        ],
    )
    nb = execute_notebook(notebook)
    (output,) = [o for o in nb.cells[3].outputs if o.output_type == "display_data"]
    html = output.data["text/html"]
    assert "mlops-drift" in html and "tenure" in html and "<script" not in html
    assert output.data["text/plain"].startswith("Drift report 'weekly': 2 of 4 columns drifted")

    (run,) = all_runs(client)
    assert run.info.status == "FINISHED"
    paths = {f.path for f in client.list_artifacts(run.info.run_id, "drift")}
    assert paths == {"drift/weekly.html", "drift/weekly.json"}
    local = Path(client.download_artifacts(run.info.run_id, "drift/weekly.json", str(project)))
    report = json.loads(local.read_text())
    assert sorted(report["drifted"]) == ["plan", "tenure"]
    assert report["target"]["column"] == "churned" and report["target"]["drifted"]
    assert run.data.tags["mlops.drift.weekly.drifted"] == "2"


def test_drift_defaults_and_alpha_in_a_shell(ip) -> None:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(1)
    ip.user_ns.update(
        a=pd.DataFrame({"x": rng.normal(size=500)}), b=pd.DataFrame({"x": rng.normal(size=500)})
    )
    shown = []
    ip.display_pub.publish = lambda data, **kw: shown.append(data)  # what display() sends
    try:
        result = ip.run_cell("%mlops drift a b --alpha 0.01")
    finally:
        del ip.display_pub.publish
    assert result.error_in_exec is None
    (data,) = shown
    assert data["text/plain"].startswith("Drift report 'drift': 0 of 1 columns drifted")
    assert "alpha 0.01" in data["text/plain"]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("%mlops drift nosuch cur", "cannot evaluate 'nosuch'"),
        ("%mlops drift ref", "the following arguments are required: CUR"),
        ("%mlops drift ref cur --alpha often", "invalid float value"),
        ("%mlops drift ref cur --alpha 2", "alpha must be a number between 0 and 1"),
        ("%mlops drift ref cur --target nope", "no column named 'nope'"),
        ("%mlops drift numbers cur", "the reference is a list"),
        ("%mlops drift ref text", "'a' is numeric in the reference but categorical"),
        ("%mlops drift ref cur --name 'a b'", "invalid report name"),
    ],
)
def test_drift_mistakes_are_one_line(ip, capfd, line: str, message: str) -> None:
    import pandas as pd

    ip.user_ns.update(
        ref=pd.DataFrame({"a": [1.0, 2.0, 3.0]}),
        cur=pd.DataFrame({"a": [1.0, 2.5, 3.0]}),
        text=pd.DataFrame({"a": ["x", "y", "z"]}),
        numbers=[1, 2, 3],
    )
    result = ip.run_cell(line)
    out, err = capfd.readouterr()
    output = out + err
    assert isinstance(result.error_in_exec, UsageError)
    assert message in output and "Traceback" not in output
    assert len([x for x in output.splitlines() if x.strip()]) == 1
