"""A notebook's parameters: the cell they are injected after, the injection itself, and the
grid a sweep reads from ``-p NAME V1,V2,...``.

Papermill's convention: the cell tagged ``parameters`` holds the defaults, and the values given
are assigned in a cell of their own (tagged ``injected-parameters``) right after it. Values are
read from text by ``core.values.parse_value``, the one rule for what users type.
"""

from __future__ import annotations

import ast
import itertools
import keyword
from collections.abc import Iterable, Mapping
from typing import Any

from ...errors import MlopsError
from ..values import parse_value

PARAMETERS_TAG = "parameters"
INJECTED_TAG = "injected-parameters"


def inject_parameters(nb: Any, parameters: dict[str, Any]) -> bool:
    """Add a cell assigning ``parameters`` after the cell tagged ``parameters`` (papermill's
    convention), or first when there is none; it replaces an earlier injected cell.

    Returns whether a ``parameters`` cell was found (the caller tells the user when not).
    """
    import nbformat

    if not parameters:
        return True
    source = "# Parameters\n" + "".join(f"{k} = {v!r}\n" for k, v in parameters.items())
    cell = nbformat.v4.new_code_cell(source, metadata={"tags": [INJECTED_TAG]})
    cells = [c for c in nb.cells if INJECTED_TAG not in c.get("metadata", {}).get("tags", [])]
    position, found = 0, False
    for index, existing in enumerate(cells):
        if PARAMETERS_TAG in existing.get("metadata", {}).get("tags", []):
            position, found = index + 1, True
            break
    cells.insert(position, cell)
    nb.cells = cells
    return found


# -- the grid ---------------------------------------------------------------------------------
def parse_values(text: str) -> list[Any]:
    """The values of ``-p NAME V1,V2,...``: Python literals where they are (``0.1,1,10``,
    ``'a,b','c'``), else strings split at commas (``ridge,lasso``), as ``run -p`` parses one."""
    stripped = text.strip()
    if not stripped:
        raise MlopsError("no values given (expected V1,V2,...)")
    try:
        values = ast.literal_eval(f"[{stripped}]")
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        values = None
    if isinstance(values, list) and values:
        return values
    pieces = [piece.strip() for piece in stripped.split(",")]
    if not all(pieces):
        raise MlopsError(f"an empty value in {text!r} (expected V1,V2,...)")
    return [parse_value(piece) for piece in pieces]


def check_grid(grid: Mapping[str, Iterable[Any]]) -> dict[str, list[Any]]:
    """The grid as ``{name: [values]}``, refusing what cannot be injected as an assignment."""
    if not isinstance(grid, Mapping) or not grid:
        raise MlopsError("the grid is empty: give at least one parameter and its values")
    checked: dict[str, list[Any]] = {}
    for name, values in grid.items():
        if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name):
            raise MlopsError(f"parameter name {name!r} is not a Python identifier")
        if isinstance(values, str | bytes) or not isinstance(values, Iterable):
            raise MlopsError(f"the values of {name!r} must be a list, not {type(values).__name__}")
        checked[name] = list(values)
        if not checked[name]:
            raise MlopsError(f"parameter {name!r} has no values")
    return checked


def grid_points(grid: Mapping[str, list[Any]]) -> list[dict[str, Any]]:
    """The cartesian product, the first parameter varying slowest."""
    names = list(grid)
    return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*grid.values())]
