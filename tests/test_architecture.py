"""The package's shape, held: sizes, import direction, one vocabulary (ARCHITECTURE.md says why).

These read the source with ``ast``; each failure names the modules that break the rule.
"""

from __future__ import annotations

import ast
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
PACKAGE = ROOT / "jupyter_mlops"
MAX_LINES = 500
TAG_MODULES = 3  # tags.py and at most two readers that build names from parts
RETRY_SITES = 5
RUNTIME_MAY_IMPORT = {"numpy", "pandas", "sklearn", "mlflow", "pyarrow"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}
TREES = {name: ast.parse(path.read_text(encoding="utf-8")) for name, path in MODULES.items()}


def is_package(name: str) -> bool:
    return MODULES[name].name == "__init__.py"


def type_checking_only(tree: ast.AST) -> set[int]:
    """Ids of import nodes under ``if TYPE_CHECKING:`` (never executed)."""
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            ids |= {id(n) for stmt in node.body for n in ast.walk(stmt)}
    return ids


def imports(name: str) -> list[tuple[ast.AST, str]]:
    """(node, absolute module) for every import anywhere in module ``name``, functions too."""
    tree = TREES[name]
    skip = type_checking_only(tree)
    found = []
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            found += [(node, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".") if is_package(name) else name.split(".")[:-1]
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.append((node, target))
            found += [(node, f"{target}.{alias.name}") for alias in node.names]
    return found


def edges() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {name: set() for name in MODULES}
    for name in MODULES:
        for _, target in imports(name):
            if target in MODULES and target != name:
                graph[name].add(target)
    return graph


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 10_000))
    try:  # restored: a worker's later tests (deeply nested JSON, say) keep the default limit
        for v in sorted(graph):
            if v not in index:
                visit(v)
    finally:
        sys.setrecursionlimit(limit)
    return found


def test_no_module_is_over_500_lines():
    sizes = {n: len(p.read_text(encoding="utf-8").splitlines()) for n, p in MODULES.items()}
    over = {n: lines for n, lines in sizes.items() if lines > MAX_LINES}
    assert not over, f"modules over {MAX_LINES} lines: {over}"


def test_no_import_circles_counting_imports_inside_functions():
    found = circles(edges())
    assert not found, "import circles: " + "; ".join(" <-> ".join(c) for c in found)


def test_no_module_reaches_into_another_modules_private_names():
    reached = []
    for name in MODULES:
        modules_here = set()  # names bound to one of our modules in this file
        for node, target in imports(name):
            if not target.startswith("jupyter_mlops") or not isinstance(node, ast.ImportFrom):
                if isinstance(node, ast.Import) and target.startswith("jupyter_mlops"):
                    modules_here |= {a.asname or a.name.split(".")[0] for a in node.names}
                continue
            for alias in node.names:
                if f"{target}.{alias.name}" in MODULES:  # a module, not a name in one
                    modules_here.add(alias.asname or alias.name)
                elif target in MODULES and alias.name.startswith("_") and alias.name[1] != "_":
                    reached.append(f"{name}: from {target} import {alias.name}")
        for node in ast.walk(TREES[name]):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in modules_here
                and node.attr.startswith("_")
                and not node.attr.startswith("__")
            ):
                reached.append(f"{name}: {node.value.id}.{node.attr}")
    assert not reached, "private names used across modules: " + ", ".join(sorted(set(reached)))


def string_constants(tree: ast.AST) -> list[str]:
    """String literals and the leading literal part of f-strings, docstrings left out."""
    docstrings = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                docstrings.add(id(body[0].value))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            first = node.values[0] if node.values else None
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                docstrings.add(id(first))
                found.append(first.value)
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in docstrings
        ):
            found.append(node.value)
    return found


def is_tag_name(text: str) -> bool:
    """``mlops.x``/``mlflow.x`` and not a file (``mlflow.db``) or a logger (``mlflow.store.x``)."""
    return (
        text.startswith(("mlops.", "mlflow."))
        and not text.startswith("mlflow.store.")
        and text != "mlflow.db"
        and " " not in text
        and "(" not in text
    )


