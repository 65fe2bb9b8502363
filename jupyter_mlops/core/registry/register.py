"""Registration: a verified model folder becomes a logged model and a registered version.

Only reached once the fresh-process check has passed: the card is written naming the version the
model is about to get, the folder is logged as an MLflow logged model (its files' digests
recorded first), the version is registered with the run's lineage, and the alias moves unless
aliases are held (a sweep point, a reproduction). Every client call retries transient errors
itself (``store.RetryingClient``), except the artifact uploads, which never did.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

from .. import identity, tags
from . import digests
from .alias_moves import move_alias
from .package import Package
from .promotion import Promotion, is_family, is_sklearn

LINEAGE_PREFIXES = (tags.DATA_PREFIX, tags.GIT_PREFIX, tags.NOTEBOOK_PREFIX)
LINEAGE_MLFLOW_TAGS = (tags.MLFLOW_SOURCE_NAME, tags.MLFLOW_GIT_COMMIT)


def register(
    folder: Path,
    run: Any,
    model: Any,
    *,
    name: str,
    alias: str | None,
    held: str | None,
    description: str | None,
    X: Any,
    y: Any,
    package: Package,
    verification: dict[str, Any],
    reason: str | None = None,
    forced: bool = False,
) -> Promotion:
    """Write the card, log the model, register the version, move the alias, tag the runs."""
    from .model_card import card_facts

    client = run.client
    facts = card_facts(client, run.run_id)
    model_facts = _model_facts(model)
    candidate_run_id = (model_facts.get("candidate") or {}).get("run_id")
    fit_run_id = candidate_run_id or run.run_id  # where the model's fit is recorded
    promoted_by = identity.current_user(run.settings)  # the store's authenticated user
    card = _card(model, name, alias, description, X, y, package, model_facts)
    card["promoted_by"] = promoted_by
    version = next_version(client, name)
    write_card(folder, facts, version=version, model_uri=_uri(name, alias, version), **card)

    lineage = _lineage_tags(client.get_run(run.run_id), run.run_id)
    lineage.update(_model_tags(model_facts))
    logged, recorded = _log_model(
        client, run, folder, name, fit_run_id, lineage, verification, model_facts
    )
    _ensure_registered_model(client, name)
    version_tags = {**lineage, tags.VERIFIED: "true", tags.ARTIFACT_SHA256: recorded}
    version_tags[tags.PROMOTED_BY] = promoted_by
    if held:  # a held alias is named on the version, for `sweep --best ... --alias` to move
        version_tags[tags.ALIAS_HELD] = held
    mv = client.create_model_version(
        name,
        source=f"models:/{logged.model_id}",  # how MLflow links a version to its model
        run_id=fit_run_id,
        tags=version_tags,
        description=description,
        model_id=logged.model_id,
    )
    if int(mv.version) != version:  # another promotion got in between: fix the card
        _rewrite_card(client, folder, facts, logged.model_id, name, alias, mv.version, card)
    _name_version(client, name, alias, description, mv.version)
    if alias:  # the move, recorded in the alias history with the run that made the version
        move_alias(
            client,
            run.settings,
            name,
            alias,
            int(mv.version),
            reason=reason,
            via="promote",
            forced=forced,
            source_run=run.run_id,
        )
    _tag_runs(client, name, alias, mv.version, [run.run_id, candidate_run_id])
    return Promotion(
        name=name,
        version=str(mv.version),
        alias=alias,
        model_id=logged.model_id,
        run_id=run.run_id,
        model_version=mv,
        verification=verification,
        requirements=package.requirements,
        code_files=package.code_files,
        candidate_run_id=candidate_run_id,
        held_alias=held,
        tracking_uri=run.settings.tracking_uri,
        registry_uri=run.settings.registry_uri,
    )


# -- the steps  -----------------------------------------------------------------------------------
def _card(
    model: Any,
    name: str,
    alias: str | None,
    description: str | None,
    X: Any,
    y: Any,
    package: Package,
    model_facts: dict[str, Any],
) -> dict[str, Any]:
    """What the card says beyond the run's facts (``render_model_card``'s keywords)."""
    from .model_card import reference_line

    training = None
    if X is not None:
        training = {"rows": len(X), "columns": [str(c) for c in X.columns]}
        if y is not None:
            training["target"] = str(getattr(y, "name", None) or "y")
        task = _task(model)
        if task:
            training["task"] = task
    return {
        "name": name,
        "alias": alias,
        "description": description,
        "training": training,
        "requirements": package.requirements,
        "contract_summary": _contract_summary(package.contract),
        "reference": reference_line(package.reference, package.no_reference),
        "segments": model.to_dict() if is_family(model) else None,
        "model": model_facts,
    }


def write_card(folder: Path, facts: dict[str, Any], **kwargs: Any) -> None:
    """``MODEL_CARD.md`` in the model folder, from the run's facts and the card's keywords."""
    from .model_card import render_model_card

    card = render_model_card(facts, **kwargs)
    (folder / tags.MODEL_CARD).write_text(card, encoding="utf-8")


def _log_model(
    client: Any,
    run: Any,
    folder: Path,
    name: str,
    fit_run_id: str,
    lineage: dict[str, str],
    verification: dict[str, Any],
    model_facts: dict[str, Any],
) -> tuple[Any, str]:
    """The folder as a READY logged model of the run; returns it and the recorded digests."""
    from mlflow.entities import LoggedModelOutput
    from mlflow.models import Model

    logged = client.create_logged_model(
        run.experiment_id,
        name=name,
        source_run_id=fit_run_id,
        tags={**lineage, tags.VERIFIED_ROWS: str(verification["rows"])},
        params=_logged_params(model_facts["params"]),
        model_type="jupyter-mlops",
    )
    try:
        mlmodel = Model.load(str(folder / "MLmodel"))
        mlmodel.run_id, mlmodel.model_id = run.run_id, logged.model_id
        mlmodel.model_uuid, mlmodel.artifact_path = logged.model_id, logged.artifact_location
        mlmodel.save(str(folder / "MLmodel"))
        recorded = digests.record(folder)  # the files are final: what load_model checks
        client.raw.log_model_artifacts(logged.model_id, str(folder))
        client.log_outputs(run.run_id, [LoggedModelOutput(logged.model_id, 0)])
        client.finalize_logged_model(logged.model_id, "READY")
    except BaseException:
        _finalize_failed(client, logged.model_id)
        raise
    return logged, recorded


def _rewrite_card(
    client: Any,
    folder: Path,
    facts: dict[str, Any],
    model_id: str,
    name: str,
    alias: str | None,
    version: str,
    card: dict[str, Any],
) -> None:
    """The card (and the digests) again, for the version number the registry actually gave."""
    write_card(folder, facts, version=version, model_uri=_uri(name, alias, version), **card)
    client.raw.log_model_artifact(model_id, str(folder / tags.MODEL_CARD))
    recorded = digests.record(folder)
    if (folder / digests.MANIFEST_FILE).exists():
        client.raw.log_model_artifact(model_id, str(folder / digests.MANIFEST_FILE))
    client.set_model_version_tag(name, version, tags.ARTIFACT_SHA256, recorded)


def _name_version(
    client: Any, name: str, alias: str | None, description: str | None, version: str
) -> None:
    """Describe the registered model if it has no description (the alias moves after)."""
    if description and not client.get_registered_model(name).description:
        client.update_registered_model(name, description)


def _tag_runs(
    client: Any, name: str, alias: str | None, version: str, run_ids: list[str | None]
) -> None:
    """``mlops.promoted.<name>`` on the run (and the candidate run): VERSION or VERSION@ALIAS."""
    from ..tracking import session

    promoted = [(tags.promoted_tag(name)[:250], f"{version}{'@' + alias if alias else ''}")]
    for run_id in run_ids:
        if run_id:
            session.buffer.add(client, run_id, tags=promoted)


# -- the registry  --------------------------------------------------------------------------------
def next_version(client: Any, name: str) -> int:
    """The version number the registry will most likely give ``name``'s next version."""
    from mlflow.exceptions import MlflowException

    try:
        versions = client.search_model_versions(f"name='{name}'")
    except MlflowException:
        return 1
    return max((int(v.version) for v in versions), default=0) + 1


