"""Run a notebook over a grid of parameters: one parent run, one child run per point.

Each point is one ``run_notebook`` call in a worker: a local process pool by default (spawned,
not forked, because this process already holds MLflow's threads and sqlite connections), or a
Dask distributed cluster. The worker returns a small dict and never raises, so one failing
point cannot stop the others; the parent run records the grid, every child's outcome and how
many failed.

Workers must reach what the parent reaches: the notebook is passed by absolute path and the
store by its resolved tracking URI, so on a Dask cluster both have to be visible from every
worker (a shared filesystem, or a tracking server), with jupyter-mlops and the kernel installed.
"""

from __future__ import annotations

import ast
import contextlib
import csv
import io
import itertools
import json
import keyword
import math
import os
import re
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ...errors import MlopsError
from ..redact import redact_url

RUNNER = "jupyter-mlops sweep"
DASK_CONNECT_TIMEOUT = 5  # seconds: an unreachable scheduler should fail fast, not hang
_MAX_PARAM = 6000  # MLflow's limit on a param value
_TABLE_METRICS = 4  # metric columns shown in the summary table (all of them are in the artifact)
# metric names where lower is better, so ``best`` minimizes them unless told otherwise
_LOWER_IS_BETTER = re.compile(
    r"loss|error|(^|[^a-z])(r?mse|mae|mape|r?msle|medae|err|perplexity)([^a-z]|$)", re.IGNORECASE
)


@dataclass
class ChildRun:
    """One grid point: its parameters and how its run ended."""

    index: int
    parameters: dict[str, Any]
    status: str
    run_id: str | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    error: str | None = None
    promoted: dict[str, str] = field(default_factory=dict)  # {model name: version registered}

    @property
    def ok(self) -> bool:
        return self.status == "FINISHED"

    @property
    def label(self) -> str:
        return point_label(self.parameters)


@dataclass
class Best:
    """The child ``sweep(best=METRIC)`` chose, and where ``alias`` now points because of it."""

    metric: str
    maximize: bool
    chosen_by: str  # why that direction: "--maximize", "--minimize" or the default rule
    child: ChildRun | None  # None: no finished child logged the metric as a number
    alias: str | None = None
    moved: dict[str, str] = field(default_factory=dict)  # {model name: version} alias now on
    problem: str | None = None  # why the alias could not be moved

    @property
    def value(self) -> float | None:
        return None if self.child is None else self.child.metrics[self.metric]

    @property
    def ok(self) -> bool:
        """A child was chosen and, with an alias, the alias was moved."""
        return self.child is not None and self.problem is None

    def lines(self) -> list[str]:
        way = "highest" if self.maximize else "lowest"
        if self.child is None:
            held = f"; alias {self.alias!r} not moved" if self.alias else ""
            return [f"best: no finished child logged {self.metric!r} as a number{held}"]
        c = self.child
        point = f"{c.label} {self.metric}={self.value:.6g}"
        lines = [f"best by {self.metric}, {way} wins ({self.chosen_by}): run {c.run_id}"]
        if self.alias:
            lines += [
                f"best: {point} → models:/{name}@{self.alias} is now version {version}"
                for name, version in sorted(self.moved.items())
            ]
            if self.problem:
                lines.append(f"best: {point}: {self.problem}")
        elif c.promoted:
            uris = ", ".join(f"models:/{n}/{v}" for n, v in sorted(c.promoted.items()))
            lines.append(f"best: {point} registered {uris}")
        else:
            lines.append(f"best: {point} (it promoted no model)")
        return lines

    def to_dict(self) -> dict[str, Any]:
        return _plain(
            {
                "metric": self.metric,
                "maximize": self.maximize,
                "chosen_by": self.chosen_by,
                "run_id": self.child.run_id if self.child else None,
                "index": self.child.index if self.child else None,
                "parameters": self.child.parameters if self.child else None,
                "value": self.value,
                "alias": self.alias,
                "moved": self.moved,
                "problem": self.problem,
            }
        )


