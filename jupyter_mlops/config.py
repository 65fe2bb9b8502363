"""Where settings come from: explicit option > environment > pyproject.toml > embedded default.

Only the standard library is imported here, so reading settings never pulls in MLflow.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .core.redact import redact_url
from .errors import MlopsError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

STORE_DIR = ".mlops"
CONFIG_TABLE = "jupyter-mlops"
_KNOWN_KEYS = {
    "tracking_uri",
    "registry_uri",
    "experiment",
    "dvc_remote",
    "autolog",
    "inference_log",
    "protected_aliases",
}
DEFAULT_PROTECTED_ALIASES = ("champion", "production")
INFERENCE_DIR = "inference"  # <root>/.mlops/inference: the inference log's default home
# where each address's credentials belong instead of a committed pyproject.toml
_MLFLOW_CREDENTIALS = (
    "MLFLOW_TRACKING_USERNAME/MLFLOW_TRACKING_PASSWORD or MLFLOW_TRACKING_TOKEN in the "
    "environment, or ~/.mlflow/credentials"
)
_CREDENTIALS_GO = {
    "tracking_uri": _MLFLOW_CREDENTIALS,
    "registry_uri": _MLFLOW_CREDENTIALS,
    "dvc_remote": "DVC's .dvc/config.local (dvc remote modify --local NAME ...) or the "
    "environment (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY for S3)",
}


class ConfigError(MlopsError, ValueError):
    """A setting the user can fix (bad pyproject entry, bad option)."""


def find_project_root(start: str | os.PathLike[str] | None = None) -> Path:
    """The nearest ancestor of ``start`` holding ``.mlops/`` or ``.git``, else ``start`` itself.

    A ``.mlops/`` marker wins over ``.git`` at the same level or below it, so a project can live
    in a sub-folder of a larger repository by creating ``.mlops/`` there.
    """
    here = Path(start or os.getcwd()).resolve()
    if here.is_file():
        here = here.parent
    for candidate in (here, *here.parents):
        if (candidate / STORE_DIR).is_dir() or (candidate / ".git").exists():
            return candidate
    return here


def read_pyproject(root: Path) -> dict[str, Any]:
    """The ``[tool.jupyter-mlops]`` table of ``<root>/pyproject.toml`` ({} when absent)."""
    path = root / "pyproject.toml"
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from exc
    table = data.get("tool", {}).get(CONFIG_TABLE, {})
    if not isinstance(table, dict):
        raise ConfigError(f"[tool.{CONFIG_TABLE}] in {path} must be a table")
    unknown = set(table) - _KNOWN_KEYS
    if unknown:
        raise ConfigError(
            f"unknown key(s) {', '.join(sorted(unknown))} in [tool.{CONFIG_TABLE}] of {path}; "
            f"known keys: {', '.join(sorted(_KNOWN_KEYS))}"
        )
    for key, where in _CREDENTIALS_GO.items():
        _refuse_credentials(table.get(key), key, where, path)
    return table


def _refuse_credentials(value: Any, key: str, where: str, path: Path) -> None:
    """pyproject.toml is committed and shared: an address there carrying a password or a token
    (``https://user:pass@host``, ``?token=...``) would publish it. Refused in one line that
    shows the address without the secret and says where credentials go."""
    if not isinstance(value, str):
        return
    shown = redact_url(value.strip())
    if shown == value.strip():
        return
    raise ConfigError(
        f"{key} in [tool.{CONFIG_TABLE}] of {path} carries credentials, and that file is "
        f"committed: write only the address ({shown}) and put the credentials in {where}"
    )


def _default_tracking_uri(root: Path) -> str:
    return f"sqlite:///{(root / STORE_DIR / 'mlflow.db').as_posix()}"


@dataclass(frozen=True)
class Settings:
    """Resolved settings for one project; ``source`` says where each value came from."""

    root: Path
    tracking_uri: str
    registry_uri: str
    experiment: str | None
    dvc_remote: str | None
    autolog: bool
    source: dict[str, str] = field(default_factory=dict, compare=False)
    inference_log: str = ""  # a folder or fsspec URL; "" means <root>/.mlops/inference
    # aliases promote refuses to set for a run whose checks failed, unless forced with a reason
    protected_aliases: tuple[str, ...] = DEFAULT_PROTECTED_ALIASES

    @property
    def store_dir(self) -> Path:
        return self.root / STORE_DIR

    @property
    def is_default_store(self) -> bool:
        return self.tracking_uri == _default_tracking_uri(self.root)

    @property
    def inference_log_location(self) -> str:
        """Where served and scored models log their inputs and predictions (a folder or URL)."""
        return self.inference_log or str(self.store_dir / INFERENCE_DIR)

    @property
    def artifact_root(self) -> Path | None:
        """Artifacts of a sqlite store live beside its database (``<root>/.mlops/artifacts`` for
        the default); ``None`` when a server or database elsewhere decides."""
        db = self.sqlite_path
        return db.parent / "artifacts" if db is not None else None

    @property
    def sqlite_path(self) -> Path | None:
        prefix = "sqlite:///"
        if self.tracking_uri.startswith(prefix):
            return Path(self.tracking_uri[len(prefix) :].split("?", 1)[0])
        return None


def _as_bool(value: Any, name: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"1", "true", "yes", "on"}:
        return True
    if text in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{name} must be true or false, not {value!r}")


def resolve_settings(
    start: str | os.PathLike[str] | None = None,
    *,
    tracking_uri: str | None = None,
    registry_uri: str | None = None,
    experiment: str | None = None,
    autolog: bool | None = None,
    environ: dict[str, str] | None = None,
) -> Settings:
    """Resolve every setting for the project containing ``start`` (default: the working dir)."""
    env = os.environ if environ is None else environ
    root = find_project_root(start)
    table = read_pyproject(root)
    source: dict[str, str] = {}

    def pick(name: str, option: Any, env_name: str | None, default: Any) -> Any:
        if option is not None:
            source[name] = "option"
            return option
        if env_name and env.get(env_name):
            source[name] = f"${env_name}"
            return env[env_name]
        if name in table:
            source[name] = "pyproject.toml"
            return table[name]
        source[name] = "default"
        return default

    tracking = pick("tracking_uri", tracking_uri, "MLFLOW_TRACKING_URI", None)
    if tracking is None:
        tracking = _default_tracking_uri(root)
    elif tracking.startswith("sqlite:///") and not tracking.startswith("sqlite:////"):
        # a relative sqlite path in pyproject.toml means relative to the project root
        rel = tracking[len("sqlite:///") :]
        tracking = f"sqlite:///{(root / rel).resolve().as_posix()}"
    registry = pick("registry_uri", registry_uri, "MLFLOW_REGISTRY_URI", None) or tracking
    exp = pick("experiment", experiment, "MLFLOW_EXPERIMENT_NAME", None)
    auto = _as_bool(pick("autolog", autolog, None, True), "autolog")
    remote = pick("dvc_remote", None, None, None)
    log = pick("inference_log", None, "MLOPS_INFERENCE_LOG", "")
    if log and "://" not in str(log) and not Path(str(log)).expanduser().is_absolute():
        log = str((root / str(log)).resolve())  # a relative folder means relative to the root
    protected = _aliases(pick("protected_aliases", None, None, DEFAULT_PROTECTED_ALIASES))
    return Settings(
        root=root,
        tracking_uri=str(tracking),
        registry_uri=str(registry),
        experiment=exp,
        dvc_remote=remote,
        autolog=auto,
        source=source,
        inference_log=str(log or ""),
        protected_aliases=protected,
    )


def _aliases(value: Any) -> tuple[str, ...]:
    """``protected_aliases`` as a tuple of names: a list of strings (``[]`` protects none)."""
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise ConfigError(
        f'protected_aliases must be a list of alias names such as ["champion"], not {value!r}'
    )
