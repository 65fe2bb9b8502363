"""The EDA report as self-contained HTML: inline SVG and CSS tabs, no scripts, nothing fetched.

One fragment serves the notebook (``_repr_html_``), nbconvert exports and the ``eda/<name>.html``
artifact. Colours come from JupyterLab's theme variables with light fallbacks, so the report
follows the light and dark themes in Lab and still reads on a plain white page. Every string
from the data is escaped. Stdlib only: this module is imported before pandas is.
"""

from __future__ import annotations

import html
import math
import uuid
from typing import Any

MAX_MATRIX = 30  # columns shown in a correlation heatmap
PRINT_VALUES = 12  # print the coefficients in heatmaps up to this many columns
DASH = "\u2013"  # shown for a missing or undefined figure

_CSS = """
.mlops-eda{font-family:var(--jp-ui-font-family,system-ui,sans-serif);font-size:13px;
color:var(--jp-ui-font-color1,#1f1f1f);max-width:1100px}
.mlops-eda h3{font-size:15px;margin:4px 0 8px}
.mlops-eda h4{font-size:13px;margin:0 0 4px;word-break:break-all}
.mlops-eda > input{display:none}
.mlops-eda > label{display:inline-block;padding:4px 12px;cursor:pointer;
border:1px solid var(--jp-border-color2,#ddd);border-bottom:none;border-radius:4px 4px 0 0;
background:var(--jp-layout-color2,#f3f3f3);margin-right:2px}
.mlops-eda > input:checked + label{background:var(--jp-layout-color1,#fff);font-weight:600}
.mlops-eda .panel{border:1px solid var(--jp-border-color2,#ddd);padding:10px;
background:var(--jp-layout-color1,#fff);overflow-x:auto}
.mlops-eda table{border-collapse:collapse}
.mlops-eda td,.mlops-eda th{padding:2px 8px;text-align:right;
border-bottom:1px solid var(--jp-border-color3,#eee)}
.mlops-eda th{text-align:left;font-weight:600}
.mlops-eda .cards{display:flex;flex-wrap:wrap;gap:10px}
.mlops-eda .card{border:1px solid var(--jp-border-color2,#ddd);border-radius:4px;padding:8px;
width:300px}
.mlops-eda .badge{display:inline-block;border-radius:3px;padding:0 5px;font-size:11px;
background:var(--jp-brand-color1,#1976d2);color:#fff;margin-left:4px}
.mlops-eda .warn{background:var(--jp-warn-color1,#f57c00)}
.mlops-eda .muted{color:var(--jp-ui-font-color2,#616161);font-size:12px}
.mlops-eda .bar{height:12px;background:var(--jp-brand-color1,#1976d2);opacity:.75}
.mlops-eda .neg{background:var(--jp-error-color1,#d32f2f)}
.mlops-eda .heat td{text-align:center;min-width:34px;font-size:11px}
.mlops-eda svg{display:block;color:var(--jp-brand-color1,#1976d2)}
.mlops-eda ul{margin:0;padding-left:18px}
.mlops-eda li{margin:3px 0}
"""


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _num(value: Any) -> str:
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
    return _e(value)


def _bytes(n: int | None) -> str:
    if n is None:
        return DASH
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.1f} {unit}" if unit != "B" else f"{int(size)} B"
        size /= 1024
    return f"{n} B"


def _pct(x: float | None) -> str:
    return DASH if x is None else f"{x * 100:.1f}%"


def _rows(pairs: list[tuple[str, str]]) -> str:
    body = "".join(f"<tr><th>{_e(k)}</th><td>{v}</td></tr>" for k, v in pairs)
    return f"<table>{body}</table>"


