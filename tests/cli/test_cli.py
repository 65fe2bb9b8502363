"""`jupyter mlops run|status` as a user runs them: the console script in a real project."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from tests.conftest import all_runs, cli, kernel_env, write_notebook

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
    runs = all_runs(client)
    assert [r.info.status for r in runs] == ["FINISHED"]
    if example.name == "quickstart.ipynb":  # promoted from inside the tracked run
        version = client.get_model_version_by_alias("breast_cancer", "staging")
        assert version.run_id == runs[0].info.run_id
        assert version.tags["mlops.verified"] == "true"
