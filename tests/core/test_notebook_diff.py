"""The diff of two runs' notebook snapshots (``core.notebook_diff``): real runs in a real sqlite
store, real ``notebook/<stem>.ipynb`` artifacts written with nbformat, nbdime's real diff; a run
without a snapshot and hostile snapshots each give one clear line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import nbformat
import pytest

from jupyter_mlops.config import resolve_settings
from jupyter_mlops.core import notebook_diff, store, tags
from jupyter_mlops.errors import NotFoundError


def snapshot(cells: list[tuple[str, str]]) -> str:
    """A notebook of ``(type, source)`` cells as nbformat writes it."""
    nb = nbformat.v4.new_notebook()
    make = {"code": nbformat.v4.new_code_cell, "markdown": nbformat.v4.new_markdown_cell}
    nb.cells = [make[kind](source) for kind, source in cells]
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{i}"  # stable ids: the diff is about the sources
    return nbformat.writes(nb)


BASE = snapshot([("markdown", "# Train"), ("code", "lr = 0.1\nmodel.fit(X, y)")])
REMOTE = snapshot(
    [("markdown", "# Train"), ("code", "lr = 0.3\nmodel.fit(X, y)"), ("markdown", "Done.")]
)


def run_with(client: Any, experiment: str, files: dict[str, str | bytes]) -> str:
    run_id = client.create_run(experiment).info.run_id
    for path, content in files.items():
        if isinstance(content, bytes):
            folder = Path(client.get_run(run_id).info.artifact_uri.removeprefix("file://"))
            (folder / path).parent.mkdir(parents=True, exist_ok=True)
            (folder / path).write_bytes(content)
        else:
            client.log_text(run_id, content, path)
    client.set_terminated(run_id)
    return run_id


@pytest.fixture(scope="module")
def env(module_root: Path) -> dict[str, Any]:
    settings = resolve_settings(module_root, environ={})
    store.prepare(settings)
    client = store.client(settings)
    exp = store.experiment_id(settings, "notebook-diff")
    return {"settings": settings, "client": client, "exp": exp}


def diff_of(env: dict[str, Any], a: str, b: str) -> dict[str, Any]:
    return notebook_diff.notebook_diff(env["client"], env["settings"], a, b)


def test_a_changed_code_cell_and_an_added_markdown_cell(env: dict[str, Any]) -> None:
    a = run_with(env["client"], env["exp"], {"notebook/train.ipynb": BASE})
    b = run_with(env["client"], env["exp"], {"notebook/train.ipynb": REMOTE})
    answer = diff_of(env, a, b)
    assert answer["base"]["cells"][1]["source"] == "lr = 0.1\nmodel.fit(X, y)"
    (cells,) = [e for e in answer["diff"] if e["key"] == "cells"]
    ops = {(e["op"], e["key"]) for e in cells["diff"]}
    assert ("patch", 1) in ops  # the code cell changed
    (added,) = [e for e in cells["diff"] if e["op"] == "addrange"]
    assert added["key"] == 2 and added["valuelist"][0]["source"] == "Done."
    json.dumps(answer)  # the answer is plain JSON


def test_the_same_snapshot_has_an_empty_diff(env: dict[str, Any]) -> None:
    a = run_with(env["client"], env["exp"], {"notebook/train.ipynb": BASE})
    b = run_with(env["client"], env["exp"], {"notebook/train.ipynb": BASE})
    assert diff_of(env, a, b)["diff"] == []


def test_the_recorded_notebook_is_chosen_among_several(env: dict[str, Any]) -> None:
    client = env["client"]
    a = run_with(client, env["exp"], {"notebook/a.ipynb": REMOTE, "notebook/train.ipynb": BASE})
    client.set_tag(a, tags.NOTEBOOK_PATH, "/somewhere/train.ipynb")
    assert notebook_diff.snapshot_path(client, env["settings"], a) == "notebook/train.ipynb"


def test_a_run_without_a_snapshot_is_not_found(env: dict[str, Any]) -> None:
    a = run_with(env["client"], env["exp"], {"notebook/train.ipynb": BASE})
    bare = run_with(env["client"], env["exp"], {"notebook/train.html": "<p>x</p>"})
    with pytest.raises(NotFoundError, match=f"run {bare} has no notebook snapshot"):
        diff_of(env, a, bare)
    nothing = run_with(env["client"], env["exp"], {})
    with pytest.raises(NotFoundError, match="no notebook snapshot"):
        diff_of(env, nothing, a)


@pytest.mark.parametrize(
    ("content", "says"),
    [
        ("{not json", r"is not a notebook \(NotJSONError\)"),
        (b"\xff\xfe{}", "is not UTF-8 text"),
        ('["a list"]', "is not a notebook"),
        (
            '{"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": 3}',
            "is not a notebook|no list of cells",
        ),
        (
            '{"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [{"source": 1}]}',
            "is not a notebook|cell 0 has no type or text source",
        ),
        ("[" * 100_000 + "]" * 100_000, "not a notebook|nested too deeply"),
    ],
)
def test_a_hostile_snapshot_is_one_clear_line(env: dict[str, Any], content: Any, says: str) -> None:
    good = run_with(env["client"], env["exp"], {"notebook/train.ipynb": BASE})
    bad = run_with(env["client"], env["exp"], {"notebook/train.ipynb": content})
    with pytest.raises(notebook_diff.NotebookUnreadable, match=says) as caught:
        diff_of(env, good, bad)
    assert "\n" not in str(caught.value) and bad in str(caught.value)


def test_an_oversized_snapshot_is_not_read(
    env: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(notebook_diff, "MAX_NOTEBOOK_BYTES", 4096)
    big = snapshot([("code", "x = 1\n" * 2000)])
    good = run_with(env["client"], env["exp"], {"notebook/train.ipynb": BASE})
    bad = run_with(env["client"], env["exp"], {"notebook/train.ipynb": big})
    with pytest.raises(notebook_diff.NotebookUnreadable, match="is over 0 MB; it is not compared"):
        diff_of(env, bad, good)
