"""The monitoring report: one line (text) or one table row (HTML) per window, and a window's full
page for the ``monitor/drift.html`` artifact (its inputs' and predictions' drift tables).

Column names and levels come from a shared log and artifact store: untrusted. Every string goes
through ``esc`` in HTML (no scripts, nothing fetched) and through ``plain`` in text (control
characters shown as escapes, so a column name cannot move a terminal's cursor). Stdlib only.
"""

from __future__ import annotations

from typing import Any

from . import drift as drift_view
from .html import document, esc, num, pct, single

SHOWN_COLUMNS = 6  # drifted columns named per window line

_CSS = (
    "<style>.mlops-monitor .v{display:inline-block;min-width:44px;text-align:center;"
    "border-radius:3px;padding:0 5px;font-size:11px;color:#fff}"
    ".mlops-monitor .v-drifted{background:var(--jp-error-color1,#d32f2f)}"
    ".mlops-monitor .v-stable{background:var(--jp-success-color1,#388e3c)}"
    ".mlops-monitor .v-inconclusive{background:var(--jp-ui-font-color3,#9e9e9e)}"
    ".mlops-monitor .v-empty{background:var(--jp-ui-font-color2,#757575)}"
    ".mlops-monitor td.cols{text-align:left;max-width:420px;word-break:break-all}"
    ".mlops-monitor td.ts{white-space:nowrap}</style>"
)


def plain(value: Any, limit: int = 80) -> str:
    """Text safe for a terminal: control characters escaped, cut at ``limit`` characters."""
    text = str(value)
    if not text.isprintable():
        text = text.encode("unicode_escape").decode("ascii")
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _names(columns: list[str], limit: int = SHOWN_COLUMNS) -> list[str]:
    shown = [plain(c) for c in columns[:limit]]
    if len(columns) > limit:
        shown.append(f"and {len(columns) - limit} more")
    return shown


def window_line(w: dict[str, Any]) -> str:
    """``2026-12-01T00:00:00Z  12,000 rows  drifted: age, band  violations 1.2%``."""
    line = f"{w['start']}  {w['rows']:>10,} rows  {w['verdict']}"
    if w["drifted"]:
        line += ": " + ", ".join(_names(w["drifted"]))
    if w["rows"]:
        line += f"  violations {100 * w['violation_rate']:.1f}%"
        if w["prediction_drifted"]:
            line += "  predictions drifted"
    return line


def render_text(report: dict[str, Any]) -> str:
    """One line per window and a summary line."""
    lines = [
        f"{plain(report['uri'])}: {report['window']} windows {report['since']} .. "
        f"{report['until']} against its {report['reference']['kind']} training reference"
    ]
    lines += [f"  {window_line(w)}" for w in report["windows"]]
    drifted = report["drifted"]
    verdict = report["verdict"]
    lines.append(
        f"{verdict}: "
        + (
            f"{len(drifted)} input column{'s' if len(drifted) != 1 else ''} drifted "
            f"({', '.join(_names(drifted))})"
            if drifted
            else "no input column drifted"
        )
        + f"; predictions {'drifted' if report['prediction_drifted'] else 'did not drift'}; "
        f"{report['rows']:,} rows; worst violation rate {100 * report['violation_rate']:.1f}%"
    )
    return "\n".join(lines)


def _badge(verdict: str) -> str:
    return f"<span class='v v-{esc(verdict)}'>{esc(verdict)}</span>"


def _window_row(w: dict[str, Any]) -> str:
    drifted = esc(", ".join(w["drifted"])) if w["drifted"] else ""
    return (
        f"<tr><td class='ts'>{esc(w['start'])}</td><td class='ts'>{esc(w['end'])}</td>"
        f"<td>{num(w['rows'])}</td>"
        f"<td>{_badge(w['verdict'])}</td><td class='cols'>{drifted}</td>"
        f"<td>{('yes' if w['prediction_drifted'] else 'no') if w['rows'] else ''}</td>"
        f"<td>{pct(w['violation_rate']) if w['rows'] else ''}</td></tr>"
    )


HEAD = (
    "<tr><th>window start</th><th>end</th><th>rows</th><th>verdict</th>"
    "<th>drifted inputs</th><th>predictions drifted</th><th>violation rate</th></tr>"
)


def _heading(report: dict[str, Any]) -> str:
    drifted = report["drifted"]
    return (
        f"<h3>{esc(report['uri'])}: {_badge(report['verdict'])} "
        f"{len(drifted)} input column{'s' if len(drifted) != 1 else ''} drifted</h3>"
        f"<p class='muted'>{esc(report['window'])} windows, {esc(report['since'])} .. "
        f"{esc(report['until'])}, against its {esc(report['reference']['kind'])} training "
        f"reference; {num(report['rows'])} logged rows.</p>"
    )


def render_html(report: dict[str, Any]) -> str:
    """A compact summary: one row per window."""
    rows = "".join(_window_row(w) for w in report["windows"])
    return single(_CSS + _heading(report) + f"<table>{HEAD}{rows}</table>", "monitor")


def render_document(report: dict[str, Any]) -> str:
    return document(f"Monitoring: {report['uri']}", render_html(report))


def render_window_document(page: dict[str, Any]) -> str:
    """One window's page (``page``: the report with that window alone): the summary row, then
    the inputs' drift table and the predictions' apart."""
    (w,) = page["windows"]
    parts = [render_html(page)]
    if w.get("drift_rows") and w["drift_rows"] < w["rows"]:
        parts.append(
            f"<p class='muted'>drift compared a seeded uniform sample of {num(w['drift_rows'])} "
            f"of the window's {num(w['rows'])} rows; rows and violations count them all.</p>"
        )
    if w.get("features"):
        parts.append(drift_view.render_html(w["features"]))
    if w.get("prediction_drift"):
        parts.append(drift_view.render_html(w["prediction_drift"]))
    if w.get("violations"):
        items = "".join(
            f"<tr><td>{esc(c)}</td><td>{num(v['rows'])}</td><td>{pct(v['rate'])}</td></tr>"
            for c, v in w["violations"].items()
        )
        parts.append(
            "<h4>Contract violations</h4><table><tr><th>column</th><th>rows</th>"
            f"<th>rate</th></tr>{items}</table>"
        )
    return document(f"Monitoring: {page['uri']} {w['start']}", "".join(parts))


__all__ = ["plain", "render_document", "render_html", "render_text", "render_window_document"]
