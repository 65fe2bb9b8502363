"""What a sweep writes to the store and reads back from it: the grid and the summary on the
parent run, its children found by tag, and the end of runs whose workers went away."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from .. import tags
from .sweep_result import Best, ChildRun, plain, show

MAX_PARAM = 6000  # MLflow's limit on a param value


def log_grid(client: Any, run_id: str, grid: dict[str, list[Any]]) -> None:
    from mlflow.entities import Param

    params = []
    for name, values in grid.items():
        text = repr(values)
        if len(text) > MAX_PARAM:
            text = text[: MAX_PARAM - 3] + "..."
        params.append(Param(f"sweep.{name}", text))
    client.log_batch(run_id, params=params)


def log_summary(
    client: Any,
    run_id: str,
    notebook: Path,
    grid: dict[str, list[Any]],
    children: list[ChildRun],
    best: Best | None = None,
) -> None:
    """``sweep/summary.json`` and ``sweep/summary.csv``: one row per child (the JSON also
    says which child was best and where the alias went)."""
    document = {
        "notebook": str(notebook),
        "grid": plain(grid),
        "size": len(children),
        "failed": sum(not c.ok for c in children),
        "children": [plain(asdict(c)) for c in children],
        "best": best.to_dict() if best else None,
    }
    text = json.dumps(document, indent=2)
    client.log_text(run_id, text, f"{tags.SWEEP_SUMMARY}.json")

    metric_names = sorted({k for c in children for k in c.metrics})
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["index", "run_id", *grid, "status", *metric_names, "error"])
    for c in children:
        writer.writerow(
            [
                c.index,
                c.run_id or "",
                *(show(c.parameters.get(k)) for k in grid),
                c.status,
                *(repr(c.metrics[m]) if m in c.metrics else "" for m in metric_names),
                c.error or "",
            ]
        )
    table = buffer.getvalue()
    client.log_text(run_id, table, f"{tags.SWEEP_SUMMARY}.csv")


def children_runs(client: Any, exp_id: str, parent_id: str, status: str | None = None) -> list[Any]:
    query = f"tags.`{tags.MLFLOW_PARENT_RUN_ID}` = '{parent_id}'"
    if status:
        query += f" and attributes.status = '{status}'"
    return client.search_runs([exp_id], filter_string=query, max_results=10000)


def by_index(runs: list[Any]) -> dict[int, Any]:
    """Child runs by grid index; the latest started wins (a point Dask ran twice)."""
    found = {}
    for run in sorted(runs, key=lambda r: r.info.start_time or 0):
        index = run.data.tags.get(tags.SWEEP_INDEX, "")
        if index.isdigit():
            found[int(index)] = run
    return found


def reconcile(client: Any, exp_id: str, parent_id: str, children: list[ChildRun]) -> None:
    """Make the summary say what the store says. A child still RUNNING now lost its worker
    (killed, out of memory): it ends FAILED. A point whose worker died before reporting takes
    its run's id, status and metrics from the store."""
    reason = "its worker went away before the run ended"
    runs = children_runs(client, exp_id, parent_id)
    for run in runs:
        if run.info.status == "RUNNING":
            rid = run.info.run_id
            client.set_tag(rid, tags.ERROR, reason)
            client.set_terminated(rid, "FAILED")
    for index, run in by_index(runs).items():
        if index >= len(children) or children[index].run_id is not None:
            continue
        child = children[index]
        child.run_id = run.info.run_id
        orphan = run.info.status == "RUNNING"
        child.status = "FAILED" if orphan else run.info.status
        child.metrics = dict(run.data.metrics)
        child.error = reason if orphan else run.data.tags.get(tags.ERROR, child.error)
        if child.ok:
            child.error = None


def kill_unfinished(client: Any, exp_id: str, parent_id: str, points: list[dict[str, Any]]) -> None:
    """After Ctrl-C the local workers are stopped: their children still RUNNING end KILLED
    (one that ended first keeps its own status; its error says what stopped it). A child
    whose worker stopped between creating its run and logging its params gets its point's
    params here, so every child says which point it was."""
    from .record import log_parameters

    for run in children_runs(client, exp_id, parent_id, "RUNNING"):
        rid = run.info.run_id
        index = run.data.tags.get(tags.SWEEP_INDEX, "")
        if not run.data.params and index.isdigit() and int(index) < len(points):
            log_parameters(client, rid, points[int(index)])
        client.set_tag(rid, tags.KILLED_REASON, "the sweep was interrupted")
        client.set_terminated(rid, "KILLED")


def end_run(client: Any, run_id: str, status: str, error: str | None) -> None:
    if error:
        client.set_tag(run_id, tags.ERROR, error)
    client.set_terminated(run_id, status)
