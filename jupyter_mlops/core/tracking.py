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
import traceback
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import Settings
from ..errors import MlopsError, NoActiveRunError
from . import provenance, store
from . import tags as mlops_tags
from .buffer import LoggingError, now_ms
from .redact import redact_url

# re-exported: the batch runner and promote read them here
from .session import (  # noqa: F401
    ATTACH_ENV,
    ATTACH_FILE_ENV,
    HOLD_ALIASES_ENV,
    aliases_held,
    attach_target,
    default_experiment,
    in_batch_run,
    in_kernel,
    project_settings,
    session,
)

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


STEP_RANGE = (-(2**63), 2**63 - 1)  # a metric's step, as the store keeps it (64-bit)


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
    _register_exit_hook()


def _register_exit_hook() -> None:
    # Registered after mlflow is imported, so it runs before MLflow's own hook (LIFO) and the
    # run is ended KILLED rather than FINISHED when a kernel goes away with a run open.
    if not session.exit_hook:
        atexit.register(_at_exit)
        session.exit_hook = True


def _at_exit() -> None:
    try:
        session.buffer.flush()
    except Exception as exc:  # nothing to show it to any more
        warnings.warn(f"jupyter-mlops: unsaved run data at exit: {exc}", stacklevel=1)
    # A kernel going away with a run open did not finish it; a script reaching its end did.
    status = "KILLED" if in_kernel() else "FINISHED"
    for run in reversed(list(session.stack)):
        if run.owned:
            with contextlib.suppress(Exception):
                end_run(status, run=run)


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

    with session.lock:
        notebook = provenance.notebook_path(session.user_ns)
        settings = project_settings(tracking_uri, notebook_path=notebook, follow_run=False)
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
        exp_name = experiment or default_experiment(settings, notebook)
        exp_id = store.experiment_id(settings, exp_name)

        all_tags = provenance.run_tags(notebook, settings.root)
        all_tags.update({str(k): str(v) for k, v in (tags or {}).items()})
        if parent_id:
            all_tags[mlops_tags.MLFLOW_PARENT_RUN_ID] = parent_id
        if description:
            all_tags[mlops_tags.MLFLOW_RUN_NOTE] = description
        client = store.client(settings)
        created = client.create_run(exp_id, tags=all_tags, run_name=run_name)
        run_id = created.info.run_id
        _fluent(lambda: mlflow.start_run(run_id=run_id, nested=bool(parent_id)))
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
            enable_autolog()
        return run


#: ``with mlops.track(experiment="churn") as run: ...``
track = start_run


def _name_attached(run: Run, run_name: str | None) -> None:
    """``%mlops track start -n NAME`` in a batch run names the runner's run."""
    if not run_name or run_name == run.name:
        return
    run.client.update_run(run.run_id, name=run_name)
    run.name = run_name


def _tag_items(tags: dict[str, Any]) -> list[tuple[str, str]]:
    return [(str(k), str(v)) for k, v in tags.items()]


def _attach(run_id: str, settings: Settings, notebook: Path | None, tags: dict | None) -> Run:
    """Join the batch runner's run instead of starting one (the runner ends it)."""
    import mlflow

    client = store.client(settings)
    found = client.get_run(run_id)
    active = mlflow.active_run()
    if active is None or active.info.run_id != run_id:
        _fluent(lambda: mlflow.start_run(run_id=run_id))
    experiment = client.get_experiment(found.info.experiment_id)
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
        enable_autolog()
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
    with session.lock:
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
                _fluent(lambda: mlflow.end_run(status))
            else:
                client.set_terminated(run.run_id, status)
            run.status = status
        if not session.stack:
            disable_autolog()
        return run


def _log_error(client: Any, run: Run, error: BaseException) -> None:
    text = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    summary = f"{type(error).__name__}: {error}".strip()
    session.buffer.add(client, run.run_id, tags=[(mlops_tags.ERROR, summary[:5000])])
    client.log_text(run.run_id, text, mlops_tags.ERROR_ARTIFACT)


def _log_notebook(client: Any, run: Run) -> None:
    """The notebook as saved on disk and the cells the kernel ran during the run."""
    if run.cells:
        blocks = []
        for count, source in run.cells:
            label = count if count is not None else " "
            blocks.append(f"# In[{label}]:\n{source.rstrip()}\n")
        text = "\n\n".join(blocks)
        client.log_text(run.run_id, text, mlops_tags.CELLS_ARTIFACT)
    if run.notebook is not None and run.notebook.is_file():
        client.log_artifact(run.run_id, str(run.notebook), mlops_tags.NOTEBOOK_FOLDER)


def _fluent(call: Callable[[], Any]) -> Any:
    """MLflow's fluent run calls (``mlflow.start_run``/``end_run``) under the store's retry
    rule: they are not client calls, so ``store.client``'s retries do not cover them."""
    return store.with_retry(call)


def reap(settings: Settings) -> None:
    """Mark the runs of dead kernels KILLED before starting or listing runs; housekeeping
    that only warns when it fails (``liveness.reap_dead_runs``)."""
    from .liveness import reap_dead_runs

    try:
        reap_dead_runs(settings)
    except Exception as exc:  # never let housekeeping stop a run from starting
        warnings.warn(f"jupyter-mlops: could not check for dead runs: {exc}", stacklevel=3)


# -- autologging ------------------------------------------------------------------------------
def enable_autolog() -> None:
    """Record each scikit-learn fit as a candidate child run (``autolog.py``), from
    scikit-learn's import on if it is not imported yet."""
    from . import autolog

    autolog.enable()


def disable_autolog() -> None:
    """Stop recording fits once no run of ours is active (a batch kernel keeps recording)."""
    from . import autolog

    autolog.disable()


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


def tags_of(values: Iterable[str]) -> dict[str, str]:
    """Parse ``K=V`` strings (as given to ``--tag``) into a dict."""
    tags = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise MlopsError(f"tag {item!r} must look like KEY=VALUE")
        tags[key.strip()] = value
    return tags
