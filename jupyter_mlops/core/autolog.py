"""Autologging of scikit-learn fits: every model fitted in a run gets a record of its own.

The first thing a notebook does in a tracked run is try several candidates. MLflow's own
scikit-learn autologging writes every fit into the one active run, so the run ends up with the
first model's params (a param cannot change) next to the last model's metrics; it also draws
plots on every classifier fit (about 0.3 s, with no switch) and logs every ``score`` call as a
metric. Here each outermost fit of a predictor, while one of our runs is active, becomes a child
run (a *candidate*) named after the estimator and what distinguishes it, holding exactly that
fit's params (``get_params(deep=True)``) and training metrics under MLflow's names
(``training_score``, ``training_accuracy_score`` ...). The run is queued and written in the
background, so a fit never waits for the store.

How fits are seen: ``fit``, ``fit_predict`` and ``fit_transform`` of scikit-learn estimator
classes (``BaseEstimator`` subclasses from installed packages, found with ``__subclasses__``, and
those defined later through an ``__init_subclass__`` hook) are wrapped once per process; the
wrapper only calls through while autologging is off or paused. Only the outermost fit counts (a
pipeline's steps are part of the pipeline), fits inside scikit-learn's evaluation helpers
(``cross_val_score`` and friends) are evaluation, not candidates, and our own work (explain,
checks, drift, EDA, segments, promote) runs under ``paused``. Classes defined in the notebook
are not wrapped: promote captures their methods as written.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.abc
import importlib.util
import inspect
import sys
import threading
import time
import warnings
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

from . import tags as mlops_tags

# what a fit is recorded as; changed_params is read here by promote
from .autolog_sklearn import (  # noqa: F401
    candidate_label,
    candidate_name,
    changed_params,
    key_params,
    model_params,
    training_metrics,
)

F = TypeVar("F", bound=Callable[..., Any])

FIT_METHODS = ("fit", "fit_predict", "fit_transform")
_MARK = "__mlops_autolog__"
# scikit-learn helpers whose fits evaluate a model (one per fold), rather than make one
_EVALUATION = {
    "sklearn.model_selection": (
        "cross_validate",
        "cross_val_score",
        "cross_val_predict",
        "learning_curve",
        "validation_curve",
        "permutation_test_score",
    ),
    "sklearn.inspection": ("permutation_importance", "partial_dependence"),
}


@dataclass(eq=False)
class Candidate:
    """One autologged fit: what was fitted, what sets it apart, and how it scored on its
    training data. Its child run is ``record`` (a queued ``buffer.NewRun``), whose ``run_id``
    is known once the background writer has created it."""

    label: str
    estimator: str
    key_params: dict[str, str]
    metrics: dict[str, float]
    record: Any = field(repr=False)

    @property
    def name(self) -> str:
        return self.record.name

    @property
    def run_id(self) -> str | None:
        return self.record.run_id

    @property
    def training_score(self) -> float | None:
        return self.metrics.get("training_score")

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "label": self.label,
            "estimator": self.estimator,
            "key_params": dict(self.key_params),
            "training_score": self.training_score,
            "run_id": self.run_id,
        }


class _State:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.enabled = False
        self.attach = False  # in a batch kernel: a fit before any tracking call joins the run
        self.paused = 0  # depth of ``paused`` blocks, process-wide
        self.in_fit = 0  # fits in progress, any thread: a fit inside one is part of it
        self.installed = False
        self.evaluation_codes: set[Any] | None = None  # found at the first fit recorded
        self.latest: weakref.WeakKeyDictionary[Any, Candidate] = weakref.WeakKeyDictionary()


_state = _State()


# -- switching --------------------------------------------------------------------------------
def enable() -> None:
    """Record fits from now on: the wrappers are installed now, or when scikit-learn is first
    imported (a notebook that never fits a model never pays for it)."""
    _state.enabled = True
    if "sklearn.base" in sys.modules:
        install()
    else:
        after_import("sklearn", _installed_if_enabled)


def enable_for_batch_run() -> None:
    """In a kernel of ``jupyter mlops run`` the whole notebook is the run: record fits from the
    first cell, attaching to the runner's run at the first fit if nothing attached before."""
    _state.attach = True
    enable()


