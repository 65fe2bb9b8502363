"""What a sweep returns and records: each point's ``ChildRun``, the ``Best`` one, the whole
``SweepResult`` and its summary table, and the strict-JSON form the summary artifact holds."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from ..redact import redact_url

TABLE_METRICS = 4  # metric columns shown in the summary table (all of them are in the artifact)


@dataclass
class ChildRun:
    """One grid point: its parameters and how its run ended."""

    index: int
    parameters: dict[str, Any]
    status: str
    run_id: str | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    error: str | None = None
    promoted: dict[str, str] = field(default_factory=dict)  # {model name: version registered}

    @property
    def ok(self) -> bool:
        return self.status == "FINISHED"

    @property
    def label(self) -> str:
        return point_label(self.parameters)


@dataclass
class Best:
    """The child ``sweep(best=METRIC)`` chose, and where ``alias`` now points because of it."""

    metric: str
    maximize: bool
    chosen_by: str  # why that direction: "--maximize", "--minimize" or the default rule
    child: ChildRun | None  # None: no finished child logged the metric as a number
    alias: str | None = None
    moved: dict[str, str] = field(default_factory=dict)  # {model name: version} alias now on
    problem: str | None = None  # why the alias could not be moved

    @property
    def value(self) -> float | None:
        return None if self.child is None else self.child.metrics[self.metric]

    @property
    def ok(self) -> bool:
        """A child was chosen and, with an alias, the alias was moved."""
        return self.child is not None and self.problem is None

    def lines(self) -> list[str]:
        way = "highest" if self.maximize else "lowest"
        if self.child is None:
            held = f"; alias {self.alias!r} not moved" if self.alias else ""
            return [f"best: no finished child logged {self.metric!r} as a number{held}"]
        c = self.child
        point = f"{c.label} {self.metric}={self.value:.6g}"
        lines = [f"best by {self.metric}, {way} wins ({self.chosen_by}): run {c.run_id}"]
        if self.alias:
            lines += [
                f"best: {point} → models:/{name}@{self.alias} is now version {version}"
                for name, version in sorted(self.moved.items())
            ]
            if self.problem:
                lines.append(f"best: {point}: {self.problem}")
        elif c.promoted:
            uris = ", ".join(f"models:/{n}/{v}" for n, v in sorted(c.promoted.items()))
            lines.append(f"best: {point} registered {uris}")
        else:
            lines.append(f"best: {point} (it promoted no model)")
        return lines

    def to_dict(self) -> dict[str, Any]:
        return plain(
            {
                "metric": self.metric,
                "maximize": self.maximize,
                "chosen_by": self.chosen_by,
                "run_id": self.child.run_id if self.child else None,
                "index": self.child.index if self.child else None,
                "parameters": self.child.parameters if self.child else None,
                "value": self.value,
                "alias": self.alias,
                "moved": self.moved,
                "problem": self.problem,
            }
        )


@dataclass
class SweepResult:
    """What ``sweep`` did: the parent run and one ``ChildRun`` per grid point, in grid order."""

    parent_run_id: str
    experiment: str
    status: str
    tracking_uri: str
    grid: dict[str, list[Any]]
    children: list[ChildRun]
    backend: str
    best: Best | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def failed(self) -> list[ChildRun]:
        return [c for c in self.children if not c.ok]

    @property
    def ok(self) -> bool:
        """Every child finished and, with ``best``, the best was chosen (and the alias moved)."""
        return self.status == "FINISHED" and (self.best is None or self.best.ok)

    def to_dict(self) -> dict[str, Any]:
        return {
            "parent_run_id": self.parent_run_id,
            "experiment": self.experiment,
            "status": self.status,
            "tracking_uri": self.tracking_uri,
            "backend": self.backend,
            "grid": plain(self.grid),
            "size": len(self.children),
            "failed": len(self.failed),
            "children": [plain(asdict(c)) for c in self.children],
            "best": self.best.to_dict() if self.best else None,
            "notes": list(self.notes),
        }

    def summary(self) -> str:
        """A compact table of the children (parameters, status, key metrics, run id)."""
        n, failed = len(self.children), len(self.failed)
        lines = [
            f"Sweep of {n} run{'s' if n != 1 else ''} ({failed} failed): parent run "
            f"{self.parent_run_id} {self.status} in experiment '{self.experiment}'",
            f"  store: {redact_url(self.tracking_uri)}",
            f"  workers: {self.backend}",
        ]
        metric_names = sorted({k for c in self.children for k in c.metrics})
        shown = metric_names[:TABLE_METRICS]
        header = [*self.grid, "status", *shown, "run"]
        rows = [
            [
                *(show(c.parameters.get(k)) for k in self.grid),
                c.status,
                *(f"{c.metrics[m]:.6g}" if m in c.metrics else "-" for m in shown),
                c.run_id or "-",
            ]
            for c in self.children
        ]
        widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
        for row in [header, *rows]:
            lines.append(
                "  " + "  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip()
            )
        if len(metric_names) > len(shown):
            lines.append(f"  (+{len(metric_names) - len(shown)} more metrics in sweep/summary.csv)")
        for child in self.failed:
            run = f" (run {child.run_id})" if child.run_id else ""
            lines.append(
                f"  {child.status} {child.label}{run}: {child.error or 'no error recorded'}"
            )
        lines += [f"  note: {note}" for note in self.notes]
        if self.best is not None:
            lines += [f"  {line}" for line in self.best.lines()]
        return "\n".join(lines)


def point_label(parameters: Mapping[str, Any]) -> str:
    """``alpha=0.1 model=ridge``: how a point is named in runs, tables and messages."""
    return " ".join(f"{k}={show(v)}" for k, v in parameters.items())


def show(value: Any) -> str:
    """A value as a table shows it: strings bare, anything else as its repr."""
    return value if isinstance(value, str) else repr(value)


def plain(value: Any) -> Any:
    """Strict JSON: tuples as lists, NaN and infinities as None, anything else exotic as repr."""
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [plain(v) for v in value]
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, str | int | bool):
        return value
    return repr(value)