def _histogram_svg(hist: dict[str, list], width: int = 280, height: int = 70) -> str:
    counts, edges = hist.get("counts") or [], hist.get("edges") or []
    if not counts:
        return "<p class='muted'>no values to plot</p>"
    top = max(counts) or 1
    step = width / len(counts)
    bars = []
    for i, count in enumerate(counts):
        h = count / top * (height - 2)
        label = f"{_num(edges[i])} to {_num(edges[i + 1])}: {count:,}"
        bars.append(
            f"<rect x='{i * step:.2f}' y='{height - h:.2f}' width='{max(step - 1, 1):.2f}' "
            f"height='{h:.2f}' fill='currentColor' opacity='0.75'><title>{_e(label)}</title></rect>"
        )
    axis = f"<line x1='0' y1='{height}' x2='{width}' y2='{height}' stroke='currentColor'/>"
    svg = (
        f"<svg width='{width}' height='{height + 1}' viewBox='0 0 {width} {height + 1}' "
        f"role='img' aria-label='histogram'>{''.join(bars)}{axis}</svg>"
    )
    ends = (
        f"<div class='muted' style='display:flex;justify-content:space-between;width:{width}px'>"
        f"<span>{_num(edges[0])}</span><span>{_num(edges[-1])}</span></div>"
    )
    return svg + ends


def _bars(items: list[tuple[Any, float]], total: float | None = None, signed: bool = False) -> str:
    """Horizontal bars as a table: label, bar, value."""
    if not items:
        return "<p class='muted'>none</p>"
    scale = total or max(abs(v) for _, v in items) or 1
    rows = []
    for label, value in items:
        width = min(abs(value) / scale * 100, 100) if value is not None else 0
        cls = "bar neg" if signed and value is not None and value < 0 else "bar"
        rows.append(
            f"<tr><th style='max-width:180px;overflow:hidden;text-overflow:ellipsis'>"
            f"{_e(label)}</th><td style='width:160px'><div class='{cls}' "
            f"style='width:{width:.1f}%'></div></td><td>{_num(value)}</td></tr>"
        )
    return f"<table>{''.join(rows)}</table>"


# -- sections --------------------------------------------------------------------------------
def _overview(report: dict[str, Any]) -> str:
    kinds: dict[str, int] = {}
    for stats in report["columns"].values():
        kinds[stats["kind"]] = kinds.get(stats["kind"], 0) + 1
    pairs = [
        ("rows", _num(report["n_rows"])),
        ("columns", _num(report["n_columns"])),
        ("column kinds", _e(", ".join(f"{n} {k}" for k, n in sorted(kinds.items())) or DASH)),
        ("memory", _bytes(report.get("memory_bytes"))),
        (
            "duplicate rows",
            "unknown (unhashable cells)"
            if report["duplicate_rows"] is None
            else f"{_num(report['duplicate_rows'])} ({_pct(_share(report, 'duplicate_rows'))})",
        ),
        (
            "missing cells",
            f"{_num(report.get('missing_cells'))} ({_pct(report.get('missing_fraction'))})",
        ),
        ("warnings", _num(len(report["warnings"]))),
    ]
    note = ""
    sample = report.get("sample")
    if sample:
        note = (
            f"<p class='muted'>Spearman correlations computed on a random sample of "
            f"{sample['rows']:,} of {sample['of']:,} rows (seed {sample['seed']}); every other "
            "figure uses all rows.</p>"
        )
    took = report.get("elapsed_seconds")
    timing = f"<p class='muted'>computed in {took:.2f} s</p>" if took is not None else ""
    return f"<h3>{_e(report['name'])}</h3>{_rows(pairs)}{note}{timing}"


def _share(report: dict[str, Any], key: str) -> float | None:
    value, n = report.get(key), report.get("n_rows")
    return value / n if value is not None and n else None


