"""Per-fit cost of scikit-learn autologging: none vs MLflow's default vs jupyter-mlops' setting.

Peer: ``mlflow.sklearn.autolog()`` with its defaults, which packages the model (and infers its
pip requirements) on every ``fit``. jupyter-mlops turns model and dataset logging off (models are
packaged once, by promote). Data: a 10,000 x 20 classification problem, LogisticRegression.
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import subprocess
import tempfile
import time
import warnings


def _fits(n: int, fit) -> float:
    fit()  # warm-up: first-call imports and patching are not per-fit costs
    times = []
    for _ in range(n):
        start = time.perf_counter()
        fit()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="fits per configuration")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    logging.getLogger("mlflow").setLevel(logging.ERROR)

    import mlflow
    from sklearn.datasets import make_classification
    from sklearn.linear_model import LogisticRegression

    import jupyter_mlops as mlops

    X, y = make_classification(10_000, 20, random_state=0)

    def fit() -> None:
        LogisticRegression(max_iter=500).fit(X, y)

    with tempfile.TemporaryDirectory() as tmp:
        os.chdir(tmp)
        subprocess.run(["git", "init", "-q"], check=True)
        plain = _fits(args.repeat, fit)

        mlops.start_run(experiment="bench-autolog", run_name="ours", autolog=True)
        ours = _fits(args.repeat, fit)
        mlops.end_run()

        mlops.start_run(experiment="bench-autolog", run_name="mlflow-default", autolog=False)
        mlflow.sklearn.autolog(silent=True)  # MLflow's defaults: log_models=True, datasets=True
        default = _fits(args.repeat, fit)
        mlflow.sklearn.autolog(disable=True)
        mlops.end_run()

    print(f"{'configuration':<40}{'per fit':>12}{'overhead':>12}")
    rows = [
        ("no autologging", plain),
        ("mlflow.sklearn.autolog() defaults", default),
        ("jupyter-mlops (%mlops track)", ours),
    ]
    for name, value in rows:
        print(f"{name:<40}{value * 1000:>9.0f} ms{(value - plain) * 1000:>9.0f} ms")
    ratio = (default - plain) / max(ours - plain, 1e-9)
    print(f"\nautolog overhead per fit: {ratio:.1f}x smaller than MLflow's default")
    print(
        "what is left is mostly MLflow drawing training-set plots (confusion matrix, ROC and "
        "precision-recall curves) for each classifier fit"
    )


if __name__ == "__main__":
    main()
