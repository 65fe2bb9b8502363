"""The alias history as a table: one row per recorded move, oldest first.

Renders ``AliasHistory.to_dict()`` (``{"name", "rows", "truncated"}``) as a plain-text table
(the CLI, ``__repr__``) and as inert HTML (the notebook). Every value in the rows was read from
a shared store, where anyone with write access could have put anything: in text, characters a
terminal would act on (ANSI escapes, bidi overrides, line breaks) are shown as escapes; in HTML,
every value is escaped too and no value lands in a tag, attribute, link or style. Stdlib only.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from .html import DASH, esc, single

MAX_CELL = 80  # characters of a value in the text table (--json has them whole)
MAX_NOTE = 200  # a note is ours (bounded), and says what happened: shown whole
MAX_HTML_CELL = 2000  # characters of any value in the HTML table
_CSS = (
    "<style>.mlops-alias-history td{text-align:left;vertical-align:top}"
    ".mlops-alias-history td.why{white-space:pre-wrap;max-width:420px;word-break:break-word}"
    ".mlops-alias-history .note{color:var(--jp-warn-color1,#f57c00)}"
    "</style>"
)


def plain(value: Any, limit: int | None = None) -> str:
    """``value`` as one line of inert text: every character that is not printable (a control
    character, an escape, a line break, a bidi override) written as its Python escape; cut at
    ``limit`` characters with an ellipsis."""
    text = "".join(
        c if c.isprintable() else c.encode("unicode_escape").decode("ascii")
        for c in str("" if value is None else value)
    )
    if limit is not None and len(text) > limit:
        return text[: limit - 1] + "\u2026"
    return text


def when(iso: str | None) -> str:
    """``2026-10-01 12:00:03 UTC``, or ``unknown`` for a time that was not recorded or read."""
    if not iso:
        return "unknown"
    return datetime.fromisoformat(iso).strftime("%Y-%m-%d %H:%M:%S UTC")


def _v(version: Any) -> str:
    return "none" if version is None else f"v{version}"


def move(row: dict[str, Any]) -> str:
    """``v1 -> v2``, ``none -> v1``, or ``v1 stays`` for a decision that moved nothing."""
    if not row.get("moved", True):
        return f"{_v(row.get('previous'))} stays"
    return f"{_v(row.get('previous'))} -> {_v(row.get('version'))}"


def moved_line(move: dict[str, Any]) -> str:
    """``alias 'champion' of diabetes: version 1 -> 2 (recorded)``: what the CLI and the magic
    print after a move (``Move.to_dict()``)."""
    before = "none" if move["previous"] is None else f"version {move['previous']}"
    after = "none" if move["version"] is None else str(move["version"])
    if move["previous"] is None and move["version"] is not None:
        after = f"version {after}"
    return (
        f"alias {plain(move['alias'])!r} of {plain(move['name'])}: {before} -> {after} (recorded)"
    )


def _score(value: Any) -> str:
    """A score as the gate's line shows it (``0.9850``); text from the store cut short."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return plain(value, 20) if value is not None else DASH
    if isinstance(value, float) and not math.isfinite(value):
        return DASH
    return f"{value:.4f}" if abs(value) < 1e4 else f"{value:.4g}"


def _version(value: Any) -> str:
    ok = isinstance(value, int) and not isinstance(value, bool) and value > 0
    return f"v{value} " if ok else ""


def gate(decision: dict[str, Any] | None) -> str:
    """A gate's decision as ``refused: accuracy v3 0.9850 vs v2 0.9900`` (the challenger, then
    the champion), read tolerantly: the decision is a dict from the store, any key may be
    missing or of another type."""
    if not decision:
        return ""
    result = decision.get("result")
    if not isinstance(result, str):
        passed = decision.get("passed")
        result = "passed" if passed is True else "refused" if passed is False else "gate"
    text = plain(result, 20)
    scoring = decision.get("scoring")
    challenger = decision.get("challenger_score")
    champion = decision.get("champion_score")
    if challenger is not None or champion is not None:
        what = f"{plain(scoring, 30)} " if scoring else ""
        text += (
            f": {what}{_version(decision.get('challenger'))}{_score(challenger)} vs "
            f"{_version(decision.get('champion'))}{_score(champion)}"
        )
    return text


def title(table: dict[str, Any]) -> str:
    rows = table["rows"]
    moved = sum(1 for row in rows if row.get("moved") is not False)
    refused = len(rows) - moved  # a gate's refusal is a row, not a move
    text = f"Alias history of {plain(table['name'], 100)!r}: {_count(moved, 'move')}"
    if refused:
        text += f" and {_count(refused, 'refusal')}"
    text += ", oldest first"
    if table.get("truncated"):
        text += " (the newest only: the history is longer)"
    return text


def _count(n: int, what: str) -> str:
    return f"{n} {what}{'s' if n != 1 else ''}"


def empty_message(table: dict[str, Any]) -> str:
    return (
        f"No alias of {plain(table['name'], 100)!r} has been moved through jupyter-mlops yet, "
        "and the registry holds none"
    )


def _cells(row: dict[str, Any], limit: int | None) -> list[str]:
    return [
        when(row.get("time")),
        plain(row.get("alias"), limit),
        move(row),
        plain(row.get("user"), limit),
        plain(row.get("via"), limit),
        plain(row.get("reason"), limit),
        gate(row.get("gate")),
        "forced" if row.get("forced") else "",
        plain(row.get("note"), limit and max(limit, MAX_NOTE)),
    ]


HEADERS = ["time (UTC)", "alias", "move", "user", "via", "reason", "gate", "forced", "note"]


def _shown_columns(rows: list[list[str]]) -> list[int]:
    """Every column, but the gate, forced and note columns only when a row fills them."""
    optional = {6, 7, 8}
    return [i for i in range(len(HEADERS)) if i not in optional or any(r[i] for r in rows)]


# -- text -------------------------------------------------------------------------------------
def history_text(table: dict[str, Any]) -> str:
    """A title line, then a header and one line per move (what the CLI prints)."""
    if not table["rows"]:
        return empty_message(table)
    cells = [_cells(row, MAX_CELL) for row in table["rows"]]
    shown = _shown_columns(cells)
    rows = [[HEADERS[i] for i in shown], *([r[i] or DASH for i in shown] for r in cells)]
    widths = [max(len(r[j]) for r in rows) for j in range(len(shown))]
    lines = [title(table)]
    for r in rows:
        lines.append("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
    return "\n".join(lines)


# -- HTML -------------------------------------------------------------------------------------
def history_html(table: dict[str, Any]) -> str:
    """The same rows as an HTML table: every value escaped, nothing active."""
    head = f"<h3>{esc(title(table))}</h3>"
    if not table["rows"]:
        return single(
            _CSS + head + f"<p class='muted'>{esc(empty_message(table))}</p>", "alias-history"
        )
    cells = [_cells(row, MAX_HTML_CELL) for row in table["rows"]]
    shown = _shown_columns(cells)
    header = "".join(f"<th>{esc(HEADERS[i])}</th>" for i in shown)
    body = "".join("<tr>" + "".join(_td(i, r[i]) for i in shown) + "</tr>" for r in cells)
    grid = f"<table><thead><tr>{header}</tr></thead><tbody>{body}</tbody></table>"
    return single(_CSS + head + grid, "alias-history")


def _td(column: int, value: str) -> str:
    if not value:
        return f"<td>{DASH}</td>"
    if column == 8:
        return f"<td class='why note'>{esc(value)}</td>"
    if column == 5:
        return f"<td class='why'>{esc(value)}</td>"
    return f"<td>{esc(value)}</td>"
