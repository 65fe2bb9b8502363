"""The drift report as one self-contained table: verdict badge, test, p-values, a PSI bar.

Worst columns first. Each PSI bar marks the 0.1 and 0.25 thresholds; each row folds out the
reference and current shares per bin (a native ``<details>``, no scripts). Every string from
the data is escaped. Stdlib only.
"""

from __future__ import annotations

from typing import Any

from .html import DASH, document, esc, num, pct, single

PSI_SCALE = 0.5  # a PSI bar is full at this value
MAX_BINS_SHOWN = 15
ORDER = {"major": 0, "drifted": 1, "minor": 2, "inconclusive": 3, "stable": 4, "skipped": 5}
LABELS = {
    "major": "major shift",
    "drifted": "drifted",
    "minor": "small",
    "inconclusive": "too few rows",
    "stable": "stable",
}
TESTS = {"ks": "KS", "chi2": "chi-square", "ks+chi2": "KS + binned chi-square"}
SHORT_TESTS = {"ks": "KS", "chi2": "χ²", "ks+chi2": "KS + binned χ²"}  # in the tables

_CSS = (
    "<style>.mlops-drift .v{display:inline-block;min-width:44px;text-align:center;"
    "border-radius:3px;padding:0 5px;font-size:11px;color:#fff;white-space:nowrap}"
    ".mlops-drift .v-major{background:var(--jp-error-color1,#d32f2f)}"
    ".mlops-drift .v-drifted{background:var(--jp-warn-color1,#f57c00)}"
    ".mlops-drift .v-minor{background:var(--jp-brand-color2,#64b5f6)}"
    ".mlops-drift .v-stable{background:var(--jp-success-color1,#388e3c)}"
    ".mlops-drift .v-inconclusive{background:var(--jp-ui-font-color3,#9e9e9e)}"
    ".mlops-drift .v-skipped{background:var(--jp-ui-font-color2,#757575)}"
    ".mlops-drift .psi{position:relative;width:120px;height:10px;"
    "background:var(--jp-layout-color2,#eee)}"
    ".mlops-drift .psi .fill{height:100%}"
    ".mlops-drift .psi i{position:absolute;top:-2px;bottom:-2px;width:1px;"
    "background:var(--jp-ui-font-color2,#616161)}"
    ".mlops-drift th.name{min-width:8em}"
    ".mlops-drift td.t{white-space:nowrap}"
    ".mlops-drift td.msg{text-align:left;overflow-wrap:anywhere;padding-bottom:6px}"
    ".mlops-drift table.cols tr.fig td,.mlops-drift table.cols tr.fig th{border-bottom:none;"
    "padding-top:6px}"
    ".mlops-drift summary{cursor:pointer;color:var(--jp-ui-font-color2,#616161);font-size:12px}"
    "</style>"
)


def _badge(verdict: str) -> str:
    return f"<span class='v v-{esc(verdict)}'>{esc(LABELS.get(verdict, verdict))}</span>"


def _test(r: dict[str, Any]) -> str:
    """The test's short name (χ² for chi-square), its full name as the cell's tooltip."""
    name = r.get("test")
    return f"<span title='{esc(TESTS.get(name, DASH))}'>{esc(SHORT_TESTS.get(name, DASH))}</span>"


def _psi_bar(value: float | None, verdict: str) -> str:
    if value is None:
        return DASH
    width = min(value / PSI_SCALE, 1.0) * 100
    marks = "".join(f"<i style='left:{t / PSI_SCALE * 100:.0f}%'></i>" for t in (0.1, 0.25))
    return (
        f"<div class='psi' title='PSI {value:.4f} (marks at 0.1 and 0.25)'>"
        f"<div class='fill v-{esc(verdict)}' style='width:{width:.1f}%'></div>{marks}</div>"
    )


def _shares(bins: dict[str, list] | None) -> str:
    if not bins or not bins.get("labels"):
        return ""
    rows = list(zip(bins["labels"], bins["reference"], bins["current"], strict=True))
    more = len(rows) - MAX_BINS_SHOWN
    body = "".join(
        f"<tr><th>{esc(label)}</th><td>{pct(p)}</td><td>{pct(q)}</td></tr>"
        for label, p, q in rows[:MAX_BINS_SHOWN]
    )
    tail = f"<tr><td colspan='3' class='muted'>and {more} more</td></tr>" if more > 0 else ""
    return (
        "<details><summary>shares per bin</summary><table><tr><th>bin</th><th>reference</th>"
        f"<th>current</th></tr>{body}{tail}</table></details>"
    )


def _row(column: str, r: dict[str, Any]) -> str:
    """A column with its evidence: the figures on one row, what changed on a full-width row
    under them (with the shares per bin folded), so the prose never squeezes the figures."""
    verdict = r.get("verdict", "skipped")
    return (
        f"<tr class='fig'><td>{_badge(verdict)}</td><th class='name'>{esc(column)}</th>"
        f"<td>{esc(r.get('kind', DASH))}</td><td class='t'>{_test(r)}</td>"
        f"<td>{num(r.get('statistic'))}</td><td>{num(r.get('p_value'))}</td>"
        f"<td>{num(r.get('p_value_adjusted'))}</td><td>{num(r.get('psi'))}</td>"
        f"<td>{_psi_bar(r.get('psi'), verdict)}</td></tr>"
        f"<tr class='why'><td></td><td colspan='8' class='msg'>{esc(r.get('message', ''))}"
        f"{_shares(r.get('bins'))}</td></tr>"
    )


