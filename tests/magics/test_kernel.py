"""%mlops in real IPython kernels: the acceptance notebook, failures, shutdown, restart, kill."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import nbformat
import pytest
from jupyter_client.manager import KernelManager
from nbclient.exceptions import CellExecutionError

from jupyter_mlops.magics import COMMANDS
from tests.conftest import (
    all_runs,
    execute_notebook,
    git,
    kernel_env,
    run_and_children,
    write_notebook,
)

ACCEPTANCE_CELLS = [
    "%load_ext jupyter_mlops",
    "%mlops track start -e E -n N --tag k=v",
    "from sklearn.datasets import load_breast_cancer\n"
    "from sklearn.linear_model import LogisticRegression\n"
    "X, y = load_breast_cancer(return_X_y=True)\n"
    "model = LogisticRegression(max_iter=5000).fit(X, y)",
    "import jupyter_mlops as mlops\nmlops.log(acc=model.score(X, y), solver='lbfgs')",
    "%mlops log x=1.5 label=hello",
    "%mlops track stop",
]


def test_acceptance_notebook(project: Path, client) -> None:
    notebook = write_notebook(project / "analysis.ipynb", ACCEPTANCE_CELLS)
    execute_notebook(notebook)
    run, (fit,) = run_and_children(client)  # the autologged fit: a child run of its own
    assert run.info.status == "FINISHED"
    assert client.get_experiment(run.info.experiment_id).name == "E"
    assert run.info.run_name == "N"
    data = run.data
    assert 0.9 < data.metrics["acc"] <= 1.0
    assert data.metrics["x"] == 1.5
    assert data.params["solver"] == "lbfgs" and data.params["label"] == "hello"
    assert data.tags["k"] == "v"
    # scikit-learn autologging: the fit's params and training metrics on its own child run
    assert fit.data.tags["mlflow.parentRunId"] == run.info.run_id
    assert fit.info.run_name == "LogisticRegression max_iter=5000"
    assert fit.data.params["max_iter"] == "5000" and "max_iter" not in data.params
    assert not any(k.startswith("training_") for k in data.metrics)
    assert fit.data.metrics["training_score"] == data.metrics["acc"]  # model.score(X, y)
    assert fit.data.tags["mlflow.source.name"] == "analysis.ipynb"
    assert data.tags["mlflow.source.git.commit"] == git(project, "rev-parse", "HEAD")
    assert data.tags["mlops.git.dirty"] == "true"  # the notebook is not committed
    assert data.tags["mlflow.source.type"] == "NOTEBOOK"
    assert data.tags["mlflow.source.name"] == "analysis.ipynb"
    packages = json.loads(data.tags["mlops.packages"])
    assert {"mlflow", "scikit-learn", "pandas"} <= set(packages)
    paths = {a.path for a in client.list_artifacts(run.info.run_id, "notebook")}
    assert paths == {"notebook/analysis.ipynb", "notebook/cells.py"}
    saved = nbformat.read(client.download_artifacts(run.info.run_id, "notebook/analysis.ipynb"), 4)
    assert [c.source for c in saved.cells] == ACCEPTANCE_CELLS
    cells = Path(client.download_artifacts(run.info.run_id, "notebook/cells.py")).read_text()
    assert "# In[2]:\n%mlops track start" in cells and "%load_ext" not in cells
    assert cells.index("LogisticRegression(max_iter") < cells.index("%mlops log x=1.5")


def test_failing_cell_run_in_kernel(project: Path, client) -> None:
    notebook = write_notebook(
        project / "fails.ipynb",
        ["%load_ext jupyter_mlops", "%%mlops track -e cells\nraise RuntimeError('cell broke')"],
    )
    nb = execute_notebook(notebook, allow_errors=True)
    error = next(o for o in nb.cells[1].outputs if o.output_type == "error")
    assert error.ename == "RuntimeError" and error.evalue == "cell broke"
    (run,) = all_runs(client)
    assert run.info.status == "FAILED"


def test_unknown_command_in_kernel_is_one_line(project: Path) -> None:
    notebook = write_notebook(
        project / "typo.ipynb", ["%load_ext jupyter_mlops", "%mlops no-such-command"]
    )
    nb = execute_notebook(notebook, allow_errors=True)
    text = "".join(o.get("text", "") for o in nb.cells[1].outputs)
    assert text.strip().splitlines() == [
        "UsageError: %mlops: unknown command 'no-such-command'; "
        f"commands: {', '.join(COMMANDS)} (see %mlops --help)"
    ]
    with pytest.raises(CellExecutionError):  # still an error for a batch run
        execute_notebook(notebook)


class Kernel:
    """A real kernel started like Jupyter starts one, in ``cwd``."""

    def __init__(self, cwd: Path) -> None:
        self.km = KernelManager(kernel_name="python3")
        self.km.start_kernel(cwd=str(cwd), env=kernel_env())
        self.kc = self.km.client()
        self.kc.start_channels()
        self.kc.wait_for_ready(timeout=60)

    def run(self, code: str) -> str:
        chunks: list[str] = []

        def keep(msg):
            content = msg["content"]
            if msg["msg_type"] == "stream":
                chunks.append(content["text"])
            elif msg["msg_type"] in {"execute_result", "display_data"}:
                chunks.append(content["data"].get("text/plain", ""))
            elif msg["msg_type"] == "error":
                chunks.append(f"{content['ename']}: {content['evalue']}")

        reply = self.kc.execute_interactive(code, timeout=120, output_hook=keep)
        assert reply["content"]["status"] == "ok", chunks
        return "".join(chunks)

    def start_run(self) -> str:
        self.run("%load_ext jupyter_mlops")
        self.run("%mlops track start -e lifecycle --no-autolog")
        return self.run(
            "import jupyter_mlops as mlops\nmlops.log(seen=1)\nprint(mlops.active_run().run_id)"
        ).strip()

    def close(self) -> None:
        self.kc.stop_channels()
        if self.km.is_alive():
            self.km.shutdown_kernel(now=True)


@pytest.fixture
def kernel(project: Path):
    k = Kernel(project)
    yield k
    k.close()


def test_kernel_shutdown_with_open_run_is_killed(kernel: Kernel, client) -> None:
    run_id = kernel.start_run()
    kernel.km.shutdown_kernel()  # graceful, as the Jupyter UI does
    stored = client.get_run(run_id)
    assert stored.info.status == "KILLED"
    assert stored.data.metrics == {"seen": 1.0}  # the queued value was flushed on the way out
    cells = Path(client.download_artifacts(run_id, "notebook/cells.py")).read_text()
    assert "mlops.log(seen=1)" in cells  # what ran before the shutdown is kept


def test_kernel_restart_with_open_run_is_killed(kernel: Kernel, client) -> None:
    run_id = kernel.start_run()
    kernel.km.restart_kernel()
    kernel.kc.wait_for_ready(timeout=60)
    assert client.get_run(run_id).info.status == "KILLED"


def test_sigkilled_kernel_run_is_killed_by_next_call(kernel: Kernel, project: Path, client) -> None:
    run_id = kernel.start_run()
    kernel.run("mlops.flush()")
    process = kernel.km.provisioner.process
    os.kill(process.pid, signal.SIGKILL)  # no exit hook runs
    process.wait(timeout=30)
    assert client.get_run(run_id).info.status == "RUNNING"
    other = Kernel(project)
    try:
        other.run("%load_ext jupyter_mlops")
        other.run("%mlops track start -e later --no-autolog")
    finally:
        other.close()
    stored = client.get_run(run_id)
    assert stored.info.status == "KILLED"
    assert stored.data.metrics == {"seen": 1.0}
