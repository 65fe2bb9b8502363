"""Reports (EDA, checks, drift, explanations) saved on the active run, for the model card.

Each report lands as ``<folder>/<name>.json`` (and ``.html`` when it renders) with summary tags,
so promotion and the side panel can read them without re-running anything.
"""

from __future__ import annotations

import math
import re
from typing import Any

NAME = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")


def name_error(name: str, folder: str) -> str | None:
    """Why ``name`` cannot name ``<folder>/<name>.json`` and a tag key, or None when it can."""
    if NAME.match(name):
        return None
    return (
        f"invalid report name {name!r}: use letters, digits, '_', '-' or '.' (it names "
        f"the {folder}/<name>.json artifact)"
    )


def log_report(
    folder: str,
    name: str,
    json_text: str,
    html_page: str | None = None,
    tags: dict[str, str] | None = None,
) -> bool:
    """Save a report on the active run; return whether there was one to save it on."""
    from .tracking import session

    run = session.active
    if run is None:
        return False
    from . import store

    client = run.client
    store.with_retry(lambda: client.log_text(run.run_id, json_text, f"{folder}/{name}.json"))
    if html_page is not None:
        store.with_retry(lambda: client.log_text(run.run_id, html_page, f"{folder}/{name}.html"))
    if tags:
        session.buffer.add(client, run.run_id, tags=list(tags.items()))
    return True


def json_safe(value: Any) -> Any:
    """Strict JSON for every report: NaN and infinities become None (a VIF of an exact
    dependency, a p-value of a constant column), numpy scalars become Python ones."""
    import numpy as np

    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
