"""Which features a fitted model relies on: permutation importance, and SHAP when installed.

Permutation importance is scikit-learn's own, on the columns of ``X`` as the user passes them,
so a Pipeline with a ColumnTransformer is explained in terms of its raw input columns. Without
``y`` it measures how much the model's own predictions change when a column is shuffled. Large
inputs use a seeded random sample, and the report says so.

SHAP values (the ``shap`` extra) are a second opinion on a smaller seeded sample. ``shap`` is
optional and its explainers do not know every model, so any failure becomes a one-line note in
the report, never an exception.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ...errors import MlopsError
from ..autolog import without_autolog
from .explain_shap import shap_importance, take_rows
from .reports import Report, json_safe, log_report, name_error

DEFAULT_SAMPLE = 5_000  # rows used for permutation importance on larger inputs
CLASSIFICATION_MAX_CLASSES = 20
TOP_TAG = 5  # features named in the run tag


class ExplainError(MlopsError):
    """Bad input to ``explain``: one line saying what to change."""


@dataclass(repr=False)  # Report.__repr__ draws it
class Explanation(Report):
    """Feature importances of one model: renders itself in Jupyter; ``.to_dict()`` for code.

    ``shap_values`` holds the per-row SHAP values (rows explained x features) when SHAP ran,
    ``shap_base_values`` the matching base values and ``shap_rows`` the rows explained, so
    ``shap_values.sum(axis=1) + shap_base_values`` is the model output that SHAP explains.
    """

    VIEW = "explain"

    data: dict[str, Any]
    shap_values: pd.DataFrame | None = field(default=None, repr=False)
    shap_base_values: np.ndarray | None = field(default=None, repr=False)
    shap_rows: Any = field(default=None, repr=False)

    @property
    def name(self) -> str:
        return self.data["name"]

    @property
    def features(self) -> list[str]:
        """Features by permutation importance, most important first."""
        return list(self.data["permutation"])

    def to_dict(self) -> dict[str, Any]:
        return self.data

    def to_frame(self) -> pd.DataFrame:
        """One row per feature: permutation mean and std, and mean |SHAP| when computed."""
        shap = self.data["shap"] or {}
        rows = [
            {
                "feature": f,
                "importance_mean": v["mean"],
                "importance_std": v["std"],
                "shap_mean_abs": shap.get(f),
            }
            for f, v in self.data["permutation"].items()
        ]
        columns = ["feature", "importance_mean", "importance_std", "shap_mean_abs"]
        return pd.DataFrame(rows, columns=columns).set_index("feature")


@without_autolog
def explain(
    model: Any,
    X: Any,
    y: Any = None,
    n_repeats: int = 5,
    scoring: Any = None,
    sample: int | None = None,
    random_state: int | None = 0,
    name: str | None = None,
) -> Explanation:
    """Permutation importance of each column of ``X`` (and mean |SHAP| when shap is installed).

    Without ``y`` the score is agreement with the model's own predictions (accuracy or R²).
    ``sample`` caps the rows used (default 5,000, seeded by ``random_state``). With a run active
    the report is logged as ``explain/<name>.json`` and ``.html`` with a tag naming the top
    features.
    """
    name = _check_inputs(model, X, y, n_repeats, scoring, sample, random_state, name)
    frame = X if isinstance(X, pd.DataFrame) else np.asarray(X)
    n_rows = frame.shape[0]
    features = _feature_names(frame)
    rows = _sample_rows(n_rows, sample, random_state)
    X_used = take_rows(frame, rows)
    estimator = _as_estimator(model)
    y_used, against = _scored_against(estimator, X_used, y, rows)
    task = _task(model, y_used)
    scoring_used, scoring_name = _scoring(estimator, scoring, task, against)
    baseline, permutation = _permutation(
        estimator, X_used, y_used, scoring_used, n_repeats, random_state, features
    )
    shap_part = shap_importance(model, X_used, features, task, random_state)

    data: dict[str, Any] = {
        "name": name,
        "model": _model_name(model),
        "task": task,
        "scoring": scoring_name,
        "scored_against": against,
        "baseline_score": float(baseline),
        "n_repeats": n_repeats,
        "n_rows": int(n_rows),
        "n_rows_used": int(X_used.shape[0]),
        "sample": None
        if rows is None
        else {"rows": len(rows), "of": int(n_rows), "seed": random_state},
        "random_state": random_state,
        "permutation": permutation,
        "shap": shap_part["mean_abs"],
        "shap_note": shap_part["note"],
        "shap_explainer": shap_part["explainer"],
        "notes": _notes(against, scoring_name, rows, n_rows, random_state),
    }
    report = Explanation(
        json_safe(data),
        shap_values=shap_part["values"],
        shap_base_values=shap_part["base_values"],
        shap_rows=shap_part["rows"],
    )
    _log_on_active_run(report)
    return report


def _sample_rows(n_rows: int, sample: int | None, seed: int | None) -> np.ndarray | None:
    """Sorted positions of a seeded random sample of ``sample`` rows, or None for every row."""
    size = DEFAULT_SAMPLE if sample is None else sample
    if n_rows <= size:
        return None
    return np.sort(np.random.default_rng(seed).choice(n_rows, size, replace=False))


def _scored_against(
    estimator: Any, X_used: Any, y: Any, rows: np.ndarray | None
) -> tuple[Any, str]:
    """What the score compares with: ``y`` (its sampled rows), or the model's own predictions."""
    if y is None:
        return estimator.predict(X_used), "predictions"
    return take_rows(y if hasattr(y, "iloc") else np.asarray(y), rows), "y"


