"""Capture the notebook-defined code a model needs, so the model loads outside the notebook.

A model pickled in a notebook refers to its custom classes and functions as ``__main__.Name``,
which no other process has. Here we find those objects with pickle's own traversal, recover their
source (IPython keeps every cell in ``linecache``; the cell history is the fallback), write it as
a plain module with the imports and constants it uses, and re-pickle the model against that
module. The source travels with the artifact, and a reviewer can read it.
"""

from __future__ import annotations

import ast
import builtins
import dis
import importlib
import importlib.util
import inspect
import io
import linecache
import math
import pickle
import re
import symtable
import sys
import tempfile
import textwrap
import types
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from operator import attrgetter
from pathlib import Path
from typing import Any

from ...errors import MlopsError

PROTOCOL = 5
HEADER = '"""Code from the notebook that the model needs, captured by jupyter-mlops."""\n'
# ``from __future__ import annotations`` (the one future import that still changes code) marks
# the code objects it compiles with this flag; compiling their source needs it too
CO_FUTURE_ANNOTATIONS = 0x1000000
EAGER_SCOPES = {"listcomp", "setcomp", "dictcomp", "genexpr"}  # run where they are written
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
        return _spec(name) is None
    if getattr(module, "__file__", None) or hasattr(module, "__path__"):
        return False
    spec = getattr(module, "__spec__", None)
    if spec is not None and spec.origin in ("built-in", "frozen"):
        return False
    return name not in sys.builtin_module_names


def _spec(name: str) -> Any:
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


# -- recovering the source ----------------------------------------------------------------------


def _label(obj: object) -> str:
    name = getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None) or repr(obj)
    return f"{name!r} (defined in {getattr(obj, '__module__', None)})"


def _refuse(obj: object, why: str, fix: str = "define it in a cell or a module") -> CaptureError:
    return CaptureError(f"cannot recover the source of {_label(obj)}: {why}; {fix}")


def _generated(code: types.CodeType) -> bool:
    """Code a library made with ``exec`` (a dataclass ``__init__``...), not the user."""
    name = code.co_filename
    return name.startswith("<") and not name.startswith("<ipython-input-")


def _own_methods(cls: type) -> list[types.FunctionType]:
    """The functions written in ``cls``'s body (unwrapped; generated ones left out)."""
    methods = []
    for value in vars(cls).values():
        if isinstance(value, (staticmethod, classmethod)):
            value = value.__func__
        members = [value.fget, value.fset, value.fdel] if isinstance(value, property) else [value]
        for member in members:
            if member is None or not callable(member):
                continue
            try:
                func = inspect.unwrap(member)
            except ValueError:
                continue
            if (
                isinstance(func, types.FunctionType)
                and func.__qualname__.startswith(cls.__qualname__ + ".")
                and not _generated(func.__code__)
            ):
                methods.append(func)
    return methods


def _function_of(obj: object) -> types.FunctionType | None:
    try:
        func = inspect.unwrap(obj)  # type: ignore[arg-type]
    except ValueError:
        return None
    return func if isinstance(func, types.FunctionType) else None


def _target_codes(obj: object) -> list[types.CodeType]:
    if isinstance(obj, type):
        return [method.__code__ for method in _own_methods(obj)]
    func = _function_of(obj)
    return [func.__code__] if func is not None else []


def _flags(obj: object) -> int:
    codes = _target_codes(obj)
    return codes[0].co_flags & CO_FUTURE_ANNOTATIONS if codes else 0


