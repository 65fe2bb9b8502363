"""One reading of a value a user types as text: ``%mlops log K=V``, ``run -p NAME VALUE`` and
each of ``sweep -p NAME V1,V2,...``'s values all go through ``parse_value``, so the same text
means the same value wherever it is typed.

Pure standard library: importable from the magics, the CLI and spawned workers alike.
"""

from __future__ import annotations

import ast
from typing import Any


def parse_value(text: str) -> Any:
    """A Python literal when ``text`` is one (``0.5``, ``7``, ``True``, ``None``, ``[1, 2]``,
    ``'text'``), else the text as typed (``ridge``): the rule documented for ``jupyter mlops
    run -p``; surrounding spaces do not count for a literal."""
    try:
        return ast.literal_eval(text.strip())
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return text
