"""``benchmarks/bench_team.py`` at a small size on the team stack, by the same code, asserted:
kernels logging at once lose nothing and record the server's user, and the runs seeded with
COPY are runs MLflow, the panel's route and ``mlops.runs(filter=...)`` read as written."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from jupyter_mlops.server.service import MlopsService

from .conftest import TeamStack

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

import bench_team as bench
from bench_reliability import Kernel


def test_kernels_at_once_lose_nothing_and_record_the_user(
    team_stack: TeamStack, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    team_stack.use(monkeypatch, "alice")
    kernels = [Kernel(project, dict(os.environ)) for _ in range(2)]
    try:
        for kernel in kernels:
            kernel.load()
        uri = team_stack.tracking_uri
        ours = bench.logging_round(kernels, "bench-ours", bench.OURS, 30, uri)
        plain = bench.logging_round(kernels, "bench-plain", bench.PLAIN, 30, uri)
    finally:
        for kernel in kernels:
            kernel.close()
    for result in (ours, plain):
        assert (result.found, result.expected) == (60, 60), result.errors
        assert result.errors == []
        assert len(result.loops) == 2 and result.wall > 0
    assert ours.users == {"alice"}


def test_seeded_runs_read_back_through_mlflow_the_panel_and_the_filter(
    team_stack: TeamStack, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlflow import MlflowClient

    import jupyter_mlops as mlops

    team_stack.use(monkeypatch, "alice")
    seeded = bench.seed(team_stack, "bench-seeded", 300)
    assert seeded.sizes["runs"] > 0
    newest = seeded.ids[::-1]
    run = MlflowClient(team_stack.tracking_uri).get_run(newest[0])
    assert run.info.run_name == "run-299" and run.info.status == "FINISHED"
    assert run.info.user_id == "user-9" and run.data.tags["mlflow.user"] == "user-9"
    assert run.data.metrics == {
        "auc": seeded.auc[newest[0]],
        "f1": round(seeded.auc[newest[0]] * 0.9, 6),
        "loss": round(1 - seeded.auc[newest[0]] + 0.1, 6),
    }
    assert run.data.params == {"alpha": "0.9", "solver": "saga", "fold": "4"}
    history = MlflowClient(team_stack.tracking_uri).get_metric_history(newest[0], "loss")
    assert [m.step for m in sorted(history, key=lambda m: m.step)] == list(range(10))

    page = MlopsService(project).runs(seeded.experiment_id, bench.PAGE_SIZE)
    assert [r["run_id"] for r in page["runs"]] == newest[: bench.PAGE_SIZE]
    assert page["next_page_token"]

    frame = mlops.runs("bench-seeded", max_results=300, filter="metrics.auc > 0.9")
    assert frame["run_id"].tolist() == [r for r in newest if seeded.auc[r] > 0.9]
    assert 0 < len(frame) < 300
