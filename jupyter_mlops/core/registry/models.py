"""The model registry: registered models, their versions and aliases (``%mlops models``).

Plain JSON-able rows for the magic, the REST API and the side panel. MLflow is reached through
``MlflowClient`` only (thread-safe, so the server can call this too), and every page is read.
"""

from __future__ import annotations

import copy
import difflib
import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...config import Settings
from ...errors import MlopsError, NotFoundError
from .. import store, tags
from ..redact import redact_url
from ..session import project_settings

if TYPE_CHECKING:
    import pandas as pd

    from ..store import RetryingClient
    from .alias_moves import Move

PAGE_SIZE = 500  # rows per registry request; MLflow allows up to 1000 registered models a page
MAX_NAME = 256  # the registry's column width for a model name
MAX_ALIAS = 255
MAX_NAMES_SHOWN = 20  # registered names listed in an unknown-name error
MODEL_COLUMNS = [
    "name",
    "description",
    "latest_version",
    "aliases",
    "versions",
    "created",
    "last_updated",
    "tags",
]
VERSION_COLUMNS = [
    "name", "version", "aliases", "run_id", "run_name", "metrics", "status", "user", "created",
    "last_updated", "source", "model_id", "description", "tags",
]  # fmt: skip
_TIME_COLUMNS = ("created", "last_updated")
_INT_COLUMNS = ("latest_version", "versions", "version")
_ALIAS = re.compile(r"^[\w-]+$")  # MLflow's rule: letters, digits, '_' and '-'
_VERSION_ALIAS = re.compile(r"^[vV]\d+$")  # reserved: `v3` always means version 3
_PLAIN = re.compile(r"^[\w .-]+$")  # names safe inside a quoted filter value
_DIGITS = re.compile(r"^\d{1,9}$", re.ASCII)  # no version has more digits
MISSING = "RESOURCE_DOES_NOT_EXIST"  # MLflow's error code for an unknown model or version
_LOGGED_MODEL_URI = re.compile(r"^models:/(m-[0-9a-f]+)$")


@dataclass(eq=False, repr=False)
class ModelsTable:
    """Registered models (``name`` is None) or the versions of model ``name``, newest first.

    ``rows`` are plain dicts (JSON-able); the table shows itself as HTML in Jupyter and as a text
    table elsewhere.
    """

    rows: list[dict[str, Any]]
    name: str | None = None
    registry_uri: str | None = None
    _columns: list[str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._columns = MODEL_COLUMNS if self.name is None else VERSION_COLUMNS

    @property
    def kind(self) -> str:
        """``models`` (one row per registered model) or ``versions`` (one row per version)."""
        return "models" if self.name is None else "versions"

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.rows)

    def to_dict(self) -> dict[str, Any]:
        """``kind``, ``name``, ``registry_uri`` and a copy of the ``rows``."""
        return {
            "kind": self.kind,
            "name": self.name,
            "registry_uri": self.registry_uri,
            "rows": copy.deepcopy(self.rows),
        }

    def to_frame(self) -> pd.DataFrame:
        """The rows as a DataFrame with fixed columns; times as UTC timestamps."""
        import pandas as pd

        frame = pd.DataFrame(copy.deepcopy(self.rows), columns=self._columns)
        for column in _TIME_COLUMNS:
            frame[column] = pd.to_datetime(frame[column], utc=True, format="ISO8601")
        for column in _INT_COLUMNS:
            if column in frame:
                frame[column] = frame[column].astype("Int64")  # a model may have no version
        return frame

    def _repr_html_(self) -> str:
        from ...display.models import models_html

        return models_html(self.to_dict())

    def __repr__(self) -> str:
        from ...display.models import models_text

        return models_text(self.to_dict())


# -- reading ----------------------------------------------------------------------------------
def models(
    name: str | None = None,
    *,
    tracking_uri: str | None = None,
    page_size: int = PAGE_SIZE,
    settings: Settings | None = None,
) -> ModelsTable:
    """Without ``name``, one row per registered model (latest version, aliases, version count);
    with it, one row per version of that model, newest first. An unknown name is an error that
    lists the registered names. ``settings`` names the project explicitly (the server does)."""
    if name is not None:
        check_name(name)
    settings = settings or project_settings(tracking_uri)
    client = registry_client(settings)
    if name is None:
        return ModelsTable(
            _model_rows(client, page_size), registry_uri=redact_url(settings.registry_uri)
        )
    model = registered_model(client, name, page_size)
    versions = versions_of(client, model.name, page_size)
    from .version_runs import with_runs  # run names and metrics: one search for the page

    rows = with_runs(client, [_version_row(mv, model.aliases) for mv in versions])
    return ModelsTable(rows, name=model.name, registry_uri=redact_url(settings.registry_uri))


