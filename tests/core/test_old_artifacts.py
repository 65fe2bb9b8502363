"""Models promoted by an earlier release load and predict as they did (the artifact layout is a
promise: a registered model outlives the code that wrote it)."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import kernel_env

FIXTURES = Path(__file__).parents[1] / "fixtures"
RELEASES = sorted(p.name for p in FIXTURES.glob("promoted-*"))

SCRIPT = """
import json, pickle, sys
import mlflow, pandas as pd
folder, out = sys.argv[1:3]
expected = json.load(open(folder + "/expected.json"))
rows = pd.DataFrame(**expected["rows"])
model = mlflow.pyfunc.load_model(folder)
result = {"predictions": [float(v) for v in model.predict(rows)]}
try:
    model.predict(rows.drop(columns=[rows.columns[-1]]))
except Exception as exc:
    result["missing"] = f"{type(exc).__name__}: {exc}"
with open(out, "wb") as f:
    pickle.dump(result, f)
"""


@pytest.mark.parametrize("release", RELEASES)
@pytest.mark.parametrize("kind", ["pipeline", "segments"])
def test_a_model_promoted_by_an_earlier_release_loads_and_predicts_the_same(
    release, kind, tmp_path
):
    folder = FIXTURES / release / kind
    out = tmp_path / "out.pkl"
    done = subprocess.run(
        [sys.executable, "-I", "-B", "-c", SCRIPT, str(folder), str(out)],
        cwd=tmp_path,
        env=kernel_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    got = pickle.loads(out.read_bytes())
    expected = json.loads((folder / "expected.json").read_text())
    assert got["predictions"] == pytest.approx(expected["predictions"], rel=1e-9, abs=1e-12)
    last = expected["rows"]["columns"][-1]
    assert got["missing"].startswith("ContractError") and last in got["missing"]
