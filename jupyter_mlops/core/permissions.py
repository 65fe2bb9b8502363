"""A permission a tracking server refused, as one line naming who, what, on what, and which
permission it needs.

A server with MLflow's authentication answers 403 ("Permission denied") when the user may not do
something and 401 when it did not accept the credentials; MLflow raises both as an
``MlflowException`` whose first line names only an endpoint. ``RetryingClient`` (``store.py``)
hands every such error to ``translate``, once, so the magics, the CLI and the REST API all show
the same line: ``permission denied: 'bob' may not move aliases of registered model 'bc' on
http://host:5000 (needs EDIT on it; 'bob' has READ)``. Neither is ever retried.

The needed permissions follow the server's own rules (``mlflow.server.auth``): reading needs
READ, writing to an experiment, its runs or a registered model needs EDIT (``can_update``),
deleting needs MANAGE (``can_delete``). The permission the user holds is asked of the server
(``/api/3.0/mlflow/users/permissions/get``, which a user may ask about themselves); when it
cannot say, the line leaves it out. No credential ever enters the line.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any

from ..errors import MlopsError
from .redact import redact_url

USER_PERMISSION_PATH = "/api/3.0/mlflow/users/permissions/get"
DENIED, UNAUTHENTICATED = "PERMISSION_DENIED", "UNAUTHENTICATED"
LOOKUP_TIMEOUT = 5.0  # seconds for each look-up made to word the line


class PermissionDeniedError(MlopsError):
    """The tracking server refused an operation to the authenticated user."""

    def __init__(
        self, line: str, *, user: str = "", operation: str = "", resource: str = "", needs: str = ""
    ) -> None:
        super().__init__(line)
        self.user, self.operation, self.resource, self.needs = user, operation, resource, needs

    def __reduce__(self) -> tuple:
        # whole across processes (a batch run's record writer sends its errors back pickled)
        return (type(self), (str(self),), dict(self.__dict__))


@dataclass(frozen=True)
class Rule:
    """What a client method does (``operation``), to which kind of resource, and the least
    permission the server's authentication asks for it."""

    operation: str
    resource: str  # "experiment", "run", "registered_model", "model_version", "logged_model"
    needs: str


_EDIT_RUN = Rule("write to", "run", "EDIT")
RULES: dict[str, Rule] = {
    "create_run": Rule("create runs in", "experiment", "EDIT"),
    "set_experiment_tag": Rule("tag", "experiment", "EDIT"),
    "rename_experiment": Rule("rename", "experiment", "EDIT"),
    "delete_experiment": Rule("delete", "experiment", "MANAGE"),
    "restore_experiment": Rule("restore", "experiment", "MANAGE"),
    "create_logged_model": Rule("log models in", "experiment", "EDIT"),
    "log_batch": _EDIT_RUN,
    "log_metric": _EDIT_RUN,
    "log_param": _EDIT_RUN,
    "log_inputs": _EDIT_RUN,
    "log_outputs": _EDIT_RUN,
    "set_tag": _EDIT_RUN,
    "delete_tag": _EDIT_RUN,
    "update_run": _EDIT_RUN,
    "set_terminated": Rule("end", "run", "EDIT"),
    "log_text": _EDIT_RUN,
    "log_dict": _EDIT_RUN,
    "log_artifact": _EDIT_RUN,
    "log_artifacts": _EDIT_RUN,
    "delete_run": Rule("delete", "run", "MANAGE"),
    "restore_run": Rule("restore", "run", "MANAGE"),
    "log_model_artifacts": Rule("write the files of", "logged_model", "EDIT"),
    "log_model_artifact": Rule("write the files of", "logged_model", "EDIT"),
    "finalize_logged_model": Rule("finish", "logged_model", "EDIT"),
    "set_logged_model_tags": Rule("tag", "logged_model", "EDIT"),
    "set_registered_model_alias": Rule("move aliases of", "registered_model", "EDIT"),
    "delete_registered_model_alias": Rule("remove aliases of", "registered_model", "MANAGE"),
    "create_model_version": Rule("register versions of", "registered_model", "EDIT"),
    "set_registered_model_tag": Rule("tag", "registered_model", "EDIT"),
    "delete_registered_model_tag": Rule("untag", "registered_model", "EDIT"),
    "update_registered_model": Rule("update", "registered_model", "EDIT"),
    "rename_registered_model": Rule("rename", "registered_model", "EDIT"),
    "delete_registered_model": Rule("delete", "registered_model", "MANAGE"),
    "set_model_version_tag": Rule("tag versions of", "registered_model", "EDIT"),
    "delete_model_version_tag": Rule("untag versions of", "registered_model", "EDIT"),
    "update_model_version": Rule("update versions of", "registered_model", "EDIT"),
    "transition_model_version_stage": Rule("move stages of", "registered_model", "EDIT"),
    "delete_model_version": Rule("delete versions of", "registered_model", "MANAGE"),
    "create_experiment": Rule("create", "new_experiment", "EDIT"),
    "create_registered_model": Rule("create", "new_registered_model", "EDIT"),
}


def is_refusal(exc: BaseException) -> bool:
    """Whether ``exc`` is a server's 403 or 401 (never worth a retry)."""
    return getattr(exc, "error_code", None) in (DENIED, UNAUTHENTICATED)


