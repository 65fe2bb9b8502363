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
import json
import keyword
import os
import shutil
import tempfile
from pathlib import Path, PurePosixPath
from typing import Any

from ...config import Settings, resolve_settings
from ...errors import MlopsError
from .. import store
from ..redact import redact_url
from ..tags import (
    ALIAS_HELD,
    DVC_FOLDER,
    GIT_COMMIT,
    GIT_DIRTY,
    MLFLOW_GIT_BRANCH,
    MLFLOW_GIT_COMMIT,
    MLFLOW_GIT_REPO_URL,
    MLFLOW_SOURCE_NAME,
    NOTEBOOK_FOLDER,
    NOTEBOOK_PATH,
    PARAMETERS,
    PROMOTED_PREFIX,
    REPRODUCE_CODE,
    REPRODUCE_VERDICT,
    REPRODUCES,
    RUNNER,
)
from .reproduce_checks import (
    UntrustedSnapshotError,
    local_repository,
    placed_by_history,
    snapshot_difference,
    vet_snapshot,
)
from .reproduce_result import (
    DEFAULT_ATOL,
    DEFAULT_RTOL,
    MetricRow,
    Reproduction,
    compare_metrics,
)
from .reproduce_scratch import inside, place_snapshot, restore_data, scratch_tree
from .runner import run_notebook

__all__ = [
    "MetricRow",
    "Reproduction",
    "UntrustedSnapshotError",
    "compare_metrics",
    "reproduce",
    "snapshot_difference",
]

COMPARISON_ARTIFACT = "reproduce/comparison.json"
# what the new run copies from the original: it ran that commit and that notebook, and the
# scratch clone's own view (a temp path, a detached HEAD, no remote) means nothing later
_CARRIED_TAGS = (
    MLFLOW_SOURCE_NAME,
    NOTEBOOK_PATH,
    MLFLOW_GIT_COMMIT,
    MLFLOW_GIT_BRANCH,
    MLFLOW_GIT_REPO_URL,
    GIT_COMMIT,
    GIT_DIRTY,
)


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
    exp_name = experiment or client.get_experiment(original.info.experiment_id).name
    notes = []
    if original.info.status != "FINISHED":
        notes.append(f"the original run is {original.info.status}: its metrics may be partial")

    parent = Path(tempfile.mkdtemp(prefix="mlops-reproduce-"))
    try:
        parameters = recorded_parameters(tags, notes)
        root, notebook, committed = _restore(
            client, settings, original, snapshot, parameters, trust_snapshot, parent, notes
        )
        result = run_notebook(
            notebook,
            parameters,
            experiment=exp_name,
            run_name=f"{original.info.run_name or notebook.stem} (reproduced)",
            kernel_name=kernel_name,
            timeout=timeout,
            tracking_uri=settings.tracking_uri,
            tags=_rerun_tags(tags, run_id, committed, parameters),
            hold_aliases=True,  # a rerun must not repoint @staging at its own version
        )
        rerun = _settle_rerun(client, result.run_id, original, parameters)
        rows = compare_metrics(original.data.metrics, rerun.data.metrics, rtol=rtol, atol=atol)
        notes += result.notes
        notes += _promotion_notes(client, rerun)
        if keep:
            notes.append(f"scratch folder kept at {root}")
        reproduction = Reproduction(
            original_run_id=run_id,
            run_id=result.run_id,
            status=_verdict(result.ok, rows),
            rows=rows,
            experiment=exp_name,
            tracking_uri=settings.tracking_uri,
            rtol=rtol,
            atol=atol,
            notes=notes,
            error=result.error,
            scratch=root if keep else None,
        )
        client.log_text(result.run_id, reproduction.to_json(), COMPARISON_ARTIFACT)
        client.set_tag(result.run_id, REPRODUCE_VERDICT, reproduction.status)
        return reproduction
    finally:
        if not keep:
            shutil.rmtree(parent, ignore_errors=True)


# -- the steps of a reproduction ----------------------------------------------------------------
def _restore(
    client: Any,
    settings: Settings,
    original: Any,
    snapshot: str,
    parameters: dict[str, Any] | None,
    trust_snapshot: bool,
    parent: Path,
    notes: list[str],
) -> tuple[Path, Path, str | None]:
    """The scratch project under ``parent``: its root, the notebook to run and, when it is the
    committed one, its path in the repository (``None``: the trusted snapshot runs)."""
    run_id, tags = original.info.run_id, dict(original.data.tags)
    downloads = parent / ".artifacts"
    downloads.mkdir()
    repo = local_repository(settings, run_id, tags)
    local_snapshot = _download(client, run_id, snapshot, downloads)
    committed = vet_snapshot(
        original, snapshot, local_snapshot, repo, parameters, trust_snapshot, notes
    )
    recorded = _recorded_dvc_files(client, run_id, downloads)
    if committed is not None and repo is not None:
        recorded = placed_by_history(repo, recorded, run_id, notes)
    root, top = scratch_tree(settings, repo, tags, parent, notes, committed is not None)
    restore_data(settings, root, recorded, run_id, top is not None, notes)
    if committed is not None and top is not None:
        notebook = inside(top, committed)  # as checked out: the user's own history
    else:
        notebook = place_snapshot(local_snapshot, snapshot, tags, root)
    shutil.rmtree(downloads)  # a kept scratch folder holds the project tree only
    return root, notebook, committed


