"""Small, self-contained cards (no scripts, no network) for runs and the store status."""

from __future__ import annotations

import html
from typing import Any

CARD_STYLE = (
    "font-family:var(--jp-ui-font-family,sans-serif);font-size:13px;"
    "border:1px solid var(--jp-border-color1,#ccc);border-radius:4px;padding:6px 10px;"
    "display:inline-block;max-width:100%"
)
_STATUS_COLOURS = {
    "RUNNING": "#1a73e8",
    "FINISHED": "#188038",
    "FAILED": "#d93025",
    "KILLED": "#b06000",
}


def card_table(rows: list[tuple[str, Any]]) -> str:
    cells = "".join(
        f"<tr><th style='text-align:left;padding-right:12px;font-weight:600'>{html.escape(k)}"
        f"</th><td><code>{html.escape(str(v))}</code></td></tr>"
        for k, v in rows
        if v not in (None, "")
    )
    return f"<table style='border-collapse:collapse'>{cells}</table>"


def _ui_hint(info: dict[str, Any]) -> str:
    uri = info.get("tracking_uri", "")
    if uri.startswith(("http://", "https://")):
        return f"{uri.rstrip('/')}/#/experiments/{info['experiment_id']}/runs/{info['run_id']}"
    return "jupyter mlops ui"


def _run_rows(info: dict[str, Any]) -> list[tuple[str, Any]]:
    return [
        ("run", f"{info['run_name']} ({info['run_id']})"),
        ("experiment", info["experiment"]),
        ("status", info["status"]),
        ("store", info["tracking_uri"]),
        ("notebook", info.get("notebook")),
        ("attached to", "batch run" if info.get("attached") else None),
        ("waiting", info.get("kept")),  # ended while its server was away (reachability.py)
        ("browse", _ui_hint(info)),
    ]


_LEFT = "text-align:left;padding-right:12px"


def _score(value: Any) -> str:
    return "" if value is None else f"{value:.4g}"


def _params_text(params: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in params.items()) or "defaults"


def _candidates_html(candidates: list[dict[str, Any]]) -> str:
    """The models fitted in the run, one row each (their own child runs hold the details)."""
    if not candidates:
        return ""
    head = "".join(
        f"<th style='text-align:{align};padding-right:12px;font-weight:600'>{title}</th>"
        for title, align in (("model", "left"), ("params", "left"), ("training score", "right"))
    )
    rows = "".join(
        "<tr>"
        f"<td style='{_LEFT}'>{html.escape(str(c['label']))}</td>"
        f"<td style='{_LEFT}'><code>{html.escape(_params_text(c['key_params']))}</code></td>"
        f"<td style='text-align:right'>{html.escape(_score(c.get('training_score')))}</td>"
        "</tr>"
        for c in candidates
    )
    title = f"{len(candidates)} model{'s' if len(candidates) != 1 else ''} fitted (child runs)"
    return (
        f"<div style='margin-top:6px'><b>{title}</b>"
        f"<table style='border-collapse:collapse'><tr>{head}</tr>{rows}</table></div>"
    )


def run_card_html(info: dict[str, Any], extra: str = "") -> str:
    """The run's card; ``extra`` is HTML of ours put inside it (the live charts)."""
    colour = _STATUS_COLOURS.get(info["status"], "#5f6368")
    badge = (
        f"<span style='background:{colour};color:white;border-radius:3px;padding:0 6px;"
        f"font-size:11px'>{html.escape(info['status'])}</span>"
    )
    candidates = _candidates_html(info.get("candidates") or [])
    return (
        f"<div style='{CARD_STYLE}'><b>MLflow run</b> {badge}{card_table(_run_rows(info))}"
        f"{candidates}{extra}</div>"
    )


def run_card_text(info: dict[str, Any]) -> str:
    width = max(len(k) for k, _ in _run_rows(info))
    lines = [f"{k:<{width}}  {v}" for k, v in _run_rows(info) if v not in (None, "")]
    candidates = info.get("candidates") or []
    if candidates:
        lines.append(f"models fitted ({len(candidates)}, child runs):")
        for c in candidates:
            model = str(c["label"])
            score = _score(c.get("training_score"))
            lines.append(f"  {model:<32} {_params_text(c['key_params']):<40} {score}".rstrip())
    return "\n".join(lines)


def _status_rows(status: dict[str, Any]) -> list[tuple[str, Any]]:
    run = status.get("active_run")
    dvc = status.get("dvc", {})
    return [
        ("project root", status["root"]),
        ("tracking store", f"{status['tracking_uri']}  [{status['tracking_uri_source']}]"),
        ("registry", status["registry_uri"]),
        ("artifacts", status.get("artifact_root") or "decided by the tracking server"),
        ("experiment", status["experiment"]),
        ("notebook", status.get("notebook") or "unknown (not run from a notebook)"),
        ("active run", f"{run['run_name']} ({run['run_id']})" if run else "none"),
        ("autolog", "on" if status.get("autolog") else "off"),
        ("queued values", status.get("pending_values", 0)),
        ("DVC", "initialised" if dvc.get("initialized") else "not initialised"),
    ]


def status_html(status: dict[str, Any]) -> str:
    return f"<div style='{CARD_STYLE}'><b>jupyter-mlops</b>{card_table(_status_rows(status))}</div>"


def status_text(status: dict[str, Any]) -> str:
    rows = _status_rows(status)
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)
