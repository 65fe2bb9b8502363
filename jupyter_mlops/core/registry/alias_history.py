"""Who moved which alias, when and why: the alias history MLflow does not keep.

Every alias move made through jupyter-mlops (``set_alias``, ``promote``, the gate, the REST
route and the panel) goes through ``alias_moves.move_alias``, which records it as one run of the
experiment ``registry-audit/<model name>`` in the project's own store, so the history lives
wherever the registry does, a shared ``mlflow server`` included. Runs rather than version tags:

- a run is a new record per move; a version tag is one mutable value per version, overwritten
  by the next move and deleted with the version, so "which version was serving on 1 October"
  could not be answered once that version is gone;
- the runs of one experiment are searched in one request, ordered by time, and paginated by
  the server, where tags would have to be read version by version;
- on a server with authentication, who may write the history (the experiment's permission) is
  set apart from who may move aliases (the model's).

The run is opened before the move and ended FINISHED after it, FAILED (with the registry's
reason) when the registry refuses, so the history never shows a move that did not happen; a
process killed between the two leaves a RUNNING run, which readers leave out. A move made
outside jupyter-mlops (MLflow's UI, a plain client) leaves no run: ``alias_history`` says so
in a row of its own when the registry's aliases differ from the last recorded moves, and a
row whose previous version is not the version the history last gave the alias says that a
move between is missing. The history is read from a shared store: its values are text,
bounded, and never parsed as code.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from ...errors import MlopsError
from .. import tags
from ..session import project_settings
from . import models
from .alias_moves import MAX_REASON, MAX_TEXT

if TYPE_CHECKING:
    import pandas as pd

    from ...config import Settings

PAGE = 1000
MAX_SCANNED = 50_000  # history runs read at most for one model
COLUMNS = (
    "time",
    "alias",
    "previous",
    "version",
    "moved",
    "user",
    "reason",
    "gate",
    "forced",
    "via",
    "note",
    "run_id",
)
OUTSIDE = "outside jupyter-mlops"


@dataclass(eq=False, repr=False)
class AliasHistory:
    """The alias history of one model: ``rows`` as ``history_rows`` gives them (oldest first),
    and whether only the newest ``MAX_SCANNED`` moves were read. ``to_frame()`` is
    ``alias_history``'s DataFrame, and the text and HTML tables show exactly its rows, so the
    CLI, the magic and the Python API show the same history."""

    name: str
    rows: list[dict[str, Any]]
    truncated: bool = False

    def __len__(self) -> int:
        return len(self.rows)

    def to_dict(self) -> dict[str, Any]:
        """``name``, ``rows`` and ``truncated``: what ``--json`` prints."""
        return {"name": self.name, "rows": copy.deepcopy(self.rows), "truncated": self.truncated}

    def to_frame(self) -> pd.DataFrame:
        """The rows as a DataFrame: ``time`` a UTC timestamp, versions nullable integers."""
        import pandas as pd

        frame = pd.DataFrame(copy.deepcopy(self.rows), columns=list(COLUMNS))
        frame["time"] = pd.to_datetime(frame["time"], utc=True, format="ISO8601")
        for column in ("previous", "version"):
            frame[column] = frame[column].astype("Int64")
        return frame

    def _repr_html_(self) -> str:
        from ...display.alias_history import history_html

        return history_html(self.to_dict())

    def __repr__(self) -> str:
        from ...display.alias_history import history_text

        return history_text(self.to_dict())


# -- reading ----------------------------------------------------------------------------------
def history_rows(
    settings: Settings, name: str, *, client: Any | None = None
) -> tuple[list[dict[str, Any]], bool]:
    """The recorded moves of model ``name`` as JSON-able rows, oldest first, then one row per
    alias the registry holds differently from the last recorded move; and whether the history
    was longer than ``MAX_SCANNED`` (then only the newest were read: the registry's aliases are
    compared with the last moves, and ``alias_at`` refuses a time before the first row rather
    than answer from a partial past). An unknown name is the one-line ``NotFoundError`` of
    ``models``."""
    models.check_name(name)
    client = client or models.registry_client(settings)
    model = models.registered_model(client, name, models.PAGE_SIZE)
    experiment = client.get_experiment_by_name(tags.audit_experiment(model.name))
    rows: list[dict[str, Any]] = []
    more = False
    if experiment is not None and experiment.lifecycle_stage == "active":
        runs, more = _finished_runs(client, experiment.experiment_id, model.name)
        rows = sorted((_row(run) for run in runs), key=lambda r: (r["time"] or "", r["run_id"]))
    _note_gaps(rows)
    rows += _outside_moves(rows, models.aliases_of(model))
    return rows, more


def alias_history(
    name: str,
    *,
    tracking_uri: str | None = None,
    settings: Settings | None = None,
) -> pd.DataFrame:
    """Every recorded move of model ``name``'s aliases, oldest first: ``time`` (UTC),
    ``alias``, ``previous`` and ``version`` (``<NA>`` for none), ``moved`` (false for a gate
    that refused), ``user``, ``reason``, ``gate`` (its decision, a dict), ``forced``, ``via``,
    ``note`` (a move made outside jupyter-mlops, or one missing between two rows) and
    ``run_id`` (the history run)."""
    return history(name, tracking_uri=tracking_uri, settings=settings).to_frame()


def history(
    name: str,
    *,
    tracking_uri: str | None = None,
    settings: Settings | None = None,
) -> AliasHistory:
    """The alias history of model ``name`` as an ``AliasHistory`` (a table in a notebook and a
    terminal, ``to_frame()`` the DataFrame of ``alias_history``), for the magic and the CLI."""
    settings = settings or project_settings(tracking_uri)
    rows, truncated = history_rows(settings, name)
    return AliasHistory(models.check_name(name), rows, truncated)


def alias_at(
    name: str,
    alias: str,
    when: datetime | float | int | str,
    *,
    tracking_uri: str | None = None,
    settings: Settings | None = None,
) -> int | None:
    """The version that held ``alias`` of model ``name`` at ``when`` (a datetime, naive ones
    read as UTC; a Unix timestamp in seconds; or an ISO 8601 text), by the recorded moves;
    ``None`` when no recorded move had given it a version by then. A time at which the alias
    may have been moved outside jupyter-mlops (before the first recorded move of an alias set
    elsewhere, between two rows whose versions do not join, after the last recorded move of an
    alias the registry now gives another version) cannot be answered: that raises, naming both
    versions it may have held."""
    models.check_alias(alias)
    moment = _moment(when)
    settings = settings or project_settings(tracking_uri)
    rows, truncated = history_rows(settings, name)
    timed = [r for r in rows if r["alias"] == alias and r["time"] is not None]
    held: int | None = None
    since: str | None = None  # the time of the last recorded row at or before the moment
    for row in timed:
        if datetime.fromisoformat(row["time"]) > moment:
            if since is None and (truncated or row["previous"] is not None):
                _before(name, alias, moment, row, truncated)
            if row["previous"] != held and not _at(since, moment):  # moved in between
                _unknown(name, alias, moment, held, row["previous"], since, row["time"])
            return held
        held, since = row["version"], row["time"]  # a refusal's version is its previous
    outside = [r for r in rows if r["alias"] == alias and r["time"] is None and not r["run_id"]]
    if outside and outside[0]["version"] != held and not _at(since, moment):
        _unknown(name, alias, moment, held, outside[0]["version"], since, None)
    return held


def _before(
    name: str, alias: str, moment: datetime, first: dict[str, Any], truncated: bool
) -> None:
    """Raise: ``moment`` is before the first row read, and the alias held a version then (set
    outside jupyter-mlops) or the rows read are only the newest of a longer history."""
    if truncated:
        raise MlopsError(
            f"only the newest {MAX_SCANNED:,} moves of {name!r}'s alias history were read, "
            f"the first at {first['time']}: which version held {alias!r} at "
            f"{moment.isoformat()} was not recorded in them"
        )
    raise MlopsError(
        f"alias {alias!r} of {name!r} already held {_shown(first['previous'])} when its history "
        f"begins ({first['time']}): which version held it at {moment.isoformat()} was not "
        "recorded"
    )


def _at(since: str | None, moment: datetime) -> bool:
    """Whether ``moment`` is the time of the recorded move ``since``: then it is known."""
    return since is not None and datetime.fromisoformat(since) == moment


def _unknown(
    name: str,
    alias: str,
    moment: datetime,
    held: int | None,
    then: int | None,
    since: str | None,
    until: str | None,
) -> None:
    """Raise: the alias moved from ``held`` to ``then`` outside jupyter-mlops, at a time between
    ``since`` and ``until`` that was not recorded, so ``moment`` cannot be answered."""
    span = f"after {since}" if since else "before its history begins"
    if until:
        span = f"between {since} and {until}" if since else f"before {until}"
    raise MlopsError(
        f"alias {alias!r} of {name!r} was moved from {_shown(held)} to {_shown(then)} outside "
        f"jupyter-mlops {span}, at a time not recorded: at {moment.isoformat()} it held "
        f"{_shown(held)} or {_shown(then)}"
    )


def _moment(when: Any) -> datetime:
    if isinstance(when, datetime):
        return when if when.tzinfo else when.replace(tzinfo=timezone.utc)
    if isinstance(when, (int, float)) and not isinstance(when, bool):
        try:
            return datetime.fromtimestamp(float(when), tz=timezone.utc)
        except (OverflowError, OSError, ValueError):
            raise MlopsError(f"{when!r} is not a Unix timestamp") from None
    if isinstance(when, str):
        try:
            parsed = datetime.fromisoformat(when.strip().replace("Z", "+00:00"))
        except ValueError:
            raise MlopsError(
                f"{when!r} is not a time: give a datetime, a Unix timestamp or ISO 8601 text "
                "such as 2026-10-01T12:00:00Z"
            ) from None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
    raise MlopsError(f"a time is a datetime, a Unix timestamp or ISO 8601 text, not {when!r}")


def _finished_runs(client: Any, experiment_id: str, name: str) -> tuple[list[Any], bool]:
    """The FINISHED history runs of ``name``, the newest ``MAX_SCANNED`` at most; and whether
    more exist. The experiment is the model's own; a run in it naming another model is left
    out."""
    query = f"tags.`{tags.AUDIT_RUN}` = 'alias' AND attributes.status = 'FINISHED'"
    found: list[Any] = []
    token = None
    while True:
        page = client.search_runs(
            [experiment_id],
            filter_string=query,
            max_results=PAGE,
            order_by=["attributes.start_time DESC"],
            page_token=token,
        )
        found += [run for run in page if run.data.tags.get(tags.AUDIT_MODEL) == name]
        token = page.token
        if not token:
            return found, False
        if len(found) >= MAX_SCANNED:
            return found[:MAX_SCANNED], True


def _row(run: Any) -> dict[str, Any]:
    """One history run as a row; every value is untrusted text from the store, so a value
    that is not what ``move_alias`` writes is left empty rather than guessed."""
    t = run.data.tags
    return {
        "time": _time(t.get(tags.AUDIT_TIME)),
        "alias": _text(t.get(tags.AUDIT_ALIAS)),
        "previous": _version(t.get(tags.AUDIT_PREVIOUS)),
        "version": _version(t.get(tags.AUDIT_VERSION)),
        "moved": t.get(tags.AUDIT_MOVED) == "true",
        "user": _text(t.get(tags.AUDIT_USER)),
        "reason": _text(t.get(tags.AUDIT_REASON), MAX_REASON),
        "gate": _gate(t.get(tags.AUDIT_GATE)),
        "forced": t.get(tags.AUDIT_FORCED) == "true",
        "via": _text(t.get(tags.AUDIT_VIA)),
        "note": "",
        "run_id": run.info.run_id,
    }


def _time(value: Any) -> str | None:
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return None
    return parsed.astimezone(timezone.utc).isoformat(timespec="microseconds")


def _text(value: Any, limit: int = MAX_TEXT) -> str:
    return str(value or "")[:limit]


def _version(value: Any) -> int | None:
    text = str(value or "")
    # ASCII digits only: "²" is a digit to str.isdigit but not to int()
    return int(text) if text.isascii() and text.isdigit() and len(text) < 10 else None


def _gate(value: Any) -> dict[str, Any] | None:
    if not value:
        return None
    try:  # NaN is no JSON (the REST answer must stay JSON); nesting deep enough recurses
        found = json.loads(str(value), parse_constant=_no_constant)
    except (ValueError, RecursionError):
        return None
    return found if isinstance(found, dict) else None


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _note_gaps(rows: list[dict[str, Any]]) -> None:
    """A row whose previous version is not what the history last gave its alias: a move in
    between was made outside jupyter-mlops (or its record was deleted)."""
    last: dict[str, int | None] = {}
    for row in rows:
        alias = row["alias"]
        if alias in last and row["previous"] != last[alias]:
            row["note"] = (
                f"the alias held {_shown(row['previous'])} here, not {_shown(last[alias])} as "
                f"the history last recorded: a move between was made {OUTSIDE}"
            )
        last[alias] = row["version"] if row["moved"] else row["previous"]


def _outside_moves(rows: list[dict[str, Any]], aliases: dict[str, int]) -> list[dict[str, Any]]:
    """One row per alias whose current version is not the one its last recorded move gave."""
    last: dict[str, int | None] = {}
    for row in rows:
        last[row["alias"]] = row["version"] if row["moved"] else row["previous"]
    extra = []
    for alias in sorted(set(last) | set(aliases)):
        now, recorded = aliases.get(alias), last.get(alias)
        if now == recorded:
            continue
        extra.append(
            {
                "time": None,
                "alias": alias,
                "previous": recorded,
                "version": now,
                "moved": True,
                "user": "",
                "reason": "",
                "gate": None,
                "forced": False,
                "via": "",
                "note": (
                    f"the registry gives {alias!r} {_shown(now)}, not {_shown(recorded)} as the "
                    f"history last recorded: moved {OUTSIDE}, time unknown"
                ),
                "run_id": None,
            }
        )
    return extra


def _shown(version: int | None) -> str:
    return "no version" if version is None else f"version {version}"
