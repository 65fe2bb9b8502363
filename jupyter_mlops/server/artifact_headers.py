"""The headers of an artifact's answer: its type from its extension, and nothing it can run.

A shared store is untrusted input, and so is every file a run logged: the type comes from the
extension alone (never sniffed: ``nosniff``), with ``application/octet-stream`` by default;
every artifact is answered with a sandboxing Content-Security-Policy (no script, nothing
fetched, no origin of its own), which is what lets HTML and SVG reports open ``inline``;
what is not an image, text, JSON, HTML or SVG is an ``attachment``.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath
from urllib.parse import quote

# no script, no plugin, no fetch, no form; inline styles and data: images so reports render;
# framed only by the Jupyter page (the panel)
ARTIFACT_CSP = (
    "sandbox; default-src 'none'; img-src data:; style-src 'unsafe-inline'; frame-ancestors 'self'"
)
DEFAULT_TYPE = "application/octet-stream"
_TEXT = "text/plain; charset=utf-8"
TYPES = {
    ".txt": _TEXT,
    ".log": _TEXT,
    ".md": _TEXT,
    ".py": _TEXT,
    ".yaml": _TEXT,
    ".yml": _TEXT,
    ".toml": _TEXT,
    ".ini": _TEXT,
    ".cfg": _TEXT,
    ".mlmodel": _TEXT,
    ".csv": "text/csv; charset=utf-8",
    ".tsv": "text/tab-separated-values; charset=utf-8",
    ".json": "application/json; charset=utf-8",
    ".ipynb": "application/json; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".htm": "text/html; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".bmp": "image/bmp",
}
_INLINE = ("text/", "image/", "application/json")


def content_type(path: str) -> str:
    """The type an artifact is served as, from its extension (any case); MLflow's ``MLmodel``
    and its requirement files are text."""
    name = PurePosixPath(path).name
    if name in ("MLmodel", "requirements.txt", "conda.yaml", "python_env.yaml"):
        return _TEXT
    return TYPES.get(PurePosixPath(name).suffix.lower(), DEFAULT_TYPE)


def artifact_headers(path: str) -> dict[str, str]:
    """Every header of the answer holding artifact ``path`` but its length."""
    kind = content_type(path)
    name = PurePosixPath(path).name
    ascii_name = re.sub(r"[^A-Za-z0-9._-]", "_", name) or "artifact"
    disposition = "inline" if kind.startswith(_INLINE) else "attachment"
    return {
        "Content-Type": kind,
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": ARTIFACT_CSP,
        "Content-Disposition": (
            f"{disposition}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"
        ),
        "Cache-Control": "private, no-cache",
    }
