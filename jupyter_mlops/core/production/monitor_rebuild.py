"""A training reference rebuilt for a version promoted before references were kept."""

from __future__ import annotations

from typing import Any

from .monitor_windows import MonitorError


def rebuilt_reference(uri: str, settings: Any) -> tuple[Any, dict[str, Any]]:
    """The reference rebuilt from the training data its run recorded, or one line why not."""
    from ..registry.reference_load import no_reference

    raise MonitorError(no_reference(uri))
