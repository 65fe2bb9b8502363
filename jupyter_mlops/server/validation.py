"""What the REST API accepts: every id, name, number and body a caller sends is checked here,
and a mistake is an ``ApiError`` (a status, a short code and one line), never a 500."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from ..core.registry.alias_moves import MAX_REASON
from ..errors import MlopsError

DEFAULT_MAX_RESULTS = 100
MAX_RESULTS_LIMIT = 1000
_RUN_ID = re.compile(r"^[0-9a-fA-F]{8,64}$")
_EXPERIMENT_ID = re.compile(r"^[0-9A-Za-z_-]{1,64}$")
_METRIC_KEY = re.compile(r"^[\w\-. /:]{1,250}$")  # MLflow's key rule (names may hold '/')
_INTEGER = re.compile(r"^\d{1,9}$", re.ASCII)


class ApiError(Exception):
    """An answer other than 200: HTTP ``status``, short ``code`` and a one-line ``message``."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = " ".join(message.split())

    def to_dict(self) -> dict[str, str]:
        return {"error": self.code, "message": self.message}


def check_run_id(value: Any) -> str:
    """A run id is hex (MLflow's are 32 hex digits)."""
    if not isinstance(value, str) or not _RUN_ID.match(value):
        raise ApiError(400, "bad_run_id", f"{value!r} is not a run id (hex digits)")
    return value


def check_experiment_id(value: Any) -> str:
    if value is None or value == "":
        raise ApiError(400, "bad_parameter", "experiment_id is required (see GET experiments)")
    if not isinstance(value, str) or not _EXPERIMENT_ID.match(value):
        raise ApiError(400, "bad_parameter", f"{value!r} is not an experiment id")
    return value


def check_version(value: Any) -> int:
    """A model version is a whole number from 1 (the rule ``set_alias`` applies)."""
    from ..core.registry.models import version_number

    try:
        return version_number(value)
    except MlopsError:
        raise ApiError(
            400, "bad_parameter", f"{value!r} is not a model version (1, 2, ...)"
        ) from None


def check_reason(value: Any) -> str | None:
    """A reason for an alias move: optional text of at most ``MAX_REASON`` characters, with
    no control character (line breaks and tabs aside) nor lone surrogate."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise ApiError(400, "bad_body", '"reason" is text')
    if len(value) > MAX_REASON:
        raise ApiError(
            400, "bad_body", f'"reason" is at most {MAX_REASON} characters ({len(value)} given)'
        )
    if any(unicodedata.category(c) in ("Cc", "Cs") and c not in "\t\n\r" for c in value):
        raise ApiError(400, "bad_body", '"reason" contains a control character or a lone surrogate')
    return value


def check_metric_key(value: Any) -> str:
    if not isinstance(value, str) or not _METRIC_KEY.match(value):
        raise ApiError(400, "bad_metric_key", f"{value!r} is not a metric key")
    return value


def check_max_results(value: str | int | None, what: str = "max_results") -> int:
    """1..1000, default 100 (``what`` names the parameter in the error)."""
    if value is None or value == "":
        return DEFAULT_MAX_RESULTS
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and _INTEGER.match(value.strip()):
        number = int(value.strip())
    else:
        number = -1
    if not 1 <= number <= MAX_RESULTS_LIMIT:
        raise ApiError(
            400, "bad_parameter", f"{what} must be 1 to {MAX_RESULTS_LIMIT}, not {value!r}"
        )
    return number


def json_object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise ApiError(400, "bad_body", "the request body must be a JSON object")
    return body