def _ensure_registered_model(client: Any, name: str) -> None:
    from mlflow.exceptions import MlflowException

    try:
        client.get_registered_model(name)
    except MlflowException as exc:
        if "RESOURCE_DOES_NOT_EXIST" not in str(exc.error_code):
            raise
        try:
            client.create_registered_model(name)
        except MlflowException as again:
            if "RESOURCE_ALREADY_EXISTS" not in str(again.error_code):
                raise


def _finalize_failed(client: Any, model_id: str) -> None:
    with contextlib.suppress(Exception):  # the original error is the one worth showing
        client.raw.finalize_logged_model(model_id, "FAILED")


# -- facts and tags  ------------------------------------------------------------------------------
def _lineage_tags(run: Any, run_id: str) -> dict[str, str]:
    found = {tags.RUN_ID: run_id}
    for key, value in run.data.tags.items():
        if key.startswith(LINEAGE_PREFIXES) or key in LINEAGE_MLFLOW_TAGS:
            found[key] = value
    return {k[:250]: str(v)[:5000] for k, v in found.items()}


def _model_facts(model: Any) -> dict[str, Any]:
    """What the promoted object itself is: its class, its own params (deep for a pipeline),
    and the child run that recorded its fit, if autologging saw it. Never the run's params,
    which may belong to other candidates the notebook tried."""
    from .. import autolog

    cls = type(model)
    facts: dict[str, Any] = {"class": f"{cls.__module__}.{cls.__qualname__}", "params": {}}
    if callable(getattr(model, "get_params", None)):
        with contextlib.suppress(Exception):
            facts["params"] = autolog.model_params(model)
            facts["changed_params"] = autolog.changed_params(model)
    found = autolog.candidate_of(model)
    if found is not None:
        facts["candidate"] = {
            "run_id": found.run_id,
            "name": found.name,
            "metrics": dict(found.metrics),
        }
    return facts