def test_tag_names_are_spelled_in_at_most_three_modules():
    spelling = sorted(
        name
        for name, tree in TREES.items()
        if any(is_tag_name(s) for s in string_constants(tree))
        and not name.endswith(".runtime")
        and ".runtime." not in name
    )
    assert "jupyter_mlops.core.tags" in spelling
    assert len(spelling) <= TAG_MODULES, f"tag names spelled in {len(spelling)}: {spelling}"


def test_mlflow_tag_names_are_mlflows_own():
    from mlflow.utils import mlflow_tags

    from jupyter_mlops.core import tags

    assert tags.MLFLOW_USER == mlflow_tags.MLFLOW_USER
    assert tags.MLFLOW_PARENT_RUN_ID == mlflow_tags.MLFLOW_PARENT_RUN_ID
    assert tags.MLFLOW_RUN_NOTE == mlflow_tags.MLFLOW_RUN_NOTE
    assert tags.MLFLOW_SOURCE_NAME == mlflow_tags.MLFLOW_SOURCE_NAME
    assert tags.MLFLOW_SOURCE_TYPE == mlflow_tags.MLFLOW_SOURCE_TYPE
    assert tags.MLFLOW_GIT_COMMIT == mlflow_tags.MLFLOW_GIT_COMMIT
    assert tags.MLFLOW_GIT_BRANCH == mlflow_tags.MLFLOW_GIT_BRANCH
    assert tags.MLFLOW_GIT_REPO_URL == mlflow_tags.MLFLOW_GIT_REPO_URL
    assert tags.MLFLOW_DATASET_CONTEXT == mlflow_tags.MLFLOW_DATASET_CONTEXT


def test_retries_live_in_a_handful_of_places():
    sites = {
        name: path.read_text(encoding="utf-8").count("with_retry(")
        for name, path in MODULES.items()
    }
    sites = {n: c for n, c in sites.items() if c}
    assert sum(sites.values()) <= RETRY_SITES, f"with_retry( written at: {sites}"


def test_the_runtime_imports_nothing_of_the_package():
    stdlib = set(sys.stdlib_module_names) | {"__future__"}
    strays = []
    for name in MODULES:
        if not name.startswith("jupyter_mlops.runtime"):
            continue
        for node, target in imports(name):
            if isinstance(node, ast.ImportFrom) and node.level:
                if not target.startswith("jupyter_mlops.runtime"):
                    strays.append(f"{name}: {target}")
                continue
            top = target.split(".")[0]
            if top not in stdlib and top not in RUNTIME_MAY_IMPORT:
                strays.append(f"{name}: {target}")
    assert not strays, f"the runtime imports beyond its few dependencies: {sorted(set(strays))}"


def test_the_server_reads_through_core_not_mlflow():
    strays = [
        f"{name}: {target}"
        for name in MODULES
        if name.startswith("jupyter_mlops.server")
        for _, target in imports(name)
        if target.split(".")[0] == "mlflow"
    ]
    assert not strays, f"the server imports MLflow itself: {sorted(set(strays))}"


def test_the_version_is_written_in_one_place():
    import jupyter_mlops

    version = json.loads((ROOT / "labextension" / "package.json").read_text())["version"]
    assert jupyter_mlops.__version__ == version
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert 'dynamic = ["version"]' in pyproject or 'dynamic = ["version"' in pyproject
    written = [
        str(p.relative_to(ROOT))
        for p in [*MODULES.values(), ROOT / "pyproject.toml"]
        if f'"{version}"' in p.read_text(encoding="utf-8")
    ]
    assert not written, f"the version is also written in {written}"


@pytest.mark.parametrize("line", ["import jupyter_mlops", "import jupyter_mlops.magics"])
def test_loading_the_extension_imports_no_heavy_library(line):
    import subprocess

    code = (
        f"{line}\nimport sys\n"
        "print(sorted(m for m in ('mlflow', 'pandas', 'sklearn', 'dvc', 'scipy', 'statsmodels')"
        " if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"
