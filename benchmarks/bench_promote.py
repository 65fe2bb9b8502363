"""Time to promote a small scikit-learn pipeline with notebook-defined code, fresh-process
verification included, against ``mlflow.sklearn.log_model`` with ``registered_model_name``.

Model: breast cancer (569 x 30, as a frame), ``FunctionTransformer(log_area)``, ``Ratio()``,
``StandardScaler()``, ``LogisticRegression``, where ``log_area`` and ``Ratio`` are defined in the
script's ``__main__``, as a notebook defines them (a file-backed ``__main__``, so their source is
recoverable the way IPython's cells are).

Method: every measurement is a fresh Python process (``TRAIN`` below, written as ``train.py``) in
a fresh ``git init`` folder, so each tool creates its sqlite store from nothing: ours the
embedded ``.mlops/mlflow.db``, the peer ``mlflow.db`` through ``mlflow.set_tracking_uri``. The
process imports mlflow and the tool, fits, then times the whole ``with`` block (run start,
store creation, promotion, run end) and, inside it, the promotion itself. Medians over
``--repeats`` processes; the end-to-end column is the process's wall time, imports included.

Ours: ``with mlops.track(...): mlops.promote(model, "bench", X=X, y=y, alias="staging")``.
Peer (MLflow 3.17): ``mlflow.sklearn.log_model(model, name="model", input_example=X.head(5),
registered_model_name="bench")`` in ``mlflow.start_run()``, then
``client.set_registered_model_alias``; its default requirement inference is left on. MLflow
3.17 serialises scikit-learn models with skops by default (cloudpickle only on Databricks),
and skops refuses ``__main__`` types, so the default call registers nothing. The script times
that call once and then the two ways out MLflow's messages name: ``skops_trusted_types`` listing
the ``__main__`` types, and ``serialization_format="cloudpickle"`` (its Databricks default); and
``serialization_format="pickle"``, the third format MLflow offers.

After the timings, each registered model is loaded by alias (``models:/bench@staging``) in a
fresh ``python -I`` process in another, empty folder, with only the store's URI to go on; it
predicts the training frame (compared with the notebook's predictions), a frame missing a
column and a row with an out-of-range value. The peer compares no predictions outside the
notebook before registering; its requirement inference loads the model in a subprocess and,
when that fails, only warns.

Goal: the with-block median of ours at most 10 s (the promote() call alone is shorter). Exit
code 1 when that is missed, or when our registered model does not load elsewhere, predicts
differently, or lets a missing column through.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import clean_env

GOAL_SECONDS = 10.0
MAIN_TYPES = ["__main__.Ratio", "__main__.log_area"]

# the "notebook": runs as __main__ from a file in the project folder
TRAIN = """
import json, os, sys, time
started = time.perf_counter()
import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler


def log_area(X):
    X = X.copy()
    X["mean area"] = np.log(X["mean area"])
    return X


class Ratio(BaseEstimator, TransformerMixin):
    def fit(self, X, y=None):
        return self

    def transform(self, X):
        X = X.copy()
        X["ratio"] = X["mean radius"] / X["mean texture"]
        return X


tool, out = sys.argv[1], sys.argv[2]
import mlflow, mlflow.sklearn  # both tools: the imports are not part of the timed block
from mlflow import MlflowClient
if tool == "ours":
    import jupyter_mlops as mlops
    import jupyter_mlops.core.registry.promote
imported = time.perf_counter()

X, y = load_breast_cancer(return_X_y=True, as_frame=True)
model = make_pipeline(
    FunctionTransformer(log_area), Ratio(), StandardScaler(), LogisticRegression(max_iter=5000)
).fit(X, y)
X.to_pickle("X.pkl")
np.save("predictions.npy", model.predict(X))
result = {"imports": imported - started}

