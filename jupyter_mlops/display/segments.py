"""A segment family as one self-contained table: each segment's rows, model and score, worst
first, with a bar per score so the weak segments stand out."""

from __future__ import annotations

from typing import Any

from .html import DASH, document, esc, num, single

MAX_ROWS = 500  # segments drawn; the JSON summary has them all

_CSS = (
    "<style>.mlops-segments td.note{text-align:left;max-width:420px;word-break:break-word}"
    ".mlops-segments td.seg{text-align:left}.mlops-segments td.run{font-size:11px}</style>"
)


def _header(data: dict[str, Any]) -> str:
    n, own = data["n_segments"], data["n_models"]
    small, failed = len(data["small_segments"]), len(data["failed_segments"])
    fallback = data["fallback"]
    parts = [
        f"<b>{n:,} segments</b> of <b>{esc(data['by'])}</b> predicting "
        f"<b>{esc(data['target'])}</b> with <code>{esc(data['estimator'])}</code>",
        f"{own:,} with a model of their own, {small:,} below {data['min_rows']} rows"
        + (f", {failed:,} failed" if failed else "")
        + " (served by the fallback)",
    ]
    if data["worst_cv_score"] is not None:
        parts.append(
            f"cv {esc(data['scoring'])}: worst {num(data['worst_cv_score'])}, median "
            f"{num(data['median_cv_score'])}; fallback on all {data['rows']:,} rows "
            f"{num(fallback['cv_score'])}"
        )
    parts.append(f"fitted on {esc(data['backend'])} in {data['seconds']:.2f} s")
    return "<p>" + " · ".join(parts) + "</p>"


def _bar(score: float | None, low: float, high: float) -> str:
    if score is None:
        return ""
    span = high - low
    width = 100.0 if span <= 0 else max((score - low) / span * 100, 2.0)
    return f"<div class='bar' style='width:{width:.1f}%'></div>"


def _table(data: dict[str, Any]) -> str:
    rows = data["segments"][:MAX_ROWS]
    scores = [r["cv_score"] for r in rows if r["cv_score"] is not None]
    low, high = (min(scores), max(scores)) if scores else (0.0, 0.0)
    tracked = any(r.get("run_id") for r in rows)
    head = (
        f"<tr><th>{esc(data['by'])}</th><th>rows</th><th>model</th>"
        f"<th>cv {esc(data['scoring'])}</th><th></th><th>± std</th><th>seconds</th><th>note</th>"
        + ("<th>run</th>" if tracked else "")
        + "</tr>"
    )
    body = []
    for r in rows:
        seconds = DASH if r["fit_seconds"] is None else f"{r['fit_seconds']:.3f}"
        run = f"<td class='run'><code>{esc(r['run_id'] or '')}</code></td>" if tracked else ""
        body.append(
            f"<tr><td class='seg'>{esc(r['segment'])}</td><td>{num(r['rows'])}</td>"
            f"<td>{esc(r['model'])}</td><td>{num(r['cv_score'])}</td>"
            f"<td style='width:120px'>{_bar(r['cv_score'], low, high)}</td>"
            f"<td>{num(r['cv_std'])}</td><td>{seconds}</td>"
            f"<td class='note'>{esc(r['note'] or '')}</td>{run}</tr>"
        )
    more = len(data["segments"]) - len(rows)
    tail = f"<p class='muted'>and {more:,} more in segments/summary.json</p>" if more > 0 else ""
    return f"<table>{head}{''.join(body)}</table>{tail}"


def family_html(data: dict[str, Any]) -> str:
    """The inline view of ``SegmentFamily.to_dict()``."""
    return single(_CSS + _header(data) + _table(data), "segments")


def family_document(data: dict[str, Any]) -> str:
    """The same as a full page, for the ``segments/summary.html`` artifact."""
    return document(f"Segments of {data['by']}", family_html(data))
