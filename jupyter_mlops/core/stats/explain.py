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
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ...errors import MlopsError
from ..autolog import without_autolog
from .reports import Report, json_safe, name_error

DEFAULT_SAMPLE = 5_000  # rows used for permutation importance on larger inputs
SHAP_ROWS, SHAP_BACKGROUND = 200, 100  # rows explained and background, for shap's own explainers
# A model shap cannot read is explained through its predict function, which costs one batch
# of predictions per permutation and row: fewer rows and a few permutations keep it to seconds.
SHAP_FN_ROWS, SHAP_FN_BACKGROUND, SHAP_FN_PERMUTATIONS = 100, 50, 5
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
    size = DEFAULT_SAMPLE if sample is None else sample
    rows = None
    if n_rows > size:
        rows = np.sort(np.random.default_rng(random_state).choice(n_rows, size, replace=False))
    X_used = _take(frame, rows)
    estimator = _as_estimator(model)
    if y is None:
        y_used = estimator.predict(X_used)
        against = "predictions"
    else:
        y_used = _take(y if hasattr(y, "iloc") else np.asarray(y), rows)
        against = "y"
    task = _task(model, y_used)
    scoring_used, scoring_name = _scoring(estimator, scoring, task, against)

    from sklearn.inspection import permutation_importance
    from sklearn.metrics import check_scoring

    baseline = check_scoring(estimator, scoring_used)(estimator, X_used, y_used)
    result = permutation_importance(
        estimator,
        X_used,
        y_used,
        scoring=scoring_used,
        n_repeats=n_repeats,
        random_state=random_state,
    )
    permutation = {
        f: {"mean": float(m), "std": float(s)}
        for f, m, s in zip(features, result.importances_mean, result.importances_std, strict=True)
    }
    order = sorted(permutation, key=lambda f: -permutation[f]["mean"])
    shap_part = _shap(model, X_used, features, task, random_state)

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
        "permutation": {f: permutation[f] for f in order},
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
    if isinstance(n_repeats, bool) or not isinstance(n_repeats, numbers.Integral) or n_repeats < 1:
        raise ExplainError(f"n_repeats must be a whole number of at least 1, not {n_repeats!r}")
    if sample is not None and (
        isinstance(sample, bool) or not isinstance(sample, numbers.Integral) or sample < 2
    ):
        raise ExplainError(f"sample must be a number of rows (2 or more), not {sample!r}")
    if random_state is not None and not isinstance(random_state, numbers.Integral):
        raise ExplainError(f"random_state must be a whole number or None, not {random_state!r}")
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
    name = "explain" if name is None else str(name)
    problem = name_error(name, "explain")
    if problem:
        raise ExplainError(problem)
    return name


def _model_name(model: Any) -> str:
    steps = getattr(model, "steps", None)  # a Pipeline: name its final estimator too
    if isinstance(steps, list) and steps and isinstance(steps[-1], tuple):
        return f"{type(model).__name__} ({type(steps[-1][-1]).__name__})"
    return type(model).__name__


def _feature_names(X: Any) -> list[str]:
    if isinstance(X, pd.DataFrame):
        return [str(c) for c in X.columns]
    return [f"x{i}" for i in range(X.shape[1])]


def _take(values: Any, rows: np.ndarray | None) -> Any:
    if rows is None:
        return values
    return values.iloc[rows] if hasattr(values, "iloc") else values[rows]


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


# -- SHAP ------------------------------------------------------------------------------------
def _shap(model: Any, X: Any, features: list[str], task: str, seed: int | None) -> dict[str, Any]:
    """Mean |SHAP| per feature, or None with the reason, never an exception."""
    empty = {"mean_abs": None, "values": None, "base_values": None, "rows": None}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # shap's import warns about matplotlib colormaps
            import shap
    except ImportError:
        return {
            **empty,
            "explainer": None,
            "note": "shap is not installed: pip install 'jupyter-mlops[shap]' for SHAP values.",
        }
    except Exception as error:  # a broken install (numba, llvmlite): still no exception here
        return {**empty, "explainer": None, "note": f"shap failed to import: {_one_line(error)}."}
    rng = np.random.default_rng(seed)
    state = np.random.get_state()  # shap's permutation explainer shuffles with the global RNG
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                explainer, result, rows, n_bg = _shap_native(shap, model, X, rng)
                what = "the model's raw output" if task == "classification" else "the prediction"
            except Exception:  # shap cannot read this model: explain its predict function
                try:
                    explainer, result, rows, n_bg, what = _shap_function(
                        shap, model, X, task, rng, seed
                    )
                except Exception as error:
                    return {**empty, "explainer": None, "note": f"shap failed: {_one_line(error)}."}
    finally:
        np.random.set_state(state)
    values = np.asarray(result.values, dtype="float64")
    base = np.asarray(result.base_values, dtype="float64")
    if values.ndim == 3 and values.shape[2] == 2:  # one slice per class: the positive one
        values, base = values[:, :, 1], base[:, 1]
        what = f"the model's output for class {_positive(model)}"
    if values.ndim == 3:
        mean_abs = np.abs(values).mean(axis=(0, 2))
        what = "each class's output, averaged over classes"
        values = base = None
    else:
        mean_abs = np.abs(values).mean(axis=0)
    order = np.argsort(-mean_abs, kind="stable")
    kind = type(explainer).__name__
    note = (
        f"Mean |SHAP| of {what} over {len(rows):,} rows against a background of {n_bg:,} "
        f"(seed {seed}), from shap's {kind}."
    )
    return {
        "mean_abs": {features[i]: float(mean_abs[i]) for i in order},
        "values": None if values is None else pd.DataFrame(values, columns=features),
        "base_values": base,
        "rows": rows,
        "explainer": kind,
        "note": note,
    }