start = time.perf_counter()
if tool == "ours":
    with mlops.track(experiment="bench", autolog=False):
        begin = time.perf_counter()
        promoted = mlops.promote(model, "bench", X=X, y=y, alias="staging")
        result["promote"] = time.perf_counter() - begin
    result["block"] = time.perf_counter() - start
    result["verification"] = promoted.verification["seconds"]
    result["verified_rows"] = promoted.verification["rows"]
    result["requirements"] = promoted.requirements
    result["store"] = "sqlite:///" + os.path.abspath(os.path.join(".mlops", "mlflow.db"))
else:
    store = "sqlite:///" + os.path.abspath("mlflow.db")
    mlflow.set_tracking_uri(store)
    options = {
        "default": {},
        "trusted": {"skops_trusted_types": ["__main__.Ratio", "__main__.log_area"]},
        "cloudpickle": {"serialization_format": "cloudpickle"},
        "pickle": {"serialization_format": "pickle"},
    }[tool]
    try:
        with mlflow.start_run():
            begin = time.perf_counter()
            info = mlflow.sklearn.log_model(
                model,
                name="model",
                input_example=X.head(5),
                registered_model_name="bench",
                **options,
            )
            version = info.registered_model_version
            MlflowClient().set_registered_model_alias("bench", "staging", version)
            result["promote"] = time.perf_counter() - begin
        result["block"] = time.perf_counter() - start
    except Exception as exc:
        result["error"] = f"{type(exc).__name__}: {exc}"
        result["failed_after"] = time.perf_counter() - start
    result["store"] = store
with open(out, "w") as f:
    json.dump(result, f)
"""

# a fresh `python -I` in an empty folder, with only the store's URI: load by alias, predict
LOAD_ELSEWHERE = """
import json, pickle, sys, warnings
import numpy as np, pandas as pd
import mlflow.pyfunc
sample, expected, out = sys.argv[1:4]
X = pd.read_pickle(sample)
result = {}
try:
    model = mlflow.pyfunc.load_model("models:/bench@staging")
except Exception as exc:
    result["load_error"] = f"{type(exc).__name__}: {exc}"
else:
    result["same"] = bool(np.array_equal(np.asarray(model.predict(X)), np.load(expected)))
    try:
        model.predict(X.drop(columns=["mean texture"]))
        result["missing"] = "predicted anyway"
    except Exception as exc:
        result["missing"] = f"{type(exc).__name__}: {exc}"
    odd = X.head(3).copy()
    odd.loc[odd.index[0], "mean radius"] = 1e6
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            model.predict(odd)
            names = sorted({w.category.__name__ for w in caught if "mean radius" in str(w.message)})
            result["odd"] = ("warns " + ", ".join(names)) if names else "silent"
        except Exception as exc:
            result["odd"] = f"raises {type(exc).__name__}"
with open(out, "w") as f:
    json.dump(result, f)
"""

# key: (row label in the tables, name in the lines under them)
LABELS = {
    "ours": ("mlops.promote (ours)", "ours"),
    "default": ("mlflow.sklearn.log_model, defaults (skops)", "peer, defaults"),
    "trusted": ("  + skops_trusted_types=[__main__ types]", "peer, skops + trusted types"),
    "cloudpickle": ('  + serialization_format="cloudpickle"', "peer, cloudpickle"),
    "pickle": ('  + serialization_format="pickle"', "peer, pickle"),
}
PEERS = ["trusted", "cloudpickle", "pickle"]  # the peer variants that register something


def _env() -> dict[str, str]:
    return clean_env()


def _one(tool: str, keep: bool) -> dict:
    """One fresh process in one fresh project folder, kept for the load check if ``keep``."""
    tmp = Path(tempfile.mkdtemp(prefix=f"bench-promote-{tool}-"))
    subprocess.run(["git", "init", "-q"], cwd=tmp, check=True)
    (tmp / "train.py").write_text(TRAIN, encoding="utf-8")
    out = tmp / "result.json"
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "train.py", tool, str(out)],
        cwd=tmp,
        env=_env(),
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - start
    if done.returncode != 0 or not out.exists():
        tail = "\n  ".join(done.stderr.strip().splitlines()[-8:])
        _remove(tmp)
        return {"crashed": f"exit {done.returncode}\n  {tail}"}
    result = json.loads(out.read_text())
    result["wall"] = wall
    result["inference_fallback"] = _inference_fallback(done.stderr)
    if keep:
        result["project"] = str(tmp)
    else:
        _remove(tmp)
    return result


def _inference_fallback(stderr: str) -> str | None:
    """MLflow's warning when inferring the pip requirements failed, shortened."""
    for line in stderr.splitlines():
        if "unexpected error while inferring pip requirements" in line:
            _, _, rest = line.partition("Fall back to return ")
            return rest.split(". Set logging level")[0] or line.strip()
    return None


