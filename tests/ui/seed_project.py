"""Seed the project in the working directory through the public Python API, as a user would.

Run as a script (``python seed_project.py [--model]``) so the tests' own process keeps no
tracking state; prints one JSON line of facts: experiment id, run ids, the model's name.
"""

from __future__ import annotations

import json
import sys

import jupyter_mlops as mlops

EXPERIMENT = "ui-panel"
XSS_NAME = "<img src=x onerror=alert(1)>"
MODEL = "ui-model"
LOSSES = [0.9, 0.5, 0.3, 0.2]
DRIFTED = ["age", "plan"]  # one numeric, one categorical column (issue 20, acceptance 4)
VIOLATION_RATE = 0.042


def seed_monitoring(name: str, version: str) -> dict:
    """Two monitoring windows of version ``version`` of model ``name``, recorded as ``monitor``
    records them (the names in ``core/tags.py``): a stable day, then a day where ``DRIFTED``
    drifted. Until ``mlops.monitor`` is on main; at merge, swap this for a real ``monitor``
    call over logged inputs shifted in those two columns."""
    from mlflow.entities import Metric, RunTag

    from jupyter_mlops.config import resolve_settings
    from jupyter_mlops.core import store, tags

    settings = resolve_settings()
    client = store.client(settings)
    experiment = store.experiment_id(settings, tags.monitoring_experiment(name))
    windows = [
        ("2026-03-01", "2026-03-02", "stable", [], 1000, 0.0),
        ("2026-03-02", "2026-03-03", "drifted", DRIFTED, 1200, VIOLATION_RATE),
    ]
    runs = []
    for day, next_day, verdict, drifted, rows, rate in windows:
        run_id = client.create_run(experiment, run_name=f"monitor {day}").info.run_id
        values = {
            tags.MONITOR_RUN: "true",
            tags.MONITOR_MODEL: name,
            tags.MONITOR_VERSION: version,
            tags.MONITOR_WINDOW_START: f"{day}T00:00:00+00:00",
            tags.MONITOR_WINDOW_END: f"{next_day}T00:00:00+00:00",
            tags.MONITOR_VERDICT: verdict,
            tags.MONITOR_DRIFTED: json.dumps(drifted),
            tags.MONITOR_PREDICTION_DRIFTED: "false",
        }
        metrics = {
            tags.MONITOR_ROWS: rows,
            tags.MONITOR_VIOLATION_RATE: rate,
            tags.MONITOR_DRIFTED_COUNT: len(drifted),
        }
        client.log_batch(
            run_id,
            metrics=[Metric(k, v, 0, 0) for k, v in metrics.items()],
            tags=[RunTag(k, v) for k, v in values.items()],
        )
        client.set_terminated(run_id)
        runs.append(run_id)
    return {"experiment_id": experiment, "runs": runs}


def main(with_model: bool) -> dict:
    with mlops.track(experiment=EXPERIMENT, run_name="baseline", autolog=False) as baseline:
        mlops.log(penalty="l2", solver="lbfgs", acc=0.75)
        for step, loss in enumerate(LOSSES):
            mlops.log(loss=loss, step=step)
        mlops.data.add("data.csv")
    with mlops.track(experiment=EXPERIMENT, run_name=XSS_NAME, autolog=False) as xss:
        mlops.log(penalty="none", solver="saga", acc=0.5)
    facts = {
        "experiment_id": baseline.experiment_id,
        "baseline": baseline.run_id,
        "xss": xss.run_id,
        "model": None,
    }
    if with_model:
        import pandas as pd
        from sklearn.linear_model import LinearRegression

        X = pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]})
        y = 2 * X["x"] + 1
        model = LinearRegression().fit(X, y)
        with mlops.track(experiment=EXPERIMENT, run_name="promoted", autolog=False):
            mlops.promote(model, name=MODEL, X=X, y=y, alias="staging")
        facts["model"] = MODEL
        facts["monitoring"] = seed_monitoring(MODEL, "1")
    return facts


if __name__ == "__main__":
    print(json.dumps(main("--model" in sys.argv[1:])))
