"""Wall time of one unattended notebook run: ``jupyter mlops run`` against papermill and
``jupyter nbconvert --execute``.

Two notebooks of ten small code cells each (a ``parameters`` cell, arithmetic, one ``print``),
the python3 kernel, each tool run as a user would: a whole command in a fresh process, with the
parameter ``alpha = 0.5`` where the tool takes parameters.

- **bare**: the cells only. Ours still records a tracked run (the parameter, provenance tags,
  the executed notebook and its HTML as artifacts in the embedded sqlite store); papermill and
  nbconvert write an output notebook and record nothing.
- **tracked**: the last cell also records the parameter and a metric. Ours:
  ``mlops.log(total=...)`` (the runner logs the parameter). Papermill and nbconvert run the
  same notebook with that cell written with MLflow's own API, as a user without jupyter-mlops
  would: ``mlflow.set_tracking_uri("sqlite:///...")``, ``mlflow.start_run()``,
  ``log_param``, ``log_metric`` (so their run holds no notebook artifacts: less than ours).

Commands (``nb`` is the scenario's notebook):

- ``jupyter mlops run nb.ipynb -p alpha 0.5 -o out.ipynb``
- ``papermill nb.ipynb out.ipynb -p alpha 0.5``
- ``jupyter nbconvert --to notebook --execute nb.ipynb --output out`` (no parameters: the
  notebook's default is used)

Every command runs in one fresh ``git init`` folder; the first round is a warm-up (page cache,
creating each sqlite store) and is not counted. Medians over ``--repeats`` rounds, the tools
interleaved so that machine noise lands on each alike. Every tracked run is read back at the
end.

A fourth row in the bare scenario, ``MLflow record, no notebook``, is a fresh interpreter that
writes with MLflow's API the record a bare run of ours writes (import MLflow, open the sqlite
store, create the run with its parameter, log the notebook and its HTML, end it), with no kernel
at all: the floor under any tool that records a run in MLflow before it returns.

Goals (issue 19): ours no slower than papermill in the bare scenario, although ours also writes
an MLflow run there (it gets there by writing the record in a process of its own that imports
MLflow while the kernel starts and runs, so the record costs little more than its floor), and no
slower than papermill with MLflow's own API in the tracked one. Exit code 1 when the tracked
goal is missed or a run is missing; the bare figure is printed with its floor (on a loaded
machine the floor alone can exceed papermill's whole run).

papermill is not a dependency of the project: ``pip install -e ".[bench]"`` brings it; when it
is missing the script says so and times the other two.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import clean_env

BIN = Path(sys.executable).parent


CELLS = ["alpha = 0.1"] + [f"x{i} = alpha * {i}" for i in range(8)] + ["total = sum([x1, x2, x3])"]
LAST = {
    "bare": "print(total)",
    "ours": "import jupyter_mlops as mlops\nmlops.log(total=total)\nprint(total)",
    "mlflow": "import mlflow\n"
    "mlflow.set_tracking_uri('sqlite:///peer.db')\n"
    "with mlflow.start_run():\n"
    "    mlflow.log_param('alpha', alpha)\n"
    "    mlflow.log_metric('total', total)\n"
    "print(total)",
}


def write_notebook(path: Path, last: str) -> None:
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source) for source in [*CELLS[:-1], CELLS[-1], last]]
    nb.cells[0].metadata["tags"] = ["parameters"]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, path)


def commands(notebooks: dict[str, str]) -> dict[str, list[str]]:
    """The command of each tool for one scenario: ``{tool: notebook stem}``."""
    ours, peer = notebooks["ours"], notebooks["peer"]
    mlops = ["run", f"{ours}.ipynb", "-p", "alpha", "0.5", "-o", "out_mlops.ipynb"]
    nbconvert = ["nbconvert", "--to", "notebook", "--execute", f"{peer}.ipynb", "--output", "out"]
    tools = {
        "jupyter mlops run": [str(BIN / "jupyter-mlops"), *mlops],
        "papermill": [str(BIN / "papermill"), f"{peer}.ipynb", "out.ipynb", "-p", "alpha", "0.5"],
        "jupyter nbconvert --execute": [str(BIN / "jupyter"), *nbconvert],
    }
    if not (BIN / "papermill").exists():
        del tools["papermill"]
    if ours == "bare":  # what any MLflow record of a run costs, with no notebook at all
        tools[FLOOR_NAME] = [str(BIN / "python"), "-c", FLOOR]
    return tools


FLOOR_NAME = "MLflow record, no notebook"
# A fresh interpreter that writes the record a bare run of ours writes, with MLflow's API:
# import MLflow, open the sqlite store, create a run with the parameter, log the notebook and
# its HTML as text artifacts, end it. No kernel, no notebook: the floor under any tool that
# records a run in MLflow before it returns.
FLOOR = """
from mlflow import MlflowClient