def _installed_if_enabled(module: Any) -> None:
    if _state.enabled:
        install()


def disable() -> None:
    """Stop recording fits (not in a batch kernel, where the whole notebook is the run)."""
    if not _state.attach:
        _state.enabled = False


def is_enabled() -> bool:
    return _state.enabled


@contextlib.contextmanager
def paused() -> Iterator[None]:
    """No fit is recorded while the block runs (any thread): our own work is never a candidate."""
    with _state.lock:
        _state.paused += 1
    try:
        yield
    finally:
        with _state.lock:
            _state.paused -= 1


def without_autolog(function: F) -> F:
    """Decorator form of ``paused`` for the entry points of our own work."""

    @functools.wraps(function)
    def call(*args: Any, **kwargs: Any) -> Any:
        with paused():
            return function(*args, **kwargs)

    return call  # type: ignore[return-value]


def candidate_of(model: Any) -> Candidate | None:
    """The record of ``model``'s latest autologged fit in this process, if it had one."""
    try:
        return _state.latest.get(model)
    except TypeError:  # not weak-referenceable: never recorded
        return None


# -- wrapping ---------------------------------------------------------------------------------
def install() -> None:
    """Wrap the fit methods of every scikit-learn estimator class, now and defined later. Once
    per process; cheap (a walk of ``BaseEstimator.__subclasses__``)."""
    with _state.lock:
        if _state.installed:
            return
        _state.installed = True
    from sklearn.base import BaseEstimator

    _hook_subclasses(BaseEstimator)
    stack = [BaseEstimator]
    seen: set[type] = set()
    while stack:
        cls = stack.pop()
        if cls in seen:
            continue
        seen.add(cls)
        wrap_class(cls)
        stack.extend(cls.__subclasses__())


def _hook_subclasses(base: type) -> None:
    """Wrap classes defined from now on, as they are defined (an import inside a cell)."""
    own = base.__dict__.get("__init_subclass__")

    def __init_subclass__(cls: type, **kwargs: Any) -> None:
        if own is not None:
            own.__func__(cls, **kwargs)
        else:
            super(base, cls).__init_subclass__(**kwargs)
        wrap_class(cls)

    base.__init_subclass__ = classmethod(__init_subclass__)  # type: ignore[assignment]


def wrap_class(cls: type) -> None:
    """Wrap the fit methods ``cls`` defines itself (inherited ones are wrapped where defined)."""
    from .registry.capture import is_notebook_module

    module = getattr(cls, "__module__", None)
    if not isinstance(module, str) or is_notebook_module(module):
        return
    if module.startswith(("notebook_", "mlops_")):  # code captured or shipped by promote
        return
    for name in FIT_METHODS:
        method = cls.__dict__.get(name)
        if inspect.isfunction(method) and not getattr(method, _MARK, False):
            setattr(cls, name, _wrap(method))


def _wrap(method: F) -> F:
    @functools.wraps(method)  # keeps the signature scikit-learn's metadata routing reads
    def fit(self: Any, *args: Any, **kwargs: Any) -> Any:
        state = _state
        if not state.enabled or state.paused or state.in_fit:
            return method(self, *args, **kwargs)
        run = _active_run()
        if run is None or not run.autolog or _evaluating():
            return method(self, *args, **kwargs)
        started = time.time()
        with state.lock:
            state.in_fit += 1
        try:
            result = method(self, *args, **kwargs)
        finally:
            with state.lock:
                state.in_fit -= 1
        if hasattr(self, "predict"):  # a model, not a scaler or an encoder
            _record(self, run, args, kwargs, started)
        return result

    setattr(fit, _MARK, True)
    return fit  # type: ignore[return-value]


def _active_run() -> Any:
    tracking = sys.modules.get("jupyter_mlops.core.tracking")
    if tracking is None:
        return None
    run = tracking.session.active
    if run is None and _state.attach:
        try:
            run = tracking.active_run()  # the batch runner's run (waits for its id if need be)
        except Exception as exc:  # the user's fit goes on; the record is what is lost
            warnings.warn(f"jupyter-mlops: this fit is not recorded: {exc}", stacklevel=4)
            _state.attach = False
            return None
    return run


