"""Where ``fit_segments``' fits run: in this process, in joblib's local worker processes
(loky), or on a Dask distributed cluster (reached as a sweep reaches it, ``DaskCluster``).

Each backend runs ``(function, rows, arguments)`` calls and returns their results in order.
Results come back pickled with the notebook's own classes and functions as names
(``_ByName``), so the copies cloudpickle made for the workers never replace the originals.
"""

from __future__ import annotations

import contextlib
import io
import math
import pickle
import sys
import time
import types
import uuid
from collections.abc import Callable, Iterator
from typing import Any

from ...errors import MlopsError
from ..registry.capture import is_notebook_object
from .executors import DaskCluster

CHUNKS_PER_WORKER = 4  # enough to even out uneven segments, few enough to keep shipping cheap


def fit_all(data: tuple[Any, Any], estimator: Any, cv: Any, scoring: Any) -> dict[str, Any]:
    """The fallback: one fit on every row. Module-level so that workers import it by name."""
    X, y = data
    return _fit_one(-1, estimator, X, y, cv, scoring)


def fit_chunk(
    data: tuple[Any, Any], estimator: Any, items: list[tuple[int, int, int]], cv: Any, scoring: Any
) -> list[dict[str, Any]]:
    """Fit and score each segment of a chunk: ``items`` are (segment index, first row, end)."""
    X, y = data
    return [
        _fit_one(index, estimator, X.iloc[start:stop], y.iloc[start:stop], cv, scoring)
        for index, start, stop in items
    ]


def _fit_one(index: int, estimator: Any, X: Any, y: Any, cv: Any, scoring: Any) -> dict[str, Any]:
    """One segment: its fitted clone and cross-validated score; an error as text, not raised,
    so that one segment cannot stop the others."""
    from sklearn.base import clone

    began, clock = time.time(), time.perf_counter()
    result: dict[str, Any] = {"index": index, "model": None, "score": math.nan, "std": math.nan}
    try:
        result["model"] = clone(estimator).fit(X, y)
        result["error"] = None
    except Exception as exc:
        result["error"] = one_line(exc)
    if result["model"] is not None:
        result["score"], result["std"] = _cross_validate(estimator, X, y, cv, scoring)
    result["started"], result["seconds"] = began, time.perf_counter() - clock
    return result


def _cross_validate(estimator: Any, X: Any, y: Any, cv: Any, scoring: Any) -> tuple[float, float]:
    import numpy as np
    from sklearn.base import clone
    from sklearn.model_selection import cross_val_score

    if not cv:
        return math.nan, math.nan
    folds = min(cv, len(y)) if isinstance(cv, int) else cv
    if isinstance(folds, int) and folds < 2:
        return math.nan, math.nan
    try:
        scores = cross_val_score(clone(estimator), X, y, cv=folds, scoring=scoring)
    except ValueError:  # the folds cannot be made or fitted (a class missing from a segment)
        return math.nan, math.nan
    scores = scores[np.isfinite(scores)]
    if not len(scores):
        return math.nan, math.nan
    return float(scores.mean()), float(scores.std())


class _ByName(pickle.Pickler):
    """Pickles a worker's results with classes and functions from the notebook as names.

    They reach the worker by value (cloudpickle), and cloudpickle's copies coming back would
    overwrite the notebook's own classes on arrival (their methods would lose the notebook's
    globals, and promotion could no longer capture them): the originals are looked up instead.
    """

    def persistent_id(self, obj: Any) -> Any:
        if isinstance(obj, type | types.FunctionType) and is_notebook_object(obj):
            return (obj.__module__, obj.__qualname__)
        return None


class _FromNotebook(pickle.Unpickler):
    def __init__(self, data: bytes, known: dict[tuple[str, str], Any]) -> None:
        super().__init__(io.BytesIO(data))
        self.known = known

    def persistent_load(self, pid: Any) -> Any:
        if pid in self.known:
            return self.known[pid]
        module, qualname = pid
        found: Any = sys.modules.get(module)
        for part in qualname.split("."):
            found = getattr(found, part, None)
        if found is None:
            raise pickle.UnpicklingError(f"{qualname} is no longer defined in the notebook")
        return found