# -- writing ----------------------------------------------------------------------------------
def set_alias(
    name: str,
    alias: str,
    version: int | str,
    *,
    reason: str | None = None,
    user: str | None = None,
    via: str = "api",
    tracking_uri: str | None = None,
    settings: Settings | None = None,
) -> dict[str, Any]:
    """Point ``alias`` of model ``name`` at ``version`` (moving it if set elsewhere) and record
    the move in the alias history (``alias_history``) with ``user`` (default: the current
    user), ``reason`` and ``via`` (the adapter that asked: api, magic, cli, rest); returns the
    version's row, as in ``models(name)``. ``settings`` names the project explicitly."""
    settings = settings or project_settings(tracking_uri)
    move = record_alias(name, alias, version, reason=reason, user=user, via=via, settings=settings)
    client = registry_client(settings)
    mv = client.get_model_version(move.name, str(move.version))
    return _version_row(mv, client.get_registered_model(move.name).aliases)


def record_alias(
    name: str, alias: str, version: int | str, *, reason: str | None, user: str | None, via: str,
    settings: Settings,
) -> Move:  # fmt: skip
    """``set_alias``'s move, returning the recorded ``Move`` (the adapters print its previous
    version): everything is checked (name, alias, version, reason) before anything is written."""
    from .alias_moves import check_reason, move_alias

    check_name(name)
    check_alias(alias)
    number = version_number(version)
    reason = check_reason(reason)
    from mlflow.exceptions import MlflowException  # after the checks: a typo answers at once

    client = registry_client(settings)
    model = registered_model(client, name, PAGE_SIZE)
    try:
        client.get_model_version(model.name, str(number))
    except MlflowException as exc:
        if exc.error_code != MISSING:
            raise
        numbers = sorted(int(mv.version) for mv in versions_of(client, model.name, PAGE_SIZE))
        have = f"versions: {', '.join(map(str, numbers))}" if numbers else "it has no versions yet"
        raise NotFoundError(f"model {model.name!r} has no version {number}; {have}") from None
    return move_alias(
        client, settings, model.name, alias, number, reason=reason, user=user, via=via
    )


# -- validation -------------------------------------------------------------------------------
def check_name(name: Any) -> str:
    """``name`` if it can be a registered model's name, else a one-line ``MlopsError``."""
    if not isinstance(name, str) or not name.strip():
        raise MlopsError("a registered model name cannot be empty")
    if any(unicodedata.category(c) == "Cc" for c in name):
        raise MlopsError(f"model name {name!r} contains a control character")
    if len(name) > MAX_NAME:
        raise MlopsError(
            f"model name is {len(name)} characters long; the registry allows at most {MAX_NAME}"
        )
    if "/" in name or ":" in name:
        raise MlopsError(
            f"model names cannot contain '/' or ':' ({name!r}); for models:/NAME@ALIAS "
            "give NAME alone"
        )
    return name


def check_alias(alias: Any) -> str:
    """``alias`` if MLflow accepts it as an alias, else a one-line ``MlopsError``."""
    if not isinstance(alias, str) or not alias:
        raise MlopsError("an alias cannot be empty")
    if not _ALIAS.match(alias):
        raise MlopsError(f"alias {alias!r} may only contain letters, digits, '_' and '-'")
    if len(alias) > MAX_ALIAS:
        raise MlopsError(
            f"alias is {len(alias)} characters long; the registry allows at most {MAX_ALIAS}"
        )
    if alias.lower() == "latest":
        raise MlopsError(
            f"alias {alias!r} is reserved by MLflow (it always means the newest version); "
            "choose another name"
        )
    if _VERSION_ALIAS.match(alias):
        raise MlopsError(
            f"alias {alias!r} is reserved by MLflow (it means version {alias[1:]}); "
            "choose another name"
        )
    return alias


def version_number(version: Any) -> int:
    """A model version as given by a user (``3`` or ``"3"``) as a number from 1."""
    number = None
    if isinstance(version, int) and not isinstance(version, bool):
        number = version
    elif isinstance(version, str) and _DIGITS.match(version.strip()):
        number = int(version.strip())
    if number is None or number < 1:
        raise MlopsError(f"a model version is a whole number such as 3, not {version!r}")
    return number


# -- talking to the registry ------------------------------------------------------------------
def registry_client(settings: Settings) -> RetryingClient:
    """A client of the project's store (created if new), retrying transient errors."""
    store.prepare(settings)
    return store.client(settings)


