"""What ``reproduce`` checks before it runs anything: the store is not trusted with code.

The run's commit must be a commit id in the user's own repository (``local_repository``); its
notebook snapshot must match the notebook committed there, cell sources compared by nbdime
(``vet_snapshot``, else ``UntrustedSnapshotError``); and each recorded ``.dvc`` file must put
its data where the commit's own ``.dvc`` file does (``placed_by_history``). Text from the store
is shown with its control characters escaped (``shown``).
"""

from __future__ import annotations

import io
import re
import subprocess
import sys
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath
from typing import Any

from ...config import Settings
from ...errors import MlopsError
from ..data import dvc_repo
from ..data.dvc_repo import DataError
from ..tags import (
    GIT_COMMIT,
    MLFLOW_GIT_BRANCH,
    MLFLOW_GIT_COMMIT,
    MLFLOW_SOURCE_NAME,
    MLFLOW_USER,
    NOTEBOOK_PATH,
)
from .banner import is_marker
from .parameters import INJECTED_TAG, inject_parameters

_COMMIT_ID = re.compile(r"[0-9a-f]{7,64}")
_BRANCH = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_./-]*")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
SHOWN_DIFF_LINES = 60  # how much of a snapshot's difference a refusal shows


class UntrustedSnapshotError(MlopsError):
    """The run's snapshot is not what the user's git history holds, so it is not run.

    The message is one line (whose run, when, why, what to do); ``difference`` is nbdime's
    rendering of the snapshot against the committed notebook, for showing below it.
    """

    def __init__(self, message: str, difference: str = "") -> None:
        super().__init__(message)
        self.difference = difference
        if difference and hasattr(self, "add_note"):  # 3.11+: a notebook's traceback shows it
            self.add_note(difference)


@dataclass(frozen=True)
class Repository:
    """The local git repository holding the project, and the commit the run recorded."""

    toplevel: Path
    prefix: str  # the project root inside it: "" or "sub/dir/"
    commit: str


def git(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, timeout=600, check=False
        )
    except (OSError, subprocess.SubprocessError) as exc:
        return subprocess.CompletedProcess(["git", *args], 1, "", str(exc))


def local_repository(settings: Settings, run_id: str, tags: dict[str, str]) -> Repository | None:
    """Where the run's commit is, or ``None`` when the run recorded none.

    The commit comes from the store: it must be a commit id (not an option for git) and in the
    user's own repository, or this says in one line what to do.
    """
    commit = (tags.get(GIT_COMMIT) or tags.get(MLFLOW_GIT_COMMIT) or "").strip()
    if not commit:
        return None
    if not _COMMIT_ID.fullmatch(commit):
        raise MlopsError(
            f"run {run_id} records {shown(commit)[:80]!r} as its git commit, which is not a "
            "commit id: its tags were altered, so it cannot be reproduced"
        )
    top = git(settings.root, "rev-parse", "--show-toplevel")
    if top.returncode != 0:
        raise MlopsError(
            f"run {run_id} was recorded at git commit {commit[:12]}, but {settings.root} "
            "is not in a git repository: run reproduce in a clone of the project's repository"
        )
    toplevel = Path(top.stdout.strip())
    prefix = git(settings.root, "rev-parse", "--show-prefix").stdout.strip()
    if git(toplevel, "cat-file", "-e", f"{commit}^{{commit}}").returncode != 0:
        branch = tags.get(MLFLOW_GIT_BRANCH, "")
        where = branch if _BRANCH.fullmatch(branch) and ".." not in branch else "BRANCH"
        raise MlopsError(
            f"git commit {commit[:12]} recorded by run {run_id} is not in the repository at "
            f"{toplevel}: fetch the branch that has it (git fetch origin {where}) and run "
            "reproduce again; if that history was rewritten, the commit is gone"
        )
    return Repository(toplevel, prefix, commit)


def _committed_text(repo: Repository, path: str) -> str | None:
    """A file's text at the run's commit in the user's repository; ``None`` when not there."""
    try:
        return dvc_repo.git_show(repo.toplevel, repo.commit, path)
    except DataError:
        return None


def _out_paths(dvc_text: str) -> list[str] | None:
    """The paths a ``.dvc`` file checks data out to (``None``: not a readable ``.dvc`` file)."""
    import yaml

    try:
        outs = (yaml.safe_load(dvc_text) or {}).get("outs") or []
        return [str(out.get("path")) for out in outs]
    except (yaml.YAMLError, AttributeError):
        return None


