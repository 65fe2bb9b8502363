"""Where a batch run's parameters come from, merged as papermill merges them.

Papermill users give parameters four ways: YAML files (``-f``), inline YAML (``-y``), typed
values (``-p NAME VALUE``) and raw strings (``-r NAME VALUE``). Papermill applies them in that
order, each in the order given, so per name a ``-r`` beats a ``-p``, which beats ``-y``, which
beats ``-f``. YAML is read as papermill reads it (PyYAML's safe loader, YAML 1.1, with dates
left as the text typed); ``-p`` values are read by ``core.values.parse_value``, our one rule
for what users type; ``-r`` values are the text exactly as typed.

A sweep reads the same sources into a grid: a YAML list is an axis, a YAML scalar (or a
mapping, or ``-r``) is one value fixed for every point, and ``-p NAME V1,V2,...`` is an axis.

Pure standard library and PyYAML: the CLI and the magics call it before any heavy import.
"""

from __future__ import annotations

import keyword
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from ...errors import MlopsError
from ..values import parse_value
from .parameters import parse_values


def merge_parameters(
    *,
    files: Iterable[str] = (),
    yaml_texts: Iterable[str] = (),
    typed: Iterable[Sequence[str]] = (),
    raw: Iterable[Sequence[str]] = (),
) -> dict[str, Any]:
    """The parameters of one run: ``files`` (YAML), then ``yaml_texts``, then ``typed``
    ``(name, text)`` pairs, then ``raw`` ``(name, text)`` pairs, later ones winning per name
    (papermill's order). A bad file, YAML or name is one ``MlopsError`` naming the option."""
    merged: dict[str, Any] = {}
    for path in files:
        merged.update(read_yaml_file(path))
    for text in yaml_texts:
        merged.update(read_yaml_text(text))
    for name, text in typed:
        merged[check_name(name, f"-p {name}")] = parse_value(text)
    for name, text in raw:
        merged[check_name(name, f"-r {name}")] = text
    return merged


def merge_grid(
    *,
    files: Iterable[str] = (),
    yaml_texts: Iterable[str] = (),
    axes: Iterable[Sequence[str]] = (),
    raw: Iterable[Sequence[str]] = (),
) -> dict[str, list[Any]]:
    """A sweep's grid from the same sources, in the same order: in YAML a list is an axis and
    anything else one value for every point (a list for every point is ``[[1, 2]]``);
    ``axes`` are ``-p NAME V1,V2,...`` pairs; ``raw`` values are fixed strings."""
    grid: dict[str, list[Any]] = {}
    for values in [*(read_yaml_file(p) for p in files), *(read_yaml_text(t) for t in yaml_texts)]:
        grid.update({k: v if isinstance(v, list) else [v] for k, v in values.items()})
    given: set[str] = set()
    for name, text in axes:
        check_name(name, f"-p {name}")
        if name in given:
            raise MlopsError(f"parameter {name!r} is given twice; list its values once: V1,V2,...")
        given.add(name)
        try:
            grid[name] = parse_values(text)
        except MlopsError as exc:
            raise MlopsError(f"-p {name}: {exc}") from None
    for name, text in raw:
        grid[check_name(name, f"-r {name}")] = [text]
    return grid


def read_yaml_file(path: str) -> dict[str, Any]:
    """The mapping a ``-f`` file holds (an empty file holds none, as in papermill)."""
    where = f"-f {path}"
    file = Path(path)
    if not file.is_file():
        raise MlopsError(f"{where}: no such file")
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise MlopsError(f"{where}: cannot read it as UTF-8 text ({exc})") from None
    return _mapping(text, where)


def read_yaml_text(text: str) -> dict[str, Any]:
    """The mapping a ``-y`` string holds."""
    shown = text if len(text) <= 40 else text[:37] + "..."
    return _mapping(text, f"-y {shown!r}")


def check_name(name: Any, where: str) -> str:
    """``name`` when it can be assigned in a cell (an identifier, not a keyword)."""
    if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name):
        raise MlopsError(f"{where}: parameter name {name!r} is not a Python identifier")
    return name


def _mapping(text: str, where: str) -> dict[str, Any]:
    import yaml

    try:
        loaded = yaml.load(text, Loader=_loader())  # a SafeLoader: no Python objects
    except yaml.YAMLError as exc:
        raise MlopsError(f"{where}: not valid YAML ({_yaml_problem(exc)})") from None
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        kind = {list: "a list", str: "a string"}.get(type(loaded), type(loaded).__name__)
        raise MlopsError(f"{where}: holds {kind}, not a mapping of NAME: VALUE")
    return {check_name(name, where): value for name, value in loaded.items()}


def _yaml_problem(exc: Exception) -> str:
    """``line 2, column 5: mapping values are not allowed here``: where and what, one line."""
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).strip().splitlines()[0]
    if mark is None:
        return str(problem)
    return f"line {mark.line + 1}, column {mark.column + 1}: {problem}"


_LOADER: Any = None


def _loader() -> Any:
    """PyYAML's safe loader without its implicit timestamps: ``2024-01-31`` stays the text
    typed, as papermill reads YAML (an explicit ``!!timestamp`` still makes a date)."""
    global _LOADER
    if _LOADER is None:
        import yaml

        resolvers = {
            first: [entry for entry in entries if entry[0] != "tag:yaml.org,2002:timestamp"]
            for first, entries in yaml.SafeLoader.yaml_implicit_resolvers.items()
        }
        _LOADER = type("NoDatesLoader", (yaml.SafeLoader,), {"yaml_implicit_resolvers": resolvers})
    return _LOADER
