"""Moving an alias and recording the move: the writing half of the alias history.

Every alias move made through jupyter-mlops (``set_alias``, ``promote``, the gate, retrain,
``sweep --best --alias``, the CLI, the magics, the REST route and the panel) goes through
``move_alias``. The history run is opened before the move and ended FINISHED after it, FAILED
(with the registry's reason) when the registry refuses, so the history never shows a move
that did not happen; ``alias_history.py`` reads the runs back and says why runs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from ...errors import MlopsError
from .. import identity, permissions, tags

if TYPE_CHECKING:
    from ...config import Settings

VIAS = ("api", "magic", "cli", "rest", "promote", "gate", "retrain", "sweep")
MAX_REASON = 2000  # characters of a reason kept (MLflow's tag values allow 8000)
MAX_TEXT = 500  # characters of any value other than a reason, written or read back


@dataclass(frozen=True)
class Move:
    """One recorded move: what ``move_alias`` did and the history run that records it."""

    name: str
    alias: str
    previous: int | None
    version: int | None
    moved: bool
    time: datetime
    user: str
    reason: str
    via: str
    forced: bool
    gate: dict[str, Any] | None
    run_id: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "alias": self.alias,
            "previous": self.previous,
            "version": self.version,
            "moved": self.moved,
            "time": self.time.isoformat(timespec="microseconds"),
            "user": self.user,
            "reason": self.reason,
            "via": self.via,
            "forced": self.forced,
            "gate": self.gate,
            "run_id": self.run_id,
        }


def current_user() -> str:
    """Who is moving the alias when the caller names nobody: the local user (``identity``);
    ``move_alias`` asks the store's server first."""
    return identity.local_user().user


# -- writing ----------------------------------------------------------------------------------
def move_alias(
    client: Any,
    settings: Settings,
    name: str,
    alias: str,
    version: int | None,
    *,
    reason: str | None = None,
    user: str | None = None,
    via: str = "api",
    forced: bool = False,
    gate: dict[str, Any] | None = None,
    source_run: str | None = None,
) -> Move:
    """Point ``alias`` of ``name`` at ``version`` (``None`` removes it) and record the move.

    The caller has checked the name, alias and version; this opens the history run, moves the
    alias, and ends the run FINISHED, or FAILED with the registry's reason (then re-raises)."""
    return _record(
        client,
        settings,
        name,
        alias,
        version,
        moved=True,
        reason=reason,
        user=user,
        via=via,
        forced=forced,
        gate=gate,
        source_run=source_run,
    )


def record_decision(
    client: Any,
    settings: Settings,
    name: str,
    alias: str,
    *,
    reason: str | None = None,
    user: str | None = None,
    via: str = "gate",
    gate: dict[str, Any] | None = None,
    source_run: str | None = None,
) -> Move:
    """Record that ``alias`` was NOT moved (a gate refused): a history row with ``moved``
    false, the alias's version unchanged on both sides."""
    return _record(
        client,
        settings,
        name,
        alias,
        None,
        moved=False,
        reason=reason,
        user=user,
        via=via,
        forced=False,
        gate=gate,
        source_run=source_run,
    )


