"""Data versioning with DVC, tied to the runs that used each version (``mlops.data``).

``add`` versions files or folders with DVC and, with a run active, logs each as an MLflow
dataset input whose digest is the DVC md5, with the table's rows and columns when the file is
a csv or parquet table. ``use`` records already-versioned data the same way. What ``reproduce``
needs to restore the exact version (the ``.dvc`` file and the git revision) goes on the run.
"""

from __future__ import annotations

import html
import json
import os
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from ...config import Settings
from ...errors import MlopsError
from .. import provenance, tags
from ..redact import redact_url
from . import dvc_repo, tables
from .dvc_repo import DataError
from .tables import describe_table

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["DataError", "DataStatus", "DataVersion", "add", "checkout", "pull", "push"]
__all__ += ["OutsideRootError", "status", "use"]

TABLE_SUFFIXES = tables.TABLE_SUFFIXES


@dataclass
class DataVersion:
    """One versioned path as DVC tracks it, with what is cheap to know about its content."""

    path: str  # relative to the project root, posix
    md5: str  # DVC's md5 (``…​.dir`` for a folder)
    dvc_file: str
    size: int | None = None
    nfiles: int | None = None
    rows: int | None = None
    columns: dict[str, str] | None = None  # name -> dtype
    git_rev: str | None = None
    remote_url: str | None = None
    user: str | None = None  # who versioned it (the .dvc file's meta.versioned_by)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class AddResult:
    versions: list[DataVersion]
    notes: list[str] = field(default_factory=list)
    run_id: str | None = None

    def __repr__(self) -> str:
        lines = list(self.notes)
        for v in self.versions:
            shape = f", {v.rows} rows x {len(v.columns)} columns" if v.columns else ""
            lines.append(f"{v.path}: md5 {v.md5}{shape}")
        return "\n".join(lines)


class OutsideRootError(DataError):
    """A path, or a symbolic link inside a folder, that leads outside the project root."""


# -- paths ------------------------------------------------------------------------------------
def _settings(explicit: Settings | None = None) -> Settings:
    """``explicit`` when given (the server names its project); else the active run's project,
    else the notebook's, else the working directory's."""
    if explicit is not None:
        return explicit
    from ..session import project_settings

    return project_settings()


def _relative(root: Path, path: str | Path, must_exist: bool = True) -> Path:
    """``path`` relative to the project root; a clear error if it is outside or missing."""
    if "\x00" in str(path):  # the OS refuses it with a ValueError from deep inside
        raise DataError(f"{str(path)!r} contains a NUL character; it cannot name a file")
    given = Path(path)
    absolute = (given if given.is_absolute() else Path.cwd() / given).resolve()
    try:
        rel = absolute.relative_to(root)
    except ValueError:
        raise OutsideRootError(f"{path} is outside the project root {root}") from None
    if rel == Path("."):
        raise DataError("version files or folders inside the project, not its root")
    if rel.parts[0] in {".git", ".dvc", ".mlops"}:
        raise DataError(f"{path} is inside {rel.parts[0]}/, which is not data")
    if must_exist and not absolute.exists():
        raise DataError(f"no such file or folder: {path}")
    return rel


def check_links(root: Path, rel: Path) -> None:
    """Refuse a folder holding a symbolic link that leads outside the project root.

    DVC hashes and caches what a link points at, so such a link would copy a file from
    anywhere on the machine into the cache (and on to the remote). Links are not followed
    while walking; each one is resolved and must stay under ``root``.
    """
    top = root / rel
    if not top.is_dir():
        return
    for folder, dirs, files in os.walk(top, followlinks=False):
        for name in sorted(dirs + files):
            link = Path(folder, name)
            if not link.is_symlink():
                continue
            try:
                target = link.resolve()
            except (OSError, RuntimeError):  # a loop: DVC could not hash it either
                raise DataError(
                    f"{link.relative_to(root).as_posix()} is a symbolic link that cannot be "
                    "followed (a loop?); remove it"
                ) from None
            if target != root and root not in target.parents:
                raise OutsideRootError(
                    f"{link.relative_to(root).as_posix()} is a symbolic link leading outside the "
                    f"project root {root}; remove it or copy the data into the project"
                )


def _dvc_file(root: Path, rel: Path) -> Path:
    return root / rel.parent / f"{rel.name}.dvc"


