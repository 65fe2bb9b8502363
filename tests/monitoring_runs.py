"""Monitoring runs written as ``monitor`` records them (the names in ``core/tags.py``), for
tests of what reads them back (``monitor_history``, the REST route)."""

from __future__ import annotations

import json
from typing import Any

from jupyter_mlops.core import tags

T0 = 1_780_000_000_000  # ms: run start times, so ties can be ordered


def write_window(
    client: Any,
    name: str,
    version: int | str,
    start: str,
    *,
    end: str = "",
    verdict: str = "stable",
    drifted: Any = (),
    rows: float | None = 500,
    violation_rate: float | None = 0.0,
    run_start: int = T0,
    **extra_tags: str,
) -> str:
    """One monitoring run as monitor records it (tags.py's names), in monitoring/<name>."""
    from mlflow.entities import Metric, RunTag

    experiment = tags.monitoring_experiment(name)
    found = client.get_experiment_by_name(experiment)
    exp_id = found.experiment_id if found else client.create_experiment(experiment)
    values = {
        tags.MONITOR_RUN: "true",
        tags.MONITOR_MODEL: name,
        tags.MONITOR_VERSION: str(version),
        tags.MONITOR_WINDOW_START: start,
        tags.MONITOR_WINDOW_END: end or start,
        tags.MONITOR_VERDICT: verdict,
        tags.MONITOR_DRIFTED: drifted if isinstance(drifted, str) else json.dumps(list(drifted)),
        tags.MONITOR_PREDICTION_DRIFTED: "false",
        **{k.replace("__", "."): v for k, v in extra_tags.items()},
    }
    run_id = client.create_run(exp_id, start_time=run_start).info.run_id
    metrics = {tags.MONITOR_ROWS: rows, tags.MONITOR_VIOLATION_RATE: violation_rate}
    if not isinstance(drifted, str):
        metrics[tags.MONITOR_DRIFTED_COUNT] = len(drifted)
    client.log_batch(
        run_id,
        metrics=[Metric(k, v, T0, 0) for k, v in metrics.items() if v is not None],
        tags=[RunTag(k, v) for k, v in values.items() if v is not None],
    )
    client.set_terminated(run_id)
    return run_id