def _same_code(a: types.CodeType, b: types.CodeType) -> bool:
    """Same bytecode, names and constants (line numbers aside): the source compiles to it."""
    if _instructions(a) != _instructions(b):
        return False
    for attr in (
        "co_name",
        "co_names",
        "co_varnames",
        "co_freevars",
        "co_cellvars",
        "co_argcount",
        "co_posonlyargcount",
        "co_kwonlyargcount",
    ):
        if getattr(a, attr) != getattr(b, attr):
            return False
    if len(a.co_consts) != len(b.co_consts):
        return False
    for x, y in zip(a.co_consts, b.co_consts, strict=True):
        if isinstance(x, types.CodeType) and isinstance(y, types.CodeType):
            if not _same_code(x, y):
                return False
        elif type(x) is not type(y) or (x != y and repr(x) != repr(y)):
            return False
    return True


def _instructions(code: types.CodeType) -> list[tuple[str, Any]]:
    """The bytecode with one compiler choice taken out.

    CPython compiles ``np.log(x)`` one way when ``np`` was imported in the same unit (the cell
    or file holding the ``def``) and another when it comes from elsewhere (a method load, or an
    attribute load after a NULL push), which also moves every jump. A captured module imports
    at its top, the notebook perhaps in another cell: both must count as the same code.
    Python 3.13 makes that choice as a method load or as an attribute load followed by
    ``PUSH_NULL``; that ``PUSH_NULL`` is taken out as well (a call needs one form or the other).
    """
    found = []
    for i in dis.get_instructions(code):
        if i.opname == "CACHE":
            continue
        if i.opname == "PUSH_NULL" and found and found[-1].opname == "LOAD_ATTR":
            continue
        found.append(i)
    index = {i.offset: n for n, i in enumerate(found)}
    out: list[tuple[str, Any]] = []
    for i in found:
        op = "LOAD_ATTR" if i.opname == "LOAD_METHOD" else i.opname
        if i.opcode in dis.hasjrel or i.opcode in dis.hasjabs:
            arg: Any = index.get(i.argval, i.argval)
        elif op in ("LOAD_GLOBAL", "LOAD_ATTR"):
            arg = i.argval  # the name; the NULL and method bits are that choice
        else:
            arg = i.arg
        out.append((op, arg))
    return out


def _compiled(source: str, flags: int, mode: str = "exec") -> list[types.CodeType]:
    stack = [compile(source, "<captured>", mode, flags=flags, dont_inherit=True)]
    codes = []
    while stack:
        code = stack.pop()
        codes.append(code)
        stack.extend(c for c in code.co_consts if isinstance(c, types.CodeType))
    return codes


def _matches(obj: object, source: str) -> bool:
    """Whether ``source`` compiles to the code ``obj`` runs (each method, for a class)."""
    try:
        codes = _compiled(source, _flags(obj))
    except SyntaxError:
        return False
    return all(any(_same_code(t, c) for c in codes) for t in _target_codes(obj))


def _statement_source(text: str, node: ast.stmt) -> str:
    lines = text.splitlines(keepends=True)
    decorators = getattr(node, "decorator_list", [])
    start = min([node.lineno] + [d.lineno for d in decorators])
    return textwrap.dedent("".join(lines[start - 1 : node.end_lineno]))


def _definitions(text: str, name: str, kind: type | tuple[type, ...]) -> list[ast.stmt]:
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return []
    return [n for n in tree.body if isinstance(n, kind) and n.name == name]  # type: ignore[attr-defined]


def _from_history(obj: object, name: str, kind: Any, history: Sequence[str]) -> str | None:
    """The latest cell defining ``name`` at top level whose code is ``obj``'s."""
    for cell in reversed(history):
        if not isinstance(cell, str) or name not in cell:
            continue
        for node in reversed(_definitions(cell, name, kind)):
            source = _statement_source(cell, node)
            if _matches(obj, source):
                return source
    return None


FUNCTION_DEFS = (ast.FunctionDef, ast.AsyncFunctionDef)


