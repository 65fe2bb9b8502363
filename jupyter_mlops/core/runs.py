"""Reading what was tracked: runs, experiments, metric histories and where this kernel writes.

The magics, the CLI and the REST API read runs here, so a run looks the same wherever it is
shown: ``runs`` is the notebook's table (a DataFrame), the ``*_rows`` functions are the JSON
the server answers. Readers take a ``store.client`` (it retries transient errors itself).
"""

from __future__ import annotations

import numbers
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from ..errors import MlopsError, NotFoundError
from . import run_search, store, tags
from .redact import redact_text, redact_url
from .session import default_experiment, notebook, project_settings, session

if TYPE_CHECKING:
    import pandas as pd

MAX_RUNS = 50_000  # the most one MLflow search returns
EXPERIMENT_PAGE = 1000
# run list rows carry these tags, plus every user tag (outside the mlflow./mlops. namespaces)
KEY_TAGS = (
    tags.MLFLOW_RUN_NOTE,
    tags.MLFLOW_PARENT_RUN_ID,
    tags.MLFLOW_GIT_COMMIT,
    tags.MLFLOW_SOURCE_NAME,
    tags.MLFLOW_SOURCE_TYPE,
    tags.MLFLOW_USER,
    tags.ERROR,
    tags.GIT_DIRTY,
    tags.REPRODUCE_VERDICT,
    tags.RUNNER,
)


# -- the notebook's view ---------------------------------------------------------------------
def runs(
    experiment: str | None = None,
    max_results: int = 100,
    *,
    filter: str | None = None,
    tracking_uri: str | None = None,
) -> pd.DataFrame:
    """Recent runs of an experiment: id, name, status, times, parent run, the model a candidate
    run recorded (``model``: one child run per autologged fit), metrics.*, params.*.

    ``filter`` is MLflow's search syntax (``"metrics.auc > 0.9 and params.solver = 'lbfgs'"``),
    run by the store, so a team's server answers it without sending every run back; words that
    are not (``"rf baseline"``) find the runs whose name contains them (``run_search``)."""
    import pandas as pd

    from .tracking import reap

    check_max_runs(max_results)
    found_notebook = notebook()
    active = session.active
    settings = project_settings(None if active else tracking_uri, notebook_path=found_notebook)
    if experiment is None:
        experiment = (
            active.experiment_name if active else default_experiment(settings, found_notebook)
        )
    store.prepare(settings)
    reap(settings)
    client = store.client(settings)
    exp = client.get_experiment_by_name(experiment)
    if exp is None:
        store_uri = redact_url(settings.tracking_uri)
        raise MlopsError(f"no experiment named {experiment!r} in {store_uri}")
    found = _search(client, exp.experiment_id, max_results, filter)
    return _frame([_frame_row(r, pd) for r in found], pd)


def _search(client: Any, experiment_id: str, max_results: int, filter: str | None) -> Any:
    """The newest runs matching ``filter`` (``run_search.search_filter``: MLflow's syntax, or
    words of a run's name); a filter refused is one line naming it."""
    found = run_search.search_filter(filter)
    order = list(run_search.NEWEST_FIRST)
    try:
        return client.search_runs(
            [experiment_id], filter_string=found, max_results=max_results, order_by=order
        )
    except Exception as exc:
        refused = run_search.store_refusal(exc, found, order)
        if refused is None:
            raise
        raise refused from None


def _frame(rows: list[dict[str, Any]], pd: Any) -> pd.DataFrame:
    """The fixed columns first, then metrics.* and params.* sorted."""
    base = ["run_id", "name", "status", "start_time", "end_time", "parent_run_id", "model"]
    frame = pd.DataFrame(rows, columns=None if rows else base)
    metric_cols = sorted(c for c in frame.columns if c.startswith("metrics."))
    param_cols = sorted(c for c in frame.columns if c.startswith("params."))
    return frame[base + metric_cols + param_cols]


def check_max_runs(max_results: Any) -> None:
    """``max_results`` of ``runs``: a whole number from 1 to ``MAX_RUNS``."""
    if (
        isinstance(max_results, bool)
        or not isinstance(max_results, numbers.Integral)
        or not 1 <= max_results <= MAX_RUNS
    ):
        raise MlopsError(
            f"max_results is a whole number from 1 to {MAX_RUNS:,}, not {max_results!r}"
        )