def placed_by_history(
    repo: Repository, recorded: dict[str, str], run_id: str, notes: list[str]
) -> dict[str, str]:
    """The recorded ``.dvc`` files whose data goes where the commit's own ``.dvc`` file puts
    it: the store picks a version, never a place (data checked out over the committed
    notebook, or as a module beside it, would be code from the store).

    A ``.dvc`` file the commit lacks (data the run versioned itself, or never committed) is
    not restored; one that moves its data elsewhere is refused.
    """
    kept, skipped = {}, []
    for rel, text in recorded.items():
        committed = _committed_text(repo, f"{repo.prefix}{rel}")
        if committed is None:
            skipped.append(rel[: -len(".dvc")])
            continue
        if _out_paths(text) != _out_paths(committed):
            raise MlopsError(
                f"run {run_id}'s recorded dvc/{shown(rel)} puts data somewhere else than "
                f"{rel} does at commit {repo.commit[:12]}: the artifact was altered, so the "
                "run is not reproduced (--trust-snapshot restores it as recorded)"
            )
        kept[rel] = text
    if skipped:
        notes.append(
            "data the run recorded that commit "
            f"{repo.commit[:12]} does not track was not restored: {shown(', '.join(skipped))} "
            "(commit its .dvc file to have it restored)"
        )
    return kept


def relative_source(tags: dict[str, str]) -> PurePosixPath | None:
    """The notebook's path relative to the project root, when the run recorded one."""
    source = tags.get(MLFLOW_SOURCE_NAME, "")
    relative = PurePosixPath(source)
    if source.endswith(".ipynb") and not relative.is_absolute() and ".." not in relative.parts:
        return relative
    return None


def shown(text: str) -> str:
    """``text`` from the store, safe to print: control characters (a terminal's escape
    sequences) written as escapes; newlines and tabs kept."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def _brief(exc: Exception) -> str:
    return shown((str(exc).strip().splitlines() or [type(exc).__name__])[0])[:200]


def _sources(nb: Any, injected: str | None) -> Any:
    """The notebook reduced to what it runs: code and markdown cells' types and sources.

    Outputs, execution counts, ids and metadata are left out, as is an injected-parameters
    cell holding exactly the recorded parameters (the runner re-injects those); any other
    injected cell stays, so a difference in it shows.
    """
    import nbformat

    reduced = nbformat.v4.new_notebook()
    for cell in nb.get("cells", []):
        kind, source = cell.get("cell_type"), cell.get("source", "")
        if isinstance(source, list):
            source = "".join(source)
        if kind not in ("code", "markdown"):
            continue
        tags = cell.get("metadata", {}).get("tags", [])
        if kind == "code" and INJECTED_TAG in tags and source == injected:
            continue
        if is_marker(cell):  # a failed run's banner: the runner drops it before running
            continue
        extra = {"outputs": [], "execution_count": None} if kind == "code" else {}
        reduced.cells.append({"cell_type": kind, "source": source, "metadata": {}, **extra})
    return reduced


def _injected_source(parameters: dict[str, Any] | None) -> str | None:
    """The cell the batch runner injects for ``parameters`` (``None``: it injects none)."""
    import nbformat

    if not parameters:
        return None
    nb = nbformat.v4.new_notebook()
    inject_parameters(nb, parameters)
    return nb.cells[0].source


def snapshot_difference(
    committed: Any | None, snapshot: Any, parameters: dict[str, Any] | None = None
) -> str:
    """How ``snapshot`` differs from ``committed`` in what it runs, as nbdime prints it ("" when
    it does not): cell sources and types only, the injected ``parameters`` cell ignored.

    ``committed`` ``None`` (nothing committed) shows every cell of the snapshot as added.
    """
    import nbdime
    import nbformat
    from nbdime.prettyprint import PrettyPrintConfig, pretty_print_diff

    injected = _injected_source(parameters)
    base = _sources(committed if committed is not None else nbformat.v4.new_notebook(), injected)
    other = _sources(snapshot, injected)
    diff = nbdime.diff_notebooks(base, other)
    if not diff:
        return ""
    out = io.StringIO()
    config = PrettyPrintConfig(out=out, use_color=False, use_git=False, use_diff=False)
    pretty_print_diff(base, diff, "", config)
    return shown(out.getvalue().rstrip("\n"))


def _trimmed(difference: str, artifact: str) -> str:
    lines = difference.splitlines()
    if len(lines) <= SHOWN_DIFF_LINES:
        return difference
    rest = len(lines) - SHOWN_DIFF_LINES
    return "\n".join(
        [*lines[:SHOWN_DIFF_LINES], f"... {rest} more line(s): the whole snapshot is {artifact}"]
    )


def committed_path(repo: Repository, tags: dict[str, str]) -> str | None:
    """The notebook's path in the repository: from the run's notebook tag when it lies inside
    the repository, else its source name under the project root; the first found at the
    commit, else the first named."""
    candidates = []
    recorded = tags.get(NOTEBOOK_PATH, "")
    if recorded.endswith(".ipynb") and Path(recorded).is_absolute():
        for top in dict.fromkeys((repo.toplevel, repo.toplevel.resolve())):
            if Path(recorded).is_relative_to(top):
                candidates.append(Path(recorded).relative_to(top).as_posix())
                break
    relative = relative_source(tags)
    if relative is not None:
        candidates.append((PurePosixPath(repo.prefix) / relative).as_posix())
    candidates = [c for c in candidates if ".." not in PurePosixPath(c).parts]
    for path in candidates:
        if git(repo.toplevel, "cat-file", "-e", f"{repo.commit}:{path}").returncode == 0:
            return path
    return candidates[0] if candidates else None


def _read_committed(repo: Repository, path: str) -> Any | None:
    """The notebook at ``path`` in the run's commit (``None`` when it is not there)."""
    import nbformat

    text = _committed_text(repo, path)
    if text is None:
        return None
    try:
        return nbformat.reads(text, as_version=4)
    except Exception as exc:  # nbformat raises several kinds for a file that is not a notebook
        raise MlopsError(
            f"{path} at commit {repo.commit[:12]} is not a readable notebook ({_brief(exc)})"
        ) from None