def _record(
    client: Any,
    settings: Settings,
    name: str,
    alias: str,
    version: int | None,
    *,
    moved: bool,
    reason: str | None,
    user: str | None,
    via: str,
    forced: bool,
    gate: dict[str, Any] | None,
    source_run: str | None,
) -> Move:
    from mlflow.exceptions import MlflowException

    from .. import store

    if via not in VIAS:
        raise MlopsError(f"unknown way of moving an alias {via!r}; one of {', '.join(VIAS)}")
    reason = _reason(reason)
    if forced and not reason:
        raise MlopsError("--force needs --reason TEXT: the history records why it was overridden")
    asked = (user or "").strip()[:MAX_TEXT]
    who = identity.identity(settings)
    # who asked for the move: the adapter's user when it names one (the Jupyter user behind the
    # panel, who under JupyterHub is the person), else the user the store knows us by; the
    # account a server authenticated, when it is someone else, is kept beside it
    user = (asked or who.user)[:MAX_TEXT] or "unknown"
    if moved and who.source == "server":  # a refused move opens no record
        method = "set_registered_model_alias"
        if version is None:
            method = "delete_registered_model_alias"
        permissions.check_model(settings.tracking_uri, who.user, method, name)
    client = store.retrying(client)
    model = client.get_registered_model(name)
    held = model.aliases.get(alias)
    previous = int(held) if held is not None else None
    after = version if moved else previous
    when = datetime.now(timezone.utc)
    experiment = store.experiment_id(settings, tags.audit_experiment(name))
    run_tags = {
        tags.AUDIT_RUN: "alias",
        tags.AUDIT_MODEL: name,
        tags.AUDIT_ALIAS: alias,
        tags.AUDIT_PREVIOUS: "" if previous is None else str(previous),
        tags.AUDIT_VERSION: "" if after is None else str(after),
        tags.AUDIT_MOVED: _flag(moved),
        tags.AUDIT_TIME: when.isoformat(timespec="microseconds"),
        tags.AUDIT_USER: user,
        tags.AUDIT_REASON: reason,
        tags.AUDIT_VIA: via,
        tags.AUDIT_FORCED: _flag(forced),
        tags.MLFLOW_USER: who.user if who.source == "server" else user,
    }
    if gate is not None:
        run_tags[tags.AUDIT_GATE] = json.dumps(gate, sort_keys=True, allow_nan=False)[:7000]
    if source_run:
        run_tags[tags.AUDIT_SOURCE_RUN] = str(source_run)
    if who.source == "server" and who.user != user:
        run_tags[tags.AUDIT_SERVER_USER] = who.user[:MAX_TEXT]
    with store.refusals(client, "create_run", experiment):
        run = client.raw.create_run(
            experiment,
            start_time=int(when.timestamp() * 1000),
            tags=run_tags,
            run_name=_run_name(alias, previous, after, moved),
        )
    run_id = run.info.run_id
    try:
        if moved and version is not None:
            with store.refusals(client, "set_registered_model_alias", name):
                client.raw.set_registered_model_alias(name, alias, str(version))
        elif moved:
            with store.refusals(client, "delete_registered_model_alias", name):
                client.raw.delete_registered_model_alias(name, alias)
    except BaseException as exc:
        if isinstance(exc, MlflowException | MlopsError):
            message = exc.message if isinstance(exc, MlflowException) else str(exc)
        else:
            message = type(exc).__name__
        try:
            client.set_tag(run_id, tags.AUDIT_ERROR, str(message)[:MAX_TEXT])
            with store.no_run_links():
                client.set_terminated(run_id, "FAILED")
        except Exception:
            pass
        raise
    with store.no_run_links():
        client.set_terminated(run_id, "FINISHED")
    return Move(
        name=name,
        alias=alias,
        previous=previous,
        version=after,
        moved=moved,
        time=when,
        user=user,
        reason=reason,
        via=via,
        forced=forced,
        gate=gate,
        run_id=run_id,
    )


def check_reason(reason: Any) -> str | None:
    """A reason as a user typed it (``--reason``): ``None`` for none given, else one line of
    text; an empty or blank one is a one-line error, checked before anything moves."""
    if reason is None:
        return None
    text = _reason(reason)
    if not text:
        raise MlopsError("a reason cannot be empty: say why the alias moves, or give no reason")
    return text


def _reason(reason: Any) -> str:
    if reason is None:
        return ""
    if not isinstance(reason, str):
        raise MlopsError(f"a reason is text, not {type(reason).__name__}")
    text = " ".join(reason.split())  # one line: a history row is read as one
    if len(text) > MAX_REASON:
        raise MlopsError(f"a reason is at most {MAX_REASON} characters ({len(text)} given)")
    return text


def _flag(value: bool) -> str:
    return "true" if value else "false"


def _run_name(alias: str, previous: int | None, after: int | None, moved: bool) -> str:
    before = "none" if previous is None else f"v{previous}"
    if not moved:
        return f"{alias}: stays {before} (gate refused)"
    return f"{alias}: {before} -> {'none' if after is None else f'v{after}'}"
