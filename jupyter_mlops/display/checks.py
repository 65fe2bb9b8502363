"""The assumption checks as one self-contained table: per check, its verdict, statistic, p-value
and threshold on one row, and what it means on a full-width row under them."""

from __future__ import annotations

from typing import Any

from .html import DASH, document, esc, num, single

_VERDICT_CSS = (
    "<style>.mlops-checks .v{display:inline-block;min-width:38px;text-align:center;"
    "border-radius:3px;padding:0 5px;font-size:11px;color:#fff}"
    ".mlops-checks .v-pass{background:var(--jp-success-color1,#388e3c)}"
    ".mlops-checks .v-warn{background:var(--jp-warn-color1,#f57c00)}"
    ".mlops-checks .v-fail{background:var(--jp-error-color1,#d32f2f)}"
    ".mlops-checks td.msg{text-align:left;overflow-wrap:anywhere;padding-bottom:6px}"
    ".mlops-checks tr.fig td,.mlops-checks tr.fig th{border-bottom:none;padding-top:6px}"
    ".mlops-checks td.cols{text-align:left;max-width:240px;overflow-wrap:anywhere}</style>"
)


def _summary(report: dict[str, Any]) -> str:
    counts = report["counts"]
    parts = [
        f"<b>{esc(report['name'])}</b>: {len(report['checks'])} checks on "
        f"{report['n_rows']:,} rows for <b>{esc(report['target'])}</b> ({esc(report['task'])}, "
        f"{esc(report['task_reason'])})",
        f"{counts['pass']} pass, {counts['warn']} warn, {counts['fail']} fail",
    ]
    if report.get("residuals_from"):
        source = (
            "an OLS fit on the numeric features"
            if report["residuals_from"] == "ols"
            else "the model's predictions"
        )
        rows = f"{report['residual_rows']:,}"
        sample = (
            f" on a random sample of {rows} rows (seed {report['residual_seed']}); independence "
            f"on the first {rows} rows in order"
            if report.get("residual_sample")
            else f" on {rows} rows"
        )
        parts.append(
            f"residual checks use {esc(source)}{sample}, each at p &lt; "
            f"{num(report['residual_alpha'])} (alpha {num(report['alpha'])} shared)"
        )
    if report.get("classifier_rows"):
        parts.append(_classifier_summary(report))
    return "<p>" + " · ".join(parts) + "</p>"


def _classifier_summary(report: dict[str, Any]) -> str:
    rows = f"{report['classifier_rows']:,}"
    sample = (
        f"a random sample of {rows} rows (seed {report['classifier_seed']})"
        if report.get("classifier_sample")
        else f"{rows} rows"
    )
    source = {"model": "the model's probabilities", "logit": "the logistic fit's"}.get(
        report.get("calibration_from") or "", "no probabilities"
    )
    fit = ", a logistic fit on the numeric features" if report.get("logit_features") else ""
    return (
        f"classifier checks on {sample}, event {esc(report['positive_class'])}{fit}; "
        f"calibration of {esc(source)}; tests at p &lt; {num(report['classifier_alpha'])} "
        f"(alpha {num(report['alpha'])} shared)"
    )


def _reliability(report: dict[str, Any]) -> str:
    """The reliability table: predicted against observed event rates by group of risk."""
    table = report.get("reliability")
    if not table:
        return ""
    head = (
        "<tr><th>group</th><th>rows</th><th>predicted from</th><th>to</th>"
        "<th>mean predicted</th><th>observed rate</th></tr>"
    )
    body = "".join(
        f"<tr><td>{int(r['group'])}</td><td>{int(r['rows']):,}</td><td>{num(r['p_min'])}</td>"
        f"<td>{num(r['p_max'])}</td><td>{num(r['mean_predicted'])}</td>"
        f"<td>{num(r['observed_rate'])}</td></tr>"
        for r in table
    )
    which = report.get("reliability_class")
    of = f" of class {esc(which)} against the rest" if which else ""
    return (
        f"<p class='muted'>Reliability{of}: rows sorted by predicted probability, in groups of "
        "equal size (the Hosmer-Lemeshow groups)</p>"
        f"<table>{head}{body}</table>"
    )


def _row(check: dict[str, Any]) -> str:
    verdict = check["verdict"]
    p = check["p_value"]
    threshold = check["threshold"]
    limit = DASH if threshold is None else ("p &lt; " if p is not None else "") + num(threshold)
    # the figures on one row, what they mean on a full-width row under them
    return (
        f"<tr class='fig'><td><span class='v v-{esc(verdict)}'>{esc(verdict)}</span></td>"
        f"<th>{esc(check['id'])}</th>"
        f"<td class='cols'>{esc(_named(check))}</td>"
        f"<td class='cols'>{esc(check['test'])}</td>"
        f"<td>{num(check['statistic'])}</td><td>{num(p)}</td><td>{limit}</td></tr>"
        f"<tr><td></td><td colspan='6' class='msg'>{esc(check['message'])}</td></tr>"
    )


def _named(check: dict[str, Any]) -> str:
    """The columns a check names, or the rows (by index label) for the row-level checks."""
    rows = check.get("rows") or []
    if rows:
        return "rows " + ", ".join(rows[:6]) + (", ..." if len(rows) > 6 else "")
    return ", ".join(check["columns"][:6])


def render_html(report: dict[str, Any]) -> str:
    head = (
        "<tr><th>verdict</th><th>check</th><th>columns</th><th>test</th><th>statistic</th>"
        "<th>p-value</th><th>threshold</th></tr>"
    )
    body = "".join(_row(c) for c in report["checks"])
    skipped = "".join(
        f"<li>{esc(s['id'])}: {esc(s['reason'])}</li>" for s in report.get("skipped", [])
    )
    skipped_html = (
        f"<p class='muted'>Not run:</p><ul class='muted'>{skipped}</ul>" if skipped else ""
    )
    table = f"<table>{head}{body}</table>"
    content = _summary(report) + table + _reliability(report) + skipped_html
    return single(_VERDICT_CSS + content, "checks")


def render_document(report: dict[str, Any]) -> str:
    return document(f"Checks: {report['name']}", render_html(report))


def render_text(report: dict[str, Any]) -> str:
    counts = report["counts"]
    lines = [
        f"Checks {report['name']!r} for {report['target']!r} ({report['task']}): "
        f"{counts['pass']} pass, {counts['warn']} warn, {counts['fail']} fail",
        f"  {report['task']}, inferred from the target: {report['task_reason']}"
        if report["task_reason"] != "given"
        else f"  {report['task']}, as given",
    ]
    lines += [
        f"  {c['verdict']:<4} {c['id']}: {c['message']}"
        for c in report["checks"]
        if c["verdict"] != "pass"
    ]
    return "\n".join(lines)
