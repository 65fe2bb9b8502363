"""What the REST API answers, as plain dicts: no Tornado here, so it can be tested and reused alone.

One ``MlopsService`` serves the project holding the Jupyter server's root dir. Settings are
resolved on every call (cheap: a ``pyproject.toml`` read), so ``[tool.jupyter-mlops]`` and
``MLFLOW_TRACKING_URI`` are honoured as the magics honour them. MLflow is reached through one
``MlflowClient`` per store with explicit ids (the fluent API is not thread-safe), and every
mistake a caller can make becomes an ``ApiError`` with a status, a short code and one line.
"""

from __future__ import annotations

import errno
import functools
import logging
import os
import re
import tempfile
import threading
import unicodedata
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import TYPE_CHECKING, Any, TypeVar

from .._version import __version__
from ..config import ConfigError, Settings, resolve_settings
from ..core.redact import redact_text, redact_url
from ..errors import MlopsError, NotFoundError

if TYPE_CHECKING:
    from mlflow import MlflowClient

log = logging.getLogger(__name__)
F = TypeVar("F", bound=Callable[..., Any])

DEFAULT_MAX_RESULTS = 100
MAX_RESULTS_LIMIT = 1000
MAX_TOKEN = 4096
MAX_PATH = 1024  # characters in a "path" given to POST data
EXPERIMENT_PAGE = 1000
MODEL_CARD = "MODEL_CARD.md"  # what ``promote`` writes into every registered version
MAX_CARD_BYTES = 1_000_000
# run list rows carry these tags, plus every user tag (outside the mlflow./mlops. namespaces)
KEY_TAGS = (
    "mlflow.note.content",
    "mlflow.parentRunId",
    "mlflow.source.git.commit",
    "mlflow.source.name",
    "mlflow.source.type",
    "mlflow.user",
    "mlops.error",
    "mlops.git.dirty",
    "mlops.reproduce.verdict",
    "mlops.runner",
)
_RUN_ID = re.compile(r"^[0-9a-fA-F]{8,64}$")
_EXPERIMENT_ID = re.compile(r"^[0-9A-Za-z_-]{1,64}$")
_METRIC_KEY = re.compile(r"^[\w\-. /:]{1,250}$")  # MLflow's key rule (names may hold '/')
_INTEGER = re.compile(r"^\d{1,9}$", re.ASCII)
_MLFLOW_STATUS = {
    "RESOURCE_DOES_NOT_EXIST": (404, "not_found"),
    "INVALID_PARAMETER_VALUE": (400, "bad_parameter"),
    "RESOURCE_ALREADY_EXISTS": (409, "conflict"),
}


