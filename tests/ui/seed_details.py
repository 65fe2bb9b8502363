"""Seed a run for the run details view through the public Python API, as a user would.

Run as a script (``python seed_details.py BEACON_PORT``) in the project, after
``seed_project.py``: one run in the same experiment with a metric history and a metric logged
once, a real EDA report of scikit-learn's iris data, a notebook snapshot (a real nbformat
notebook with a markdown cell, a code cell and its output) under ``notebook/``, a CSV, and a
HOSTILE HTML artifact whose script would change the page and whose image would call the
test's beacon server. Prints one JSON line of facts.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import jupyter_mlops as mlops

EXPERIMENT = "ui-panel"  # seed_project's experiment: the runs table shows this run beside its
RUN_NAME = "details"
LOSSES = [1.6, 0.9, 0.55, 0.4, 0.31, 0.26]
HOSTILE_TITLE = "PWNED by the artifact"
HOSTILE = """<!doctype html>
<html><head><title>hostile</title></head>
<body>
<h1 id="headline">Hostile report</h1>
<p id="state">untouched</p>
<script>
  document.getElementById('state').textContent = 'SCRIPTED';
  try { parent.document.title = '{title}'; } catch (e) {}
  try { top.document.title = '{title}'; } catch (e) {}
  document.title = '{title}';
  alert('hostile');
</script>
<img src="http://127.0.0.1:{port}/beacon" alt="beacon">
<iframe src="http://127.0.0.1:{port}/framed"></iframe>
</body></html>
"""


def notebook(beacon_port: int) -> str:
    """A small executed notebook, written by nbformat; its markdown and an HTML output hold
    images on the beacon server (shown read-only, they must fetch nothing)."""
    import nbformat
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

    nb = new_notebook(
        cells=[
            new_markdown_cell(
                "# Churn model\nTrained on **iris** as a stand-in.\n\n"
                f"![pixel](http://127.0.0.1:{beacon_port}/notebook-markdown)"
            ),
            new_code_cell(
                "print('accuracy', 0.93)",
                execution_count=1,
                outputs=[
                    new_output("stream", name="stdout", text="accuracy 0.93\n"),
                    new_output(
                        "display_data",
                        data={
                            "text/html": f'<b>html output</b><img src="http://127.0.0.1:'
                            f'{beacon_port}/notebook-output"><script>document.title="x"</script>',
                            "text/plain": "html output",
                        },
                    ),
                ],
            ),
        ]
    )
    return nbformat.writes(nb)


def main(beacon_port: int) -> dict:
    import mlflow
    from sklearn.datasets import load_iris

    frame = load_iris(as_frame=True).frame
    with (
        tempfile.TemporaryDirectory() as tmp,
        mlops.track(experiment=EXPERIMENT, run_name=RUN_NAME, autolog=False) as run,
    ):
        mlops.log(accuracy=0.93)  # logged once: a number
        for step, loss in enumerate(LOSSES):
            mlops.log(loss=loss, step=step)
        mlops.eda(frame, target="target", name="iris")
        files = Path(tmp)
        (files / "train.ipynb").write_text(notebook(beacon_port))
        mlflow.log_artifact(str(files / "train.ipynb"), "notebook")
        frame.head(20).to_csv(files / "sample.csv", index=False)
        mlflow.log_artifact(str(files / "sample.csv"), "data")
        hostile = HOSTILE.replace("{port}", str(beacon_port)).replace("{title}", HOSTILE_TITLE)
        (files / "hostile.html").write_text(hostile)
        mlflow.log_artifact(str(files / "hostile.html"))
    return {
        "details": run.run_id,
        "details_name": RUN_NAME,
        "hostile_title": HOSTILE_TITLE,
        "eda": "eda/iris.html",
        "notebook": "notebook/train.ipynb",
        "csv": "data/sample.csv",
        "hostile": "hostile.html",
    }


if __name__ == "__main__":
    print(json.dumps(main(int(sys.argv[1]))))
