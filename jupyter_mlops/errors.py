"""Errors a user can fix. Magics print them as one line; the CLI as one line and exit code 2."""

from __future__ import annotations

from .runtime.errors import MlopsError  # defined with the runtime, which ships in a model

__all__ = ["MlopsError", "NoActiveRunError", "NotFoundError"]


class NotFoundError(MlopsError, LookupError):
    """The thing named (a registered model, a version) does not exist; the REST API answers 404."""


class NoActiveRunError(MlopsError):
    """Logging was asked for with no run to log to."""

    def __init__(self, message: str | None = None) -> None:
        super().__init__(
            message or "no active run: start one with mlops.track() or %mlops track start"
        )
