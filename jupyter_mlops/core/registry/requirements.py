"""What a promoted model needs to run elsewhere: pinned distributions, and project code to ship.

Pickle's own traversal names every module the model refers to; each is either an installed
distribution (pinned in ``requirements.txt``), a module of the project next to the notebook
(copied into the artifact's ``code/``), or something that cannot be reproduced elsewhere, which
promotion refuses.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import os
import pickle
import re
import sys
import types
from pathlib import Path
from typing import Any

from .promotion import PromoteError

ALWAYS_REQUIRED = ("mlflow", "pandas", "numpy")


class _Discard:
    def write(self, data: bytes) -> int:
        return len(data)


class _ModuleFinder(pickle.Pickler):
    """Pickle's own traversal, noting the module of every class and function it refers to."""

    def __init__(self) -> None:
        super().__init__(_Discard(), protocol=5)
        self.modules: set[str] = set()

    def reducer_override(self, obj: object) -> Any:
        if isinstance(obj, type | types.FunctionType | types.BuiltinFunctionType):
            module = getattr(obj, "__module__", None)
        else:
            module = type(obj).__module__
        if isinstance(module, str):
            self.modules.add(module)
        return NotImplemented


def modules_of(model: Any, source: str) -> set[str]:
    """The top-level modules ``model`` refers to (pickle's view) and ``source`` imports."""
    import ast

    finder = _ModuleFinder()
    # the capture step reports an unpicklable model with a better message
    with contextlib.suppress(Exception):
        finder.dump(model)
    modules = set(finder.modules)
    if source:
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Import):
                modules.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                modules.add(node.module)
    return {m.split(".")[0] for m in modules}


def _top_level_names(dist: importlib.metadata.Distribution) -> set[str]:
    """The importable top-level names a distribution provides, from its own records.

    ``top_level.txt`` alone is not enough: setuptools writes it, but meson-python (numpy,
    scikit-learn, pandas, scipy), scikit-build-core, flit and hatchling do not, and Python
    3.10's ``packages_distributions()`` reads nothing else, so there numpy maps to no
    distribution. Every installer writes RECORD (``dist.files``): a file that is a module
    (``.py``, ``.pyc``, an extension) at the top, or anywhere below a top-level folder, names it.
    """
    import inspect

    names = set((dist.read_text("top_level.txt") or "").split())
    for file in dist.files or ():
        parts = file.parts
        if not parts or parts[0] in names or parts[0] == "__pycache__":
            continue
        module = inspect.getmodulename(parts[-1])
        if module is None:
            continue  # data, metadata, scripts, .pth files: nothing one imports
        top = parts[0] if len(parts) > 1 else module
        if top.isidentifier():
            names.add(top)
    return names


# (sys.path with its folders' mtimes, top-level module -> distribution names); see below
_distributions_cache: tuple[tuple[tuple[str, int], ...], dict[str, list[str]]] | None = None


def module_distributions() -> dict[str, list[str]]:
    """Top-level module name -> the installed distributions that provide it, on any Python.

    Reading every distribution's RECORD takes a noticeable fraction of a second, so the map is
    kept for the process; installing or removing a distribution (``%pip install`` between two
    promotions) changes the mtime of the folder it lands in, which rebuilds the map.
    """
    global _distributions_cache
    key: list[tuple[str, int]] = []
    for entry in sys.path:
        with contextlib.suppress(OSError):
            key.append((entry, os.stat(entry or ".").st_mtime_ns))
    fingerprint = tuple(key)
    if _distributions_cache is not None and _distributions_cache[0] == fingerprint:
        return _distributions_cache[1]
    found: dict[str, list[str]] = {}
    for dist in importlib.metadata.distributions():
        name = dist.metadata["Name"]
        if not name:
            continue  # a broken dist-info folder, left by an interrupted uninstall
        for top in _top_level_names(dist):
            if name not in found.setdefault(top, []):
                found[top].append(name)
    _distributions_cache = (fingerprint, found)
    return found


def requirements_and_local_code(
    tops: set[str], root: Path, skip: set[str]
) -> tuple[list[str], list[Path]]:
    """Pinned requirements for installed packages; files for modules that live in the project.

    A module next to the notebook (``from helpers import Cleaner``) is neither installed nor in
    the notebook: it travels in ``code/`` like the captured cells. Anything else that is not an
    installed distribution cannot be reproduced elsewhere, so promotion refuses it.
    """
    from .capture import is_notebook_module

    dists = module_distributions()
    pins: dict[str, str] = {}
    local: list[Path] = []
    for top in sorted(tops | set(ALWAYS_REQUIRED)):
        if top in skip or top in sys.stdlib_module_names or top == "builtins":
            continue
        if is_notebook_module(top) or top.startswith("__"):
            continue
        names = dists.get(top)
        if names and len(names) > 1:  # mlflow's module ships in mlflow, mlflow-skinny, ...
            own = [d for d in names if re.sub(r"[-_.]+", "_", d).lower() == top.lower()]
            names = own or names
        if names:
            for dist in names:
                key = re.sub(r"[-_.]+", "-", dist).lower()
                try:
                    pins[key] = f"{dist}=={importlib.metadata.version(dist)}"
                except importlib.metadata.PackageNotFoundError:
                    continue
            continue
        module = sys.modules.get(top)
        file = getattr(module, "__file__", None)
        if module is None or not file:
            continue  # built into the interpreter, or never imported: nothing to ship
        path = Path(file).resolve()
        if hasattr(module, "__path__"):
            path = path.parent
        if root.resolve() in path.parents and "site-packages" not in path.parts:
            local.append(path)
            continue
        raise PromoteError(
            f"the model needs module {top!r} ({path}), which is neither an installed package "
            "nor in the project: install it, or define that code in the notebook"
        )
    return sorted(pins.values(), key=str.lower), local