def vet_snapshot(
    original: Any,
    snapshot: str,
    local: Path,
    repo: Repository | None,
    parameters: dict[str, Any] | None,
    trust: bool,
    notes: list[str],
) -> str | None:
    """The committed notebook to run (its path in the repository), after checking that the
    run's snapshot matches it; ``None`` when the snapshot is to run instead (``trust``).

    Refuses (``UntrustedSnapshotError``) before anything runs when nothing committed vouches
    for the snapshot, unless ``trust``: then says on stderr who logged it and the difference.
    """
    import nbformat

    run_id = original.info.run_id
    try:
        snap = nbformat.read(local, as_version=4)
    except Exception as exc:  # nbformat raises several kinds for a file that is not a notebook
        raise MlopsError(
            f"run {run_id}'s snapshot {snapshot} is not a readable notebook ({_brief(exc)})"
        ) from None
    path = committed_path(repo, dict(original.data.tags)) if repo else None
    committed = _read_committed(repo, path) if repo and path else None
    difference = snapshot_difference(committed, snap, parameters)
    if repo is None:
        reason = "it recorded no git commit, so nothing committed vouches for its snapshot"
    elif path is None:
        reason = f"it recorded no notebook path inside the repository at {repo.toplevel}"
    elif committed is None:
        reason = f"{path} is not in its commit {repo.commit[:12]} (never committed)"
    elif parameters is None:
        reason = "its recorded parameters are not all Python literals under identifier names"
    elif difference:
        reason = (
            f"its notebook snapshot differs from {path} at its commit {repo.commit[:12]} "
            "(a run with uncommitted changes, or an altered artifact)"
        )
    else:
        return path
    tags = original.data.tags
    user = shown(tags.get(MLFLOW_USER) or "an unknown user")
    when = datetime.fromtimestamp(original.info.start_time / 1000, timezone.utc)
    who = f"run {run_id} was logged by {user} on {when:%Y-%m-%d %H:%M} UTC"
    excerpt = _trimmed(difference, f"artifact {snapshot} of run {run_id}")
    if not trust:
        below = " (difference below)" if excerpt else ""
        raise UntrustedSnapshotError(
            f"{who}; {shown(reason)}: not running code from the store; "
            f"--trust-snapshot (trust_snapshot=True) runs its snapshot anyway{below}",
            excerpt,
        )
    sys.stderr.write(
        f"running the notebook snapshot, not a committed notebook, as trusted: {who}; "
        f"{shown(reason)}\n" + (f"{excerpt}\n" if excerpt else "")
    )
    sys.stderr.flush()
    notes.append(f"ran the run's notebook snapshot, trusted: {who}; {shown(reason)}")
    return None
