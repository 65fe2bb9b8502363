"""What ``retrain`` checks before it re-runs anything: a re-run costs minutes, so an evaluation
file without the target, a scorer that does not exist or ``--force`` without a reason is one
line first, not after the notebook ran."""

from __future__ import annotations

import math
from typing import Any

from ...errors import MlopsError
from ..registry.guard import check_force
from .gate_scoring import check_scorer, eval_frame


def check_gate_inputs(
    eval: Any,
    target: str | None,
    scoring: str | None,
    tolerance: float,
    force: bool,
    reason: str | None,
) -> None:
    """Refuse, in one line each, what the gate would refuse after the re-run."""
    check_force(force, reason)
    if eval is None:
        given = [
            flag
            for flag, value in (
                ("--target", target),
                ("--scoring", scoring),
                ("--force", force or None),
            )
            if value is not None
        ]
        if given:
            raise MlopsError(
                f"{given[0]} needs --eval PATH: without evaluation data retrain only registers "
                "the challenger, and nothing is gated or moved"
            )
        return
    if not target:
        raise MlopsError("--eval needs --target COL: the column the models are scored against")
    if not (isinstance(tolerance, int | float) and math.isfinite(tolerance) and tolerance >= 0):
        raise MlopsError(f"--tolerance must be a number zero or above, not {tolerance!r}")
    if scoring is not None:
        check_scorer(scoring)
    eval_frame(eval, target)  # the gate's own reading: the same line, before the re-run
