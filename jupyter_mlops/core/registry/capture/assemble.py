"""Writing the captured module: the recovered definitions, with the imports and literal
constants they use, in an order that runs (``recover_source``)."""

from __future__ import annotations

import ast
import builtins
import math
import re
import symtable
import sys
import types
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any

from .find import CaptureError, is_notebook_module, is_notebook_object
from .source import (
    CO_FUTURE_ANNOTATIONS,
    class_source,
    function_of,
    function_source,
    future_flags,
    label,
    lambda_source,
    own_methods,
    refuse,
)

HEADER = '"""Code from the notebook that the model needs, captured by jupyter-mlops."""\n'
EAGER_SCOPES = {"listcomp", "setcomp", "dictcomp", "genexpr"}  # run where they are written


# -- names the recovered code uses --------------------------------------------------------------


def _global_names(source: str) -> tuple[set[str], set[str]]:
    """Global names ``source`` reads: (evaluated when it runs, evaluated later in bodies)."""
    eager: set[str] = set()
    lazy: set[str] = set()

    def visit(table: symtable.SymbolTable, now: bool) -> None:
        for symbol in table.get_symbols():
            if symbol.is_referenced() and symbol.is_global():
                (eager if now else lazy).add(symbol.get_name())
        for child in table.get_children():
            runs_now = child.get_type() == "class" or child.get_name() in EAGER_SCOPES
            visit(child, now and runs_now)

    visit(symtable.symtable(source, "<captured>", "exec"), True)
    return eager, lazy - eager


def is_literal(value: object, depth: int = 0) -> bool:
    """Numbers, strings, bytes, None and tuples, lists, dicts and sets of them."""
    kind = type(value)
    if kind is float:
        return math.isfinite(value)  # type: ignore[arg-type]
    if kind is complex:
        return math.isfinite(value.real) and math.isfinite(value.imag)  # type: ignore[attr-defined]
    if kind in (type(None), bool, int, str, bytes):
        return True
    if depth > 50:
        return False
    if kind in (tuple, list) or (kind is set and value):
        return all(is_literal(v, depth + 1) for v in value)  # type: ignore[attr-defined]
    if kind is dict:
        items = value.items()  # type: ignore[attr-defined]
        return all(is_literal(k, depth + 1) and is_literal(v, depth + 1) for k, v in items)
    return False


def _literal_text(value: object) -> str | None:
    if not is_literal(value):
        return None
    try:
        text = repr(value)
        return text if ast.literal_eval(text) == value else None
    except (ValueError, SyntaxError, RecursionError):
        return None


def _importable(value: object) -> tuple[str, str] | None:
    """``(module, qualname)`` when ``value`` is that attribute of an importable module."""
    module = getattr(value, "__module__", None)
    qualname = getattr(value, "__qualname__", None)
    if not isinstance(module, str) or not isinstance(qualname, str) or "<" in qualname:
        return None
    if is_notebook_module(module) or module not in sys.modules:
        return None
    try:
        found = attrgetter(qualname)(sys.modules[module])
    except AttributeError:
        return None
    return (module, qualname) if found is value else None


def lookup(root: object, path: str) -> object:
    """The attribute at dotted ``path`` under ``root`` (``Cls.method``)."""
    for part in path.split("."):
        root = getattr(root, part)
    return root


@dataclass(eq=False)
class _Definition:
    obj: object
    name: str
    source: str
    needs: list[_Definition] = field(default_factory=list)  # must be defined before it
    aliases: dict[str, str] = field(default_factory=dict)


