"""What the REST API answers, as plain dicts: no Tornado here, so it can be tested and reused alone.

One ``MlopsService`` serves the project holding the Jupyter server's root dir. Settings are
resolved on every call (cheap: a ``pyproject.toml`` read), so ``[tool.jupyter-mlops]`` and
``MLFLOW_TRACKING_URI`` are honoured as the magics honour them. The answers are read by the
same core functions the magics and the CLI call (``core.runs``, ``core.registry.models``,
``core.data``), with one retrying ``store.client`` per store and explicit ids (the fluent API is
not thread-safe); this module validates input, redacts, and turns every mistake a caller can
make into an ``ApiError`` with a status, a short code and one line. It never imports MLflow.
"""

from __future__ import annotations

import errno
import functools
import logging
import os
import threading
import time
import unicodedata
from collections.abc import Callable
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import TYPE_CHECKING, Any, TypeVar

from .._version import __version__
from ..config import ConfigError, Settings, resolve_settings
from ..core.redact import redact_url
from ..errors import MlopsError, NotFoundError
from .validation import (
    ApiError,
    check_experiment_id,
    check_max_results,
    check_metric_key,
    check_reason,
    check_run_id,
    check_version,
    json_object,
)

if TYPE_CHECKING:
    from ..core.store import RetryingClient

log = logging.getLogger(__name__)
F = TypeVar("F", bound=Callable[..., Any])

MAX_TOKEN = 4096
RECHECK = 5.0  # seconds a tracking server that answered is trusted to still be there
MAX_PATH = 1024  # characters in a "path" given to POST data
MAX_CARD_BYTES = 1_000_000
_MLFLOW_STATUS = {
    "RESOURCE_DOES_NOT_EXIST": (404, "not_found"),
    "INVALID_PARAMETER_VALUE": (400, "bad_parameter"),
    "RESOURCE_ALREADY_EXISTS": (409, "conflict"),
}


def as_api_error(exc: BaseException) -> ApiError | None:
    """The answer for an exception a caller caused; ``None`` for one we did not expect."""
    from ..core.data.dvc_repo import DataLockedError
    from ..core.data.operations import OutsideRootError
    from ..core.identity import CredentialsRefusedError, ServerUnreachableError
    from ..core.notebook_diff import NotebookUnreadable
    from ..core.permissions import PermissionDeniedError
    from ..core.run_artifacts import ArtifactStoreError, ArtifactTooLarge, BadArtifactPath
    from ..core.run_search import BadSearch
    from ..core.store import ForeignArtifactsError

    if isinstance(exc, ApiError):
        return exc
    for kind, status, code in (
        (BadSearch, 400, "bad_filter"),
        (BadArtifactPath, 400, "bad_path"),
        (ArtifactTooLarge, 413, "too_large"),
        (NotebookUnreadable, 422, "bad_notebook"),  # a snapshot in the store, not the request
        (ForeignArtifactsError, 403, "foreign_artifacts"),  # never followed (run_artifacts)
        (ArtifactStoreError, 502, "artifact_store_error"),  # the tracking server's, not ours
    ):
        if isinstance(exc, kind):
            return ApiError(status, code, str(exc))
    if isinstance(exc, OutsideRootError):
        return ApiError(400, "outside_root", str(exc))
    if isinstance(exc, ConfigError):
        return ApiError(500, "config_error", str(exc))
    if isinstance(exc, NotFoundError):
        return ApiError(404, "not_found", str(exc))
    if isinstance(exc, DataLockedError):
        return ApiError(409, "busy", str(exc))
    if isinstance(exc, PermissionDeniedError):  # the tracking server refused it (permissions.py)
        return ApiError(403, "permission_denied", str(exc))
    if isinstance(exc, CredentialsRefusedError):  # not the Jupyter login: the tracking server's
        return ApiError(403, "credentials_refused", str(exc))
    if isinstance(exc, ServerUnreachableError):  # the tracking server, not this one, is away
        return ApiError(503, "store_unreachable", str(exc))
    if isinstance(exc, MlopsError):
        return ApiError(400, "bad_request", str(exc))
    if isinstance(exc, OSError) and exc.errno == errno.ENAMETOOLONG:
        return ApiError(400, "bad_parameter", "a name in the request is too long")
    error_code = getattr(exc, "error_code", None)  # an MlflowException
    if error_code in _MLFLOW_STATUS:
        status, code = _MLFLOW_STATUS[error_code]
        message = getattr(exc, "message", None) or str(exc)
        return ApiError(status, code, message.splitlines()[0] if message else code)
    return None


