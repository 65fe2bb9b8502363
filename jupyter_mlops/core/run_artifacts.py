"""A run's artifacts, listed and read only inside that run's own artifact root.

The REST API's ``runs/<id>/artifacts`` routes read here. A shared store is untrusted input: a
run's ``artifact_uri`` is followed only where the configured store serves it itself
(``store.own_artifacts``: a folder under a sqlite store's artifact root, or ``mlflow-artifacts:``
proxied by the tracking server), so our credentials go to no other host; a path is relative,
without ``..``, backslash, control character or percent-encoded escape; and on a local store
every file is checked once its symlinks are followed, since MLflow's local repository follows
them anywhere. A served store is read through MLflow's artifact repository for the run.
"""

from __future__ import annotations

import logging
import os
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import unquote

from ..config import Settings
from ..errors import MlopsError, NotFoundError
from . import store

log = logging.getLogger(__name__)
MAX_BYTES = 50 * 1024 * 1024  # the most one artifact answer holds
MAX_ENTRIES = 10_000  # entries one listing holds
MAX_PATH = 1024  # characters in an artifact path
_DRIVE = re.compile(r"^[A-Za-z]:")


class BadArtifactPath(MlopsError):
    """An artifact path that could lead out of the run's artifact root."""


class ArtifactTooLarge(MlopsError):
    """An artifact larger than the cap an answer may hold."""

    def __init__(self, path: str, size: int, limit: int) -> None:
        super().__init__(
            f"artifact {path!r} is {size:,} bytes; at most {limit // (1024 * 1024)} MB is served"
        )


class ArtifactStoreError(MlopsError):
    """The tracking server's artifact store failed to answer (the details go to the log)."""

    def __init__(self, run_id: str, exc: BaseException) -> None:
        super().__init__(
            f"the tracking server could not serve run {run_id}'s artifacts ({type(exc).__name__})"
        )


@dataclass(frozen=True)
class ArtifactFile:
    """One artifact's bytes and its name (the adapter picks the answer's headers from it)."""

    path: str
    content: bytes


def check_path(value: Any, *, allow_root: bool = False) -> str:
    """``value`` as a relative POSIX path inside an artifact root ("" for the root itself when
    ``allow_root``): no ``..``, absolute path, drive, backslash, control character or lone
    surrogate, checked again once and twice percent-decoded (``%2e%2e/``, ``%252e%252e/``)."""
    if value is None or value == "":
        if allow_root:
            return ""
        raise BadArtifactPath("give the path of an artifact (e.g. notes/readme.txt)")
    if not isinstance(value, str):
        raise BadArtifactPath(f"an artifact path is text, not {type(value).__name__}")
    if len(value) > MAX_PATH:
        raise BadArtifactPath(f"an artifact path is at most {MAX_PATH} characters")
    decoded = [value, unquote(value), unquote(unquote(value))]
    for text in decoded:
        if any(unicodedata.category(c) in ("Cc", "Cs") for c in text):
            raise BadArtifactPath("the artifact path contains a control character or a NUL")
        if "\\" in text:
            raise BadArtifactPath("the artifact path contains a backslash; use '/'")
        if text.startswith("/") or _DRIVE.match(text):
            raise BadArtifactPath("the artifact path is absolute; give it relative to the run")
        if ".." in text.split("/"):
            raise BadArtifactPath("the artifact path contains '..'; it stays inside the run")
    parts = [p for p in value.split("/") if p not in ("", ".")]
    if not parts:
        if allow_root:
            return ""
        raise BadArtifactPath("give the path of an artifact (e.g. notes/readme.txt)")
    return "/".join(parts)


def run_root(client: Any, settings: Settings, run_id: str) -> str | Path:
    """Where run ``run_id``'s artifacts are, when the configured store serves them itself: a
    real folder (symlinks followed) or an ``mlflow-artifacts:`` URI; else
    ``store.ForeignArtifactsError`` and nothing is asked of that location."""
    run = client.get_run(run_id)
    return store.own_artifacts(run.info.artifact_uri, settings, client)


def list_dir(client: Any, settings: Settings, run_id: str, path: str = "") -> dict[str, Any]:
    """One level of run ``run_id``'s artifacts under ``path`` ("" for the top): each entry's
    name, path (from the run's root), whether it is a folder and its size in bytes (None for
    a folder), folders first then by name; ``truncated`` when over ``MAX_ENTRIES``. A path that
    is not a folder of the run is a ``NotFoundError``; a symlink leading out is left out."""
    path = check_path(path, allow_root=True)
    root = run_root(client, settings, run_id)
    if isinstance(root, Path):
        entries = _local_entries(root, path, run_id)
    else:
        entries = _served(_served_entries, run_id, root, settings, path, run_id)
    entries.sort(key=lambda e: (not e["is_dir"], e["name"]))
    return {
        "run_id": run_id,
        "path": path,
        "artifacts": entries[:MAX_ENTRIES],
        "truncated": len(entries) > MAX_ENTRIES,
    }