class CapturedCode:
    """Recovered definitions, the imports and constants they need, and where each object went."""

    def __init__(self, user_ns: dict[str, Any], history: Sequence[str]) -> None:
        self.user_ns = user_ns
        self.history = history
        self.definitions: dict[int, _Definition] = {}
        # captured object -> (object, dotted path in the module, its top-level definition)
        self.paths: dict[int, tuple[object, str, _Definition]] = {}
        self.bindings: dict[str, object] = {}  # module-level name -> what it must mean
        self.imports: dict[str, str] = {}  # name -> module
        self.from_imports: dict[str, tuple[str, str]] = {}  # name -> (module, qualname)
        self.constants: dict[str, str] = {}
        self.flags = 0

    def _bind(self, name: str, value: object, user: str) -> None:
        bound = self.bindings.setdefault(name, value)
        if bound is not value and not (is_literal(value) and bound == value):
            raise CaptureError(
                f"{name!r}, used by {user}, means different objects in different parts of the "
                "captured code: rename one of them"
            )

    def _fresh(self, base: str, ns: dict[str, Any]) -> str:
        number = 1
        while True:
            name = f"{base}_{number}"
            if name not in self.bindings and name not in ns and not hasattr(builtins, name):
                return name
            number += 1

    def add(self, obj: object) -> tuple[_Definition, str]:
        """Capture ``obj`` (and what its source needs); return its definition and path."""
        if id(obj) in self.paths:
            return self.paths[id(obj)][2], self.paths[id(obj)][1]
        top, rest = self._top(obj)
        definition = self._define(top)
        path = f"{definition.name}.{rest}" if rest else definition.name
        self.paths[id(obj)] = (obj, path, definition)
        return definition, path

    def _namespace(self, obj: object) -> dict[str, Any]:
        """Where ``obj``'s global names resolve: its own globals, as when it runs."""
        if isinstance(obj, type):
            for method in own_methods(obj):
                return method.__globals__
            module = sys.modules.get(obj.__module__)
            return vars(module) if module is not None else self.user_ns
        func = function_of(obj)
        return func.__globals__ if func is not None else self.user_ns

    def _top(self, obj: object) -> tuple[object, str]:
        """The top-level definition holding ``obj`` and the path from it (``Cls.method``)."""
        qualname = getattr(obj, "__qualname__", None)
        if not isinstance(qualname, str):
            raise refuse(obj, "it has no qualified name")
        if "<locals>" in qualname:
            raise refuse(obj, "it is defined inside a function", "define it at the top of a cell")
        head, _, rest = qualname.partition(".")
        if not rest or qualname == "<lambda>":
            return obj, ""
        top = self._namespace(obj).get(head)
        try:
            found = lookup(top, rest) if top is not None else None
        except AttributeError:
            found = None
        if found is not obj and getattr(found, "__func__", None) is not obj:
            raise refuse(obj, f"{head!r} was redefined since", "re-run the cells that build it")
        return top, rest

    def _define(self, top: object) -> _Definition:
        if id(top) in self.definitions:
            return self.definitions[id(top)]
        ns = self._namespace(top)
        if isinstance(top, type):
            source, name = class_source(top, self.history), top.__name__
        elif getattr(top, "__name__", None) == "<lambda>":
            args, body = lambda_source(top)  # type: ignore[arg-type]
            names = [k for k, v in ns.items() if v is top and k.isidentifier() and k[0] != "_"]
            name = names[0] if names else "_lambda"
            source = f"def {name}({args}):\n    return {body}\n"
        else:
            source = function_source(top, self.history)
            name = function_of(top).__name__  # type: ignore[union-attr]
        current = ns.get(name) is top and self.bindings.get(name, top) is top
        emitted = name if current else self._fresh(name, ns)
        definition = _Definition(top, emitted, _rename(source, name, emitted))
        self.definitions[id(top)] = definition
        self._bind(emitted, top, label(top))
        self.flags |= future_flags(top)
        eager, lazy = _global_names(source)
        for ref in sorted(eager | lazy):
            needed = self._resolve(ref, ns, top)
            if needed is not None and ref in eager:
                definition.needs.append(needed)
        return definition

    def _resolve(self, name: str, ns: dict[str, Any], user: object) -> _Definition | None:
        """Make ``name`` mean in the module what it means in the notebook, or refuse."""
        if (name.startswith("__") and name.endswith("__")) or name not in ns:
            return None  # a builtin, or never defined (as in the notebook)
        value = ns[name]
        who = label(user)
        if isinstance(value, types.ModuleType):
            if is_notebook_module(value.__name__):
                raise CaptureError(
                    f"cannot capture module {name!r}, used by {who}: it has no file; "
                    "define what it provides in a cell or a module"
                )
            self._bind(name, value, who)
            self.imports[name] = value.__name__
            return None
        if is_notebook_object(value):
            definition, path = self.add(value)
            if path != name:
                self._bind(name, value, who)
                definition.aliases[name] = path
            return definition
        ref = _importable(value)
        if ref is not None:
            self._bind(name, value, who)
            self.from_imports[name] = ref
            return None
        text = _literal_text(value)
        if text is not None:
            self._bind(name, value, who)
            self.constants[name] = text
            return None
        raise CaptureError(
            f"cannot capture {name!r} (a {type(value).__name__}), used by {who}: only modules, "
            "classes, functions and literal constants are captured; build it inside the "
            "function or make it an attribute of the model"
        )

    def render(self) -> str:
        """The module text: header, imports, constants, then definitions in a working order."""
        if not self.definitions:
            return ""
        annotations = self.flags & CO_FUTURE_ANNOTATIONS
        future = ["from __future__ import annotations"] if annotations else []
        imports = sorted(
            f"import {module}" if name == module else f"import {module} as {name}"
            for name, module in self.imports.items()
        )
        grouped: dict[str, list[str]] = {}
        assignments = []
        for name, (module, qualname) in self.from_imports.items():
            head, _, rest = qualname.partition(".")
            if rest:  # a nested attribute: import its owner under a private name
                owner = self._fresh(f"_{head}", {})
                self.bindings[owner] = None
                grouped.setdefault(module, []).append(f"{head} as {owner}")
                assignments.append(f"{name} = {owner}.{rest}")
            else:
                grouped.setdefault(module, []).append(head if head == name else f"{head} as {name}")
        imports += [f"from {m} import {', '.join(sorted(n))}" for m, n in sorted(grouped.items())]
        constants = assignments + [f"{k} = {v}" for k, v in sorted(self.constants.items())]
        blocks = ["\n".join(block) for block in (future, imports, constants) if block]
        definitions = []
        for definition in self._ordered():
            text = definition.source.rstrip()
            for name, path in definition.aliases.items():
                text += f"\n\n{name} = {path}"
            definitions.append(text)
        top = "".join(f"\n{block}\n" for block in blocks)
        return f"{HEADER}{top}\n\n" + "\n\n\n".join(definitions) + "\n"

    def _ordered(self) -> list[_Definition]:
        done: set[int] = set()
        ordered: list[_Definition] = []

        def visit(definition: _Definition) -> None:
            if id(definition) in done:
                return
            done.add(id(definition))
            for needed in definition.needs:
                visit(needed)
            ordered.append(definition)

        for definition in self.definitions.values():
            visit(definition)
        return ordered


