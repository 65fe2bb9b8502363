"""What ``retrain`` checks before it re-runs anything: a re-run costs minutes, so an evaluation
file without the target, a scorer that does not exist or ``--force`` without a reason is one
line first, not after the notebook ran."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from ...errors import MlopsError
from ..registry.guard import check_force

EXAMPLE_SCORERS = ("accuracy", "roc_auc", "f1", "balanced_accuracy", "r2", "neg_mean_squared_error")
_SHOWN_COLUMNS = 8


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
    columns = eval_columns(eval)
    if target not in columns:
        shown = ", ".join(columns[:_SHOWN_COLUMNS]) + (", ..." if len(columns) > 8 else "")
        raise MlopsError(
            f"the evaluation data has no column {target!r} (--target); its columns: {shown}"
        )


def check_scorer(scoring: str) -> None:
    """A scikit-learn scorer name, else one line naming a few real ones."""
    from sklearn.metrics import get_scorer_names

    if scoring not in get_scorer_names():
        raise MlopsError(
            f"no scorer {scoring!r}: give a scikit-learn scorer name, for example "
            f"{', '.join(EXAMPLE_SCORERS)} (all: sklearn.metrics.get_scorer_names())"
        )


def eval_columns(eval: Any) -> list[str]:
    """The column names of a DataFrame, or of a CSV or Parquet file (its header only)."""
    if hasattr(eval, "columns"):
        return [str(c) for c in eval.columns]
    path = Path(eval)
    if not path.is_file():
        raise MlopsError(f"no evaluation file at {eval} (--eval)")
    suffix = path.suffix.lower()
    try:
        if suffix in (".parquet", ".pq"):
            import pyarrow.parquet as pq

            return list(pq.read_schema(path).names)
        if suffix in (".csv", ".txt"):
            import pandas as pd

            return [str(c) for c in pd.read_csv(path, nrows=0).columns]
    except Exception as exc:  # pandas and pyarrow raise several kinds for an unreadable file
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        raise MlopsError(f"cannot read the evaluation file {eval}: {first}") from None
    raise MlopsError(f"--eval {eval}: give a .csv or .parquet file")
