"""Seed the Runs view's project through the public API, as a user would: a parent run with
child runs (nested ``track``), a FAILED run (an exception inside ``track``), a KILLED run
(Ctrl-C inside ``track``: ``KeyboardInterrupt``), runs with metrics and params to filter and
sort on, and two runs whose long names differ only at their end.

Prints one JSON line of facts: the experiment's id and each run's id by its name.
"""

from __future__ import annotations

import json

import jupyter_mlops as mlops

EXPERIMENT = "ui-runs"
PARENT = "sweep-lr"
CHILDREN = {"lr=0.1": 0.55, "lr=0.01": 0.8, "lr=0.001": 0.66}
LONG = "sweep-learning_rate=0.001-n_estimators=500-subsample=0.8-colsample=0.9-max_depth="
LONG_NAMES = [LONG + "4", LONG + "5"]
PLAIN = {"baseline-l2": (0.62, "l2"), "baseline-l1": (0.71, "l1"), "ridge-wide": (0.58, "l2")}


def main() -> None:
    ids: dict[str, str] = {}
    for name, (acc, penalty) in PLAIN.items():
        with mlops.track(experiment=EXPERIMENT, run_name=name, autolog=False) as run:
            mlops.log(acc=acc, loss=1 - acc, penalty=penalty)
        ids[name] = run.run_id
    for i, name in enumerate(LONG_NAMES):
        with mlops.track(experiment=EXPERIMENT, run_name=name, autolog=False) as run:
            mlops.log(acc=0.6 + i / 100, loss=0.3)
        ids[name] = run.run_id
    with mlops.track(experiment=EXPERIMENT, run_name=PARENT, autolog=False) as parent:
        mlops.log(acc=0.8, loss=0.2)
        for name, acc in CHILDREN.items():
            with mlops.track(run_name=name, autolog=False) as child:  # nested: a child run
                mlops.log(acc=acc, loss=1 - acc, lr=name.split("=")[1])
            ids[name] = child.run_id
    ids[PARENT] = parent.run_id
    try:
        with mlops.track(experiment=EXPERIMENT, run_name="crashes", autolog=False) as run:
            mlops.log(acc=0.1)
            raise ValueError("the data had no rows")
    except ValueError:
        ids["crashes"] = run.run_id
    try:
        with mlops.track(experiment=EXPERIMENT, run_name="interrupted", autolog=False) as run:
            mlops.log(acc=0.2)
            raise KeyboardInterrupt  # what Ctrl-C raises in the cell
    except KeyboardInterrupt:
        ids["interrupted"] = run.run_id
    mlops.flush()
    print(json.dumps({"runs_experiment": run.experiment_id, "ids": ids}))


if __name__ == "__main__":
    main()
