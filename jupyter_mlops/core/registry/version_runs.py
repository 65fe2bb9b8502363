"""The runs behind model versions: their names, statuses, params and latest metrics.

A page of versions is enriched with one search of the store (``attributes.run_id IN (...)``
over the project's experiments), not one request per version. Run ids come from the registry,
which others may write: only hex ids go into the search filter.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from .. import store

MAX_METRICS = 20  # latest metrics kept on a version's row (the panel shows a few)
CHUNK = 100  # run ids per search
_RUN_ID = re.compile(r"^[0-9a-fA-F]{8,64}$")

log = logging.getLogger(__name__)


def runs_by_id(client: Any, run_ids: list[str]) -> dict[str, Any]:
    """``{run_id: Run}`` of the runs found, deleted ones too, in one search per ``CHUNK`` ids
    (after one listing of the experiments); ids that are not hex are not asked for."""
    from mlflow.entities import ViewType

    client = store.retrying(client)
    ids = sorted({i for i in run_ids if isinstance(i, str) and _RUN_ID.match(i)})
    if not ids:
        return {}
    experiments = _experiment_ids(client, ViewType.ALL)
    found: dict[str, Any] = {}
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        quoted = ", ".join(f"'{i}'" for i in chunk)
        for run in client.search_runs(
            experiments,
            filter_string=f"attributes.run_id IN ({quoted})",
            run_view_type=ViewType.ALL,
            max_results=len(chunk),
        ):
            found[run.info.run_id] = run
    return found


def _experiment_ids(client: Any, view_type: Any) -> list[str]:
    ids: list[str] = []
    token: str | None = None
    while True:
        page = client.search_experiments(view_type=view_type, max_results=1000, page_token=token)
        ids.extend(e.experiment_id for e in page)
        token = page.token
        if not token:
            return ids


def with_runs(client: Any, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``rows`` (versions) with ``run_name`` and ``metrics`` (the run's latest values, at most
    ``MAX_METRICS``) filled in from their runs; a store that cannot be searched leaves them
    empty (the versions still show) and says why in the server log."""
    from mlflow.exceptions import MlflowException

    try:
        found = runs_by_id(client, [row.get("run_id") for row in rows])
    except MlflowException as exc:
        log.warning("jupyter-mlops: cannot read the runs of the versions: %s", exc)
        return rows
    for row in rows:
        run = found.get(row.get("run_id") or "")
        if run is not None:
            row["run_name"] = run.info.run_name or None
            metrics = sorted(run.data.metrics.items())[:MAX_METRICS]
            row["metrics"] = {key: value for key, value in metrics}
    return rows


def version_run(client: Any, mv: Any) -> dict[str, Any] | None:
    """The run that made version ``mv`` as it is now (``id``, ``name``, ``status``,
    ``end_time`` in ms): a card written at promotion cannot know how its run ended. None when
    the version has no run or the run cannot be read."""
    from mlflow.exceptions import MlflowException

    run_id = mv.run_id or ""
    if not _RUN_ID.match(run_id):
        return None
    try:
        info = store.retrying(client).get_run(run_id).info
    except MlflowException:
        return None
    return {
        "id": info.run_id,
        "name": info.run_name or None,
        "status": info.status,
        "end_time": info.end_time or None,
    }


# the card's run row as promote wrote it before cards left out a status that was still going
_RUNNING_ROW = re.compile(r"^\| Run \| .*, running \|\s*$", re.MULTILINE)


def card_says_running(markdown: str) -> bool:
    """Whether a card's *Run* row says the run was running (cards written before the status
    was left out): the panel then says the run has ended since, beside the card."""
    return bool(_RUNNING_ROW.search(markdown))