def _read_dvc_file(root: Path, rel: Path) -> dict[str, Any]:
    """The first output of ``rel``'s ``.dvc`` file, with the stage's ``meta`` under
    ``"meta"`` (``{}`` when none)."""
    import yaml

    path = _dvc_file(root, rel)
    if not path.is_file():
        raise DataError(f"{rel.as_posix()} is not versioned with DVC (use data add)")
    content = yaml.safe_load(path.read_text()) or {}
    outs = content.get("outs") or []
    if not outs or "md5" not in outs[0]:
        raise DataError(f"{path.relative_to(root)} has no md5: is it a DVC-tracked output?")
    meta = content.get("meta")
    return {**outs[0], "meta": meta if isinstance(meta, dict) else {}}


def _versioning_user(settings: Settings) -> str:
    """Who versions data now: the store's authenticated user; when the store cannot say (a
    server down: versioning needs no server), ``MLFLOW_TRACKING_USERNAME`` or the login."""
    from .. import identity

    try:
        return identity.current_user(settings)
    except MlopsError:
        return identity.local_user().user


# -- versions ------------------------------------------------------------------------------
def _version(
    root: Path, rel: Path, table: tuple | None = None, configured: str | None = None
) -> DataVersion:
    """What DVC tracks at ``rel``; its remote is the one ``dvc_remote`` names (by name or
    address), else DVC's default."""
    out = _read_dvc_file(root, rel)
    rows, columns = table if table is not None else describe_table(root / rel)
    git = provenance.git_info(root)
    default_remote = configured if dvc_repo.is_url(configured) else None
    if default_remote is None and dvc_repo.is_initialized(root):
        remotes = dvc_repo.remotes(root)
        default_remote = remotes.get(configured or remotes.get("", ""), None)
    return DataVersion(
        path=rel.as_posix(),
        md5=str(out["md5"]),
        dvc_file=_dvc_file(root, rel).relative_to(root).as_posix(),
        size=out.get("size"),
        nfiles=out.get("nfiles"),
        rows=rows,
        columns=columns,
        git_rev=git.get(tags.GIT_COMMIT),
        remote_url=redact_url(default_remote),  # recorded on run inputs: no credentials
        user=_recorded_user(out["meta"].get("versioned_by")),
    )


def _recorded_user(value: Any) -> str | None:
    """``meta.versioned_by`` as read from a ``.dvc`` file (untrusted text): a short name."""
    if not isinstance(value, str) or not value.strip():
        return None
    return " ".join(value.split())[:200]


def _log_inputs(versions: list[DataVersion], context: str) -> str | None:
    """Record the versions on the active run as dataset inputs plus their ``.dvc`` files."""
    from ..session import session
    from ..tracking import active_run

    run = active_run() if versions else None  # inside `jupyter mlops run`, the runner's run
    if run is None:
        return None
    from mlflow.entities import Dataset, DatasetInput, InputTag

    client, root = run.client, run.settings.root
    inputs = []
    for v in versions:
        source = {
            "path": v.path,
            "git_rev": v.git_rev,
            "remote": v.remote_url,
            "versioned_by": v.user,
        }
        schema = profile = None
        if v.columns:
            colspec = [{"name": n, "type": tables.mlflow_type(t)} for n, t in v.columns.items()]
            schema = json.dumps({"mlflow_colspec": colspec})
            profile = json.dumps({"num_rows": v.rows, "num_columns": len(v.columns)})
        elif v.nfiles is not None:
            profile = json.dumps({"num_files": v.nfiles, "size": v.size})
        dataset = Dataset(
            name=v.path,
            digest=v.md5,
            source_type="dvc",
            source=json.dumps({k: val for k, val in source.items() if val}),
            schema=schema,
            profile=profile,
        )
        inputs.append(DatasetInput(dataset, tags=[InputTag(tags.MLFLOW_DATASET_CONTEXT, context)]))
    client.log_inputs(run.run_id, datasets=inputs)
    for v in versions:
        # exactly what `reproduce` restores: the .dvc file as it was, under dvc/<path>.dvc
        text = (root / v.dvc_file).read_text()
        client.log_text(run.run_id, text, f"{tags.DVC_FOLDER}/{v.dvc_file}")
    data_tags = [(tags.data_tag(v.path), v.md5) for v in versions]
    session.buffer.add(client, run.run_id, tags=data_tags)
    return run.run_id