def _answers(method: F) -> F:
    """Turn the errors a caller can cause into ``ApiError``; let the others surface."""

    @functools.wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return method(*args, **kwargs)
        except Exception as exc:
            mapped = as_api_error(exc)
            if mapped is None or mapped is exc:
                raise
            raise mapped from exc

    return wrapper  # type: ignore[return-value]


class MlopsService:
    """The project under ``root_dir`` as the REST API sees it: every method returns a plain dict."""

    def __init__(self, root_dir: str | os.PathLike[str]) -> None:
        self.root_dir = Path(root_dir).expanduser().resolve()
        self._clients: dict[tuple[str, str], RetryingClient] = {}
        self._clients_lock = threading.Lock()
        self._data_lock = threading.Lock()  # one DVC write at a time from this server
        self._answered: dict[str, float] = {}  # tracking server -> when it last answered

    # -- plumbing -----------------------------------------------------------------------------
    def settings(self) -> Settings:
        """Settings of the project holding the server's root dir (pyproject, env, default)."""
        return resolve_settings(self.root_dir)

    def client(self, settings: Settings | None = None) -> RetryingClient:
        """One thread-safe ``store.client`` per store, its store prepared on first use."""
        from ..core import store

        settings = settings or self.settings()
        self._reachable(settings)
        key = (settings.tracking_uri, settings.registry_uri)
        with self._clients_lock:
            found = self._clients.get(key)
            if found is None:
                store.prepare(settings)
                found = self._clients[key] = store.client(settings)
        return found

    def _reachable(self, settings: Settings) -> None:
        """A tracking server that went away is a 503 with one line within seconds, not a request
        held for MLflow's minutes of retries (``reachability.check``); asked again only when it
        last answered more than ``RECHECK`` seconds ago, so the panel's polling stays cheap."""
        from ..core import reachability

        uri = settings.tracking_uri
        if not reachability.is_http(uri):
            return
        now = time.monotonic()
        if now - self._answered.get(uri, -RECHECK) < RECHECK:
            return
        reachability.check(settings)
        self._answered[uri] = now

    # -- status and experiments ---------------------------------------------------------------
    @_answers
    def status(self) -> dict[str, Any]:
        """Where the panel's data comes from: project root, store URIs (no secrets), DVC, git."""
        s = self.settings()
        return {
            "version": __version__,
            "root_dir": str(self.root_dir),
            "project_root": str(s.root),
            "tracking_uri": redact_url(s.tracking_uri),
            "tracking_uri_source": s.source.get("tracking_uri", "default"),
            "registry_uri": redact_url(s.registry_uri),
            "artifact_root": str(s.artifact_root) if s.artifact_root else None,
            "experiment": s.experiment,
            "dvc": {"initialized": (s.root / ".dvc").is_dir(), "remote": redact_url(s.dvc_remote)},
            "git": (s.root / ".git").exists(),
        }

    @_answers
    def experiments(self) -> dict[str, Any]:
        """Every active experiment (all pages), newest first."""
        from ..core import runs

        return {"experiments": runs.experiment_rows(self.client())}

    # -- runs -----------------------------------------------------------------------------------
    @_answers
    def runs(
        self,
        experiment_id: str | None,
        max_results: str | int | None = None,
        page_token: str | None = None,
        filter: str | None = None,
        order_by: list[str] | None = None,
    ) -> dict[str, Any]:
        """One page of an experiment's runs matching ``filter`` (MLflow's search syntax, or
        words of a run's name: ``core.run_search``) in ``order_by`` (MLflow's clauses; newest
        first by default), and the token of the next page."""
        from ..core import run_search, runs

        experiment_id = check_experiment_id(experiment_id)
        size = check_max_results(max_results)
        if page_token is not None and (not page_token or len(page_token) > MAX_TOKEN):
            raise ApiError(400, "bad_parameter", "page_token is not a token this API gave out")
        found, order = run_search.search_filter(filter), run_search.order_by(order_by)
        try:
            rows, token = runs.run_page(
                self.client(), experiment_id, size, page_token, found, order
            )
        except runs.BadPageToken as exc:
            raise ApiError(400, "bad_parameter", str(exc)) from None
        return {"runs": rows, "next_page_token": token}

    @_answers
    def run(self, run_id: str) -> dict[str, Any]:
        """A run in full: params, latest metrics, every tag, data inputs, top-level artifacts
        (listed only where the configured store serves them itself)."""
        from ..core import runs

        run_id = check_run_id(run_id)

        def unlisted(exc: Exception) -> None:  # an unreachable artifact store: the run shows
            log.warning("jupyter-mlops: cannot list artifacts of run %s: %s", run_id, exc)

        settings = self.settings()
        client = self.client(settings)
        return runs.run_detail(client, run_id, on_unlisted=unlisted, settings=settings)

    @_answers
    def artifacts(self, run_id: str, path: str | None = None) -> dict[str, Any]:
        """One level of a run's artifacts under ``path`` (``core.run_artifacts.list_dir``)."""
        from ..core import run_artifacts

        run_id = check_run_id(run_id)
        settings = self.settings()
        return run_artifacts.list_dir(self.client(settings), settings, run_id, path or "")

    @_answers
    def artifact(self, run_id: str, path: str) -> Any:
        """One artifact's bytes, read only inside the run's own artifact root
        (``core.run_artifacts.read_file``); the handler chooses the answer's headers."""
        from ..core import run_artifacts

        run_id = check_run_id(run_id)
        settings = self.settings()
        return run_artifacts.read_file(self.client(settings), settings, run_id, path)

    @_answers
    def notebook_diff(self, run_id: str, other_id: str) -> dict[str, Any]:
        """nbdime's diff from run ``run_id``'s notebook snapshot to run ``other_id``'s
        (``core.notebook_diff``)."""
        from ..core import notebook_diff

        run_id, other_id = check_run_id(run_id), check_run_id(other_id)
        settings = self.settings()
        return notebook_diff.notebook_diff(self.client(settings), settings, run_id, other_id)

    @_answers
    def metric_history(self, run_id: str, key: str) -> dict[str, Any]:
        """Every value of metric ``key`` on the run, by step then time."""
        from ..core import runs

        run_id = check_run_id(run_id)
        key = check_metric_key(key)
        history = runs.metric_history(self.client(), run_id, key)
        return {"run_id": run_id, "key": key, "history": history}

    # -- models ---------------------------------------------------------------------------------
    @_answers
    def models(self, name: str | None = None) -> dict[str, Any]:
        """Registered models, or the versions of model ``name`` (``core.models.models``)."""
        from ..core.registry import models

        settings = self.settings()
        self._reachable(settings)
        table = models.models(name, settings=settings)
        result = table.to_dict()
        result["registry_uri"] = redact_url(result["registry_uri"])
        return result

    @_answers
    def set_alias(self, name: str, body: Any, *, user: str | None = None) -> dict[str, Any]:
        """Point ``body["alias"]`` of model ``name`` at ``body["version"]``; the version's row.
        The move is recorded in the alias history with ``body["reason"]`` (optional), via
        ``rest`` and ``user``: the Jupyter user the request is authenticated as."""
        from ..core.registry import models

        models.check_name(name)
        body = json_object(body)
        alias, version = body.get("alias"), body.get("version")
        if alias is None or version is None:
            raise ApiError(400, "bad_body", 'the body needs "alias" and "version"')
        models.check_alias(alias)
        if isinstance(version, bool) or not isinstance(version, int | str):
            raise ApiError(400, "bad_body", '"version" is a whole number such as 3')
        reason = check_reason(body.get("reason"))
        settings = self.settings()
        self._reachable(settings)
        return models.set_alias(
            name, alias, version, reason=reason, user=user, via="rest", settings=settings
        )

    @_answers
    def history(self, name: str) -> dict[str, Any]:
        """Every recorded move of model ``name``'s aliases, oldest first, and whether older
        moves were left out (``alias_history.history_rows``): times are ISO 8601 UTC."""
        from ..core.registry import models
        from ..core.registry.alias_history import history_rows

        models.check_name(name)
        settings = self.settings()
        rows, truncated = history_rows(settings, name, client=self.client(settings))
        return {"name": name, "rows": rows, "truncated": truncated}

    @_answers
    def model_card(self, name: str, version: str | int) -> dict[str, Any]:
        """The ``MODEL_CARD.md`` that ``promote`` logged with version ``version`` of model
        ``name``, read from the version's artifacts only where the configured store itself
        serves them (``models.card_bytes``); a 404 when the version has none or it is elsewhere."""
        from ..core.registry import models
        from ..core.registry.model_card import card_html
        from ..core.registry.version_runs import card_says_running, version_run

        models.check_name(name)
        number = check_version(version)
        settings = self.settings()
        client = self.client(settings)
        mv = models.model_version(client, name, number)
        where = f"version {number} of model {name!r}"
        raw = models.card_bytes(client, mv, settings, where, MAX_CARD_BYTES)
        markdown = raw[:MAX_CARD_BYTES].decode("utf-8", errors="replace")
        if len(raw) > MAX_CARD_BYTES:
            markdown += f"\n\n*(cut at {MAX_CARD_BYTES // 1000} kB)*\n"
        html = card_html(markdown)
        run = version_run(client, mv)  # the run's status now, not as the card was written
        if run is not None:  # an older card may still say "running" of an ended run
            run["card_says_running"] = run["status"] != "RUNNING" and card_says_running(markdown)
        return {"name": name, "version": number, "markdown": markdown, "html": html, "run": run}

    @_answers
    def compare(self, name: str, a: Any, b: Any) -> dict[str, Any]:
        """Versions ``a`` and ``b`` of model ``name`` side by side: their runs' params and
        metrics and their data contracts' differences (``version_compare.compare_versions``)."""
        from ..core.registry import models
        from ..core.registry.version_compare import compare_versions

        models.check_name(name)
        if a is None or b is None:
            raise ApiError(400, "bad_parameter", "give two versions: ?a=1&b=2")
        first, second = check_version(a), check_version(b)
        settings = self.settings()
        client = self.client(settings)
        return compare_versions(name, first, second, settings=settings, client=client)

    @_answers
    def monitoring(
        self, name: str, version: str | int, limit: str | int | None = None
    ) -> dict[str, Any]:
        """The version's health: the windows ``monitor`` recorded, oldest first, and the last
        (``monitor_history.monitoring_history``); none when it was never monitored."""
        from ..core.production.monitor_history import monitoring_history
        from ..core.registry import models

        models.check_name(name)
        number = check_version(version)
        size = check_max_results(limit, "limit")
        settings = self.settings()
        return monitoring_history(settings, name, number, limit=size, client=self.client(settings))

    # -- data -----------------------------------------------------------------------------------
    @_answers
    def data(self) -> dict[str, Any]:
        """DVC-tracked paths of the project and where each stands (no remote is asked)."""
        from ..core.data import operations as data

        settings = self.settings()
        result = data.status(check_remote=False, settings=settings).to_dict()
        result["initialized"] = (settings.root / ".dvc").is_dir()
        return result

    @_answers
    def add_data(self, body: Any) -> dict[str, Any]:
        """Version ``body["path"]`` (inside the root dir) with DVC; staged in git, not committed."""
        from ..core.data import operations as data

        body = json_object(body)
        given = body.get("path")
        path = self.data_path(given)
        settings = self.settings()
        with self._data_lock:
            result = data.add(path, message=f"Version {given}", settings=settings, link_run=False)
        return {"versions": [v.to_dict() for v in result.versions], "notes": result.notes}

    def data_path(self, value: Any) -> Path:
        """``value`` as a path under the root dir, or an ``ApiError``: a relative, existing path
        with no ``..`` whose real location (symlinks followed) is inside the root dir."""
        if not isinstance(value, str) or not value.strip():
            raise ApiError(400, "bad_path", '"path" must be a non-empty string')
        if len(value) > MAX_PATH:
            raise ApiError(400, "bad_path", f'"path" is longer than {MAX_PATH} characters')
        if any(unicodedata.category(c) in ("Cc", "Cs") for c in value):
            raise ApiError(
                400, "bad_path", '"path" contains a control character or a lone surrogate'
            )
        if PurePosixPath(value).is_absolute() or PureWindowsPath(value).anchor:
            raise ApiError(400, "bad_path", f"{value!r} is absolute; give a path relative to root")
        parts = PurePosixPath(value.replace("\\", "/")).parts
        if ".." in parts:
            raise ApiError(400, "bad_path", f"{value!r} contains '..'; paths stay inside the root")
        candidate = self.root_dir / value
        try:
            real = candidate.resolve()
            exists = candidate.exists()
        except (OSError, RuntimeError) as exc:  # a name too long, a symlink loop
            reason = getattr(exc, "strerror", None) or "a symbolic link loop"
            raise ApiError(400, "bad_path", f"cannot use that path: {reason}") from None
        if real != self.root_dir and self.root_dir not in real.parents:
            raise ApiError(400, "outside_root", f"{value!r} leads outside the server's root dir")
        if real == self.root_dir:
            raise ApiError(400, "bad_path", "version files or folders, not the root dir itself")
        if not exists:
            raise ApiError(404, "not_found", f"no such file or folder: {value}")
        return candidate