HEAD = (
    "<tr><th>verdict</th><th>column</th><th>kind</th><th>test</th><th>statistic</th>"
    "<th>p-value</th><th>adjusted p</th><th>PSI</th><th></th></tr>"
)


def _stable_row(column: str, r: dict[str, Any]) -> str:
    """A stable column on one line: its figures and verdict; the sentence is in the JSON."""
    return (
        f"<tr><th class='name'>{esc(column)}</th><td>{esc(r.get('kind', DASH))}</td>"
        f"<td class='t'>{_test(r)}</td><td>{num(r.get('statistic'))}</td>"
        f"<td>{num(r.get('p_value_adjusted'))}</td><td>{num(r.get('psi'))}</td>"
        f"<td>{_psi_bar(r.get('psi'), 'stable')}</td><td>{_badge('stable')}</td></tr>"
    )


STABLE_HEAD = (
    "<tr><th>column</th><th>kind</th><th>test</th><th>statistic</th><th>adjusted p</th>"
    "<th>PSI</th><th></th><th>verdict</th></tr>"
)


def _tables(report: dict[str, Any]) -> str:
    """The columns that moved (or could not be judged), worst first, each with its evidence;
    then the stable ones folded into one compact table."""
    columns = sorted(
        report["columns"].items(), key=lambda kv: (ORDER[kv[1]["verdict"]], -(kv[1]["psi"] or 0))
    )
    if not columns:
        return "<p>No columns were compared.</p>"
    moved = [(c, r) for c, r in columns if r["verdict"] != "stable"]
    stable = [(c, r) for c, r in columns if r["verdict"] == "stable"]
    parts = []
    if moved:
        parts.append(f"<table class='cols'>{HEAD}{''.join(_row(c, r) for c, r in moved)}</table>")
    if stable:
        rows = "".join(_stable_row(c, r) for c, r in stable)
        parts.append(
            f"<h4 style='margin-top:12px'>Stable ({len(stable)}): no significant difference "
            f"at the adjusted alpha</h4><table class='stable'>{STABLE_HEAD}{rows}</table>"
        )
    return "".join(parts)


def _summary(report: dict[str, Any]) -> str:
    n_drifted, n = len(report["drifted"]), len(report["columns"])
    return (
        f"<h3>{esc(report['name'])}: {n_drifted} of {n} columns drifted</h3>"
        f"<p>{num(report['n_reference'])} reference rows, {num(report['n_current'])} current "
        f"rows. A column drifts when its {esc(report['correction'].title())}-adjusted p-value "
        f"is under {num(report['alpha'])} and its PSI is at least "
        f"{num(report['thresholds']['psi_drift'])} (major from "
        f"{num(report['thresholds']['psi_major'])}); PSI alone never flags a column.</p>"
        + (f"<p><b>{esc(report['sample_note'])}</b></p>" if report.get("sample_note") else "")
    )


def _target(report: dict[str, Any]) -> str:
    target = report.get("target")
    if not target:
        return ""
    table = f"<table class='cols'>{HEAD}{_row(target['column'], target)}</table>"
    return (
        "<h4 style='margin-top:12px'>Target (label drift, not counted above)</h4>"
        f"{table if target.get('verdict') != 'skipped' else esc(target['message'])}"
    )


def _notes(report: dict[str, Any]) -> str:
    items = []
    for key, where in (("only_reference", "reference"), ("only_current", "current")):
        if report.get(key):
            items.append(f"only in the {where} frame: {esc(', '.join(report[key]))}")
    for column, reason in (report.get("skipped") or {}).items():
        items.append(f"{esc(column)} not compared: {esc(reason)}")
    if not items:
        return ""
    return (
        "<ul class='muted' style='margin-top:8px'>"
        + "".join(f"<li>{i}</li>" for i in items)
        + "</ul>"
    )


def render_html(report: dict[str, Any]) -> str:
    """The report as one fragment: summary, the moved columns with their evidence, the stable
    ones in one compact table, the target, notes."""
    body = _summary(report) + _tables(report) + _target(report) + _notes(report)
    return single(_CSS + body, "drift")


def render_document(report: dict[str, Any]) -> str:
    """A full page for the ``drift/<name>.html`` artifact."""
    return document(f"Drift: {report['name']}", render_html(report))


def render_text(report: dict[str, Any]) -> str:
    """A few lines for ``repr``: the summary and each drifted column's message."""
    lines = [
        f"Drift report {report['name']!r}: {len(report['drifted'])} of {len(report['columns'])} "
        f"columns drifted ({report['n_reference']:,} reference vs {report['n_current']:,} current "
        f"rows, alpha {report['alpha']}, {report['correction']})"
    ]
    if report.get("sample_note"):
        lines.append(f"  {report['sample_note']}")
    lines += [f"  {report['columns'][c]['message']}" for c in report["drifted"][:8]]
    if len(report["drifted"]) > 8:
        lines.append(f"  ... and {len(report['drifted']) - 8} more")
    target = report.get("target")
    if target:
        lines.append(f"  {target['message']}")
    return "\n".join(lines)
