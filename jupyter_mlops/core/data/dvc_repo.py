"""Every use of DVC's ``dvc.repo.Repo`` lives here: its only write API, internal but stable.

Reads that need no lock (``data_status``) never take DVC's repository lock. Writes wait a
bounded time for a lock held by another process and then say so; the lock file is DVC's and is
never removed here. A ``DvcException`` becomes a one-line ``DataError``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import subprocess
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Literal, TypeVar

from ...errors import MlopsError
from ..redact import redact_text
from ..store import quiet_logs

T = TypeVar("T")
LOCK_WAIT_SECONDS = 30.0
URL_REMOTE = "pyproject-url"  # the remote made for one call from an address (``by_url``)
GIT_LOCK_WAIT_SECONDS = 5.0  # git holds its index lock for moments; a longer hold is a stuck git


class DataError(MlopsError):
    """A DVC operation that cannot be done as asked; the message says why in one line."""


class DataLockedError(DataError):
    """Another DVC process kept the repository lock past the wait; trying later can succeed."""


def is_initialized(root: Path) -> bool:
    return (root / ".dvc").is_dir()


def has_git(root: Path) -> bool:
    return (root / ".git").exists()


@contextlib.contextmanager
def _dvc_errors(what: str) -> Iterator[None]:
    """DVC's errors as one line, and none of its console hints: we say what to do ourselves."""
    from dvc.exceptions import DvcException

    try:
        with quiet_logs("dvc"):
            yield
    except DvcException as exc:
        text = _one_line(exc)
        if "expected 'url'" in text:
            # DVC reads .dvc/config as committed in git next to the uncommitted config.local
            text += "; commit .dvc/config with the remote's url in it (git add .dvc/config)"
        raise DataError(f"{what}: {text}") from exc


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    cause = exc.__cause__
    if cause is not None and str(cause) and str(cause) not in text:
        text = f"{text} ({' '.join(str(cause).split())})"
    return redact_text(text) or type(exc).__name__  # a remote's url may carry a token


def init(root: Path) -> str:
    """Initialise DVC at ``root`` (with git when the root is a git repository); say what."""
    from dulwich.file import FileLocked
    from dvc.repo import Repo

    scm = has_git(root)
    with _dvc_errors("dvc init"):
        try:
            Repo.init(root_dir=str(root), no_scm=not scm)
        except FileLocked as exc:
            # DVC stages its new files last, through dulwich, which fails on a git index held
            # by another git process; DVC is initialised by then: ``stage`` below waits for it
            if not str(exc.lockfilename).endswith("index.lock"):
                raise
    if scm:
        stage(root, [".dvc/config", ".dvc/.gitignore", ".dvcignore"])
        return f"Initialised DVC in {root} (staged .dvc/ and .dvcignore in git)."
    return f"Initialised DVC in {root} without git (no git repository here)."


@contextlib.contextmanager
def open_repo(root: Path, config: dict | None = None) -> Iterator[Any]:
    from dvc.repo import Repo

    with _dvc_errors("cannot open the DVC repository"):
        repo = Repo(str(root), config=config)
    try:
        yield repo
    finally:
        repo.close()


def _waiting_for_lock(fn: Callable[[], T], what: str, wait: float | None, repo: Any = None) -> T:
    from dvc.lock import LockError
    from dvc.rwlock import RWLockFileCorruptedError

    wait = LOCK_WAIT_SECONDS if wait is None else wait
    deadline = time.monotonic() + wait
    torn = repaired = False
    while True:
        try:
            with _dvc_errors(what):
                if torn:
                    _reset_torn_rwlock(repo)
                    torn = False
                return fn()
        except DataError as exc:
            if isinstance(exc.__cause__, RWLockFileCorruptedError) and repo and not repaired:
                torn = repaired = True
                continue
            if not isinstance(exc.__cause__, LockError):
                raise
            if time.monotonic() >= deadline:
                raise DataLockedError(
                    f"{what}: another DVC process holds the repository lock "
                    f"(.dvc/tmp/lock) and did not finish within {wait:.0f} s; try again later"
                ) from exc.__cause__
            time.sleep(0.5)


