"""Reports (EDA, checks, drift, explanations) saved on the active run, for the model card.

Each report lands as ``<kind>/<name>.json`` (and ``.html`` when it renders) with summary tags,
so promotion and the side panel can read them without re-running anything.
"""

from __future__ import annotations

import json
import math
import re
from importlib import import_module
from typing import Any

from .. import tags

NAME = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")


class Report:
    """What every report shares: strict JSON, self-contained HTML drawn by its module in
    ``jupyter_mlops.display`` (``VIEW``), and a few lines of text for ``repr``."""

    VIEW = ""

    def to_dict(self) -> dict[str, Any]:
        raise NotImplementedError

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=1, allow_nan=False)

    def to_html(self, full_page: bool = False) -> str:
        """Self-contained HTML (no scripts, nothing fetched); ``full_page`` for the artifact."""
        view, data = self._view(), self.to_dict()
        return view.render_document(data) if full_page else view.render_html(data)

    def _repr_html_(self) -> str:
        # static HTML, not a widget: it survives nbconvert exports, saved notebooks and MLflow
        # artifacts, where widget views need scripts from a CDN
        return self.to_html()

    def __repr__(self) -> str:
        return self._view().render_text(self.to_dict())

    def _view(self) -> Any:
        return import_module(f"jupyter_mlops.display.{self.VIEW}")


def name_error(name: str, folder: str) -> str | None:
    """Why ``name`` cannot name ``<folder>/<name>.json`` and a tag key, or None when it can."""
    if NAME.match(name):
        return None
    return (
        f"invalid report name {name!r}: use letters, digits, '_', '-' or '.' (it names "
        f"the {folder}/<name>.json artifact)"
    )


def log_report(
    kind: str,
    name: str,
    json_text: str,
    html_page: str | None = None,
    summary: dict[str, str] | None = None,
) -> bool:
    """Save a report on the active run as ``<kind>/<name>.json`` (and ``.html``) with its
    ``summary`` as tags ``mlops.<kind>.<name>.<key>``; return whether there was a run to save
    it on."""
    from ..tracking import active_run, session

    run = active_run()  # inside `jupyter mlops run`, the runner's run
    if run is None:
        return False
    client = run.client  # store.client(): its calls retry transient errors themselves
    client.log_text(run.run_id, json_text, f"{kind}/{name}.json")
    if html_page is not None:
        client.log_text(run.run_id, html_page, f"{kind}/{name}.html")
    if summary:
        items = [(tags.report_tag(kind, name, key), value) for key, value in summary.items()]
        session.buffer.add(client, run.run_id, tags=items)
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
