"""The sha256 of every file of a promoted model, recorded on its registered version.

A shared artifact store (a bucket, an NFS folder, an MLflow server's artifact root) may be
writable by people who cannot write the registry. ``promote`` records what every file of the
artifact hashed to on the registered version (tag ``mlops.artifact.sha256``), and ``load_model``
refuses a downloaded artifact that does not match it before any of its code is imported or
its pickle read: a file modified, removed or added since promotion is one line naming it.

The tag holds compact JSON, ``{"files": {"MLmodel": "<hex>", "code/x.py": "<hex>", ...}}``.
A manifest too long for the tag (``TAG_LIMIT``) is written into the artifact as
``MANIFEST_FILE`` instead, and the tag holds that file's own digest,
``{"manifest": "mlops_sha256.json", "sha256": "<hex>"}``. Standard library only: no MLflow.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path, PurePosixPath
from typing import Any

from ...errors import MlopsError
from .. import tags

MANIFEST_FILE = tags.DIGEST_MANIFEST
# MLflow 3 takes model-version tag values up to 100,000 characters, but a registry migrated
# before MLflow's `bda7b8c39065` (June 2025) still has a VARCHAR(5000) column: stay within it
TAG_LIMIT = 5000
REGISTERED_MODEL_META = "registered_model_meta"  # MLflow writes it into a model it downloads
_CHUNK = 1 << 20


class ArtifactDigestError(MlopsError):
    """The downloaded artifact is not what was promoted: the message names the file."""


def file_sha256(path: Path) -> str:
    """The hex sha256 of a file's bytes, read in chunks (a model pickle may be large)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def folder_sha256(folder: Path, *, skip: frozenset[str] = frozenset()) -> dict[str, str]:
    """{relative POSIX path: sha256} of every file under ``folder``, sorted by path.

    A symbolic link is refused, not followed: what it points at is not part of the artifact.
    """
    found: dict[str, str] = {}
    for top, dirs, files in os.walk(folder):
        dirs.sort()
        for name in [*dirs, *files]:
            path = Path(top) / name
            if path.is_symlink():
                raise ArtifactDigestError(
                    f"{_relative(path, folder)} is a symbolic link in the model artifact: "
                    "not loaded"
                )
        for name in sorted(files):
            path = Path(top) / name
            relative = _relative(path, folder)
            if relative not in skip:
                found[relative] = file_sha256(path)
    return dict(sorted(found.items()))


def drop_load_byproducts(folder: Path) -> None:
    """Remove from a downloaded artifact what loading writes into it, before it is checked.

    Promotion uploads neither, but MLflow loads a local store's model in place (a sqlite
    project's own artifacts) and so writes them into the store: ``__pycache__`` folders, and
    ``registered_model_meta`` (the name and version it was loaded as). A ``.pyc`` would be
    imported instead of its checked ``.py``: removed from our private copy, the checked source
    is compiled afresh; MLflow rewrites the other on its next models:/ download.
    """
    meta = folder / REGISTERED_MODEL_META
    if meta.is_symlink() or meta.is_file():
        meta.unlink()
    for top, dirs, _ in os.walk(folder):
        for name in [d for d in dirs if d == "__pycache__"]:
            path = Path(top) / name
            if path.is_symlink():
                path.unlink()
            else:
                shutil.rmtree(path)
        dirs[:] = [d for d in dirs if d != "__pycache__"]


def record(folder: Path) -> str:
    """The tag value for the artifact in ``folder`` (its files final), writing
    ``MANIFEST_FILE`` into it when the manifest would not fit in a tag.

    Once a manifest file exists (a second call after the card was rewritten) it is rewritten,
    never left stale beside an inline tag.
    """
    manifest = folder / MANIFEST_FILE
    files = folder_sha256(folder, skip=frozenset({MANIFEST_FILE}))
    inline = _compact({"files": files})
    if len(inline) <= TAG_LIMIT and not manifest.exists():
        return inline
    manifest.write_text(_compact({"files": files}), encoding="utf-8")
    return _compact({"manifest": MANIFEST_FILE, "sha256": file_sha256(manifest)})


