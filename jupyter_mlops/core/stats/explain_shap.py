"""SHAP values of a fitted model, a second opinion beside permutation importance.

``shap`` is optional (the ``shap`` extra) and its explainers do not know every model: a model
shap cannot read is explained through its ``predict`` (or ``predict_proba``) function, and any
failure becomes a one-line note in the report, never an exception.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from .reports import json_safe

SHAP_ROWS, SHAP_BACKGROUND = 200, 100  # rows explained and background, for shap's own explainers
# A model shap cannot read is explained through its predict function, which costs one batch
# of predictions per permutation and row: fewer rows and a few permutations keep it to seconds.
SHAP_FN_ROWS, SHAP_FN_BACKGROUND, SHAP_FN_PERMUTATIONS = 100, 50, 5


def shap_importance(
    model: Any, X: Any, features: list[str], task: str, seed: int | None
) -> dict[str, Any]:
    """Mean |SHAP| per feature, or None with the reason, never an exception: shap is optional
    and its explainers do not know every model."""
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
    return take_rows(X, np.sort(rng.choice(n, size, replace=False)))


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
    if not proba and np.asarray(output(take_rows(rows, np.arange(1)))).dtype.kind not in "biuf":
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


def take_rows(values: Any, rows: np.ndarray | None) -> Any:
    """The rows at positions ``rows`` of a frame, series or array (all of them for None)."""
    if rows is None:
        return values
    return values.iloc[rows] if hasattr(values, "iloc") else values[rows]
