"""Parameters the notebook does not define: a typo (``-p alpah 2`` for ``alpha``) would run
silently with the default, so each given name is checked against the names the cell tagged
``parameters`` assigns. Papermill warns (``Passed unknown parameter``); we warn in one line
naming the closest defined name, record the names on the run, and refuse when asked to be
strict, before any run is created or kernel started.
"""

from __future__ import annotations

import ast
import difflib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ...errors import MlopsError
from ..tags import UNKNOWN_PARAMETERS
from .parameters import PARAMETERS_TAG


@dataclass
class NameCheck:
    """What checking the given names found: a note per unknown name, and the run's tags."""

    unknown: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # per unknown name: "parameter 'x' is not defined in ... (did you mean 'y'?)", which the
    # notes go on from and a caller that refuses (retrain) says as it is
    problems: list[str] = field(default_factory=list)

    @property
    def tags(self) -> dict[str, str]:
        return {UNKNOWN_PARAMETERS: json.dumps(self.unknown)} if self.unknown else {}


def check_parameter_names(
    nb: Any, names: Iterable[str], notebook_name: str, *, strict: bool = False
) -> NameCheck:
    """Check ``names`` against the notebook's ``parameters`` cell; with ``strict``, an unknown
    name (or no such cell to check against) raises ``MlopsError``, else each is a note.

    A notebook with no ``parameters`` cell gets no note per name: the runner's own note says
    the values went into its first cell."""
    names = list(names)
    if not names:
        return NameCheck()
    tagged = (c for c in nb.cells if PARAMETERS_TAG in c.get("metadata", {}).get("tags", []))
    cell = next(tagged, None)
    if cell is None:
        if strict:
            raise MlopsError(
                f"strict parameters: {notebook_name} has no cell tagged '{PARAMETERS_TAG}' to "
                f"check {_names(names)} against; tag the cell that holds the defaults"
            )
        return NameCheck()
    defined = defined_names(cell.get("source", ""))
    if defined is None:
        if strict:
            raise MlopsError(
                f"strict parameters: the '{PARAMETERS_TAG}' cell of {notebook_name} is not "
                "Python this can read, so its names cannot be checked"
            )
        note = f"the '{PARAMETERS_TAG}' cell of {notebook_name} could not be read as Python"
        return NameCheck(notes=[f"{note}: the parameter names were not checked"])
    unknown = [name for name in names if name not in defined]
    if unknown and strict:
        listed = " and ".join(f"{name!r}{_guess(name, defined)}" for name in unknown)
        verb = "is" if len(unknown) == 1 else "are"
        raise MlopsError(
            f"strict parameters: {listed} {verb} not defined in the '{PARAMETERS_TAG}' cell of "
            f"{notebook_name}; fix the name or define it there"
        )
    problems = [
        f"parameter {name!r} is not defined in the notebook's parameters cell"
        f"{_guess(name, defined)}"
        for name in unknown
    ]
    notes = [f"{problem}; it is injected anyway" for problem in problems]
    return NameCheck(unknown, notes, problems)


def defined_names(source: str) -> list[str] | None:
    """The names a cell assigns at its top level (``a = 1``, ``a: int = 1``, ``a, b = ...``,
    also inside ``if``/``try``/``with`` blocks), in order; ``None`` when it is not Python.
    IPython's ``%magic`` and ``!shell`` lines are read as ``pass``."""
    lines = [re.sub(r"^(\s*)[%!].*$", r"\1pass", line) for line in source.splitlines()]
    try:
        tree = ast.parse("\n".join(lines))
    except (SyntaxError, ValueError):
        return None
    found: list[str] = []
    _collect(tree.body, found)
    return list(dict.fromkeys(found))


def _collect(statements: list[ast.stmt], found: list[str]) -> None:
    for statement in statements:
        if isinstance(statement, ast.Assign):
            for target in statement.targets:
                found += _targets(target)
        elif isinstance(statement, ast.AnnAssign):  # ``alpha: float`` names it, even unset
            found += _targets(statement.target)
        elif isinstance(statement, ast.If | ast.Try | ast.With | ast.For | ast.While):
            for block in ("body", "orelse", "finalbody"):
                _collect(getattr(statement, block, []), found)
            for handler in getattr(statement, "handlers", []):
                _collect(handler.body, found)


def _targets(target: ast.expr) -> list[str]:
    if isinstance(target, ast.Name):
        return [target.id]
    if isinstance(target, ast.Tuple | ast.List):
        return [name for element in target.elts for name in _targets(element)]
    if isinstance(target, ast.Starred):
        return _targets(target.value)
    return []  # ``config["a"] = 1``, ``obj.a = 1``: not a name the cell defines


def _guess(name: str, defined: list[str]) -> str:
    close = difflib.get_close_matches(name, defined, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _names(names: list[str]) -> str:
    return ", ".join(repr(name) for name in names)


def warn_now(notes: Iterable[str]) -> None:
    """Say each note at once, on the ``jupyter_mlops.batch`` logger (stderr unless the caller
    routes it), as papermill warns of an unknown parameter before the cells run: a typo found
    only in the summary after a long run is found too late. The notes stay on the result."""
    import logging

    log = logging.getLogger("jupyter_mlops.batch")
    for note in notes:
        log.warning(note)