def read_file(
    client: Any, settings: Settings, run_id: str, path: str, limit: int = MAX_BYTES
) -> ArtifactFile:
    """The bytes of run ``run_id``'s artifact ``path``: a ``NotFoundError`` when it has no such
    file (a folder included), ``ArtifactTooLarge`` over ``limit`` bytes (nothing is read)."""
    path = check_path(path)
    root = run_root(client, settings, run_id)
    if isinstance(root, Path):
        return ArtifactFile(path, _local_bytes(root, path, run_id, limit))
    return ArtifactFile(path, _served(_served_bytes, run_id, root, settings, path, run_id, limit))


# -- a local store: the filesystem, every real path checked ------------------------------------
def _local_entries(root: Path, path: str, run_id: str) -> list[dict[str, Any]]:
    folder = store.inside(root, root / path)
    if folder is None or not folder.is_dir():
        if path == "" and not (root / path).exists():  # a run that logged nothing yet
            return []
        raise NotFoundError(f"run {run_id} has no artifact folder {path!r}")
    entries: list[dict[str, Any]] = []
    try:
        with os.scandir(folder) as found:
            for entry in found:
                real = store.inside(root, Path(entry.path))
                if real is None:  # a symlink out of the run's root (or a loop): not the run's
                    continue
                try:
                    is_dir = real.is_dir()
                    size = None if is_dir else real.stat().st_size
                except OSError:  # gone while listed
                    continue
                rel = f"{path}/{entry.name}" if path else entry.name
                entries.append({"name": entry.name, "path": rel, "is_dir": is_dir, "size": size})
    except OSError as exc:
        raise NotFoundError(
            f"run {run_id}'s artifact folder {path!r} cannot be read ({type(exc).__name__})"
        ) from None
    return entries


def _local_bytes(root: Path, path: str, run_id: str, limit: int) -> bytes:
    real = store.inside(root, root / path)
    if real is None or not real.is_file():
        raise NotFoundError(f"run {run_id} has no artifact file {path!r}")
    try:
        with open(real, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            if size > limit:
                raise ArtifactTooLarge(path, size, limit)
            content = fh.read(limit + 1)
    except OSError as exc:
        message = f"run {run_id}'s artifact {path!r} cannot be read ({type(exc).__name__})"
        raise NotFoundError(message) from None
    if len(content) > limit:  # it grew while read
        raise ArtifactTooLarge(path, len(content), limit)
    return content


# -- a served store: MLflow's artifact repository on the tracking server's own proxy ------------
def _served(fn: Any, run_id: str, *args: Any) -> Any:
    """``fn(*args)``: what the server said (not found, too large) as it is, any other failure
    of its artifact store as one ``ArtifactStoreError`` line, the details logged."""
    try:
        return fn(*args)
    except (NotFoundError, ArtifactTooLarge):
        raise
    except Exception as exc:
        log.warning("jupyter-mlops: the artifacts of run %s could not be read: %s", run_id, exc)
        raise ArtifactStoreError(run_id, exc) from None


def _repository(root: str, settings: Settings) -> Any:
    from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository

    return get_artifact_repository(artifact_uri=root, tracking_uri=settings.tracking_uri)


def _served_entries(root: str, settings: Settings, path: str, run_id: str) -> list[dict[str, Any]]:
    repo = _repository(root, settings)
    listed = repo.list_artifacts(path or None) or []
    if path and not listed:  # an empty listing: an empty folder, a file, or nothing
        parent, _, name = path.rpartition("/")
        if not any(
            f.is_dir and PurePosixPath(f.path).name == name
            for f in repo.list_artifacts(parent or None) or []
        ):
            raise NotFoundError(f"run {run_id} has no artifact folder {path!r}")
    entries = []
    for info in listed:
        name = PurePosixPath(info.path).name
        rel = f"{path}/{name}" if path else name
        size = None if info.is_dir else info.file_size
        entries.append({"name": name, "path": rel, "is_dir": bool(info.is_dir), "size": size})
    return entries


def _served_bytes(root: str, settings: Settings, path: str, run_id: str, limit: int) -> bytes:
    import tempfile

    repo = _repository(root, settings)
    parent, _, name = path.rpartition("/")
    found = [
        f
        for f in repo.list_artifacts(parent or None) or []
        if PurePosixPath(f.path).name == name and not f.is_dir
    ]
    if not found:
        raise NotFoundError(f"run {run_id} has no artifact file {path!r}")
    size = found[0].file_size
    if size is not None and size > limit:
        raise ArtifactTooLarge(path, size, limit)
    with tempfile.TemporaryDirectory(prefix="mlops-artifact-") as tmp:
        local = repo.download_artifacts(path, dst_path=tmp)
        with open(local, "rb") as fh:
            content = fh.read(limit + 1)
    if len(content) > limit:
        raise ArtifactTooLarge(path, len(content), limit)
    return content
