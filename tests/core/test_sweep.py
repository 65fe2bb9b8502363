"""The sweep's grid handling, and ``mlops.sweep`` from Python (the CLI is in tests/cli)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from jupyter_mlops.core.batch.parameters import check_grid, grid_points, parse_values
from jupyter_mlops.core.batch.sweep_best import default_maximize
from jupyter_mlops.core.batch.sweep_result import point_label
from jupyter_mlops.errors import MlopsError
from tests.conftest import all_runs, kernel_env, write_notebook


@pytest.mark.parametrize(
    ("text", "values"),
    [
        ("0.1,1,10", [0.1, 1, 10]),
        ("0.1, 1 ,10", [0.1, 1, 10]),
        ("ridge,lasso", ["ridge", "lasso"]),
        ("ridge, lasso", ["ridge", "lasso"]),
        ("'a,b','c'", ["a,b", "c"]),
        ("True,False,None", [True, False, None]),
        ("[1, 2],[3]", [[1, 2], [3]]),
        ("1e-3,0.5,ridge", [0.001, 0.5, "ridge"]),
        ("7", [7]),
        ("ridge", ["ridge"]),
        ("'7'", ["7"]),
        ("1,", [1]),
        ("data/train.csv,data/test.csv", ["data/train.csv", "data/test.csv"]),
    ],
)
def test_parse_values(text: str, values: list) -> None:
    assert parse_values(text) == values
    assert [type(v) for v in parse_values(text)] == [type(v) for v in values]


@pytest.mark.parametrize(("text", "message"), [("", "no values"), (" ", "no values")])
def test_parse_values_refuses_nothing(text: str, message: str) -> None:
    with pytest.raises(MlopsError, match=message):
        parse_values(text)


@pytest.mark.parametrize("text", ["a,,b", "ridge,", ",ridge"])
def test_parse_values_refuses_an_empty_piece(text: str) -> None:
    with pytest.raises(MlopsError, match="an empty value"):
        parse_values(text)


def test_grid_points_are_the_cartesian_product_first_name_slowest() -> None:
    grid = check_grid({"alpha": (0.1, 1), "model": ["ridge", "lasso"]})
    assert grid == {"alpha": [0.1, 1], "model": ["ridge", "lasso"]}
    points = grid_points(grid)
    assert points == [
        {"alpha": 0.1, "model": "ridge"},
        {"alpha": 0.1, "model": "lasso"},
        {"alpha": 1, "model": "ridge"},
        {"alpha": 1, "model": "lasso"},
    ]
    assert point_label(points[1]) == "alpha=0.1 model=lasso"


@pytest.mark.parametrize(
    ("grid", "message"),
    [
        ({}, "the grid is empty"),
        ({"not-a-name": [1]}, "not a Python identifier"),
        ({"class": [1]}, "not a Python identifier"),
        ({"alpha": []}, "'alpha' has no values"),
        ({"alpha": "0.1,1"}, "must be a list, not str"),
        ({"alpha": 0.1}, "must be a list, not float"),
    ],
)
def test_check_grid_refuses(grid: dict, message: str) -> None:
    with pytest.raises(MlopsError, match=message):
        check_grid(grid)


def test_refused_before_the_store_is_touched(project: Path) -> None:
    import jupyter_mlops as mlops

    notebook = write_notebook(project / "nb.ipynb", ["alpha = 1"])
    with pytest.raises(MlopsError, match=r"no notebook at missing\.ipynb"):
        mlops.sweep("missing.ipynb", {"alpha": [1]})
    with pytest.raises(MlopsError, match="workers must be at least 1"):
        mlops.sweep(notebook, {"alpha": [1]}, workers=0)
    with pytest.raises(MlopsError, match="a Dask cluster has its own"):
        mlops.sweep(notebook, {"alpha": [1]}, workers=2, dask="tcp://127.0.0.1:1")
    with pytest.raises(MlopsError, match="no kernel named 'nope'"):
        mlops.sweep(notebook, {"alpha": [1]}, kernel_name="nope")
    with pytest.raises(MlopsError, match="alias 'staging' needs best=METRIC"):
        mlops.sweep(notebook, {"alpha": [1]}, alias="staging")
    with pytest.raises(MlopsError, match="maximize needs best=METRIC"):
        mlops.sweep(notebook, {"alpha": [1]}, maximize=False)
    with pytest.raises(MlopsError, match="alias 'v3' is reserved"):
        mlops.sweep(notebook, {"alpha": [1]}, best="auc", alias="v3")
    with pytest.raises(MlopsError, match="maximize must be True, False or None"):
        mlops.sweep(notebook, {"alpha": [1]}, best="auc", maximize="yes")
    assert not (project / ".mlops").exists()


@pytest.mark.parametrize(
    ("metric", "maximize"),
    [
        ("test_auc", True),
        ("accuracy", True),
        ("r2", True),
        ("f1_macro", True),
        ("val_loss", False),
        ("logloss", False),
        ("test_error", False),
        ("mean_squared_error", False),
        ("rmse", False),
        ("test_RMSE", False),
        ("mae", False),
        ("val.mse", False),
        ("neg_mean_squared_error", True),  # scikit-learn's negated losses: higher is better
        ("maeve_score", True),  # 'mae' inside a word is not a loss
    ],
)
def test_the_default_direction_follows_the_metric_name(metric: str, maximize: bool) -> None:
    assert default_maximize(metric) is maximize


def test_python_api_returns_every_point(project: Path, client) -> None:
    import jupyter_mlops as mlops

    cells = ["alpha = 0\nmodel = 'x'", "import jupyter_mlops as mlops\nmlops.log(score=alpha)"]
    notebook = write_notebook(project / "fit.ipynb", cells, tags={0: ["parameters"]})
    result = mlops.sweep(
        notebook, {"alpha": [1, 2], "model": ["ridge"]}, workers=2, experiment="api", progress=False
    )
    assert result.ok and result.status == "FINISHED" and not result.failed
    assert result.backend == "2 local processes"
    assert [c.parameters for c in result.children] == [
        {"alpha": 1, "model": "ridge"},
        {"alpha": 2, "model": "ridge"},
    ]
    assert [c.metrics["score"] for c in result.children] == [1.0, 2.0]
    runs = {r.info.run_id: r for r in all_runs(client)}
    parent = runs[result.parent_run_id]
    assert parent.data.params == {"sweep.alpha": "[1, 2]", "sweep.model": "['ridge']"}
    for child in result.children:
        run = runs[child.run_id]
        assert run.data.tags["mlflow.parentRunId"] == result.parent_run_id
        assert run.data.params == {"alpha": str(child.parameters["alpha"]), "model": "ridge"}
        assert run.info.run_name == f"fit {child.label}"
    assert result.to_dict()["children"][0]["parameters"] == {"alpha": 1, "model": "ridge"}
    assert "alpha  model  status    score  run" in result.summary()


def test_import_stays_light_with_sweep_in_the_lazy_table() -> None:
    code = (
        "import sys, jupyter_mlops\n"
        "assert 'sweep' in dir(jupyter_mlops)\n"
        "heavy = {'mlflow', 'dvc', 'sklearn', 'scipy', 'distributed', 'tqdm'}\n"
        "print(sorted(heavy & {m.split('.')[0] for m in sys.modules}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=kernel_env(), timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_a_worker_that_dies_costs_only_its_own_point(project: Path, client) -> None:
    import jupyter_mlops as mlops

    # the kernel's parent is the pool's worker process: point 2 kills it, which breaks the pool
    cells = ["alpha = 0", "import os\nif alpha == 2:\n    os.kill(os.getppid(), 9)"]
    notebook = write_notebook(project / "crash.ipynb", cells, tags={0: ["parameters"]})
    result = mlops.sweep(notebook, {"alpha": [1, 2, 3]}, workers=1, progress=False)
    assert [c.status for c in result.children][::2] == ["FINISHED", "FINISHED"]  # 3: a new pool
    (dead,) = result.failed
    assert dead.parameters == {"alpha": 2} and dead.status in {"FAILED", "KILLED"}
    assert dead.run_id is not None  # found in the store, although its worker never reported
    assert result.status == "FAILED"
    runs = {r.info.run_id: r for r in all_runs(client)}
    assert runs[dead.run_id].info.status == dead.status  # not left RUNNING
    assert len(runs) == 4 and runs[result.parent_run_id].data.tags["mlops.sweep.failed"] == "1"
