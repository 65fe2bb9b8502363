"""Re-run a tracked run from what it recorded and say whether its metrics come out the same.

A run records the notebook it executed (``notebook/*.ipynb``), its git commit, its injected
parameters and the exact ``.dvc`` file of every data version it used (``dvc/<path>.dvc``).
``reproduce`` rebuilds that state in a scratch folder (a git clone at the commit, the data
copied out of the project's own DVC cache), re-runs the notebook there as a new run in the
project's store and compares the two runs' metrics. The user's working tree, git repository
and DVC cache are only read; the cache gains objects only when data has to be fetched from the
remote, or when the notebook itself versions data.

A store is not trusted with code: whoever can write a run's artifacts (or log a run of their
own) would otherwise have their code executed by whoever reproduces it. What runs is the
notebook in the user's own git history at the recorded commit; the snapshot is only compared
with it (cell sources, by nbdime). A snapshot that differs, or a run with no commit to compare
it with, runs only with ``trust_snapshot=True``, after saying who logged it and the difference.
"""

from __future__ import annotations

import ast
import io
import json
import keyword
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from ...config import STORE_DIR, Settings, resolve_settings
from ...errors import MlopsError
from .. import store
from ..data import dvc_repo
from ..data.dvc_repo import DataError
from ..provenance import TAG_NOTEBOOK
from ..redact import redact_url
from .runner import INJECTED_TAG, PARAMETERS_TAG_KEY, inject_parameters, run_notebook

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "MetricRow",
    "Reproduction",
    "UntrustedSnapshotError",
    "compare_metrics",
    "reproduce",
    "snapshot_difference",
]

DEFAULT_RTOL = 1e-6
DEFAULT_ATOL = 0.0
REPRODUCES_TAG = "mlops.reproduces"  # on the new run: the id of the run it reproduces
VERDICT_TAG = "mlops.reproduce.verdict"  # same, differs or failed
CODE_TAG = "mlops.reproduce.code"  # what ran: "commit" (the committed notebook) or "snapshot"
COMPARISON_ARTIFACT = "reproduce/comparison.json"
# what the new run copies from the original: it ran that commit and that notebook, and the
# scratch clone's own view (a temp path, a detached HEAD, no remote) means nothing later
_CARRIED_TAGS = (
    "mlflow.source.name",
    TAG_NOTEBOOK,
    "mlflow.source.git.commit",
    "mlflow.source.git.branch",
    "mlflow.source.git.repoURL",
    "mlops.git.commit",
    "mlops.git.dirty",
)
VERDICTS = ("same", "differs", "missing", "new")
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


@dataclass
class MetricRow:
    """One metric of the original run against the reproduction (latest value of each)."""

    metric: str
    original: float | None
    reproduced: float | None
    abs_diff: float | None
    rel_diff: float | None  # |diff| / |original|; inf when the original is 0 and they differ
    verdict: str  # same (within tolerance), differs, missing (original only), new


@dataclass(repr=False)
class Reproduction:
    """What ``reproduce`` found: the new run, one row per metric, and the overall verdict."""

    original_run_id: str
    run_id: str
    status: str  # same, differs, failed (the rerun did not finish)
    rows: list[MetricRow]
    experiment: str
    tracking_uri: str
    rtol: float = DEFAULT_RTOL
    atol: float = DEFAULT_ATOL
    notes: list[str] = field(default_factory=list)
    error: str | None = None  # the failing cell, when the rerun failed
    scratch: Path | None = None  # the scratch project folder, when kept

    @property
    def ok(self) -> bool:
        return self.status == "same"

    def to_dict(self) -> dict[str, Any]:
        from ..stats.reports import json_safe

        data = asdict(self)
        data["ok"] = self.ok
        data["scratch"] = str(self.scratch) if self.scratch else None
        return json_safe(data)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=1, allow_nan=False)

    def to_frame(self) -> pd.DataFrame:
        import pandas as pd

        columns = ["metric", "original", "reproduced", "abs_diff", "rel_diff", "verdict"]
        return pd.DataFrame([asdict(r) for r in self.rows], columns=columns)

    def summary(self) -> str:
        lines = [
            f"Reproduced run {self.original_run_id} as run {self.run_id} "
            f"in experiment '{self.experiment}'",
            f"  store: {redact_url(self.tracking_uri)}",
        ]
        lines += [f"  note: {note}" for note in self.notes]
        if self.rows:
            lines += ["", *_table(self.rows), ""]
        else:
            lines.append("  neither run logged a metric: nothing to compare")
        tolerance = f"rtol={self.rtol:g}, atol={self.atol:g}"
        if self.status == "failed":
            lines.append(f"Result: the rerun FAILED: {self.error or 'see the run'}")
        elif self.status == "same":
            lines.append(f"Result: same ({len(self.rows)} metric(s) within {tolerance})")
        else:
            off = sum(r.verdict != "same" for r in self.rows)
            lines.append(f"Result: differs ({off} of {len(self.rows)} metric(s); {tolerance})")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return self.summary()