def _remote(fn: Callable[..., Any], data: Any, *args: Any) -> bytes:
    """What a worker runs: ``fn``, its result pickled by ``_ByName``."""
    buffer = io.BytesIO()
    _ByName(buffer, protocol=5).dump(fn(data, *args))
    return buffer.getvalue()


def _notebook_objects(estimator: Any) -> dict[tuple[str, str], Any]:
    from ..registry.capture import find_notebook_objects

    return {(o.__module__, o.__qualname__): o for o in find_notebook_objects(estimator)}


class _InProcess:
    """The calls one after another in this process (no pickling at all)."""

    chunks = 1

    def describe(self) -> str:
        return "this process"

    def run(self, calls: list[tuple[Callable[..., Any], Any, tuple[Any, ...]]]) -> list[Any]:
        return [fn(data, *args) for fn, data, args in calls]


class _Processes:
    """joblib's reusable pool of local worker processes (loky)."""

    def __init__(self, workers: int, estimator: Any) -> None:
        self.workers = workers
        self.chunks = CHUNKS_PER_WORKER * workers
        self.known = _notebook_objects(estimator)

    def describe(self) -> str:
        return f"{self.workers} local processes"

    def run(self, calls: list[tuple[Callable[..., Any], Any, tuple[Any, ...]]]) -> list[Any]:
        from joblib import Parallel, delayed

        parallel = Parallel(n_jobs=self.workers, backend="loky", pre_dispatch="all")
        packed = parallel(delayed(_remote)(fn, data, *args) for fn, data, args in calls)
        return [_FromNotebook(data, self.known).load() for data in packed]


class _Dask:
    """A Dask distributed cluster: each call's rows are scattered, then the call submitted."""

    def __init__(self, address: Any, estimator: Any) -> None:
        self.known = _notebook_objects(estimator)
        self.cluster = DaskCluster(address)
        client = self.cluster.client
        threads = sum(client.nthreads().values())
        if not threads:
            self.cluster.close()
            raise MlopsError(f"the Dask cluster at {self.cluster.address} has no workers")
        self.chunks = CHUNKS_PER_WORKER * threads

    def describe(self) -> str:
        return self.cluster.describe()

    def run(self, calls: list[tuple[Callable[..., Any], Any, tuple[Any, ...]]]) -> list[Any]:
        client = self.cluster.client
        token = uuid.uuid4().hex[:12]
        parts = client.scatter([data for _, data, _ in calls], hash=False)
        futures = [
            client.submit(_remote, fn, part, *args, key=f"mlops-segments-{token}-{i}", pure=False)
            for i, ((fn, _, args), part) in enumerate(zip(calls, parts, strict=True))
        ]
        try:
            return [_FromNotebook(data, self.known).load() for data in client.gather(futures)]
        except BaseException:
            client.cancel(futures)
            raise
        finally:
            client.cancel(parts)

    def close(self) -> None:
        self.cluster.close()


@contextlib.contextmanager
def open_backend(n_jobs: int | None, dask: Any, calls: int, estimator: Any) -> Iterator[Any]:
    """The backend for ``calls`` calls: Dask when ``dask`` is given (closed afterwards), else
    joblib's processes (``n_jobs``, at most one per call), or this process for one worker."""
    if dask is not None:
        try:
            import distributed  # noqa: F401
        except ImportError:
            raise MlopsError(
                "fitting on Dask needs the 'distributed' package: pip install 'jupyter-mlops[dask]'"
            ) from None
        backend = _Dask(dask, estimator)
        try:
            yield backend
        finally:
            backend.close()
        return
    from joblib import effective_n_jobs

    workers = min(effective_n_jobs(n_jobs), calls)
    yield _Processes(workers, estimator) if workers > 1 else _InProcess()


def one_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    text = f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__
    return text[:500]
