"""The scratch project ``reproduce`` runs in: a shared git clone at the run's commit (or an
empty folder), the recorded ``.dvc`` files written into it and their data checked out of the
project's own DVC cache (fetched from the remote only when missing), and the notebook placed.
The user's working tree, repository and cache are only read.
"""

from __future__ import annotations

import shutil
from pathlib import Path, PurePosixPath

from ...config import STORE_DIR, Settings
from ...errors import MlopsError
from ..data import dvc_repo
from ..data.dvc_repo import DataError
from ..tags import GIT_DIRTY
from .reproduce_checks import Repository, git, relative_source


def _git_or_fail(cwd: Path, *args: str) -> str:
    out = git(cwd, *args)
    if out.returncode != 0:
        reason = (out.stderr.strip().splitlines() or ["failed"])[-1]
        raise MlopsError(f"git {args[0]} in the scratch folder: {reason}")
    return out.stdout.strip()


def scratch_tree(
    settings: Settings,
    repo: Repository | None,
    tags: dict[str, str],
    parent: Path,
    notes: list[str],
    committed: bool,
) -> tuple[Path, Path | None]:
    """The scratch project root, and the clone's top (a clone at the run's commit), or an
    empty folder and ``None`` when the run recorded no commit."""
    if repo is None:
        root, top = parent / (settings.root.name or "project"), None
        notes.append(
            "the run recorded no git commit: the scratch folder holds only the notebook "
            "snapshot and the data the run recorded; other files were not restored"
        )
    else:
        top = parent / (repo.toplevel.name or "project")
        # --shared: the clone reads the project's objects in place; it writes only its own
        _git_or_fail(
            parent, "clone", "--quiet", "--shared", "--no-checkout", str(repo.toplevel), str(top)
        )
        _git_or_fail(top, "checkout", "--quiet", repo.commit)
        git(top, "remote", "remove", "origin")  # the new run carries the original's URL
        root = top / repo.prefix
        if tags.get(GIT_DIRTY) == "true" and committed:
            notes.append(
                "the run had uncommitted changes outside its notebook: files other than the "
                f"recorded data are as of commit {repo.commit[:12]}"
            )
        elif tags.get(GIT_DIRTY) == "true":
            notes.append(
                "the run had uncommitted changes: files other than the notebook snapshot and "
                f"the recorded data are as of commit {repo.commit[:12]}"
            )
    root.mkdir(parents=True, exist_ok=True)
    # A project-root marker, so the notebook's own tracking calls resolve this folder as the
    # root; runs still go to the project's store, which the runner passes to the kernel.
    marker = root / STORE_DIR
    marker.mkdir(exist_ok=True)
    (marker / ".gitignore").write_text("*\n")
    return root, top


def inside(root: Path, relative: str) -> Path:
    path = (root / relative).resolve()
    if not path.is_relative_to(root.resolve()):
        raise MlopsError(f"artifact path {relative!r} points outside the scratch folder")
    return path


def restore_data(
    settings: Settings,
    root: Path,
    recorded: dict[str, str],
    run_id: str,
    in_git: bool,
    notes: list[str],
) -> None:
    """Write the recorded ``.dvc`` files and check their data out of the project's cache."""
    if not recorded:
        return
    if not dvc_repo.is_initialized(settings.root):
        raise MlopsError(
            f"run {run_id} recorded DVC data ({', '.join(p[:-4] for p in recorded)}) but "
            f"{settings.root} has no DVC repository (.dvc/) whose cache could hold it"
        )
    cache = dvc_repo.borrow_project_config(settings.root, root, no_scm=not in_git)
    for rel, text in recorded.items():
        target = inside(root, rel)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    for rel, text in recorded.items():
        _checkout(settings, root, rel, text, cache)
    others = sorted(
        p.relative_to(root).as_posix()[:-4]
        for p in root.rglob("*.dvc")
        if p.is_file()
        and p.relative_to(root).as_posix() not in recorded
        and not {".dvc", ".git", STORE_DIR} & set(p.relative_to(root).parts)
    )
    if others:
        notes.append(
            "DVC-tracked data the run did not record was not restored: "
            f"{', '.join(others)} (record what a notebook reads with mlops.data.use)"
        )


def _md5(dvc_text: str) -> str:
    import yaml

    try:
        outs = (yaml.safe_load(dvc_text) or {}).get("outs") or [{}]
        return str(outs[0].get("md5", "unknown"))
    except (yaml.YAMLError, AttributeError):
        return "unknown"


def _checkout(settings: Settings, root: Path, rel: str, text: str, cache: Path) -> None:
    """Check one recorded version out; fetch it from the default remote when not cached."""
    path, md5 = rel[: -len(".dvc")], _md5(text)
    target = str(root / rel)
    try:
        dvc_repo.checkout(root, target)
        return
    except DataError as exc:
        failure = exc
    remote = settings.dvc_remote
    if remote is None and not dvc_repo.remotes(root).get(""):
        stem = md5.removesuffix(".dir")
        cached = any(
            (base / stem[:2] / f"{stem[2:]}").exists() for base in (cache / "files" / "md5", cache)
        )
        if cached:
            raise MlopsError(f"cannot restore {path} (md5 {md5}): {failure}") from None
        raise MlopsError(
            f"cannot restore {path} (md5 {md5}): it is not in the project's DVC cache and no "
            "DVC remote is configured to fetch it from"
        ) from None
    try:
        dvc_repo.transfer(root, "pull", [target], remote)
    except DataError as exc:
        raise MlopsError(
            f"cannot restore {path} (md5 {md5}): not in the project's DVC cache, and fetching "
            f"it from the DVC remote failed: {exc}"
        ) from None


def place_snapshot(local: Path, snapshot: str, tags: dict[str, str], root: Path) -> Path:
    """Put the (trusted) snapshot where the notebook was (relative reads work), else at the top."""
    relative = relative_source(tags) or PurePosixPath(PurePosixPath(snapshot).name)
    target = inside(root, relative.as_posix())
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(local, target)
    return target
