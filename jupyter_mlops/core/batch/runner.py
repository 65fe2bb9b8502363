"""Run a notebook with nbclient as one tracked MLflow run.

The runner owns the run: it creates it, hands its id to the kernel (tracking calls inside the
notebook attach to it instead of starting their own), and ends it FINISHED or FAILED naming the
cell. The source notebook is never written; the executed copy goes to the run (and ``output``).
"""

from __future__ import annotations

import copy
import json
import os
import tempfile
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ...config import resolve_settings
from ...errors import MlopsError
from ..redact import redact_url
from ..tags import (
    ERROR,
    FAILED_CELL,
    HTML_ERROR,
    KERNEL_CWD,
    MLFLOW_PARENT_RUN_ID,
    NOTEBOOK_FOLDER,
    PARAMETERS,
    RUNNER,
    STOPPED_CELL,
)
from . import record
from .banner import add_banner, failure_line, first_line, remove_banner, stopped_note
from .interrupts import take_interrupts
from .kernel import STOPPED, check_kernel, clean_exit, kernel_cwd, killed_by
from .parameter_names import check_parameter_names, warn_now
from .parameters import PARAMETERS_TAG, inject_parameters, plain_value
from .progress import CellReporter, notebook_client


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
    stopped_cell: int | None = None  # a clean early stop (``sys.exit(0)``): later cells not run
    output: Path | None = None
    notes: list[str] = field(default_factory=list)
    notebook: Any = field(default=None, repr=False)  # the executed NotebookNode

    @property
    def ok(self) -> bool:
        return self.status == "FINISHED"

    def summary(self) -> str:
        lines = [
            f"Run {self.run_id} {self.status} in experiment '{self.experiment}'",
            f"  store: {redact_url(self.tracking_uri)}",
        ]
        lines += [f"  note: {note}" for note in self.notes]
        if self.error is not None:
            lines.append(f"  {self.error}")
        for key, value in self.parameters.items():
            lines.append(f"  parameter {key} = {value!r}")
        for key, value in sorted(self.metrics.items()):
            lines.append(f"  metric    {key} = {value:.6g}")
        if self.output:
            lines.append(f"  executed notebook: {self.output}")
        return "\n".join(lines)


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
    parent_run_id: str | None = None,
    tags: dict[str, str] | None = None,
    nb: Any = None,
    hold_aliases: bool | str = False,
    strict_parameters: bool = False,
    progress_bar: bool = False,
    log_output: bool = False,
    cwd: str | os.PathLike[str] | None = None,
) -> NotebookRun:
    """Execute the notebook at ``path`` inside one tracked run and return how it went.

    A failing cell, a dead kernel or a cell over ``timeout`` seconds ends the run FAILED and is
    reported on the result, not raised: the caller (a sweep, say) decides what failure means.
    ``sys.exit(0)`` in a cell is a clean stop: FINISHED, ``stopped_cell`` set, later cells not run.
    ``parent_run_id`` makes the run a child (sweeps); ``tags`` are set last, over provenance.
    ``nb`` is the notebook's content when it does not come from ``path`` (the nbconvert
    exporter); ``path`` then still says where it runs and what it is called.
    ``hold_aliases`` makes promotions inside the notebook register without moving an alias
    (sweep points and reproductions; a kernel started from a held one stays held); the text
    ``"retrain"`` holds them too, and tells the promotion that a retrain's gate moves them.
    A parameter the ``parameters`` cell does not define is a note and the tag
    ``mlops.unknown_parameters``; ``strict_parameters`` refuses it before anything starts.
    ``progress_bar`` draws papermill's bar over the cells on stderr, ``log_output`` writes each
    cell's outputs there as they arrive (both off: a Python caller has its own display);
    ``cwd`` is the kernel's working directory (default: the notebook's folder).
    A failed cell is named by its index in the notebook as run (the source's cells, with the
    injected-parameters cell), as ``mlops.failed_cell`` and the banner say (``banner.py``).
    """
    notebook = Path(path).resolve()
    settings = resolve_settings(notebook.parent, tracking_uri=tracking_uri)
    writer = record.Writer(settings.tracking_uri)  # first: MLflow's import is the long pole
    try:
        nb = _read_notebook(path, notebook, nb)
        written = _output_path(output, notebook)
        workdir = kernel_cwd(cwd, notebook)
        parameters = dict(parameters or {})
        notes, name_tags = _inject(nb, notebook, parameters, strict_parameters)
        if parent_run_id is None:  # a sweep said it once for all its points
            warn_now(notes)
        kernel = kernel_name or nb.metadata.get("kernelspec", {}).get("name") or "python3"
        kernel_arguments = check_kernel(kernel)
    except BaseException:
        writer.abandon()
        raise
    exp_name = experiment or settings.experiment or notebook.stem
    run_tags = _runner_tags(parameters, parent_run_id) | name_tags

    # Importing MLflow and opening the store cost more than starting a kernel and running a
    # short notebook: the writer does it while the kernel starts and runs its first cells. The
    # kernel learns the run id from a file written once the run exists; only a tracking call
    # waits for it.
    sockets = tempfile.TemporaryDirectory(prefix="mlops-kernel-")
    id_file = Path(sockets.name) / "run-id"
    pending = writer.open(settings, notebook, exp_name, run_name, run_tags, tags, parameters)
    pending.add_done_callback(lambda future: _tell_kernel(future, id_file))
    warm = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mlops-html")
    html = warm.submit(_html_exporter)  # loaded while the cells run
    env = _kernel_env(settings, notebook, id_file, hold_aliases)
    try:
        reporter = CellReporter(nb, progress_bar=progress_bar, log_output=log_output)
        status, failed_cell, error = _execute(
            nb, workdir, kernel, kernel_arguments, timeout, sockets, env, reporter
        )
        if status == "KILLED":  # Ctrl-C stopped the kernel: recorded, then raised as usual
            raise KeyboardInterrupt
        stopped_cell = None
        if status == STOPPED:  # papermill's rule: exit status 0 is a clean stop, not a failure
            status, stopped_cell, failed_cell = "FINISHED", failed_cell, None
            notes.append(error)
            error = None
    except KeyboardInterrupt:
        if pending.exception() is None:
            run_id = pending.result()
            _finish(writer, run_id, nb, notebook, "KILLED", html, error="interrupted", cwd=workdir)
        warm.shutdown(wait=False)
        writer.shutdown()
        _write_output(nb, written)  # the cells that ran keep their outputs
        raise
    try:
        run_id = _run_id(pending, nb, written, settings.tracking_uri)
        final = _finish(
            writer,
            run_id,
            nb,
            notebook,
            status,
            html,
            failed_cell=failed_cell,
            error=error,
            stopped_cell=stopped_cell,
            cwd=workdir,
        )
    finally:
        warm.shutdown(wait=False)
        writer.shutdown()
    _write_output(nb, written)  # the partial notebook too, when a cell failed
    return NotebookRun(
        run_id=run_id,
        experiment=exp_name,
        status=final["status"],
        tracking_uri=settings.tracking_uri,
        parameters=parameters,
        metrics=final["metrics"],
        params=final["params"],
        failed_cell=failed_cell,
        error=error,
        stopped_cell=stopped_cell,
        output=written,
        notes=notes,
        notebook=nb,
    )


