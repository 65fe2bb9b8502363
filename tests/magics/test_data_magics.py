"""%mlops data in a real IPython shell: the acceptance path as a user types it."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import yaml
from IPython.core.error import UsageError

from jupyter_mlops.core import tracking
from tests.conftest import git


def test_add_status_checkout(ip, capfd, project: Path, client) -> None:
    data = project / "data"
    data.mkdir()
    csv = data / "x.csv"
    csv.write_text("age,income,churned\n31,52000,0\n45,61000,1\n27,38000,0\n")
    original = csv.read_bytes()
    ip.run_cell("%mlops track start -e data --no-autolog")
    run_id = tracking.session.active.run_id
    capfd.readouterr()
    result = ip.run_cell("%mlops data add data/x.csv -m 'churn data v1'")
    out = capfd.readouterr().out
    assert result.success, out
    assert "Initialised DVC" in out and 'git commit -m "churn data v1"' in out
    assert f"Logged as inputs of run {run_id}" in out
    ip.run_cell("%mlops track stop")

    md5 = hashlib.md5(original).hexdigest()
    assert yaml.safe_load((data / "x.csv.dvc").read_text())["outs"][0]["md5"] == md5
    (inp,) = client.get_run(run_id).inputs.dataset_inputs
    assert inp.dataset.digest == md5
    assert json.loads(inp.dataset.source)["path"] == "data/x.csv"
    columns = [c["name"] for c in json.loads(inp.dataset.schema)["mlflow_colspec"]]
    assert columns == ["age", "income", "churned"]

    git(project, "commit", "-q", "-m", "data v1")
    csv.write_text("age,income,churned\n99,1,1\n")
    capfd.readouterr()
    ip.run_cell("%mlops data status --no-remote")
    assert "data/x.csv  modified" in capfd.readouterr().out
    assert ip.run_cell("%mlops data checkout data/x.csv").success
    assert csv.read_bytes() == original


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("%mlops data add /etc/hostname", "outside the project root"),
        ("%mlops data add data/nope.csv", "no such file or folder"),
        ("%mlops data push", "not initialised"),
        ("%mlops data", "the following arguments are required: ACTION"),
        ("%mlops data frobnicate", "invalid choice: 'frobnicate'"),
        ("%mlops data use data/x.csv", "not versioned with DVC"),
    ],
)
def test_data_mistakes_are_one_line(ip, capfd, project: Path, line: str, message: str) -> None:
    result = ip.run_cell(line)
    out, err = capfd.readouterr()
    assert isinstance(result.error_in_exec, UsageError)
    assert message in out + err
    assert "Traceback" not in out + err
    assert len([x for x in (out + err).splitlines() if x.strip()]) == 1
    assert not (project / ".dvc").exists()