client = MlflowClient("sqlite:///floor.db")
found = client.get_experiment_by_name("floor")
exp = found.experiment_id if found else client.create_experiment("floor")
run = client.create_run(exp, run_name="floor").info.run_id
client.log_param(run, "alpha", "0.5")
client.log_text(run, open("bare.ipynb").read(), "notebook/bare.ipynb")
client.log_text(run, "<html></html>", "notebook/bare.html")
client.set_terminated(run, "FINISHED")
"""


SCENARIOS = {
    "bare": {"ours": "bare", "peer": "bare"},
    "tracked": {"ours": "ours", "peer": "mlflow"},
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    env = clean_env()
    env["PYTHONWARNINGS"] = "ignore"
    if not (BIN / "papermill").exists():
        print('papermill is not installed (pip install -e ".[bench]"): timing the others only')
    jobs = [
        (scenario, tool, command)
        for scenario, stems in SCENARIOS.items()
        for tool, command in commands(stems).items()
    ]
    times: dict[tuple[str, str], list[float]] = {(s, t): [] for s, t, _ in jobs}
    with tempfile.TemporaryDirectory(prefix="bench-run-") as tmp:
        folder = Path(tmp)
        subprocess.run(["git", "init", "-q"], cwd=folder, check=True)
        for stem, last in LAST.items():
            write_notebook(folder / f"{stem}.ipynb", last)
        for repeat in range(args.repeats + 1):
            for scenario, tool, command in jobs:
                start = time.perf_counter()
                out = subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True)
                elapsed = time.perf_counter() - start
                if out.returncode != 0:
                    print(f"{tool} ({scenario}) failed:\n{out.stdout}\n{out.stderr}")
                    return 2
                if repeat:  # the first round is the warm-up
                    times[scenario, tool].append(elapsed)
        counted = subprocess.run(
            [str(BIN / "python"), "-c", COUNT_RUNS, str(folder)],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        shutil.rmtree(folder / ".mlops", ignore_errors=True)
    medians = {key: statistics.median(values) for key, values in times.items()}
    print(f"10-cell notebook, median of {args.repeats} runs each (after one warm-up):")
    print(f"  {'':<30} {'bare':>8} {'tracked':>8}")
    for tool in dict.fromkeys(t for _, t, _ in jobs):
        row = [medians.get((s, tool)) for s in SCENARIOS]
        print(f"  {tool:<30} " + " ".join(f"{v:7.2f}s" if v else f"{'-':>8}" for v in row))
    ours_runs, peer_runs = int(counted[0]), int(counted[1])
    rounds = args.repeats + 1
    print(
        f"  runs read back: ours {ours_runs} (expected {2 * rounds}: FINISHED, alpha=0.5, "
        f"notebook + HTML artifacts; tracked ones with total=3.0), "
        f"peers' {peer_runs} (alpha=0.5 and total=3.0)"
    )
    for scenario in SCENARIOS:
        ours = medians[scenario, "jupyter mlops run"]
        ratios = [
            f"{ours / medians[key]:.2f}x {key[1]}"
            for key in medians
            if key[0] == scenario and key[1] not in ("jupyter mlops run", FLOOR_NAME)
        ]
        print(f"  {scenario}: ours = " + ", ".join(ratios))
    if ours_runs != 2 * rounds:
        print("MISSING RUNS")
        return 1
    if ("tracked", "papermill") not in medians:
        return 0
    bare = medians["bare", "jupyter mlops run"] / medians["bare", "papermill"]
    floor = medians["bare", FLOOR_NAME] / medians["bare", "papermill"]
    print(
        f"  goal, bare: ours / papermill = {bare:.2f} (<= 1.0: {'PASS' if bare <= 1 else 'MISS'}); "
        f"MLflow's record alone = {floor:.2f}x papermill"
    )
    ratio = medians["tracked", "jupyter mlops run"] / medians["tracked", "papermill"]
    verdict = "PASS" if ratio <= 1.0 else "MISS"
    print(f"  goal, tracked: ours / (papermill + MLflow's API) = {ratio:.2f} (<= 1.0: {verdict})")
    return 0 if ratio <= 1.0 else 1


COUNT_RUNS = """
import sys
from mlflow import MlflowClient

root = sys.argv[1]


def runs(uri):
    client = MlflowClient(uri)
    ids = [e.experiment_id for e in client.search_experiments()]
    return client, client.search_runs(ids) if ids else []


client, ours = runs(f"sqlite:///{root}/.mlops/mlflow.db")
good = [
    r for r in ours
    if r.info.status == "FINISHED" and r.data.params.get("alpha") == "0.5"
    and r.data.metrics.get("total", 3.0) == 3.0
    and len([a for a in client.list_artifacts(r.info.run_id, "notebook")]) >= 2
]
_, peer = runs(f"sqlite:///{root}/peer.db")
peer_good = [r for r in peer if r.data.metrics.get("total") == 3.0]
print(len(good), len(peer_good))
"""


if __name__ == "__main__":
    sys.exit(main())
