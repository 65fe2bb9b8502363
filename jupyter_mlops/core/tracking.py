"""Experiment tracking: runs that know their notebook, never dangle, and log without waiting.

This is the Python API behind ``%mlops track``/``%mlops log``; it knows nothing of IPython. The
IPython layer feeds it executed cells (``Session.record_cell``) and a way to find the notebook.
"""

from __future__ import annotations

import atexit
import contextlib
import math
import numbers
import os
import re
import sys
import threading
import time
import traceback
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..config import Settings, resolve_settings
from ..errors import MlopsError, NoActiveRunError
from . import provenance, store
from .buffer import LogBuffer, LoggingError, now_ms
from .redact import redact_url

if TYPE_CHECKING:
    import pandas as pd

#: the batch runner sets this in the kernel's environment; tracking calls then attach to its run
ATTACH_ENV = "JUPYTER_MLOPS_RUN_ID"
#: ... or this, a file the runner writes the run id to once the run exists (the kernel starts
#: and runs its first cells while the runner is still opening the store)
ATTACH_FILE_ENV = "JUPYTER_MLOPS_RUN_ID_FILE"
#: ... and this ("1") in sweep points and reproductions: promotions register, aliases stay put
HOLD_ALIASES_ENV = "JUPYTER_MLOPS_HOLD_ALIASES"
ATTACH_WAIT = 600.0  # seconds a tracking call waits for the runner's run before giving up
_KEY = re.compile(r"^[\w.\- /:]+$")
_MAX_KEY, _MAX_PARAM = 250, 6000
_TERMINAL = {"FINISHED", "FAILED", "KILLED"}


@dataclass(eq=False, repr=False)
class Run:
    """A tracked run. Use it as a context manager to end it with the right status."""

    run_id: str
    experiment_id: str
    experiment_name: str
    name: str
    settings: Settings
    owned: bool = True  # False: the batch runner owns it; we only attach
    autolog: bool = False  # record this run's scikit-learn fits as candidates
    status: str = "RUNNING"
    notebook: Path | None = None
    replaced: str | None = None  # id of a run this one ended on starting
    cells: list[list] = field(default_factory=list, repr=False)  # [execution count, source]
    params: dict[str, str] = field(default_factory=dict, repr=False)
    candidates: list[Any] = field(default_factory=list, repr=False)  # autolog.Candidate, in order
    code_tags: dict[str, str] = field(default_factory=dict, repr=False)  # for its child runs
    _client: Any = field(default=None, repr=False)

    @property
    def client(self) -> Any:
        """An ``MlflowClient`` for this run's store, made once (``log`` must stay cheap)."""
        if self._client is None:
            self._client = store.client(self.settings)
        return self._client

    def queue_run(self, record: Any) -> None:
        """Have a finished child run (``buffer.NewRun``) written in the background."""
        session.buffer.add_run(self.client, record)

    def __enter__(self) -> Run:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            end_run("FINISHED", run=self)
        elif issubclass(exc_type, KeyboardInterrupt):
            end_run("KILLED", run=self, error=exc)
        else:
            end_run("FAILED", run=self, error=exc)

    @property
    def info(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "run_name": self.name,
            "experiment": self.experiment_name,
            "experiment_id": self.experiment_id,
            "status": self.status,
            "tracking_uri": redact_url(self.settings.tracking_uri),  # shown: no credentials
            "root": str(self.settings.root),
            "notebook": str(self.notebook) if self.notebook else None,
            "attached": not self.owned,
            "candidates": [c.to_dict() for c in self.candidates],
        }

    def _repr_html_(self) -> str:
        from ..display.cards import run_card_html

        return run_card_html(self.info)

    def __repr__(self) -> str:
        from ..display.cards import run_card_text

        return run_card_text(self.info)