@dataclass
class SweepResult:
    """What ``sweep`` did: the parent run and one ``ChildRun`` per grid point, in grid order."""

    parent_run_id: str
    experiment: str
    status: str
    tracking_uri: str
    grid: dict[str, list[Any]]
    children: list[ChildRun]
    backend: str
    best: Best | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def failed(self) -> list[ChildRun]:
        return [c for c in self.children if not c.ok]

    @property
    def ok(self) -> bool:
        """Every child finished and, with ``best``, the best was chosen (and the alias moved)."""
        return self.status == "FINISHED" and (self.best is None or self.best.ok)

    def to_dict(self) -> dict[str, Any]:
        return {
            "parent_run_id": self.parent_run_id,
            "experiment": self.experiment,
            "status": self.status,
            "tracking_uri": self.tracking_uri,
            "backend": self.backend,
            "grid": _plain(self.grid),
            "size": len(self.children),
            "failed": len(self.failed),
            "children": [_plain(asdict(c)) for c in self.children],
            "best": self.best.to_dict() if self.best else None,
            "notes": list(self.notes),
        }

    def summary(self) -> str:
        """A compact table of the children (parameters, status, key metrics, run id)."""
        n, failed = len(self.children), len(self.failed)
        lines = [
            f"Sweep of {n} run{'s' if n != 1 else ''} ({failed} failed): parent run "
            f"{self.parent_run_id} {self.status} in experiment '{self.experiment}'",
            f"  store: {redact_url(self.tracking_uri)}",
            f"  workers: {self.backend}",
        ]
        metric_names = sorted({k for c in self.children for k in c.metrics})
        shown = metric_names[:_TABLE_METRICS]
        header = [*self.grid, "status", *shown, "run"]
        rows = [
            [
                *(_show(c.parameters.get(k)) for k in self.grid),
                c.status,
                *(f"{c.metrics[m]:.6g}" if m in c.metrics else "-" for m in shown),
                c.run_id or "-",
            ]
            for c in self.children
        ]
        widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
        for row in [header, *rows]:
            lines.append(
                "  " + "  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip()
            )
        if len(metric_names) > len(shown):
            lines.append(f"  (+{len(metric_names) - len(shown)} more metrics in sweep/summary.csv)")
        for child in self.failed:
            run = f" (run {child.run_id})" if child.run_id else ""
            lines.append(
                f"  {child.status} {child.label}{run}: {child.error or 'no error recorded'}"
            )
        lines += [f"  note: {note}" for note in self.notes]
        if self.best is not None:
            lines += [f"  {line}" for line in self.best.lines()]
        return "\n".join(lines)


# -- the grid ---------------------------------------------------------------------------------
def parse_values(text: str) -> list[Any]:
    """The values of ``-p NAME V1,V2,...``: Python literals where they are (``0.1,1,10``,
    ``'a,b','c'``), else strings split at commas (``ridge,lasso``), as ``run -p`` parses one."""
    from .runner import parse_parameter

    stripped = text.strip()
    if not stripped:
        raise MlopsError("no values given (expected V1,V2,...)")
    try:
        values = ast.literal_eval(f"[{stripped}]")
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        values = None
    if isinstance(values, list) and values:
        return values
    pieces = [piece.strip() for piece in stripped.split(",")]
    if not all(pieces):
        raise MlopsError(f"an empty value in {text!r} (expected V1,V2,...)")
    return [parse_parameter(piece) for piece in pieces]


def check_grid(grid: Mapping[str, Iterable[Any]]) -> dict[str, list[Any]]:
    """The grid as ``{name: [values]}``, refusing what cannot be injected as an assignment."""
    if not isinstance(grid, Mapping) or not grid:
        raise MlopsError("the grid is empty: give at least one parameter and its values")
    checked: dict[str, list[Any]] = {}
    for name, values in grid.items():
        if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name):
            raise MlopsError(f"parameter name {name!r} is not a Python identifier")
        if isinstance(values, str | bytes) or not isinstance(values, Iterable):
            raise MlopsError(f"the values of {name!r} must be a list, not {type(values).__name__}")
        checked[name] = list(values)
        if not checked[name]:
            raise MlopsError(f"parameter {name!r} has no values")
    return checked


