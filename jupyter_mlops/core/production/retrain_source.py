"""What ``retrain`` re-runs, found before anything runs: the champion behind ``NAME@ALIAS``,
the run that promoted it, its notebook as committed at HEAD, and the DVC-tracked data it used
as HEAD's ``.dvc`` files version it.

The store only names things here (which run, which notebook path, which data paths); what runs
is the project's own git history at HEAD and what the data is comes from HEAD's ``.dvc`` files,
so nothing read from the store runs as code or picks a data version.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from ...errors import MlopsError
from ..batch.reproduce import artifact_files
from ..batch.reproduce_checks import Repository, committed_path, git, shown
from ..data import dvc_repo
from ..data.dvc_repo import DataError
from ..tags import (
    DATA_PREFIX,
    DVC_FOLDER,
    MLFLOW_SOURCE_NAME,
    NOTEBOOK_PATH,
    RUN_ID,
)

if TYPE_CHECKING:
    from ...config import Settings


@dataclass(frozen=True)
class Champion:
    """The registered version behind the alias, and the run that promoted it."""

    name: str
    alias: str
    version: str
    run: Any  # MLflow's Run

    @property
    def uri(self) -> str:
        """``models:/NAME/VERSION``: this version even after the alias moves."""
        return f"models:/{self.name}/{self.version}"

    @property
    def run_id(self) -> str:
        return self.run.info.run_id


def find_champion(model: Any, client: Any) -> Champion:
    """The version behind ``NAME@ALIAS`` (or ``models:/NAME@ALIAS``) and its promoting run (its
    ``mlops.run_id`` tag, else the version's ``run_id``: an autologged fit registers the child
    run that recorded the fit, while the notebook is the promoting run's)."""
    from mlflow.exceptions import MlflowException

    from ..registry import load

    text = model.strip() if isinstance(model, str) else ""
    uri = text if text.startswith("models:/") else f"models:/{text}"
    if "@" not in text:
        raise MlopsError(
            f"retrain needs the champion as NAME@ALIAS (for example mymodel@champion), "
            f"not {model!r}"
        )
    name, alias, _ = load.parse_uri(uri)
    mv = load.registered_version(client, name, alias, None)
    run_id = (mv.tags or {}).get(RUN_ID) or mv.run_id
    if not run_id:
        raise MlopsError(
            f"models:/{mv.name}/{mv.version} records no run that produced it: nothing to re-run"
        )
    try:
        run = client.get_run(run_id)
    except MlflowException:
        raise MlopsError(
            f"run {shown(run_id)[:40]} that produced models:/{mv.name}/{mv.version} is not in "
            "the store (deleted?): nothing to re-run"
        ) from None
    return Champion(name=mv.name, alias=str(alias), version=str(mv.version), run=run)


def head_repository(settings: Settings) -> Repository:
    """The project's git repository at HEAD: retrain runs the code committed there."""
    top = git(settings.root, "rev-parse", "--show-toplevel")
    head = git(settings.root, "rev-parse", "HEAD")
    if top.returncode != 0 or head.returncode != 0:
        raise MlopsError(
            f"{settings.root} is not in a git repository with a commit: retrain re-runs the "
            "notebook as committed at HEAD; run it in a clone of the project's repository"
        )
    prefix = git(settings.root, "rev-parse", "--show-prefix").stdout.strip()
    return Repository(Path(top.stdout.strip()), prefix, head.stdout.strip())


def notebook_at_head(repo: Repository, champion: Champion) -> str:
    """The champion's notebook, as its path in the repository at HEAD; a run that recorded no
    notebook, or one HEAD does not hold, is one line."""
    tags = dict(champion.run.data.tags)
    where = f"models:/{champion.name}/{champion.version} was promoted by run {champion.run_id}"
    recorded = tags.get(NOTEBOOK_PATH) or tags.get(MLFLOW_SOURCE_NAME) or ""
    if not recorded.endswith(".ipynb"):
        raise MlopsError(
            f"{where}, which recorded no notebook (mlops.notebook.path / mlflow.source.name): "
            "retrain re-runs a notebook, so promote the model from one (jupyter mlops run)"
        )
    path = committed_path(repo, tags)
    if path is None or git(repo.toplevel, "cat-file", "-e", f"HEAD:{path}").returncode != 0:
        raise MlopsError(
            f"{where} from notebook {shown(recorded)[:200]!r}, which is not committed at HEAD "
            f"({repo.commit[:12]}) of {repo.toplevel}: commit it, or retrain from that repository"
        )
    return path


def data_at_head(
    settings: Settings,
    repo: Repository,
    client: Any,
    champion: Champion,
    given: list[str] | None,
    notes: list[str],
) -> dict[str, str]:
    """``{.dvc file relative to the project root: its text at HEAD}`` for the data to check out:
    the paths the champion's run recorded (``mlops.data.<path>`` tags, ``dvc/*.dvc``
    artifacts), or ``given`` ones (``--data``); each versioned as HEAD's ``.dvc`` file says."""
    if given:
        paths = [_project_path(settings, p) for p in given]
    else:
        paths = _recorded_paths(client, champion)
    found: dict[str, str] = {}
    untracked = []
    for path in paths:
        rel = f"{path}.dvc"
        try:
            found[rel] = dvc_repo.git_show(repo.toplevel, repo.commit, f"{repo.prefix}{rel}")
        except DataError:
            if given:
                raise MlopsError(
                    f"--data {path}: no {rel} is committed at HEAD ({repo.commit[:12]}); give a "
                    "DVC-tracked path (mlops.data.add, then git commit its .dvc file)"
                ) from None
            untracked.append(path)
    if untracked:
        notes.append(
            f"data the champion's run used that HEAD does not track with DVC was not restored: "
            f"{shown(', '.join(untracked))}"
        )
    return found


def _recorded_paths(client: Any, champion: Champion) -> list[str]:
    """The DVC-tracked paths the run recorded, safe as relative paths (store input)."""
    paths = {k[len(DATA_PREFIX) :] for k in champion.run.data.tags if k.startswith(DATA_PREFIX)}
    for artifact in artifact_files(client, champion.run_id, DVC_FOLDER):
        if artifact.endswith(".dvc"):
            paths.add(artifact[len(DVC_FOLDER) + 1 : -len(".dvc")])
    kept = []
    for path in sorted(paths):
        pure = PurePosixPath(path)
        if path and not pure.is_absolute() and ".." not in pure.parts:
            kept.append(pure.as_posix())
    return kept


def _project_path(settings: Settings, given: str) -> str:
    """``--data PATH`` (relative to the working directory, or absolute) relative to the root."""
    absolute = Path(os.path.abspath(given)).resolve()
    if absolute.suffix == ".dvc":
        absolute = absolute.with_suffix("")
    try:
        return absolute.relative_to(settings.root.resolve()).as_posix()
    except ValueError:
        raise MlopsError(f"--data {given}: not inside the project at {settings.root}") from None