def _function_source(obj: object, history: Sequence[str]) -> str:
    func = _function_of(obj)
    if func is None:
        raise _refuse(obj, "it is not a Python function")
    try:
        source = textwrap.dedent(inspect.getsource(obj))  # type: ignore[arg-type]
    except (OSError, TypeError):
        source = None
    found = source is not None and _definitions(source, func.__name__, FUNCTION_DEFS)
    if found and _matches(obj, source):
        return source
    source = _from_history(obj, func.__name__, FUNCTION_DEFS, history)
    if source is None:
        where = func.__code__.co_filename
        raise _refuse(obj, f"no cell defines it with this code (it was compiled from {where})")
    return source


def _class_source(cls: type, history: Sequence[str]) -> str:
    try:
        source = textwrap.dedent(inspect.getsource(cls))
    except (OSError, TypeError):
        source = None  # a class defined in a cell: inspect looks for __main__.__file__
    found = source is not None and _definitions(source, cls.__name__, ast.ClassDef)
    if found and _matches(cls, source):
        return source
    for method in _own_methods(cls):  # the cell that holds a method holds the class
        code = method.__code__
        text = "".join(linecache.getlines(code.co_filename))
        for node in _definitions(text, cls.__name__, ast.ClassDef):
            if node.lineno <= code.co_firstlineno <= (node.end_lineno or 0):
                source = _statement_source(text, node)
                if _matches(cls, source):
                    return source
    source = _from_history(cls, cls.__name__, ast.ClassDef, history)
    if source is None:
        raise _refuse(cls, "no cell in this session defines it with this code")
    return source


def _lambda_source(func: types.FunctionType) -> tuple[str, str]:
    """The lambda's arguments and expression, when its line holds exactly one lambda like it."""
    code = func.__code__
    text = "".join(linecache.getlines(code.co_filename))
    if not text:
        raise _refuse(func, f"no source for {code.co_filename}", "define it with def in a cell")
    try:
        tree = ast.parse(text)
    except SyntaxError as exc:
        raise _refuse(func, f"its cell does not parse ({exc.msg})", "define it with def") from exc
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Lambda) and node.lineno == code.co_firstlineno:
            segment = ast.get_source_segment(text, node) or ""
            try:
                candidates = _compiled(f"({segment})", _flags(func), "eval")
            except SyntaxError:
                continue
            if any(_same_code(code, c) for c in candidates):
                found.add((ast.unparse(node.args), ast.unparse(node.body)))
    where = f"line {code.co_firstlineno} of {code.co_filename}"
    if not found:
        raise _refuse(func, f"no lambda on {where} compiles to it", "define it with def")
    if len(found) > 1:
        raise _refuse(func, f"several lambdas on {where} look alike", "define it with def")
    return found.pop()


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


def _literal(value: object, depth: int = 0) -> bool:
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
        return all(_literal(v, depth + 1) for v in value)  # type: ignore[attr-defined]
    if kind is dict:
        items = value.items()  # type: ignore[attr-defined]
        return all(_literal(k, depth + 1) and _literal(v, depth + 1) for k, v in items)
    return False


def _literal_text(value: object) -> str | None:
    if not _literal(value):
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


def _lookup(root: object, path: str) -> object:
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


