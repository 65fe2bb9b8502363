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

import os
import sys
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ...errors import MlopsError
from .. import tags
from .executors import DaskCluster, LocalPool, error_text, ignore_interrupts_again
from .parameter_names import check_parameter_names, warn_now
from .parameters import check_grid, grid_points
from .sweep_best import apply_best, check_best, held_note, promotions
from .sweep_result import Best, ChildRun, SweepResult, point_label
from .sweep_store import (
    by_index,
    children_runs,
    end_run,
    kill_unfinished,
    log_grid,
    log_summary,
    reconcile,
)

RUNNER = "jupyter-mlops sweep"


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
    strict_parameters: bool = False,
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

    A grid name the ``parameters`` cell does not define is a note (checked once, here);
    ``strict_parameters`` refuses it before anything is recorded.
    """
    from .kernel import check_kernel

    notebook, nb = _read_notebook(path)
    checked = check_grid(grid)
    names = check_parameter_names(nb, checked, notebook.name, strict=strict_parameters)
    warn_now(names.notes)
    points = grid_points(checked)
    _check_workers(workers, dask)
    check_best(best, alias, maximize)
    if dask is None:  # Dask workers may have other kernels; they report it per point
        check_kernel(kernel_name or nb.metadata.get("kernelspec", {}).get("name") or "python3")
    # the cluster first: an unreachable scheduler is refused before anything is written
    backend = _open_backend(workers, dask, len(points))
    parent = _start_parent(
        backend, notebook, checked, len(points), experiment, tracking_uri, run_name
    )
    tasks = _tasks(parent, notebook, points, kernel_name, timeout)
    children = _run_points(parent, backend, tasks, f"sweep {notebook.stem}", progress)
    chosen, notes = _conclude(parent, notebook, checked, children, best, alias, maximize)
    status = _end_parent(parent, children)
    return SweepResult(
        parent_run_id=parent.run_id,
        experiment=parent.experiment,
        status=status,
        tracking_uri=parent.settings.tracking_uri,
        grid=checked,
        children=children,
        backend=backend.describe(),
        best=chosen,
        notes=names.notes + notes,
    )


# -- the steps of a sweep ---------------------------------------------------------------------
@dataclass
class _Parent:
    """The parent run and where it lives: what every step after its creation needs."""

    settings: Any
    client: Any
    experiment: str
    experiment_id: str
    run_id: str


def _read_notebook(path: str | os.PathLike[str]) -> tuple[Path, Any]:
    import nbformat

    notebook = Path(path).resolve()
    if notebook.suffix != ".ipynb" or not notebook.is_file():
        raise MlopsError(f"no notebook at {path}")
    try:
        return notebook, nbformat.read(notebook, as_version=4)
    except Exception as exc:
        raise MlopsError(f"{path} is not a readable notebook: {exc}") from exc


def _check_workers(workers: Any, dask: Any) -> None:
    if dask is not None and workers is not None:
        raise MlopsError("workers sizes the local process pool; a Dask cluster has its own")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int)):
        raise MlopsError(f"workers must be a whole number, not {workers!r}")
    if workers is not None and workers < 1:
        raise MlopsError(f"workers must be at least 1, not {workers}")


def _open_backend(workers: int | None, dask: Any, points: int) -> LocalPool | DaskCluster:
    if dask is not None:
        return DaskCluster(dask)
    return LocalPool(min(workers or os.cpu_count() or 1, points))


def _start_parent(
    backend: LocalPool | DaskCluster,
    notebook: Path,
    grid: dict[str, list[Any]],
    size: int,
    experiment: str | None,
    tracking_uri: str | None,
    run_name: str | None,
) -> _Parent:
    """Create the parent run with its provenance and the grid; on any failure close the
    backend (and end the parent FAILED when it exists) before the error propagates."""
    from ...config import resolve_settings
    from .. import provenance, store
    from ..tracking import reap

    client, parent_id = None, None
    try:
        settings = resolve_settings(notebook.parent, tracking_uri=tracking_uri)
        store.prepare(settings)
        reap(settings)
        exp_name = experiment or settings.experiment or notebook.stem
        exp_id = store.experiment_id(settings, exp_name)
        client = store.client(settings)
        run_tags = provenance.run_tags(notebook, settings)
        run_tags.update(
            {
                tags.RUNNER: RUNNER,
                tags.SWEEP_SIZE: str(size),
                tags.SWEEP_WORKERS: backend.describe(),
            }
        )
        created = client.create_run(
            exp_id, tags=run_tags, run_name=run_name or f"{notebook.stem} sweep"
        )
        parent_id = created.info.run_id
        log_grid(client, parent_id, grid)
    except BaseException as exc:
        backend.close()
        if parent_id is not None:
            end_run(client, parent_id, "FAILED", f"the sweep stopped: {error_text(exc)}")
        raise
    return _Parent(settings, client, exp_name, exp_id, parent_id)


def _tasks(
    parent: _Parent,
    notebook: Path,
    points: list[dict[str, Any]],
    kernel_name: str | None,
    timeout: int | None,
) -> list[dict[str, Any]]:
    """One plain dict per point: what ``run_point`` needs, shippable to any worker."""
    return [
        {
            "index": index,
            "parameters": point,
            "notebook": str(notebook),
            "experiment": parent.experiment,
            "run_name": f"{notebook.stem} {point_label(point)}"[:250],
            "kernel_name": kernel_name,
            "timeout": timeout,
            "tracking_uri": parent.settings.tracking_uri,
            "parent_run_id": parent.run_id,
            "tags": {tags.SWEEP_INDEX: str(index)},
            "key": f"mlops-sweep-{parent.run_id}-{index}",  # the task's name on a Dask cluster
        }
        for index, point in enumerate(points)
    ]


def _run_points(
    parent: _Parent,
    backend: LocalPool | DaskCluster,
    tasks: list[dict[str, Any]],
    desc: str,
    progress: bool,
) -> list[ChildRun]:
    """Every point's outcome, in grid order. Ctrl-C stops the workers and ends the parent
    KILLED (and a local pool's unfinished children with it); any other error ends it FAILED."""
    client, exp_id, parent_id = parent.client, parent.experiment_id, parent.run_id

    def started() -> set[int]:  # grid indices that have a child run
        return set(by_index(children_runs(client, exp_id, parent_id)))

    done: dict[int, ChildRun] = {}
    bar = _progress(len(tasks), desc, progress)
    try:
        for task, future in backend.run(run_point, tasks, started):
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
        if isinstance(backend, LocalPool):  # its workers are gone: so are their runs
            kill_unfinished(client, exp_id, parent_id, [t["parameters"] for t in tasks])
        end_run(client, parent_id, "KILLED", "interrupted (Ctrl-C)")
        raise
    except BaseException as exc:  # never leave the parent RUNNING
        bar.close()
        backend.abort()
        backend.close()
        end_run(client, parent_id, "FAILED", f"the sweep stopped: {error_text(exc)}")
        raise
    bar.close()
    backend.close()
    return [done[i] for i in range(len(tasks))]


def _conclude(
    parent: _Parent,
    notebook: Path,
    grid: dict[str, list[Any]],
    children: list[ChildRun],
    best: str | None,
    alias: str | None,
    maximize: bool | None,
) -> tuple[Best | None, list[str]]:
    """Square the children with the store, choose the best, log the summary; the parent
    never stays RUNNING if this fails."""
    client, exp_id, parent_id = parent.client, parent.experiment_id, parent.run_id
    chosen, notes = None, []
    try:
        reconcile(client, exp_id, parent_id, children)
        held = promotions(client, exp_id, parent_id, children)
        if best is not None:
            chosen = apply_best(client, parent.settings, parent_id, children, best, alias, maximize)
        if held and (chosen is None or not chosen.moved):
            notes.append(held_note(held))
        log_summary(client, parent_id, notebook, grid, children, chosen)
    except BaseException as exc:  # never leave the parent RUNNING
        status = "KILLED" if isinstance(exc, KeyboardInterrupt) else "FAILED"
        end_run(client, parent_id, status, f"the sweep stopped: {error_text(exc)}")
        raise
    return chosen, notes


def _end_parent(parent: _Parent, children: list[ChildRun]) -> str:
    """End the parent FAILED when any child failed (saying how many), else FINISHED."""
    failed = [c for c in children if not c.ok]
    parent.client.set_tag(parent.run_id, tags.SWEEP_FAILED, str(len(failed)))
    status = "FAILED" if failed else "FINISHED"
    error = f"{len(failed)} of {len(children)} runs failed" if failed else None
    end_run(parent.client, parent.run_id, status, error)
    return status


def _progress(total: int, desc: str, enabled: bool) -> Any:
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="run", file=sys.stderr, disable=not enabled)


# -- the worker -------------------------------------------------------------------------------
def run_point(task: dict[str, Any]) -> dict[str, Any]:
    """Run one grid point as a child run; never raises, so one point cannot end the sweep.

    Module-level and returning a plain dict so process pools and Dask can ship it by reference.
    """
    index, parameters = task["index"], task["parameters"]
    try:
        import mlflow  # noqa: F401  (a worker runs many points: its import is paid once, so

        # each point's record is written on a thread here, not by a process of its own)
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
        outcome = ChildRun(index, parameters, status, error=error_text(exc))
    finally:
        ignore_interrupts_again()
    return asdict(outcome)


def _collect(task: dict[str, Any], future: Any) -> ChildRun:
    try:
        data = future.result()
    except Exception as exc:  # the worker died, or could not import jupyter_mlops
        from concurrent.futures.process import BrokenProcessPool

        if isinstance(exc, BrokenProcessPool):
            error = "its worker process died (BrokenProcessPool)"
        else:
            error = f"the worker could not run it: {error_text(exc)}"
        return ChildRun(task["index"], task["parameters"], "FAILED", error=error)
    return ChildRun(**data)
