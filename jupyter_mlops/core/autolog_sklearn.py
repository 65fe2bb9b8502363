"""What a scikit-learn fit is recorded as: its params, the label and name of its candidate run,
and its training metrics under MLflow's names.

Plain functions of a fitted estimator (``autolog`` calls them after a fit; ``promote`` reads
``changed_params``); scikit-learn is imported only inside the functions that compute metrics.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import math
import warnings
from collections.abc import Callable
from typing import Any

_MAX_PARAM = 6000  # MLflow's limit on a param value
_MAX_NAME = 120
_KEY_PARAMS = 3  # params named in a candidate's run name
_QUIET_PARAMS = {
    "n_jobs",
    "verbose",
    "copy",
    "copy_X",
}  # never what tells models apart


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
