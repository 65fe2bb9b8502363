"""Shared pieces of the self-contained HTML reports: theme-aware CSS, formatting, inline SVG.

The EDA, check, drift and explanation reports use these, so they look alike in JupyterLab's
light and dark themes, in nbconvert's HTML export and as MLflow artifacts. Colours come from
JupyterLab's theme variables with light fallbacks. Every string from the data goes through
``esc``. Stdlib only: this module is imported before pandas is.
"""

from __future__ import annotations

import html
import math
import uuid
from typing import Any

DASH = "\u2013"  # shown for a missing or undefined figure

CSS = """
.mlops-report{font-family:var(--jp-ui-font-family,system-ui,sans-serif);font-size:13px;
color:var(--jp-ui-font-color1,#1f1f1f);max-width:1100px}
.mlops-report h3{font-size:15px;margin:4px 0 8px}
.mlops-report h4{font-size:13px;margin:0 0 4px;word-break:break-all}
.mlops-report > input{display:none}
.mlops-report > label{display:inline-block;padding:4px 12px;cursor:pointer;
border:1px solid var(--jp-border-color2,#ddd);border-bottom:none;border-radius:4px 4px 0 0;
background:var(--jp-layout-color2,#f3f3f3);margin-right:2px}
.mlops-report > input:checked + label{background:var(--jp-layout-color1,#fff);font-weight:600}
.mlops-report .panel{border:1px solid var(--jp-border-color2,#ddd);padding:10px;
background:var(--jp-layout-color1,#fff);overflow-x:auto}
.mlops-report table{border-collapse:collapse}
.mlops-report td,.mlops-report th{padding:2px 8px;text-align:right;
border-bottom:1px solid var(--jp-border-color3,#eee)}
.mlops-report th{text-align:left;font-weight:600}
.mlops-report .cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(240px,1fr));
gap:10px}
.mlops-report .card{border:1px solid var(--jp-border-color2,#ddd);border-radius:4px;padding:8px;
min-width:0}
.mlops-report dl.stats{display:grid;grid-template-columns:repeat(auto-fill,minmax(104px,1fr));
gap:0 14px;margin:4px 0 6px}
.mlops-report dl.stats div{display:flex;flex-wrap:wrap;justify-content:space-between;gap:0 6px;
border-bottom:1px solid var(--jp-border-color3,#eee);padding:1px 0}
.mlops-report dl.stats dt{font-weight:600}
.mlops-report dl.stats dd{margin:0;font-variant-numeric:tabular-nums}
.mlops-report th.name{max-width:200px;overflow-wrap:anywhere}
.mlops-report .chart{max-width:100%}
.mlops-report .badge{display:inline-block;border-radius:3px;padding:0 5px;font-size:11px;
background:var(--jp-brand-color1,#1976d2);color:#fff;margin-left:4px}
.mlops-report .warn{background:var(--jp-warn-color1,#f57c00)}
.mlops-report .muted{color:var(--jp-ui-font-color2,#616161);font-size:12px}
.mlops-report .bar{height:12px;background:var(--jp-brand-color1,#1976d2);opacity:.75}
.mlops-report .neg{background:var(--jp-error-color1,#d32f2f)}
.mlops-report .heat td{text-align:center;min-width:34px;font-size:11px}
.mlops-report .heat th{text-align:center;font-size:11px}
.mlops-report .heat th.name{text-align:left}
.mlops-report .heat.dense td{min-width:0;width:16px;height:16px;padding:0}
.mlops-report .heat.dense th{padding:0 2px}
.mlops-report svg{display:block;color:var(--jp-brand-color1,#1976d2)}
.mlops-report ul{margin:0;padding-left:18px}
.mlops-report li{margin:3px 0}
"""


def esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def num(value: Any) -> str:
    if value is None:
        return DASH
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return DASH
        if value != 0 and (abs(value) >= 1e6 or abs(value) < 1e-3):
            return f"{value:.4g}"
        return f"{value:,.4g}" if abs(value) >= 1000 else f"{value:.4g}"
    return esc(value)


def nbytes(n: int | None) -> str:
    if n is None:
        return DASH
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.1f} {unit}" if unit != "B" else f"{int(size)} B"
        size /= 1024
    return f"{n} B"


def pct(x: float | None) -> str:
    return DASH if x is None else f"{x * 100:.1f}%"


