"""What the data checks and the residual checks share: a check's verdict record (``Check``),
the error for input they cannot run on, and the seed of their random subsamples.

A module of its own so that ``checks`` (the entry point and report) can import both kinds of
check, and both can build ``Check`` records, without an import circle.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ...errors import MlopsError
from .reports import json_safe

SEED = 0  # of every random subsample the checks take, so a report can be reproduced


class CheckError(MlopsError):
    """Input the checks cannot run on; the message says why in one line."""


@dataclass
class Check:
    """One check's outcome (pass, warn or fail) with the statistic and the effect behind it."""

    id: str
    verdict: str
    message: str
    test: str
    columns: list[str] = field(default_factory=list)
    statistic: float | None = None
    p_value: float | None = None
    threshold: float | None = None
    effect: dict[str, float | None] = field(default_factory=dict)
    rows: list[str] = field(default_factory=list)  # the rows it names, by the frame's index

    def to_dict(self) -> dict[str, Any]:
        return json_safe(
            {
                "id": self.id,
                "columns": self.columns,
                "statistic": self.statistic,
                "p_value": self.p_value,
                "threshold": self.threshold,
                "verdict": self.verdict,
                "message": self.message,
                "test": self.test,
                "effect": self.effect,
                "rows": self.rows,
            }
        )


def row_labels(index: pd.Index, positions: Any, limit: int = 50) -> list[str]:
    """The frame's own labels of the rows at ``positions`` (at most ``limit``), as text."""
    return [str(label) for label in index[positions][:limit]]


def is_numeric(s: pd.Series) -> bool:
    """Numbers a check can compute on (booleans are levels, not quantities)."""
    return pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype)
