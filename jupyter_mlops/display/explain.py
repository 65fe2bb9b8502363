"""Feature importances as CSS bar charts: permutation (mean ± std) and mean |SHAP|.

Self-contained (no scripts, nothing fetched); every feature name is escaped. Stdlib only.
"""

from __future__ import annotations

from typing import Any

from .html import document, esc, num, single

MAX_FEATURES = 30  # bars shown per chart; the JSON has them all

_CSS = (
    "<style>.mlops-explain .track{position:relative;width:220px;height:12px}"
    ".mlops-explain .track .bar{position:absolute;top:0;height:12px}"
    ".mlops-explain .track .err{position:absolute;top:5px;height:2px;"
    "background:var(--jp-ui-font-color1,#1f1f1f);opacity:.6}"
    ".mlops-explain th.f{max-width:220px;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}"
    ".mlops-explain .charts{display:flex;flex-wrap:wrap;gap:24px}"
    "</style>"
)


def _permutation(report: dict[str, Any]) -> str:
    items = list(report["permutation"].items())
    if not items:
        return "<p class='muted'>no features</p>"
    shown = items[:MAX_FEATURES]
    scale = max(max(abs(v["mean"] or 0) + (v["std"] or 0) for _, v in shown), 1e-12)
    rows = []
    for feature, v in shown:
        mean, std = v["mean"] or 0.0, v["std"] or 0.0
        width = abs(mean) / scale * 100  # a negative mean is drawn the same way, in red
        lo = max(width - std / scale * 100, 0.0)
        hi = min(width + std / scale * 100, 100.0)
        cls = "bar neg" if mean < 0 else "bar"
        rows.append(
            f"<tr><th class='f' title='{esc(feature)}'>{esc(feature)}</th><td>"
            f"<div class='track'><div class='{cls}' style='width:{width:.1f}%'></div>"
            f"<div class='err' style='left:{lo:.1f}%;width:{hi - lo:.1f}%'></div></div></td>"
            f"<td>{num(v['mean'])}</td><td class='muted'>± {num(v['std'])}</td></tr>"
        )
    more = _more(len(items))
    return f"<table>{''.join(rows)}</table>{more}"


def _shap(report: dict[str, Any]) -> str:
    values = report.get("shap")
    if not values:
        return f"<p class='muted'>{esc(report.get('shap_note') or 'no SHAP values')}</p>"
    items = list(values.items())[:MAX_FEATURES]
    scale = max(max(v or 0 for _, v in items), 1e-12)
    rows = "".join(
        f"<tr><th class='f' title='{esc(f)}'>{esc(f)}</th><td><div class='track'>"
        f"<div class='bar' style='width:{(v or 0) / scale * 100:.1f}%'></div></div></td>"
        f"<td>{num(v)}</td></tr>"
        for f, v in items
    )
    note = f"<p class='muted'>{esc(report.get('shap_note') or '')}</p>"
    return f"<table>{rows}</table>{_more(len(values))}{note}"


def _more(n: int) -> str:
    if n <= MAX_FEATURES:
        return ""
    return f"<p class='muted'>top {MAX_FEATURES} of {n} features shown; all are in the JSON</p>"


def _summary(report: dict[str, Any]) -> str:
    sample = report.get("sample")
    rows = (
        f"{num(report['n_rows_used'])} of {num(report['n_rows'])} rows"
        if sample
        else f"{num(report['n_rows_used'])} rows"
    )
    against = "y" if report["scored_against"] == "y" else "the model's own predictions"
    notes = "".join(f"<li>{esc(n)}</li>" for n in report.get("notes") or [])
    return (
        f"<h3>{esc(report['name'])}: {esc(report['model'])} ({esc(report['task'])})</h3>"
        f"<p>Permutation importance: the drop in {esc(report['scoring'])} against {against} "
        f"when a column is shuffled ({num(report['n_repeats'])} repeats on {rows}; baseline "
        f"{num(report['baseline_score'])}).</p>"
        + (f"<ul class='muted'>{notes}</ul>" if notes else "")
    )


def render_html(report: dict[str, Any]) -> str:
    """The report as one fragment: summary, then the two bar charts side by side."""
    charts = (
        "<div class='charts'><div><h4>Permutation importance (mean ± std)</h4>"
        f"{_permutation(report)}</div><div><h4>Mean |SHAP|</h4>{_shap(report)}</div></div>"
    )
    return single(_CSS + _summary(report) + charts, "explain")


def render_document(report: dict[str, Any]) -> str:
    """A full page for the ``explain/<name>.html`` artifact."""
    return document(f"Explanation: {report['name']}", render_html(report))


def render_text(report: dict[str, Any]) -> str:
    """A few lines for ``repr``: the setting and the top features."""
    lines = [
        f"Explanation {report['name']!r}: {report['model']} ({report['task']}), permutation "
        f"importance of {report['scoring']} against {report['scored_against']} on "
        f"{report['n_rows_used']:,} rows, {report['n_repeats']} repeats"
    ]
    shap = report.get("shap") or {}
    for feature, v in list(report["permutation"].items())[:10]:
        extra = f"   |SHAP| {shap[feature]:.4g}" if shap.get(feature) is not None else ""
        lines.append(f"  {feature}: {v['mean']:.4g} ± {v['std']:.4g}{extra}")
    if len(report["permutation"]) > 10:
        lines.append(f"  ... and {len(report['permutation']) - 10} more")
    if not shap:
        lines.append(f"  {report.get('shap_note')}")
    return "\n".join(lines)
