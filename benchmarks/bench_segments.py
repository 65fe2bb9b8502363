"""Wall time of ``mlops.fit_segments`` on 200 segments x 500 rows with a ridge regression: in this
process, on 1 and 2 local worker processes and on a local Dask cluster, against a plain loop of
``fit`` calls; the per-segment overhead of ``fit_segments`` over that loop.

Peer: what a user writes by hand, ``for store, rows in df.groupby("store"): Ridge().fit(...)``
plus one fit on all rows (the fallback), and, with cross-validation, the same loop calling
``cross_val_score(Ridge(), rows[X], rows[y], cv=5)`` after each fit (and on all rows).

Ours: ``mlops.fit_segments(df, by="store", target="y", estimator=Ridge(), cv=0 | 5)`` doing
exactly those fits: with ``n_jobs=1`` in this process (the machinery's own cost: splitting the
frame, cloning, collecting results), with ``n_jobs=2`` in joblib's worker processes, and on a
``distributed.LocalCluster`` of 2 single-threaded workers. No run is active, so nothing is
logged; a last line times the same fit inside a tracked run (200 child runs written to sqlite).

Figures are the best of ``--repeats`` after a warm-up (joblib keeps its workers, a real cluster
is started once): the machine's other work only ever adds time, so the best run is the one
that measures the code. The first call on fresh workers is printed apart. The per-segment overhead
compares ``n_jobs=1`` with the loop, both on one core, with and without cross-validation. The
script exits 1 if any fit differs from the loop's (coefficients compared exactly).
"""

from __future__ import annotations

import argparse
import logging
import os
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from typing import Any

from _common import forget_settings, local_cluster


