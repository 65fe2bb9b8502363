"""What ``reproduce`` finds: one ``MetricRow`` per metric of either run (``compare_metrics``)
and the ``Reproduction`` that holds them, its verdict and its table."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..redact import redact_url

if TYPE_CHECKING:
    import pandas as pd

DEFAULT_RTOL = 1e-6
DEFAULT_ATOL = 0.0
VERDICTS = ("same", "differs", "missing", "new")


@dataclass
class MetricRow:
    """One metric of the original run against the reproduction (latest value of each)."""

    metric: str
    original: float | None
    reproduced: float | None
    abs_diff: float | None
    rel_diff: float | None  # |diff| / |original|; inf when the original is 0 and they differ
    verdict: str  # same (within tolerance), differs, missing (original only), new


@dataclass(repr=False)
class Reproduction:
    """What ``reproduce`` found: the new run, one row per metric, and the overall verdict."""

    original_run_id: str
    run_id: str
    status: str  # same, differs, failed (the rerun did not finish)
    rows: list[MetricRow]
    experiment: str
    tracking_uri: str
    rtol: float = DEFAULT_RTOL
    atol: float = DEFAULT_ATOL
    notes: list[str] = field(default_factory=list)
    error: str | None = None  # the failing cell, when the rerun failed
    scratch: Path | None = None  # the scratch project folder, when kept

    @property
    def ok(self) -> bool:
        return self.status == "same"

    def to_dict(self) -> dict[str, Any]:
        from ..stats.reports import json_safe

        data = asdict(self)
        data["ok"] = self.ok
        data["scratch"] = str(self.scratch) if self.scratch else None
        return json_safe(data)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=1, allow_nan=False)

    def to_frame(self) -> pd.DataFrame:
        import pandas as pd

        columns = ["metric", "original", "reproduced", "abs_diff", "rel_diff", "verdict"]
        return pd.DataFrame([asdict(r) for r in self.rows], columns=columns)

    def summary(self) -> str:
        lines = [
            f"Reproduced run {self.original_run_id} as run {self.run_id} "
            f"in experiment '{self.experiment}'",
            f"  store: {redact_url(self.tracking_uri)}",
        ]
        lines += [f"  note: {note}" for note in self.notes]
        if self.rows:
            lines += ["", *_table(self.rows), ""]
        else:
            lines.append("  neither run logged a metric: nothing to compare")
        tolerance = f"rtol={self.rtol:g}, atol={self.atol:g}"
        if self.status == "failed":
            lines.append(f"Result: the rerun FAILED: {self.error or 'see the run'}")
        elif self.status == "same":
            lines.append(f"Result: same ({len(self.rows)} metric(s) within {tolerance})")
        else:
            off = sum(r.verdict != "same" for r in self.rows)
            lines.append(f"Result: differs ({off} of {len(self.rows)} metric(s); {tolerance})")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return self.summary()


def _number(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def _table(rows: list[MetricRow]) -> list[str]:
    header = ("metric", "original", "reproduced", "abs diff", "rel diff", "verdict")
    cells = [
        (
            r.metric,
            _number(r.original, ".10g"),
            _number(r.reproduced, ".10g"),
            _number(r.abs_diff, ".3g"),
            _number(r.rel_diff, ".3g"),
            r.verdict,
        )
        for r in rows
    ]
    widths = [max(len(row[i]) for row in (header, *cells)) for i in range(len(header))]
    return [
        "  " + "  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip()
        for row in (header, *cells)
    ]


def compare_metrics(
    original: dict[str, float],
    reproduced: dict[str, float],
    *,
    rtol: float = DEFAULT_RTOL,
    atol: float = DEFAULT_ATOL,
) -> list[MetricRow]:
    """One row per metric of either run, sorted by name.

    Same means ``|a - b| <= atol + rtol * |a|`` with ``a`` the original (numpy's ``isclose``,
    relative to the value being reproduced); two NaNs are the same, one NaN differs.
    """
    rows = []
    for key in sorted(set(original) | set(reproduced)):
        a, b = original.get(key), reproduced.get(key)
        if a is None or b is None:
            verdict = "missing" if b is None else "new"
            rows.append(MetricRow(key, a, b, None, None, verdict))
            continue
        a, b = float(a), float(b)
        if math.isnan(a) or math.isnan(b):
            both = math.isnan(a) and math.isnan(b)
            rows.append(MetricRow(key, a, b, None, None, "same" if both else "differs"))
            continue
        diff = abs(a - b) if a != b else 0.0  # equal infinities
        rel = diff / abs(a) if a != 0 else (math.inf if diff else 0.0)
        same = diff <= atol + rtol * abs(a)
        rows.append(MetricRow(key, a, b, diff, rel, "same" if same else "differs"))
    return rows
