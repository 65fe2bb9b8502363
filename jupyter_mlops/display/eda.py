"""The EDA report as self-contained HTML: inline SVG and CSS tabs, no scripts, nothing fetched.

One fragment serves the notebook (``_repr_html_``), nbconvert exports and the ``eda/<name>.html``
artifact. Colours come from JupyterLab's theme variables with light fallbacks, so the report
follows the light and dark themes in Lab and still reads on a plain white page. Every string
from the data is escaped. Stdlib only: this module is imported before pandas is.
"""

from __future__ import annotations

from typing import Any

from .html import DASH, bars, document, esc, histogram_svg, kv_table, nbytes, num, pct, tabs
from .html import widget as html_widget

MAX_MATRIX = 30  # columns shown in a correlation heatmap
PRINT_VALUES = 12  # print the coefficients in heatmaps up to this many columns
SHORT_NAME = 6  # longer column names are numbered in a heatmap's header row
MAX_CARDS = 200  # beyond this many columns: cards for the columns with warnings, then a table
MAX_PAIRS = 50  # strongest pairs listed per measure on a wide frame
STATS = ("mean", "std", "skew", "min", "median", "max", "p25", "p75", "zeros")  # on a card


# -- sections --------------------------------------------------------------------------------
def _overview(report: dict[str, Any]) -> str:
    kinds: dict[str, int] = {}
    for stats in report["columns"].values():
        kinds[stats["kind"]] = kinds.get(stats["kind"], 0) + 1
    pairs = [
        ("rows", num(report["n_rows"])),
        ("columns", num(report["n_columns"])),
        ("column kinds", esc(", ".join(f"{n} {k}" for k, n in sorted(kinds.items())) or DASH)),
        ("memory", nbytes(report.get("memory_bytes"))),
        (
            "duplicate rows",
            "unknown (unhashable cells)"
            if report["duplicate_rows"] is None
            else f"{num(report['duplicate_rows'])} ({pct(_share(report, 'duplicate_rows'))})",
        ),
        (
            "missing cells",
            f"{num(report.get('missing_cells'))} ({pct(report.get('missing_fraction'))})",
        ),
        ("warnings", num(len(report["warnings"]))),
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
    return f"<h3>{esc(report['name'])}</h3>{kv_table(pairs)}{note}{timing}"


def _share(report: dict[str, Any], key: str) -> float | None:
    value, n = report.get(key), report.get("n_rows")
    return value / n if value is not None and n else None


def _column_card(name: str, s: dict[str, Any]) -> str:
    head = (
        f"<h4>{esc(name)}<span class='badge'>{esc(s['kind'])}</span></h4>"
        f"<div class='muted'>{esc(s.get('dtype', ''))} · {num(s['n_unique'])} distinct · "
        f"{num(s['missing'])} missing ({pct(s['missing_fraction'])})</div>"
    )
    if s["kind"] == "other":
        types = ", ".join(f"{t} ({c:,})" for t, c in s.get("value_types") or [])
        body = f"<div class='muted'>not countable: cells hold {esc(types or 'unknown')}</div>"
        return f"<div class='card'>{head}{body}</div>"
    if s["kind"] == "numeric":
        # name and value pairs that wrap onto as many rows as the card needs: never clipped
        pairs = "".join(f"<div><dt>{k}</dt><dd>{num(s.get(k))}</dd></div>" for k in STATS)
        chart = histogram_svg(s["histogram"])
        return f"<div class='card'>{head}<dl class='stats'>{pairs}</dl>{chart}</div>"
    body = ""
    if s["kind"] == "datetime" and s.get("histogram"):
        body += f"<div class='muted'>{esc(s.get('min'))} to {esc(s.get('max'))}</div>"
        hist = s["histogram"]
        counts = hist.get("counts") or []
        body += histogram_svg({"counts": counts, "edges": list(range(len(counts) + 1))})
    top = s.get("top") or []
    present = sum(c for _, c in top)
    body += bars([(v, c) for v, c in top], total=max((c for _, c in top), default=1))
    if s["n_unique"] > len(top) and top:
        body += (
            f"<div class='muted'>top {len(top)} of {num(s['n_unique'])} values "
            f"({present:,} rows)</div>"
        )
    return f"<div class='card'>{head}{body}</div>"


def _columns(report: dict[str, Any]) -> str:
    columns = report["columns"]
    if len(columns) <= MAX_CARDS:
        cards = "".join(_column_card(name, s) for name, s in columns.items())
        return f"<div class='cards'>{cards or '<p>no columns</p>'}</div>"
    warned = list(dict.fromkeys(c for w in report["warnings"] for c in w["columns"]))
    shown = [c for c in warned if c in columns][:MAX_CARDS]
    cards = "".join(_column_card(name, columns[name]) for name in shown)
    note = (
        f"<p class='muted'>{len(columns):,} columns: cards for the {len(shown):,} columns "
        f"with warnings{' (the first ' + str(MAX_CARDS) + ')' if len(warned) > MAX_CARDS else ''}"
        ", then one line per column; every figure is in the JSON report.</p>"
    )
    return f"{note}<div class='cards'>{cards}</div>{_column_table(columns)}"


def _column_table(columns: dict[str, dict[str, Any]]) -> str:
    """One short line per column: the wide frame's profile without charts."""
    rows = []
    for name, s in columns.items():
        if s["kind"] == "numeric":
            figures = f"{num(s.get('mean'))} ± {num(s.get('std'))}"
        else:
            top = (s.get("top") or [[DASH]])[0][0]
            figures = esc(str(top)[:30])
        rows.append(
            f"<tr><td>{esc(name)}</td><td>{esc(s['kind'])}</td><td>{pct(s['missing_fraction'])}"
            f"</td><td>{num(s['n_unique'])}</td><td>{figures}</td></tr>"
        )
    head = "<tr><th>column</th><th>kind</th><th>missing</th><th>distinct</th>"
    head += "<th>mean ± std, or top value</th></tr>"
    return f"<table>{head}{''.join(rows)}</table>"


def _heatmap(matrix: dict[str, dict[str, float | None]], title: str) -> str:
    names = list(matrix)
    if len(names) < 2:
        return f"<h4>{esc(title)}</h4><p class='muted'>needs at least two columns</p>"
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
    # short names head their columns; otherwise the columns are numbered like the rows, so a
    # 30-column matrix fits a notebook's output (each header's title holds the full name)
    numbered = not printed or any(len(n) > SHORT_NAME for n in names)
    head = "".join(
        f"<th title='{esc(n)}'>{i if numbered else esc(n)}</th>"
        for i, n in enumerate(names, start=1)
    )
    rows = []
    for i, a in enumerate(names, start=1):
        cells = []
        for b in names:
            v = matrix[a].get(b)
            if v is None:
                cells.append(f"<td title='{esc(a)} / {esc(b)}: undefined'>{DASH}</td>")
                continue
            colour = "25,118,210" if v >= 0 else "211,47,47"
            text = f"{v:.2f}" if printed else ""
            cells.append(
                f"<td style='background:rgba({colour},{abs(v) * 0.8:.2f})' "
                f"title='{esc(a)} / {esc(b)}: {v:.3f}'>{text}</td>"
            )
        label = f"{i}&nbsp;{esc(a)}" if numbered else esc(a)
        rows.append(f"<tr><th class='name'>{label}</th>{''.join(cells)}</tr>")
    cls = "heat" if printed else "heat dense"
    table = f"<table class='{cls}'><tr><th></th>{head}</tr>{''.join(rows)}</table>"
    return f"<h4>{esc(title)}</h4>{note}{table}"


def _top_pairs(top: dict[str, Any], title: str, note: str) -> str:
    """A wide frame's strongest pairs as a table, with the note saying how the matrix was cut."""
    pairs = top["pairs"][:MAX_PAIRS]
    rows = "".join(
        f"<tr><td>{esc(a)}</td><td>{esc(b)}</td><td>{v:.3f}</td></tr>" for a, b, v in pairs
    )
    shown = f"<p class='muted'>the {len(pairs):,} strongest pairs (all kept pairs are in the JSON)"
    table = f"<table><tr><th>column</th><th>column</th><th>value</th></tr>{rows}</table>"
    return f"<h4>{esc(title)}</h4><p class='muted'>{esc(note)}</p>{shown}</p>{table}"


def _correlations(report: dict[str, Any]) -> str:
    corr = report["correlations"]
    top = report.get("correlations_top") or {}
    notes = {w["what"]: w["reason"] for w in report.get("skipped") or []}
    parts = []
    for method, title in (
        ("pearson", "Pearson r (numeric)"),
        ("spearman", "Spearman rho (numeric)"),
        ("cramers_v", "Cramér's V (categorical)"),
    ):
        if method in top:
            parts.append(_top_pairs(top[method], title, notes.get(f"{method} matrix", "")))
        elif f"{method} matrix" in notes:  # left out of a wide frame, and why
            parts.append(
                f"<h4>{esc(title)}</h4><p class='muted'>{esc(notes[method + ' matrix'])}</p>"
            )
        elif corr.get(method) or method != "cramers_v":
            parts.append(_heatmap(corr.get(method) or {}, title))
    return "".join(f"<div style='margin-bottom:12px'>{p}</div>" for p in parts)


def _target(report: dict[str, Any]) -> str:
    target = report.get("target")
    if not target:
        return "<p class='muted'>No target given: use --target COL.</p>"
    head = f"<h3>{esc(target['column'])} <span class='badge'>{esc(target['task'])}</span></h3>"
    if target["task"] == "classification":
        classes = target.get("classes") or []
        total = sum(c for _, c in classes) or 1
        dist = "<h4>classes</h4>" + bars([(k, c) for k, c in classes[:30]], total=total)
    else:
        dist = "<h4>distribution</h4>" + histogram_svg(target.get("histogram") or {})
    rel = target.get("relationships") or {}
    items = [(f"{k} ({v['measure']})", v["value"]) for k, v in rel.items()]
    return (
        f"{head}{dist}<h4 style='margin-top:10px'>relationship with the target, strongest "
        f"first</h4>{bars(items, total=1.0, signed=True)}"
    )


def _warnings(report: dict[str, Any]) -> str:
    items = report["warnings"]
    lis = "".join(
        f"<li><span class='badge warn'>{esc(w['code'])}</span> "
        f"<b>{esc(_names(w['columns']) or 'all rows')}</b>: {esc(w['message'])}</li>"
        for w in items
    )
    body = f"<ul>{lis}</ul>" if items else "<p>No warnings.</p>"
    skipped = report.get("skipped") or []
    if skipped:
        lis = "".join(
            f"<li><b>{esc(w['what'])}</b>"
            f"{' for ' + esc(_names(w['columns'])) if w['columns'] else ''}: {esc(w['reason'])}"
            "</li>"
            for w in skipped
        )
        body += f"<h4>Not computed</h4><ul>{lis}</ul>"
    return body


def _names(columns: list[str], most: int = 20) -> str:
    """Column names for a line of text: the first ``most`` and how many more."""
    shown = ", ".join(columns[:most])
    return shown + (f" and {len(columns) - most:,} more" if len(columns) > most else "")


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
    """The report as one fragment with pure-CSS tabs, no scripts."""
    return tabs(sections(report), "eda")


def render_document(report: dict[str, Any]) -> str:
    """A full page for the ``eda/<name>.html`` artifact."""
    return document(f"EDA: {report['name']}", render_html(report))


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
    return html_widget(sections(report), "eda")
