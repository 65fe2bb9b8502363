"""Runs whose kernel died are not left RUNNING forever.

Every run records the pid, host and start time of the process that owns it. A later tracking call
on the same host checks those processes and marks the runs of dead ones KILLED. The start time
guards against a recycled pid.
"""

from __future__ import annotations

import socket

from ..config import Settings
from . import store, tags


def owner_alive(pid: int, started: float | None) -> bool:
    import psutil

    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return False
        created = proc.create_time()
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:
        return True  # someone else's live process
    return started is None or abs(created - started) < 1.0


def reap_dead_runs(settings: Settings) -> list[str]:
    """Mark RUNNING runs of dead processes on this host KILLED; return their ids."""
    from mlflow.entities import ViewType

    store.prepare(settings)
    client = store.client(settings)
    host = socket.gethostname()
    experiments = client.search_experiments(view_type=ViewType.ALL)
    if not experiments:
        return []
    ids = [e.experiment_id for e in experiments]
    filter_string = (
        f"attributes.status = 'RUNNING' and tags.`{tags.PROCESS_HOST}` = '{_quote(host)}'"
    )
    killed: list[str] = []
    for start in range(0, len(ids), 100):
        runs = client.search_runs(
            ids[start : start + 100], filter_string=filter_string, max_results=1000
        )
        for run in runs:
            pid_text = run.data.tags.get(tags.PROCESS_PID, "")
            if not pid_text.isdigit():
                continue
            started_text = run.data.tags.get(tags.PROCESS_STARTED)
            started = float(started_text) if started_text else None
            if owner_alive(int(pid_text), started):
                continue
            run_id = run.info.run_id
            reason = f"owner process {pid_text} on {host} is gone"
            client.set_tag(run_id, tags.KILLED_REASON, reason)
            client.set_terminated(run_id, "KILLED")
            killed.append(run_id)
    return killed


def _quote(value: str) -> str:
    return value.replace("'", "\\'")
