"""Which notebook objects a model needs: the ones pickle would save by a name in ``__main__``.

A model pickled in a notebook refers to its custom classes and functions as ``__main__.Name``,
which no other process has. Pickle's own traversal finds them (``find_notebook_objects``).
"""

from __future__ import annotations

import importlib
import importlib.util
import pickle
import sys
import types
from typing import Any

from ....errors import MlopsError

PROTOCOL = 5
PLAIN_TYPES = {str, bytes, bytearray, list, dict, tuple, set, frozenset, int, float, bool}


class CaptureError(MlopsError):
    """The model needs notebook code that cannot be captured; the message names it and why."""


# -- which objects come from the notebook -------------------------------------------------------


def is_notebook_module(name: object) -> bool:
    """Whether a ``__module__`` names code another process cannot import: ``__main__`` (a
    notebook or script) or a module with no file (e.g. one built with ``exec``)."""
    if not isinstance(name, str):
        return False
    if name in ("__main__", "__mp_main__"):
        return True
    module = sys.modules.get(name)
    if module is None:
        return module_spec(name) is None
    if getattr(module, "__file__", None) or hasattr(module, "__path__"):
        return False
    spec = getattr(module, "__spec__", None)
    if spec is not None and spec.origin in ("built-in", "frozen"):
        return False
    return name not in sys.builtin_module_names


def module_spec(name: str) -> Any:
    """The import spec of module ``name``, or None when it cannot be imported."""
    try:
        return importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None


def is_notebook_object(obj: object) -> bool:
    """Whether pickle would refer to ``obj`` by a name in a notebook module: a class, a
    function (lambdas included) or a decorated function's wrapper defined there."""
    if type(obj) in PLAIN_TYPES:
        return False
    if isinstance(obj, (type, types.FunctionType)):
        return is_notebook_module(getattr(obj, "__module__", None))
    try:
        attrs = getattr(obj, "__dict__", None)
    except Exception:  # a proxy whose __getattr__ raises: not a function of ours
        return False
    return (
        isinstance(attrs, dict)
        and "__wrapped__" in attrs
        and "__qualname__" in attrs
        and is_notebook_module(attrs.get("__module__"))
    )


class _Discard:
    def write(self, data: bytes) -> int:
        return len(data)


class _Finder(pickle.Pickler):
    """Pickles into nothing, noting each notebook object pickle would save by reference."""

    def __init__(self) -> None:
        # out-of-band buffers: the walk never copies array data
        super().__init__(_Discard(), protocol=PROTOCOL, buffer_callback=lambda buffer: None)
        self.found: list[Any] = []
        self.seen: set[int] = set()

    def reducer_override(self, obj: object) -> Any:
        if not is_notebook_object(obj):
            return NotImplemented
        if id(obj) not in self.seen:
            self.seen.add(id(obj))
            self.found.append(obj)
        return (int, ())  # stand-in: pickle must not look it up in __main__


def find_notebook_objects(obj: object) -> list[Any]:
    """The classes and functions from the notebook that pickling ``obj`` refers to by name.

    The walk is pickle's own (every object it saves passes ``reducer_override``), so pipeline
    steps, ``FunctionTransformer`` functions, custom estimators and lambdas are all found.
    Returned in the order pickle meets them.
    """
    finder = _Finder()
    try:
        finder.dump(obj)
    except (pickle.PicklingError, TypeError, AttributeError) as exc:
        raise CaptureError(f"the model cannot be pickled: {exc}") from exc
    return finder.found