def _remove(folder: Path) -> None:
    import shutil

    shutil.rmtree(folder, ignore_errors=True)


def _load_elsewhere(project: Path, store: str) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-promote-elsewhere-") as where:
        out = Path(where) / "out.json"
        env = {**_env(), "MLFLOW_TRACKING_URI": store, "PYTHONWARNINGS": "ignore"}
        done = subprocess.run(
            [
                sys.executable,
                "-I",
                "-B",
                "-c",
                LOAD_ELSEWHERE,
                str(project / "X.pkl"),
                str(project / "predictions.npy"),
                str(out),
            ],
            cwd=where,
            env=env,
            capture_output=True,
            text=True,
        )
        if done.returncode != 0 or not out.exists():
            lines = done.stderr.strip().splitlines()
            return {"load_error": f"load check crashed: {lines[-1] if lines else 'no output'}"}
        return json.loads(out.read_text())


def _measure(tool: str, repeats: int) -> dict:
    """``repeats`` fresh processes; the last one's project is kept for the load check."""
    runs = [_one(tool, keep=i == repeats - 1) for i in range(repeats)]
    if "crashed" in runs[-1]:
        return runs[-1]
    last = runs[-1]
    summary = dict(last)
    for key in ("block", "promote", "verification", "wall", "imports", "failed_after"):
        values = [r[key] for r in runs if key in r]
        if values:
            summary[key] = statistics.median(values)
    summary["runs"] = len(runs)
    if "error" not in last:
        summary["elsewhere"] = _load_elsewhere(Path(last["project"]), last["store"])
    _remove(Path(last["project"]))
    return summary


def _short(text: str, width: int = 90) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 3] + "..."


def _loads(r: dict) -> str:
    if "error" in r:
        return "nothing registered"
    e = r["elsewhere"]
    if "load_error" in e:
        return f"no ({e['load_error'].split(':')[0]})"
    return "yes" if e["same"] else "yes, predicts DIFFERENTLY"


def _gist(error: str) -> str:
    """An error without the input MLflow repeats in it: its class and the last ``Error:``."""
    kind, _, message = error.partition(": ")
    if "Error: " in message:
        message = "... " + message.rsplit("Error: ", 1)[1]
    return _short(f"{kind}: {message}", 120)