class Session:
    """Process-wide tracking state: the run stack, the write buffer, the executed cells."""

    def __init__(self) -> None:
        self.stack: list[Run] = []
        self.buffer = LogBuffer()
        self.user_ns: dict | None = None  # the notebook's namespace, when a kernel gives one
        self._lock = threading.RLock()
        self._exit_hook = False
        self._current: list | None = None

    @property
    def autologging(self) -> bool:
        """Whether a fit now would be recorded (the active run autologs)."""
        return bool(
            self.active is not None and self.active.autolog and _autolog_module().is_enabled()
        )

    @property
    def active(self) -> Run | None:
        return self.stack[-1] if self.stack else None

    def cell_started(self, source: str) -> None:
        """A cell is about to run: runs active now record it (a cell ending a run included)."""
        self._current = None
        if self.stack:
            self._current = [None, source]
            for run in self.stack:
                run.cells.append(self._current)

    def cell_finished(self, source: str, execution_count: int | None) -> None:
        """A cell ran: give it its number, or record it if it started the active run."""
        current, self._current = self._current, None
        if current is not None:
            current[0] = execution_count
        elif self.stack:
            for run in self.stack:
                run.cells.append([execution_count, source])

    def register_exit_hook(self) -> None:
        # Registered after mlflow is imported, so it runs before MLflow's own hook (LIFO) and the
        # run is ended KILLED rather than FINISHED when a kernel goes away with a run open.
        if not self._exit_hook:
            atexit.register(self._at_exit)
            self._exit_hook = True

    def _at_exit(self) -> None:
        try:
            self.buffer.flush()
        except Exception as exc:  # nothing to show it to any more
            warnings.warn(f"jupyter-mlops: unsaved run data at exit: {exc}", stacklevel=1)
        # A kernel going away with a run open did not finish it; a script reaching its end did.
        status = "KILLED" if _in_kernel() else "FINISHED"
        for run in reversed(list(self.stack)):
            if run.owned:
                with contextlib.suppress(Exception):
                    end_run(status, run=run)


session = Session()


STEP_RANGE = (-(2**63), 2**63 - 1)  # a metric's step, as the store keeps it (64-bit)
MAX_RUNS = 50_000  # the most one MLflow search returns


def _in_kernel() -> bool:
    ipython = sys.modules.get("IPython")
    return bool(ipython is not None and ipython.get_ipython() is not None)