def translate(exc: BaseException, raw: Any, method: str, args: tuple, kwargs: dict) -> MlopsError:
    """The one-line error for ``exc``, a refusal of ``raw.method(*args, **kwargs)`` (see
    ``is_refusal``): ``identity.CredentialsRefusedError`` for a 401, ``PermissionDeniedError``
    for a 403. Look-ups that word the line never raise."""
    from . import identity

    uri = str(getattr(raw, "tracking_uri", "") or "")
    shown = redact_url(uri)
    if getattr(exc, "error_code", None) == UNAUTHENTICATED:
        return identity.CredentialsRefusedError(identity.refused_line(shown))
    user = _who(uri)
    rule = RULES.get(method) or _read_or_unknown(method)
    bound = _bind(raw, method, args, kwargs)
    resource, resource_type, resource_id = _resource(raw, rule, bound)
    held = _held(uri, user, resource_type, resource_id) if resource_type else None
    if resource:
        line = denied_line(uri, user, rule, resource, held)
    else:  # nothing to name: the operation and the permission are still said
        operation = rule.operation.removesuffix(" on")
        line = f"permission denied: {user!r} may not {operation} on {shown} (needs {rule.needs})"
    return PermissionDeniedError(
        line, user=user, operation=rule.operation, resource=resource, needs=rule.needs
    )


_GRANTS = {"READ": 0, "USE": 1, "EDIT": 2, "MANAGE": 3}


def check_model(uri: str, user: str, method: str, name: str) -> None:
    """Raise ``PermissionDeniedError`` now when the server says ``user`` lacks what ``method``
    (a ``RULES`` name on a registered model) needs on model ``name``: for a write that must not
    begin (its record opened) when the server will refuse it. Silent when the server cannot
    say; the write's own refusal is then translated as usual."""
    rule = RULES[method]
    held = _held(uri, user, "registered_model", name)
    if held is None or _GRANTS.get(held, -1) >= _GRANTS[rule.needs]:
        return
    line = denied_line(uri, user, rule, f"registered model {name[:200]!r}", held)
    raise PermissionDeniedError(
        line, user=user, operation=rule.operation, resource=name, needs=rule.needs
    )


def denied_line(uri: str, user: str, rule: Rule, resource: str, held: str | None) -> str:
    """The line ``translate`` words, for a refusal known before the request is sent."""
    tail = f"; {user!r} has {held}" if held else ""
    return (
        f"permission denied: {user!r} may not {rule.operation} {resource} on "
        f"{redact_url(uri)} (needs {rule.needs} on it{tail})"
    )


# -- wording ----------------------------------------------------------------------------------
def _read_or_unknown(method: str) -> Rule:
    if method.startswith(("get_", "search_", "list_", "download_")):
        return Rule("read", "", "READ")
    return Rule(f"call {method} on", "", "EDIT")


def _who(uri: str) -> str:
    from . import identity

    try:
        return identity.identity_at(uri).user
    except MlopsError:
        return identity.local_user().user


def _bind(raw: Any, method: str, args: tuple, kwargs: dict) -> dict[str, Any]:
    try:
        return dict(inspect.signature(getattr(raw, method)).bind_partial(*args, **kwargs).arguments)
    except (TypeError, ValueError, AttributeError):
        return dict(kwargs)


def _resource(raw: Any, rule: Rule, bound: dict[str, Any]) -> tuple[str, str, str]:
    """How the line names the resource, and its type and id for the permission look-up."""
    kind = rule.resource
    if kind == "new_experiment":
        return f"experiment {str(bound.get('name', ''))[:200]!r}", "", ""
    if kind == "new_registered_model":
        return f"registered model {str(bound.get('name', ''))[:200]!r}", "", ""
    if kind == "registered_model" or (not kind and "name" in bound):
        name = str(bound.get("name", ""))[:200]
        return f"registered model {name!r}", "registered_model", name
    experiment_id = bound.get("experiment_id")
    run_id = bound.get("run_id")
    model_id = bound.get("model_id")
    with _quiet():
        if run_id and not experiment_id:
            experiment_id = raw.get_run(str(run_id)).info.experiment_id
        if model_id and not experiment_id:
            experiment_id = raw.get_logged_model(str(model_id)).experiment_id
    if not experiment_id:
        return "", "", ""
    experiment_id = str(experiment_id)
    shown = f"experiment {experiment_id}"
    with _quiet():
        shown = f"experiment {raw.get_experiment(experiment_id).name[:200]!r}"
    if run_id:
        shown = f"run {str(run_id)[:64]} of {shown}"
    elif model_id:
        shown = f"logged model {str(model_id)[:64]} of {shown}"
    return shown, "experiment", experiment_id


def _held(uri: str, user: str, resource_type: str, resource_id: str) -> str | None:
    if not uri.lower().startswith(("http://", "https://")) or not resource_id:
        return None
    try:
        from mlflow.utils.credentials import get_default_host_creds
        from mlflow.utils.rest_utils import http_request

        response = http_request(
            get_default_host_creds(uri),
            USER_PERMISSION_PATH,
            "GET",
            params={"username": user, "resource_type": resource_type, "resource_id": resource_id},
            max_retries=0,
            timeout=LOOKUP_TIMEOUT,
        )
        if response.status_code != 200:
            return None
        held = str(response.json().get("permission", ""))
    except Exception:  # the line is still true without it
        return None
    return held if held.isalpha() and held.isupper() and len(held) <= 20 else None


class _quiet:
    """Swallow any error of a look-up made only to word the line."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: Any) -> bool:
        return exc[0] is not None and issubclass(exc[0], Exception)


__all__ = [
    "RULES",
    "PermissionDeniedError",
    "Rule",
    "check_model",
    "denied_line",
    "is_refusal",
    "translate",
]
