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
    return facts


if __name__ == "__main__":
    print(json.dumps(main("--model" in sys.argv[1:])))