def grid_points(grid: Mapping[str, list[Any]]) -> list[dict[str, Any]]:
    """The cartesian product, the first parameter varying slowest."""
    names = list(grid)
    return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*grid.values())]


def point_label(parameters: Mapping[str, Any]) -> str:
    return " ".join(f"{k}={_show(v)}" for k, v in parameters.items())


def _show(value: Any) -> str:
    return value if isinstance(value, str) else repr(value)


def default_maximize(metric: str) -> bool:
    """Whether ``best`` picks the highest value of ``metric`` when not told: yes for scores
    (auc, accuracy, r2), no for what is named like a loss or an error (val_loss, rmse, mae).
    scikit-learn's ``neg_*`` scorers are negated losses, so higher is better there."""
    if metric.lower().startswith("neg_"):
        return True
    return not _LOWER_IS_BETTER.search(metric)


# -- the worker -------------------------------------------------------------------------------
_in_pool_worker = False


def _init_pool_worker() -> None:
    """Pool workers leave Ctrl-C to the parent (it stops them), so idle ones print nothing.

    A worker also ends as soon as the sweep's process is gone (SIGKILL, out of memory): left
    alone it would finish its point, then wait for work forever, and its kernel with it. Its
    child run is then ended by the next tracking call, like any run of a dead process.
    """
    import signal

    global _in_pool_worker
    _in_pool_worker = True
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if os.name == "posix":
        # ipykernel's own watcher (the one that ends an orphaned kernel): exits this process
        # at once when its parent changes
        from ipykernel.parentpoller import ParentPollerUnix

        ParentPollerUnix(parent_pid=os.getppid()).start()


def run_point(task: dict[str, Any]) -> dict[str, Any]:
    """Run one grid point as a child run; never raises, so one point cannot end the sweep.

    Module-level and returning a plain dict so process pools and Dask can ship it by reference.
    """
    index, parameters = task["index"], task["parameters"]
    try:
        from .runner import run_notebook

        result = run_notebook(
            task["notebook"],
            parameters,
            experiment=task["experiment"],
            run_name=task["run_name"],
            kernel_name=task["kernel_name"],
            timeout=task["timeout"],
            tracking_uri=task["tracking_uri"],
            parent_run_id=task["parent_run_id"],
            tags=task["tags"],
            hold_aliases=True,  # every point moving @staging leaves it on the last to finish
        )
        outcome = ChildRun(
            index, parameters, result.status, result.run_id, dict(result.metrics), result.error
        )
    except BaseException as exc:  # an interrupt included: the parent decides what it means
        status = "KILLED" if isinstance(exc, KeyboardInterrupt) else "FAILED"
        outcome = ChildRun(index, parameters, status, error=_error_text(exc))
    finally:
        if _in_pool_worker:  # nbclient restores Python's default SIGINT handler after a run
            import signal

            signal.signal(signal.SIGINT, signal.SIG_IGN)
    return asdict(outcome)


