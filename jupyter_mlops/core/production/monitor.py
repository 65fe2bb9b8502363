"""``mlops.monitor``: a registered version's logged inputs and predictions, window by window,
against the training reference kept at promotion.

The steps: resolve the version (an alias moves; the number it resolved to is what is judged and
recorded), read its reference (``registry.reference_load``; for a version promoted before
references were kept, rebuilt from the training data its run recorded, ``monitor_rebuild``),
read its inference log filtered to its partition and the period (``monitor_windows``), judge
each window with ``drift``'s own rules (``monitor_report``) and record each as a run in
``monitoring/<name>`` (``monitor_record``). An empty window is "empty", never "stable".
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..stats.reports import Report
from .monitor_windows import MonitorError

if TYPE_CHECKING:
    from ...config import Settings

DRIFTED_EXIT = 3  # the CLI's exit code when a column drifted in any window


@dataclass(repr=False)  # Report.__repr__ draws it
class MonitorReport(Report):
    """The windows of one ``monitor`` call: renders itself in Jupyter; ``.to_dict()`` for code."""

    VIEW = "monitor"

    data: dict[str, Any]

    @property
    def drifted(self) -> list[str]:
        """The input columns that drifted in any window (predictions are reported apart)."""
        return self.data["drifted"]

    @property
    def windows(self) -> list[dict[str, Any]]:
        return self.data["windows"]

    @property
    def verdict(self) -> str:
        """ "drifted" if any window drifted, else "inconclusive", "stable" or "empty"."""
        return self.data["verdict"]

    @property
    def exit_code(self) -> int:
        """What the CLI exits with: 3 when a column drifted in any window, else 0."""
        return DRIFTED_EXIT if self.data["drifted"] else 0

    def to_dict(self) -> dict[str, Any]:
        return self.data


def monitor(
    model: str,
    *,
    since: Any = None,
    until: Any = None,
    window: str = "1d",
    settings: Settings | None = None,
    record: bool = True,
    tracking_uri: str | None = None,
) -> MonitorReport:
    """Judge ``model`` (``NAME``, ``NAME@ALIAS``, ``NAME/VERSION``, or ``models:/...``) over
    ``[since, until)`` (ISO 8601, UTC when naive; default: its first logged row to now), one
    ``window`` (``1h``, ``6h``, ``1d``, ``7d``...) at a time, against its training reference;
    with ``record``, each window is a run in the experiment ``monitoring/<name>``."""
    import numpy as np

    from ...runtime.inference_log_files import REQUEST, TS, VIOLATIONS, shown
    from ..session import project_settings
    from . import monitor_record, monitor_report
    from . import monitor_windows as mw

    length = mw.parse_window(window)
    start, end = mw.parse_time(since, "since"), mw.parse_time(until, "until")
    settings = settings or project_settings(tracking_uri)
    name, version = registered(model, settings)
    uri = f"models:/{name}/{version}"
    reference, source = training_reference(uri, settings)
    location = settings.inference_log_location
    dataset = mw.log_dataset(location, name, uri)
    if start is None or TS not in dataset.schema.names:  # no file written yet: no columns
        first = mw.first_stamp(dataset, version)
        if first is None:
            raise MonitorError(
                f"the inference log at {shown(location)} has no rows of {uri}: serve or score "
                "it with the log on first, or check inference_log / MLOPS_INFERENCE_LOG"
            )
        start = start or mw.floor(first, length)
    end = end or dt.datetime.now(mw.UTC)
    spans = mw.windows(start, end, length)
    names = monitor_report.log_names(reference, dataset.schema.names)
    if not any(c in names for c in reference.columns):
        raise MonitorError(
            f"the inference log of {uri} at {shown(location)} has none of the model's input "
            f"columns ({', '.join(reference.columns[:5])}...): is it this model's log?"
        )
    columns = [*names.values(), REQUEST, VIOLATIONS]
    judged = []
    for span in spans:  # one window in memory at a time
        table = mw.read_rows(dataset, version, span.start, span.end, columns)
        rows = np.arange(table.num_rows)
        judged.append(monitor_report.judge_window(span, table, rows, reference, names))
        del table
    data = summary(name, version, window, start, end, source, judged)
    data["log"] = shown(location)
    data["missing"] = [c for c in reference.columns if c not in names]
    if record:
        monitor_record.record_windows(settings, data)
    return MonitorReport(data)


def registered(model: Any, settings: Settings) -> tuple[str, str]:
    """(name, version number) of ``NAME``, ``NAME@ALIAS``, ``NAME/VERSION`` or a ``models:/``
    URI (a bare name: its latest version); unknown ones are one line."""
    from ..registry import load, models

    if not isinstance(model, str) or not model.strip():
        raise MonitorError(
            f"monitor needs a registered model as NAME, NAME@ALIAS or NAME/VERSION, not {model!r}"
        )
    text = model.strip()
    if not text.startswith("models:/"):
        text = f"models:/{text}" if ("@" in text or "/" in text) else f"models:/{text}/latest"
    name, alias, version = load.parse_uri(text)
    mv = load.registered_version(models.registry_client(settings), name, alias, version)
    return mv.name, str(mv.version)


def training_reference(uri: str, settings: Settings) -> tuple[Any, dict[str, Any]]:
    """The version's reference, and where it came from: the one kept at promotion, or one
    rebuilt from the training data its run recorded (``monitor_rebuild``)."""
    from ..registry.reference_load import NoReferenceError, load_reference

    try:
        reference = load_reference(uri, settings=settings)
    except NoReferenceError:
        from .monitor_rebuild import rebuilt_reference

        return rebuilt_reference(uri, settings)
    sample = reference.profile["sample"]
    return reference, {
        "kind": "promoted",
        "rows": reference.profile["rows"],
        "sampled": sample["rows"],
    }


def summary(
    name: str,
    version: str,
    window: str,
    start: dt.datetime,
    end: dt.datetime,
    source: dict[str, Any],
    judged: list[dict[str, Any]],
) -> dict[str, Any]:
    """The report of all windows: the union of drifted columns, an overall verdict."""
    from .monitor_windows import iso

    drifted = sorted({c for w in judged for c in w["drifted"]})
    verdicts = {w["verdict"] for w in judged}
    verdict = next(v for v in ("drifted", "inconclusive", "stable", "empty") if v in verdicts)
    return {
        "model": name,
        "version": version,
        "uri": f"models:/{name}/{version}",
        "window": window.strip(),
        "since": iso(start),
        "until": iso(end),
        "reference": source,
        "verdict": verdict,
        "drifted": drifted,
        "prediction_drifted": any(w["prediction_drifted"] for w in judged),
        "rows": sum(w["rows"] for w in judged),
        "violation_rate": max((w["violation_rate"] for w in judged), default=0.0),
        "windows": judged,
    }


__all__ = ["MonitorError", "MonitorReport", "monitor"]
