"""What ``monitor`` recorded for one registered version: its windows, oldest first.

``monitor`` writes one MLflow run per window in the experiment ``monitoring/<name>``, with the
``MONITOR_*`` tags and metrics of ``core/tags.py``. The side panel and the REST API read them
back here. A store may be shared, so every value is untrusted input: a tag that is not what
``monitor`` writes (not JSON, not a list of names, too long, out of range) leaves that field
empty and says so in the window's ``problems``; the window is still shown with what can be read.
"""

from __future__ import annotations

import json
import math
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from ...errors import MlopsError
from .. import tags
from ..registry import models

if TYPE_CHECKING:
    from ...config import Settings
    from ..store import RetryingClient

DEFAULT_LIMIT = 100  # windows answered: the newest ones
MAX_LIMIT = 1000
PAGE = 1000  # runs per search request (MLflow's search_runs allows up to 50,000)
MAX_SCANNED = 20_000  # runs read at most for one version: a store cannot make us read forever
MAX_NAMES = 50  # drifted column names kept per window
MAX_NAME_CHARS = 250  # characters kept of one column name
VERDICTS = ("drifted", "stable", "inconclusive", "empty")


def monitoring_history(
    settings: Settings,
    name: str,
    version: int | str,
    *,
    limit: int = DEFAULT_LIMIT,
    client: RetryingClient | None = None,
) -> dict[str, Any]:
    """The monitoring windows of version ``version`` of model ``name``, oldest first (by window
    start, ties by run start), the newest ``limit`` of them; ``last`` is the newest window.

    A model never monitored has ``experiment_id`` None and no windows (not an error); an unknown
    model or version is the ``NotFoundError`` the other model routes give. ``client`` lets a
    caller (the server) reuse its own ``store.client``.
    """
    models.check_name(name)
    number = models.version_number(version)
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise MlopsError(f"limit must be a whole number from 1 to {MAX_LIMIT}")
    client = client or models.registry_client(settings)
    model = models.registered_model(client, name, models.PAGE_SIZE)
    models.model_version(client, model.name, number)
    answer: dict[str, Any] = {
        "name": model.name,
        "version": number,
        "experiment_id": None,
        "windows": [],
        "last": None,
        "truncated": False,
    }
    experiment = client.get_experiment_by_name(tags.monitoring_experiment(model.name))
    if experiment is None or experiment.lifecycle_stage != "active":
        return answer
    runs, more = _version_runs(client, experiment.experiment_id, model.name, number)
    windows = sorted((window(run) for run in runs), key=_order)
    answer["experiment_id"] = experiment.experiment_id
    answer["truncated"] = more or len(windows) > limit
    answer["windows"] = [_public(w) for w in windows[-limit:]]
    answer["last"] = answer["windows"][-1] if answer["windows"] else None
    return answer


def version_filter(number: int) -> str:
    """MLflow's filter for the monitoring runs of version ``number`` (dotted tag keys need
    backticks in MLflow's search syntax)."""
    return f"tags.`{tags.MONITOR_RUN}` = 'true' AND tags.`{tags.MONITOR_VERSION}` = '{int(number)}'"


def _version_runs(
    client: RetryingClient, experiment_id: str, name: str, number: int
) -> tuple[list[Any], bool]:
    """The experiment's monitoring runs of this version (every page, newest started first, at
    most ``MAX_SCANNED``), and whether more were left unread. A run recorded for another model
    name is not this model's window, whatever experiment it sits in."""
    found: list[Any] = []
    token: str | None = None
    seen: set[str] = set()
    while True:
        page = client.search_runs(
            [experiment_id],
            filter_string=version_filter(number),
            max_results=PAGE,
            order_by=["attributes.start_time DESC"],
            page_token=token,
        )
        found.extend(r for r in page if r.data.tags.get(tags.MONITOR_MODEL) == name)
        token = page.token
        if not token or token in seen:
            return found, False
        if len(found) >= MAX_SCANNED:
            return found[:MAX_SCANNED], True
        seen.add(token)


