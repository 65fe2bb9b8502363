"""The diff of two runs' notebook snapshots, as nbdime computes it.

A run's snapshot is ``notebook/<stem>.ipynb`` among its artifacts (``tags.NOTEBOOK_FOLDER``),
read through ``run_artifacts`` so that each read stays inside that run's own artifact root. A
snapshot comes from a shared store: it is untrusted input, read up to ``MAX_NOTEBOOK_BYTES``,
parsed with nbformat, checked for the shape a diff needs and never executed. The answer is the
``{base, diff}`` nbdime's own web client renders.
"""

from __future__ import annotations

import json
from pathlib import PurePosixPath
from typing import Any

from ..config import Settings
from ..errors import MlopsError, NotFoundError
from . import run_artifacts, tags

MAX_NOTEBOOK_BYTES = 10 * 1024 * 1024  # per snapshot: a diff answer holds two of them


class NotebookUnreadable(MlopsError):
    """A snapshot that is not a notebook nbdime can compare (not JSON, not nbformat 4, ...)."""


def snapshot_path(client: Any, settings: Settings, run_id: str) -> str:
    """The artifact path of run ``run_id``'s notebook snapshot: the ``.ipynb`` under
    ``notebook/`` named like the run's recorded notebook, else the first by name; a
    ``NotFoundError`` when the run has none."""
    try:
        listed = run_artifacts.list_dir(client, settings, run_id, tags.NOTEBOOK_FOLDER)
    except NotFoundError:
        listed = {"artifacts": []}
    found = sorted(
        e["path"] for e in listed["artifacts"] if not e["is_dir"] and e["name"].endswith(".ipynb")
    )
    if not found:
        where = f"{tags.NOTEBOOK_FOLDER}/*.ipynb"
        raise NotFoundError(f"run {run_id} has no notebook snapshot ({where})")
    recorded = client.get_run(run_id).data.tags.get(tags.NOTEBOOK_PATH) or ""
    stem = PurePosixPath(recorded.replace("\\", "/")).stem
    return next((p for p in found if PurePosixPath(p).stem == stem), found[0])


def read_snapshot(client: Any, settings: Settings, run_id: str) -> dict[str, Any]:
    """Run ``run_id``'s notebook snapshot as an nbformat 4 notebook (a plain dict), or one
    ``NotebookUnreadable`` line saying why it cannot be compared."""
    import nbformat

    path = snapshot_path(client, settings, run_id)
    try:
        found = run_artifacts.read_file(client, settings, run_id, path, limit=MAX_NOTEBOOK_BYTES)
    except run_artifacts.ArtifactTooLarge:
        mb = MAX_NOTEBOOK_BYTES // (1024 * 1024)
        raise NotebookUnreadable(
            f"run {run_id}'s notebook {path!r} is over {mb} MB; it is not compared"
        ) from None
    where = f"run {run_id}'s notebook {path!r}"
    try:
        text = found.content.decode("utf-8")
        notebook = nbformat.reads(text, as_version=4)
    except UnicodeDecodeError:
        raise NotebookUnreadable(f"{where} is not UTF-8 text") from None
    except RecursionError:
        raise NotebookUnreadable(f"{where} is nested too deeply") from None
    except Exception as exc:  # nbformat's NotJSONError, a version it does not know, ...
        raise NotebookUnreadable(f"{where} is not a notebook ({type(exc).__name__})") from None
    return _checked(json.loads(json.dumps(notebook)), where)


def _checked(notebook: Any, where: str) -> dict[str, Any]:
    """``notebook`` when it has the shape nbdime walks (a list of cells, each with a type and
    text source); else ``NotebookUnreadable``."""
    if not isinstance(notebook, dict) or not isinstance(notebook.get("cells"), list):
        raise NotebookUnreadable(f"{where} has no list of cells")
    if not isinstance(notebook.get("metadata", {}), dict):
        raise NotebookUnreadable(f"{where} has metadata that is not an object")
    for i, cell in enumerate(notebook["cells"]):
        source = cell.get("source") if isinstance(cell, dict) else None
        ok_source = isinstance(source, str) or (
            isinstance(source, list) and all(isinstance(s, str) for s in source)
        )
        if not ok_source or not isinstance(cell.get("cell_type"), str):
            raise NotebookUnreadable(f"{where}: cell {i} has no type or text source")
        if not isinstance(cell.get("outputs", []), list):
            raise NotebookUnreadable(f"{where}: cell {i} has outputs that are not a list")
    return notebook


def notebook_diff(client: Any, settings: Settings, base_id: str, remote_id: str) -> dict[str, Any]:
    """``{base, diff}``: run ``base_id``'s snapshot and nbdime's diff from it to run
    ``remote_id``'s, the shape nbdime's web client renders. Why a record's notebook is shown
    as a diff: what changed between two runs is often a cell, not a parameter."""
    from nbdime import diff_notebooks

    base = read_snapshot(client, settings, base_id)
    remote = read_snapshot(client, settings, remote_id)
    try:
        diff = diff_notebooks(base, remote)
    except RecursionError:
        raise NotebookUnreadable("the notebooks are nested too deeply to compare") from None
    except Exception as exc:  # a shape nbdime does not expect, within what _checked lets in
        raise NotebookUnreadable(
            f"the notebooks of runs {base_id} and {remote_id} cannot be compared "
            f"({type(exc).__name__})"
        ) from None
    return {"base_run_id": base_id, "remote_run_id": remote_id, "base": base, "diff": diff}