def _sample(X: Any, size: int, rng: np.random.Generator) -> Any:
    n = X.shape[0]
    if n <= size:
        return X
    return _take(X, np.sort(rng.choice(n, size, replace=False)))


def _shap_native(shap: Any, model: Any, X: Any, rng: np.random.Generator) -> tuple:
    """shap's own explainer for the model (linear, tree, ...), with its additivity check."""
    background = _sample(X, SHAP_BACKGROUND, rng)
    rows = _sample(X, SHAP_ROWS, rng)
    explainer = shap.Explainer(model, background)
    return explainer, explainer(rows), rows, background.shape[0]


def _shap_function(
    shap: Any, model: Any, X: Any, task: str, rng: np.random.Generator, seed: int | None
) -> tuple:
    """Explain ``predict`` (or the positive class's ``predict_proba``) of any model.

    shap's maskers need numbers, so text and categorical columns are coded as integers and
    decoded, with the original dtypes, before every call to the model.
    """
    background = _sample(X, SHAP_FN_BACKGROUND, rng)
    rows = _sample(X, SHAP_FN_ROWS, rng)
    proba = task == "classification" and callable(getattr(model, "predict_proba", None))
    output = model.predict_proba if proba else model.predict
    if not proba and np.asarray(output(_take(rows, np.arange(1)))).dtype.kind not in "biuf":
        raise ValueError("the model predicts labels and has no predict_proba to explain")
    if isinstance(X, pd.DataFrame):
        encode, decode = _codec(X)
        background_in, rows_in = encode(background), encode(rows)

        def predict(values: np.ndarray) -> np.ndarray:
            out = np.asarray(output(decode(values)))
            return out[:, 1] if proba and out.ndim == 2 and out.shape[1] == 2 else out

    else:
        background_in, rows_in = np.asarray(background), np.asarray(rows)

        def predict(values: np.ndarray) -> np.ndarray:
            out = np.asarray(output(values))
            return out[:, 1] if proba and out.ndim == 2 and out.shape[1] == 2 else out

    explainer = shap.Explainer(predict, background_in, algorithm="permutation", seed=seed)
    evals = SHAP_FN_PERMUTATIONS * (2 * X.shape[1] + 1)
    result = explainer(rows_in, max_evals=evals, silent=True)
    what = f"the predicted probability of class {_positive(model)}" if proba else "the prediction"
    return explainer, result, rows, background.shape[0], what


def _positive(model: Any) -> str:
    classes = getattr(model, "classes_", None)
    return repr(json_safe(classes[1])) if classes is not None and len(classes) == 2 else "1"


def _codec(X: pd.DataFrame) -> tuple[Any, Any]:
    """Functions to turn ``X``-like frames into float arrays and back (levels as codes)."""
    columns, dtypes = list(X.columns), X.dtypes
    levels: dict[int, pd.Index] = {}
    for i in range(len(columns)):
        s = X.iloc[:, i]
        numeric = pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype)
        if not numeric:
            levels[i] = pd.Index(pd.unique(s.dropna()))

    def encode(frame: pd.DataFrame) -> np.ndarray:
        out = np.empty(frame.shape, dtype="float64")
        for i in range(frame.shape[1]):
            s = frame.iloc[:, i]
            if i in levels:
                codes = levels[i].get_indexer(s).astype("float64")
                codes[codes < 0] = np.nan
                out[:, i] = codes
            else:
                out[:, i] = s.to_numpy(dtype="float64", na_value=np.nan)
        return out

    def decode(values: np.ndarray) -> pd.DataFrame:
        data = {}
        for i, c in enumerate(columns):
            v = values[:, i]
            if i in levels:
                known = ~np.isnan(v)
                col = np.full(len(v), None, dtype=object)
                col[known] = levels[i].to_numpy(dtype=object)[v[known].astype(int)]
                data[c] = pd.Series(col).astype(dtypes.iloc[i])
            else:
                data[c] = pd.Series(v).astype(dtypes.iloc[i])
        return pd.DataFrame(data, columns=columns)

    return encode, decode


def _one_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    first = text[0] if text else ""
    return f"{type(error).__name__}: {first[:200]}" if first else type(error).__name__


# -- logging ---------------------------------------------------------------------------------
def _log_on_active_run(report: Explanation) -> None:
    from .reports import log_report

    top = ", ".join(report.features[:TOP_TAG])
    log_report(
        "explain",
        report.name,
        report.to_json(),
        report.to_html(full_page=True),
        {f"mlops.explain.{report.name}.top": top[:500]},
    )
