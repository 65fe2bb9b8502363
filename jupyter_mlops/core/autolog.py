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
import math
import sys
import threading
import time
import warnings
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])

FIT_METHODS = ("fit", "fit_predict", "fit_transform")
TAG_CANDIDATE = "mlops.candidate"  # "true" on a run that records one autologged fit
TAG_ESTIMATOR = "mlops.estimator"  # the fitted class, module.qualname
_MARK = "__mlops_autolog__"
_MAX_PARAM = 6000  # MLflow's limit on a param value
_MAX_NAME = 120
_KEY_PARAMS = 3  # params named in a candidate's run name
_QUIET_PARAMS = {
    "n_jobs",
    "verbose",
    "copy",
    "copy_X",
}  # never what tells models apart
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
            "mlflow.parentRunId": run.run_id,
            TAG_CANDIDATE: "true",
            TAG_ESTIMATOR: estimator_class,
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


def _text(value: Any) -> str:
    text = str(value)
    return text if len(text) <= _MAX_PARAM else text[: _MAX_PARAM - 3] + "..."


def _is_search(estimator: Any) -> bool:
    return hasattr(estimator, "param_grid") or hasattr(estimator, "param_distributions")


def model_params(estimator: Any) -> dict[str, str]:
    """The fit's params as MLflow records them: deep for pipelines, shallow for a search (its
    inner estimator is only a seed) plus the ``best_*`` it found."""
    search = _is_search(estimator)
    params = {str(k): _text(v) for k, v in estimator.get_params(deep=not search).items()}
    for key, value in (getattr(estimator, "best_params_", None) or {}).items():
        params[f"best_{key}"] = _text(value)
    return params


def _final_step(estimator: Any) -> Any:
    """A pipeline's model (its last step), else None: a pipeline is known by its model."""
    steps = getattr(estimator, "steps", None)
    if isinstance(steps, list) and steps and isinstance(steps[-1], tuple):
        return steps[-1][1]
    return None


def key_params(estimator: Any) -> dict[str, str]:
    """Params set away from their defaults: what tells this model from its siblings."""
    target = _final_step(estimator) or estimator
    defaults = _defaults(type(target))
    try:
        values = target.get_params(deep=False)
    except Exception:
        return {}
    changed = {}
    for name, value in values.items():
        if name in _QUIET_PARAMS or hasattr(value, "get_params"):
            continue
        if name in defaults and repr(defaults[name]) == repr(value):
            continue
        changed[name] = _short(value)
    return changed


def changed_params(estimator: Any) -> dict[str, str]:
    """Every param of ``estimator`` set away from its default, under its ``get_params(deep=True)``
    name (``logisticregression__C`` in a pipeline): the whole object, not only its model.
    Structural params with no default (a pipeline's ``steps``) are left out."""
    params = estimator.get_params(deep=True)
    changed = {}
    for key, value in params.items():
        path, _, name = key.rpartition("__")
        owner = params.get(path) if path else estimator
        if owner is None or hasattr(value, "get_params"):
            continue
        default = _defaults(type(owner)).get(name, inspect.Parameter.empty)
        if default is not inspect.Parameter.empty and repr(default) != repr(value):
            changed[key] = _text(value)
    return changed


@functools.lru_cache(maxsize=512)
def _defaults(cls: type) -> dict[str, Any]:
    try:
        parameters = inspect.signature(cls.__init__).parameters
    except (TypeError, ValueError):
        return {}
    return {n: p.default for n, p in parameters.items() if p.default is not inspect.Parameter.empty}


def _short(value: Any) -> str:
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 24 else text[:21] + "..."


def candidate_label(estimator: Any) -> str:
    """``RandomForestClassifier``; a pipeline is known by its model, a search by its seed."""
    label = type(estimator).__name__
    final = _final_step(estimator)
    if final is not None:
        return f"{type(final).__name__} ({label})"
    if _is_search(estimator) and hasattr(estimator, "estimator"):
        return f"{label}({type(estimator.estimator).__name__})"
    return label