def _every_page(fetch: Callable[[str | None], Any]) -> list[Any]:
    """All items of a paged search, page after page (a registry never answers in one)."""
    items: list[Any] = []
    token: str | None = None
    seen: set[str] = set()
    while True:
        page = fetch(token)  # a RetryingClient's call: it retries itself
        items.extend(page)
        token = page.token
        if not token:
            return items
        if token in seen:
            raise RuntimeError(f"the model registry returned page token {token!r} twice")
        seen.add(token)


def _registered_models(client: RetryingClient, page_size: int) -> list[Any]:
    size = max(1, min(page_size, 1000))
    return _every_page(
        lambda token: client.search_registered_models(
            max_results=size, order_by=["name ASC"], page_token=token
        )
    )


def versions_of(client: Any, name: str | None, page_size: int) -> list[Any]:
    """Versions of model ``name`` (of every model when None), newest first, every page read."""
    client = store.retrying(client)
    if name is None:
        query = None
    elif _PLAIN.match(name):
        query = f"name = '{name}'"
    else:
        # quotes, backslashes and the like have no escape in MLflow's filter syntax: match a
        # LIKE pattern with '_' for each of them, then keep the exact name
        query = "name LIKE '" + "".join(c if _PLAIN.match(c) else "_" for c in name) + "'"
    size = max(1, page_size)
    found = _every_page(
        lambda token: client.search_model_versions(
            query, max_results=size, order_by=["version_number DESC"], page_token=token
        )
    )
    if name is not None:
        found = [mv for mv in found if mv.name == name]
    return sorted(found, key=lambda mv: int(mv.version), reverse=True)


def registered_model(client: Any, name: str, page_size: int) -> Any:
    """The registered model ``name``; unknown names raise a one-line error naming the known."""
    from mlflow.exceptions import MlflowException

    client = store.retrying(client)
    try:
        return client.get_registered_model(name)
    except MlflowException as exc:
        if exc.error_code != MISSING:
            raise
    names = [rm.name for rm in _registered_models(client, page_size)]
    raise NotFoundError(_unknown_name(name, names))


def _unknown_name(name: str, names: list[str]) -> str:
    text = f"no registered model named {name!r}"
    if not names:
        return f"{text}; none registered yet"
    close = difflib.get_close_matches(name, names, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    shown = ", ".join(names[:MAX_NAMES_SHOWN])
    if len(names) > MAX_NAMES_SHOWN:
        shown += f" and {len(names) - MAX_NAMES_SHOWN} more"
    return f"{text}{hint}; registered: {shown}"


# -- rows -------------------------------------------------------------------------------------
def _model_rows(client: RetryingClient, page_size: int) -> list[dict[str, Any]]:
    registered = _registered_models(client, page_size)
    numbers: dict[str, list[int]] = {}
    if registered:
        for mv in versions_of(client, None, page_size):
            numbers.setdefault(mv.name, []).append(int(mv.version))
    rows = []
    for rm in registered:
        found = numbers.get(rm.name) or [int(mv.version) for mv in rm.latest_versions or []]
        rows.append(
            {
                "name": rm.name,
                "description": rm.description or None,
                "latest_version": max(found) if found else None,
                "aliases": _aliases(rm.aliases),
                "versions": len(numbers.get(rm.name, [])),
                "created": _iso(rm.creation_timestamp),
                "last_updated": _iso(rm.last_updated_timestamp),
                "tags": dict(sorted(rm.tags.items())),
            }
        )
    return sorted(rows, key=lambda row: (row["name"].lower(), row["name"]))


def _version_row(mv: Any, model_aliases: dict[str, Any]) -> dict[str, Any]:
    number = int(mv.version)
    # who promoted it, as the store authenticated them (older versions: MLflow's user_id)
    user = mv.tags.get(tags.PROMOTED_BY) or getattr(mv, "user_id", None) or ""
    return {
        "name": mv.name,
        "version": number,
        "aliases": sorted(a for a, v in model_aliases.items() if int(v) == number),
        "run_id": mv.run_id or None,
        "run_name": None,  # with_runs: the run's name and latest metrics, when it is found
        "metrics": {},
        "status": mv.status,
        "user": " ".join(str(user).split())[:200] or None,  # untrusted text: one short line
        "created": _iso(mv.creation_timestamp),
        "last_updated": _iso(mv.last_updated_timestamp),
        "source": mv.source or None,
        "model_id": logged_model_id(mv),
        "description": mv.description or None,
        "tags": dict(sorted(mv.tags.items())),
    }


def version_artifacts(client: Any, mv: Any, settings: Settings) -> str | Path:
    """Where a version's files are, when the configured store serves them itself
    (``store.own_artifacts``; else a ``ForeignArtifactsError`` and nothing is asked of that
    location): an MLflow 3 logged model's own location, else the version's download URI."""
    model_id = logged_model_id(mv)
    client = store.retrying(client)
    if model_id:  # not a models:/ indirection: the logged model, asked of this store explicitly
        location = client.get_logged_model(model_id).artifact_location
    else:  # a version registered from a run's artifacts
        location = client.get_model_version_download_uri(mv.name, mv.version)
    return store.own_artifacts(location, settings, client)


def logged_model_id(mv: Any) -> str | None:
    """The MLflow 3 logged model behind a version; sqlite stores keep it only in the source."""
    if getattr(mv, "model_id", None):
        return mv.model_id
    match = _LOGGED_MODEL_URI.match(mv.source or "")
    return match.group(1) if match else None


def aliases_of(model: Any) -> dict[str, int]:
    """``{alias: version}`` of a registered model as the registry gives them."""
    return {str(a): int(v) for a, v in (model.aliases or {}).items()}


def _aliases(aliases: dict[str, Any]) -> dict[str, int]:
    """{alias: version}, newest version first, then by alias."""
    pairs = sorted(((a, int(v)) for a, v in aliases.items()), key=lambda p: (-p[1], p[0]))
    return dict(pairs)


def _iso(ms: int | None) -> str | None:
    if not ms:
        return None
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).isoformat(timespec="milliseconds")


