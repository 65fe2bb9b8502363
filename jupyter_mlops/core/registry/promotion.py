"""What a promotion is: its error, its result, and the few facts about a model every step asks.

Kept apart from the steps (``package``, ``verify``, ``register``) so that each can raise
``PromoteError`` and recognise a segment family without importing the orchestration in
``promote``.
"""

from __future__ import annotations

import shlex
import sys
from dataclasses import dataclass, field
from typing import Any

from ...errors import MlopsError
from ..redact import redact_url

EXAMPLE_ROWS = 5  # rows of the input example, and of the dry-run predict before any run


class PromoteError(MlopsError):
    """The model was not registered; the message says why and what to do."""


@dataclass(repr=False)
class Promotion:
    """A registered, verified model version. Attribute access falls through to MLflow's
    ``ModelVersion`` (``.version``, ``.run_id``, ``.source`` ...)."""

    name: str
    version: str
    alias: str | None
    model_id: str
    run_id: str
    model_version: Any
    verification: dict[str, Any] = field(default_factory=dict)
    requirements: list[str] = field(default_factory=list)
    code_files: list[str] = field(default_factory=list)
    seconds: float = 0.0
    candidate_run_id: str | None = None  # the child run that recorded this model's fit
    held_alias: str | None = None  # asked for, not moved (a sweep point, a reproduction...)
    held_by: str | None = None  # "retrain" in a retrain's re-run, whose gate moves the alias
    tracking_uri: str = ""  # the project's store, for loading the version outside the project
    registry_uri: str = ""

    @property
    def held_note(self) -> str | None:
        """One line saying the alias asked for was not moved, and how to move it; else None."""
        if not self.held_alias:
            return None
        if self.held_by == "retrain":
            return (
                f"alias {self.held_alias!r} not moved: a retrain's re-run registers the "
                "challenger only; its gate moves the alias (`jupyter mlops gate CHALLENGER "
                f"CHAMPION --eval PATH --target COL --alias {self.held_alias}`)"
            )
        return (
            f"alias {self.held_alias!r} not moved: promotions inside a sweep point or a "
            "reproduction only register (use `jupyter mlops sweep --best METRIC --alias "
            f"{self.held_alias}`)"
        )

    @property
    def uri(self) -> str:
        """``models:/NAME@ALIAS`` when an alias was set, else ``models:/NAME/VERSION``."""
        if self.alias:
            return f"models:/{self.name}@{self.alias}"
        return f"models:/{self.name}/{self.version}"

    def elsewhere_env(self) -> dict[str, str]:
        """The environment that points MLflow at the store this version is in (credentials
        left out: they go in MLflow's own variables), so ``mlflow.pyfunc.load_model(uri)``
        finds it outside the project; without it MLflow looks in ``./mlflow.db``."""
        env = {"MLFLOW_TRACKING_URI": redact_url(self.tracking_uri) or ""}
        if self.registry_uri and self.registry_uri != self.tracking_uri:
            env["MLFLOW_REGISTRY_URI"] = redact_url(self.registry_uri) or ""
        return env

    @property
    def load_elsewhere(self) -> str:
        """One line: how to load this version where jupyter-mlops is not the one looking."""
        env = " ".join(f"{k}={shlex.quote(v)}" for k, v in self.elsewhere_env().items())
        return f'export {env}, then mlflow.pyfunc.load_model("{self.uri}")'

    def __getattr__(self, key: str) -> Any:
        if key.startswith("_") or key == "model_version":
            raise AttributeError(key)
        return getattr(self.model_version, key)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "alias": self.alias,
            "held_alias": self.held_alias,
            "uri": self.uri,
            "model_id": self.model_id,
            "run_id": self.run_id,
            "verification": self.verification,
            "requirements": self.requirements,
            "code_files": self.code_files,
            "seconds": round(self.seconds, 3),
            "candidate_run_id": self.candidate_run_id,
            "load_elsewhere": self.load_elsewhere,
        }

    def summary(self) -> str:
        v = self.verification
        checked = (
            f"{v['rows']} rows predicted identically in a fresh process"
            if v.get("rows")
            else "loaded in a fresh process (no X given: predictions not compared)"
        )
        text = f"{self.uri} (version {self.version}): {checked}"
        if self.held_note:
            text += f"\n{self.held_note}"
        loading = f'load with mlops.load_model("{self.uri}"); elsewhere: {self.load_elsewhere}'
        return f"{text}\n{loading}"

    def __repr__(self) -> str:
        return f"Registered {self.summary()}"

    def _repr_html_(self) -> str:
        from ...display.promote import promotion_html

        return promotion_html(self)


def is_family(model: Any) -> bool:
    """A ``SegmentFamily`` (``fit_segments``), from jupyter-mlops or a promoted copy of it."""
    return getattr(type(model), "_mlops_segment_family", False) is True


def is_sklearn(model: Any) -> bool:
    """A scikit-learn estimator (without importing scikit-learn when the notebook did not)."""
    sklearn_base = sys.modules.get("sklearn.base")
    return sklearn_base is not None and isinstance(model, sklearn_base.BaseEstimator)


def native(X: Any, input_kind: str) -> Any:
    """Rows as the model was trained on them: the frame, or its array."""
    return X if input_kind == "frame" else X.to_numpy()
