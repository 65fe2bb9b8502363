"""Pickling the model against the captured module, so it loads with no notebook (``package``).

The module is imported from a temporary folder and each notebook object is swapped for its
twin there while pickling, checked to be built the same way.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import io
import pickle
import sys
import tempfile
import types
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from .assemble import HEADER, assemble, is_literal, lookup
from .find import PROTOCOL, CaptureError, find_notebook_objects, is_notebook_module, module_spec
from .source import function_of, label, same_code

# -- re-pickling against the module -------------------------------------------------------------


class _Repickler(pickle._Pickler):
    """Pickles the model with each captured object replaced by its twin in the new module.

    The pure-Python Pickler, because its ``save_global`` is the one place where a reference
    by name is written: swapping the object there writes ``module_name.Qualname`` exactly as
    if the code had always lived in that module (the C Pickler offers no such hook).
    """

    def __init__(self, file: io.BytesIO, twins: dict[int, tuple[object, object]]) -> None:
        super().__init__(file, protocol=PROTOCOL)
        self.twins = twins

    # the class's table holds the base ``save_global`` for functions: route it to ours
    dispatch = pickle._Pickler.dispatch.copy()
    dispatch[types.FunctionType] = lambda self, obj: self.save_global(obj)

    def save_global(self, obj: object, name: str | None = None) -> None:
        twin = self.twins.get(id(obj))
        if twin is not None and twin[0] is obj:
            # memoised under the twin only: with protocol 4+ the memo's size numbers its entries
            memo = self.memo.get(id(twin[1]))
            if memo is None:
                super().save_global(twin[1])
            else:
                self.write(self.get(memo[0]))
            return
        if is_notebook_module(getattr(obj, "__module__", None)):
            raise CaptureError(
                f"{label(obj)} is pickled by the name {name or obj!r} in the notebook and "
                "cannot be captured: give its class a __reduce__ that does not return a name"
            )
        super().save_global(obj, name)


def _dumps(model: object, twins: dict[int, tuple[object, object]]) -> bytes:
    buffer = io.BytesIO()
    try:
        _Repickler(buffer, twins).dump(model)
    except (pickle.PicklingError, TypeError, AttributeError) as exc:
        raise CaptureError(f"the model cannot be pickled: {exc}") from exc
    return buffer.getvalue()


def _check_module_name(module_name: str) -> None:
    """Refuse a name that is not an identifier or that an importable module already has
    (unless that module is itself captured code, e.g. a promoted model loaded back)."""
    import keyword

    if not module_name.isidentifier() or keyword.iskeyword(module_name):
        raise CaptureError(f"invalid module name {module_name!r}: use a Python identifier")
    module = sys.modules.get(module_name)
    spec = getattr(module, "__spec__", None) if module is not None else module_spec(module_name)
    origin = getattr(spec, "origin", None)
    if module is None and spec is None:
        return
    try:
        captured = Path(origin).read_text(encoding="utf-8").startswith(HEADER)
    except (OSError, TypeError, ValueError):
        captured = False
    if not captured:
        raise CaptureError(
            f"module name {module_name!r} is taken by an importable module: choose another"
        )


def package(
    model: object,
    module_name: str,
    *,
    user_ns: dict[str, Any] | None = None,
    history: Sequence[str] | None = None,
) -> tuple[str, bytes]:
    """The model's notebook code as module ``module_name`` and the model pickled against it.

    Returns ``(module source, pickle bytes)``: with the source saved as ``<module_name>.py``
    on ``sys.path``, ``pickle.loads`` gives the model in any process, no notebook needed. The
    module is imported from a temporary folder to re-pickle, then removed; the user's objects
    are not touched. A model with no notebook code gives ``""`` and a plain pickle.
    ``user_ns`` and ``history`` are as for ``recover_source``.
    """
    _check_module_name(module_name)
    objs = find_notebook_objects(model)
    capture = assemble(objs, user_ns, history)
    source = capture.render()
    if not source:
        return "", _dumps(model, {})
    with _imported(module_name, source) as module:
        twins = {
            key: (obj, _twin(obj, module, path)) for key, (obj, path, _) in capture.paths.items()
        }
        return source, _dumps(model, twins)


@contextlib.contextmanager
def _imported(module_name: str, source: str) -> Iterator[types.ModuleType]:
    """``source`` imported as module ``module_name`` from a temporary folder while the block
    runs; ``sys.path`` and ``sys.modules`` are as they were afterwards."""
    saved = sys.modules.pop(module_name, None)
    with tempfile.TemporaryDirectory(prefix="mlops-capture-") as folder:
        Path(folder, f"{module_name}.py").write_text(source, encoding="utf-8")
        sys.path.insert(0, folder)
        importlib.invalidate_caches()
        try:
            try:
                module = importlib.import_module(module_name)
            except Exception as exc:
                raise CaptureError(
                    f"the code captured from the notebook fails on import "
                    f"({type(exc).__name__}: {exc})"
                ) from exc
            yield module
        finally:
            sys.path.remove(folder)
            sys.modules.pop(module_name, None)
            if saved is not None:
                sys.modules[module_name] = saved


def _twin(obj: object, module: types.ModuleType, path: str) -> object:
    """``obj``'s counterpart in the imported module, checked to be built the same way."""
    new = lookup(module, path)
    if isinstance(obj, types.FunctionType) and isinstance(new, types.MethodType):
        new = new.__func__
    if isinstance(obj, type) != isinstance(new, type) or not callable(new):
        raise AssertionError(f"{path} in the captured module is not what {label(obj)} is")
    if isinstance(obj, type):
        _check_class(obj, new)  # type: ignore[arg-type]
    else:
        old_func, new_func = function_of(obj), function_of(new)
        if old_func is not None and new_func is not None:
            _check_defaults(obj, old_func, new_func)
    return new


def _check_class(old: type, new: type) -> None:
    """Refuse a class changed after its cell ran: the source would not say so."""
    fix = "make the change in the class body and re-run the cells that build the model"
    for key, value in vars(old).items():
        if key.startswith("__") and key.endswith("__"):
            continue
        if key not in vars(new):
            raise CaptureError(f"{label(old)} got {key!r} after its cell ran: {fix}")
        old_func, new_func = function_of(value), function_of(vars(new)[key])
        if old_func is not None and new_func is not None:
            if not same_code(old_func.__code__, new_func.__code__):
                raise CaptureError(f"{label(old)} had {key!r} replaced after its cell ran: {fix}")
            _check_defaults(old_func, old_func, new_func)


def _check_defaults(obj: object, old: types.FunctionType, new: types.FunctionType) -> None:
    """Defaults are evaluated once, when the ``def`` runs: a global changed since gives others."""
    for attr in ("__defaults__", "__kwdefaults__"):
        before, after = getattr(old, attr), getattr(new, attr)
        if is_literal(before) and before != after:
            raise CaptureError(
                f"the default values of {label(obj)} came from globals that have changed "
                f"since its cell ran ({before!r}, now {after!r}): re-run its cell"
            )
