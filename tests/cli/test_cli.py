"""`jupyter mlops run|status` as a user runs them: the console script in a real project."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

import jupyter_mlops as mlops
from tests.conftest import all_runs, cli, kernel_env, run_and_children, write_notebook

REPO = Path(__file__).resolve().parents[2]

CELLS = [
    "alpha = 0.1\nlabel = 'default'",
    "%load_ext jupyter_mlops",
    "%mlops track start -n inside --tag origin=notebook",
    "import jupyter_mlops as mlops\n"
    "mlops.log(score=alpha * 10, label=label)\n"
    "print('alpha is', alpha)",
    "%mlops track stop",
]


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_run_is_one_tracked_run_and_leaves_the_source_alone(project: Path, client) -> None:
    notebook = write_notebook(project / "train.ipynb", CELLS, tags={0: ["parameters"]})
    before = digest(notebook)
    out = cli("run", "train.ipynb", "-p", "alpha", "0.5", "-o", "out/train.ipynb", cwd=project)
    assert out.returncode == 0, out.stderr
    assert digest(notebook) == before  # never modified
    (run,) = all_runs(client)  # the magics inside attached to the runner's run
    assert run.info.run_id in out.stdout and "FINISHED" in out.stdout
    assert run.info.status == "FINISHED"
    assert client.get_experiment(run.info.experiment_id).name == "train"
    assert run.data.params["alpha"] == "0.5"
    assert run.data.metrics["score"] == 5.0
    assert run.data.tags["origin"] == "notebook"
    assert run.data.tags["mlflow.source.type"] == "NOTEBOOK"
    names = {a.path for a in client.list_artifacts(run.info.run_id, "notebook")}
    assert {"notebook/train.ipynb", "notebook/train.html", "notebook/cells.py"} <= names
    executed = nbformat.read(client.download_artifacts(run.info.run_id, "notebook/train.ipynb"), 4)
    assert "injected-parameters" in executed.cells[1].metadata["tags"]  # after `parameters`
    printed = "".join(o.get("text", "") for o in executed.cells[4].outputs)
    assert "alpha is 0.5" in printed
    html = Path(client.download_artifacts(run.info.run_id, "notebook/train.html")).read_text()
    assert "alpha is 0.5" in html
    assert nbformat.read(project / "out" / "train.ipynb", 4).cells[4].outputs


def test_failing_cell_fails_the_run_and_names_the_cell(project: Path, client) -> None:
    notebook = write_notebook(
        project / "broken.ipynb", ["x = 1", "raise ValueError('bad data')", "never = True"]
    )
    out = cli("run", str(notebook), "-e", "batch", cwd=project)
    assert out.returncode == 1
    assert (
        "FAILED" in out.stdout and "cell 1" in out.stdout and "ValueError: bad data" in out.stdout
    )
    (run,) = all_runs(client)
    assert run.info.status == "FAILED"
    assert run.data.tags["mlops.failed_cell"] == "1"
    assert client.get_experiment(run.info.experiment_id).name == "batch"


def test_a_kernel_killed_from_outside_fails_the_run_naming_the_cell_and_signal(
    project: Path, client
) -> None:
    # the out-of-memory killer's SIGKILL, sent by another process while cell 1 runs: the run
    # must end (papermill is known to wait forever here), FAILED, with the notebook so far
    notebook = write_notebook(
        project / "oom.ipynb",
        [
            "print('loaded')",
            "import os, subprocess, time\n"
            "subprocess.Popen(['kill', '-KILL', str(os.getpid())])\n"
            "time.sleep(600)",
            "never = True",
        ],
    )
    began = time.monotonic()
    out = cli("run", str(notebook), "-o", "out.ipynb", cwd=project)
    assert time.monotonic() - began < 120  # not a speed target: the run must not hang
    assert out.returncode == 1
    assert "failed at cell 1" in out.stdout and "killed by SIGKILL (signal 9)" in out.stdout
    (run,) = all_runs(client)
    assert run.info.status == "FAILED" and run.data.tags["mlops.failed_cell"] == "1"
    assert "SIGKILL" in run.data.tags["mlops.error"]
    written = nbformat.read(project / "out.ipynb", 4)  # the failure banner first (point 3)
    assert "mlops-error-cell" in written.cells[0].metadata["tags"]
    assert written.cells[1].outputs[0]["text"] == "loaded\n"
    logged = nbformat.read(client.download_artifacts(run.info.run_id, "notebook/oom.ipynb"), 4)
    assert logged.cells[1].outputs[0]["text"] == "loaded\n"


@pytest.mark.parametrize(
    ("stop", "ok"),
    [
        ("import sys\nsys.exit()", True),
        ("import sys\nsys.exit(0)", True),
        ("raise SystemExit", True),
        ("import sys\nsys.exit(1)", False),
        ("import sys\nsys.exit('no data today')", False),
    ],
)
def test_an_early_exit_with_status_0_is_a_clean_stop(
    project: Path, client, stop: str, ok: bool
) -> None:
    # papermill's rule: a notebook that stops on purpose with exit status 0 ("nothing new to do
    # today") ends well with the later cells not run; any other exit status fails the run
    notebook = write_notebook(
        project / "guard.ipynb",
        ["import jupyter_mlops as mlops\nmlops.log(checked=1.0)", stop, "mlops.log(trained=1.0)"],
    )
    out = cli("run", str(notebook), "-o", "out.ipynb", cwd=project)
    (run,) = all_runs(client)
    executed = nbformat.read(project / "out.ipynb", 4)
    last = executed.cells[-1]  # a failed run has the banner cells too (point 3)
    assert not last.outputs and last.execution_count is None
    assert run.data.metrics == {"checked": 1.0}  # what ran before the stop is recorded
    if ok:
        assert out.returncode == 0, out.stdout + out.stderr
        assert run.info.status == "FINISHED"
        assert run.data.tags["mlops.stopped_cell"] == "1"
        assert "mlops.failed_cell" not in run.data.tags and "mlops.error" not in run.data.tags
        assert "stopped on purpose at cell 1" in out.stdout
        assert "1 later cell was not run" in out.stdout
    else:
        assert out.returncode == 1
        assert run.info.status == "FAILED"
        assert run.data.tags["mlops.failed_cell"] == "1" and "SystemExit" in out.stdout
        assert "mlops.stopped_cell" not in run.data.tags


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "missing.ipynb"], "no notebook at missing.ipynb"),
        (["run", "x.ipynb", "-p", "not-an-identifier", "1"], "not a Python identifier"),
    ],
)
def test_mistakes_are_one_line(project: Path, args: list[str], message: str) -> None:
    (project / "x.ipynb").write_text("{}")
    out = cli(*args, cwd=project)
    assert out.returncode == 2
    assert message in out.stderr and "Traceback" not in out.stderr


def test_jupyter_mlops_subcommand_and_status(project: Path) -> None:
    exe = Path(sys.executable).parent / "jupyter"  # `jupyter mlops` finds `jupyter-mlops`
    out = subprocess.run(
        [str(exe), "mlops", "status"],
        cwd=project,
        capture_output=True,
        text=True,
        env=kernel_env(),
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert f"sqlite:///{project}/.mlops/mlflow.db" in out.stdout
    assert "active run" in out.stdout


@pytest.mark.parametrize("example", sorted((REPO / "example_notebooks").glob("*.ipynb")), ids=str)
def test_example_notebooks_run_through_the_batch_runner(project: Path, client, example) -> None:
    target = project / "example_notebooks" / example.name
    target.parent.mkdir()
    shutil.copy(example, target)
    out = cli("run", str(target), cwd=project)
    assert out.returncode == 0, out.stdout + out.stderr
    # alias moves are recorded as runs of registry-audit/<model>: not the notebook's runs
    everything = [r for r in all_runs(client) if r.data.tags.get("mlops.audit") != "alias"]
    watched = [r for r in everything if r.data.tags.get("mlops.monitor") == "true"]
    runs = [r for r in everything if "mlflow.parentRunId" not in r.data.tags and r not in watched]
    assert [r.info.status for r in runs] == ["FINISHED"]
    if example.name == "quickstart.ipynb":  # promoted from inside the tracked run
        version = client.get_model_version_by_alias("breast_cancer", "staging")
        (fit,) = [r for r in all_runs(client) if r.data.tags.get("mlops.candidate") == "true"]
        assert fit.data.tags["mlflow.parentRunId"] == runs[0].info.run_id
        assert version.run_id == fit.info.run_id  # the record of the promoted pipeline's fit
        assert version.tags["mlops.run_id"] == runs[0].info.run_id
        assert version.tags["mlops.verified"] == "true"
    if example.name == "candidates.ipynb":  # three models tried, the best by test AUC promoted
        children = {
            r.info.run_name: r
            for r in all_runs(client)
            if r.data.tags.get("mlflow.parentRunId") == runs[0].info.run_id
        }
        assert len(children) == 3
        scores = {name: r.data.metrics["test_auc"] for name, r in children.items()}
        best = max(scores, key=scores.get)
        version = client.get_model_version_by_alias("affairs", "staging")
        (fit,) = [
            r
            for r in all_runs(client)
            if r.data.tags.get("mlflow.parentRunId") == children[best].info.run_id
        ]
        assert version.run_id == fit.info.run_id  # the best candidate's own fit
    if example.name == "segments.ipynb":  # a child run per store, the family promoted
        # the notebook's mlops.track() is a child of the batch run, the stores children of it
        (family,) = [r for r in all_runs(client) if r.info.run_name == "sales by store"]
        assert family.data.tags["mlflow.parentRunId"] == runs[0].info.run_id
        stores = [
            r
            for r in all_runs(client)
            if r.data.tags.get("mlflow.parentRunId") == family.info.run_id
        ]
        assert len(stores) == family.data.metrics["segments.count"] == 36
        assert len(everything) == 2 + 36  # and nothing else: its fits are not candidates
        version = client.get_model_version_by_alias("sales-by-store", "staging")
        assert version.run_id == family.info.run_id
    if example.name == "production.ipynb":  # promoted, scored, monitored, retrained, gated
        (window,) = watched  # today's window, one run in monitoring/fair_affairs
        assert window.info.status == "FINISHED"
        assert window.data.tags["mlops.monitor.version"] == "1"  # the champion then
        assert json.loads(window.data.tags["mlops.monitor.drifted"]) == ["age", "occupation"]
        assert window.data.metrics["rows"] == 1592  # the held-out quarter, every row logged
        assert window.data.metrics["violation_rate"] > 0  # ages no one in training had
        # the challenger (v2) passed the gate on roc_auc and took `live`: on the version, and in
        # the alias history with the promote that first set it
        challenger = client.get_model_version("fair_affairs", "2")
        decision = json.loads(challenger.tags["mlops.gate.decision"])
        assert decision["result"] == "passed" and decision["scoring"] == "roc_auc"
        assert decision["challenger_score"] >= decision["champion_score"]
        assert str(client.get_model_version_by_alias("fair_affairs", "live").version) == "2"
        history = mlops.alias_history("fair_affairs", tracking_uri=client.tracking_uri)
        assert history["previous"].isna().tolist() == [True, False]
        assert history["previous"].iloc[1] == 1 and history["version"].tolist() == [1, 2]
        assert history["via"].tolist() == ["promote", "api"]
        assert history.reason.iloc[-1] == "the shifted batch's labels came back"
    if example.name == "statistics.ipynb":  # every report logged on the notebook's run
        tags = runs[0].data.tags
        assert tags["mlops.checks.stackloss.failed"] == "1"  # the robust fit's outliers
        assert tags["mlops.checks.statecrime.failed"] != "0"  # the District of Columbia
        assert tags["mlops.drift.halves.drifted"] == "0" and tags["mlops.drift.eras.drifted"] != "0"
        assert "mlops.eda.macrodata.warnings" in tags


PLAIN = [
    "alpha = 0.1",
    "import jupyter_mlops as mlops\nmlops.log(score=alpha * 10)",  # no magics, no explicit run
]


def test_values_logged_without_any_magic_are_on_the_finished_run(project: Path, client) -> None:
    write_notebook(project / "train.ipynb", PLAIN, tags={0: ["parameters"]})
    out = cli(
        "run", "train.ipynb", "-p", "alpha", "0.5", "-e", "E", "-o", "out/x.ipynb", cwd=project
    )
    assert out.returncode == 0, out.stderr
    # the kernel is shut down gracefully before the run is read: its last values are written
    assert "metric    score = 5" in out.stdout
    (run,) = all_runs(client)
    assert client.get_experiment(run.info.experiment_id).name == "E"
    assert (run.info.status, run.data.params, run.data.metrics) == (
        "FINISHED",
        {"alpha": "0.5"},
        {"score": 5.0},
    )
    assert run.data.tags["mlops.parameters"] == '{"alpha": "0.5"}'
    names = {a.path for a in client.list_artifacts(run.info.run_id, "notebook")}
    assert {"notebook/train.ipynb", "notebook/train.html"} <= names
    assert (project / "out" / "x.ipynb").is_file()


def test_parameters_are_python_literals_or_strings(project: Path, client) -> None:
    cells = ["print(repr(flag), repr(name), repr(n), repr(ratio), repr(items), repr(quoted))"]
    write_notebook(project / "types.ipynb", cells)  # no `parameters` cell
    args = ["-p", "flag", "True", "-p", "name", "ridge", "-p", "n", "3", "-p", "ratio", "1e-3"]
    args += ["-p", "items", "[1, 2]", "-p", "quoted", "'7'"]
    out = cli("run", "types.ipynb", *args, "-o", "out.ipynb", cwd=project)
    assert out.returncode == 0, out.stderr
    assert "no cell tagged 'parameters'" in out.stdout  # told where they went
    executed = nbformat.read(project / "out.ipynb", 4)
    assert "injected-parameters" in executed.cells[0].metadata["tags"]  # first, before the code
    printed = "".join(o.get("text", "") for o in executed.cells[1].outputs)
    assert printed.strip() == "True 'ridge' 3 0.001 [1, 2] '7'"
    (run,) = all_runs(client)
    assert run.data.params == {
        "flag": "True",
        "name": "ridge",
        "n": "3",
        "ratio": "0.001",
        "items": "[1, 2]",
        "quoted": "7",
    }


def _outputs(path: Path) -> str:
    nb = nbformat.read(path, 4)
    return "".join(o.get("text", "") for cell in nb.cells for o in cell.get("outputs", []))


def test_a_cell_over_the_timeout_fails_the_run_and_keeps_the_partial_notebook(
    project: Path, client
) -> None:
    cells = ["print('first cell ran')", "import time\ntime.sleep(120)", "never = True"]
    write_notebook(project / "slow.ipynb", cells)
    out = cli("run", "slow.ipynb", "--timeout", "3", "-o", "partial.ipynb", cwd=project)
    assert out.returncode == 1
    assert "failed at cell 1 ('import time'): timed out after 3 s" in out.stdout
    assert "first cell ran" in _outputs(project / "partial.ipynb")
    (run,) = all_runs(client)
    assert run.info.status == "FAILED"
    assert run.data.tags["mlops.failed_cell"] == "1"
    assert "timed out" in run.data.tags["mlops.error"]


def test_a_kernel_that_dies_fails_the_run(project: Path, client) -> None:
    cells = ["print('alive')", "import os\nos._exit(3)", "never = True"]
    write_notebook(project / "dies.ipynb", cells)
    out = cli("run", "dies.ipynb", "-o", "partial.ipynb", cwd=project)
    assert out.returncode == 1
    assert "failed at cell 1 ('import os'): the kernel died" in out.stdout
    assert "alive" in _outputs(project / "partial.ipynb")
    (run,) = all_runs(client)
    assert run.info.status == "FAILED"
    assert "kernel died" in run.data.tags["mlops.error"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--kernel", "no-such-kernel"], "no kernel named 'no-such-kernel'"),
        (["-o", "x.ipynb"], "must not overwrite the source notebook"),
    ],
)
def test_refused_before_any_run_is_created(
    project: Path, client, args: list[str], message: str
) -> None:
    write_notebook(project / "x.ipynb", ["x = 1"])
    out = cli("run", "x.ipynb", *args, cwd=project)
    assert out.returncode == 2
    assert message in out.stderr and "Traceback" not in out.stderr
    assert all_runs(client) == []


def test_nbconvert_to_mlops_is_a_tracked_run(project: Path, client) -> None:
    notebook = write_notebook(project / "train.ipynb", PLAIN, tags={0: ["parameters"]})
    before = digest(notebook)
    exe = Path(sys.executable).parent / "jupyter"
    command = [str(exe), "nbconvert", "--to", "mlops", "train.ipynb"]
    out = subprocess.run(
        [*command, "--MlopsExporter.parameters", "alpha=0.5", "--MlopsExporter.experiment=nb"],
        cwd=project,
        capture_output=True,
        text=True,
        env=kernel_env(),
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    assert digest(notebook) == before
    (run,) = all_runs(client)
    assert client.get_experiment(run.info.experiment_id).name == "nb"
    assert (run.info.status, run.data.params, run.data.metrics) == (
        "FINISHED",
        {"alpha": "0.5"},
        {"score": 5.0},
    )
    assert run.data.tags["mlops.runner"] == "jupyter-mlops run"
    executed = nbformat.read(project / "train.mlops.ipynb", 4)  # nbconvert wrote the result
    assert "injected-parameters" in executed.cells[1].metadata["tags"]

    write_notebook(project / "broken.ipynb", ["raise ValueError('bad data')"])
    out = subprocess.run(
        [str(exe), "nbconvert", "--to", "mlops", "broken.ipynb"],
        cwd=project,
        capture_output=True,
        text=True,
        env=kernel_env(),
        timeout=300,
    )
    assert out.returncode != 0
    assert "failed at cell 0 (\"raise ValueError('bad data')\"): ValueError: bad data" in out.stderr
    assert not (project / "broken.mlops.ipynb").exists()
    failed = [r for r in all_runs(client) if r.info.status == "FAILED"]
    assert len(failed) == 1 and failed[0].data.tags["mlops.failed_cell"] == "0"


def test_first_tracking_call_of_any_kind_attaches_and_autolog_waits_for_sklearn(
    project: Path, client
) -> None:
    cells = [
        "%load_ext jupyter_mlops",
        "import pandas as pd\n"
        "pd.DataFrame({'x': [1.0, 2.0, 3.0, 4.0], 'y': [2.0, 4.1, 5.9, 8.2]})"
        ".to_csv('table.csv', index=False)",
        "%mlops data add table.csv",  # the first tracking call: a data version
        "frame = pd.read_csv('table.csv')\nimport sys\nprint('sklearn' in sys.modules)",
        "%mlops eda frame --name table",
        # scikit-learn imported only now, after the run is active: its fit is still autologged
        "from sklearn.linear_model import LinearRegression\n"
        "LinearRegression(fit_intercept=False).fit(frame[['x']], frame['y'])",
    ]
    write_notebook(project / "attach.ipynb", cells)
    out = cli("run", "attach.ipynb", "-o", "out.ipynb", cwd=project)
    assert out.returncode == 0, out.stdout + out.stderr
    run, (fit,) = run_and_children(client)  # the autologged fit, a child of the batch run
    assert run.info.status == "FINISHED"
    assert "mlops.data.table.csv" in run.data.tags  # recorded on the runner's run
    assert [d.dataset.name for d in run.inputs.dataset_inputs] == ["table.csv"]
    eda = {a.path for a in client.list_artifacts(run.info.run_id, "eda")}
    assert {"eda/table.html", "eda/table.json"} <= eda
    executed = nbformat.read(project / "out.ipynb", 4)
    assert "".join(o.get("text", "") for o in executed.cells[3].outputs).strip() == "False"
    # sklearn autolog, set up on import: the fit is a child run of the runner's run
    assert fit.data.tags["mlflow.parentRunId"] == run.info.run_id
    assert fit.data.params["fit_intercept"] == "False"
    assert "training_score" in fit.data.metrics and "training_score" not in run.data.metrics
