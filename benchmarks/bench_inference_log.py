"""What the inference log costs a served model: ``predict`` on 1-row and 100-row requests in a
loop, with and without ``MLOPS_INFERENCE_LOG``'s writer.

Peer: the same model without the log. The model is the runtime's ``PromotedModel`` (what MLflow's
pyfunc wraps in a promoted artifact: the contract check, then the pipeline) around a breast-cancer
pipeline with a categorical column. Runs alternate (without, with) and the best of ``--repeats``
is kept (wall time, and CPU time of the whole process, steadier on a busy machine); "with
log" includes waiting for the last batch to be written, so the background thread's
work is in the figure. The log is read back: the script exits 1 unless every recorded row is
there. Goal: at most 10% slower.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import warnings


def model_and_rows():
    import numpy as np
    import pandas as pd
    from sklearn.compose import ColumnTransformer
    from sklearn.datasets import load_breast_cancer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    from jupyter_mlops.runtime.contract import Contract

    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    X = X.iloc[:, :8]
    X["size"] = pd.Categorical(np.where(X["mean radius"] > 15, "large", "small"))
    encode = ColumnTransformer(
        [("size", OneHotEncoder(handle_unknown="ignore"), ["size"])], remainder=StandardScaler()
    )
    pipeline = make_pipeline(encode, LogisticRegression(max_iter=5000)).fit(X, y)
    return pipeline, Contract.learn(X), X


def timed(model, requests) -> tuple[float, float]:
    """Wall seconds and this process's CPU seconds (all threads: the writer's work included)."""
    start, cpu = time.perf_counter(), time.process_time()
    for frame in requests:
        model.predict(frame)
    if model.log is not None:
        model.log.flush()  # the background work counts too
    return time.perf_counter() - start, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=2000, help="requests per size and run")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    warnings.filterwarnings("ignore")

    from jupyter_mlops.runtime.inference_log import InferenceLog, dataset
    from jupyter_mlops.runtime.loader import PromotedModel

    pipeline, contract, X = model_and_rows()
    settings = {"input": "frame", "on_violation": "warn"}
    plain = PromotedModel(pipeline, contract, settings)
    folder = tempfile.mkdtemp(prefix="bench-ilog-")
    log = InferenceLog(folder, "bench", "1")  # the defaults a served model uses
    logged = PromotedModel(pipeline, contract, settings, log=log)
    print(
        f"{'rows/request':>12} {'requests':>9} {'without ms/req':>15} {'with ms/req':>12} "
        f"{'ratio':>6} {'CPU ratio':>9}"
    )
    expected = 0
    worst = 0.0
    for size in (1, 100):
        count = args.n if size == 1 else max(1, args.n // 10)
        rng_rows = [X.sample(size, random_state=i) for i in range(count)]
        timed(plain, rng_rows[:20])  # warm-up
        timed(logged, rng_rows[:20])
        expected += 20 * size
        without, with_log = [], []
        for _ in range(args.repeats):
            without.append(timed(plain, rng_rows))
            with_log.append(timed(logged, rng_rows))
            expected += count * size
        wall = min(w for w, _ in with_log) / min(w for w, _ in without)
        cpu = min(c for _, c in with_log) / min(c for _, c in without)
        worst = max(worst, wall)
        print(
            f"{size:>12} {count:>9} {min(without)[0] / count * 1e3:>15.3f} "
            f"{min(with_log)[0] / count * 1e3:>12.3f} {wall:>5.3f}x {cpu:>8.3f}x"
        )
    log.close()
    read = dataset(folder, "bench").count_rows()
    print(f"rows recorded {expected:,}, read back {read:,}; worst {worst:.3f}x (goal <= 1.10x)")
    if read != expected:
        sys.exit(1)


if __name__ == "__main__":
    main()
