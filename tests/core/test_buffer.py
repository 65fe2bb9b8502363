"""The background writer: batches within MLflow's limits, keeps what a busy store refused."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

import jupyter_mlops as mlops
from jupyter_mlops.core import tracking
from jupyter_mlops.core.buffer import LogBuffer, LoggingError


class FlakyClient:
    """Fault injection: the real client, but the first ``failures`` writes meet a locked db."""

    def __init__(self, real, failures: int) -> None:
        self.real, self.failures, self.calls = real, failures, 0

    def log_batch(self, *args, **kwargs):
        self.calls += 1
        if self.calls <= self.failures:
            raise sqlite3.OperationalError("database is locked")
        return self.real.log_batch(*args, **kwargs)


def test_logging_is_queued_and_written_in_the_background(project: Path, client) -> None:
    run = mlops.start_run(experiment="e", autolog=False)
    mlops.log(x=1.0)
    assert tracking.session.buffer.pending(run.run_id) == 1  # queued, not yet written
    deadline = time.time() + 10
    while tracking.session.buffer.pending(run.run_id) and time.time() < deadline:
        time.sleep(0.05)
    assert client.get_run(run.run_id).data.metrics == {"x": 1.0}
    mlops.end_run()


def test_big_batches_are_split_within_mlflow_limits(project: Path, client) -> None:
    run = mlops.start_run(experiment="e", autolog=False)
    for i in range(2500):
        mlops.log(m=float(i), step=i)
    mlops.log(**{f"p{i}": f"v{i}" for i in range(150)})
    mlops.end_run()
    history = client.get_metric_history(run.run_id, "m")
    assert sorted(h.step for h in history) == list(range(2500))
    assert len(client.get_run(run.run_id).data.params) == 150


def test_transient_failures_are_retried_without_loss(project: Path, client) -> None:
    run = mlops.start_run(experiment="e", autolog=False)
    buffer = LogBuffer(interval=3600)  # no background rounds: only explicit flushes
    flaky = FlakyClient(client, failures=3)
    buffer.add(flaky, run.run_id, metrics=[("a", 1.0, 0, 0), ("b", 2.0, 0, 0)])
    buffer.flush()
    assert flaky.calls == 4
    assert client.get_run(run.run_id).data.metrics == {"a": 1.0, "b": 2.0}
    mlops.end_run()


def test_store_down_keeps_values_for_a_later_flush(project: Path, client) -> None:
    run = mlops.start_run(experiment="e", autolog=False)
    buffer = LogBuffer(interval=3600, flush_attempts=3)
    flaky = FlakyClient(client, failures=1000)
    buffer.add(flaky, run.run_id, metrics=[("a", 1.0, 0, 0)], params=[("p", "1")])
    with pytest.raises(LoggingError, match="could not write 2 values"):
        buffer.flush()
    assert buffer.pending(run.run_id) == 2  # kept
    flaky.failures = 0
    buffer.flush()
    assert buffer.pending() == 0
    stored = client.get_run(run.run_id).data
    assert stored.metrics == {"a": 1.0} and stored.params == {"p": "1"}
    mlops.end_run()


def test_a_refused_value_is_reported_and_the_rest_kept(project: Path, client) -> None:
    run = mlops.start_run(experiment="e", autolog=False)
    client.log_param(run.run_id, "p", "old")  # changed behind our back: MLflow will refuse
    buffer = LogBuffer(interval=3600)
    buffer.add(client, run.run_id, metrics=[("kept", 1.0, 0, 0)], params=[("p", "new")])
    with pytest.warns(UserWarning, match="refused 'p'"):
        buffer.flush()
    assert client.get_run(run.run_id).data.metrics == {"kept": 1.0}
    assert buffer.refused and "'p'" in buffer.refused[0]
    mlops.end_run()