def add(
    *paths: str | Path,
    message: str | None = None,
    context: str = "training",
    settings: Settings | None = None,
    link_run: bool = True,
) -> AddResult:
    """Version ``paths`` with DVC (initialising it if needed) and link them to the active run.

    In a git repository the ``.dvc`` files and ``.gitignore`` changes are staged, not committed.
    ``settings`` names the project explicitly; ``link_run=False`` records no run input (the
    server has no run of its own and must not attach to one).
    """
    if not paths:
        raise DataError("name at least one file or folder to add")
    settings = _settings(settings)
    root = settings.root
    rels = [_relative(root, p) for p in paths]  # every path checked before anything changes
    for rel in rels:
        check_links(root, rel)
    notes = []
    if not dvc_repo.is_initialized(root):
        notes.append(dvc_repo.init(root))
    with ThreadPoolExecutor(max_workers=1) as pool:
        # profile tables while DVC hashes them: both read the file, on two cores
        tables = [pool.submit(describe_table, root / rel) for rel in rels]
        dvc_repo.add(root, rels)
        described = [t.result() for t in tables]
    user = _versioning_user(settings)
    for rel in rels:
        dvc_repo.set_versioned_by(_dvc_file(root, rel), user)
    versions = [
        _version(root, rel, table, settings.dvc_remote)
        for rel, table in zip(rels, described, strict=True)
    ]
    if dvc_repo.has_git(root):
        meta = []
        for rel in rels:
            meta += [_dvc_file(root, rel).relative_to(root).as_posix()]
            meta += [(rel.parent / ".gitignore").as_posix()]
        staged = dvc_repo.stage(root, meta)
        commit = f"git commit -m {json.dumps(message or 'Version ' + ', '.join(map(str, paths)))}"
        notes.append(f"Staged {', '.join(staged)} in git; to record this data version: {commit}")
    run_id = _log_inputs(versions, context) if link_run else None
    return AddResult(versions=versions, notes=notes, run_id=run_id)


def use(*paths: str | Path, context: str = "training") -> list[DataVersion]:
    """Record already-versioned data as inputs of the active run (no DVC write)."""
    from ...errors import NoActiveRunError
    from ..tracking import active_run

    if not paths:
        raise DataError("name at least one versioned file or folder")
    settings = _settings()
    rels = [_relative(settings.root, p, must_exist=False) for p in paths]
    versions = [_version(settings.root, rel, None, settings.dvc_remote) for rel in rels]
    if active_run() is None:
        raise NoActiveRunError("no active run to record the data on: start one first")
    _log_inputs(versions, context)
    return versions


# -- status --------------------------------------------------------------------------------
STATES = ("in sync", "modified", "missing", "not in cache", "not pushed", "not committed")