class ApiError(Exception):
    """An answer other than 200: HTTP ``status``, short ``code`` and a one-line ``message``."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = " ".join(message.split())

    def to_dict(self) -> dict[str, str]:
        return {"error": self.code, "message": self.message}


def as_api_error(exc: BaseException) -> ApiError | None:
    """The answer for an exception a caller caused; ``None`` for one we did not expect."""
    from ..core.data.dvc_repo import DataLockedError
    from ..core.data.operations import OutsideRootError

    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, OutsideRootError):
        return ApiError(400, "outside_root", str(exc))
    if isinstance(exc, ConfigError):
        return ApiError(500, "config_error", str(exc))
    if isinstance(exc, NotFoundError):
        return ApiError(404, "not_found", str(exc))
    if isinstance(exc, DataLockedError):
        return ApiError(409, "busy", str(exc))
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
        self._clients: dict[tuple[str, str], MlflowClient] = {}
        self._clients_lock = threading.Lock()
        self._data_lock = threading.Lock()  # one DVC write at a time from this server

    # -- plumbing -----------------------------------------------------------------------------
    def settings(self) -> Settings:
        """Settings of the project holding the server's root dir (pyproject, env, default)."""
        return resolve_settings(self.root_dir)

    def client(self, settings: Settings | None = None) -> MlflowClient:
        """One thread-safe ``MlflowClient`` per store, its store prepared on first use."""
        from ..core import store

        settings = settings or self.settings()
        key = (settings.tracking_uri, settings.registry_uri)
        with self._clients_lock:
            found = self._clients.get(key)
            if found is None:
                store.prepare(settings)
                found = self._clients[key] = store.client(settings)
        return found

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
        from mlflow.entities import ViewType

        from ..core.store import with_retry

        client = self.client()
        found: list[Any] = []
        token: str | None = None
        while True:
            page = with_retry(
                lambda token=token: client.search_experiments(
                    view_type=ViewType.ACTIVE_ONLY,
                    max_results=EXPERIMENT_PAGE,
                    order_by=["creation_time DESC"],
                    page_token=token,
                )
            )
            found.extend(page)
            token = page.token.decode() if isinstance(page.token, bytes) else page.token
            if not token:
                break
        rows = [
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
        return {"experiments": rows}

    # -- runs -----------------------------------------------------------------------------------
    @_answers
    def runs(
        self,
        experiment_id: str | None,
        max_results: str | int | None = None,
        page_token: str | None = None,
    ) -> dict[str, Any]:
        """One page of an experiment's runs, newest first, and the token of the next page."""
        from ..core.store import with_retry

        experiment_id = check_experiment_id(experiment_id)
        size = check_max_results(max_results)
        if page_token is not None and (not page_token or len(page_token) > MAX_TOKEN):
            raise ApiError(400, "bad_parameter", "page_token is not a token this API gave out")
        client = self.client()
        with_retry(lambda: client.get_experiment(experiment_id))  # 404 for an unknown id

        def search(token: str | None) -> Any:
            return with_retry(
                lambda: client.search_runs(
                    [experiment_id],
                    max_results=size,
                    order_by=["attributes.start_time DESC"],  # the store breaks ties by run id
                    page_token=token,
                )
            )

        try:
            page = search(page_token or None)
        except Exception:
            if page_token is None:
                raise
            # a token's format is the store's own; if the first page can be read, the token
            # (forged: wrong JSON types, an offset past SQLite's integers) is what failed
            search(None)
            raise ApiError(
                400, "bad_parameter", "page_token is not a token this API gave out"
            ) from None
        token = page.token.decode() if isinstance(page.token, bytes) else page.token
        return {"runs": [run_row(r) for r in page], "next_page_token": token or None}

    @_answers
    def run(self, run_id: str) -> dict[str, Any]:
        """A run in full: params, latest metrics, every tag, data inputs, top-level artifacts."""
        from ..core.store import with_retry

        run_id = check_run_id(run_id)
        client = self.client()
        run = with_retry(lambda: client.get_run(run_id))
        row = run_row(run, all_tags=True)
        row["lifecycle_stage"] = run.info.lifecycle_stage
        row["artifact_uri"] = redact_url(run.info.artifact_uri)
        row["inputs"] = _inputs(run)
        try:
            listed = with_retry(lambda: client.list_artifacts(run_id))
            row["artifacts"] = [
                {"path": a.path, "is_dir": a.is_dir, "file_size": a.file_size} for a in listed
            ]
            row["artifacts_error"] = None
        except Exception as exc:  # an unreachable artifact store must not hide the run
            log.warning("jupyter-mlops: cannot list artifacts of run %s: %s", run_id, exc)
            row["artifacts"] = None
            row["artifacts_error"] = f"cannot list artifacts: {type(exc).__name__}"
        return row

    @_answers
    def metric_history(self, run_id: str, key: str) -> dict[str, Any]:
        """Every value of metric ``key`` on the run, by step then time."""
        from ..core.store import with_retry

        run_id = check_run_id(run_id)
        key = check_metric_key(key)
        client = self.client()
        run = with_retry(lambda: client.get_run(run_id))
        if key not in run.data.metrics:
            known = ", ".join(sorted(run.data.metrics)[:20]) or "none"
            raise ApiError(404, "not_found", f"run {run_id} has no metric {key!r}; it has: {known}")
        history = with_retry(lambda: client.get_metric_history(run_id, key))
        points = sorted(history, key=lambda m: (m.step, m.timestamp))
        return {
            "run_id": run_id,
            "key": key,
            "history": [
                {"step": m.step, "value": m.value, "timestamp": m.timestamp} for m in points
            ],
        }

    # -- models ---------------------------------------------------------------------------------
    @_answers
    def models(self, name: str | None = None) -> dict[str, Any]:
        """Registered models, or the versions of model ``name`` (``core.models.models``)."""
        from ..core.registry import models

        table = models.models(name, settings=self.settings())
        result = table.to_dict()
        result["registry_uri"] = redact_url(result["registry_uri"])
        return result

    @_answers
    def set_alias(self, name: str, body: Any) -> dict[str, Any]:
        """Point ``body["alias"]`` of model ``name`` at ``body["version"]``; the version's row."""
        from ..core.registry import models

        models.check_name(name)
        body = _object(body)
        alias, version = body.get("alias"), body.get("version")
        if alias is None or version is None:
            raise ApiError(400, "bad_body", 'the body needs "alias" and "version"')
        models.check_alias(alias)
        if isinstance(version, bool) or not isinstance(version, int | str):
            raise ApiError(400, "bad_body", '"version" is a whole number such as 3')
        return models.set_alias(name, alias, version, settings=self.settings())

    @_answers
    def model_card(self, name: str, version: str | int) -> dict[str, Any]:
        """The ``MODEL_CARD.md`` that ``promote`` logged with version ``version`` of model
        ``name``, read from the version's artifacts only where the configured store itself
        serves them (``card_source``); a 404 when the version has none or it is elsewhere."""
        from mlflow.exceptions import MlflowException

        from ..core.registry import models
        from ..core.registry.model_card import card_html
        from ..core.store import with_retry

        models.check_name(name)
        number = check_version(version)
        settings = self.settings()
        client = self.client(settings)
        try:
            mv = with_retry(lambda: client.get_model_version(name, str(number)))
        except MlflowException as exc:
            if exc.error_code != "RESOURCE_DOES_NOT_EXIST":
                raise
            raise ApiError(404, "not_found", f"model {name!r} has no version {number}") from None
        where = f"version {number} of model {name!r}"
        raw = _read_card(card_source(client, mv, settings, where), settings, where)
        markdown = raw[:MAX_CARD_BYTES].decode("utf-8", errors="replace")
        if len(raw) > MAX_CARD_BYTES:
            markdown += f"\n\n*(cut at {MAX_CARD_BYTES // 1000} kB)*\n"
        return {"name": name, "version": number, "markdown": markdown, "html": card_html(markdown)}

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

        body = _object(body)
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


# -- model cards ------------------------------------------------------------------------------
def card_source(client: MlflowClient, mv: Any, settings: Settings, where: str) -> str | Path:
    """Where the card of version ``mv`` may be read from (``models.version_artifacts``): any
    location the configured store does not serve itself is a 404, and nothing is sent to it."""
    from ..core.registry.models import version_artifacts
    from ..core.store import ForeignArtifactsError

    try:
        return version_artifacts(client, mv, settings)
    except ForeignArtifactsError as exc:
        raise ApiError(
            404,
            "not_found",
            f"the card of {where} is not in this store's artifacts ({exc.kind}); not read",
        ) from None


def _read_card(source: str | Path, settings: Settings, where: str) -> bytes:
    """The first ``MAX_CARD_BYTES + 1`` bytes of the card at ``source`` (see ``card_source``);
    a 404 when there is none or it cannot be read."""
    import mlflow.artifacts

    missing = ApiError(404, "not_found", f"{where} has no {MODEL_CARD}")
    if isinstance(source, Path):  # a symlinked card must not lead out of the artifact root
        root = settings.artifact_root
        try:
            card = (source / MODEL_CARD).resolve()
            if root is None or not _inside(card, root.resolve()) or not card.is_file():
                raise missing
            with open(card, "rb") as fh:
                return fh.read(MAX_CARD_BYTES + 1)
        except (OSError, RuntimeError) as exc:
            raise ApiError(
                404, "not_found", f"the card of {where} cannot be read ({type(exc).__name__})"
            ) from None
    try:
        listed = mlflow.artifacts.list_artifacts(
            artifact_uri=source, tracking_uri=settings.tracking_uri
        )
        if not any(f.path.rsplit("/", 1)[-1] == MODEL_CARD and not f.is_dir for f in listed or []):
            raise missing
        with tempfile.TemporaryDirectory(prefix="mlops-card-") as tmp:
            local = mlflow.artifacts.download_artifacts(
                artifact_uri=f"{source.rstrip('/')}/{MODEL_CARD}",
                dst_path=tmp,
                tracking_uri=settings.tracking_uri,
            )
            with open(local, "rb") as fh:
                return fh.read(MAX_CARD_BYTES + 1)
    except ApiError:
        raise
    except Exception as exc:  # the store's artifact server failed: the card cannot be read
        log.warning("jupyter-mlops: cannot read the card of %s: %s", where, exc)
        raise ApiError(
            404, "not_found", f"the card of {where} cannot be read ({type(exc).__name__})"
        ) from None


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


# -- validation -------------------------------------------------------------------------------
def check_run_id(value: Any) -> str:
    """A run id is hex (MLflow's are 32 hex digits)."""
    if not isinstance(value, str) or not _RUN_ID.match(value):
        raise ApiError(400, "bad_run_id", f"{value!r} is not a run id (hex digits)")
    return value


def check_experiment_id(value: Any) -> str:
    if value is None or value == "":
        raise ApiError(400, "bad_parameter", "experiment_id is required (see GET experiments)")
    if not isinstance(value, str) or not _EXPERIMENT_ID.match(value):
        raise ApiError(400, "bad_parameter", f"{value!r} is not an experiment id")
    return value


def check_version(value: Any) -> int:
    """A model version is a whole number from 1 (the rule ``set_alias`` applies)."""
    from ..core.registry.models import version_number

    try:
        return version_number(value)
    except MlopsError:
        raise ApiError(
            400, "bad_parameter", f"{value!r} is not a model version (1, 2, ...)"
        ) from None


def check_metric_key(value: Any) -> str:
    if not isinstance(value, str) or not _METRIC_KEY.match(value):
        raise ApiError(400, "bad_metric_key", f"{value!r} is not a metric key")
    return value


def check_max_results(value: str | int | None) -> int:
    """1..1000, default 100."""
    if value is None or value == "":
        return DEFAULT_MAX_RESULTS
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and _INTEGER.match(value.strip()):
        number = int(value.strip())
    else:
        number = -1
    if not 1 <= number <= MAX_RESULTS_LIMIT:
        raise ApiError(
            400, "bad_parameter", f"max_results must be 1 to {MAX_RESULTS_LIMIT}, not {value!r}"
        )
    return number


def _object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise ApiError(400, "bad_body", "the request body must be a JSON object")
    return body


# -- rows -------------------------------------------------------------------------------------
def run_row(run: Any, all_tags: bool = False) -> dict[str, Any]:
    """A run as JSON: ids, name, status, ISO times, latest metrics, params and tags."""
    info, data = run.info, run.data
    tags = dict(data.tags) if all_tags else _list_tags(data.tags)
    return {
        "run_id": info.run_id,
        "name": info.run_name,
        "status": info.status,
        "start_time": iso(info.start_time),
        "end_time": iso(info.end_time),
        "experiment_id": info.experiment_id,
        "metrics": dict(sorted(data.metrics.items())),
        "params": _shown(data.params),
        "tags": _shown(tags),
    }


def _shown(values: dict[str, str]) -> dict[str, str]:
    """Values from the store as we show them: sorted, any URL in them without credentials (a
    shared store may hold runs recorded by older versions or other tools)."""
    return {k: redact_text(v) for k, v in sorted(values.items())}


def _list_tags(tags: dict[str, str]) -> dict[str, str]:
    return {
        k: v for k, v in tags.items() if k in KEY_TAGS or not k.startswith(("mlflow.", "mlops."))
    }


def _user_tags(tags: dict[str, str]) -> dict[str, str]:
    return dict(sorted((k, v) for k, v in tags.items() if not k.startswith("mlflow.")))


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
                    (t.value for t in item.tags or [] if t.key == "mlflow.data.context"), None
                ),
            }
        )
    return rows


def iso(ms: int | None) -> str | None:
    """Milliseconds since the epoch as an ISO 8601 UTC time (None stays None)."""
    if not ms:
        return None
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).isoformat(timespec="milliseconds")
