"""The Python API against a real sqlite store in a real git repository."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

import jupyter_mlops as mlops
from jupyter_mlops.errors import MlopsError, NoActiveRunError
from tests.conftest import all_runs, client_for, git


def test_track_records_values_provenance_and_store_layout(project: Path, client) -> None:
    with mlops.track(experiment="churn", run_name="lr", tags={"team": "risk"}) as run:
        mlops.log(acc=0.93, lr=0.1, solver="lbfgs")
        for step in range(5):
            mlops.log(loss=1.0 / (step + 1), step=step)
    assert run.status == "FINISHED"
    stored = client.get_run(run.run_id)
    assert stored.info.status == "FINISHED"
    assert stored.info.run_name == "lr"
    assert stored.data.metrics["acc"] == pytest.approx(0.93)
    assert stored.data.params["solver"] == "lbfgs"
    assert [m.step for m in client.get_metric_history(run.run_id, "loss")] == [0, 1, 2, 3, 4]
    tags = stored.data.tags
    assert tags["team"] == "risk"
    assert tags["mlflow.source.git.commit"] == git(project, "rev-parse", "HEAD")
    assert tags["mlops.git.dirty"] in {"true", "false"}
    assert tags["mlops.python.version"]
    assert "mlflow" in json.loads(tags["mlops.packages"])
    assert tags["mlops.process.pid"].isdigit()
    # artifacts of the default store live under <root>/.mlops/artifacts
    exp = client.get_experiment(stored.info.experiment_id)
    assert exp.artifact_location.startswith((project / ".mlops" / "artifacts").as_uri())
    assert (project / ".mlops" / ".gitignore").read_text().strip().endswith("*")


def test_experiment_defaults_to_pyproject_then_project_name(project: Path, client) -> None:
    with mlops.track() as run:
        pass
    assert run.experiment_name == "proj"
    (project / "pyproject.toml").write_text('[tool.jupyter-mlops]\nexperiment = "from-config"\n')
    with mlops.track() as run:
        pass
    assert client.get_experiment(run.experiment_id).name == "from-config"


def test_exception_marks_failed_and_logs_traceback(project: Path, client) -> None:
    with pytest.raises(ZeroDivisionError), mlops.track(experiment="e") as run:
        mlops.log(before=1)
        1 / 0  # noqa: B018
    stored = client.get_run(run.run_id)
    assert stored.info.status == "FAILED"
    assert stored.data.metrics["before"] == 1  # what was logged before the error is kept
    assert "ZeroDivisionError" in stored.data.tags["mlops.error"]
    text = Path(client.download_artifacts(run.run_id, "error/traceback.txt")).read_text()
    assert "1 / 0" in text


def test_keyboard_interrupt_marks_killed(project: Path, client) -> None:
    with pytest.raises(KeyboardInterrupt), mlops.track(experiment="e") as run:
        raise KeyboardInterrupt
    assert client.get_run(run.run_id).info.status == "KILLED"


def test_starting_again_with_nested_false_ends_the_previous_run(project: Path, client) -> None:
    # what `%mlops track start` does: re-running that cell is safe
    first = mlops.start_run(experiment="e")
    second = mlops.start_run(experiment="e", nested=False)  # never "run is already active"
    assert second.replaced == first.run_id
    assert client.get_run(first.run_id).info.status == "FINISHED"
    assert mlops.active_run() is second
    mlops.end_run()
    assert client.get_run(second.run_id).info.status == "FINISHED"
    assert mlops.end_run() is None


def test_track_inside_an_active_run_is_a_child_and_the_parent_stays_active(
    project: Path, client
) -> None:
    with mlops.track(experiment="outer-exp", run_name="outer") as parent:
        with mlops.track(run_name="inner") as child:
            mlops.log(inner=1)
        assert mlops.active_run() is parent
        assert client.get_run(parent.run_id).info.status == "RUNNING"
        assert client.get_run(child.run_id).info.status == "FINISHED"
        started = mlops.start_run(run_name="second child")  # start_run/end_run nest alike
        assert mlops.end_run() is started
        assert mlops.active_run() is parent
        mlops.log(outer=2)
    for child_id in (child.run_id, started.run_id):
        stored = client.get_run(child_id)
        assert stored.data.tags["mlflow.parentRunId"] == parent.run_id
        assert stored.info.experiment_id == parent.experiment_id
    stored_parent = client.get_run(parent.run_id)
    assert stored_parent.info.status == "FINISHED"
    assert stored_parent.data.metrics == {"outer": 2.0}
    assert client.get_run(child.run_id).data.metrics == {"inner": 1.0}
    assert "outer-exp" in {e.name for e in client.search_experiments()}
    assert {r.info.experiment_id for r in all_runs(client)} == {parent.experiment_id}


def test_a_child_cannot_go_to_another_experiment(project: Path, client) -> None:
    with mlops.track(experiment="a"):
        with pytest.raises(MlopsError, match="child run goes in its parent's experiment 'a'"):
            mlops.start_run(experiment="b")
        assert mlops.active_run().experiment_name == "a"


def test_nested_run_is_a_child(project: Path, client) -> None:
    parent = mlops.start_run(experiment="e")
    with mlops.track(nested=True) as child:
        mlops.log(inner=1)
    assert mlops.active_run() is parent
    stored = client.get_run(child.run_id)
    assert stored.data.tags["mlflow.parentRunId"] == parent.run_id
    assert stored.info.experiment_id == parent.experiment_id
    mlops.end_run()


def test_ending_a_parent_ends_its_children(project: Path, client) -> None:
    parent = mlops.start_run(experiment="e")
    child = mlops.start_run(nested=True)
    mlops.end_run(run=parent)
    assert client.get_run(child.run_id).info.status == "FINISHED"
    assert mlops.active_run() is None


def test_log_errors_are_clear(project: Path) -> None:
    with pytest.raises(NoActiveRunError, match="no active run"):
        mlops.log(acc=1)
    with mlops.track(experiment="e"):
        mlops.log(solver="lbfgs")
        mlops.log(solver="lbfgs")  # the same value again is fine
        with pytest.raises(MlopsError, match="already 'lbfgs'"):
            mlops.log(solver="adam")
        with pytest.raises(MlopsError, match="invalid name"):
            mlops.log(**{"bad name!": 1})
        with pytest.raises(MlopsError, match="finite"):
            mlops.log(x=float("inf"))
        with pytest.raises(MlopsError, match="step"):
            mlops.log(x=1, step=1.5)
        with pytest.raises(MlopsError, match="64 bits"):  # MLflow would drop it with a warning
            mlops.log(x=1, step=2**63)
    with pytest.raises(MlopsError, match="status"):
        mlops.end_run("DONE")


def test_runs_frame(project: Path) -> None:
    for value in (0.1, 0.2):
        with mlops.track(experiment="cmp"):
            mlops.log(alpha=value, kind="ridge")
    frame = mlops.runs("cmp")
    assert list(frame.columns[:5]) == ["run_id", "name", "status", "start_time", "end_time"]
    assert sorted(frame["metrics.alpha"]) == [0.1, 0.2]
    assert set(frame["params.kind"]) == {"ridge"}
    assert (frame["status"] == "FINISHED").all()
    with pytest.raises(MlopsError, match="no experiment named"):
        mlops.runs("missing")
    for bad in (0, 50_001, True, 2.0):  # MLflow's search would fail deep inside
        with pytest.raises(MlopsError, match="whole number from 1 to 50,000"):
            mlops.runs("cmp", max_results=bad)


def test_runs_filter_is_run_by_the_store(project: Path) -> None:
    for auc in (0.5, 0.8, 0.95):
        with mlops.track(experiment="filtered", autolog=False):
            mlops.log(auc=auc, solver="lbfgs" if auc > 0.6 else "saga")
    frame = mlops.runs("filtered", filter="metrics.auc > 0.7")
    assert sorted(frame["metrics.auc"]) == [0.8, 0.95]
    both = mlops.runs("filtered", filter="metrics.auc > 0.7 and params.solver = 'lbfgs'")
    assert len(both) == 2
    assert mlops.runs("filtered", filter="metrics.auc > 0.99").empty
    assert len(mlops.runs("filtered", filter=None)) == 3
    with pytest.raises(MlopsError, match="not a search MLflow can run") as refused:
        mlops.runs("filtered", filter="metrics.auc >>> 1")
    assert "\n" not in str(refused.value)
    with pytest.raises(MlopsError, match="search string"):
        mlops.runs("filtered", filter=0.7)  # type: ignore[arg-type]


def test_status_needs_no_run(project: Path) -> None:
    info = mlops.status()
    assert info["root"] == str(project)
    assert info["tracking_uri"].endswith("/.mlops/mlflow.db")
    assert info["active_run"] is None
    assert info["dvc"] == {"initialized": False}


def test_a_second_project_in_the_same_process_gets_its_own_store(
    project: Path, tmp_path: Path, monkeypatch
) -> None:
    # MLflow copies its global URIs into MLFLOW_TRACKING_URI; that must not pin later projects
    with mlops.track(experiment="first", autolog=False):
        pass
    assert "MLFLOW_TRACKING_URI" not in os.environ
    assert "MLFLOW_REGISTRY_URI" not in os.environ
    other = tmp_path / "other"
    other.mkdir()
    git(other, "init", "-q")
    monkeypatch.chdir(other)
    with mlops.track(experiment="second", autolog=False) as run:
        assert run.settings.root == other
    assert [r.info.run_name for r in all_runs(client_for(other))] == [run.name]
    assert "second" not in {e.name for e in client_for(project).search_experiments()}
