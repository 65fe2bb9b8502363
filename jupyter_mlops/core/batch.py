"""Run a notebook with nbclient as one tracked MLflow run.

The runner owns the run: it creates it, hands its id to the kernel (tracking calls inside the
notebook attach to it instead of starting their own), and ends it FINISHED or FAILED naming the
cell. The source notebook is never written; the executed copy goes to the run (and ``output``).
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import resolve_settings
from ..errors import MlopsError
from . import provenance, store
from .tracking import ATTACH_ENV, _reap

PARAMETERS_TAG = "parameters"
INJECTED_TAG = "injected-parameters"


@dataclass
class NotebookRun:
    """What ``run_notebook`` did: the run, how it ended, and where the failing cell was."""

    run_id: str
    experiment: str
    status: str
    tracking_uri: str
    parameters: dict[str, Any] = field(default_factory=dict)  # injected into the notebook
    metrics: dict[str, float] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)  # everything logged, autolog included
    failed_cell: int | None = None
    error: str | None = None
    output: Path | None = None

    @property
    def ok(self) -> bool:
        return self.status == "FINISHED"

    def summary(self) -> str:
        lines = [
            f"Run {self.run_id} {self.status} in experiment '{self.experiment}'",
            f"  store: {self.tracking_uri}",
        ]
        if self.failed_cell is not None:
            lines.append(f"  failed at cell {self.failed_cell}: {self.error}")
        for key, value in self.parameters.items():
            lines.append(f"  parameter {key} = {value!r}")
        for key, value in sorted(self.metrics.items()):
            lines.append(f"  metric    {key} = {value:.6g}")
        if self.output:
            lines.append(f"  executed notebook: {self.output}")
        return "\n".join(lines)


def inject_parameters(nb: Any, parameters: dict[str, Any]) -> None:
    """Add a cell assigning ``parameters`` after the cell tagged ``parameters`` (papermill's
    convention), or first when there is none; it replaces an earlier injected cell."""
    import nbformat

    if not parameters:
        return
    source = "# Parameters\n" + "".join(f"{k} = {v!r}\n" for k, v in parameters.items())
    cell = nbformat.v4.new_code_cell(source, metadata={"tags": [INJECTED_TAG]})
    cells = [c for c in nb.cells if INJECTED_TAG not in c.get("metadata", {}).get("tags", [])]
    position = 0
    for index, existing in enumerate(cells):
        if PARAMETERS_TAG in existing.get("metadata", {}).get("tags", []):
            position = index + 1
            break
    cells.insert(position, cell)
    nb.cells = cells


def run_notebook(
    path: str | os.PathLike[str],
    parameters: dict[str, Any] | None = None,
    *,
    experiment: str | None = None,
    run_name: str | None = None,
    output: str | os.PathLike[str] | None = None,
    kernel_name: str | None = None,
    timeout: int | None = None,
    tracking_uri: str | None = None,
) -> NotebookRun:
    """Execute the notebook at ``path`` inside one tracked run and return how it went."""
    import nbformat
    from jupyter_client.manager import KernelManager
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    notebook = Path(path).resolve()
    if notebook.suffix != ".ipynb" or not notebook.is_file():
        raise MlopsError(f"no notebook at {path}")
    try:
        nb = nbformat.read(notebook, as_version=4)
    except Exception as exc:
        raise MlopsError(f"{path} is not a readable notebook: {exc}") from exc
    parameters = dict(parameters or {})
    inject_parameters(nb, parameters)

    settings = resolve_settings(notebook.parent, tracking_uri=tracking_uri)
    store.prepare(settings)
    _reap(settings)
    exp_name = experiment or settings.experiment or notebook.stem
    exp_id = store.experiment_id(settings, exp_name)
    client = store.client(settings)
    tags = provenance.run_tags(notebook, settings.root)
    tags["mlops.runner"] = "jupyter-mlops run"
    created = store.with_retry(
        lambda: client.create_run(exp_id, tags=tags, run_name=run_name or notebook.stem)
    )
    run_id = created.info.run_id
    if parameters:
        from mlflow.entities import Param

        store.with_retry(
            lambda: client.log_batch(
                run_id, params=[Param(k, str(v)) for k, v in parameters.items()]
            )
        )

    env = dict(os.environ)
    env.update(
        {
            ATTACH_ENV: run_id,
            "MLFLOW_TRACKING_URI": settings.tracking_uri,
            "MLFLOW_REGISTRY_URI": settings.registry_uri,
            "JPY_SESSION_NAME": str(notebook),
        }
    )
    current: dict[str, int] = {}
    kernel = kernel_name or nb.metadata.get("kernelspec", {}).get("name") or "python3"
    sockets = tempfile.TemporaryDirectory(prefix="mlops-kernel-")
    # A local kernel talks over IPC sockets in a private folder: no open TCP ports on the
    # machine (and no warning about unencrypted TCP from ipykernel).
    km = KernelManager(kernel_name=kernel, transport="ipc", ip=os.path.join(sockets.name, "k"))
    nb_client = NotebookClient(
        nb,
        km=km,
        timeout=timeout,
        kernel_name=kernel,
        resources={"metadata": {"path": str(notebook.parent)}},
        on_cell_start=lambda cell, cell_index: current.__setitem__("index", cell_index),
    )
    status, failed_cell, error = "FINISHED", None, None
    try:
        with sockets:
            nb_client.execute(env=env)
    except CellExecutionError as exc:
        status, failed_cell = "FAILED", current.get("index")
        error = _error_line(exc)
    except (CellTimeoutError, DeadKernelError) as exc:
        status, failed_cell = "FAILED", current.get("index")
        error = f"{type(exc).__name__}: {str(exc).strip().splitlines()[0]}"
    except KeyboardInterrupt:
        _finish(client, run_id, nb, notebook, "KILLED", None, "interrupted")
        raise
    _finish(client, run_id, nb, notebook, status, failed_cell, error)
    written = None
    if output is not None:
        written = Path(output).resolve()
        if written == notebook:
            raise MlopsError("the output must not overwrite the source notebook")
        written.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, written)
    final = store.with_retry(lambda: client.get_run(run_id))
    return NotebookRun(
        run_id=run_id,
        experiment=exp_name,
        status=final.info.status,
        tracking_uri=settings.tracking_uri,
        parameters=parameters,
        metrics=dict(final.data.metrics),
        params=dict(final.data.params),
        failed_cell=failed_cell,
        error=error,
        output=written,
    )


def _error_line(exc: Any) -> str:
    ename, evalue = getattr(exc, "ename", None), getattr(exc, "evalue", None)
    if ename:
        return f"{ename}: {evalue}"
    return str(exc).strip().splitlines()[-1]


def _finish(
    client: Any,
    run_id: str,
    nb: Any,
    notebook: Path,
    status: str,
    failed_cell: int | None,
    error: str | None,
) -> None:
    """Log the executed notebook and its HTML, then end the run with ``status``."""
    import nbformat

    text = nbformat.writes(nb)
    store.with_retry(lambda: client.log_text(run_id, text, f"notebook/{notebook.stem}.ipynb"))
    try:
        from nbconvert import HTMLExporter

        body, _ = HTMLExporter().from_notebook_node(nb)
        store.with_retry(lambda: client.log_text(run_id, body, f"notebook/{notebook.stem}.html"))
    except Exception as exc:  # a rendering problem must not hide the run's real outcome
        message = str(exc)[:500]
        store.with_retry(lambda: client.set_tag(run_id, "mlops.html_error", message))
    if failed_cell is not None:
        store.with_retry(lambda: client.set_tag(run_id, "mlops.failed_cell", str(failed_cell)))
    if error:
        store.with_retry(lambda: client.set_tag(run_id, "mlops.error", error[:5000]))
    store.with_retry(lambda: client.set_terminated(run_id, status))


def parse_parameter(value: str) -> Any:
    """A CLI parameter value: JSON when it parses (numbers, booleans, lists), else the string."""
    try:
        return json.loads(value)
    except ValueError:
        return value
