"""The process ``jupyter mlops ui`` starts: MLflow's tracking server app in one uvicorn worker.

``python -m jupyter_mlops.core.ui_worker HOST PORT TRACKING_URI REGISTRY_URI ARTIFACT_URI``

This is what ``mlflow server`` does before it starts uvicorn, in the one process that serves:
``mlflow server`` imports MLflow, opens the stores, then starts ``python -m uvicorn``, which
imports MLflow and opens the stores again (and, by default, four workers and MLflow's job
runner with its huey consumers). Here MLflow is imported once and the stores opened once, by
the worker itself, and nothing else starts: no job runner (``MLFLOW_SERVER_ENABLE_JOB_EXECUTION``
is false, so a job submitted through the API is refused with MLflow's own message), no proxied
artifact uploads (the UI reads the project's artifact folder directly). The environment the app
reads is spelled with MLflow's own names, imported: a release that renames one fails here, at
start-up, rather than serving another store. Its one line on failure goes to stderr, which
``ui_server`` reads.
"""

from __future__ import annotations

import os
import sys
import uuid

APP = "mlflow.server.fastapi_app:app"


def environment(tracking_uri: str, registry_uri: str, artifact_uri: str) -> dict[str, str]:
    """What ``mlflow server`` (``mlflow.server._run_server``, MLflow 3) hands its uvicorn
    worker, for one local store, no job execution, no artifact proxy, no workspaces."""
    from mlflow.environment_variables import (
        _MLFLOW_IN_JOB_EXECUTOR,
        _MLFLOW_SERVER_BOOT_ID,
        _MLFLOW_SGI_NAME,
        MLFLOW_ENABLE_WORKSPACES,
        MLFLOW_SERVER_ENABLE_JOB_EXECUTION,
    )
    from mlflow.server.constants import (
        ARTIFACT_ROOT_ENV_VAR,
        BACKEND_STORE_URI_ENV_VAR,
        REGISTRY_STORE_URI_ENV_VAR,
    )

    return {
        BACKEND_STORE_URI_ENV_VAR: tracking_uri,
        REGISTRY_STORE_URI_ENV_VAR: registry_uri,
        ARTIFACT_ROOT_ENV_VAR: artifact_uri,
        _MLFLOW_SGI_NAME.name: "uvicorn",
        _MLFLOW_SERVER_BOOT_ID.name: uuid.uuid4().hex,
        _MLFLOW_IN_JOB_EXECUTOR.name: "false",
        MLFLOW_SERVER_ENABLE_JOB_EXECUTION.name: "false",
        MLFLOW_ENABLE_WORKSPACES.name: "false",
    }


def main(argv: list[str]) -> int:
    """Open the stores, then serve until SIGTERM or SIGINT (uvicorn's graceful stop)."""
    host, port, tracking_uri, registry_uri, artifact_uri = argv
    # uvicorn first: MLflow's app adds its security middleware (localhost only, by default)
    # when it finds a server's module loaded as it is imported
    import uvicorn

    os.environ.update(environment(tracking_uri, registry_uri, artifact_uri))
    from mlflow.server.handlers import initialize_backend_stores
    from mlflow.tracing.trace_rollup_service import validate_sql_trace_rollup_startup

    try:  # as `mlflow server` does before it starts uvicorn
        initialize_backend_stores(tracking_uri, registry_uri, artifact_uri)
        validate_sql_trace_rollup_startup(tracking_uri)
    except Exception as exc:  # MLflow's reason, whatever its class, as one line for the parent
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        print(f"the store cannot be opened: {reason}", file=sys.stderr, flush=True)
        return 1
    uvicorn.run(APP, host=host, port=int(port), workers=1, access_log=False)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
