"""Recovering the source text of a notebook object from the notebook's history.

IPython keeps every cell in ``linecache`` (so ``inspect.getsource`` usually works); the cell
history is the fallback. A source is accepted only when it compiles to the very code the object
runs, so what is captured is what ran.
"""

from __future__ import annotations

import ast
import dis
import inspect
import linecache
import textwrap
import types
from collections.abc import Sequence
from typing import Any

from .find import CaptureError

# ``from __future__ import annotations`` (the one future import that still changes code) marks
# the code objects it compiles with this flag; compiling their source needs it too
CO_FUTURE_ANNOTATIONS = 0x1000000


# -- recovering the source ----------------------------------------------------------------------


def label(obj: object) -> str:
    """How an error names a notebook object: its qualified name and where it was defined."""
    name = getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None) or repr(obj)
    return f"{name!r} (defined in {getattr(obj, '__module__', None)})"


def refuse(obj: object, why: str, fix: str = "define it in a cell or a module") -> CaptureError:
    """The error for an object whose source cannot be recovered: what failed and what to do."""
    return CaptureError(f"cannot recover the source of {label(obj)}: {why}; {fix}")


def _generated(code: types.CodeType) -> bool:
    """Code a library made with ``exec`` (a dataclass ``__init__``...), not the user."""
    name = code.co_filename
    return name.startswith("<") and not name.startswith("<ipython-input-")


def own_methods(cls: type) -> list[types.FunctionType]:
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


def function_of(obj: object) -> types.FunctionType | None:
    """The plain function under ``obj``'s decorators, or None when there is none."""
    try:
        func = inspect.unwrap(obj)  # type: ignore[arg-type]
    except ValueError:
        return None
    return func if isinstance(func, types.FunctionType) else None


def _target_codes(obj: object) -> list[types.CodeType]:
    if isinstance(obj, type):
        return [method.__code__ for method in own_methods(obj)]
    func = function_of(obj)
    return [func.__code__] if func is not None else []


def future_flags(obj: object) -> int:
    """The ``from __future__`` flag ``obj``'s code was compiled with (its source needs it too)."""
    codes = _target_codes(obj)
    return codes[0].co_flags & CO_FUTURE_ANNOTATIONS if codes else 0


def same_code(a: types.CodeType, b: types.CodeType) -> bool:
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
            if not same_code(x, y):
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
        codes = _compiled(source, future_flags(obj))
    except SyntaxError:
        return False
    return all(any(same_code(t, c) for c in codes) for t in _target_codes(obj))


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


def function_source(obj: object, history: Sequence[str]) -> str:
    """The ``def`` of a notebook function (``inspect``, else a cell of ``history``)."""
    func = function_of(obj)
    if func is None:
        raise refuse(obj, "it is not a Python function")
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
        raise refuse(obj, f"no cell defines it with this code (it was compiled from {where})")
    return source


def class_source(cls: type, history: Sequence[str]) -> str:
    """The ``class`` statement of a notebook class: its own file, the cell holding one of its
    methods, else a cell of ``history``."""
    try:
        source = textwrap.dedent(inspect.getsource(cls))
    except (OSError, TypeError):
        source = None  # a class defined in a cell: inspect looks for __main__.__file__
    found = source is not None and _definitions(source, cls.__name__, ast.ClassDef)
    if found and _matches(cls, source):
        return source
    for method in own_methods(cls):  # the cell that holds a method holds the class
        code = method.__code__
        text = "".join(linecache.getlines(code.co_filename))
        for node in _definitions(text, cls.__name__, ast.ClassDef):
            if node.lineno <= code.co_firstlineno <= (node.end_lineno or 0):
                source = _statement_source(text, node)
                if _matches(cls, source):
                    return source
    source = _from_history(cls, cls.__name__, ast.ClassDef, history)
    if source is None:
        raise refuse(cls, "no cell in this session defines it with this code")
    return source


def lambda_source(func: types.FunctionType) -> tuple[str, str]:
    """The lambda's arguments and expression, when its line holds exactly one lambda like it."""
    code = func.__code__
    text = "".join(linecache.getlines(code.co_filename))
    if not text:
        raise refuse(func, f"no source for {code.co_filename}", "define it with def in a cell")
    try:
        tree = ast.parse(text)
    except SyntaxError as exc:
        raise refuse(func, f"its cell does not parse ({exc.msg})", "define it with def") from exc
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Lambda) and node.lineno == code.co_firstlineno:
            segment = ast.get_source_segment(text, node) or ""
            try:
                candidates = _compiled(f"({segment})", future_flags(func), "eval")
            except SyntaxError:
                continue
            if any(same_code(code, c) for c in candidates):
                found.add((ast.unparse(node.args), ast.unparse(node.body)))
    where = f"line {code.co_firstlineno} of {code.co_filename}"
    if not found:
        raise refuse(func, f"no lambda on {where} compiles to it", "define it with def")
    if len(found) > 1:
        raise refuse(func, f"several lambdas on {where} look alike", "define it with def")
    return found.pop()
