"""The fresh-process check: the packaged model must load and predict what the notebook predicts.

The artifact folder is loaded by ``python -I -B`` in another folder, with a clean environment and
no notebook, exactly as a server would load it; a sample of the training rows is predicted there
and compared, exactly, with the notebook's own predictions. Nothing is registered otherwise.
"""

from __future__ import annotations

import os
import pickle
import re
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

from .promotion import PromoteError, native

SAMPLE_ROWS = 500  # rows compared between the notebook and the fresh process
VERIFY_TIMEOUT = 300.0
# the verification process starts from a clean slate: only what finding Python and a home needs
KEPT_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "TEMP", "TMP", "SYSTEMROOT")
KEPT_ENV_PREFIXES = ("MLFLOW_ALLOW_PICKLE",)

VERIFY_SCRIPT = textwrap.dedent(
    """
    import pickle, sys, warnings
    path, sample, out = sys.argv[1:4]
    import pandas as pd
    import mlflow.pyfunc
    X = pd.read_pickle(sample)
    model = mlflow.pyfunc.load_model(path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        predictions = model.predict(X)
    seen = [str(w.message) for w in caught if w.category.__name__ == "ContractWarning"]
    with open(out, "wb") as f:
        pickle.dump({"predictions": predictions, "warnings": seen}, f)
    """
)


def _clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k in KEPT_ENV}
    env.update({k: v for k, v in os.environ.items() if k.startswith(KEPT_ENV_PREFIXES)})
    env["PYTHONNOUSERSITE"] = "1"
    return env


def _sample(X: Any) -> Any:
    if len(X) <= SAMPLE_ROWS:
        return X
    return X.sample(SAMPLE_ROWS, random_state=0).sort_index()


def verify(folder: Path, model: Any, X: Any, input_kind: str, work: Path) -> dict[str, Any]:
    """Load the packaged model in a fresh interpreter elsewhere and compare its predictions."""
    started = time.perf_counter()
    cwd = work / "elsewhere"
    cwd.mkdir()
    sample_path, out_path = work / "sample.pkl", work / "predictions.pkl"
    sample = None if X is None else native(_sample(X), input_kind)
    if sample is not None:
        sample_path.write_bytes(pickle.dumps(sample, protocol=5))
        script = VERIFY_SCRIPT
    else:
        script = "import sys, mlflow.pyfunc; mlflow.pyfunc.load_model(sys.argv[1])"
    try:  # -I: no PYTHONPATH, no user site, no script folder; -B: the folder stays as uploaded
        done = run_child(
            [
                sys.executable,
                "-I",
                "-B",
                "-c",
                script,
                str(folder),
                str(sample_path),
                str(out_path),
            ],
            cwd=cwd,
            env=_clean_env(),
            timeout=VERIFY_TIMEOUT,
        )
    except subprocess.TimeoutExpired:
        raise PromoteError(
            f"not registered: loading the packaged model in a fresh process took over "
            f"{VERIFY_TIMEOUT:.0f} s"
        ) from None
    if done.returncode != 0:
        raise PromoteError(
            "not registered: the packaged model fails in a fresh Python process "
            f"({_last_error(done.stderr)})"
        )
    info: dict[str, Any] = {"rows": 0, "seconds": 0.0, "warnings": []}
    if sample is not None:
        with open(out_path, "rb") as f:
            reloaded = pickle.load(f)  # written by our own verification process just now
        expected = model.predict(sample)
        problem = _difference(expected, reloaded["predictions"])
        if problem:
            raise PromoteError(
                f"not registered: the reloaded model predicts differently: {problem}"
            )
        info.update(rows=len(sample), warnings=reloaded["warnings"])
    info["seconds"] = round(time.perf_counter() - started, 3)
    return info


def run_child(
    args: list[str], *, timeout: float, **kwargs: Any
) -> subprocess.CompletedProcess[str]:
    """``subprocess.run(capture_output=True, text=True)``, except that a Ctrl-C while the child
    is being started still stops it: CPython's ``Popen()`` leaves a started child running when
    the KeyboardInterrupt lands inside the constructor (found by the crash matrix of
    ``benchmarks/bench_reliability.py``), so the interrupt is held back until we hold the child.
    """
    import signal
    import threading

    held: list[int] = []
    previous = signal.getsignal(signal.SIGINT)
    hold = threading.current_thread() is threading.main_thread() and callable(previous)
    if hold:
        signal.signal(signal.SIGINT, lambda signum, frame: held.append(signum))
    try:
        process = subprocess.Popen(
            args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs
        )
    finally:
        if hold:
            signal.signal(signal.SIGINT, previous)
    with process:
        try:
            if held:
                raise KeyboardInterrupt
            stdout, stderr = process.communicate(timeout=timeout)
        except BaseException:
            process.kill()
            process.wait()
            raise
    return subprocess.CompletedProcess(args, process.returncode, stdout, stderr)


def _last_error(stderr: str) -> str:
    lines = [line.strip() for line in stderr.strip().splitlines() if line.strip()]
    for line in reversed(lines):
        if re.match(r"^[\w.]*(Error|Exception|Interrupt)\b", line):
            return line[:500]
    return (lines[-1] if lines else "no output")[:500]


def _as_array(values: Any) -> Any:
    import numpy as np

    if hasattr(values, "to_numpy"):
        values = values.to_numpy()
    return np.asarray(values)


FLOAT_RTOL = 1e-12  # some 4,500 units in the last place of a double; a wrong model is far off


def _difference(expected: Any, got: Any) -> str | None:
    """Why two prediction arrays are not the same, or None. Labels and integers must be equal;
    floats equal to the last few bits (``FLOAT_RTOL`` of the largest prediction): BLAS sums a
    dot product in an order that depends on how the rows lie in memory, so the same Ridge on the
    same rows gives results one unit in the last place apart in another process (seen on
    scikit-learn's diabetes data), while a wrong model differs in the leading digits."""
    import numpy as np
    import pandas as pd

    a, b = _as_array(expected), _as_array(got)
    if a.shape != b.shape:
        return f"shape {b.shape} instead of {a.shape}"
    if a.dtype.kind in "fc" and b.dtype.kind in "fc":
        finite = np.abs(a[np.isfinite(a)])
        scale = float(finite.max()) if finite.size else 0.0
        close = np.isclose(a, b, rtol=FLOAT_RTOL, atol=FLOAT_RTOL * scale)
        same = close | (np.isnan(a) & np.isnan(b))
    else:
        same = (a == b) | (pd.isna(a) & pd.isna(b))
    same = np.asarray(same)
    if same.all():
        return None
    rows = ~same.reshape(len(a), -1).all(axis=1) if a.ndim else ~same
    first = int(np.flatnonzero(rows)[0])
    return (
        f"{int(rows.sum())} of {len(a)} sample rows differ (first: row {first}, notebook "
        f"{a[first]!r}, reloaded {b[first]!r})"
    )
