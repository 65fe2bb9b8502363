"""The model registry as a table: registered models, or one model's versions and aliases.

Renders ``ModelsTable.to_dict()`` as self-contained HTML (no scripts, every string escaped)
and as a plain-text table (control characters, a terminal's escapes among them, shown as
text). Stdlib only.
"""

from __future__ import annotations

import shlex
from datetime import datetime
from typing import Any

from .alias_history import plain
from .html import DASH, esc, single

LONG_TAG = 200  # characters of a tag value shown in full in the table
SHOWN_OF_LONG_TAG = 60

MAX_TEXT_CELL = 40  # characters of a cell in the text table
_CSS = (
    "<style>.mlops-models td{text-align:left;vertical-align:top}"
    ".mlops-models td.n{text-align:right}"
    ".mlops-models .badge{margin:0 4px 0 0;white-space:nowrap}"
    ".mlops-models .desc{white-space:pre-wrap;max-width:420px}"
    ".mlops-models code{font-size:11px}"
    "</style>"
)


def empty_message(table: dict[str, Any]) -> str:
    if table["kind"] == "models":
        return "No registered models yet: promote one with %mlops promote MODEL --name NAME"
    name = table["name"]
    return (
        f"Model {name!r} has no versions yet: promote one with "
        f"%mlops promote MODEL --name {shlex.quote(name)}"
    )


def title(table: dict[str, Any]) -> str:
    n = len(table["rows"])
    if table["kind"] == "models":
        return f"Registered models: {n}"
    return f"Model {table['name']!r}: {n} version{'s' if n != 1 else ''}, newest first"


def when(iso: str | None) -> str:
    """An ISO timestamp as ``2024-05-01 10:00 UTC`` (a dash when missing)."""
    if not iso:
        return DASH
    return datetime.fromisoformat(iso).strftime("%Y-%m-%d %H:%M UTC")


# -- HTML -------------------------------------------------------------------------------------
def models_html(table: dict[str, Any]) -> str:
    store = table.get("registry_uri")
    where = f" <span class='muted'>in {esc(store)}</span>" if store else ""
    head = f"<h3>{esc(title(table))}{where}</h3>"
    if not table["rows"]:
        body = f"<p class='muted'>{esc(empty_message(table))}</p>"
    elif table["kind"] == "models":
        body = _models_table(table["rows"]) + _hint(
            "The versions of one model: %mlops models NAME. Load one with "
            "mlflow.pyfunc.load_model('models:/NAME@ALIAS')."
        )
    else:
        body = _versions_table(table["name"], table["rows"])
        aliased = [row for row in table["rows"] if row["aliases"]]
        if aliased:
            uri = f"models:/{table['name']}@{aliased[0]['aliases'][0]}"
            body += _hint(f"Load with mlflow.pyfunc.load_model({uri!r}).")
    return single(_CSS + head + body, "models")


def _hint(text: str) -> str:
    return f"<p class='muted'>{esc(text)}</p>"


def _grid(headers: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = "".join(f"<tr>{''.join(cells)}</tr>" for cells in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _td(content: str, cls: str = "") -> str:
    return f"<td class='{cls}'>{content}</td>" if cls else f"<td>{content}</td>"


def _alias_badges(name: str, pairs: list[tuple[str, int | None]]) -> str:
    if not pairs:
        return DASH
    return "".join(
        f"<span class='badge' title='{esc(f'models:/{name}@{alias}')}'>{esc(alias)}"
        + (f" &rarr; v{version}" if version is not None else "")
        + "</span>"
        for alias, version in pairs
    )


def _tags(tags: dict[str, str]) -> str:
    if not tags:
        return DASH
    return " ".join(_tag(k, v) for k, v in tags.items())


def _tag(key: str, value: str) -> str:
    """A tag; a long value (a version's file digests, say) cut short, whole on hover."""
    if len(value) <= LONG_TAG:
        return f"<code>{esc(key)}={esc(value)}</code>"
    shown = f"{value[:SHOWN_OF_LONG_TAG]}… ({len(value):,} characters)"
    return f"<code title='{esc(value)}'>{esc(key)}={esc(shown)}</code>"


def _description(text: str | None) -> str:
    return f"<div class='desc'>{esc(text)}</div>" if text else DASH


def _models_table(rows: list[dict[str, Any]]) -> str:
    headers = ["name", "latest", "versions", "aliases", "last updated", "description", "tags"]
    cells = [
        [
            _td(f"<b>{esc(row['name'])}</b>"),
            _td(f"v{row['latest_version']}" if row["latest_version"] is not None else DASH, "n"),
            _td(f"{row['versions']:,}", "n"),
            _td(_alias_badges(row["name"], list(row["aliases"].items()))),
            _td(esc(when(row["last_updated"]))),
            _td(_description(row["description"])),
            _td(_tags(row["tags"])),
        ]
        for row in rows
    ]
    return _grid(headers, cells)


def _versions_table(name: str, rows: list[dict[str, Any]]) -> str:
    headers = ["version", "aliases", "status", "created", "run", "source", "description", "tags"]
    cells = []
    for row in rows:
        status = esc(row["status"] or DASH)
        badge = status if row["status"] == "READY" else f"<span class='badge warn'>{status}</span>"
        source = row["source"] or DASH
        model_id = row["model_id"]
        under = f"<br><span class='muted'>{esc(model_id)}</span>" if model_id else ""
        cells.append(
            [
                _td(f"<b>v{row['version']}</b>", "n"),
                _td(_alias_badges(name, [(a, None) for a in row["aliases"]])),
                _td(badge),
                _td(esc(when(row["created"]))),
                _td(f"<code>{esc(row['run_id'])}</code>" if row["run_id"] else DASH),
                _td(f"<code>{esc(source)}</code>{under}"),
                _td(_description(row["description"])),
                _td(_tags(row["tags"])),
            ]
        )
    return _grid(headers, cells)


# -- text -------------------------------------------------------------------------------------
def models_text(table: dict[str, Any]) -> str:
    if not table["rows"]:
        return empty_message(table)
    if table["kind"] == "models":
        headers = ["name", "latest", "versions", "aliases", "last updated", "description"]
        cells = [
            [
                row["name"],
                f"v{row['latest_version']}" if row["latest_version"] is not None else DASH,
                str(row["versions"]),
                " ".join(f"{a}=v{v}" for a, v in row["aliases"].items()) or DASH,
                when(row["last_updated"]),
                row["description"] or "",
            ]
            for row in table["rows"]
        ]
    else:
        headers = ["version", "aliases", "status", "created", "run_id", "description"]
        cells = [
            [
                f"v{row['version']}",
                " ".join(row["aliases"]) or DASH,
                row["status"] or DASH,
                when(row["created"]),
                row["run_id"] or DASH,
                row["description"] or "",
            ]
            for row in table["rows"]
        ]
    cells = [[plain(" ".join(c.split())) for c in row[:-1]] + [_clip(row[-1])] for row in cells]
    widths = [max(len(h), *(len(row[i]) for row in cells)) for i, h in enumerate(headers)]
    store = table.get("registry_uri")
    lines = [title(table) + (f" ({store})" if store else "")]
    for row in [headers, *cells]:
        lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    return "\n".join(lines)


def _clip(text: str) -> str:
    # one line per row, whatever the description holds; a terminal's escapes shown as text
    return plain(" ".join(text.split()), MAX_TEXT_CELL)