# -- reading one version and its card (the REST API's model routes) ---------------------------
def model_version(client: Any, name: str, number: int) -> Any:
    """Version ``number`` of model ``name``; a ``NotFoundError`` when the model has none."""
    from mlflow.exceptions import MlflowException

    try:
        return client.get_model_version(name, str(number))
    except MlflowException as exc:
        if exc.error_code != MISSING:
            raise
        raise NotFoundError(f"model {name!r} has no version {number}") from None


def card_bytes(client: Any, mv: Any, settings: Settings, where: str, limit: int) -> bytes:
    """The first ``limit + 1`` bytes of the ``MODEL_CARD.md`` that ``promote`` logged with
    version ``mv``, read only where the configured store serves the version's files itself
    (``version_artifacts``): a card anywhere else, missing or unreadable is a ``NotFoundError``
    (``where`` names the version in it), and nothing is sent to a foreign location."""
    from .. import tags

    try:
        source = version_artifacts(client, mv, settings)
    except store.ForeignArtifactsError as exc:
        raise NotFoundError(
            f"the card of {where} is not in this store's artifacts ({exc.kind}); not read"
        ) from None
    missing = NotFoundError(f"{where} has no {tags.MODEL_CARD}")
    unreadable = f"the card of {where} cannot be read"
    if isinstance(source, Path):  # a symlinked card must not lead out of the artifact root
        return _local_card(source / tags.MODEL_CARD, settings, limit, missing, unreadable)
    return _served_card(source, tags.MODEL_CARD, settings, limit, missing, where)


def _local_card(
    path: Path, settings: Settings, limit: int, missing: Exception, unreadable: str
) -> bytes:
    root = settings.artifact_root
    try:
        card = path.resolve()
        top = root.resolve() if root is not None else None
        if top is None or not (card == top or top in card.parents) or not card.is_file():
            raise missing
        with open(card, "rb") as fh:
            return fh.read(limit + 1)
    except (OSError, RuntimeError) as exc:
        raise NotFoundError(f"{unreadable} ({type(exc).__name__})") from None


def _served_card(
    source: str, name: str, settings: Settings, limit: int, missing: Exception, where: str
) -> bytes:
    import logging
    import tempfile

    import mlflow.artifacts

    try:
        listed = mlflow.artifacts.list_artifacts(
            artifact_uri=source, tracking_uri=settings.tracking_uri
        )
        if not any(f.path.rsplit("/", 1)[-1] == name and not f.is_dir for f in listed or []):
            raise missing
        with tempfile.TemporaryDirectory(prefix="mlops-card-") as tmp:
            local = mlflow.artifacts.download_artifacts(
                artifact_uri=f"{source.rstrip('/')}/{name}",
                dst_path=tmp,
                tracking_uri=settings.tracking_uri,
            )
            with open(local, "rb") as fh:
                return fh.read(limit + 1)
    except NotFoundError:
        raise
    except Exception as exc:  # the store's artifact server failed: the card cannot be read
        logging.getLogger(__name__).warning(
            "jupyter-mlops: cannot read the card of %s: %s", where, exc
        )
        raise NotFoundError(f"the card of {where} cannot be read ({type(exc).__name__})") from None