@dataclass
class DataStatus:
    """Per tracked path: in sync, modified, missing, not in cache, not pushed or not committed."""

    root: str
    remote: str | None
    paths: dict[str, str]

    @property
    def ok(self) -> bool:
        return all(state == "in sync" for state in self.paths.values())

    def to_dict(self) -> dict[str, Any]:
        return {"root": self.root, "remote": self.remote, "ok": self.ok, "paths": self.paths}

    def to_frame(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame(
            {"path": list(self.paths), "state": list(self.paths.values())},
            columns=["path", "state"],
        )

    def __repr__(self) -> str:
        if not self.paths:
            return "No DVC-tracked data."
        width = max(len(p) for p in self.paths)
        return "\n".join(f"{p:<{width}}  {s}" for p, s in self.paths.items())

    def _repr_html_(self) -> str:
        if not self.paths:
            return "<p>No DVC-tracked data.</p>"
        colours = {"in sync": "#188038", "modified": "#d93025", "missing": "#d93025"}
        rows = "".join(
            f"<tr><td><code>{html.escape(p)}</code></td>"
            f"<td style='color:{colours.get(s, '#b06000')}'>{html.escape(s)}</td></tr>"
            for p, s in self.paths.items()
        )
        remote = f" (remote: {html.escape(self.remote)})" if self.remote else " (no remote)"
        return (
            f"<table><thead><tr><th>path</th><th>state{remote}</th></tr></thead>"
            f"<tbody>{rows}</tbody></table>"
        )


def _tracked_paths(root: Path) -> list[str]:
    found = []
    for dvc_file in sorted(root.rglob("*.dvc")):
        if any(part in {".dvc", ".git", ".mlops"} for part in dvc_file.relative_to(root).parts):
            continue
        found.append(dvc_file.relative_to(root).with_suffix("").as_posix())
    return found


def status(
    remote: str | None = None, check_remote: bool = True, *, settings: Settings | None = None
) -> DataStatus:
    """Where each tracked path stands. Takes no DVC lock; asks the remote when there is one.
    ``settings`` names the project explicitly (default: the active run's or notebook's)."""
    settings = _settings(settings)
    root = settings.root
    if not dvc_repo.is_initialized(root):
        return DataStatus(root=str(root), remote=None, paths={})
    remote = remote or settings.dvc_remote
    remotes = dvc_repo.remotes(root)
    name = remote or remotes.get("")
    check = check_remote and bool(name)
    raw = dvc_repo.data_status(root, remote=remote, check_remote=check)

    def listed(*keys: str) -> set[str]:
        section: Any = raw
        for key in keys:
            section = section.get(key, {}) if isinstance(section, dict) else {}
        return {p.rstrip("/") for p in (section or [])}

    modified = listed("uncommitted", "modified") | listed("uncommitted", "added")
    missing = listed("uncommitted", "deleted")
    not_in_cache = listed("not_in_cache")
    not_pushed = listed("not_in_remote")
    committed = (
        listed("committed", "added") | listed("committed", "modified") | listed("git", "dirty")
    )
    paths = {}
    for path in _tracked_paths(root):
        if path in missing:
            paths[path] = "missing"
        elif path in modified:
            paths[path] = "modified"
        elif path in not_in_cache:
            paths[path] = "not in cache"
        elif path in not_pushed:
            paths[path] = "not pushed"
        elif path in committed:
            paths[path] = "not committed"
        else:
            paths[path] = "in sync"
    return DataStatus(root=str(root), remote=redact_url(name), paths=paths)


# -- moving data ---------------------------------------------------------------------------
def _remote(root: Path, settings: Settings, remote: str | None) -> str | None:
    if not dvc_repo.is_initialized(root):
        raise DataError("DVC is not initialised here: version data with data add first")
    remote = remote or settings.dvc_remote
    remotes = dvc_repo.remotes(root)
    if remote is None and not remotes.get(""):
        raise DataError(
            "no DVC remote configured: add one with `dvc remote add -d NAME URL` "
            "(or set dvc_remote in [tool.jupyter-mlops])"
        )
    if remote is not None and remote not in remotes and not dvc_repo.is_url(remote):
        known = ", ".join(k for k in remotes if k) or "none"
        raise DataError(
            f"no DVC remote named {remote!r} (configured: {known}; a remote may also be given "
            "by its URL, such as s3://bucket/path)"
        )
    return remote


def _transfer(
    direction: Literal["push", "pull"], paths: tuple[str | Path, ...], remote: str | None
) -> Any:
    settings = _settings()
    root = settings.root
    name = _remote(root, settings, remote)
    targets = [_relative(root, p, must_exist=False).as_posix() for p in paths]
    return dvc_repo.transfer(root, direction, targets, name)


def push(*paths: str | Path, remote: str | None = None) -> int:
    """Upload tracked data to the remote; return how many files were sent."""
    return _transfer("push", paths, remote)


def pull(*paths: str | Path, remote: str | None = None) -> dict[str, Any]:
    """Download tracked data from the remote into the cache and the workspace."""
    return _transfer("pull", paths, remote)


def checkout(path: str | Path, rev: str | None = None) -> DataVersion:
    """Restore ``path`` to its tracked version (or the one recorded at git ``rev``).

    Local edits are not lost: a modified workspace copy is moved to ``.mlops/backup/`` first.
    """
    settings = _settings()
    root = settings.root
    rel = _relative(root, path, must_exist=False)
    dvc_file = _dvc_file(root, rel)
    old_text = dvc_file.read_text() if dvc_file.is_file() else None
    if rev is not None:
        new_text = dvc_repo.git_show(root, rev, dvc_file.relative_to(root).as_posix())
    elif old_text is None:
        raise DataError(f"{rel.as_posix()} is not versioned with DVC (use data add)")
    current = status(check_remote=False).paths.get(rel.as_posix())
    target = root / rel
    if target.exists() and (current in {"modified"} or rev is not None):
        stamp = time.strftime("%Y%m%d-%H%M%S")
        backup = settings.store_dir / "backup" / f"{rel.as_posix()}.{stamp}"
        backup.parent.mkdir(parents=True, exist_ok=True)
        if target.is_dir():
            shutil.copytree(target, backup)
        else:
            shutil.copy2(target, backup)
    if rev is not None:
        dvc_file.write_text(new_text)
    try:
        dvc_repo.checkout(root, rel.as_posix())
    except DataError:
        if rev is not None and old_text is not None:
            dvc_file.write_text(old_text)  # leave the workspace as it was
        raise
    return _version(root, rel)