def _column_card(name: str, s: dict[str, Any]) -> str:
    head = (
        f"<h4>{_e(name)}<span class='badge'>{_e(s['kind'])}</span></h4>"
        f"<div class='muted'>{_e(s.get('dtype', ''))} · {_num(s['n_unique'])} distinct · "
        f"{_num(s['missing'])} missing ({_pct(s['missing_fraction'])})</div>"
    )
    if s["kind"] == "numeric":
        keys = (("mean", "std", "skew"), ("min", "median", "max"), ("p25", "p75", "zeros"))
        grid = "".join(
            "<tr>" + "".join(f"<th>{k}</th><td>{_num(s.get(k))}</td>" for k in row) + "</tr>"
            for row in keys
        )
        chart = _histogram_svg(s["histogram"])
        return f"<div class='card'>{head}<table>{grid}</table>{chart}</div>"
    body = ""
    if s["kind"] == "datetime" and s.get("histogram"):
        body += f"<div class='muted'>{_e(s.get('min'))} to {_e(s.get('max'))}</div>"
        hist = s["histogram"]
        counts = hist.get("counts") or []
        body += _histogram_svg({"counts": counts, "edges": list(range(len(counts) + 1))})
    top = s.get("top") or []
    present = sum(c for _, c in top)
    body += _bars([(v, c) for v, c in top], total=max((c for _, c in top), default=1))
    if s["n_unique"] > len(top) and top:
        body += (
            f"<div class='muted'>top {len(top)} of {_num(s['n_unique'])} values "
            f"({present:,} rows)</div>"
        )
    return f"<div class='card'>{head}{body}</div>"


def _columns(report: dict[str, Any]) -> str:
    cards = "".join(_column_card(name, s) for name, s in report["columns"].items())
    return f"<div class='cards'>{cards or '<p>no columns</p>'}</div>"


def _heatmap(matrix: dict[str, dict[str, float | None]], title: str) -> str:
    names = list(matrix)
    if len(names) < 2:
        return f"<h4>{_e(title)}</h4><p class='muted'>needs at least two columns</p>"
    note = ""
    if len(names) > MAX_MATRIX:
        strength = {
            a: max((abs(v) for b, v in matrix[a].items() if b != a and v is not None), default=0)
            for a in names
        }
        names = sorted(names, key=lambda a: -strength[a])[:MAX_MATRIX]
        note = (
            f"<p class='muted'>showing the {MAX_MATRIX} of {len(matrix)} columns with the "
            "strongest correlations</p>"
        )
    printed = len(names) <= PRINT_VALUES
    head = "".join(f"<th title='{_e(n)}'>{_e(n[:10])}</th>" for n in names)
    rows = []
    for a in names:
        cells = []
        for b in names:
            v = matrix[a].get(b)
            if v is None:
                cells.append(f"<td title='{_e(a)} / {_e(b)}: undefined'>{DASH}</td>")
                continue
            colour = "25,118,210" if v >= 0 else "211,47,47"
            text = f"{v:.2f}" if printed else ""
            cells.append(
                f"<td style='background:rgba({colour},{abs(v) * 0.8:.2f})' "
                f"title='{_e(a)} / {_e(b)}: {v:.3f}'>{text}</td>"
            )
        rows.append(f"<tr><th>{_e(a)}</th>{''.join(cells)}</tr>")
    table = f"<table class='heat'><tr><th></th>{head}</tr>{''.join(rows)}</table>"
    return f"<h4>{_e(title)}</h4>{note}{table}"


def _correlations(report: dict[str, Any]) -> str:
    corr = report["correlations"]
    parts = [_heatmap(corr.get("pearson") or {}, "Pearson r (numeric)")]
    parts.append(_heatmap(corr.get("spearman") or {}, "Spearman rho (numeric)"))
    if corr.get("cramers_v"):
        parts.append(_heatmap(corr["cramers_v"], "Cramér's V (categorical)"))
    return "".join(f"<div style='margin-bottom:12px'>{p}</div>" for p in parts)


