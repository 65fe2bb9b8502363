"""Each judged window as one MLflow run in ``monitoring/<model name>``: what the panel and an
auditor read back.

The names are ``tags.MONITOR_*``, nothing else. Monitoring the same window again makes a new run,
never an overwrite: each run is a true record of what was judged when (the log may have grown
since: a window judged while it was still open, late rows); a reader takes the newest run per
window start. A run is created, filled and ended FINISHED; a failure on the way ends it FAILED
before the error goes on, so no run is left RUNNING.
"""

from __future__ import annotations

import json
from typing import Any

from .. import identity, tags


def run_tags(name: str, version: str, window: dict[str, Any]) -> dict[str, str]:
    """The tags of one window's run."""
    return {
        tags.MONITOR_RUN: "true",
        tags.MONITOR_MODEL: name,
        tags.MONITOR_VERSION: str(version),
        tags.MONITOR_WINDOW_START: window["start"],
        tags.MONITOR_WINDOW_END: window["end"],
        tags.MONITOR_VERDICT: window["verdict"],
        tags.MONITOR_DRIFTED: json.dumps(window["drifted"]),
        tags.MONITOR_PREDICTION_DRIFTED: "true" if window["prediction_drifted"] else "false",
    }


def run_metrics(window: dict[str, Any]) -> dict[str, float]:
    """The metrics of one window's run."""
    return {
        tags.MONITOR_ROWS: float(window["rows"]),
        tags.MONITOR_VIOLATION_RATE: float(window["violation_rate"]),
        tags.MONITOR_DRIFTED_COUNT: float(len(window["drifted"])),
        tags.MONITOR_DRIFT_ROWS: float(window["drift_rows"]),
    }


def record_windows(settings: Any, report: dict[str, Any]) -> None:
    """One run per window of ``report`` (its ``run_id`` written into each window)."""
    import time

    from mlflow.entities import Metric

    from ...display import monitor as view
    from .. import store

    name, version = report["model"], report["version"]
    experiment = store.experiment_id(settings, tags.monitoring_experiment(name))
    client = store.client(settings)
    user = identity.current_user(settings)  # who judged it: the store's authenticated user
    for window in report["windows"]:
        run = client.create_run(
            experiment,
            tags={**run_tags(name, version, window), tags.MLFLOW_USER: user},
            run_name=_run_name(window),
        )
        run_id = run.info.run_id
        try:
            now = int(time.time() * 1000)
            metrics = [Metric(k, v, now, 0) for k, v in run_metrics(window).items()]
            client.log_batch(run_id, metrics=metrics)
            page = {**report, "windows": [window]}
            client.log_text(run_id, json.dumps(page, indent=1, allow_nan=False), _artifact("json"))
            client.log_text(run_id, view.render_window_document(page), _artifact("html"))
        except BaseException:
            with store.no_run_links():
                client.set_terminated(run_id, "FAILED")
            raise
        with store.no_run_links():  # a window's record: no "View run" lines in the report
            client.set_terminated(run_id, "FINISHED")
        window["run_id"] = run_id


def _artifact(suffix: str) -> str:
    return f"{tags.MONITOR_REPORT}.{suffix}"


def _run_name(window: dict[str, Any]) -> str:
    return f"{window['start']}"


__all__ = ["record_windows", "run_metrics", "run_tags"]