def _error_text(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    return f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__


# -- where the points run ---------------------------------------------------------------------
class _LocalPool:
    """Spawned worker processes on this machine."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self.executor: Any = None

    def describe(self) -> str:
        return f"{self.workers} local process{'es' if self.workers != 1 else ''}"

    def run(
        self, tasks: list[dict[str, Any]], started: Callable[[], set[int]]
    ) -> Iterator[tuple[dict[str, Any], Any]]:
        """Yield each task with its finished future. A worker that dies breaks the whole pool
        (every pending future fails): the points that had not started go to a fresh pool."""
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor, as_completed
        from concurrent.futures.process import BrokenProcessPool

        remaining = list(tasks)
        while remaining:
            self.executor = ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_init_pool_worker,
            )
            futures = {self.executor.submit(run_point, task): task for task in remaining}
            broken = []
            for future in as_completed(futures):
                if isinstance(future.exception(), BrokenProcessPool):
                    broken.append((futures[future], future))
                else:
                    yield futures[future], future
            self.executor.shutdown(wait=True)
            self.executor = None
            begun = started() if broken else set()
            retry = [task for task, _ in broken if task["index"] not in begun]
            if len(retry) == len(remaining):  # nothing could start: a new pool would not help
                retry = []
            again = {task["index"] for task in retry}
            yield from ((task, f) for task, f in broken if task["index"] not in again)
            remaining = retry

    def abort(self) -> None:
        """Drop what has not started and stop the workers (and their kernels) now."""
        if self.executor is None:
            return
        import psutil

        processes = list((getattr(self.executor, "_processes", None) or {}).values())
        self.executor.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            try:
                tree = psutil.Process(process.pid)
                members = [*tree.children(recursive=True), tree]
            except psutil.NoSuchProcess:
                continue
            for member in members:
                with contextlib.suppress(psutil.NoSuchProcess):
                    member.kill()
        for process in processes:
            process.join(timeout=10)
        self.executor = None

    def close(self) -> None:
        if self.executor is not None:
            self.executor.shutdown(wait=True)
            self.executor = None


class _DaskCluster:
    """A Dask distributed cluster, reached through its scheduler (or a Client given to us)."""

    def __init__(self, address: Any) -> None:
        import gc

        try:
            from distributed import Client
        except ImportError:
            raise MlopsError(
                "a Dask sweep needs the 'distributed' package: pip install 'jupyter-mlops[dask]'"
            ) from None
        self.owned = not isinstance(address, Client)
        self.address = address if self.owned else getattr(address.scheduler, "address", "?")
        if not self.owned:
            self.client = address
            return
        _probe_tcp(str(address))
        message = None
        try:
            self.client = Client(address, timeout=DASK_CONNECT_TIMEOUT, set_as_default=False)
        except (OSError, ValueError) as exc:  # no scheduler there, or not an address
            message = f"cannot reach the Dask scheduler at {address}: {_error_text(exc)}"
        except Exception as exc:  # something else listens there
            message = f"{address} does not answer as a Dask scheduler ({_error_text(exc)})"
        if message is not None:
            # the half-made Client must be collected while its event loop still runs, or it
            # prints a traceback when the interpreter exits
            gc.collect()
            raise MlopsError(message)

    def describe(self) -> str:
        return f"Dask cluster at {self.address}"

    def run(
        self, tasks: list[dict[str, Any]], started: Callable[[], set[int]]
    ) -> Iterator[tuple[dict[str, Any], Any]]:
        from distributed import as_completed

        self.futures = {}
        for task in tasks:
            key = f"mlops-sweep-{task['parent_run_id']}-{task['index']}"
            future = self.client.submit(run_point, task, pure=False, key=key)
            self.futures[future] = task
        for future in as_completed(list(self.futures), loop=self.client.loop):
            yield self.futures[future], future

    def abort(self) -> None:
        """Cancel what has not started; a running task cannot be stopped and ends its own run."""
        futures = list(getattr(self, "futures", {}))
        if futures:
            self.client.cancel(futures)

    def close(self) -> None:
        if self.owned:
            self.client.close()


def _probe_tcp(address: str) -> None:
    """Say at once when nothing listens at a tcp:// address (Dask would retry until its
    timeout); an address of another kind is left to Dask."""
    import socket

    from distributed.comm import parse_address, parse_host_port

    try:
        scheme, location = parse_address(address)
        if scheme != "tcp":
            return
        host, port = parse_host_port(location)
    except ValueError:
        return  # Dask's own message says what is wrong with it
    try:
        socket.create_connection((host, port), timeout=DASK_CONNECT_TIMEOUT).close()
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise MlopsError(f"cannot reach the Dask scheduler at {address}: {reason}") from None


def _collect(task: dict[str, Any], future: Any) -> ChildRun:
    try:
        data = future.result()
    except Exception as exc:  # the worker died, or could not import jupyter_mlops
        from concurrent.futures.process import BrokenProcessPool

        if isinstance(exc, BrokenProcessPool):
            error = "its worker process died (BrokenProcessPool)"
        else:
            error = f"the worker could not run it: {_error_text(exc)}"
        return ChildRun(task["index"], task["parameters"], "FAILED", error=error)
    return ChildRun(**data)


# -- the sweep --------------------------------------------------------------------------------
def sweep(
    path: str | os.PathLike[str],
    grid: Mapping[str, Iterable[Any]],
    *,
    workers: int | None = None,
    dask: Any = None,
    experiment: str | None = None,
    kernel_name: str | None = None,
    timeout: int | None = None,
    tracking_uri: str | None = None,
    run_name: str | None = None,
    progress: bool = True,
    best: str | None = None,
    alias: str | None = None,
    maximize: bool | None = None,
) -> SweepResult:
    """Run the notebook at ``path`` once per point of ``grid`` (the cartesian product of its
    value lists), each as a child run of one parent run, and return how every point went.

    Points run in ``workers`` spawned local processes (default: one per CPU, at most one per
    point), or on the Dask cluster whose scheduler address (or ``distributed.Client``) is
    ``dask``. Dask workers need jupyter-mlops, the kernel, the notebook at the same absolute
    path and the store (a shared sqlite file, or a tracking server) within reach.

    A failing point fails its own child run only; the parent ends FAILED saying how many did.
    Ctrl-C cancels the points not started (local workers are stopped) and ends the parent
    KILLED before the interrupt propagates.

    Promotions inside the points register versions but move no alias. With ``best``, the
    finished child with the highest (``maximize``; default: highest unless the metric is named
    like a loss or an error) value of that metric is recorded on the parent, and ``alias`` is
    moved to the version of each model it promoted: the alias ends on the best point, not on
    whichever finished last.
    """
    import nbformat

    from ...config import resolve_settings
    from .. import provenance, store
    from ..tracking import reap
    from .runner import _check_kernel

    notebook = Path(path).resolve()
    if notebook.suffix != ".ipynb" or not notebook.is_file():
        raise MlopsError(f"no notebook at {path}")
    try:
        nb = nbformat.read(notebook, as_version=4)
    except Exception as exc:
        raise MlopsError(f"{path} is not a readable notebook: {exc}") from exc
    checked = check_grid(grid)
    points = grid_points(checked)
    if dask is not None and workers is not None:
        raise MlopsError("workers sizes the local process pool; a Dask cluster has its own")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int)):
        raise MlopsError(f"workers must be a whole number, not {workers!r}")
    if workers is not None and workers < 1:
        raise MlopsError(f"workers must be at least 1, not {workers}")
    _check_best(best, alias, maximize)
    if dask is None:  # Dask workers may have other kernels; they report it per point
        _check_kernel(kernel_name or nb.metadata.get("kernelspec", {}).get("name") or "python3")

    # the cluster first: an unreachable scheduler is refused before anything is written
    if dask is not None:
        backend: _LocalPool | _DaskCluster = _DaskCluster(dask)
    else:
        backend = _LocalPool(min(workers or os.cpu_count() or 1, len(points)))
    parent_id = None
    try:
        settings = resolve_settings(notebook.parent, tracking_uri=tracking_uri)
        store.prepare(settings)
        reap(settings)
        exp_name = experiment or settings.experiment or notebook.stem
        exp_id = store.experiment_id(settings, exp_name)
        client = store.client(settings)
        tags = provenance.run_tags(notebook, settings.root)
        tags.update(
            {
                "mlops.runner": RUNNER,
                "mlops.sweep.size": str(len(points)),
                "mlops.sweep.workers": backend.describe(),
            }
        )
        created = store.with_retry(
            lambda: client.create_run(
                exp_id, tags=tags, run_name=run_name or f"{notebook.stem} sweep"
            )
        )
        parent_id = created.info.run_id
        _log_grid(client, parent_id, checked)
    except BaseException as exc:
        backend.close()
        if parent_id is not None:
            _end(client, parent_id, "FAILED", f"the sweep stopped: {_error_text(exc)}")
        raise

    tasks = [
        {
            "index": index,
            "parameters": point,
            "notebook": str(notebook),
            "experiment": exp_name,
            "run_name": f"{notebook.stem} {point_label(point)}"[:250],
            "kernel_name": kernel_name,
            "timeout": timeout,
            "tracking_uri": settings.tracking_uri,
            "parent_run_id": parent_id,
            "tags": {"mlops.sweep.index": str(index)},
        }
        for index, point in enumerate(points)
    ]

    def started() -> set[int]:  # grid indices that have a child run
        return set(_by_index(_children(client, exp_id, parent_id)))

    done: dict[int, ChildRun] = {}
    bar = _progress(len(tasks), f"sweep {notebook.stem}", progress)
    try:
        for task, future in backend.run(tasks, started):
            child = _collect(task, future)
            done[child.index] = child
            bar.update(1)
            if not child.ok:
                failed = sum(not c.ok for c in done.values())
                bar.set_postfix(failed=failed)
                bar.write(f"{child.status} {child.label}: {child.error}", file=sys.stderr)
    except KeyboardInterrupt:
        bar.close()
        backend.abort()
        backend.close()
        if isinstance(backend, _LocalPool):  # its workers are gone: so are their runs
            _kill_unfinished(client, exp_id, parent_id)
        _end(client, parent_id, "KILLED", "interrupted (Ctrl-C)")
        raise
    except BaseException as exc:  # never leave the parent RUNNING
        bar.close()
        backend.abort()
        backend.close()
        _end(client, parent_id, "FAILED", f"the sweep stopped: {_error_text(exc)}")
        raise
    bar.close()
    backend.close()

    children = [done[i] for i in range(len(tasks))]
    chosen, notes = None, []
    try:
        _reconcile(client, exp_id, parent_id, children)
        held = _promotions(client, exp_id, parent_id, children)
        if best is not None:
            chosen = _apply_best(client, settings, parent_id, children, best, alias, maximize)
        if held and (chosen is None or not chosen.moved):
            notes.append(_held_note(held))
        _log_summary(client, parent_id, notebook, checked, children, chosen)
    except BaseException as exc:  # never leave the parent RUNNING
        status = "KILLED" if isinstance(exc, KeyboardInterrupt) else "FAILED"
        _end(client, parent_id, status, f"the sweep stopped: {_error_text(exc)}")
        raise
    failed = [c for c in children if not c.ok]
    store.with_retry(lambda: client.set_tag(parent_id, "mlops.sweep.failed", str(len(failed))))
    status = "FAILED" if failed else "FINISHED"
    _end(
        client,
        parent_id,
        status,
        f"{len(failed)} of {len(children)} runs failed" if failed else None,
    )
    return SweepResult(
        parent_run_id=parent_id,
        experiment=exp_name,
        status=status,
        tracking_uri=settings.tracking_uri,
        grid=checked,
        children=children,
        backend=backend.describe(),
        best=chosen,
        notes=notes,
    )


# -- the best point ---------------------------------------------------------------------------
def _check_best(best: Any, alias: Any, maximize: Any) -> None:
    """Refuse a bad ``best``/``alias``/``maximize`` before anything is recorded."""
    if best is None:
        if alias is not None:
            raise MlopsError(
                f"alias {alias!r} needs best=METRIC: the alias goes to the best point's version"
            )
        if maximize is not None:
            raise MlopsError("maximize needs best=METRIC: it says which way the best point is")
        return
    if not isinstance(best, str) or not best.strip():
        raise MlopsError(f"best must be the name of a metric the notebook logs, not {best!r}")
    if maximize is not None and not isinstance(maximize, bool):
        raise MlopsError(f"maximize must be True, False or None, not {maximize!r}")
    if alias is not None:
        from ..registry.models import check_alias

        check_alias(alias)  # the rules (and words) promote and the Models panel use


def _promotions(client: Any, exp_id: str, parent_id: str, children: list[ChildRun]) -> dict:
    """Fill each child's ``promoted`` from its ``mlops.promoted.<name>`` tags; return the
    aliases the points held, ``{(model, alias): number of points}``."""
    from mlflow.exceptions import MlflowException

    from .. import store
    from ..registry.promote import HELD_ALIAS_TAG, PROMOTED_TAG

    runs = {r.info.run_id: r for r in _children(client, exp_id, parent_id)}
    held: dict[tuple[str, str], int] = {}
    for child in children:
        run = runs.get(child.run_id) if child.run_id else None
        for key, value in sorted(run.data.tags.items()) if run else ():
            if not key.startswith(PROMOTED_TAG):
                continue
            name, version = key[len(PROMOTED_TAG) :], value.split("@")[0]
            child.promoted[name] = version
            try:
                mv = store.with_retry(lambda n=name, v=version: client.get_model_version(n, v))
            except MlflowException:  # deleted since: nothing to say about it
                continue
            alias = mv.tags.get(HELD_ALIAS_TAG)
            if alias:
                held[(name, alias)] = held.get((name, alias), 0) + 1
    return held


def _held_note(held: dict[tuple[str, str], int]) -> str:
    parts = [
        f"{n} point{'s' if n != 1 else ''} registered {name} without moving @{alias}"
        for (name, alias), n in sorted(held.items())
    ]
    aliases = sorted({alias for _, alias in held})
    how = " or ".join(f"--best METRIC --alias {a}" for a in aliases)
    return f"{'; '.join(parts)} (points only register; {how} moves it to the best point)"


def _apply_best(
    client: Any,
    settings: Any,
    parent_id: str,
    children: list[ChildRun],
    metric: str,
    alias: str | None,
    maximize: bool | None,
) -> Best:
    """Choose the best finished child by ``metric``, record it on the parent and move
    ``alias`` to each version it registered. Ties go to the first point in grid order."""
    from .. import store

    if maximize is None:
        maximize = default_maximize(metric)
        named = "is not" if maximize else "is"
        other = "--minimize for lowest" if maximize else "--maximize for highest"
        chosen_by = f"default: {metric!r} {named} named like a loss or an error; {other}"
    else:
        chosen_by = "--maximize" if maximize else "--minimize"
    candidates = [
        c
        for c in children
        if c.ok
        and isinstance(c.metrics.get(metric), int | float)
        and math.isfinite(c.metrics[metric])
    ]
    if not candidates:
        return Best(metric, maximize, chosen_by, None, alias)
    pick = max if maximize else min
    child = pick(candidates, key=lambda c: c.metrics[metric])
    result = Best(metric, maximize, chosen_by, child, alias)
    tags = {
        "mlops.sweep.best_run_id": child.run_id,
        "mlops.sweep.best_metric": metric,
        "mlops.sweep.best_value": repr(float(child.metrics[metric])),
        "mlops.sweep.best_direction": "maximize" if maximize else "minimize",
    }
    from mlflow.entities import RunTag

    batch = [RunTag(k, v) for k, v in tags.items()]
    store.with_retry(lambda: client.log_batch(parent_id, tags=batch))
    if alias is None:
        return result
    if not child.promoted:
        result.problem = f"it promoted no model, so alias {alias!r} was not moved"
        return result
    from ..registry.models import set_alias

    for name, version in sorted(child.promoted.items()):
        try:
            set_alias(name, alias, version, settings=settings)
        except MlopsError as exc:  # the version was deleted since, say
            result.problem = f"alias {alias!r} not moved on {name}: {exc}"
            continue
        result.moved[name] = version
    return result


def _progress(total: int, desc: str, enabled: bool) -> Any:
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="run", file=sys.stderr, disable=not enabled)


def _log_grid(client: Any, run_id: str, grid: dict[str, list[Any]]) -> None:
    from mlflow.entities import Param

    from .. import store

    params = []
    for name, values in grid.items():
        text = repr(values)
        if len(text) > _MAX_PARAM:
            text = text[: _MAX_PARAM - 3] + "..."
        params.append(Param(f"sweep.{name}", text))
    store.with_retry(lambda: client.log_batch(run_id, params=params))


def _log_summary(
    client: Any,
    run_id: str,
    notebook: Path,
    grid: dict[str, list[Any]],
    children: list[ChildRun],
    best: Best | None = None,
) -> None:
    """``sweep/summary.json`` and ``sweep/summary.csv``: one row per child (the JSON also
    says which child was best and where the alias went)."""
    from .. import store

    document = {
        "notebook": str(notebook),
        "grid": _plain(grid),
        "size": len(children),
        "failed": sum(not c.ok for c in children),
        "children": [_plain(asdict(c)) for c in children],
        "best": best.to_dict() if best else None,
    }
    text = json.dumps(document, indent=2)
    store.with_retry(lambda: client.log_text(run_id, text, "sweep/summary.json"))

    metric_names = sorted({k for c in children for k in c.metrics})
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["index", "run_id", *grid, "status", *metric_names, "error"])
    for c in children:
        writer.writerow(
            [
                c.index,
                c.run_id or "",
                *(_show(c.parameters.get(k)) for k in grid),
                c.status,
                *(repr(c.metrics[m]) if m in c.metrics else "" for m in metric_names),
                c.error or "",
            ]
        )
    table = buffer.getvalue()
    store.with_retry(lambda: client.log_text(run_id, table, "sweep/summary.csv"))


def _children(client: Any, exp_id: str, parent_id: str, status: str | None = None) -> list[Any]:
    from .. import store

    query = f"tags.`mlflow.parentRunId` = '{parent_id}'"
    if status:
        query += f" and attributes.status = '{status}'"
    return store.with_retry(
        lambda: client.search_runs([exp_id], filter_string=query, max_results=10000)
    )


def _by_index(runs: list[Any]) -> dict[int, Any]:
    """Child runs by grid index; the latest started wins (a point Dask ran twice)."""
    found = {}
    for run in sorted(runs, key=lambda r: r.info.start_time or 0):
        index = run.data.tags.get("mlops.sweep.index", "")
        if index.isdigit():
            found[int(index)] = run
    return found


def _reconcile(client: Any, exp_id: str, parent_id: str, children: list[ChildRun]) -> None:
    """Make the summary say what the store says. A child still RUNNING now lost its worker
    (killed, out of memory): it ends FAILED. A point whose worker died before reporting takes
    its run's id, status and metrics from the store."""
    from .. import store

    reason = "its worker went away before the run ended"
    runs = _children(client, exp_id, parent_id)
    for run in runs:
        if run.info.status == "RUNNING":
            rid = run.info.run_id
            store.with_retry(lambda r=rid: client.set_tag(r, "mlops.error", reason))
            store.with_retry(lambda r=rid: client.set_terminated(r, "FAILED"))
    for index, run in _by_index(runs).items():
        if index >= len(children) or children[index].run_id is not None:
            continue
        child = children[index]
        child.run_id = run.info.run_id
        orphan = run.info.status == "RUNNING"
        child.status = "FAILED" if orphan else run.info.status
        child.metrics = dict(run.data.metrics)
        child.error = reason if orphan else run.data.tags.get("mlops.error", child.error)
        if child.ok:
            child.error = None


def _kill_unfinished(client: Any, exp_id: str, parent_id: str) -> None:
    """After Ctrl-C the local workers are stopped: their children still RUNNING end KILLED
    (one that ended first keeps its own status; its error says what stopped it)."""
    from .. import store

    for run in _children(client, exp_id, parent_id, "RUNNING"):
        rid = run.info.run_id
        store.with_retry(
            lambda r=rid: client.set_tag(r, "mlops.killed_reason", "the sweep was interrupted")
        )
        store.with_retry(lambda r=rid: client.set_terminated(r, "KILLED"))


def _end(client: Any, run_id: str, status: str, error: str | None) -> None:
    from .. import store

    if error:
        store.with_retry(lambda: client.set_tag(run_id, "mlops.error", error))
    store.with_retry(lambda: client.set_terminated(run_id, status))


def _plain(value: Any) -> Any:
    """Strict JSON: tuples as lists, NaN and infinities as None, anything else exotic as repr."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(v) for v in value]
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, str | int | bool):
        return value
    return repr(value)
