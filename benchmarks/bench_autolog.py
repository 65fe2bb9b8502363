"""Per-fit cost of scikit-learn autologging: none vs MLflow's autolog vs jupyter-mlops' own.

Peers, measured in the same run on the same fits:
- ``mlflow.sklearn.autolog()`` with its defaults, which packages the model (and infers its pip
  requirements) on every ``fit``;
- ``mlflow.sklearn.autolog(log_models=False, log_datasets=False)``, what jupyter-mlops used
  before it recorded fits itself: still draws the training plots (confusion matrix, ROC and
  precision-recall curves) on each classifier fit, with no switch to turn them off.
jupyter-mlops records each fit as a child run (its params and training metrics, no plots),
queued and written in the background. Data: a 10,000 x 20 classification problem,
LogisticRegression. A loop of small fits (the "try 100 candidates" case) is timed as a whole.
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


def _loop(n: int, fit) -> float:
    start = time.perf_counter()
    for _ in range(n):
        fit()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7, help="fits per configuration")
    parser.add_argument("--loop", type=int, default=100, help="small fits in the loop")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    logging.getLogger("mlflow").setLevel(logging.ERROR)

    import mlflow
    from sklearn.datasets import make_classification
    from sklearn.linear_model import LogisticRegression

    import jupyter_mlops as mlops

    X, y = make_classification(10_000, 20, random_state=0)
    Xs, ys = X[:500], y[:500]

    def fit() -> None:
        LogisticRegression(max_iter=500).fit(X, y)

    def small() -> None:
        LogisticRegression(max_iter=500).fit(Xs, ys)

    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        os.chdir(tmp)
        subprocess.run(["git", "init", "-q"], check=True)
        results["no autologging"] = (_fits(args.repeat, fit), _loop(args.loop, small))

        for label, options in (
            ("mlflow.sklearn.autolog() defaults", {}),
            ("mlflow autolog, models/datasets off", {"log_models": False, "log_datasets": False}),
        ):
            mlops.start_run(experiment="bench-autolog", run_name=label, autolog=False)
            mlflow.sklearn.autolog(silent=True, **options)
            per_fit = _fits(args.repeat, fit)
            loop = _loop(args.loop, small) if options else float("nan")  # 2.7 s a fit: skip
            mlflow.sklearn.autolog(disable=True)
            mlops.end_run()
            results[label] = (per_fit, loop)

        with mlops.track(experiment="bench-autolog", run_name="ours", autolog=True) as run:
            per_fit = _fits(args.repeat, fit)
            loop = _loop(args.loop, small)
            mlops.flush()
        results["jupyter-mlops (a child run per fit)"] = (per_fit, loop)
        recorded = len(run.candidates)

    plain = results["no autologging"][0]
    print(f"{'configuration':<42}{'per fit':>10}{'overhead':>11}{f'{args.loop} small fits':>18}")
    for name, (value, loop) in results.items():
        loop_text = "skipped" if loop != loop else f"{loop:.2f} s"
        print(f"{name:<42}{value * 1000:>7.0f} ms{(value - plain) * 1000:>8.0f} ms{loop_text:>18}")
    ours = results["jupyter-mlops (a child run per fit)"][0] - plain
    plots = results["mlflow autolog, models/datasets off"][0] - plain
    default = results["mlflow.sklearn.autolog() defaults"][0] - plain
    print(
        f"\nautolog overhead per fit: ours {ours * 1000:.0f} ms (goal <= 50 ms); "
        f"{plots / max(ours, 1e-9):.1f}x less than MLflow's with models off, "
        f"{default / max(ours, 1e-9):.0f}x less than its defaults"
    )
    print(f"child runs recorded by ours: {recorded} (each fit, warm-ups included)")


if __name__ == "__main__":
    main()