# -- the steps of a run -----------------------------------------------------------------------
def _read_notebook(path: str | os.PathLike[str], notebook: Path, nb: Any) -> Any:
    """The notebook's content: a copy of ``nb`` when given (nbconvert), else read from disk;
    without the failure banner of an earlier run (re-running an output notebook)."""
    import nbformat

    if nb is not None:  # content given (nbconvert): ``path`` only places it
        if not notebook.parent.is_dir():
            raise MlopsError(f"no folder {notebook.parent} to run {notebook.name} in")
        nb = copy.deepcopy(nb)
    elif notebook.suffix != ".ipynb" or not notebook.is_file():
        raise MlopsError(f"no notebook at {path}")
    else:
        try:
            nb = nbformat.read(notebook, as_version=4)
        except Exception as exc:
            raise MlopsError(f"{path} is not a readable notebook: {exc}") from exc
    remove_banner(nb)
    return nb


def _output_path(output: str | os.PathLike[str] | None, notebook: Path) -> Path | None:
    """Where the executed copy goes (never over the source notebook)."""
    written = Path(output).resolve() if output is not None else None
    if written == notebook:
        raise MlopsError("the output must not overwrite the source notebook")
    return written


def _inject(
    nb: Any, notebook: Path, parameters: dict[str, Any], strict: bool
) -> tuple[list[str], dict[str, str]]:
    """Check the names (refusing unknown ones when ``strict``), make the values the plain ones
    the cell will hold (so the run records what was injected), inject; the notes and tags."""
    checked = check_parameter_names(nb, parameters, notebook.name, strict=strict)
    parameters.update({name: plain_value(value, name) for name, value in parameters.items()})
    if inject_parameters(nb, parameters):
        return checked.notes, checked.tags
    note = f"{notebook.name} has no cell tagged '{PARAMETERS_TAG}'; "
    return [note + "the parameters were injected as its first cell"], checked.tags


