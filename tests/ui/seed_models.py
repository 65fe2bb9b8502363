"""Seed two versions of one model through the public Python API, as a user would.

Run as a script in a project (``python seed_models.py``); prints one JSON line of facts. Two
scikit-learn pipelines on scikit-learn's bundled diabetes data, each promoted inside a named
run that logs its metrics and then ends: version 1 on ``age``, ``bmi`` and ``bp`` (floats);
version 2 adds the column ``sex`` (text levels) and has ``age`` in whole years (``int64``: a
dtype change), and gets the alias ``champion``. Also the fixture of the core and REST tests.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

MODEL = "diabetes"
RUN_NAMES = ("ridge-three-columns", "ridge-with-sex")
ALIAS = "champion"


def frames():
    """The two versions' training frames and the target."""
    import numpy as np
    from sklearn.datasets import load_diabetes

    X, y = load_diabetes(return_X_y=True, as_frame=True)
    first = X[["age", "bmi", "bp"]].copy()
    second = first.copy()
    second["age"] = (X["age"] * 100 + 50).round().astype("int64")  # years, not scaled
    second["sex"] = np.where(X["sex"] > 0, "female", "male")
    return first, second, y


def main() -> dict:
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import Ridge
    from sklearn.metrics import mean_absolute_error
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    import jupyter_mlops as mlops

    first, second, y = frames()
    one = make_pipeline(StandardScaler(), Ridge(alpha=1.0)).fit(first, y)
    encode = ColumnTransformer(
        [("sex", OneHotEncoder(handle_unknown="ignore"), ["sex"])], remainder=StandardScaler()
    )
    two = make_pipeline(encode, Ridge(alpha=0.5)).fit(second, y)
    runs = []
    for model, X, run_name, alpha, alias in (
        (one, first, RUN_NAMES[0], 1.0, None),
        (two, second, RUN_NAMES[1], 0.5, ALIAS),
    ):
        with mlops.track(experiment="diabetes", run_name=run_name, autolog=False) as run:
            mlops.log(alpha=str(alpha), columns=str(X.shape[1]))  # text: params
            predicted = model.predict(X)
            mlops.log(r2=float(model.score(X, y)), mae=float(mean_absolute_error(y, predicted)))
            mlops.promote(model, name=MODEL, X=X, y=y, alias=alias)  # the run is still going
        runs.append(run.run_id)
    return {"model": MODEL, "runs": runs, "run_names": list(RUN_NAMES), "alias": ALIAS}


def seed(root: Path, env: dict[str, str]) -> dict:
    """Run this script in ``root`` (a git project) with ``env``; its facts."""
    done = subprocess.run(
        [sys.executable, __file__], cwd=root, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-4000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    print(json.dumps(main()))
