"""A fitted ``SegmentFamily`` recorded under the active run: one child run per segment (its
rows, score and fit time), written through the client with explicit ids, and the summary on
the parent (``segments/summary.json`` and ``.html``, ``segments.*`` metrics)."""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING, Any

from ..tags import (
    ERROR,
    MLFLOW_PARENT_RUN_ID,
    SEGMENT,
    SEGMENT_BY,
    SEGMENT_MODEL,
    SEGMENT_NOTE,
    SEGMENTS_BY,
    SEGMENTS_ESTIMATOR,
    SEGMENTS_SCORING,
    SEGMENTS_SUMMARY,
)

if TYPE_CHECKING:
    from ...runtime.segment_family import SegmentFamily

_CHILD_WRITERS_REMOTE = 8  # threads creating child runs on a tracking server (sqlite: one)


def log_family(family: SegmentFamily, run: Any) -> None:
    """One child run per segment under ``run``, and the summary on ``run`` itself."""
    from concurrent.futures import ThreadPoolExecutor

    from .. import provenance
    from ..buffer import NewRun, write_run
    from ..tracking import session

    client = run.client
    parent = client.get_run(run.run_id)
    inherited = provenance.code_tags(parent.data.tags)
    estimator = type(family.estimator).__name__

    def child(segment: Any) -> str:
        label = f"{family.by}={segment}"
        own, error = segment in family.models_, family.failed_segments_.get(segment)
        tags = {
            **inherited,
            MLFLOW_PARENT_RUN_ID: run.run_id,
            SEGMENT_BY: str(family.by),
            SEGMENT: str(segment),
            SEGMENT_MODEL: "own" if own else "fallback",
        }
        if error:
            tags[ERROR] = error[:5000]
        elif not own:
            tags[SEGMENT_NOTE] = f"fewer than {family.min_rows} rows"
        started = family.fit_started_.get(segment)
        start_ms = int(started * 1000) if started else int(time.time() * 1000)
        seconds = family.fit_seconds_.get(segment, 0.0)
        values = {
            "rows": family.rows_[segment],
            "cv_score": family.scores_.get(segment),
            "cv_score_std": family.score_stds_.get(segment),
            "fit_seconds": seconds if started else None,
        }
        record = NewRun(
            experiment_id=run.experiment_id,
            name=label[:250],
            tags=tags,
            params=[("segment", str(segment)[:6000]), ("estimator", estimator)],
            metrics=[(k, float(v), start_ms, 0) for k, v in values.items() if _finite_number(v)],
            start_ms=start_ms,
            end_ms=start_ms + int(seconds * 1000),
            status="FAILED" if error else "FINISHED",
        )
        write_run(client, record)  # each step once, retried or not
        return record.run_id

    writers = 1 if run.settings.sqlite_path is not None else _CHILD_WRITERS_REMOTE
    with ThreadPoolExecutor(writers) as pool:
        ids = list(pool.map(child, family.segments_))
    family.run_ids_ = dict(zip(family.segments_, ids, strict=True))
    family.parent_run_id_ = run.run_id
    _log_summary(family, run, client, session)


def _log_summary(family: SegmentFamily, run: Any, client: Any, session: Any) -> None:
    import json

    from ...display.segments import family_document
    from ..buffer import now_ms

    summary = family.to_dict()
    text = json.dumps(summary, indent=1, allow_nan=False)
    client.log_text(run.run_id, text, f"{SEGMENTS_SUMMARY}.json")
    page = family_document(summary)
    client.log_text(run.run_id, page, f"{SEGMENTS_SUMMARY}.html")
    values = {
        "segments.count": summary["n_segments"],
        "segments.models": summary["n_models"],
        "segments.fallback": summary["n_fallback"],
        "segments.failed": len(summary["failed_segments"]),
        "segments.worst_cv_score": summary["worst_cv_score"],
        "segments.median_cv_score": summary["median_cv_score"],
        "segments.fallback_cv_score": summary["fallback"]["cv_score"],
        "segments.seconds": summary["seconds"],
    }
    ts = now_ms()
    metrics = [(k, float(v), ts, 0) for k, v in values.items() if _finite_number(v)]
    tags = [
        (SEGMENTS_BY, str(family.by)),
        (SEGMENTS_ESTIMATOR, summary["estimator"][:5000]),
        (SEGMENTS_SCORING, summary["scoring"]),
    ]
    session.buffer.add(client, run.run_id, metrics=metrics, tags=tags)


def _finite_number(value: Any) -> bool:
    return isinstance(value, int | float) and math.isfinite(value)
