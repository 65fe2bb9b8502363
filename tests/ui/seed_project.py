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


# issue 21: the model's second recorded move (the first is promote's), with a reason that
# looks like HTML and must show as text
SEED_ALIAS = "candidate"
SEED_REASON = "holdout AUC 0.93 <b>steady</b> & no drift"

HEALTH_MODEL = "ui-health"
DAYS = ("2026-03-01", "2026-03-02", "2026-03-03")  # day 1 as in training, day 2 shifted


def health_rows(n: int, seed: int, shifted: bool = False):
    """Customers: ``age`` (numeric) and ``plan`` (categorical) move on the shifted day,
    ``income`` never does."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "age": rng.normal(52, 4, n).clip(18, 60)
            if shifted
            else rng.normal(40, 8, n).clip(18, 90),
            "plan": rng.choice(
                ["basic", "plus", "pro"], n, p=[0.2, 0.3, 0.5] if shifted else [0.6, 0.3, 0.1]
            ),
            "income": rng.lognormal(10, 0.4, n),
        }
    )


def seed_monitoring() -> dict:
    """A pipeline on ``age``, ``plan`` and ``income`` promoted as ``HEALTH_MODEL``; a day of
    requests drawn as its training data was and a day with ``age`` and ``plan`` shifted
    (50 of its 1,200 rows aged 150, beyond the contract's range), logged by the real writer
    of the loaded model (``time.time`` set to the day while it records each request); then a
    real ``mlops.monitor`` over both days, which records the two windows the panel shows."""
    import datetime as dt
    import os
    from unittest import mock

    import mlflow.pyfunc
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    from jupyter_mlops.config import resolve_settings
    from jupyter_mlops.core.production import target

    X = health_rows(3000, 1)
    y = 0.1 * X["age"] + (X["plan"] == "pro") + 0.00001 * X["income"]
    encode = ColumnTransformer([("plan", OneHotEncoder(), ["plan"])], remainder="passthrough")
    model = make_pipeline(encode, Ridge()).fit(X, y)
    with mlops.track(experiment=EXPERIMENT, run_name="health", autolog=False):
        mlops.promote(model, name=HEALTH_MODEL, X=X, alias="live")
    settings = resolve_settings()
    resolved = target.resolve(f"models:/{HEALTH_MODEL}/1", settings)
    with mock.patch.dict(os.environ, resolved.log_env(settings)):
        loaded = mlflow.pyfunc.load_model(str(resolved.folder))
    shifted = health_rows(1200, 3, shifted=True)
    shifted.loc[:49, "age"] = 150.0  # 50 of 1,200 rows out of the contract: 4.2%
    for day, frame in ((DAYS[0], health_rows(1000, 2)), (DAYS[1], shifted)):
        noon = dt.datetime.fromisoformat(day).replace(hour=12, tzinfo=dt.timezone.utc)
        for i in range(0, len(frame), 200):
            with mock.patch("time.time", return_value=noon.timestamp() + i):
                loaded.predict(frame.iloc[i : i + 200])
    loaded._model_impl.log.close()  # every queued request written
    report = mlops.monitor(f"{HEALTH_MODEL}/1", since=DAYS[0], until=DAYS[2], window="1d")
    last = report.to_dict()["windows"][-1]
    return {"drifted": report.drifted, "violation_rate": last["violation_rate"]}


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
        mlops.set_alias(MODEL, SEED_ALIAS, 1, reason=SEED_REASON)
        # a challenger fit on the labels reversed: the real gate refuses it, a third move
        with mlops.track(experiment=EXPERIMENT, run_name="challenger", autolog=False):
            worse = LinearRegression().fit(X, y[::-1].to_numpy())
            mlops.promote(worse, name=MODEL, X=X)
        gated = mlops.gate(
            f"models:/{MODEL}/2", f"models:/{MODEL}@{SEED_ALIAS}", eval=X.assign(y=y), target="y"
        )
        facts["gate"] = gated.to_dict()
        facts["model"] = MODEL
        facts["health_model"] = HEALTH_MODEL
        facts["monitoring"] = seed_monitoring()
    return facts


if __name__ == "__main__":
    print(json.dumps(main("--model" in sys.argv[1:])))
