"""Per-call cost of ``mlops.log`` against a raw ``mlflow.log_metric``, on the same sqlite store.

Peer: ``mlflow.log_metric``, which writes one row per call to the store before returning (about
3 ms on sqlite). ``mlops.log`` queues the values and a background thread writes them in
batches, so the cell does not wait; what is left is flushed at ``end_run``, and that flush is
timed too. Both runs are read back: the script exits 1 if a single value is missing.
"""

from __future__ import annotations

import argparse
import logging
import os
import subprocess
import tempfile
import time
import warnings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=2000, help="calls per tool")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    logging.getLogger("mlflow").setLevel(logging.ERROR)

    import mlflow
    from mlflow import MlflowClient

    import jupyter_mlops as mlops

    with tempfile.TemporaryDirectory() as tmp:
        os.chdir(tmp)  # a fresh project: the default embedded store <tmp>/.mlops/mlflow.db
        subprocess.run(["git", "init", "-q"], check=True)

        raw_run = mlops.start_run(experiment="bench-log", run_name="raw", autolog=False)
        mlflow.log_metric("warm-up", 0.0)  # first-call costs are not per-call costs
        start = time.perf_counter()
        for i in range(args.n):
            mlflow.log_metric("loss", 1.0 / (i + 1), step=i)
        raw = (time.perf_counter() - start) / args.n
        mlops.end_run()

        our_run = mlops.start_run(experiment="bench-log", run_name="ours", autolog=False)
        mlops.log(warm_up=0.0)
        start = time.perf_counter()
        for i in range(args.n):
            mlops.log(step=i, loss=1.0 / (i + 1))
        ours = (time.perf_counter() - start) / args.n
        start = time.perf_counter()
        mlops.end_run()  # flushes what the background writer has not written yet
        flush = time.perf_counter() - start

        client = MlflowClient(mlflow.get_tracking_uri())
        stored = {
            name: len(client.get_metric_history(run.run_id, "loss"))
            for name, run in (("raw", raw_run), ("ours", our_run))
        }

    print(f"{'tool':<44}{'per call':>12}")
    print(f"{'mlflow.log_metric (peer)':<44}{raw * 1000:>9.3f} ms")
    print(f"{'mlops.log':<44}{ours * 1000:>9.3f} ms")
    print(f"{'mlops end_run flush (once per run)':<44}{flush * 1000:>9.1f} ms total")
    ratio = raw / max(ours, 1e-9)
    print(
        f"\nmlops.log is {ratio:.0f}x cheaper per call than mlflow.log_metric "
        f"(target >= 10x: {'met' if ratio >= 10 else 'MISSED'}); "
        f"whole {args.n}-call run including the flush: "
        f"{raw * args.n / (ours * args.n + flush):.1f}x faster"
    )
    print(f"values stored: raw {stored['raw']}/{args.n}, ours {stored['ours']}/{args.n}")
    if stored["ours"] != args.n or stored["raw"] != args.n:
        raise SystemExit("values were lost")


if __name__ == "__main__":
    main()
