"""``mlops.load_model(uri)``: a registered model, its files checked before any of it runs.

``mlflow.pyfunc.load_model("models:/...")`` imports the artifact's code and unpickles its model
straight from the artifact store. A shared store may be writable by people who cannot write the
registry, so here the artifact is downloaded to a private folder first, every file is compared
with the sha256 recorded on the registered version at promotion (``digests``), and only then
does MLflow load it, from that folder.
"""

from __future__ import annotations

import re
import tempfile
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...errors import MlopsError, NotFoundError
from .. import store, tags
from ..session import project_settings
from . import digests, models

if TYPE_CHECKING:
    from ...config import Settings

_URI = re.compile(r"^models:/(?P<name>[^/@]+)(?:@(?P<alias>[^/@]+)|/(?P<version>[^/@]+))/?$")


class UnverifiedModelWarning(UserWarning):
    """The version has no recorded digests (promoted before they were recorded, or not by
    jupyter-mlops): it was loaded without checking its files."""


def load_model(
    uri: str, *, tracking_uri: str | None = None, settings: Settings | None = None
) -> Any:
    """The pyfunc model behind ``models:/NAME@ALIAS`` or ``models:/NAME/VERSION`` in the project's
    store, loaded only once every file of its artifact matches the digests its version recorded
    at promotion; a file modified, missing or added is an ``ArtifactDigestError`` naming it.

    A version without recorded digests loads with an ``UnverifiedModelWarning``.
    """
    settings = settings or project_settings(tracking_uri)
    _, folder = verified_download(uri, settings)
    import mlflow.pyfunc

    with store.quiet_logs("mlflow"):
        return mlflow.pyfunc.load_model(str(folder))


def verified_download(uri: str, settings: Settings) -> tuple[Any, Path]:
    """(the registered version, a private folder holding its artifact), the files checked
    against the digests recorded at promotion; ``load_model``, ``serve`` and ``score`` share it."""
    name, alias, version = parse_uri(uri)
    client = models.registry_client(settings)
    mv = registered_version(client, name, alias, version)
    shown = f"models:/{mv.name}/{mv.version}" if alias is None else uri
    folder = _download(client, mv, settings)
    recorded = (mv.tags or {}).get(tags.ARTIFACT_SHA256)
    if recorded is None:
        warnings.warn(
            f"{shown} has no recorded file digests (promoted before they were recorded, or not "
            "by jupyter-mlops): loaded unverified",
            UnverifiedModelWarning,
            stacklevel=3,
        )
    else:
        digests.drop_load_byproducts(folder)
        digests.verify(folder, recorded, uri=shown)
    return mv, folder


def parse_uri(uri: Any) -> tuple[str, str | None, str | None]:
    """(name, alias, version) of ``models:/NAME@ALIAS`` / ``models:/NAME/VERSION``."""
    match = _URI.match(uri) if isinstance(uri, str) else None
    if match is None:
        raise MlopsError(
            f"a registered model is named models:/NAME@ALIAS or models:/NAME/VERSION, not {uri!r}"
        )
    name, alias, version = match["name"], match["alias"], match["version"]
    models.check_name(name)
    if alias is not None:
        models.check_alias(alias)
    elif version != "latest":
        version = str(models.version_number(version))
    return name, alias, version


def registered_version(client: Any, name: str, alias: str | None, version: str | None) -> Any:
    """The registered version; an unknown model, alias or version is a one-line NotFoundError."""
    from mlflow.exceptions import MlflowException

    model = models.registered_model(client, name, models.PAGE_SIZE)
    if alias is not None:
        if alias not in model.aliases:
            have = ", ".join(sorted(model.aliases)) or "none"
            raise NotFoundError(f"model {model.name!r} has no alias {alias!r}; aliases: {have}")
        version = str(model.aliases[alias])
    elif version == "latest":
        found = models.versions_of(client, model.name, models.PAGE_SIZE)
        if not found:
            raise NotFoundError(f"model {model.name!r} has no versions yet")
        return found[0]
    try:
        return client.get_model_version(model.name, version)
    except MlflowException as exc:
        if exc.error_code != models.MISSING:
            raise
    raise NotFoundError(f"model {model.name!r} has no version {version}")


def _download(client: Any, mv: Any, settings: Settings) -> Path:
    """The version's artifact, copied from the store into a new private folder (0700).

    Only from where the configured store serves artifacts itself (``store.own_artifacts``).
    The folder is kept, as MLflow keeps its own downloads: the loaded model's code is imported
    from it, and a module may import more of it later.
    """
    import mlflow.artifacts

    # a location the store does not serve itself (another host, a file elsewhere) is refused
    # before any request: MLflow would send it the store's credentials
    location = models.version_artifacts(client, mv, settings)
    folder = Path(tempfile.mkdtemp(prefix="mlops-model-"))
    with store.quiet_logs("mlflow"), store.no_progress_bars():
        local = mlflow.artifacts.download_artifacts(
            artifact_uri=str(location),
            dst_path=str(folder),
            tracking_uri=settings.tracking_uri,
            registry_uri=settings.registry_uri,
        )
    return Path(local)


__all__ = ["UnverifiedModelWarning", "load_model", "verified_download"]
