"""The gate's measuring: the evaluation data read once, a registered model loaded as it will
serve, and one scikit-learn scorer applied to both models the same way.

A scikit-learn scorer takes an estimator; the registered model is MLflow's pyfunc, so it is
shown to the scorer as an estimator whose ``predict``, ``predict_proba`` and
``decision_function`` go through the pyfunc (``params={"method": ...}``), the data contract
included: what is scored is what would be served.
"""

from __future__ import annotations

import difflib
import hashlib
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...errors import MlopsError
from ..registry import load

if TYPE_CHECKING:
    import pandas as pd

    from ...config import Settings

SUFFIXES = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}
COMMON_SCORERS = ("accuracy", "balanced_accuracy", "f1", "roc_auc", "r2", "neg_mean_absolute_error")
MAX_COLUMNS_NAMED = 8


@dataclass(frozen=True)
class Registered:
    """A registered version loaded for scoring: MLflow's pyfunc, and the fitted object behind
    it when jupyter-mlops promoted it (to know a classifier and its classes)."""

    uri: str
    pyfunc: Any
    inner: Any


def eval_frame(source: Any, target: str) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The evaluation data as a DataFrame, and what the record says of it (where, rows,
    sha256); a missing file, another format, no ``target`` column or a missing label is one
    line."""
    import pandas as pd

    if not isinstance(target, str) or not target:
        raise MlopsError("--target names the evaluation data's label column")
    if isinstance(source, pd.DataFrame):
        frame = source.copy()
        hashed = pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes()
        facts: dict[str, Any] = {
            "source": "a DataFrame",
            "sha256": hashlib.sha256(hashed).hexdigest(),
        }
    else:
        path = Path(source)
        kind = SUFFIXES.get(path.suffix.lower())
        if kind is None:
            raise MlopsError(f"evaluation data is a .csv or .parquet file, not {str(path)!r}")
        if not path.is_file():
            raise MlopsError(f"no evaluation file {str(path)!r}")
        try:
            frame = pd.read_csv(path) if kind == "csv" else pd.read_parquet(path)
        except Exception as exc:  # a broken file: say which, in one line
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
            raise MlopsError(f"cannot read evaluation file {str(path)!r}: {first}") from None
        facts = {"source": str(path), "sha256": file_digest(path)}
    if target not in frame.columns:
        names = [str(c) for c in frame.columns]
        shown = ", ".join(names[:MAX_COLUMNS_NAMED]) + (" ..." if len(names) > 8 else "")
        raise MlopsError(
            f"the evaluation data has no column {target!r} to score against (its columns: "
            f"{shown or 'none'})"
        )
    if frame.empty:
        raise MlopsError("the evaluation data has no rows")
    missing = int(frame[target].isna().sum())
    if missing:
        raise MlopsError(f"the evaluation data's {target!r} is missing in {missing} rows")
    facts["rows"] = len(frame)
    facts["target"] = target
    return frame, facts


def file_digest(path: Path) -> str:
    """sha256 of a file, read in blocks (evaluation files can be large)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def load_registered(uri: str, settings: Settings) -> Registered:
    """The version as it serves (files verified), without an inference log: evaluating a
    candidate is not production traffic."""
    from .score_chunks import load as load_scoring
    from .target import LOG_ENV

    _, folder = load.verified_download(uri, settings)
    scoring = load_scoring(folder, {LOG_ENV: ""})
    inner = getattr(getattr(scoring.model, "_model_impl", None), "model", None)
    return Registered(uri=uri, pyfunc=scoring.model, inner=inner)


def scorer_for(name: str | None, model: Registered, y: Any) -> tuple[str, Any]:
    """scikit-learn's scorer ``name``; by default the model type's usual score: accuracy for a
    classifier, r2 for a regressor (judged from the label when the model does not say)."""
    from sklearn.base import is_classifier, is_regressor
    from sklearn.metrics import get_scorer

    if name is None:
        if model.inner is not None and is_classifier(model.inner):
            name = "accuracy"
        elif model.inner is not None and is_regressor(model.inner):
            name = "r2"
        else:
            name = "r2" if y.dtype.kind == "f" and y.nunique() > 20 else "accuracy"
    return check_scorer(name), get_scorer(name)


def check_scorer(name: Any) -> str:
    """``name`` if scikit-learn has a scorer by it, else one line with the nearest names."""
    from sklearn.metrics import get_scorer_names

    known = sorted(get_scorer_names())
    if name not in known:
        close = difflib.get_close_matches(str(name), known, n=2)
        hint = f" (did you mean {' or '.join(close)}?)" if close else ""
        raise MlopsError(
            f"no scikit-learn scorer named {name!r}{hint}; for example "
            f"{', '.join(COMMON_SCORERS)} (sklearn.metrics.get_scorer_names() lists all)"
        )
    return name


def score_model(model: Registered, scorer: Any, X: Any, y: Any) -> tuple[float | None, str | None]:
    """(the score, None), or (None, what went wrong) when its contract refuses the data or the
    scorer cannot be computed on it."""
    from mlflow.exceptions import MlflowException

    estimator = as_estimator(model)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # unseen values are counted by monitor, not here
            return float(scorer(estimator, X, y)), None
    except MlopsError as exc:  # a shipped contract's ContractError derives from it
        return None, f"contract refuses the evaluation data: {_first(exc)}"
    except MlflowException as exc:  # MLflow's own schema enforcement
        return None, f"model refuses the evaluation data: {_first(exc)}"
    except Exception as exc:  # the model's own code failed: a reason to refuse, not a crash
        return None, f"score cannot be computed ({type(exc).__name__}: {_first(exc)})"


def as_estimator(model: Registered) -> Any:
    """The pyfunc as a scikit-learn estimator, classifier or regressor as the model is."""
    from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, is_classifier

    class _Registered(BaseEstimator):
        def __init__(self, pyfunc: Any = None) -> None:
            self.pyfunc = pyfunc

        def fit(self, X: Any, y: Any = None) -> Any:  # scorers never fit; sklearn asks for it
            return self

        def predict(self, X: Any) -> Any:
            return _array(self.pyfunc.predict(X))

        def predict_proba(self, X: Any) -> Any:
            return _array(self.pyfunc.predict(X, params={"method": "predict_proba"}))

        def decision_function(self, X: Any) -> Any:
            return _array(self.pyfunc.predict(X, params={"method": "decision_function"}))

    if model.inner is not None and is_classifier(model.inner):

        class _Classifier(ClassifierMixin, _Registered):
            pass

        estimator = _Classifier(model.pyfunc)
        estimator.classes_ = model.inner.classes_
        return estimator

    class _Regressor(RegressorMixin, _Registered):
        pass

    estimator = _Regressor(model.pyfunc)
    estimator.is_fitted_ = True
    return estimator


def _array(values: Any) -> Any:
    import numpy as np

    return values.to_numpy() if hasattr(values, "to_numpy") else np.asarray(values)


def _first(exc: BaseException) -> str:
    text = getattr(exc, "message", None) or str(exc)
    return (str(text).strip().splitlines() or [type(exc).__name__])[0][:300]