def kv_table(pairs: list[tuple[str, str]]) -> str:
    body = "".join(f"<tr><th>{esc(k)}</th><td>{v}</td></tr>" for k, v in pairs)
    return f"<table>{body}</table>"


def histogram_svg(hist: dict[str, list], width: int = 280, height: int = 70) -> str:
    counts, edges = hist.get("counts") or [], hist.get("edges") or []
    if not counts:
        return "<p class='muted'>no values to plot</p>"
    top = max(counts) or 1
    step = width / len(counts)
    rects = []
    for i, count in enumerate(counts):
        h = count / top * (height - 2)
        label = f"{num(edges[i])} to {num(edges[i + 1])}: {count:,}"
        rects.append(
            f"<rect x='{i * step:.2f}' y='{height - h:.2f}' width='{max(step - 1, 1):.2f}' "
            f"height='{h:.2f}' fill='currentColor' opacity='0.75'>"
            f"<title>{esc(label)}</title></rect>"
        )
    axis = f"<line x1='0' y1='{height}' x2='{width}' y2='{height}' stroke='currentColor'/>"
    # as wide as its box up to ``width`` px: a narrow card shrinks the chart, never clips it
    svg = (
        f"<svg width='100%' height='{height + 1}' viewBox='0 0 {width} {height + 1}' "
        f"preserveAspectRatio='none' role='img' aria-label='histogram'>{''.join(rects)}{axis}"
        "</svg>"
    )
    ends = (
        "<div class='muted' style='display:flex;justify-content:space-between;gap:8px'>"
        f"<span>{num(edges[0])}</span><span>{num(edges[-1])}</span></div>"
    )
    return f"<div class='chart' style='width:{width}px'>{svg}{ends}</div>"


def bars(items: list[tuple[Any, float]], total: float | None = None, signed: bool = False) -> str:
    """Horizontal bars as a table: label, bar, value."""
    if not items:
        return "<p class='muted'>none</p>"
    scale = total or max(abs(v) for _, v in items) or 1
    rows = []
    for label, value in items:
        width = min(abs(value) / scale * 100, 100) if value is not None else 0
        cls = "bar neg" if signed and value is not None and value < 0 else "bar"
        rows.append(
            f"<tr><th class='name' style='min-width:8em'>{esc(label)}</th>"
            f"<td style='width:160px;min-width:48px'>"
            f"<div class='{cls}' style='width:{width:.1f}%'></div></td><td>{num(value)}</td></tr>"
        )
    return f"<table style='max-width:100%'>{''.join(rows)}</table>"


def tabs(parts: list[tuple[str, str]], kind: str) -> str:
    """(title, HTML) pairs as one fragment with pure-CSS tabs (radio buttons), no scripts."""
    uid = f"r{uuid.uuid4().hex[:10]}"
    heads, panels, rules = [], [], []
    for i, (title, body) in enumerate(parts):
        checked = " checked" if i == 0 else ""
        heads.append(
            f"<input type='radio' name='{uid}' id='{uid}-{i}'{checked}>"
            f"<label for='{uid}-{i}'>{esc(title)}</label>"
        )
        panels.append(f"<div class='panel {uid}-p{i}'>{body}</div>")
        rules.append(f"#{uid}-{i}:checked ~ .{uid}-p{i}{{display:block}}")
    style = f"<style>{CSS}.{uid} > .panel{{display:none}}{''.join(rules)}</style>"
    return (
        f"<div class='mlops-report mlops-{kind} {uid}'>{style}{''.join(heads)}"
        f"{''.join(panels)}</div>"
    )


def single(body: str, kind: str) -> str:
    """One panel, no tabs."""
    return f"<div class='mlops-report mlops-{kind}'><style>{CSS}</style><div>{body}</div></div>"


def document(title: str, fragment: str) -> str:
    """A full page around a fragment, for the HTML artifacts."""
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>{esc(title)}</title></head>"
        f"<body style='margin:16px'>{fragment}</body></html>\n"
    )


def widget(parts: list[tuple[str, str]], kind: str) -> Any:
    """The same parts as an ``ipywidgets.Tab`` (needs a live kernel)."""
    import ipywidgets

    style = f"<style>{CSS}</style>"
    children = [
        ipywidgets.HTML(
            f"<div class='mlops-report mlops-{kind}'>{style}<div class='panel'>{body}</div></div>"
        )
        for _, body in parts
    ]
    return ipywidgets.Tab(children=children, titles=[title for title, _ in parts])
