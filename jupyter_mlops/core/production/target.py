"""Which model a production verb works on: one registered version, its files verified.

``serve`` and ``score`` hand the model to MLflow's pyfunc loader in this process or another,
so the artifact is first copied to a private folder and checked against the digests recorded
at promotion (``registry.load.verified_download``), and the inference log is told exactly which
registered name and version it is logging (an alias moves; the version it resolved to does not).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..registry import load

if TYPE_CHECKING:
    from ...config import Settings

LOG_ENV, NAME_ENV, VERSION_ENV = "MLOPS_INFERENCE_LOG", "MLOPS_MODEL_NAME", "MLOPS_MODEL_VERSION"


@dataclass(frozen=True)
class Target:
    """A registered version resolved once: ``uri`` as the user gave it, ``folder`` its files."""

    uri: str
    name: str
    version: str
    folder: Path
    run_id: str | None

    @property
    def pinned_uri(self) -> str:
        """``models:/NAME/VERSION``: the same model even after its alias moves."""
        return f"models:/{self.name}/{self.version}"

    def log_env(self, settings: Settings, *, enabled: bool = True) -> dict[str, str]:
        """The environment the loaded model reads to log (``runtime/loader.py``): the project's
        inference log location, this name and version; with ``enabled=False``, no location."""
        env = {NAME_ENV: self.name, VERSION_ENV: self.version}
        env[LOG_ENV] = settings.inference_log_location if enabled else ""
        return env


def resolve(uri: str, settings: Settings) -> Target:
    """The version behind ``models:/NAME@ALIAS`` or ``models:/NAME/VERSION``, downloaded and
    verified; an unknown name, alias or version is one ``NotFoundError`` line."""
    mv, folder = load.verified_download(uri, settings)
    return Target(
        uri=uri, name=mv.name, version=str(mv.version), folder=folder, run_id=mv.run_id or None
    )
