"""What ``log`` accepts: names MLflow can store, finite numbers as metrics, params that never
change on a run, and steps that fit the store's 64-bit column.

Checked here, before anything is queued, so a bad value is an error at the ``log`` call (MLflow
would refuse it later in the background, or drop it with only a warning).
"""

from __future__ import annotations

import math
import numbers
import re
from typing import Any

from ..errors import MlopsError
from .buffer import now_ms

STEP_RANGE = (-(2**63), 2**63 - 1)  # a metric's step, as the store keeps it (64-bit)
_KEY = re.compile(r"^[\w.\- /:]+$")
_MAX_KEY, _MAX_PARAM = 250, 6000


def check_step(step: Any) -> int:
    """``step`` as the store keeps it (``None`` is step 0); an ``MlopsError`` otherwise."""
    if step is not None and (isinstance(step, bool) or not isinstance(step, numbers.Integral)):
        raise MlopsError(f"step must be an integer, not {step!r}")
    if step is not None and not STEP_RANGE[0] <= step <= STEP_RANGE[1]:
        # the store's column is 64-bit: beyond it MLflow drops the metric with only a warning
        raise MlopsError(f"step must fit in 64 bits ({STEP_RANGE[0]:,} to {STEP_RANGE[1]:,})")
    return int(step or 0)


def split(
    values: dict[str, Any], run_params: dict[str, str], step: int
) -> tuple[list[tuple[str, float, int, int]], list[tuple[str, str]]]:
    """``values`` as metrics (numbers) and params (the rest, as text); ``run_params`` (the
    run's params so far) gains the new params, and a param logged again with another value is
    an error, as MLflow would make it."""
    ts = now_ms()
    metrics, params = [], []
    for key, value in values.items():
        if len(key) > _MAX_KEY or not _KEY.match(key) or key.startswith("/") or ".." in key:
            raise MlopsError(
                f"invalid name {key!r}: use letters, digits, and _ - . / : or spaces "
                f"(at most {_MAX_KEY} characters)"
            )
        if isinstance(value, numbers.Real) and not isinstance(value, bool):
            number = float(value)
            if math.isinf(number):
                raise MlopsError(f"{key}={value!r}: metrics must be finite numbers")
            metrics.append((key, number, ts, step))
            continue
        text = str(value)
        if len(text) > _MAX_PARAM:
            raise MlopsError(f"{key}: a param holds at most {_MAX_PARAM} characters")
        previous = run_params.get(key)
        if previous is not None and previous != text:
            raise MlopsError(
                f"param {key!r} is already {previous!r} on this run; params cannot change "
                "(log a metric, or start a new run)"
            )
        run_params[key] = text
        params.append((key, text))
    return metrics, params
