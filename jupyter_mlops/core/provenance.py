"""What made a run: the notebook, the git commit, the environment, and the process that owns it.

MLflow alone records ``ipykernel_launcher.py`` as the source of a notebook run and no commit;
these tags say which notebook it was, at which commit, with which packages.
"""

from __future__ import annotations

import json
import os
import platform
import socket
import subprocess
import sys
from importlib import metadata
from pathlib import Path

from ..config import Settings
from . import identity
from . import tags as names
from .redact import redact_url

KEY_PACKAGES = (
    "jupyter-mlops",
    "mlflow",
    "scikit-learn",
    "pandas",
    "numpy",
    "scipy",
    "statsmodels",
    "dvc",
    "ipykernel",
)

TAG_NOTEBOOK = names.NOTEBOOK_PATH  # kept for reproduce, which reads it here


def notebook_path(user_ns: dict | None = None) -> Path | None:
    """The notebook this kernel runs, as far as the kernel can know it.

    Jupyter sets ``JPY_SESSION_NAME`` (a full path in current jupyter_server, relative to the
    server's root in older ones); VS Code puts ``__vsc_ipynb_file__`` in the user namespace.
    """
    if user_ns:
        vsc = user_ns.get("__vsc_ipynb_file__")
        if vsc and Path(vsc).is_file():
            return Path(vsc).resolve()
    value = os.environ.get("JPY_SESSION_NAME", "")
    if not value.endswith(".ipynb"):
        return None
    path = Path(value)
    if path.is_absolute():
        return path
    cwd = Path.cwd()
    for base in (cwd, *cwd.parents):
        candidate = base / path
        if candidate.is_file():
            return candidate.resolve()
    return None


def _git(root: Path, *args: str) -> str | None:
    try:
        out = subprocess.run(
            ["git", *args],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip()


def git_info(root: Path) -> dict[str, str]:
    """Commit, branch, remote and dirty flag of the repository at ``root`` ({} if none)."""
    commit = _git(root, "rev-parse", "HEAD")
    if not commit:
        return {}
    tags = {names.MLFLOW_GIT_COMMIT: commit, names.GIT_COMMIT: commit}
    branch = _git(root, "rev-parse", "--abbrev-ref", "HEAD")
    if branch and branch != "HEAD":
        tags[names.MLFLOW_GIT_BRANCH] = branch
    remote = _git(root, "config", "--get", "remote.origin.url")
    if remote:
        tags[names.MLFLOW_GIT_REPO_URL] = redact_url(remote)  # never a token (issue 16)
    status = _git(root, "status", "--porcelain")
    tags[names.GIT_DIRTY] = "true" if status else "false"
    return tags


def package_versions(names: tuple[str, ...] = KEY_PACKAGES) -> dict[str, str]:
    versions = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def environment_tags() -> dict[str, str]:
    return {
        names.PYTHON_VERSION: platform.python_version(),
        names.PYTHON_EXECUTABLE: sys.executable,
        names.PLATFORM: platform.platform(),
        names.PACKAGES: json.dumps(package_versions(), sort_keys=True),
    }


def process_tags() -> dict[str, str]:
    """Who owns the run, so a later call can tell whether that process is still alive."""
    import psutil

    pid = os.getpid()
    return {
        names.PROCESS_PID: str(pid),
        names.PROCESS_HOST: socket.gethostname(),
        names.PROCESS_STARTED: f"{psutil.Process(pid).create_time():.3f}",
    }


def source_tags(notebook: Path | None, root: Path) -> dict[str, str]:
    if notebook is None:
        script = Path(sys.argv[0]).name if sys.argv and sys.argv[0] else "<interactive>"
        return {names.MLFLOW_SOURCE_TYPE: "LOCAL", names.MLFLOW_SOURCE_NAME: script}
    try:
        shown = notebook.relative_to(root).as_posix()
    except ValueError:
        shown = str(notebook)
    return {
        names.MLFLOW_SOURCE_TYPE: "NOTEBOOK",
        names.MLFLOW_SOURCE_NAME: shown,
        names.NOTEBOOK_PATH: str(notebook),
    }


def run_tags(notebook: Path | None, settings: Settings) -> dict[str, str]:
    """Every provenance tag for a run started now in this process."""
    root = settings.root
    tags = source_tags(notebook, root)
    # who logged it, where MLflow records it (reproduce names them): the user a shared server
    # authenticated, else the local login (identity.py)
    tags[names.MLFLOW_USER] = identity.current_user(settings)
    tags.update(git_info(root))
    tags.update(environment_tags())
    tags.update(process_tags())
    return tags


def code_tags(tags: dict[str, str]) -> dict[str, str]:
    """The tags of ``tags`` that say where a run's code came from (notebook, git, user), for the
    child runs it makes: a fit or a segment was made by the same code."""
    return {k: v for k, v in tags.items() if k.startswith(names.CODE_TAG_PREFIXES)}