def _frame_row(r: Any, pd: Any) -> dict[str, Any]:
    row = {
        "run_id": r.info.run_id,
        "name": r.info.run_name,
        "status": r.info.status,
        "start_time": pd.to_datetime(r.info.start_time, unit="ms", utc=True),
        "end_time": pd.to_datetime(r.info.end_time, unit="ms", utc=True)
        if r.info.end_time
        else pd.NaT,
        "parent_run_id": r.data.tags.get(tags.MLFLOW_PARENT_RUN_ID),
        "model": r.data.tags.get("estimator_name")
        if r.data.tags.get(tags.CANDIDATE) == "true"
        else None,
    }
    row.update({f"metrics.{k}": v for k, v in sorted(r.data.metrics.items())})
    row.update({f"params.{k}": v for k, v in sorted(r.data.params.items())})
    return row


def status(*, tracking_uri: str | None = None) -> dict[str, Any]:
    """Where runs go and what is active: store, experiment, run, DVC state. No network."""
    found_notebook = notebook()
    run = session.active
    settings = project_settings(None if run else tracking_uri, notebook_path=found_notebook)
    return {
        "root": str(settings.root),
        "tracking_uri": redact_url(settings.tracking_uri),
        "tracking_uri_source": settings.source.get("tracking_uri", "default"),
        "registry_uri": redact_url(settings.registry_uri),
        "artifact_root": str(settings.artifact_root) if settings.artifact_root else None,
        "experiment": run.experiment_name if run else default_experiment(settings, found_notebook),
        "notebook": str(found_notebook) if found_notebook else None,
        "active_run": run.info if run else None,
        "autolog": settings.autolog,
        "pending_values": session.buffer.pending(),
        "dvc": {"initialized": (settings.root / ".dvc").is_dir()},
    }


# -- the REST API's view (JSON rows) ----------------------------------------------------------
def experiment_rows(client: Any) -> list[dict[str, Any]]:
    """Every active experiment (all pages), newest first."""
    from mlflow.entities import ViewType

    found: list[Any] = []
    token: str | None = None
    while True:
        page = client.search_experiments(
            view_type=ViewType.ACTIVE_ONLY,
            max_results=EXPERIMENT_PAGE,
            order_by=["creation_time DESC"],
            page_token=token,
        )
        found.extend(page)
        token = page_token(page)
        if not token:
            break
    return [
        {
            "experiment_id": e.experiment_id,
            "name": e.name,
            "lifecycle_stage": e.lifecycle_stage,
            "artifact_location": redact_url(e.artifact_location),
            "creation_time": iso(e.creation_time),
            "last_update_time": iso(e.last_update_time),
            "tags": _user_tags(e.tags),
        }
        for e in found
    ]