def _permutation(
    estimator: Any,
    X_used: Any,
    y_used: Any,
    scoring: Any,
    n_repeats: int,
    random_state: int | None,
    features: list[str],
) -> tuple[float, dict[str, dict[str, float]]]:
    """The unshuffled score and scikit-learn's permutation importances, most important first."""
    from sklearn.inspection import permutation_importance
    from sklearn.metrics import check_scoring

    baseline = check_scoring(estimator, scoring)(estimator, X_used, y_used)
    result = permutation_importance(
        estimator,
        X_used,
        y_used,
        scoring=scoring,
        n_repeats=n_repeats,
        random_state=random_state,
    )
    permutation = {
        f: {"mean": float(m), "std": float(s)}
        for f, m, s in zip(features, result.importances_mean, result.importances_std, strict=True)
    }
    order = sorted(permutation, key=lambda f: -permutation[f]["mean"])
    return baseline, {f: permutation[f] for f in order}


# -- input -----------------------------------------------------------------------------------
def _check_inputs(
    model: Any,
    X: Any,
    y: Any,
    n_repeats: Any,
    scoring: Any,
    sample: Any,
    random_state: Any,
    name: Any,
) -> str:
    """The report's name, once every argument is one ``explain`` can use."""
    _check_data(model, X, y)
    if isinstance(n_repeats, bool) or not isinstance(n_repeats, numbers.Integral) or n_repeats < 1:
        raise ExplainError(f"n_repeats must be a whole number of at least 1, not {n_repeats!r}")
    if sample is not None and (
        isinstance(sample, bool) or not isinstance(sample, numbers.Integral) or sample < 2
    ):
        raise ExplainError(f"sample must be a number of rows (2 or more), not {sample!r}")
    if random_state is not None and not isinstance(random_state, numbers.Integral):
        raise ExplainError(f"random_state must be a whole number or None, not {random_state!r}")
    _check_scoring(scoring)
    name = "explain" if name is None else str(name)
    problem = name_error(name, "explain")
    if problem:
        raise ExplainError(problem)
    return name


def _check_data(model: Any, X: Any, y: Any) -> None:
    """A model with ``predict``, a 2-D non-empty ``X`` with unique names, and a ``y`` to match."""
    if not callable(getattr(model, "predict", None)):
        raise ExplainError(f"the model needs a predict method; {type(model).__name__} has none")
    if hasattr(X, "toarray"):
        raise ExplainError("X is a sparse matrix: pass X.toarray() or a DataFrame")
    if isinstance(X, pd.Series) or not (hasattr(X, "shape") or isinstance(X, (list, tuple))):
        raise ExplainError(
            f"X must be 2-D (a DataFrame or a rows x features array), not a {type(X).__name__}"
        )
    try:
        shape = X.shape if hasattr(X, "shape") else np.shape(np.asarray(X))
    except ValueError:  # ragged lists
        raise ExplainError("X must be 2-D (rows x features); its rows differ in length") from None
    if len(shape) != 2:
        raise ExplainError(f"X must be 2-D (rows x features); its shape is {tuple(shape)}")
    if shape[0] == 0 or shape[1] == 0:
        raise ExplainError(f"X is empty ({shape[0]} rows x {shape[1]} columns)")
    if isinstance(X, pd.DataFrame):
        names = [str(c) for c in X.columns]
        repeated = sorted({c for c in names if names.count(c) > 1})
        if repeated:
            raise ExplainError(f"column names of X must be unique; repeated: {', '.join(repeated)}")
    if y is not None:
        length = len(y) if hasattr(y, "__len__") else None
        if length != shape[0]:
            got = "a single value" if length is None else f"{length} values"
            raise ExplainError(f"y has {got} but X has {shape[0]} rows")