def window(run: Any) -> dict[str, Any]:
    """One monitoring run as a window: each field read on its own, so a bad one leaves the
    others shown (``problems`` names what could not be read)."""
    values, metrics = run.data.tags, run.data.metrics
    problems: list[str] = []
    start = _instant(values.get(tags.MONITOR_WINDOW_START), "window start", problems)
    end = _instant(values.get(tags.MONITOR_WINDOW_END), "window end", problems)
    verdict = values.get(tags.MONITOR_VERDICT)
    if verdict not in VERDICTS:
        problems.append("the verdict is missing or not one monitor writes")
        verdict = None
    drifted, listed = _names(values.get(tags.MONITOR_DRIFTED), problems)
    count = _count(metrics.get(tags.MONITOR_DRIFTED_COUNT), "drifted_columns", problems)
    if count is None and listed is not None:
        count = listed
    flag = values.get(tags.MONITOR_PREDICTION_DRIFTED)
    if flag not in ("true", "false"):
        problems.append("prediction_drifted is missing or not true/false")
    rate = _number(metrics.get(tags.MONITOR_VIOLATION_RATE), "violation_rate", problems)
    if rate is not None and not 0 <= rate <= 1:
        problems.append("violation_rate is not between 0 and 1")
        rate = None
    return {
        "run_id": run.info.run_id,
        "start": start,
        "end": end,
        "verdict": verdict,
        "rows": _count(metrics.get(tags.MONITOR_ROWS), "rows", problems),
        "violation_rate": rate,
        "drifted": drifted,
        "drifted_count": count,
        "prediction_drifted": {"true": True, "false": False}.get(flag),
        "problems": problems,
        "_run_start": run.info.start_time or 0,
    }


def _order(w: dict[str, Any]) -> tuple[datetime, int, str]:
    """Oldest window first: by its start (the run's start when unreadable), then run start."""
    started = datetime.fromisoformat(w["start"]) if w["start"] else _utc_ms(w["_run_start"])
    return started, w["_run_start"], w["run_id"]


def _public(w: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in w.items() if not k.startswith("_")}


def _instant(value: Any, what: str, problems: list[str]) -> str | None:
    """An ISO 8601 time as UTC ISO text (``...+00:00``); None and a problem when unreadable."""
    if value is None:
        problems.append(f"the {what} is missing")
        return None
    try:
        moment = datetime.fromisoformat(str(value)[:64].replace("Z", "+00:00"))
        if moment.tzinfo is None:  # monitor writes UTC; a naive time is read as UTC
            moment = moment.replace(tzinfo=timezone.utc)
        return moment.astimezone(timezone.utc).isoformat()
    except (ValueError, OverflowError):  # not a time, or one past year 1..9999 in UTC
        problems.append(f"the {what} is not an ISO 8601 time")
        return None


def _utc_ms(ms: int) -> datetime:
    return datetime.fromtimestamp(max(ms, 0) / 1000, tz=timezone.utc)


def _names(value: Any, problems: list[str]) -> tuple[list[str], int | None]:
    """The drifted column names (at most ``MAX_NAMES``, each cut to ``MAX_NAME_CHARS``) and how
    many strings the tag listed (None when it is not a JSON list)."""
    if value is None:
        problems.append("the drifted columns are missing")
        return [], None
    try:
        parsed = json.loads(value)
    except (ValueError, RecursionError):
        parsed = None
    if not isinstance(parsed, list):
        problems.append("the drifted columns are not a JSON list")
        return [], None
    names = [v for v in parsed if isinstance(v, str)]
    if len(names) < len(parsed):
        problems.append(f"{len(parsed) - len(names)} drifted column name(s) are not text")
    if len(names) > MAX_NAMES:
        problems.append(f"{len(names)} drifted columns listed; the first {MAX_NAMES} are shown")
    return [n[:MAX_NAME_CHARS] for n in names[:MAX_NAMES]], len(names)


def _number(value: Any, what: str, problems: list[str]) -> float | None:
    if value is None:
        problems.append(f"the metric {what} is missing")
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        problems.append(f"the metric {what} is not a finite number")
        return None
    return float(value)


def _count(value: Any, what: str, problems: list[str]) -> int | None:
    number = _number(value, what, problems)
    if number is None:
        return None
    if number < 0 or number != int(number):
        problems.append(f"the metric {what} is not a whole number from 0")
        return None
    return int(number)
