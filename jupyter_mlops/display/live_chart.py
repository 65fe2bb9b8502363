"""A run card with small line charts of its metrics, drawn by hand as inline SVG.

No plotting library: this is drawn from inside a training loop, where importing one would cost
seconds. The charts are inert (no script, no link, every name escaped) and self-contained, so
the saved notebook shows them wherever it is read: JupyterLab, nbconvert's HTML, GitHub (which
gets them as ``image/svg+xml`` too).

A chart is a dict made by the kernel's live view (``magics/live.py``): ``name``, ``points``
(``(x, y)`` pairs, finite, thinned to a few hundred), ``count`` (values logged), ``low`` and
``high`` (the exact minimum and maximum of every finite value logged, ``None`` without one),
``last`` (the last value logged) and ``x`` (``"step"`` or ``"value"``: what the x axis counts).
"""

from __future__ import annotations

import html
import math
from typing import Any

from .cards import run_card_html, run_card_text

WIDTH, HEIGHT = 260, 100  # one chart
LEFT, RIGHT, TOP, BOTTOM = 50, 252, 20, 80  # its plot area
COLUMNS = 2
NAME_CHARS = 24
LINE, INK, FAINT = "#1a73e8", "#3c4043", "#dadce0"


def _number(value: float | None) -> str:
    if value is None:
        return "none"
    if math.isnan(value):
        return "nan"
    return f"{value:.4g}"


def _position(x: float) -> str:
    return f"{int(x):,}" if float(x).is_integer() else f"{x:.4g}"


def _text(x: float, y: float, body: str, anchor: str = "start", size: int = 10) -> str:
    return (
        f"<text x='{x}' y='{y}' font-size='{size}' fill='{INK}' text-anchor='{anchor}'>"
        f"{html.escape(body)}</text>"
    )


def _scale(value: float, low: float, high: float, start: float, end: float) -> float:
    if high == low:
        return (start + end) / 2
    return start + (value - low) / (high - low) * (end - start)


def _line(chart: dict[str, Any]) -> str:
    """The polyline of the chart's points, and a dot on the last one."""
    points = chart["points"]
    if not points or chart["low"] is None:
        return _text((LEFT + RIGHT) / 2, (TOP + BOTTOM) / 2, "no finite value", "middle")
    xs = [x for x, _ in points]
    x_low, x_high = min(xs), max(xs)
    low, high = chart["low"], chart["high"]
    placed = [
        (_scale(x, x_low, x_high, LEFT, RIGHT), _scale(y, low, high, BOTTOM, TOP))
        for x, y in points
    ]
    coords = " ".join(f"{x:.1f},{y:.1f}" for x, y in placed)
    last_x, last_y = placed[-1]
    return (
        f"<polyline fill='none' stroke='{LINE}' stroke-width='1.5' points='{coords}'/>"
        f"<circle cx='{last_x:.1f}' cy='{last_y:.1f}' r='2.5' fill='{LINE}'/>"
        + _text(LEFT, HEIGHT - 6, _position(x_low))
        + _text(RIGHT, HEIGHT - 6, _position(x_high), "end")
    )


def chart_svg(chart: dict[str, Any]) -> str:
    """One metric's chart as an SVG group at the origin (``WIDTH`` x ``HEIGHT``): its name, the
    last value, the line, the minimum and maximum, and what the x axis counts."""
    name = str(chart["name"])
    shown = name if len(name) <= NAME_CHARS else name[: NAME_CHARS - 1] + "\u2026"
    count = chart["count"]
    axis = f"{chart['x']} ({count:,} value{'s' if count != 1 else ''})"
    return (
        f"<g><title>{html.escape(name)}</title>"
        f"<rect x='{LEFT}' y='{TOP}' width='{RIGHT - LEFT}' height='{BOTTOM - TOP}' "
        f"fill='none' stroke='{FAINT}'/>"
        + _text(4, 13, shown, size=11)
        + _text(RIGHT, 13, f"last {_number(chart['last'])}", "end", size=11)
        + _text(LEFT - 4, TOP + 8, _number(chart["high"]), "end")
        + _text(LEFT - 4, BOTTOM, _number(chart["low"]), "end")
        + _text((LEFT + RIGHT) / 2, HEIGHT - 6, axis, "middle")
        + _line(chart)
        + "</g>"
    )


def charts_svg(charts: list[dict[str, Any]], more: int = 0) -> str:
    """The charts as one standalone SVG document, ``COLUMNS`` to a row; ``more`` metrics that
    were logged but not drawn are counted under them."""
    columns = min(COLUMNS, max(len(charts), 1))
    rows = math.ceil(len(charts) / columns)
    width, height = columns * WIDTH, rows * HEIGHT + (16 if more else 0)
    groups = "".join(
        f"<g transform='translate({(i % columns) * WIDTH},{(i // columns) * HEIGHT})'>"
        f"{chart_svg(chart)}</g>"
        for i, chart in enumerate(charts)
    )
    note = _text(4, height - 4, _more(more)) if more else ""
    return (
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' "
        f"viewBox='0 0 {width} {height}' font-family='sans-serif' role='img'>{groups}{note}</svg>"
    )


def _more(more: int) -> str:
    return f"and {more:,} more metric{'s' if more != 1 else ''} (not drawn)"


def charts_text(charts: list[dict[str, Any]], more: int = 0) -> str:
    """The charts' numbers as plain text, one metric a line."""
    lines = [
        f"{c['name']}: last {_number(c['last'])}, min {_number(c['low'])}, "
        f"max {_number(c['high'])} ({c['count']:,} values)"
        for c in charts
    ]
    if more:
        lines.append(_more(more))
    return "\n".join(lines)


def live_card(
    info: dict[str, Any], charts: list[dict[str, Any]], more: int = 0, *, image: bool = False
) -> dict[str, str]:
    """The run card with its charts as a display bundle (``text/plain``, ``text/html``, and with
    ``image`` the charts alone as ``image/svg+xml``, for readers that show no HTML)."""
    if not charts:
        return {"text/plain": run_card_text(info), "text/html": run_card_html(info)}
    svg = charts_svg(charts, more)
    bundle = {
        "text/plain": f"{run_card_text(info)}\n{charts_text(charts, more)}",
        "text/html": run_card_html(info, extra=f"<div style='margin-top:6px'>{svg}</div>"),
    }
    if image:
        bundle["image/svg+xml"] = svg
    return bundle
