"""%mlops models in a real IPython shell over a real sqlite registry."""

from __future__ import annotations

from pathlib import Path

import pytest
from IPython.core.error import UsageError

from jupyter_mlops.core.registry.models import ModelsTable
from tests.core.test_models import log_model, register


def run_cell(ip, source: str, capfd):
    result = ip.run_cell(source)
    out, err = capfd.readouterr()
    return result, out + err


def test_models_lists_models_then_versions(ip, capfd, project: Path, client) -> None:
    _, info = log_model()
    register(info, "churn", 2)
    register(info, "sales")
    client.set_registered_model_alias("churn", "staging", "2")
    capfd.readouterr()

    result, output = run_cell(ip, "%mlops models", capfd)
    table = result.result
    assert isinstance(table, ModelsTable) and table.kind == "models"
    assert [(r["name"], r["latest_version"], r["aliases"]) for r in table] == [
        ("churn", 2, {"staging": 2}),
        ("sales", 1, {}),
    ]
    assert "Registered models: 2" in output and "staging=v2" in output  # the cell's Out
    html = ip.display_formatter.format(table)[0]["text/html"]
    assert "mlops-models" in html and "staging &rarr; v2" in html

    result, output = run_cell(ip, "%mlops models churn", capfd)
    assert [(r["version"], r["aliases"]) for r in result.result] == [(2, ["staging"]), (1, [])]
    assert "Model 'churn': 2 versions, newest first" in output
    assert ip.run_cell("%mlops models 'churn'").result.name == "churn"  # shell quoting


def test_models_in_an_empty_project(ip, capfd, project: Path) -> None:
    result, output = run_cell(ip, "%mlops models", capfd)
    assert result.success and len(result.result) == 0
    assert "No registered models yet: promote one with %mlops promote MODEL --name NAME" in output


def test_config_tracking_uri_is_used(ip, project: Path, tmp_path: Path) -> None:
    elsewhere = f"sqlite:///{(tmp_path / 'other.db').as_posix()}"
    ip.run_line_magic("config", f"MLOpsMagics.tracking_uri = {elsewhere!r}")
    try:
        table = ip.run_cell("%mlops models").result
    finally:
        ip.run_line_magic("config", "MLOpsMagics.tracking_uri = None")
    assert table.registry_uri == elsewhere and (tmp_path / "other.db").is_file()


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("%mlops models chrun", "no registered model named 'chrun'; none registered yet"),
        ("%mlops models churn extra", "unrecognized arguments: extra"),
        ("%mlops models ''", "a registered model name cannot be empty"),
        ("%mlops models models:/churn@prod", "model names cannot contain '/' or ':'"),
        ("%mlops models --max 3", "unrecognized arguments: --max"),
    ],
)
def test_models_mistakes_are_one_line(ip, capfd, project: Path, line: str, message: str) -> None:
    result, output = run_cell(ip, line, capfd)
    assert isinstance(result.error_in_exec, UsageError)
    assert message in output and "Traceback" not in output
    assert len([x for x in output.splitlines() if x.strip()]) == 1


def test_models_help(ip, capfd) -> None:
    _, output = run_cell(ip, "%mlops models --help", capfd)
    assert "usage: %mlops models [-h] [--history] [NAME]" in output and "newest first" in output
    _, output = run_cell(ip, "%mlops --help", capfd)
    assert "models" in output and "registered models" in output


def test_promoting_an_unfitted_model_is_one_line_and_no_run(ip, capfd, project: Path, client):
    from tests.conftest import all_runs

    ip.run_cell(
        "from sklearn.datasets import load_diabetes\n"
        "from sklearn.linear_model import Ridge\n"
        "X, y = load_diabetes(return_X_y=True, as_frame=True)"
    )
    capfd.readouterr()
    result, output = run_cell(ip, "%mlops promote Ridge() --name diabetes --X X --y y", capfd)
    assert isinstance(result.error_in_exec, UsageError)
    assert str(result.error_in_exec) == (
        "Ridge is not fitted: call its fit method before promoting it"
    )
    assert "Traceback" not in output
    assert all_runs(client) == []  # refused before any run existed