# -- knowing when scikit-learn arrives ----------------------------------------------------------
class _AfterImport(importlib.abc.MetaPathFinder):
    """Calls ``callback(module)`` once a top-level module has been imported, as MLflow's import
    hooks do, without importing MLflow (which costs a second at ``%load_ext``)."""

    def __init__(self, name: str, callback: Callable[[Any], None]) -> None:
        self.name, self.callback = name, callback

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        if fullname != self.name:
            return None
        with contextlib.suppress(ValueError):
            sys.meta_path.remove(self)  # once, and the other finders find the module itself
        spec = importlib.util.find_spec(fullname)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        run_module, callback = spec.loader.exec_module, self.callback

        def exec_module(module: Any) -> None:
            run_module(module)
            try:
                callback(module)
            except Exception as exc:  # never break the user's import
                warnings.warn(f"jupyter-mlops: {exc}", stacklevel=2)

        spec.loader.exec_module = exec_module  # this spec's own loader object
        return spec


def after_import(name: str, callback: Callable[[Any], None]) -> None:
    """Call ``callback`` when top-level module ``name`` is imported (now, if it already is)."""
    if name in sys.modules:
        callback(sys.modules[name])
        return
    if not any(isinstance(f, _AfterImport) and f.name == name for f in sys.meta_path):
        sys.meta_path.insert(0, _AfterImport(name, callback))


def _evaluation_codes() -> set[Any]:
    import importlib

    codes = set()
    for module_name, names in _EVALUATION.items():
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        for name in names:
            function = getattr(module, name, None)
            if function is not None:
                codes.add(inspect.unwrap(function).__code__)
    return codes


def _evaluating() -> bool:
    """Whether this fit happens inside one of scikit-learn's evaluation helpers."""
    codes = _state.evaluation_codes
    if codes is None:
        codes = _state.evaluation_codes = _evaluation_codes()
    frame = sys._getframe(2)
    while frame is not None:
        if frame.f_code in codes:
            return True
        frame = frame.f_back
    return False


# -- recording --------------------------------------------------------------------------------
def _record(estimator: Any, run: Any, args: tuple, kwargs: dict, started: float) -> None:
    """Queue the candidate run of a finished fit. Never breaks the fit: a failure warns."""
    from .buffer import NewRun

    ended = time.time()
    try:
        X = args[0] if args else kwargs.get("X")
        y = args[1] if len(args) > 1 else kwargs.get("y")
        metrics = training_metrics(estimator, X, y, kwargs.get("sample_weight"))
        label, key = candidate_label(estimator), key_params(estimator)
        estimator_class = f"{type(estimator).__module__}.{type(estimator).__qualname__}"
        tags = {
            mlops_tags.MLFLOW_PARENT_RUN_ID: run.run_id,
            mlops_tags.CANDIDATE: "true",
            mlops_tags.ESTIMATOR: estimator_class,
            "estimator_name": type(estimator).__name__,
            "estimator_class": estimator_class,
            **run.code_tags,
        }
        end_ms = int(ended * 1000)
        record = NewRun(
            experiment_id=run.experiment_id,
            name=candidate_name(label, key),
            tags=tags,
            params=[(k[:250], v) for k, v in model_params(estimator).items()],
            metrics=[(k, v, end_ms, 0) for k, v in metrics.items()],
            start_ms=int(started * 1000),
            end_ms=end_ms,
        )
    except Exception as exc:  # an odd estimator must not cost the user their fit
        warnings.warn(
            f"jupyter-mlops: could not record the fit of {type(estimator).__name__}: {exc}",
            stacklevel=3,
        )
        return
    candidate = Candidate(label, estimator_class, key, metrics, record)
    with contextlib.suppress(TypeError):  # not weak-referenceable: it cannot be promoted by us
        _state.latest[estimator] = candidate
    run.candidates.append(candidate)
    run.queue_run(record)