def _runner_tags(parameters: dict[str, Any], parent_run_id: str | None) -> dict[str, str]:
    """The tags the runner sets: who ran it, the injected values, the parent run."""
    run_tags = {RUNNER: "jupyter-mlops run"}
    if parameters:
        run_tags[PARAMETERS] = json.dumps({k: repr(v) for k, v in parameters.items()})
    if parent_run_id:
        run_tags[MLFLOW_PARENT_RUN_ID] = parent_run_id
    return run_tags


def _kernel_env(settings: Any, notebook: Path, id_file: Path, hold: bool | str) -> dict[str, str]:
    """The kernel's environment: where to learn the run id, the store, the notebook's path."""
    from ..tracking import ATTACH_ENV, ATTACH_FILE_ENV, HOLD_ALIASES_ENV

    env = dict(os.environ)
    env.pop(ATTACH_ENV, None)
    env.update(
        {
            ATTACH_FILE_ENV: str(id_file),
            "MLFLOW_TRACKING_URI": settings.tracking_uri,
            "MLFLOW_REGISTRY_URI": settings.registry_uri,
            "JPY_SESSION_NAME": str(notebook),
        }
    )
    if hold:
        env[HOLD_ALIASES_ENV] = hold if isinstance(hold, str) else "1"
    return env


def _execute(
    nb: Any,
    workdir: Path,
    kernel: str,
    kernel_arguments: list[str],
    timeout: int | None,
    sockets: tempfile.TemporaryDirectory,
    env: dict[str, str],
    reporter: CellReporter,
) -> tuple[str, int | None, str | None]:
    """Run every cell in ``workdir``; return the status, the failing cell and the error line
    (``STOPPED``, the cell and a note for a clean ``sys.exit(0)``; ``KILLED`` after Ctrl-C).
    A failure is a result, not raised."""
    from jupyter_client.manager import AsyncKernelManager

    current: dict[str, Any] = {}
    # A local kernel talks over IPC sockets in a private folder: no open TCP ports on the
    # machine (and no warning about unencrypted TCP from ipykernel). The asynchronous manager,
    # as nbclient makes by default: with a blocking one its cell timeout never fires.
    km = AsyncKernelManager(kernel_name=kernel, transport="ipc", ip=os.path.join(sockets.name, "k"))

    def started(cell: Any, cell_index: int) -> None:
        _started(km, current, cell_index)
        reporter.cell_started(cell, cell_index)

    nb_client = notebook_client(
        nb,
        reporter,
        km=km,
        timeout=timeout,
        kernel_name=kernel,
        extra_arguments=kernel_arguments,
        resources={"metadata": {"path": str(workdir)}},
        on_cell_start=started,
        on_notebook_start=lambda notebook: take_interrupts(km, current),
    )
    finished = False
    try:
        with sockets:
            # We made the kernel manager, so nbclient would leave the kernel running: ask it to
            # shut the kernel down gracefully, which also lets the kernel write its last values.
            nb_client.execute(env=env, cleanup_kc=True)
        finished = not current.get("interrupted")
    except BaseException as exc:
        if not current.get("interrupted"):
            return _outcome(nb, exc, current, timeout)
    finally:
        reporter.close(finished)
    if current.get("interrupted"):  # Ctrl-C killed the kernel: whatever nbclient made of it
        return "KILLED", current.get("index"), "interrupted"
    return "FINISHED", None, None


