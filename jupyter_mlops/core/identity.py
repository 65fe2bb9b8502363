"""Who is writing: the user a shared tracking server authenticated, else the local login.

On a server with MLflow's authentication, a run's ``mlflow.user``, a version's promoter and an
alias move's user must be the account the server checked, not the OS account of whichever
machine ran the code (a shared service account, a container's ``root``). The server says who it
authenticated (``GET /api/2.0/mlflow/users/current``), from the credentials MLflow's own
conventions find (``MLFLOW_TRACKING_USERNAME``/``PASSWORD``, ``MLFLOW_TRACKING_TOKEN``,
``~/.mlflow/credentials``); we ask once per process and server, and never keep, record or show
the secret itself.

A server without authentication answers 404 there: then the user is
``MLFLOW_TRACKING_USERNAME`` if set, else the OS login, as for an embedded store.
"""

from __future__ import annotations

import getpass
import hashlib
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from ..config import Settings
from ..errors import MlopsError
from .redact import redact_url

CURRENT_USER_PATH = "/api/2.0/mlflow/users/current"
CREDENTIALS_FILE = "~/.mlflow/credentials"  # MLflow's own convention (mlflow.utils.credentials)
PROBE_TIMEOUT = 5.0  # seconds: a server that takes longer is "not answering"

_cache: dict[tuple[str, str], Identity] = {}
_lock = threading.Lock()


class ServerUnreachableError(MlopsError):
    """The tracking server did not answer (down, wrong address, a firewall)."""


class CredentialsRefusedError(MlopsError):
    """The tracking server refused the credentials it was given (or needed some)."""


@dataclass(frozen=True)
class Identity:
    """Who writes to a store, and how we know (``source``)."""

    user: str
    source: Literal["server", "environment", "login"]


def is_server(settings: Settings) -> bool:
    """Whether the project's tracking store is an HTTP(S) server (not sqlite or a folder)."""
    return urlsplit(settings.tracking_uri).scheme.lower() in ("http", "https")


def local_user() -> Identity:
    """``MLFLOW_TRACKING_USERNAME`` when set (a server's convention), else the OS login."""
    named = os.environ.get("MLFLOW_TRACKING_USERNAME", "").strip()
    if named:
        return Identity(named, "environment")
    try:
        return Identity(getpass.getuser(), "login")
    except (KeyError, OSError):  # no login name in a container without a passwd entry
        return Identity("unknown", "login")


def identity(settings: Settings) -> Identity:
    """The identity the project's store knows us by: the server's authenticated user, asked
    once per process, server and credentials; ``local_user()`` for an embedded store or a
    server without authentication. Raises ``ServerUnreachableError`` or
    ``CredentialsRefusedError`` (one line each) when a server cannot say."""
    return identity_at(settings.tracking_uri)


def identity_at(tracking_uri: str) -> Identity:
    """``identity`` for a tracking URI (a client knows its URI, not the project's settings)."""
    if urlsplit(tracking_uri).scheme.lower() not in ("http", "https"):
        return local_user()
    key = (tracking_uri, _credentials_fingerprint())
    with _lock:
        found = _cache.get(key)
    if found is not None:
        return found
    found = _ask_server(tracking_uri)
    with _lock:
        _cache[key] = found
    return found


def current_user(settings: Settings | None = None) -> str:
    """The user name to record for a write to ``settings``' store (see ``identity``)."""
    return identity(settings).user if settings is not None else local_user().user


def forget() -> None:
    """Drop the remembered answers (credentials changed in this process; tests)."""
    with _lock:
        _cache.clear()


def _credentials_fingerprint() -> str:
    """A digest of the credentials in the environment, so a change of user is noticed; the
    secrets themselves are never kept."""
    parts = [
        os.environ.get(k, "")
        for k in ("MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD", "MLFLOW_TRACKING_TOKEN")
    ]
    try:  # MLflow's credentials file, read when the environment names no user
        parts.append(Path(CREDENTIALS_FILE).expanduser().read_text(errors="replace"))
    except OSError:
        parts.append("")
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def _ask_server(uri: str) -> Identity:
    from mlflow.utils.credentials import get_default_host_creds
    from mlflow.utils.rest_utils import http_request

    shown = redact_url(uri)
    try:
        response = http_request(
            get_default_host_creds(uri),
            CURRENT_USER_PATH,
            "GET",
            max_retries=0,
            timeout=PROBE_TIMEOUT,
        )
    except Exception as exc:  # requests' ConnectionError, Timeout, MLflow's wrapping of them
        raise ServerUnreachableError(
            f"the tracking server {shown} is not answering ({_reason(exc)})"
        ) from None
    if response.status_code == 200:
        try:
            user = str(response.json()["user"]["username"]).strip()
        except (ValueError, KeyError, TypeError):
            user = ""
        if user:
            return Identity(user[:200], "server")
    if response.status_code == 401:
        raise CredentialsRefusedError(refused_line(shown))
    return local_user()  # 404: a server without authentication


def refused_line(shown_uri: str) -> str:
    """The one line for credentials a server refused, naming where they came from."""
    named = os.environ.get("MLFLOW_TRACKING_USERNAME", "").strip()
    if named:
        source = f"user {named!r} from MLFLOW_TRACKING_USERNAME/MLFLOW_TRACKING_PASSWORD"
    elif os.environ.get("MLFLOW_TRACKING_TOKEN"):
        source = "the token in MLFLOW_TRACKING_TOKEN"
    elif Path(CREDENTIALS_FILE).expanduser().is_file():
        source = f"the user in {CREDENTIALS_FILE}"
    else:
        source = "no credentials (set MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD)"
    return f"the tracking server {shown_uri} refused the credentials: {source}"


def _reason(exc: BaseException) -> str:
    text = str(exc)
    for known in ("Connection refused", "timed out", "Name or service not known"):
        if known.lower() in text.lower():
            return known.lower()
    return type(exc).__name__