def _model_tags(model_facts: dict[str, Any]) -> dict[str, str]:
    found = {tags.MODEL_CLASS: model_facts["class"]}
    if model_facts.get("changed_params") is not None:
        found[tags.MODEL_PARAMS] = json.dumps(model_facts["changed_params"], sort_keys=True)
    if (model_facts.get("candidate") or {}).get("run_id"):
        found[tags.CANDIDATE_RUN_ID] = model_facts["candidate"]["run_id"]
    return {k: v[:5000] for k, v in found.items()}


def _logged_params(params: dict[str, str]) -> dict[str, str]:
    return {k[:250]: v[:6000] for k, v in params.items()}


def _contract_summary(contract: Any) -> str | None:
    if contract is None:
        return None
    from collections import Counter

    columns = contract.columns
    kinds = Counter(spec.family for spec in columns)
    parts = ", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items()))
    return (
        f"{len(columns)} columns ({parts}); ranges, levels and null rates in contract.json. "
        "Missing columns or wrong types raise; unseen values warn (MLOPS_ON_VIOLATION=raise "
        "or params={'on_violation': 'raise'} makes them raise)."
    )


def _task(model: Any) -> str | None:
    if not is_sklearn(model):
        return None
    from sklearn.base import is_classifier, is_regressor

    if is_classifier(model):
        return "classification"
    return "regression" if is_regressor(model) else None


def _uri(name: str, alias: str | None, version: int | str) -> str:
    return f"models:/{name}@{alias}" if alias else f"models:/{name}/{version}"