def _rename(source: str, old: str, new: str) -> str:
    if old == new:
        return source
    tree = ast.parse(source)
    lines = source.splitlines(keepends=True)
    index = tree.body[0].lineno - 1
    pattern = rf"^(\s*(?:async\s+)?(?:def|class)\s+){re.escape(old)}\b"
    lines[index], count = re.subn(pattern, rf"\g<1>{new}", lines[index], count=1)
    if not count:
        raise AssertionError(f"could not rename {old!r} in {lines[index]!r}")
    return "".join(lines)


def _default_ns(user_ns: dict[str, Any] | None) -> dict[str, Any]:
    if user_ns is not None:
        return user_ns
    main = sys.modules.get("__main__")
    return vars(main) if main is not None else {}


def _default_history(ns: dict[str, Any], history: Sequence[str] | None) -> Sequence[str]:
    if history is not None:
        return history
    cells = ns.get("In")  # IPython's list of executed cells (transformed to Python)
    return cells if isinstance(cells, list) else []


def assemble(
    objs: Iterable[object], user_ns: dict[str, Any] | None, history: Sequence[str] | None
) -> CapturedCode:
    """``objs`` and everything they use from the notebook, captured: ``render()`` gives the
    module text, ``paths`` where each object went (``package`` pickles against them)."""
    ns = _default_ns(user_ns)
    capture = CapturedCode(ns, _default_history(ns, history))
    for obj in objs:
        capture.add(obj)
    return capture


def recover_source(
    objs: Iterable[object],
    user_ns: dict[str, Any] | None = None,
    history: Sequence[str] | None = None,
) -> str:
    """One module's text defining ``objs`` and everything they use from the notebook.

    Sources come from ``inspect.getsource`` (IPython keeps cells in ``linecache``), else from a
    cell of ``history`` (default: ``In`` in ``user_ns``) that compiles to the same code. Names
    the code reads become imports, literal constants or further captured definitions; anything
    else raises ``CaptureError`` naming it. Names resolve in each object's own globals
    (``user_ns``, default ``__main__``'s, when it carries none). Empty when ``objs`` is.
    """
    return assemble(objs, user_ns, history).render()