def candidate_name(label: str, key_params: dict[str, str]) -> str:
    """``RandomForestClassifier max_depth=6``: the model's label and what sets it apart."""
    named = [(k, v) for k, v in key_params.items() if k != "random_state"]  # a seed, not a model
    shown = [f"{k}={v}" for k, v in named[:_KEY_PARAMS]]
    name = " ".join([label, *shown])
    return name if len(name) <= _MAX_NAME else name[: _MAX_NAME - 3] + "..."


def training_metrics(estimator: Any, X: Any, y: Any, sample_weight: Any = None) -> dict[str, float]:
    """MLflow's training metrics for a classifier or a regressor, and ``training_score`` (the
    estimator's own ``score``). A metric that cannot be computed is left out."""
    if X is None or y is None:
        return {}
    from sklearn.base import ClassifierMixin, RegressorMixin, is_classifier, is_regressor

    out: dict[str, float] = {}
    weights = {} if sample_weight is None else {"sample_weight": sample_weight}

    def put(name: str, compute: Callable[[], Any]) -> None:
        value = _attempt(compute)
        with contextlib.suppress(TypeError, ValueError):
            number = float(value)
            if math.isfinite(number):
                out[f"training_{name}"] = number

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # undefined precision on a degenerate fit, say
        score_method = getattr(type(estimator), "score", None)
        own = None
        if is_classifier(estimator):
            _classifier_metrics(estimator, X, y, weights, put)
            if score_method is ClassifierMixin.score:  # accuracy: computed already
                own = "training_accuracy_score"
        elif is_regressor(estimator):
            _regressor_metrics(estimator, X, y, weights, put)
            if score_method is RegressorMixin.score:  # R²: computed already
                own = "training_r2_score"
        if own in out:
            out["training_score"] = out[own]
        elif score_method is not None:
            put("score", lambda: estimator.score(X, y, **weights))
    return out


def _attempt(compute: Callable[[], Any]) -> Any:
    try:
        return compute()
    except Exception:
        return None


def _classifier_metrics(estimator: Any, X: Any, y: Any, weights: dict, put: Callable) -> None:
    from sklearn import metrics

    predicted = _attempt(lambda: estimator.predict(X))
    if predicted is None:
        return
    put("accuracy_score", lambda: metrics.accuracy_score(y, predicted, **weights))
    labels = getattr(estimator, "classes_", None)
    binary = labels is not None and len(labels) == 2
    average = {"average": "binary", "pos_label": labels[1]} if binary else {"average": "weighted"}
    scores = _attempt(
        lambda: metrics.precision_recall_fscore_support(y, predicted, **average, **weights)
    )
    if scores is not None:
        for name, value in zip(
            ("precision_score", "recall_score", "f1_score"), scores[:3], strict=True
        ):
            put(name, lambda v=value: v)
    if not hasattr(estimator, "predict_proba"):
        return
    proba = _attempt(lambda: estimator.predict_proba(X))
    if proba is None:
        return
    put("log_loss", lambda: metrics.log_loss(y, proba, labels=labels, **weights))
    if binary:
        put("roc_auc", lambda: metrics.roc_auc_score(y, proba[:, 1], **weights))
    else:
        put(
            "roc_auc",
            lambda: metrics.roc_auc_score(
                y, proba, multi_class="ovr", average="weighted", labels=labels, **weights
            ),
        )


def _regressor_metrics(estimator: Any, X: Any, y: Any, weights: dict, put: Callable) -> None:
    from sklearn import metrics

    predicted = _attempt(lambda: estimator.predict(X))
    if predicted is None:
        return
    mse = _attempt(lambda: metrics.mean_squared_error(y, predicted, **weights))
    put("mean_squared_error", lambda: mse)
    put("root_mean_squared_error", lambda: math.sqrt(float(mse)))
    put("mean_absolute_error", lambda: metrics.mean_absolute_error(y, predicted, **weights))
    put("r2_score", lambda: metrics.r2_score(y, predicted, **weights))