class _Capture:
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
        if bound is not value and not (_literal(value) and bound == value):
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
            for method in _own_methods(obj):
                return method.__globals__
            module = sys.modules.get(obj.__module__)
            return vars(module) if module is not None else self.user_ns
        func = _function_of(obj)
        return func.__globals__ if func is not None else self.user_ns

    def _top(self, obj: object) -> tuple[object, str]:
        """The top-level definition holding ``obj`` and the path from it (``Cls.method``)."""
        qualname = getattr(obj, "__qualname__", None)
        if not isinstance(qualname, str):
            raise _refuse(obj, "it has no qualified name")
        if "<locals>" in qualname:
            raise _refuse(obj, "it is defined inside a function", "define it at the top of a cell")
        head, _, rest = qualname.partition(".")
        if not rest or qualname == "<lambda>":
            return obj, ""
        top = self._namespace(obj).get(head)
        try:
            found = _lookup(top, rest) if top is not None else None
        except AttributeError:
            found = None
        if found is not obj and getattr(found, "__func__", None) is not obj:
            raise _refuse(obj, f"{head!r} was redefined since", "re-run the cells that build it")
        return top, rest

    def _define(self, top: object) -> _Definition:
        if id(top) in self.definitions:
            return self.definitions[id(top)]
        ns = self._namespace(top)
        if isinstance(top, type):
            source, name = _class_source(top, self.history), top.__name__
        elif getattr(top, "__name__", None) == "<lambda>":
            args, body = _lambda_source(top)  # type: ignore[arg-type]
            names = [k for k, v in ns.items() if v is top and k.isidentifier() and k[0] != "_"]
            name = names[0] if names else "_lambda"
            source = f"def {name}({args}):\n    return {body}\n"
        else:
            source = _function_source(top, self.history)
            name = _function_of(top).__name__  # type: ignore[union-attr]
        current = ns.get(name) is top and self.bindings.get(name, top) is top
        emitted = name if current else self._fresh(name, ns)
        definition = _Definition(top, emitted, _rename(source, name, emitted))
        self.definitions[id(top)] = definition
        self._bind(emitted, top, _label(top))
        self.flags |= _flags(top)
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
        who = _label(user)
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


def _capture(
    objs: Iterable[object], user_ns: dict[str, Any] | None, history: Sequence[str] | None
) -> _Capture:
    ns = _default_ns(user_ns)
    capture = _Capture(ns, _default_history(ns, history))
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
    return _capture(objs, user_ns, history).render()


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
                f"{_label(obj)} is pickled by the name {name or obj!r} in the notebook and "
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
    spec = getattr(module, "__spec__", None) if module is not None else _spec(module_name)
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
    capture = _capture(objs, user_ns, history)
    source = capture.render()
    if not source:
        return "", _dumps(model, {})
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
            twins = {
                key: (obj, _twin(obj, module, path))
                for key, (obj, path, _) in capture.paths.items()
            }
            data = _dumps(model, twins)
        finally:
            sys.path.remove(folder)
            sys.modules.pop(module_name, None)
            if saved is not None:
                sys.modules[module_name] = saved
    return source, data


def _twin(obj: object, module: types.ModuleType, path: str) -> object:
    """``obj``'s counterpart in the imported module, checked to be built the same way."""
    new = _lookup(module, path)
    if isinstance(obj, types.FunctionType) and isinstance(new, types.MethodType):
        new = new.__func__
    if isinstance(obj, type) != isinstance(new, type) or not callable(new):
        raise AssertionError(f"{path} in the captured module is not what {_label(obj)} is")
    if isinstance(obj, type):
        _check_class(obj, new)  # type: ignore[arg-type]
    else:
        old_func, new_func = _function_of(obj), _function_of(new)
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
            raise CaptureError(f"{_label(old)} got {key!r} after its cell ran: {fix}")
        old_func, new_func = _function_of(value), _function_of(vars(new)[key])
        if old_func is not None and new_func is not None:
            if not _same_code(old_func.__code__, new_func.__code__):
                raise CaptureError(f"{_label(old)} had {key!r} replaced after its cell ran: {fix}")
            _check_defaults(old_func, old_func, new_func)


def _check_defaults(obj: object, old: types.FunctionType, new: types.FunctionType) -> None:
    """Defaults are evaluated once, when the ``def`` runs: a global changed since gives others."""
    for attr in ("__defaults__", "__kwdefaults__"):
        before, after = getattr(old, attr), getattr(new, attr)
        if _literal(before) and before != after:
            raise CaptureError(
                f"the default values of {_label(obj)} came from globals that have changed "
                f"since its cell ran ({before!r}, now {after!r}): re-run its cell"
            )


__all__: list[str] = [
    "CaptureError",
    "find_notebook_objects",
    "is_notebook_module",
    "is_notebook_object",
    "package",
    "recover_source",
]
