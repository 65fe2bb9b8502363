"""What the benchmarks share. They run as scripts (``python benchmarks/bench_x.py``), so this
module sits next to them and is imported as ``_common``."""

from __future__ import annotations

import os
import time
from typing import Any

# settings a user's shell may carry that would send a benchmark's runs to another store
ENV_VARS = (
    "MLFLOW_TRACKING_URI",
    "MLFLOW_REGISTRY_URI",
    "MLFLOW_EXPERIMENT_NAME",
    "MLFLOW_EXPERIMENT_ID",
    "MLFLOW_RUN_ID",
    "JUPYTER_MLOPS_RUN_ID",
    "JPY_SESSION_NAME",
)


def clean_env() -> dict[str, str]:
    """This process's environment without ``ENV_VARS``, for the commands a benchmark starts."""
    return {k: v for k, v in os.environ.items() if k not in ENV_VARS}


def forget_settings() -> None:
    """Drop ``ENV_VARS`` from this process's own environment."""
    for name in ENV_VARS:
        os.environ.pop(name, None)


def local_cluster() -> tuple[Any, Any, float]:
    """A ``distributed.LocalCluster`` of two single-threaded worker processes, its ``Client``
    and the seconds it took to start."""
    from distributed import Client, LocalCluster

    start = time.perf_counter()
    cluster = LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    )
    return cluster, Client(cluster), time.perf_counter() - start
