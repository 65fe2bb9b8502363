"""A notebook's parameters: the cell they are injected after, the injection itself, and the
grid a sweep reads from ``-p NAME V1,V2,...``.

Papermill's convention: the cell tagged ``parameters`` holds the defaults, and the values given
are assigned in a cell of their own (tagged ``injected-parameters``) right after it. Values are
read from text by ``core.values.parse_value``, the one rule for what users type, and written
into the cell as Python source that gives back exactly the same value in the kernel.
"""

from __future__ import annotations

import ast
import itertools
import keyword
import math
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
    lines = (f"{k} = {value_source(plain_value(v, k))}\n" for k, v in parameters.items())
    source = "# Parameters\n" + "".join(lines)
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


# -- values as source --------------------------------------------------------------------------
PLAIN_TYPES = (type(None), bool, int, float, complex, str, bytes)


def plain_value(value: Any, name: str = "value") -> Any:
    """``value`` as built-in types only (a numpy float as a ``float``, an ``OrderedDict`` as a
    ``dict``), which the injected cell can write; anything else (a date, an object) is refused
    in one line rather than written as code that would fail, or differ, in the kernel."""
    try:
        return _plain(value)
    except RecursionError:
        raise MlopsError(f"parameter {name!r} nests too deeply (or contains itself)") from None
    except TypeError as exc:
        what, advice = exc.args
        raise MlopsError(
            f"parameter {name!r} holds {what}, which cannot be written into the notebook: {advice}"
        ) from None


def _plain(value: Any) -> Any:
    import datetime

    if type(value).__module__ == "numpy" and getattr(value, "shape", None) == ():
        value = value.item()  # a numpy scalar: the Python value it holds
    for kind in PLAIN_TYPES:  # bool before int: a bool is an int
        if isinstance(value, kind):
            return value if type(value) is kind else kind(value)
    if isinstance(value, Mapping):
        return {_plain(k): _plain(v) for k, v in value.items()}
    for kind in (list, tuple, set, frozenset):
        if isinstance(value, kind):
            return kind(_plain(v) for v in value)
    shown = repr(value)
    shown = shown if len(shown) <= 60 else shown[:57] + "..."
    if isinstance(value, datetime.date | datetime.time):
        advice = f"give it as the string {str(value)!r} (papermill reads YAML dates as text)"
        raise TypeError(f"a date ({shown})", advice)
    advice = "give a string, number, bool, None, or a list, tuple, set or dict of them"
    raise TypeError(f"a {type(value).__module__}.{type(value).__qualname__} ({shown})", advice)


def value_source(value: Any) -> str:
    """Python source that evaluates to ``value`` (plain types): ``repr``, except that NaN and
    the infinities, whose ``repr`` is no expression, are written ``float('nan')`` and so on."""
    if isinstance(value, float) and not math.isfinite(value):
        return f"float({str(value)!r})"
    if isinstance(value, complex) and not all(map(math.isfinite, (value.real, value.imag))):
        return f"complex({value_source(value.real)}, {value_source(value.imag)})"
    if isinstance(value, dict):
        items = ", ".join(f"{value_source(k)}: {value_source(v)}" for k, v in value.items())
        return f"{{{items}}}"
    if isinstance(value, list):
        return f"[{', '.join(map(value_source, value))}]"
    if isinstance(value, tuple):
        inner = ", ".join(map(value_source, value))
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if isinstance(value, set | frozenset) and value:
        inner = f"{{{', '.join(map(value_source, value))}}}"
        return inner if type(value) is set else f"frozenset({inner})"
    return repr(value)


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
        checked[name] = [plain_value(value, name) for value in values]
        if not checked[name]:
            raise MlopsError(f"parameter {name!r} has no values")
    return checked


def grid_points(grid: Mapping[str, list[Any]]) -> list[dict[str, Any]]:
    """The cartesian product, the first parameter varying slowest."""
    names = list(grid)
    return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*grid.values())]
