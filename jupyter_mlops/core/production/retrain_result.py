"""What a retrain did: the champion it re-ran, the re-run, the challenger it registered and the
gate's decision, with the exit code cron and CI act on."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from ..redact import redact_url

# 0: moved (or registered, without evaluation data); 3: the gate refused; 1: no challenger
_EXIT = {"passed": 0, "forced": 0, "registered": 0, "refused": 3}


@dataclass
class Retraining:
    """The outcome of ``retrain``: ``status`` is "passed", "forced" (the gate's refusal
    overridden), "refused", "registered" (no evaluation data: nothing gated), "failed" (the
    re-run failed) or "no challenger" (it registered no version of the model)."""

    name: str
    alias: str
    champion: str  # the version number that held the alias when the retrain started
    champion_run_id: str
    run_id: str  # the re-run
    status: str
    challenger: str | None = None
    gate: Any = None  # the gate's GateResult
    parameters: dict[str, Any] = field(default_factory=dict)
    data: dict[str, str] = field(default_factory=dict)  # {DVC-tracked path: md5} the re-run used
    notes: list[str] = field(default_factory=list)
    error: str | None = None
    tracking_uri: str = ""

    @property
    def exit_code(self) -> int:
        """0 moved or registered, 3 the gate refused, 1 the re-run failed or registered none."""
        return _EXIT.get(self.status, 1)

    @property
    def ok(self) -> bool:
        return self.exit_code == 0

    def gate_status(self) -> str:
        """The status the gate's decision gives: passed, forced or refused."""
        if self.gate is None or not self.gate.moved:
            return "refused"
        return "forced" if self.gate.forced else "passed"

    def line(self) -> str:
        """One line: what happened to the alias, and why."""
        champion = f"models:/{self.name}/{self.champion}"
        challenger = f"models:/{self.name}/{self.challenger}"
        if self.status == "failed":
            return f"the re-run {self.run_id} failed, nothing moved: {self.error or 'no error'}"
        if self.status == "no challenger":
            return (
                f"the re-run {self.run_id} registered no version of {self.name} (its notebook "
                f"did not promote {self.name!r}), nothing moved"
            )
        if self.status == "registered":
            return (
                f"registered the challenger {challenger}; nothing gated or moved: gate it with "
                f"`jupyter mlops gate {challenger} {champion} --eval PATH --target COL "
                f"--alias {self.alias}`"
            )
        return str(self.gate.line())

    def summary(self) -> str:
        lines = [
            f"Retrained models:/{self.name}@{self.alias} (version {self.champion}, run "
            f"{self.champion_run_id}): re-run {self.run_id}",
            f"  store: {redact_url(self.tracking_uri)}",
        ]
        lines += [f"  data      {path}  md5 {md5}" for path, md5 in sorted(self.data.items())]
        lines += [f"  parameter {k} = {v!r}" for k, v in self.parameters.items()]
        lines += [f"  note: {note}" for note in self.notes]
        if self.challenger is not None:
            lines.append(f"  challenger: models:/{self.name}/{self.challenger}")
        lines.append(self.line())
        return "\n".join(lines)

    def __repr__(self) -> str:
        return self.summary()

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "alias": self.alias,
            "status": self.status,
            "exit_code": self.exit_code,
            "champion": self.champion,
            "champion_run_id": self.champion_run_id,
            "run_id": self.run_id,
            "challenger": self.challenger,
            "gate": self.gate.to_dict() if self.gate is not None else None,
            "parameters": {k: repr(v) for k, v in self.parameters.items()},
            "data": dict(self.data),
            "notes": list(self.notes),
            "error": self.error,
            "line": self.line(),
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)
