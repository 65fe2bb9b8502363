"""The gate: a challenger takes the champion's alias only when it is at least as good.

Both versions are loaded as registered (the packaged pyfunc with its contract, its files
checked against the digests recorded at promotion) and scored on the same evaluation data with
one scikit-learn scorer. The challenger passes when its score is at least the champion's minus
the tolerance, its run's checks did not fail, and its contract accepts the evaluation data.
Passing moves the alias; refusing leaves it. Either way the decision (both scores, the scorer,
the tolerance, the evaluation data's digest, the reasons) is recorded on the challenger's
version (``GATE_*`` tags) and, when an alias was at stake, in the alias history. ``force``
with a reason moves the alias whatever the decision, and is recorded as forced.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...errors import MlopsError
from .. import tags
from ..registry import load, models
from ..registry.alias_moves import move_alias, record_decision
from ..registry.guard import check_force, failed_checks, failed_line
from ..session import project_settings
from .gate_scoring import check_scorer, eval_frame, load_registered, score_model, scorer_for

if TYPE_CHECKING:
    import pandas as pd

    from ...config import Settings

PASSED, REFUSED, FORCED = "passed", "refused", "forced"


@dataclass
class GateResult:
    """The gate's decision on ``challenger`` against ``champion`` (version numbers of
    ``name``); ``moved`` says whether ``alias`` now points at the challenger."""

    name: str
    alias: str | None
    challenger: int
    champion: int
    scoring: str
    challenger_score: float | None
    champion_score: float | None
    tolerance: float
    passed: bool
    forced: bool
    moved: bool
    reasons: list[str] = field(default_factory=list)
    eval: dict[str, Any] = field(default_factory=dict)
    user_reason: str = ""

    @property
    def result(self) -> str:
        return FORCED if self.forced else PASSED if self.passed else REFUSED

    @property
    def exit_code(self) -> int:
        """0 when the challenger passed (or was forced through), 3 when the gate refused."""
        return 0 if self.passed or self.forced else 3

    def line(self) -> str:
        """One line: the decision, both scores, and why."""
        challenger, champion = f"v{self.challenger}", f"v{self.champion}"
        scores = (
            f"{self.scoring}: challenger {challenger} {_shown(self.challenger_score)}, "
            f"champion {champion} {_shown(self.champion_score)} (tolerance {self.tolerance:g})"
        )
        where = f"{self.alias!r} of {self.name}" if self.alias else None
        if self.passed:
            tail = f"; {where} -> {challenger}" if self.moved else ""
            return f"gate passed: {scores}{tail}"
        why = "; ".join(self.reasons)
        if self.forced:
            tail = f"; {where} -> {challenger}" if self.moved else ""
            return f"gate forced: {scores}; would have refused: {why}{tail}"
        stays = f"; {where} stays at {champion}" if self.alias else ""
        return f"gate refused: {scores}; {why}{stays}"

    def decision(self) -> dict[str, Any]:
        """What is recorded on the version and in the alias history."""
        return {
            "result": self.result,
            "scoring": self.scoring,
            "challenger": self.challenger,
            "champion": self.champion,
            "challenger_score": _finite(self.challenger_score),
            "champion_score": _finite(self.champion_score),
            "tolerance": self.tolerance,
            "reasons": self.reasons,
            "eval": self.eval,
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "alias": self.alias,
            **self.decision(),
            "passed": self.passed,
            "forced": self.forced,
            "moved": self.moved,
            "reason": self.user_reason,
            "line": self.line(),
        }

    def __repr__(self) -> str:
        return self.line()


def gate(
    challenger: str,
    champion: str,
    *,
    eval: str | Path | pd.DataFrame,
    target: str,
    scoring: str | None = None,
    tolerance: float = 0.0,
    alias: str | None = None,
    force: bool = False,
    reason: str | None = None,
    via: str = "api",
    user: str | None = None,
    source_run: str | None = None,
    settings: Settings | None = None,
    tracking_uri: str | None = None,
) -> GateResult:
    """Judge ``challenger`` (``models:/NAME/VERSION``) against ``champion``
    (``models:/NAME@ALIAS``, or a version with ``alias=``) on ``eval`` (a CSV or Parquet file,
    or a DataFrame, holding ``target``) with the scikit-learn scorer ``scoring`` (default:
    accuracy for a classifier, r2 for a regressor); move the alias when the challenger passes,
    or when ``force`` with a ``reason``. The decision is recorded; refusing is a result
    (``exit_code`` 3), not an exception. Bad input raises a one-line ``MlopsError`` before
    anything is loaded, scored, recorded or moved."""
    check_force(force, reason)
    tolerance = _tolerance(tolerance)
    if scoring is not None:
        check_scorer(scoring)
    settings = settings or project_settings(tracking_uri)
    c_name, c_alias, c_version = load.parse_uri(challenger)
    k_name, k_alias, k_version = load.parse_uri(champion)
    alias = models.check_alias(alias) if alias is not None else k_alias
    if c_name != k_name:
        raise MlopsError(
            f"the challenger ({c_name}) and the champion ({k_name}) are different models: an "
            "alias belongs to one registered model"
        )
    client = models.registry_client(settings)
    c_mv = load.registered_version(client, c_name, c_alias, c_version)
    k_mv = load.registered_version(client, k_name, k_alias, k_version)
    if int(c_mv.version) == int(k_mv.version):
        raise MlopsError(
            f"the challenger is the champion (version {c_mv.version} of {c_name}): nothing to judge"
        )
    frame, eval_facts = eval_frame(eval, target)
    X, y = frame.drop(columns=[target]), frame[target]
    challenger_model = load_registered(challenger, settings)
    champion_model = load_registered(champion, settings)
    scorer_name, scorer = scorer_for(scoring, challenger_model, y)

    reasons: list[str] = []
    c_score, c_problem = score_model(challenger_model, scorer, X, y)
    if c_problem:
        reasons.append(f"the challenger's {c_problem}")
    k_score, k_problem = score_model(champion_model, scorer, X, y)
    if k_problem:
        reasons.append(f"the champion cannot be scored to compare with: its {k_problem}")
    if c_score is not None and k_score is not None and c_score < k_score - tolerance:
        reasons.append(
            f"its {scorer_name} is below the champion's"
            + (f" by more than the tolerance {tolerance:g}" if tolerance else "")
        )
    failed = _failed_checks(client, c_mv)
    if failed:
        reasons.append(f"its run's checks failed: {failed_line(failed)}")

    result = GateResult(
        name=c_mv.name,
        alias=alias,
        challenger=int(c_mv.version),
        champion=int(k_mv.version),
        scoring=scorer_name,
        challenger_score=c_score,
        champion_score=k_score,
        tolerance=tolerance,
        passed=not reasons,
        forced=bool(reasons) and force,
        moved=False,
        reasons=reasons,
        eval=eval_facts,
        user_reason=" ".join((reason or "").split()),
    )
    _record(client, settings, result, reason, via, user, source_run)
    return result


def _record(
    client: Any,
    settings: Settings,
    result: GateResult,
    reason: str | None,
    via: str,
    user: str | None,
    source_run: str | None,
) -> None:
    """The decision on the challenger's version; then the alias moved (passed or forced) or
    the refusal recorded in the alias history (an alias was at stake)."""
    decision = result.decision()
    when = datetime.now(timezone.utc).isoformat(timespec="seconds")
    version_tags = {
        tags.GATE_RESULT: result.result,
        tags.GATE_DECISION: json.dumps({**decision, "time": when}, sort_keys=True)[:7000],
        tags.GATE_CHAMPION: f"models:/{result.name}/{result.champion}",
    }
    for key, value in version_tags.items():
        client.set_model_version_tag(result.name, str(result.challenger), key, value)
    if result.alias is None:
        return
    common = {"reason": reason, "user": user, "via": via, "gate": decision}
    if result.passed or result.forced:
        move_alias(
            client,
            settings,
            result.name,
            result.alias,
            result.challenger,
            forced=result.forced,
            source_run=source_run,
            **common,
        )
        result.moved = True
    else:
        record_decision(
            client, settings, result.name, result.alias, source_run=source_run, **common
        )


def _failed_checks(client: Any, mv: Any) -> dict[str, int]:
    """The failed checks of the run that promoted the version (``mlops.run_id``) and of the
    run that recorded its fit (the version's ``run_id``), which may be a child of it."""
    from mlflow.exceptions import MlflowException

    failed: dict[str, int] = {}
    for run_id in dict.fromkeys(x for x in ((mv.tags or {}).get(tags.RUN_ID), mv.run_id) if x):
        try:
            failed.update(failed_checks(dict(client.get_run(run_id).data.tags)))
        except MlflowException:  # a deleted run: its checks cannot be read, nor said failed
            continue
    return failed


def _tolerance(value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if isinstance(value, bool) or not math.isfinite(number) or number < 0:
        raise MlopsError(f"the tolerance is a number from 0 (a score's units), not {value!r}")
    return number


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def _shown(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"
