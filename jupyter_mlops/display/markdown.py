"""Markdown from untrusted values, and untrusted Markdown as inert HTML.

Values from a store (a run named ``<img src=http://x>`` or ``[a](javascript:...)``) are escaped
to read as just that, every URL in them losing its credentials; ``card_html`` renders any card's
Markdown to HTML that loads nothing from elsewhere, for the panel.
"""

from __future__ import annotations

import html
import numbers
import re
from typing import Any

from ..core.redact import redact_text, redact_url

MAX_CELL = 200  # characters of one table cell (a param may hold 6,000)


# -- values as literal Markdown ---------------------------------------------------------
def table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> list[str]:
    """A GitHub-flavoured table; cells are already inline text (pipes escaped by inline)."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


# Markdown's inline punctuation, HTML's "<" and "&", math's "$": a backslash makes each literal
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>!&|~#$])")
# what starts a block (list, setext heading, rule) at the beginning of a line once the inline
# characters are escaped: "-", "+", "=" or "1." / "1)"
_LINE_START = re.compile(r"^(\d*)([-+=.)])")


def one_line(value: Any, limit: int = MAX_CELL) -> str:
    """``value`` as one line of at most ``limit`` characters, any URL in it without credentials
    (redacted before the cut, so a cut cannot leave half a token)."""
    text = redact_text(" ".join(str(value).split())) or ""
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return text


def inline(value: Any, limit: int = MAX_CELL) -> str:
    """One line of literal text: no Markdown, HTML or link in it takes effect, and it cannot
    break a table (pipes escaped too)."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", one_line(value, limit))


def block(value: Any) -> str:
    """Free text (a description) as literal text, its lines kept: each line escaped as
    ``inline`` does, and a line that would start a list, heading or rule escaped too."""
    lines = []
    for line in str(value).strip().splitlines():
        lines.append(_LINE_START.sub(r"\1\\\2", inline(line, limit=10_000)))
    return "\n".join(lines).strip()


def code_fence(text: str, minimum: int = 1) -> str:
    """Backticks enough to fence ``text``: one more than its longest run of backticks."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    return "`" * max(minimum, longest + 1)


def code_span(value: Any, limit: int = MAX_CELL) -> str:
    """``value`` as inline code, literal whatever it holds (safe in tables: GFM unescapes
    ``\\|`` inside code spans)."""
    text = one_line(value, limit).replace("|", "\\|")
    fence = code_fence(text)
    pad = " " if fence != "`" or text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def more(total: int, shown: int) -> str:
    """``" and N more"`` after a list cut at ``shown`` items (empty when nothing was cut)."""
    return f" and {total - shown} more" if total > shown else ""


def more_line(total: int, shown: int, what: str) -> list[str]:
    """A paragraph saying how many ``what`` a cut table left out (none when nothing was cut)."""
    return ["", f"... and {total - shown} more {what}."] if total > shown else []


def whole(n: Any) -> str:
    """569 -> "569", 1234567 -> "1,234,567" (numpy integers too); anything else as text."""
    if isinstance(n, numbers.Integral) and not isinstance(n, bool):
        return f"{int(n):,}"
    return inline(n)


# -- HTML -------------------------------------------------------------------------------------
_LINK_SCHEMES = ("http://", "https://", "mailto:")
# the only attributes a rendered card keeps; every other one (style, class, id, src) is dropped
_KEPT_ATTRS = {"a": {"href", "title"}, "ol": {"start"}}


def card_html(markdown: str) -> str:
    """Any card's Markdown as HTML that loads nothing and overlays nothing, whoever wrote it.

    A card comes from the store, where anyone with access can write one. Raw HTML is shown as
    text; an image becomes its alt text and address as text; a link stays a link only to
    http(s) or mailto, opened in a new tab with ``rel="noopener noreferrer"``; no element keeps
    a ``style``, ``class`` or ``id``. Rendered by markdown-it-py (CommonMark and GFM tables).
    """
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"])
    md.validateLink = lambda url: url.strip().lower().startswith(_LINK_SCHEMES)  # type: ignore[method-assign]
    md.add_render_rule("image", _image_as_text)
    tokens = md.parse(markdown)
    _keep_safe_attrs(tokens)
    return md.renderer.render(tokens, md.options, {})


def _keep_safe_attrs(tokens: list[Any]) -> None:
    for token in tokens:
        if token.type == "image":
            continue  # rendered as text by _image_as_text
        if token.type == "fence":
            token.info = ""  # its info string would become a class
        kept = _KEPT_ATTRS.get(token.tag, set())
        token.attrs = {k: v for k, v in token.attrs.items() if k in kept}
        if token.type == "link_open":
            token.attrs["href"] = redact_url(str(token.attrs.get("href", ""))) or ""
            token.attrs["target"] = "_blank"
            token.attrs["rel"] = "noopener noreferrer"
        if token.children:
            _keep_safe_attrs(token.children)


def _image_as_text(renderer: Any, tokens: list[Any], idx: int, options: Any, env: Any) -> str:
    token = tokens[idx]
    alt = renderer.renderInlineAsText(token.children or [], options, env)
    src = redact_url(str(token.attrs.get("src", ""))) or ""
    return html.escape(f"[image: {alt}] ({src})" if alt else f"[image] ({src})")