def _number(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def _table(rows: list[MetricRow]) -> list[str]:
    header = ("metric", "original", "reproduced", "abs diff", "rel diff", "verdict")
    cells = [
        (
            r.metric,
            _number(r.original, ".10g"),
            _number(r.reproduced, ".10g"),
            _number(r.abs_diff, ".3g"),
            _number(r.rel_diff, ".3g"),
            r.verdict,
        )
        for r in rows
    ]
    widths = [max(len(row[i]) for row in (header, *cells)) for i in range(len(header))]
    return [
        "  " + "  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip()
        for row in (header, *cells)
    ]


def compare_metrics(
    original: dict[str, float],
    reproduced: dict[str, float],
    *,
    rtol: float = DEFAULT_RTOL,
    atol: float = DEFAULT_ATOL,
) -> list[MetricRow]:
    """One row per metric of either run, sorted by name.

    Same means ``|a - b| <= atol + rtol * |a|`` with ``a`` the original (numpy's ``isclose``,
    relative to the value being reproduced); two NaNs are the same, one NaN differs.
    """
    rows = []
    for key in sorted(set(original) | set(reproduced)):
        a, b = original.get(key), reproduced.get(key)
        if a is None or b is None:
            verdict = "missing" if b is None else "new"
            rows.append(MetricRow(key, a, b, None, None, verdict))
            continue
        a, b = float(a), float(b)
        if math.isnan(a) or math.isnan(b):
            both = math.isnan(a) and math.isnan(b)
            rows.append(MetricRow(key, a, b, None, None, "same" if both else "differs"))
            continue
        diff = abs(a - b) if a != b else 0.0  # equal infinities
        rel = diff / abs(a) if a != 0 else (math.inf if diff else 0.0)
        same = diff <= atol + rtol * abs(a)
        rows.append(MetricRow(key, a, b, diff, rel, "same" if same else "differs"))
    return rows


def reproduce(
    run_id: str,
    *,
    experiment: str | None = None,
    kernel_name: str | None = None,
    timeout: int | None = None,
    rtol: float = DEFAULT_RTOL,
    atol: float = DEFAULT_ATOL,
    keep: bool = False,
    tracking_uri: str | None = None,
    project: str | os.PathLike[str] | None = None,
    trust_snapshot: bool = False,
) -> Reproduction:
    """Re-run ``run_id``'s notebook as committed, on its recorded data and parameters.

    What runs is the notebook in the local git repository at the run's commit, never code from
    the store: the run's snapshot (``notebook/*.ipynb``) must match it (cell sources), else
    ``UntrustedSnapshotError`` is raised before anything runs, naming who logged the run.
    ``trust_snapshot=True`` runs the snapshot instead, after writing who logged it and the
    difference to stderr (a run made with uncommitted changes, or outside git, needs it).

    Runs in a scratch folder (deleted afterwards unless ``keep``), never in the working tree.
    The rerun is a new run in the original's experiment (or ``experiment``) tagged
    ``mlops.reproduces``; the comparison is logged on it. A failed rerun is a result
    (``status == "failed"``), not an exception; what cannot be restored raises ``MlopsError``.
    """
    if not (rtol >= 0 and atol >= 0):  # also refuses NaN
        raise MlopsError(f"tolerances must be zero or positive (rtol={rtol}, atol={atol})")
    settings = resolve_settings(project, tracking_uri=tracking_uri)
    store.prepare(settings)
    client = store.client(settings)
    original = _original_run(client, run_id, settings)
    run_id = original.info.run_id
    tags = dict(original.data.tags)
    snapshot = _snapshot_artifact(client, run_id, tags)
    exp_name = experiment or (
        store.with_retry(lambda: client.get_experiment(original.info.experiment_id)).name
    )
    notes = []
    if original.info.status != "FINISHED":
        notes.append(f"the original run is {original.info.status}: its metrics may be partial")

    parent = Path(tempfile.mkdtemp(prefix="mlops-reproduce-"))
    try:
        downloads = parent / ".artifacts"
        downloads.mkdir()
        parameters = _recorded_parameters(tags, notes)
        repo = _local_repository(settings, run_id, tags)
        local_snapshot = _download(client, run_id, snapshot, downloads)
        committed = _vet_snapshot(
            original, snapshot, local_snapshot, repo, parameters, trust_snapshot, notes
        )
        recorded = _recorded_dvc_files(client, run_id, downloads)
        if committed is not None and repo is not None:
            recorded = _placed_by_history(repo, recorded, run_id, notes)
        root, top = _scratch_tree(settings, repo, tags, parent, notes, committed is not None)
        _restore_data(settings, root, recorded, run_id, top is not None, notes)
        if committed is not None and top is not None:
            notebook = _inside(top, committed)  # as checked out: the user's own history
        else:
            notebook = _place_snapshot(local_snapshot, snapshot, tags, root)
        shutil.rmtree(downloads)  # a kept scratch folder holds the project tree only
        new_tags = {k: tags[k] for k in _CARRIED_TAGS if k in tags}
        new_tags.update({REPRODUCES_TAG: run_id, "mlops.runner": "jupyter-mlops reproduce"})
        new_tags[CODE_TAG] = "snapshot" if committed is None else "commit"
        if parameters is None and PARAMETERS_TAG_KEY in tags:
            new_tags[PARAMETERS_TAG_KEY] = tags[PARAMETERS_TAG_KEY]
        name = original.info.run_name or notebook.stem
        result = run_notebook(
            notebook,
            parameters,
            experiment=exp_name,
            run_name=f"{name} (reproduced)",
            kernel_name=kernel_name,
            timeout=timeout,
            tracking_uri=settings.tracking_uri,
            tags=new_tags,
            hold_aliases=True,  # a rerun must not repoint @staging at its own version
        )
        new_id = result.run_id
        if parameters is None:  # kept as the snapshot injected them: log what the original did
            _copy_params(client, new_id, original, tags)
        if TAG_NOTEBOOK not in tags:
            store.with_retry(lambda: client.delete_tag(new_id, TAG_NOTEBOOK))
        rerun = store.with_retry(lambda: client.get_run(new_id))
        rows = compare_metrics(original.data.metrics, rerun.data.metrics, rtol=rtol, atol=atol)
        if not result.ok:
            status = "failed"
        else:
            status = "same" if all(r.verdict == "same" for r in rows) else "differs"
        notes += result.notes
        notes += _promotion_notes(client, rerun)
        if keep:
            notes.append(f"scratch folder kept at {root}")
        reproduction = Reproduction(
            original_run_id=run_id,
            run_id=new_id,
            status=status,
            rows=rows,
            experiment=exp_name,
            tracking_uri=settings.tracking_uri,
            rtol=rtol,
            atol=atol,
            notes=notes,
            error=result.error,
            scratch=root if keep else None,
        )
        text = reproduction.to_json()
        store.with_retry(lambda: client.log_text(new_id, text, COMPARISON_ARTIFACT))
        store.with_retry(lambda: client.set_tag(new_id, VERDICT_TAG, status))
        return reproduction
    finally:
        if not keep:
            shutil.rmtree(parent, ignore_errors=True)


def _promotion_notes(client: Any, rerun: Any) -> list[str]:
    """One note per model the rerun promoted: the version it registered, and the alias it
    asked for and did not move (a reproduction registers; it never repoints an alias)."""
    from mlflow.exceptions import MlflowException

    from ..registry.promote import HELD_ALIAS_TAG, PROMOTED_TAG

    notes = []
    for key, value in sorted(rerun.data.tags.items()):
        if not key.startswith(PROMOTED_TAG):
            continue
        name, version = key[len(PROMOTED_TAG) :], value.split("@")[0]
        try:
            mv = store.with_retry(lambda n=name, v=version: client.get_model_version(n, v))
            held = mv.tags.get(HELD_ALIAS_TAG)
        except MlflowException:
            held = None
        moved = f" without moving alias {held!r}" if held else ""
        notes.append(
            f"the notebook promoted {name}: registered version {version}{moved} "
            "(a reproduction moves no alias)"
        )
    return notes


# -- the original run --------------------------------------------------------------------------
def _original_run(client: Any, run_id: str, settings: Settings) -> Any:
    from mlflow.exceptions import MlflowException

    run_id = run_id.strip()
    try:
        return store.with_retry(lambda: client.get_run(run_id))
    except MlflowException as exc:
        if exc.error_code in {"RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"}:
            raise MlopsError(f"no run {run_id!r} in {redact_url(settings.tracking_uri)}") from None
        raise


def _artifact_files(client: Any, run_id: str, folder: str) -> list[str]:
    found = []
    for info in store.with_retry(lambda: client.list_artifacts(run_id, folder)):
        found += _artifact_files(client, run_id, info.path) if info.is_dir else [info.path]
    return found


def _snapshot_artifact(client: Any, run_id: str, tags: dict[str, str]) -> str:
    """The notebook the run logged; with several, the one named like its source notebook."""
    found = sorted(p for p in _artifact_files(client, run_id, "notebook") if p.endswith(".ipynb"))
    if not found:
        raise MlopsError(
            f"run {run_id} has no notebook snapshot (notebook/*.ipynb) to re-run: it was not "
            "run from a notebook, or it ended before logging one"
        )
    wanted = PurePosixPath(tags.get("mlflow.source.name", "")).name
    return next((p for p in found if PurePosixPath(p).name == wanted), found[0])


def _recorded_parameters(tags: dict[str, str], notes: list[str]) -> dict[str, Any] | None:
    """The values the batch runner injected (``None``: keep the snapshot's injected cell).

    Only names that are identifiers and values that are Python literals: the tag comes from the
    store, and anything else would be code from it (``None`` then needs a trusted snapshot).
    """
    raw = tags.get(PARAMETERS_TAG_KEY)
    if not raw:
        return {}
    try:
        reprs = json.loads(raw)
        values = {str(k): ast.literal_eval(v) for k, v in reprs.items()}
    except (ValueError, SyntaxError, TypeError, AttributeError, MemoryError, RecursionError):
        values = None
    if values is None or not all(k.isidentifier() and not keyword.iskeyword(k) for k in values):
        notes.append(
            "the parameters are not all Python literals under identifier names: re-run as the "
            "snapshot has them"
        )
        return None
    return values


def _copy_params(client: Any, run_id: str, original: Any, tags: dict[str, str]) -> None:
    from mlflow.entities import Param

    try:
        names = list(json.loads(tags.get(PARAMETERS_TAG_KEY, "{}")))
    except ValueError:
        names = []
    params = [Param(k, original.data.params[k]) for k in names if k in original.data.params]
    if params:
        store.with_retry(lambda: client.log_batch(run_id, params=params))


# -- the scratch tree --------------------------------------------------------------------------
def _git(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, timeout=600, check=False
        )
    except (OSError, subprocess.SubprocessError) as exc:
        return subprocess.CompletedProcess(["git", *args], 1, "", str(exc))


def _git_or_fail(cwd: Path, *args: str) -> str:
    out = _git(cwd, *args)
    if out.returncode != 0:
        reason = (out.stderr.strip().splitlines() or ["failed"])[-1]
        raise MlopsError(f"git {args[0]} in the scratch folder: {reason}")
    return out.stdout.strip()


@dataclass(frozen=True)
class _Repository:
    """The local git repository holding the project, and the commit the run recorded."""

    toplevel: Path
    prefix: str  # the project root inside it: "" or "sub/dir/"
    commit: str


def _local_repository(settings: Settings, run_id: str, tags: dict[str, str]) -> _Repository | None:
    """Where the run's commit is, or ``None`` when the run recorded none.

    The commit comes from the store: it must be a commit id (not an option for git) and in the
    user's own repository, or this says in one line what to do.
    """
    commit = (tags.get("mlops.git.commit") or tags.get("mlflow.source.git.commit") or "").strip()
    if not commit:
        return None
    if not _COMMIT_ID.fullmatch(commit):
        raise MlopsError(
            f"run {run_id} records {_shown(commit)[:80]!r} as its git commit, which is not a "
            "commit id: its tags were altered, so it cannot be reproduced"
        )
    top = _git(settings.root, "rev-parse", "--show-toplevel")
    if top.returncode != 0:
        raise MlopsError(
            f"run {run_id} was recorded at git commit {commit[:12]}, but {settings.root} "
            "is not in a git repository: run reproduce in a clone of the project's repository"
        )
    toplevel = Path(top.stdout.strip())
    prefix = _git(settings.root, "rev-parse", "--show-prefix").stdout.strip()
    if _git(toplevel, "cat-file", "-e", f"{commit}^{{commit}}").returncode != 0:
        branch = tags.get("mlflow.source.git.branch", "")
        where = branch if _BRANCH.fullmatch(branch) and ".." not in branch else "BRANCH"
        raise MlopsError(
            f"git commit {commit[:12]} recorded by run {run_id} is not in the repository at "
            f"{toplevel}: fetch the branch that has it (git fetch origin {where}) and run "
            "reproduce again; if that history was rewritten, the commit is gone"
        )
    return _Repository(toplevel, prefix, commit)


def _scratch_tree(
    settings: Settings,
    repo: _Repository | None,
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
        _git(top, "remote", "remove", "origin")  # the new run carries the original's URL
        root = top / repo.prefix
        if tags.get("mlops.git.dirty") == "true" and committed:
            notes.append(
                "the run had uncommitted changes outside its notebook: files other than the "
                f"recorded data are as of commit {repo.commit[:12]}"
            )
        elif tags.get("mlops.git.dirty") == "true":
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


def _inside(root: Path, relative: str) -> Path:
    path = (root / relative).resolve()
    if not path.is_relative_to(root.resolve()):
        raise MlopsError(f"artifact path {relative!r} points outside the scratch folder")
    return path


def _download(client: Any, run_id: str, path: str, downloads: Path) -> Path:
    """One artifact, without MLflow's progress bar (a bar per small file is noise here)."""
    with store.no_progress_bars():
        local = store.with_retry(lambda: client.download_artifacts(run_id, path, str(downloads)))
    return Path(local)


def _recorded_dvc_files(client: Any, run_id: str, downloads: Path) -> dict[str, str]:
    """``{path of the .dvc file: its exact text}`` for every data version the run recorded."""
    files = [p for p in _artifact_files(client, run_id, "dvc") if p.endswith(".dvc")]
    recorded = {}
    for path in files:
        recorded[path[len("dvc/") :]] = _download(client, run_id, path, downloads).read_text()
    return recorded


def _out_paths(dvc_text: str) -> list[str] | None:
    """The paths a ``.dvc`` file checks data out to (``None``: not a readable ``.dvc`` file)."""
    import yaml

    try:
        outs = (yaml.safe_load(dvc_text) or {}).get("outs") or []
        return [str(out.get("path")) for out in outs]
    except (yaml.YAMLError, AttributeError):
        return None


def _placed_by_history(
    repo: _Repository, recorded: dict[str, str], run_id: str, notes: list[str]
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
                f"run {run_id}'s recorded dvc/{_shown(rel)} puts data somewhere else than "
                f"{rel} does at commit {repo.commit[:12]}: the artifact was altered, so the "
                "run is not reproduced (--trust-snapshot restores it as recorded)"
            )
        kept[rel] = text
    if skipped:
        notes.append(
            "data the run recorded that commit "
            f"{repo.commit[:12]} does not track was not restored: {_shown(', '.join(skipped))} "
            "(commit its .dvc file to have it restored)"
        )
    return kept


def _md5(dvc_text: str) -> str:
    import yaml

    try:
        outs = (yaml.safe_load(dvc_text) or {}).get("outs") or [{}]
        return str(outs[0].get("md5", "unknown"))
    except (yaml.YAMLError, AttributeError):
        return "unknown"


def _restore_data(
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
        target = _inside(root, rel)
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


def _place_snapshot(local: Path, snapshot: str, tags: dict[str, str], root: Path) -> Path:
    """Put the (trusted) snapshot where the notebook was (relative reads work), else at the top."""
    relative = _relative_source(tags) or PurePosixPath(PurePosixPath(snapshot).name)
    target = _inside(root, relative.as_posix())
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(local, target)
    return target


def _relative_source(tags: dict[str, str]) -> PurePosixPath | None:
    """The notebook's path relative to the project root, when the run recorded one."""
    source = tags.get("mlflow.source.name", "")
    relative = PurePosixPath(source)
    if source.endswith(".ipynb") and not relative.is_absolute() and ".." not in relative.parts:
        return relative
    return None


# -- the snapshot against the user's own history ----------------------------------------------
def _shown(text: str) -> str:
    """``text`` from the store, safe to print: control characters (a terminal's escape
    sequences) written as escapes; newlines and tabs kept."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def _brief(exc: Exception) -> str:
    return _shown((str(exc).strip().splitlines() or [type(exc).__name__])[0])[:200]


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
    return _shown(out.getvalue().rstrip("\n"))


def _trimmed(difference: str, artifact: str) -> str:
    lines = difference.splitlines()
    if len(lines) <= SHOWN_DIFF_LINES:
        return difference
    rest = len(lines) - SHOWN_DIFF_LINES
    return "\n".join(
        [*lines[:SHOWN_DIFF_LINES], f"... {rest} more line(s): the whole snapshot is {artifact}"]
    )


def _committed_path(repo: _Repository, tags: dict[str, str]) -> str | None:
    """The notebook's path in the repository: from the run's notebook tag when it lies inside
    the repository, else its source name under the project root; the first found at the
    commit, else the first named."""
    candidates = []
    recorded = tags.get(TAG_NOTEBOOK, "")
    if recorded.endswith(".ipynb") and Path(recorded).is_absolute():
        for top in dict.fromkeys((repo.toplevel, repo.toplevel.resolve())):
            if Path(recorded).is_relative_to(top):
                candidates.append(Path(recorded).relative_to(top).as_posix())
                break
    relative = _relative_source(tags)
    if relative is not None:
        candidates.append((PurePosixPath(repo.prefix) / relative).as_posix())
    candidates = [c for c in candidates if ".." not in PurePosixPath(c).parts]
    for path in candidates:
        if _git(repo.toplevel, "cat-file", "-e", f"{repo.commit}:{path}").returncode == 0:
            return path
    return candidates[0] if candidates else None


def _committed_text(repo: _Repository, path: str) -> str | None:
    """A file's text at the run's commit in the user's repository; ``None`` when not there."""
    try:
        return dvc_repo.git_show(repo.toplevel, repo.commit, path)
    except DataError:
        return None


def _read_committed(repo: _Repository, path: str) -> Any | None:
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


def _vet_snapshot(
    original: Any,
    snapshot: str,
    local: Path,
    repo: _Repository | None,
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
    path = _committed_path(repo, dict(original.data.tags)) if repo else None
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
    user = _shown(tags.get("mlflow.user") or "an unknown user")
    when = datetime.fromtimestamp(original.info.start_time / 1000, timezone.utc)
    who = f"run {run_id} was logged by {user} on {when:%Y-%m-%d %H:%M} UTC"
    shown = _trimmed(difference, f"artifact {snapshot} of run {run_id}")
    if not trust:
        below = " (difference below)" if shown else ""
        raise UntrustedSnapshotError(
            f"{who}; {_shown(reason)}: not running code from the store; "
            f"--trust-snapshot (trust_snapshot=True) runs its snapshot anyway{below}",
            shown,
        )
    sys.stderr.write(
        f"running the notebook snapshot, not a committed notebook, as trusted: {who}; "
        f"{_shown(reason)}\n" + (f"{shown}\n" if shown else "")
    )
    sys.stderr.flush()
    notes.append(f"ran the run's notebook snapshot, trusted: {who}; {_shown(reason)}")
    return None