def _first(text: str) -> str:
    return text.split(":")[0] if text else "-"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--repeats", "--repeat", type=int, default=3, help="fresh processes per tool (median)"
    )
    parser.add_argument("--quick", action="store_true", help="one process per tool")
    args = parser.parse_args()
    repeats = 1 if args.quick else max(1, args.repeats)
    import mlflow
    import sklearn

    print(
        f"model: breast cancer 569 x 30, a 4-step pipeline with a __main__ class and function; "
        f"mlflow {mlflow.__version__}, scikit-learn {sklearn.__version__}, {os.cpu_count()} cores"
    )
    print(f"each figure: median of {repeats} fresh process(es), each in a fresh git project")

    results = {"ours": _measure("ours", repeats)}
    results["default"] = _measure("default", 1)  # registers nothing: timed once
    for peer in PEERS:
        results[peer] = _measure(peer, repeats)

    for key, r in results.items():
        if "crashed" in r:
            print(f"{LABELS[key][1]}: process CRASHED: {r['crashed']}")
    ok = {k: r for k, r in results.items() if "crashed" not in r}

    print(f"\n{'tool':<44}{'block s':>9}{'promote s':>11}{'verify s':>10}{'rest s':>8}{'e2e s':>8}")
    for key, r in ok.items():
        label = LABELS[key][0]
        if "error" in r:
            raised = f"(raised after {r['failed_after']:.2f} s)"
            print(f"{label:<44}{raised:>38}{r['wall']:>8.2f}")
            continue
        verify = r.get("verification")
        figures = (
            f"{verify:>10.2f}{r['promote'] - verify:>8.2f}" if verify else f"{'none':>10}{'':>8}"
        )
        print(f"{label:<44}{r['block']:>9.2f}{r['promote']:>11.2f}{figures}{r['wall']:>8.2f}")
    print(
        "block: run start, store creation, promotion, run end; promote: mlops.promote() or\n"
        "log_model + set alias; verify: the fresh-process check inside it; rest: packaging,\n"
        "logging and registration; e2e: the whole process, imports and fit included"
    )

    print(f"\n{'tool':<44}{'loads elsewhere':<20}{'missing column':<18}{'odd value'}")
    for key, r in ok.items():
        e = r.get("elsewhere", {})
        missing = _first(e.get("missing", ""))
        print(f"{LABELS[key][0]:<44}{_loads(r):<20}{missing:<18}{e.get('odd', '-')}")
    print(
        "loaded by alias in a fresh `python -I` in an empty folder; missing column: predict "
        "without\n'mean texture'; odd value: one row with mean radius = 1e6 (trained max 28)"
    )

    print()
    for key, r in ok.items():
        name = LABELS[key][1]
        if "error" in r:
            print(f"{name}: registers nothing: {_short(r['error'], 400)}")
            continue
        e = r["elsewhere"]
        if "load_error" in e:
            print(f"{name}: loads elsewhere: no ({_short(e['load_error'], 200)})")
        else:
            print(f"{name}: loads elsewhere: yes; missing column: {_gist(e['missing'])}")
        if r.get("inference_fallback"):
            print(
                f"{name}: requirement inference (which loads the model in a subprocess) failed "
                f"with a warning, fell back to {r['inference_fallback']}, and registered anyway"
            )
    if "requirements" in ok.get("ours", {}):
        print(
            f"ours: {ok['ours']['verified_rows']} rows compared in the fresh process before "
            f"registering; requirements {', '.join(ok['ours']['requirements'])}"
        )
    print(
        "peer: nothing compares predictions outside the notebook before registering; its "
        "signature\nchecks column names and types, not ranges or levels"
    )

    ours = ok.get("ours")
    if ours is None or "error" in ours:
        print(f"FAIL: ours did not promote ({(ours or {}).get('error', 'crashed')})")
        return 1
    print()
    for key in PEERS:
        r = ok.get(key)
        if r is None or "error" in r:
            continue
        print(
            f"ours / {LABELS[key][1]}: block {ours['block'] / r['block']:.2f}x, "
            f"promote {ours['promote'] / r['promote']:.2f}x, "
            f"end-to-end {ours['wall'] / r['wall']:.2f}x"
        )
    elsewhere = ours["elsewhere"]
    missing = elsewhere.get("missing", "")
    right = (
        elsewhere.get("same") is True
        and missing.startswith("ContractError")
        and "mean texture" in missing
    )
    if not right:
        print(f"ours elsewhere: WRONG: {json.dumps(elsewhere)[:500]}")
    passed = right and ours["block"] <= GOAL_SECONDS
    print(
        f"{'PASS' if passed else 'FAIL'}: ours {ours['block']:.2f} s median with-block "
        f"(promote() {ours['promote']:.2f} s, verification {ours['verification']:.2f} s), "
        f"goal <= {GOAL_SECONDS:.0f} s; loads elsewhere, same predictions, contract enforced"
    )
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