def run_page(
    client: Any,
    experiment_id: str,
    size: int,
    token: str | None,
    filter_string: str = "",
    order: list[str] | None = None,
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of an experiment's runs as rows and the next page's token: those matching
    ``filter_string`` in ``order`` (checked by ``run_search`` first; newest first by default).
    An unknown experiment is MLflow's not-found error; a token the store cannot read is
    ``BadPageToken`` (when the first page can be read, the token is what failed); a search the
    store refuses is ``run_search.BadSearch``.

    The experiment is looked up only when the page is empty or the search failed: on a shared
    server every call is an authenticated round trip, and the panel asks for pages often."""
    order = order or list(run_search.NEWEST_FIRST)

    def search(token: str | None) -> Any:
        return client.search_runs(
            [experiment_id],
            filter_string=filter_string,
            max_results=size,
            order_by=order,
            page_token=token,
        )

    try:
        page = search(token or None)
    except Exception as exc:
        client.get_experiment(experiment_id)  # not found for an unknown id
        failed: BaseException = exc
        if token is not None:
            # a token's format is the store's own (forged: wrong JSON types, an offset past
            # SQLite's integers): when the first page can be read, the token is what failed
            try:
                search(None)
            except Exception as again:
                failed = again
            else:
                raise BadPageToken() from None
        refused = run_search.store_refusal(failed, filter_string, order)
        if refused is not None:
            raise refused from None
        raise failed from None
    if not page:  # no runs, or no such experiment (a store searches unknown ids as empty)
        client.get_experiment(experiment_id)
    return [run_row(r) for r in page], page_token(page) or None


class BadPageToken(MlopsError):
    """A page token this store did not give out."""

    def __init__(self) -> None:
        super().__init__("page_token is not a token this API gave out")


def run_detail(
    client: Any, run_id: str, on_unlisted: Any = None, settings: Any = None
) -> dict[str, Any]:
    """A run in full: params, latest metrics, every tag, data inputs, top-level artifacts. An
    artifact store that cannot be listed does not hide the run (``artifacts_error`` says so;
    ``on_unlisted(exc)`` hears of it). With ``settings``, artifacts are listed only where the
    configured store serves them itself (``run_artifacts``): a shared store's run whose
    artifacts are on another host is shown without them, and nothing is sent there."""
    from . import run_artifacts

    run = client.get_run(run_id)
    row = run_row(run, all_tags=True)
    row["lifecycle_stage"] = run.info.lifecycle_stage
    row["artifact_uri"] = redact_url(run.info.artifact_uri)
    row["inputs"] = _inputs(run)
    try:
        if settings is not None:
            listed = run_artifacts.list_dir(client, settings, run_id)["artifacts"]
            found = [(a["path"], a["is_dir"], a["size"]) for a in listed]
        else:
            found = [(a.path, a.is_dir, a.file_size) for a in client.list_artifacts(run_id)]
        row["artifacts"] = [{"path": p, "is_dir": d, "file_size": s} for p, d, s in found]
        row["artifacts_error"] = None
    except store.ForeignArtifactsError as exc:
        row["artifacts"] = None
        row["artifacts_error"] = f"artifacts not listed: {exc}"
    except Exception as exc:
        if on_unlisted is not None:
            on_unlisted(exc)
        row["artifacts"] = None
        row["artifacts_error"] = f"cannot list artifacts: {type(exc).__name__}"
    return row


def metric_history(client: Any, run_id: str, key: str) -> list[dict[str, Any]]:
    """Every value of metric ``key`` on the run, by step then time; a ``NotFoundError`` naming
    the run's metrics when it has no such metric."""
    run = client.get_run(run_id)
    if key not in run.data.metrics:
        known = ", ".join(sorted(run.data.metrics)[:20]) or "none"
        raise NotFoundError(f"run {run_id} has no metric {key!r}; it has: {known}")
    points = sorted(client.get_metric_history(run_id, key), key=lambda m: (m.step, m.timestamp))
    return [{"step": m.step, "value": m.value, "timestamp": m.timestamp} for m in points]


def page_token(page: Any) -> str | None:
    """A paged result's next token as text (some stores give bytes)."""
    token = page.token
    return token.decode() if isinstance(token, bytes) else token


def run_row(run: Any, all_tags: bool = False) -> dict[str, Any]:
    """A run as JSON: ids, name, status, ISO times, latest metrics, params and tags."""
    info, data = run.info, run.data
    shown_tags = dict(data.tags) if all_tags else _list_tags(data.tags)
    return {
        "run_id": info.run_id,
        "name": info.run_name,
        "status": info.status,
        "start_time": iso(info.start_time),
        "end_time": iso(info.end_time),
        "experiment_id": info.experiment_id,
        # who ran it: the user the store authenticated (mlflow.user), as one short line
        "user": _one_line(data.tags.get(tags.MLFLOW_USER) or info.user_id),
        "metrics": dict(sorted(data.metrics.items())),
        "params": _shown(data.params),
        "tags": _shown(shown_tags),
    }


def _one_line(value: Any) -> str | None:
    text = " ".join(redact_text(str(value or "")).split())[:200]
    return text or None


def _shown(values: dict[str, str]) -> dict[str, str]:
    """Values from the store as we show them: sorted, any URL in them without credentials (a
    shared store may hold runs recorded by older versions or other tools)."""
    return {k: redact_text(v) for k, v in sorted(values.items())}


def _list_tags(values: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in values.items() if k in KEY_TAGS or not tags.is_ours_or_mlflows(k)}


def _user_tags(values: dict[str, str]) -> dict[str, str]:
    return dict(sorted((k, v) for k, v in values.items() if not k.startswith(tags.MLFLOW_PREFIX)))


def _inputs(run: Any) -> list[dict[str, Any]]:
    inputs = getattr(run, "inputs", None)
    rows = []
    for item in getattr(inputs, "dataset_inputs", None) or []:
        ds = item.dataset
        rows.append(
            {
                "name": ds.name,
                "digest": ds.digest,
                "source_type": ds.source_type,
                "source": redact_text(ds.source),
                "context": next(
                    (t.value for t in item.tags or [] if t.key == tags.MLFLOW_DATASET_CONTEXT),
                    None,
                ),
            }
        )
    return rows


def iso(ms: int | None) -> str | None:
    """Milliseconds since the epoch as an ISO 8601 UTC time (None stays None)."""
    if not ms:
        return None
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).isoformat(timespec="milliseconds")