def _target(report: dict[str, Any]) -> str:
    target = report.get("target")
    if not target:
        return "<p class='muted'>No target given: use --target COL.</p>"
    head = f"<h3>{_e(target['column'])} <span class='badge'>{_e(target['task'])}</span></h3>"
    if target["task"] == "classification":
        classes = target.get("classes") or []
        total = sum(c for _, c in classes) or 1
        dist = "<h4>classes</h4>" + _bars([(k, c) for k, c in classes[:30]], total=total)
    else:
        dist = "<h4>distribution</h4>" + _histogram_svg(target.get("histogram") or {})
    rel = target.get("relationships") or {}
    items = [(f"{k} ({v['measure']})", v["value"]) for k, v in rel.items()]
    return (
        f"{head}{dist}<h4 style='margin-top:10px'>relationship with the target, strongest "
        f"first</h4>{_bars(items, total=1.0, signed=True)}"
    )


def _warnings(report: dict[str, Any]) -> str:
    items = report["warnings"]
    if not items:
        return "<p>No warnings.</p>"
    lis = "".join(
        f"<li><span class='badge warn'>{_e(w['code'])}</span> "
        f"<b>{_e(', '.join(w['columns']) or 'all rows')}</b>: {_e(w['message'])}</li>"
        for w in items
    )
    return f"<ul>{lis}</ul>"


def sections(report: dict[str, Any]) -> list[tuple[str, str]]:
    """(tab title, HTML) pairs, shared by the static tabs and the widget."""
    n = len(report["warnings"])
    return [
        ("Overview", _overview(report)),
        ("Columns", _columns(report)),
        ("Correlations", _correlations(report)),
        ("Target", _target(report)),
        (f"Warnings ({n})", _warnings(report)),
    ]


def render_html(report: dict[str, Any]) -> str:
    """The report as one fragment with pure-CSS tabs (radio buttons), no scripts."""
    uid = f"e{uuid.uuid4().hex[:10]}"
    parts = sections(report)
    tabs, panels, rules = [], [], []
    for i, (title, body) in enumerate(parts):
        checked = " checked" if i == 0 else ""
        tabs.append(
            f"<input type='radio' name='{uid}' id='{uid}-{i}'{checked}>"
            f"<label for='{uid}-{i}'>{_e(title)}</label>"
        )
        panels.append(f"<div class='panel {uid}-p{i}'>{body}</div>")
        rules.append(f"#{uid}-{i}:checked ~ .{uid}-p{i}{{display:block}}")
    style = f"<style>{_CSS}.{uid} > .panel{{display:none}}{''.join(rules)}</style>"
    return f"<div class='mlops-eda {uid}'>{style}{''.join(tabs)}{''.join(panels)}</div>"


def render_document(report: dict[str, Any]) -> str:
    """A full page for the ``eda/<name>.html`` artifact."""
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>EDA: {_e(report['name'])}</title></head>"
        f"<body style='margin:16px'>{render_html(report)}</body></html>\n"
    )


def render_text(report: dict[str, Any]) -> str:
    """A few lines for ``text/plain`` and ``repr``."""
    lines = [
        f"EDA report {report['name']!r}: {report['n_rows']:,} rows x {report['n_columns']} "
        f"columns, {report['duplicate_rows'] or 0:,} duplicate rows, "
        f"{report.get('missing_cells', 0):,} missing cells, {len(report['warnings'])} warnings"
    ]
    lines += [f"  {w['code']}: {w['message']}" for w in report["warnings"][:5]]
    if len(report["warnings"]) > 5:
        lines.append(f"  ... and {len(report['warnings']) - 5} more")
    return "\n".join(lines)


def widget(report: dict[str, Any]) -> Any:
    """The same sections as an ``ipywidgets.Tab`` (needs a live kernel)."""
    import ipywidgets

    parts = sections(report)
    style = f"<style>{_CSS}</style>"
    children = [
        ipywidgets.HTML(f"<div class='mlops-eda'>{style}<div class='panel'>{body}</div></div>")
        for _, body in parts
    ]
    return ipywidgets.Tab(children=children, titles=[title for title, _ in parts])
