"""Wall time of ``jupyter mlops sweep`` over 4 points on 1 and 2 local workers and on a local
Dask cluster, against running the points one after another with ``jupyter mlops run``.

The notebook is small on purpose: a parameters cell, about half a second of pure-Python work
and ``mlops.log``, so the figures show what a point costs around the work (a kernel, MLflow in
that kernel, the run's artifacts) and how much of it parallel workers hide.

Peer: a shell loop of ``jupyter mlops run NOTEBOOK -p alpha V``, what a user would otherwise
type: four tracked runs, no parent, one after another, each paying the CLI's start-up.

Ours: ``mlops.sweep(notebook, {"alpha": [...]}, workers=1|2)``, timed from the call to the
parent run's end, worker start-up included (spawned processes import MLflow once each); then
the same grid on a ``distributed.LocalCluster`` of 2 single-threaded worker processes, twice:
cold (the workers import MLflow on their first point) and warm. The cluster's own start-up is
printed apart; a real cluster is started once and kept.

Every sweep is read back from the store: the script exits 1 if a child is missing, did not
finish or logged the wrong value.
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
from pathlib import Path

from _common import forget_settings, local_cluster

CELLS = [
    "alpha = 0.0",
    "import time\n"
    "start = time.perf_counter()\n"
    "total = sum(i % 7 for i in range(work))\n"
    "seconds = time.perf_counter() - start",
    "import jupyter_mlops as mlops\nmlops.log(score=alpha * 10, seconds=seconds)",
]


def write_notebook(path: Path, work: int) -> None:
    import nbformat

    nb = nbformat.v4.new_notebook()
    for index, source in enumerate(CELLS):
        if index == 0:
            source += f"\nwork = {work}"
        cell = nbformat.v4.new_code_cell(source)
        if index == 0:
            cell.metadata["tags"] = ["parameters"]
        nb.cells.append(cell)
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, path)


def check(result, values: list[float]) -> list[str]:
    """What is wrong with a sweep, read back from the store (empty when nothing is)."""
    from mlflow import MlflowClient

    client = MlflowClient(result.tracking_uri)
    parent = client.get_run(result.parent_run_id)
    problems = []
    if parent.info.status != "FINISHED":
        problems.append(f"parent {parent.info.status}")
    experiment = parent.info.experiment_id
    query = f"tags.`mlflow.parentRunId` = '{result.parent_run_id}'"
    children = client.search_runs([experiment], filter_string=query)
    seen = sorted(float(c.data.params["alpha"]) for c in children)
    if seen != sorted(values):
        problems.append(f"children for alpha {seen}, expected {sorted(values)}")
    for child in children:
        alpha = float(child.data.params["alpha"])
        if child.info.status != "FINISHED" or child.data.metrics.get("score") != alpha * 10:
            problems.append(f"alpha={alpha}: {child.info.status} {child.data.metrics}")
    return problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=4, help="grid size")
    parser.add_argument("--work", type=int, default=5_000_000, help="loop length in each point")
    parser.add_argument("--no-dask", action="store_true", help="skip the Dask cluster")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    logging.getLogger("mlflow").setLevel(logging.ERROR)
    forget_settings()

    import jupyter_mlops as mlops

    values = [float(v) for v in range(1, args.points + 1)]
    exe = Path(sys.executable).parent / "jupyter-mlops"
    times: dict[str, float] = {}
    problems: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        os.chdir(tmp)  # a fresh project: the default embedded store <tmp>/.mlops/mlflow.db
        subprocess.run(["git", "init", "-q"], check=True)
        notebook = Path(tmp) / "point.ipynb"
        write_notebook(notebook, args.work)
        mlops.sweep(notebook, {"alpha": [0.0]}, workers=1, progress=False)  # store, caches

        start = time.perf_counter()
        for value in values:
            subprocess.run(
                [str(exe), "run", str(notebook), "-p", "alpha", str(value), "-e", "loop"],
                check=True,
                capture_output=True,
            )
        times["peer: jupyter mlops run, one after another"] = time.perf_counter() - start

        for workers in (1, 2):
            start = time.perf_counter()
            result = mlops.sweep(notebook, {"alpha": values}, workers=workers, progress=False)
            times[f"sweep, {workers} local worker{'s' if workers > 1 else ''}"] = (
                time.perf_counter() - start
            )
            problems += check(result, values)

        cluster_start = None
        if not args.no_dask:
            cluster, client, cluster_start = local_cluster()
            try:
                for label in ("cold", "warm"):
                    start = time.perf_counter()
                    result = mlops.sweep(notebook, {"alpha": values}, dask=client, progress=False)
                    times[f"sweep, Dask LocalCluster 2x1 ({label})"] = time.perf_counter() - start
                    problems += check(result, values)
            finally:
                client.close()
                cluster.close()

    peer = times["peer: jupyter mlops run, one after another"]
    one = times["sweep, 1 local worker"]
    print(f"{args.points} points, {args.work:,} loop steps each, on {os.cpu_count()} CPUs\n")
    print(f"{'':<48}{'wall':>9}{'vs loop':>9}{'vs 1 worker':>13}")
    for label, seconds in times.items():
        print(f"{label:<48}{seconds:>8.1f}s{peer / seconds:>8.2f}x{one / seconds:>12.2f}x")
    if cluster_start is not None:
        print(f"{'(starting the LocalCluster, not counted above)':<48}{cluster_start:>8.1f}s")
    two = times["sweep, 2 local workers"]
    print(f"\n2 local workers are {one / two:.2f}x faster than 1 ({args.points} points)")
    if problems:
        raise SystemExit("wrong results: " + "; ".join(problems))
    print(f"all {len(times) - 1} sweeps read back: every child FINISHED with the right score")


if __name__ == "__main__":
    main()