def _reset_torn_rwlock(repo: Any) -> None:
    """Reset DVC's stage lock table when a killed process left it half-written.

    DVC rewrites ``.dvc/tmp/rwlock`` in place (truncate, then write), so a process killed in
    between leaves an empty or cut-off file and every later ``add`` fails on it. Under the
    repository lock and the table's own guard, an unreadable table can only be such a remnant:
    its writer is dead and so are the stage locks it listed. Write an empty table atomically.
    """
    from dvc.lock import make_lock

    tmp_dir = repo.tmp_dir
    path = Path(tmp_dir) / "rwlock"
    guard = make_lock(
        os.path.join(tmp_dir, "rwlock.lock"),
        tmp_dir=tmp_dir,
        hardlink_lock=repo.config["core"].get("hardlink_lock", False),
    )
    with repo.lock, guard:
        try:
            json.loads(path.read_text(encoding="utf-8"))
            return  # another process repaired it meanwhile
        except FileNotFoundError:
            return
        except ValueError:
            pass
        fresh = path.with_name(f"rwlock.{os.getpid()}.tmp")
        fresh.write_text("{}", encoding="utf-8")
        os.replace(fresh, path)
    warnings.warn(
        "jupyter-mlops: reset DVC's stage lock table .dvc/tmp/rwlock, which an interrupted "
        "DVC process had left half-written",
        stacklevel=4,
    )


def _keep_workspace_copies(root: Path) -> dict | None:
    """Config override so ``add`` never removes a workspace file to re-link it from the cache.

    With DVC's default link types (reflink, then copy) ``dvc add`` deletes the workspace file
    and copies it back from the cache; a kill inside that window leaves the file missing from
    the workspace. When the user chose no link type, ask for plain copies: DVC then keeps the
    workspace file as it is, and the cache object is written next to it through a temp file.
    """
    from dvc.config import Config

    with _dvc_errors("cannot read the DVC config"):
        chosen = Config(dvc_dir=str(root / ".dvc"))["cache"].get("type")
    return None if chosen else {"cache": {"type": "copy"}}


def add(root: Path, paths: list[Path], wait: float | None = None) -> None:
    """``dvc add`` the paths (relative to ``root``), never removing a workspace file."""
    with open_repo(root, config=_keep_workspace_copies(root)) as repo:
        targets = [str(root / p) for p in paths]
        _waiting_for_lock(lambda: repo.add(targets), "dvc add", wait, repo)


def set_versioned_by(dvc_file: Path, user: str) -> None:
    """Write ``meta: {versioned_by: user}`` into a ``.dvc`` file just written by ``add``: DVC
    keeps a stage's ``meta`` across re-adds, so it is set again at every add (the file's other
    keys and comments stay as DVC wrote them)."""
    from dvc.utils.serialize import modify_yaml

    with _dvc_errors(f"cannot record who versioned {dvc_file.name}"), modify_yaml(dvc_file) as d:
        meta = d.get("meta")
        if not isinstance(meta, dict):
            meta = {}
        meta["versioned_by"] = user
        d["meta"] = meta


def data_status(root: Path, remote: str | None, check_remote: bool) -> dict[str, Any]:
    """DVC's lock-free data status: committed/uncommitted changes, not in cache, not in remote.
    ``remote`` is a remote's name or URL (``by_url``)."""
    remote, config = by_url(root, remote) if check_remote else (remote, None)
    with open_repo(root, config=config) as repo, _dvc_errors("dvc data status"):
        # remote_refresh: ask the remote itself, not DVC's cached listing of it, which a push in
        # this same process leaves stale
        return repo.data_status(
            granular=False,
            untracked_files="no",
            not_in_remote=check_remote,
            remote_refresh=check_remote,
            remote=remote,
        )


