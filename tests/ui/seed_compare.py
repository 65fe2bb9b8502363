"""Seed what the Compare view needs through the public Python API, as a user would.

A parent run ``sweep`` with four child runs (the points of a grid over ``lr`` and ``depth``,
each logging ``auc`` and the same ``seed``), and two runs tracked from a notebook whose
snapshot differs between them (one code cell changed, one markdown cell added): Jupyter names
the kernel's notebook in ``JPY_SESSION_NAME``, and the run logs its copy when it ends.
Prints one JSON line of facts.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import nbformat

import jupyter_mlops as mlops

EXPERIMENT = "ui-compare"
GRID = [("0.01", "2", 0.71), ("0.1", "2", 0.83), ("0.01", "8", 0.78), ("0.3", "8", 0.91)]
OLD_CELL = "lr = 0.1\nmodel = fit(lr)"
NEW_CELL = "lr = 0.3\nmodel = fit(lr)"
ADDED_MARKDOWN = "The higher rate converges faster."
# an output a hostile notebook could hold: it must render sanitized, its script never run
HOSTILE_HTML = (
    '<b class="mlops-kept">kept</b><img src="data:," onerror="document.title=\'RAN\'">'
    "<script>document.title='RAN'</script>"
)


def write_notebook(path: Path, code: str, extra_markdown: str | None) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# Train"), nbformat.v4.new_code_cell(code)]
    if extra_markdown:
        nb.cells.append(nbformat.v4.new_markdown_cell(extra_markdown))
        html = {"text/html": HOSTILE_HTML, "text/plain": "<html>"}
        nb.cells[1].outputs = [nbformat.v4.new_output("display_data", data=html)]
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{i}"
    path.write_text(nbformat.writes(nb), encoding="utf-8")


def main() -> dict:
    children = []
    with mlops.track(experiment=EXPERIMENT, run_name="sweep", autolog=False) as parent:
        for lr, depth, auc in GRID:
            with mlops.track(run_name=f"lr={lr} depth={depth}", autolog=False) as child:
                mlops.log(lr=lr, depth=depth, seed="7", auc=auc)
            children.append(child.run_id)
    notebook = Path("train.ipynb").resolve()
    os.environ["JPY_SESSION_NAME"] = str(notebook)
    snapshots = []
    for name, code, extra in (("before", OLD_CELL, None), ("after", NEW_CELL, ADDED_MARKDOWN)):
        write_notebook(notebook, code, extra)
        with mlops.track(experiment=EXPERIMENT, run_name=f"notebook {name}", autolog=False) as run:
            mlops.log(auc=0.8)
        snapshots.append(run.run_id)
    del os.environ["JPY_SESSION_NAME"]
    return {
        "compare_experiment": EXPERIMENT,
        "sweep_parent": parent.run_id,
        "sweep_children": children,
        "snapshot_runs": snapshots,
    }


if __name__ == "__main__":
    print(json.dumps(main()))