def _rerun_tags(
    tags: dict[str, str], run_id: str, committed: str | None, parameters: dict[str, Any] | None
) -> dict[str, str]:
    """The rerun's tags: the original's code provenance, what it reproduces and what ran."""
    new_tags = {k: tags[k] for k in _CARRIED_TAGS if k in tags}
    new_tags.update({REPRODUCES: run_id, RUNNER: "jupyter-mlops reproduce"})
    new_tags[REPRODUCE_CODE] = "snapshot" if committed is None else "commit"
    if parameters is None and PARAMETERS in tags:
        new_tags[PARAMETERS] = tags[PARAMETERS]
    return new_tags


def _settle_rerun(
    client: Any, new_id: str, original: Any, parameters: dict[str, Any] | None
) -> Any:
    """The rerun as the store has it, once its params and notebook tag say what the
    original's did."""
    tags = dict(original.data.tags)
    if parameters is None:  # kept as the snapshot injected them: log what the original did
        _copy_params(client, new_id, original, tags)
    if NOTEBOOK_PATH not in tags:
        client.delete_tag(new_id, NOTEBOOK_PATH)
    return client.get_run(new_id)


def _verdict(finished: bool, rows: list[MetricRow]) -> str:
    if not finished:
        return "failed"
    return "same" if all(r.verdict == "same" for r in rows) else "differs"


def _promotion_notes(client: Any, rerun: Any) -> list[str]:
    """One note per model the rerun promoted: the version it registered, and the alias it
    asked for and did not move (a reproduction registers; it never repoints an alias)."""
    from mlflow.exceptions import MlflowException

    notes = []
    for key, value in sorted(rerun.data.tags.items()):
        if not key.startswith(PROMOTED_PREFIX):
            continue
        name, version = key[len(PROMOTED_PREFIX) :], value.split("@")[0]
        try:
            mv = client.get_model_version(name, version)
            held = mv.tags.get(ALIAS_HELD)
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
        return client.get_run(run_id)
    except MlflowException as exc:
        if exc.error_code in {"RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"}:
            raise MlopsError(f"no run {run_id!r} in {redact_url(settings.tracking_uri)}") from None
        raise


def artifact_files(client: Any, run_id: str, folder: str) -> list[str]:
    """Every file under a run's artifact ``folder``, recursively (retrain lists ``dvc/`` too)."""
    found = []
    for info in client.list_artifacts(run_id, folder):
        found += artifact_files(client, run_id, info.path) if info.is_dir else [info.path]
    return found


def _snapshot_artifact(client: Any, run_id: str, tags: dict[str, str]) -> str:
    """The notebook the run logged; with several, the one named like its source notebook."""
    found = sorted(
        p for p in artifact_files(client, run_id, NOTEBOOK_FOLDER) if p.endswith(".ipynb")
    )
    if not found:
        raise MlopsError(
            f"run {run_id} has no notebook snapshot (notebook/*.ipynb) to re-run: it was not "
            "run from a notebook, or it ended before logging one"
        )
    wanted = PurePosixPath(tags.get(MLFLOW_SOURCE_NAME, "")).name
    return next((p for p in found if PurePosixPath(p).name == wanted), found[0])


def recorded_parameters(tags: dict[str, str], notes: list[str]) -> dict[str, Any] | None:
    """The values the batch runner injected (``None``: keep the snapshot's injected cell);
    ``retrain`` starts from them too.

    Only names that are identifiers and values that are Python literals: the tag comes from the
    store, and anything else would be code from it (``None`` then needs a trusted snapshot).
    """
    raw = tags.get(PARAMETERS)
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
        names = list(json.loads(tags.get(PARAMETERS, "{}")))
    except ValueError:
        names = []
    params = [Param(k, original.data.params[k]) for k in names if k in original.data.params]
    if params:
        client.log_batch(run_id, params=params)


# -- the scratch tree --------------------------------------------------------------------------


def _download(client: Any, run_id: str, path: str, downloads: Path) -> Path:
    """One artifact, without MLflow's progress bar (a bar per small file is noise here)."""
    with store.no_progress_bars():
        local = client.download_artifacts(run_id, path, str(downloads))
    return Path(local)


def _recorded_dvc_files(client: Any, run_id: str, downloads: Path) -> dict[str, str]:
    """``{path of the .dvc file: its exact text}`` for every data version the run recorded."""
    files = [p for p in artifact_files(client, run_id, DVC_FOLDER) if p.endswith(".dvc")]
    recorded = {}
    for path in files:
        recorded[path[len(DVC_FOLDER) + 1 :]] = _download(
            client, run_id, path, downloads
        ).read_text()
    return recorded


# -- the snapshot against the user's own history ----------------------------------------------