def transfer(
    root: Path,
    direction: Literal["push", "pull"],
    targets: list[str] | None,
    remote: str | None,
    wait: float | None = None,
) -> Any:
    """``dvc push`` or ``dvc pull``, with DVC's progress bars on for long transfers.
    ``remote`` is a remote's name or URL (``by_url``)."""
    name, config = by_url(root, remote)
    with open_repo(root, config=config) as repo, _progress(), _failures() as failed:
        method = repo.push if direction == "push" else repo.pull
        where = _remote_url(repo, name)
        what = f"dvc {direction}"
        if where:
            what += f" {'to' if direction == 'push' else 'from'} {where}"
        try:
            return _waiting_for_lock(
                lambda: method(targets=targets or None, remote=name), what, wait, repo
            )
        except DataError as exc:
            if not failed.first or failed.first in str(exc):
                raise
            raise DataError(f"{exc}: {redact_text(failed.first)}") from exc.__cause__


def is_url(remote: str | None) -> bool:
    """Whether a configured remote is written as an address (``s3://bucket/path``), not a name."""
    return bool(remote) and "://" in str(remote)


def by_url(root: Path, remote: str | None) -> tuple[str | None, dict | None]:
    """The DVC remote name and config override for ``remote`` (a name, a URL or None).

    A team commits ``dvc_remote = "s3://bucket/path"``: the configured remote whose url is that
    address is used (its endpoint and credentials in ``config.local`` apply); without one, a
    remote made of the address alone for this call, whose S3 endpoint and keys come from the
    environment as botocore reads them (``AWS_ENDPOINT_URL_S3``/``AWS_ENDPOINT_URL``,
    ``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``, ``AWS_PROFILE``). Nothing is written to
    DVC's config files.
    """
    if not is_url(remote):
        return remote, None
    wanted = str(remote).rstrip("/")
    for name, url in remotes(root).items():
        if name and url.rstrip("/") == wanted:
            return name, None
    return URL_REMOTE, {"remote": {URL_REMOTE: {"url": str(remote)}}}


def _remote_url(repo: Any, name: str | None) -> str:
    """The URL of remote ``name`` (DVC's default when None) as shown: no credentials."""
    section = repo.config["remote"].get(name or repo.config["core"].get("remote") or "", {})
    return redact_text(str(section.get("url", ""))) or ""


class _FirstFailure(logging.Handler):
    """Keeps the first file transfer DVC's libraries logged as failed (its reason, one line)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.first: str | None = None

    def emit(self, record: logging.LogRecord) -> None:
        if self.first is None:
            exc = record.exc_info[1] if record.exc_info else None
            self.first = " ".join(str(exc or record.getMessage()).split())


@contextlib.contextmanager
def _failures() -> Iterator[_FirstFailure]:
    """DVC's transfer libraries log each failed file with its traceback and then raise only
    "N files failed to upload": keep the first reason (a bucket that does not exist) for our
    one line, and let no traceback reach the user's cell or terminal."""
    handler = _FirstFailure()
    # ``import dvc`` gives these loggers console handlers of their own (``dvc.logger.setup``)
    loggers = [logging.getLogger(name) for name in ("dvc_objects", "dvc_data")]
    saved = [(logger.handlers[:], logger.propagate) for logger in loggers]
    for logger in loggers:
        logger.handlers[:] = [handler]
        logger.propagate = False
    try:
        yield handler
    finally:
        for logger, (handlers, propagate) in zip(loggers, saved, strict=True):
            logger.handlers[:] = handlers
            logger.propagate = propagate


def checkout(root: Path, target: str, wait: float | None = None) -> dict:
    with open_repo(root) as repo:
        return _waiting_for_lock(
            lambda: repo.checkout(targets=[target], force=True), "dvc checkout", wait, repo
        )