def make_frame(segments: int, rows: int, features: int, seed: int = 0) -> Any:
    """Segments with slopes of their own, rows of all segments shuffled together."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    X = rng.normal(size=(segments * rows, features))
    which = np.repeat(np.arange(segments), rows)
    slopes = rng.normal(size=(segments, features))
    y = np.einsum("ij,ij->i", X, slopes[which]) + which + rng.normal(0, 0.5, len(which))
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(features)])
    frame["store"] = which
    frame["y"] = y
    return frame.sample(frac=1, random_state=seed).reset_index(drop=True)


def plain_loop(frame: Any, cv: int) -> dict[Any, Any]:
    """The peer: a fit (and cross_val_score) per group, then the same on all rows."""
    from sklearn.linear_model import Ridge
    from sklearn.model_selection import cross_val_score

    features = [c for c in frame.columns if c not in ("store", "y")]
    models = {}
    for store, rows in frame.groupby("store"):
        models[store] = Ridge().fit(rows[features], rows["y"])
        if cv:
            cross_val_score(Ridge(), rows[features], rows["y"], cv=cv)
    models[None] = Ridge().fit(frame[features], frame["y"])
    if cv:
        cross_val_score(Ridge(), frame[features], frame["y"], cv=cv)
    return models


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def differences(family: Any, loop: dict[Any, Any]) -> list[str]:
    import numpy as np

    wrong = [s for s, m in family.models.items() if not np.array_equal(m.coef_, loop[s].coef_)]
    if not np.array_equal(family.fallback.coef_, loop[None].coef_):
        wrong.append("the fallback")
    if len(family.models) != len(loop) - 1:
        wrong.append(f"{len(family.models)} models for {len(loop) - 1} segments")
    return [f"{family.backend_}: {w} differs from the loop" for w in wrong[:3]]


def tracked_seconds(frame: Any) -> float:
    """fit_segments(n_jobs=1, cv=5) inside a run in a fresh project: fit plus 200 child runs."""
    from sklearn.linear_model import Ridge

    import jupyter_mlops as mlops

    here = os.getcwd()
    with tempfile.TemporaryDirectory() as tmp:
        os.chdir(tmp)
        try:
            subprocess.run(["git", "init", "-q"], check=True)
            with mlops.track(experiment="bench", autolog=False):
                seconds, _ = timed(
                    lambda: mlops.fit_segments(frame, "store", "y", Ridge(), n_jobs=1, cv=5)
                )
        finally:
            os.chdir(here)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--segments", type=int, default=200)
    parser.add_argument("--rows", type=int, default=500, help="rows per segment")
    parser.add_argument("--features", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--no-dask", action="store_true", help="skip the Dask cluster")
    parser.add_argument("--no-tracking", action="store_true", help="skip the tracked run")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    logging.getLogger("mlflow").setLevel(logging.ERROR)
    forget_settings()

    from sklearn.linear_model import Ridge

    import jupyter_mlops as mlops

    frame = make_frame(args.segments, args.rows, args.features)
    problems: list[str] = []
    times: dict[str, float] = {}
    cold: dict[str, float] = {}

    def fit(cv: int, **where: Any) -> Any:
        return mlops.fit_segments(frame, "store", "y", Ridge(), cv=cv, **where)

    for cv in (0, 5):
        tag = "with 5-fold cv" if cv else "no cv"
        loop_times, ours_times = [], []
        loop = plain_loop(frame, cv)  # warm-up (imports, caches)
        for _ in range(args.repeats):  # interleaved, so that a busy moment hits both alike
            loop_times.append(timed(lambda cv=cv: plain_loop(frame, cv))[0])
            seconds, family = timed(lambda cv=cv: fit(cv, n_jobs=1))
            ours_times.append(seconds)
        problems += differences(family, loop)
        times[f"plain loop of fit calls, {tag}"] = min(loop_times)
        times[f"fit_segments n_jobs=1, {tag}"] = min(ours_times)

        label = f"fit_segments n_jobs=2, {tag}"
        first, family = timed(lambda cv=cv: fit(cv, n_jobs=2))
        if cv == 0:
            cold["fit_segments n_jobs=2 (starting joblib's workers)"] = first
        problems += differences(family, loop)
        times[label] = min(timed(lambda cv=cv: fit(cv, n_jobs=2))[0] for _ in range(args.repeats))

    cluster_start = None
    if not args.no_dask:
        cluster, client, cluster_start = local_cluster()
        try:
            for cv in (0, 5):
                tag = "with 5-fold cv" if cv else "no cv"
                first, family = timed(lambda cv=cv: fit(cv, dask=client))
                if cv == 0:
                    cold["fit_segments on Dask (first call on fresh workers)"] = first
                problems += differences(family, plain_loop(frame, cv))
                times[f"fit_segments on Dask LocalCluster 2x1, {tag}"] = min(
                    timed(lambda cv=cv: fit(cv, dask=client))[0] for _ in range(args.repeats)
                )
        finally:
            client.close()
            cluster.close()

    tracked = None if args.no_tracking else tracked_seconds(frame)

    n = args.segments
    print(
        f"{n} segments x {args.rows} rows x {args.features} features, Ridge(), "
        f"on {os.cpu_count()} CPUs; best of {args.repeats}\n"
    )
    for tag in ("no cv", "with 5-fold cv"):
        loop = times[f"plain loop of fit calls, {tag}"]
        print(f"{'':<56}{'wall':>9}{'per segment':>13}{'vs loop':>9}")
        for label, seconds in times.items():
            if label.endswith(tag):
                per = seconds / n * 1000
                print(f"{label:<56}{seconds:>8.2f}s{per:>10.2f} ms{loop / seconds:>8.2f}x")
        print()
    for label, seconds in cold.items():
        print(f"{label:<56}{seconds:>8.2f}s")
    if cluster_start is not None:
        print(f"{'(starting the LocalCluster, not counted above)':<56}{cluster_start:>8.2f}s")
    if tracked is not None:
        plain = times["fit_segments n_jobs=1, with 5-fold cv"]
        print(
            f"{'fit_segments n_jobs=1, 5-fold cv, in a run':<56}{tracked:>8.2f}s"
            f"   (+{(tracked - plain) / n * 1000:.1f} ms per segment for its child run)"
        )
    print()
    for tag in ("no cv", "with 5-fold cv"):
        loop = times[f"plain loop of fit calls, {tag}"]
        ours = times[f"fit_segments n_jobs=1, {tag}"]
        extra = (ours - loop) / n * 1000
        print(
            f"overhead of fit_segments over the plain loop, {tag}, one core: "
            f"{extra:+.3f} ms per segment ({(ours - loop) / loop:+.1%})"
        )
    if problems:
        raise SystemExit("wrong results: " + "; ".join(problems))
    print("every fit equals the loop's (coefficients compared exactly)")


if __name__ == "__main__":
    sys.exit(main())