def verify(folder: Path, tag_value: str, *, uri: str) -> int:
    """Raise ``ArtifactDigestError`` naming the first file of ``folder`` that differs from what
    ``tag_value`` recorded: modified, missing, or not recorded at all (any extra file is
    refused: Python could import it or MLflow load it). Returns the number of files checked.
    Reads and hashes files only; nothing in ``folder`` is imported or unpickled."""
    recorded = _parse(tag_value, uri)
    expected = dict(recorded_files(tag_value, uri=uri, manifest=folder / MANIFEST_FILE))
    if "manifest" in recorded:  # the manifest itself is one of the artifact's files
        expected[MANIFEST_FILE] = recorded["sha256"]
    present = folder_sha256(folder)
    for path, digest in expected.items():
        if path not in present:
            raise ArtifactDigestError(
                f"{uri}: {path} is missing from the artifact (recorded at promotion): not loaded"
            )
        if present[path] != digest:
            raise ArtifactDigestError(_changed(uri, path))
    extra = sorted(set(present) - set(expected))
    if extra:
        more = f" (and {len(extra) - 1} more)" if len(extra) > 1 else ""
        raise ArtifactDigestError(
            f"{uri}: {extra[0]}{more} was added to the artifact after promotion (not among "
            "the files recorded on the version): not loaded"
        )
    return len(expected)


def recorded_files(tag_value: str, *, uri: str, manifest: Path | None = None) -> dict[str, str]:
    """{relative path: sha256} as the version's tag recorded them, for checking some files of
    an artifact without downloading all of it; ``manifest`` is the artifact's
    ``MANIFEST_FILE`` when the tag names one (checked against the tag's digest first)."""
    recorded = _parse(tag_value, uri)
    if "manifest" not in recorded:
        return _files(recorded, uri)
    if manifest is None or not manifest.is_file():
        raise ArtifactDigestError(f"{uri}: {MANIFEST_FILE} is missing from the artifact")
    if file_sha256(manifest) != recorded["sha256"]:
        raise ArtifactDigestError(_changed(uri, MANIFEST_FILE))
    try:
        listed = json.loads(manifest.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise ArtifactDigestError(f"{uri}: {MANIFEST_FILE} is unreadable") from None
    return _files(listed, uri)


def _changed(uri: str, path: str) -> str:
    return (
        f"{uri}: {path} was modified after promotion (its sha256 differs from the one "
        "recorded on the version): not loaded"
    )


def _parse(tag_value: str, uri: str) -> dict:
    try:
        value = json.loads(tag_value)
    except ValueError:
        value = None
    if isinstance(value, dict):
        if set(value) == {"files"}:
            return value
        if (
            set(value) == {"manifest", "sha256"}
            and value["manifest"] == MANIFEST_FILE
            and _is_hex(value["sha256"])
        ):
            return value
    raise ArtifactDigestError(
        f"{uri}: the version's {tags.ARTIFACT_SHA256} tag is unreadable: not loaded"
    )


def _files(value: object, uri: str) -> dict[str, str]:
    files = value.get("files") if isinstance(value, dict) else None
    if isinstance(files, dict) and all(
        isinstance(k, str) and _safe(k) and _is_hex(v) for k, v in files.items()
    ):
        return files
    raise ArtifactDigestError(f"{uri}: the recorded file digests are unreadable: not loaded")


def _safe(path: str) -> bool:
    """A relative POSIX path inside the artifact (no '..', not absolute)."""
    pure = PurePosixPath(path)
    return bool(path) and not pure.is_absolute() and ".." not in pure.parts and "\\" not in path


def _is_hex(value: object) -> bool:
    return (
        isinstance(value, str) and len(value) == 64 and all(c in "0123456789abcdef" for c in value)
    )


def _relative(path: Path, folder: Path) -> str:
    return path.relative_to(folder).as_posix()


def _compact(value: dict) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def fetch(location: str, path: str, folder: Path, settings: Any) -> Path | None:
    """``path`` (a file or a folder) of the version artifact at ``location``, downloaded into
    ``folder``; None when the store has no such path or hands back a symlink (a shared store is
    untrusted input: what comes back is checked against the digests before it is read)."""
    import mlflow.artifacts
    from mlflow.exceptions import MlflowException

    from .. import store

    try:
        with store.quiet_logs("mlflow"), store.no_progress_bars():
            local = mlflow.artifacts.download_artifacts(
                artifact_uri=f"{location}/{path}",
                dst_path=str(folder),
                tracking_uri=settings.tracking_uri,
                registry_uri=settings.registry_uri,
            )
    except (MlflowException, OSError):
        return None
    found = Path(local)
    return None if found.is_symlink() or not found.exists() else found
