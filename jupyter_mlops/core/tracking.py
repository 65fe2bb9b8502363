"""Experiment tracking: runs that know their notebook, never dangle, and log without waiting.

This is the Python API behind ``%mlops track``/``%mlops log``; it knows nothing of IPython. The
IPython layer feeds the kernel's ``session`` (``session.py``) executed cells and the notebook's
namespace; here runs start (or attach to the batch runner's), log and end. What may be logged is
checked in ``logged_values``; reading runs back is ``runs``.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import Settings
from ..errors import MlopsError, NoActiveRunError
from . import live, logged_values, provenance, reachability, store
from . import tags as mlops_tags
from .buffer import LoggingError
from .logged_values import STEP_RANGE  # noqa: F401  (re-exported: %mlops log reads it here)
from .redact import redact_url

# re-exported: the batch runner and promote read them here
from .session import (  # noqa: F401
    ATTACH_ENV,
    ATTACH_FILE_ENV,
    HOLD_ALIASES_ENV,
    alias_holder,
    aliases_held,
    attach_target,
    default_experiment,
    in_batch_run,
    in_kernel,
    project_settings,
    session,
)

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
    kept: str | None = None  # ended while its server was away: what waits for it (one line)
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
            "kept": self.kept,
        }

    def _repr_html_(self) -> str:
        from ..display.cards import run_card_html

        return run_card_html(self.info)

    def __repr__(self) -> str:
        from ..display.cards import run_card_text

        return run_card_text(self.info)


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
    with session.lock:
        notebook = provenance.notebook_path(session.user_ns)
        settings = project_settings(tracking_uri, notebook_path=notebook, follow_run=False)
        reachability.check(settings)  # a server that is down: one line now, not minutes later
        _activate(settings)
        target = attach_target()
        if not target:  # (the batch runner reaps before it starts a kernel)
            reap(settings)
        if nested is None:  # inside a batch run the whole notebook is the active run
            nested = bool(session.stack or target)
        joined = _join_batch_run(target, settings, notebook, nested, run_name, tags)
        if joined is not None:
            return joined
        replaced = _end_owned(nested)
        parent = session.active
        parent_id = _parent_run_id(parent)
        exp_name = _child_experiment(parent, experiment) or default_experiment(settings, notebook)
        exp_id = store.experiment_id(settings, exp_name)
        all_tags = _start_tags(notebook, settings, tags, parent_id, description)
        run = _create(settings, exp_id, exp_name, all_tags, run_name, parent_id, notebook, replaced)
        run.autolog = settings.autolog if autolog is None else autolog
        if run.autolog:
            enable_autolog()
        return run


def _join_batch_run(
    target: str | None,
    settings: Settings,
    notebook: Path | None,
    nested: bool,
    run_name: str | None,
    tags: dict[str, Any] | None,
) -> Run | None:
    """Inside ``jupyter mlops run``: attach to the runner's run (the first tracking call), and
    answer a top-level ``track start`` with it; ``None`` when a run of ours is to be made."""
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
    return None


def _end_owned(nested: bool) -> str | None:
    """``nested=False``: end the outermost run we own (and its children); its id."""
    owned = [r for r in session.stack if r.owned]
    if owned and not nested:
        end_run("FINISHED", run=owned[0])  # ends its children too
        return owned[0].run_id
    return None


def _parent_run_id(parent: Run | None) -> str | None:
    """The new run's parent: our active run, else a run the user started with MLflow itself."""
    import mlflow

    foreign = mlflow.active_run()
    return parent.run_id if parent else (foreign.info.run_id if foreign else None)


def _child_experiment(parent: Run | None, experiment: str | None) -> str | None:
    """A child run goes in its parent's experiment (asking for another is an error)."""
    if parent is None:
        return experiment
    if experiment not in (None, parent.experiment_name):
        raise MlopsError(
            f"a child run goes in its parent's experiment {parent.experiment_name!r}; "
            f"end run {parent.name!r} first to start one in {experiment!r}"
        )
    return parent.experiment_name


def _start_tags(
    notebook: Path | None,
    settings: Settings,
    tags: dict[str, Any] | None,
    parent_id: str | None,
    description: str | None,
) -> dict[str, str]:
    """Provenance, the user's tags, the parent and the description, as the run starts."""
    all_tags = provenance.run_tags(notebook, settings)
    all_tags.update({str(k): str(v) for k, v in (tags or {}).items()})
    if parent_id:
        all_tags[mlops_tags.MLFLOW_PARENT_RUN_ID] = parent_id
    if description:
        all_tags[mlops_tags.MLFLOW_RUN_NOTE] = description
    return all_tags


def _create(
    settings: Settings,
    exp_id: str,
    exp_name: str,
    all_tags: dict[str, str],
    run_name: str | None,
    parent_id: str | None,
    notebook: Path | None,
    replaced: str | None,
) -> Run:
    """Create the run in the store, make it MLflow's active run too, and stack it."""
    import mlflow

    created = store.client(settings).create_run(exp_id, tags=all_tags, run_name=run_name)
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
        if run.owned and not reachability.answers(run.settings.tracking_uri):
            run.kept = reachability.end_later(run, status, error, log_notebook, session.buffer)
            session.stack.remove(run)
            run.status = status
            if not session.stack:
                disable_autolog()
            return run
        # the error and the notebook: on an artifact store that fails, the run still ends
        reachability.write_end_files(run, error, log_notebook, session.buffer)
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

    Values are queued and written in the background; ``end_run`` writes what is left. In a
    notebook the run's card shows the metrics as they come (``live.py``).
    """
    run = active_run()
    if run is None:
        raise NoActiveRunError()
    metrics, params = logged_values.split(values, run.params, logged_values.check_step(step))
    session.buffer.add(run.client, run.run_id, metrics=metrics, params=params)
    if live.watching:  # a notebook's card draws them (``live.py``): one C call per log here
        if run is live.run:
            live.sink(metrics)
        elif metrics:
            live.switch(run)
            live.sink(metrics)


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