def _outcome(
    nb: Any, exc: BaseException, current: dict[str, Any], timeout: int | None
) -> tuple[str, int | None, str | None]:
    """What an exception out of nbclient means for the run: a clean stop or a failure."""
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    if isinstance(exc, KeyboardInterrupt | SystemExit):
        raise exc
    if isinstance(exc, CellExecutionError):
        if clean_exit(exc):
            index = current.get("index")
            return STOPPED, index, stopped_note(nb, index)
        reason = _error_line(exc)
    elif isinstance(exc, CellTimeoutError):
        reason = f"timed out after {timeout} s (--timeout)"
    elif isinstance(exc, DeadKernelError):
        reason = f"the kernel died ({first_line(str(exc))}){killed_by(current.get('process'))}"
    else:  # the kernel would not start, say: the run must not stay RUNNING
        reason = f"{type(exc).__name__}: {first_line(str(exc))}"
    failed_cell = current.get("index")
    return "FAILED", failed_cell, failure_line(nb, failed_cell, reason)


def _started(km: Any, current: dict[str, Any], index: int) -> None:
    """Remember the cell running now, and the kernel's process (to name what killed it)."""
    current["index"] = index
    if "process" not in current:
        current["process"] = getattr(km.provisioner, "process", None)


def _run_id(pending: Future, nb: Any, written: Path | None, uri: str) -> str:
    """The run's id; a store that could not take the run is one line, after the executed
    notebook is written to ``written`` (the cells ran: their outputs are not lost)."""
    try:
        return pending.result()
    except MlopsError:
        _write_output(nb, written)
        raise
    except Exception as exc:
        _write_output(nb, written)
        reason = f"{type(exc).__name__}: {first_line(str(exc))}"
        raise MlopsError(f"the run could not be recorded in {redact_url(uri)}: {reason}") from exc


def _write_output(nb: Any, written: Path | None) -> None:
    """Write the executed notebook (with its failure banner, set by ``_finish``) to ``-o``."""
    import nbformat

    if written is not None:
        written.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, written)


def _tell_kernel(future: Future, id_file: Path) -> None:
    """Write the run id (or ``!reason``) where the kernel's tracking calls look for it."""
    error = future.exception()
    text = f"!{first_line(str(error)) or type(error).__name__}" if error else future.result()
    partial = id_file.with_suffix(".partial")
    try:
        partial.write_text(text)
        os.replace(partial, id_file)
    except OSError:  # the run is over and its folder gone: nobody is waiting
        pass


def _html_exporter() -> Any:
    """nbconvert's HTML exporter with its templates loaded (the first render loads them).

    Done while the cells run, at a lower priority (this thread only, where the system allows
    it): the kernel and the record's writer are what the run waits for."""
    import contextlib
    import threading

    import nbformat
    from nbconvert import HTMLExporter

    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)

    exporter = HTMLExporter()
    exporter.from_notebook_node(nbformat.v4.new_notebook())
    return exporter


def _error_line(exc: Any) -> str:
    ename, evalue = getattr(exc, "ename", None), getattr(exc, "evalue", None)
    if ename:
        return f"{ename}: {evalue}"
    return str(exc).strip().splitlines()[-1]


def _finish(
    writer: record.Writer,
    run_id: str,
    nb: Any,
    notebook: Path,
    status: str,
    html: Future,
    *,
    failed_cell: int | None = None,
    error: str | None = None,
    stopped_cell: int | None = None,
    cwd: Path | None = None,
) -> dict[str, Any]:
    """Put the failure banner on the executed notebook and render it here, then have the writer
    log it and its HTML, record where the run ended (failed or stopped cell, error, working
    directory) and end it with ``status``: the one place that decides what the record says.
    Returns what the run holds at its end."""
    import nbformat

    if failed_cell is not None and error:
        add_banner(nb, failed_cell, error, run_id)
    files = {f"{NOTEBOOK_FOLDER}/{notebook.stem}.ipynb": nbformat.writes(nb)}
    tags: dict[str, str] = {}
    try:
        body, _ = html.result().from_notebook_node(nb)
        files[f"{NOTEBOOK_FOLDER}/{notebook.stem}.html"] = body
    except Exception as exc:  # a rendering problem must not hide the run's real outcome
        tags[HTML_ERROR] = str(exc)[:500]
    if failed_cell is not None:
        tags[FAILED_CELL] = str(failed_cell)
    if stopped_cell is not None:
        tags[STOPPED_CELL] = str(stopped_cell)
    if error:
        tags[ERROR] = error[:5000]
    if cwd is not None and cwd != notebook.parent:
        tags[KERNEL_CWD] = str(cwd)
    return writer.close(run_id, files, tags, status)