# -- starting and ending ----------------------------------------------------------------------
def _activate(settings: Settings) -> None:
    import mlflow

    store.prepare(settings)
    # MLflow mirrors these globals into MLFLOW_TRACKING_URI / MLFLOW_REGISTRY_URI for its
    # subprocesses; left there, they would outrank the next project's own settings
    saved = {name: os.environ.get(name) for name in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")}
    try:
        if mlflow.get_tracking_uri() != settings.tracking_uri:
            mlflow.set_tracking_uri(settings.tracking_uri)
        mlflow.set_registry_uri(settings.registry_uri)
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    session.register_exit_hook()


def _settings_for(notebook: Path | None, tracking_uri: str | None) -> Settings:
    start = notebook.parent if notebook else None
    return resolve_settings(start, tracking_uri=tracking_uri)


def _default_experiment(settings: Settings, notebook: Path | None) -> str:
    if settings.experiment:
        return settings.experiment
    if notebook is not None:
        return notebook.stem
    return settings.root.name or "default"


def start_run(
    experiment: str | None = None,
    run_name: str | None = None,
    tags: dict[str, Any] | None = None,
    *,
    autolog: bool | None = None,
    nested: bool | None = None,
    tracking_uri: str | None = None,
    description: str | None = None,
) -> Run:
    """Start a run that stays active until ``end_run`` (or the ``with`` block ends).

    Inside an active run the new run is its child, in the parent's experiment, and the parent is
    active again once the child ends (as ``%%mlops track`` does). ``nested=False`` ends the
    active run first instead (``%mlops track start``: re-running that cell is safe).
    """
    import mlflow

    with session._lock:
        notebook = provenance.notebook_path(session.user_ns)
        settings = _settings_for(notebook, tracking_uri)
        _activate(settings)
        target = attach_target()
        if not target:  # (the batch runner reaps before it starts a kernel)
            reap(settings)
        if nested is None:  # inside a batch run the whole notebook is the active run
            nested = bool(session.stack or target)

        if target and not session.stack:
            attached = _attach(target, settings, notebook, None if nested else tags)
            if not nested:
                _name_attached(attached, run_name)
                return attached
        elif target and not nested and [r.run_id for r in session.stack] == [target]:
            if tags:  # `track start` again inside a batch run: stay attached
                session.buffer.add(session.stack[0].client, target, tags=_tag_items(tags))
            _name_attached(session.stack[0], run_name)
            return session.stack[0]

        replaced = None
        owned = [r for r in session.stack if r.owned]
        if owned and not nested:
            replaced = owned[0].run_id
            end_run("FINISHED", run=owned[0])  # ends its children too
        parent = session.active
        foreign = mlflow.active_run()
        parent_id = parent.run_id if parent else (foreign.info.run_id if foreign else None)

        if parent is not None:
            if experiment not in (None, parent.experiment_name):
                raise MlopsError(
                    f"a child run goes in its parent's experiment {parent.experiment_name!r}; "
                    f"end run {parent.name!r} first to start one in {experiment!r}"
                )
            experiment = parent.experiment_name
        exp_name = experiment or _default_experiment(settings, notebook)
        exp_id = store.experiment_id(settings, exp_name)

        all_tags = provenance.run_tags(notebook, settings.root)
        all_tags.update({str(k): str(v) for k, v in (tags or {}).items()})
        if parent_id:
            all_tags["mlflow.parentRunId"] = parent_id
        if description:
            all_tags["mlflow.note.content"] = description
        client = store.client(settings)
        created = store.with_retry(
            lambda: client.create_run(exp_id, tags=all_tags, run_name=run_name)
        )
        run_id = created.info.run_id
        store.with_retry(lambda: mlflow.start_run(run_id=run_id, nested=bool(parent_id)))
        run = Run(
            run_id=run_id,
            experiment_id=exp_id,
            experiment_name=exp_name,
            name=created.info.run_name,
            settings=settings,
            notebook=notebook,
            replaced=replaced,
        )
        run.code_tags = provenance.code_tags(all_tags)
        session.stack.append(run)
        run.autolog = settings.autolog if autolog is None else autolog
        if run.autolog:
            _enable_autolog()
        return run


#: ``with mlops.track(experiment="churn") as run: ...``
track = start_run


def aliases_held() -> bool:
    """Whether promotions here must register without moving an alias (a sweep point or a
    reproduction: ``sweep --best`` moves it once, deliberately)."""
    return os.environ.get(HOLD_ALIASES_ENV, "") not in ("", "0")


def in_batch_run() -> bool:
    """Whether this process is a kernel of ``jupyter mlops run`` (its run is the notebook's)."""
    return bool(os.environ.get(ATTACH_ENV) or os.environ.get(ATTACH_FILE_ENV))


def attach_target() -> str | None:
    """The batch runner's run id, when this kernel runs inside ``jupyter mlops run``.

    The runner may still be creating the run when the first tracking call comes: then this
    waits for the id in the file the runner names (only tracking calls get here, never a cell
    hook), and remembers it.
    """
    run_id = os.environ.get(ATTACH_ENV)
    if run_id:
        return run_id
    path = os.environ.get(ATTACH_FILE_ENV)
    if not path:
        return None
    deadline = time.monotonic() + ATTACH_WAIT
    while True:
        try:
            text = Path(path).read_text().strip()
        except OSError:
            text = ""
        if text.startswith("!"):  # the runner could not create the run
            raise MlopsError(f"the batch runner has no run to attach to: {text[1:]}")
        if text:
            os.environ[ATTACH_ENV] = text
            return text
        if time.monotonic() > deadline:
            raise MlopsError(f"the batch runner did not say its run id within {ATTACH_WAIT:.0f} s")
        time.sleep(0.02)


def _name_attached(run: Run, run_name: str | None) -> None:
    """``%mlops track start -n NAME`` in a batch run names the runner's run."""
    if not run_name or run_name == run.name:
        return
    store.with_retry(lambda: run.client.update_run(run.run_id, name=run_name))
    run.name = run_name


def _tag_items(tags: dict[str, Any]) -> list[tuple[str, str]]:
    return [(str(k), str(v)) for k, v in tags.items()]


def _attach(run_id: str, settings: Settings, notebook: Path | None, tags: dict | None) -> Run:
    """Join the batch runner's run instead of starting one (the runner ends it)."""
    import mlflow

    client = store.client(settings)
    found = store.with_retry(lambda: client.get_run(run_id))
    active = mlflow.active_run()
    if active is None or active.info.run_id != run_id:
        store.with_retry(lambda: mlflow.start_run(run_id=run_id))
    experiment = store.with_retry(lambda: client.get_experiment(found.info.experiment_id))
    run = Run(
        run_id=run_id,
        experiment_id=found.info.experiment_id,
        experiment_name=experiment.name,
        name=found.info.run_name,
        settings=settings,
        owned=False,
        notebook=notebook,
        code_tags=provenance.code_tags(found.data.tags),  # the runner recorded them
    )
    if tags:
        session.buffer.add(client, run_id, tags=_tag_items(tags))
    session.stack.append(run)
    run.autolog = settings.autolog
    if run.autolog:
        _enable_autolog()
    return run


def end_run(
    status: str = "FINISHED",
    *,
    run: Run | None = None,
    error: BaseException | None = None,
    log_notebook: bool = True,
) -> Run | None:
    """End the active run (or ``run``): flush its data, log the notebook and executed cells.

    Returns the ended run, or ``None`` when no run was active. An attached run (owned by the
    batch runner) is flushed and released but left for the runner to end.
    """
    import mlflow

    status = status.upper()
    if status not in _TERMINAL:
        raise MlopsError(f"status must be one of {', '.join(sorted(_TERMINAL))}, not {status!r}")
    with session._lock:
        run = run or session.active
        if run is None:
            return None
        if run not in session.stack:
            return run  # already ended
        # children first: ending a parent ends what was opened inside it
        while session.stack and session.stack[-1] is not run and run in session.stack:
            end_run(status, run=session.stack[-1], log_notebook=log_notebook)
        client = run.client
        if error is not None:
            _log_error(client, run, error)
        if log_notebook:
            _log_notebook(client, run)
        try:
            session.buffer.flush(run.run_id)
        except LoggingError as exc:
            warnings.warn(f"{exc}; they stay queued and are retried", stacklevel=2)
        if run in session.stack:
            session.stack.remove(run)
        if run.owned:
            active = mlflow.active_run()
            if active is not None and active.info.run_id == run.run_id:
                store.with_retry(lambda: mlflow.end_run(status))
            else:
                store.with_retry(lambda: client.set_terminated(run.run_id, status))
            run.status = status
        if not session.stack:
            _disable_autolog()
        return run


def _log_error(client: Any, run: Run, error: BaseException) -> None:
    text = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    summary = f"{type(error).__name__}: {error}".strip()
    session.buffer.add(client, run.run_id, tags=[("mlops.error", summary[:5000])])
    store.with_retry(lambda: client.log_text(run.run_id, text, "error/traceback.txt"))


def _log_notebook(client: Any, run: Run) -> None:
    """The notebook as saved on disk and the cells the kernel ran during the run."""
    if run.cells:
        blocks = []
        for count, source in run.cells:
            label = count if count is not None else " "
            blocks.append(f"# In[{label}]:\n{source.rstrip()}\n")
        text = "\n\n".join(blocks)
        store.with_retry(lambda: client.log_text(run.run_id, text, "notebook/cells.py"))
    if run.notebook is not None and run.notebook.is_file():
        store.with_retry(lambda: client.log_artifact(run.run_id, str(run.notebook), "notebook"))


def reap(settings: Settings) -> None:
    from .liveness import reap_dead_runs

    try:
        reap_dead_runs(settings)
    except Exception as exc:  # never let housekeeping stop a run from starting
        warnings.warn(f"jupyter-mlops: could not check for dead runs: {exc}", stacklevel=3)


# -- autologging ------------------------------------------------------------------------------
def _autolog_module() -> Any:
    from . import autolog

    return autolog


def _enable_autolog() -> None:
    """Record each scikit-learn fit as a candidate child run (``autolog.py``), from
    scikit-learn's import on if it is not imported yet."""
    _autolog_module().enable()


def _disable_autolog() -> None:
    _autolog_module().disable()


# -- logging ----------------------------------------------------------------------------------
def active_run() -> Run | None:
    """The run ``log`` writes to, attaching to the batch runner's run when there is one."""
    if session.active is not None:
        return session.active
    if attach_target():
        return start_run(nested=False)
    return None


def log(step: int | None = None, **values: Any) -> None:
    """Log values on the active run: numbers become metrics, anything else params.

    Values are queued and written in the background; ``end_run`` writes what is left.
    """
    run = active_run()
    if run is None:
        raise NoActiveRunError()
    if step is not None and (isinstance(step, bool) or not isinstance(step, numbers.Integral)):
        raise MlopsError(f"step must be an integer, not {step!r}")
    if step is not None and not STEP_RANGE[0] <= step <= STEP_RANGE[1]:
        # the store's column is 64-bit: beyond it MLflow drops the metric with only a warning
        raise MlopsError(f"step must fit in 64 bits ({STEP_RANGE[0]:,} to {STEP_RANGE[1]:,})")
    metrics, params = _split_values(values, run, int(step or 0))
    session.buffer.add(run.client, run.run_id, metrics=metrics, params=params)


def _split_values(
    values: dict[str, Any], run: Run, step: int
) -> tuple[list[tuple[str, float, int, int]], list[tuple[str, str]]]:
    ts = now_ms()
    metrics, params = [], []
    for key, value in values.items():
        if len(key) > _MAX_KEY or not _KEY.match(key) or key.startswith("/") or ".." in key:
            raise MlopsError(
                f"invalid name {key!r}: use letters, digits, and _ - . / : or spaces "
                f"(at most {_MAX_KEY} characters)"
            )
        if isinstance(value, numbers.Real) and not isinstance(value, bool):
            number = float(value)
            if math.isinf(number):
                raise MlopsError(f"{key}={value!r}: metrics must be finite numbers")
            metrics.append((key, number, ts, step))
            continue
        text = str(value)
        if len(text) > _MAX_PARAM:
            raise MlopsError(f"{key}: a param holds at most {_MAX_PARAM} characters")
        previous = run.params.get(key)
        if previous is not None and previous != text:
            raise MlopsError(
                f"param {key!r} is already {previous!r} on this run; params cannot change "
                "(log a metric, or start a new run)"
            )
        run.params[key] = text
        params.append((key, text))
    return metrics, params


def flush() -> None:
    """Write everything queued now (normally done in the background and at ``end_run``)."""
    session.buffer.flush()


# -- reading ----------------------------------------------------------------------------------
def runs(
    experiment: str | None = None, max_results: int = 100, *, tracking_uri: str | None = None
) -> pd.DataFrame:
    """Recent runs of an experiment: id, name, status, times, parent run, the model a candidate
    run recorded (``model``: one child run per autologged fit), metrics.*, params.*."""
    import pandas as pd

    if (
        isinstance(max_results, bool)
        or not isinstance(max_results, numbers.Integral)
        or not 1 <= max_results <= MAX_RUNS
    ):
        raise MlopsError(
            f"max_results is a whole number from 1 to {MAX_RUNS:,}, not {max_results!r}"
        )

    notebook = provenance.notebook_path(session.user_ns)
    settings = session.active.settings if session.active else _settings_for(notebook, tracking_uri)
    if experiment is None:
        experiment = (
            session.active.experiment_name
            if session.active
            else _default_experiment(settings, notebook)
        )
    store.prepare(settings)
    reap(settings)
    client = store.client(settings)
    exp = store.with_retry(lambda: client.get_experiment_by_name(experiment))
    base = ["run_id", "name", "status", "start_time", "end_time", "parent_run_id", "model"]
    if exp is None:
        store_uri = redact_url(settings.tracking_uri)
        raise MlopsError(f"no experiment named {experiment!r} in {store_uri}")
    found = store.with_retry(
        lambda: client.search_runs(
            [exp.experiment_id], max_results=max_results, order_by=["attributes.start_time DESC"]
        )
    )
    from .autolog import TAG_CANDIDATE as autolog_tag

    rows = []
    for r in found:
        row = {
            "run_id": r.info.run_id,
            "name": r.info.run_name,
            "status": r.info.status,
            "start_time": pd.to_datetime(r.info.start_time, unit="ms", utc=True),
            "end_time": pd.to_datetime(r.info.end_time, unit="ms", utc=True)
            if r.info.end_time
            else pd.NaT,
            "parent_run_id": r.data.tags.get("mlflow.parentRunId"),
            "model": r.data.tags.get("estimator_name")
            if r.data.tags.get(autolog_tag) == "true"
            else None,
        }
        row.update({f"metrics.{k}": v for k, v in sorted(r.data.metrics.items())})
        row.update({f"params.{k}": v for k, v in sorted(r.data.params.items())})
        rows.append(row)
    frame = pd.DataFrame(rows, columns=None if rows else base)
    metric_cols = sorted(c for c in frame.columns if c.startswith("metrics."))
    param_cols = sorted(c for c in frame.columns if c.startswith("params."))
    return frame[base + metric_cols + param_cols]


def status(*, tracking_uri: str | None = None) -> dict[str, Any]:
    """Where runs go and what is active: store, experiment, run, DVC state. No network."""
    notebook = provenance.notebook_path(session.user_ns)
    run = session.active
    settings = run.settings if run else _settings_for(notebook, tracking_uri)
    return {
        "root": str(settings.root),
        "tracking_uri": redact_url(settings.tracking_uri),
        "tracking_uri_source": settings.source.get("tracking_uri", "default"),
        "registry_uri": redact_url(settings.registry_uri),
        "artifact_root": str(settings.artifact_root) if settings.artifact_root else None,
        "experiment": run.experiment_name if run else _default_experiment(settings, notebook),
        "notebook": str(notebook) if notebook else None,
        "active_run": run.info if run else None,
        "autolog": settings.autolog,
        "pending_values": session.buffer.pending(),
        "dvc": {"initialized": (settings.root / ".dvc").is_dir()},
    }


def tags_of(values: Iterable[str]) -> dict[str, str]:
    """Parse ``K=V`` strings (as given to ``--tag``) into a dict."""
    tags = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise MlopsError(f"tag {item!r} must look like KEY=VALUE")
        tags[key.strip()] = value
    return tags
