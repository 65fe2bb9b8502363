"""The best point of a sweep: which way a metric counts, the child that wins, and the alias
moved to the version it promoted (points only register: moving the alias is the sweep's)."""

from __future__ import annotations

import math
import re
from typing import Any

from ...errors import MlopsError
from .. import tags
from .sweep_result import Best, ChildRun
from .sweep_store import children_runs

# metric names where lower is better, so ``best`` minimizes them unless told otherwise
_LOWER_IS_BETTER = re.compile(
    r"loss|error|(^|[^a-z])(r?mse|mae|mape|r?msle|medae|err|perplexity)([^a-z]|$)", re.IGNORECASE
)


def default_maximize(metric: str) -> bool:
    """Whether ``best`` picks the highest value of ``metric`` when not told: yes for scores
    (auc, accuracy, r2), no for what is named like a loss or an error (val_loss, rmse, mae).
    scikit-learn's ``neg_*`` scorers are negated losses, so higher is better there."""
    if metric.lower().startswith("neg_"):
        return True
    return not _LOWER_IS_BETTER.search(metric)


def check_best(best: Any, alias: Any, maximize: Any) -> None:
    """Refuse a bad ``best``/``alias``/``maximize`` before anything is recorded."""
    if best is None:
        if alias is not None:
            raise MlopsError(
                f"alias {alias!r} needs best=METRIC: the alias goes to the best point's version"
            )
        if maximize is not None:
            raise MlopsError("maximize needs best=METRIC: it says which way the best point is")
        return
    if not isinstance(best, str) or not best.strip():
        raise MlopsError(f"best must be the name of a metric the notebook logs, not {best!r}")
    if maximize is not None and not isinstance(maximize, bool):
        raise MlopsError(f"maximize must be True, False or None, not {maximize!r}")
    if alias is not None:
        from ..registry.models import check_alias

        check_alias(alias)  # the rules (and words) promote and the Models panel use


def promotions(client: Any, exp_id: str, parent_id: str, children: list[ChildRun]) -> dict:
    """Fill each child's ``promoted`` from its ``mlops.promoted.<name>`` tags; return the
    aliases the points held, ``{(model, alias): number of points}``."""
    from mlflow.exceptions import MlflowException

    runs = {r.info.run_id: r for r in children_runs(client, exp_id, parent_id)}
    held: dict[tuple[str, str], int] = {}
    for child in children:
        run = runs.get(child.run_id) if child.run_id else None
        for key, value in sorted(run.data.tags.items()) if run else ():
            if not key.startswith(tags.PROMOTED_PREFIX):
                continue
            name, version = key[len(tags.PROMOTED_PREFIX) :], value.split("@")[0]
            child.promoted[name] = version
            try:
                mv = client.get_model_version(name, version)
            except MlflowException:  # deleted since: nothing to say about it
                continue
            alias = mv.tags.get(tags.ALIAS_HELD)
            if alias:
                held[(name, alias)] = held.get((name, alias), 0) + 1
    return held


def held_note(held: dict[tuple[str, str], int]) -> str:
    parts = [
        f"{n} point{'s' if n != 1 else ''} registered {name} without moving @{alias}"
        for (name, alias), n in sorted(held.items())
    ]
    aliases = sorted({alias for _, alias in held})
    how = " or ".join(f"--best METRIC --alias {a}" for a in aliases)
    return f"{'; '.join(parts)} (points only register; {how} moves it to the best point)"


def apply_best(
    client: Any,
    settings: Any,
    parent_id: str,
    children: list[ChildRun],
    metric: str,
    alias: str | None,
    maximize: bool | None,
) -> Best:
    """Choose the best finished child by ``metric``, record it on the parent and move
    ``alias`` to each version it registered. Ties go to the first point in grid order."""
    if maximize is None:
        maximize = default_maximize(metric)
        named = "is not" if maximize else "is"
        other = "--minimize for lowest" if maximize else "--maximize for highest"
        chosen_by = f"default: {metric!r} {named} named like a loss or an error; {other}"
    else:
        chosen_by = "--maximize" if maximize else "--minimize"
    candidates = [
        c
        for c in children
        if c.ok
        and isinstance(c.metrics.get(metric), int | float)
        and math.isfinite(c.metrics[metric])
    ]
    if not candidates:
        return Best(metric, maximize, chosen_by, None, alias)
    pick = max if maximize else min
    child = pick(candidates, key=lambda c: c.metrics[metric])
    result = Best(metric, maximize, chosen_by, child, alias)
    recorded = {
        tags.SWEEP_BEST_RUN_ID: child.run_id,
        tags.SWEEP_BEST_METRIC: metric,
        tags.SWEEP_BEST_VALUE: repr(float(child.metrics[metric])),
        tags.SWEEP_BEST_DIRECTION: "maximize" if maximize else "minimize",
    }
    from mlflow.entities import RunTag

    batch = [RunTag(k, v) for k, v in recorded.items()]
    client.log_batch(parent_id, tags=batch)
    if alias is None:
        return result
    if not child.promoted:
        result.problem = f"it promoted no model, so alias {alias!r} was not moved"
        return result
    from ..registry.models import set_alias

    for name, version in sorted(child.promoted.items()):
        try:
            set_alias(name, alias, version, via="sweep", settings=settings)
        except MlopsError as exc:  # the version was deleted since, say
            result.problem = f"alias {alias!r} not moved on {name}: {exc}"
            continue
        result.moved[name] = version
    return result
