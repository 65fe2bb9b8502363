"""Retrain the champion: re-run the notebook that promoted it, at HEAD, on the newest data,
and let the gate decide whether the challenger takes the alias.

``retrain("NAME@ALIAS")`` finds the run that promoted the version behind the alias, re-runs
its notebook as committed at HEAD of the project's repository (never code from the store) in
a scratch clone, with the data it recorded checked out as HEAD's ``.dvc`` files version it and
its recorded parameters (overridden by ``parameters``). Aliases are held during the re-run, so
the notebook's ``promote`` registers the challenger and moves nothing. With ``eval``, the gate
(``gate.gate``) scores both versions on it and moves the alias only when the challenger is at
least as good; every move or refusal goes to the alias history with ``via="retrain"``.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from ...config import Settings, resolve_settings
from ...errors import MlopsError
from .. import store
from ..batch.parameter_names import check_parameter_names
from ..batch.reproduce import recorded_parameters
from ..batch.reproduce_checks import Repository, shown
from ..batch.reproduce_scratch import inside, restore_data, scratch_tree
from ..batch.runner import run_notebook
from ..data import dvc_repo
from ..registry.models import check_alias
from ..tags import (
    DATA_PREFIX,
    GIT_COMMIT,
    GIT_DIRTY,
    MLFLOW_GIT_COMMIT,
    MLFLOW_SOURCE_NAME,
    NOTEBOOK_PATH,
    RETRAIN_ALIAS,
    RETRAIN_OF,
    RETRAIN_RUN,
    RUN_ID,
    RUNNER,
    promoted_tag,
)
from .retrain_inputs import check_gate_inputs
from .retrain_result import Retraining
from .retrain_source import Champion, data_at_head, find_champion, head_repository, notebook_at_head

__all__ = ["Retraining", "retrain"]

RUNNER_NAME = "jupyter-mlops retrain"
SUFFIX = " (retrain)"  # on the re-run's name


def retrain(
    model: str,
    *,
    parameters: dict[str, Any] | None = None,
    data: list[str] | None = None,
    eval: Any = None,
    target: str | None = None,
    scoring: str | None = None,
    tolerance: float = 0.0,
    alias: str | None = None,
    force: bool = False,
    reason: str | None = None,
    user: str | None = None,
    kernel_name: str | None = None,
    timeout: int | None = None,
    tracking_uri: str | None = None,
    project: str | os.PathLike[str] | None = None,
) -> Retraining:
    """Re-run the notebook behind ``model`` (``NAME@ALIAS``) at HEAD on the current data, then
    gate the challenger it registers against the champion on ``eval`` (a CSV/Parquet path or a
    DataFrame holding ``target``), moving ``alias`` (default: the one given) when it passes.

    ``data`` replaces the DVC-tracked paths the champion's run recorded; ``parameters``
    override its recorded ones (each name must be in the notebook's parameters cell).
    Without ``eval`` the challenger is only registered. A re-run that failed or registered no
    version of NAME is a result (``status`` "failed" / "no challenger", exit code 1), not an
    exception; bad input raises a one-line ``MlopsError`` before anything runs. Ctrl-C ends the
    re-run KILLED and raises ``KeyboardInterrupt``; nothing is moved.
    """
    check_gate_inputs(eval, target, scoring, tolerance, force, reason)
    if alias is not None:
        check_alias(alias)
    settings = resolve_settings(project, tracking_uri=tracking_uri)
    store.prepare(settings)
    client = store.client(settings)
    champion = find_champion(model, client)
    to_alias = alias or champion.alias
    repo = head_repository(settings)
    path = notebook_at_head(repo, champion)
    notes: list[str] = []
    merged = _parameters(repo, path, champion, parameters or {}, notes)
    exp_name = client.get_experiment(champion.run.info.experiment_id).name

    parent = Path(tempfile.mkdtemp(prefix="mlops-retrain-"))
    try:
        files = data_at_head(settings, repo, client, champion, data, notes)
        _, top = scratch_tree(settings, repo, {}, parent, notes, True)
        assert top is not None  # a repository was given
        restore_data(settings, top / repo.prefix, files, champion.run_id, True, notes)
        result = run_notebook(
            inside(top, path),
            merged,
            experiment=exp_name,
            run_name=_run_name(champion, path),
            kernel_name=kernel_name,
            timeout=timeout,
            tracking_uri=settings.tracking_uri,
            tags=_rerun_tags(repo, path, champion, to_alias),
            hold_aliases="retrain",  # the challenger registers; only the gate moves the alias
        )
    finally:
        shutil.rmtree(parent, ignore_errors=True)
    rerun = client.get_run(result.run_id)
    notes += result.notes
    outcome = Retraining(
        name=champion.name,
        alias=to_alias,
        champion=champion.version,
        champion_run_id=champion.run_id,
        run_id=result.run_id,
        status="failed",
        parameters=dict(result.parameters),
        data={
            k[len(DATA_PREFIX) :]: v
            for k, v in rerun.data.tags.items()
            if k.startswith(DATA_PREFIX)
        },
        notes=notes,
        error=result.error,
        tracking_uri=settings.tracking_uri,
    )
    if not result.ok:
        return outcome
    outcome.challenger = _challenger(client, rerun, champion.name, notes)
    if outcome.challenger is None:
        outcome.status = "no challenger"
        return outcome
    if eval is None:
        outcome.status = "registered"
        return outcome
    decision = (eval, target, scoring, tolerance, force, reason, user)
    outcome.gate = _gate(settings, outcome, champion, *decision)
    outcome.status = outcome.gate_status()
    return outcome


def _parameters(
    repo: Repository,
    path: str,
    champion: Champion,
    overrides: dict[str, Any],
    notes: list[str],
) -> dict[str, Any]:
    """The recorded parameters (Python literals only: the tag is store input), overridden by
    ``overrides``, each of which the notebook at HEAD must define (a typo costs no re-run)."""
    recorded = recorded_parameters(dict(champion.run.data.tags), notes)
    if recorded is None:
        raise MlopsError(
            f"run {champion.run_id}'s recorded parameters (mlops.parameters) are not all Python "
            "literals under identifier names: not re-run, as they would be code from the store"
        )
    if overrides:
        import nbformat

        nb = nbformat.reads(dvc_repo.git_show(repo.toplevel, repo.commit, path), as_version=4)
        checked = check_parameter_names(nb, list(overrides), Path(path).name)
        if checked.unknown:
            raise MlopsError(f"not re-run: {checked.problems[0]}")
    return {**recorded, **overrides}


def _run_name(champion: Champion, path: str) -> str:
    """``<the champion's run name> (retrain)``, once: a retrain of a retrained champion is
    named like the first, not ``train (retrain) (retrain)`` (``mlops.retrain.run`` links them)."""
    base = (champion.run.info.run_name or Path(path).stem).removesuffix(SUFFIX)
    return f"{base}{SUFFIX}"


def _rerun_tags(repo: Repository, path: str, champion: Champion, alias: str) -> dict[str, str]:
    """What the re-run is (a retrain of which version, for which alias) and what ran: HEAD's
    commit and the project's notebook, not the scratch clone's temporary view of them."""
    from ..provenance import git_info

    tags = {k: v for k, v in git_info(repo.toplevel).items()}  # branch, remote URL
    tags.update(
        {
            RETRAIN_OF: champion.uri,
            RETRAIN_ALIAS: alias,
            RETRAIN_RUN: champion.run_id,
            RUNNER: RUNNER_NAME,
            MLFLOW_GIT_COMMIT: repo.commit,
            GIT_COMMIT: repo.commit,
            GIT_DIRTY: "false",  # the committed tree at HEAD ran, whatever the working tree holds
            NOTEBOOK_PATH: str(repo.toplevel / path),
            MLFLOW_SOURCE_NAME: path[len(repo.prefix) :],
        }
    )
    return tags


def _challenger(client: Any, rerun: Any, name: str, notes: list[str]) -> str | None:
    """The version of ``name`` the re-run registered (its ``mlops.promoted.NAME`` tag), when
    the registry agrees it came from this run; else ``None``."""
    from mlflow.exceptions import MlflowException

    value = rerun.data.tags.get(promoted_tag(name), "").split("@")[0].strip()
    if not value.isdigit():
        return None
    try:
        mv = client.get_model_version(name, value)
    except MlflowException:
        return None
    if (mv.tags or {}).get(RUN_ID) != rerun.info.run_id:
        notes.append(f"version {value} of {name} does not name this re-run as its run: not gated")
        return None
    return value


def _gate(
    settings: Settings,
    outcome: Retraining,
    champion: Champion,
    eval: Any,
    target: str | None,
    scoring: str | None,
    tolerance: float,
    force: bool,
    reason: str | None,
    user: str | None,
) -> Any:
    """The gate's decision on the challenger; its refusal to judge at all (bad evaluation
    data, say) is one line that says the challenger is registered and nothing moved."""
    from .gate import gate

    try:
        return gate(
            f"models:/{outcome.name}/{outcome.challenger}",
            champion.uri,
            eval=eval,
            target=target,
            scoring=scoring,
            tolerance=tolerance,
            alias=outcome.alias,
            force=force,
            reason=reason,
            via="retrain",
            user=user,
            source_run=outcome.run_id,
            settings=settings,
        )
    except MlopsError as exc:
        raise MlopsError(
            f"registered the challenger models:/{outcome.name}/{outcome.challenger} (run "
            f"{outcome.run_id}) but could not gate it, nothing moved: {shown(str(exc))}"
        ) from None