def _check_scoring(scoring: Any) -> None:
    """One of scikit-learn's metric names, a scorer callable, or None."""
    if isinstance(scoring, str):
        from sklearn.metrics import get_scorer_names

        if scoring not in get_scorer_names():
            raise ExplainError(
                f"unknown scoring {scoring!r}; use a name from "
                "sklearn.metrics.get_scorer_names() or a scorer callable"
            )
    elif scoring is not None and not callable(scoring):
        raise ExplainError(
            f"scoring must be one metric name or a scorer callable, not {type(scoring).__name__}"
        )


def _model_name(model: Any) -> str:
    steps = getattr(model, "steps", None)  # a Pipeline: name its final estimator too
    if isinstance(steps, list) and steps and isinstance(steps[-1], tuple):
        return f"{type(model).__name__} ({type(steps[-1][-1]).__name__})"
    return type(model).__name__


def _feature_names(X: Any) -> list[str]:
    if isinstance(X, pd.DataFrame):
        return [str(c) for c in X.columns]
    return [f"x{i}" for i in range(X.shape[1])]


def _as_estimator(model: Any) -> Any:
    """The model itself when scikit-learn accepts it; else a thin adapter.

    scikit-learn's scorers want an object with ``fit``; a model with only ``predict`` (an
    MLflow pyfunc model, a hand-written class) is wrapped in an estimator that never refits.
    """
    if callable(getattr(model, "fit", None)):
        return model
    from sklearn.base import BaseEstimator

    class PredictOnly(BaseEstimator):
        def __init__(self, model: Any = None) -> None:
            self.model = model

        def fit(self, X: Any, y: Any = None) -> PredictOnly:
            return self

        def predict(self, X: Any) -> Any:
            return self.model.predict(X)

    return PredictOnly(model)


def _task(model: Any, y: Any) -> str:
    from sklearn.base import is_classifier, is_regressor

    if hasattr(model, "__sklearn_tags__"):  # other objects make scikit-learn raise
        if is_classifier(model):
            return "classification"
        if is_regressor(model):
            return "regression"
    values = np.asarray(y)
    if values.dtype.kind in "fc":
        return "regression"
    few = values.dtype.kind not in "iu" or len(np.unique(values)) <= CLASSIFICATION_MAX_CLASSES
    return "classification" if few else "regression"


def _scoring(estimator: Any, scoring: Any, task: str, against: str) -> tuple[Any, str]:
    """The scoring passed to scikit-learn, and its name for the report."""
    default = "accuracy" if task == "classification" else "r2"
    if scoring is not None:
        return scoring, scoring if isinstance(scoring, str) else getattr(
            scoring, "__name__", repr(scoring)[:100]
        )
    if against == "predictions" or not callable(getattr(estimator, "score", None)):
        return default, default
    return None, f"{default} (the model's score method)"


def _notes(
    against: str, scoring: str, rows: np.ndarray | None, n_rows: int, seed: int | None
) -> list[str]:
    notes = []
    if against == "predictions":
        measure = "R²" if scoring == "r2" else scoring
        notes.append(
            f"No y given: each importance is how much the model's own predictions change "
            f"({measure} against its unshuffled predictions) when the column is shuffled, not "
            "how much its score on true labels drops."
        )
    if rows is not None:
        notes.append(
            f"Computed on a random sample of {len(rows):,} of {n_rows:,} rows (seed {seed})."
        )
    return notes


# -- logging ---------------------------------------------------------------------------------
def _log_on_active_run(report: Explanation) -> None:
    top = ", ".join(report.features[:TOP_TAG])
    log_report(
        "explain",
        report.name,
        report.to_json(),
        report.to_html(full_page=True),
        {"top": top[:500]},
    )
