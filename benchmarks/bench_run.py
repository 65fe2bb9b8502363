"""Wall time of one unattended notebook run: ``jupyter mlops run`` against papermill and
``jupyter nbconvert --execute``.

Notebook: ten trivial code cells (a ``parameters`` cell, arithmetic, one ``print``), the
python3 kernel. Each tool runs it as a user would, as a whole command in a fresh process, with
the parameter ``alpha = 0.5`` where the tool takes parameters:

- ``jupyter mlops run nb.ipynb -p alpha 0.5 -o out.ipynb``: one tracked run in the embedded
  sqlite store (created by the first repeat), the executed notebook and its HTML logged as
  artifacts, the parameter logged;
- ``papermill nb.ipynb out.ipynb -p alpha 0.5``: executes and writes the output notebook;
- ``jupyter nbconvert --to notebook --execute nb.ipynb --output out``: executes and writes.

Every command runs in the same fresh ``git init`` folder; the first run of each tool is a
warm-up (page cache, the store's schema creation for ours) and is not counted. Medians over
``--repeats`` runs, interleaved so that machine noise lands on every tool alike.

Goal: ours no slower than papermill (ratio <= 1.0; exit code 1 otherwise), although it does
more: the run, its provenance tags and two artifacts are written to MLflow.

papermill is not a dependency of the project: ``pip install -e ".[bench]"`` brings it; when it
is missing the script says so and times the other two.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ENV_VARS = (
    "MLFLOW_TRACKING_URI",
    "MLFLOW_REGISTRY_URI",
    "MLFLOW_EXPERIMENT_NAME",
    "MLFLOW_RUN_ID",
    "JUPYTER_MLOPS_RUN_ID",
    "JPY_SESSION_NAME",
)
BIN = Path(sys.executable).parent


def write_notebook(path: Path) -> None:
    import nbformat

    nb = nbformat.v4.new_notebook()
    first = nbformat.v4.new_code_cell("alpha = 0.1")
    first.metadata["tags"] = ["parameters"]
    nb.cells = [first] + [nbformat.v4.new_code_cell(f"x{i} = alpha * {i}") for i in range(8)]
    nb.cells.append(nbformat.v4.new_code_cell("print(sum([x1, x2, x3]))"))
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, path)


def commands() -> dict[str, list[str]]:
    mlops = ["run", "nb.ipynb", "-p", "alpha", "0.5", "-o", "out_mlops.ipynb"]
    nbconvert = ["nbconvert", "--to", "notebook", "--execute", "nb.ipynb", "--output", "out_nbc"]
    tools = {
        "jupyter mlops run": [str(BIN / "jupyter-mlops"), *mlops],
        "papermill": [str(BIN / "papermill"), "nb.ipynb", "out_pm.ipynb", "-p", "alpha", "0.5"],
        "jupyter nbconvert --execute": [str(BIN / "jupyter"), *nbconvert],
    }
    if not (BIN / "papermill").exists():
        print('papermill is not installed (pip install -e ".[bench]"): timing the others only')
        del tools["papermill"]
    return tools


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if k not in ENV_VARS}
    env["PYTHONWARNINGS"] = "ignore"
    tools = commands()
    times: dict[str, list[float]] = {name: [] for name in tools}
    with tempfile.TemporaryDirectory(prefix="bench-run-") as tmp:
        folder = Path(tmp)
        subprocess.run(["git", "init", "-q"], cwd=folder, check=True)
        write_notebook(folder / "nb.ipynb")
        for repeat in range(args.repeats + 1):
            for name, command in tools.items():
                start = time.perf_counter()
                out = subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True)
                elapsed = time.perf_counter() - start
                if out.returncode != 0:
                    print(f"{name} failed:\n{out.stdout}\n{out.stderr}")
                    return 2
                if repeat:  # the first round is the warm-up
                    times[name].append(elapsed)
        runs = subprocess.run(
            [str(BIN / "python"), "-c", COUNT_RUNS, str(folder)],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        shutil.rmtree(folder / ".mlops", ignore_errors=True)
    print(f"10-cell notebook, median of {args.repeats} runs each (after one warm-up):")
    medians = {name: statistics.median(values) for name, values in times.items()}
    for name, value in medians.items():
        print(f"  {name:<30} {value:6.2f} s")
    print(f"  tracked runs in the store: {runs} (FINISHED, with param alpha=0.5 and 2 artifacts)")
    ours = medians["jupyter mlops run"]
    nbc = medians["jupyter nbconvert --execute"]
    print(f"  ours / nbconvert --execute: {ours / nbc:.2f}x")
    if "papermill" not in medians:
        return 0
    ratio = ours / medians["papermill"]
    verdict = "PASS" if ratio <= 1.0 else "MISS"
    print(f"  ours / papermill: {ratio:.2f}x (goal <= 1.0: {verdict})")
    return 0 if ratio <= 1.0 else 1


COUNT_RUNS = """
import sys
from mlflow import MlflowClient
root = sys.argv[1]
client = MlflowClient(f"sqlite:///{root}/.mlops/mlflow.db")
runs = client.search_runs([e.experiment_id for e in client.search_experiments()])
good = [r for r in runs if r.info.status == "FINISHED" and r.data.params.get("alpha") == "0.5"
        and {a.path for a in client.list_artifacts(r.info.run_id, "notebook")}
        >= {"notebook/nb.ipynb", "notebook/nb.html"}]
print(f"{len(good)} of {len(runs)}")
"""


if __name__ == "__main__":
    sys.exit(main())
