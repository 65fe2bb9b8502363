"""The influence check: rows that steer an OLS fit by themselves (statsmodels' ``OLSInfluence``).

Two standard yardsticks, neither a test, so neither spends any of the residual checks' shared
alpha:

* Cook's distance at or above the median of F(p, n - p): deleting the row alone moves the
  coefficients outside their 50% confidence region (Cook 1977; Cook & Weisberg 1982, sec. 3.5).
  The fit's conclusions rest on that row: fail.
* Leverage (hat value) at or above 0.5 (Huber 1981, sec. 7.2): the row largely fits itself, so
  its residual cannot show whether it is wrong, even if its Cook's distance is small: warn.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .verdicts import Check, row_labels

LEVERAGE_WARN = 0.5


def influence(fit: Any, labels: Any) -> Check:
    """Leverage and Cook's distance of every row of ``fit`` (statsmodels OLS results); the rows
    past the yardsticks are named by ``labels`` (the frame's index of the fitted rows)."""
    from scipy.stats import f as f_dist
    from statsmodels.stats.outliers_influence import OLSInfluence

    result = OLSInfluence(fit)
    leverage = np.asarray(result.hat_matrix_diag, dtype=float)
    cooks = np.nan_to_num(np.asarray(result.cooks_distance[0], dtype=float), nan=0.0)
    n, p = len(leverage), int(fit.df_model) + 1
    cutoff = float(f_dist.ppf(0.5, p, n - p))
    influential = np.flatnonzero(cooks >= cutoff)
    influential = influential[np.argsort(-cooks[influential])]
    high = np.flatnonzero(leverage >= LEVERAGE_WARN)
    high = high[np.argsort(-leverage[high])]
    worst = int(np.argmax(cooks))
    if len(influential):
        verdict, flagged = "fail", influential
        one = len(influential) == 1
        message = (
            f"{_rows(labels, influential)} "
            f"{'moves' if one else 'each move'} the fitted coefficients outside their 50% "
            f"confidence region on {'its' if one else 'their'} own (Cook's distance "
            f"{'' if one else 'up to '}{cooks[worst]:.2f}, leverage {leverage[worst]:.2f}): "
            f"refit without "
            f"{'it' if one else 'them'} to see what changes, and check whether "
            f"{'it is an error or belongs' if one else 'they are errors or belong'} to another "
            "population."
        )
    elif len(high):
        verdict, flagged = "warn", high
        one = len(high) == 1
        message = (
            f"{_rows(labels, high)} {'has' if one else 'have'} leverage "
            f"{'' if one else 'up to '}{leverage[high[0]]:.2f} (at least {LEVERAGE_WARN}): "
            f"{'it' if one else 'each'} largely fits itself, so its residual cannot show an "
            f"error in it; check {'its' if one else 'their'} feature values."
        )
    else:
        verdict, flagged = "pass", influential
        message = (
            f"No row steers the fit (largest Cook's distance {cooks[worst]:.2f}, largest "
            f"leverage {leverage.max():.2f})."
        )
    return Check(
        "influence",
        verdict,
        message,
        "Cook's distance (leverage alongside)",
        [],
        float(cooks[worst]),
        None,
        cutoff,
        {
            "max_leverage": float(leverage.max()),
            "mean_leverage": float(p / n),
            "leverage_cutoff": LEVERAGE_WARN,
            "influential_rows": float(len(influential)),
            "high_leverage_rows": float(len(high)),
        },
        row_labels(labels, flagged),
    )


def _rows(labels: Any, positions: np.ndarray) -> str:
    names = row_labels(labels, positions, limit=5)
    more = f" and {len(positions) - 5:,} more" if len(positions) > 5 else ""
    noun = "Row" if len(positions) == 1 else "Rows"
    return f"{noun} {', '.join(names)}{more}"
