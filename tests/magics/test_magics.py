"""%mlops in a real IPython shell: commands, help, one-line errors, cell runs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from IPython.core.error import UsageError

from jupyter_mlops.core import tracking
from tests.conftest import all_runs, kernel_env


def run_cell(ip, source: str, capfd):
    result = ip.run_cell(source)
    out, err = capfd.readouterr()
    return result, out + err


def test_load_ext_imports_nothing_heavy() -> None:
    code = (
        "import sys\n"
        "from IPython.core.interactiveshell import InteractiveShell\n"
        "ip = InteractiveShell.instance()\n"
        "ip.run_line_magic('load_ext', 'jupyter_mlops')\n"
        "assert 'mlops' in ip.magics_manager.magics['line']\n"
        "heavy = {'mlflow', 'dvc', 'sklearn', 'scipy', 'statsmodels', 'pandas', 'shap'}\n"
        "print(sorted(heavy & {m.split('.')[0] for m in sys.modules}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=kernel_env(), check=True
    )
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("%mlops no-such-command", "unknown command 'no-such-command'"),
        ("%mlops track start --bogus", "unrecognized arguments: --bogus"),
        ("%mlops track stop", "no active run to stop"),
        ("%mlops log x", "must look like KEY=VALUE"),
        ("%mlops log acc=1", "no active run"),
        ("%mlops track start --status FAILED", "--status goes with 'stop'"),
        ("%mlops runs --max lots", "expected a whole number from 1 to 50,000, not 'lots'"),
        ("%mlops log k=1 --step 1e3", "expected a whole number from -9,223,372,036,854,775,808"),
        ("%mlops log k=1 --step 9223372036854775808", "to 9,223,372,036,854,775,807, not"),
        ("%mlops track start --tag novalue", "KEY=VALUE"),
        ("%mlops runs -e 'unclosed", "No closing quotation"),
    ],
)
def test_user_mistakes_are_one_line(ip, capfd, line: str, message: str) -> None:
    result, output = run_cell(ip, line, capfd)
    assert isinstance(result.error_in_exec, UsageError)
    assert message in output
    assert "Traceback" not in output
    assert len([x for x in output.splitlines() if x.strip()]) == 1


def test_help(ip, capfd) -> None:
    _, output = run_cell(ip, "%mlops --help", capfd)
    assert "usage: %mlops" in output and "track" in output and "runs" in output
    _, output = run_cell(ip, "%mlops track --help", capfd)
    assert "--no-autolog" in output and "--tag" in output
    _, output = run_cell(ip, "%mlops", capfd)
    assert "usage: %mlops" in output


def test_track_log_stop(ip, capfd, project: Path, client) -> None:
    result, output = run_cell(ip, "%mlops track start -e E -n N --tag k=v --no-autolog", capfd)
    assert result.success, output
    run = tracking.session.active
    assert run is not None and run.name == "N"
    assert run.run_id in output  # the run card
    ip.run_cell("%mlops log x=1.5 label=hello n=3 --step 2")
    ip.run_cell("import jupyter_mlops as mlops\nmlops.log(acc=0.5, solver='lbfgs')")
    result, output = run_cell(ip, "%mlops track stop", capfd)
    assert result.success, output
    stored = client.get_run(run.run_id)
    assert stored.info.status == "FINISHED"
    assert stored.data.metrics == {"x": 1.5, "n": 3.0, "acc": 0.5}
    assert client.get_metric_history(run.run_id, "x")[0].step == 2
    assert stored.data.params == {"label": "hello", "solver": "lbfgs"}
    assert stored.data.tags["k"] == "v"
    cells = Path(client.download_artifacts(run.run_id, "notebook/cells.py")).read_text()
    # every cell from the one that started the run to the one that stopped it, in order
    order = [cells.index(s) for s in ("track start", "log x=1.5", "mlops.log(", "track stop")]
    assert order == sorted(order)


def test_stop_with_status(ip, project: Path, client) -> None:
    ip.run_cell("%mlops track start --no-autolog")
    run_id = tracking.session.active.run_id
    ip.run_cell("%mlops track stop --status killed")
    assert client.get_run(run_id).info.status == "KILLED"


def test_rerunning_start_never_fails(ip, project: Path, client) -> None:
    for _ in range(3):
        assert ip.run_cell("%mlops track start -e again --no-autolog").success
    ip.run_cell("%mlops track stop")
    statuses = sorted(r.info.status for r in all_runs(client))
    assert statuses == ["FINISHED"] * 3


def test_cell_run_failure_is_failed_and_reraised(ip, capfd, project: Path, client) -> None:
    result, output = run_cell(ip, "%%mlops track -e cells\nz = 41\nraise ValueError('boom')", capfd)
    assert isinstance(result.error_in_exec, ValueError)
    assert "boom" in output  # the exception is visible in the cell
    (run,) = all_runs(client)
    assert run.info.status == "FAILED"
    assert run.data.tags["mlops.error"] == "ValueError: boom"
    assert ip.user_ns["z"] == 41  # the body ran in the user namespace
    assert tracking.session.active is None


def test_cell_run_success_returns_last_value(ip, project: Path, client) -> None:
    result = ip.run_cell("%%mlops track -e cells --no-autolog\nmlops_value = 2\nmlops_value * 21")
    assert result.success and result.result == 42
    (run,) = all_runs(client)
    assert run.info.status == "FINISHED"


def test_cell_run_inside_interactive_run_is_a_child(ip, project: Path, client) -> None:
    ip.run_cell("%mlops track start -e parent --no-autolog")
    parent = tracking.session.active
    ip.run_cell("%%mlops track -n inner\nimport jupyter_mlops as mlops\nmlops.log(inner=1)")
    assert tracking.session.active is parent
    ip.run_cell("%mlops track stop")
    child = next(r for r in all_runs(client) if r.info.run_name == "inner")
    assert child.data.tags["mlflow.parentRunId"] == parent.run_id
    assert child.data.metrics == {"inner": 1.0}


def test_runs_and_status(ip, capfd, project: Path) -> None:
    ip.run_cell(
        "%%mlops track -e listing --no-autolog\nimport jupyter_mlops as mlops\nmlops.log(a=1)"
    )
    result = ip.run_cell("%mlops runs -e listing --max 5")
    assert isinstance(result.result, pd.DataFrame)
    assert result.result["metrics.a"].tolist() == [1.0]
    result = ip.run_cell('%mlops runs -e listing --filter "metrics.a > 1"')
    assert result.result.empty
    result = ip.run_cell("%mlops runs -e listing --filter 'metrics.a = 1'")
    assert result.result["metrics.a"].tolist() == [1.0]
    capfd.readouterr()
    result, output = run_cell(ip, "%mlops status", capfd)
    assert result.success
    assert "tracking store" in output and ".mlops/mlflow.db" in output


def test_vscode_notebook_path(ip, project: Path, client) -> None:
    notebook = project / "vscode.ipynb"
    notebook.write_text("{}")
    ip.user_ns["__vsc_ipynb_file__"] = str(notebook)
    ip.run_cell("%mlops track start --no-autolog")
    run = tracking.session.active
    ip.run_cell("%mlops track stop")
    stored = client.get_run(run.run_id)
    assert run.experiment_name == "vscode"  # the notebook's stem
    assert stored.data.tags["mlflow.source.name"] == "vscode.ipynb"
    assert stored.data.tags["mlflow.source.type"] == "NOTEBOOK"
    assert "notebook/vscode.ipynb" in {
        a.path for a in client.list_artifacts(run.run_id, "notebook")
    }


def test_config_traits(ip, project: Path, client) -> None:
    ip.run_line_magic("config", "MLOpsMagics.autolog = False")
    ip.run_cell("%mlops track start")
    assert not tracking.session.autologging
    ip.run_cell("%mlops track stop")
    ip.run_line_magic("config", "MLOpsMagics.autolog = None")
    ip.run_cell("%mlops track start")
    assert tracking.session.autologging
    ip.run_cell("%mlops track stop")
    assert not tracking.session.autologging  # off again once no run is active