def remotes(root: Path) -> dict[str, str]:
    """Configured remotes (name -> url) and which one is the default (under key '')."""
    with open_repo(root) as repo:
        config = repo.config
        found = {name: section.get("url", "") for name, section in config["remote"].items()}
        default = config["core"].get("remote")
        if default:
            found[""] = default
        return found


def cache_dir(root: Path) -> Path:
    """Where DVC keeps md5-addressed objects (``<cache>/files/md5``)."""
    with open_repo(root) as repo:
        return Path(repo.cache.local.path)


def borrow_project_config(project: Path, scratch: Path, *, no_scm: bool) -> Path:
    """Make the DVC repository at ``scratch`` use the project's cache and remotes; return the
    cache's folder.

    ``reproduce`` checks data out in a throwaway copy of the project: objects come from (and
    new ones go to) the project's own content-addressed cache, never a second one; files are
    copied out of it (reflinked where the filesystem can), so nothing in the scratch tree is a
    link a notebook could write through into the cache. DVC's per-repository state and index
    go inside the scratch folder, which is deleted with it. A scratch tree without ``.dvc/``
    gets a bare one (what ``dvc init`` makes, minus its entry in DVC's machine-wide state).
    """
    from dvc.config import Config

    with open_repo(project) as repo:
        cache = str(repo.cache.local_cache_dir)
        remotes = {name: dict(section) for name, section in repo.config["remote"].items()}
        default = repo.config["core"].get("remote")
    (scratch / ".dvc").mkdir(exist_ok=True)
    (scratch / ".dvc" / "config").touch()
    with _dvc_errors("cannot configure DVC in the scratch folder"):
        config = Config(dvc_dir=str(scratch / ".dvc"), validate=False)
        with config.edit("local") as local:
            local["cache"].update({"dir": cache, "type": "reflink,copy"})
            local["remote"].update(remotes)  # the project's as configured now, paths absolute
            if default:
                local["core"]["remote"] = default
            local["core"]["site_cache_dir"] = str(scratch / ".dvc" / "tmp" / "site")
            if no_scm:
                local["core"]["no_scm"] = True
    return Path(cache)


@contextlib.contextmanager
def _progress() -> Iterator[None]:
    """Let DVC draw its progress bars although a kernel's stderr is not a terminal."""
    saved = os.environ.get("DVC_IGNORE_ISATTY")
    os.environ["DVC_IGNORE_ISATTY"] = "true"
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("DVC_IGNORE_ISATTY", None)
        else:
            os.environ["DVC_IGNORE_ISATTY"] = saved


def stage(root: Path, files: list[str], wait: float | None = None) -> list[str]:
    """``git add`` the files that exist (DVC metadata, never data); return what was staged.

    Another git process holding ``.git/index.lock`` (an editor, a commit in a terminal) is
    waited for up to ``wait`` seconds, then a ``DataLockedError``; other failures are one line.
    """
    present = [f for f in files if (root / f).exists()]
    if not present or not has_git(root):
        return present
    wait = GIT_LOCK_WAIT_SECONDS if wait is None else wait
    deadline = time.monotonic() + wait
    while True:
        done = subprocess.run(
            ["git", "add", "--", *present], cwd=root, capture_output=True, text=True, timeout=60
        )
        if done.returncode == 0:
            return present
        error = " ".join(done.stderr.split()) or f"exit status {done.returncode}"
        if "index.lock" not in error:
            raise DataError(f"git add {' '.join(present)}: {error}")
        if time.monotonic() >= deadline:
            raise DataLockedError(
                f"git add: another git process holds .git/index.lock and did not finish within "
                f"{wait:.0f} s; try again later"
            )
        time.sleep(0.2)


def git_show(root: Path, rev: str, path: str) -> str:
    """A file's content at a git revision (for checking out an older data version)."""
    out = subprocess.run(
        ["git", "show", f"{rev}:{path}"], cwd=root, capture_output=True, text=True, timeout=60
    )
    if out.returncode != 0:
        raise DataError(f"{path} is not in git at {rev!r}: {out.stderr.strip()}")
    return out.stdout
